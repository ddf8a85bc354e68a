"""The checks of notebook 06: gradient descent on a bowl, a learning rate for it, and one update step.

Each check must pass right answers written in different ways and reject the wrong
answers learners write, with a message that names the mistake. The line of code
comes only through ``hint``.
"""

import numpy as np
import pytest

from mnistlib import checks
from mnistlib.checks import CheckFailed
from mnistlib.checks.hints import ladder as hint_ladder
from mnistlib.descent_widget import gradient_descent
from mnistlib.model import cross_entropy, gradients, logits, softmax
from mnistlib.train import step

from helpers import fails, hints_for, passes


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


@pytest.mark.parametrize("fn", [gd_list, gd_preallocated, gd_copies, gd_recursive])
def test_gradient_descent_right_answers_pass(fn):
    passes(checks.check_gradient_descent, fn)


def test_gradient_descent_that_calls_mnistlibs_fails():
    fails(checks.check_gradient_descent, lambda grad, w0, lr, steps: gradient_descent(grad, w0, lr, steps),
          "calls gradient_descent() from mnistlib", "which does the whole job")


def test_gradient_descent_that_changes_w0():
    def alias(grad, w0, lr, steps):
        w, path = w0, [w0.copy()]
        for _ in range(steps):
            w -= lr * grad(w)
            path.append(w.copy())
        return np.array(path)
    text, more, reveal = hints_for(checks.check_gradient_descent, alias)
    assert "changed w0" in text and "two names for one array" in text and "w0.copy()" in reveal


def test_gradient_descent_that_appends_the_same_array():
    def same(grad, w0, lr, steps):
        w = w0.copy()
        path = [w]
        for _ in range(steps):
            w -= lr * grad(w)
            path.append(w)
        return np.array(path)
    text, more, reveal = hints_for(checks.check_gradient_descent, same)
    assert "every row of your path is the last point" in text and "same array" in text
    assert "w.copy()" in reveal


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
    text, more, _ = hints_for(checks.check_bowl_lr, lambda: 0.05)
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
    return W - lr * dW, b - lr * db, -lr * (np.sum(dW ** 2) + np.sum(db ** 2))


def us_by_hand(X, y, W, b, lr):
    delta = softmax(X @ W + b) - np.eye(10)[y]
    dW, db = X.T @ delta / len(X), delta.mean(axis=0)
    g = np.concatenate([dW.ravel(), db])                   # all the parameters' slopes as one vector
    return np.subtract(W, lr * dW), b + (-lr) * db, g @ (-lr * g)


def us_copies(X, y, W, b, lr):
    dW, db, _ = gradients(X, y, W, b)
    W, b = W.copy(), b.copy()
    W -= lr * dW
    b -= lr * db
    return W, b, -lr * (np.linalg.norm(dW) ** 2 + np.vdot(db, db))


def us_helper(X, y, W, b, lr):
    def dot(u, v):                                         # a learner's own helper, whatever its name
        return float(np.sum(u * v))
    dW, db, _ = gradients(X, y, W, b)
    return W - lr * dW, b - lr * db, dot(dW, -lr * dW) + dot(db, -lr * db)


@pytest.mark.parametrize("fn", [us_library, us_by_hand, us_copies, us_helper])
def test_update_step_right_answers_pass(fn):
    passes(checks.check_update_step, fn)


def test_update_step_that_calls_mnistlibs_step_fails():
    def with_step(X, y, W, b, lr):
        dW, db, _ = gradients(X, y, W, b)
        W1, b1, _ = step(X, y, W, b, lr)
        return W1, b1, -lr * (np.sum(dW ** 2) + np.sum(db ** 2))
    fails(checks.check_update_step, with_step, "calls step() from mnistlib.train", "which takes the whole step")


def test_update_step_wrong_for_a_batch_of_one():
    # Passed before: the check's only batch had 5 examples.
    def squeezed(X, y, W, b, lr):
        D = np.squeeze(softmax(X @ W + b) - np.eye(10)[y])
        dW, db = X.T @ D / len(X), D.mean(axis=0)
        return W - lr * dW, b - lr * db, -lr * (np.sum(dW ** 2) + np.sum(db ** 2))
    fails(checks.check_update_step, squeezed, "with a batch of one, X (1, 784)")


def test_update_step_that_changes_b_in_place():
    def b_in_place(X, y, W, b, lr):
        dW, db, _ = gradients(X, y, W, b)
        b -= lr * db
        return W - lr * dW, b, -lr * (np.sum(dW ** 2) + np.sum(db ** 2))
    fails(checks.check_update_step, b_in_place, "changed its input b")


def test_update_step_that_changes_W_in_place():
    def W_in_place(X, y, W, b, lr):
        dW, db, _ = gradients(X, y, W, b)
        W -= lr * dW
        return W, b - lr * db, -lr * (np.sum(dW ** 2) + np.sum(db ** 2))
    fails(checks.check_update_step, W_in_place, "changed its input W")


def test_update_step_unpacking_two_of_three():
    def unpack_two(X, y, W, b, lr):
        dW, db = gradients(X, y, W, b)
        return W - lr * dW, b - lr * db, -lr * (np.sum(dW ** 2) + np.sum(db ** 2))
    text, more, reveal = hints_for(checks.check_update_step, unpack_two)
    assert "too many values to unpack" in text and "three things" in text
    assert "dW, db, _ = gradients(...)" in reveal


def predicting(change):
    """update_step with the right step and the prediction change(dW, db, lr, X, y, W, b)."""
    def fn(X, y, W, b, lr):
        dW, db, _ = gradients(X, y, W, b)
        return W - lr * dW, b - lr * db, change(dW, db, lr, X, y, W, b)
    return fn


def stepping(W_new, b_new):
    """update_step with the new W and b from W_new(W, dW, lr) and b_new(b, db, lr), and the right prediction."""
    def fn(X, y, W, b, lr):
        dW, db, _ = gradients(X, y, W, b)
        return W_new(W, dW, lr), b_new(b, db, lr), -lr * (np.sum(dW ** 2) + np.sum(db ** 2))
    return fn


def right_b(b, db, lr):
    return b - lr * db


def measured(dW, db, lr, X, y, W, b):
    loss = lambda W, b: cross_entropy(logits(X, W, b), y, from_logits=True)       # noqa: E731
    return loss(W - lr * dW, b - lr * db) - loss(W, b)


@pytest.mark.parametrize("fn, phrases", [
    (stepping(lambda W, dW, lr: W + lr * dW, right_b), ["climbs up the loss"]),
    (stepping(lambda W, dW, lr: W - dW, right_b), ["ignores the learning rate"]),
    (stepping(lambda W, dW, lr: W, right_b), ["the new W is the old W"]),
    (stepping(lambda W, dW, lr: -lr * dW, right_b), ["is the change"]),
    (stepping(lambda W, dW, lr: W - lr * dW, lambda b, db, lr: b), ["the new b is the old b"]),
    (stepping(lambda W, dW, lr: W - lr * dW, lambda b, db, lr: b + lr * db), ["(b)", "wrong value"]),
    (lambda X, y, W, b, lr: us_library(X, y, W, b, lr)[1::-1] + us_library(X, y, W, b, lr)[2:],
     ["returned (b_new, W_new, ...)"]),
    (lambda X, y, W, b, lr: us_library(X, y, W, b, lr)[:2], ["returned two values; expected three"]),
    (lambda X, y, W, b, lr: us_library(X, y, W, b, lr) + (0.0,), ["tuple of 4 values"]),
])
def test_update_step_wrong_steps_are_named(fn, phrases):
    fails(checks.check_update_step, fn, *phrases)


@pytest.mark.parametrize("change, phrases", [
    (lambda dW, db, lr, *_: lr * (np.sum(dW ** 2) + np.sum(db ** 2)), ["has the wrong sign"]),
    (lambda dW, db, lr, *_: -(np.sum(dW ** 2) + np.sum(db ** 2)), ["leaves out the learning rate"]),
    (lambda dW, db, lr, *_: -lr ** 2 * (np.sum(dW ** 2) + np.sum(db ** 2)), ["has lr twice"]),
    (lambda dW, db, lr, *_: -lr * np.sqrt(np.sum(dW ** 2) + np.sum(db ** 2)), ["the length of the gradient"]),
    (lambda dW, db, lr, *_: -lr * np.sum(dW ** 2), ["leaves out the biases"]),
    (lambda dW, db, lr, *_: -lr * np.sum(db ** 2), ["leaves out W"]),
    (lambda dW, db, lr, X, y, W, b: cross_entropy(logits(X, W, b), y, from_logits=True)
     - lr * (np.sum(dW ** 2) + np.sum(db ** 2)), ["the loss the approximation predicts after the step"]),
    (measured, ["the change the step really makes", "measured after it"]),
    (lambda dW, db, lr, *_: -lr * (np.sum(dW) + np.sum(db)), ["adds up the partial derivatives themselves"]),
    (lambda dW, db, lr, *_: -lr * np.mean(np.concatenate([dW.ravel(), db]) ** 2), ["the mean of the terms"]),
    (lambda dW, db, lr, *_: -lr * (np.mean(dW ** 2) + np.mean(db ** 2)), ["averages the terms"]),
    (lambda dW, db, lr, *_: -lr * (dW ** 2), ["an array of shape (784, 10)", "expected one number"]),
    (lambda dW, db, lr, *_: -0.1 * (np.sum(dW ** 2) + np.sum(db ** 2)), ["(the predicted change)", "wrong value"]),
])
def test_update_step_wrong_predictions_are_named(change, phrases):
    fails(checks.check_update_step, predicting(change), *phrases)


def test_update_step_first_hint_is_a_nudge():
    text, more, reveal = hints_for(checks.check_update_step, stepping(lambda W, dW, lr: W + lr * dW, right_b))
    assert "W - lr * dW" not in text and "W - lr * dW" in reveal


def test_update_step_hint_ladder_asks_for_the_prediction_before_it_reveals():
    ladder = hint_ladder("update_step")
    assert "L(w + Δ) ≈ L(w) + g · Δ" in ladder.hints[0] and "np.sum" not in " ".join(ladder.hints)
    assert "-lr * (np.sum(dW ** 2) + np.sum(db ** 2))" in ladder.reveal
