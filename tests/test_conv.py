"""Convolution and max-pooling: loops checked by hand and by finite differences;
fast versions against the loops."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mnistlib.conv import (conv2d_backward, conv2d_backward_loops, conv2d_forward, conv2d_forward_loops,
                           im2col, maxpool2d_backward, maxpool2d_backward_loops, maxpool2d_forward,
                           maxpool2d_forward_loops, out_size)
from mnistlib.gradcheck import check_layer

TOL = 1e-7
CONVS = [(conv2d_forward_loops, conv2d_backward_loops), (conv2d_forward, conv2d_backward)]
POOLS = [(maxpool2d_forward_loops, maxpool2d_backward_loops), (maxpool2d_forward, maxpool2d_backward)]


# --- by hand ---------------------------------------------------------------------

@pytest.mark.parametrize("forward, backward", CONVS)
def test_convolution_of_a_3x3_image_by_hand(forward, backward):
    x = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)        # 1 2 3 / 4 5 6 / 7 8 9
    K = np.array([[[[1.0, 0.0], [0.0, -1.0]]],          # top-left minus bottom-right
                  [[[0.0, 1.0], [1.0, 0.0]]]])          # top-right plus bottom-left
    b = np.array([0.5, 0.0])
    out, cache = forward(x, K, b)
    np.testing.assert_allclose(out, [[[[1 - 5 + 0.5, 2 - 6 + 0.5], [4 - 8 + 0.5, 5 - 9 + 0.5]],
                                      [[2 + 4, 3 + 5], [5 + 7, 6 + 8]]]])
    # all of the gradient on the first output number of kernel 0: it saw x[0:2, 0:2]
    dout = np.zeros_like(out)
    dout[0, 0, 0, 0] = 1.0
    dx, dK, db = backward(dout, cache)
    np.testing.assert_allclose(dK[0, 0], [[1, 2], [4, 5]])
    np.testing.assert_allclose(dK[1], 0)
    np.testing.assert_allclose(dx[0, 0], [[1, 0, 0], [0, -1, 0], [0, 0, 0]])
    np.testing.assert_allclose(db, [1, 0])


@pytest.mark.parametrize("forward, backward", CONVS)
def test_padding_and_stride_by_hand(forward, backward):
    x = np.ones((1, 1, 3, 3))
    K = np.ones((1, 1, 3, 3))
    out, _ = forward(x, K, np.zeros(1), stride=2, pad=1)
    # windows at the corners of the padded 5x5 image: each sees 2x2 of the ones
    np.testing.assert_allclose(out, [[[[4, 4], [4, 4]]]])


@pytest.mark.parametrize("forward, backward", POOLS)
def test_max_pool_ties_go_to_the_first_maximum_row_by_row(forward, backward):
    """The tie rule, by hand: with equal maxima the gradient goes to the first one read row by row."""
    x = np.array([[[[5.0, 5.0, 1.0, 7.0],
                    [5.0, 5.0, 7.0, 2.0],
                    [0.0, 0.0, 3.0, 9.0],
                    [0.0, 0.0, 9.0, 1.0]]]])
    out, cache = forward(x, 2, 2)
    np.testing.assert_array_equal(out, [[[[5, 7], [0, 9]]]])
    dx = backward(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]), cache)
    np.testing.assert_array_equal(dx, [[[[1, 0, 0, 2],
                                         [0, 0, 0, 0],
                                         [3, 0, 0, 4],
                                         [0, 0, 0, 0]]]])


@pytest.mark.parametrize("forward, backward", POOLS)
def test_overlapping_pool_windows_add_their_gradients(forward, backward):
    x = np.array([[[[1.0, 9.0, 2.0]]]]).reshape(1, 1, 1, 3)
    out, cache = forward(np.repeat(x, 2, axis=2), 2, 1)       # two windows share the 9
    np.testing.assert_array_equal(out, [[[[9, 9]]]])
    dx = backward(np.array([[[[1.0, 10.0]]]]), cache)
    np.testing.assert_array_equal(dx, [[[[0, 11, 0], [0, 0, 0]]]])


# --- against finite differences ----------------------------------------------------

# (n, C, h, w, F, kh, kw, stride, pad): odd sizes, h != w, kh != kw, pad 0 and 2, stride 1 and 2
# (small: the loops run twice per entry of x, K and b)
CONV_CASES = [(2, 1, 5, 5, 2, 3, 3, 1, 0), (1, 2, 5, 4, 3, 3, 2, 1, 0), (1, 2, 6, 5, 2, 2, 3, 2, 0),
              (1, 2, 4, 3, 2, 3, 3, 1, 2), (1, 1, 5, 4, 2, 3, 2, 2, 2), (1, 1, 4, 4, 1, 4, 4, 1, 0)]


@pytest.mark.parametrize("forward, backward", CONVS, ids=["loops", "fast"])
@pytest.mark.parametrize("case", CONV_CASES, ids=str)
def test_convolution_gradients_against_finite_differences(forward, backward, case):
    n, C, h, w, F, kh, kw, stride, pad = case
    rng = np.random.default_rng(sum(case))
    errors = check_layer(forward, backward, x=rng.standard_normal((n, C, h, w)),
                         K=rng.standard_normal((F, C, kh, kw)), b=rng.standard_normal(F),
                         stride=stride, pad=pad)
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("forward, backward", POOLS, ids=["loops", "fast"])
@pytest.mark.parametrize("shape, size, stride", [((2, 3, 4, 6), 2, 2), ((1, 2, 5, 7), 2, 2),
                                                 ((2, 1, 5, 4), 3, 1), ((1, 2, 6, 5), 3, 2)], ids=str)
def test_max_pool_gradient_against_finite_differences_on_distinct_values(forward, backward, shape, size, stride):
    # Distinct values, at least 0.01 apart: a step of h never changes which one is the maximum.
    x = np.random.default_rng(size).permutation(np.prod(shape)).reshape(shape) * 0.01
    assert check_layer(forward, backward, x=x, size=size, stride=stride)["x"] < TOL


# --- the backward pass is itself a convolution (as notebook 12 derives) -----------------

@pytest.mark.parametrize("stride", [1, 2])
def test_kernel_gradient_is_a_correlation_of_the_input_with_dout(stride):
    rng = np.random.default_rng(7)
    n, C, F, kh, kw = 2, 3, 4, 3, 2
    x, K = rng.standard_normal((n, C, 7, 8)), rng.standard_normal((F, C, kh, kw))
    out, cache = conv2d_forward_loops(x, K, np.zeros(F), stride=stride)
    dout = rng.standard_normal(out.shape)
    _, dK, _ = conv2d_backward_loops(dout, cache)
    # dK[f, c, p, q] = sum over i, r, s of x[i, c, r*stride + p, s*stride + q] dout[i, f, r, s]:
    # slide dout (spread out by the stride) over x, images playing the part of channels.
    spread = np.zeros((n, F, (out.shape[2] - 1) * stride + 1, (out.shape[3] - 1) * stride + 1))
    spread[:, :, ::stride, ::stride] = dout
    x_used = x[:, :, :spread.shape[2] + kh - 1, :spread.shape[3] + kw - 1]
    corr, _ = conv2d_forward_loops(x_used.transpose(1, 0, 2, 3), spread.transpose(1, 0, 2, 3), np.zeros(F))
    np.testing.assert_allclose(corr.transpose(1, 0, 2, 3), dK, atol=1e-12)


@pytest.mark.parametrize("stride, pad", [(1, 0), (1, 2), (2, 0), (2, 1)])
def test_input_gradient_is_a_full_convolution_with_flipped_kernels(stride, pad):
    rng = np.random.default_rng(8)
    n, C, F, kh, kw, h, w = 2, 2, 3, 3, 2, 7, 6
    x, K = rng.standard_normal((n, C, h, w)), rng.standard_normal((F, C, kh, kw))
    out, cache = conv2d_forward_loops(x, K, np.zeros(F), stride=stride, pad=pad)
    dout = rng.standard_normal(out.shape)
    dx, _, _ = conv2d_backward_loops(dout, cache)
    # Spread dout by the stride, pad it by kernel size - 1 all round ("full"), and slide
    # the kernels over it turned by 180 degrees, with the roles of F and C swapped.
    spread = np.zeros((n, F, (out.shape[2] - 1) * stride + 1, (out.shape[3] - 1) * stride + 1))
    spread[:, :, ::stride, ::stride] = dout
    full = np.pad(spread, ((0, 0), (0, 0), (kh - 1, kh - 1), (kw - 1, kw - 1)))
    flipped = K[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)             # (C, F, kh, kw)
    dx_pad, _ = conv2d_forward_loops(full, flipped, np.zeros(C))
    # rows and columns that no window reached (stride 2 can leave some) get no gradient
    missing = (h + 2 * pad - dx_pad.shape[2], w + 2 * pad - dx_pad.shape[3])
    dx_pad = np.pad(dx_pad, ((0, 0), (0, 0), (0, missing[0]), (0, missing[1])))
    np.testing.assert_allclose(dx_pad[:, :, pad:pad + h, pad:pad + w], dx, atol=1e-12)


# --- fast against loops -------------------------------------------------------------------

@st.composite
def conv_problems(draw):
    n, C, F = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride, pad = draw(st.sampled_from([1, 2])), draw(st.sampled_from([0, 1, 2]))
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    kh, kw = draw(st.integers(1, min(5, h + 2 * pad))), draw(st.integers(1, min(5, w + 2 * pad)))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    return (rng.standard_normal((n, C, h, w)), rng.standard_normal((F, C, kh, kw)),
            rng.standard_normal(F), stride, pad, rng)


@settings(max_examples=100, deadline=None)
@given(conv_problems())
def test_fast_convolution_equals_the_loops(problem):
    x, K, b, stride, pad, rng = problem
    out, cache = conv2d_forward_loops(x, K, b, stride, pad)
    fast, fast_cache = conv2d_forward(x, K, b, stride, pad)
    assert fast.shape == out.shape == (x.shape[0], K.shape[0], out_size(x.shape[2], K.shape[2], stride, pad),
                                       out_size(x.shape[3], K.shape[3], stride, pad))
    np.testing.assert_allclose(fast, out, atol=1e-12)
    dout = rng.standard_normal(out.shape)
    for g, g_fast in zip(conv2d_backward_loops(dout, cache), conv2d_backward(dout, fast_cache)):
        assert g_fast.shape == g.shape
        np.testing.assert_allclose(g_fast, g, atol=1e-12)


@st.composite
def pool_problems(draw):
    size, stride = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    h, w = draw(st.integers(size, 9)), draw(st.integers(size, 9))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    # few distinct values, so that windows often hold tied maxima
    n, C, values = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.sampled_from([2, 4, 1000]))
    x = rng.integers(0, values, (n, C, h, w))
    return x.astype(np.float64), size, stride, rng


@settings(max_examples=100, deadline=None)
@given(pool_problems())
def test_fast_max_pool_equals_the_loops_ties_included(problem):
    x, size, stride, rng = problem
    out, cache = maxpool2d_forward_loops(x, size, stride)
    fast, fast_cache = maxpool2d_forward(x, size, stride)
    np.testing.assert_array_equal(fast, out)
    dout = rng.standard_normal(out.shape)
    np.testing.assert_allclose(maxpool2d_backward(dout, fast_cache), maxpool2d_backward_loops(dout, cache),
                               atol=1e-12)


# --- precision, shapes, memory, errors ---------------------------------------------------

def test_fast_layers_keep_float32():
    rng = np.random.default_rng(9)
    x = rng.random((2, 1, 28, 28), dtype=np.float32)
    K, b = rng.standard_normal((8, 1, 5, 5)).astype(np.float32), np.zeros(8, np.float32)
    out, cache = conv2d_forward(x, K, b)
    assert out.shape == (2, 8, 24, 24) and out.dtype == np.float32
    assert all(g.dtype == np.float32 for g in conv2d_backward(out, cache))
    pooled, pool_cache = maxpool2d_forward(out)
    assert pooled.shape == (2, 8, 12, 12) and pooled.dtype == np.float32
    assert maxpool2d_backward(pooled, pool_cache).dtype == np.float32


def test_im2col_holds_every_window_once():
    x = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
    cols = im2col(x, 2, 3, stride=1, pad=1)
    oh, ow = out_size(4, 2, 1, 1), out_size(5, 3, 1, 1)
    assert cols.shape == (3 * 2 * 3, 2 * oh * ow) and cols.dtype == np.float32
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    i, r, s = 1, 2, 3                                     # the window of image 1 at (2, 3)
    np.testing.assert_array_equal(cols[:, (i * oh + r) * ow + s], xp[i, :, r:r + 2, s:s + 3].ravel())


def test_convolution_says_what_is_wrong():
    K, b = np.zeros((8, 1, 5, 5)), np.zeros(8)
    with pytest.raises(ValueError, match=r"reshape\(-1, 1, 28, 28\)"):
        conv2d_forward(np.zeros((2, 784)), K, b)
    with pytest.raises(ValueError, match="C = 3 channels"):
        conv2d_forward(np.zeros((2, 3, 28, 28)), K, b)
    with pytest.raises(ValueError, match="larger than the padded image"):
        conv2d_forward(np.zeros((2, 1, 4, 4)), K, b)
    with pytest.raises(ValueError, match="stride"):
        conv2d_forward(np.zeros((2, 1, 28, 28)), K, b, stride=0)
    with pytest.raises(ValueError, match="larger than the image"):
        maxpool2d_forward(np.zeros((1, 1, 2, 2)), 3, 1)


@pytest.mark.parametrize("forward, backward", POOLS)
def test_max_pool_stride_defaults_to_the_window_size(forward, backward):
    # as PyTorch's default: windows side by side. A 9x9 image in 3x3 windows gives 3x3 maxima,
    # each the bottom-right number of its window (the numbers grow along rows and columns).
    x = np.arange(81, dtype=np.float64).reshape(1, 1, 9, 9)
    out, cache = forward(x, 3)
    np.testing.assert_array_equal(out[0, 0], [[20, 23, 26], [47, 50, 53], [74, 77, 80]])
    dx = backward(np.ones_like(out), cache)
    assert dx.sum() == 9 and dx[0, 0, 2, 2] == dx[0, 0, 8, 8] == 1
    assert forward(x, 3, 3)[0].shape == out.shape and forward(x, 3, 2)[0].shape == (1, 1, 4, 4)
