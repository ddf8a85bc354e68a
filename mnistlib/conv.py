"""Convolution and max-pooling layers, each written twice: as plain loops and fast.

Shapes: images first, then channels, then rows and columns.

    x:   (n, C, h, w)      n images of C channels (1 for MNIST), h rows, w columns
    K:   (F, C, kh, kw)    F kernels, each kh x kw and spanning all C channels
    b:   (F,)              one bias per kernel
    out: (n, F, oh, ow)    one output channel per kernel, where

         oh = (h + 2 pad - kh) // stride + 1        ow = (w + 2 pad - kw) // stride + 1

    out[i, f, r, s] = b[f] + sum over c, p, q of  x_pad[i, c, r*stride + p, s*stride + q] * K[f, c, p, q]

x_pad is x with ``pad`` rows and columns of zeros added on every side. (Deep
learning calls this a convolution; mathematicians call it a correlation: the
kernel is not flipped.) The MNIST network: x (n, 1, 28, 28) and K (16, 1, 5, 5)
give out (n, 16, 24, 24); max-pooling 2x2 with stride 2 halves that to (n, 16, 12, 12).

Each layer is a forward/backward pair, as in ``mnistlib.layers``. The ``_loops``
versions follow the formula, one output number at a time: slow, but easy to
check, and the reference the fast versions are tested against. The fast ones
build every window at once from a strided view (no copying until it is
reshaped) and do the sums as one matrix product. Fast layers keep x's dtype:
float32 stays float32.

Memory: the fast convolution copies each image kh*kw times (for 5x5 kernels on
28x28 images, 18 times the image; 3.5 GB for all 60,000 MNIST images in
float32). Run it on batches of at most a few thousand images.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def out_size(size, k, stride=1, pad=0):
    """Output length along one axis: (size + 2 pad - k) // stride + 1."""
    return (size + 2 * pad - k) // stride + 1


def _check_conv(x, K, b, stride, pad):
    x = np.asarray(x)
    if x.ndim != 4:
        hint = " (MNIST rows? use x.reshape(-1, 1, 28, 28))" if x.ndim == 2 and x.shape[1] == 784 else ""
        raise ValueError(f"x must have shape (n, C, h, w); got shape {x.shape}{hint}")
    if K.ndim != 4 or K.shape[1] != x.shape[1]:
        raise ValueError(f"K must have shape (F, C, kh, kw) with C = {x.shape[1]} channels like x; "
                         f"got shape {K.shape}")
    if b.shape != (K.shape[0],):
        raise ValueError(f"b must have shape ({K.shape[0]},), one bias per kernel; got shape {b.shape}")
    if int(stride) != stride or stride < 1 or int(pad) != pad or pad < 0:
        raise ValueError(f"stride must be a whole number >= 1 and pad >= 0; "
                         f"got stride={stride!r}, pad={pad!r}")
    h, w = x.shape[2] + 2 * pad, x.shape[3] + 2 * pad
    if K.shape[2] > h or K.shape[3] > w:
        raise ValueError(f"the kernel ({K.shape[2]}x{K.shape[3]}) is larger than the padded image ({h}x{w})")
    return x


def _pad(x, pad):
    return x if pad == 0 else np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))


# --- convolution: the loops -------------------------------------------------------

def conv2d_forward_loops(x, K, b, stride=1, pad=0):
    """The convolution, one output number at a time, straight from the formula.

    x: (n, C, h, w), K: (F, C, kh, kw), b: (F,) -> out: (n, F, oh, ow).
    cache: (x, K, stride, pad).
    """
    x = _check_conv(x, K, b, stride, pad)
    n, C, h, w = x.shape
    F, _, kh, kw = K.shape
    oh, ow = out_size(h, kh, stride, pad), out_size(w, kw, stride, pad)
    xp = _pad(x, pad)
    out = np.zeros((n, F, oh, ow), dtype=np.result_type(x, K))
    for i in range(n):
        for f in range(F):
            for r in range(oh):
                for s in range(ow):
                    window = xp[i, :, r * stride:r * stride + kh, s * stride:s * stride + kw]
                    out[i, f, r, s] = np.sum(window * K[f]) + b[f]
    return out, (x, K, stride, pad)


def conv2d_backward_loops(dout, cache):
    """dx, dK, db of the convolution, one output number at a time.

    dout: (n, F, oh, ow) -> dx: (n, C, h, w), dK: (F, C, kh, kw), db: (F,).
    out[i, f, r, s] took the window of x_pad at (r, s) times K[f], plus b[f]; so
    by the chain rule its gradient dout[i, f, r, s] flows

        to K[f]:            dout[i, f, r, s] * that window of x_pad
        to that window:     dout[i, f, r, s] * K[f]
        to b[f]:            dout[i, f, r, s]

    and each parameter adds up what reaches it. Summed over all (r, s), dK is a
    correlation of the input with dout, and dx a "full" convolution of dout with
    the kernels flipped (both are checked in the tests).
    """
    x, K, stride, pad = cache
    n, F, oh, ow = dout.shape
    kh, kw = K.shape[2:]
    xp = _pad(x, pad)
    dxp = np.zeros_like(xp, dtype=np.result_type(x, dout))
    dK = np.zeros_like(K, dtype=np.result_type(K, dout))
    for i in range(n):
        for f in range(F):
            for r in range(oh):
                for s in range(ow):
                    rows, cols = slice(r * stride, r * stride + kh), slice(s * stride, s * stride + kw)
                    dK[f] += dout[i, f, r, s] * xp[i, :, rows, cols]
                    dxp[i, :, rows, cols] += dout[i, f, r, s] * K[f]
    db = dout.sum(axis=(0, 2, 3))
    h, w = x.shape[2:]
    return dxp[:, :, pad:pad + h, pad:pad + w], dK, db


# --- convolution: fast ---------------------------------------------------------------

def im2col(x, kh, kw, stride=1, pad=0):
    """Every kh x kw window of x as one column: (C*kh*kw, n*oh*ow), x's dtype.

    Row (c, p, q) holds x_pad[i, c, r*stride + p, s*stride + q] in column (i, r, s),
    so that K.reshape(F, -1) @ im2col(x, ...) is the convolution without its bias.
    The windows start as a strided view of x (nothing copied); making them one
    matrix copies each pixel once per window it is in.
    """
    n, C = x.shape[:2]
    windows = sliding_window_view(_pad(x, pad), (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
    # (n, C, oh, ow, kh, kw) -> (C, kh, kw, n, oh, ow): one row per kernel entry
    return np.ascontiguousarray(windows.transpose(1, 4, 5, 0, 2, 3)).reshape(C * kh * kw, -1)


def conv2d_forward(x, K, b, stride=1, pad=0):
    """The convolution as one matrix product: K (F, C*kh*kw) @ columns (C*kh*kw, n*oh*ow).

    x: (n, C, h, w), K: (F, C, kh, kw), b: (F,) -> out: (n, F, oh, ow), x's dtype
    (if K and b have it too). Same numbers as conv2d_forward_loops, up to rounding.
    cache: (x.shape, cols, K, stride, pad), cols = im2col(x, kh, kw, stride, pad).
    """
    x = _check_conv(x, K, b, stride, pad)
    n, C, h, w = x.shape
    F, _, kh, kw = K.shape
    oh, ow = out_size(h, kh, stride, pad), out_size(w, kw, stride, pad)
    cols = im2col(x, kh, kw, stride, pad)
    out = K.reshape(F, -1) @ cols               # (F, n*oh*ow)
    out += b[:, None]
    out = np.ascontiguousarray(out.reshape(F, n, oh, ow).transpose(1, 0, 2, 3))
    return out, (x.shape, cols, K, stride, pad)


def conv2d_backward(dout, cache):
    """dx, dK, db of the fast convolution; the same numbers as conv2d_backward_loops.

    dout: (n, F, oh, ow) -> dx: (n, C, h, w), dK: (F, C, kh, kw), db: (F,).
    With dout as a matrix D (F, n*oh*ow) and the forward's columns X:

        dK = D X^T                    every window times its output's gradient, summed
        dcols = K^T D                 (C*kh*kw, n*oh*ow): each window's gradient
        dx = each window's gradient added back where the window came from
    """
    x_shape, cols, K, stride, pad = cache
    n, C, h, w = x_shape
    F, _, kh, kw = K.shape
    oh, ow = dout.shape[2:]
    D = np.ascontiguousarray(dout.transpose(1, 0, 2, 3)).reshape(F, -1)
    dK = (D @ cols.T).reshape(K.shape)
    db = D.sum(axis=1)
    dcols = (K.reshape(F, -1).T @ D).reshape(C, kh, kw, n, oh, ow)
    dxp = np.zeros((n, C, h + 2 * pad, w + 2 * pad), dtype=dcols.dtype)
    dxp_c = dxp.transpose(1, 0, 2, 3)           # (C, n, h, w): a view, so adding fills dxp
    for p in range(kh):
        for q in range(kw):
            # windows overlap, so add (not assign): a pixel gets a share from each window it is in
            dxp_c[:, :, p:p + stride * oh:stride, q:q + stride * ow:stride] += dcols[:, p, q]
    return dxp[:, :, pad:pad + h, pad:pad + w], dK, db


# --- max-pooling ------------------------------------------------------------------------
#
# out[i, c, r, s] = the largest number in the size x size window of x at
# (r*stride, s*stride). Its gradient goes to that one number and to no other.
# Ties (on MNIST's blank background whole windows are equal) go to the FIRST
# maximum, reading the window row by row, as np.argmax does: any one choice is
# a valid gradient, but the loops and the fast version must make the same one.

def _check_pool(x, size, stride):
    """x as an array and the stride (the window size if None), checked: (x, stride)."""
    x = np.asarray(x)
    stride = size if stride is None else stride
    if x.ndim != 4:
        raise ValueError(f"x must have shape (n, C, h, w); got shape {x.shape}")
    if int(size) != size or size < 1 or int(stride) != stride or stride < 1:
        raise ValueError(f"size and stride must be whole numbers >= 1; got size={size!r}, stride={stride!r}")
    if size > x.shape[2] or size > x.shape[3]:
        raise ValueError(f"the pooling window ({size}x{size}) is larger than the image {x.shape[2:]}")
    return x, stride


def maxpool2d_forward_loops(x, size=2, stride=None):
    """Max-pooling, one window at a time.

    x: (n, C, h, w) -> out: (n, C, oh, ow), oh = (h - size) // stride + 1 (rows
    that do not fill a window are left out), ow likewise. stride: the window
    size unless given (windows side by side, as in PyTorch).
    cache: (x, size, stride).
    """
    x, stride = _check_pool(x, size, stride)
    n, C, h, w = x.shape
    oh, ow = out_size(h, size, stride), out_size(w, size, stride)
    out = np.zeros((n, C, oh, ow), dtype=x.dtype)
    for i in range(n):
        for c in range(C):
            for r in range(oh):
                for s in range(ow):
                    window = x[i, c, r * stride:r * stride + size, s * stride:s * stride + size]
                    out[i, c, r, s] = window.max()
    return out, (x, size, stride)


def maxpool2d_backward_loops(dout, cache):
    """dx of max-pooling: each window's dout goes to its first maximum.  dout: (n, C, oh, ow)."""
    x, size, stride = cache
    n, C, oh, ow = dout.shape
    dx = np.zeros_like(x, dtype=np.result_type(x, dout))
    for i in range(n):
        for c in range(C):
            for r in range(oh):
                for s in range(ow):
                    window = x[i, c, r * stride:r * stride + size, s * stride:s * stride + size]
                    p, q = np.unravel_index(np.argmax(window), window.shape)   # the first maximum
                    dx[i, c, r * stride + p, s * stride + q] += dout[i, c, r, s]
    return dx


def _offsets(shape, size, stride):
    """Window entry k = (p, q) of every window at once: k and the slices of x that hold it."""
    oh, ow = out_size(shape[2], size, stride), out_size(shape[3], size, stride)
    for k in range(size * size):
        p, q = divmod(k, size)
        yield k, (slice(None), slice(None), slice(p, p + stride * (oh - 1) + 1, stride),
                  slice(q, q + stride * (ow - 1) + 1, stride))


def maxpool2d_forward(x, size=2, stride=None):
    """Max-pooling, a whole batch at once: the largest of size*size strided views of x.

    x: (n, C, h, w) -> out: (n, C, oh, ow), x's dtype; same as the loops (stride:
    the window size unless given).
    The view for window entry (p, q) holds that entry of every window, so the
    loop runs size*size times (4 for 2x2), not once per window.
    cache: (x, out, size, stride).
    """
    x, stride = _check_pool(x, size, stride)
    out = None
    for k, entry in _offsets(x.shape, size, stride):
        out = x[entry].copy() if out is None else np.maximum(out, x[entry], out=out)
    return out, (x, out, size, stride)


def maxpool2d_backward(dout, cache):
    """dx of the fast max-pooling: (n, C, h, w); the same numbers as the loops.

    Window entry by window entry, in the loops' order: an entry equal to its
    window's maximum takes the window's gradient, unless an earlier entry took it.
    """
    x, out, size, stride = cache
    dx = np.zeros(x.shape, dtype=np.result_type(x, dout))
    taken = np.zeros(out.shape, dtype=bool)
    for k, entry in _offsets(x.shape, size, stride):
        first = x[entry] == out
        first &= ~taken               # a tie: an earlier entry already has this window's gradient
        taken |= first
        dx[entry] += dout * first     # += : windows may overlap
    return dx
