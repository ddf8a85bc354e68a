"""Write the student version of the notebooks: each worked solution replaced by a placeholder.

    python run.py student                       (sets up .venv first, then runs this)
    python tools/student_version.py [--out student/] [notebooks/03_softmax.ipynb ...]

With no notebooks named, converts every notebook in notebooks/. In each code
cell, the lines from ``# BEGIN SOLUTION`` to ``# END SOLUTION`` (both included)
become, at the indentation of the ``# BEGIN SOLUTION`` line,

    # YOUR CODE HERE
    raise NotImplementedError("your turn")

and the lines from ``### BEGIN HIDDEN TESTS`` to ``### END HIDDEN TESTS`` are
removed (they are for grading, see tools/make_course.py). These are nbgrader's
own markers, so the self-study copy and the graded course come from the same
notebooks. Everything else is kept as it is; outputs, execution counts and saved
widget state are cleared, so the learner starts from a clean notebook. The cell
after each exercise calls a check from ``mnistlib.checks``, which reports "not
implemented yet" until the learner fills in the function, and hands the cells
below mnistlib's own version, so that "Run All" goes through to the end.
"""

import argparse
import copy
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent

BEGIN = re.compile(r"^([ \t]*)# BEGIN SOLUTION[ \t]*$")
END = re.compile(r"^[ \t]*# END SOLUTION[ \t]*$")
BEGIN_HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS[ \t]*$")
END_HIDDEN = re.compile(r"^[ \t]*### END HIDDEN TESTS[ \t]*$")
PLACEHOLDER = ("# YOUR CODE HERE", 'raise NotImplementedError("your turn")')


class MarkerError(ValueError):
    """The solution markers in a cell don't pair up. The message names the cell and the line."""


def strip_solutions(source, where="cell"):
    """``source`` with every solution block replaced by the placeholder; returns (source, n_blocks)."""
    out, indent, n = [], None, 0
    for number, line in enumerate(source.split("\n"), start=1):
        begin, end = BEGIN.match(line), END.match(line)
        if begin:
            if indent is not None:
                raise MarkerError(f"{where}, line {number}: '# BEGIN SOLUTION' inside another solution block")
            indent = begin.group(1)
            out.extend(indent + text for text in PLACEHOLDER)
            n += 1
        elif end:
            if indent is None:
                raise MarkerError(f"{where}, line {number}: '# END SOLUTION' without '# BEGIN SOLUTION'")
            indent = None
        elif indent is None:
            out.append(line)
    if indent is not None:
        raise MarkerError(f"{where}: '# BEGIN SOLUTION' without '# END SOLUTION'")
    return "\n".join(out), n


def strip_hidden_tests(source, where="cell"):
    """``source`` without its hidden-test blocks (markers included)."""
    out, hidden = [], False
    for number, line in enumerate(source.split("\n"), start=1):
        if BEGIN_HIDDEN.match(line):
            if hidden:
                raise MarkerError(f"{where}, line {number}: '### BEGIN HIDDEN TESTS' inside another one")
            hidden = True
        elif END_HIDDEN.match(line):
            if not hidden:
                raise MarkerError(f"{where}, line {number}: '### END HIDDEN TESTS' without a BEGIN")
            hidden = False
        elif not hidden:
            out.append(line)
    if hidden:
        raise MarkerError(f"{where}: '### BEGIN HIDDEN TESTS' without '### END HIDDEN TESTS'")
    return "\n".join(out).rstrip("\n") if len(out) < len(source.split("\n")) else source


def student_notebook(nb, name="notebook"):
    """A copy of ``nb`` with solutions replaced and all outputs cleared; returns (notebook, n_exercises)."""
    nb = copy.deepcopy(nb)
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="notebooks to convert (default: every notebook in notebooks/)")
    parser.add_argument("--out", type=Path, default=ROOT / "student",
                        help="directory for the student versions (default: student/)")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    if not paths:
        sys.exit("no notebooks found")
    args.out.mkdir(parents=True, exist_ok=True)
    for path in paths:
        nb, n = student_notebook(nbformat.read(path, as_version=4), name=path.name)
        nbformat.write(nb, args.out / path.name)
        print(f"{path.name}: {n} exercise{'' if n == 1 else 's'}")
    print(f"wrote {len(paths)} notebooks to {args.out}")


if __name__ == "__main__":
    try:
        main()
    except MarkerError as e:
        sys.exit(f"error: {e}")
