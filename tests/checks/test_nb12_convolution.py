"""The checks of notebook 12: the convolution as loops, and the gradients of its kernels and its input.

Each check must pass right answers written in different ways and reject the wrong
answers learners write, with a message that names the mistake.
"""

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from mnistlib import checks
from mnistlib.checks import check_conv_forward_loops, check_input_gradient, check_kernel_gradient
from mnistlib.conv import conv2d_backward, conv2d_backward_loops, conv2d_forward
from mnistlib.gradcheck import numerical_gradient

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


# --- input_gradient ------------------------------------------------------------------------

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


def dx_gather(dout, K):
    """The full convolution, pixel by pixel: the padded dout against the flipped kernels."""
    n, F, oh, ow = dout.shape
    _, C, kh, kw = K.shape
    dp = padded(dout, K)
    dx = np.zeros((n, C, oh + kh - 1, ow + kw - 1))
    for i, c, u, v in np.ndindex(dx.shape):
        dx[i, c, u, v] = np.sum(dp[i, :, u:u + kh, v:v + kw] * K[:, c, ::-1, ::-1])
    return dx


def dx_with_own_convolution(dout, K):
    """The learner's conv_forward_loops of the notebook, on arrays prepared for it."""
    return conv_four_loops(padded(dout, K), K[:, :, ::-1, ::-1].transpose(1, 0, 2, 3), np.zeros(K.shape[1]))


def dx_with_mnistlibs_forward(dout, K):
    """A forward convolution is allowed: what to hand it is the exercise."""
    return conv2d_forward(padded(dout, K), np.ascontiguousarray(K[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)),
                          np.zeros(K.shape[1]))[0]


def dx_kernel_offsets(dout, K):
    """A loop over the kernel's entries: each sends a shifted copy of dout back."""
    n, F, oh, ow = dout.shape
    _, C, kh, kw = K.shape
    dx = np.zeros((n, C, oh + kh - 1, ow + kw - 1))
    for p in range(kh):
        for q in range(kw):
            dx[:, :, p:p + oh, q:q + ow] += np.einsum("nfrs,fc->ncrs", dout, K[:, :, p, q])
    return dx


def dx_windows_einsum(dout, K):
    kh, kw = K.shape[2:]
    windows = sliding_window_view(padded(dout, K), (kh, kw), axis=(2, 3))     # (n, F, h, w, kh, kw)
    return np.einsum("nfuvpq,fcpq->ncuv", windows, K[:, :, ::-1, ::-1])


def dx_float32(dout, K):
    return dx_scatter(dout.astype(np.float32), K.astype(np.float32)).astype(np.float32)


@pytest.mark.parametrize("fn", [dx_scatter, dx_gather, dx_with_own_convolution, dx_with_mnistlibs_forward,
                                dx_kernel_offsets, dx_windows_einsum, dx_float32])
def test_input_gradient_accepts_right_answers_written_differently(fn, capsys):
    assert check_input_gradient(fn) is fn
    assert capsys.readouterr().out == "✓ input_gradient: all 3 checks passed\n"


def test_the_input_gradient_cases_include_a_batch_of_one_and_tell_kernels_from_channels():
    cases = checks.nb12_convolution._input_gradient_cases()
    assert any(dout.shape[0] == 1 for dout, K, call in cases)
    assert any(K.shape[0] == K.shape[1] and K.shape[2] == K.shape[3] for dout, K, call in cases)
    assert any(K.shape[0] != K.shape[1] and K.shape[2] != K.shape[3] for dout, K, call in cases)
    for dout, K, call in cases:                   # the reference is the backward pass of the forward
        x = np.random.default_rng(0).standard_normal(dx_scatter(dout, K).shape)
        out, cache = conv2d_forward(x, K, np.zeros(len(K)))
        np.testing.assert_allclose(dx_scatter(dout, K), conv2d_backward(dout, cache)[0], atol=1e-12)


def with_gather(kernels=lambda K: K[:, :, ::-1, ::-1], pad=None):
    """The full convolution with one thing changed: the kernels it uses, or dout's padding."""
    def fn(dout, K):
        kh, kw = K.shape[2:]
        rows, cols = pad(kh, kw) if pad else ((kh - 1, kh - 1), (kw - 1, kw - 1))
        dp = np.pad(dout, ((0, 0), (0, 0), rows, cols))
        Kc = kernels(K).transpose(1, 0, 2, 3)                 # (C, F, kh', kw')
        return conv_four_loops(dp, Kc, np.zeros(len(Kc)))
    return fn


def where_square(change):
    """change(K) where the kernel is square (and the shapes still fit), K flipped elsewhere."""
    return with_gather(lambda K: change(K) if K.shape[2] == K.shape[3] else K[:, :, ::-1, ::-1])


def dx_scatter_flipped(dout, K):
    return dx_scatter(dout, K[:, :, ::-1, ::-1])


def dx_windows_overwritten(dout, K):
    n, F, oh, ow = dout.shape
    _, C, kh, kw = K.shape
    dx = np.zeros((n, C, oh + kh - 1, ow + kw - 1))
    for i in range(n):
        for f in range(F):
            for r in range(oh):
                for s in range(ow):
                    dx[i, :, r:r + kh, s:s + kw] = dout[i, f, r, s] * K[f]
    return dx


def dx_one_short(dout, K):
    n, F, oh, ow = dout.shape
    _, C, kh, kw = K.shape
    dp = padded(dout, K)
    dx = np.zeros((n, C, oh + kh - 2, ow + kw - 2))
    for i, c, u, v in np.ndindex(dx.shape):
        dx[i, c, u, v] = np.sum(dp[i, :, u:u + kh, v:v + kw] * K[:, c, ::-1, ::-1])
    return dx


def dx_scatter_too_small(dout, K):
    """dx of dout's size plus kh - 2: the last window does not fit."""
    n, F, oh, ow = dout.shape
    _, C, kh, kw = K.shape
    dx = np.zeros((n, C, oh + kh - 2, ow + kw - 2))
    for i, f, r, s in np.ndindex(dout.shape):
        dx[i, :, r:r + kh, s:s + kw] += dout[i, f, r, s] * K[f]
    return dx


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
