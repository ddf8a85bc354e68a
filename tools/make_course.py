"""Write the nbgrader course made from the notebooks: source/, then release/ through nbgrader.

    python run.py course           (for teachers: sets up .venv-teach with nbgrader, then runs this)
    python tools/make_course.py [--out course/] [--no-generate] [notebooks/03_softmax.ipynb ...]

Writes a ready nbgrader course directory (default course/):

    course/nbgrader_config.py                  written once; later runs keep your edits
    course/source/03_softmax/03_softmax.ipynb  one assignment per notebook, with nbgrader's metadata
    course/release/03_softmax/03_softmax.ipynb made by `nbgrader generate_assignment`: what students get

The exercise markers (tools/markers.py) are the only source. For each exercise:

- the cell with ``# BEGIN SOLUTION`` becomes a solution cell (grade id: the function's name);
- the check cell after it becomes an autograded test cell (grade id ``check_<name>``, locked,
  worth the ``# points: N`` line in that cell, 1 without one). The cell imports the check from
  ``mnistlib.checks`` (a ``check_<name>`` an answer cell defines changes nothing) and runs it
  strictly: a wrong answer raises ``CheckFailed`` and the cell scores 0, and so does one that
  runs past its budget of CPU seconds (mnistlib/checks/limits.py: an endless loop) or is
  interrupted (nbgrader's timeout per cell). On any of these, before re-raising, the cell
  hands mnistlib's version of the function to the cells below, as the self-study copy does,
  so a wrong or stuck answer costs its own exercise's points and no others;
- hidden tests (``### BEGIN HIDDEN TESTS``) move into that cell's ``try``, after the check,
  in a CPU budget of their own: a failing or endless hidden test costs the exercise and
  hands on mnistlib's version too. nbgrader removes them from release/ and from the
  feedback pages (mnistlib/feedback), and runs them when it autogrades.

The cells after an exercise that explain its answer (tagged ``answer``) are folded as in the
self-study copy (tools/fold.py), in source/ and so in release/.

Markdown cells and the set-up cell (the one with ``%matplotlib inline``) are locked, so that
the instructions and the imports every graded cell relies on stay as written (autograde
restores them). The other code cells stay editable: the notebooks ask learners to change
them and experiment. Outputs are cleared.

After writing source/, runs ``nbgrader generate_assignment "*" --force`` (skip with
--no-generate): release/ is made again for every assignment in source/. The gradebook,
submissions and grades already in the directory are kept.

Running it again never overwrites a teacher's edits to source/. Each notebook written
there carries a record of its cells and their nbgrader metadata (where the points are;
``metadata["mnistlib"]["course_source"]``, see tools/keep_edits.py). A notebook whose
cells still match its record is updated; running it is no change. One the teacher
changed (a cell's source, a cell added or removed, nbgrader's settings such as points),
or one without the record, is kept as it is, so release/ is made from the teacher's
version, and the new version goes outside source/, where nbgrader does not look:

    course/updates/03_softmax/03_softmax.ipynb   to compare with source/ and merge by hand

Output: the points of each notebook, then one line per notebook of source/ ("added",
"updated", "unchanged" or "kept" and its path in the course; for a kept one, where the
new version is), then a summary. Exit status 0 when done, 2 on an error (one line on
stderr starting "error: "), e.g. a course folder that cannot be written.
"""

import argparse
import copy
import os
import subprocess
import sys
from pathlib import Path

try:
    import nbformat
except ImportError:     # run outside the project's environment
    sys.exit("nbformat is not installed here: run `python run.py course`, which sets up its environment and runs this script in it")

sys.path.insert(0, str(Path(__file__).resolve().parent))     # tools/, also when imported by tests
import keep_edits  # noqa: E402
from fold import fold_answers  # noqa: E402
from markers import (BEGIN_HIDDEN, CHECK_CALL, END_HIDDEN, PLACEHOLDER, POINTS,  # noqa: E402
                     MarkerError, find_exercises)

from mnistlib import checks  # noqa: E402
from mnistlib.checks import limits  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RECORD_KEY = "course_source"
COUNTED = ("nbgrader",)         # cell metadata that counts as a teacher's edit: points, grade ids, locks

CONFIG = f'''\
"""nbgrader's configuration for the course written by tools/make_course.py (python run.py course).

Edit freely: make_course.py writes this file only when it is missing.
"""
import os

c = get_config()  # noqa: F821 (nbgrader provides it)

c.CourseDirectory.course_id = "mnist-from-scratch"
# The placeholder of the self-study copy too: the checks answer "not implemented yet" to it.
c.ClearSolutions.code_stub = {{"python": {chr(10).join(PLACEHOLDER)!r}}}

# CPU seconds for each exercise's check, and again for its hidden tests (mnistlib/checks/limits.py).
# An answer that loops forever is stopped there and scores 0 for that exercise; the cells below
# use mnistlib's version. CPU time, not the clock: a busy server does not fail right answers.
# "0" for no limit. The kernels that autograde inherit it from here.
os.environ.setdefault("{limits.ENV}", "{limits.DEFAULT_SECONDS:g}")
# Seconds by the clock per cell when autograding: the last resort, for what the CPU limit cannot
# stop (code that waits without computing, one endless call into numpy). nbgrader then interrupts
# the kernel, and a graded cell takes that as a failure of its exercise, with the same hand-over.
# The longest cells train for a few seconds on the full MNIST; a server busy with a whole class's
# submissions needs more.
c.Execute.timeout = 600

# Feedback pages that name each exercise, leave the hidden tests out and typeset the formulas
# without a network (mnistlib/feedback).
from mnistlib import feedback  # noqa: E402

feedback.configure(c)
'''


def _nbgrader(grade_id, *, solution=False, grade=False, locked=False, points=None):
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": False}
    if grade:
        meta["points"] = points
    return meta


def graded_check_source(source, exercise):
    """The check cell's source for the course (see the module docstring): mnistlib's check by its
    module path, strict; the hidden tests in a CPU budget; the name rebound on any failure."""
    lines, at = source.split("\n"), exercise.check_line
    indent = CHECK_CALL.match(lines[at]).group("indent")
    before, after = ([line for line in part if not POINTS.match(line)] for part in (lines[:at], lines[at + 1:]))
    fn, check = exercise.name, exercise.check.split(".")[-1]
    hidden, rest = _hidden_lines(after)
    points = f"{exercise.points} point{'' if exercise.points == 1 else 's'}"
    block = [f"# Graded, {points}. The check is mnistlib's own (imported here: a {check} defined in an",
             "# answer cell changes nothing), run strictly: a wrong answer raises CheckFailed and the cell",
             "# scores 0; so does one stopped after its CPU time (an endless loop) or interrupted. The cells",
             f"# below then use mnistlib's {fn}, so no other exercise loses points for it.",
             f"from mnistlib.checks import {check}",
             "try:",
             f"    {fn} = {check}({fn}, strict=True)"]
    if hidden:
        # Inside the try: a hidden test that fails hands on mnistlib's version too.
        block += ["    ### BEGIN HIDDEN TESTS",
                  "    from mnistlib.checks.limits import cpu_limit",
                  "    with cpu_limit():",
                  *[f"        {line.removeprefix(indent)}" if line.strip() else "" for line in hidden],
                  "    ### END HIDDEN TESTS"]
    # BaseException: KeyboardInterrupt too, when nbgrader's timeout interrupts the kernel.
    block += ["except BaseException:",
              f"    {fn} = {check}.reference()",
              "    raise"]
    return "\n".join(before + [indent + b if b else b for b in block] + rest).rstrip("\n")


def _hidden_lines(lines):
    """(the lines inside the hidden-test blocks, the other lines), both in order."""
    hidden, rest, inside = [], [], False
    for line in lines:
        if BEGIN_HIDDEN.match(line) or END_HIDDEN.match(line):
            inside = bool(BEGIN_HIDDEN.match(line))
        else:
            (hidden if inside else rest).append(line)
    return hidden, rest


def _ends_with_expression(source):
    """True if the cell's last statement is an expression whose value Jupyter shows.

    nbgrader reads a number shown by a graded cell as its partial score (and any
    other value as full marks), so a test cell must not end with one.
    """
    import ast
    try:
        body = ast.parse(source).body
    except SyntaxError:              # IPython magics: not ours to judge
        return False
    if not body or not isinstance(body[-1], ast.Expr) or source.rstrip().endswith(";"):
        return False
    value = body[-1].value
    return not (isinstance(value, ast.Call) and getattr(value.func, "id", None) == "print")


def _check_function(exercise, where):
    check = getattr(checks, exercise.check.split(".")[-1], None)
    if check is None or not hasattr(check, "reference"):
        raise MarkerError(f"{where}: {exercise.check} is not a check from mnistlib.checks (made with "
                          "@exercise); the course needs its strict mode and its reference.")


def course_notebook(nb, name="notebook"):
    """A copy of ``nb`` with nbgrader's cell metadata and the graded check cells.

    Returns (notebook, exercises); ``exercises`` as ``markers.find_exercises`` gives them.
    """
    exercises = find_exercises(nb, name)
    nb = copy.deepcopy(nb)
    fold_answers(nb, name, exercises)
    for i, cell in enumerate(nb.cells):
        cell.metadata.pop("nbgrader", None)
        cell.metadata.pop("execution", None)   # nbclient's timings from the last run
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell_id = cell.get("id") or f"cell{i}"
        if cell.cell_type == "markdown" or (cell.cell_type == "code" and "%matplotlib inline" in cell.source):
            cell.metadata["nbgrader"] = _nbgrader(f"locked_{cell_id}", locked=True)
    for ex in exercises:
        where = f"{name}, cell {ex.check_cell}"
        _check_function(ex, where)
        nb.cells[ex.solution_cell].metadata["nbgrader"] = _nbgrader(ex.name, solution=True)
        test = nb.cells[ex.check_cell]
        test.source = graded_check_source(test.source, ex)
        if _ends_with_expression(test.source):
            raise MarkerError(f"{where}: the check cell ends with an expression; nbgrader would read its "
                              "value as the cell's score. Assign it, or end the line with ';'.")
        test.metadata["nbgrader"] = _nbgrader(f"check_{ex.name}", grade=True, locked=True, points=ex.points)
    nb.metadata.pop("widgets", None)   # saved widget views belong to the cleared outputs
    return nb, exercises


def updates_path(out):
    """Where the new version of a kept source/<name>/<name>.ipynb goes: updates/<name>/, outside
    source/, since nbgrader releases every notebook in an assignment's folder."""
    def aside(path, n):
        folder = out / "updates" / path.parent.name
        return folder / (path.name if n == 1 else f"{path.stem}.new{n}{path.suffix}")
    return aside


def write_source(out, paths):
    """Write out/nbgrader_config.py (if missing) and out/source/<name>/<name>.ipynb for each path,
    keeping a teacher's edits to source/ (see the module docstring).

    Returns ({assignment name: exercises}, [keep_edits.Placed, one per notebook]).
    """
    made = [(path, *course_notebook(nbformat.read(path, as_version=4), name=path.name)) for path in paths]
    keep_edits.make_folder(out)
    config = out / "nbgrader_config.py"
    if not config.exists():
        try:
            config.write_text(CONFIG)
        except OSError as e:
            raise keep_edits.CannotWrite(f"cannot write {config}: {e.strerror or e}") from e
    assignments, placed = {}, []
    for path, nb, exercises in made:
        target = out / "source" / path.stem / path.name
        placed.append(keep_edits.place(nb, target, RECORD_KEY, path.name, aside=updates_path(out),
                                       cell_metadata=COUNTED))
        assignments[path.stem] = exercises
    return assignments, placed


def nbgrader_env():
    """The environment for running nbgrader from this Python: its scripts first on PATH.

    nbgrader runs the ``alembic`` command it installs beside itself; without the
    environment activated, that command is not on PATH.
    """
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def generate(out):
    """``nbgrader generate_assignment "*" --force``: release/ made from every assignment in source/."""
    run = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", "*", "--force"],
                         cwd=out, capture_output=True, text=True, env=nbgrader_env())
    if run.returncode != 0:
        sys.exit(keep_edits.fail(f"nbgrader generate_assignment failed:\n{run.stdout}{run.stderr}"))


def main(argv=None):
    """Run the command line; returns the exit status (0 done, 2 an error)."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="A re-run keeps every notebook of source/ the teacher changed (release/ is made from it) "
               "and puts its new version in updates/. Exit status: 0 done, 2 an error (one line on stderr).")
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="notebooks to include (default: every notebook in notebooks/)")
    parser.add_argument("--out", type=Path, default=ROOT / "course", metavar="DIR",
                        help="the course directory (default: course/)")
    parser.add_argument("--no-generate", action="store_true",
                        help="write source/ only; don't run nbgrader generate_assignment")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    if not paths:
        return keep_edits.fail(f"no notebooks found in {ROOT / 'notebooks'}")
    try:
        assignments, placed = write_source(args.out, paths)
    except (MarkerError, keep_edits.CannotWrite, OSError) as e:
        return keep_edits.fail(e)
    for name, exercises in assignments.items():
        points = sum(e.points for e in exercises)
        listed = ", ".join(f"{e.name} ({e.points})" for e in exercises) or "no graded exercise"
        print(f"{name}: {points} point{'' if points == 1 else 's'}: {listed}")
    for p in placed:
        print(keep_edits.line(p, args.out))
    print(keep_edits.summary(args.out / "source", placed))
    if not args.no_generate:
        generate(args.out)
        print(f"made {args.out / 'release'} anew through nbgrader, from every assignment in "
              f"{args.out / 'source'}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted: each notebook of source/ is either as it was or fully written; run the "
              "command again", file=sys.stderr)
        sys.exit(130)
