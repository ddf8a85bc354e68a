"""Gradient descent, three ways, for the softmax model and for any deeper model.

    W <- W - lr * dL/dW        b <- b - lr * dL/db

(and the same for every parameter of a deeper model).

- ``method="example"``:   one example at a time (stochastic gradient descent,
  as the derivation states it);
- ``method="minibatch"``: the mean gradient over ``batch_size`` examples;
- ``method="full"``:      the mean gradient over the whole training set.

An epoch is one pass over all training examples, in a fresh random order each
time (drawn from a seeded generator, so runs repeat exactly).

A model is anything (a module or an object) with three functions:

    init_params(seed=0, dtype=np.float32) -> params, a dict of arrays
    logits(params, X)                     -> (n, 10)
    loss_and_grads(params, X, y)          -> (loss, grads), grads with the keys of params

``train`` without a model trains the softmax model of ``mnistlib.model``
(params {"W", "b"}) with a fast in-place step. A model may also offer
``sgd_step(params, X, y, lr, weight_decay) -> loss``, a faster update that does
the same arithmetic in place.
"""

import math
import numbers
import time
from dataclasses import dataclass, field

import numpy as np
from threadpoolctl import threadpool_limits

from .model import (N_CLASSES, N_PIXELS, _check_params, _check_x, as_one_hot, gradients,
                    init_params, log_softmax)

METHODS = ("example", "minibatch", "full")

# Batches up to this size run their matrix products on one BLAS thread. A
# (100, 784) x (784, 10) product is too small to split: handing half of it to a
# second thread costs more than it saves, and far more when other programs share
# the cores (benchmarks/README.md has the figures). The MLP's and the CNN's larger
# products gain from a second thread on an idle machine (the CNN's step took 6 ms
# instead of 8), but lose two to three times more on a busy one, as in a classroom:
# one thread for them too. Larger batches use all threads.
ONE_THREAD_MAX_BATCH = 1000

# Accuracy is measured this many examples at a time, so that a model whose
# layers make large intermediate arrays (a convolution) stays within memory.
EVAL_CHUNK = 2000


class DivergenceError(RuntimeError):
    """Training stopped because the loss blew up. ``.history`` holds what was recorded."""

    def __init__(self, message, history=None, params=None):
        super().__init__(message)
        self.history = history
        self.params = params

    @property
    def W(self):
        return None if self.params is None else self.params.get("W")

    @property
    def b(self):
        return None if self.params is None else self.params.get("b")


@dataclass
class History:
    """Per-epoch record. ``loss`` is the mean training loss (cross-entropy) over the epoch's updates.

    ``train_acc`` is measured on the training examples, ``val_acc`` on the
    validation examples given to ``train`` (never the test set: that is used once,
    at the end, on the model the validation accuracies helped to choose).
    """
    epoch: list = field(default_factory=list)
    updates: list = field(default_factory=list)
    seconds: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    val_acc: list = field(default_factory=list)
    # Smoothed loss every ``log_every`` updates, for curves finer than an epoch.
    step_updates: list = field(default_factory=list)
    step_loss: list = field(default_factory=list)


class _SoftmaxParams:
    """``.W`` and ``.b`` for results of the softmax model (the widgets and notebooks use them)."""

    @property
    def W(self):
        return self.params["W"]

    @property
    def b(self):
        return self.params["b"]


@dataclass
class Progress(_SoftmaxParams):
    """What a callback sees: where training is, and the current (live) parameters."""
    epoch: int
    update: int
    loss: float
    params: dict
    history: History


@dataclass
class Result(_SoftmaxParams):
    params: dict
    history: History
    model: object = None


class Softmax:
    """The softmax model of ``mnistlib.model`` as ``train`` sees any model: params {"W", "b"}."""

    name = "softmax"

    # How to train it: train(x, y, **Softmax.RECIPE), as notebook 08 chose it by
    # accuracy on the validation split.
    RECIPE = dict(lr=1.0, epochs=8, batch_size=50, schedule="linear", weight_decay=0.0)

    @staticmethod
    def init_params(seed=0, dtype=np.float32):
        """W = 0 and b = 0: the loss is convex, so no symmetry needs breaking."""
        W, b = init_params(N_PIXELS, N_CLASSES, seed=seed, dtype=dtype)
        return {"W": W, "b": b}

    @staticmethod
    def logits(params, X):
        return X @ params["W"] + params["b"]

    @staticmethod
    def loss_and_grads(params, X, y):
        dW, db, loss = gradients(X, y, params["W"], params["b"])
        return loss, {"W": dW, "b": db}


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


def _sgd_update(xb, yb, W, b, lr, rows, scratch=None, weight_decay=0.0):
    """In-place update on one batch; returns the batch's mean loss (cross-entropy).

    xb: (m, 784) float, yb: (m,) int labels, rows: np.arange(m).
    scratch: work arrays from ``_scratch`` (made here if not given).
    weight_decay: lambda of the penalty lambda/2 ||W||^2, whose gradient lambda W
    joins dL/dW (b is not decayed).
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
    dW = np.matmul(xb.T, l, out=scratch["dW"])
    if weight_decay:
        W *= 1 - lr * weight_decay           # W - lr * lambda W, before the data step
    W -= dW
    b -= l.sum(axis=0, out=scratch["db"])
    return loss


# --- checking what train() is given --------------------------------------------
# A wrong argument should stop training before it starts, with a message that
# says what was wrong; not after an epoch, and not as "the learning rate is too large".

def _whole(name, value, minimum=1, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be a whole number of at least {minimum}"
                         f"{' (or None)' if allow_none else ''}; got {value!r}")
    return int(value)


def _positive(name, value, what, minimum=0.0, allow_zero=False):
    ok = (not isinstance(value, bool) and isinstance(value, numbers.Real) and math.isfinite(value)
          and (value >= minimum if allow_zero else value > minimum))
    if not ok:
        raise ValueError(f"{what} must be a {'non-negative' if allow_zero else 'positive'} number"
                         f"{f' above {minimum:g}' if minimum else ''}; got {value!r}")
    return float(value)


def check_labels(y, n, k=N_CLASSES, name="y"):
    """Labels as (n,) int class indices: from (n,) ints in 0..k-1 or (n, k) one-hot rows.

    Raises ValueError naming the problem: wrong shape, values out of range,
    fractions, NaN, or one-hot rows that are not a single 1.
    """
    y = np.asarray(y)
    if y.ndim == 2 and y.shape == (n, k):
        if not np.isfinite(y).all() or not np.isin(y, (0, 1)).all() or not (y.sum(axis=1) == 1).all():
            raise ValueError(f"{name} has shape ({n}, {k}), so it should hold one-hot rows (a single 1 "
                             "in each row, 0 elsewhere); it does not")
        return y.argmax(axis=1).astype(np.intp)
    if y.ndim == 2 and y.shape[0] == n and y.shape[1] == 1:
        raise ValueError(f"{name} has shape {y.shape}; class labels must have shape ({n},): "
                         f"use {name}.ravel()")
    if y.shape != (n,):
        raise ValueError(f"{name} must hold {n} labels, shape ({n},) or ({n}, {k}) one-hot; "
                         f"got shape {y.shape}")
    if y.dtype.kind not in "iu":
        if y.dtype.kind == "f" and np.isfinite(y).all() and (y == np.round(y)).all():
            y = y.astype(np.int64)        # 3.0 is a fine label; 2.7 and NaN are not
        else:
            raise ValueError(f"{name} must hold whole class numbers 0..{k - 1}; got dtype {y.dtype}"
                             + (" with NaN or fractions in it" if y.dtype.kind == "f" else ""))
    if n and (y.min() < 0 or y.max() >= k):
        raise ValueError(f"class labels must be between 0 and {k - 1}; "
                         f"{name} holds values from {y.min()} to {y.max()}")
    return y.astype(np.intp)


def check_images(x, name="x"):
    """x: (n, 784) floats, finite, pixels in [0, 1]. Raises ValueError saying what is wrong."""
    x = _check_x(x, N_PIXELS)
    if x.ndim != 2:
        raise ValueError(f"{name} must be a batch of shape (n, 784); got shape {x.shape}")
    high = float(x.max())
    if high > 1.5 and float(x.min()) >= 0:
        raise ValueError(f"{name} holds values up to {high:g}, but pixels should be in [0, 1]: "
                         f"if these are grey levels 0..255, divide by 255 ({name} / 255)")
    return x


def _check_grads(grads, params):
    """A model's gradients must match its parameters key for key and shape for shape."""
    if set(grads) != set(params):
        raise ValueError(f"the model's loss_and_grads returned gradients for {sorted(grads)}, "
                         f"but its parameters are {sorted(params)}")
    for k, g in grads.items():
        if np.shape(g) != params[k].shape:
            raise ValueError(f"the gradient of {k} has shape {np.shape(g)}, "
                             f"but {k} has shape {params[k].shape}")


def accuracy_of(model, params, x, y, chunk=EVAL_CHUNK):
    """Fraction of x classified as y by the model. x: (n, 784); y: (n,) int labels."""
    hits = 0
    for start in range(0, len(x), chunk):
        hits += int((model.logits(params, x[start:start + chunk]).argmax(axis=1)
                     == y[start:start + chunk]).sum())
    return hits / len(x)


def train(x, y, *, model=None, params=None, method="minibatch", lr=0.5, epochs=5,
          batch_size=100, W=None, b=None, seed=0, x_val=None, y_val=None, weight_decay=0.0,
          evaluate=True, callback=None, callback_every=None, log_every=None, max_updates=None,
          schedule="constant", divergence_factor=4.0):
    """Train a model by gradient descent. Returns Result(params, history, model).

    x: (n, 784) float32 in [0, 1]; y: (n,) labels or (n, 10) one-hot.
    model: None for the softmax model (then W, b, or params {"W", "b"}, give the
        start; zeros if not given), or a model as in the module docstring (then
        params gives the start, else ``model.init_params(seed)``). The start is
        copied, never changed.
    x_val, y_val: validation examples, whose accuracy is recorded after every
        epoch (``history.val_acc``) if ``evaluate``; so is the training accuracy.
    weight_decay: lambda >= 0. Minimises L + lambda/2 * sum of squared weights
        (every parameter with two or more dimensions: weights, not biases), so the
        gradient of each weight matrix gains lambda * W.
    callback(progress): called after every epoch, or every ``callback_every``
        updates, with a Progress; use it for live plots and widgets.
    log_every: record the smoothed loss every this many updates (for curves).
    max_updates: stop early after this many updates (for quick demos).
    schedule: "constant" keeps lr fixed; "linear" lowers it linearly to 0 over
        the run, so the last updates jitter less (a better final model).
    Raises ValueError, before training starts, for a bad argument or bad data.
    Raises DivergenceError, with the history so far, if the loss blows up: if
        the loss, averaged over about the last 1000 examples, climbs above
        ``divergence_factor`` times its starting value (a model that is much
        worse than guessing uniformly), or stops being a finite number.
    """
    if schedule not in ("constant", "linear"):
        raise ValueError(f"schedule must be 'constant' or 'linear'; got {schedule!r}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}")
    lr = _positive("lr", lr, "the learning rate lr")
    epochs = _whole("epochs", epochs)
    batch_size = _whole("batch_size", batch_size)
    max_updates = _whole("max_updates", max_updates, allow_none=True)
    log_every = _whole("log_every", log_every, allow_none=True)
    callback_every = _whole("callback_every", callback_every, allow_none=True)
    weight_decay = _positive("weight_decay", weight_decay, "weight_decay (lambda)", allow_zero=True)
    divergence_factor = _positive("divergence_factor", divergence_factor, "divergence_factor",
                                  minimum=1.0)
    x = check_images(x)
    n = x.shape[0]
    y = check_labels(y, n)
    if (x_val is None) != (y_val is None):
        raise ValueError("give both x_val and y_val, or neither")
    if x_val is not None:
        x_val = check_images(x_val, "x_val")
        y_val = check_labels(y_val, len(x_val), name="y_val")

    softmax = model is None or model is Softmax
    model = Softmax if softmax else model
    if not softmax and (W is not None or b is not None):
        raise ValueError("W and b are the softmax model's parameters; give a model's start as params=")
    if softmax and params is None and (W is not None or b is not None):
        if W is None or b is None:
            raise ValueError("give both W and b, or neither")
        params = {"W": W, "b": b}
    if params is None:
        params = model.init_params(seed=seed, dtype=x.dtype)
    if softmax:
        _check_params(params["W"], params["b"])
    # Work on copies, in the data's precision: float32 halves memory traffic.
    params = {k: np.array(v, dtype=x.dtype) for k, v in params.items()}
    fast_step = getattr(model, "sgd_step", None)

    m = {"example": 1, "minibatch": batch_size, "full": n}[method]
    m = min(m, n)
    rows = np.arange(m)
    scratch = _scratch(m, params["W"]) if softmax else None
    total_updates = epochs * math.ceil(n / m)
    rng = np.random.default_rng(seed)
    history = History()
    # With zero weights every class gets p = 1/10, so the loss starts at log(10).
    start = min(n, 1000)
    start_loss = float(-log_softmax(model.logits(params, x[:start]))[np.arange(start), y[:start]].mean())
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
            history, params)

    def one_update(xb, yb, r, lr_now):
        if softmax:
            return _sgd_update(xb, yb, params["W"], params["b"], lr_now, r, scratch, weight_decay)
        if fast_step is not None:
            return fast_step(params, xb, yb, lr_now, weight_decay)
        loss, grads = model.loss_and_grads(params, xb, yb)
        if update == 0:
            _check_grads(grads, params)
        for k, g in grads.items():
            if weight_decay and params[k].ndim >= 2:
                params[k] *= 1 - lr_now * weight_decay
            params[k] -= lr_now * g
        return float(loss)

    threads = 1 if m <= ONE_THREAD_MAX_BATCH else None     # None: no limit
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"), \
            threadpool_limits(threads, user_api="blas"):
        for epoch in range(1, epochs + 1):
            t0 = time.perf_counter()
            order = rng.permutation(n)
            total, count = 0.0, 0
            for begin in range(0, n, m):
                idx = order[begin:begin + m]
                if method == "full":
                    xb, yb = x, y     # the order does not matter for the full batch
                else:
                    xb, yb = x[idx], y[idx]
                r = rows if len(idx) == m else rows[:len(idx)]
                lr_now = lr if schedule == "constant" else lr * (1 - update / total_updates)
                loss = one_update(xb, yb, r, lr_now)
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
                    callback(Progress(epoch, update, smooth, params, history))
                if max_updates and update >= max_updates:
                    break
            if not all(np.isfinite(v).all() for v in params.values()):
                raise diverged(epoch, float("inf"))
            history.epoch.append(epoch)
            history.updates.append(update)
            elapsed += time.perf_counter() - t0
            history.seconds.append(elapsed)
            history.loss.append(total / count)
            if evaluate:
                history.train_acc.append(accuracy_of(model, params, x, y))
                if x_val is not None:
                    history.val_acc.append(accuracy_of(model, params, x_val, y_val))
            if callback and not callback_every:
                callback(Progress(epoch, update, total / count, params, history))
            if max_updates and update >= max_updates:
                break
    return Result(params, history, model)
