"""Gradient descent, three ways, for the softmax model and for any deeper model.

    W <- W - lr * dL/dW        b <- b - lr * dL/db

(and the same for every parameter of a deeper model).

- ``method="example"``:   one example at a time (stochastic gradient descent,
  as the derivation states it);
- ``method="minibatch"``: the mean gradient over ``batch_size`` examples;
- ``method="full"``:      the mean gradient over the whole training set.

An epoch is one pass over all training examples, in a fresh random order each
time (drawn from a seeded generator, so runs repeat exactly).

A model is a module (or any object) with the functions every model of
mnistlib has: ``softmax_regression`` (the default), ``mlp`` and ``cnn``:

    init_params(seed=0, dtype=np.float32) -> params, a dict of arrays
    logits(params, X)                     -> (n, 10)
    loss_and_grads(params, X, y)          -> (loss, grads), grads with the keys of params

and, optionally, ``sgd_step(params, X, y, lr, weight_decay) -> loss``, the
same update done in place and faster (``sgd_step`` below uses it when there).
"""

import math
import time
from dataclasses import dataclass, field

import numpy as np
from threadpoolctl import threadpool_limits

from . import softmax_regression, validate
from .layers import mean_in_chunks
from .model import gradients, log_softmax

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


# A weight decay whose factor 1 - lr * weight_decay is at most this (negative, or near 0) is
# named as the cause when training diverges.
WEIGHT_DECAY_FACTOR_MIN = 0.1


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


class _WeightsAndBias:
    """``.W`` and ``.b``: softmax regression's parameters, by the names the notebooks use."""

    @property
    def W(self):
        return self.params["W"]

    @property
    def b(self):
        return self.params["b"]


@dataclass
class Progress(_WeightsAndBias):
    """What a callback sees: where training is, and the current (live) parameters."""
    epoch: int
    update: int
    loss: float
    params: dict
    history: History


@dataclass
class Result(_WeightsAndBias):
    params: dict
    history: History
    model: object = None


# Softmax regression by the name notebooks saved before this version use (``Softmax.RECIPE``).
Softmax = softmax_regression


def step(x, y, W, b, lr):
    """One gradient-descent update of softmax regression, straight from the formulas: (W, b, loss).

    W - lr * dL/dW and b - lr * dL/db, as new arrays; x: (784,) or (n, 784). The
    readable reference that ``sgd_step`` must agree with (tests check it).
    """
    dW, db, loss = gradients(x, y, W, b)
    return W - lr * dW, b - lr * db, loss


def sgd_step(model, params, X, y, lr, weight_decay=0.0, index=None):
    """One gradient-descent update of ``params``, in place; returns the batch's loss.

        params[k] <- params[k] - lr * (dL/dparams[k] + weight_decay * params[k])

    (weight decay for weights only: parameters with two or more dimensions, not
    biases). X: (n, 784); y: (n,) class indices; index: the rows of X and y that
    make the batch (default: all). Uses the model's own fused ``sgd_step`` if it
    has one, else ``model.loss_and_grads``. A batch larger than the model's
    ``CHUNK`` (the MLP's, the CNN's) is done a chunk at a time with
    ``model.loss_and_grads`` (``layers.mean_in_chunks``): the same gradient as one
    big batch, in the memory of one chunk, and no copy of the batch's images.
    """
    chunk = getattr(model, "CHUNK", None)
    n = len(X) if index is None else len(index)
    if chunk is not None and n > chunk:
        def rows(start, stop):
            return slice(start, stop) if index is None else index[start:stop]

        loss, grads = mean_in_chunks(lambda start, stop: model.loss_and_grads(
            params, X[rows(start, stop)], y[rows(start, stop)]), n, chunk)
        return _update(params, loss, grads, lr, weight_decay)
    if index is not None:
        X, y = X[index], y[index]
    fused = getattr(model, "sgd_step", None)
    if fused is not None:
        return fused(params, X, y, lr, weight_decay)
    return _update(params, *model.loss_and_grads(params, X, y), lr, weight_decay)


def _update(params, loss, grads, lr, weight_decay):
    """params[k] -= lr * (grads[k] + weight_decay * params[k] for weights), in place; returns the loss."""
    _check_grads(grads, params)
    for k, g in grads.items():
        if weight_decay and params[k].ndim >= 2:
            params[k] *= 1 - lr * weight_decay
        params[k] -= lr * g
    return float(loss)


def _check_grads(grads, params):
    """A model's gradients must match its parameters key for key and shape for shape."""
    if set(grads) != set(params):
        raise ValueError(f"the model's loss_and_grads returned gradients for {sorted(grads)}, "
                         f"but its parameters are {sorted(params)}")
    for k, g in grads.items():
        if np.shape(g) != params[k].shape:
            raise ValueError(f"the gradient of {k} has shape {np.shape(g)}, "
                             f"but {k} has shape {params[k].shape}")


def accuracy_of(model, params, X, y, chunk=EVAL_CHUNK):
    """Fraction of X classified as y by the model. X: (n, 784); y: (n,) int labels."""
    hits = 0
    for start in range(0, len(X), chunk):
        hits += int((model.logits(params, X[start:start + chunk]).argmax(axis=1)
                     == y[start:start + chunk]).sum())
    return hits / len(X)


def train(X, y, *, model=None, params=None, method="minibatch", lr=0.5, epochs=5,
          batch_size=100, W=None, b=None, seed=0, x_val=None, y_val=None, weight_decay=0.0,
          evaluate=True, callback=None, callback_every=None, log_every=None, max_updates=None,
          schedule="constant", divergence_factor=4.0):
    """Train a model by gradient descent. Returns Result(params, history, model).

    X: (n, 784) float32 in [0, 1]; y: (n,) labels or (n, 10) one-hot.
    model: a model as in the module docstring; None means softmax regression.
    params: where to start (copied, never changed); else ``model.init_params(seed)``.
        W=, b= are the same for softmax regression: params={"W": W, "b": b}.
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
    model = softmax_regression if model is None else model
    run = _Run(method=method, lr=lr, epochs=epochs, batch_size=batch_size, weight_decay=weight_decay,
               max_updates=max_updates, log_every=log_every, callback_every=callback_every,
               schedule=schedule, divergence_factor=divergence_factor)
    X = validate.images(X)
    n = X.shape[0]
    y = validate.labels(y, n)
    if (x_val is None) != (y_val is None):
        raise ValueError("give both x_val and y_val, or neither")
    if x_val is not None:
        x_val = validate.images(x_val, name="x_val")
        y_val = validate.labels(y_val, len(x_val), name="y_val")
    # Work on copies, in the data's precision: float32 halves memory traffic.
    params = {k: np.array(v, dtype=X.dtype) for k, v in _start(model, params, W, b, seed, X.dtype).items()}

    m = min({"example": 1, "minibatch": run.batch_size, "full": n}[run.method], n)
    run.total_updates = run.epochs * math.ceil(n / m)
    rng = np.random.default_rng(seed)
    history = History()
    start = min(n, 1000)
    # With zero weights every class gets p = 1/10, so the loss starts at log(10).
    try:
        first = model.logits(params, X[:start])
    except ValueError as e:
        shapes = ", ".join(f"{k} {v.shape}" for k, v in params.items())
        raise ValueError(f"the parameters' shapes do not fit together ({shapes}): {e}") from None
    run.start_loss = float(-log_softmax(first)[np.arange(start), y[:start]].mean())
    run.limit = run.divergence_factor * max(run.start_loss, math.log(10))
    run.alpha = min(1.0, m / 1000)          # average the loss over roughly 1000 examples
    # a batch done in chunks (see sgd_step) multiplies matrices of one chunk at a time
    threads = 1 if min(m, getattr(model, "CHUNK", m)) <= ONE_THREAD_MAX_BATCH else None     # None: no limit
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"), \
            threadpool_limits(threads, user_api="blas"):
        for epoch in range(1, run.epochs + 1):
            t0 = time.perf_counter()
            loss = run.epoch(model, params, X, y, m, rng.permutation(n), epoch, history, callback)
            if not all(np.isfinite(v).all() for v in params.values()):
                raise run.diverged(epoch, float("inf"), history, params)
            history.epoch.append(epoch)
            history.updates.append(run.update)
            history.seconds.append((history.seconds[-1] if history.seconds else 0.0)
                                   + time.perf_counter() - t0)      # training time only, not evaluation
            history.loss.append(loss)
            if evaluate:
                history.train_acc.append(accuracy_of(model, params, X, y))
                if x_val is not None:
                    history.val_acc.append(accuracy_of(model, params, x_val, y_val))
            if callback and not run.callback_every:
                callback(Progress(epoch, run.update, loss, params, history))
            if run.max_updates and run.update >= run.max_updates:
                break
    return Result(params, history, model)


def _start(model, params, W, b, seed, dtype):
    """The parameters to start from: given (as params, or as W and b) or the model's own."""
    if W is not None or b is not None:
        if params is not None:
            raise ValueError("give the start as params= or as W= and b=, not both")
        if W is None or b is None:
            raise ValueError("give both W and b, or neither")
        params = {"W": W, "b": b}
    fresh = model.init_params(seed=seed, dtype=dtype)
    if params is None:
        return fresh
    if set(params) != set(fresh):
        raise ValueError(f"params has the keys {sorted(params)}, but the model's parameters are "
                         f"{sorted(fresh)}" + (" (W and b are softmax regression's; give this model's "
                                               "start as params=)" if set(params) == {"W", "b"} else ""))
    for k, v in params.items():
        # Shapes may differ from the model's defaults (another number of hidden units), but not
        # in their number of dimensions, nor by being the transpose of what the model expects.
        shape = np.shape(v)
        if len(shape) != fresh[k].ndim or (shape != fresh[k].shape and shape[::-1] == fresh[k].shape):
            transposed = shape[::-1] == fresh[k].shape
            raise ValueError(f"{k} has shape {shape}, but the model's {k} has shape {fresh[k].shape}"
                             + (f". Is {k} transposed? Try {k}.T" if transposed else ""))
        if not np.issubdtype(np.asarray(v).dtype, np.floating):
            raise ValueError(f"{k} must hold floating-point numbers; got dtype {np.asarray(v).dtype}")
    return params


class _Run:
    """One training run's settings, checked, and its running state (updates, smoothed loss)."""

    def __init__(self, *, method, lr, epochs, batch_size, weight_decay, max_updates, log_every,
                 callback_every, schedule, divergence_factor):
        # A wrong argument should stop training before it starts, with a message that says
        # what was wrong: not after an epoch, and not as "the learning rate is too large".
        if schedule not in ("constant", "linear"):
            raise ValueError(f"schedule must be 'constant' or 'linear'; got {schedule!r}")
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}; got {method!r}")
        self.method, self.schedule = method, schedule
        self.lr = validate.learning_rate(lr)
        self.epochs = validate.whole("epochs", epochs)
        self.batch_size = validate.whole("batch_size", batch_size)
        self.max_updates = validate.whole("max_updates", max_updates, allow_none=True)
        self.log_every = validate.whole("log_every", log_every, allow_none=True)
        self.callback_every = validate.whole("callback_every", callback_every, allow_none=True)
        self.weight_decay = validate.number("weight_decay (lambda)", weight_decay, allow_equal=True)
        self.divergence_factor = validate.number("divergence_factor", divergence_factor, minimum=1.0)
        self.update = 0
        self.smooth = None

    def epoch(self, model, params, X, y, m, order, epoch, history, callback):
        """One pass over X in the given order, m examples an update; returns the mean loss."""
        total, count = 0.0, 0
        for begin in range(0, len(X), m):
            # the order does not matter for the full batch; a mini-batch is gathered by sgd_step
            idx = None if self.method == "full" else order[begin:begin + m]
            lr_now = self.lr if self.schedule == "constant" else self.lr * (1 - self.update / self.total_updates)
            loss = sgd_step(model, params, X, y, lr_now, self.weight_decay, index=idx)
            self.update += 1
            total += loss
            count += 1
            self.smooth = loss if self.smooth is None else (1 - self.alpha) * self.smooth + self.alpha * loss
            if not math.isfinite(loss) or self.smooth > self.limit:
                raise self.diverged(epoch, loss if math.isfinite(loss) else float("inf"), history, params)
            if self.log_every and self.update % self.log_every == 0:
                history.step_updates.append(self.update)
                history.step_loss.append(self.smooth)
            if callback and self.callback_every and self.update % self.callback_every == 0:
                callback(Progress(epoch, self.update, self.smooth, params, history))
            if self.max_updates and self.update >= self.max_updates:
                break
        return total / count

    def diverged(self, epoch, loss, history, params):
        what = (f"Training diverged in epoch {epoch} after {self.update} updates: the loss reached "
                f"{loss:.4g} (it started at {self.start_loss:.3g}). ")
        decay = 1 - self.lr * self.weight_decay
        if self.weight_decay and decay <= WEIGHT_DECAY_FACTOR_MIN:
            # Each update multiplies the weights by this factor before the gradient step: at or
            # below 0 they flip sign (and grow, below -1); the learning rate is not to blame.
            why = (f"The weight decay is the cause: each update multiplies the weights by "
                   f"1 - lr * weight_decay = 1 - {self.lr:g} * {self.weight_decay:g} = {decay:.3g}, "
                   "which should be just below 1 (weight decays of 1e-4 to 1e-3 are usual). "
                   f"With lr={self.lr:g}, keep the weight decay well below 1/lr = {1 / self.lr:g}.")
        else:
            why = (f"The learning rate lr={self.lr:g} is too large for {self.method} gradient descent; "
                   f"try lr={self.lr / 10:g}.")
        return DivergenceError(what + why, history, params)
