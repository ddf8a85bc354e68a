"""Notebook 11 end to end in JupyterLab: Run All, then the hidden-unit viewer renders and answers.

Screenshots of each state go to artifacts/browser/ (lab-11-hidden-unit-viewer-<n>-<state>.png).
"""

import pytest

import axe_audit
import jupyter_ui as ui

pytestmark = pytest.mark.browser

NOTEBOOK = "11_hidden_layer.ipynb"
STATUS = ".mnistlib-hidden-status"


@pytest.fixture
def lab(lab_server):
    yield lab_server
    lab_server.shutdown_kernels()


def status_text(page):
    return page.locator(STATUS).first.inner_text()


def wait_status(page, js_condition, timeout=30_000):
    """Wait until the viewer's status line text ``s`` satisfies the JavaScript expression js_condition."""
    page.wait_for_function(f"() => {{ const s = document.querySelector('{STATUS}').innerText; return {js_condition}; }}",
                           timeout=timeout)


def test_hidden_unit_viewer(lab, page, screenshot):
    """Typing a unit, stepping with ▶ and asking for the strongest unit of a class redraw the viewer."""
    ui.open_notebook(page, lab, NOTEBOOK, ui="lab")
    ui.run_all(page, timeout=600_000)            # trains two models and searches a recipe
    assert ui.errors_on_page(page) == [], f"{NOTEBOOK} did not run cleanly"

    viewer = page.locator(".mnistlib-hidden")
    ui.wait_widgets_rendered(page, ".mnistlib-hidden")
    for part in ("unit", "prev", "next", "class", "weights", "top", "votes", "status"):
        assert page.locator(f".mnistlib-hidden-{part}").count() == 1, part
    assert page.locator(".mnistlib-hidden-weights img, img.mnistlib-hidden-weights").first.is_visible()
    assert status_text(page).startswith("unit "), status_text(page)
    screenshot(viewer, "lab-11-hidden-unit-viewer-1-initial")

    # Another unit, typed into the box: new weights, new digits, new status line.
    box = page.locator(".mnistlib-hidden-unit input").first
    start = int(box.input_value())
    other = 5 if start != 5 else 6
    weights, top = ui.img_src(page, ".mnistlib-hidden-weights"), ui.img_src(page, ".mnistlib-hidden-top")
    box.fill(str(other))
    box.press("Enter")
    ui.wait_img_changed(page, ".mnistlib-hidden-weights", weights)
    ui.wait_img_changed(page, ".mnistlib-hidden-top", top)
    wait_status(page, f"s.startsWith('unit {other}:')")
    screenshot(viewer, f"lab-11-hidden-unit-viewer-2-unit-{other}")

    # ▶ steps to the next unit.
    weights = ui.img_src(page, ".mnistlib-hidden-weights")
    page.locator("button.mnistlib-hidden-next, .mnistlib-hidden-next button").first.click()
    ui.wait_img_changed(page, ".mnistlib-hidden-weights", weights)
    wait_status(page, f"s.startsWith('unit {other + 1}:')")
    assert box.input_value() == str(other + 1)

    # "strongest for class" jumps to a unit and says so.
    page.locator(".mnistlib-hidden-class select").first.select_option(label="0")
    wait_status(page, "s.startsWith('strongest for class 0: unit ')")
    screenshot(viewer, "lab-11-hidden-unit-viewer-3-strongest-for-0")

    text = status_text(page)
    assert "Error" not in text and "Traceback" not in viewer.inner_text(), text
    assert ui.errors_on_page(page) == []
    axe_audit.check_notebook(page, NOTEBOOK)
