"""The checks of notebook 11: backpropagation through the hidden layer, and the scale of a random start.

Each check must pass right answers written in different ways and reject the wrong
answers learners write, with a message that names the mistake.
"""

import numpy as np
import pytest

from mnistlib import checks, layers, mlp
from mnistlib.checks import check_he_init, check_mlp_gradients
from mnistlib.model import as_one_hot, softmax

from helpers import fails, passes


# --- mlp_gradients: right answers, written differently ---------------------------

def forward(params, X):
    z = X @ params["W1"] + params["b1"]
    h = np.maximum(z, 0)
    l = h @ params["W2"] + params["b2"]
    return z, h, l, softmax(l)


def backprop_matrices(params, X, y):
    z, h, l, P = forward(params, X)
    dl = (P - as_one_hot(y, 10)) / len(X)
    dz = dl @ params["W2"].T * (z > 0)
    return {"W1": X.T @ dz, "b1": dz.sum(axis=0), "W2": h.T @ dl, "b2": dl.sum(axis=0)}


def backprop_loop(params, X, y):
    """One example at a time, outer products, the mean at the end; the mask from h."""
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    for x_m, y_m in zip(X, y):
        z = x_m @ params["W1"] + params["b1"]
        h = np.maximum(z, 0)
        d = softmax(h @ params["W2"] + params["b2"])
        d[y_m] -= 1
        dz = (params["W2"] @ d) * (h > 0)
        grads["W2"] += np.outer(h, d)
        grads["b2"] += d
        grads["W1"] += np.outer(x_m, dz)
        grads["b1"] += dz
    return {k: g / len(X) for k, g in grads.items()}


def backprop_einsum(params, X, y):
    z, h, l, P = forward(params, X)
    dl = P.copy()
    dl[np.arange(len(X)), y] -= 1
    dl /= len(X)
    dh = np.einsum("nj,kj->nk", dl, params["W2"])
    dz = np.where(z > 0, dh, 0.0)
    return {"W2": np.einsum("nk,nj->kj", h, dl), "b2": np.einsum("nj->j", dl),
            "W1": np.einsum("ni,nk->ik", X, dz), "b1": np.einsum("nk->k", dz)}


def backprop_layers(params, X, y):
    """With mnistlib's layers, as notebook 11 does after the exercise."""
    z, lin1 = layers.linear_forward(X, params["W1"], params["b1"])
    h, relu = layers.relu_forward(z)
    l, lin2 = layers.linear_forward(h, params["W2"], params["b2"])
    _, dl = layers.softmax_cross_entropy(l, y)
    dh, dW2, db2 = layers.linear_backward(dl, lin2)
    _, dW1, db1 = layers.linear_backward(layers.relu_backward(dh, relu), lin1)
    return dict(W1=dW1, b1=db1, W2=dW2, b2=db2)


def backprop_heaviside(params, X, y):
    """The ReLU's slope as a step function; z >= 0 is as good as z > 0 away from 0."""
    z, h, l, P = forward(params, X)
    n = X.shape[0]
    dl = (P - np.eye(10)[y]) / n
    dz = (dl @ params["W2"].T) * np.heaviside(z, 0.0) * (z >= 0)
    return {"b2": np.sum(dl, 0), "W2": h.T.dot(dl), "b1": np.sum(dz, 0), "W1": X.T.dot(dz)}


def backprop_float32(params, X, y):
    """Everything in float32, as a learner may compute it to save memory."""
    return backprop_matrices({k: v.astype(np.float32) for k, v in params.items()}, X.astype(np.float32), y)


@pytest.mark.parametrize("fn", [backprop_matrices, backprop_loop, backprop_einsum,
                                backprop_heaviside, backprop_float32])
def test_mlp_gradients_accepts_answers_written_differently(fn):
    passes(check_mlp_gradients, fn)


def test_the_inputs_make_the_relu_mistakes_visible():
    params, X, y = checks.nb11_hidden_layer._mlp_inputs(5, 6)
    z = X @ params["W1"] + params["b1"]
    assert np.abs(z).min() > 1e-3                        # no z at the kink
    active = (z > 0).mean(axis=0)
    assert ((active > 0) & (active < 1)).sum() >= 4      # most units both fire and stay silent
    dh = (softmax(np.maximum(z, 0) @ params["W2"] + params["b2"]) - as_one_hot(y, 10)) @ params["W2"].T
    assert 0.2 < ((dh > 0) == (z > 0)).mean() < 0.8      # a mask taken from dh differs from one from z


def test_the_answers_above_agree_with_mnistlibs_mlp():
    params, X, y = checks.nb11_hidden_layer._mlp_inputs(5, 6)
    expected = mlp.loss_and_grads(params, X, y)[1]
    for k, g in backprop_matrices(params, X, y).items():
        np.testing.assert_allclose(g, expected[k], rtol=1e-12, atol=1e-15)


# --- mlp_gradients: the mistakes learners make -----------------------------------

def wrong(dl_of=None, relu=None, layer2_input=None, b_sum="sum", out="dict", dW1_from=None):
    """A backward pass with one mistake in it (each argument changes one step)."""
    def fn(params, X, y):
        z, h, l, P = forward(params, X)
        Y = as_one_hot(y, 10)
        n = len(X)
        dl = dl_of(P, Y, y, n, l) if dl_of else (P - Y) / n
        dh = dl @ params["W2"].T
        dz = relu(dh, z, h) if relu else dh * (z > 0)
        hin = layer2_input(z, h) if layer2_input else h
        total = (lambda a: a.sum(axis=0)) if b_sum == "sum" else (lambda a: a.mean(axis=0))
        if b_sum == "axis1":
            total = lambda a: a.sum(axis=1)                          # noqa: E731
        dW1 = dW1_from(X, dz, dl) if dW1_from else X.T @ dz
        grads = {"W1": dW1, "b1": total(dz), "W2": hin.T @ dl, "b2": total(dl)}
        if out == "tuple":
            return grads["W1"], grads["b1"], grads["W2"], grads["b2"]
        if out == "no b":
            return {"W1": grads["W1"], "W2": grads["W2"]}
        return grads
    return fn


def dh_not_transposed(params, X, y):
    z, h, l, P = forward(params, X)
    dl = (P - as_one_hot(y, 10)) / len(X)
    dh = dl @ params["W2"]                                  # (n, 10) @ (H, 10): does not fit
    dz = dh * (z > 0)
    return {"W1": X.T @ dz, "b1": dz.sum(0), "W2": h.T @ dl, "b2": dl.sum(0)}


def transposed_dW1(params, X, y):
    g = backprop_matrices(params, X, y)
    return g | {"W1": g["W1"].T}


def keepdims_db2(params, X, y):
    g = backprop_matrices(params, X, y)
    return g | {"b2": g["b2"][:, None]}


def updates_in_place(params, X, y):
    g = backprop_matrices(params, X, y)
    params["W2"] -= 0.1 * g["W2"]                           # a step of gradient descent, by mistake
    return g


def dW2_from_X(params, X, y):
    g = backprop_matrices(params, X, y)
    dl = (forward(params, X)[3] - as_one_hot(y, 10)) / len(X)
    return g | {"W2": X.T @ dl}                             # notebook 05's dW, for the second layer


def calls_mnistlib(params, X, y):
    return mlp.loss_and_grads(params, X, y)[1]


@pytest.mark.parametrize("fn, phrases", [
    (wrong(dl_of=lambda P, Y, y, n, l: P - Y), ["dW2 is 5 times too large", "mean"]),
    (wrong(b_sum="mean"), ["db2 is 1/5 of the expected", "divided by n twice", "(dW2, dW1 are right)"]),
    (wrong(dl_of=lambda P, Y, y, n, l: (Y - P) / n), ["dW2 has the wrong sign", "P - Y"]),
    (wrong(dl_of=lambda P, Y, y, n, l: (P - y[:, None]) / n), ["subtracts the label number", "one-hot"]),
    (wrong(dl_of=lambda P, Y, y, n, l: P / n), ["dW2 ignores the labels"]),
    (wrong(dl_of=lambda P, Y, y, n, l: (P - Y) / n * (l > 0)), ["a ReLU that is not there"]),
    (wrong(layer2_input=lambda z, h: z), ["dW2 uses z", "h = max(0, z)"]),
    (wrong(relu=lambda dh, z, h: dh), ["dW1 ignores the ReLU", "(dW2, db2 are right)", "slope of max(0, z)"]),
    (wrong(relu=lambda dh, z, h: np.maximum(dh, 0)), ["applies the ReLU to the gradient", "sign of z"]),
    (wrong(relu=lambda dh, z, h: dh * (dh > 0)), ["applies the ReLU to the gradient"]),
    (wrong(relu=lambda dh, z, h: dh * (z < 0)), ["the mask is the wrong way round"]),
    (wrong(relu=lambda dh, z, h: dh * h), ["multiplies dh by h = max(0, z)", "instead of by its slope"]),
    (wrong(relu=lambda dh, z, h: dh * z), ["multiplies dh by z"]),
    (wrong(dW1_from=lambda X, dz, dl: X.T @ dl), ["gradient of W1 has shape (784, 10)", "notebook 05"]),
    (wrong(layer2_input=lambda z, h: z[:, :0]), ["gradient of W2 has shape (0, 10)"]),
    (wrong(b_sum="axis1"), ["gradient of b2 has shape (5,)", "sum the gradient over the examples, axis=0"]),
    (transposed_dW1, ["gradient of W1 has shape (6, 784)", "X^T dz"]),
    (keepdims_db2, ["gradient of b2 has shape (10, 1)"]),
    (wrong(out="tuple"), ["returned a tuple of four", "dict"]),
    (wrong(out="no b"), ["missing: b1, b2"]),
    (dh_not_transposed, ["raised ValueError", "shapes"]),
    (updates_in_place, ["changed params['W2']"]),
    (dW2_from_X, ["gradient of W2 has shape (784, 10)", "input is the hidden layer h, not the images X"]),
    (calls_mnistlib, ["calls loss_and_grads() from mnistlib.mlp (line 2 of it)", "which does the whole job"]),
    (backprop_layers, ["calls linear_backward() from mnistlib.layers", "a layer's backward pass"]),
])
def test_mlp_gradients_names_the_mistake(fn, phrases):
    fails(check_mlp_gradients, fn, *phrases)


def test_mlp_gradients_second_hint_only_on_request(capsys):
    no_relu = wrong(relu=lambda dh, z, h: dh)
    check_mlp_gradients(no_relu)
    out = capsys.readouterr().out
    assert "✗ mlp_gradients" in out and 'hint("mlp_gradients")' in out
    assert "(z > 0)" not in out                             # the nudge, not the line
    checks.hint("mlp_gradients")
    assert "(z > 0)" not in capsys.readouterr().out
    checks.hint("mlp_gradients", reveal=True)
    assert "dz = dh * (z > 0)" in capsys.readouterr().out


def test_mlp_gradients_failure_hands_back_mnistlibs_gradients(capsys):
    got = check_mlp_gradients(wrong(dl_of=lambda P, Y, y, n, l: P - Y))
    assert "use mnistlib's mlp_gradients instead" in capsys.readouterr().out
    params, X, y = checks.nb11_hidden_layer._mlp_inputs(4, 5)
    expected = mlp.loss_and_grads(params, X, y)[1]
    for k, g in got(params, X, y).items():
        np.testing.assert_allclose(g, expected[k])
    fails(check_mlp_gradients, got, "mnistlib's own")      # handing it back to the check does not pass


# --- he_init ----------------------------------------------------------------------

def he_normal(fan_in, fan_out, rng):
    return rng.normal(0, np.sqrt(2 / fan_in), size=(fan_in, fan_out))


def he_scaled(fan_in, fan_out, rng):
    return (np.sqrt(2.0 / fan_in) * rng.standard_normal((fan_in, fan_out))).astype(np.float32)


def he_uniform(fan_in, fan_out, rng):
    a = np.sqrt(6 / fan_in)                                   # variance a^2 / 3 = 2 / fan_in
    return rng.uniform(-a, a, size=(fan_in, fan_out))


def he_transposed_draw(fan_in, fan_out, rng):
    return rng.normal(0.0, (2 / fan_in) ** 0.5, (fan_out, fan_in)).T


def he_signs(fan_in, fan_out, rng):
    """Random signs times the standard deviation: mean 0, variance 2 / fan_in, no symmetry."""
    return np.sqrt(2 / fan_in) * rng.choice([-1.0, 1.0], size=(fan_in, fan_out))


@pytest.mark.parametrize("fn", [he_normal, he_scaled, he_uniform, he_transposed_draw, he_signs])
def test_he_init_accepts_answers_written_differently(fn):
    passes(check_he_init, fn)


def scaled(std_of):
    return lambda fan_in, fan_out, rng: std_of(fan_in, fan_out) * rng.standard_normal((fan_in, fan_out))


def own_generator(fan_in, fan_out, rng):
    return he_normal(fan_in, fan_out, np.random.default_rng(0))


def global_random(fan_in, fan_out, rng):
    return np.sqrt(2 / fan_in) * np.random.randn(fan_in, fan_out)


@pytest.mark.parametrize("fn, phrases", [
    (scaled(lambda i, o: 2 / i), ["the variance you want, used as the standard deviation", "square root"]),
    (scaled(lambda i, o: np.sqrt(1 / i)), ["variance 1 / fan_in", "sets about half of them to 0"]),
    (scaled(lambda i, o: np.sqrt(2 / o)), ["scaled by fan_out", "count the inputs"]),
    (scaled(lambda i, o: np.sqrt(1 / o)), ["scaled by fan_out"]),
    (scaled(lambda i, o: np.sqrt(2 / (i + o))), ["Glorot"]),
    (scaled(lambda i, o: 1.0), ["is 1: the draws are not scaled"]),
    (scaled(lambda i, o: np.sqrt(2) / i), ["square root taken of the 2 only"]),
    (scaled(lambda i, o: 2 / np.sqrt(i)), ["square root taken of fan_in only"]),
    (scaled(lambda i, o: np.sqrt(2 / 784)), ["fan_in=100", "is 784 written into your function"]),
    (scaled(lambda i, o: 3 * np.sqrt(2 / i)), ["3 times what keeps E[z^2] the same"]),
    (lambda i, o, rng: rng.uniform(-np.sqrt(2 / i), np.sqrt(2 / i), (i, o)), ["a / sqrt(3)"]),
    (lambda i, o, rng: np.sqrt(2 / i) * rng.random((i, o)), ["mean is", "all of them are positive"]),
    (lambda i, o, rng: np.zeros((i, o)), ["zeros everywhere", "symmetry"]),
    (lambda i, o, rng: np.full((i, o), 0.01), ["the same number, 0.01 everywhere"]),
    (lambda i, o, rng: he_normal(o, i, rng), ["shape (256, 784)", "one row per input"]),
    (lambda i, o, rng: rng.integers(-1, 2, (i, o)), ["int64 numbers; expected floats"]),
    (own_generator, ["different seeds gave the same weights", "don't make a new one"]),
    (global_random, ["does not draw from the rng it is given", "not np.random"]),
])
def test_he_init_names_the_mistake(fn, phrases):
    fails(check_he_init, fn, *phrases)


def test_he_init_second_hint_only_on_request(capsys):
    check_he_init(scaled(lambda i, o: 3 * np.sqrt(2 / i)))
    out = capsys.readouterr().out
    assert "solve fan_in * Var(w) * 1/2 = 1" in out and "np.sqrt(2 / fan_in)" not in out
    checks.hint("he_init")
    assert "np.sqrt(2 / fan_in)" not in capsys.readouterr().out
    checks.hint("he_init", reveal=True)
    assert "np.sqrt(2 / fan_in)" in capsys.readouterr().out


def test_he_init_that_calls_mnistlibs_fails():
    fails(check_he_init, lambda i, o, rng: layers.init_weights(rng, (i, o), i, o),
          "init_weights() from mnistlib.layers")


def test_he_init_failure_hands_back_a_working_initialisation(capsys):
    got = check_he_init(lambda i, o, rng: np.zeros((i, o)))
    capsys.readouterr()
    W = got(784, 256, np.random.default_rng(0))
    assert W.shape == (784, 256) and W.std() == pytest.approx(np.sqrt(2 / 784), rel=0.01)
