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
