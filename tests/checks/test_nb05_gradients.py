"""The checks of notebook 05: the numerical gradient, and the gradients of one example.

Each check must pass right answers written in different ways and reject the wrong
answers learners write, with a message that names the mistake. The line of code
comes only through ``hint``.
"""

import numpy as np
import pytest

from mnistlib import checks
from mnistlib.model import as_one_hot, gradients, logits, softmax

from helpers import fails, hints_for, passes


# --- 05: numerical_gradient ---------------------------------------------------
# f takes no arguments and reads a, which the function nudges in place and puts back:
# the convention of mnistlib.gradcheck.numerical_gradient.

def ng_in_place(f, a, h=1e-5):
    grad = np.zeros(a.shape)
    for i in np.ndindex(a.shape):
        old = a[i]
        values = []
        for moved in (old + h, old - h):
            a[i] = moved
            values.append(f())
        a[i] = old
        grad[i] = (values[0] - values[1]) / (2 * h)
    return grad


def ng_flat_view(f, a, h=1e-5):
    """Nudges a through a flat view of it (reshape of a contiguous array shares its memory)."""
    return ng_in_place(f, a.reshape(-1), h).reshape(a.shape)


def ng_plus_minus(f, a, h=1e-5):
    """a[i] += h; a[i] -= 2h; a[i] += h: puts a back up to a rounding error of 1e-17."""
    grad = np.zeros_like(a, dtype=float)
    it = np.nditer(a, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        a[i] += h
        f_plus = f()
        a[i] -= 2 * h
        f_minus = f()
        a[i] += h
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad


@pytest.mark.parametrize("fn", [ng_in_place, ng_flat_view, ng_plus_minus])
def test_numerical_gradient_right_answers_pass(fn):
    passes(checks.check_numerical_gradient, fn)


def test_numerical_gradient_is_mnistlibs_convention():
    # The learner's function and mnistlib.gradcheck's are called the same way, so that the
    # later notebooks' calls read like the learner's own.
    from mnistlib.gradcheck import numerical_gradient
    W = np.random.default_rng(0).normal(size=(4, 3))
    f = lambda: float(np.sum(np.sin(W)))                 # noqa: E731
    assert np.allclose(ng_in_place(f, W), numerical_gradient(f, W), rtol=1e-8)


def test_numerical_gradient_that_calls_mnistlibs_fails():
    from mnistlib.gradcheck import numerical_gradient as estimate
    fails(checks.check_numerical_gradient, lambda f, a, h=1e-5: estimate(f, a, h),
          "numerical_gradient() from mnistlib.gradcheck", "which does the whole job")


def ng_variant(estimate, restore_to=lambda old, h: old, default_h=1e-5, indices=np.ndindex):
    """A nudge-and-restore loop over indices(a.shape) whose estimate is estimate(f, a, i, old, h);
    after it, a[i] is set to restore_to(old, h) (left as it is if restore_to is None)."""
    def numerical_gradient(f, a, h=default_h):
        grad = np.zeros(a.shape)
        for i in indices(a.shape):
            old = np.copy(a[i])
            grad[i] = estimate(f, a, i, old, h)
            if restore_to is not None:
                a[i] = restore_to(old, h)
        return grad
    return numerical_gradient


def at(f, a, i, value):
    a[i] = value
    return f()


def central(f, a, i, old, h):
    return (at(f, a, i, old + h) - at(f, a, i, old - h)) / (2 * h)


@pytest.mark.parametrize("fn, phrases, code", [
    (ng_variant(lambda f, a, i, old, h: (at(f, a, i, old + h) - at(f, a, i, old)) / h),
     ["forward difference", "error shrinks like h²"], "2 * h"),
    (ng_variant(lambda f, a, i, old, h: (at(f, a, i, old) - at(f, a, i, old - h)) / h),
     ["backward difference"], "2 * h"),
    (ng_variant(lambda f, a, i, old, h: 2 * central(f, a, i, old, h)), ["twice too large", "2h apart"], "(2 * h)"),
    (ng_variant(lambda f, a, i, old, h: central(f, a, i, old, h) / 2), ["half the right size"], "(2 * h)"),
    (ng_variant(lambda f, a, i, old, h: (at(f, a, i, old + 1e-5) - at(f, a, i, old - 1e-5)) / 2e-5),
     ["did not use h"], None),
])
def test_numerical_gradient_wrong_formulas_are_named(fn, phrases, code):
    text, more, reveal = hints_for(checks.check_numerical_gradient, fn)
    for phrase in phrases:
        assert phrase in text, text
    if code:
        assert code not in text and code in (more or "") + (reveal or "")


@pytest.mark.parametrize("copy", [np.copy, lambda a: a.astype(float), lambda a: a.flatten().reshape(a.shape)])
def test_numerical_gradient_that_nudges_a_copy(copy):
    # f reads the caller's a: a copy the function nudges is never seen.
    def on_a_copy(f, a, h=1e-5):
        return ng_in_place(f, copy(a), h)
    err = fails(checks.check_numerical_gradient, on_a_copy, "all zeros", "never saw a nudged array",
                "copy of a")
    assert "takes no arguments" in err.more


def test_numerical_gradient_that_gives_f_the_array():
    # The convention of 05 before: f(a). Now f reads a itself.
    def passes_a(f, a, h=1e-5):
        return ng_in_place(lambda: f(a), a, h)
    err = fails(checks.check_numerical_gradient, passes_a, "raised TypeError", "f takes no arguments",
                "change a itself, then call f()")
    assert "f_plus = f();" in err.reveal


def test_numerical_gradient_that_does_not_put_a_back():
    err = fails(checks.check_numerical_gradient, ng_variant(central, restore_to=None), "left the array a changed", "put a[i] back",
                "every estimate after the first was taken away from a")
    assert "a[i] = old" in err.reveal and "default value of h" not in str(err)


@pytest.mark.parametrize("restore_to", [lambda old, h: old - h, lambda old, h: old + h, lambda old, h: old - 2 * h])
def test_numerical_gradient_that_puts_a_back_only_at_the_end(restore_to):
    # The caller's a comes out unchanged, but each estimate after the first was taken at a
    # shifted point: the message names that, not h.
    def late(f, a, h=1e-5):
        backup = a.copy()
        grad = ng_variant(central, restore_to)(f, a, h)
        a[...] = backup
        return grad
    err = fails(checks.check_numerical_gradient, late, "both moved", "not put back")
    assert "default value of h" not in str(err) and "a[i] = old" in err.reveal


def test_numerical_gradient_that_nudges_every_entry_at_once():
    def shifted(f, a, by):
        a += by
        value = f()
        a -= by
        return value
    all_at_once = ng_variant(lambda f, a, i, old, h: (shifted(f, a, h) - shifted(f, a, -h)) / (2 * h))
    fails(checks.check_numerical_gradient, all_at_once, "every entry of a moved at once", "one entry at a time")


def test_numerical_gradient_that_nudges_a_whole_row():
    by_rows = ng_variant(central, indices=lambda shape: range(shape[0]))   # a[i] of a 2-d array is a row
    fails(checks.check_numerical_gradient, by_rows, "f saw 4 entries of a moved together",
          "a[0] with 1 index for an array of 2 axes is a whole row", "np.ndindex")

    def rows_only(f, a, h=1e-5):               # the same, with one "entry" per row in the result
        return by_rows(f, a, h)[:, 0]
    fails(checks.check_numerical_gradient, rows_only, "returned shape (3,), expected (3, 4)", "np.ndindex")


def test_numerical_gradient_with_a_poor_default_h():
    coarse = ng_variant(central, default_h=1e-1)
    err = fails(checks.check_numerical_gradient, coarse, "close, but not close enough", "default value of h")
    assert "h=1e-5" in err.reveal


def test_numerical_gradient_signature_and_type_mistakes():
    def no_h(f, a):
        return ng_in_place(f, a)
    fails(checks.check_numerical_gradient, no_h, "raised TypeError", "numerical_gradient(f, a, h=1e-5)")

    def int_grad(f, a, h=1e-5):
        return ng_in_place(f, a, h).astype(int)
    fails(checks.check_numerical_gradient, int_grad, "integers")
    fails(checks.check_numerical_gradient, lambda f, a, h=1e-5: "grad", "not numbers")


# --- 05: example_gradients ------------------------------------------------------

def eg_outer(x, y, W, b):
    delta = softmax(logits(x, W, b)) - as_one_hot(y, 10)
    return np.outer(x, delta), delta


def eg_loops(x, y, W, b):
    p = softmax(x @ W + b)
    dW, db = np.zeros((784, 10)), np.zeros(10)
    for j in range(10):
        d = p[j] - (1.0 if j == y else 0.0)
        db[j] = d
        for i in range(784):
            dW[i, j] = x[i] * d
    return dW, db


def eg_broadcast(x, y, W, b):
    delta = softmax(x @ W + b)
    delta[y] -= 1
    return x[:, None] * delta[None, :], delta


def eg_einsum(x, y, W, b):
    delta = softmax(logits(x, W, b)) - np.eye(10)[y]
    return np.einsum("i,j->ij", x, delta), delta


def eg_library(x, y, W, b):
    dW, db, _ = gradients(x, y, W, b)
    return dW, db


@pytest.mark.parametrize("fn", [eg_outer, eg_loops, eg_broadcast, eg_einsum])
def test_example_gradients_right_answers_pass(fn):
    passes(checks.check_example_gradients, fn)


def test_example_gradients_that_calls_mnistlibs_gradients_fails():
    # Passed before: mnistlib's gradients does the whole job the exercise asks for.
    import mnistlib.model
    from mnistlib.layers import linear_backward
    fails(checks.check_example_gradients, eg_library, "calls gradients() from mnistlib.model (line 2 of it)",
          "which does the whole job")
    fails(checks.check_example_gradients, lambda x, y, W, b: mnistlib.model.gradients(x, y, W, b)[:2],
          "gradients() from mnistlib.model")
    fails(checks.check_example_gradients,
          lambda x, y, W, b: linear_backward((softmax(x @ W + b) - np.eye(10)[y])[None], (x[None], W))[1:],
          "linear_backward() from mnistlib.layers")


def eg_with(dW=None, db=None):
    """The right gradients, with dW and/or db replaced by a wrong formula of (x, y, W, b, p, y_hot)."""
    def example_gradients(x, y, W, b):
        p, y_hot = softmax(logits(x, W, b)), as_one_hot(y, 10)
        return (np.outer(x, p - y_hot) if dW is None else dW(x, y, W, b, p, y_hot),
                p - y_hot if db is None else db(x, y, W, b, p, y_hot))
    return example_gradients


@pytest.mark.parametrize("fn, phrases, code", [
    (eg_with(dW=lambda x, y, W, b, p, yh: np.outer(x, yh - p)), ["dW has the wrong sign", "predicted minus true"],
     "np.outer(x, p - y)"),
    (eg_with(dW=lambda x, y, W, b, p, yh: np.outer(x, p)), ["dW ignores the label"], "np.outer(x, p - y)"),
    (eg_with(dW=lambda x, y, W, b, p, yh: np.outer(x, p - y), db=lambda x, y, W, b, p, yh: p - y),
     ["subtracts the label number y", "one-hot row"], "as_one_hot(y, 10)"),
    (eg_with(dW=lambda x, y, W, b, p, yh: np.outer(x, softmax(x @ W) - yh)), ["leaves out the bias b"],
     "softmax(logits(x, W, b))"),
    (eg_with(dW=lambda x, y, W, b, p, yh: np.outer(np.ones(784), p - yh)), ["does not depend on x"], "read off l_j"),
    (eg_with(dW=lambda x, y, W, b, p, yh: np.outer(p - yh, x)), ["shape (10, 784)", "(784, 10)"],
     "np.outer(p - y, x) is its transpose"),
    (eg_with(dW=lambda x, y, W, b, p, yh: x * (p - yh).sum()), ["shape (784,)", "one number per weight"],
     "np.outer(x, p - y)"),
    (eg_with(dW=lambda x, y, W, b, p, yh: 2 * np.outer(x, p - yh)), ["2 times the expected"], None),
    (eg_with(db=lambda x, y, W, b, p, yh: yh - p), ["db has the wrong sign"], "db = p - y"),
    (eg_with(db=lambda x, y, W, b, p, yh: p), ["db ignores the label"], "db = p - y"),
    (eg_with(db=lambda x, y, W, b, p, yh: (p - yh).sum()), ["db as a single number"], "db = p - y"),
    (eg_with(db=lambda x, y, W, b, p, yh: x @ np.outer(x, p - yh)), ["(db) returned a wrong value"], "dl_j/db_j = 1"),
])
def test_example_gradients_wrong_formulas_are_named(fn, phrases, code):
    text, more, reveal = hints_for(checks.check_example_gradients, fn)
    for phrase in phrases:
        assert phrase in text, text
    if code:
        assert code not in text and code in (more or "") + (reveal or ""), (text, more, reveal)


def test_example_gradients_elementwise_product_explains_the_outer_product():
    def elementwise(x, y, W, b):
        delta = softmax(logits(x, W, b)) - as_one_hot(y, 10)
        return x * delta, delta
    err = fails(checks.check_example_gradients, elementwise, "raised ValueError", "broadcast",
                "every pixel i with every class j")
    assert "np.outer(x, p - y)" in err.reveal


def test_example_gradients_return_mistakes():
    fails(checks.check_example_gradients, lambda x, y, W, b: eg_outer(x, y, W, b) + (0.0,), "tuple of 3 values",
          "expected a pair (dW, db)")
    fails(checks.check_example_gradients, lambda x, y, W, b: eg_outer(x, y, W, b)[::-1], "returned (db, dW)")


def test_a_wrong_example_gradient_is_described_not_dumped():
    err = fails(checks.check_example_gradients, eg_with(dW=lambda x, y, W, b, p, yh: np.outer(x, p - yh) / 10),
                "1/10 of the expected")
    assert "..." not in str(err) and len(str(err)) < 600
