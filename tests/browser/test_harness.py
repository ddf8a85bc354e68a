"""The harness itself: a one-slider notebook in JupyterLab and Notebook 7.

Independent of the course notebooks, so a failure here points at the setup
(Chromium, Playwright, Jupyter, ipywidgets front end), not at a widget.
"""

import ipywidgets
import nbformat
import pytest

import jupyter_ui as ui

pytestmark = pytest.mark.browser

SCRATCH = "_harness_slider.ipynb"
SOURCE = """\
import ipywidgets as w
s = w.FloatLogSlider(value=0.1, base=10, min=-3, max=1, step=0.25,
                     continuous_update=False, description="lr")
s.add_class("harness-slider")
out = w.HTML(f"lr = {s.value:.4g}, ipywidgets {w.__version__}")
out.add_class("harness-out")
s.observe(lambda change: setattr(out, "value", f"lr = {change['new']:.4g}"), "value")
w.VBox([s, out])"""


@pytest.fixture(scope="module")
def scratch_notebook(browser_workdir):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(SOURCE)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, browser_workdir / "notebooks" / SCRATCH)
    return SCRATCH


@pytest.mark.parametrize("app", ["lab", "notebook"])
def test_slider_round_trip(app, request, page, scratch_notebook, screenshot):
    """A FloatLogSlider renders, and dragging it with the mouse reaches the kernel."""
    server = request.getfixturevalue(f"{app}_server")
    request.addfinalizer(server.shutdown_kernels)
    ui.open_notebook(page, server, scratch_notebook, ui=app)
    ui.run_all(page)
    ui.wait_widgets_rendered(page, ".harness-slider")
    out = page.locator(".harness-out")
    # the kernel runs this environment: the same ipywidgets as the front end was built for
    assert f"ipywidgets {ipywidgets.__version__}" in out.inner_text()
    ui.drag_slider(page, ".harness-slider", 0.9)
    page.wait_for_function(
        "() => !document.querySelector('.harness-out').innerText.includes('0.1,')")
    assert out.inner_text().startswith("lr = "), out.inner_text()
    assert out.inner_text() != "lr = 0.1"
    assert ui.errors_on_page(page) == []
    screenshot(page, f"harness-{app}-slider-moved")
