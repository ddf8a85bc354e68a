"""The check of notebook 12's input gradient: the full convolution of dout with the flipped kernels.

It must pass right answers written in different ways, with and without a stride, and reject
the wrong answers learners write, with a message that names the mistake.
"""

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from mnistlib import checks
from mnistlib.checks import check_input_gradient
from mnistlib.conv import conv2d_backward, conv2d_backward_loops, conv2d_forward
from mnistlib.gradcheck import numerical_gradient

from helpers import fails


def own_convolution(x, K):
    """The learner's conv_forward_loops of the notebook (no bias): a loop over the output positions."""
    F, _, kh, kw = K.shape
    oh, ow = x.shape[2] - kh + 1, x.shape[3] - kw + 1
    out = np.zeros((len(x), F, oh, ow))
    for r, s in np.ndindex(oh, ow):
        out[:, :, r, s] = np.tensordot(x[:, :, r:r + kh, s:s + kw], K, axes=([1, 2, 3], [1, 2, 3]))
    return out


def spread(dout, stride):
    """dout with stride - 1 zeros between its numbers, as a learner writes it."""
    n, F, oh, ow = dout.shape
    out = np.zeros((n, F, stride * oh - stride + 1, stride * ow - stride + 1))
    for r, s in np.ndindex(oh, ow):
        out[:, :, r * stride, s * stride] = dout[:, :, r, s]
    return out


def strided(fn):
    """A stride-1 answer made to take a stride: on dout spread out by it."""
    def with_stride(dout, K, stride=1):
        return fn(spread(dout, stride) if stride > 1 else dout, K)
    with_stride.__name__ = fn.__name__
    return with_stride


# --- right answers -------------------------------------------------------------------------

def dx_scatter(dout, K):
    """Each output number sends dout times its kernel back to its window (cs231n's loops)."""
    n, F, oh, ow = dout.shape
    _, C, kh, kw = K.shape
    dx = np.zeros((n, C, oh + kh - 1, ow + kw - 1))
    for i in range(n):
        for f in range(F):
            for r in range(oh):
                for s in range(ow):
                    dx[i, :, r:r + kh, s:s + kw] += dout[i, f, r, s] * K[f]
    return dx


def padded(dout, K):
    kh, kw = K.shape[2:]
    return np.pad(dout, ((0, 0), (0, 0), (kh - 1, kh - 1), (kw - 1, kw - 1)))


def dx_gather(dout, K, short=0):
    """The full convolution, pixel by pixel: the padded dout against the flipped kernels (dx ``short``
    rows and columns too small, for a test below)."""
    n, F, oh, ow = dout.shape
    _, C, kh, kw = K.shape
    dp = padded(dout, K)
    dx = np.zeros((n, C, oh + kh - 1 - short, ow + kw - 1 - short))
    for i, c, u, v in np.ndindex(dx.shape):
        dx[i, c, u, v] = np.sum(dp[i, :, u:u + kh, v:v + kw] * K[:, c, ::-1, ::-1])
    return dx


def dx_with_own_convolution(dout, K):
    """The learner's conv_forward_loops of the notebook, on arrays prepared for it."""
    return own_convolution(padded(dout, K), K[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))


def dx_with_mnistlibs_forward(dout, K):
    """A forward convolution is allowed: what to hand it is the exercise."""
    return conv2d_forward(padded(dout, K), np.ascontiguousarray(K[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)),
                          np.zeros(K.shape[1]))[0]


def dx_kernel_offsets(dout, K):
    """A loop over the kernel's entries: each sends a shifted copy of dout back."""
    kh, kw = K.shape[2:]
    dx = 0.0
    for p, q in np.ndindex(kh, kw):
        shifted = np.einsum("nfrs,fc->ncrs", dout, K[:, :, p, q])
        dx = dx + np.pad(shifted, ((0, 0), (0, 0), (p, kh - 1 - p), (q, kw - 1 - q)))
    return dx


def dx_windows_einsum(dout, K):
    kh, kw = K.shape[2:]
    windows = sliding_window_view(padded(dout, K), (kh, kw), axis=(2, 3))     # (n, F, h, w, kh, kw)
    return np.einsum("nfuvpq,fcpq->ncuv", windows, K[:, :, ::-1, ::-1])


def dx_float32(dout, K):
    return dx_scatter(dout.astype(np.float32), K.astype(np.float32)).astype(np.float32)


def scatter(dout, K, stride=1, step=None, size=None, assign=False):
    """Each output number sends dout times its kernel back to its window, with the mistakes of the
    tests below: windows ``step`` pixels apart (the stride), dx of ``size`` (h, w), ``=`` for ``+=``."""
    n, F, oh, ow = dout.shape
    _, C, kh, kw = K.shape
    step = stride if step is None else step
    h, w = size or ((oh - 1) * stride + kh, (ow - 1) * stride + kw)
    dx = np.zeros((n, C, h, w))
    for i, f, r, s in np.ndindex(dout.shape):
        window = (i, slice(None), slice(r * step, r * step + kh), slice(s * step, s * step + kw))
        dx[window] = (0 if assign else dx[window]) + dout[i, f, r, s] * K[f]
    return dx


def dx_scatter_strided(dout, K, stride=1):
    """cs231n's loops with the stride: window (r, s) starts at (r * stride, s * stride)."""
    return scatter(dout, K, stride)


def dx_gather_strided(dout, K, stride=1):
    """The sum over f, p, q of dout[(u - p) / stride] K[p], only where stride divides u - p."""
    n, F, oh, ow = dout.shape
    _, C, kh, kw = K.shape
    dx = np.zeros((n, C, (oh - 1) * stride + kh, (ow - 1) * stride + kw))
    for u, v, p, q in np.ndindex(dx.shape[2], dx.shape[3], kh, kw):
        r, s = divmod(u - p, stride), divmod(v - q, stride)
        if r[1] == s[1] == 0 and 0 <= r[0] < oh and 0 <= s[0] < ow:
            dx[:, :, u, v] += dout[:, :, r[0], s[0]] @ K[:, :, p, q]
    return dx


@pytest.mark.parametrize("fn", [strided(f) for f in (dx_scatter, dx_gather, dx_with_own_convolution,
                                                     dx_with_mnistlibs_forward, dx_kernel_offsets,
                                                     dx_windows_einsum, dx_float32)]
                         + [dx_scatter_strided, dx_gather_strided])
def test_input_gradient_accepts_right_answers_written_differently(fn, capsys):
    assert check_input_gradient(fn) is fn
    assert capsys.readouterr().out == "✓ input_gradient: all 4 checks passed\n"


def test_the_input_gradient_cases_include_a_batch_of_one_and_tell_kernels_from_channels():
    cases = checks.nb12_input_gradient._input_gradient_cases()
    assert any(dout.shape[0] == 1 for dout, K, stride, call in cases)
    assert any(K.shape[0] == K.shape[1] and K.shape[2] == K.shape[3] for dout, K, stride, call in cases)
    assert any(K.shape[0] != K.shape[1] and K.shape[2] != K.shape[3] for dout, K, stride, call in cases)
    assert cases[-1][2] > 1 and all(stride == 1 for dout, K, stride, call in cases[:-1])
    for dout, K, stride, call in cases:           # the reference is the backward pass of the forward
        x = np.random.default_rng(0).standard_normal(dx_scatter_strided(dout, K, stride).shape)
        out, cache = conv2d_forward(x, K, np.zeros(len(K)), stride=stride)
        assert out.shape == dout.shape
        np.testing.assert_allclose(dx_scatter_strided(dout, K, stride), conv2d_backward(dout, cache)[0],
                                   atol=1e-12)


def with_gather(kernels=lambda K: K[:, :, ::-1, ::-1], pad=None):
    """The full convolution with one thing changed: the kernels it uses, or dout's padding."""
    def fn(dout, K):
        kh, kw = K.shape[2:]
        rows, cols = pad(kh, kw) if pad else ((kh - 1, kh - 1), (kw - 1, kw - 1))
        dp = np.pad(dout, ((0, 0), (0, 0), rows, cols))
        Kc = kernels(K).transpose(1, 0, 2, 3)                 # (C, F, kh', kw')
        return own_convolution(dp, Kc)
    return fn


def where_square(change):
    """change(K) where the kernel is square (and the shapes still fit), K flipped elsewhere."""
    return with_gather(lambda K: change(K) if K.shape[2] == K.shape[3] else K[:, :, ::-1, ::-1])


def dx_scatter_flipped(dout, K):
    return dx_scatter(dout, K[:, :, ::-1, ::-1])


def dx_windows_overwritten(dout, K):
    return scatter(dout, K, assign=True)


def dx_one_short(dout, K):
    return dx_gather(dout, K, short=1)


def dx_scatter_too_small(dout, K):
    """dx of dout's size plus kh - 2: the last window does not fit."""
    return scatter(dout, K, size=(dout.shape[2] + K.shape[2] - 2, dout.shape[3] + K.shape[3] - 2))


def dx_kernels_not_swapped_with_mnistlib(dout, K):
    return conv2d_forward(padded(dout, K), K[:, :, ::-1, ::-1], np.zeros(K.shape[1]))[0]


def dx_kernels_not_swapped_in_a_batch(dout, K):
    if K.shape[0] == K.shape[1]:
        return dx_scatter(dout, K)
    return dx_kernels_not_swapped_with_mnistlib(dout, K)


def dx_scatter_channels_mixed(dout, K):
    n, F, oh, ow = dout.shape
    _, C, kh, kw = K.shape
    dx = np.zeros((n, C, oh + kh - 1, ow + kw - 1))
    for i, f, r, s in np.ndindex(dout.shape):
        for c in range(C):
            dx[i, c, r:r + kh, s:s + kw] += dout[i, f, r, s] * K[c, f]
    return dx


def dx_channels_added(dout, K):
    return np.broadcast_to(dx_scatter(dout, K).sum(axis=1, keepdims=True), dx_scatter(dout, K).shape).copy()


def dx_kernel_overwritten(dout, K):
    n, F, oh, ow = dout.shape
    _, C, kh, kw = K.shape
    dx = np.zeros((n, C, oh + kh - 1, ow + kw - 1))
    for f in range(F):
        dx = dx_scatter(dout[:, f:f + 1], K[f:f + 1])
    return dx


def dx_with_backward(dout, K):
    n, F, oh, ow = dout.shape
    _, C, kh, kw = K.shape
    x = np.zeros((n, C, oh + kh - 1, ow + kw - 1))
    return conv2d_backward_loops(dout, (x, K, 1, 0))[0]


def dx_by_finite_differences(dout, K):
    n, F, oh, ow = dout.shape
    _, C, kh, kw = K.shape
    x = np.zeros((n, C, oh + kh - 1, ow + kw - 1))
    return numerical_gradient(lambda: np.sum(conv2d_forward(x, K, np.zeros(F))[0] * dout), x)


@pytest.mark.parametrize("fn, phrases", [
    (with_gather(lambda K: K), ["meets the kernels the wrong way round", "run against dout's"]),
    (dx_scatter_flipped, ["meets the kernels the wrong way round"]),
    (with_gather(lambda K: K[:, :, ::-1, :]), ["wrong way round along one axis only"]),
    (with_gather(lambda K: K[:, :, :, ::-1]), ["wrong way round along one axis only"]),
    (lambda dout, K: dx_scatter(dout, K[:, :, :, ::-1]), ["wrong way round along one axis only"]),
    (where_square(lambda K: K.swapaxes(2, 3)), ["transposes the kernels where they must be flipped"]),
    (where_square(lambda K: K.swapaxes(2, 3)[:, :, ::-1, ::-1]), ["uses each kernel transposed"]),
    (with_gather(lambda K: K.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1] if K.shape[0] == K.shape[1]
                 else K[:, :, ::-1, ::-1]), ["mixes up kernels and channels: K[c, f] where K[f, c] belongs"]),
    (dx_scatter_channels_mixed, ["mixes up kernels and channels"]),
    (dx_kernels_not_swapped_with_mnistlib, ["mixes up kernels and channels"]),
    (lambda dout, K: -dx_scatter(dout, K), ["wrong sign"]),
    (dx_windows_overwritten, ["only the last window's share", "overwrote"]),
    (with_gather(pad=lambda kh, kw: ((0, 2 * kh - 2), (0, 2 * kw - 2))),
     ["is shifted", "padded on one side only"]),
    (with_gather(pad=lambda kh, kw: ((2 * kh - 2, 0), (2 * kw - 2, 0))), ["is shifted", "above and to the left"]),
    (with_gather(pad=lambda kh, kw: ((0, 0), (0, 0))), ["smaller than dout", "was not padded"]),
    (with_gather(pad=lambda kh, kw: ((kh, kh), (kw, kw))), ["padded with 3 row(s) and 2 column(s)",
                                                             "the rows need kh - 1 = 2"]),
    (with_gather(pad=lambda kh, kw: ((kh - 1, kh - 1), (kh - 1, kh - 1))), ["2 row(s) and 2 column(s)",
                                                                               "the columns kw - 1 = 1"]),
    (with_gather(pad=lambda kh, kw: ((kw - 1, kw - 1), (kh - 1, kh - 1))), ["1 row(s) and 2 column(s)"]),
    (lambda dout, K: dx_scatter(dout, K).transpose(0, 1, 3, 2), ["has rows and columns swapped"]),
    (lambda dout, K: np.pad(dx_scatter(dout, K), ((0, 0), (0, 0), (0, 1), (0, 1))),
     ["one row and one column too large"]),
    (dx_kernels_not_swapped_in_a_batch, ["raised ValueError", "F input channels and C outputs"]),
    (dx_one_short, ["one row and one column short", "solve that for h"]),
    (dx_scatter_too_small, ["raised ValueError", "cut short at its edge"]),
    (lambda dout, K: np.zeros_like(dout), ["has the shape of dout, not of the layer's input x"]),
    (lambda dout, K: dx_scatter(dout, K).transpose(1, 0, 2, 3), ["channels on the first axis"]),
    (dx_channels_added, ["same for every channel"]),
    (lambda dout, K: dx_scatter(dout[:, :1], K[:1]), ["uses only the first kernel"]),
    (dx_kernel_overwritten, ["keeps only the last kernel's share"]),
    (lambda dout, K: dx_scatter(dout, K) / K.shape[0], ["mean over the 2 kernels"]),
    (lambda dout, K: dx_scatter(dout, K) / len(dout), ["divided by the number of images"]),
    (dx_with_backward, ["calls conv2d_backward_loops() from mnistlib.conv", "which does the whole job"]),
    (dx_by_finite_differences, ["numerical_gradient() from mnistlib.gradcheck", "finite differences"]),
    (lambda dout, K: dx_scatter(dout, K)[..., 0], ["returned shape (1, 1, 5)", "expected (1, 1, 5, 6)"]),
    (lambda dout, K: float(dx_scatter(dout, K).sum()), ["returned shape ()"]),
    (lambda dout, K: None, ["returned None"]),
])
def test_input_gradient_names_the_mistake(fn, phrases):
    fails(check_input_gradient, fn, *phrases)


def test_input_gradient_hints_climb_from_how_to_start(capsys):
    checks.hint("input_gradient")                          # before any attempt
    first = capsys.readouterr().out
    assert "Hint 1 for input_gradient: start from one pixel" in first and "::-1" not in first
    check_input_gradient(with_gather(lambda K: K))
    out = capsys.readouterr().out
    assert "✗ input_gradient" in out and "K[:, c, ::-1, ::-1]" not in out
    checks.hint("input_gradient")
    checks.hint("input_gradient")
    checks.hint("input_gradient")
    out = capsys.readouterr().out
    assert "That was the last hint" in out and "K[:, c, ::-1, ::-1]" not in out
    checks.hint("input_gradient", reveal=True)
    assert "K[:, c, ::-1, ::-1]" in capsys.readouterr().out


def test_input_gradient_failure_hands_back_mnistlibs(capsys):
    returned = check_input_gradient(lambda dout, K: None)
    assert "use mnistlib's input_gradient instead" in capsys.readouterr().out
    rng = np.random.default_rng(1)
    dout, K = rng.standard_normal((2, 3, 4, 2)), rng.standard_normal((3, 2, 2, 4))
    np.testing.assert_allclose(returned(dout, K), dx_scatter(dout, K))


# --- the stride -----------------------------------------------------------------------------

def dx_windows_one_pixel_apart(dout, K, stride=1):
    """dx of the right size, but each window sent back to (r, s), not (r * stride, s * stride)."""
    return scatter(dout, K, stride, step=1)


def dx_spread_too_far(dout, K, stride=1):
    """stride zeros put between dout's numbers, not stride - 1."""
    return dx_gather(spread(dout, stride + 1) if stride > 1 else dout, K)


def dx_strided_windows_in_a_small_dx(dout, K, stride=1):
    """The windows strided, but dx sized as for stride 1: the last windows are cut short."""
    return scatter(dout, K, stride, size=(dout.shape[2] + K.shape[2] - 1, dout.shape[3] + K.shape[3] - 1))


@pytest.mark.parametrize("fn, phrases", [
    (lambda dout, K, stride=1: dx_scatter(dout, K), ["input_gradient(dout, K, 2)", "has the size x has with "
                                                     "stride 1", "start 2 pixels apart"]),
    (dx_windows_one_pixel_apart, ["sends dout back to windows 1 pixel apart", "start 2 pixels apart"]),
    (dx_spread_too_far, ["2 zeros were put between dout's numbers, where 1 belong"]),
    (dx_strided_windows_in_a_small_dx, ["raised ValueError", "cut short at its edge"]),
    (dx_scatter, ["raised TypeError", "takes the stride as its third argument"]),
    (strided(lambda dout, K: dx_scatter(dout, K[:, :, ::-1, ::-1]) if K.shape == (2, 3, 3, 2)   # the stride's case
             else dx_scatter(dout, K)), ["input_gradient(dout, K, 2)", "meets the kernels the wrong way round"]),
])
def test_input_gradient_names_the_mistakes_of_the_stride(fn, phrases):
    fails(check_input_gradient, fn, *phrases)
