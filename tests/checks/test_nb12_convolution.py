"""The checks of notebook 12: the convolution as loops, and the gradient of its kernels.

Each check must pass right answers written in different ways and reject the wrong
answers learners write, with a message that names the mistake.
"""

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from mnistlib import checks
from mnistlib.checks import check_conv_forward_loops, check_kernel_gradient
from mnistlib.conv import conv2d_backward, conv2d_forward

from helpers import fails


# --- conv_forward_loops: right answers -------------------------------------------------

def conv_four_loops(x, K, b):
    n, C, h, w = x.shape
    F, _, kh, kw = K.shape
    out = np.zeros((n, F, h - kh + 1, w - kw + 1))
    for i in range(n):
        for f in range(F):
            for r in range(h - kh + 1):
                for s in range(w - kw + 1):
                    out[i, f, r, s] = np.sum(x[i, :, r:r + kh, s:s + kw] * K[f]) + b[f]
    return out


def conv_seven_loops(x, K, b):
    """Every multiplication on its own, in plain Python arithmetic."""
    n, C, h, w = x.shape
    F, _, kh, kw = K.shape
    oh, ow = h - kh + 1, w - kw + 1
    out = np.empty((n, F, oh, ow))
    for i in range(n):
        for f in range(F):
            for r in range(oh):
                for s in range(ow):
                    total = b[f]
                    for c in range(C):
                        for p in range(kh):
                            for q in range(kw):
                                total += x[i, c, r + p, s + q] * K[f, c, p, q]
                    out[i, f, r, s] = total
    return out


def conv_positions_tensordot(x, K, b):
    """A loop over the output positions; the batch, kernels and channels in one tensordot."""
    n, C, h, w = x.shape
    F, _, kh, kw = K.shape
    out = np.zeros((n, F, h - kh + 1, w - kw + 1))
    for r in range(h - kh + 1):
        for s in range(w - kw + 1):
            out[:, :, r, s] = np.tensordot(x[:, :, r:r + kh, s:s + kw], K, axes=([1, 2, 3], [1, 2, 3])) + b
    return out


def conv_kernel_offsets(x, K, b):
    """A loop over the kernel's entries: each adds a shifted copy of the images, weighted."""
    n, C, h, w = x.shape
    F, _, kh, kw = K.shape
    oh, ow = h - kh + 1, w - kw + 1
    out = np.zeros((n, F, oh, ow)) + b[None, :, None, None]
    for p in range(kh):
        for q in range(kw):
            out += np.einsum("ncrs,fc->nfrs", x[:, :, p:p + oh, q:q + ow], K[:, :, p, q])
    return out


def conv_windows_einsum(x, K, b):
    """No loop at all: every window as a view, one einsum."""
    windows = sliding_window_view(x, K.shape[2:], axis=(2, 3))          # (n, C, oh, ow, kh, kw)
    return np.einsum("ncrspq,fcpq->nfrs", windows, K) + b[:, None, None]


@pytest.mark.parametrize("fn", [conv_four_loops, conv_seven_loops, conv_positions_tensordot,
                                conv_kernel_offsets, conv_windows_einsum])
def test_conv_forward_loops_accepts_right_answers_written_differently(fn, capsys):
    assert check_conv_forward_loops(fn) is fn
    assert capsys.readouterr().out == "✓ conv_forward_loops: all 3 checks passed\n"


# --- conv_forward_loops: the mistakes learners make ------------------------------------

def conv_flipped(x, K, b):
    n, C, h, w = x.shape
    F, _, kh, kw = K.shape
    out = np.zeros((n, F, h - kh + 1, w - kw + 1))
    for i in range(n):
        for f in range(F):
            for r in range(h - kh + 1):
                for s in range(w - kw + 1):
                    out[i, f, r, s] = np.sum(x[i, :, r:r + kh, s:s + kw] * K[f, :, ::-1, ::-1]) + b[f]
    return out


def conv_one_short(x, K, b):
    n, C, h, w = x.shape
    F, _, kh, kw = K.shape
    out = np.zeros((n, F, h - kh, w - kw))
    for i in range(n):
        for f in range(F):
            for r in range(h - kh):
                for s in range(w - kw):
                    out[i, f, r, s] = np.sum(x[i, :, r:r + kh, s:s + kw] * K[f]) + b[f]
    return out


def conv_image_sized(x, K, b):
    n, C, h, w = x.shape
    F, _, kh, kw = K.shape
    out = np.zeros((n, F, h, w))
    for i in range(n):
        for f in range(F):
            for r in range(h - kh + 1):
                for s in range(w - kw + 1):
                    out[i, f, r, s] = np.sum(x[i, :, r:r + kh, s:s + kw] * K[f]) + b[f]
    return out


def conv_runs_off_the_edge(x, K, b):
    n, C, h, w = x.shape
    F, _, kh, kw = K.shape
    out = np.zeros((n, F, h, w))
    for i in range(n):
        for f in range(F):
            for r in range(h):
                for s in range(w):
                    out[i, f, r, s] = np.sum(x[i, :, r:r + kh, s:s + kw] * K[f]) + b[f]
    return out


def conv_last_row_missing(x, K, b):
    n, C, h, w = x.shape
    F, _, kh, kw = K.shape
    out = np.zeros((n, F, h - kh + 1, w - kw + 1))
    for i in range(n):
        for f in range(F):
            for r in range(h - kh):
                for s in range(w - kw + 1):
                    out[i, f, r, s] = np.sum(x[i, :, r:r + kh, s:s + kw] * K[f]) + b[f]
    return out


def conv_no_bias(x, K, b):
    return conv_four_loops(x, K, np.zeros_like(b))


def conv_bias_per_channel(x, K, b):
    n, C, h, w = x.shape
    F, _, kh, kw = K.shape
    out = np.zeros((n, F, h - kh + 1, w - kw + 1))
    for i in range(n):
        for f in range(F):
            for c in range(C):
                for r in range(h - kh + 1):
                    for s in range(w - kw + 1):
                        out[i, f, r, s] += np.sum(x[i, c, r:r + kh, s:s + kw] * K[f, c]) + b[f]
    return out


def conv_first_channel(x, K, b):
    n, C, h, w = x.shape
    F, _, kh, kw = K.shape
    out = np.zeros((n, F, h - kh + 1, w - kw + 1))
    for i in range(n):
        for f in range(F):
            for r in range(h - kh + 1):
                for s in range(w - kw + 1):
                    out[i, f, r, s] = np.sum(x[i, 0, r:r + kh, s:s + kw] * K[f, 0]) + b[f]
    return out


def conv_channel_overwritten(x, K, b):
    n, C, h, w = x.shape
    F, _, kh, kw = K.shape
    out = np.zeros((n, F, h - kh + 1, w - kw + 1))
    for i in range(n):
        for f in range(F):
            for c in range(C):
                for r in range(h - kh + 1):
                    for s in range(w - kw + 1):
                        out[i, f, r, s] = np.sum(x[i, c, r:r + kh, s:s + kw] * K[f, c]) + b[f]
    return out


def conv_all_kernels_at_once(x, K, b):
    n, C, h, w = x.shape
    F, _, kh, kw = K.shape
    out = np.zeros((n, F, h - kh + 1, w - kw + 1))
    for i in range(n):
        for f in range(F):
            for r in range(h - kh + 1):
                for s in range(w - kw + 1):
                    out[i, f, r, s] = np.sum(x[i, :, r:r + kh, s:s + kw] * K) + b[f]
    return out


def conv_mean(x, K, b):
    n, C, h, w = x.shape
    F, _, kh, kw = K.shape
    out = np.zeros((n, F, h - kh + 1, w - kw + 1))
    for i in range(n):
        for f in range(F):
            for r in range(h - kh + 1):
                for s in range(w - kw + 1):
                    out[i, f, r, s] = np.mean(x[i, :, r:r + kh, s:s + kw] * K[f]) + b[f]
    return out


def conv_kernels_first(x, K, b):
    return conv_four_loops(x, K, b).transpose(1, 0, 2, 3)


def conv_rows_and_columns_swapped(x, K, b):
    n, C, h, w = x.shape
    F, _, kh, kw = K.shape
    out = np.zeros((n, F, w - kw + 1, h - kh + 1))
    for i in range(n):
        for f in range(F):
            for r in range(h - kh + 1):
                for s in range(w - kw + 1):
                    out[i, f, s, r] = np.sum(x[i, :, r:r + kh, s:s + kw] * K[f]) + b[f]
    return out


def conv_channels_kept_apart(x, K, b):
    n, C, h, w = x.shape
    F, _, kh, kw = K.shape
    out = np.zeros((n, F, C, h - kh + 1, w - kw + 1))
    for i in range(n):
        for f in range(F):
            for c in range(C):
                for r in range(h - kh + 1):
                    for s in range(w - kw + 1):
                        out[i, f, c, r, s] = np.sum(x[i, c, r:r + kh, s:s + kw] * K[f, c]) + b[f]
    return out


def conv_kernel_transposed(x, K, b):
    n, C, h, w = x.shape
    F, _, kh, kw = K.shape
    out = np.zeros((n, F, h - kh + 1, w - kw + 1))
    for i in range(n):
        for f in range(F):
            for r in range(h - kh + 1):
                for s in range(w - kw + 1):
                    out[i, f, r, s] = np.sum(x[i, :, r:r + kh, s:s + kw] * K[f].transpose(0, 2, 1)) + b[f]
    return out


def conv_first_image_for_all(x, K, b):
    n, C, h, w = x.shape
    F, _, kh, kw = K.shape
    out = np.zeros((n, F, h - kh + 1, w - kw + 1))
    for i in range(n):
        for f in range(F):
            for r in range(h - kh + 1):
                for s in range(w - kw + 1):
                    out[i, f, r, s] = np.sum(x[0, :, r:r + kh, s:s + kw] * K[f]) + b[f]
    return out


def conv_integer_output(x, K, b):
    n, C, h, w = x.shape
    F, _, kh, kw = K.shape
    out = np.zeros((n, F, h - kh + 1, w - kw + 1), dtype=int)
    for i in range(n):
        for f in range(F):
            for r in range(h - kh + 1):
                for s in range(w - kw + 1):
                    out[i, f, r, s] = np.sum(x[i, :, r:r + kh, s:s + kw] * K[f]) + b[f]
    return out


def conv_shape_unpacked_wrongly(x, K, b):
    h, w = x.shape
    return np.zeros((h, w))


def conv_calls_mnistlib(x, K, b):
    return conv2d_forward(x, K, b)[0]


def conv_pads_in_place(x, K, b):
    x[...] = np.where(np.isfinite(x), x, 0)     # "cleaning" the input changes the caller's array
    x += 0.0
    x *= 1.0
    x[0, 0, 0, 0] += 0.0
    out = conv_four_loops(x, K, b)
    x[0, 0, 0, 0] = 99.0
    return out


@pytest.mark.parametrize("fn, phrases", [
    (conv_flipped, ["flipped the kernel", "unflipped"]),
    (conv_one_short, ["one row and one column short", "w - kw + 1 positions"]),
    (conv_image_sized, ["has the size of the image", "fits fewer times"]),
    (conv_runs_off_the_edge, ["raised ValueError", "same shape", "one position too far"]),
    (conv_last_row_missing, ["last row or column of the output is wrong"]),
    (conv_no_bias, ["leaves out the bias"]),
    (conv_bias_per_channel, ["adds the bias once per channel (3 times)"]),
    (conv_first_channel, ["uses only the first channel", "all C channels"]),
    (conv_channel_overwritten, ["keeps only the last channel", "overwritten"]),
    (conv_all_kernels_at_once, ["adds up all the kernels", "its own kernel K[f]"]),
    (conv_mean, ["mean of the products, not their sum"]),
    (conv_kernels_first, ["kernels on the first axis", "images first"]),
    (conv_rows_and_columns_swapped, ["rows and columns swapped"]),
    (conv_channels_kept_apart, ["keeps the channels apart"]),
    (conv_kernel_transposed, ["raised ValueError", "rows and columns swapped?"]),
    (conv_first_image_for_all, ["every image the output of the first image"]),
    (conv_integer_output, ["integers"]),
    (conv_shape_unpacked_wrongly, ["too many values to unpack", "four axes"]),
    (conv_calls_mnistlib, ["calls conv2d_forward() from mnistlib.conv", "yourself"]),
    (conv_pads_in_place, ["changed its input x"]),
    (lambda x, K, b: None, ["returned None"]),
])
def test_conv_forward_loops_names_the_mistake(fn, phrases):
    fails(check_conv_forward_loops, fn, *phrases)


def correlate(window, kernel):
    """A learner's own helper, named like scipy's function: the dot product of a window and a kernel."""
    return float(np.sum(window * kernel))


def conv_with_own_correlate(x, K, b):
    n, C, h, w = x.shape
    F, _, kh, kw = K.shape
    out = np.zeros((n, F, h - kh + 1, w - kw + 1))
    for i, f, r, s in np.ndindex(out.shape):
        out[i, f, r, s] = correlate(x[i, :, r:r + kh, s:s + kw], K[f]) + b[f]
    return out


def test_a_learners_own_helper_named_correlate_passes():
    # Failed before: the check rejected any call of a function named correlate, convolve, ...
    assert check_conv_forward_loops(conv_with_own_correlate, strict=True) is conv_with_own_correlate


def test_mnistlibs_convolution_under_another_name_fails():
    # Passed before: the check looked for the names conv2d_forward, im2col, ...
    from mnistlib import conv as layer
    from mnistlib.conv import im2col as windows

    def renamed(x, K, b):
        return layer.conv2d_forward(x, K, b)[0]

    def by_columns(x, K, b):
        n, _, h, w = x.shape
        F, C, kh, kw = K.shape
        cols = windows(x, kh, kw)
        out = cols.reshape(n * (h - kh + 1) * (w - kw + 1), -1) @ K.reshape(F, -1).T + b
        return out.reshape(n, h - kh + 1, w - kw + 1, F).transpose(0, 3, 1, 2)
    fails(check_conv_forward_loops, renamed, "calls conv2d_forward() from mnistlib.conv (line 2 of it)")
    fails(check_conv_forward_loops, by_columns, "calls im2col() from mnistlib.conv (line 4 of it)")


def test_conv_forward_loops_transposed_square_kernel_is_named():
    """On a square kernel a transposed K gives no shape error; the check still names it."""
    def transposed_where_it_fits(x, K, b):
        if K.shape[2] != K.shape[3]:
            return conv_four_loops(x, K, b)
        return conv_four_loops(x, K.swapaxes(2, 3), b)
    fails(check_conv_forward_loops, transposed_where_it_fits, "kernel transposed")


def test_conv_forward_loops_not_implemented_and_second_hint(capsys):
    def todo(x, K, b):
        raise NotImplementedError("your turn")
    fails(check_conv_forward_loops, todo, "not implemented yet")
    returned = check_conv_forward_loops(conv_one_short)
    first = capsys.readouterr().out
    assert "✗" in first and 'hint("conv_forward_loops")' in first and "oh = h - kh + 1" not in first
    assert "use mnistlib's conv_forward_loops instead" in first
    checks.hint("conv_forward_loops")
    assert "oh = h - kh + 1" not in capsys.readouterr().out
    checks.hint("conv_forward_loops", reveal=True)
    assert "oh = h - kh + 1" in capsys.readouterr().out
    # the reference handed back is mnistlib's, and right
    x, K, b = np.ones((1, 1, 4, 4)), np.ones((2, 1, 3, 3)), np.array([0.0, 1.0])
    np.testing.assert_allclose(returned(x, K, b), [[[[9, 9], [9, 9]], [[10, 10], [10, 10]]]])


# --- kernel_gradient --------------------------------------------------------------------

def dK_six_loops(x, dout, kh, kw):
    n, C, h, w = x.shape
    F, oh, ow = dout.shape[1:]
    dK = np.zeros((F, C, kh, kw))
    for i in range(n):
        for f in range(F):
            for r in range(oh):
                for s in range(ow):
                    dK[f] += dout[i, f, r, s] * x[i, :, r:r + kh, s:s + kw]
    return dK


def dK_kernel_offsets(x, dout, kh, kw):
    """Entry by entry of the kernel: a sum over images and positions, as one einsum."""
    oh, ow = dout.shape[2:]
    dK = np.zeros((dout.shape[1], x.shape[1], kh, kw))
    for p in range(kh):
        for q in range(kw):
            dK[:, :, p, q] = np.einsum("nfrs,ncrs->fc", dout, x[:, :, p:p + oh, q:q + ow])
    return dK


def dK_positions(x, dout, kh, kw):
    dK = 0
    for r in range(dout.shape[2]):
        for s in range(dout.shape[3]):
            dK = dK + np.einsum("nf,ncpq->fcpq", dout[:, :, r, s], x[:, :, r:r + kh, s:s + kw])
    return dK


def dK_windows_tensordot(x, dout, kh, kw):
    windows = sliding_window_view(x, (kh, kw), axis=(2, 3))             # (n, C, oh, ow, kh, kw)
    return np.tensordot(dout, windows, axes=([0, 2, 3], [0, 2, 3]))     # (F, C, kh, kw)


@pytest.mark.parametrize("fn", [dK_six_loops, dK_kernel_offsets, dK_positions, dK_windows_tensordot])
def test_kernel_gradient_accepts_right_answers_written_differently(fn, capsys):
    assert check_kernel_gradient(fn) is fn
    assert capsys.readouterr().out == "✓ kernel_gradient: all 3 checks passed\n"


def dK_flipped(x, dout, kh, kw):
    return dK_six_loops(x, dout, kh, kw)[..., ::-1, ::-1]


def dK_minus(x, dout, kh, kw):
    return -dK_six_loops(x, dout, kh, kw)


def dK_mean_over_positions(x, dout, kh, kw):
    return dK_six_loops(x, dout, kh, kw) / (dout.shape[2] * dout.shape[3])


def dK_assigned(x, dout, kh, kw):
    n, C, h, w = x.shape
    F, oh, ow = dout.shape[1:]
    dK = np.zeros((F, C, kh, kw))
    for f in range(F):
        for r in range(oh):
            for s in range(ow):
                dK[f] = sum(dout[i, f, r, s] * x[i, :, r:r + kh, s:s + kw] for i in range(n))
    return dK


def dK_averaged_over_images(x, dout, kh, kw):
    return dK_six_loops(x, dout, kh, kw) / len(x)


def dK_first_image(x, dout, kh, kw):
    return dK_six_loops(x[:1], dout[:1], kh, kw)


def dK_restarted_per_image(x, dout, kh, kw):
    n, C, h, w = x.shape
    F, oh, ow = dout.shape[1:]
    for i in range(n):
        dK = np.zeros((F, C, kh, kw))
        for f in range(F):
            for r in range(oh):
                for s in range(ow):
                    dK[f] += dout[i, f, r, s] * x[i, :, r:r + kh, s:s + kw]
    return dK


def dK_channels_added(x, dout, kh, kw):
    n, C, h, w = x.shape
    F, oh, ow = dout.shape[1:]
    dK = np.zeros((F, C, kh, kw))
    for i in range(n):
        for f in range(F):
            for r in range(oh):
                for s in range(ow):
                    dK[f] += dout[i, f, r, s] * x[i, :, r:r + kh, s:s + kw].sum(axis=0)
    return dK


def dK_channels_first(x, dout, kh, kw):
    return dK_six_loops(x, dout, kh, kw).transpose(1, 0, 2, 3)


def dK_no_channel_axis(x, dout, kh, kw):
    return dK_six_loops(x, dout, kh, kw).sum(axis=1)


def dK_per_image(x, dout, kh, kw):
    return np.stack([dK_six_loops(x[i:i + 1], dout[i:i + 1], kh, kw) for i in range(len(x))])


def dK_window_transposed(x, dout, kh, kw):
    n, C, h, w = x.shape
    F, oh, ow = dout.shape[1:]
    dK = np.zeros((F, C, kh, kw))
    for i in range(n):
        for f in range(F):
            for r in range(oh):
                for s in range(ow):
                    dK[f] += dout[i, f, r, s] * x[i, :, r:r + kh, s:s + kw].transpose(0, 2, 1)
    return dK


def dK_dout_windows(x, dout, kh, kw):
    """Slides dout over x the wrong way round."""
    n, C, h, w = x.shape
    F, oh, ow = dout.shape[1:]
    dK = np.zeros((F, C, kh, kw))
    for i in range(n):
        for f in range(F):
            for c in range(C):
                for p in range(kh):
                    for q in range(kw):
                        dK[f, c, p, q] = np.sum(x[i, c, p:p + kh, q:q + kw] * dout[i, f, :kh, :kw])
    return dK


def dK_with_mnistlib(x, dout, kh, kw):
    K = np.zeros((dout.shape[1], x.shape[1], kh, kw))
    _, cache = conv2d_forward(x, K, np.zeros(len(K)))
    return conv2d_backward(dout, cache)[1]


@pytest.mark.parametrize("fn, phrases", [
    (dK_flipped, ["is flipped", "unflipped"]),
    (dK_minus, ["wrong sign"]),
    (dK_mean_over_positions, ["mean over the", "output positions"]),
    (dK_assigned, ["only the last window's share", "overwrote"]),
    (dK_averaged_over_images, ["1/2 of the expected", "divided by the number of images"]),
    (dK_first_image, ["uses only the first image"]),
    (dK_restarted_per_image, ["keeps only the last image"]),
    (dK_channels_added, ["same for every channel"]),
    (dK_channels_first, ["shape (3, 4, 2, 3)", "kernels should come first"]),
    (dK_no_channel_axis, ["has no channel axis"]),
    (dK_per_image, ["keeps one gradient per image"]),
    (dK_window_transposed, ["raised ValueError", "same shape"]),
    (dK_dout_windows, ["wrong value"]),
    (dK_with_mnistlib, ["calls conv2d_forward() from mnistlib.conv"]),
    (lambda x, dout, kh, kw: None, ["returned None"]),
])
def test_kernel_gradient_names_the_mistake(fn, phrases):
    fails(check_kernel_gradient, fn, *phrases)


def test_kernel_gradient_transposed_on_a_square_kernel_is_named():
    def transposed_where_it_fits(x, dout, kh, kw):
        dK = dK_six_loops(x, dout, kh, kw)
        return dK.swapaxes(2, 3) if kh == kw else dK
    fails(check_kernel_gradient, transposed_where_it_fits, "is transposed")


def test_kernel_gradient_second_hint_has_the_formula(capsys):
    returned = check_kernel_gradient(dK_dout_windows)
    first = capsys.readouterr().out
    assert "dK[f, c, p, q] =" not in first and 'hint("kernel_gradient")' in first
    checks.hint("kernel_gradient")
    assert "dK[f, c, p, q] = the sum over i, r, s" not in capsys.readouterr().out
    checks.hint("kernel_gradient", reveal=True)
    assert "dK[f, c, p, q] = the sum over i, r, s" in capsys.readouterr().out
    rng = np.random.default_rng(0)
    x, dout = rng.standard_normal((2, 2, 5, 4)), rng.standard_normal((2, 3, 3, 3))
    np.testing.assert_allclose(returned(x, dout, 3, 2), dK_six_loops(x, dout, 3, 2))
