"""The model chooser (softmax regression, MLP, CNN) in headless Chromium: in the live demo's
model bar, and in notebook 10 in JupyterLab.

Each server here has a model cache of its own (MNISTLIB_CACHE_DIR in a temp dir), so
what is trained where is known, and the user's cache is never touched:
- the demo with an EMPTY cache, on the full MNIST: a picked MLP trains in the background
  (about 15 s), long enough to draw a digit meanwhile;
- the demo on the bundled subset, with the CNN put into its cache by this test process
  beforehand (as ``python -m mnistlib.demo --prepare`` does): the switch is immediate;
- notebook 10 on the full MNIST, with an empty cache: the chooser renders and a pick of
  the MLP works.

Every status line seen is recorded in the page (a MutationObserver), so that what the
presenter saw can be checked afterwards, however fast the training went.
"""

import shutil
import tempfile
from pathlib import Path

import pytest

import jupyter_ui as ui
from test_demo import open_demo
from widget_checks import mouse_stroke

from mnistlib.draw import digit_strokes
from mnistlib.zoo import LABELS

pytestmark = pytest.mark.browser

CHOICE = ".mnistlib-demo-model-choice"
STATUS = ".mnistlib-demo-model-choice-status"


@pytest.fixture(scope="module")
def own_cache():
    root = Path(tempfile.mkdtemp(prefix="mnistlib-chooser-cache-"))
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def demo_empty_cache(start_server, own_cache, mnist_dir):
    """The demo on the full MNIST with nothing in its model cache: the MLP trains in about 15 s."""
    server = start_server("voila", "voila-empty-cache", MNISTLIB_CACHE_DIR=str(own_cache / "empty"),
                          MNIST_DATA_DIR=str(mnist_dir))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def demo_prepared_cnn(start_server, own_cache, subset_mnist):
    """The demo on the bundled subset, with the CNN already in its cache."""
    from mnistlib import zoo

    cache = own_cache / "prepared"
    trained = zoo.trained("cnn", subset_mnist, cache_dir=cache)     # as --prepare does it
    assert trained.path is not None and trained.path.is_file()
    # no full MNIST on disk for the page (MNIST_DATA_DIR removed, an empty cache): the subset
    server = start_server("voila", "voila-prepared-cnn", MNISTLIB_CACHE_DIR=str(cache), MNIST_DATA_DIR="")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def lab_empty_cache(start_server, own_cache, mnist_dir):
    """JupyterLab whose kernels find the full MNIST (as notebook 10 is made) and no trained model."""
    server = start_server("lab", "lab-empty-cache", MNISTLIB_CACHE_DIR=str(own_cache / "lab"),
                          MNIST_DATA_DIR=str(mnist_dir))
    yield server
    server.stop()


# Keeps every text the status line shows, in order, in window.<name>.
_RECORD = """([selector, name]) => {
  const el = document.querySelector(selector);
  window[name] = [el.innerText];
  new MutationObserver(() => {
    const t = el.innerText;
    if (t !== window[name][window[name].length - 1]) window[name].push(t);
  }).observe(el, {childList: true, subtree: true, characterData: true});
}"""


def record(page, selector, name="seen"):
    page.evaluate(_RECORD, [selector, name])


def seen(page, name="seen"):
    return page.evaluate(f"() => window.{name}")


def wait_text(page, selector, js_condition, timeout=60_000):
    """Wait until the innerText ``s`` of the (first) element ``selector`` satisfies js_condition."""
    page.wait_for_function(
        f"sel => {{ const e = document.querySelector(sel); const s = e ? e.innerText : ''; return {js_condition}; }}",
        arg=selector, timeout=timeout)


def draw_on(page, widget, digit):
    """Draw ``digit`` with the mouse on the canvas of ``widget`` (a locator of a draw-a-digit box)."""
    inner = widget.locator(".mnistlib-draw-canvas canvas")
    canvas = inner.last if inner.count() else widget.locator("canvas.mnistlib-draw-canvas").first
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    s = box["width"] / 280
    for points in digit_strokes(digit):
        mouse_stroke(page, [(box["x"] + x * s, box["y"] + y * s) for x, y in points])


def wait_answer(page, widget, strokes, timeout=60_000):
    """Wait until ``widget`` answers a drawing of ``strokes`` strokes; return (answer, status) texts."""
    answer = widget.locator(".mnistlib-draw-answer").first
    status = widget.locator(".mnistlib-draw-status").first
    page.wait_for_function("e => /\\d/.test(e.innerText)", arg=answer.element_handle(), timeout=timeout)
    page.wait_for_function("([e, n]) => e.innerText.startsWith(n + ' stroke')",
                           arg=[status.element_handle(), strokes], timeout=timeout)
    return answer.inner_text(), status.inner_text()


def test_demo_picks_the_mlp_it_trains_in_the_background_while_the_page_answers(demo_empty_cache, new_page,
                                                                                 screenshot):
    page = new_page(viewport={"width": 1280, "height": 720})      # the smallest projector
    open_demo(page, demo_empty_cache)
    status = page.locator(STATUS)
    first = status.inner_text()
    assert first.startswith("Softmax regression answers (") and "trained just now" in first, first
    assert "Not trained yet: the MLP and the CNN" in first, first
    assert "the full MNIST" in page.locator(".mnistlib-demo-footer").inner_text()
    record(page, STATUS)

    page.locator(f"{CHOICE} select").select_option(LABELS["mlp"])
    wait_text(page, STATUS, "s.startsWith('Training the MLP: epoch')")
    # the page stays usable: section 4 answers a drawing with softmax regression meanwhile
    drawing = page.locator(".mnistlib-draw")
    draw_on(page, drawing, 7)
    answer, draw_status = wait_answer(page, drawing, len(digit_strokes(7)))
    training = status.inner_text()
    assert "Meanwhile softmax regression answers" in training, training
    assert "by the MLP" not in draw_status, draw_status
    screenshot(page.locator(".mnistlib-demo-model"), "voila-chooser-1-mlp-training")
    # the model bar fits the projector while it trains: a long status line wraps, never overflows
    assert ui.overflow(page) == [] and ui.narrow_dropdowns(page) == []

    wait_text(page, STATUS, "s.startsWith('The MLP answers (')", timeout=600_000)
    done = status.inner_text()
    assert "trained just now in" in done and "Not trained yet: the CNN" in done, done
    steps = [t for t in seen(page) if t.startswith("Training the MLP: epoch")]
    assert len(steps) >= 2, seen(page)             # progress: more than the first line
    # the drawing on the canvas is answered again, now by the MLP; a new one too
    wait_text(page, ".mnistlib-draw-status", "s.includes('answered by the MLP')")
    wait_text(page, ".mnistlib-demo-footer", "s.includes('The MLP answers above')")
    probs = ui.img_src(page, ".mnistlib-draw-probs")
    page.locator("button.mnistlib-draw-clear, .mnistlib-draw-clear button").first.click()
    ui.wait_img_changed(page, ".mnistlib-draw-probs", probs)
    wait_text(page, ".mnistlib-draw-answer", "!/\\d/.test(s)")
    draw_on(page, drawing, 0)
    answer, draw_status = wait_answer(page, drawing, len(digit_strokes(0)))
    assert "answered by the MLP" in draw_status, draw_status
    assert "The MLP is not linear" in drawing.locator(".mnistlib-draw-contrib-note").inner_text()
    screenshot(drawing, f"voila-chooser-2-mlp-answers-{answer.strip()[:1]}")
    assert ui.errors_on_page(page) == [] and page.errors == []
    assert not any("Error" in t or "could not" in t for t in seen(page)), seen(page)


def test_demo_switches_at_once_to_a_cnn_from_the_cache(demo_prepared_cnn, page, screenshot):
    open_demo(page, demo_prepared_cnn)
    status = page.locator(STATUS)
    first = status.inner_text()
    assert "Not trained yet: the MLP;" in first, first          # the CNN is not among them
    footer = page.locator(".mnistlib-demo-footer").inner_text()
    assert "a sample of 5,000 MNIST digits" in footer and "Softmax regression answers above" in footer, footer
    record(page, STATUS)

    page.locator(f"{CHOICE} select").select_option(LABELS["cnn"])
    wait_text(page, STATUS, "s.startsWith('The CNN answers (')")
    assert "loaded from the cache" in status.inner_text(), status.inner_text()
    assert not any("Training" in t or "training" in t for t in seen(page)), seen(page)
    wait_text(page, ".mnistlib-demo-footer", "s.includes('The CNN answers above')")
    assert "The CNN is not linear" in page.locator(".mnistlib-draw-contrib-note").inner_text()
    # section 3 shows the CNN's answer for the image on show
    wait_text(page, ".mnistlib-explorer-status", "s.length > 0")
    drawing = page.locator(".mnistlib-draw")
    draw_on(page, drawing, 1)
    answer, draw_status = wait_answer(page, drawing, len(digit_strokes(1)))
    assert "answered by the CNN" in draw_status, draw_status
    screenshot(page.locator(".mnistlib-demo-model"), "voila-chooser-3-cnn-from-the-cache")
    assert ui.errors_on_page(page) == [] and page.errors == []


def test_notebook_10_chooser_renders_and_trains_the_mlp_when_picked(lab_empty_cache, page, screenshot):
    ui.open_notebook(page, lab_empty_cache, "10_draw_a_digit.ipynb", ui="lab")
    ui.run_all(page)
    assert ui.errors_on_page(page) == [], "10_draw_a_digit.ipynb did not run cleanly"
    drawing = page.locator(".mnistlib-draw", has=page.locator(".mnistlib-draw-model"))
    ui.wait_widgets_rendered(page, ".mnistlib-draw-model")
    assert drawing.count() == 1
    status_sel = ".mnistlib-draw-model-status"
    first = page.locator(status_sel).inner_text()
    assert first.startswith("Softmax regression answers (") and "Not trained yet: the MLP and the CNN" in first
    record(page, status_sel)
    screenshot(drawing, "lab-10-chooser-1-initial")

    drawing.locator(".mnistlib-draw-model select").select_option(LABELS["mlp"])
    wait_text(page, status_sel, "s.startsWith('The MLP answers (')", timeout=600_000)
    assert any(t.startswith("Training the MLP: epoch") for t in seen(page)), seen(page)
    draw_on(page, drawing, 7)
    answer, draw_status = wait_answer(page, drawing, len(digit_strokes(7)))
    assert "answered by the MLP" in draw_status, draw_status
    screenshot(drawing, f"lab-10-chooser-2-mlp-answers-{answer.strip()[:1]}")
    assert ui.errors_on_page(page) == []
    lab_empty_cache.shutdown_kernels()
