"""The model: one fully-connected layer of ten neurons, then softmax.

    l = x W + b            logits         x: (784,) or (n, 784),  W: (784, 10),  b: (10,)
    p = softmax(l)         probabilities  p: (10,) or (n, 10), each row sums to 1
    L = -sum_j y_j log p_j cross-entropy  averaged over the batch

Every function accepts a single example (x of shape (784,)) or a batch
(x of shape (n, 784)). Labels ``y`` may be class indices (an int, or shape
(n,)) or one-hot rows (shape (10,) or (n, 10)).
"""

import numpy as np

from . import validate
from .validate import N_CLASSES, N_PIXELS


def as_one_hot(y, k, n=None):
    """Labels as one-hot rows: y as indices (n,) or one-hot (n, k) -> (n, k) float.

    A single label (an int, or a one-hot row of shape (k,)) gives shape (k,).
    ``n``, if given, is the number of examples the labels must match. Checked by
    ``mnistlib.validate.labels``.
    """
    return validate.labels(y, n, k=k, one_hot=True)


# --- forward pass -----------------------------------------------------------

def init_params(n_in=N_PIXELS, n_out=N_CLASSES, *, scale=0.0, seed=0, dtype=np.float32):
    """Initial W: (n_in, n_out) and b: (n_out,).

    Zeros work for softmax regression (the loss is convex, so no symmetry needs
    breaking); ``scale > 0`` draws W from N(0, scale^2) with a seeded generator.
    """
    rng = np.random.default_rng(seed)
    W = (scale * rng.standard_normal((n_in, n_out))).astype(dtype)
    b = np.zeros(n_out, dtype=dtype)
    return W, b


def logits(x, W, b):
    """l = x W + b.  x: (784,) or (n, 784) -> l: (10,) or (n, 10)."""
    W, b = validate.softmax_params(W, b)
    x = validate.features(x, W.shape[0])
    return x @ W + b


def log_softmax(l):
    """log p_j = l_j - log sum_k exp(l_k), computed without overflow.

    Subtracting max_k l_k first changes nothing mathematically (softmax is
    invariant to adding a constant) but keeps every exp() at most exp(0) = 1.
    """
    l = _check_logits(l)
    with np.errstate(over="ignore"):   # a spread beyond the float range gives -inf: log p rounds to it
        shifted = l - l.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def softmax(l):
    """p_j = exp(l_j) / sum_k exp(l_k).  l: (10,) or (n, 10) -> p, rows summing to 1.

    Finite for any finite logits: the largest logit becomes exp(0) = 1, so the
    denominator is at least 1 and nothing overflows.
    """
    l = _check_logits(l)
    with np.errstate(over="ignore"):
        e = np.exp(l - l.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _check_logits(l):
    """l as a float array with at least one entry per row, all finite, else a ValueError."""
    l = np.asarray(l)
    if not np.issubdtype(l.dtype, np.floating):
        l = l.astype(np.float64)
    if l.ndim == 0 or l.shape[-1] == 0 or l.size == 0:
        raise ValueError(f"logits must have shape (10,) or (n, 10); got shape {l.shape}")
    if not np.isfinite(l).all():
        raise ValueError("logits must be finite numbers; got NaN or inf (did training diverge, or do "
                         "the inputs hold NaN?)")
    return l


def cross_entropy(p, y, *, from_logits=False):
    """L = -sum_j y_j log p_j, averaged over the batch (a float).

    p: probabilities (10,) or (n, 10), each in [0, 1] and each row summing to 1
    (else a ValueError: logits that happen to lie in [0, 1] are not probabilities);
    with ``from_logits=True``, logits instead, and log p comes from log_softmax so it
    is finite even when p underflows to 0: finite for any finite logits whose spread
    (largest minus smallest) is below the largest float64, about 1.8e308.
    y: class indices or one-hot rows (non-negative, each summing to 1).
    """
    p = np.asarray(p)
    what = "logits" if from_logits else "p"
    if p.ndim not in (1, 2):
        raise ValueError(f"expected {what} of shape (10,) or (n, 10); got shape {p.shape}")
    if p.ndim == 2 and p.shape[0] == 0:
        raise ValueError(f"{what} is an empty batch, shape {p.shape}; give at least one example")
    y = as_one_hot(y, p.shape[-1], n=p.shape[0] if p.ndim == 2 else None)
    if y.shape != p.shape:
        raise ValueError(f"y has shape {y.shape} but {what} has shape {p.shape}")
    if from_logits:
        # float64: logits of +-3e38 in float32 (or +-65000 in float16) have a spread that only
        # overflows in their own precision.
        logp = log_softmax(np.asarray(p, dtype=np.float64))
    else:
        _check_probabilities(p)
        # p can round to exactly 0; the smallest positive float keeps log() finite.
        logp = np.log(np.maximum(p, np.finfo(np.result_type(p, np.float32)).tiny))
    # Only the classes with y_j > 0 count: 0 * log p_j must be 0 even where log p_j = -inf.
    terms = np.multiply(y, logp, out=np.zeros(np.broadcast_shapes(y.shape, logp.shape)), where=y > 0)
    per_example = -terms.sum(axis=-1)
    return float(np.mean(per_example))


def _check_probabilities(p):
    """A ValueError unless every entry of p is in [0, 1] and every row sums to 1 (up to rounding)."""
    if not np.isfinite(p).all() or (p < 0).any() or (p > 1 + 1e-6).any():
        raise ValueError("p must hold probabilities between 0 and 1 (the output of softmax); got "
                         f"values from {np.nanmin(p):.4g} to {np.nanmax(p):.4g}"
                         + (" and NaN" if np.isnan(p).any() else "")
                         + ". Logits? Use from_logits=True")
    # Rounding: softmax's rows sum to 1 within a few units of the last place of p's float type.
    tol = max(1e-6, 32 * np.finfo(np.result_type(p.dtype, np.float16)).eps)
    sums = p.sum(axis=-1, dtype=np.float64).reshape(-1)
    bad = np.flatnonzero(np.abs(sums - 1) > tol)
    if bad.size:
        where = f"row {bad[0]} of p sums" if p.ndim == 2 else "p sums"
        raise ValueError(f"p must be probabilities whose rows each sum to 1 (the output of softmax); "
                         f"{where} to {sums[bad[0]]:.6g}. Logits that happen to lie between 0 and 1? "
                         "Use from_logits=True")


# --- backward pass ----------------------------------------------------------

def gradients(x, y, W, b):
    """Gradients of the mean cross-entropy with respect to W and b.

        dL/dl_j  = p_j - y_j
        dL/dW_ij = x_i (p_j - y_j)      batch: dW = x^T (p - y) / n
        dL/db_j  = p_j - y_j            batch: db = mean over rows of (p - y)

    x: (784,) or (n, 784); y: labels; returns (dW: (784, 10), db: (10,), loss).
    """
    l = logits(x, W, b)
    y1 = as_one_hot(y, l.shape[-1], n=l.shape[0] if l.ndim == 2 else None).astype(l.dtype)
    p = softmax(l)
    loss = cross_entropy(l, y1, from_logits=True)
    delta = p - y1
    if l.ndim == 1:
        return np.outer(x, delta), delta, loss
    n = l.shape[0]
    return x.T @ delta / n, delta.mean(axis=0), loss


# --- using the model --------------------------------------------------------

def predict(x, W, b):
    """The predicted class, argmax_j l_j: an int for one image, (n,) ints for a batch."""
    return np.argmax(logits(x, W, b), axis=-1)


def accuracy(x, y, W, b):
    """Fraction of examples whose predicted class equals the label (a float in [0, 1])."""
    k = np.shape(W)[-1]
    if np.ndim(x) == 1:                      # one example, one label
        x, y = np.asarray(x)[None, :], validate.labels(y, k=k).reshape(-1)
    y = validate.labels(y, len(x), k=k)
    return float(np.mean(predict(x, W, b) == y))


def error_rate(x, y, W, b):
    """1 - accuracy: the fraction of examples the model gets wrong."""
    return 1.0 - accuracy(x, y, W, b)

