"""Gradient descent: the fast loop does the textbook arithmetic, and it learns."""

import warnings

import numpy as np
import pytest

from mnistlib.model import accuracy, init_params
from mnistlib.train import DivergenceError, History, _sgd_update, step, train


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
    W, b = W0.copy(), b0.copy()
    loss = _sgd_update(x, y, W, b, 0.3, np.arange(8))
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
    result = train(x, y, lr=0.1, epochs=3, batch_size=10, x_test=x[:10], y_test=y[:10],
                   callback=lambda p: seen.append((p.epoch, p.update)), log_every=2)
    h = result.history
    assert isinstance(h, History)
    assert h.epoch == [1, 2, 3] and h.updates == [5, 10, 15]
    assert len(h.loss) == len(h.train_acc) == len(h.test_acc) == 3
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
    r = train(d.x_train, d.y_train, lr=0.5, epochs=5, batch_size=50, x_test=d.x_test, y_test=d.y_test)
    assert r.history.test_acc[-1] > 0.85


@pytest.mark.slow
def test_full_mnist_reaches_92_percent(full_mnist):
    d = full_mnist
    r = train(d.x_train, d.y_train, lr=1.0, epochs=4, batch_size=50, schedule="linear", evaluate=False)
    acc = accuracy(d.x_test, d.y_test, r.W, r.b)
    assert acc >= 0.92, acc
