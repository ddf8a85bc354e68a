"""Numerical gradients by central differences, to check derivations.

    df/dx_i  ~  (f(x + h e_i) - f(x - h e_i)) / (2 h)

The error of this estimate shrinks like h^2, so with float64 and h = 1e-5 an
analytic gradient that is right agrees to about 1e-8 or better in relative
error; one that is wrong is off by far more.
"""

import numpy as np


def numerical_gradient(f, a, h=1e-5):
    """Central-difference gradient of the scalar function f() with respect to array a.

    ``a`` is perturbed in place, one entry at a time, and restored afterwards;
    f takes no arguments and reads ``a`` itself. Returns an array shaped like a.
    Use float64: in float32, h is too close to the rounding error.
    """
    if not np.issubdtype(a.dtype, np.floating):
        raise ValueError(f"can only differentiate with respect to a float array; got dtype {a.dtype}")
    grad = np.zeros(a.shape, dtype=np.float64)
    for i in np.ndindex(a.shape):
        old = a[i]
        a[i] = old + h
        f_plus = f()
        a[i] = old - h
        f_minus = f()
        a[i] = old
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad


def rel_error(a, b):
    """||a - b|| / (||a|| + ||b||): 0 when equal, 1 when one of them is zero.

    Relative, so it means the same for tiny and for large gradients; taken over
    the whole array, so entries that are nearly zero (pixels that are almost
    always black) cannot blow it up the way an elementwise ratio can.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"cannot compare arrays of shapes {a.shape} and {b.shape}")
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if denom == 0 else float(np.linalg.norm(a - b) / denom)


def check_gradients(x, y, W, b, h=1e-5):
    """Relative errors of mnistlib.model.gradients against central differences.

    Returns a dict {"W": err, "b": err}. Inputs are copied to float64 first.
    """
    from .model import cross_entropy, gradients, logits

    x, W, b = (np.array(a, dtype=np.float64) for a in (x, W, b))
    dW, db, _ = gradients(x, y, W, b)

    def loss():
        return cross_entropy(logits(x, W, b), y, from_logits=True)

    return {"W": rel_error(dW, numerical_gradient(loss, W, h)),
            "b": rel_error(db, numerical_gradient(loss, b, h))}


# --- layers and models ---------------------------------------------------------

def check_layer(forward, backward, *, seed=0, h=1e-5, **args):
    """Relative error of each gradient a layer's backward returns, against central differences.

    forward(**args) -> (out, cache) and backward(dout, cache) -> (dx, dparam, ...),
    as in ``mnistlib.layers`` and ``mnistlib.conv``. Every array in ``args`` is
    checked, in forward's argument order; other arguments (stride, pad) are
    passed as they are. The layer is made a scalar function by a random dout:

        f = sum(out * dout)        so that    df/dout = dout

    and backward(dout, cache) must then return df/dx, df/dparam, ... Arrays are
    copied to float64 first. Returns {name: relative error}, e.g.
    ``check_layer(linear_forward, linear_backward, x=x, W=W, b=b)`` ->
    ``{"x": 2e-10, "W": 3e-11, "b": 1e-11}``. Right gradients give about 1e-8 or
    less; near a kink (ReLU at 0, tied maxima) the estimate itself is wrong.
    """
    args = {k: (np.array(v, dtype=np.float64) if isinstance(v, np.ndarray) else v) for k, v in args.items()}
    arrays = [k for k, v in args.items() if isinstance(v, np.ndarray)]
    out, cache = forward(**args)
    dout = np.random.default_rng(seed).standard_normal(np.shape(out))
    grads = backward(dout, cache)
    if not isinstance(grads, tuple):
        grads = (grads,)
    if len(grads) != len(arrays):
        raise ValueError(f"backward returned {len(grads)} gradients for the {len(arrays)} arrays {arrays}")

    def f():
        return float(np.sum(forward(**args)[0] * dout))

    return {k: rel_error(g, numerical_gradient(f, args[k], h)) for k, g in zip(arrays, grads)}


def check_model(model, params, X, y, h=1e-5):
    """Relative error of each gradient from ``model.loss_and_grads`` against central differences.

    model: a module or object with ``loss_and_grads(params, X, y) -> (loss, grads)``
    (``mnistlib.mlp``, ``mnistlib.cnn``); params: its dict of arrays. Use tiny
    sizes: every parameter entry costs two forward passes. Params and X are
    copied to float64. Returns {key: relative error}, one per parameter.
    """
    params = {k: np.array(v, dtype=np.float64) for k, v in params.items()}
    X = np.array(X, dtype=np.float64)
    _, grads = model.loss_and_grads(params, X, y)

    def loss():
        return model.loss_and_grads(params, X, y)[0]

    return {k: rel_error(grads[k], numerical_gradient(loss, params[k], h)) for k in params}
