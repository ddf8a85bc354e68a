"""Fold away what follows an exercise and gives its answer: the cells tagged ``answer``.

In notebooks/ the explanation of an exercise's answer stands right after its check
cell, as it should for a reader of the worked notebooks. A learner with a blank
exercise must not see it before trying. So the author tags each such cell
``answer`` (``cell.metadata["tags"]``; CONTRIBUTING.md says which cells), and both
copies made from the notebooks, the student copy (tools/student_version.py) and
the course (tools/make_course.py), fold them with ``fold_answers``:

- a markdown cell becomes a closed ``<details>`` block, opened by a click on its
  one-line summary ("Explanation of ``softmax``" for the first one after an
  exercise, "More on the answer to ``softmax``" for later ones). The summary
  names the exercise, nothing of its answer. The cell's text is kept as it is,
  between blank lines (so that its markdown and LaTeX render inside the block),
  except that its headings become bold lines: a heading inside a closed block
  would still show in the table of contents. A cell that starts a section and
  ends with the next one is folded up to that next heading (``#`` to ``###``,
  after its first line), which stays in sight;
- a code cell becomes a folded markdown cell too, holding its code and what it
  printed in the worked notebook (a figure it drew is named, not shown). It
  does not run in the copy, so nothing below it may need what it defines: the
  student-copy test runs every notebook to the end, and would fail. Why not
  keep it as a code cell with its source hidden (``metadata["jupyter"]
  ["source_hidden"]``)? JupyterLab 4 and Notebook 7 show a hidden cell's first
  line on its collapsed bar, and show its outputs again every time it runs
  (``outputs_hidden`` lasts only until then), so "Run All", on the learner's
  answer or on mnistlib's, would print the answer just below the exercise;
- the set-up cell, the code cell that imports from ``mnistlib.checks``, gets
  two lines at its end, ``explained_in_fold("softmax", ...)``, naming the
  exercises whose explanation is folded: from then on their checks, when they
  pass, also say where the explanation is (``mnistlib/checks/explained.py``).

A tag where it cannot belong is an error (``FoldError``, which names the cell):
on a cell with no exercise above it, on an exercise's own cell or its check cell,
or on a raw cell.

For an author who reworks a notebook and re-applies the tags::

    python tools/fold.py notebooks/03_softmax.ipynb [...]

lists, for each exercise, its cells (solution, check), the give-aways its cell
lists (``metadata["mnistlib"]["giveaways"]``, read by tests/test_giveaways.py)
and the cells folded after it, each by its first line. Exit status 0 when every
exercise lists give-aways and every tag fits; 1 when an exercise lists none;
2 when a tag or a marker is misplaced (one line on stderr naming the cell).
"""

import argparse
import copy
import re
import sys

import nbformat
from nbformat.v4 import new_markdown_cell

from markers import MarkerError, find_exercises

TAG = "answer"
# A heading that starts a section or subsection: the fold of a cell ends before it.
SECTION = re.compile(r"^#{1,3}[ \t]")
HEADING = re.compile(r"^#{1,6}[ \t]+(?P<text>.*?)(?:[ \t]+#+)?[ \t]*$")
FENCE = re.compile(r"^[ \t]*(```|~~~)")
CHECKS_IMPORT = re.compile(r"^[ \t]*(from[ \t]+mnistlib\.checks[ \t.]|import[ \t]+mnistlib\.checks)", re.M)
NOTE = "# In this copy the explanation after each exercise is folded; a check that passes says where."


class FoldError(MarkerError):
    """An ``answer`` tag where it cannot belong. The message names the cell and says what to do."""


def summary(exercise, first):
    """The always-visible line of a fold after ``exercise`` (HTML: markdown is not read there)."""
    if first:
        return f"<b>Explanation of <code>{exercise}</code></b> (open it once your check passes)"
    return f"<b>More on the answer to <code>{exercise}</code></b>"


def _lines_outside_code(lines):
    """(index, line) of every line of markdown ``lines`` that is not inside a fenced code block."""
    fenced = False
    for k, line in enumerate(lines):
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            yield k, line


def _fenced(text, info=""):
    """``text`` as a fenced block whose fence is longer than any run of backticks in it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{text.rstrip()}\n{fence}"


def code_as_markdown(cell):
    """The markdown for a code ``cell`` (with the outputs of its run) that is folded as text."""
    printed, figures = [], 0
    for out in cell.get("outputs", []):
        data = out.get("data", {})
        if out.output_type == "stream" and out.get("name") == "stdout":
            printed.append(out.text)
        elif out.output_type in ("execute_result", "display_data"):
            if any(kind.startswith("image/") or kind.startswith("application/vnd.jupyter.widget") for kind in data):
                figures += 1
            elif "text/plain" in data:
                printed.append(data["text/plain"] + "\n")
    parts = ["The code, as the worked notebook runs it (in this copy it does not run):", _fenced(cell.source, "python")]
    if printed:
        parts += ["What it printed there:", _fenced("".join(printed))]
    if figures:
        parts.append(f"It also draws {'a figure' if figures == 1 else f'{figures} figures'}: to see "
                     f"{'it' if figures == 1 else 'them'} with your own function, copy the code into a new cell "
                     "and run it.")
    return "\n\n".join(parts)


def fold_markdown(source, title):
    """``source`` (a markdown cell's) folded into a closed ``<details>`` block with ``title`` as its
    summary, up to its first section heading after its first line; returns the new source."""
    lines = source.strip("\n").split("\n")
    outside = list(_lines_outside_code(lines))
    split = next((k for k, line in outside if k > 0 and SECTION.match(line)), len(lines))
    body = list(lines[:split])
    for k, line in outside:
        if k < split and (m := HEADING.match(line)):
            body[k] = f"**{m.group('text')}**"
    folded = f"<details>\n<summary>{title}</summary>\n\n" + "\n".join(body).strip("\n") + "\n\n</details>"
    rest = "\n".join(lines[split:]).strip("\n")
    return folded + ("\n\n" + rest if rest else "")


def _owner(i, exercises, where):
    """The exercise whose check cell is the last one above cell ``i``."""
    for ex in exercises:
        if i in (ex.solution_cell, ex.check_cell):
            raise FoldError(f"{where}: the cell of the exercise {ex.name} itself is tagged '{TAG}'; the tag "
                            "marks the cells after its check that explain the answer. Remove it.")
    above = [ex for ex in exercises if ex.check_cell < i]
    if not above:
        raise FoldError(f"{where}: tagged '{TAG}', but no exercise stands above it; the tag marks the cells "
                        "after an exercise's check that explain its answer. Remove it.")
    return above[-1]


def announce(nb, names, name="notebook"):
    """Add ``explained_in_fold(*names)`` to the end of the set-up cell of ``nb`` (the first code cell
    that imports from mnistlib.checks)."""
    cell = next((c for c in nb.cells if c.cell_type == "code" and CHECKS_IMPORT.search(c.source)), None)
    if cell is None:
        raise FoldError(f"{name}: cells are tagged '{TAG}', but no code cell imports from mnistlib.checks, "
                        "where the line that tells the checks about the folds would go.")
    call = ", ".join(f'"{n}"' for n in names)
    cell.source = (cell.source.rstrip("\n") + f"\n\n{NOTE}\n"
                   "from mnistlib.checks.explained import explained_in_fold\n"
                   f"explained_in_fold({call})")


def fold_answers(nb, name="notebook", exercises=None):
    """Fold every cell of ``nb`` tagged ``answer``, in place, and announce the folds in its set-up
    cell (see the module docstring). ``nb`` must still hold its solution markers; ``exercises``, if
    given, are ``markers.find_exercises(nb)``.

    Returns {exercise name: [indices of its folded cells]}, in the order of the notebook.
    """
    exercises = find_exercises(nb, name) if exercises is None else exercises
    folded = {}
    for i, cell in enumerate(nb.cells):
        if TAG not in cell.metadata.get("tags", []):
            continue
        where = f"{name}, cell {i}"
        owner = _owner(i, exercises, where).name
        first = owner not in folded
        if cell.cell_type == "markdown":
            cell.source = fold_markdown(cell.source, summary(owner, first))
        elif cell.cell_type == "code":
            text = fold_markdown(code_as_markdown(cell), summary(owner, first))
            meta = {k: v for k, v in cell.metadata.items() if k not in ("execution", "jupyter", "collapsed")}
            nb.cells[i] = new_markdown_cell(text, metadata=meta, **({"id": cell.id} if "id" in cell else {}))
        else:
            raise FoldError(f"{where}: a {cell.cell_type} cell is tagged '{TAG}'; only markdown and code "
                            "cells can be folded.")
        folded.setdefault(owner, []).append(i)
    if folded:
        announce(nb, list(folded), name)
    return folded


def first_line(cell):
    """The first non-blank line of ``cell``'s source, cut to 70 characters: how a listing names a cell."""
    line = next((ln.strip() for ln in cell.source.split("\n") if ln.strip()), "(empty)")
    return line if len(line) <= 70 else line[:67] + "..."


def listing(nb, name="notebook"):
    """The lines ``python tools/fold.py NOTEBOOK`` prints for ``nb`` (see the module docstring), and
    the names of its exercises that list no give-aways. Raises FoldError or MarkerError as
    ``fold_answers`` does."""
    exercises = find_exercises(nb, name)
    folded = fold_answers(copy.deepcopy(nb), name, exercises)
    lines, missing = [f"{name}: {len(exercises)} exercise(s)"], []
    for ex in exercises:
        listed = nb.cells[ex.solution_cell].metadata.get("mnistlib", {}).get("giveaways") or []
        lines.append(f"  {ex.name}: solution in cell {ex.solution_cell}, check in cell {ex.check_cell}")
        if not listed:
            missing.append(ex.name)
            lines.append(f"    give-aways: none listed; add metadata['mnistlib']['giveaways'] to cell "
                         f"{ex.solution_cell} (CONTRIBUTING.md)")
        for g in listed:
            lines.append(f"    give-away: {g}")
        for i in folded.get(ex.name, []):
            lines.append(f"    folded: cell {i} ({nb.cells[i].cell_type}) {first_line(nb.cells[i])}")
        if ex.name not in folded:
            lines.append(f"    folded: nothing (no cell after its check is tagged '{TAG}')")
    return lines, missing


def main(argv=None):
    """List the exercises, give-aways and folds of the notebooks named; returns the exit status."""
    parser = argparse.ArgumentParser(description="List each exercise's give-aways and the cells folded "
                                     f"after it (tagged '{TAG}'), to check the tags of a reworked notebook.")
    parser.add_argument("notebooks", nargs="+", help="worked notebooks, e.g. notebooks/03_softmax.ipynb")
    args = parser.parse_args(argv)
    status = 0
    for path in args.notebooks:
        try:
            lines, missing = listing(nbformat.read(path, as_version=4), path)
        except (MarkerError, OSError, ValueError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        print("\n".join(lines))
        status = status or (1 if missing else 0)
    return status


if __name__ == "__main__":
    sys.exit(main())
