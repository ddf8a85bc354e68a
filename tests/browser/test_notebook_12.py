"""Notebook 12 in JupyterLab: Run All, then the filter and feature-map viewer renders and responds.

Each control of the viewer is worked as a learner would (the ▶ button, the stage
buttons, a typed image number); after each, the pictures and the status line must
change to match, with no error anywhere. Screenshots go to artifacts/browser/.
"""

import pytest

import axe_audit
import jupyter_ui as ui

pytestmark = pytest.mark.browser

NOTEBOOK = "12_convolution.ipynb"
STATUS = ".mnistlib-featuremaps-status"


@pytest.fixture
def server(lab_server):
    """JupyterLab; the notebook's kernel is shut down after the test."""
    lab_server.ui = "lab"
    yield lab_server
    lab_server.shutdown_kernels()


def wait_status(page, text, how="includes"):
    page.wait_for_function(f"t => document.querySelector('{STATUS}').innerText.{how}(t)", arg=text,
                           timeout=60_000)


def test_feature_map_viewer(server, page, screenshot):
    ui.open_notebook(page, server, NOTEBOOK, ui="lab")
    ui.run_all(page)
    assert ui.errors_on_page(page) == [], f"{NOTEBOOK} did not run cleanly"
    # no check of an exercise failed: the notebook's own solutions pass
    assert page.get_by_text("✗").count() == 0

    viewer = page.locator(".mnistlib-featuremaps")
    ui.wait_widgets_rendered(page, ".mnistlib-featuremaps")
    for part in ("index", "prev", "next", "stage", "digit", "kernels", "maps", "status"):
        assert page.locator(f".mnistlib-featuremaps-{part}").count() == 1, part
    wait_status(page, "image 0:")
    assert "maps of 24 x 24" in page.locator(STATUS).inner_text()
    screenshot(viewer, "lab-12-featuremaps-1-image-0-conv1")

    # the next image: the digit and its maps change, the kernels stay
    digit, maps = ui.img_src(page, ".mnistlib-featuremaps-digit"), ui.img_src(page, ".mnistlib-featuremaps-maps")
    kernels = ui.img_src(page, ".mnistlib-featuremaps-kernels")
    page.locator("button.mnistlib-featuremaps-next, .mnistlib-featuremaps-next button").first.click()
    ui.wait_img_changed(page, ".mnistlib-featuremaps-digit", digit)
    ui.wait_img_changed(page, ".mnistlib-featuremaps-maps", maps)
    wait_status(page, "image 1:")
    assert ui.img_src(page, ".mnistlib-featuremaps-kernels") == kernels
    screenshot(viewer, "lab-12-featuremaps-2-image-1")

    # another stage: the second max-pooling, with the second convolution's kernels
    maps = ui.img_src(page, ".mnistlib-featuremaps-maps")
    page.locator(".mnistlib-featuremaps-stage button", has_text="max-pooling 2").first.click()
    ui.wait_img_changed(page, ".mnistlib-featuremaps-maps", maps)
    ui.wait_img_changed(page, ".mnistlib-featuremaps-kernels", kernels)
    wait_status(page, "maps of 4 x 4", how="includes")
    screenshot(viewer, "lab-12-featuremaps-3-pool2")

    # a typed image number
    index = page.locator(".mnistlib-featuremaps-index input").first
    index.fill("7")
    index.press("Enter")
    wait_status(page, "image 7:")
    assert "max-pooling 2" in page.locator(STATUS).inner_text()
    screenshot(viewer, "lab-12-featuremaps-4-image-7")

    assert "Error" not in page.locator(STATUS).inner_text()
    assert ui.errors_on_page(page) == []
    axe_audit.check_notebook(page, NOTEBOOK)
