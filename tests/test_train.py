"""Gradient descent: the fast loop does the textbook arithmetic, and it learns."""

import warnings

import numpy as np
import pytest

from mnistlib.model import accuracy, init_params
from mnistlib import softmax_regression
from mnistlib.train import DivergenceError, History, step, train


def small_problem(n=40, seed=0):
    """Random images labelled by a hidden linear model, so there is something to learn."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, 784))
    y = np.argmax(x @ rng.standard_normal((784, 10)), axis=1)
    return x, y


def test_fast_update_equals_the_textbook_step():
    x, y = small_problem(8)
    W0 = np.random.default_rng(1).normal(0, 0.1, (784, 10))
    b0 = np.random.default_rng(2).normal(0, 0.1, 10)
    W_ref, b_ref, loss_ref = step(x, y, W0, b0, lr=0.3)
    params = {"W": W0.copy(), "b": b0.copy()}
    loss = softmax_regression.sgd_step(params, x, y, 0.3)
    W, b = params["W"], params["b"]
    np.testing.assert_allclose(W, W_ref, atol=1e-12)
    np.testing.assert_allclose(b, b_ref, atol=1e-12)
    assert loss == pytest.approx(loss_ref)


@pytest.mark.parametrize("method, batch", [("example", 1), ("minibatch", 7), ("full", 40)])
def test_train_follows_the_update_rule_in_a_seeded_order(method, batch):
    x, y = small_problem(40)
    result = train(x, y, method=method, batch_size=batch, lr=0.2, epochs=2, seed=3, evaluate=False)
    W, b = init_params(dtype=np.float64)
    rng = np.random.default_rng(3)
    for _ in range(2):
        order = rng.permutation(40)
        for start in range(0, 40, batch):
            idx = order[start:start + batch] if method != "full" else np.arange(40)
            W, b, _ = step(x[idx], y[idx], W, b, 0.2)
    np.testing.assert_allclose(result.W, W, atol=1e-10)
    np.testing.assert_allclose(result.b, b, atol=1e-10)
    assert result.history.updates == [40 // batch + (40 % batch > 0), 2 * (40 // batch + (40 % batch > 0))]


def test_train_is_reproducible_and_does_not_modify_its_inputs():
    x, y = small_problem(30)
    W0, b0 = init_params(dtype=np.float64)
    a = train(x, y, W=W0, b=b0, lr=0.5, epochs=2, batch_size=4, seed=9)
    c = train(x, y, W=W0, b=b0, lr=0.5, epochs=2, batch_size=4, seed=9)
    np.testing.assert_array_equal(a.W, c.W)
    assert not W0.any() and not b0.any()
    d = train(x, y, lr=0.5, epochs=2, batch_size=4, seed=10)
    assert not np.array_equal(a.W, d.W)


def test_history_and_callback():
    x, y = small_problem(50)
    seen = []
    result = train(x, y, lr=0.1, epochs=3, batch_size=10, x_val=x[:10], y_val=y[:10],
                   callback=lambda p: seen.append((p.epoch, p.update)), log_every=2)
    h = result.history
    assert isinstance(h, History)
    assert h.epoch == [1, 2, 3] and h.updates == [5, 10, 15]
    assert len(h.loss) == len(h.train_acc) == len(h.val_acc) == 3
    assert h.loss[-1] < h.loss[0]
    assert seen == [(1, 5), (2, 10), (3, 15)]
    assert h.step_updates == list(range(2, 16, 2))
    every = []
    train(x, y, lr=0.1, epochs=1, batch_size=10, callback=lambda p: every.append(p.update), callback_every=2)
    assert every == [2, 4]


def test_labels_may_be_one_hot():
    x, y = small_problem(20)
    a = train(x, y, lr=0.1, epochs=1, batch_size=5, evaluate=False)
    b = train(x, np.eye(10)[y], lr=0.1, epochs=1, batch_size=5, evaluate=False)
    np.testing.assert_allclose(a.W, b.W)


def test_linear_schedule_ends_near_zero_learning_rate():
    x, y = small_problem(20)
    r = train(x, y, lr=0.5, epochs=2, batch_size=20, schedule="linear", evaluate=False)
    assert np.isfinite(r.W).all()
    with pytest.raises(ValueError, match="schedule"):
        train(x, y, schedule="cosine")


@pytest.mark.parametrize("method", ["example", "minibatch", "full"])
def test_too_large_a_learning_rate_stops_with_a_clear_message_and_no_warnings(subset_mnist, method):
    d = subset_mnist
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # a page of RuntimeWarnings would fail here
        with pytest.raises(DivergenceError) as info:
            train(d.x_train, d.y_train, method=method, lr=1e4, epochs=20)
    msg = str(info.value)
    assert "diverged in epoch" in msg and "lr=10000" in msg and "try lr=1000" in msg
    assert isinstance(info.value.history, History)


@pytest.mark.parametrize("method, lr", [("example", 0.1), ("minibatch", 1.0), ("full", 1.0)])
def test_sensible_learning_rates_do_not_trip_the_divergence_check(subset_mnist, method, lr):
    d = subset_mnist
    r = train(d.x_train, d.y_train, method=method, lr=lr, epochs=2 if method != "full" else 20)
    assert r.history.train_acc[-1] > 0.8


@pytest.mark.parametrize("lr", [0, -0.1, float("nan"), float("inf"), "0.1", None])
def test_bad_learning_rates_are_rejected(lr):
    x, y = small_problem(10)
    with pytest.raises(ValueError, match="learning rate"):
        train(x, y, lr=lr)


def test_bad_inputs_are_rejected():
    x, y = small_problem(10)
    with pytest.raises(ValueError, match="method"):
        train(x, y, method="sgd")
    with pytest.raises(ValueError, match=r"10 labels"):
        train(x, y[:5])
    with pytest.raises(ValueError, match=r"\(n, 784\)"):
        train(x.reshape(10, 28, 28), y)
    with pytest.raises(ValueError, match="batch_size"):
        train(x, y, batch_size=0)


def test_learns_the_bundled_subset(subset_mnist):
    d = subset_mnist
    r = train(d.x_train, d.y_train, lr=0.5, epochs=5, batch_size=50, x_val=d.x_test, y_val=d.y_test)
    assert r.history.val_acc[-1] > 0.85


@pytest.mark.slow
def test_full_mnist_reaches_92_percent(full_mnist):
    d = full_mnist
    r = train(d.x_train, d.y_train, lr=1.0, epochs=4, batch_size=50, schedule="linear", evaluate=False)
    acc = accuracy(d.x_test, d.y_test, r.W, r.b)
    assert acc >= 0.92, acc


# --- what train() refuses, before it starts -------------------------------------------------

@pytest.mark.parametrize("labels, words", [
    (lambda y: np.where(y == 0, -1, y), "between 0 and 9"),          # -1 used to train as class 9
    (lambda y: y.reshape(-1, 1), r"ravel\(\)"),                     # (n, 1) used to read as one-hot
    (lambda y: np.where(y == 0, 10, y), "between 0 and 9"),           # used to be an IndexError
    (lambda y: y + 0.7, "whole class numbers"),                       # 2.7 used to be cut to 2
    (lambda y: np.where(y == 0, np.nan, y.astype(float)), "NaN"),     # used to be index -2**63
    (lambda y: np.eye(10)[y] * 2, "one-hot"),                         # rows summing to 2
])
def test_bad_labels_are_rejected_with_what_is_wrong(labels, words):
    x, y = small_problem(20)
    y[0] = 0
    with pytest.raises(ValueError, match=words):
        train(x, labels(y), epochs=1)
    with pytest.raises(ValueError, match=words):
        train(x, y, x_val=x, y_val=labels(y), epochs=1)


def test_whole_float_labels_are_fine():
    x, y = small_problem(20)
    a = train(x, y, epochs=1, batch_size=5, evaluate=False)
    b = train(x, y.astype(float), epochs=1, batch_size=5, evaluate=False)
    np.testing.assert_array_equal(a.W, b.W)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_pixels_are_blamed_on_the_images_not_the_learning_rate(bad):
    x, y = small_problem(20)
    x[3, 100] = bad
    with pytest.raises(ValueError, match=r"NaN or infinite.*example 3, pixel 100") as info:
        train(x, y, epochs=1)
    assert "learning rate" not in str(info.value)


def test_pixels_in_0_to_255_are_told_to_divide_by_255():
    x, y = small_problem(20)
    with pytest.raises(ValueError, match="divide by 255"):
        train(np.round(x * 255), y, epochs=1)


@pytest.mark.parametrize("kwargs, words", [
    ({"epochs": -1}, "epochs"), ({"epochs": 0}, "epochs"), ({"epochs": 2.5}, "epochs"),
    ({"batch_size": 2.5}, "batch_size"), ({"batch_size": "10"}, "batch_size"),
    ({"batch_size": True}, "batch_size"), ({"lr": True}, "learning rate"),
    ({"max_updates": 0}, "max_updates"), ({"divergence_factor": float("nan")}, "divergence_factor"),
    ({"divergence_factor": 0.5}, "divergence_factor"), ({"weight_decay": -0.1}, "weight_decay"),
    ({"log_every": 0}, "log_every"), ({"callback_every": 1.5}, "callback_every"),
    ({"x_val": np.zeros((3, 784))}, "x_val and y_val"),
])
def test_loose_parameters_are_rejected(kwargs, words):
    x, y = small_problem(10)
    with pytest.raises(ValueError, match=words):
        train(x, y, **kwargs)


def test_numpy_numbers_are_accepted_as_parameters():
    x, y = small_problem(10)
    r = train(x, y, lr=np.int64(1), epochs=np.int64(1), batch_size=np.int32(5), evaluate=False)
    assert r.history.updates == [2]


# --- weight decay ------------------------------------------------------------------------

def test_weight_decay_adds_lambda_W_to_the_gradient_of_W_only():
    x, y = small_problem(8)
    rng = np.random.default_rng(4)
    W0, b0 = rng.normal(0, 0.1, (784, 10)), rng.normal(0, 0.1, 10)
    lam, lr = 0.3, 0.2
    r = train(x, y, W=W0, b=b0, lr=lr, epochs=1, batch_size=8, method="full",
              weight_decay=lam, evaluate=False)
    from mnistlib.model import gradients
    dW, db, _ = gradients(x, y, W0, b0)
    np.testing.assert_allclose(r.W, W0 - lr * (dW + lam * W0), atol=1e-12)
    np.testing.assert_allclose(r.b, b0 - lr * db, atol=1e-12)


def test_weight_decay_shrinks_the_weights():
    x, y = small_problem(40)
    plain = train(x, y, lr=0.5, epochs=5, batch_size=10, evaluate=False)
    decayed = train(x, y, lr=0.5, epochs=5, batch_size=10, weight_decay=0.5, evaluate=False)
    assert np.linalg.norm(decayed.W) < 0.6 * np.linalg.norm(plain.W)


# --- any model: the same loop ---------------------------------------------------------------

class TwoParams:
    """A tiny model (the softmax, written from scratch with other names) to drive the generic loop."""

    @staticmethod
    def init_params(seed=0, dtype=np.float32):
        rng = np.random.default_rng(seed)
        return {"V": (0.01 * rng.standard_normal((784, 10))).astype(dtype), "c": np.zeros(10, dtype)}

    @staticmethod
    def logits(params, X):
        return X @ params["V"] + params["c"]

    @staticmethod
    def loss_and_grads(params, X, y):
        from mnistlib.model import gradients
        dV, dc, loss = gradients(X, y, params["V"], params["c"])
        return loss, {"V": dV, "c": dc}


def test_a_model_with_the_three_functions_trains_exactly_like_the_softmax():
    x, y = small_problem(40)
    start = TwoParams.init_params(seed=1, dtype=np.float64)
    generic = train(x, y, model=TwoParams, params=start, lr=0.3, epochs=2, batch_size=8,
                    weight_decay=0.01, x_val=x[:10], y_val=y[:10])
    softmax = train(x, y, W=start["V"], b=start["c"], lr=0.3, epochs=2, batch_size=8,
                    weight_decay=0.01, x_val=x[:10], y_val=y[:10])
    np.testing.assert_allclose(generic.params["V"], softmax.W, atol=1e-10)
    np.testing.assert_allclose(generic.params["c"], softmax.b, atol=1e-10)
    assert generic.history.val_acc == softmax.history.val_acc
    assert generic.model is TwoParams and start["V"].any() and not start["c"].any()


def test_a_model_whose_gradients_do_not_match_its_parameters_is_named():
    class Broken(TwoParams):
        @staticmethod
        def loss_and_grads(params, X, y):
            loss, g = TwoParams.loss_and_grads(params, X, y)
            return loss, {"V": g["V"].T, "c": g["c"]}
    x, y = small_problem(10)
    with pytest.raises(ValueError, match=r"gradient of V has shape \(10, 784\)"):
        train(x, y, model=Broken, epochs=1)
    with pytest.raises(ValueError, match="params="):
        train(x, y, model=TwoParams, W=np.zeros((784, 10)), b=np.zeros(10))
