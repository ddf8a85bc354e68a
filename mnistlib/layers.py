"""Layers as pairs of functions: a forward pass and a backward pass.

Every layer is two plain functions and keeps no state:

    out, cache = thing_forward(x, *params)      compute the output; keep what backward needs
    dx, *dparams = thing_backward(dout, cache)  the chain rule, one layer's worth

``dout`` is dL/dout, the gradient of the loss with respect to the layer's output
(same shape as ``out``); backward returns dL/dx (shaped like x), then the
gradient of each parameter in the order forward took them (shaped like them).
A network is these calls in order, then the same layers' backward calls in
reverse order: see ``mnistlib.mlp``. The loss comes last and starts the backward
pass: ``softmax_cross_entropy`` returns the loss L and dL/dl together.

The layers work on batches: x has one row per example, shape (n, ...).
``init_weights`` draws a layer's random starting weights.
"""

import threading

import numpy as np

from .model import as_one_hot, log_softmax


# --- linear (affine): out = x W + b ---------------------------------------------

def linear_forward(x, W, b):
    """out = x W + b.

    x: (n, d_in), W: (d_in, d_out), b: (d_out,) -> out: (n, d_out).
    cache: (x, W).
    """
    x = np.asarray(x)
    if x.ndim != 2 or W.ndim != 2 or x.shape[1] != W.shape[0] or b.shape != (W.shape[1],):
        raise ValueError(f"linear_forward needs x: (n, d_in), W: (d_in, d_out), b: (d_out,); got "
                         f"x {x.shape}, W {W.shape}, b {b.shape}"
                         + (" (flatten the images first: x.reshape(len(x), -1))" if x.ndim > 2 else ""))
    return x @ W + b, (x, W)


def linear_backward(dout, cache):
    """dx, dW, db of out = x W + b, given dout = dL/dout: (n, d_out).

        dx = dout W^T     (n, d_in)      each input feeds every output, through W
        dW = x^T dout     (d_in, d_out)  summed over the batch
        db = sum of dout over the batch  (d_out,)
    """
    x, W = cache
    return dout @ W.T, x.T @ dout, dout.sum(axis=0)


# --- ReLU: out = max(0, x) ------------------------------------------------------

def relu_forward(x):
    """out = max(0, x), elementwise; any shape.  cache: x."""
    return np.maximum(x, 0), x


def relu_backward(dout, cache):
    """dx = dout where x > 0, else 0.

    At x = 0 exactly, ReLU has no derivative; we take 0 there (any value in
    [0, 1] would do, and a float input is almost never exactly 0).
    """
    x = cache
    return dout * (x > 0)


# --- flatten: (n, C, h, w) -> (n, C*h*w) -----------------------------------------

def flatten_forward(x):
    """out = x.reshape(n, -1): every example's numbers in one row.  cache: x.shape.

    The MNIST CNN: (n, 16, 4, 4) -> (n, 256), ready for a linear layer.
    """
    return x.reshape(len(x), -1), x.shape


def flatten_backward(dout, cache):
    """dx = dout reshaped back to the input's shape: flattening moves numbers, it computes nothing."""
    return dout.reshape(cache)


# --- the loss: softmax, then cross-entropy ---------------------------------------

def softmax_cross_entropy(l, y):
    """The mean cross-entropy of softmax(l) and its gradient: (L, dl).

        p = softmax(l)                   L = -(1/n) sum_i log p_i,y_i
        dL/dl = (p - y) / n              y one-hot; the 1/n because L is a mean

    l: (n, k) logits; y: (n,) class indices or (n, k) one-hot.
    L: a float, never NaN for finite logits: finite wherever the true loss is below the
    largest float64 (about 1.8e308), +inf only where it is above; dl: (n, k), l's dtype.
    """
    l = np.asarray(l)
    if l.ndim != 2:
        raise ValueError(f"softmax_cross_entropy needs logits of shape (n, k); got shape {l.shape}")
    n = l.shape[0]
    y = as_one_hot(y, l.shape[1], n=n)
    # float64 inside: float16 or float32 logits whose spread overflows their own type
    # (65504 and -65504 in float16) are exact in it.
    logp = log_softmax(l.astype(np.float64, copy=False))
    # Only the classes with y_j > 0 count: 0 * log p_j must be 0 even where log p_j = -inf.
    terms = np.multiply(y, logp, out=np.zeros(logp.shape), where=y > 0)
    L = _mean(-terms.sum(axis=1))
    dl = (np.exp(logp) - y) / n
    return L, dl.astype(l.dtype if np.issubdtype(l.dtype, np.floating) else np.float64, copy=False)


def _mean(losses):
    """The mean of non-negative losses, finite whenever it fits in a float64 (their sum may not)."""
    with np.errstate(over="ignore"):
        mean = losses.sum() / len(losses)
    if np.isinf(mean) and np.isfinite(losses).all():
        mean = (losses / len(losses)).sum()
    return float(mean)


def softmax_cross_entropy_(l, y):
    """``softmax_cross_entropy`` for the fused training steps: l becomes dL/dl, in place.

    l: (n, k) float logits, overwritten with (p - y) / n; y: (n,) class indices
    (the caller checks them). Returns L. The same numbers as
    ``softmax_cross_entropy``, with no new (n, k) array.
    """
    n = len(l)
    rows = np.arange(n)
    l -= l.max(axis=1, keepdims=True)     # the largest logit is now 0: exp cannot overflow
    l_true = l[rows, y]
    np.exp(l, out=l)
    total = l.sum(axis=1, keepdims=True)
    L = float(np.log(total).sum() - l_true.sum()) / n
    l /= total                            # p
    l[rows, y] -= 1                       # p - y
    l /= n
    return L


# --- starting weights ---------------------------------------------------------------

def init_weights(rng, shape, fan_in, fan_out, init="he", dtype=np.float32):
    """Starting weights of the given shape, drawn from the generator ``rng``.

    fan_in: how many inputs each output of the layer adds up (the rows of W;
    C*kh*kw for a kernel); fan_out: how many outputs each input feeds. init:
    - "he": normal with variance 2 / fan_in, which keeps the outputs about as
      large as the inputs when a ReLU sets about half of them to 0;
    - "glorot": normal with variance 2 / (fan_in + fan_out);
    - "zeros": all 0 (fine for the softmax model, fatal for a hidden layer:
      units that start equal get equal gradients and stay equal);
    - a number s >= 0: normal with standard deviation s.
    """
    if init == "he":
        std = np.sqrt(2 / fan_in)
    elif init == "glorot":
        std = np.sqrt(2 / (fan_in + fan_out))
    elif init == "zeros":
        std = 0.0
    elif isinstance(init, (int, float)) and not isinstance(init, bool) and init >= 0:
        std = float(init)
    else:
        raise ValueError(f'init must be "he", "glorot", "zeros" or a standard deviation >= 0; got {init!r}')
    return (std * rng.standard_normal(shape)).astype(dtype)


# --- work arrays for the fused training steps ------------------------------------------

# One store per thread: the model chooser trains in the background while a notebook may train too.
_kept = threading.local()


def work_arrays(key, make):
    """The work arrays for ``key`` (e.g. a batch size and dtype), made by ``make()`` on first use.

    The fused ``sgd_step``s reuse them from one update to the next: at 50 to 100
    examples a batch, fresh arrays (and their page faults) cost about as much as
    the arithmetic. A few keys are kept per thread (the last batch of an epoch may
    be shorter), the oldest dropped first.
    """
    kept = _kept.__dict__.setdefault("arrays", {})
    if key not in kept:
        if len(kept) >= 4:
            kept.pop(next(iter(kept)))
        kept[key] = make()
    return kept[key]


# --- large batches, a chunk at a time ----------------------------------------------------

def mean_in_chunks(loss_and_grads, n, chunk):
    """(L, grads), the mean loss and gradients over n examples, computed ``chunk`` examples at a time.

    loss_and_grads(start, stop) -> (L, grads) of the examples start to stop - 1, each a
    mean over them. The mean over all n is the chunks' means weighted by their sizes: the
    same numbers as one batch of n (up to rounding), in the memory of one chunk.
    """
    L, grads = 0.0, None
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        L_chunk, grads_chunk = loss_and_grads(start, stop)
        weight = (stop - start) / n
        L += weight * L_chunk
        if grads is None:
            grads = {k: weight * g for k, g in grads_chunk.items()}
        else:
            for k, g in grads_chunk.items():
                grads[k] += weight * g
    return L, grads
