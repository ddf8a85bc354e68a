"""The prediction explorer of notebook 09: pick an image, see why the model answered as it did.

For an image (of the test set, or of the validation set), the explorer shows the
probabilities and which pixels pushed the predicted class up against another class
("why a 3 and not an 8?").
``prediction_explorer_update`` is the pure function; ``prediction_explorer`` the
widget around it. The conventions every widget follows are in ``mnistlib.widgets``.
"""

import html
import threading

import ipywidgets
import numpy as np

from .. import zoo
from ..model import logits, softmax
from ..plots import Blit, contributions_figure, describe_contributions, describe_probabilities, probability_bars
from ..train import EVAL_CHUNK
from .access import Access
from .base import MARKS, IndexStepper, guarded, show_message, status_line

def prediction_explorer_update(i, X, y, W=None, b=None, compare=None, *, model=None, figs=None, render=True):
    """Everything the explorer shows for image i of X, as plain values.

    X: (n, 784) float images, y: (n,) labels, W: (784, 10), b: (10,); or, instead
    of W and b, model: any trained model (a ``zoo.Trained``), whose pictures then
    show the linear model it equals near image i (``zoo.local_linear``).
    compare: the class to explain against; None picks the true class if the
    prediction is wrong, else the runner-up.
    figs: the dict returned last time, to redraw its figures in place (faster);
    it holds the figures "probs" and "contrib" (and their "blit" redrawers).
    render: True for PNGs of both figures, False for none, or a tuple of names.
    Returns dict(index, label, logits, probs, predicted, compare, correct,
    figs={"probs", "contrib"}, png={name: PNG bytes}, message, kind,
    alt={"probs", "contrib"}: the pictures in words).
    A bad index or class gives a message with kind "error", never an exception.
    """
    n = len(X)
    out = dict(index=i, label=None, logits=None, probs=None, predicted=None, compare=None,
               correct=None, figs=figs, png=None, kind="error", alt=None)
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
        W, b = model.local_linear(X[i])     # for softmax regression: its own W and b
    l = logits(X[i], W, b)
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
    figs["contrib"] = contributions_figure(X[i], W, pred, compare, fig=figs.get("contrib"))
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
    alt = {"probs": describe_probabilities(p, true=label, what=f"Test image {i}, label {label}: prediction"),
           "contrib": describe_contributions(X[i], W, pred, compare, image=f"test image {i}")}
    out.update(index=i, label=label, logits=l, probs=p, predicted=pred, compare=compare,
               correct=pred == label, figs=figs, message=message, kind="ok" if pred == label else "warn",
               alt=alt)
    names = ("probs", "contrib") if render is True else (render or ())
    out["png"] = {name: blits[name].png() for name in names}
    return out


def _logits_html(l, pred):
    """The ten logits in a row that wraps on a narrow page; the predicted class's in bold."""
    cells = "".join(f'<span style="white-space:nowrap;{"font-weight:bold;" if j == pred else ""}">'
                    f"{j}: {v:+.2f}</span>" for j, v in enumerate(l))
    return (f'<div style="display:flex;flex-wrap:wrap;gap:0 12px"><span>logits&nbsp;l<sub>j</sub></span>'
            f"{cells}</div>")


def prediction_explorer(X, y, W=None, b=None, *, model=None, index=0, description="test image"):
    """Browse predictions on a set of images: index box, "next mistake", a class to compare with.

    X: (n, 784) float images, y: (n,) labels, W: (784, 10), b: (10,); or, instead
    of W and b, model: any trained model (a ``zoo.Trained``). description labels the
    index box: what the images are ("validation image" for images held out to choose).
    Returns the widget; ``.index``, ``.compare``, ``.probs_image``, ``.contrib_image``
    and ``.status`` are its parts (for tests and for linking); ``.set_model(m)``
    switches to another trained model (from any thread), ``.accuracy()`` is the
    fraction of X the model gets right.
    """
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim != 2 or y.ndim != 1 or len(y) != len(X) or len(X) == 0:
        raise ValueError(f"X must be (n, 784) images with y (n,) labels; got X {X.shape} and y {y.shape}")
    if model is None and (W is None or b is None):
        raise ValueError("give W and b (softmax regression), or model=")
    parts = _Explorer(X, y, W, b, model, index, description)

    wrap = ipywidgets.Layout(flex_flow="row wrap")     # narrow windows put the pictures one below the other
    box = ipywidgets.VBox([
        ipywidgets.HBox([*parts.stepper.widgets, parts.next_mistake, parts.compare], layout=wrap),
        ipywidgets.HBox([parts.probs_image, parts.contrib_image], layout=wrap),
        parts.logits_line,
        parts.note,
        parts.status,
        parts.access,
    ])
    box.add_class("mnistlib-explorer")
    box.index, box.compare, box.status = parts.index, parts.compare, parts.status
    box.probs_image, box.contrib_image = parts.probs_image, parts.contrib_image
    box.next_mistake, box.access = parts.next_mistake, parts.access
    box.set_model = guarded(parts.status)(parts.set_model)
    box.accuracy = parts.accuracy
    return box


class _Explorer:
    """The explorer's controls and pictures, and what they do; ``prediction_explorer`` lays them out.

    The model can change from a background thread (``set_model``): one redraw at a time.
    """

    def __init__(self, X, y, W, b, model, index, description):
        self.x, self.y, self.W, self.b = X, y, W, b
        self.lock = threading.RLock()
        self.model, self.pred = model, self._predictions(model)
        self.mistakes = np.flatnonzero(self.pred != y)
        n = len(X)

        self.status = status_line("mnistlib-explorer-status")
        self.stepper = IndexStepper(n, index, css="mnistlib-explorer", what="image", status=self.status,
                                    description=description, continuous_update=False)
        self.index = self.stepper.index
        self.compare = ipywidgets.Dropdown(options=[("auto", -1)] + [(str(j), j) for j in range(10)],
                                           value=-1, description="compare with",
                                           style={"description_width": "initial"},
                                           layout=ipywidgets.Layout(width="170px"))
        self.compare.add_class("mnistlib-explorer-compare")
        self.next_mistake = ipywidgets.Button(description="next mistake",
                                              tooltip=f"{len(self.mistakes)} mistakes in {n} images")
        self.next_mistake.add_class("mnistlib-explorer-next-mistake")
        self.logits_line = ipywidgets.HTML()
        self.logits_line.add_class("mnistlib-explorer-logits")
        self.note = ipywidgets.HTML()            # what the pictures mean for a network that is not linear
        self.note.add_class("mnistlib-explorer-note")
        self._explain(model)

        first = prediction_explorer_update(self.index.value, X, y, W, b, model=model, render=False)
        self.figs = first["figs"]
        self.probs_image = ipywidgets.Image(value=self.figs["blit"]["probs"].png(), format="png",
                                            layout=ipywidgets.Layout(width="360px"))
        self.contrib_image = ipywidgets.Image(value=self.figs["blit"]["contrib"].png(), format="png",
                                              layout=ipywidgets.Layout(width="720px"))
        self.probs_image.add_class("mnistlib-explorer-probs")
        self.contrib_image.add_class("mnistlib-explorer-contrib")
        self.access = Access(names={"mnistlib-explorer-prev": "previous test image",
                                    "mnistlib-explorer-next": "next test image"})

        guard = guarded(self.status)
        self.index.observe(guard(self.redraw), names="value")
        self.compare.observe(guard(self.redraw), names="value")
        self.next_mistake.on_click(guard(self.go_next_mistake))
        self._say(first)

    def _predictions(self, model):
        """The predicted class of every image in X: (n,)."""
        if model is None:
            return np.argmax(logits(self.x, self.W, self.b), axis=1)  # also checks the shapes of x, W and b
        return np.concatenate([np.argmax(model.logits(self.x[i:i + EVAL_CHUNK]), axis=1)
                               for i in range(0, len(self.x), EVAL_CHUNK)])

    def _explain(self, model):
        deep = model is not None and not model.linear
        self.note.value = f"<small>{html.escape(zoo.contributions_note(model))}</small>" if deep else ""

    def show(self, r):
        """Show a result of ``prediction_explorer_update``."""
        if r["kind"] == "error":
            show_message(self.status, r["message"], "error")
            return
        self.figs = r["figs"]
        if "probs" in r["png"]:
            self.probs_image.value = r["png"]["probs"]
        self.contrib_image.value = r["png"]["contrib"]
        self._say(r)

    def _say(self, r):
        """The logits, the status line (marked right or wrong) and the pictures' alt texts of a result."""
        self.logits_line.value = _logits_html(r["logits"], r["predicted"])
        self.access.alt_all({"mnistlib-explorer-probs": r["alt"]["probs"],
                             "mnistlib-explorer-contrib": r["alt"]["contrib"]})
        show_message(self.status, f"{MARKS[r['correct']]} {r['message']}", r["kind"])

    def redraw(self, change=None):
        """Show the image in the index box, explained against the class chosen (an observer)."""
        c = None if self.compare.value == -1 else self.compare.value
        # A new class to compare with changes only the contributions.
        render = ("contrib",) if change is not None and change["owner"] is self.compare else True
        with self.lock:
            self.show(prediction_explorer_update(self.index.value, self.x, self.y, self.W, self.b, c,
                                                 model=self.model, figs=self.figs, render=render))

    def go_next_mistake(self, _=None):
        """Move to the next image the model gets wrong, wrapping around at the end."""
        if len(self.mistakes) == 0:
            show_message(self.status, "no mistakes: every image is classified correctly", "info")
            return
        later = self.mistakes[self.mistakes > self.index.value]
        self.index.value = int(later[0] if len(later) else self.mistakes[0])

    def set_model(self, new):
        """Explain the predictions of ``new`` (a zoo.Trained) from now on."""
        pred = self._predictions(new)           # the slow part (seconds for the CNN), outside the lock
        with self.lock:
            self.model, self.pred, self.mistakes = new, pred, np.flatnonzero(pred != self.y)
            self.next_mistake.tooltip = f"{len(self.mistakes)} mistakes in {len(self.x)} images"
            self._explain(new)
            self.redraw()

    def accuracy(self):
        """The fraction of X the model in use gets right."""
        return float(np.mean(self.pred == self.y))
