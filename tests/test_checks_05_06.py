"""The checks of notebooks 05 (gradients) and 06 (gradient descent).

Each check is fed the wrong answers learners really write (each must fail with a
message that names the mistake, and give its code line only through ``hint``) and
right answers written in different ways (each must pass).
"""

import numpy as np
import pytest

from mnistlib import checks, model
from mnistlib.checks import CheckFailed
from mnistlib.descent_widget import BOWLS, gradient_descent
from mnistlib.model import as_one_hot, gradients, logits, softmax
from mnistlib.train import step


def fails(check, fn, *phrases):
    """``check(fn, strict=True)`` must raise CheckFailed whose message holds every phrase; returns it."""
    with pytest.raises(CheckFailed) as info:
        check(fn, strict=True)
    for phrase in phrases:
        assert phrase in str(info.value), f"{phrase!r} not in message:\n{info.value}"
    return info.value


def passes(check, fn):
    assert check(fn, strict=True) is fn


ALL = [checks.check_numerical_gradient, checks.check_example_gradients, checks.check_gradient_descent,
       checks.check_bowl_lr, checks.check_update_step]


@pytest.mark.parametrize("check", ALL, ids=lambda c: c.exercise)
def test_blank_missing_return_and_crash(check):
    def todo(*args):
        raise NotImplementedError("your turn")

    def crash(*args):
        raise KeyError("oops")
    fails(check, todo, "not implemented yet")
    fails(check, lambda *args: None, "returned None", "forget `return`")
    fails(check, crash, "raised KeyError", "oops")


@pytest.mark.parametrize("check", ALL, ids=lambda c: c.exercise)
def test_a_failed_check_hands_back_a_reference_that_passes(check, capsys):
    ref = check(lambda *args: None)
    out = capsys.readouterr().out
    assert out.startswith(f"✗ {check.exercise}: ") and "use mnistlib's" in out
    # the reference is right: unmarked, it passes its own check
    assert check(ref.__wrapped__, strict=True) is ref.__wrapped__


def first_step_and_more(check, fn):
    """The message shown at once, and the more specific hint given by hint(name)."""
    with pytest.raises(CheckFailed) as info:
        check(fn, strict=True)
    return str(info.value), info.value.more


# --- 05: numerical_gradient ---------------------------------------------------

def ng_in_place(f, a, h=1e-5):
    grad = np.zeros(a.shape)
    for i in np.ndindex(a.shape):
        old = a[i]
        a[i] = old + h
        f_plus = f(a)
        a[i] = old - h
        f_minus = f(a)
        a[i] = old
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad


def ng_copies(f, a, h=1e-5):
    flat = a.ravel()
    grad = np.zeros(flat.size)
    for k in range(flat.size):
        e = np.zeros(flat.size)
        e[k] = h
        grad[k] = (f((flat + e).reshape(a.shape)) - f((flat - e).reshape(a.shape))) / (2 * h)
    return grad.reshape(a.shape)


def ng_plus_minus(f, a, h=1e-5):
    """a[i] += h; a[i] -= 2h; a[i] += h: puts a back up to a rounding error of 1e-17."""
    grad = np.zeros_like(a, dtype=float)
    it = np.nditer(a, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        a[i] += h
        f_plus = f(a)
        a[i] -= 2 * h
        f_minus = f(a)
        a[i] += h
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad


@pytest.mark.parametrize("fn", [ng_in_place, ng_copies, ng_plus_minus, checks.nb05_gradients._numerical_gradient_reference])
def test_numerical_gradient_right_answers_pass(fn):
    passes(checks.check_numerical_gradient, fn)


def ng_variant(estimate, restore=True, default_h=1e-5):
    """A nudge-and-restore loop whose estimate is estimate(f, a, i, old, h)."""
    def numerical_gradient(f, a, h=default_h):
        grad = np.zeros(a.shape)
        for i in np.ndindex(a.shape):
            old = a[i]
            grad[i] = estimate(f, a, i, old, h)
            if restore:
                a[i] = old
        return grad
    return numerical_gradient


def at(f, a, i, value):
    a[i] = value
    return f(a)


@pytest.mark.parametrize("fn, phrases, code", [
    (ng_variant(lambda f, a, i, old, h: (at(f, a, i, old + h) - at(f, a, i, old)) / h),
     ["forward difference", "error shrinks like h²"], "2 * h"),
    (ng_variant(lambda f, a, i, old, h: (at(f, a, i, old) - at(f, a, i, old - h)) / h),
     ["backward difference"], "2 * h"),
    (ng_variant(lambda f, a, i, old, h: (at(f, a, i, old + h) - at(f, a, i, old - h)) / h),
     ["twice too large", "2h apart"], "(2 * h)"),
    (ng_variant(lambda f, a, i, old, h: (at(f, a, i, old + h) - at(f, a, i, old - h)) / (4 * h)),
     ["half the right size"], "(2 * h)"),
    (ng_variant(lambda f, a, i, old, h: (at(f, a, i, old + 1e-5) - at(f, a, i, old - 1e-5)) / 2e-5),
     ["did not use h"], None),
    (ng_variant(lambda f, a, i, old, h: (f(a.copy()) - f(a.copy())) / (2 * h)),
     ["all zeros", "never saw a nudged array"], None),
])
def test_numerical_gradient_wrong_formulas_are_named(fn, phrases, code):
    text, more = first_step_and_more(checks.check_numerical_gradient, fn)
    for phrase in phrases:
        assert phrase in text, text
    if code:
        assert code not in text and code in more       # the line of code only on request


def test_numerical_gradient_that_does_not_put_a_back():
    no_restore = ng_variant(lambda f, a, i, old, h: (at(f, a, i, old + h) - at(f, a, i, old - h)) / (2 * h),
                            restore=False)
    err = fails(checks.check_numerical_gradient, no_restore, "left the array a changed", "put a[i] back")
    assert "a[i] = old" in err.more


def test_numerical_gradient_that_gives_f_one_number():
    def scalar(f, a, h=1e-5):
        grad = np.zeros(a.shape)
        for i in np.ndindex(a.shape):
            grad[i] = (f(a[i] + h) - f(a[i] - h)) / (2 * h)
        return grad
    fails(checks.check_numerical_gradient, scalar, "single number, not the whole array")


def test_numerical_gradient_with_a_poor_default_h():
    coarse = ng_variant(lambda f, a, i, old, h: (at(f, a, i, old + h) - at(f, a, i, old - h)) / (2 * h),
                        default_h=1e-1)
    err = fails(checks.check_numerical_gradient, coarse, "close, but not close enough", "default value of h")
    assert "h=1e-5" in err.more


def test_numerical_gradient_shape_and_signature_mistakes():
    def rows_only(f, a, h=1e-5):                 # range(len(a)): one "entry" per row of a 2-d array
        grad = np.zeros(len(a))
        for i in range(len(a)):
            old = a[i].copy()
            a[i] = old + h
            f_plus = f(a)
            a[i] = old - h
            f_minus = f(a)
            a[i] = old
            grad[i] = (f_plus - f_minus) / (2 * h)
        return grad
    fails(checks.check_numerical_gradient, rows_only, "returned shape (3,), expected (3, 4)", "np.ndindex")

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


@pytest.mark.parametrize("fn", [eg_outer, eg_loops, eg_broadcast, eg_einsum, eg_library])
def test_example_gradients_right_answers_pass(fn):
    passes(checks.check_example_gradients, fn)


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
    (eg_with(dW=lambda x, y, W, b, p, yh: np.outer(np.ones(784), p - yh)), ["does not depend on x"], "(p_j - y_j) x_i"),
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
    text, more = first_step_and_more(checks.check_example_gradients, fn)
    for phrase in phrases:
        assert phrase in text, text
    if code:
        assert code not in text and code in more, (text, more)


def test_example_gradients_elementwise_product_explains_the_outer_product():
    def elementwise(x, y, W, b):
        delta = softmax(logits(x, W, b)) - as_one_hot(y, 10)
        return x * delta, delta
    err = fails(checks.check_example_gradients, elementwise, "raised ValueError", "broadcast",
                "every pixel i with every class j")
    assert "np.outer(x, p - y)" in err.more


def test_example_gradients_return_mistakes():
    fails(checks.check_example_gradients, lambda x, y, W, b: gradients(x, y, W, b), "tuple of 3 values",
          "expected a pair (dW, db)")
    fails(checks.check_example_gradients, lambda x, y, W, b: gradients(x, y, W, b)[1::-1], "returned (db, dW)")

    def unpack_two(x, y, W, b):
        dW, db = gradients(x, y, W, b)
        return dW, db
    err = fails(checks.check_example_gradients, unpack_two, "too many values to unpack", "three things")
    assert "dW, db, _ = gradients(...)" in err.more


def test_a_wrong_example_gradient_is_described_not_dumped():
    err = fails(checks.check_example_gradients, eg_with(dW=lambda x, y, W, b, p, yh: np.outer(x, p - yh) / 10),
                "1/10 of the expected")
    assert "..." not in str(err) and len(str(err)) < 600


# --- 06: gradient_descent -----------------------------------------------------

def gd_list(grad, w0, lr, steps):
    w, path = w0, [w0]
    for _ in range(steps):
        w = w - lr * grad(w)
        path.append(w)
    return np.array(path)


def gd_preallocated(grad, w0, lr, steps):
    path = np.empty((steps + 1,) + w0.shape)
    path[0] = w0
    for t in range(steps):
        path[t + 1] = path[t] - lr * grad(path[t])
    return path


def gd_copies(grad, w0, lr, steps):
    w = w0.copy()
    path = [w.copy()]
    for _ in range(steps):
        w -= lr * grad(w)
        path.append(w.copy())
    return path                                   # a list of arrays is fine too


def gd_recursive(grad, w0, lr, steps):
    if steps == 0:
        return np.stack([w0])
    before = gd_recursive(grad, w0, lr, steps - 1)
    return np.vstack([before, before[-1] - lr * grad(before[-1])])


@pytest.mark.parametrize("fn", [gd_list, gd_preallocated, gd_copies, gd_recursive, gradient_descent])
def test_gradient_descent_right_answers_pass(fn):
    passes(checks.check_gradient_descent, fn)


def test_gradient_descent_that_changes_w0():
    def alias(grad, w0, lr, steps):
        w, path = w0, [w0.copy()]
        for _ in range(steps):
            w -= lr * grad(w)
            path.append(w.copy())
        return np.array(path)
    text, more = first_step_and_more(checks.check_gradient_descent, alias)
    assert "changed w0" in text and "two names for one array" in text and "w0.copy()" in more


def test_gradient_descent_that_appends_the_same_array():
    def same(grad, w0, lr, steps):
        w = w0.copy()
        path = [w]
        for _ in range(steps):
            w -= lr * grad(w)
            path.append(w)
        return np.array(path)
    text, more = first_step_and_more(checks.check_gradient_descent, same)
    assert "every row of your path is the last point" in text and "same array" in text
    assert "w.copy()" in more


@pytest.mark.parametrize("fn, phrases", [
    (lambda grad, w0, lr, steps: gd_list(grad, w0, lr, steps)[-1], ["returned one point", "(7, 2)"]),
    (lambda grad, w0, lr, steps: gd_list(grad, w0, lr, steps)[1:], ["starts after the first step"]),
    (lambda grad, w0, lr, steps: gd_list(grad, w0, lr, steps + 1), ["8 rows", "One step too many"]),
    (lambda grad, w0, lr, steps: gd_list(grad, w0, -lr, steps), ["climbs up the bowl"]),
    (lambda grad, w0, lr, steps: gd_list(grad, w0, 1.0, steps), ["ignores the learning rate"]),
    (lambda grad, w0, lr, steps: np.array([w0 - t * lr * grad(w0) for t in range(steps + 1)]),
     ["uses the gradient at w0 for every step"]),
    (lambda grad, w0, lr, steps: gd_list(lambda w: np.array([1.0, 10.0]) * w, w0, lr, steps),
     ["np.tanh", "raised ValueError", "grad(w)"]),
    (lambda grad, w0, lr, steps: gd_list(grad, w0, lr, steps).squeeze(), ["steps=0", "shape (2,)", "(1, 2)"]),
])
def test_gradient_descent_wrong_loops_are_named(fn, phrases):
    fails(checks.check_gradient_descent, fn, *phrases)


# --- 06: bowl_lr ----------------------------------------------------------------

@pytest.mark.parametrize("lr", [0.14, 0.15, 0.17, 2 / 11, np.float64(0.18), np.array([0.16])])
def test_bowl_lr_good_choices_pass(lr):
    passes(checks.check_bowl_lr, lambda: lr)


@pytest.mark.parametrize("lr, phrases", [
    (0.21, ["diverges", "1.1 times as far"]),
    (0.2, ["never settles"]),
    (1.0, ["diverges"]),
    (0.05, ["slow one is w₁", "keeps 0.95"]),
    (0.1, ["slow one is w₁"]),
    (0.19, ["slow one is w₂", "zigzags"]),
    (0.0, ["must be a positive number"]),
    (-0.15, ["must be a positive number"]),
    (float("nan"), ["must be a positive number"]),
    ("0.15", ["not numbers"]),
    ([0.1, 0.15], ["2 numbers", "one learning rate"]),
])
def test_bowl_lr_poor_choices_say_why(lr, phrases):
    fails(checks.check_bowl_lr, lambda: lr, *phrases)


def test_bowl_lr_hints_lead_to_the_balance_only_on_request():
    text, more = first_step_and_more(checks.check_bowl_lr, lambda: 0.05)
    assert "|1 - lr| = |1 - 10 lr|" not in text and "|1 - lr| = |1 - 10 lr|" in more


def test_the_bowl_lr_goal_is_reachable_but_not_by_the_rates_shown_in_06():
    # Notebook 06 draws lr = 0.02, 0.08, 0.19 and 0.205 on this bowl: none of them may pass.
    for lr in (0.02, 0.08, 0.19, 0.205):
        with pytest.raises(CheckFailed):
            checks.check_bowl_lr(lambda: lr, strict=True)
    ok = [lr for lr in np.arange(0.10, 0.20, 0.005) if _passes_bowl(lr)]
    assert 0.13 <= min(ok) and max(ok) <= 0.185 and len(ok) >= 8


def _passes_bowl(lr):
    try:
        checks.check_bowl_lr(lambda: lr, strict=True)
        return True
    except CheckFailed:
        return False


# --- 06: update_step --------------------------------------------------------------

def us_library(X, y, W, b, lr):
    dW, db, _ = gradients(X, y, W, b)
    return W - lr * dW, b - lr * db


def us_by_hand(X, y, W, b, lr):
    delta = softmax(X @ W + b) - np.eye(10)[y]
    return np.subtract(W, lr * X.T @ delta / len(X)), b + (-lr) * delta.mean(axis=0)


def us_copies(X, y, W, b, lr):
    dW, db, _ = gradients(X, y, W, b)
    W, b = W.copy(), b.copy()
    W -= lr * dW
    b -= lr * db
    return W, b


@pytest.mark.parametrize("fn", [us_library, us_by_hand, us_copies, lambda X, y, W, b, lr: step(X, y, W, b, lr)[:2]])
def test_update_step_right_answers_pass(fn):
    passes(checks.check_update_step, fn)


def test_update_step_that_changes_b_in_place():
    def b_in_place(X, y, W, b, lr):
        dW, db, _ = gradients(X, y, W, b)
        b -= lr * db
        return W - lr * dW, b
    fails(checks.check_update_step, b_in_place, "changed its input b")


def test_update_step_that_changes_W_in_place():
    def W_in_place(X, y, W, b, lr):
        dW, db, _ = gradients(X, y, W, b)
        W -= lr * dW
        return W, b - lr * db
    fails(checks.check_update_step, W_in_place, "changed its input W")


def test_update_step_unpacking_two_of_three():
    def unpack_two(X, y, W, b, lr):
        dW, db = gradients(X, y, W, b)
        return W - lr * dW, b - lr * db
    text, more = first_step_and_more(checks.check_update_step, unpack_two)
    assert "too many values to unpack" in text and "three things" in text
    assert "dW, db, _ = gradients(...)" in more


@pytest.mark.parametrize("fn, phrases", [
    (lambda X, y, W, b, lr: (W + lr * gradients(X, y, W, b)[0], b - lr * gradients(X, y, W, b)[1]),
     ["climbs up the loss"]),
    (lambda X, y, W, b, lr: (W - gradients(X, y, W, b)[0], b - gradients(X, y, W, b)[1]),
     ["ignores the learning rate"]),
    (lambda X, y, W, b, lr: (W, b), ["the new W is the old W"]),
    (lambda X, y, W, b, lr: (-lr * gradients(X, y, W, b)[0], -lr * gradients(X, y, W, b)[1]),
     ["is the change"]),
    (lambda X, y, W, b, lr: (W - lr * gradients(X, y, W, b)[0], b), ["the new b is the old b"]),
    (lambda X, y, W, b, lr: (W - lr * gradients(X, y, W, b)[0], b + lr * gradients(X, y, W, b)[1]),
     ["(b)", "wrong value"]),
    (lambda X, y, W, b, lr: us_library(X, y, W, b, lr)[::-1], ["returned (b_new, W_new)"]),
    (lambda X, y, W, b, lr: step(X, y, W, b, lr), ["tuple of 3 values"]),
])
def test_update_step_wrong_steps_are_named(fn, phrases):
    fails(checks.check_update_step, fn, *phrases)


def test_update_step_first_hint_is_a_nudge():
    text, more = first_step_and_more(checks.check_update_step,
                                     lambda X, y, W, b, lr: (W + lr * gradients(X, y, W, b)[0], b))
    assert "W - lr * dW" not in text and "W - lr * dW" in more
