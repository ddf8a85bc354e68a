"""Tests for the draw-a-digit path: preprocessing, stroke rendering, the update
function and the widget (no browser: mouse events are fed to the canvas widget
the way the browser sends them).

The model is trained on the full MNIST when MNIST_DATA_DIR is set, otherwise on
the bundled subset; the bounds below hold for both.
"""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from mnistlib import draw
from mnistlib.data import load_mnist
from mnistlib.model import predict, softmax, logits
from mnistlib.train import train
from mnistlib.widgets import drawing

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def data():
    return load_mnist(download=False, verbose=False)


@pytest.fixture(scope="module")
def model(data):
    """(W, b) trained with the settings of the notebooks (~1 s on the full data)."""
    r = train(data.x_train, data.y_train, method="minibatch", lr=1.0, epochs=4,
              batch_size=50, schedule="linear", evaluate=False)
    return r.W, r.b


def nonzero_box(img, level=0.0):
    rows = np.flatnonzero((img > level).any(axis=1))
    cols = np.flatnonzero((img > level).any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def rect_canvas(top, left, h, w, size=280):
    c = np.zeros((size, size), dtype=np.float32)
    c[top:top + h, left:left + w] = 1
    return c


# --- preprocessing --------------------------------------------------------------

def test_preprocess_gives_an_mnist_like_input():
    x = draw.preprocess(draw.render_strokes(draw.digit_strokes(2)))
    assert x.shape == (784,) and x.dtype == np.float32
    assert x.min() >= 0 and x.max() == pytest.approx(1.0)
    img = x.reshape(28, 28)
    h, w = nonzero_box(img)
    assert max(h, w) == 20 and min(h, w) <= 20
    cy, cx = draw.center_of_mass(img)
    assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5


@settings(max_examples=40, deadline=None)
@given(top=st.integers(0, 200), left=st.integers(0, 200), h=st.integers(3, 80), w=st.integers(3, 80))
def test_any_rectangle_fits_the_20x20_box_keeps_its_aspect_and_is_centred(top, left, h, w):
    img = draw.preprocess(rect_canvas(top, left, h, w)).reshape(28, 28)
    bh, bw = nonzero_box(img)
    assert max(bh, bw) == 20
    # the shorter side is scaled by the same factor (up to rounding)
    assert abs(min(bh, bw) - 20 * min(h, w) / max(h, w)) <= 1
    assert (bh >= bw) == (h >= w) or abs(h - w) <= 1
    cy, cx = draw.center_of_mass(img)
    assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5


def test_position_and_size_on_the_canvas_do_not_matter():
    strokes = draw.digit_strokes(4)
    small = [0.5 * s + 20 for s in strokes]      # half the size, near the top-left corner
    a = draw.preprocess(draw.render_strokes(strokes, brush=18))
    b = draw.preprocess(draw.render_strokes(small, brush=9))
    assert np.corrcoef(a, b)[0, 1] > 0.9


def test_preprocess_is_idempotent_on_mnist_digits(data):
    # MNIST digits already went through these steps, so they come out (almost) unchanged
    x = data.x_test[:50]
    again = np.stack([draw.preprocess(v.reshape(28, 28)) for v in x])
    corr = [np.corrcoef(a, b)[0, 1] for a, b in zip(x, again)]
    assert np.median(corr) > 0.99


def test_rgba_and_uint8_canvases_give_the_same_input():
    ink = draw.render_strokes(draw.digit_strokes(5))
    rgba = np.zeros(ink.shape + (4,), dtype=np.uint8)     # black ink on a transparent canvas
    rgba[..., 3] = np.round(ink * 255)
    white = np.full(ink.shape + (4,), 255, dtype=np.uint8)  # black ink on an opaque white canvas
    white[..., :3] = np.round(255 * (1 - ink))[..., None]
    x = draw.preprocess(ink)
    for other in (rgba, white, np.round(ink * 255).astype(np.uint8)):
        assert np.abs(draw.preprocess(other) - x).max() < 0.02


def test_empty_canvas_is_a_clear_error():
    empty = np.zeros((280, 280))
    assert not draw.has_ink(empty)
    with pytest.raises(ValueError, match="empty: draw a digit"):
        draw.preprocess(empty)


@pytest.mark.parametrize("bad, words", [
    (np.zeros(784), "shape \\(784,\\).*reshape"),
    (np.zeros((2, 3, 5)), "shape \\(2, 3, 5\\)"),
    (np.zeros((28, 28, 4)), "uint8"),               # RGBA must be bytes
    (np.zeros((28, 28), dtype=np.int64), "dtype int64"),
    (np.full((28, 28), np.nan), "finite"),
])
def test_invalid_canvases_raise_value_errors_that_say_what_was_expected(bad, words):
    with pytest.raises(ValueError, match=words):
        draw.preprocess(bad)


def test_resize_area_averages_exactly():
    a = np.random.default_rng(0).random((200, 150)).astype(np.float32)
    expected = a.reshape(20, 10, 15, 10).mean(axis=(1, 3))
    assert np.abs(draw.resize_area(a, (20, 15)) - expected).max() < 1e-5
    assert draw.resize_area(a, (13, 7)).mean() == pytest.approx(a.mean(), rel=1e-5)  # ink is conserved


def test_center_by_mass_puts_the_centre_of_mass_at_14_14():
    patch = np.full((20, 8), 0.3, dtype=np.float32)
    patch[:10, :] = 1                                   # top-heavy: centre of mass at row 6.8
    frame = draw.center_by_mass(patch)
    assert frame.shape == (28, 28) and frame.sum() == pytest.approx(patch.sum())
    cy, cx = draw.center_of_mass(frame)
    assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5
    # so lopsided that the shift would push it out of the frame: it stays inside
    patch[:] = 0
    patch[:3] = 1
    assert draw.center_by_mass(patch).sum() == pytest.approx(patch.sum())


# --- drawing ----------------------------------------------------------------------

def test_render_strokes_draws_a_round_brush():
    ink = draw.render_strokes([[(100, 100), (200, 100)]], brush=20)
    assert ink[100, 150] == 1 and ink[100, 50] == 0
    h, w = nonzero_box(ink, 0.5)
    assert h == pytest.approx(20, abs=1) and w == pytest.approx(120, abs=1)
    dot = draw.render_strokes([[(50, 50)]], brush=10)
    assert nonzero_box(dot, 0.5) == pytest.approx((10, 10), abs=1)


def test_strokes_from_image_places_the_digit_as_asked(data):
    canvas = draw.strokes_from_image(data.x_test[0], scale=5, offset=(10, 100))
    assert canvas.shape == (280, 280) and set(np.unique(canvas)) <= {0.0, 1.0}
    assert canvas[:10].sum() == 0 and canvas[:, :100].sum() == 0 and canvas[150:].sum() == 0
    with pytest.raises(ValueError, match="does not fit"):
        draw.strokes_from_image(data.x_test[0], scale=11)


def test_redrawn_test_digits_keep_their_look_and_their_prediction(data, model):
    W, b = model
    rng = np.random.default_rng(0)
    x, y = data.x_test[:300], data.y_test[:300]
    redrawn = np.stack([draw.preprocess(draw.strokes_from_image(v, rng=rng)) for v in x])
    corr = np.array([np.corrcoef(a, c)[0, 1] for a, c in zip(x, redrawn)])
    assert np.median(corr) > 0.9          # measured: 0.98 (full data and subset alike)
    same = np.mean(predict(redrawn, W, b) == predict(x, W, b))
    assert same > 0.9                     # measured: 0.97 on 1000 digits
    assert np.mean(predict(redrawn, W, b) == y) > np.mean(predict(x, W, b) == y) - 0.05


def test_simple_hand_drawn_digits_are_recognised(model):
    W, b = model
    recognised = {}
    for k in range(10):
        p = softmax(logits(draw.preprocess(draw.render_strokes(draw.digit_strokes(k))), W, b))
        recognised[k] = int(np.argmax(p))
    print("hand-drawn digit -> prediction:", recognised)
    # A straight line, an oval and a 7 are robust; the other shapes depend on the model.
    for k in (0, 1, 7):
        assert recognised[k] == k


# --- the update function -----------------------------------------------------------

def test_draw_update_answers_with_the_prediction_and_its_pictures(model):
    W, b = model
    r = drawing.draw_update(draw.render_strokes(draw.digit_strokes(1)), W, b, threshold=0.0)
    assert r["predicted"] == 1 and r["sure"]
    assert r["message"] == f"1 ({r['confidence']:.0%})"
    assert r["x28"].shape == (784,) and r["probs"].sum() == pytest.approx(1.0)
    assert r["compare"] == int(np.argsort(r["probs"])[-2])          # the runner-up by default
    for key in ("preview_png", "probs_png", "contrib_png"):
        assert r[key].startswith(PNG)


def test_draw_update_is_not_sure_below_the_threshold(model):
    W, b = model
    r = drawing.draw_update(draw.render_strokes(draw.digit_strokes(0)), W, b, threshold=1.0)
    assert not r["sure"]
    assert r["message"] == f"I'm not sure (best guess {r['predicted']}, {r['confidence']:.0%})"


def test_draw_update_compares_with_the_chosen_class(model):
    W, b = model
    ink = draw.render_strokes(draw.digit_strokes(7))
    r = drawing.draw_update(ink, W, b, compare=3)
    assert r["compare"] == 3
    r2 = drawing.draw_update(ink, W, b, compare=r["predicted"])     # itself: fall back to the runner-up
    assert r2["compare"] != r["predicted"]
    assert r["contrib_png"] != r2["contrib_png"] or r2["compare"] == 3


def test_draw_update_on_an_empty_canvas_asks_for_a_digit(model):
    r = drawing.draw_update(np.zeros((280, 280)), *model)
    assert r["x28"] is None and r["predicted"] is None and r["message"] == "Draw a digit"
    assert r["preview_png"].startswith(PNG) and r["probs_png"].startswith(PNG)


@pytest.mark.parametrize("kwargs, words", [
    ({"threshold": 1.5}, "threshold"), ({"threshold": "high"}, "threshold"),
    ({"compare": 10}, "compare"),
])
def test_draw_update_rejects_bad_options(model, kwargs, words):
    with pytest.raises(ValueError, match=words):
        drawing.draw_update(draw.render_strokes(draw.digit_strokes(1)), *model, **kwargs)


# --- the widget -----------------------------------------------------------------------

def find(box, cls):
    """The widget inside ``box`` carrying the CSS class ``cls``."""
    stack = [box]
    while stack:
        w = stack.pop()
        if cls in getattr(w, "_dom_classes", ()):
            return w
        stack.extend(getattr(w, "children", ()))
    raise LookupError(cls)


def mouse_stroke(canvas, points):
    """Send a stroke as the browser does: mouse down, moves, mouse up."""
    send = lambda event, x, y: canvas._handle_frontend_event(None, {"event": event, "x": x, "y": y}, [])
    send("mouse_down", *points[0])
    for p in points[1:]:
        send("mouse_move", *p)
    send("mouse_up", *points[-1])


def test_widget_has_every_part_the_browser_tests_look_for(model):
    box = drawing.draw_digit(*model)
    assert "mnistlib-draw" in box._dom_classes
    for part in ("canvas", "clear", "brush", "preview", "probs", "contrib", "answer", "threshold", "status"):
        find(box, f"mnistlib-draw-{part}")
    assert "Draw a digit" in find(box, "mnistlib-draw-answer").value


def test_a_stroke_updates_the_answer_and_the_pictures(model):
    box = drawing.draw_digit(*model, threshold=0.0)
    canvas, answer = find(box, "mnistlib-draw-canvas"), find(box, "mnistlib-draw-answer")
    images = {part: find(box, f"mnistlib-draw-{part}") for part in ("preview", "probs", "contrib")}
    before = {k: w.value for k, w in images.items()}
    mouse_stroke(canvas, [tuple(p) for p in draw.digit_strokes(7)[0].tolist()])
    assert ">7<" in answer.value and "%" in answer.value
    assert all(images[k].value != before[k] for k in images)
    assert "1 stroke" in find(box, "mnistlib-draw-status").value
    # the drawing the widget rasterised is the one the stroke described
    assert np.abs(box.state["ink"] - draw.render_strokes(draw.digit_strokes(7))).max() < 1e-6

    contrib = images["contrib"].value
    find(box, "mnistlib-draw-compare").value = 3      # "why a 7 and not a 3?"
    assert images["contrib"].value != contrib
    find(box, "mnistlib-draw-compare").value = -1     # back to the runner-up
    assert images["contrib"].value == contrib

    find(box, "mnistlib-draw-threshold").value = 1.0
    assert "not sure (best guess 7" in answer.value

    find(box, "mnistlib-draw-clear").click()
    assert "Draw a digit" in answer.value and box.state["ink"].max() == 0 and not box.state["strokes"]


def test_touch_strokes_and_moves_without_a_press_are_handled(model):
    box = drawing.draw_digit(*model, threshold=0.0)
    canvas, answer = find(box, "mnistlib-draw-canvas"), find(box, "mnistlib-draw-answer")
    touch = lambda event, pts: canvas._handle_frontend_event(
        None, {"event": event, "touches": [{"x": x, "y": y} for x, y in pts]}, [])
    canvas._handle_frontend_event(None, {"event": "mouse_move", "x": 10, "y": 10}, [])  # hovering: no ink
    assert box.state["ink"].max() == 0
    touch("touch_start", [(145, 45)])
    touch("touch_move", [(142, 140)])
    touch("touch_move", [(140, 240)])
    touch("touch_end", [])
    assert ">1<" in answer.value


def test_errors_show_in_the_status_line_not_as_tracebacks(model, monkeypatch):
    box = drawing.draw_digit(*model)
    def broken(*args, **kwargs):
        raise RuntimeError("something broke")
    monkeypatch.setattr(draw, "preprocess", broken)
    mouse_stroke(find(box, "mnistlib-draw-canvas"), [(100, 100), (100, 200)])
    assert "RuntimeError: something broke" in find(box, "mnistlib-draw-status").value


def test_every_drawing_batch_names_its_canvas_so_late_pages_draw_too(model, monkeypatch):
    # Voila runs the notebook before the page connects; a page that missed ipycanvas's
    # "switch to this canvas" message would draw nowhere unless each batch repeats it.
    from ipycanvas.canvas import COMMANDS

    box = drawing.draw_digit(*model)
    canvas = find(box, "mnistlib-draw-canvas")
    sent = []
    monkeypatch.setattr(canvas._canvas_manager, "_send_custom",
                        lambda command, buffers=[]: sent.append(command))
    mouse_stroke(canvas, [(100, 60), (110, 150), (120, 240)])
    assert len(sent) == 3                                   # down, move, move
    for batch in sent:
        assert batch[0][0] == COMMANDS["switchCanvas"]


# --- a wrong model or a bad point says so, at once --------------------------------------

def test_draw_digit_checks_the_model_when_it_is_built(model):
    W, b = model
    with pytest.raises(ValueError, match=r"Is W transposed\? Try W.T"):
        drawing.draw_digit(W.T, b)
    with pytest.raises(ValueError, match=r"W must have shape \(784, 10\).*got shape \(100, 10\)"):
        drawing.draw_digit(W[:100], b)
    broken = W.copy()
    broken[300, 4] = np.nan
    with pytest.raises(ValueError, match="hold NaN or inf: did training diverge\\? Train again "
                                         "with a smaller learning rate"):
        drawing.draw_digit(broken, b)


def test_a_model_with_nan_never_shows_nan_percent(model):
    W, b = model
    with pytest.raises(ValueError, match="NaN or inf"):
        drawing.draw_update(draw.render_strokes(draw.digit_strokes(7)), W, b * np.nan)


@pytest.mark.parametrize("bad", [(float("nan"), 100.0), (100.0, float("inf")), (None, 3)])
def test_a_stroke_point_that_is_not_a_position_is_skipped_with_a_message(model, bad):
    box = drawing.draw_digit(*model, threshold=0.0)
    canvas, status = find(box, "mnistlib-draw-canvas"), find(box, "mnistlib-draw-status")
    def send(event, x, y):
        canvas._handle_frontend_event(None, {"event": event, "x": x, "y": y}, [])

    send("mouse_down", 145, 45)
    send("mouse_move", *bad)
    assert "the canvas sent a stroke point that is not a position" in status.value
    assert "go on drawing, or press Clear" in status.value
    send("mouse_move", 142, 140)
    send("mouse_move", 140, 240)
    send("mouse_up", 140, 240)
    assert ">1<" in find(box, "mnistlib-draw-answer").value
    send("mouse_down", *bad)
    assert "not a position" in status.value and box.state["current"] is None


def test_render_strokes_rejects_points_that_are_not_positions():
    with pytest.raises(ValueError, match=r"stroke points must be finite \(x, y\) positions in "
                                         r"canvas pixels; got \(10.0, nan\)"):
        draw.render_strokes([[(0, 0), (10, float("nan"))]])
