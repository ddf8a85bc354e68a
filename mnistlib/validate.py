"""Checking inputs: one place that says what is wrong with an argument, and what to do.

Shape mistakes are the most common bug in this kind of code, and numpy's own
messages ("operands could not be broadcast together...") rarely say which
argument was wrong. Every public function of mnistlib checks its inputs with
the functions here, so a mistake is named the same way everywhere:

- ``labels``          class labels, as indices (n,) or one-hot rows (n, k)
- ``features``        one input row (d,) or a batch (n, d) of finite floats
- ``images``          a batch of MNIST images (n, 784), pixels in [0, 1]
- ``softmax_params``  the W and b of softmax regression
- ``learning_rate``   a positive, finite lr
- ``whole``           a whole number (epochs, batch sizes, counts)
- ``number``          a finite real number, positive or non-negative

Each returns the checked value (as an array, an int or a float) or raises a
ValueError whose message names the argument, what it should be and what it was.
"""

import math
import numbers

import numpy as np

N_PIXELS = 784      # 28 x 28
SIDE = 28
N_CLASSES = 10


# --- labels -------------------------------------------------------------------------

def labels(y, n=None, *, k=N_CLASSES, name="y", one_hot=False):
    """Class labels, checked: as indices (intp), or with ``one_hot=True`` as float rows.

    y: class indices (n,) (whole numbers 0..k-1: ints, or floats such as 3.0),
    one-hot rows (n, k), or a single label (an int, or a row of shape (k,)).
    n: the number of examples the labels must match (None: any).
    Returns (n,) indices, or (n, k) rows with ``one_hot=True``; a single label
    gives an int array of shape () or a row of shape (k,).

    Rows given to ``one_hot=True`` may be any probabilities (non-negative,
    summing to 1), e.g. softened targets; turning rows into indices needs a
    single 1 in each.
    """
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1 and k != 1:
        raise ValueError(f"{name} has shape {y.shape}; class labels must have shape "
                         f"({y.shape[0]},): use {name}.ravel()")
    single_row = y.ndim == 1 and n is None and y.shape == (k,) and y.dtype.kind == "f"
    if y.ndim == 2 or single_row:
        rows = _rows(y, k, name, exact=not one_hot)
        idx = None if one_hot else rows.argmax(axis=-1).astype(np.intp)
    elif y.ndim <= 1:
        idx = _indices(y, k, name)
        rows = None
    else:
        raise ValueError(f"{name} must be class indices of shape (n,) or one-hot rows of shape "
                         f"(n, {k}); got shape {y.shape}")
    if one_hot:
        out = rows if rows is not None else np.eye(k)[idx]
    else:
        out = idx
    if n is not None:
        got = out.shape[0] if out.ndim == (2 if one_hot else 1) else None
        if got != n:
            raise ValueError(f"{name} holds {'one label' if got is None else f'{got} labels'}, but there "
                             f"are {n} examples: give {n} labels, shape ({n},), or one-hot rows ({n}, {k})")
    return out


def _indices(y, k, name):
    """Whole numbers 0..k-1 (any int or float dtype) -> intp, else a ValueError."""
    if y.dtype.kind not in "iuf" or y.dtype == bool:
        raise ValueError(f"{name} must hold whole class numbers 0..{k - 1}; got dtype {y.dtype}")
    if y.dtype.kind == "f":
        if not np.isfinite(y).all():
            raise ValueError(f"{name} must hold whole class numbers 0..{k - 1}; it holds NaN or inf")
        if (y != np.round(y)).any():
            raise ValueError(f"{name} must hold whole class numbers 0..{k - 1}; it holds fractions "
                             f"such as {y[y != np.round(y)].flat[0]:g}")
    if y.size and (y.min() < 0 or y.max() >= k):
        raise ValueError(f"class labels must be between 0 and {k - 1}; {name} holds values from "
                         f"{y.min():g} to {y.max():g}")
    return y.astype(np.intp)


def _rows(y, k, name, exact):
    """Rows of k non-negative numbers summing to 1 (a single 1 if ``exact``) -> float, else a ValueError."""
    if y.shape[-1] != k:
        raise ValueError(f"{name} has shape {y.shape}: one-hot labels need {k} columns, one per class")
    rows = y if y.dtype.kind == "f" else y.astype(np.float64)
    sums = rows.sum(axis=-1)
    ok = np.isfinite(rows).all() and (rows >= 0).all() and np.allclose(sums, 1, atol=1e-4)
    if ok and exact:
        ok = bool(np.isin(rows, (0, 1)).all())
    if not ok:
        raise ValueError(f"{name} should hold one-hot rows: {k} non-negative numbers summing to 1, a "
                         f"single 1 for the true class; got rows summing to "
                         f"{np.round(np.atleast_1d(sums)[:5], 4).tolist()}"
                         + ("" if exact else " (soft targets must also be non-negative)"))
    return rows


# --- inputs -------------------------------------------------------------------------

def features(x, n_in=N_PIXELS, *, name="x"):
    """One input (n_in,) or a batch (n, n_in) of finite floats, else a ValueError saying what to do."""
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        hint = " (raw pixels? use x.astype(np.float32) / 255)" if x.dtype == np.uint8 else ""
        raise ValueError(f"{name} must hold floating-point numbers; got dtype {x.dtype}{hint}")
    if x.ndim == 2 and x.shape[0] == 0:
        raise ValueError(f"{name} is an empty batch, shape {x.shape}; give at least one example")
    if x.ndim not in (1, 2) or x.shape[-1] != n_in:
        raise ValueError(
            f"{name} must have shape ({n_in},) for one image or (n, {n_in}) for a batch; got shape "
            f"{x.shape}"
            + (f" (an image? flatten it with {name}.reshape(-1, 784))" if x.shape[-2:] == (SIDE, SIDE) else ""))
    # NaN makes the min and max NaN, and an infinity is one of them: checking those two numbers
    # needs no temporary array as large as x (39 MB for the 50,000 training images).
    if not (np.isfinite(x.min()) and np.isfinite(x.max())):
        # NaN in gives NaN (or class 0) out, silently; say where the bad pixel is instead.
        where = np.argwhere(~np.isfinite(x))[0]
        at = f"example {where[0]}, pixel {where[1]}" if x.ndim == 2 else f"pixel {where[0]}"
        raise ValueError(f"{name} holds NaN or infinite values (the first at {at}): the images are "
                         "broken, so check how they were made (e.g. a division by zero)")
    return x


def images(X, *, name="x"):
    """A batch X: (n, 784) of finite floats with pixels in [0, 1], else a ValueError."""
    X = features(X, N_PIXELS, name=name)
    if X.ndim != 2:
        raise ValueError(f"{name} must be a batch of shape (n, 784); got shape {X.shape}")
    high = float(X.max())
    if high > 1.5 and float(X.min()) >= 0:
        raise ValueError(f"{name} holds values up to {high:g}, but pixels should be in [0, 1]: "
                         f"if these are grey levels 0..255, divide by 255 ({name} / 255)")
    return X


def softmax_params(W, b):
    """W: (d, k) and b: (k,) floats, else a ValueError (a transposed W is named as such)."""
    W = np.asarray(W)
    b = np.asarray(b)
    if W.ndim != 2:
        raise ValueError(f"W must be a matrix of shape (784, 10); got shape {W.shape}")
    if b.shape == (W.shape[0],) and W.shape[0] != W.shape[1]:
        raise ValueError(f"W has shape {W.shape} but b has shape {b.shape}: W needs one column per "
                         f"class, shape {W.shape[::-1]}. Is W transposed? Try W.T")
    if b.shape != (W.shape[1],):
        raise ValueError(f"b must have shape ({W.shape[1]},) to match W {W.shape}; got shape {b.shape}")
    for what, a in (("W", W), ("b", b)):
        if not np.issubdtype(a.dtype, np.floating):
            raise ValueError(f"{what} must hold floating-point numbers; got dtype {a.dtype}")
    return W, b


# --- numbers ------------------------------------------------------------------------

def learning_rate(lr, *, example=0.5):
    """lr as a float: a positive, finite number, else a ValueError suggesting ``example``."""
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"the learning rate lr must be a positive number, e.g. {example:g}; got {lr!r}")
    return float(lr)


def whole(name, value, minimum=1, *, what=None, allow_none=False):
    """value as an int >= minimum (None passes if ``allow_none``), else a ValueError.

    what: what the number means, shown in the message ("passes over the training examples").
    bool and 2.5 are refused; numpy integers are fine.
    """
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be a whole number of at least {minimum}"
                         f"{f' ({what})' if what else ''}{' (or None)' if allow_none else ''}; "
                         f"got {value!r}")
    return int(value)


def number(name, value, *, minimum=0.0, allow_equal=False):
    """value as a float: finite and above ``minimum`` (or equal to it if ``allow_equal``)."""
    ok = (not isinstance(value, bool) and isinstance(value, numbers.Real) and math.isfinite(value)
          and (value >= minimum if allow_equal else value > minimum))
    if not ok:
        kind = ("non-negative" if allow_equal else "positive") if minimum == 0 else ""
        bound = "" if minimum == 0 else f" {'at least' if allow_equal else 'above'} {minimum:g}"
        raise ValueError(f"{name} must be a {kind + ' ' if kind else ''}number{bound}; got {value!r}")
    return float(value)
