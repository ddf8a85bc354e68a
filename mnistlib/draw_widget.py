"""Draw a digit, watch the network answer: the widget of notebook 09 and the live demo.

``draw_update`` is the pure function (canvas pixels in, everything to show out);
``draw_digit`` wires an ipycanvas canvas, a Clear button and a few controls to it,
and optionally a model chooser (softmax regression, MLP, CNN: see
``chooser_widget``). The conventions every widget follows are in ``mnistlib.widgets``.
"""

import html
import math
import numbers
import threading
import time

import ipywidgets as W_
import numpy as np

from .plots import Blit
from .widgets import _guarded, _show_message, _status


def draw_update(canvas_pixels, W=None, b=None, *, model=None, compare=None, threshold=0.5, figs=None):
    """What the draw-a-digit widget shows for one drawing (plain values, no widgets).

    canvas_pixels: (H, W) ink in [0, 1] (or RGBA, see ``draw.as_ink``). The model:
    W: (784, 10) and b: (10,), softmax regression; or model=, any trained model
    (a ``zoo.Trained``: softmax regression, the MLP or the CNN). compare: the
    class to contrast with the prediction ("why 3 and not 8?"), or None for the
    runner-up. threshold: below this confidence the answer is "I'm not sure".
    figs: the ``figs`` of a previous call, redrawn in place.

    The pixel contributions are x_i W_ij. For the MLP and the CNN, W is the
    gradient dl/dx at this drawing (``zoo.local_linear``): the linear model the
    network equals near it, exact here, a first-order picture elsewhere.

    Returns a dict: x28 ((784,) float32, or None for an empty canvas), probs (10,),
    predicted, confidence, compare, sure, message, preview_png, probs_png,
    contrib_png, exact (True when the contributions are the model's own weights,
    as for softmax regression), figs.
    """
    from . import draw
    from .model import logits, softmax

    if model is None:
        W, b = _check_model(W, b)
    elif W is not None or b is not None:
        raise ValueError("give W and b (softmax regression) or model=, not both")
    if not (isinstance(threshold, numbers.Real) and 0 <= threshold <= 1):
        raise ValueError(f"threshold must be a confidence between 0 and 1; got {threshold!r}")
    if compare is not None and compare not in range(10):
        raise ValueError(f"compare must be a class from 0 to 9, or None for the runner-up; got {compare!r}")
    figs = dict(figs or {})
    exact = model is None or model.linear
    if not draw.has_ink(canvas_pixels):
        shown = np.zeros(784, dtype=np.float32)
        result = dict(x28=None, probs=None, predicted=None, confidence=None, compare=None,
                      sure=False, message="Draw a digit")
        bars = (np.zeros(10), "draw a digit")
        contrib_png = draw.contributions_png(shown, np.zeros((784, 10)), 0, 1)
    else:
        x28 = draw.preprocess(canvas_pixels)
        if model is not None:
            W, b = model.local_linear(x28)     # l = x28 W + b exactly, for this drawing
        probs = softmax(logits(x28, W, b))
        order = np.argsort(probs)[::-1]
        predicted, confidence = int(order[0]), float(probs[order[0]])
        # Contrasting a class with itself shows nothing: fall back to the runner-up.
        other = int(order[1]) if compare is None or compare == predicted else int(compare)
        sure = confidence >= threshold
        message = (f"{predicted} ({confidence:.0%})" if sure
                   else f"I'm not sure (best guess {predicted}, {confidence:.0%})")
        result = dict(x28=x28, probs=probs, predicted=predicted, confidence=confidence,
                      compare=other, sure=sure, message=message)
        shown = x28
        bars = (probs, None)
        contrib_png = draw.contributions_png(x28, W, predicted, other)
    if "bars" not in figs:
        figs["bars"] = _fast_bars()
    result.update(preview_png=draw.preview_png(shown), probs_png=_bars_png(figs["bars"], *bars),
                  contrib_png=contrib_png, exact=exact, figs=figs)
    return result


def _check_model(W, b):
    """W (784, 10), b (10,), finite: else a ValueError that says what to do."""
    from .model import _check_params
    W, b = _check_params(W, b)
    if W.shape != (784, 10):
        raise ValueError(f"W must have shape (784, 10): one row per pixel of a 28x28 digit, one "
                         f"column per class; got shape {W.shape}")
    if not (np.isfinite(W).all() and np.isfinite(b).all()):
        raise ValueError("W and b must be finite numbers, but they hold NaN or inf: did training "
                         "diverge? Train again with a smaller learning rate")
    return W, b


def _point(x, y):
    """A stroke point from the browser as floats; a ValueError if it is not a finite position."""
    try:
        x, y = float(x), float(y)
    except (TypeError, ValueError):
        x = y = math.nan
    if not (math.isfinite(x) and math.isfinite(y)):
        raise ValueError(f"the canvas sent a stroke point that is not a position: ({x}, {y}); "
                         "it was skipped: go on drawing, or press Clear")
    return x, y


def _fast_bars():
    """plots.probability_bars redrawn by blitting: ~5 ms per update instead of ~60 ms."""
    from .plots import probability_bars
    fig = probability_bars(np.zeros(10), title=" ")
    ax = fig.axes[0]
    # the spines are redrawn too, so that the bars never cover the axis line
    return Blit(fig, [*ax.patches, *ax.spines.values(), ax.title])


def _bars_png(blit, p, title=None):
    from .plots import probability_bars
    probability_bars(p, fig=blit.fig, title=title)
    return blit.png()


def _answer_html(result):
    """The answer in large type; its text starts with the predicted digit when sure."""
    text = html.escape(result["message"])
    if result["sure"]:
        return f'<span style="font-size:3em;font-weight:bold;line-height:1">{result["predicted"]}</span> ({result["confidence"]:.0%})'
    return f'<span style="font-size:1.3em">{text}</span>'


def draw_digit(W=None, b=None, *, model=None, models=None, data=None, cache_dir=None, size=280, brush=18,
               threshold=0.5):
    """Draw a digit with the mouse or a finger; see what the network sees and answers.

    Which network answers:
    - ``draw_digit(W, b)``: softmax regression with W: (784, 10), b: (10,);
    - ``draw_digit(model=m)``: any trained model (``zoo.trained``); ``box.set_model``
      swaps it for another (the live demo's model bar does);
    - ``draw_digit(W, b, models=["softmax", "mlp", "cnn"], data=data)``: a
      dropdown (``chooser_widget.model_chooser``) to pick one. W and b are the
      softmax choice; a name stands for the model ``zoo.trained(name, data)``
      gives: loaded from the cache, or trained in the background when picked,
      while the drawing goes on being answered by the model in use.

    When a stroke ends (mouse up, mouse leaving the canvas, or touch end) the
    drawing goes through ``draw.preprocess`` and ``draw_update``: the 28x28
    input, the probabilities, the answer (or "I'm not sure" below the threshold)
    and the pixel contributions for the predicted class against the runner-up or
    a chosen class (for the MLP and the CNN: x * dl/dx, with a line saying what
    that means).

    The stroke points are collected in Python and rasterised with numpy
    (``draw.render_strokes``), so nothing depends on reading pixels back from the
    browser: the same code runs in JupyterLab, Notebook 7, Voila and the tests.
    """
    try:
        from ipycanvas import Canvas, hold_canvas
    except ImportError as e:  # pragma: no cover - ipycanvas is a dependency
        raise ImportError("draw_digit needs ipycanvas: pip install ipycanvas") from e
    from . import draw, zoo
    from .train import Softmax

    chooser = None
    if models is not None:
        if model is not None:
            raise ValueError("give model= (one model) or models= (a choice), not both")
        choices = list(models)
        if W is not None or b is not None:
            W, b = _check_model(W, b)
            mine = zoo.given("softmax", {"W": W, "b": b},
                             None if data is None else zoo.validation_accuracy(Softmax, {"W": W, "b": b}, data))
            names = [c.name if isinstance(c, zoo.Trained) else c for c in choices]
            if "softmax" in names:
                choices[names.index("softmax")] = mine
            else:
                choices.insert(0, mine)
        from .chooser_widget import model_chooser
        chooser = model_chooser(choices, data, cache_dir=cache_dir, css="mnistlib-draw-model")
        model = chooser.current()
    elif model is None:
        W, b = _check_model(W, b)  # now, not at the first stroke
    elif W is not None or b is not None:
        raise ValueError("give W and b (softmax regression) or model=, not both")
    explain = chooser is not None or (model is not None and not model.linear)

    status = _status("mnistlib-draw-status")
    canvas = Canvas(width=size, height=size)
    canvas.layout.width = canvas.layout.height = f"{size}px"
    canvas.layout.border = "1px solid #888"
    canvas.add_class("mnistlib-draw-canvas")
    clear = W_.Button(description="Clear", icon="eraser")
    clear.add_class("mnistlib-draw-clear")
    brush_slider = W_.IntSlider(value=brush, min=4, max=40, description="brush", continuous_update=False)
    brush_slider.add_class("mnistlib-draw-brush")
    thr = W_.FloatSlider(value=threshold, min=0.0, max=1.0, step=0.05, description="sure above",
                         readout_format=".0%", continuous_update=False)
    thr.add_class("mnistlib-draw-threshold")
    # -1 stands for "the runner-up": a Dropdown shows the value None as no selection at all
    compare = W_.Dropdown(options=[("runner-up", -1)] + [(str(k), k) for k in range(10)],
                          value=-1, description="why not")
    compare.add_class("mnistlib-draw-compare")
    answer = W_.HTML(value="Draw a digit")
    answer.add_class("mnistlib-draw-answer")
    note = W_.HTML(value=f"<small>{html.escape(zoo.contributions_note(model))}</small>" if explain else "")
    note.add_class("mnistlib-draw-contrib-note")

    state = {"ink": np.zeros((size, size), dtype=np.float32), "strokes": [], "current": None,
             "width": brush, "figs": None, "model": model}
    # The answering model can change from a background thread (a model trained
    # there): a drawing is redrawn by one thread at a time.
    lock = threading.RLock()

    def update(**kwargs):
        m = state["model"]
        return (draw_update(state["ink"], model=m, **kwargs) if m is not None
                else draw_update(state["ink"], W, b, **kwargs))

    first = update()
    state["figs"] = first["figs"]
    preview = W_.Image(value=first["preview_png"], format="png", layout=W_.Layout(width="170px"))
    preview.add_class("mnistlib-draw-preview")
    probs = W_.Image(value=first["probs_png"], format="png", layout=W_.Layout(width="340px"))
    probs.add_class("mnistlib-draw-probs")
    contrib = W_.Image(value=first["contrib_png"], format="png", layout=W_.Layout(width="560px"))
    contrib.add_class("mnistlib-draw-contrib")

    def paint(commands):
        """Send drawing commands to the canvas as one message that names the canvas first.

        ipycanvas routes all drawing through one shared manager that names the
        target canvas only when it changes. A page that connects after the
        notebook ran (Voila) misses that name and then draws nowhere, so it is
        named again for every batch.
        """
        manager = getattr(canvas, "_canvas_manager", None)
        if getattr(manager, "_current_canvas", None) is canvas:
            manager._current_canvas = None
        with hold_canvas():
            commands()

    def pen(width):
        canvas.stroke_style = canvas.fill_style = "black"
        canvas.line_cap = canvas.line_join = "round"
        canvas.line_width = width

    def repaint():
        """White background, then every stroke so far (also when the page (re)connects)."""
        def commands():
            canvas.clear()
            canvas.fill_style = "white"
            canvas.fill_rect(0, 0, size, size)
            for points, width in state["strokes"]:
                pen(width)
                if len(points) > 1:
                    canvas.stroke_lines(points)
                else:
                    canvas.fill_circle(*points[0], width / 2)
        paint(commands)

    def refresh():
        with lock:
            t = time.perf_counter()
            r = update(compare=None if compare.value < 0 else compare.value, threshold=thr.value,
                       figs=state["figs"])
            state["figs"] = r["figs"]
            preview.value, probs.value, contrib.value = r["preview_png"], r["probs_png"], r["contrib_png"]
            answer.value = _answer_html(r) if r["x28"] is not None else "Draw a digit"
            n = len(state["strokes"])
            by = f" by {state['model'].title}" if explain else ""
            if n:
                _show_message(status, f"{n} stroke{'s' if n > 1 else ''}, answered{by} in "
                              f"{1000 * (time.perf_counter() - t):.0f} ms", "ok")
            else:
                _show_message(status, "Draw a digit with the mouse or a finger.")

    def set_model(new):
        """Answer with ``new`` (a zoo.Trained) from now on, and answer the drawing on the canvas again."""
        nonlocal explain
        with lock:
            state["model"], explain = new, True
            note.value = f"<small>{html.escape(zoo.contributions_note(new))}</small>"
            refresh()

    def start(x, y):
        (x, y), width = _point(x, y), brush_slider.value
        state["current"], state["width"] = [(x, y)], width

        def commands():
            pen(width)
            canvas.fill_circle(x, y, width / 2)
        paint(commands)

    def extend(x, y):
        points = state["current"]
        if points is None:          # the mouse moves over the canvas without drawing
            return
        x, y = _point(x, y)
        points.append((x, y))
        paint(lambda: canvas.stroke_line(*points[-2], x, y))

    def finish():
        points = state["current"]
        if points is None:
            return
        state["current"] = None
        with lock:
            state["strokes"].append((points, state["width"]))
            draw.render_strokes([points], brush=state["width"], ink=state["ink"])
        refresh()

    guard = _guarded(status)
    canvas.on_mouse_down(guard(start))
    canvas.on_mouse_move(guard(extend))
    canvas.on_mouse_up(guard(lambda x, y: finish()))
    canvas.on_mouse_out(guard(lambda x, y: finish()))
    canvas.on_touch_start(guard(lambda touches: touches and start(*touches[0])))
    canvas.on_touch_move(guard(lambda touches: touches and extend(*touches[0])))
    canvas.on_touch_end(guard(lambda touches: finish()))
    canvas.on_touch_cancel(guard(lambda touches: finish()))
    canvas.on_client_ready(guard(repaint))

    @guard
    def on_clear(_):
        with lock:
            state["ink"][:] = 0
            state["strokes"].clear()
            state["current"] = None
        repaint()
        refresh()

    clear.on_click(on_clear)
    thr.observe(guard(lambda change: refresh()), names="value")
    compare.observe(guard(lambda change: refresh()), names="value")

    repaint()
    _show_message(status, "Draw a digit with the mouse or a finger.")
    if chooser is not None:
        chooser.on_change(guard(set_model))
    box = W_.VBox(([chooser] if chooser is not None else []) + [
        W_.HBox([W_.VBox([canvas, W_.HBox([clear, brush_slider])]),
                 W_.VBox([W_.HTML("<b>what the network sees</b> (28x28)"), preview, answer],
                         layout=W_.Layout(align_items="center")),
                 probs]),
        W_.HBox([contrib, W_.VBox([thr, compare])]),
        note,
        status,
    ])
    box.add_class("mnistlib-draw")
    box.canvas, box.answer, box.status, box.state = canvas, answer, status, state
    box.preview, box.probs, box.contrib, box.note = preview, probs, contrib, note
    box.chooser, box.lock = chooser, lock
    box.set_model = guard(set_model)
    box.model = lambda: state["model"]
    return box
