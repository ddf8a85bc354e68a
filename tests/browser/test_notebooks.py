"""The course notebooks' widgets, end to end in JupyterLab and Notebook 7.

Each test opens a notebook, runs all cells as a learner would, checks that no
cell failed and every widget rendered, then works the controls and checks that
the pictures change. Screenshots of each state go to artifacts/browser/.
"""

import pytest

import axe_audit
import jupyter_ui as ui
from widget_checks import (check_descent_explorer, check_draw, check_live_heatmaps, check_lr_explorer,
                           check_prediction_explorer)

pytestmark = pytest.mark.browser

LR_NOTEBOOK = "06_gradient_descent.ipynb"
EXPLORER_NOTEBOOK = "09_error_analysis.ipynb"
DRAW_NOTEBOOK = "10_draw_a_digit.ipynb"


def open_and_run(page, server, name):
    ui.open_notebook(page, server, name, ui=server.ui)
    ui.run_all(page)
    assert ui.errors_on_page(page) == [], f"{name} did not run cleanly"


def audit_in_lab(page, server, name):
    """In JupyterLab, after the widgets were worked: the accessibility audit (test_accessibility.py)."""
    if server.ui == "lab":
        axe_audit.check_notebook(page, name)


def test_gradient_descent_widgets(server, page, screenshot):
    """Notebook 06: the toy bowl, the learning-rate explorer and live heatmaps."""
    open_and_run(page, server, LR_NOTEBOOK)
    screenshot(page, f"{server.ui}-06-after-run-all")
    check_descent_explorer(page, screenshot, f"{server.ui}-06")
    check_lr_explorer(page, screenshot, f"{server.ui}-06")
    check_live_heatmaps(page, screenshot, f"{server.ui}-06")
    assert ui.errors_on_page(page) == []
    audit_in_lab(page, server, LR_NOTEBOOK)


# JupyterLab only: the explorer uses no control that the other tests do not
# already cover in Notebook 7, and this notebook is the slowest to run.
@pytest.mark.parametrize("server", ["lab"], indirect=True)
def test_prediction_explorer(server, page, screenshot):
    """Notebook 09: the prediction explorer."""
    open_and_run(page, server, EXPLORER_NOTEBOOK)
    check_prediction_explorer(page, screenshot, f"{server.ui}-09")
    assert ui.errors_on_page(page) == []
    audit_in_lab(page, server, EXPLORER_NOTEBOOK)


def test_draw_a_digit(server, page, screenshot):
    """Notebook 10: draw a 7 with the mouse, then Clear and draw a 0."""
    open_and_run(page, server, DRAW_NOTEBOOK)
    check_draw(page, screenshot, f"{server.ui}-10")
    assert ui.errors_on_page(page) == []
    audit_in_lab(page, server, DRAW_NOTEBOOK)
