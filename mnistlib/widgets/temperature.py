"""The softmax-temperature widget of notebook 03: p = softmax(l / T) as T moves.

``softmax_temperature_update`` is the pure function (logits and T in, the
probabilities and their bars out); ``softmax_temperature`` is the slider around
it. The conventions every widget follows are in ``mnistlib.widgets``.
"""

import math
import numbers

import ipywidgets
import numpy as np

from ..model import softmax
from ..plots import png_bytes, probability_bars
from .access import Access
from .base import guarded, show_message, status_line


def softmax_temperature_update(l, T, fig=None):
    """p = softmax(l / T) and its probability bars.  l: (10,) logits; T > 0.

    Small T sharpens p towards one-hot on the largest logit; large T flattens it
    towards uniform (1/10 each); T = 1 is the plain softmax. Pass the previous
    ``fig`` to redraw it in place. Returns (p: (10,), fig).
    Raises ValueError for T <= 0 or logits that are not 10 finite numbers.
    """
    if isinstance(T, bool) or not isinstance(T, numbers.Real) or not math.isfinite(T) or T <= 0:
        raise ValueError(f"the temperature T must be a positive number, e.g. 1; got {T!r}")
    l = np.asarray(l, dtype=np.float64)
    if l.shape != (10,) or not np.all(np.isfinite(l)):
        raise ValueError(f"l must be 10 finite logits, shape (10,); got shape {l.shape}")
    p = softmax(l / T)
    title = f"T = {T:.3g}:  p = softmax(l / T)"
    if fig is None:
        fig = probability_bars(p, title=title)
        # Lay the figure out once, then freeze it: constrained layout on every
        # redraw would more than double the cost of a slider step.
        png_bytes(fig)
        fig.set_layout_engine("none")
    return p, probability_bars(p, fig=fig, title=title)


def softmax_temperature(l, *, T=1.0, T_min=0.05, T_max=20.0):
    """A log-scale slider for the temperature T, redrawing the bars of softmax(l / T).

    l: (10,) logits. Returns a VBox (attributes ``slider``, ``image``, ``status``
    and ``update(T)``, the slider's callback, for tests).
    """
    p, fig = softmax_temperature_update(l, T)
    slider = ipywidgets.FloatLogSlider(value=T, base=10, min=math.log10(T_min), max=math.log10(T_max),
                                       step=0.05, description="T", readout_format=".2f",
                                       continuous_update=False)
    slider.add_class("mnistlib-temperature-slider")
    image = ipywidgets.Image(value=png_bytes(fig), format="png", layout=ipywidgets.Layout(width="420px"))
    image.add_class("mnistlib-temperature-bars")
    status = status_line("mnistlib-temperature-status")
    access = Access(names={"mnistlib-temperature-slider": "T, the temperature (log scale)"})

    def describe(T, p):
        j = int(np.argmax(p))
        show_message(status, f"T = {T:.3g}: largest p = {p[j]:.3f} (class {j}), "
                             f"smallest p = {p.min():.3f}; p sums to {p.sum():.4f}", "ok")
        access.alt("mnistlib-temperature-bars", fig.alt)

    @guarded(status)
    def update(T):
        p, _ = softmax_temperature_update(l, T, fig=fig)
        image.value = png_bytes(fig)
        describe(T, p)

    slider.observe(lambda change: update(change["new"]), names="value")
    describe(T, p)
    box = ipywidgets.VBox([slider, image, status, access])
    box.add_class("mnistlib-temperature")
    box.slider, box.image, box.status, box.update, box.access = slider, image, status, update, access
    return box
