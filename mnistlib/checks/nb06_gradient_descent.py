"""Checks for the exercises of notebook 06, Gradient descent (``notebooks/06_gradient_descent.ipynb``)."""

import numpy as np

from .. import model
from .framework import as_array, compare, exercise, fail, fmt, run
from .nb05_gradients import gradient_inputs, unpack_advice


# --- notebook 06: gradient descent ----------------------------------------------

def _descent():
    from .. import descent_widget
    return descent_widget


@exercise("gradient_descent", reference=lambda: _descent().gradient_descent,
          shortcuts=lambda: {_descent().gradient_descent: "which does the whole job"}, hints=[
    "start the path with w0; then, steps times: the gradient at the current point, one step against it, "
    "and keep the new point.",
    "each step uses the gradient at the point you are at now, not at w0, times lr. Keep every point, w0 "
    "included: steps + 1 rows.",
    "make each new point a new array (an assignment w = ...), not an in-place change (w -= ...): then w0 and "
    "the points already kept stay as they were.",
], reveal="path = [w0]; w = w0; for _ in range(steps): w = w - lr * grad(w); path.append(w); "
          "return np.array(path)")
def check_gradient_descent(fn):
    """fn(grad, w0, lr, steps) -> the path, (steps + 1, *w0.shape): row 0 is w0, row t the point after t steps."""
    name = "gradient_descent"
    descend = _descent().gradient_descent
    bowl = _descent().BOWLS["2-D"]
    hint = ("fn(grad, w0, lr, steps) works for any function grad and any w0: compute the gradient at the "
            "current point as grad(w).")

    def learners_path(grad, w0, lr, steps, call):
        work = w0.copy()
        got = run(name, lambda grad, w0_, lr, steps: fn(grad, work, lr, steps), grad, w0, lr, steps,
                  call=call, hint=hint)
        if not np.array_equal(work, w0):
            fail(name, f"{call} changed w0 (it is now {fmt(work)}): whoever called your function lost "
                       "their starting point.",
                 "`w = w0` does not copy: w and w0 are two names for one array, so w -= ... changes w0 "
                 "too. An assignment, w = w - ..., makes a new array instead.",
                 reveal="w = w0.copy() at the start, or w = w - lr * grad(w) in the loop")
        return as_array(name, got, call)

    # 1. The 2-D bowl of the notebook.
    w0, lr, steps = np.array(bowl.start), 0.15, 6
    call = f"gradient_descent(bowl.grad, w0, lr=0.15, steps=6) on the 2-D bowl, w0 = {fmt(w0)}"
    got = learners_path(bowl.grad, w0, lr, steps, call)
    expected = descend(bowl.grad, w0, lr, steps)
    shape_reveal = ("path = [w0]; then in the loop: w = w - lr * grad(w); path.append(w); at the end "
                    "return np.array(path)")
    if got.shape == w0.shape:
        fail(name, f"{call} returned one point, shape {got.shape}: the end of the path? Expected the whole "
                   f"path, shape {expected.shape}.",
             "keep every point: row 0 is w0, row t the point after t steps.", reveal=shape_reveal)
    if got.shape == (steps, 2):
        why = ("starts after the first step: row 0 must be w0 itself" if np.allclose(got, expected[1:])
               else "has 6 rows; with w0 and one row per step it has 7")
        fail(name, f"{call}: your path {why}.", "the path holds w0 and then one point per step: steps + 1 rows.",
             reveal=shape_reveal)
    if got.shape == (steps + 2, 2):
        fail(name, f"{call}: your path has {steps + 2} rows; with w0 and one row per step it has {steps + 1}. "
                   "One step too many?", "range(steps) runs the loop steps times.", reveal=shape_reveal)
    if got.shape == expected.shape and np.all(np.isfinite(got)) and not np.allclose(got, expected):
        if np.allclose(got, got[-1]) and np.allclose(got[-1], expected[-1]):
            fail(name, f"{call}: every row of your path is the last point.",
                 "w -= ... changes the array w in place, and path.append(w) stores that same array each "
                 "time, not a copy of it: all rows end up as the last w.",
                 reveal="write w = w - lr * grad(w), which makes a new array each step (or append w.copy())")
        for w, why, nudge, more in [
                (descend(lambda w: -bowl.grad(w), w0, lr, steps), "climbs up the bowl instead of down",
                 "a step goes against the gradient.", "w = w - lr * grad(w)"),
                (descend(bowl.grad, w0, 1.0, steps), "ignores the learning rate",
                 "each step is lr times the gradient.", "w = w - lr * grad(w)"),
                (w0 - lr * np.arange(steps + 1)[:, None] * bowl.grad(w0), "uses the gradient at w0 for every step",
                 "the gradient changes as w moves: compute it again at the current point, every step.",
                 "w = w - lr * grad(w), with the w of this step")]:
            if np.allclose(got, w):
                fail(name, f"{call}: your path {why}.", nudge, reveal=more)
    compare(name, got, expected, call=call, hint="row t + 1 = row t - lr * grad(row t).", reveal=shape_reveal)

    # 2. Another function and another shape: tanh(w) is the gradient of sum(log(cosh(w))).
    w0, lr, steps = np.array([1.5, -0.5, 3.0]), 0.5, 4
    call = "gradient_descent(np.tanh, w0, lr=0.5, steps=4) with w0 = [1.5, -0.5, 3] (a bowl with 3 weights)"
    compare(name, learners_path(np.tanh, w0, lr, steps, call), descend(np.tanh, w0, lr, steps), call=call, hint=hint)

    # 3. No steps at all: the path is w0 alone.
    call = "gradient_descent(bowl.grad, w0, lr=0.1, steps=0)"
    w0 = np.array(bowl.start)
    compare(name, learners_path(bowl.grad, w0, 0.1, 0, call), w0[None, :], call=call,
            hint="with steps = 0 the path is just w0: shape (1, 2).", reveal=shape_reveal)
    return 3


BOWL_STEPS, BOWL_GOAL = 20, 1e-3


@exercise("bowl_lr", reference=lambda: lambda: 2 / 11, hints=[
    "one step multiplies w₁ by 1 − lr (curvature 1) and w₂ by 1 − 10 lr (curvature 10); after 20 steps, each "
    "by that factor to the 20th power. Try a few rates in the explorer and watch both directions.",
    "the loss falls only as fast as the slower direction: make the larger of |1 − lr| and |1 − 10 lr| as "
    "small as you can.",
    "a small lr is slow along w₁; a large one zigzags along w₂. The best rate balances the two: "
    "|1 − lr| = |1 − 10 lr|, with the two factors of opposite sign. Solve it.",
], reveal="return 2 / 11   (then 1 - lr = -(1 - 10 lr) = 9/11)")
def check_bowl_lr(fn):
    """fn() -> a learning rate with which 20 steps on the 2-D bowl bring the loss below 1/1000 of its start."""
    name = "bowl_lr"
    call = "bowl_lr()"
    got = as_array(name, run(name, fn, call=call), call)
    if got.size != 1:
        fail(name, f"{call} returned {got.size} numbers (shape {got.shape}); expected one learning rate.",
             "return a single number, e.g. return 0.05.")
    lr = float(got.reshape(()))
    if not np.isfinite(lr) or lr <= 0:
        fail(name, f"{call} returned {fmt(lr)}; a learning rate must be a positive number.",
             "lr > 0 steps downhill; lr = 0 does not move, and lr < 0 climbs.")
    bowl = _descent().BOWLS["2-D"]
    path = _descent().gradient_descent(bowl.grad, np.array(bowl.start), lr, BOWL_STEPS)
    with np.errstate(over="ignore"):
        L0, L = bowl.loss(path[0]), bowl.loss(path[-1])
    ratio = L / L0
    r1, r2 = bowl.factors(lr)
    balance = ("one step multiplies w₁ by 1 - lr and w₂ by 1 - 10 lr. The slower of the two sets the pace: "
               "choose lr where both shrink equally fast, |1 - lr| = |1 - 10 lr|.")
    reached = (f"with lr = {lr:g}, {BOWL_STEPS} steps on the 2-D bowl bring the loss to {ratio:.2g} times "
               f"its start (the goal: below {BOWL_GOAL:g})")
    if r2 <= -1:
        fail(name, f"{reached}: it {'diverges' if r2 < -1 else 'never settles'}. Along w₂ (curvature 10) each "
                   f"step lands {-r2:.3g} times as far on the other side of the bottom.",
             "the steep direction w₂ decides how large lr may be: move the lr slider until the zigzag "
             "across the valley stops growing.", "each step multiplies w₂ by 1 - 10 lr, which must stay "
             "above -1: lr < 0.2. " + balance)
    if not ratio < BOWL_GOAL:
        if abs(r1) >= abs(r2):
            fail(name, f"{reached}. The slow one is w₁ (curvature 1): each step keeps {r1:.3g} of its distance "
                       "to the bottom.",
                 "the flat direction w₁ wants a larger lr. How large can lr go before the steep direction "
                 "w₂ zigzags too much?", balance)
        fail(name, f"{reached}. The slow one is w₂ (curvature 10): it zigzags across the valley, keeping "
                   f"{-r2:.3g} of its distance each step.",
             "a slightly smaller lr calms the zigzag along w₂ without slowing w₁ much.", balance)
    return 2                                  # a positive number; the goal reached


def _predicted_change(dW, db, lr):
    """What the linear approximation predicts for the step -lr g: the loss changes by g . (-lr g) = -lr |g|^2."""
    return -lr * float(np.sum(np.square(dW, dtype=np.float64)) + np.sum(np.square(db, dtype=np.float64)))


def _step_reference(X, y, W, b, lr):
    dW, db, _ = model.gradients(X, y, W, b)
    return W - lr * dW, b - lr * db, _predicted_change(dW, db, lr)


def _step_shortcuts():
    from .. import softmax_regression, train
    what = "which takes the whole step"
    return {train.step: what, train.sgd_step: what, softmax_regression.sgd_step: what}


STEP_LR = 0.3


@exercise("update_step", reference=lambda: _step_reference, shortcuts=_step_shortcuts, hints=[
    "two parts. The step: every parameter moves by −lr times its own partial derivative; gradients(X, y, W, b) "
    "gives them (dW, db, and the loss). The prediction: put the step, Δ = −lr g, into the linear "
    "approximation L(w + Δ) ≈ L(w) + g · Δ.",
    "g · Δ is a sum over every parameter, the 7840 of W and the 10 of b: its partial derivative times its "
    "change. With Δ = −lr g, what does each term become? Add them all up: one number.",
    "each term is −lr times a partial derivative times itself, so none of them is positive. Both dW and db "
    "hold terms of the sum.",
], reveal="change = -lr * (np.sum(dW ** 2) + np.sum(db ** 2)); return W - lr * dW, b - lr * db, change")
def check_update_step(fn):
    """fn(X, y, W, b, lr) -> (W_new, b_new, change): one gradient-descent step on the batch (X, y), W and b
    unchanged, and the change of the batch's loss that the linear approximation predicts for it."""
    X, y, W, b = gradient_inputs()
    lr = f"lr={STEP_LR}"
    _verify_step(fn, X, y, W, b, f"update_step(X, y, W, b, {lr}) with X (5, 784), y = [3, 0, 7, 9, 1]")
    _verify_step(fn, X[:1], y[:1], W, b, f"update_step(X, y, W, b, {lr}) with a batch of one, X (1, 784), y = [3]",
                 explain=_batch_of_one_advice)
    # Faint images: small pixel values make dW small, so that b's share of |g|^2 is large.
    _verify_step(fn, 0.05 * X, y, W, b, f"update_step(X, y, W, b, {lr}) with faint images, X (5, 784) in [0, 0.05)")
    return 9


def _batch_of_one_advice(error, watch=None):
    """explain for a batch of one: an error about shapes there means the batch axis was dropped."""
    advice = unpack_advice(error, watch)
    if advice is None and any(w in str(error) for w in ("matmul", "broadcast", "shape", "aligned")):
        advice = ("a batch of one image is still a batch: X is (1, 784), and the rows of everything computed "
                  "from it stay rows. Something in your function dropped the batch axis (np.squeeze, [0], "
                  ".ravel()): print the shapes.", None)
    return advice


def _verify_step(fn, X, y, W, b, call, explain=unpack_advice):
    name = "update_step"
    lr = STEP_LR
    dW, db, _ = model.gradients(X, y, W, b)
    W1, b1 = W - lr * dW, b - lr * db
    got = run(name, fn, X, y, W, b, lr, call=call, explain=explain)
    if isinstance(got, (tuple, list)) and len(got) == 2:
        fail(name, f"{call} returned two values; expected three: the new W, the new b, and the change of the "
                   "loss that you predict for this step.", "end with `return W_new, b_new, change`.")
    if not (isinstance(got, (tuple, list)) and len(got) == 3):
        fail(name, f"{call} returned {type(got).__name__}"
             f"{f' of {len(got)} values' if isinstance(got, (tuple, list)) else ''}; expected three values "
             "(W_new, b_new, change).", "end with `return W_new, b_new, change`.")
    gW, gb = as_array(name, got[0], call + " (W)"), as_array(name, got[1], call + " (b)")
    if gW.shape == b.shape and gb.shape == W.shape:
        fail(name, f"{call} returned (b_new, W_new, ...); expected (W_new, b_new, change), in that order.",
             "return W_new, b_new, change")
    step_reveal = "W_new = W - lr * dW, with dW, db, _ = gradients(X, y, W, b)"
    if gW.shape == W.shape and np.all(np.isfinite(gW)):
        for w, why, nudge in [
                (W + lr * dW, "climbs up the loss instead of down", "a step goes against the gradient."),
                (W - dW, "ignores the learning rate", "the step is lr times the gradient."),
                (W, "is the old W", "return the W after the step."),
                (-lr * dW, "is the change, -lr * dW, not the new W", "add the change to W.")]:
            if np.allclose(gW, w, rtol=1e-6, atol=1e-10):
                fail(name, f"{call}: the new W {why}.", nudge, reveal=step_reveal)
    compare(name, gW, W1, call=call + " (W)", hint="the new W is W − lr ∂L/∂W, with the gradient of this batch.",
            reveal=step_reveal)
    if gb.shape == b.shape and np.allclose(gb, b, rtol=1e-6, atol=1e-10):
        fail(name, f"{call}: the new b is the old b.", "the biases take a step too, with their own gradient db.",
             reveal="b_new = b - lr * db")
    compare(name, gb, b1, call=call + " (b)", hint="the new b is b − lr ∂L/∂b.", reveal="b_new = b - lr * db")
    _verify_prediction(name, got[2], X, y, W, b, call + " (the predicted change)")


def _prediction_mistakes(X, y, W, b, lr):
    """[(value, what is wrong with it, hint)]: the predictions of the loss change learners get wrong."""
    dW, db, loss = model.gradients(X, y, W, b)
    sw, sb = float(np.sum(dW ** 2)), float(np.sum(db ** 2))
    after = model.cross_entropy(model.logits(X, W - lr * dW, b - lr * db), y, from_logits=True)
    per_term = "g · Δ adds up, over every parameter, its partial derivative times its change."
    return [
        (lr * (sw + sb), "has the wrong sign: it promises that the loss goes up",
         "the step goes against the gradient: Δ = −lr g. What sign does each term g_k Δ_k have?"),
        (-(sw + sb), "leaves out the learning rate", "each parameter changes by −lr times its partial derivative."),
        (-lr ** 2 * (sw + sb), "has lr twice: lr²", "g · Δ is the gradient times the step: one factor lr."),
        (-lr * np.sqrt(sw + sb), "uses the length of the gradient, not its square",
         per_term + " Each term is a partial derivative times −lr times itself."),
        (-lr * sw, "leaves out the biases: b takes a step too, and its 10 partial derivatives are part of g",
         per_term + " Both dW and db hold terms."),
        (-lr * sb, "leaves out W: only the biases' terms are in it", per_term + " Both dW and db hold terms."),
        (loss - lr * (sw + sb), "is the loss the approximation predicts after the step, not its change",
         "the change is the loss after minus the loss before."),
        (after - loss, f"is the change the step really makes ({after - loss:.4g}), measured after it. The exercise "
                       "asks what the linear approximation predicts before the step; the cells below compare "
                       "the two", "put Δ = −lr g into L(w + Δ) ≈ L(w) + g · Δ."),
        (-lr * (float(np.sum(dW)) + float(np.sum(db))), "adds up the partial derivatives themselves",
         per_term),
        (-lr * (sw + sb) / (dW.size + db.size), "is the mean of the terms, not their sum", per_term),
        (-lr * (float(np.mean(dW ** 2)) + float(np.mean(db ** 2))), "averages the terms of W and of b instead of "
                                                                     "adding them all up", per_term),
    ]


def _verify_prediction(name, got, X, y, W, b, call):
    """Fail unless ``got`` is -lr |g|^2 for the batch (X, y) at (W, b), naming the mistake if it is a known one."""
    lr = STEP_LR
    dW, db, _ = model.gradients(X, y, W, b)
    expected = _predicted_change(dW, db, lr)
    got = as_array(name, got, call)
    if got.size != 1:
        fail(name, f"{call} is an array of shape {got.shape}; expected one number, the change of the batch's loss.",
             "g · Δ is a single number: add up all its terms.")
    value = float(got.reshape(-1)[0])
    reveal = "change = -lr * (np.sum(dW ** 2) + np.sum(db ** 2))"
    if np.isfinite(value) and not np.isclose(value, expected, rtol=1e-6, atol=0):
        for wrong, why, hint in _prediction_mistakes(X, y, W, b, lr):
            if np.isclose(value, wrong, rtol=1e-6, atol=1e-12) and not np.isclose(wrong, expected, rtol=1e-6):
                fail(name, f"{call}: your prediction, {value:.6g}, {why}.", hint, reveal=reveal)
    compare(name, got.reshape(()), expected, call=call, rtol=1e-6, atol=0, reveal=reveal,
            hint="the linear approximation L(w + Δ) ≈ L(w) + g · Δ, with the step Δ = −lr g.")
