"""The prediction explorer of notebook 08: pick an image, see why the model answered as it did.

``prediction_explorer_update`` is the pure function; ``prediction_explorer`` the
widget around it. The conventions every widget follows are in ``mnistlib.widgets``.
"""

import html
import threading

import ipywidgets as W_
import numpy as np

from .plots import Blit
from .widgets import _guarded, _show_message, _status


# Pick a test image; see the probabilities and which pixels pushed the predicted
# class up against another class ("why a 3 and not an 8?").

def prediction_explorer_update(i, x, y, W=None, b=None, compare=None, *, model=None, figs=None, render=True):
    """Everything the explorer shows for test image i, as plain values.

    x: (n, 784) float images, y: (n,) labels, W: (784, 10), b: (10,); or, instead
    of W and b, model: any trained model (a ``zoo.Trained``), whose pictures then
    show the linear model it equals near image i (``zoo.local_linear``).
    compare: the class to explain against; None picks the true class if the
    prediction is wrong, else the runner-up.
    figs: the dict returned last time, to redraw its figures in place (faster);
    it holds the figures "probs" and "contrib" (and their "blit" redrawers).
    render: True for PNGs of both figures, False for none, or a tuple of names.
    Returns dict(index, label, logits, probs, predicted, compare, correct,
    figs={"probs", "contrib"}, png={name: PNG bytes}, message, kind).
    A bad index or class gives a message with kind "error", never an exception.
    """
    from .model import logits, softmax
    from .plots import contributions_figure, probability_bars

    n = len(x)
    out = dict(index=i, label=None, logits=None, probs=None, predicted=None, compare=None,
               correct=None, figs=figs, png=None, kind="error")
    if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= i < n:
        out["message"] = f"image index must be a whole number from 0 to {n - 1}; got {i!r}"
        return out
    if compare is not None and (isinstance(compare, bool) or not isinstance(compare, (int, np.integer))
                                or not 0 <= compare < 10):
        out["message"] = f"the class to compare with must be 0 to 9 (or None for automatic); got {compare!r}"
        return out
    i = int(i)
    label = int(y[i])
    if model is not None:
        W, b = model.local_linear(x[i])     # for softmax regression: its own W and b
    l = logits(x[i], W, b)
    p = softmax(l.astype(np.float64))
    pred = int(np.argmax(p))
    if compare is None:
        compare = label if pred != label else int(np.argsort(p)[-2])
    compare = int(compare)
    # Each figure is drawn in full once; after that a Blit redraws only bars, images and titles.
    figs = dict(figs or {})
    blits = figs.setdefault("blit", {})
    title = f"image {i}: label {label}, predicted {pred} ({p[pred]:.0%})"
    figs["probs"] = probability_bars(p, true=label, fig=figs.get("probs"), title=title)
    figs["contrib"] = contributions_figure(x[i], W, pred, compare, fig=figs.get("contrib"))
    if "probs" not in blits:
        ax = figs["probs"].axes[0]
        blits["probs"] = Blit(figs["probs"], [*ax.patches, ax.title])
    if "contrib" not in blits:
        axes = figs["contrib"].axes
        blits["contrib"] = Blit(figs["contrib"], [a.images[0] for a in axes] + [a.title for a in axes])
    verdict = "correct" if pred == label else "a mistake"
    gap = float(l[pred] - l[compare])
    message = (f"image {i}: label {label}, predicted {pred} with p = {p[pred]:.2f} ({verdict}); "
               f"l{pred} - l{compare} = {gap:+.2f}")
    out.update(index=i, label=label, logits=l, probs=p, predicted=pred, compare=compare,
               correct=pred == label, figs=figs, message=message, kind="ok" if pred == label else "warn")
    names = ("probs", "contrib") if render is True else (render or ())
    out["png"] = {name: blits[name].png() for name in names}
    return out


def _logits_html(l, pred):
    cells = "".join(f'<td style="padding:0 6px;{"font-weight:bold;" if j == pred else ""}">'
                    f"{j}: {v:+.2f}</td>" for j, v in enumerate(l))
    return f"<table><tr><td>logits&nbsp;l<sub>j</sub></td>{cells}</tr></table>"


def prediction_explorer(x, y, W=None, b=None, *, model=None, index=0):
    """Browse predictions on test images: index box, "next mistake", a class to compare with.

    x: (n, 784) float images, y: (n,) labels, W: (784, 10), b: (10,); or, instead
    of W and b, model: any trained model (a ``zoo.Trained``).
    Returns the widget; ``.index``, ``.compare``, ``.probs_image``, ``.contrib_image``
    and ``.status`` are its parts (for tests and for linking); ``.set_model(m)``
    switches to another trained model (from any thread), ``.accuracy()`` is the
    fraction of x the model gets right.
    """
    x = np.asarray(x)
    y = np.asarray(y)
    if x.ndim != 2 or y.ndim != 1 or len(y) != len(x) or len(x) == 0:
        raise ValueError(f"x must be (n, 784) images with y (n,) labels; got x {x.shape} and y {y.shape}")
    if model is None and (W is None or b is None):
        raise ValueError("give W and b (softmax regression), or model=")
    from . import zoo
    from .model import logits
    from .train import EVAL_CHUNK

    def predictions(model):
        if model is None:
            return np.argmax(logits(x, W, b), axis=1)  # also checks the shapes of x, W and b
        return np.concatenate([np.argmax(model.logits(x[i:i + EVAL_CHUNK]), axis=1)
                               for i in range(0, len(x), EVAL_CHUNK)])

    pred_all = predictions(model)
    mistakes = np.flatnonzero(pred_all != y)
    n = len(x)
    # set_model may run in a background thread: one redraw at a time
    lock = threading.RLock()
    current = {"model": model, "pred": pred_all, "mistakes": mistakes}

    status = _status("mnistlib-explorer-status")
    index_box = W_.BoundedIntText(value=min(max(int(index), 0), n - 1), min=0, max=n - 1,
                                  description="test image", continuous_update=False)
    index_box.add_class("mnistlib-explorer-index")
    compare = W_.Dropdown(options=[("auto", -1)] + [(str(j), j) for j in range(10)], value=-1,
                          description="compare with", style={"description_width": "initial"},
                          layout=W_.Layout(width="170px"))
    compare.add_class("mnistlib-explorer-compare")
    prev_btn = W_.Button(description="◀", layout=W_.Layout(width="40px"), tooltip="previous image")
    next_btn = W_.Button(description="▶", layout=W_.Layout(width="40px"), tooltip="next image")
    mistake_btn = W_.Button(description="next mistake", tooltip=f"{len(mistakes)} mistakes in {n} images")
    prev_btn.add_class("mnistlib-explorer-prev")
    next_btn.add_class("mnistlib-explorer-next")
    mistake_btn.add_class("mnistlib-explorer-next-mistake")
    logits_line = W_.HTML()
    logits_line.add_class("mnistlib-explorer-logits")
    note = W_.HTML()            # what the pictures mean for a network that is not linear
    note.add_class("mnistlib-explorer-note")

    def explain(model):
        deep = model is not None and not model.linear
        note.value = f"<small>{html.escape(zoo.contributions_note(model))}</small>" if deep else ""

    explain(model)

    first = prediction_explorer_update(index_box.value, x, y, W, b, model=model, render=False)
    state = {"figs": first["figs"]}
    probs_image = W_.Image(value=first["figs"]["blit"]["probs"].png(), format="png", layout=W_.Layout(width="360px"))
    contrib_image = W_.Image(value=first["figs"]["blit"]["contrib"].png(), format="png", layout=W_.Layout(width="720px"))
    probs_image.add_class("mnistlib-explorer-probs")
    contrib_image.add_class("mnistlib-explorer-contrib")

    def show(r):
        if r["kind"] == "error":
            _show_message(status, r["message"], "error")
            return
        state["figs"] = r["figs"]
        if "probs" in r["png"]:
            probs_image.value = r["png"]["probs"]
        contrib_image.value = r["png"]["contrib"]
        logits_line.value = _logits_html(r["logits"], r["predicted"])
        _show_message(status, r["message"], r["kind"])

    @_guarded(status)
    def redraw(change=None):
        c = None if compare.value == -1 else compare.value
        # A new class to compare with changes only the contributions.
        render = ("contrib",) if change is not None and change["owner"] is compare else True
        with lock:
            show(prediction_explorer_update(index_box.value, x, y, W, b, c, model=current["model"],
                                            figs=state["figs"], render=render))

    @_guarded(status)
    def go_next_mistake(_=None):
        mistakes = current["mistakes"]
        if len(mistakes) == 0:
            _show_message(status, "no mistakes: every image is classified correctly", "info")
            return
        later = mistakes[mistakes > index_box.value]
        index_box.value = int(later[0] if len(later) else mistakes[0])  # wrap around at the end

    @_guarded(status)
    def step(delta):
        index_box.value = (index_box.value + delta) % n

    index_box.observe(redraw, names="value")
    compare.observe(redraw, names="value")
    prev_btn.on_click(lambda _: step(-1))
    next_btn.on_click(lambda _: step(+1))
    mistake_btn.on_click(go_next_mistake)
    logits_line.value = _logits_html(first["logits"], first["predicted"])
    _show_message(status, first["message"], first["kind"])

    wrap = W_.Layout(flex_flow="row wrap")     # narrow windows put the pictures one below the other
    box = W_.VBox([
        W_.HBox([index_box, prev_btn, next_btn, mistake_btn, compare], layout=wrap),
        W_.HBox([probs_image, contrib_image], layout=wrap),
        logits_line,
        note,
        status,
    ])
    box.add_class("mnistlib-explorer")
    box.index, box.compare, box.status = index_box, compare, status
    box.probs_image, box.contrib_image = probs_image, contrib_image
    box.next_mistake = mistake_btn

    @_guarded(status)
    def set_model(new):
        """Explain the predictions of ``new`` (a zoo.Trained) from now on."""
        pred = predictions(new)                 # the slow part (seconds for the CNN), outside the lock
        with lock:
            current.update(model=new, pred=pred, mistakes=np.flatnonzero(pred != y))
            mistake_btn.tooltip = f"{len(current['mistakes'])} mistakes in {n} images"
            explain(new)
            redraw()

    box.set_model = set_model
    box.accuracy = lambda: float(np.mean(current["pred"] == y))
    return box
