"""Checks of each course widget in a rendered page (JupyterLab, Notebook 7 or Voila).

Each ``check_*`` works the widget's controls like a user, waits for the
kernel's answer to show up (pictures change, status line updates), asserts
that no error appears, and saves a screenshot of each state named
``<prefix>-<widget>-<n>-<state>``.
"""

import pytest

import jupyter_ui as ui
from mnistlib.draw import digit_strokes


def check_lr_explorer(page, screenshot, prefix, drag=ui.drag_slider):
    """Slider to a small lr redraws loss and heatmaps; the largest lr reports divergence.

    drag(page, selector, fraction) moves the slider: with the mouse unless told otherwise.
    """
    explorer = page.locator(".mnistlib-lr-explorer")
    status = page.locator(".mnistlib-lr-status")
    ui.wait_widgets_rendered(page, ".mnistlib-lr-explorer")
    screenshot(explorer, f"{prefix}-lr-explorer-1-initial")
    loss, heat = ui.img_src(page, ".mnistlib-lr-loss"), ui.img_src(page, ".mnistlib-lr-heatmaps")
    start = ui.slider_value(page, ".mnistlib-lr-slider")
    message = status.inner_text()

    drag(page, ".mnistlib-lr-slider", 0.2)
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
    drag(page, ".mnistlib-lr-slider", 1.0)
    page.wait_for_function(
        "() => document.querySelector('.mnistlib-lr-status').innerText.includes('diverged')",
        timeout=60_000)
    ui.wait_img_changed(page, ".mnistlib-lr-loss", loss)
    assert "Traceback" not in explorer.inner_text()
    assert "Error" not in status.inner_text(), status.inner_text()
    screenshot(explorer, f"{prefix}-lr-explorer-3-diverged-lr-"
               + ui.slider_value(page, ".mnistlib-lr-slider"))


def check_descent_explorer(page, screenshot, prefix):
    """Notebook 06's toy bowl: a large lr, fewer steps and the 1-D bowl each redraw the path."""
    explorer = page.locator(".mnistlib-descent")
    status = page.locator(".mnistlib-descent-status")
    ui.wait_widgets_rendered(page, ".mnistlib-descent")
    screenshot(explorer, f"{prefix}-descent-1-initial")
    plot = ui.img_src(page, ".mnistlib-descent-plot")

    ui.drag_slider(page, ".mnistlib-descent-lr", 1.0)          # lr = 3: past the edge of both bowls
    ui.wait_img_changed(page, ".mnistlib-descent-plot", plot)
    page.wait_for_function("() => document.querySelector('.mnistlib-descent-status')"
                           ".innerText.includes('further each time')")
    screenshot(explorer, f"{prefix}-descent-2-diverging")

    plot = ui.img_src(page, ".mnistlib-descent-plot")
    ui.drag_slider(page, ".mnistlib-descent-steps", 0.1)       # about 5 steps
    ui.wait_img_changed(page, ".mnistlib-descent-plot", plot)
    page.wait_for_function("() => /After [0-9] steps?/.test("
                           "document.querySelector('.mnistlib-descent-status').innerText)")

    plot = ui.img_src(page, ".mnistlib-descent-plot")
    page.locator(".mnistlib-descent-bowl button", has_text="1-D").first.click()
    ui.wait_img_changed(page, ".mnistlib-descent-plot", plot)
    page.wait_for_function("() => document.querySelector('.mnistlib-descent-status')"
                           ".innerText.includes('on the 1-D bowl')")
    assert "Error" not in status.inner_text(), status.inner_text()
    screenshot(explorer, f"{prefix}-descent-3-one-dimension")


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
                           ".innerText.includes('image 7:')")
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
                           ".innerText.includes('image 7:')")
    assert "Traceback" not in explorer.inner_text()
    screenshot(explorer, f"{prefix}-prediction-explorer-4-index-past-the-end")


def _canvas(page):
    """The <canvas> of the (first) drawing widget (the class may sit on it or on a wrapper)."""
    inner = page.locator(".mnistlib-draw-canvas").first.locator("canvas")
    return inner.last if inner.count() else page.locator("canvas.mnistlib-draw-canvas").first


# How many pixels of the drawing canvas are dark ink, as the learner sees it.
INK_ON_CANVAS = """() => {
  const c = document.querySelector('.mnistlib-draw-canvas canvas') ||
            document.querySelector('canvas.mnistlib-draw-canvas');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let dark = 0;
  for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && d[i] < 128) dark++;
  return dark;
}"""


def mouse_stroke(page, points):
    """One stroke with the mouse: press at the first point, move through the others, release."""
    page.mouse.move(*points[0])
    page.mouse.down()
    for p in points[1:]:
        page.mouse.move(*p, steps=4)
    page.mouse.up()


def draw_digit_strokes(page, digit, size=280, stroke=mouse_stroke):
    """Draw ``digit``: the polylines of mnistlib.draw.digit_strokes, scaled from a
    size x size canvas to the canvas on screen, each drawn by stroke(page, points)."""
    canvas = _canvas(page)
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    sx, sy = box["width"] / size, box["height"] / size
    for points in digit_strokes(digit):
        stroke(page, [(box["x"] + x * sx, box["y"] + y * sy) for x, y in points])


def check_draw(page, screenshot, prefix, digits=(7, 0), stroke=mouse_stroke, press=None):
    """Draw a digit in the first drawing widget: the bars and the answer update; Clear, draw
    another: they change again.

    stroke(page, points) draws one stroke (the mouse unless told otherwise); press(locator)
    presses a button (a click unless told otherwise). Returns the digits the network gave.
    """
    press = press or (lambda locator: locator.click())
    # the first drawing widget on the page (notebook 10 has a second one, with a model menu)
    widget = page.locator(".mnistlib-draw").first
    answer = page.locator(".mnistlib-draw-answer").first
    status = page.locator(".mnistlib-draw-status").first
    ui.wait_widgets_rendered(page, ".mnistlib-draw")
    page.wait_for_function("() => document.querySelector('.mnistlib-draw-status').innerText.length > 0")
    screenshot(widget, f"{prefix}-draw-1-empty")
    shown = []
    for n, digit in enumerate(digits):
        if n:
            probs = ui.img_src(page, ".mnistlib-draw-probs")
            press(page.locator("button.mnistlib-draw-clear, .mnistlib-draw-clear button").first)
            ui.wait_img_changed(page, ".mnistlib-draw-probs", probs)
            page.wait_for_function("() => !/\\d/.test(document.querySelector('.mnistlib-draw-answer').innerText)")
            page.wait_for_function(f"() => ({INK_ON_CANVAS})() === 0")
        assert page.evaluate(INK_ON_CANVAS) == 0, "the canvas is not blank"
        probs = ui.img_src(page, ".mnistlib-draw-probs")
        draw_digit_strokes(page, digit, stroke=stroke)
        # the stroke shows on the canvas, and the network's answer follows
        page.wait_for_function(f"() => ({INK_ON_CANVAS})() > 500")
        ui.wait_img_changed(page, ".mnistlib-draw-probs", probs)
        page.wait_for_function("() => /\\d/.test(document.querySelector('.mnistlib-draw-answer').innerText)")
        # every stroke has reached the kernel: the status counts them all
        page.wait_for_function(
            "n => document.querySelector('.mnistlib-draw-status').innerText.startsWith(n + ' stroke')",
            arg=len(digit_strokes(digit)))
        text = answer.inner_text()
        assert "Error" not in status.inner_text(), status.inner_text()
        predicted = next(c for c in text if c.isdigit())
        shown.append(predicted)
        screenshot(widget, f"{prefix}-draw-{n + 2}-drew-{digit}-answer-{predicted}")
    assert "Traceback" not in widget.inner_text()
    return shown
