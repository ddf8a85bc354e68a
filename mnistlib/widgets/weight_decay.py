"""The weight-decay explorer of notebook 08: choose lambda, see the templates and the accuracies.

Training minimises L + lambda/2 * ||W||^2, so every update also shrinks W by a factor
(1 - lr * lambda). ``weight_decay_update`` trains a small model with one lambda and
returns what to show; ``weight_decay_explorer`` is the widget around it. The conventions
every widget follows are in ``mnistlib.widgets``.
"""

import math
import numbers
import time

import ipywidgets
import numpy as np

from ..model import accuracy
from ..plots import describe_weights, heatmaps_png
from ..train import train
from .access import Access
from .base import guarded, png_image, show_message, status_line

# The lambdas the slider offers: none, then a rough factor of 3 apart.
DECAY_VALUES = (0.0, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1)


def _check_decay(weight_decay):
    if (isinstance(weight_decay, bool) or not isinstance(weight_decay, numbers.Real)
            or not math.isfinite(weight_decay) or weight_decay < 0):
        raise ValueError(f"the weight decay lambda must be a number >= 0, e.g. 0.001; got {weight_decay!r}")
    return float(weight_decay)


def weight_decay_update(weight_decay, X, y, x_val, y_val, *, n_train=1000, n_val=2000, lr=1.0,
                        epochs=30, batch_size=50, seed=0):
    """Train on the first ``n_train`` examples with weight decay lambda; return what the explorer shows.

    X: (n, 784) float32, y: (n,) labels; x_val, y_val: validation examples, the first
    ``n_val`` of which give the validation accuracy. Few training images and many
    epochs let the model memorise them, which is what weight decay works against.
    The same lambda always gives the same result (fixed ``seed``).

    Returns a dict: W, b (the trained parameters), train_acc, val_acc (floats),
    w_max (the largest |W_ij|), heatmap_png (bytes), message (str), seconds, alt (the heatmaps
    in words).
    Raises ValueError for a lambda below 0 or bad data.
    """
    t0 = time.perf_counter()
    weight_decay = _check_decay(weight_decay)
    X, y = X[:n_train], y[:n_train]
    result = train(X, y, lr=lr, epochs=epochs, batch_size=batch_size, schedule="linear",
                   weight_decay=weight_decay, seed=seed, evaluate=False)
    W, b = result.W, result.b
    train_acc = accuracy(X, y, W, b)
    val_acc = accuracy(x_val[:n_val], y_val[:n_val], W, b)
    w_max = float(np.abs(W).max())
    message = (f"λ = {weight_decay:g}: training accuracy {train_acc:.1%}, validation accuracy "
               f"{val_acc:.1%} (a gap of {100 * (train_acc - val_acc):.1f} points); "
               f"largest weight |W| = {w_max:.2f}")
    return {"W": W, "b": b, "train_acc": train_acc, "val_acc": val_acc, "w_max": w_max,
            "heatmap_png": heatmaps_png(W), "message": message, "seconds": time.perf_counter() - t0,
            "alt": describe_weights(W, title=f"trained with λ = {weight_decay:g}")}


def weight_decay_explorer(X, y, x_val, y_val, *, weight_decay=0.0, values=DECAY_VALUES, **options):
    """A slider over lambda (``values``); each choice retrains and redraws the ten templates.

    X, y, x_val, y_val, options: as for ``weight_decay_update``. Returns a VBox
    (attributes ``slider``, ``heatmap_image``, ``status`` for tests).
    """
    values = tuple(_check_decay(v) for v in values)
    weight_decay = _check_decay(weight_decay)
    if weight_decay not in values:
        raise ValueError(f"weight_decay must be one of the slider's values {values}; got {weight_decay!r}")
    slider = ipywidgets.SelectionSlider(options=[(f"{v:g}", v) for v in values], value=weight_decay,
                                        description="λ (weight decay)", continuous_update=False,
                                        style={"description_width": "initial"},
                                        layout=ipywidgets.Layout(width="420px"))
    slider.add_class("mnistlib-decay-slider")
    status = status_line("mnistlib-decay-status")
    state = weight_decay_update(weight_decay, X, y, x_val, y_val, **options)
    heatmap_image = png_image(state["heatmap_png"], "mnistlib-decay-heatmaps")
    show_message(status, state["message"], "ok")
    access = Access(names={"mnistlib-decay-slider": "λ, the weight decay: each value retrains"},
                    alts={"mnistlib-decay-heatmaps": state["alt"]})

    @guarded(status)
    def redraw(change):
        result = weight_decay_update(change["new"], X, y, x_val, y_val, **options)
        heatmap_image.value = result["heatmap_png"]
        access.alt("mnistlib-decay-heatmaps", result["alt"])
        show_message(status, result["message"], "ok")

    slider.observe(redraw, names="value")
    box = ipywidgets.VBox([slider, heatmap_image, status, access])
    box.add_class("mnistlib-decay")
    box.slider, box.heatmap_image, box.status, box.access = slider, heatmap_image, status, access
    return box
