"""Draw a digit, watch the network answer: the widget of notebook 10 and the live demo.

``draw_update`` is the pure function (canvas pixels in, everything to show out);
``draw_digit`` wires an ipycanvas canvas, a Clear button and a few controls to it,
and optionally a model chooser (softmax regression, MLP, CNN: see
``widgets.chooser``). The conventions every widget follows are in ``mnistlib.widgets``.
"""

import html
import math
import numbers
import threading
import time

import ipywidgets
import numpy as np

from .. import draw, validate, zoo
from ..model import logits, softmax
from ..plots import Blit, describe_contributions, describe_probabilities, probability_bars
from .. import softmax_regression
from .access import Access
from .base import guarded, show_message, status_line
from .chooser import model_chooser
from .digit_menu import enlarge, example_digits, menu_options


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
    as for softmax regression), figs, alt ({"preview", "probs", "contrib"}: the
    pictures in words).
    """
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
        alt = {"preview": "What the network sees: nothing yet, an empty 28x28 frame",
               "probs": "No prediction yet: draw a digit",
               "contrib": "Pixel contributions: nothing yet, draw a digit"}
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
        alt = {"preview": "What the network sees: the drawing made 28x28, centred as MNIST digits are",
               "probs": describe_probabilities(probs) + ("" if sure else f" (below {threshold:.0%}: not sure)"),
               "contrib": describe_contributions(x28, W, predicted, other, image="the drawing",
                                                 shows_image=False)}
    if "bars" not in figs:
        figs["bars"] = _fast_bars()
    result.update(preview_png=draw.preview_png(shown), probs_png=_bars_png(figs["bars"], *bars),
                  contrib_png=contrib_png, exact=exact, figs=figs, alt=alt)
    return result


def _check_model(W, b):
    """W (784, 10), b (10,), finite: else a ValueError that says what to do."""
    W, b = validate.softmax_params(W, b)
    if W.shape != (784, 10):
        raise ValueError(f"W must have shape (784, 10): one row per pixel of a 28x28 digit, one "
                         f"column per class; got shape {W.shape}")
    if not (np.isfinite(W).all() and np.isfinite(b).all()):
        raise ValueError("W and b must be finite numbers, but they hold NaN or inf: did training "
                         "diverge? Train again with a smaller learning rate")
    return W, b


def _fast_bars():
    """plots.probability_bars redrawn by blitting: ~5 ms per update instead of ~60 ms."""
    fig = probability_bars(np.zeros(10), title=" ")
    ax = fig.axes[0]
    # the spines are redrawn too, so that the bars never cover the axis line
    return Blit(fig, [*ax.patches, *ax.spines.values(), ax.title])


def _bars_png(blit, p, title=None):
    probability_bars(p, fig=blit.fig, title=title)
    return blit.png()


def draw_digit(W=None, b=None, *, model=None, models=None, data=None, cache_dir=None, size=280, brush=18,
               threshold=0.5, examples=None):
    """Draw a digit with the mouse or a finger; see what the network sees and answers.

    Which network answers:
    - ``draw_digit(W, b)``: softmax regression with W: (784, 10), b: (10,);
    - ``draw_digit(model=m)``: any trained model (``zoo.trained``); ``box.set_model``
      swaps it for another (the live demo's model bar does);
    - ``draw_digit(W, b, models=["softmax", "mlp", "cnn"], data=data)``: a
      dropdown (``widgets.chooser.model_chooser``) to pick one. W and b are the
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

    Without a pointer: the "try a digit" menu puts a real digit on the canvas,
    enlarged, to be answered and drawn on. examples: (X (n, 784), y (n,)) to pick
    them from, e.g. the validation digits; default: the test digits of the bundled
    subset. Two of each class are offered.
    """
    W, b, model, chooser = _answering_model(W, b, model, models, data, cache_dir)
    status = status_line("mnistlib-draw-status")
    guard = guarded(status)
    # The answering model can change from a background thread (a model trained
    # there): a drawing is redrawn by one thread at a time.
    lock = threading.RLock()
    state = {"ink": np.zeros((size, size), dtype=np.float32), "strokes": [], "current": None,
             "width": brush, "figs": None, "model": model}
    pad = _Sketchpad(size, brush, state, lock, examples)
    view = _AnswerView(state, lock, status, W, b, threshold,
                       explain=chooser is not None or (model is not None and not model.linear))
    pad.connect(guard, on_change=view.refresh)
    view.connect(guard)
    show_message(status, "Draw a digit with the mouse or a finger, or pick one to try.")
    if chooser is not None:
        chooser.on_change(guard(view.set_model))

    drawn = ipywidgets.VBox([pad.canvas, ipywidgets.HBox([pad.clear, pad.brush]), pad.pick])
    seen = ipywidgets.VBox([ipywidgets.HTML("<b>what the network sees</b> (28x28)"), view.preview,
                            view.answer], layout=ipywidgets.Layout(align_items="center"))
    box = ipywidgets.VBox(([chooser] if chooser is not None else []) + [
        ipywidgets.HBox([drawn, seen, view.probs]),
        ipywidgets.HBox([view.contrib, ipywidgets.VBox([view.threshold, view.compare])]),
        view.note,
        status,
        view.access,
    ])
    box.add_class("mnistlib-draw")
    box.canvas, box.answer, box.status, box.state = pad.canvas, view.answer, status, state
    box.preview, box.probs, box.contrib, box.note = view.preview, view.probs, view.contrib, view.note
    box.chooser, box.lock, box.pick, box.access = chooser, lock, pad.pick, view.access
    box.set_model = guard(view.set_model)
    box.model = lambda: state["model"]
    return box


def _answering_model(W, b, model, models, data, cache_dir):
    """Which network answers, from draw_digit's arguments: (W, b, model, chooser), checked.

    chooser: a ``model_chooser`` when ``models`` is given (its first choice then
    answers, as ``model``), else None.
    """
    if models is None:
        if model is None:
            return (*_check_model(W, b), None, None)    # now, not at the first stroke
        if W is not None or b is not None:
            raise ValueError("give W and b (softmax regression) or model=, not both")
        return None, None, model, None
    if model is not None:
        raise ValueError("give model= (one model) or models= (a choice), not both")
    choices = list(models)
    if W is not None or b is not None:
        W, b = _check_model(W, b)
        mine = zoo.given("softmax", {"W": W, "b": b},
                         None if data is None else zoo.validation_accuracy(softmax_regression, {"W": W, "b": b}, data))
        names = [c.name if isinstance(c, zoo.Trained) else c for c in choices]
        if "softmax" in names:
            choices[names.index("softmax")] = mine
        else:
            choices.insert(0, mine)
    chooser = model_chooser(choices, data, cache_dir=cache_dir, css="mnistlib-draw-model")
    return W, b, chooser.current(), chooser


class _Sketchpad:
    """The canvas, its Clear button and brush slider; the strokes, painted as they come and kept as ink.

    state: the widget's dict, whose "ink" ((size, size) float32), "strokes" (a list of
    (points, width)), "current" (the points of the stroke being drawn, or None) and
    "width" (its brush) this keeps. lock: held while the ink changes.
    The stroke points are rasterised with numpy (``draw.render_strokes``), never
    read back from the browser.
    """

    def __init__(self, size, brush, state, lock, examples=None):
        try:
            from ipycanvas import Canvas
        except ImportError as e:  # pragma: no cover - ipycanvas is a dependency
            raise ImportError("draw_digit needs ipycanvas: pip install ipycanvas") from e
        self.size, self.state, self.lock, self.on_change = size, state, lock, None
        state["background"], state["loaded"] = None, None   # a digit picked from the menu, drawn on
        self.examples = example_digits(examples)
        self.pick = ipywidgets.Dropdown(options=menu_options(self.examples[1]), value=-1,
                                        description="try a digit", style={"description_width": "initial"})
        self.pick.add_class("mnistlib-draw-pick")
        self.canvas = Canvas(width=size, height=size)
        self.canvas.layout.width = self.canvas.layout.height = f"{size}px"
        self.canvas.layout.border = "1px solid #888"
        self.canvas.add_class("mnistlib-draw-canvas")
        self.clear = ipywidgets.Button(description="Clear", icon="eraser")
        self.clear.add_class("mnistlib-draw-clear")
        self.brush = ipywidgets.IntSlider(value=brush, min=4, max=40, description="brush",
                                          continuous_update=False)
        self.brush.add_class("mnistlib-draw-brush")

    def connect(self, guard, on_change):
        """Handle the mouse, touches and Clear (through ``guard``); ``on_change()`` follows each new ink."""
        self.on_change = on_change
        canvas = self.canvas
        canvas.on_mouse_down(guard(self.start))
        canvas.on_mouse_move(guard(self.extend))
        canvas.on_mouse_up(guard(lambda x, y: self.finish()))
        canvas.on_mouse_out(guard(lambda x, y: self.finish()))
        canvas.on_touch_start(guard(lambda touches: touches and self.start(*touches[0])))
        canvas.on_touch_move(guard(lambda touches: touches and self.extend(*touches[0])))
        canvas.on_touch_end(guard(lambda touches: self.finish()))
        canvas.on_touch_cancel(guard(lambda touches: self.finish()))
        canvas.on_client_ready(guard(self.repaint))
        self.clear.on_click(guard(lambda _: self.wipe()))
        self.pick.observe(guard(lambda change: change["new"] >= 0 and self.load(change["new"])), names="value")
        self.repaint()

    def _paint(self, commands):
        """Send drawing commands to the canvas as one message that names the canvas first.

        ipycanvas routes all drawing through one shared manager that names the
        target canvas only when it changes. A page that connects after the
        notebook ran (Voila) misses that name and then draws nowhere, so it is
        named again for every batch.
        """
        from ipycanvas import hold_canvas
        manager = getattr(self.canvas, "_canvas_manager", None)
        if getattr(manager, "_current_canvas", None) is self.canvas:
            manager._current_canvas = None
        with hold_canvas():
            commands()

    def _pen(self, width):
        canvas = self.canvas
        canvas.stroke_style = canvas.fill_style = "black"
        canvas.line_cap = canvas.line_join = "round"
        canvas.line_width = width

    def repaint(self):
        """White background, then every stroke so far (also when the page (re)connects)."""
        def commands():
            self.canvas.clear()
            self.canvas.fill_style = "white"
            self.canvas.fill_rect(0, 0, self.size, self.size)
            if self.state["background"] is not None:
                grey = (255 * (1 - self.state["background"])).astype(np.uint8)
                self.canvas.put_image_data(np.stack([grey] * 3, axis=-1), 0, 0)
            for points, width in self.state["strokes"]:
                self._pen(width)
                if len(points) > 1:
                    self.canvas.stroke_lines(points)
                else:
                    self.canvas.fill_circle(*points[0], width / 2)
        self._paint(commands)

    def start(self, x, y):
        """A stroke begins at (x, y): a dot of the brush's width."""
        (x, y), width = _point(x, y), self.brush.value
        self.state["current"], self.state["width"] = [(x, y)], width

        def commands():
            self._pen(width)
            self.canvas.fill_circle(x, y, width / 2)
        self._paint(commands)

    def extend(self, x, y):
        """The stroke goes on to (x, y); nothing if no stroke is being drawn."""
        points = self.state["current"]
        if points is None:          # the mouse moves over the canvas without drawing
            return
        x, y = _point(x, y)
        points.append((x, y))
        self._paint(lambda: self.canvas.stroke_line(*points[-2], x, y))

    def finish(self):
        """The stroke ends: it joins the ink, and the network answers again."""
        points = self.state["current"]
        if points is None:
            return
        self.state["current"] = None
        with self.lock:
            self.state["strokes"].append((points, self.state["width"]))
            draw.render_strokes([points], brush=self.state["width"], ink=self.state["ink"])
        self.on_change()

    def wipe(self):
        """Clear: no ink, no strokes, no digit from the menu."""
        with self.lock:
            self.state["ink"][:] = 0
            self.state["strokes"].clear()
            self.state["current"] = None
            self.state["background"] = self.state["loaded"] = None
        self.pick.value = -1
        self.repaint()
        self.on_change()

    def load(self, i):
        """Put example i on the canvas, enlarged to fill it as a drawing would, as ink to draw on."""
        X, y = self.examples
        ink = enlarge(X[i], self.size)
        with self.lock:
            self.state["ink"][:] = ink
            self.state["strokes"].clear()
            self.state["current"] = None
            self.state["background"], self.state["loaded"] = ink.copy(), f"example {i}, a {int(y[i])}"
        self.repaint()
        self.on_change()


class _AnswerView:
    """What the network makes of the drawing (the preview, the answer, the bars, the
    contributions) and the controls that change it (the threshold, the class to compare with).

    state, lock: as for ``_Sketchpad``; state's "model" (a zoo.Trained, or None for
    softmax regression with W and b) answers, and its "figs" are redrawn in place.
    explain: whether to name the model and say what its contributions mean.
    """

    def __init__(self, state, lock, status, W, b, threshold, *, explain):
        self.state, self.lock, self.status, self.W, self.b, self.explain = state, lock, status, W, b, explain
        self.threshold = ipywidgets.FloatSlider(value=threshold, min=0.0, max=1.0, step=0.05,
                                                description="sure above", readout_format=".0%",
                                                continuous_update=False)
        self.threshold.add_class("mnistlib-draw-threshold")
        self.access = Access(names={"mnistlib-draw-brush": "brush: the pen's width in pixels",
                                    "mnistlib-draw-threshold": "sure above: below this confidence the answer "
                                                               "is I'm not sure"},
                             live=["mnistlib-draw-answer"])
        # -1 stands for "the runner-up": a Dropdown shows the value None as no selection at all
        self.compare = ipywidgets.Dropdown(options=[("runner-up", -1)] + [(str(k), k) for k in range(10)],
                                           value=-1, description="why not")
        self.compare.add_class("mnistlib-draw-compare")
        self.answer = ipywidgets.HTML(value="Draw a digit")
        self.answer.add_class("mnistlib-draw-answer")
        self.note = ipywidgets.HTML(value=_note_html(state["model"]) if explain else "")
        self.note.add_class("mnistlib-draw-contrib-note")
        first = self._update()
        state["figs"] = first["figs"]
        self.preview = self._image(first["preview_png"], "170px", "mnistlib-draw-preview")
        self.probs = self._image(first["probs_png"], "340px", "mnistlib-draw-probs")
        self.contrib = self._image(first["contrib_png"], "560px", "mnistlib-draw-contrib")
        self._describe(first)

    @staticmethod
    def _image(png, width, css):
        image = ipywidgets.Image(value=png, format="png", layout=ipywidgets.Layout(width=width))
        image.add_class(css)
        return image

    def connect(self, guard):
        """Answer again (through ``guard``) when the threshold or the class to compare with changes."""
        self.threshold.observe(guard(lambda change: self.refresh()), names="value")
        self.compare.observe(guard(lambda change: self.refresh()), names="value")

    def _update(self, **kwargs):
        model = self.state["model"]
        return (draw_update(self.state["ink"], model=model, **kwargs) if model is not None
                else draw_update(self.state["ink"], self.W, self.b, **kwargs))

    def refresh(self):
        """Answer the drawing on the canvas, and show the answer."""
        with self.lock:
            t = time.perf_counter()
            r = self._update(compare=None if self.compare.value < 0 else self.compare.value,
                             threshold=self.threshold.value, figs=self.state["figs"])
            self.state["figs"] = r["figs"]
            self.preview.value = r["preview_png"]
            self.probs.value = r["probs_png"]
            self.contrib.value = r["contrib_png"]
            self.answer.value = _answer_html(r) if r["x28"] is not None else "Draw a digit"
            self._describe(r)
            n, loaded = len(self.state["strokes"]), self.state["loaded"]
            by = f" by {self.state['model'].title}" if self.explain else ""
            strokes = f"{n} stroke{'s' if n > 1 else ''}" + (f" on {loaded}" if loaded else "")
            if n or loaded:
                show_message(self.status, f"{strokes if n else loaded.capitalize()}, answered{by} in "
                             f"{1000 * (time.perf_counter() - t):.0f} ms", "ok")
            else:
                show_message(self.status, "Draw a digit with the mouse or a finger, or pick one to try.")

    def _describe(self, r):
        """The pictures' alt texts and the canvas's name, for a screen reader."""
        self.access.alt_all({"mnistlib-draw-preview": r["alt"]["preview"], "mnistlib-draw-probs": r["alt"]["probs"],
                             "mnistlib-draw-contrib": r["alt"]["contrib"]})
        n, loaded = len(self.state["strokes"]), self.state["loaded"]
        shows = ("empty" if not (n or loaded) else
                 ", ".join(([loaded] if loaded else []) + ([f"{n} stroke{'s' if n > 1 else ''}"] if n else [])))
        self.access.name("mnistlib-draw-canvas", f"drawing area ({shows}): draw with the mouse or a finger, "
                                                 "or pick a digit from the menu")

    def set_model(self, new):
        """Answer with ``new`` (a zoo.Trained) from now on, and answer the drawing on the canvas again."""
        with self.lock:
            self.state["model"], self.explain = new, True
            self.note.value = _note_html(new)
            self.refresh()


def _note_html(model):
    """What the contributions of ``model`` mean, in small type."""
    return f"<small>{html.escape(zoo.contributions_note(model))}</small>"


# Text for screen readers only: clipped to nothing on screen, still read out.
_SCREEN_READER_ONLY = ('<span style="position:absolute;width:1px;height:1px;overflow:hidden;'
                       'clip-path:inset(50%);white-space:nowrap">')


def _answer_html(result):
    """The answer in large type (its first digit is the predicted one), said in words to a screen reader."""
    if result["sure"]:
        digit = f'<span style="font-size:3em;font-weight:bold;line-height:1">{result["predicted"]}</span>'
        return f'{_SCREEN_READER_ONLY}The network answers </span>{digit} ({result["confidence"]:.0%})'
    return f'<span style="font-size:1.3em">{html.escape(result["message"])}</span>'


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
