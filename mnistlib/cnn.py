"""A small convolutional network (LeNet-style): two convolutions, each with ReLU and max-pooling, then an MLP.

                                                          shape of what comes out
    x                     the images, (n, 784) rows       (n, 1, 28, 28)   reshaped
    conv K1, b1           K1: (16, 1, 5, 5), b1: (16,)    (n, 16, 24, 24)
    ReLU, max-pool 2x2                                     (n, 16, 12, 12)
    conv K2, b2           K2: (32, 16, 5, 5), b2: (32,)   (n, 32, 8, 8)
    ReLU, max-pool 2x2                                     (n, 32, 4, 4)
    flatten                                                (n, 512)
    linear W3, b3         W3: (512, 100), b3: (100,)      (n, 100)
    ReLU                                                   (n, 100)
    linear W4, b4         W4: (100, 10), b4: (10,)        (n, 10)  the logits l
    L = mean cross-entropy of softmax(l) and the labels y

The last three lines are the network of ``mnistlib.mlp``, reading 512 features
that the convolutions found instead of the 784 pixels. (16 and 32 kernels and
100 hidden units are the defaults; ``init_params`` takes others.) A model for
``mnistlib.train.train(x, y, model=cnn)``, built from the fast layers of
``mnistlib.conv`` and those of ``mnistlib.layers``. The convolutions copy each
image many times (see ``mnistlib.conv``), so large batches are split into
chunks of ``CHUNK`` images and their results combined.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .conv import conv2d_backward, conv2d_forward, maxpool2d_backward, maxpool2d_forward, out_size
from .layers import (flatten_backward, flatten_forward, init_weights, linear_backward, linear_forward,
                     mean_in_chunks, relu_backward, relu_forward, softmax_cross_entropy,
                     softmax_cross_entropy_, work_arrays)
from .model import N_CLASSES

CHANNELS = (16, 32)
KERNEL = 5
N_HIDDEN = 100
# Images at a time: some 80 MB of im2col columns in float32 (and some 200 MB in all for a
# training step). Larger batches are done a chunk at a time, here and by train.sgd_step.
CHUNK = 500

# How to train it: train(x, y, model=cnn, **cnn.RECIPE). Chosen by accuracy on the
# validation split (mnistlib.data.train_val_split: trained on 50,000 images, scored on
# 10,000), among 8/16 and 16/32 kernels with and without the hidden layer, lr 0.1 to
# 0.5, 8 to 20 epochs and weight decay 0 to 5e-4, batches of 50, linear schedule:
# 99.02 % on average over two seeds (8/16 kernels stayed below 98.7 %).
RECIPE = dict(lr=0.2, epochs=12, batch_size=50, schedule="linear", weight_decay=1e-4)


def init_params(seed=0, dtype=np.float32, *, channels=CHANNELS, kernel=KERNEL, n_hidden=N_HIDDEN,
                init="he"):
    """Starting parameters {"K1", "b1", "K2", "b2", "W3", "b3", "W4", "b4"}, shaped as the module docstring says.

    channels: (F1, F2), the number of kernels of the two convolutions; kernel:
    their size; n_hidden: the hidden units after them. Biases start at 0;
    weights are drawn from a generator seeded with ``seed``, by
    ``mnistlib.layers.init_weights``: init="he" (variance 2 / fan_in, where
    fan_in is what one output adds up: C*kh*kw for a kernel, the rows of W3 or
    W4), "glorot", "zeros" or a standard deviation.
    """
    F1, F2 = channels
    side = out_size(out_size(out_size(out_size(28, kernel), 2, 2), kernel), 2, 2)   # 28 -> 24 -> 12 -> 8 -> 4
    if side < 1:
        raise ValueError(f"a {kernel}x{kernel} kernel leaves nothing of a 28x28 image after two "
                         "convolutions and poolings; use a smaller kernel")
    rng = np.random.default_rng(seed)
    k2 = kernel * kernel
    n_flat = F2 * side * side
    return {"K1": init_weights(rng, (F1, 1, kernel, kernel), k2, F1 * k2, init, dtype),
            "b1": np.zeros(F1, dtype),
            "K2": init_weights(rng, (F2, F1, kernel, kernel), F1 * k2, F2 * k2, init, dtype),
            "b2": np.zeros(F2, dtype),
            "W3": init_weights(rng, (n_flat, n_hidden), n_flat, n_hidden, init, dtype),
            "b3": np.zeros(n_hidden, dtype),
            "W4": init_weights(rng, (n_hidden, N_CLASSES), n_hidden, N_CLASSES, init, dtype),
            "b4": np.zeros(N_CLASSES, dtype)}


def _images(X):
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != 784:
        raise ValueError(f"X must have shape (n, 784), one image per row; got shape {X.shape}")
    return X.reshape(-1, 1, 28, 28)


def _in_chunks(fn, X, *more):
    """fn(X, *more) over CHUNK images at a time, the results joined along the batch."""
    if len(X) <= CHUNK:
        return fn(X, *more)
    parts = [fn(X[i:i + CHUNK], *(m[i:i + CHUNK] for m in more)) for i in range(0, len(X), CHUNK)]
    if isinstance(parts[0], dict):
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    return np.concatenate(parts)


def _forward(params, x, keep_caches=True):
    """The layers one after another, for x: (n, 1, 28, 28).

    Returns the logits l: (n, 10), every layer's cache for the backward pass (an
    empty tuple if not ``keep_caches``: the im2col columns are large, and logits
    alone need none) and the feature maps: "conv1" (n, F1, 24, 24) and "conv2"
    (n, F2, 8, 8) after ReLU, "pool1" (n, F1, 12, 12) and "pool2" (n, F2, 4, 4)
    after max-pooling.
    """
    caches = []

    def layer(forward, *args):
        out, cache = forward(*args)
        if keep_caches:
            caches.append(cache)
        return out

    a1 = layer(relu_forward, layer(conv2d_forward, x, params["K1"], params["b1"]))
    p1 = layer(maxpool2d_forward, a1)
    a2 = layer(relu_forward, layer(conv2d_forward, p1, params["K2"], params["b2"]))
    p2 = layer(maxpool2d_forward, a2)
    h = layer(relu_forward, layer(linear_forward, layer(flatten_forward, p2), params["W3"], params["b3"]))
    l = layer(linear_forward, h, params["W4"], params["b4"])
    return l, tuple(caches), {"conv1": a1, "pool1": p1, "conv2": a2, "pool2": p2}


def logits(params, X):
    """The logits l: (n, 10) for X: (n, 784); CHUNK images at a time."""
    _images(X)
    return _in_chunks(lambda Xc: _forward(params, _images(Xc), keep_caches=False)[0], X)


def feature_maps(params, X):
    """What the convolutional stages make of the images X: (n, 784), as a dict of arrays.

    "conv1": (n, F1, 24, 24) and "conv2": (n, F2, 8, 8) after ReLU; "pool1":
    (n, F1, 12, 12) and "pool2": (n, F2, 4, 4) after max-pooling (5x5 kernels).
    The same forward pass as ``logits``, with these stages kept.
    """
    _images(X)
    return _in_chunks(lambda Xc: _forward(params, _images(Xc), keep_caches=False)[2], X)


def loss_and_grads(params, X, y):
    """The mean cross-entropy L on the batch and its gradients: (L, grads).

    X: (n, 784); y: (n,) class indices. grads has the keys and shapes of params.
    Forward through the layers, keeping each one's cache; then backward through
    the same layers in reverse order. More than CHUNK images: the chunks' losses
    and gradients are averaged, weighted by their sizes (the same numbers).
    """
    x = _images(X)
    if len(x) > CHUNK:
        y = np.asarray(y)
        return mean_in_chunks(lambda start, stop: loss_and_grads(params, X[start:stop], y[start:stop]),
                              len(x), CHUNK)

    l, (conv1, relu1, pool1, conv2, relu2, pool2, flat, linear3, relu3, linear4), _ = _forward(params, x)
    L, dl = softmax_cross_entropy(l, y)

    dh, dW4, db4 = linear_backward(dl, linear4)
    dz3 = relu_backward(dh, relu3)
    df, dW3, db3 = linear_backward(dz3, linear3)
    dp2 = flatten_backward(df, flat)
    da2 = maxpool2d_backward(dp2, pool2)
    dz2 = relu_backward(da2, relu2)
    dp1, dK2, db2 = conv2d_backward(dz2, conv2)
    da1 = maxpool2d_backward(dp1, pool1)
    dz1 = relu_backward(da1, relu1)
    _, dK1, db1 = conv2d_backward(dz1, conv1)       # dL/dx is not needed: x is the data
    return L, {"K1": dK1, "b1": db1, "K2": dK2, "b2": db2, "W3": dW3, "b3": db3, "W4": dW4, "b4": db4}


def logits_backward(params, X, dl):
    """dX: (n, 784), the gradient with respect to X of sum(dl * logits(params, X)); dl: (n, 10).

    The backward pass of ``loss_and_grads`` started from dl instead of dL/dl, and
    carried on through the first convolution to the pixels.
    """
    _images(X)
    return _in_chunks(lambda Xc, dlc: _pixels_backward(params, _images(Xc), dlc), X, dl)


def _pixels_backward(params, x, dl):
    _, (conv1, relu1, pool1, conv2, relu2, pool2, flat, linear3, relu3, linear4), _ = _forward(params, x)
    dh = linear_backward(dl, linear4)[0]
    df = linear_backward(relu_backward(dh, relu3), linear3)[0]
    dp1 = conv2d_backward(relu_backward(maxpool2d_backward(flatten_backward(df, flat), pool2), relu2), conv2)[0]
    dx = conv2d_backward(relu_backward(maxpool2d_backward(dp1, pool1), relu1), conv1)[0]
    return dx.reshape(len(x), -1)


# --- the fast step -----------------------------------------------------------------------
#
# sgd_step does the arithmetic of loss_and_grads followed by params[k] -= lr * grads[k],
# rearranged for speed (tests check that the two agree):
# - images are stored as (C, h, w, n), the batch innermost: the product K @ cols gives
#   that order directly, and every copy and sum then runs along rows of n or more
#   numbers at a time (numpy is slow on short rows, such as the 8 columns of a 8x8 map);
# - every work array is made once per batch size and then reused (layers.work_arrays): a fresh 6 MB
#   array costs some 1500 page faults, which took as long as the arithmetic;
# - ReLU after max-pooling gives the same numbers (both keep the largest value), and
#   its gradient is then needed on the pooled, four times smaller, arrays;
# - no dL/dx for the first convolution (x is the data); lr is folded into dL/dl, so
#   the gradients come out as the updates;
# - a kernel's gradient is computed as (cols @ dz.T).T, not dz @ cols.T: the same sums,
#   but for this shape (a short result, a long inner dimension: every position of every
#   image) OpenBLAS runs it up to twice as fast with its AVX-512 kernels, and no slower
#   with the AVX2 ones.

def _workspace(n, params):
    """The work arrays for batches of n images (see ``layers.work_arrays``)."""
    F1, F2, k = params["K1"].shape[0], params["K2"].shape[0], params["K1"].shape[2]
    dtype = params["K1"].dtype
    s1 = 28 - k + 1
    q1 = s1 // 2
    s2 = q1 - k + 1
    q2 = s2 // 2

    def e(*shape, t=dtype):
        return np.empty(shape, t)

    return work_arrays(("cnn", n, F1, F2, k, dtype.str), lambda: {
        "x": e(1, 28, 28, n), "cols1": e(k * k, s1 * s1 * n), "z1": e(F1, s1, s1, n),
        "p1": e(F1, q1, q1, n), "cols2": e(F1 * k * k, s2 * s2 * n), "z2": e(F2, s2, s2, n),
        "p2": e(F2, q2, q2, n), "dp2": e(F2, q2, q2, n), "dp1": e(F1, q1, q1, n),
        "first1": e(F1, q1, q1, n, t=bool), "taken1": e(F1, q1, q1, n, t=bool),
        "first2": e(F2, q2, q2, n, t=bool), "taken2": e(F2, q2, q2, n, t=bool)})


def _conv(x, K, b, cols, z):
    """z = the convolution of x (C, h, w, n) with K, as (F, oh, ow, n); its columns go into cols."""
    C, h, w, n = x.shape
    F, _, kh, kw = K.shape
    windows = sliding_window_view(x, (kh, kw), axis=(1, 2))              # (C, oh, ow, n, kh, kw)
    cols.reshape(C, kh, kw, h - kh + 1, w - kw + 1, n)[...] = windows.transpose(0, 4, 5, 1, 2, 3)
    np.matmul(K.reshape(F, -1), cols, out=z.reshape(F, -1))
    z += b[:, None, None, None]


def _entries(z, p):
    """Entry (r, s) of every 2x2 window of z (C, h, w, n) at once, as views shaped like p."""
    oh, ow = p.shape[1:3]
    for r in range(2):
        for s in range(2):
            yield z[:, r:r + 2 * oh:2, s:s + 2 * ow:2]


def _pool_relu(z, p):
    """p = max(0, 2x2 max-pool of z), both (C, h, w, n)."""
    views = _entries(z, p)
    np.copyto(p, next(views))
    for v in views:
        np.maximum(p, v, out=p)
    np.maximum(p, 0, out=p)


def _unpool_unrelu(dp, z, p, dz, first, taken):
    """dz = dL/dz from dp = dL/dp, through _pool_relu: to each window's first maximum, if positive.

    dz may be z itself: each entry of z is read before it is overwritten.
    """
    dp *= p > 0                                  # the ReLU: no gradient where the maximum was <= 0
    dz[:, 2 * p.shape[1]:] = 0                   # a last row or column that no window covers
    dz[:, :, 2 * p.shape[2]:] = 0
    for k, (v, dv) in enumerate(zip(_entries(z, p), _entries(dz, p))):
        if k == 0:
            np.equal(v, p, out=taken)            # where p > 0, p is the window's maximum
            np.multiply(dp, taken, out=dv)
            continue
        np.equal(v, p, out=first)
        np.greater(first, taken, out=first)      # a maximum, and no earlier entry took the gradient
        np.multiply(dp, first, out=dv)
        if k < 3:
            taken |= first


def sgd_step(params, X, y, lr, weight_decay=0.0):
    """One gradient-descent update of params, in place; returns the batch's loss L.

    X: (n, 784), y: (n,) class indices. The same numbers as ``loss_and_grads``
    and ``params[k] -= lr * (grads[k] + weight_decay * params[k] if k is a weight)``,
    computed faster (see the notes above). For a 2x2 pooling after each
    convolution of stride 1, no padding: the network of this module.
    """
    K1, b1, K2, b2, W3, b3, W4, b4 = (params[k] for k in ("K1", "b1", "K2", "b2", "W3", "b3", "W4", "b4"))
    X = np.asarray(X)
    n = len(X)
    w = _workspace(n, params)
    F1, F2, k = len(K1), len(K2), K2.shape[2]
    z1, p1, z2, p2 = w["z1"], w["p1"], w["z2"], w["p2"]

    # forward
    np.copyto(w["x"].reshape(784, n), X.T)       # the batch innermost: (1, 28, 28, n)
    _conv(w["x"], K1, b1, w["cols1"], z1)
    _pool_relu(z1, p1)
    _conv(p1, K2, b2, w["cols2"], z2)
    _pool_relu(z2, p2)
    f = p2.reshape(-1, n)                        # flattened, one column per image: f.T is (n, F2*q2*q2)
    h = f.T @ W3
    h += b3
    np.maximum(h, 0, out=h)
    l = h @ W4
    l += b4
    L = softmax_cross_entropy_(l, y)             # l is now dL/dl
    l *= lr                                      # every gradient below comes out times lr: the update

    # backward, updating each parameter once nothing needs its old value
    decay = 1 - lr * weight_decay               # weight decay: W <- W - lr * (dL/dW + lambda W)
    dh = l @ W4.T
    dh *= h > 0                                  # through the ReLU: h > 0 exactly where z3 > 0
    W4 *= decay
    W4 -= h.T @ l
    b4 -= l.sum(axis=0)
    np.matmul(W3, dh.T, out=w["dp2"].reshape(-1, n))                        # dL/df, one column per image
    W3 *= decay
    W3 -= f @ dh
    b3 -= dh.sum(axis=0)
    _unpool_unrelu(w["dp2"], z2, p2, z2, w["first2"], w["taken2"])          # z2 now holds dL/dz2
    D2 = z2.reshape(F2, -1)
    dK2 = (w["cols2"] @ D2.T).T                  # this way round: see the notes above
    np.matmul(K2.reshape(F2, -1).T, D2, out=w["cols2"])                     # now the columns' gradient
    K2 *= decay
    K2 -= dK2.reshape(K2.shape)
    b2 -= w["dp2"].sum(axis=(1, 2, 3))          # = D2's row sums: each window's gradient went to one entry
    dp1 = w["dp1"]
    dp1[...] = 0
    s2 = z2.shape[1]
    dcols = w["cols2"].reshape(F1, k, k, s2, s2, n)
    for r in range(k):
        for s in range(k):
            dp1[:, r:r + s2, s:s + s2] += dcols[:, r, s]      # windows overlap: add
    _unpool_unrelu(dp1, z1, p1, z1, w["first1"], w["taken1"])               # z1 now holds dL/dz1
    D1 = z1.reshape(F1, -1)
    K1 *= decay
    K1 -= (w["cols1"] @ D1.T).T.reshape(K1.shape)
    b1 -= dp1.sum(axis=(1, 2, 3))
    return L
