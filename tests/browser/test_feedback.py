"""The course's feedback page typesets its formulas in a browser with the network cut off.

nbgrader makes the page for real (course, autograde, feedback, in .venv-teach) from
notebook 03, whose markdown holds a few dozen formulas; Chromium opens the file with
every request that is not for a local file aborted, and offline. MathJax must come
from the page itself (mnistlib/feedback): every formula becomes MathJax's output, none
is left as raw $...$, and nothing was fetched.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.browser

REPO_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO_ROOT / "notebooks" / "03_softmax.ipynb"
STUDENT = "learner"


def formulas_in(path):
    """How many $...$ and $$...$$ spans the notebook's markdown holds (code spans left out)."""
    text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown")
    return len(re.findall(r"\$\$.+?\$\$|\$[^$]+?\$", re.sub(r"`[^`]*`", "", text), re.S))


@pytest.fixture(scope="module")
def feedback_page(teach_python, tmp_path_factory):
    """The feedback page of a submission of NOTEBOOK (its worked answers), made by nbgrader."""
    course = tmp_path_factory.mktemp("feedback") / "course"
    assignment = NOTEBOOK.stem
    made = subprocess.run([sys.executable, str(REPO_ROOT / "run.py"), "course", "--out", str(course), str(NOTEBOOK)],
                          capture_output=True, text=True, cwd=REPO_ROOT, timeout=600)
    assert made.returncode == 0, made.stdout + made.stderr
    handed_in = course / "submitted" / STUDENT / assignment
    handed_in.mkdir(parents=True)
    shutil.copy(course / "source" / assignment / NOTEBOOK.name, handed_in)
    env = {**os.environ, "PATH": os.pathsep.join([str(teach_python.parent), os.environ.get("PATH", "")])}
    for step in (["autograde", assignment], ["generate_feedback", assignment]):
        done = subprocess.run([str(teach_python), "-m", "nbgrader", *step], cwd=course, env=env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return course / "feedback" / STUDENT / assignment / f"{assignment}.html"


def test_feedback_typesets_its_formulas_with_no_network(new_page, feedback_page, screenshot):
    page = new_page(offline=True)
    fetched, refused = [], []

    def local_files_only(route):
        if route.request.url.startswith("file:"):
            fetched.append(route.request.url)
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    page.context.route("**/*", local_files_only)
    page.goto(feedback_page.as_uri())
    page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
    page.evaluate("() => MathJax.startup.promise")          # resolves once the page is typeset
    assert page.locator("mjx-container").count() == formulas_in(NOTEBOOK) > 20
    assert page.locator("mjx-container svg").count() == page.locator("mjx-container").count()
    assert page.locator("mjx-merror").count() == 0           # no formula MathJax could not read
    shown = page.evaluate("() => [...document.querySelectorAll('.text_cell_render')]"
                          ".map(e => e.innerText).join('\\n')")
    assert re.findall(r"\$[^$\n]{0,40}", shown) == []          # no raw $...$ left
    assert fetched == [feedback_page.as_uri()] and refused == []
    assert page.errors == []
    screenshot(page.locator("#exercises"), "feedback-offline-contents")
    screenshot(page.locator(".exercise").first, "feedback-offline-graded-cell")
    screenshot(page.locator(".text_cell_render mjx-container[display]").first, "feedback-offline-formula")
