"""Gradient descent for the softmax model, three ways.

    W <- W - lr * dL/dW        b <- b - lr * dL/db

- ``method="example"``:   one example at a time (stochastic gradient descent,
  as the derivation states it);
- ``method="minibatch"``: the mean gradient over ``batch_size`` examples;
- ``method="full"``:      the mean gradient over the whole training set.

An epoch is one pass over all training examples, in a fresh random order each
time (drawn from a seeded generator, so runs repeat exactly).
"""

import math
import time
from dataclasses import dataclass, field

import numpy as np
from threadpoolctl import threadpool_limits

from .model import accuracy, as_one_hot, gradients, init_params, log_softmax, _check_params, _check_x

METHODS = ("example", "minibatch", "full")

# Batches up to this size run their matrix products on one BLAS thread. A
# (100, 784) x (784, 10) product is too small to split: handing half of it to a
# second thread costs more than it saves, and far more when other programs share
# the cores (benchmarks/README.md has the figures). Larger batches use all threads.
ONE_THREAD_MAX_BATCH = 1000


class DivergenceError(RuntimeError):
    """Training stopped because the loss blew up. ``.history`` holds what was recorded."""

    def __init__(self, message, history=None, W=None, b=None):
        super().__init__(message)
        self.history = history
        self.W, self.b = W, b


@dataclass
class History:
    """Per-epoch record. ``loss`` is the mean training loss over the epoch's updates."""
    epoch: list = field(default_factory=list)
    updates: list = field(default_factory=list)
    seconds: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    test_acc: list = field(default_factory=list)
    # Smoothed loss every ``log_every`` updates, for curves finer than an epoch.
    step_updates: list = field(default_factory=list)
    step_loss: list = field(default_factory=list)


@dataclass
class Progress:
    """What a callback sees: where training is, and the current parameters."""
    epoch: int
    update: int
    loss: float
    W: np.ndarray
    b: np.ndarray
    history: History


@dataclass
class Result:
    W: np.ndarray
    b: np.ndarray
    history: History


def step(x, y, W, b, lr):
    """One gradient-descent update, straight from the formulas. Returns (W, b, loss).

    The readable version; ``train`` does the same arithmetic in place and faster
    (tests check that the two agree).
    """
    dW, db, loss = gradients(x, y, W, b)
    return W - lr * dW, b - lr * db, loss


def _scratch(m, W):
    """Work arrays for ``_sgd_update`` on batches of up to m examples.

    Allocated once per training run: at 100 examples a batch, allocating fresh
    arrays for every update costs about as much as the arithmetic.
    """
    return {"l": np.empty((m, W.shape[1]), W.dtype),   # logits, then p, then the step
            "row": np.empty((m, 1), W.dtype),          # per-row max, then per-row sum
            "dW": np.empty_like(W),
            "db": np.empty(W.shape[1], W.dtype)}


def _sgd_update(xb, yb, W, b, lr, rows, scratch=None):
    """In-place update on one batch; returns the batch's mean loss.

    xb: (m, 784) float, yb: (m,) int labels, rows: np.arange(m).
    scratch: work arrays from ``_scratch`` (made here if not given).
    Same arithmetic as ``step``, without temporary one-hot matrices.
    """
    m = xb.shape[0]
    if scratch is None:
        scratch = _scratch(m, W)
    l = np.matmul(xb, W, out=scratch["l"][:m])
    row = scratch["row"][:m]
    l += b
    l -= l.max(axis=1, keepdims=True, out=row)   # the largest logit is now 0: exp cannot overflow
    l_true = l[rows, yb]
    np.exp(l, out=l)
    l.sum(axis=1, keepdims=True, out=row)
    # loss = log sum_k exp(l_k) - l_true, as in log_softmax; finite even where p rounds to 0
    loss = float(np.log(row).sum() - l_true.sum()) / m
    l /= row                                 # now l holds p
    l[rows, yb] -= 1.0                       # p - y
    l *= lr / m
    W -= np.matmul(xb.T, l, out=scratch["dW"])
    b -= l.sum(axis=0, out=scratch["db"])
    return loss


def _labels_1d(y, n):
    y = np.asarray(y)
    if y.ndim == 2:
        y = as_one_hot(y, y.shape[1], n=n).argmax(axis=1)
    if y.shape != (n,):
        raise ValueError(f"y must hold {n} labels, shape ({n},) or ({n}, 10); got shape {y.shape}")
    return y.astype(np.intp)


def train(x, y, *, method="minibatch", lr=0.5, epochs=5, batch_size=100,
          W=None, b=None, seed=0, x_test=None, y_test=None, evaluate=True,
          callback=None, callback_every=None, log_every=None, max_updates=None,
          schedule="constant", divergence_factor=4.0):
    """Train the softmax model by gradient descent. Returns Result(W, b, history).

    x: (n, 784) float32 in [0, 1]; y: (n,) labels or (n, 10) one-hot.
    W, b: starting parameters (copied; zeros if not given).
    evaluate: record train (and, if given, test) accuracy after every epoch.
    callback(progress): called after every epoch, or every ``callback_every``
        updates, with a Progress; use it for live plots and widgets.
    log_every: record the smoothed loss every this many updates (for curves).
    max_updates: stop early after this many updates (for quick demos).
    schedule: "constant" keeps lr fixed; "linear" lowers it linearly to 0 over
        the run, so the last updates jitter less (a better final model).
    Raises DivergenceError, with the history so far, if the loss blows up: if
        the loss, averaged over about the last 1000 examples, climbs above
        ``divergence_factor`` times its starting value (a model that is much
        worse than guessing uniformly), or stops being a finite number.
    """
    if schedule not in ("constant", "linear"):
        raise ValueError(f"schedule must be 'constant' or 'linear'; got {schedule!r}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}")
    if not (isinstance(lr, (int, float, np.floating)) and math.isfinite(lr) and lr > 0):
        raise ValueError(f"the learning rate lr must be a positive number; got {lr!r}")
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"x must be a batch of shape (n, 784); got shape {x.shape}")
    if W is None or b is None:
        W, b = init_params(x.shape[1], 10, dtype=x.dtype if np.issubdtype(x.dtype, np.floating) else np.float32)
    W, b = _check_params(W, b)
    x = _check_x(x, W.shape[0])
    n = x.shape[0]
    y = _labels_1d(y, n)
    # Work in the data's precision; float32 halves memory traffic.
    W = np.array(W, dtype=x.dtype)
    b = np.array(b, dtype=x.dtype)
    m = {"example": 1, "minibatch": int(batch_size), "full": n}[method]
    if m < 1:
        raise ValueError(f"batch_size must be at least 1; got {batch_size}")
    m = min(m, n)
    rows = np.arange(m)
    scratch = _scratch(m, W)
    lr = float(lr)                      # a float64 array scalar would upcast every step
    total_updates = epochs * math.ceil(n / m)
    rng = np.random.default_rng(seed)
    history = History()
    # With zero weights every class gets p = 1/10, so the loss starts at log(10).
    start_loss = float(-log_softmax(x[:1000] @ W + b)[np.arange(min(n, 1000)), y[:1000]].mean())
    limit = divergence_factor * max(start_loss, math.log(10))
    smooth = None
    alpha = min(1.0, m / 1000)          # average the loss over roughly 1000 examples
    update = 0
    elapsed = 0.0                       # training time only, not evaluation

    def diverged(epoch, loss):
        return DivergenceError(
            f"Training diverged in epoch {epoch} after {update} updates: the loss reached "
            f"{loss:.4g} (it started at {start_loss:.3g}). The learning rate lr={lr:g} is too "
            f"large for {method} gradient descent; try lr={lr / 10:g}.",
            history, W, b)

    threads = 1 if m <= ONE_THREAD_MAX_BATCH else None     # None: no limit
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"), \
            threadpool_limits(threads, user_api="blas"):
        for epoch in range(1, epochs + 1):
            t0 = time.perf_counter()
            order = rng.permutation(n)
            total, count = 0.0, 0
            for start in range(0, n, m):
                idx = order[start:start + m]
                if method == "full":
                    xb, yb = x, y     # the order does not matter for the full batch
                else:
                    xb, yb = x[idx], y[idx]
                r = rows if len(idx) == m else rows[:len(idx)]
                lr_now = lr if schedule == "constant" else lr * (1 - update / total_updates)
                loss = _sgd_update(xb, yb, W, b, lr_now, r, scratch)
                update += 1
                total += loss
                count += 1
                smooth = loss if smooth is None else (1 - alpha) * smooth + alpha * loss
                if not math.isfinite(loss) or smooth > limit:
                    raise diverged(epoch, loss if math.isfinite(loss) else float("inf"))
                if log_every and update % log_every == 0:
                    history.step_updates.append(update)
                    history.step_loss.append(smooth)
                if callback and callback_every and update % callback_every == 0:
                    callback(Progress(epoch, update, smooth, W, b, history))
                if max_updates and update >= max_updates:
                    break
            if not (np.isfinite(W).all() and np.isfinite(b).all()):
                raise diverged(epoch, float("inf"))
            history.epoch.append(epoch)
            history.updates.append(update)
            elapsed += time.perf_counter() - t0
            history.seconds.append(elapsed)
            history.loss.append(total / count)
            if evaluate:
                history.train_acc.append(accuracy(x, y, W, b))
                if x_test is not None:
                    history.test_acc.append(accuracy(x_test, y_test, W, b))
            if callback and not callback_every:
                callback(Progress(epoch, update, total / count, W, b, history))
            if max_updates and update >= max_updates:
                break
    return Result(W, b, history)
