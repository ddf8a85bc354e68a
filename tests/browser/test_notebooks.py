"""The course notebooks' widgets, end to end in JupyterLab and Notebook 7.

Each test opens a notebook, runs all cells as a learner would, checks that no
cell failed and every widget rendered, then works the controls and checks that
the pictures change. Screenshots of each state go to artifacts/browser/.
"""

import pytest

import jupyter_ui as ui

pytestmark = pytest.mark.browser

LR_NOTEBOOK = "06_gradient_descent.ipynb"
EXPLORER_NOTEBOOK = "08_evaluation.ipynb"


@pytest.fixture(params=["lab", "notebook"])
def server(request):
    """The notebook server for one UI; its kernels are shut down after the test."""
    server = request.getfixturevalue(f"{request.param}_server")
    server.ui = request.param
    yield server
    server.shutdown_kernels()


def open_and_run(page, server, name):
    ui.open_notebook(page, server, name, ui=server.ui)
    ui.run_all(page)
    assert ui.errors_on_page(page) == [], f"{name} did not run cleanly"


def check_lr_explorer(page, screenshot, prefix):
    """Slider to a small lr redraws loss and heatmaps; the largest lr reports divergence."""
    explorer = page.locator(".mnistlib-lr-explorer")
    status = page.locator(".mnistlib-lr-status")
    ui.wait_widgets_rendered(page, ".mnistlib-lr-explorer")
    screenshot(explorer, f"{prefix}-lr-explorer-1-initial")
    loss, heat = ui.img_src(page, ".mnistlib-lr-loss"), ui.img_src(page, ".mnistlib-lr-heatmaps")
    start = ui.slider_value(page, ".mnistlib-lr-slider")
    message = status.inner_text()

    ui.drag_slider(page, ".mnistlib-lr-slider", 0.2)
    ui.wait_img_changed(page, ".mnistlib-lr-loss", loss, timeout=60_000)
    ui.wait_img_changed(page, ".mnistlib-lr-heatmaps", heat, timeout=60_000)
    small = ui.slider_value(page, ".mnistlib-lr-slider")
    assert float(small) < float(start)
    page.wait_for_function("m => document.querySelector('.mnistlib-lr-status').innerText !== m",
                           arg=message)
    lr_shown = float(status.inner_text().split("lr = ")[1].split(":")[0])
    assert lr_shown == pytest.approx(float(small), rel=0.01), (small, status.inner_text())
    assert "diverged" not in status.inner_text()
    screenshot(explorer, f"{prefix}-lr-explorer-2-small-lr-{small}")

    loss = ui.img_src(page, ".mnistlib-lr-loss")
    ui.drag_slider(page, ".mnistlib-lr-slider", 1.0)
    page.wait_for_function(
        "() => document.querySelector('.mnistlib-lr-status').innerText.includes('diverged')",
        timeout=60_000)
    ui.wait_img_changed(page, ".mnistlib-lr-loss", loss)
    assert "Traceback" not in explorer.inner_text()
    assert "Error" not in status.inner_text(), status.inner_text()
    screenshot(explorer, f"{prefix}-lr-explorer-3-diverged-lr-"
               + ui.slider_value(page, ".mnistlib-lr-slider"))


def check_live_heatmaps(page, screenshot, prefix):
    """The Train button animates the heatmaps and ends with a "done" status."""
    live = page.locator(".mnistlib-live")
    ui.wait_widgets_rendered(page, ".mnistlib-live")
    heat = ui.img_src(page, ".mnistlib-live-heatmaps")
    screenshot(live, f"{prefix}-live-heatmaps-1-before-training")
    page.locator("button.mnistlib-live-train, .mnistlib-live-train button").first.click()
    page.wait_for_function(
        "() => document.querySelector('.mnistlib-live-status').innerText.includes('done')",
        timeout=120_000)
    ui.wait_img_changed(page, ".mnistlib-live-heatmaps", heat)
    status = page.locator(".mnistlib-live-status").inner_text()
    assert "Error" not in status and "diverged" not in status, status
    screenshot(live, f"{prefix}-live-heatmaps-2-after-training")


def check_prediction_explorer(page, screenshot, prefix):
    """Typing another index, and choosing a class to compare with, redraw the figures."""
    explorer = page.locator(".mnistlib-explorer")
    status = page.locator(".mnistlib-explorer-status")
    ui.wait_widgets_rendered(page, ".mnistlib-explorer")
    screenshot(explorer, f"{prefix}-prediction-explorer-1-initial")
    probs, contrib = ui.img_src(page, ".mnistlib-explorer-probs"), ui.img_src(page, ".mnistlib-explorer-contrib")
    first = status.inner_text()

    index = page.locator(".mnistlib-explorer-index input").first
    index.fill("7")
    index.press("Enter")
    ui.wait_img_changed(page, ".mnistlib-explorer-probs", probs)
    ui.wait_img_changed(page, ".mnistlib-explorer-contrib", contrib)
    page.wait_for_function("() => document.querySelector('.mnistlib-explorer-status')"
                           ".innerText.startsWith('image 7:')")
    assert status.inner_text() != first
    screenshot(explorer, f"{prefix}-prediction-explorer-2-image-7")

    contrib = ui.img_src(page, ".mnistlib-explorer-contrib")
    page.locator(".mnistlib-explorer-compare select").first.select_option(label="0")
    ui.wait_img_changed(page, ".mnistlib-explorer-contrib", contrib)
    page.wait_for_function("() => document.querySelector('.mnistlib-explorer-status')"
                           ".innerText.includes(' - l0 =')")
    screenshot(explorer, f"{prefix}-prediction-explorer-3-compare-with-0")

    # past the end: the box clamps the value or the status explains; never a traceback
    index.fill("999999")
    index.press("Enter")
    page.wait_for_function("() => !document.querySelector('.mnistlib-explorer-status')"
                           ".innerText.startsWith('image 7:')")
    assert "Traceback" not in explorer.inner_text()
    screenshot(explorer, f"{prefix}-prediction-explorer-4-index-past-the-end")


def test_gradient_descent_widgets(server, page, screenshot):
    """Notebook 06: learning-rate explorer and live heatmaps."""
    open_and_run(page, server, LR_NOTEBOOK)
    screenshot(page, f"{server.ui}-06-after-run-all")
    check_lr_explorer(page, screenshot, f"{server.ui}-06")
    check_live_heatmaps(page, screenshot, f"{server.ui}-06")
    assert ui.errors_on_page(page) == []


def test_prediction_explorer(server, page, screenshot):
    """Notebook 08: the prediction explorer."""
    open_and_run(page, server, EXPLORER_NOTEBOOK)
    check_prediction_explorer(page, screenshot, f"{server.ui}-08")
    assert ui.errors_on_page(page) == []
