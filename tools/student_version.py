"""Write the student version of the notebooks: each worked solution replaced by a placeholder.

    python run.py student                       (sets up .venv first, then runs this)
    python tools/student_version.py [--out student/] [notebooks/03_softmax.ipynb ...]

With no notebooks named, converts every notebook in notebooks/. In each code
cell, the lines from ``# BEGIN SOLUTION`` to ``# END SOLUTION`` (both included)
become, at the indentation of the ``# BEGIN SOLUTION`` line,

    # YOUR CODE HERE
    raise NotImplementedError("your turn")

and the lines from ``### BEGIN HIDDEN TESTS`` to ``### END HIDDEN TESTS`` are
removed (they are for grading). These are nbgrader's own markers, read by
tools/markers.py for both this copy and the graded course (tools/make_course.py).
Everything else is kept as it is; outputs, execution counts and saved widget
state are cleared, so the learner starts from a clean notebook. The cell
after each exercise calls a check from ``mnistlib.checks``, which reports "not
implemented yet" until the learner fills in the function, and hands the cells
below mnistlib's own version, so that "Run All" goes through to the end.
"""

import argparse
import copy
import sys
from pathlib import Path

try:
    import nbformat
except ImportError:     # run outside the project's environment
    sys.exit("nbformat is not installed here: run `python run.py student`, which sets up .venv/ and runs this script in it")

sys.path.insert(0, str(Path(__file__).resolve().parent))     # tools/, also when imported by tests
from markers import MarkerError, find_exercises, strip_hidden_tests, strip_solutions  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def student_notebook(nb, name="notebook"):
    """A copy of ``nb`` with solutions replaced and all outputs cleared; returns (notebook, n_exercises)."""
    find_exercises(nb, name)          # the markers must fit together, as for the course
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
