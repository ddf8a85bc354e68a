"""The model's functions: values, shapes, numerical safety, and clear errors."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mnistlib.gradcheck import check_gradients, numerical_gradient, rel_error
from mnistlib.model import (accuracy, as_one_hot, cross_entropy, error_rate, gradients,
                            init_params, log_softmax, logits, predict, softmax)

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
logit_rows = arrays(np.float64, st.tuples(st.integers(1, 6), st.just(10)), elements=finite)


def random_problem(n=5, seed=0, scale=0.1):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 784))
    y = rng.integers(0, 10, n)
    W = scale * rng.standard_normal((784, 10))
    b = scale * rng.standard_normal(10)
    return x, y, W, b


# --- softmax and cross-entropy ---------------------------------------------

@settings(max_examples=200, deadline=None)
@given(logit_rows)
def test_softmax_is_a_distribution_for_any_finite_logits(l):
    p = softmax(l)
    assert np.all(np.isfinite(p))
    assert np.all(p >= 0)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)


@settings(max_examples=100, deadline=None)
@given(logit_rows, st.floats(-1e4, 1e4))
def test_softmax_ignores_a_constant_added_to_every_logit(l, c):
    np.testing.assert_allclose(softmax(l + c), softmax(l), atol=1e-9)


def test_softmax_survives_huge_logits():
    p = softmax(np.array([1e4, -1e4, 0.0]))
    np.testing.assert_array_equal(p, [1.0, 0.0, 0.0])
    p32 = softmax(np.array([[1000, 999, -1000]], dtype=np.float32))
    assert p32.dtype == np.float32 and np.isfinite(p32).all()


def test_softmax_matches_the_definition_on_small_logits():
    l = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(softmax(l), np.exp(l) / np.exp(l).sum())


@settings(max_examples=200, deadline=None)
@given(logit_rows, st.data())
def test_cross_entropy_from_logits_is_finite_and_nonnegative(l, data):
    y = data.draw(arrays(np.int64, l.shape[0], elements=st.integers(0, 9)))
    loss = cross_entropy(l, y, from_logits=True)
    assert np.isfinite(loss) and loss >= 0


@settings(max_examples=100, deadline=None)
@given(arrays(np.float64, (4, 10), elements=st.floats(-30, 30)), st.data())
def test_cross_entropy_of_p_equals_cross_entropy_of_logits(l, data):
    y = data.draw(arrays(np.int64, 4, elements=st.integers(0, 9)))
    assert cross_entropy(softmax(l), y) == pytest.approx(cross_entropy(l, y, from_logits=True), rel=1e-9, abs=1e-12)


def test_cross_entropy_is_minus_log_p_true_and_a_batch_mean():
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    assert cross_entropy(p, [0, 2]) == pytest.approx(-(np.log(0.7) + np.log(0.8)) / 2)
    assert cross_entropy(p, np.eye(3)[[0, 2]]) == pytest.approx(cross_entropy(p, [0, 2]))


def test_cross_entropy_stays_finite_when_p_underflows_to_zero():
    l = np.array([0.0, -1000.0])
    assert softmax(l)[1] == 0.0
    assert cross_entropy(l, 1, from_logits=True) == pytest.approx(1000.0)
    assert np.isfinite(cross_entropy(softmax(l), 1))


def test_log_softmax_agrees_with_log_of_softmax():
    l = np.random.default_rng(1).normal(size=(3, 10)) * 5
    np.testing.assert_allclose(log_softmax(l), np.log(softmax(l)), atol=1e-12)


# --- gradients --------------------------------------------------------------

@settings(max_examples=8, deadline=None)
@given(st.integers(1, 8), st.integers(0, 2**32 - 1), st.floats(0.01, 3.0))
def test_gradients_agree_with_finite_differences(n, seed, scale):
    x, y, W, b = random_problem(n, seed, scale)
    err = check_gradients(x, y, W, b)
    assert err["W"] < 1e-6 and err["b"] < 1e-6, err


def test_gradients_single_example_are_the_outer_product_formula():
    x, y, W, b = random_problem(1, seed=3)
    dW, db, loss = gradients(x[0], y[0], W, b)
    p = softmax(logits(x[0], W, b))
    t = np.eye(10)[y[0]]
    np.testing.assert_allclose(dW, np.outer(x[0], p - t))   # dL/dW_ij = x_i (p_j - y_j)
    np.testing.assert_allclose(db, p - t)                    # dL/db_j = p_j - y_j
    assert loss == pytest.approx(-np.log(p[y[0]]))
    assert check_gradients(x[0], y[0], W, b)["W"] < 1e-6


def test_batch_gradient_is_the_mean_of_example_gradients():
    x, y, W, b = random_problem(6, seed=4)
    dW, db, loss = gradients(x, y, W, b)
    per = [gradients(x[i], y[i], W, b) for i in range(6)]
    np.testing.assert_allclose(dW, np.mean([g[0] for g in per], axis=0), atol=1e-12)
    np.testing.assert_allclose(db, np.mean([g[1] for g in per], axis=0), atol=1e-12)
    assert loss == pytest.approx(np.mean([g[2] for g in per]))


def test_one_hot_and_index_labels_give_the_same_gradients():
    x, y, W, b = random_problem(4, seed=5)
    a = gradients(x, y, W, b)
    c = gradients(x, np.eye(10)[y], W, b)
    for u, v in zip(a, c):
        np.testing.assert_allclose(u, v)


def test_gradcheck_catches_a_wrong_gradient():
    x, y, W, b = random_problem(3, seed=6)
    dW, _, _ = gradients(x, y, W, b)

    def loss():
        return cross_entropy(logits(x, W, b), y, from_logits=True)

    num = numerical_gradient(loss, W)
    assert rel_error(dW, num) < 1e-6
    assert rel_error(2 * dW, num) > 0.1          # a factor of 2 off
    assert rel_error(dW * 3, num) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="shapes"):
        rel_error(dW, num.T)


def test_float32_inputs_stay_float32():
    x, y, W, b = (a.astype(np.float32) if a.dtype.kind == "f" else a for a in random_problem(3))
    dW, db, loss = gradients(x, y, W, b)
    assert dW.dtype == np.float32 and db.dtype == np.float32


# --- predictions ------------------------------------------------------------

def test_predict_accuracy_error_rate():
    W = np.zeros((784, 10))
    b = np.arange(10, dtype=float)      # always predicts class 9
    x = np.zeros((4, 784))
    assert list(predict(x, W, b)) == [9, 9, 9, 9]
    assert predict(x[0], W, b) == 9
    assert accuracy(x, [9, 9, 1, 2], W, b) == 0.5
    assert error_rate(x, [9, 9, 1, 2], W, b) == 0.5
    assert accuracy(x, np.eye(10)[[9, 9, 9, 2]], W, b) == 0.75


def test_init_params_shapes_and_seed():
    W, b = init_params()
    assert W.shape == (784, 10) and b.shape == (10,) and W.dtype == np.float32
    assert not W.any()
    W1, _ = init_params(scale=0.01, seed=1)
    W2, _ = init_params(scale=0.01, seed=1)
    np.testing.assert_array_equal(W1, W2)


# --- clear errors -----------------------------------------------------------

@pytest.mark.parametrize("x, msg", [
    (np.zeros((5, 28, 28)), r"\(n, 784\).*got shape \(5, 28, 28\)"),
    (np.zeros((5, 783)), r"got shape \(5, 783\)"),
    (np.zeros((5, 784), dtype=np.uint8), r"dtype uint8.*255"),
    (np.zeros((0, 784)), r"empty batch"),
])
def test_bad_x_names_expected_and_received(x, msg):
    W, b = init_params()
    with pytest.raises(ValueError, match=msg):
        logits(x, W, b)


def test_transposed_W_is_reported():
    W, b = init_params()
    with pytest.raises(ValueError, match=r"W has shape \(10, 784\).*\(784, 10\).*transposed"):
        logits(np.zeros((5, 784)), W.T, b)
    with pytest.raises(ValueError, match=r"b must have shape \(10,\)"):
        logits(np.zeros(784), W, np.zeros((1, 10, 1)))


def test_bad_labels_are_reported():
    x, y, W, b = random_problem(3)
    with pytest.raises(ValueError, match="between 0 and 9"):
        gradients(x, [0, 1, 10], W, b)
    with pytest.raises(ValueError, match="3 examples"):
        gradients(x, [0, 1], W, b)
    with pytest.raises(ValueError, match="one-hot"):
        as_one_hot(np.zeros((3, 7)), 10)
    with pytest.raises(ValueError, match="4 labels"):
        accuracy(x, [0, 1, 2, 3], W, b)


# --- inputs that used to give NaN, or a loss of 0, without a word ------------------------------

@pytest.mark.parametrize("dtype, big", [(np.float64, 1e308), (np.float32, 3e38), (np.float16, 65000)])
def test_cross_entropy_from_logits_is_finite_for_huge_finite_logits(dtype, big):
    from mnistlib.model import cross_entropy
    l = np.array([[big, -big] + [0] * 8, [-big, big] + [0] * 8], dtype=dtype)
    assert cross_entropy(l, [0, 1], from_logits=True) == 0.0
    if dtype != np.float64:        # in float64 the true loss, 2e308, is beyond the largest float
        assert np.isfinite(cross_entropy(l, [1, 0], from_logits=True))


@pytest.mark.parametrize("y", [np.array([[1.0, 1.0] + [0] * 8]), np.zeros((1, 10)),
                               np.array([[1.5, -0.5] + [0] * 8])])
def test_cross_entropy_rejects_one_hot_rows_that_do_not_sum_to_one(y):
    from mnistlib.model import cross_entropy
    with pytest.raises(ValueError, match="summing to 1"):
        cross_entropy(np.full((1, 10), 0.1), y)


def test_cross_entropy_rejects_negative_p_and_empty_batches():
    from mnistlib.model import cross_entropy
    with pytest.raises(ValueError, match="between 0 and 1"):
        cross_entropy(np.array([-0.1, 1.1] + [0] * 8), 1)
    with pytest.raises(ValueError, match="empty batch"):
        cross_entropy(np.zeros((0, 10)), np.zeros(0, int))


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_softmax_of_non_finite_logits_says_so(bad):
    from mnistlib.model import log_softmax, softmax
    for f in (softmax, log_softmax):
        with pytest.raises(ValueError, match="finite"):
            f(np.array([bad, 0.0, 1.0]))


def test_nan_images_are_named_by_logits_predict_and_accuracy():
    from mnistlib.model import accuracy, logits, predict
    W, b = np.zeros((784, 10)), np.zeros(10)
    x = np.zeros((5, 784))
    x[2, 7] = np.nan
    for f in (lambda: logits(x, W, b), lambda: predict(x, W, b), lambda: accuracy(x, np.zeros(5, int), W, b)):
        with pytest.raises(ValueError, match=r"NaN or infinite.*example 2, pixel 7"):
            f()


def test_cross_entropy_refuses_logits_that_lie_between_0_and_1():
    from mnistlib.model import cross_entropy
    l = np.array([[0.9, 0.6, 0.1]])         # logits between 0 and 1, summing to 1.6: not probabilities
    with pytest.raises(ValueError, match=r"row 0 of p sums to 1\.6\. Logits .* Use from_logits=True"):
        cross_entropy(l, [0])
    with pytest.raises(ValueError, match=r"p sums to 0\.5\..*from_logits=True"):
        cross_entropy(np.array([0.25, 0.25]), 1)
    # as logits, by hand: L = log(e^0.9 + e^0.6 + e^0.1) - 0.9 = log(2.459603 + 1.822119 + 1.105171) - 0.9
    #                                                    = log(5.386893) - 0.9 = 0.783969
    assert cross_entropy(l, [0], from_logits=True) == pytest.approx(0.783969, abs=1e-6)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_cross_entropy_takes_softmax_outputs_in_every_float_type(dtype):
    from mnistlib.model import cross_entropy
    l = np.random.default_rng(0).normal(size=(1000, 10)) * 4
    p = softmax(l.astype(dtype))            # rows that sum to 1 up to the type's rounding
    assert p.dtype == dtype
    L = cross_entropy(p, np.zeros(1000, int))
    if dtype != np.float16:                 # in float16 the small p round to 0, and log p is clipped
        assert L == pytest.approx(cross_entropy(l, np.zeros(1000, int), from_logits=True), rel=1e-5)
