"""Softmax regression as a model: one fully-connected layer of ten neurons, then softmax.

    l = X W + b            logits           X: (n, 784), W: (784, 10), b: (10,), l: (n, 10)
    L = mean cross-entropy of softmax(l) and the labels y

The network of notebooks 02 to 10, with the interface every model of mnistlib
has (``mnistlib.mlp`` and ``mnistlib.cnn`` too), so that ``mnistlib.train.train``
and the widgets treat all three alike:

    init_params(seed=0, dtype=np.float32)        -> params {"W", "b"}
    logits(params, X)                            -> l: (n, 10)
    loss_and_grads(params, X, y)                 -> (L, grads), grads keyed like params
    logits_backward(params, X, dl)               -> dX: (n, 784)
    sgd_step(params, X, y, lr, weight_decay=0.0) -> L, after updating params in place

The notebooks derive the same maths with W and b as separate arguments
(``mnistlib.model.logits(x, W, b)``, ``model.gradients``); ``loss_and_grads``
is those formulas, and ``sgd_step`` is the same update fused for speed.
"""

import numpy as np

from .layers import softmax_cross_entropy_, work_arrays
from .model import gradients, init_params as init_weights_and_bias
from .validate import N_CLASSES, N_PIXELS

# How to train it: train(X, y, **RECIPE), as notebook 08 chose it by accuracy on the
# validation split.
RECIPE = dict(lr=1.0, epochs=8, batch_size=50, schedule="linear", weight_decay=0.0)


def init_params(seed=0, dtype=np.float32):
    """{"W": zeros (784, 10), "b": zeros (10,)}: the loss is convex, so no symmetry needs breaking."""
    W, b = init_weights_and_bias(N_PIXELS, N_CLASSES, seed=seed, dtype=dtype)
    return {"W": W, "b": b}


def logits(params, X):
    """l = X W + b.  X: (n, 784) -> l: (n, 10)."""
    return X @ params["W"] + params["b"]


def loss_and_grads(params, X, y):
    """The mean cross-entropy L on the batch and its gradients: (L, {"W": dW, "b": db}).

        dW = X^T (P - Y) / n        db = mean over the rows of (P - Y)

    X: (n, 784); y: (n,) class indices or (n, 10) one-hot rows.
    """
    dW, db, L = gradients(X, y, params["W"], params["b"])
    return L, {"W": dW, "b": db}


def logits_backward(params, X, dl):
    """dX = dl W^T: (n, 784), the gradient with respect to X of sum(dl * logits(params, X))."""
    return dl @ params["W"].T


def sgd_step(params, X, y, lr, weight_decay=0.0):
    """One gradient-descent update of params, in place; returns the batch's loss L.

    X: (n, 784) float, y: (n,) class indices. The arithmetic of ``loss_and_grads``
    followed by W -= lr * (dW + weight_decay * W), b -= lr * db (tests check they
    agree), written for speed: the work arrays are made once per batch size, and
    lr multiplies the small (n, 10) matrix before the large product, not after.
    weight_decay: lambda of the penalty lambda/2 ||W||^2 (b is not decayed).
    """
    W, b = params["W"], params["b"]
    work = _workspace(len(X), W)
    l = np.matmul(X, W, out=work["l"])
    l += b
    L = softmax_cross_entropy_(l, y)          # l is now dL/dl = (P - Y) / n
    l *= lr
    if weight_decay:
        W *= 1 - lr * weight_decay            # W - lr * lambda W, before the data's step
    W -= np.matmul(X.T, l, out=work["dW"])
    b -= l.sum(axis=0, out=work["db"])
    return L


def _workspace(n, W):
    """Work arrays for batches of n examples (see ``layers.work_arrays``)."""
    return work_arrays(("softmax", n, W.shape, W.dtype.str),
                       lambda: {"l": np.empty((n, W.shape[1]), W.dtype), "dW": np.empty_like(W),
                                "db": np.empty(W.shape[1], W.dtype)})
