"""A small convolutional network (LeNet-style): two convolutions, each with ReLU and max-pooling, then a linear layer.

                                                          shape of what comes out
    x                     the images, (n, 784) rows       (n, 1, 28, 28)   reshaped
    conv K1, b1           K1: (8, 1, 5, 5), b1: (8,)      (n, 8, 24, 24)
    ReLU, max-pool 2x2                                     (n, 8, 12, 12)
    conv K2, b2           K2: (16, 8, 5, 5), b2: (16,)    (n, 16, 8, 8)
    ReLU, max-pool 2x2                                     (n, 16, 4, 4)
    flatten                                                (n, 256)
    linear W3, b3         W3: (256, 10), b3: (10,)        (n, 10)  the logits l
    L = mean cross-entropy of softmax(l) and the labels y

(8 and 16 kernels are the defaults; ``init_params`` takes others.) A model for
``mnistlib.train.train(x, y, model=cnn)``, built from the fast layers of
``mnistlib.conv`` and those of ``mnistlib.layers``. The convolutions copy each
image many times (see ``mnistlib.conv``), so large batches are split into
chunks of ``CHUNK`` images and their results combined.
"""

import numpy as np

from .conv import conv2d_backward, conv2d_forward, maxpool2d_backward, maxpool2d_forward, out_size
from .layers import (flatten_backward, flatten_forward, linear_backward, linear_forward, relu_backward,
                     relu_forward, softmax_cross_entropy)
from .model import N_CLASSES

CHANNELS = (8, 16)
KERNEL = 5
CHUNK = 1000       # images at a time: about 40 MB of im2col columns in float32


def init_params(seed=0, dtype=np.float32, *, channels=CHANNELS, kernel=KERNEL, init="he"):
    """Starting parameters {"K1", "b1", "K2", "b2", "W3", "b3"} (shapes in the module docstring).

    channels: (F1, F2), the number of kernels of each convolution; kernel: their
    size. Biases start at 0; weights are drawn from a generator seeded with
    ``seed``: init="he" (default) normal with variance 2 / fan_in, where fan_in
    is the number of inputs one output adds up (C*kh*kw for a kernel, the rows
    of W3); init="glorot" variance 2 / (fan_in + fan_out); init="zeros"; or a
    number, the standard deviation.
    """
    rng = np.random.default_rng(seed)
    F1, F2 = channels
    side = out_size(out_size(out_size(out_size(28, kernel), 2, 2), kernel), 2, 2)   # 28 -> 24 -> 12 -> 8 -> 4
    if side < 1:
        raise ValueError(f"a {kernel}x{kernel} kernel leaves nothing of a 28x28 image after two "
                         "convolutions and poolings; use kernel <= 5")

    def weights(shape, fan_in, fan_out):
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

    k2 = kernel * kernel
    n_flat = F2 * side * side
    return {"K1": weights((F1, 1, kernel, kernel), k2, F1 * k2), "b1": np.zeros(F1, dtype),
            "K2": weights((F2, F1, kernel, kernel), F1 * k2, F2 * k2), "b2": np.zeros(F2, dtype),
            "W3": weights((n_flat, N_CLASSES), n_flat, N_CLASSES), "b3": np.zeros(N_CLASSES, dtype)}


def _images(X):
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != 784:
        raise ValueError(f"X must have shape (n, 784), one image per row; got shape {X.shape}")
    return X.reshape(-1, 1, 28, 28)


def logits(params, X):
    """The logits l: (n, 10) for X: (n, 784); CHUNK images at a time."""
    x = _images(X)
    if len(x) > CHUNK:
        return np.concatenate([logits(params, X[i:i + CHUNK]) for i in range(0, len(X), CHUNK)])
    a = np.maximum(conv2d_forward(x, params["K1"], params["b1"])[0], 0)
    a = maxpool2d_forward(a)[0]
    a = np.maximum(conv2d_forward(a, params["K2"], params["b2"])[0], 0)
    a = maxpool2d_forward(a)[0]
    return a.reshape(len(a), -1) @ params["W3"] + params["b3"]


def loss_and_grads(params, X, y):
    """The mean cross-entropy L on the batch and its gradients: (L, grads).

    X: (n, 784); y: (n,) class indices. grads has the keys and shapes of params.
    Forward through the layers, keeping each one's cache; then backward through
    the same layers in reverse order. More than CHUNK images: the chunks' losses
    and gradients are averaged, weighted by their sizes (the same numbers).
    """
    x = _images(X)
    n = len(x)
    if n > CHUNK:
        y = np.asarray(y)
        L, grads = 0.0, {k: np.zeros_like(v) for k, v in params.items()}
        for i in range(0, n, CHUNK):
            Li, gi = loss_and_grads(params, X[i:i + CHUNK], y[i:i + CHUNK])
            w = len(X[i:i + CHUNK]) / n
            L += w * Li
            for k in grads:
                grads[k] += w * gi[k]
        return L, grads

    z1, conv1 = conv2d_forward(x, params["K1"], params["b1"])
    a1, relu1 = relu_forward(z1)
    p1, pool1 = maxpool2d_forward(a1)
    z2, conv2 = conv2d_forward(p1, params["K2"], params["b2"])
    a2, relu2 = relu_forward(z2)
    p2, pool2 = maxpool2d_forward(a2)
    f, flat = flatten_forward(p2)
    l, linear3 = linear_forward(f, params["W3"], params["b3"])
    L, dl = softmax_cross_entropy(l, y)

    df, dW3, db3 = linear_backward(dl, linear3)
    dp2 = flatten_backward(df, flat)
    da2 = maxpool2d_backward(dp2, pool2)
    dz2 = relu_backward(da2, relu2)
    dp1, dK2, db2 = conv2d_backward(dz2, conv2)
    da1 = maxpool2d_backward(dp1, pool1)
    dz1 = relu_backward(da1, relu1)
    _, dK1, db1 = conv2d_backward(dz1, conv1)       # dL/dx is not needed: x is the data
    return L, {"K1": dK1, "b1": db1, "K2": dK2, "b2": db2, "W3": dW3, "b3": db3}
