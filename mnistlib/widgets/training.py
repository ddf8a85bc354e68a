"""The training widgets of notebooks 06 and 07: the learning rate, live heatmaps, the batch size.

``lr_explorer`` retrains at each learning rate and shows the loss curve and the
ten templates; ``live_heatmaps`` trains once and shows them change as it goes;
``batch_size_explorer`` compares batch sizes by updates and by time. Each has a
pure function behind it (``lr_explorer_update``, ``live_training``,
``batch_size_explorer_update``) that tests and benchmarks call directly.

Redrawing ten matplotlib heatmaps costs ~0.3 s, too slow for a slider, so these
widgets use ``plots.heatmaps_png`` (painted straight into a PNG) and keep
matplotlib, redrawn by blitting, for the small loss plots only.
"""

import math
import time

import ipywidgets
import numpy as np

from .. import validate
from ..model import accuracy, cross_entropy, logits
from ..plots import Blit, DescribedFigure, describe_curve, describe_weights, heatmaps_png
from ..train import DivergenceError, train
from .access import Access
from .base import guarded, png_image, show_message, status_line


class LossPlot:
    """The training loss against the updates, with fixed axes, redrawing only its line (``plots.Blit``).

    A full matplotlib redraw costs ~40 ms, redrawing the line ~5 ms. The axes
    therefore never rescale: the x axis spans the planned updates and the y
    axis [0, ymax]; a diverging curve turns red and leaves the top of the plot.
    """

    def __init__(self, xmax, ymax=4.0, xlabel="update"):
        self.xmax = xmax
        self.fig = DescribedFigure(figsize=(5, 2.8), dpi=100)
        self.fig.subplots_adjust(left=0.12, right=0.97, top=0.95, bottom=0.17)
        ax = self.fig.subplots()
        ax.axhline(math.log(10), color="gray", ls="--", lw=1, label="guessing: log 10")
        (self.line,) = ax.plot([], [], color="C0", lw=2, label="training loss (smoothed)")
        ax.set_xlim(0, xmax)
        ax.set_ylim(0, ymax)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("loss")
        ax.legend(loc="upper right", fontsize=8)
        ax.grid(alpha=0.3)
        self.blit = Blit(self.fig, [self.line])

    def png(self, x, loss, diverged=False):
        """Draw the curve (x, loss) and return the plot as PNG bytes."""
        self.line.set_data(np.asarray(x), np.asarray(loss))
        self.line.set_color("#c00" if diverged else "C0")
        self.line.set_marker("o" if len(x) < 10 else "")
        return self.blit.png()


def _planned_updates(n, batch_size=50, epochs=2):
    """How many updates ``epochs`` passes over n examples in batches of ``batch_size`` make."""
    return epochs * math.ceil(n / max(1, min(batch_size, n)))


def _check_run(X, n_train, epochs):
    """Check the size of a short training run; returns (n_train, epochs)."""
    n_train = validate.whole("n_train", n_train, what="how many training examples to use")
    epochs = validate.whole("epochs", epochs, what="passes over the training examples")
    if len(X) == 0:
        raise ValueError("X holds no training examples; give at least one")
    return n_train, epochs


def lr_explorer_update(lr, X, y, x_val=None, y_val=None, *, n_train=3000, n_val=2000,
                       batch_size=50, epochs=2, seed=0, figs=None):
    """Retrain briefly with learning rate ``lr`` and return what the explorer shows.

    X: (n, 784) float32, y: (n,) labels; the first ``n_train`` examples are used
    (mini-batches of ``batch_size``, ``epochs`` passes, fixed ``seed``), so the
    same lr always gives the same picture. x_val, y_val: optional; the first
    ``n_val`` give the validation accuracy. figs: a previous result, whose loss plot
    is then reused (much faster than making a new one). A diverging run is not
    an error: it returns diverged=True, the partial loss curve and the reason
    in ``message``.

    Returns a dict: loss_png, heatmap_png (bytes), loss_fig (the matplotlib
    Figure, for a static copy), message (str), diverged (bool), val_acc (float
    or None), seconds (time this call took), loss_plot (for ``figs``), alt
    ({"loss", "heatmaps"}: the pictures in words).
    Bad input (lr <= 0, wrong shapes) raises ValueError.
    """
    t0 = time.perf_counter()
    lr = validate.learning_rate(lr, example=0.5)
    n_train, epochs = _check_run(X, n_train, epochs)
    batch_size = validate.whole("batch_size", batch_size, what="examples per update")
    X, y = X[:n_train], y[:n_train]
    total = _planned_updates(len(X), batch_size, epochs)
    plot = figs["loss_plot"] if figs and figs["loss_plot"].xmax == total else LossPlot(total)
    try:
        res = train(X, y, method="minibatch", lr=lr, epochs=epochs, batch_size=batch_size,
                    seed=seed, evaluate=False, log_every=1)
        W, hist, diverged = res.W, res.history, False
    except DivergenceError as e:
        W, hist, diverged = np.nan_to_num(e.W, nan=0.0, posinf=0.0, neginf=0.0), e.history, True
        message = f"lr = {lr:g}: {e}"
        stopped_at = _mean_loss(X, y, e.W, e.b)     # inf if W overflowed
    val_acc = None
    if not diverged:
        if x_val is not None:
            val_acc = accuracy(x_val[:n_val], y_val[:n_val], W, res.b)
        acc = "" if val_acc is None else f", validation accuracy {val_acc:.1%}"
        message = (f"lr = {lr:g}: loss {hist.step_loss[-1]:.3f} after "
                   f"{hist.step_updates[-1]} updates{acc}")
    updates, loss = list(hist.step_updates), list(hist.step_loss)
    if diverged:
        # The smoothed loss lags behind; end the curve with the loss where training stopped.
        updates.append(updates[-1] + 1 if updates else 1)
        loss.append(min(stopped_at, 100.0))
    loss_png = plot.png(updates, loss, diverged)
    alt = {"loss": describe_curve(updates, loss, what=f"training loss at lr = {lr:g}", against="update"),
           "heatmaps": describe_weights(W)}
    plot.fig.alt = alt["loss"]
    return {"loss_plot": plot, "loss_fig": plot.fig, "loss_png": loss_png,
            "heatmap_png": heatmaps_png(W), "message": message, "diverged": diverged,
            "val_acc": val_acc, "seconds": time.perf_counter() - t0, "alt": alt}


def lr_explorer(X, y, x_val=None, y_val=None, *, lr=0.5, lr_min=1e-3, lr_max=1e3, **options):
    """A log-scale learning-rate slider; each change retrains and redraws the loss and heatmaps.

    X, y, x_val, y_val, options: as for ``lr_explorer_update``. Returns a VBox
    (attributes ``slider``, ``loss_image``, ``heatmap_image``, ``status`` for tests).
    """
    slider = ipywidgets.FloatLogSlider(value=lr, base=10, min=math.log10(lr_min), max=math.log10(lr_max),
                                       step=0.25, description="lr", readout_format=".3g",
                                       continuous_update=False)
    slider.add_class("mnistlib-lr-slider")
    status = status_line("mnistlib-lr-status")
    state = lr_explorer_update(lr, X, y, x_val, y_val, **options)
    loss_image = png_image(state["loss_png"], "mnistlib-lr-loss")
    heatmap_image = png_image(state["heatmap_png"], "mnistlib-lr-heatmaps")
    access = Access(names={"mnistlib-lr-slider": "lr, the learning rate (log scale): each value retrains"})

    def show(result):
        loss_image.value = result["loss_png"]
        heatmap_image.value = result["heatmap_png"]
        access.alt_all({"mnistlib-lr-loss": result["alt"]["loss"],
                        "mnistlib-lr-heatmaps": result["alt"]["heatmaps"]})
        show_message(status, result["message"], "warn" if result["diverged"] else "ok")

    @guarded(status)
    def redraw(change):
        state.update(lr_explorer_update(change["new"], X, y, x_val, y_val, figs=state, **options))
        show(state)

    slider.observe(redraw, names="value")
    show(state)
    box = ipywidgets.VBox([slider, loss_image, heatmap_image, status, access])
    box.add_class("mnistlib-lr-explorer")
    box.slider, box.loss_image, box.heatmap_image, box.status = slider, loss_image, heatmap_image, status
    box.access = access
    return box


def live_training(X, y, x_val=None, y_val=None, *, on_frame, lr=1.0, epochs=2, batch_size=50,
                  every=100, schedule="linear", seed=0, n_val=2000):
    """Train by mini-batch gradient descent, calling ``on_frame(frame)`` as it goes.

    X: (n, 784) float32, y: (n,) labels. ``on_frame`` gets a dict every ``every``
    updates and once at the end: heatmap_png, loss_png (bytes), message (str),
    update (int), done (bool), diverged (bool). Each frame costs ~30 ms of
    drawing, so ``every`` sets how smooth, and how slow, the animation is.
    Returns the train Result, or None if training diverged (the last frame says why).
    """
    lr = validate.learning_rate(lr, example=0.5)
    if not callable(on_frame):
        raise ValueError(f"on_frame must be a function taking one dict; got {on_frame!r}")
    every = validate.whole("every", every, what="updates from one frame to the next")
    epochs = validate.whole("epochs", epochs, what="passes over the training examples")
    batch_size = validate.whole("batch_size", batch_size, what="examples per update")
    total = _planned_updates(len(X), batch_size, epochs)
    plot = LossPlot(total)
    t0 = time.perf_counter()

    def frame(W, hist, message, update, done=False, diverged=False):
        on_frame({"heatmap_png": heatmaps_png(W),
                  "loss_png": plot.png(hist.step_updates, hist.step_loss, diverged),
                  "message": message, "update": update, "done": done, "diverged": diverged,
                  "alt": live_alt(W, hist.step_updates, hist.step_loss, total)})

    def progress(p):
        frame(p.W, p.history, f"epoch {p.epoch}, update {p.update}/{total}: loss {p.loss:.3f}", p.update)

    try:
        res = train(X, y, method="minibatch", lr=lr, epochs=epochs, batch_size=batch_size,
                    schedule=schedule, seed=seed, evaluate=False, log_every=max(1, every // 5),
                    callback=progress, callback_every=every)
    except DivergenceError as e:
        W = np.nan_to_num(e.W, nan=0.0, posinf=0.0, neginf=0.0)
        frame(W, e.history, str(e), e.history.step_updates[-1] if e.history.step_updates else 0,
              done=True, diverged=True)
        return None
    acc = ""
    if x_val is not None:
        acc = f", validation accuracy {accuracy(x_val[:n_val], y_val[:n_val], res.W, res.b):.1%}"
    frame(res.W, res.history, f"done: {total} updates in {time.perf_counter() - t0:.1f} s{acc}",
          total, done=True)
    return res


def live_alt(W, updates, loss, total):
    """The live pictures in words: {"heatmaps", "loss"}. W: (784, 10); the loss curve so far."""
    return {"heatmaps": describe_weights(W),
            "loss": describe_curve(updates, loss, what=f"training loss (of {total} planned updates)",
                                   against="update")}


def live_heatmaps(X, y, x_val=None, y_val=None, **options):
    """A "Train" button that trains and shows the heatmaps and loss changing as it goes.

    Works while the click handler runs because each image update is sent to the
    browser at once. X, y, x_val, y_val, options: as for ``live_training``.
    Returns a VBox (attributes ``button``, ``heatmap_image``, ``loss_image``, ``status``).
    """
    button = ipywidgets.Button(description="Train", icon="play", button_style="primary")
    button.add_class("mnistlib-live-train")
    status = status_line("mnistlib-live-status")
    heatmap_image = png_image(heatmaps_png(np.zeros((784, 10))), "mnistlib-live-heatmaps")
    plan = {k: options[k] for k in ("batch_size", "epochs") if k in options}
    total = _planned_updates(len(X), **plan)
    loss_image = png_image(LossPlot(total).png([], []), "mnistlib-live-loss")
    show_message(status, "W = 0: every class gets p = 1/10. Press Train.", "info")
    first = live_alt(np.zeros((784, 10)), [], [], total)
    access = Access(alts={"mnistlib-live-heatmaps": first["heatmaps"], "mnistlib-live-loss": first["loss"]})

    def show(frame):
        heatmap_image.value = frame["heatmap_png"]
        loss_image.value = frame["loss_png"]
        access.alt_all({"mnistlib-live-heatmaps": frame["alt"]["heatmaps"],
                        "mnistlib-live-loss": frame["alt"]["loss"]})
        kind = "warn" if frame["diverged"] else ("ok" if frame["done"] else "info")
        show_message(status, frame["message"], kind)

    @guarded(status)
    def run(_button=None):
        button.disabled = True          # a second click would queue a second run
        try:
            live_training(X, y, x_val, y_val, on_frame=show, **options)
        finally:
            button.disabled = False

    button.on_click(run)
    box = ipywidgets.VBox([button, heatmap_image, loss_image, status, access])
    box.add_class("mnistlib-live")
    box.button, box.heatmap_image, box.loss_image, box.status = button, heatmap_image, loss_image, status
    box.run, box.access = run, access
    return box


class _BatchPlot:
    """Loss against updates (log scale) and against milliseconds, redrawn by blitting.

    The axes stay fixed so that runs with different batch sizes can be compared
    by eye: updates from 1 to ``max_updates``, and a time axis that only ever
    grows (to fit the slowest run so far; only then is the background redrawn).
    """

    def __init__(self, max_updates, ymax=4.0):
        self.max_updates, self.tmax = max_updates, 10.0
        self.fig = DescribedFigure(figsize=(9, 3), dpi=80)
        self.fig.subplots_adjust(left=0.07, right=0.98, top=0.86, bottom=0.18, wspace=0.22)
        self.lines = []
        for ax, xlabel in zip(self.fig.subplots(1, 2), ("updates (log scale)", "milliseconds of training")):
            ax.axhline(math.log(10), color="gray", ls="--", lw=1)
            self.lines.append(ax.plot([], [], color="C0", lw=2)[0])
            ax.set(xlabel=xlabel, ylabel="training loss", ylim=(0, ymax))
            ax.grid(alpha=0.3)
        self.fig.axes[0].set(xscale="log", xlim=(0.8, 1.25 * max_updates))
        self.fig.axes[1].set_xlim(0, self.tmax)
        self.title = self.fig.text(0.5, 0.96, "", ha="center", va="top", fontsize=11)
        self.blit = Blit(self.fig, [*self.lines, self.title])

    def png(self, updates, ms, loss, title, diverged=False):
        if len(ms) and ms[-1] > self.tmax:
            # room to spare, so that a slightly slower rerun does not force another full redraw
            self.tmax = min(m * 10 ** math.ceil(math.log10(1.5 * ms[-1] / m)) for m in (1, 2, 5))
            self.fig.axes[1].set_xlim(0, self.tmax)
            self.blit.recapture()
        for line, xs in zip(self.lines, (updates, ms)):
            line.set_data(np.asarray(xs), np.asarray(loss))
            line.set_marker("." if len(xs) < 30 else "")
            line.set_color("#c00" if diverged else "C0")
        self.title.set_text(title)
        return self.blit.png()


def batch_size_explorer_update(batch_size, X, y, x_val=None, y_val=None, *, n_train=500,
                               n_val=2000, lr=0.2, epochs=2, seed=0, plot=None):
    """Train briefly with mini-batches of ``batch_size``; plot loss against updates and time.

    X: (n, 784) float32, y: (n,) labels; the first ``n_train`` examples, ``epochs``
    passes, learning rate ``lr``. batch_size: 1 (one example at a time) up to
    n_train (the full batch). plot: a previous result's ``plot``, to redraw
    in place (and keep its time axis, so runs can be compared).
    Returns a dict: png (bytes), fig (the matplotlib Figure, for a static copy),
    plot, message (str), updates (int), seconds (training time, float),
    val_acc (float or None), diverged (bool), alt (the picture in words).
    """
    batch_size = validate.whole("batch_size", batch_size, what="examples per update")
    lr = validate.learning_rate(lr, example=0.5)
    n_train, epochs = _check_run(X, n_train, epochs)
    X, y = X[:n_train], validate.labels(y[:n_train])
    batch_size = min(int(batch_size), len(X))
    max_updates = _planned_updates(len(X), 1, epochs)
    total = _planned_updates(len(X), batch_size, epochs)
    if plot is None or plot.max_updates != max_updates:
        plot = _BatchPlot(max_updates)
    # The loss on all n_train images at ~20 moments: exact, unlike the smoothed loss
    # of recent batches, which lags behind by ~1000 examples. Measuring is not timed.
    W0 = np.zeros((X.shape[1], 10), dtype=X.dtype)
    curve = {"updates": [0], "ms": [0.0], "loss": [_mean_loss(X, y, W0, W0[0])]}
    clock = {"start": time.perf_counter(), "paused": 0.0}

    def record(p):
        t = time.perf_counter()
        curve["updates"].append(p.update)
        curve["ms"].append(1000 * (t - clock["start"] - clock["paused"]))
        curve["loss"].append(_mean_loss(X, y, p.W, p.b))
        clock["paused"] += time.perf_counter() - t

    try:
        res = train(X, y, method="minibatch", lr=lr, epochs=epochs, batch_size=batch_size, seed=seed,
                    evaluate=False, callback=record, callback_every=max(1, total // 20))
        diverged = False
    except DivergenceError as e:
        diverged, reason = True, str(e)
    updates, ms, loss = (np.asarray(curve[k]) for k in ("updates", "ms", "loss"))
    if len(ms) >= 3:
        # The first interval also holds train's set-up; estimate it from the next one instead.
        first = (ms[2] - ms[1]) * updates[1] / (updates[2] - updates[1])
        ms[1:] -= ms[1] - first
    label = "full batch" if batch_size == len(X) else ("one example" if batch_size == 1 else "")
    title = f"batch size {batch_size}" + (f" ({label})" if label else "") + f", lr = {lr:g}"
    png = plot.png(updates, ms, loss, title, diverged)
    val_acc = None
    if diverged:
        message = f"batch size {batch_size}: {reason}"
    else:
        if x_val is not None:
            val_acc = accuracy(x_val[:n_val], y_val[:n_val], res.W, res.b)
        acc = "" if val_acc is None else f", validation accuracy {val_acc:.1%}"
        message = (f"batch size {batch_size}: {updates[-1]} updates in {ms[-1]:.0f} ms, "
                   f"training loss {loss[-1]:.3f}{acc}")
    alt = (f"Two plots of the training loss, {title}: " + describe_curve(updates, loss, against="update")
           + f"; the same {len(ms)} points against time take {ms[-1]:.0f} ms")
    plot.fig.alt = alt
    return {"png": png, "fig": plot.fig, "plot": plot, "message": message,
            "updates": int(updates[-1]), "seconds": ms[-1] / 1000,
            "val_acc": val_acc, "diverged": diverged, "alt": alt}


def _mean_loss(X, y, W, b):
    """Mean cross-entropy of the model (W, b) on X: (n, 784), y: (n,) labels; inf if W blew up."""
    with np.errstate(all="ignore"):         # a diverged W overflows X W + b: that is the answer, inf
        l = logits(X, W, b)
    return cross_entropy(l, y, from_logits=True) if np.isfinite(l).all() else float("inf")


def batch_size_explorer(X, y, x_val=None, y_val=None, *, batch_size=50, n_train=500, **options):
    """A batch-size control (1 ... full batch); each choice retrains and redraws the loss curves.

    X, y, x_val, y_val, options: as for ``batch_size_explorer_update``.
    Returns a VBox (attributes ``control``, ``image``, ``status``).
    """
    n = min(validate.whole("n_train", n_train, what="how many training examples to use"), len(X))
    batch_size = validate.whole("batch_size", batch_size, what="examples per update")
    sizes = sorted({s for s in (1, 10, 50, 100, 500, n) if s <= n} | {min(batch_size, n)})
    control = ipywidgets.SelectionSlider(options=[(f"{s} (full)" if s == n else str(s), s) for s in sizes],
                                         value=min(batch_size, n), description="batch size",
                                         continuous_update=False, style={"description_width": "initial"})
    control.add_class("mnistlib-batch-size")
    status = status_line("mnistlib-batch-status")
    state = batch_size_explorer_update(control.value, X, y, x_val, y_val, n_train=n_train, **options)
    image = png_image(state["png"], "mnistlib-batch-loss")
    show_message(status, state["message"], "warn" if state["diverged"] else "ok")
    access = Access(names={"mnistlib-batch-size": "batch size: examples per update; each choice retrains"},
                    alts={"mnistlib-batch-loss": state["alt"]})

    @guarded(status)
    def redraw(change):
        state.update(batch_size_explorer_update(change["new"], X, y, x_val, y_val, n_train=n_train,
                                                plot=state["plot"], **options))
        image.value = state["png"]
        access.alt("mnistlib-batch-loss", state["alt"])
        show_message(status, state["message"], "warn" if state["diverged"] else "ok")

    control.observe(redraw, names="value")
    box = ipywidgets.VBox([control, image, status, access])
    box.add_class("mnistlib-batch-explorer")
    box.control, box.image, box.status, box.access = control, image, status, access
    return box
