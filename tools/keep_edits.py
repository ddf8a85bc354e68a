"""Write notebooks over the copies an earlier run wrote, without losing anyone's edits to them.

The student copy (tools/student_version.py) and the course's source/
(tools/make_course.py) are written into folders that people then work in: a
learner fills in the exercises, a teacher changes points or adds a question. A
re-run must update what nobody touched and keep the rest. So every notebook
written here carries a record of what was written, in its metadata:

    nb.metadata["mnistlib"][key] = {"from": "06_gradient_descent.ipynb",
                                    "sources_sha256": "<sha256 of the cells>"}

``key`` names the copy ("student_copy", "course_source"). The sha256 covers each
cell's type and source, in order, and the cell metadata named in ``cell_metadata``
(the course counts nbgrader's, where the points are); nothing else. Running a
notebook (outputs, execution counts, widget state, kernel and other metadata)
is no change. A notebook is *untouched* when its cells still hash to its record
and the record names the same source notebook; one without a record (written by
an older version, or by hand) counts as changed.

``place`` decides for one target file:

    the target is                        what happens                     status
    missing                              written                          "added"
    already the new cells                left as it is (outputs too)      "unchanged"
    untouched, an older version          replaced by the new version      "updated"
    changed, from the current version    left as it is                    "kept", aside None
    changed from an older version, or    left as it is; the new version   "kept", aside: that file
      without a record, or unreadable    goes to the first aside(path, n),
                                         n = 1, 2, ..., that is missing,
                                         untouched or already the new one

Writes are atomic: the notebook goes to a hidden temporary file in the target's
folder (``.NAME.ipynb.<random>.tmp``), then is renamed over the target, so an
interrupted run leaves the old file or the new one, never half of one. The
temporary file is removed on any error or Ctrl-C; only a run killed outright
between the two steps leaves it behind, beside a whole notebook.
"""

import hashlib
import json
import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

RECORD = "mnistlib"
MAX_ASIDE = 100        # new versions written beside one kept notebook before giving up


class CannotWrite(Exception):
    """A folder that cannot be created or written, or a notebook that cannot be read (one line)."""


@dataclass(frozen=True)
class Placed:
    status: str          # "added", "updated", "unchanged" or "kept"
    path: Path           # the target
    aside: Path | None   # for "kept": where the new version is, or None when there is nothing new
    wrote: bool          # a file was written (the target or the aside one)
    why: str = ""        # for "kept": why it counts as changed


def sources_sha256(nb, cell_metadata=()):
    """sha256 (hex) of each cell's type, source and the cell metadata named in ``cell_metadata``."""
    cells = [[cell.cell_type, cell.source, {k: cell.metadata[k] for k in cell_metadata if k in cell.metadata}]
             for cell in nb.cells]
    return hashlib.sha256(json.dumps(cells, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def record(nb, key, source_name, cell_metadata=()):
    """Store in ``nb``'s metadata what is being written: its source's name and its cells' sha256."""
    nb.metadata.setdefault(RECORD, {})[key] = {"from": source_name,
                                               "sources_sha256": sources_sha256(nb, cell_metadata)}
    return nb


def recorded(nb, key, source_name):
    """The sha256 that ``nb``'s record says was written from ``source_name``, or None."""
    found = nb.metadata.get(RECORD)
    found = found.get(key) if isinstance(found, dict) else None
    return found.get("sources_sha256") if isinstance(found, dict) and found.get("from") == source_name else None


def untouched(nb, key, source_name, cell_metadata=()):
    """True if ``nb`` carries a record for ``source_name`` and its cells still hash to it."""
    return recorded(nb, key, source_name) == sources_sha256(nb, cell_metadata)


def read(path):
    """The notebook at ``path``, or None if it is not a notebook nbformat can read."""
    try:
        return nbformat.read(path, as_version=4)
    except OSError as e:
        raise CannotWrite(f"cannot read {path}: {e.strerror or e}") from e
    except Exception:            # not JSON, not a notebook: someone's file, so it counts as changed
        return None


def make_folder(folder):
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise CannotWrite(f"cannot create the folder {folder}: {e.strerror or e}") from e


def write_atomic(nb, path):
    """Write ``nb`` to ``path`` through a temporary file in the same folder and a rename."""
    text = nbformat.writes(nb)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        # 0o666 less the umask: the permissions nbformat.write's open() would give
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as e:
        raise CannotWrite(f"cannot write in {path.parent}: {e.strerror or e}") from e
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text if text.endswith("\n") else text + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:   # Ctrl-C too: no temporary file is left behind
        tmp.unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise CannotWrite(f"cannot write {path}: {e.strerror or e}") from e
        raise


def place(nb, path, key, source_name, aside, cell_metadata=()):
    """Write ``nb`` (made from ``source_name``) to ``path`` unless that would lose an edit.

    ``aside(path, n)`` names the n-th place for the new version when the file at
    ``path`` is kept. Returns a ``Placed``; the table in the module docstring says which.
    """
    record(nb, key, source_name, cell_metadata)
    new = nb.metadata[RECORD][key]["sources_sha256"]
    make_folder(path.parent)
    if not path.exists():
        write_atomic(nb, path)
        return Placed("added", path, None, True)
    old = read(path)
    if old is not None and sources_sha256(old, cell_metadata) == new:
        return Placed("unchanged", path, None, False)
    if old is not None and untouched(old, key, source_name, cell_metadata):
        write_atomic(nb, path)
        return Placed("updated", path, None, True)
    if old is None:
        why = "not a notebook this command can read"
    elif recorded(old, key, source_name) is None:
        why = f"no record that this command wrote it from {source_name}"
    elif recorded(old, key, source_name) == new:
        return Placed("kept", path, None, False, "changed since it was written")
    else:
        why = "changed since it was written"
    for n in range(1, MAX_ASIDE + 1):
        other = aside(path, n)
        if not other.exists():
            make_folder(other.parent)
            write_atomic(nb, other)
            return Placed("kept", path, other, True, why)
        there = read(other)
        if there is not None and sources_sha256(there, cell_metadata) == new:
            return Placed("kept", path, other, False, why)
        if there is not None and untouched(there, key, source_name, cell_metadata):
            write_atomic(nb, other)
            return Placed("kept", path, other, True, why)
    raise CannotWrite(f"{path} is kept, and {aside(path, 1)} to {aside(path, MAX_ASIDE)} are all taken by "
                      "edited copies: move some of them away")


def beside(path, n):
    """``06_x.new.ipynb``, then ``06_x.new2.ipynb``, ...: the new version next to the kept one."""
    return path.with_name(f"{path.stem}.new{'' if n == 1 else n}{path.suffix}")


def summary(folder, placed):
    """One line: how many notebooks were written to ``folder``, and how many of each status."""
    counts = {s: sum(p.status == s for p in placed) for s in ("added", "updated", "unchanged", "kept")}
    wrote = sum(p.wrote for p in placed)
    head = f"wrote {wrote} notebook{'' if wrote == 1 else 's'} to {folder}" if wrote else f"nothing new for {folder}"
    return f"{head}: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n)


def line(placed, folder):
    """The line for one target: its status and name (relative to ``folder``); for a kept one, why,
    and where the new version is (its name is the last word) or that there is nothing new."""
    name = placed.path.relative_to(folder).as_posix()
    if placed.status != "kept":
        return f"{placed.status} {name}"
    if placed.aside is None:
        return f"kept {name}: {placed.why}; nothing new for it"
    return f"kept {name}: {placed.why}; the new version is in {placed.aside.relative_to(folder).as_posix()}"


def fail(problem):
    """Print the one line for ``problem`` (an exception or a text) on stderr; returns 2, the exit status.

    CannotWrite gets what to do; another OSError came from reading a notebook.
    """
    if isinstance(problem, CannotWrite):
        problem = f"{problem}. Nothing was overwritten; give a folder you can write with --out DIR"
    elif isinstance(problem, OSError):
        problem = f"cannot read {problem.filename}: {problem.strerror or problem}"
    print(f"error: {problem}", file=sys.stderr)
    return 2

