"""Evaluating a trained model: where it is right, where it is wrong, and how it breaks.

- choosing:      ``choose_recipe`` (train each candidate, keep the best on validation)
- counting:      ``confusion_matrix``, ``per_class_accuracy``, ``most_confident_mistakes``
- abstaining:    ``coverage_at_thresholds`` (answer only when max_j p_j >= t)
- explaining:    ``contributions`` (l_j = sum_i x_i W_ij + b_j, pixel by pixel)
- robustness:    ``add_noise``, ``rotate``, ``shift`` (numpy only) and ``robustness_curve``
- pictures:      ``confusion_figure``, ``coverage_figure``, ``robustness_figure``
                 (matplotlib Figures, no pyplot, like ``plots``; the contributions of
                 one image are drawn by ``plots.contributions_figure``)

Labels y: (n,) class indices 0..9 (or (n, 10) one-hot rows). Probabilities p: (n, 10).
"""

from collections import namedtuple

import numpy as np
from matplotlib.figure import Figure

from . import validate
from .model import predict
from .plots import described
from .validate import N_CLASSES, SIDE


# --- checking inputs -------------------------------------------------------

def _probs_and_labels(p, y):
    p = np.asarray(p, dtype=float)
    if p.ndim != 2 or p.shape[1] != N_CLASSES:
        raise ValueError(f"p must have shape (n, {N_CLASSES}); got shape {p.shape}")
    return p, validate.labels(y, len(p))


# --- choosing a recipe on the validation set ------------------------------------

def choose_recipe(grid, x_train, y_train, x_val, y_val):
    """Train once with each candidate of ``grid``; keep the one with the best validation accuracy.

    grid: a list of dicts of ``train`` keyword arguments, e.g. ``{"lr": 1.0, "epochs": 4}``.
    Each candidate is trained on (x_train, y_train) and measured on (x_val, y_val): the
    test set plays no part. Returns (best, val_accs): the winning dict (the first, if
    several tie) and the validation accuracy of every candidate, in grid order. A
    candidate whose training diverges scores nan and cannot win.
    """
    from .train import DivergenceError, accuracy_of, train

    if not isinstance(grid, (list, tuple)) or not grid or not all(isinstance(s, dict) for s in grid):
        raise ValueError("grid must be a non-empty list of dicts of train() settings, "
                         f"e.g. [{{'lr': 0.5}}, {{'lr': 1.0}}]; got {grid!r:.80}")
    val_accs = []
    for settings in grid:
        try:
            result = train(x_train, y_train, **{**settings, "evaluate": False})
        except DivergenceError:
            val_accs.append(float("nan"))
            continue
        val_accs.append(accuracy_of(result.model, result.params, x_val, validate.labels(y_val, name="y_val")))
    if all(np.isnan(val_accs)):
        raise ValueError("training diverged for every candidate of the grid: lower the learning rates")
    return grid[int(np.nanargmax(val_accs))], val_accs


# --- counting right and wrong -----------------------------------------------

def confusion_matrix(y_true, y_pred, k=N_CLASSES):
    """C[i, j] = number of images of true class i predicted as class j.  -> (k, k) int64.

    The diagonal holds the correct answers; row i sums to the number of images of class i.
    """
    y_true = validate.labels(y_true, k=k, name="y_true")
    y_pred = validate.labels(y_pred, k=k, name="y_pred")
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred must have the same shape; got {y_true.shape} and {y_pred.shape}")
    # Each pair (i, j) gets its own bin i*k + j; counting bins counts pairs.
    return np.bincount(y_true * k + y_pred, minlength=k * k).reshape(k, k).astype(np.int64)


def per_class_accuracy(C):
    """Fraction of each true class predicted correctly: C[i, i] / sum_j C[i, j].  -> (k,) float.

    A class with no images gets nan (there is nothing to be right about).
    """
    C = np.asarray(C)
    if C.ndim != 2 or C.shape[0] != C.shape[1]:
        raise ValueError(f"C must be a square confusion matrix; got shape {C.shape}")
    totals = C.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(C) / totals, np.nan)


def most_confident_mistakes(p, y, n=10):
    """Indices of the n wrong predictions with the highest probability on the wrong class.

    p: (m, 10) probabilities, y: (m,) labels. Ties keep the lower index first.
    """
    p, y = _probs_and_labels(p, y)
    pred = p.argmax(axis=1)
    wrong = np.flatnonzero(pred != y)
    confidence = p[wrong, pred[wrong]]
    order = np.argsort(-confidence, kind="stable")
    return wrong[order[:n]]


# --- abstaining: "I don't know" ---------------------------------------------

Coverage = namedtuple("Coverage", "thresholds coverage accuracy")
Coverage.__doc__ = """For each threshold t: the fraction of images answered (max p >= t)
and the accuracy on those answered (nan if none is answered)."""


def coverage_at_thresholds(p, y, thresholds):
    """Answer only when the model is confident enough: max_j p_j >= t.

    p: (n, 10) probabilities, y: (n,) labels, thresholds: (m,) values in [0, 1].
    Returns Coverage(thresholds, coverage, accuracy), each (m,) float.
    Raising t answers fewer images (coverage never grows) and usually more of them right.
    """
    p, y = _probs_and_labels(p, y)
    t = np.asarray(thresholds, dtype=float).reshape(-1)
    if t.size and (t.min() < 0 or t.max() > 1):
        raise ValueError(f"thresholds must lie in [0, 1]; got values from {t.min()} to {t.max()}")
    confidence = p.max(axis=1)
    correct = p.argmax(axis=1) == y
    answered = confidence[None, :] >= t[:, None]          # (m, n)
    n_answered = answered.sum(axis=1)
    coverage = n_answered / max(len(y), 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = np.where(n_answered > 0, (answered & correct).sum(axis=1) / n_answered, np.nan)
    return Coverage(t, coverage, accuracy)


# --- explaining one prediction ----------------------------------------------

def contributions(x, W, j):
    """What each pixel adds to the logit of class j: x_i * W_ij.  x: (784,) -> (784,).

    They sum to the logit without the bias: l_j = sum_i x_i W_ij + b_j.
    """
    x = np.asarray(x)
    W = np.asarray(W)
    if x.shape != (W.shape[0],):
        raise ValueError(f"x must be one image of shape ({W.shape[0]},); got shape {x.shape}")
    if not 0 <= int(j) < W.shape[1]:
        raise ValueError(f"class j must be between 0 and {W.shape[1] - 1}; got {j}")
    return x * W[:, int(j)]


# --- robustness: transformed test images ------------------------------------
# numpy only, so the series needs no scipy. Each transform takes a batch of
# images, flat (n, 784) or square (n, 28, 28), and returns the same shape.

def _as_square(x):
    x = np.asarray(x)
    if x.ndim == 2 and x.shape[1] == SIDE * SIDE:
        return x.reshape(-1, SIDE, SIDE)
    if x.ndim == 3 and x.shape[1:] == (SIDE, SIDE):
        return x
    hint = " (one image? use x[None])" if x.shape in ((784,), (28, 28)) else ""
    raise ValueError(f"x must be a batch of images of shape (n, 784) or (n, 28, 28); got shape {x.shape}{hint}")


def _check_float(x):
    if not np.issubdtype(x.dtype, np.floating):
        hint = " (raw pixels? use x.astype(np.float32) / 255)" if x.dtype == np.uint8 else ""
        raise ValueError(f"x must hold floating-point pixels in [0, 1]; got dtype {x.dtype}{hint}")


def add_noise(x, sigma, seed=0):
    """x + N(0, sigma^2) per pixel, clipped back to [0, 1]. Same shape and dtype as x.

    The noise comes from np.random.default_rng(seed), so a seed gives the same images every time.
    """
    x = np.asarray(x)
    _as_square(x)
    _check_float(x)
    if not (np.isfinite(sigma) and sigma >= 0):
        raise ValueError(f"sigma must be a number >= 0; got {sigma!r}")
    work = np.float32 if x.dtype == np.float32 else np.float64   # the dtypes the generator draws
    noise = np.random.default_rng(seed).standard_normal(x.shape, dtype=work)
    out = x + work(sigma) * noise
    return np.clip(out, 0, 1, out=out).astype(x.dtype, copy=False)


def shift(x, dx, dy):
    """Move each image dx pixels right and dy pixels down (negative: left, up); zeros fill in.

    Pixels pushed past the edge are lost. Same shape and dtype as x.
    """
    if int(dx) != dx or int(dy) != dy:
        raise ValueError(f"dx and dy must be whole numbers of pixels; got dx={dx!r}, dy={dy!r}")
    dx, dy = int(dx), int(dy)
    img = _as_square(x)
    out = np.zeros_like(img)
    if abs(dx) < SIDE and abs(dy) < SIDE:
        # out[r, c] = img[r - dy, c - dx] wherever both are inside the image.
        rows_out, rows_in = slice(max(dy, 0), SIDE + min(dy, 0)), slice(max(-dy, 0), SIDE + min(-dy, 0))
        cols_out, cols_in = slice(max(dx, 0), SIDE + min(dx, 0)), slice(max(-dx, 0), SIDE + min(-dx, 0))
        out[:, rows_out, cols_out] = img[:, rows_in, cols_in]
    return out.reshape(np.shape(x))


def rotate(x, degrees):
    """Rotate each image counter-clockwise by ``degrees`` about its centre (bilinear, zeros outside).

    Inverse mapping: for every output pixel, find where it came from in the input
    (rotate its position back by -degrees) and blend the four pixels around that
    point. Every output pixel gets a value, so there are no holes. Same shape as x.
    """
    img = _as_square(x)
    _check_float(img)
    if not np.isfinite(degrees):
        raise ValueError(f"degrees must be a finite number; got {degrees!r}")
    theta = np.deg2rad(degrees)
    c = (SIDE - 1) / 2                                   # centre between the middle pixels: 13.5
    r_out, c_out = np.mgrid[0:SIDE, 0:SIDE].astype(float)
    # Positions relative to the centre, with y pointing up as on screen.
    u, v = c_out - c, c - r_out
    u_in = np.cos(theta) * u + np.sin(theta) * v
    v_in = -np.sin(theta) * u + np.cos(theta) * v
    r_in, c_in = c - v_in, c + u_in
    r0, c0 = np.floor(r_in).astype(int), np.floor(c_in).astype(int)
    fr, fc = r_in - r0, c_in - c0
    # Pixels as rows, images as columns: gathering whole rows is much faster
    # than picking the same scattered columns out of every image.
    pixels = np.ascontiguousarray(img.reshape(len(img), SIDE * SIDE).T)      # (784, n)
    out = np.zeros_like(pixels)
    for dr, dc, w in ((0, 0, (1 - fr) * (1 - fc)), (0, 1, (1 - fr) * fc),
                      (1, 0, fr * (1 - fc)), (1, 1, fr * fc)):
        rr, cc = r0 + dr, c0 + dc
        inside = ((rr >= 0) & (rr < SIDE) & (cc >= 0) & (cc < SIDE)).ravel()
        # Neighbours outside the image count as 0: only the inside ones are added.
        source = (rr * SIDE + cc).ravel()[inside]
        out[inside] += w.ravel()[inside, None].astype(pixels.dtype) * pixels[source]
    return np.ascontiguousarray(out.T).reshape(np.shape(x))


def robustness_curve(X, y, W, b, transform, values):
    """Accuracy on transform(X, v) for each v in values.  -> (len(values),) float.

    transform: a function (x, v) -> transformed x, e.g. ``lambda x, s: add_noise(x, s, seed=0)``.
    """
    y = validate.labels(y)
    return np.array([float(np.mean(predict(np.asarray(transform(X, v)).reshape(len(y), -1), W, b) == y))
                     for v in values])


# --- pictures ---------------------------------------------------------------

def confusion_figure(C, *, fig=None, title=None):
    """The confusion matrix as a grid of counts; off-diagonal cells are shaded by count."""
    C = np.asarray(C)
    k = C.shape[0]
    # Shade the mistakes only: the diagonal is so much larger it would wash them out.
    off = np.where(np.eye(k, dtype=bool), 0, C)
    if fig is None:
        fig = Figure(figsize=(6.2, 5.4), layout="constrained")
        ax = fig.subplots()
        ax.imshow(np.zeros((k, k)), cmap="Reds", vmin=0, vmax=1)
        ax.set_xticks(range(k))
        ax.set_yticks(range(k))
        ax.set_xlabel("predicted class")
        ax.set_ylabel("true class")
    ax = fig.axes[0]
    ax.images[0].set_data(off)
    ax.images[0].set_clim(0, max(int(off.max()), 1))
    for t in list(ax.texts):
        t.remove()
    top = max(int(off.max()), 1)
    for i in range(k):
        for j in range(k):
            bold = "bold" if i == j else "normal"
            colour = "white" if i != j and C[i, j] > 0.6 * top else "black"
            ax.text(j, i, str(int(C[i, j])), ha="center", va="center", fontsize=8,
                    fontweight=bold, color=colour)
    ax.set_title(title if title is not None else "confusion matrix (diagonal = correct)")
    worst = np.unravel_index(np.argmax(off), off.shape)
    return described(fig, f"Confusion matrix of {int(C.sum()):,} images, true class down and predicted class "
                          f"across: {int(np.trace(C)):,} on the diagonal are right; the commonest mistake is a "
                          f"{worst[0]} read as {worst[1]}, {int(off.max())} times")


def coverage_figure(cov, *, title=None):
    """Coverage and accuracy against the confidence threshold, from ``coverage_at_thresholds``."""
    fig = Figure(figsize=(6, 3.6), layout="constrained")
    ax = fig.subplots()
    ax.plot(cov.thresholds, cov.coverage, marker="o", label="answered (coverage)")
    ax.plot(cov.thresholds, cov.accuracy, marker="s", label="accuracy on answered")
    ax.set_xlabel("confidence threshold t (answer only if max p >= t)")
    ax.set_ylabel("fraction")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left")
    if title is not None:
        ax.set_title(title)
    t, c, a = cov.thresholds, cov.coverage, cov.accuracy
    return described(fig, f"Coverage and accuracy on the answered images against the confidence threshold, from "
                          f"{t[0]:g} to {t[-1]:g}: coverage goes from {c[0]:.0%} to {c[-1]:.0%}, accuracy on the "
                          f"answered from {a[0]:.1%} to {a[-1]:.1%}")


def robustness_figure(panels, *, title=None):
    """One accuracy curve per transform.  panels: list of (values, accuracies, xlabel)."""
    fig = Figure(figsize=(4 * len(panels), 3.4), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False).ravel()
    for ax, (values, acc, xlabel) in zip(axes, panels):
        ax.plot(values, acc, marker="o")
        ax.set_xlabel(xlabel)
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("test accuracy")
    if title is not None:
        fig.suptitle(title)
    return described(fig, "Test accuracy against " + "; against ".join(
        f"{xlabel}: {acc[0]:.0%} at {values[0]:g}, {acc[-1]:.0%} at {values[-1]:g}" for values, acc, xlabel in panels))
