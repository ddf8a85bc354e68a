"""tools/fold.py: the cells tagged ``answer`` are folded in both copies, and a passing check says so.

On small made-up notebooks: a markdown cell becomes a closed ``<details>`` block
with its text intact (LaTeX, code blocks), its headings made bold, and a later
section heading left outside; a code cell becomes a fold with its code and what
it printed; the set-up cell tells the checks; tags where they cannot belong are
errors naming the cell. Then, run for real: in the student copy a passing check
says where its explanation is, and in the worked notebook it does not.
"""

import copy
import re
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "tools"))
import fold  # noqa: E402
from student_version import student_notebook  # noqa: E402

from mnistlib.checks.explained import FOLDED_NOTE  # noqa: E402

ANSWER = {"tags": ["answer"]}
SETUP = "%matplotlib inline\nimport numpy as np\nfrom mnistlib.checks import check_flatten, hint"
FLATTEN = ('def flatten(image):\n'
           '    """(28, 28) uint8 -> (784,) float32 in [0, 1]."""\n'
           '    # BEGIN SOLUTION\n'
           '    return image.reshape(784).astype(np.float32) / 255\n'
           '    # END SOLUTION')
EXPLANATION = ("## Why it works\n\nRow by row: $x_{28r + c} = \\text{image}[r, c] / 255$,\n\n"
               "$$x = \\operatorname{vec}(\\text{image}) / 255.$$\n\n"
               "```python\n# not a heading: a comment\nx = image.reshape(784) / 255\n```\n\n"
               "#### A detail\n\nMore on it.\n\n## Next section\n\nText that stays in sight.")


def worked(*extra, tagged=True):
    """A worked notebook: set-up, flatten with its check, then ``extra`` cells (or the default ones)."""
    cells = [new_markdown_cell("# Flatten"), new_code_cell(SETUP), new_code_cell(FLATTEN),
             new_code_cell("flatten = check_flatten(flatten)")]
    cells += list(extra) or [
        new_code_cell("print('reshape(784)')", metadata=dict(ANSWER) if tagged else {},
                      outputs=[new_output("stream", text="reshape(784)\n"),
                               new_output("display_data",
                                          data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"})]),
        new_markdown_cell(EXPLANATION, metadata=dict(ANSWER) if tagged else {}),
        new_code_cell("x = flatten(np.zeros((28, 28), np.uint8))")]
    return new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                              "language": "python"}})


def folded(nb):
    nb = copy.deepcopy(nb)
    return nb, fold.fold_answers(nb, "demo.ipynb")


def test_markdown_fold_keeps_the_text_and_leaves_the_next_section_out():
    nb, made = folded(worked())
    assert made == {"flatten": [4, 5]}
    source = nb.cells[5].source
    block, rest = source.split("</details>")
    assert block.startswith("<details>\n<summary><b>More on the answer to <code>flatten</code></b></summary>\n\n")
    assert block.endswith("\n\n")                           # blank lines: markdown and LaTeX render inside
    assert "**Why it works**" in block and "**A detail**" in block and "## Why" not in block
    assert "$x_{28r + c} = \\text{image}[r, c] / 255$" in block and "\\operatorname{vec}" in block
    assert "# not a heading: a comment\nx = image.reshape(784) / 255" in block     # code left as it is
    assert rest == "\n\n## Next section\n\nText that stays in sight."
    assert nb.cells[5].metadata == ANSWER


def test_a_cell_is_folded_from_its_own_heading_to_the_next_section_or_subsection():
    assert fold.fold_markdown("## The fix\n\nText.", "t") == \
        "<details>\n<summary>t</summary>\n\n**The fix**\n\nText.\n\n</details>"
    assert fold.fold_markdown("Text.\n\n### Detail\n\nMore.", "t") == \
        "<details>\n<summary>t</summary>\n\nText.\n\n</details>\n\n### Detail\n\nMore."


def test_code_fold_shows_the_code_and_what_it_printed():
    nb, _ = folded(worked())
    cell = nb.cells[4]
    assert cell.cell_type == "markdown" and cell.metadata == ANSWER and "outputs" not in cell
    assert cell.source.startswith("<details>\n<summary><b>Explanation of <code>flatten</code></b> "
                                  "(open it once your check passes)</summary>\n\n")
    assert "```python\nprint('reshape(784)')\n```" in cell.source
    assert "What it printed there:\n\n```\nreshape(784)\n```" in cell.source
    assert "It also draws a figure" in cell.source and "<Figure>" not in cell.source
    assert fold._fenced("a ``` b") == "````\na ``` b\n````"      # a fence its text cannot close


def test_the_setup_cell_tells_the_checks_and_nothing_else_changes():
    before = worked()
    nb, _ = folded(before)
    assert nb.cells[1].source.startswith(SETUP + "\n\n# ")
    assert nb.cells[1].source.endswith('explained_in_fold("flatten")')
    for i in (0, 2, 3, 6):
        assert nb.cells[i] == before.cells[i]
    untagged = worked(tagged=False)
    nb, made = folded(untagged)
    assert made == {} and nb == untagged


@pytest.mark.parametrize("cells, problem", [
    ([new_markdown_cell("The answer", metadata=ANSWER), new_code_cell(SETUP), new_code_cell(FLATTEN),
      new_code_cell("flatten = check_flatten(flatten)")], "cell 0: tagged 'answer', but no exercise stands above it"),
    ([new_code_cell(SETUP), new_code_cell(FLATTEN, metadata=ANSWER), new_code_cell("flatten = check_flatten(flatten)")],
     "cell 1: the cell of the exercise flatten itself is tagged"),
    ([new_code_cell(SETUP), new_code_cell(FLATTEN), new_code_cell("flatten = check_flatten(flatten)", metadata=ANSWER)],
     "cell 2: the cell of the exercise flatten itself is tagged"),
    ([new_code_cell(SETUP), new_code_cell(FLATTEN), new_code_cell("flatten = check_flatten(flatten)"),
      new_raw_cell("raw", metadata=ANSWER)], "cell 3: a raw cell is tagged 'answer'"),
    ([new_code_cell("import numpy as np"), new_code_cell(FLATTEN), new_code_cell("flatten = check_flatten(flatten)"),
      new_markdown_cell("The answer", metadata=ANSWER)], "no code cell imports from mnistlib.checks"),
])
def test_a_tag_where_it_cannot_belong_is_named(cells, problem):
    with pytest.raises(fold.FoldError, match=re.escape(problem)):
        fold.fold_answers(new_notebook(cells=cells), "demo.ipynb")


def test_the_student_copy_refuses_a_misplaced_tag(tmp_path):
    """The command line says it in one line, like any marker problem."""
    import student_version
    bad = new_notebook(cells=[new_markdown_cell("Too early", metadata=ANSWER), new_code_cell(SETUP),
                              new_code_cell(FLATTEN), new_code_cell("flatten = check_flatten(flatten)")])
    nbformat.write(bad, tmp_path / "bad.ipynb")
    assert student_version.main(["--out", str(tmp_path / "out"), str(tmp_path / "bad.ipynb")]) == 2
    assert not (tmp_path / "out").exists()


def _check_output(nb, tmp_path):
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    return "".join(o.get("text", "") for o in nb.cells[3].outputs if o.output_type == "stream")


def test_a_passing_check_says_where_the_explanation_is_only_where_it_is_folded(tmp_path):
    """Run for real: the student copy, its exercise answered; then the worked notebook."""
    student, _ = student_notebook(worked(), "demo.ipynb")
    student.cells[2].source = FLATTEN                       # the learner's right answer
    said = _check_output(student, tmp_path)
    assert said == f"✓ flatten: all 3 checks passed\n  {FOLDED_NOTE}\n"
    assert _check_output(worked(), tmp_path) == "✓ flatten: all 3 checks passed\n"


def test_explained_in_fold_names_exercises():
    from mnistlib.checks.explained import explained_in_fold, where_explained
    assert where_explained("an_exercise_no_notebook_folds") == ""
    for bad in ("two words", 3, ""):
        with pytest.raises(ValueError, match="explained_in_fold takes the exercises' names"):
            explained_in_fold(bad)


def test_the_listing_names_each_exercises_giveaways_and_folds(tmp_path, capsys):
    """``python tools/fold.py NOTEBOOK``: what an author reads to check the tags of a reworked notebook."""
    nb = worked()
    path = tmp_path / "demo.ipynb"
    nbformat.write(nb, path)
    assert fold.main([str(path)]) == 1                  # flatten lists no give-aways yet
    said = capsys.readouterr().out
    assert "flatten: solution in cell 2, check in cell 3" in said
    assert "give-aways: none listed; add metadata['mnistlib']['giveaways'] to cell 2" in said
    assert "folded: cell 4 (code) print('reshape(784)')" in said
    assert "folded: cell 5 (markdown) ## Why it works" in said
    nb.cells[2].metadata["mnistlib"] = {"giveaways": ["reshape(784)"]}
    nbformat.write(nb, path)
    assert fold.main([str(path)]) == 0
    assert "give-away: reshape(784)" in capsys.readouterr().out
    nb.cells[3].metadata["tags"] = ["answer"]           # on the check cell
    nbformat.write(nb, path)
    assert fold.main([str(path)]) == 2
    assert "cell 3: the cell of the exercise flatten itself is tagged 'answer'" in capsys.readouterr().err
