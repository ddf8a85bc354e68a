"""A network with one hidden layer: linear, ReLU, linear, then softmax.

    z = x W1 + b1        hidden pre-activations   x: (n, 784), W1: (784, H), b1: (H,)
    h = max(0, z)        hidden layer (ReLU)      z, h: (n, H)
    l = h W2 + b2        logits                   W2: (H, 10), b2: (10,), l: (n, 10)
    L = mean cross-entropy of softmax(l) and the labels y

A model for ``mnistlib.train.train(x, y, model=mlp)``: three functions
(``init_params``, ``logits``, ``loss_and_grads``) built from the layers of
``mnistlib.layers``, and ``sgd_step``, the same update fused for speed;
``logits_backward`` takes the gradient back to the pixels (for pictures of
what the network looks at).
"""

import numpy as np

from .layers import (init_weights, linear_backward, linear_forward, relu_backward, relu_forward,
                     softmax_cross_entropy, softmax_cross_entropy_)
from .model import N_CLASSES, N_PIXELS

N_HIDDEN = 256
# Examples at a time for batches larger than this (train.sgd_step splits them): some 60 MB
# of hidden-layer arrays in float32, where the full batch of 50,000 would take 300 MB.
CHUNK = 10000

# How to train it: train(x, y, model=mlp, **mlp.RECIPE). Chosen by accuracy on the
# validation split (mnistlib.data.train_val_split: trained on 50,000 images, scored on
# 10,000), among 128 to 1024 hidden units, lr 0.1 to 1, batches of 20 to 100, 5 to 20
# epochs and weight decay 0 to 5e-4, all with the linear schedule: 97.95 % on average
# over three seeds (512 units: 98.01 %, at twice the time per epoch).
RECIPE = dict(lr=0.5, epochs=15, batch_size=50, schedule="linear", weight_decay=1e-4)


def init_params(seed=0, dtype=np.float32, *, n_hidden=N_HIDDEN, init="he"):
    """Starting parameters {"W1": (784, H), "b1": (H,), "W2": (H, 10), "b2": (10,)}, H = n_hidden.

    Biases start at 0; weights are drawn from a generator seeded with ``seed``,
    by ``mnistlib.layers.init_weights``: init="he" (variance 2 / fan_in),
    "glorot", "zeros" or a standard deviation. init="zeros" FAILS for this
    network: every hidden unit computes the same thing and gets the same
    gradient, so they stay identical (and with W2 = 0 too, W1 never even moves).
    """
    if isinstance(n_hidden, bool) or not isinstance(n_hidden, (int, np.integer)) or n_hidden < 1:
        raise ValueError(f"n_hidden must be a whole number >= 1; got {n_hidden!r}")
    rng = np.random.default_rng(seed)
    return {"W1": init_weights(rng, (N_PIXELS, n_hidden), N_PIXELS, n_hidden, init, dtype),
            "b1": np.zeros(n_hidden, dtype),
            "W2": init_weights(rng, (n_hidden, N_CLASSES), n_hidden, N_CLASSES, init, dtype),
            "b2": np.zeros(N_CLASSES, dtype)}


def hidden(params, X):
    """The hidden layer h = max(0, X W1 + b1): (n, H) for X: (n, 784).

    h > 0 exactly where z = X W1 + b1 > 0, so h also tells which units pass a
    gradient back (``logits_backward``, ``sgd_step``).
    """
    h = X @ params["W1"]
    h += params["b1"]
    return np.maximum(h, 0, out=h)


def logits(params, X):
    """l = max(0, X W1 + b1) W2 + b2.  X: (n, 784) -> l: (n, 10)."""
    return hidden(params, X) @ params["W2"] + params["b2"]


def loss_and_grads(params, X, y):
    """The mean cross-entropy L on the batch and its gradients: (L, grads).

    X: (n, 784); y: (n,) class indices. grads has the keys and shapes of params.
    Forward through the layers, keeping each one's cache; then backward through
    the same layers in reverse order, each turning dL/d(its output) into
    dL/d(its input) and the gradients of its parameters.
    """
    z, linear1 = linear_forward(X, params["W1"], params["b1"])
    h, relu1 = relu_forward(z)
    l, linear2 = linear_forward(h, params["W2"], params["b2"])
    L, dl = softmax_cross_entropy(l, y)

    dh, dW2, db2 = linear_backward(dl, linear2)
    dz = relu_backward(dh, relu1)
    _, dW1, db1 = linear_backward(dz, linear1)     # dL/dX is not needed: X is the data
    return L, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def logits_backward(params, X, dl):
    """dX: (n, 784), the gradient with respect to X of sum(dl * logits(params, X)); dl: (n, 10).

    With dl a row of the identity, the gradient of one logit: how much each pixel
    moves it. The units switched on (z > 0) pass the gradient; the others block it.
    """
    return ((dl @ params["W2"].T) * (hidden(params, X) > 0)) @ params["W1"].T


def sgd_step(params, X, y, lr, weight_decay=0.0):
    """One gradient-descent update of params, in place; returns the batch's loss L.

    The arithmetic of ``loss_and_grads`` followed by ``params[k] -= lr * grads[k]``
    (tests check they agree), written for speed: no dL/dX (nobody needs it: X is
    the data), lr folded into the small matrices before the large products, and
    W2 used for dL/dh before it changes. weight_decay: lambda, as in
    ``mnistlib.train.train`` (weights only, not biases).
    """
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    h = hidden(params, X)
    l = h @ W2
    l += b2
    L = softmax_cross_entropy_(l, y)             # l is now dL/dl
    l *= lr                                  # from here on, every gradient comes out times lr
    dh = l @ W2.T
    dh *= h > 0                              # through the ReLU: h > 0 exactly where z > 0
    if weight_decay:
        W1 *= 1 - lr * weight_decay
        W2 *= 1 - lr * weight_decay
    W2 -= h.T @ l
    b2 -= l.sum(axis=0)
    W1 -= X.T @ dh
    b1 -= dh.sum(axis=0)
    return L
