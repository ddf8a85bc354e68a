"""Layers as forward/backward pairs: each backward against finite differences, in float64."""

import numpy as np
import pytest

from mnistlib import model
from mnistlib.gradcheck import check_layer, numerical_gradient, rel_error
from mnistlib.layers import (flatten_backward, flatten_forward, linear_backward, linear_forward,
                             relu_backward, relu_forward, softmax_cross_entropy,
                             softmax_cross_entropy_)

TOL = 1e-7          # right gradients give about 1e-10 here; a wrong one is off by far more


def test_linear_and_softmax_cross_entropy_reproduce_the_softmax_models_gradients():
    rng = np.random.default_rng(0)
    x, y = rng.random((6, 784)), rng.integers(0, 10, 6)
    W, b = 0.1 * rng.standard_normal((784, 10)), 0.1 * rng.standard_normal(10)
    l, cache = linear_forward(x, W, b)
    L, dl = softmax_cross_entropy(l, y)
    _, dW, db = linear_backward(dl, cache)
    dW_ref, db_ref, L_ref = model.gradients(x, y, W, b)
    assert L == pytest.approx(L_ref, rel=1e-12)
    np.testing.assert_allclose(dW, dW_ref, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(db, db_ref, rtol=1e-12, atol=1e-15)


def test_linear_backward_against_finite_differences():
    rng = np.random.default_rng(1)
    errors = check_layer(linear_forward, linear_backward, x=rng.standard_normal((3, 5)),
                         W=rng.standard_normal((5, 4)), b=rng.standard_normal(4))
    assert list(errors) == ["x", "W", "b"]
    assert max(errors.values()) < TOL, errors


def test_relu_backward_against_finite_differences_away_from_the_kink():
    # A step of h across 0 would see the kink and spoil the estimate: keep |x| >= 0.1.
    rng = np.random.default_rng(2)
    x = rng.choice([-1, 1], (4, 6)) * (0.1 + rng.random((4, 6)))
    assert check_layer(relu_forward, relu_backward, x=x)["x"] < TOL


def test_relu_passes_the_gradient_where_x_is_positive_and_nowhere_else():
    x = np.array([[-2.0, 0.0, 3.0]])
    out, cache = relu_forward(x)
    np.testing.assert_array_equal(out, [[0.0, 0.0, 3.0]])
    np.testing.assert_array_equal(relu_backward(np.array([[5.0, 5.0, 5.0]]), cache), [[0.0, 0.0, 5.0]])


def test_flatten_round_trip_and_gradient():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 4, 5))
    out, cache = flatten_forward(x)
    assert out.shape == (2, 60)
    np.testing.assert_array_equal(out[1], x[1].ravel())
    np.testing.assert_array_equal(flatten_backward(out, cache), x)
    assert check_layer(flatten_forward, flatten_backward, x=x)["x"] < TOL


def test_softmax_cross_entropy_gradient_against_finite_differences():
    rng = np.random.default_rng(4)
    l, y = rng.standard_normal((5, 10)), rng.integers(0, 10, 5)
    L, dl = softmax_cross_entropy(l, y)
    numeric = numerical_gradient(lambda: softmax_cross_entropy(l, y)[0], l)
    assert rel_error(dl, numeric) < TOL
    assert L == pytest.approx(model.cross_entropy(l, y, from_logits=True), rel=1e-12)
    np.testing.assert_allclose(dl.sum(axis=1), 0, atol=1e-15)   # p and one-hot y both sum to 1


def test_softmax_cross_entropy_takes_one_hot_labels_and_stays_finite():
    l = np.array([[1e4, -1e4, 0.0], [0.0, 0.0, 0.0]], dtype=np.float32)
    L, dl = softmax_cross_entropy(l, np.array([[0, 1, 0], [0, 0, 1]]))
    assert np.isfinite(L) and L == pytest.approx((2e4 + np.log(3)) / 2, rel=1e-6)
    assert dl.dtype == np.float32 and np.isfinite(dl).all()


def test_the_in_place_softmax_cross_entropy_of_the_fused_steps_gives_the_same_numbers():
    rng = np.random.default_rng(3)
    l = (rng.normal(size=(6, 10)) * [[1], [1], [1], [1], [1e4], [-1e4]]).astype(np.float32)
    y = np.array([0, 3, 9, 3, 1, 7])
    L, dl = softmax_cross_entropy(l, y)
    in_place = l.copy()
    assert softmax_cross_entropy_(in_place, y) == pytest.approx(L, rel=1e-6)
    assert in_place.dtype == np.float32 and np.isfinite(in_place).all()
    np.testing.assert_allclose(in_place, dl, atol=1e-7)


def test_layers_keep_float32():
    rng = np.random.default_rng(5)
    x = rng.random((4, 6), dtype=np.float32)
    W, b = rng.random((6, 3), dtype=np.float32), np.zeros(3, np.float32)
    out, cache = linear_forward(x, W, b)
    dl = softmax_cross_entropy(out, [0, 1, 2, 0])[1]
    assert out.dtype == dl.dtype == np.float32
    assert all(g.dtype == np.float32 for g in linear_backward(dl, cache))
    assert relu_forward(x)[0].dtype == np.float32


def test_check_layer_catches_wrong_backwards():
    """The checker must fail the mistakes people make: a missing transpose-free sum, a factor, a sign."""
    rng = np.random.default_rng(6)
    args = dict(x=rng.standard_normal((3, 4)), W=rng.standard_normal((4, 4)), b=rng.standard_normal(4))

    def no_sum_over_batch(dout, cache):          # db = dout[0] instead of the sum over the batch
        dx, dW, _ = linear_backward(dout, cache)
        return dx, dW, dout[0]

    def W_not_transposed(dout, cache):            # dx = dout W instead of dout W^T (square W: no shape error)
        x, W = cache
        return dout @ W, x.T @ dout, dout.sum(axis=0)

    def relu_wrong_sign(dout, cache):
        return dout * (cache < 0)

    assert check_layer(linear_forward, no_sum_over_batch, **args)["b"] > 0.1
    assert check_layer(linear_forward, W_not_transposed, **args)["x"] > 0.1
    x = rng.choice([-1, 1], (3, 4)) * (0.1 + rng.random((3, 4)))
    assert check_layer(relu_forward, relu_wrong_sign, x=x)["x"] > 0.1


def test_linear_forward_says_what_is_wrong():
    W, b = np.zeros((784, 10)), np.zeros(10)
    with pytest.raises(ValueError, match="flatten the images"):
        linear_forward(np.zeros((2, 28, 28)), W, b)
    with pytest.raises(ValueError, match=r"W \(784, 10\)"):
        linear_forward(np.zeros((2, 100)), W, b)


def test_check_layer_works_in_float64_whatever_it_is_given():
    """In float32 a step of h = 1e-5 drowns in rounding; check_layer copies to float64 first."""
    rng = np.random.default_rng(7)
    args = dict(x=rng.standard_normal((3, 5)).astype(np.float32), W=rng.standard_normal((5, 4)).astype(np.float32),
                b=rng.standard_normal(4).astype(np.float32))
    assert max(check_layer(linear_forward, linear_backward, **args).values()) < TOL
    assert args["x"].dtype == np.float32                     # the caller's arrays are left alone


# --- at the limits of the float types ------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_softmax_cross_entropy_at_the_float_limits_is_never_nan(dtype):
    # l = [M, -M, 0] with M the largest float of the type: p = [1, 0, 0] (up to e^-M), so by hand
    #   class 0: L = log(1 + e^-2M + e^-M) = 0
    #   class 2: L = M + log(1 + e^-M + e^-3M) = M
    #   class 1: L = 2M + log(1 + e^-2M + e^-M) = 2M, which is above the largest float64 only for float64
    M = float(np.finfo(dtype).max)
    l = np.array([[M, -M, 0.0]], dtype=dtype)
    for y, expected in [(0, 0.0), (2, M), (1, 2 * M if dtype != np.float64 else np.inf)]:
        L, dl = softmax_cross_entropy(l, [y])
        assert L == expected, (y, L)
        assert dl.dtype == dtype
        np.testing.assert_array_equal(dl, (np.array([1.0, 0.0, 0.0]) - np.eye(3)[y])[None].astype(dtype))


def test_softmax_cross_entropy_is_finite_when_the_mean_fits_though_the_sum_does_not():
    M = float(np.finfo(np.float64).max)
    l = np.array([[M, 0.0], [M, 0.0]])
    L, _ = softmax_cross_entropy(l, [1, 1])       # each example's loss is M, and so is their mean
    assert L == M


def test_softmax_cross_entropy_of_the_issue_is_finite_for_the_two_classes_within_range():
    # the logits that gave NaN: [1e308, -1e308, 0]
    l = np.array([[1e308, -1e308, 0.0]] * 3)
    L, dl = softmax_cross_entropy(l, [0, 2, 0])
    assert L == pytest.approx(1e308 / 3, rel=1e-15)          # losses 0, 1e308, 0
    assert np.isfinite(dl).all()
    assert softmax_cross_entropy(l, [1, 0, 0])[0] == np.inf  # 2e308 is above the largest float64
