"""Checks for the exercises of notebook 11, A hidden layer (``notebooks/11_hidden_layer.ipynb``)."""

import numpy as np

from .. import model
from .framework import as_array, compare, exercise, fail, identical, run, seeded_rng


# --- notebook 11: backpropagation through a hidden layer; a scaled random start -------

def _mlp():
    from .. import mlp
    return mlp


def _mlp_inputs(n=5, H=6):
    """A batch X: (n, 784) and params of a two-layer network with H hidden units, float64.

    Seeded so that most hidden units are active (z > 0) for some examples and silent for
    others, no z is near 0 (the ReLU's corner), and the sign of dL/dh differs from the sign
    of z often enough that a mask taken from the wrong one shows (tests check all three).
    """
    rng = seeded_rng()
    X = rng.uniform(0, 1, size=(n, 784))
    W1 = rng.normal(0, 0.1, size=(784, H))
    W1 -= W1.mean(axis=0)              # z then varies around b1 from example to example
    params = {"W1": W1, "b1": rng.normal(0, 0.1, size=H),
              "W2": rng.normal(0, 0.5, size=(H, 10)), "b2": rng.normal(0, 0.5, size=10)}
    y = np.array([3, 0, 7, 9, 1, 4, 2, 8][:n])
    return params, X, y


def _mlp_mistakes(params, X, y):
    """[(grads, what went wrong, hint, more)]: backward passes as learners get them wrong.

    grads holds, for each parameter the mistake changes, the gradient it gives; the
    parameters it leaves right are missing from it.
    """
    W1, W2, b2 = params["W1"], params["W2"], params["b2"]
    n = len(X)
    z = X @ W1 + params["b1"]
    h = np.maximum(z, 0)
    l = h @ W2 + b2
    P = model.softmax(l)
    Y = model.as_one_hot(y, 10)

    def backward(dl, relu=lambda dh: dh * (z > 0), h_in=h):
        dz = relu(dl @ W2.T)
        return {"W2": h_in.T @ dl, "b2": dl.sum(axis=0), "W1": X.T @ dz, "b1": dz.sum(axis=0)}

    def only(grads, *keys):
        return {k: grads[k] for k in keys}

    slope = "what is the slope of max(0, z) where z > 0, and where z < 0?"
    mask = "dz = dh * (z > 0): the ReLU passes the gradient on where z > 0 and stops it elsewhere."
    right = backward((P - Y) / n)
    return [
        (backward(P - Y), f"is {n} times too large: the gradient of the sum of the losses, not of their mean",
         "the loss is the mean over the batch, so dL/dl carries a 1/n; every gradient below inherits it.",
         "dl = (P - as_one_hot(y, 10)) / len(X)"),
        (backward((P - Y) / n ** 2), f"is 1/{n} of the expected: divided by n twice",
         "dL/dl = (P - Y) / n already holds the 1/n of the mean; the sums over the batch below it "
         "must not divide again.", "divide once, in dl = (P - Y) / n; then dW2 = h.T @ dl and db2 = dl.sum(axis=0), "
         "with no further / n or .mean(); likewise for the first layer."),
        (backward((Y - P) / n), "has the wrong sign",
         "dL/dl is P - Y (predicted minus true), not Y - P.", None),
        (backward((P - y[:, None]) / n), "subtracts the label number y from every p_j",
         "y must be one-hot: a row of ten numbers, 1 at the true class and 0 elsewhere.",
         "as_one_hot(y, 10) gives the (n, 10) one-hot rows."),
        (backward(P / n), "ignores the labels", "dL/dl = (P - Y) / n: subtract the one-hot labels.", None),
        (backward((P - Y) / n * (l > 0)), "passes dL/dl through a ReLU that is not there",
         "the logits l = h W2 + b2 go straight into softmax: there is no ReLU after the second layer.", None),
        (only(right, "b2") | {"W2": z.T @ ((P - Y) / n)},
         "uses z, the hidden layer before its ReLU", "the second layer's input is h = max(0, z), not z.",
         "dW2 = h.T @ dl"),
        (only(right, "W2", "b2") | only(backward((P - Y) / n, relu=lambda dh: dh), "W1", "b1"),
         "ignores the ReLU: a unit with z < 0 gave 0 whatever its weights, so its weights get no "
         "gradient from that example", slope, mask),
        (only(right, "W2", "b2") | only(backward((P - Y) / n, relu=lambda dh: np.maximum(dh, 0)), "W1", "b1"),
         "applies the ReLU to the gradient (keeps dh where dh > 0)",
         "which units let the gradient through is decided by the forward pass: by the sign of z, "
         "not by the sign of the gradient.", mask),
        (only(right, "W2", "b2") | only(backward((P - Y) / n, relu=lambda dh: dh * (z < 0)), "W1", "b1"),
         "lets the gradient through where z < 0 and stops it where z > 0: the mask is the wrong way round",
         slope, mask),
        (only(right, "W2", "b2") | only(backward((P - Y) / n, relu=lambda dh: dh * h), "W1", "b1"),
         "multiplies dh by h = max(0, z), the ReLU's output, instead of by its slope", slope, mask),
        (only(right, "W2", "b2") | only(backward((P - Y) / n, relu=lambda dh: dh * z), "W1", "b1"),
         "multiplies dh by z instead of by the ReLU's slope", slope, mask),
    ]


def _backprop_shortcuts():
    """The library functions that do the backward pass, a layer of it, or estimate it."""
    from .. import gradcheck, layers, train
    mlp = _mlp()
    whole = "which does the whole job"
    return {mlp.loss_and_grads: whole, mlp.sgd_step: whole, train.sgd_step: whole,
            layers.linear_backward: "a layer's backward pass, which the exercise asks you to write",
            layers.relu_backward: "the ReLU's backward pass, which the exercise asks you to work out",
            gradcheck.check_model: "which estimates the gradients by finite differences",
            gradcheck.numerical_gradient: "an estimate by finite differences"}


def _init_shortcuts():
    from .. import layers
    return {layers.init_weights: "which does the whole job", _mlp().init_params: "which does the whole job"}


_SHAPE_ADVICE = {
    "W1": {"T": ("dW1 pairs each pixel (a row of W1) with each hidden unit (a column): X^T dz, not dz^T X.",
                 None),
           (784, 10): ("this is the shape of notebook 05's dW: the first layer's gradient reaches it "
                       "through the hidden layer, as dL/dz, of shape (n, H).", "dW1 = X.T @ dz")},
    "W2": {"T": ("dW2 pairs each hidden unit (a row of W2) with each class: h^T dl, not dl^T h.", None),
           (784, 10): ("the second layer's input is the hidden layer h, not the images X.", "dW2 = h.T @ dl")},
}


def _mlp_gradient_dict(name, got, params, call):
    """got must be a dict with params' keys, holding arrays shaped like params."""
    if isinstance(got, (tuple, list)) and len(got) == 4:
        fail(name, f"{call} returned a {type(got).__name__} of four; expected a dict with the keys of params.",
             'return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}.')
    if not isinstance(got, dict):
        fail(name, f"{call} returned {type(got).__name__}; expected a dict with the keys of params.",
             'return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}.')
    missing, extra = sorted(set(params) - set(got)), sorted(set(got) - set(params))
    if missing or extra:
        fail(name, f"{call} returned a dict with the keys {sorted(got)}; expected {sorted(params)}"
                   f"{' (missing: ' + ', '.join(missing) + ')' if missing else ''}.",
             "one gradient per parameter, under the parameter's name: grads[k] has the shape of params[k].")
    arrays = {}
    for k in ("W2", "b2", "W1", "b1"):
        g = as_array(name, got[k], f"{call}, gradient of {k},")
        want = params[k].shape
        if g.shape != want:
            advice = _SHAPE_ADVICE.get(k, {})
            hint, more = advice.get("T" if g.shape == want[::-1] else g.shape, (None, None))
            if hint is None and k.startswith("b"):
                hint = (f"{k} has one number per {'hidden unit' if k == 'b1' else 'class'}: sum the "
                        "gradient over the examples, axis=0.")
            fail(name, f"{call}: the gradient of {k} has shape {g.shape}; expected {want}, the shape of {k}.",
                 hint, reveal=more)
        arrays[k] = g
    return arrays


@exercise("mlp_gradients", reference=lambda: lambda params, X, y: _mlp().loss_and_grads(params, X, y)[1],
          shortcuts=_backprop_shortcuts, hints=[
    "go back along the chain from the loss, one link at a time, as in the table: dl first, then the second "
    "layer's gradients and dh, then through the ReLU to dz, then the first layer.",
    "the ReLU passes a gradient on where its input z was positive and stops it elsewhere: its slope is 1 "
    "for z > 0 and 0 for z < 0, entry by entry.",
    "the first layer is notebook 05's layer with X as its input and dz arriving at its output: the same two "
    "formulas as for the second layer, with X and dz in place of h and dl.",
], reveal="dz = (dl @ W2.T) * (z > 0); dW1 = X.T @ dz; db1 = dz.sum(axis=0)")
def check_mlp_gradients(fn):
    """fn(params, X, y) -> {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}, the gradients of the mean
    cross-entropy of the two-layer network.  X: (n, 784); y: (n,) labels."""
    name = "mlp_gradients"
    for n, H in [(5, 6), (1, 3)]:
        params, X, y = _mlp_inputs(n, H)
        call = f"mlp_gradients(params, X, y) with X ({n}, 784) and H = {H} hidden units"
        kept = {k: v.copy() for k, v in params.items()}
        got = run(name, fn, params, X, y, call=call)
        changed = [k for k in params if not identical(params[k], kept[k])]
        if changed:
            fail(name, f"your function changed params[{changed[0]!r}]{' and more' if len(changed) > 1 else ''} "
                       f"on {call}. The caller's parameters must come out as they went in.",
                 "compute new arrays (dW2 = h.T @ dl) instead of changing the parameters in place.")
        got = _mlp_gradient_dict(name, got, params, call)
        expected = _mlp().loss_and_grads(params, X, y)[1]
        mistakes = _mlp_mistakes(params, X, y)
        close = lambda a, e: np.allclose(a, e, rtol=1e-6, atol=1e-12)          # noqa: E731
        right = lambda a, e: np.allclose(a, e, rtol=1e-4, atol=1e-7)           # noqa: E731  (float32 will do)
        for k in ("W2", "b2", "W1", "b1"):                # in the order backpropagation reaches them
            if right(got[k], expected[k]):
                continue
            ok = [j for j in ("W2", "b2", "W1", "b1") if right(got[j], expected[j])]
            so_far = f" ({', '.join('d' + j for j in ok)} {'is' if len(ok) == 1 else 'are'} right)" if ok else ""
            for grads, why, hint, more in mistakes:
                if k in grads and close(got[k], grads[k]):
                    fail(name, f"{call}: d{k} {why}{so_far}.", hint, reveal=more)
            hint = {"W2": "dW2 = h^T dl, with dl = dL/dl = (P - Y) / n: notebook 05's formula, with h as the input.",
                    "b2": "db2 is the sum of dl over the examples.",
                    "W1": "the gradient reaches the first layer through h: dL/dh = dl W2^T, then the ReLU, "
                          "then notebook 05's formula with X as the input.",
                    "b1": "db1 is the sum of dL/dz over the examples."}[k]
            compare(name, got[k], expected[k], call=f"{call}, gradient of {k},", hint=hint, rtol=1e-4, atol=1e-7)
    return 2


def _he_reference(fan_in, fan_out, rng):
    return np.sqrt(2 / fan_in) * rng.standard_normal((fan_in, fan_out))


def _init_mistakes(fan_in, fan_out):
    """[(standard deviation, what went wrong, hint, more)]: scales as learners get them wrong."""
    right = np.sqrt(2 / fan_in)
    fixed = [] if fan_in == 784 else [
        (np.sqrt(2 / 784), "does not change with fan_in: is 784 written into your function?",
         "use the argument fan_in, so that the same function serves every layer.", None)]
    return fixed + [
        (2 / fan_in, "is the variance you want, used as the standard deviation",
         "rng.normal(0, s, ...) and s * rng.standard_normal(...) take the standard deviation: the square "
         "root of the variance.", "np.sqrt(Var(w)), with the Var(w) you derived."),
        (np.sqrt(1 / fan_in), "gives the variance 1 / fan_in: right if every z passed on whole, but the ReLU "
         "sets about half of them to 0", "E[h^2] = Var(z) / 2 after a ReLU: what must Var(w) be to make up for "
         "that half?", None),
        (np.sqrt(2 / fan_out), "is scaled by fan_out, the number of units the weights feed",
         "each z sums fan_in products x_i w_i: count the inputs, not the outputs.", None),
        (np.sqrt(1 / fan_out), "is scaled by fan_out, the number of units the weights feed",
         "each z sums fan_in products x_i w_i: count the inputs, not the outputs.", None),
        (np.sqrt(2 / (fan_in + fan_out)), "uses 2 / (fan_in + fan_out): Glorot's compromise between the "
         "forward and the backward pass, made for units without a ReLU",
         "derive Var(w) from the forward pass alone: E[z^2] the same in every layer, with the ReLU's 1/2.", None),
        (right / np.sqrt(3), f"is {np.sqrt(3):.3g} times too small: a uniform draw on [-a, a] has standard "
         "deviation a / sqrt(3), not a", "to use a uniform, widen it: a = sqrt(3) times the standard deviation.",
         "rng.uniform(-a, a, size=(fan_in, fan_out)) with a = np.sqrt(6 / fan_in)."),
        (1.0, "is 1: the draws are not scaled", "multiply standard normal draws by the standard deviation you derived.",
         None),
        (np.sqrt(2) / fan_in, "is sqrt(2) / fan_in: the square root taken of the 2 only",
         "the standard deviation is the square root of the whole variance.", None),
        (2 / np.sqrt(fan_in), "is 2 / sqrt(fan_in): the square root taken of fan_in only",
         "the standard deviation is the square root of the whole variance.", None),
    ]


@exercise("he_init", reference=lambda: _he_reference, shortcuts=_init_shortcuts, hints=[
    "set E[z²] = n_in Var(w) E[a²] equal to E[z'²], with E[a²] = ½ E[z'²] after a ReLU, and solve for Var(w).",
    "numpy's normal takes the standard deviation, the square root of the variance you found; draw an "
    "array of shape (fan_in, fan_out) from the rng you are given.",
], reveal="return np.sqrt(2 / fan_in) * rng.standard_normal((fan_in, fan_out))")
def check_he_init(fn):
    """fn(fan_in, fan_out, rng) -> (fan_in, fan_out) random weights drawn from rng, with mean 0 and
    variance 2 / fan_in."""
    name = "he_init"
    for fan_in, fan_out in [(784, 256), (100, 300)]:
        call = f"he_init(fan_in={fan_in}, fan_out={fan_out}, rng)"
        W = as_array(name, run(name, fn, fan_in, fan_out, np.random.default_rng(0), call=call), call)
        if W.shape != (fan_in, fan_out):
            fail(name, f"{call} returned shape {W.shape}; expected ({fan_in}, {fan_out}).",
                 "W has one row per input and one column per unit: shape (fan_in, fan_out)."
                 if W.shape == (fan_out, fan_in) else "draw an array of shape (fan_in, fan_out).")
        if W.dtype.kind != "f":
            fail(name, f"{call} returned {W.dtype} numbers; expected floats.",
                 "draw the weights with rng.normal or rng.standard_normal.")
        if not np.all(np.isfinite(W)):
            fail(name, f"{call} returned nan or inf.", "a weight is a finite random number.")
        W = W.astype(np.float64)
        if np.all(W == W.flat[0]):
            fail(name, f"{call} returned {'zeros' if W.flat[0] == 0 else f'the same number, {W.flat[0]:.3g}'} "
                       "everywhere. Then every hidden unit computes the same thing and gets the same "
                       "gradient, for ever: the symmetry of the section above.",
                 "draw every weight at random from rng.")
        s = np.sqrt(2 / fan_in)
        mean, std = W.mean(), W.std()
        if abs(mean) > 0.05 * s + 5 * s / np.sqrt(W.size):
            fail(name, f"{call}: the weights' mean is {mean:.3g}, not 0"
                       f"{' (all of them are positive)' if W.min() >= 0 else ''}.",
                 "as many weights must be negative as positive: draw from a distribution centred on 0. "
                 "rng.random() and rng.uniform(0, a) give only positive numbers.",
                 reveal="rng.normal(0, std, size=(fan_in, fan_out)), or "
                        "std * rng.standard_normal((fan_in, fan_out)).")
        if abs(std / s - 1) > 0.03:
            for wrong, why, hint, more in _init_mistakes(fan_in, fan_out):
                if abs(std / wrong - 1) <= 0.03:
                    fail(name, f"{call}: the weights' standard deviation is {std:.4g}; it {why}.", hint,
                         reveal=more)
            fail(name, f"{call}: the weights' standard deviation is {std:.4g}, {std / s:.3g} times what "
                       "keeps E[z^2] the same from layer to layer.",
                 "solve fan_in * Var(w) * 1/2 = 1 for Var(w); the standard deviation is its square root.",
                 reveal="np.sqrt(2 / fan_in) * rng.standard_normal((fan_in, fan_out))")
    # The weights must come from the generator given, so that a seed repeats a run.
    call = "he_init(50, 40, rng)"
    a = as_array(name, run(name, fn, 50, 40, np.random.default_rng(7), call=call), call)
    b = as_array(name, run(name, fn, 50, 40, np.random.default_rng(7), call=call), call)
    c = as_array(name, run(name, fn, 50, 40, np.random.default_rng(8), call=call), call)
    if not np.array_equal(a, b):
        fail(name, "two calls with generators of the same seed gave different weights: your function does "
                   "not draw from the rng it is given.",
             "draw with rng.normal(...) or rng.standard_normal(...), not np.random.")
    if np.array_equal(a, c):
        fail(name, "generators with different seeds gave the same weights: your function does not draw "
                   "from the rng it is given.",
             "draw with rng.normal(...) or rng.standard_normal(...), the rng passed in; don't make a new one.")
    return 3
