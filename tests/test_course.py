"""The nbgrader course (tools/make_course.py): metadata from the markers, and nbgrader for real.

The first part needs no nbgrader: the course notebooks are made from the markers
as described, each graded check cell raises on a wrong answer and hands the
cells below mnistlib's version, and every wrong answer in course_wrong_answers.py
is rejected by its check with the message given there.

The second part runs nbgrader itself, in the teacher's environment .venv-teach
(``python run.py course`` sets it up; the first time needs the package registry,
then it works offline). It writes the course with ``python run.py course``,
hands in three submissions per notebook (the worked solutions, every exercise
left blank, the first exercise wrong and the others right), runs
``nbgrader autograde`` on the bundled subset, offline, and reads the scores from
nbgrader's gradebook. Where it cannot run (Python 3.10, no registry the first
time) it is skipped with the reason; with CI=true it fails instead.
"""

import html
import json
import os
import re
import subprocess
import sys
import textwrap
import time
import warnings
from copy import deepcopy
from dataclasses import dataclass
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from mnistlib import checks
from mnistlib.checks import limits

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))
sys.path.insert(0, str(REPO_ROOT / "tools"))
import fold  # noqa: E402
import make_course  # noqa: E402
import markers  # noqa: E402
from student_version import student_notebook  # noqa: E402

from course_wrong_answers import RIGHT, wrong_answer  # noqa: E402

def exercises_of(path):
    return markers.find_exercises(nbformat.read(path, as_version=4), path.name)


EXERCISE_NOTEBOOKS = [p for p in NOTEBOOKS if exercises_of(p)]


def notebook(*cells):
    """A notebook from ("md" | "code", source) pairs."""
    return new_notebook(cells=[new_markdown_cell(s) if kind == "md" else new_code_cell(s) for kind, s in cells])


FLATTEN = ('def flatten(image):\n'
           '    """(28, 28) uint8 -> (784,) float32 in [0, 1]."""\n'
           '    # BEGIN SOLUTION\n'
           '    return image.reshape(784).astype(np.float32) / 255\n'
           '    # END SOLUTION')


# --- part 1: the course notebooks, without nbgrader -------------------------------------

@pytest.mark.parametrize("check_source", [
    "flatten = check_flatten(flatten)",
    "check_flatten(flatten)",
    "flatten = checks.check_flatten(flatten)   # the check",
])
def test_check_cell_becomes_a_strict_graded_cell(check_source):
    nb = notebook(("md", "# Flatten"), ("code", "%matplotlib inline\nimport numpy as np"),
                  ("code", FLATTEN), ("code", check_source), ("code", "x = flatten(image)"))
    course, exercises = make_course.course_notebook(nb, "demo.ipynb")
    assert [(e.name, e.solution_cell, e.check_cell, e.points) for e in exercises] == [("flatten", 2, 3, 1)]
    meta = [c.metadata.get("nbgrader") for c in course.cells]
    assert meta[0]["locked"] and meta[1]["locked"]                   # markdown and the set-up cell
    assert meta[2] == {"grade": False, "grade_id": "flatten", "locked": False, "schema_version": 3,
                       "solution": True, "task": False}
    assert meta[3] == {"grade": True, "grade_id": "check_flatten", "locked": True, "points": 1,
                       "schema_version": 3, "solution": False, "task": False}
    assert meta[4] is None                                            # learners may edit and experiment
    assert course.cells[2].source == FLATTEN
    graded = course.cells[3].source
    # mnistlib's check, by its module path, whichever way the notebook called it
    assert "\nfrom mnistlib.checks import check_flatten\ntry:\n    flatten = check_flatten(flatten, strict=True)\n" in graded
    assert graded.endswith("\nexcept BaseException:\n    flatten = check_flatten.reference()\n    raise")
    assert course.cells[4].source == "x = flatten(image)"


def test_points_marker_and_hidden_tests():
    check = ("flatten = check_flatten(flatten)\n# points: 3\n"
             "### BEGIN HIDDEN TESTS\nassert flatten(np.zeros((28, 28), np.uint8)).dtype == np.float32\n"
             "### END HIDDEN TESTS")
    course, [ex] = make_course.course_notebook(notebook(("code", FLATTEN), ("code", check)))
    assert ex.points == 3 and ex.hidden_tests
    cell = course.cells[1]
    assert cell.metadata.nbgrader["points"] == 3
    assert "# points" not in cell.source and "Graded, 3 points" in cell.source
    # inside the try, after the check, with a CPU budget of their own
    assert cell.source.endswith("    flatten = check_flatten(flatten, strict=True)\n"
                                "    ### BEGIN HIDDEN TESTS\n"
                                "    from mnistlib.checks.limits import cpu_limit\n"
                                "    with cpu_limit():\n"
                                "        assert flatten(np.zeros((28, 28), np.uint8)).dtype == np.float32\n"
                                "    ### END HIDDEN TESTS\n"
                                "except BaseException:\n    flatten = check_flatten.reference()\n    raise")
    student, _ = student_notebook(notebook(("code", FLATTEN), ("code", check)))
    assert "HIDDEN" not in student.cells[1].source and "dtype" not in student.cells[1].source


def _run_graded_cell(source, flatten, **answer_cell):
    """Run a graded check cell as the kernel would, after an answer cell that defined ``flatten``
    (and whatever else is in ``answer_cell``)."""
    namespace = {"np": np, "flatten": flatten, "check_flatten": checks.check_flatten, **answer_cell}
    error = None
    try:
        exec(source, namespace)
    except BaseException as e:      # the cell's error is what nbgrader sees
        error = e
    return namespace["flatten"], error


def _handed_on(now, learners):
    """The name now holds mnistlib's flatten, and it works."""
    assert now is not learners and getattr(now, "_mnistlib_reference", False)
    np.testing.assert_allclose(now(np.full((28, 28), 255, np.uint8)), np.ones(784))


@pytest.fixture(scope="module")
def graded_flatten_cell():
    course, _ = make_course.course_notebook(notebook(("code", FLATTEN), ("code", "flatten = check_flatten(flatten)")))
    return course.cells[1].source


def test_graded_cell_keeps_a_right_answer(graded_flatten_cell, capsys):
    def flatten(image):
        return np.ravel(image) / np.float32(255)
    now, error = _run_graded_cell(graded_flatten_cell, flatten)
    assert error is None and now is flatten
    assert "✓ flatten" in capsys.readouterr().out


@pytest.mark.parametrize("body, message", [
    ("return image.reshape(784)", "expected values in [0, 1]"),
    ('raise NotImplementedError("your turn")', "not implemented yet"),
])
def test_graded_cell_raises_and_hands_on_mnistlibs_version(graded_flatten_cell, body, message):
    namespace = {"np": np}
    exec(f"def flatten(image):\n    {body}", namespace)
    now, error = _run_graded_cell(graded_flatten_cell, namespace["flatten"])
    assert isinstance(error, checks.CheckFailed) and message in str(error)
    _handed_on(now, namespace["flatten"])                          # the cells below get a working flatten


def test_a_check_redefined_in_an_answer_cell_changes_nothing(graded_flatten_cell):
    def flatten(image):
        return image.reshape(784)                                  # wrong: values up to 255

    def check_flatten(fn, strict=False):                           # the learner's own "check"
        return fn

    now, error = _run_graded_cell(graded_flatten_cell, flatten, check_flatten=check_flatten)
    assert isinstance(error, checks.CheckFailed) and "expected values in [0, 1]" in str(error)
    _handed_on(now, flatten)


def test_an_endless_loop_scores_0_and_hands_on_mnistlibs_version(graded_flatten_cell, monkeypatch):
    monkeypatch.setenv(limits.ENV, "0.3")

    def flatten(image):
        while True:
            image = image + 0

    now, error = _run_graded_cell(graded_flatten_cell, flatten)
    assert isinstance(error, checks.CheckFailed) and "used more than 0.3 s of CPU time" in str(error)
    _handed_on(now, flatten)


@pytest.mark.parametrize("stuck", ["while True:\n            image = image + 0", "raise KeyboardInterrupt"])
def test_stuck_in_a_hidden_test_scores_0_and_hands_on_mnistlibs_version(stuck, monkeypatch):
    """An answer the visible check passes, stuck on the hidden test's input: looping, or interrupted
    (nbgrader's timeout) while the hidden tests run."""
    monkeypatch.setenv(limits.ENV, "0.3")
    check = ("flatten = check_flatten(flatten)\n### BEGIN HIDDEN TESTS\n"
             "flatten(np.full((28, 28), 7, np.uint8))\n### END HIDDEN TESTS")
    source = make_course.course_notebook(notebook(("code", FLATTEN), ("code", check)))[0].cells[1].source
    namespace = {"np": np}
    exec(f"def flatten(image):\n    if image.min() == 7:\n        {stuck}\n"
         "    return image.reshape(784).astype(np.float32) / 255", namespace)
    now, error = _run_graded_cell(source, namespace["flatten"])
    assert isinstance(error, (limits.CPUTimeExceeded, KeyboardInterrupt)), error
    _handed_on(now, namespace["flatten"])


@pytest.mark.parametrize("cells, problem", [
    ([("code", FLATTEN)], "no code cell after it"),
    ([("code", FLATTEN), ("code", "print(flatten)")], "must call its check once"),
    ([("code", FLATTEN), ("code", "logits = check_logits(logits)")], "defines no function logits"),
    ([("code", FLATTEN), ("code", "f = check_flatten(flatten)")], "write 'flatten = check_flatten(flatten)'"),
    ([("code", FLATTEN), ("code", "flatten = check_flatten(flatten)\n# points: -1")], "positive number"),
    ([("code", FLATTEN), ("code", "flatten = check_flatten(flatten)\n# points: 1\n# points: 2")], "2 '# points:'"),
    ([("code", FLATTEN), ("code", "flatten = check_flatten(flatten)"), ("code", FLATTEN),
      ("code", "flatten = check_flatten(flatten)")], "a second exercise named 'flatten'"),
    ([("md", "Your code goes between # BEGIN SOLUTION and # END SOLUTION.")], "mentions a marker"),
    ([("code", FLATTEN.replace("# END SOLUTION", "# END SOLUTION here"))], "mentions a marker"),
    ([("code", FLATTEN), ("code", "flatten = check_made_up(flatten)")], "not a check from mnistlib.checks"),
    ([("code", FLATTEN), ("code", "flatten = check_flatten(flatten)\nflatten(image)")], "ends with an expression"),
])
def test_markers_that_dont_fit_are_named(cells, problem):
    with pytest.raises(markers.MarkerError, match=re.escape(problem)):
        make_course.course_notebook(notebook(*cells), "demo.ipynb")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_course_notebook_keeps_the_series_and_marks_the_exercises(path):
    original = nbformat.read(path, as_version=4)
    course, exercises = make_course.course_notebook(original, path.name)
    graded = {e.check_cell: e for e in exercises}
    assert len(course.cells) == len(original.cells)
    original = deepcopy(original)
    fold.fold_answers(original, path.name)           # explanations folded as in the student copy
    for i, (before, after) in enumerate(zip(original.cells, course.cells)):
        meta = after.metadata.get("nbgrader")
        if after.cell_type == "code":
            assert after.outputs == [] and after.execution_count is None
        if i in graded:
            assert meta["grade"] and meta["locked"] and meta["points"] == graded[i].points
            check = graded[i].check.split(".")[-1]
            assert f"from mnistlib.checks import {check}\ntry:\n    {graded[i].name} = {check}({graded[i].name}, strict=True)" in after.source
            assert markers.strip_hidden_tests(before.source).count("\n") < after.source.count("\n")
            continue
        assert after.source == before.source
        if any(e.solution_cell == i for e in exercises):
            assert meta["solution"] and not meta["locked"]
        elif after.cell_type == "markdown" or "%matplotlib inline" in after.source:
            assert meta["locked"] and not meta["grade"] and not meta["solution"]
        else:
            assert meta is None


def _notebook_namespace():
    """What the worked solutions and the hidden tests use from the notebooks' imports: numpy,
    train, and mnistlib.model (softmax, as_one_hot, ... in the code around a solution region)."""
    from mnistlib import model
    from mnistlib.train import train
    return {"np": np, "train": train, **{k: v for k, v in vars(model).items() if not k.startswith("_")}}


@pytest.mark.parametrize("path", EXERCISE_NOTEBOOKS, ids=lambda p: p.name)
def test_each_wrong_answer_is_rejected_with_its_message(path):
    """The table the autograding test uses: each wrong body fails its check, saying what is wrong."""
    nb = nbformat.read(path, as_version=4)
    for ex in exercises_of(path):
        mistake, body, message = wrong_answer(ex.name)
        namespace = _notebook_namespace()
        exec(markers.strip_solutions(nb.cells[ex.solution_cell].source, placeholder=body.split("\n"))[0],
             namespace)
        check = getattr(checks, ex.check.split(".")[-1])
        with pytest.raises(checks.CheckFailed) as failed:
            check(namespace[ex.name], strict=True)
        assert message in str(failed.value), f"{ex.name}, {mistake}: {failed.value}"


def _hidden_block(source):
    lines = source.split("\n")
    start = next(i for i, x in enumerate(lines) if markers.BEGIN_HIDDEN.match(x))
    end = next(i for i, x in enumerate(lines) if markers.END_HIDDEN.match(x))
    return "\n".join(lines[start + 1:end])


ALL_EXERCISES = [(path, ex) for path in NOTEBOOKS for ex in exercises_of(path)]


@pytest.mark.parametrize("path, ex", ALL_EXERCISES, ids=[f"{p.stem}-{e.name}" for p, e in ALL_EXERCISES])
def test_hidden_tests_accept_right_answers_written_differently(path, ex):
    """The worked solution and each answer in RIGHT pass the visible check and the hidden tests
    (where the exercise has some), silently: a warning on stderr would cost the points in nbgrader."""
    imported = _notebook_namespace()
    cell = nbformat.read(path, as_version=4).cells[ex.solution_cell].source
    check = getattr(checks, ex.check.split(".")[-1])
    sources = [cell] + [markers.strip_solutions(cell, placeholder=body.split("\n"))[0]
                        for body in RIGHT.get(ex.name, [])]
    check_cell = nbformat.read(path, as_version=4).cells[ex.check_cell].source
    hidden = _hidden_block(check_cell) if ex.hidden_tests else ""
    for source in sources:
        namespace = dict(imported)
        exec(source, namespace)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            check(namespace[ex.name], strict=True)
            exec(hidden, namespace)


# --- re-running: a teacher's edits to source/ are kept ----------------------------------

UPSTREAM_SENTENCE = "A sentence added upstream."


def _upstream(tmp_path, paths):
    """Copies of worked notebooks, each changed as a `git pull` would change it; returns a function
    that makes the change."""
    folder = tmp_path / "upstream"
    folder.mkdir()
    copies = [folder / p.name for p in paths]
    for path, copy in zip(paths, copies):
        copy.write_bytes(path.read_bytes())

    def pull():
        for copy in copies:
            nb = nbformat.read(copy, as_version=4)
            nb.cells[0].source += "\n\n" + UPSTREAM_SENTENCE
            nbformat.write(nb, copy)
    return copies, pull


def _set_points(path, grade_id, points):
    """What a teacher does in the assignment toolbar: give a graded cell other points, and save."""
    nb = nbformat.read(path, as_version=4)
    next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id).metadata.nbgrader[
        "points"] = points
    nbformat.write(nb, path)


def _source(course, path):
    return course / "source" / path.stem / path.name


def test_rerun_keeps_a_teachers_edits_to_source(tmp_path, capsys):
    """Points changed in one notebook, a question added to another: both survive two re-runs byte for
    byte, with the new version in updates/; the untouched third one is updated."""
    (points, question, untouched), pull = _upstream(tmp_path, EXERCISE_NOTEBOOKS[:3])
    course = tmp_path / "course"

    def make():
        capsys.readouterr()
        code = make_course.main(["--out", str(course), "--no-generate", str(points), str(question), str(untouched)])
        said = capsys.readouterr()
        assert code == 0, said.err
        return said.out.splitlines()

    assert f"added source/{points.stem}/{points.name}" in make()
    check_id = f"check_{exercises_of(points)[0].name}"
    _set_points(_source(course, points), check_id, 3)
    nb = nbformat.read(_source(course, question), as_version=4)
    nb.cells += [new_markdown_cell("**Question.** What does the loss do at lr = 10?"), new_code_cell("lr = 10")]
    nbformat.write(nb, _source(course, question))
    edited = {p: _source(course, p).read_bytes() for p in (points, question)}
    assert f"kept source/{points.stem}/{points.name}: changed since it was written; nothing new for it" in make()
    pull()
    for run in range(2):
        said = make()
        for p in (points, question):
            assert (f"kept source/{p.stem}/{p.name}: changed since it was written; the new version is in "
                    f"updates/{p.stem}/{p.name}") in said
            assert _source(course, p).read_bytes() == edited[p]
            assert [x.name for x in _source(course, p).parent.iterdir()] == [p.name]   # nbgrader releases them all
        assert f"{'updated' if run == 0 else 'unchanged'} source/{untouched.stem}/{untouched.name}" in said
    for p in (points, question, untouched):
        nb = nbformat.read(course / ("source" if p is untouched else "updates") / p.stem / p.name, as_version=4)
        assert nb.cells[0].source.endswith(UPSTREAM_SENTENCE)
        assert next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")).metadata.nbgrader[
            "points"] == exercises_of(p)[0].points


# --- part 2: nbgrader for real -----------------------------------------------------------

# A notebook whose hidden test catches what the visible check lets through (float64 pixels):
# the mechanism, shown on an exercise of its own.
HIDDEN_DEMO = notebook(
    ("md", "# Hidden tests"),
    ("code", "%matplotlib inline\nimport numpy as np\nfrom mnistlib.checks import check_flatten"),
    ("code", FLATTEN),
    ("code", "flatten = check_flatten(flatten)\n# points: 2\n### BEGIN HIDDEN TESTS\n"
             "assert flatten(np.zeros((28, 28), np.uint8)).dtype == np.float32, 'float32 pixels, please'\n"
             "### END HIDDEN TESTS"),
    ("code", "assert flatten(np.full((28, 28), 255, np.uint8)).max() == 1"),    # runs on whichever flatten
)
HIDDEN_DEMO_WRONG = "return image.reshape(784) / 255"        # float64: the visible check accepts it
STUDENTS = ("solutions", "blank", "wrong")

# The notebook handed in with every answer an endless loop, and with a check redefined: the one
# whose hidden tests used to miss what its visible check tests (minibatch_epoch's shuffling).
CHEATED = "minibatch_epoch"
LOOPING = next(p for p in EXERCISE_NOTEBOOKS if CHEATED in [e.name for e in exercises_of(p)])
ENDLESS = ["while True: pass"]
WAITS = ["import time", "while True:", "    time.sleep(0.05)"]        # no CPU time: nbgrader's timeout stops it
SHORT_TIMEOUT = 10                   # nbgrader's seconds per cell, for the answer that waits


def _offline_subset_env(tmp_path, teach_python):
    env = dict(os.environ)
    env.pop("MNIST_DATA_DIR", None)
    env["MNIST_MIRRORS"] = "http://127.0.0.1:9/"              # a download fails at once
    env["MNISTLIB_CACHE_DIR"] = str(tmp_path / "empty-cache")
    env.pop(limits.ENV, None)                                 # the course's nbgrader_config.py sets it
    env["PATH"] = os.pathsep.join([str(teach_python.parent), env.get("PATH", "")])
    return env


def _submitted_cell(source_cell, student, first):
    """What ``student`` handed in for a solution cell, given its source-notebook version.

    None: the release's placeholder, left as it is.
    """
    if student == "wrong" and first:
        body = wrong_answer(source_cell.metadata.nbgrader["grade_id"])[1]
        return markers.strip_solutions(source_cell.source, placeholder=body.split("\n"))[0]
    if student in ("solutions", "wrong"):               # the worked answer, markers gone
        return "\n".join(x for x in source_cell.source.split("\n")
                         if not (markers.BEGIN.match(x) or markers.END.match(x)))
    return None


def _answers(placeholder, extra=None):
    """answer(name, source cell) for _hand_in: every solution replaced by the lines ``placeholder``,
    and ``extra[name]`` (code) added after the function of exercise ``name``."""
    def answer(name, cell):
        body = placeholder(name) if callable(placeholder) else placeholder
        return markers.strip_solutions(cell.source, placeholder=body)[0] + (extra or {}).get(name, "")
    return answer


def _cheat(name):
    """answer() for _hand_in: the worked answers, but exercise ``name`` wrong and its check redefined
    in the answer cell, to say yes to anything."""
    wrong = _answers(wrong_answer(name)[1].split("\n"),
                     {name: f"\n\n\ndef check_{name}(fn, strict=False):\n    return fn"})
    return lambda grade_id, cell: (wrong(grade_id, cell) if grade_id == name
                                   else _submitted_cell(cell, "solutions", False))


def _hand_in(course, assignment, student, answer=None):
    """Hand in the release of ``assignment`` as ``student``. Each solution cell is ``answer(grade id,
    source cell)``; without ``answer``, _submitted_cell says what the student wrote."""
    source = nbformat.read(next((course / "source" / assignment).glob("*.ipynb")), as_version=4)
    path = next((course / "release" / assignment).glob("*.ipynb"))
    release = nbformat.read(path, as_version=4)
    by_id = {c.metadata["nbgrader"]["grade_id"]: c for c in source.cells if "nbgrader" in c.metadata}
    first = True
    for cell in release.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            source_cell = by_id[meta["grade_id"]]
            if answer is not None:
                new = answer(meta["grade_id"], source_cell)
            elif assignment == "hidden_demo" and student == "wrong":
                new = markers.strip_solutions(source_cell.source, placeholder=[HIDDEN_DEMO_WRONG])[0]
            else:
                new = _submitted_cell(source_cell, student, first)
            if new is not None:
                cell.source = new
            first = False
    folder = course / "submitted" / student / assignment
    folder.mkdir(parents=True)
    nbformat.write(release, folder / path.name)


GRADEBOOK = """
import json
from nbgrader.api import Gradebook
out = {}
with Gradebook("sqlite:///gradebook.db") as gb:
    for a in gb.assignments:
        for sub in a.submissions:
            cells = {g.name: [g.score, g.max_score] for nb in sub.notebooks for g in nb.grades}
            out[a.name + "/" + sub.student.id] = {"score": sub.score, "max_score": sub.max_score,
                                                  "cells": cells}
print(json.dumps(out))
"""


@dataclass
class Graded:
    course: Path          # the course directory
    scores: dict          # {"<assignment>/<student>": {"score", "max_score", "cells": {grade id: [score, max]}}}
    said: str             # what `python run.py course` printed
    stuck_seconds: float  # how long autograding LOOPING with every answer an endless loop took
    stuck_cpu: float      # the CPU seconds that took (nbgrader and its kernel), whatever the machine's load


def _nbgrader(teach_python, course, env, *args, timeout=1800):
    done = subprocess.run([str(teach_python), "-m", "nbgrader", *args], cwd=course, env=env,
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-6000:]
    return done


@pytest.fixture(scope="module")
def graded(teach_python, tmp_path_factory):
    """The course made by `python run.py course`, three submissions per notebook and three special
    ones, autograded; and the feedback pages of LOOPING.

    The special ones: LOOPING with CHEATED wrong and its check redefined in the answer cell
    ("cheat"), LOOPING with every answer an endless loop ("stuck", autograded on its own and
    timed, with the course's own settings), and hidden_demo with an answer that waits without using
    the CPU ("waits", autograded with nbgrader's timeout per cell cut to SHORT_TIMEOUT seconds).
    """
    tmp = tmp_path_factory.mktemp("course")
    course = tmp / "course"
    demo = tmp / "hidden_demo.ipynb"
    nbformat.write(HIDDEN_DEMO, demo)
    made = subprocess.run([sys.executable, str(REPO_ROOT / "run.py"), "course", "--out", str(course),
                           *map(str, NOTEBOOKS), str(demo)],
                          capture_output=True, text=True, cwd=REPO_ROOT, timeout=600)
    assert made.returncode == 0, made.stdout + made.stderr
    assignments = [p.stem for p in EXERCISE_NOTEBOOKS] + ["hidden_demo"]
    for assignment in assignments:
        for student in STUDENTS:
            _hand_in(course, assignment, student)
    _hand_in(course, LOOPING.stem, "cheat", _cheat(CHEATED))
    env = _offline_subset_env(tmp, teach_python)
    _nbgrader(teach_python, course, env, "autograde", "*")

    _hand_in(course, LOOPING.stem, "stuck", _answers(ENDLESS))
    start, cpu = time.perf_counter(), _children_cpu()
    _nbgrader(teach_python, course, env, "autograde", LOOPING.stem, "--student", "stuck")
    stuck_seconds, stuck_cpu = time.perf_counter() - start, _children_cpu() - cpu
    _hand_in(course, "hidden_demo", "waits", _answers(WAITS))
    _nbgrader(teach_python, course, env, "autograde", "hidden_demo", "--student", "waits",
              f"--Execute.timeout={SHORT_TIMEOUT}")
    _nbgrader(teach_python, course, env, "generate_feedback", LOOPING.stem)
    read = subprocess.run([str(teach_python), "-c", GRADEBOOK], cwd=course, env=env,
                          capture_output=True, text=True, timeout=120, check=True)
    return Graded(course, json.loads(read.stdout), made.stdout, stuck_seconds, stuck_cpu)


def _children_cpu():
    """CPU seconds used so far by the processes this one started and waited for (and theirs;
    0 on Windows, which does not count them)."""
    used = os.times()
    return used.children_user + used.children_system


def _autograded(course, assignment, student):
    return nbformat.read(next((course / "autograded" / student / assignment).glob("*.ipynb")), as_version=4)


def _errors(nb):
    """{grade id or cell index: (ename, evalue)} of the cells that raised, and the cells never run."""
    errors, never_ran = {}, []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        if cell.execution_count is None:
            never_ran.append(i)
        for out in cell.outputs:
            if out.output_type == "error":
                errors[cell.metadata.get("nbgrader", {}).get("grade_id", i)] = (out.ename, out.evalue)
    return errors, never_ran


@pytest.mark.parametrize("path", EXERCISE_NOTEBOOKS, ids=lambda p: p.name)
def test_autograde_gives_full_zero_and_partial_marks(graded, path):
    course, scores = graded.course, graded.scores
    exercises = exercises_of(path)
    cells = {f"check_{e.name}": e.points for e in exercises}
    total = sum(cells.values())
    first = f"check_{exercises[0].name}"

    solutions = scores[f"{path.stem}/solutions"]
    assert solutions["max_score"] == total
    assert solutions["score"] == total
    assert solutions["cells"] == {k: [p, p] for k, p in cells.items()}
    assert _errors(_autograded(course, path.stem, "solutions")) == ({}, [])

    blank = scores[f"{path.stem}/blank"]
    assert blank["score"] == 0
    assert blank["cells"] == {k: [0, p] for k, p in cells.items()}
    errors, never_ran = _errors(_autograded(course, path.stem, "blank"))
    assert never_ran == []                                # autograde ran every cell after each failure
    assert set(errors) == set(cells), errors              # only the graded cells failed
    assert all(e[0] == "CheckFailed" and "not implemented yet" in e[1] for e in errors.values()), errors

    # The first exercise wrong, the others right: that exercise's points lost, and no others.
    wrong = scores[f"{path.stem}/wrong"]
    assert wrong["score"] == total - cells[first]
    assert wrong["cells"] == {k: [0 if k == first else p, p] for k, p in cells.items()}
    errors, never_ran = _errors(_autograded(course, path.stem, "wrong"))
    assert never_ran == [] and set(errors) == {first}, errors
    assert errors[first][0] == "CheckFailed" and wrong_answer(exercises[0].name)[2] in errors[first][1]


def test_the_series_scores_full_zero_and_partial(graded):
    scores = graded.scores
    names = [p.stem for p in EXERCISE_NOTEBOOKS]
    total = {s: sum(scores[f"{n}/{s}"]["score"] for n in names) for s in STUDENTS}
    max_score = sum(scores[f"{n}/solutions"]["max_score"] for n in names)
    assert max_score > 0
    assert total["solutions"] == max_score
    assert total["blank"] == 0
    # A notebook with one exercise can only score all or nothing; with two or more, the
    # wrong submission keeps the points of the exercises after the wrong one.
    if any(len(exercises_of(p)) > 1 for p in EXERCISE_NOTEBOOKS):
        assert 0 < total["wrong"] < max_score
    else:
        assert total["wrong"] == 0


def test_hidden_tests_are_run_by_autograde_only(graded):
    course, scores = graded.course, graded.scores
    released = nbformat.read(course / "release" / "hidden_demo" / "hidden_demo.ipynb", as_version=4)
    assert "HIDDEN" not in released.cells[3].source and "float32 pixels" not in released.cells[3].source
    assert scores["hidden_demo/solutions"]["score"] == 2
    # float64 pixels pass the visible check; the hidden test takes the 2 points.
    assert scores["hidden_demo/wrong"]["cells"] == {"check_flatten": [0, 2]}
    cell = _autograded(course, "hidden_demo", "wrong").cells[3]
    text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
    assert "✓ flatten" in text
    assert [(o.ename, o.evalue) for o in cell.outputs if o.output_type == "error"] == \
        [("AssertionError", "float32 pixels, please")]


def test_every_answer_an_endless_loop_scores_0_for_exactly_those_exercises(graded):
    """LOOPING with `while True: pass` for every answer, graded with the course's own settings: each
    exercise scores 0 after its budget of CPU seconds, every other cell runs (on mnistlib's
    versions) without an error, and the whole notebook is graded in minutes, not hours."""
    stuck = graded.scores[f"{LOOPING.stem}/stuck"]
    assert stuck["score"] == 0
    assert stuck["cells"] == {f"check_{e.name}": [0, e.points] for e in exercises_of(LOOPING)}
    errors, never_ran = _errors(_autograded(graded.course, LOOPING.stem, "stuck"))
    assert never_ran == [] and set(errors) == set(stuck["cells"]), errors
    budget = f"your function used more than {limits.DEFAULT_SECONDS:g} s of CPU time and was stopped"
    assert all(e[0] == "CheckFailed" and budget in e[1] for e in errors.values()), errors
    print(f"\nautograding {LOOPING.name} with every answer an endless loop took {graded.stuck_seconds:.0f} s "
          f"({graded.stuck_cpu:.0f} s of CPU time)")
    # About a minute on a quiet machine; before the limit, each stuck cell waited for nbgrader's
    # timeout of 600 s, and so did every later cell that called a stuck function.
    assert graded.stuck_seconds < 600 and graded.stuck_cpu < 180


def test_a_check_redefined_in_an_answer_cell_gains_nothing(graded):
    """A wrong answer whose cell also defines a check that passes anything scores 0: the graded
    cell imports mnistlib's check, which tests the shuffling the hidden tests do not."""
    cheat = graded.scores[f"{LOOPING.stem}/cheat"]
    assert cheat["cells"] == {f"check_{e.name}": [0 if e.name == CHEATED else e.points, e.points]
                              for e in exercises_of(LOOPING)}
    errors, never_ran = _errors(_autograded(graded.course, LOOPING.stem, "cheat"))
    assert never_ran == [] and set(errors) == {f"check_{CHEATED}"}, errors
    ename, evalue = errors[f"check_{CHEATED}"]
    assert ename == "CheckFailed" and wrong_answer(CHEATED)[2] in evalue


def test_an_answer_stopped_by_nbgraders_timeout_scores_0_and_the_rest_runs_on(graded):
    """An answer that waits forever uses no CPU time: nbgrader's timeout per cell interrupts the
    kernel, the exercise scores 0, and the cell after it runs on mnistlib's flatten (the waiting
    one would time out there too)."""
    assert graded.scores["hidden_demo/waits"]["cells"] == {"check_flatten": [0, 2]}
    nb = _autograded(graded.course, "hidden_demo", "waits")
    errors = {o.ename: o.evalue for o in nb.cells[3].outputs if o.output_type == "error"}
    assert "CellTimeoutError" in errors, errors
    assert "CheckFailed" not in errors or "was interrupted before it returned" in errors["CheckFailed"]
    assert nb.cells[4].execution_count is not None
    assert not [o for o in nb.cells[4].outputs if o.output_type == "error"]


@pytest.mark.parametrize("student", ["cheat", "stuck"])
def test_feedback_names_each_exercise_and_keeps_the_hidden_tests_hidden(graded, student):
    page = (graded.course / "feedback" / student / LOOPING.stem / f"{LOOPING.stem}.html").read_text(encoding="utf-8")
    text = html.unescape(re.sub(r"<[^>]+>", "", re.sub(r"<(script|style)\b.*?</\1>", "", page, flags=re.S)))
    scores = graded.scores[f"{LOOPING.stem}/{student}"]["cells"]
    for e in exercises_of(LOOPING):
        score, points = scores[f"check_{e.name}"]
        title = f"{e.name} ({points:g} point{'' if points == 1 else 's'})"
        assert f'<a href="#check_{e.name}">{title}</a>: score {score:g} / {points:g}' in page
        assert f'<span class="nbgrader-label exercise-title">{title}</span>' in page
    assert "Test cell" not in page and "Grade cell" not in page
    # no line of the hidden tests that is not also somewhere else in the notebook
    nb = nbformat.read(LOOPING, as_version=4)
    shown = "\n".join(markers.strip_hidden_tests(cell.source) for cell in nb.cells)
    secret = {line.strip() for e in exercises_of(LOOPING) if e.hidden_tests
              for line in _hidden_block(nb.cells[e.check_cell].source).split("\n")
              if len(line.strip()) > 12 and line.strip() not in shown}
    assert len(secret) > 10 and "HIDDEN TESTS" not in text
    assert not [line for line in secret if line in text]
    # errors as their one line: no traceback, which would quote the lines that raised
    failed = [e.name for e in exercises_of(LOOPING) if scores[f"check_{e.name}"][0] == 0]
    for name in failed:
        assert f"CheckFailed: {name}: " in text
    assert "Traceback" not in text and "Cell In[" not in text and "framework.py" not in text
    # nothing fetched: MathJax is in the page
    assert not re.findall(r"<(?:script|link|img)[^>]+(?:src|href)=[\"']https?:", page)
    assert "cdnjs" not in page and "MathJax (django-static-mathjax)" in page


def test_feedback_settings_leave_formgraders_own_pages_alone(graded, teach_python):
    """The course's settings change the exporter of the feedback pages only: Formgrader shows
    submissions through an HTMLExporter of its own, with its own templates."""
    show = ("from traitlets.config.loader import PyFileConfigLoader\n"
            "from nbconvert.exporters import HTMLExporter\n"
            "config = PyFileConfigLoader('nbgrader_config.py', path='.').load_config()\n"
            "print(HTMLExporter(config=config).template_name == HTMLExporter().template_name,\n"
            "      config.GenerateFeedback.HTMLExporter.template_name)")
    shown = subprocess.run([str(teach_python), "-c", show], cwd=graded.course, capture_output=True, text=True,
                           timeout=120, check=True)
    assert shown.stdout.split() == ["True", "mnistlib_feedback"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_release_is_the_student_copy_but_for_the_graded_cells(graded, path):
    """Both copies come from the same markers: nbgrader's release and `python run.py student` agree."""
    course = graded.course
    released = nbformat.read(course / "release" / path.stem / path.name, as_version=4)
    student, _ = student_notebook(nbformat.read(path, as_version=4), path.name)
    graded_cells = {e.check_cell for e in exercises_of(path)}
    assert len(released.cells) == len(student.cells)
    for i, (a, b) in enumerate(zip(released.cells, student.cells)):
        if i in graded_cells:
            assert "strict=True" in a.source and "HIDDEN" not in a.source
        else:
            assert (a.cell_type, a.source) == (b.cell_type, b.source), f"cell {i}"     # folds included


def test_course_command_says_what_it_wrote(graded):
    said = graded.said
    for path in EXERCISE_NOTEBOOKS:
        names = ", ".join(f"{e.name} ({e.points})" for e in exercises_of(path))
        assert f"{path.stem}: " in said and names in said
    assert "through nbgrader" in said


def test_release_is_made_from_the_teachers_edited_source(teach_python, tmp_path):
    """`python run.py course` again after a teacher changed points: nbgrader releases the teacher's
    version, leaves it as it is in source/, and the new version waits in updates/."""
    worked = tmp_path / "hidden_demo.ipynb"
    nbformat.write(HIDDEN_DEMO, worked)
    (demo,), pull = _upstream(tmp_path, [worked])
    course = tmp_path / "course"

    assert make_course.main(["--out", str(course), "--no-generate", str(demo)]) == 0     # the first run
    _set_points(_source(course, demo), "check_flatten", 5)
    mine = _source(course, demo).read_bytes()
    pull()
    run = subprocess.run([sys.executable, str(REPO_ROOT / "run.py"), "course", "--out", str(course), str(demo)],
                         capture_output=True, text=True, cwd=REPO_ROOT, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    said = run.stdout.splitlines()
    assert ("kept source/hidden_demo/hidden_demo.ipynb: changed since it was written; the new version is in "
            "updates/hidden_demo/hidden_demo.ipynb") in said
    assert _source(course, demo).read_bytes() == mine
    released = nbformat.read(course / "release" / "hidden_demo" / "hidden_demo.ipynb", as_version=4)
    assert released.cells[3].metadata.nbgrader["points"] == 5
    assert UPSTREAM_SENTENCE not in released.cells[0].source
    assert [p.name for p in (course / "release").iterdir()] == ["hidden_demo"]
    update = nbformat.read(course / "updates" / "hidden_demo" / "hidden_demo.ipynb", as_version=4)
    assert update.cells[0].source.endswith(UPSTREAM_SENTENCE) and update.cells[3].metadata.nbgrader["points"] == 2

