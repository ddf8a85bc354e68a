"""The student copy's folded explanations in JupyterLab and Notebook 7.

A learner opens their copy of 03 with softmax answered and runs it: the check says
the explanation is folded just below; the fold shows only its title, closed; a
click opens it, and its formulas are typeset by MathJax, not left as $...$ text.
A tagged code cell is folded the same way, showing its code and what it printed
once opened, in a small notebook made for the test. Screenshots go to artifacts/browser/.
"""

import sys
from pathlib import Path

import nbformat
import pytest

import jupyter_ui as ui

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "tools"))
from student_version import student_notebook  # noqa: E402

from mnistlib.checks.explained import FOLDED_NOTE as NOTE  # noqa: E402

pytestmark = pytest.mark.browser


def fold_demo():
    """A small worked notebook: flatten, its check, a code cell and a markdown cell tagged answer."""
    new_md, new_code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    answer = {"tags": ["answer"]}
    return nbformat.v4.new_notebook(cells=[
        new_md("# Folds"),
        new_code("import numpy as np\nfrom mnistlib.checks import check_flatten"),
        new_code("def flatten(image):\n    # BEGIN SOLUTION\n    return image.reshape(784).astype(np.float32) / 255\n"
                 "    # END SOLUTION"),
        new_code("flatten = check_flatten(flatten)"),
        new_code("print('reshape(784) is the secret')", metadata=answer,
                 outputs=[nbformat.v4.new_output("stream", text="reshape(784) is the secret\n")]),
        new_md("Row by row: $x_{28r + c} = \\text{image}[r, c] / 255$.", metadata=answer),
        new_md("## Next\n\nThe next section."),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}})


@pytest.fixture(scope="module")
def student_folder(browser_workdir):
    """browser_workdir/notebooks/student/: the student copies, each exercise answered as a learner
    who solved it, of 03 and of a small notebook (fold_demo)."""
    folder = browser_workdir / "notebooks" / "student"
    folder.mkdir(exist_ok=True)
    softmax_nb = nbformat.read(REPO_ROOT / "notebooks" / "03_softmax.ipynb", as_version=4)
    for name, worked in [("03_softmax.ipynb", softmax_nb),
                         ("fold_demo.ipynb", fold_demo())]:
        nb, _ = student_notebook(worked, name)
        for i, cell in enumerate(worked.cells):
            if "# BEGIN SOLUTION" in cell.source:
                nb.cells[i].source = cell.source                 # the learner's right answer
        nbformat.write(nb, folder / name)
    return "student"


def rendered(page):
    """The rendered markdown of the notebook on show (the cells' editors hold their source too)."""
    return page.locator(f"{ui.NOTEBOOK} .jp-RenderedMarkdown")


def fold_state(page):
    """[(summary text, open?, MathJax formulas inside, raw '$' left in its text)] for every fold on show."""
    return page.evaluate(f"""() => [...document.querySelectorAll('{ui.NOTEBOOK} details')].map(d => [
        d.querySelector('summary').innerText.trim(), d.open, d.querySelectorAll('mjx-container').length,
        d.innerText.includes('$')])""")


def test_a_fold_opens_on_click_with_its_formulas_typeset(server, page, screenshot, student_folder):
    name = f"{student_folder}/03_softmax.ipynb"
    ui.open_notebook(page, server, name, ui=server.ui)
    ui.run_all(page)
    assert ui.errors_on_page(page) == []
    assert page.get_by_text(NOTE).count() == 1, "the passing check does not say where the explanation is"

    folds = fold_state(page)
    assert [(s, is_open) for s, is_open, _, _ in folds] == [
        ("Explanation of softmax (open it once your check passes)", False)], folds
    explanation = page.locator(f"{ui.NOTEBOOK} details").first
    hidden_text = rendered(page).get_by_text("Only the maximum guarantees an exponent of at most 0")
    assert hidden_text.count() == 1 and not hidden_text.is_visible()
    page.locator(f"{ui.NOTEBOOK} .jp-Cell").filter(has_text=NOTE).scroll_into_view_if_needed()
    screenshot(page, f"{server.ui}-student-03-fold-closed", whole=False)

    explanation.locator("summary").click()
    hidden_text.wait_for(state="visible")
    page.wait_for_function(f"() => document.querySelector('{ui.NOTEBOOK} details mjx-container') !== null")
    summary, is_open, formulas, raw_dollars = fold_state(page)[0]
    assert is_open and formulas >= 5 and not raw_dollars, fold_state(page)
    assert explanation.locator("pre").first.is_visible()          # its code block renders too
    explanation.scroll_into_view_if_needed()
    screenshot(explanation, f"{server.ui}-student-03-fold-open")


def test_a_folded_code_cell_opens_on_its_code_and_what_it_printed(server, page, screenshot, student_folder):
    """A tagged code cell is a fold in the copy: closed, then its code and printed lines; Run All
    goes through, and a section heading after a fold stays in sight."""
    ui.open_notebook(page, server, f"{student_folder}/fold_demo.ipynb", ui=server.ui)
    ui.run_all(page)
    assert ui.errors_on_page(page) == []
    assert page.get_by_text(NOTE).count() == 1
    assert [(s, o) for s, o, _, _ in fold_state(page)] == [
        ("Explanation of flatten (open it once your check passes)", False),
        ("More on the answer to flatten", False)]
    secret = rendered(page).get_by_text("reshape(784) is the secret")
    assert secret.count() == 2 and not secret.first.is_visible() and not secret.last.is_visible()
    assert page.get_by_role("heading", name="Next").is_visible()         # after the folds, in sight
    code_fold = page.locator(f"{ui.NOTEBOOK} details").first
    code_fold.scroll_into_view_if_needed()
    screenshot(page, f"{server.ui}-student-code-folded", whole=False)

    code_fold.locator("summary").click()
    secret.first.wait_for(state="visible")                  # the code
    assert secret.last.is_visible()                         # what it printed
    assert code_fold.locator("pre").count() == 2
    screenshot(code_fold, f"{server.ui}-student-code-opened")
