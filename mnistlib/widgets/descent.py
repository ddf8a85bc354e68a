"""Gradient descent on a toy bowl, one step at a time: the pictures and the widget of notebook 06.

A bowl is the quadratic

    L(w) = 1/2 sum_k a_k w_k^2,        dL/dw_k = a_k w_k,

with its bottom at w = 0 and curvature a_k along axis k. A step of gradient
descent, w <- w - lr * dL/dw, multiplies each coordinate by r_k = 1 - lr a_k:

     0 <  r_k < 1     towards the bottom, never past it (slowly if r_k is near 1)
    -1 <  r_k < 0     past the bottom and back again: a zigzag that still closes in
          r_k < -1    past the bottom by more each time: gradient descent diverges

so lr must stay below 2 / (the largest curvature), and the smallest curvature
decides how slowly the rest goes. ``describe`` says which case a learning rate
is in; ``descent_explorer_update`` draws the path and the loss step by step;
``descent_explorer`` is the widget around it (the conventions every widget
follows are in ``mnistlib.widgets``).
"""

import math
from dataclasses import dataclass

import ipywidgets
import numpy as np

from .. import validate
from ..plots import Blit, DescribedFigure
from .access import Access
from .base import guarded, png_image, show_message, status_line


@dataclass(frozen=True)
class Bowl:
    """L(w) = 1/2 sum_k a_k w_k^2 with curvatures a_k, started from ``start``; ``view`` is the
    region drawn: (w_max,) in 1-D, (w1_max, w2_max) in 2-D."""
    name: str
    curvatures: tuple
    start: tuple
    view: tuple

    @property
    def dim(self):
        return len(self.curvatures)

    def loss(self, w):
        """L(w) for w: (..., dim) -> (...)."""
        w = np.asarray(w, dtype=np.float64)
        return 0.5 * (np.asarray(self.curvatures) * w * w).sum(axis=-1)

    def grad(self, w):
        """dL/dw = a * w for w: (dim,) -> (dim,)."""
        return np.asarray(self.curvatures) * np.asarray(w, dtype=np.float64)

    def factors(self, lr):
        """r_k = 1 - lr a_k: what one step multiplies coordinate k by."""
        return 1 - lr * np.asarray(self.curvatures, dtype=np.float64)


BOWLS = {
    "1-D": Bowl("1-D", (1.0,), (4.0,), (6.0,)),
    # Ten times steeper along w2 than along w1: the shape that makes a learning rate hard to choose.
    "2-D": Bowl("2-D", (1.0, 10.0), (-4.0, 2.0), (5.0, 3.0)),
}


def _bowl(bowl):
    if isinstance(bowl, Bowl):
        return bowl
    if bowl not in BOWLS:
        raise ValueError(f"bowl must be one of {sorted(BOWLS)}; got {bowl!r}")
    return BOWLS[bowl]


def gradient_descent(grad, w0, lr, steps):
    """The path of ``steps`` steps w <- w - lr * grad(w) from w0: (steps + 1, *w0.shape), row 0 = w0.

    grad: a function of w returning an array shaped like w. w0 is not changed.
    """
    lr = validate.learning_rate(lr, example=0.1)
    steps = validate.whole("steps", steps, minimum=0, what="steps of gradient descent")
    w = np.array(w0, dtype=np.float64)
    path = [w]
    for _ in range(steps):
        w = w - lr * np.asarray(grad(w))
        path.append(w)
    return np.array(path)


# --- what a learning rate does --------------------------------------------------

def _axis_text(r, w):
    """What one step does to coordinate ``w`` when it multiplies it by r."""
    if abs(r) < 1e-12:
        return f"puts {w} on the bottom"
    if r > 0:
        return f"moves {w} to {r:.3g} of its distance from the bottom, on the same side"
    if r > -1:
        return (f"carries {w} past the bottom, to {-r:.3g} of its distance on the other side "
                "(a zigzag that closes in)")
    if r == -1:
        return f"carries {w} past the bottom, to exactly as far on the other side (it bounces for ever)"
    return f"carries {w} past the bottom, to {-r:.3g} times its distance on the other side (further each time)"


def describe(bowl, lr):
    """What gradient descent with ``lr`` does on ``bowl``: (kind, text).

    kind: "diverges", "bounces", "zigzags" (converges, overshooting on some axis) or
    "converges" (never overshooting); text says it per axis, with the factor r = 1 - lr a.
    """
    bowl, lr = _bowl(bowl), validate.learning_rate(lr, example=0.1)
    r = bowl.factors(lr)
    r = np.where(np.isclose(r, -1, rtol=0, atol=1e-12), -1.0, r)
    worst = float(np.abs(r).max())
    kind = ("diverges" if worst > 1 else "bounces" if worst == 1
            else "zigzags" if (r < -1e-12).any() else "converges")
    if bowl.dim == 1:
        return kind, f"each step {_axis_text(r[0], 'w')}"
    return kind, "each step " + "; and ".join(
        _axis_text(rk, f"w{'₁₂'[k]} (curvature {a:g})") for k, (a, rk) in enumerate(zip(bowl.curvatures, r)))


# --- pictures -----------------------------------------------------------------

def _draw_bowl(ax, bowl):
    """The bowl itself: the curve L(w) in 1-D, contour lines of L in 2-D."""
    if bowl.dim == 1:
        (wmax,) = bowl.view
        w = np.linspace(-wmax, wmax, 301)
        ax.plot(w, bowl.loss(w[:, None]), color="0.6", lw=1.5)
        ax.set(xlim=(-wmax, wmax), ylim=(0, 1.1 * bowl.loss([wmax])), xlabel="w", ylabel="loss L(w)")
    else:
        u, v = bowl.view
        g1, g2 = np.meshgrid(np.linspace(-u, u, 201), np.linspace(-v, v, 121))
        Z = bowl.loss(np.stack([g1, g2], axis=-1))
        levels = bowl.loss(np.asarray(bowl.start)) * np.array([0.01, 0.04, 0.1, 0.2, 0.4, 0.7, 1, 1.5, 2.2])
        ax.contour(g1, g2, Z, levels=levels, colors="0.7", linewidths=1)
        ax.plot(0, 0, "+", color="0.4", ms=10)
        ax.set(xlim=(-u, u), ylim=(-v, v), xlabel="w₁", ylabel="w₂", aspect="equal")


def _visible(path, bowl):
    """The path up to its first point far outside the view (Agg draws huge coordinates badly)."""
    far = 100 * max(bowl.view)
    out = np.nonzero(np.abs(path).max(axis=1) > far)[0]
    return path if len(out) == 0 else path[:out[0] + 1]


class _PathArtists:
    """The moving parts of one bowl picture: the path, its start and end, and the loss per step."""

    def __init__(self, ax_bowl, ax_loss, bowl, max_steps, color="C0"):
        self.bowl = bowl
        self.path = ax_bowl.plot([], [], "-o", color=color, ms=4, lw=1.2)[0]
        self.start = ax_bowl.plot([], [], "o", color="k", ms=7, zorder=3)[0]
        self.end = ax_bowl.plot([], [], "o", color=color, ms=8, mec="k", zorder=3)[0]
        self.loss = ax_loss.plot([], [], "-o", color=color, ms=3, lw=1.2)[0]
        L0 = float(bowl.loss(np.asarray(bowl.start)))
        ax_loss.set(yscale="log", ylim=(L0 * 1e-7, L0 * 1e3), xlim=(-0.5, max_steps + 0.5),
                    xlabel="step", ylabel="loss (log scale)")
        ax_loss.axhline(L0, color="0.7", lw=1, ls="--")
        ax_loss.grid(alpha=0.3)

    def artists(self):
        return [self.path, self.start, self.end, self.loss]

    def set(self, path):
        shown = _visible(path, self.bowl)
        if self.bowl.dim == 1:
            xs, ys = shown[:, 0], self.bowl.loss(shown)
        else:
            xs, ys = shown[:, 0], shown[:, 1]
        self.path.set_data(xs, ys)
        self.start.set_data(xs[:1], ys[:1])
        self.end.set_data(xs[-1:], ys[-1:])
        with np.errstate(over="ignore"):            # a diverging path's loss may overflow to inf
            self.loss.set_data(np.arange(len(path)), np.minimum(self.bowl.loss(path), 1e200))


_COLOURS = {"converges": "C0", "zigzags": "C1", "bounces": "#c00", "diverges": "#c00"}


def paths_figure(bowl, paths, *, titles=None):
    """One column per learning rate: the path on the bowl above, the loss per step below.

    bowl: a Bowl or "1-D", "2-D"; paths: {lr: path (steps + 1, dim)}, e.g. from
    ``gradient_descent``; titles: {lr: text} (default: lr and what it does).
    """
    bowl = _bowl(bowl)
    paths = {lr: np.asarray(p, dtype=np.float64) for lr, p in paths.items()}
    for lr, p in paths.items():
        if p.ndim != 2 or p.shape[1] != bowl.dim:
            raise ValueError(f"the path for lr = {lr:g} must have shape (steps + 1, {bowl.dim}); "
                             f"got {p.shape}")
    n = len(paths)
    fig = DescribedFigure(figsize=(max(3.1 * n, 4.4), 5.4 if bowl.dim == 2 else 5.6), layout="constrained")
    axes = fig.subplots(2, n, squeeze=False, height_ratios=[1.2, 1] if bowl.dim == 2 else [1, 1])
    max_steps = max(len(p) for p in paths.values()) - 1
    for col, (lr, path) in enumerate(paths.items()):
        ax_bowl, ax_loss = axes[0, col], axes[1, col]
        _draw_bowl(ax_bowl, bowl)
        kind = describe(bowl, lr)[0]
        _PathArtists(ax_bowl, ax_loss, bowl, max_steps, color=_COLOURS[kind]).set(path)
        ax_bowl.set_title(titles[lr] if titles and lr in titles else f"lr = {lr:g}: {kind}", fontsize=10)
        if col:
            ax_bowl.set_ylabel("")
            ax_loss.set_ylabel("")
    fig.alt = (f"Gradient descent on the {bowl.name} bowl, one column per learning rate: the path over the "
               "bowl above, the loss per step (log scale) below. "
               + "; ".join(f"lr = {lr:g}: {_outcome(bowl, lr, path)}" for lr, path in paths.items()))
    return fig


def _outcome(bowl, lr, path):
    """What one path did, in a few words: its kind and the loss it reached."""
    with np.errstate(over="ignore"):
        losses = bowl.loss(path)
    return (f"{describe(bowl, lr)[0]}, loss from {losses[0]:.3g} to {losses[-1]:.3g} "
            f"in {len(path) - 1} step{'' if len(path) == 2 else 's'}")


class _ExplorerPlot:
    """The widget's figure for one bowl: the bowl with the path, and the loss per step.

    Drawn in full once; each redraw then blits only the path and the loss curve.
    """

    def __init__(self, bowl, max_steps):
        self.bowl, self.max_steps = bowl, max_steps
        self.fig = DescribedFigure(figsize=(9.2, 3.6), dpi=90)
        self.fig.subplots_adjust(left=0.07, right=0.98, top=0.88, bottom=0.15, wspace=0.25)
        ax_bowl, ax_loss = self.fig.subplots(1, 2, width_ratios=[1.35, 1])
        _draw_bowl(ax_bowl, bowl)
        self.artists = _PathArtists(ax_bowl, ax_loss, bowl, max_steps)
        self.title = self.fig.text(0.5, 0.97, "", ha="center", va="top", fontsize=11)
        self.blit = Blit(self.fig, [*self.artists.artists(), self.title])

    def png(self, path, title, colour):
        self.artists.set(path)
        for a in self.artists.artists()[:1] + self.artists.artists()[2:]:
            a.set_color(colour)
        self.title.set_text(title)
        return self.blit.png()


def descent_explorer_update(lr, bowl="2-D", steps=20, *, max_steps=50, plots=None):
    """Run ``steps`` steps of gradient descent with ``lr`` on a bowl; return what the widget shows.

    bowl: "1-D" or "2-D" (see BOWLS). plots: the dict returned last time, whose
    figures are then redrawn in place (a few ms instead of a full drawing).
    Returns a dict: png (bytes), fig (the Figure), path ((steps + 1, dim)),
    losses ((steps + 1,)), kind and message (from ``describe``, with the loss
    reached), diverged (bool), plots (for the next call), alt (the picture in words).
    Bad input (lr <= 0, unknown bowl, steps outside 0..max_steps) raises ValueError.
    """
    b, lr = _bowl(bowl), validate.learning_rate(lr, example=0.1)
    steps = validate.whole("steps", steps, minimum=0, what="steps of gradient descent")
    if steps > max_steps:
        raise ValueError(f"steps must be at most {max_steps}; got {steps}")
    plots = dict(plots or {})
    key = (b.name, max_steps)
    if key not in plots:
        plots[key] = _ExplorerPlot(b, max_steps)
    path = gradient_descent(b.grad, np.asarray(b.start), lr, steps)
    with np.errstate(over="ignore"):
        losses = b.loss(path)
    kind, text = describe(b, lr)
    L0, L = float(losses[0]), float(losses[-1])
    reached = (f"after {steps} step{'' if steps == 1 else 's'} the loss is {L:.3g}, "
               f"{L / L0:.2g} times its start {L0:g}" if steps else f"the loss starts at {L0:g}")
    # A log slider snaps to its grid (0.08 becomes 0.0794328...): three digits are what it shows.
    message = f"lr = {lr:.3g} on the {b.name} bowl: {text}. {reached[0].upper()}{reached[1:]}."
    colour = _COLOURS[kind]
    title = f"lr = {lr:.3g}, step {steps}: {kind}"
    png = plots[key].png(path, title, colour)
    alt = (f"Gradient descent on the {b.name} bowl with lr = {lr:.3g}: the path of {steps} steps over the bowl "
           f"(left) and the loss per step on a log scale (right); it {kind}: {reached}")
    plots[key].fig.alt = alt
    return {"png": png, "fig": plots[key].fig, "path": path, "losses": losses, "kind": kind,
            "message": message, "diverged": kind == "diverges", "plots": plots, "alt": alt}


def descent_explorer(bowl="2-D", *, lr=0.08, steps=20, max_steps=50, lr_min=1e-3, lr_max=3.0):
    """Gradient descent on a toy bowl, with controls for the bowl, the learning rate and the steps.

    Play steps through the path one step at a time. Returns a VBox (attributes
    ``bowl``, ``slider``, ``steps``, ``play``, ``image``, ``status`` and
    ``update()``, the callback every control calls, for tests).
    """
    state = descent_explorer_update(lr, bowl, steps, max_steps=max_steps)
    choice = ipywidgets.ToggleButtons(options=list(BOWLS), value=_bowl(bowl).name, description="bowl")
    choice.add_class("mnistlib-descent-bowl")
    slider = ipywidgets.FloatLogSlider(value=lr, base=10, min=math.log10(lr_min), max=math.log10(lr_max),
                                       step=0.02, description="lr", readout_format=".3g")
    slider.add_class("mnistlib-descent-lr")
    step_slider = ipywidgets.IntSlider(value=steps, min=0, max=max_steps, description="steps")
    step_slider.add_class("mnistlib-descent-steps")
    play = ipywidgets.Play(value=steps, min=0, max=max_steps, interval=400, description="play")
    play.add_class("mnistlib-descent-play")
    ipywidgets.jslink((play, "value"), (step_slider, "value"))
    image = png_image(state["png"], "mnistlib-descent-plot")
    status = status_line("mnistlib-descent-status")
    access = Access(names={"mnistlib-descent-lr": "lr, the learning rate (log scale)",
                           "mnistlib-descent-steps": "steps of gradient descent shown"})

    def show(result):
        image.value = result["png"]
        access.alt("mnistlib-descent-plot", result["alt"])
        show_message(status, result["message"], "warn" if result["kind"] in ("diverges", "bounces") else "ok")

    @guarded(status)
    def update(_change=None):
        state.update(descent_explorer_update(slider.value, choice.value, step_slider.value,
                                             max_steps=max_steps, plots=state["plots"]))
        show(state)

    for control in (choice, slider, step_slider):
        control.observe(update, names="value")
    show(state)
    box = ipywidgets.VBox([choice, ipywidgets.HBox([slider, play, step_slider]), image, status, access])
    box.add_class("mnistlib-descent")
    box.bowl, box.slider, box.steps, box.play = choice, slider, step_slider, play
    box.image, box.status, box.update, box.access = image, status, update, access
    return box
