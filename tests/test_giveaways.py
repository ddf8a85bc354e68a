"""No answer in sight: the student copy shows no line that gives an exercise's answer away.

Each exercise lists the lines and phrases that give its answer away, in its own
cell's metadata (``metadata["mnistlib"]["giveaways"]``, see CONTRIBUTING.md):
the key lines of the worked solution, and the results and formulas that the
explanation after the check states. This test builds the student copy
(tools/student_version.py) and fails if any of them is **in sight** there:

- **above** the exercise: anywhere from the top of the notebook down to its check
  cell, the exercise's own prompt and code included;
- **just below** it: the next three cells after the check cell, and on from there up to
  the next section heading (a ``#`` or ``##`` line) that the student copy shows; never
  past the next exercise. (Three cells whatever their headings: the explanation of an
  answer often opens a section of its own.)

"In sight" means what a learner sees without opening anything: the text of a
markdown cell outside its folded ``<details>`` blocks (their ``<summary>`` line
counts: it is always shown), and the source and outputs of a code cell unless
they are hidden (``metadata["jupyter"]["source_hidden"]``, ``"outputs_hidden"``).
JupyterLab 4 and Notebook 7 show a hidden source's first line on its collapsed bar,
and show a cell's outputs again every time it runs, hidden or not: those count.
The student copy has no outputs; a learner who runs it gets about those of the
worked notebook, so those are the outputs read.
Text is compared with whitespace and LaTeX spacing (``\\,``, ``\\;``) left out,
and ``^\\top`` read as ``^T``, so that ``x^\\top (p - y)`` also matches
``x^T(p-y)``. Each give-away must occur in the worked notebook, so that a
list cannot silently go stale.

Notebook 00 and the README describe the whole series: they may state no
exercise's give-away at all.
"""

import re
import sys
from pathlib import Path

import nbformat
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))
sys.path.insert(0, str(REPO_ROOT / "tools"))
from markers import find_exercises  # noqa: E402
from student_version import student_notebook  # noqa: E402

FENCE = re.compile(r"^\s*(```|~~~)")
SECTION = re.compile(r"^#{1,2}\s")          # a heading that starts a new section
DETAILS = re.compile(r"<details>(.*?)</details>", re.DOTALL)
SUMMARY = re.compile(r"<summary>(.*?)</summary>", re.DOTALL)
BELOW = 3                                   # cells below the check that are always in sight


def normal(text):
    """``text`` without whitespace and LaTeX spacing, ``^\\top`` as ``^T``."""
    text = re.sub(r"\\[,;:! ]", "", text).replace("\\top", "T")
    return re.sub(r"\s+", "", text)


def visible(cell, ran=None):
    """What a learner sees of ``cell`` without opening a fold, as text; a code cell with the
    outputs of ``ran`` (the same cell, run), or its own."""
    hidden = cell.metadata.get("jupyter", {})
    if cell.cell_type == "markdown":
        return DETAILS.sub(lambda m: " ".join(SUMMARY.findall(m.group(1))), cell.source)
    outputs = [out.get("text", "") + str(out.get("data", {}).get("text/plain", ""))
               for out in (ran or cell).get("outputs", [])]
    source = cell.source.split("\n")[0] if hidden.get("source_hidden") else cell.source
    return "\n".join([source, *outputs])


def section_starts(text):
    """Does ``text`` (markdown) hold a section heading outside code blocks? Returns the text before it,
    or None if it has none."""
    fenced, before = False, []
    for line in text.split("\n"):
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced and SECTION.match(line):
            return "\n".join(before)
        before.append(line)
    return None


def in_sight(nb, worked, exercise, exercises):
    """(cell index, where, visible text) for every cell of the student notebook ``nb`` in sight of
    ``exercise``, its code cells with the outputs of ``worked``."""
    cells = [(i, "above", visible(nb.cells[i], worked.cells[i])) for i in range(exercise.check_cell + 1)]
    later = [e.solution_cell for e in exercises if e.solution_cell > exercise.check_cell]
    for i in range(exercise.check_cell + 1, min(later, default=len(nb.cells))):
        below, text = i - exercise.check_cell, visible(nb.cells[i], worked.cells[i])
        before = section_starts(text) if nb.cells[i].cell_type == "markdown" and below > BELOW else None
        cells.append((i, f"{below} cell(s) below the check", text if before is None else before))
        if before is not None:
            break
    return cells


def giveaways(nb, exercise):
    return nb.cells[exercise.solution_cell].metadata.get("mnistlib", {}).get("giveaways")


def exercise_params():
    params = []
    for path in NOTEBOOKS:
        for ex in find_exercises(nbformat.read(path, as_version=4), path.name):
            params.append(pytest.param(path, ex.name, id=f"{path.stem}-{ex.name}"))
    return params


EXERCISES = exercise_params()


@pytest.fixture(scope="module")
def student_copies():
    """{notebook path: (worked notebook, student notebook, exercises)}, made once."""
    made = {}
    for path in NOTEBOOKS:
        worked = nbformat.read(path, as_version=4)
        made[path] = (worked, student_notebook(worked, path.name)[0], find_exercises(worked, path.name))
    return made


def test_the_series_has_exercises():
    assert len(EXERCISES) >= 20


@pytest.mark.parametrize("path, name", EXERCISES)
def test_every_exercise_lists_its_giveaways(student_copies, path, name):
    worked, _, exercises = student_copies[path]
    exercise = next(e for e in exercises if e.name == name)
    listed = giveaways(worked, exercise)
    assert isinstance(listed, list) and listed, (
        f"{path.name}: the exercise {name} (cell {exercise.solution_cell}) lists no give-aways; add "
        "metadata['mnistlib']['giveaways'] to its cell (see CONTRIBUTING.md)")
    everything = normal("\n".join(c.source for c in worked.cells))
    for g in listed:
        assert isinstance(g, str) and normal(g), f"{path.name}, {name}: {g!r} is not a give-away"
        assert normal(g) in everything, (f"{path.name}, {name}: the give-away {g!r} is nowhere in the worked "
                                         "notebook; update the list")


@pytest.mark.parametrize("path, name", EXERCISES)
def test_no_giveaway_in_sight_in_the_student_copy(student_copies, path, name):
    worked, student, exercises = student_copies[path]
    exercise = next(e for e in exercises if e.name == name)
    seen = []
    for g in giveaways(worked, exercise) or []:
        for i, where, text in in_sight(student, worked, exercise, exercises):
            if normal(g) in normal(text):
                seen.append(f"{g!r} in cell {i} ({student.cells[i].cell_type}, {where})")
    assert not seen, (f"{path.name}: the student copy shows the answer to {name}:\n  " + "\n  ".join(seen)
                      + "\nTag the cell after the exercise 'answer' (CONTRIBUTING.md), or reword it; "
                      f"python tools/fold.py notebooks/{path.name} lists what is folded.")


def test_the_overviews_state_no_result_an_exercise_asks_for(student_copies):
    """00's table of the series and the README's say what each notebook builds, not its answers."""
    listed = [(path.name, e.name, g) for path, (worked, _, exercises) in student_copies.items()
              for e in exercises for g in giveaways(worked, e) or []]
    overviews = {"00_start_here.ipynb (student copy)": "\n".join(
                     visible(c) for c in student_copies[NOTEBOOKS[0]][1].cells),
                 "README.md": (REPO_ROOT / "README.md").read_text(encoding="utf-8")}
    assert NOTEBOOKS[0].name == "00_start_here.ipynb"
    seen = [f"{where} states {g!r}, the answer to {name} in {notebook}"
            for where, text in overviews.items() for notebook, name, g in listed if normal(g) in normal(text)]
    assert not seen, "\n".join(seen)


def test_visible_text_leaves_out_folds_and_hidden_cells():
    """The test's own reading of a student notebook, on made-up cells."""
    md = nbformat.v4.new_markdown_cell(
        "Before.\n\n<details>\n<summary>Open me</summary>\n\nx = 42\n\n</details>\n\nAfter.")
    assert normal(visible(md)) == normal("Before. Open me After.")
    code = nbformat.v4.new_code_cell("x = 1\nsecret = 42", metadata={"jupyter": {"source_hidden": True,
                                                                              "outputs_hidden": True}})
    ran = nbformat.v4.new_code_cell(code.source, outputs=[nbformat.v4.new_output("stream", text="42\n")])
    assert visible(code) == "x = 1" and visible(code, ran) == "x = 1\n42\n"
    assert section_starts("Text\n```python\n# a comment\n```\n## Next\nmore") == "Text\n```python\n# a comment\n```"
    assert section_starts("### A subsection\ntext") is None
