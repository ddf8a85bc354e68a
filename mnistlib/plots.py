"""Pictures: digits, weight heatmaps, loss curves, probability bars.

Each function returns a matplotlib ``Figure`` built without pyplot, so nothing
is shown twice and nothing piles up in pyplot's list of open figures. Pass the
figure back in (``fig=...``) to redraw it in place: the images and lines are
updated instead of a new figure being made, which keeps widgets fast and lets
a notebook update one picture through a display handle.
"""

import io

import numpy as np
from matplotlib.figure import Figure

CLASSES = tuple(range(10))


def fig_to_png(fig, dpi=None):
    """The figure as PNG bytes (for ipywidgets.Image and for saving)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def _as_images(x):
    x = np.asarray(x)
    if x.shape[-1] == 784:
        x = x.reshape(x.shape[:-1] + (28, 28))
    if x.shape[-2:] != (28, 28):
        raise ValueError(f"expected images of shape (n, 784) or (n, 28, 28); got shape {x.shape}")
    return x


def digit_grid(x, y=None, *, ncols=10, titles=None, fig=None):
    """A grid of digits. x: (n, 784) or (n, 28, 28); y: optional labels shown above each."""
    x = _as_images(x)
    if x.ndim == 2:
        x = x[None]
    n = len(x)
    nrows = -(-n // ncols)
    if fig is None:
        fig = Figure(figsize=(ncols * 0.9, nrows * 1.0 + 0.2), layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
        for ax in axes:
            ax.set_axis_off()
        for i, ax in enumerate(axes[:n]):
            ax.imshow(x[i], cmap="gray_r", vmin=0, vmax=x.max() if x.max() > 1 else 1)
    else:
        for ax, img in zip(fig.axes, x):
            ax.images[0].set_data(img)
    labels = titles if titles is not None else (None if y is None else [str(int(v)) for v in np.asarray(y)[:n]])
    if labels is not None:
        for ax, t in zip(fig.axes, labels):
            ax.set_title(t, fontsize=10)
    return fig


def weight_heatmaps(W, *, fig=None, title=None, shared_scale=False):
    """Each class's 784 weights (a column of W: (784, 10)) drawn as a 28x28 image.

    Red pixels push that class's logit up, blue pixels push it down; white is
    zero. Each image has its own symmetric colour scale unless ``shared_scale``.
    """
    W = np.asarray(W)
    if W.shape != (784, 10):
        raise ValueError(f"W must have shape (784, 10); got shape {W.shape}")
    vmax_all = float(np.abs(W).max()) or 1.0
    if fig is None:
        fig = Figure(figsize=(10, 4.6), layout="constrained")
        axes = fig.subplots(2, 5).ravel()
        for j, ax in enumerate(axes):
            ax.imshow(np.zeros((28, 28)), cmap="RdBu_r", vmin=-1, vmax=1)
            ax.set_title(f"class {j}")
            ax.set_axis_off()
    for j, ax in enumerate(fig.axes[:10]):
        vmax = vmax_all if shared_scale else (float(np.abs(W[:, j]).max()) or 1.0)
        im = ax.images[0]
        im.set_data(W[:, j].reshape(28, 28))
        im.set_clim(-vmax, vmax)
    if title is not None:
        fig.suptitle(title)
    return fig


def loss_curve(x, loss, *, fig=None, xlabel="epoch", ylabel="training loss", label=None, title=None):
    """A loss curve; with ``fig``, the first line is replaced by the new data."""
    if fig is None:
        fig = Figure(figsize=(6, 3.6), layout="constrained")
        ax = fig.subplots()
        ax.plot([], [], marker="o" if len(loss) < 30 else None, label=label)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
    ax = fig.axes[0]
    line = ax.lines[0]
    line.set_data(np.asarray(x), np.asarray(loss))
    if label is not None:
        line.set_label(label)
        ax.legend()
    ax.relim()
    ax.autoscale_view()
    if title is not None:
        ax.set_title(title)
    return fig


def probability_bars(p, *, true=None, fig=None, title=None):
    """Ten bars, one per class; the predicted class is highlighted, the true one outlined."""
    p = np.asarray(p, dtype=float).reshape(-1)
    if p.shape != (10,):
        raise ValueError(f"p must have 10 probabilities; got shape {p.shape}")
    if fig is None:
        fig = Figure(figsize=(5, 3), layout="constrained")
        ax = fig.subplots()
        ax.bar(CLASSES, np.zeros(10), color="#9ab")
        ax.set_xticks(CLASSES)
        ax.set_ylim(0, 1)
        ax.set_xlabel("class")
        ax.set_ylabel("probability")
    ax = fig.axes[0]
    best = int(np.argmax(p))
    for j, bar in enumerate(ax.patches):
        bar.set_height(p[j])
        bar.set_color("#d62728" if j == best else "#9ab")
        bar.set_edgecolor("black" if true is not None and j == int(true) else "none")
        bar.set_linewidth(2)
    ax.set_title(title if title is not None else f"prediction: {best} ({p[best]:.0%})")
    return fig
