"""The live demo (demo/live_demo.ipynb) served by Voila, in headless Chromium.

Voila shows only the outputs: no code and no traceback may be visible, every
widget must render in projector size, and the controls must work as they do
in JupyterLab.
"""

import pytest

import jupyter_ui as ui
from widget_checks import check_draw, check_live_heatmaps, check_lr_explorer, check_prediction_explorer

pytestmark = pytest.mark.browser

WIDGETS = [".mnistlib-lr-explorer", ".mnistlib-live", ".mnistlib-explorer", ".mnistlib-draw"]


def test_live_demo(voila_server, page, screenshot):
    # Voila runs the notebook when the page is requested, then renders the widgets
    page.goto(voila_server.url(""), wait_until="domcontentloaded", timeout=120_000)
    for selector in WIDGETS:
        ui.wait_widgets_rendered(page, selector, timeout=180_000)
    assert page.locator(".jp-InputArea-editor, .CodeMirror, .cm-editor").count() == 0, "code is visible"
    assert ui.errors_on_page(page) == []
    # projector mode: widget text well above JupyterLab's 13 px
    size = page.locator(".mnistlib-lr-slider .widget-readout").first.evaluate(
        "e => parseFloat(getComputedStyle(e).fontSize)")
    assert size >= 18, f"slider readout is {size}px: projector style not applied"
    screenshot(page, "voila-demo-0-whole-page")

    check_lr_explorer(page, screenshot, "voila-demo")
    check_live_heatmaps(page, screenshot, "voila-demo")
    check_prediction_explorer(page, screenshot, "voila-demo")
    check_draw(page, screenshot, "voila-demo")
    assert ui.errors_on_page(page) == []
    assert "Traceback" not in page.locator("body").inner_text()
