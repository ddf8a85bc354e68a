"""The MLP and the CNN: whole-model gradients against finite differences, the fast step,
initialisation, training, the command line."""

import os
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest

from mnistlib import cnn, mlp, softmax_regression
from mnistlib.gradcheck import check_model
from mnistlib.train import accuracy_of, train

TOL = 1e-7


def tiny_problem(n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 784)), rng.integers(0, 10, n)


# --- gradients ---------------------------------------------------------------------

def test_mlp_gradients_against_finite_differences():
    X, y = tiny_problem(3)
    params = mlp.init_params(seed=1, dtype=np.float64, n_hidden=4)
    # no hidden pre-activation within a step of the ReLU's kink (a step across it spoils the estimate)
    assert np.abs(X @ params["W1"] + params["b1"]).min() > 1e-3
    errors = check_model(mlp, params, X, y)
    assert set(errors) == {"W1", "b1", "W2", "b2"}
    assert max(errors.values()) < TOL, errors


def test_cnn_gradients_against_finite_differences():
    X, y = tiny_problem(2)
    params = cnn.init_params(seed=2, dtype=np.float64, channels=(2, 3), n_hidden=4)
    params["b1"][:] = [0.05, -0.05]               # biases away from 0 too
    errors = check_model(cnn, params, X, y)
    assert set(errors) == {"K1", "b1", "K2", "b2", "W3", "b3", "W4", "b4"}
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
@pytest.mark.parametrize("model, start", [(softmax_regression, {}), (mlp, dict(n_hidden=5)),
                                          (cnn, dict(channels=(3, 4), n_hidden=6)),
                                          # 6x6 kernels: odd sizes, 28 -> 23 -> 11 -> 6 -> 3
                                          (cnn, dict(channels=(2, 3), kernel=6, n_hidden=5))],
                         ids=["softmax", "mlp", "cnn", "cnn-6x6"])
def test_fast_step_equals_loss_and_grads_then_the_update(model, start, weight_decay):
    X, y = tiny_problem(7)
    params = model.init_params(seed=3, dtype=np.float64, **start)
    for k in params:
        if k.startswith("b") or not params[k].any():               # biases that matter, no zero W
            params[k][:] = np.random.default_rng(4).normal(0, 0.1, params[k].shape)
    L, grads = model.loss_and_grads(params, X, y)
    expected = {k: v * (1 - 0.3 * weight_decay if v.ndim >= 2 else 1) - 0.3 * grads[k] for k, v in params.items()}
    fast = {k: v.copy() for k, v in params.items()}
    assert model.sgd_step(fast, X, y, 0.3, weight_decay) == pytest.approx(L, rel=1e-12)
    for k in params:
        np.testing.assert_allclose(fast[k], expected[k], rtol=1e-12, atol=1e-15, err_msg=k)


def test_cnn_fast_step_on_batches_of_different_sizes_and_ties():
    """Work arrays are kept per batch size; blank images make every pooling window a tie."""
    params = cnn.init_params(seed=5, dtype=np.float64, channels=(2, 3), n_hidden=6)
    for n in (4, 3, 4):
        X, y = tiny_problem(n, seed=n)
        X[0] = 0.0                                      # a blank image: ties everywhere
        L, grads = cnn.loss_and_grads(params, X, y)
        fast = {k: v.copy() for k, v in params.items()}
        assert cnn.sgd_step(fast, X, y, 0.1) == pytest.approx(L, rel=1e-12)
        for k in params:
            np.testing.assert_allclose(fast[k], params[k] - 0.1 * grads[k], rtol=1e-12, atol=1e-15, err_msg=k)


def test_cnn_splits_large_batches_into_chunks_without_changing_the_numbers(monkeypatch):
    X, y = tiny_problem(7)
    params = cnn.init_params(seed=4, dtype=np.float64, channels=(2, 3), n_hidden=6)
    L, grads = cnn.loss_and_grads(params, X, y)
    l = cnn.logits(params, X)
    monkeypatch.setattr(cnn, "CHUNK", 3)
    monkeypatch.setattr(cnn, "EVAL_CHUNK", 2)          # the logits have chunks of their own
    L3, grads3 = cnn.loss_and_grads(params, X, y)
    assert L3 == pytest.approx(L, rel=1e-12)
    for k in grads:
        np.testing.assert_allclose(grads3[k], grads[k], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(cnn.logits(params, X), l, rtol=1e-12)


def test_cnn_logits_on_many_images_stay_within_memory():
    """The second convolution's im2col of 1500 images alone would be 150 MB, and the logits of 500
    at a time peak at about 80 MB: in chunks of EVAL_CHUNK images the peak stays far lower."""
    X = np.random.default_rng(5).random((1500, 784), dtype=np.float32)
    params = cnn.init_params()
    tracemalloc.start()
    try:
        l = cnn.logits(params, X)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert l.shape == (1500, 10) and l.dtype == np.float32
    assert peak < 40e6, f"peak {peak / 1e6:.0f} MB"


# --- parameters and initialisation ----------------------------------------------------

def test_init_params_shapes_dtypes_and_seeds():
    p = mlp.init_params()
    assert {k: v.shape for k, v in p.items()} == {"W1": (784, mlp.N_HIDDEN), "b1": (mlp.N_HIDDEN,),
                                                 "W2": (mlp.N_HIDDEN, 10), "b2": (10,)}
    q = cnn.init_params()
    assert {k: v.shape for k, v in q.items()} == {"K1": (16, 1, 5, 5), "b1": (16,), "K2": (32, 16, 5, 5),
                                                 "b2": (32,), "W3": (512, 100), "b3": (100,),
                                                 "W4": (100, 10), "b4": (10,)}
    for params in (p, q):
        assert all(v.dtype == np.float32 for v in params.values())
    np.testing.assert_array_equal(mlp.init_params(seed=3)["W1"], mlp.init_params(seed=3)["W1"])
    assert not np.array_equal(mlp.init_params(seed=3)["W1"], mlp.init_params(seed=4)["W1"])
    assert mlp.init_params(init="he")["W1"].std() == pytest.approx(np.sqrt(2 / 784), rel=0.02)
    assert cnn.init_params(init="he")["K2"].std() == pytest.approx(np.sqrt(2 / 400), rel=0.05)
    with pytest.raises(ValueError, match="init must be"):
        mlp.init_params(init="random")


def test_the_models_keep_float32():
    X, y = tiny_problem(4)
    X = X.astype(np.float32)
    for model in (mlp, cnn):
        params = model.init_params()
        L, grads = model.loss_and_grads(params, X, y)
        assert model.logits(params, X).dtype == np.float32
        assert all(g.dtype == np.float32 for g in grads.values()), model.__name__


def test_zero_init_leaves_the_mlp_stuck(subset_mnist):
    """W = 0: every hidden unit gets the same (zero) gradient, so W1 never moves and the net learns no features."""
    d = subset_mnist
    zero = train(d.x_train, d.y_train, model=mlp, params=mlp.init_params(init="zeros", n_hidden=32),
                 lr=0.1, epochs=2, evaluate=False)
    assert not zero.params["W1"].any() and not zero.params["W2"].any()
    assert accuracy_of(mlp, zero.params, d.x_test, d.y_test) < 0.2       # b2 alone: the commonest class
    he = train(d.x_train, d.y_train, model=mlp, params=mlp.init_params(n_hidden=32), lr=0.1, epochs=2,
               evaluate=False)
    assert accuracy_of(mlp, he.params, d.x_test, d.y_test) > 0.85


def test_equal_hidden_units_stay_equal(subset_mnist):
    """The symmetry, without zeros: units that start equal get equal gradients and never differ."""
    d = subset_mnist
    params = mlp.init_params(n_hidden=4, seed=6)
    params["W1"][:] = params["W1"][:, :1]                # every unit: the same incoming weights
    params["W2"][:] = params["W2"][:1]                   # and the same outgoing ones
    r = train(d.x_train[:1000], d.y_train[:1000], model=mlp, params=params, lr=0.1, epochs=1, evaluate=False)
    W1 = r.params["W1"]
    assert np.abs(W1 - params["W1"]).max() > 1e-3       # they learned something ...
    np.testing.assert_array_equal(W1, np.repeat(W1[:, :1], 4, axis=1))   # ... all the same thing


# --- training through the one loop ---------------------------------------------------

@pytest.mark.parametrize("model, start", [(mlp, dict(n_hidden=5)), (cnn, dict(channels=(2, 3), n_hidden=6))],
                         ids=["mlp", "cnn"])
def test_train_follows_loss_and_grads(model, start):
    """train(model=...) uses the fast step; it must do what loss_and_grads says."""
    X, y = tiny_problem(12, seed=7)
    start = model.init_params(seed=8, dtype=np.float64, **start)
    r = train(X, y, model=model, params=start, lr=0.2, epochs=2, batch_size=5, seed=9, evaluate=False)
    params = {k: v.copy() for k, v in start.items()}
    rng = np.random.default_rng(9)
    for _ in range(2):
        order = rng.permutation(12)
        for i in range(0, 12, 5):
            _, grads = model.loss_and_grads(params, X[order[i:i + 5]], y[order[i:i + 5]])
            params = {k: params[k] - 0.2 * grads[k] for k in params}
    for k in params:
        np.testing.assert_allclose(r.params[k], params[k], rtol=1e-10, atol=1e-13)


def test_train_the_cnn_a_little(subset_mnist):
    d = subset_mnist
    r = train(d.x_train[:2000], d.y_train[:2000], model=cnn, params=cnn.init_params(channels=(4, 8), n_hidden=32),
              lr=0.2, epochs=2, batch_size=50, x_val=d.x_test, y_val=d.y_test)
    assert r.history.val_acc[-1] > 0.75                 # from 10 % (guessing) in 80 updates
    assert all(v.dtype == np.float32 for v in r.params.values())


# --- the command line: python -m mnistlib train --model mlp|cnn ------------------------------

def run_cli(*args, env=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "mnistlib", "train", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=timeout)


@pytest.fixture
def offline(tmp_path):
    """No directory, an empty cache, no mirror: the bundled subset."""
    return {"MNIST_DATA_DIR": "", "MNISTLIB_CACHE_DIR": str(tmp_path / "cache"),
            "MNIST_MIRRORS": "http://127.0.0.1:9/"}


def test_cli_trains_the_mlp_by_its_recipe_unless_told_otherwise(offline):
    r = run_cli("--model", "mlp", "--epochs", "2", env=offline)
    assert r.returncode == 0, r.stderr
    lr, batch, decay = mlp.RECIPE["lr"], mlp.RECIPE["batch_size"], mlp.RECIPE["weight_decay"]
    assert (f"training the mlp model: minibatch gradient descent, lr={lr:g}, batch size {batch}, 2 epochs, "
            f"linear schedule, weight decay {decay:g}") in r.stdout
    assert float(r.stdout.split("final test accuracy: ")[1].split()[0]) > 0.85
    assert "heatmaps" not in r.stdout


def test_cli_refuses_out_for_models_without_heatmaps(tmp_path, offline):
    r = run_cli("--model", "cnn", "--out", str(tmp_path / "w.png"), env=offline)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.splitlines()[-1].endswith("--out saves the softmax model's weight heatmaps; the cnn model "
                                              "has none (drop --out)")
    assert "epoch" not in r.stdout


@pytest.mark.slow
@pytest.mark.parametrize("name, goal", [("mlp", 0.98), ("cnn", 0.99)])
def test_cli_reaches_the_goal_on_full_mnist(name, goal, mnist_dir):
    r = run_cli("--model", name, env={"MNIST_DATA_DIR": str(mnist_dir)}, timeout=1800)
    assert r.returncode == 0, r.stderr
    assert "60000 training" in r.stdout
    acc = float(r.stdout.split("final test accuracy: ")[1].split()[0])
    assert acc >= goal, r.stdout
