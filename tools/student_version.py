"""Write the student version of the notebooks: each worked solution replaced by a placeholder.

    python run.py student                       (sets up .venv first, then runs this)
    python tools/student_version.py [--out DIR] [notebooks/03_softmax.ipynb ...]

With no notebooks named, converts every notebook in notebooks/ into DIR
(default student/). In each code cell, the lines from ``# BEGIN SOLUTION`` to
``# END SOLUTION`` (both included) become, at the indentation of the
``# BEGIN SOLUTION`` line,

    # YOUR CODE HERE
    raise NotImplementedError("your turn")

and the lines from ``### BEGIN HIDDEN TESTS`` to ``### END HIDDEN TESTS`` are
removed (they are for grading). These are nbgrader's own markers, read by
tools/markers.py for both this copy and the graded course (tools/make_course.py).
The cells after an exercise that explain its answer (tagged ``answer``) are
folded, as in the course (tools/fold.py): each into a closed ``<details>``
block (a code cell's code and what it printed, as text that does not run); the
set-up cell tells the checks, so that a check that passes says where its
explanation is.
Everything else is kept as it is; outputs, execution counts and saved widget
state are cleared, so the learner starts from a clean notebook. The cell
after each exercise calls a check from ``mnistlib.checks``, which reports "not
implemented yet" until the learner fills in the function, and hands the cells
below mnistlib's own version, so that "Run All" goes through to the end.

Running it again never loses the learner's work. Each notebook written carries a
record of its cells (``metadata["mnistlib"]["student_copy"]``, see
tools/keep_edits.py). A notebook in DIR whose cells still match its record is
updated to the new version; running it (outputs, widget state) is no change. A
notebook the learner changed, or one without the record, is kept as it is, and
the new version, if there is one, is written beside it as
``NN_name.new.ipynb`` (``.new2.ipynb`` and so on if that one was changed too).
Each file is written to a temporary file and renamed, so an interrupted run
leaves no half-written notebook.

It refuses, before writing anything, to write into notebooks/ (or into the
folder of a notebook it reads), and over a notebook that holds solutions
(``# BEGIN SOLUTION`` lines): that is a worked notebook, not a student copy.

Output, for scripts (a JupyterHub making each student's copy calls this): one
line per notebook on stdout, its status, then its name in DIR:

    added NAME          it was not there
    updated NAME        it was untouched, and now holds the new version
    unchanged NAME      it already holds the newest version; left as it is
    kept NAME: WHY; the new version is in NEWNAME     (NEWNAME: the last word)
    kept NAME: WHY; nothing new for it

(WHY: "changed since it was written", or "no record that this command wrote it
from NAME", or "not a notebook this command can read")

then one summary line ("wrote 3 notebooks to DIR: ..." or "nothing new for DIR: ...").
Exit status 0 when done (kept notebooks included); 2 when it refused or failed, with
one line on stderr starting "error: " that says why and what to do, and nothing
overwritten.
"""

import argparse
import copy
import os
import sys
from pathlib import Path

try:
    import nbformat
except ImportError:     # run outside the project's environment
    sys.exit("nbformat is not installed here: run `python run.py student`, which sets up .venv/ and runs this script in it")

sys.path.insert(0, str(Path(__file__).resolve().parent))     # tools/, also when imported by tests
import keep_edits  # noqa: E402
from fold import fold_answers  # noqa: E402
from markers import BEGIN, MarkerError, find_exercises, strip_hidden_tests, strip_solutions  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RECORD_KEY = "student_copy"


class Refused(Exception):
    """Writing would replace worked solutions; the message says what to do instead."""


def student_notebook(nb, name="notebook"):
    """A copy of ``nb`` with solutions replaced, explanations folded and all outputs cleared; returns
    (notebook, n_exercises)."""
    exercises = find_exercises(nb, name)          # the markers must fit together, as for the course
    nb = copy.deepcopy(nb)
    fold_answers(nb, name, exercises)
    total = 0
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        cell.source, n = strip_solutions(cell.source, where=f"{name}, cell {i}")
        cell.source = strip_hidden_tests(cell.source, where=f"{name}, cell {i}")
        total += n
        cell.outputs = []
        cell.execution_count = None
    nb.metadata.pop("widgets", None)   # saved widget views belong to the cleared outputs
    return nb, total


def holds_solutions(nb):
    """True if a code cell of ``nb`` has a ``# BEGIN SOLUTION`` line: a worked notebook."""
    return any(BEGIN.match(line) for cell in nb.cells if cell.cell_type == "code"
               for line in cell.source.split("\n"))


def _same_folder(a, b):
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)        # bind mounts and other aliases resolve() cannot see
    except OSError:                          # one of them does not exist yet
        return False


def refuse_solutions(out, paths):
    """Raise Refused if ``out`` is notebooks/ or the folder of a notebook in ``paths``, or if a
    file there that would be written holds solutions."""
    for folder in [ROOT / "notebooks", *{p.parent for p in paths}]:
        if _same_folder(out, folder):
            raise Refused(f"--out {out} is the folder of the worked notebooks ({folder}); the student copy "
                          "would replace their solutions. Give another folder, e.g. --out student")
    for path in paths:
        target = out / path.name
        if target.is_file() and (nb := keep_edits.read(target)) is not None and holds_solutions(nb):
            raise Refused(f"{target} holds worked solutions ('# BEGIN SOLUTION' lines), so it is not a "
                          "student copy and is not overwritten. Move it away, or give another --out folder")


def write_student_copy(out, paths):
    """Write the student version of each notebook in ``paths`` into ``out``, keeping the learner's
    edits; returns a list of ``keep_edits.Placed``, one per notebook.

    Everything is checked (the markers, refuse_solutions) before the first file is written.
    """
    made = [(path, student_notebook(nbformat.read(path, as_version=4), name=path.name)[0]) for path in paths]
    refuse_solutions(out, paths)
    return [keep_edits.place(nb, out / path.name, RECORD_KEY, path.name, aside=keep_edits.beside)
            for path, nb in made]


def main(argv=None):
    """Run the command line; returns the exit status (0 done, 2 refused or failed)."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="A re-run keeps every notebook you changed and writes its new version beside it as "
               "NN_name.new.ipynb. Output: one line per notebook, 'added|updated|unchanged|kept NAME', "
               "then a summary. Exit status: 0 done, 2 refused or failed (one line on stderr).")
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="notebooks to convert (default: every notebook in notebooks/)")
    parser.add_argument("--out", type=Path, default=ROOT / "student", metavar="DIR",
                        help="directory for the student versions (default: student/)")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    if not paths:
        return keep_edits.fail(f"no notebooks found in {ROOT / 'notebooks'}")
    try:
        placed = write_student_copy(args.out, paths)
    except (MarkerError, Refused, keep_edits.CannotWrite, OSError) as e:
        return keep_edits.fail(e)
    for p in placed:
        print(keep_edits.line(p, args.out))
    print(keep_edits.summary(args.out, placed))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted: each notebook is either as it was or fully written; run the command again",
              file=sys.stderr)
        sys.exit(130)
