"""The live demo (demo/live_demo.ipynb) in headless Chromium, served as ``python run.py demo``
serves it (``python -m mnistlib.demo``, which runs Voila).

Voila shows only the outputs: no code, no traceback and no log line may be
visible, every widget must render in projector size and fit the common
projector resolutions without sideways scrolling, and the controls must work
with a mouse and with a finger on a touch screen.
"""

import re
import time

import pytest

import jupyter_ui as ui
from widget_checks import check_draw, check_live_heatmaps, check_lr_explorer, check_prediction_explorer

pytestmark = pytest.mark.browser

WIDGETS = [".mnistlib-lr-explorer", ".mnistlib-live", ".mnistlib-demo-model", ".mnistlib-explorer",
           ".mnistlib-draw", ".mnistlib-demo-footer"]
PROJECTORS = [(1280, 720), (1366, 768), (1920, 1080)]
STREAMS = ('[data-mime-type="application/vnd.jupyter.stdout"], '
           '[data-mime-type="application/vnd.jupyter.stderr"]')


def open_demo(page, server):
    """Open the demo and wait until every widget has rendered and every picture has loaded."""
    # Voila runs the notebook when the page is requested, then renders the widgets
    page.goto(server.url(""), wait_until="domcontentloaded", timeout=180_000)
    for selector in WIDGETS:
        ui.wait_widgets_rendered(page, selector, timeout=180_000)
    # the canvas shows its status once the kernel has answered the page's first message
    page.wait_for_function("() => document.querySelector('.mnistlib-draw-status').innerText.length > 0")
    page.wait_for_function("() => document.fonts.status === 'loaded' && "
                           "[...document.images].every(i => i.complete && i.naturalWidth > 0)")


def expected_data_words():
    """How the footer should name the data: the page finds the full MNIST where this test does."""
    from mnistlib.demo import full_mnist_on_disk
    return "the full MNIST" if full_mnist_on_disk() else "a sample of 5,000 MNIST digits"


def test_live_demo(voila_server, page, screenshot):
    open_demo(page, voila_server)
    assert page.locator(".jp-InputArea-editor, .CodeMirror, .cm-editor").count() == 0, "code is visible"
    assert ui.errors_on_page(page) == []
    # no log line: what the page uses is said in words, in the footer
    assert page.locator(STREAMS).count() == 0, page.locator(STREAMS).first.inner_text()
    footer = page.locator(".mnistlib-demo-footer").inner_text()
    assert expected_data_words() in footer, footer
    assert re.search(r"reads \d+\.\d% of", footer), footer
    assert "MNIST:" not in page.locator("body").inner_text()
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
    assert page.errors == []


@pytest.mark.parametrize("width, height", PROJECTORS, ids=[f"{w}x{h}" for w, h in PROJECTORS])
def test_fits_the_projector(voila_server, new_page, screenshot, width, height):
    """At each common projector size: nothing sticks out sideways, no drop-down is cut short."""
    page = new_page(viewport={"width": width, "height": height})
    open_demo(page, voila_server)
    screenshot(page, f"voila-demo-{width}x{height}-first-screen", whole=False)
    screenshot(page, f"voila-demo-{width}x{height}-whole-page")
    assert ui.overflow(page) == []
    assert ui.narrow_dropdowns(page) == []
    # the first screen shows the title and the first control
    slider = page.locator(".mnistlib-lr-slider").first.bounding_box()
    assert slider["y"] + slider["height"] <= height, "the lr slider is below the first screen"
    assert page.errors == []


def touch_page(new_page, server):
    """The demo on a touch screen (an interactive whiteboard or a tablet) at 1366 x 768."""
    page = new_page(viewport={"width": 1366, "height": 768}, has_touch=True)
    open_demo(page, server)
    return page, ui.Finger(page)


def test_touch_draws_a_digit(voila_server, new_page, screenshot):
    """A finger draws a 7, taps Clear, draws a 0: the network reads both."""
    page, finger = touch_page(new_page, voila_server)

    def tap(locator):
        locator.scroll_into_view_if_needed()
        box = locator.bounding_box()
        finger.tap(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)

    shown = check_draw(page, screenshot, "voila-touch", digits=(7, 0),
                       stroke=lambda page, points: finger.stroke(points), press=tap)
    assert shown == ["7", "0"]
    assert page.errors == []


def test_touch_moves_the_lr_slider(voila_server, new_page, screenshot):
    """A finger drags the learning-rate slider: the explorer retrains and redraws."""
    page, finger = touch_page(new_page, voila_server)
    check_lr_explorer(page, screenshot, "voila-touch",
                      drag=lambda page, selector, fraction: ui.touch_drag_slider(page, finger, selector, fraction))
    assert page.errors == []


def test_launcher_says_when_the_page_is_ready(voila_server, page):
    """``python -m mnistlib.demo`` names the data, then prints the address, then the start-up time."""
    open_demo(page, voila_server)
    # the launcher writes its lines into the server's log; the line comes once a page is up
    deadline = time.monotonic() + 60
    while "Page ready" not in voila_server.log_path.read_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    log = voila_server.log_path.read_text()
    m = re.search(r"Page ready: its first widget answered (\d+\.\d) s after the command started", log)
    assert m, log[-3000:]
    assert 0 < float(m.group(1)) <= time.time() - voila_server.started_at
    assert f"open http://127.0.0.1:{voila_server.port}/" in log
    if "the full MNIST" in expected_data_words():
        assert "Data: the full MNIST, from" in log
    else:
        assert "python run.py download" in log
    assert log.index("open http://") < m.start()



def wait_for_kernels(server, expected, timeout=60):
    """Wait until exactly ``expected`` kernels run under ``server``; return how many there are."""
    deadline = time.monotonic() + timeout
    while len(server.kernel_pids()) != expected and time.monotonic() < deadline:
        time.sleep(0.3)
    return len(server.kernel_pids())


@pytest.fixture
def quick_culling_demo(start_server):
    """The demo as ``python run.py demo`` serves it, but culling pageless kernels after 3 s
    idle (checked every second) instead of its 120 s, so that the test need not wait."""
    server = start_server("voila", "voila-quick-culling", extra=[
        "--MappingKernelManager.cull_idle_timeout=3", "--MappingKernelManager.cull_interval=1"])
    yield server
    server.stop()


def test_a_reloaded_or_closed_page_frees_its_kernel_and_an_open_one_keeps_it(quick_culling_demo, page,
                                                                             screenshot):
    """Each open demo page has a kernel holding the data and the models (about half a GB).
    Voila's own shutdown request on unload is refused (voila-dashboards/voila#1458), so
    the launcher culls kernels that no page is connected to: a day of reloads on the
    projector must not fill the teacher's laptop, and an idle open page must keep working."""
    demo = quick_culling_demo
    open_demo(page, demo)
    assert wait_for_kernels(demo, 1) == 1
    first = demo.kernel_pids()
    time.sleep(6)                   # twice the idle time: an open page is not culled
    assert demo.kernel_pids() == first, "the open page's kernel was shut down"
    check_draw(page, screenshot, "voila-after-idle")     # and it still answers
    page.on("dialog", lambda dialog: dialog.accept())
    page.reload(wait_until="domcontentloaded", timeout=180_000)
    open_demo(page, demo)
    assert wait_for_kernels(demo, 1) == 1, "the reloaded page's old kernel still runs"
    assert demo.kernel_pids().isdisjoint(first), "the reloaded page should have a new kernel"
    ui.close_tab(page)
    assert wait_for_kernels(demo, 0) == 0, "the closed page's kernel still runs"
