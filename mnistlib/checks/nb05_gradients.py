"""Checks for the exercises of notebook 05, Gradients (``notebooks/05_gradients.ipynb``)."""

import re

import numpy as np

from .. import model
from .framework import as_array, compare, exercise, fail, fmt, run, seeded_rng


# --- notebook 05: gradients of the loss -----------------------------------------
# gradient_inputs and unpack_advice serve the checks of notebooks 06 and 07 too.

def gradient_inputs(n=5):
    """(X, y, W, b), seeded: X: (n, 784) in [0, 1), y: (n,) labels 3, 0, 7, 9, 1, 4, ... (n <= 10),
    W: (784, 10), b: (10,); float64."""
    rng = seeded_rng()
    x = rng.uniform(0, 1, size=(n, 784))
    W = rng.normal(0, 0.05, size=(784, 10))
    b = rng.normal(0, 0.5, size=10)
    y = np.array([3, 0, 7, 9, 1, 4, 2, 8, 5, 6][:n])
    return x, y, W, b


def _gradcheck():
    from .. import gradcheck
    return gradcheck


_RESTORE = "old = a[i]; a[i] = old + h; f_plus = f(); a[i] = old - h; f_minus = f(); a[i] = old"
_READS_A = ("f takes no arguments: it computes its number from the array a as a is at the moment you call "
            "it. To show f another point, change a itself, then call f().")


def _ng_advice(error):
    """(hint, more, reveal) when the learner called f with an argument (explain for run)."""
    if re.search(r"\bf\(\) takes 0 positional arguments", str(error)):
        return (_READS_A, "f = lambda: loss(W, b) reads W when it is called: move an entry of W, call f(), "
                          "and you have the loss at the moved point.", _RESTORE)
    return None


def _call_in_place(name, fn, value, a, *rest, call, hint):
    """fn(f, work, *rest), where ``work`` is a copy of the array a, which fn may nudge but must put
    back, and f() returns value(work) as work is when f is called: the convention of
    mnistlib.gradcheck.numerical_gradient.

    Returns (fn's result, copies of work at each call of f, in order)."""
    work = a.copy()
    seen = []

    def f():
        seen.append(np.array(work, dtype=np.float64, copy=True))
        return value(work)
    f.__qualname__ = "f"                 # so that a TypeError from f(a) reads "f() takes 0 positional ..."
    got = run(name, lambda f_, a_, *r: fn(f, work, *r), f, a, *rest, call=call, hint=hint,
              explain=_ng_advice)
    # a[i] += h; a[i] -= 2 * h; a[i] += h  may leave a rounding error of 1e-17: harmless.
    if not np.allclose(work, a, rtol=0, atol=1e-12):
        i = np.unravel_index(int(np.argmax(np.abs(work - a))), a.shape)
        drift = (" And since each nudged entry stayed where you left it, f saw several entries moved at "
                 "once: every estimate after the first was taken away from a."
                 if _drifted(a, seen, _nudge_size(seen, a)) else "")
        fail(name, f"{call} left the array a changed: a{list(map(int, i))} was {fmt(a[i], 6)} before and "
                   f"{fmt(work[i], 6)} after. Whoever calls your function would find their weights moved."
                   + drift,
             "after the two evaluations at a[i] + h and a[i] - h, put a[i] back to its old value.",
             reveal=_RESTORE)
    return got, seen


def _moved(v, a, h):
    """The indices of the entries of v that differ from a by more than h / 2."""
    return {tuple(int(k) for k in m) for m in np.argwhere(np.abs(v - a) > h / 2)}


def _drifted(a, seen, h):
    """Did f see an entry still moved from an earlier call while another one was moved?"""
    before = set()
    for v in seen:
        moved = _moved(v, a, h)
        if len(moved) > 1 and moved & before:
            return True
        before |= moved
    return False


def _judge_nudges(name, call, a, seen, h):
    """Fail unless f only ever saw a itself, or a with one entry moved: what a central
    difference, one entry at a time, shows it."""
    before = set()
    for v in seen:
        moved = _moved(v, a, h)
        if len(moved) > 1 and len(moved) == a.size and not moved & before:
            fail(name, f"{call}: f saw every entry of a moved at once, as after a += h: that measures how "
                       "f changes along all the entries together, not along each one.",
                 "move one entry at a time: the partial derivative for entry i comes from arrays in "
                 "which only entry i differs from a.", reveal=_RESTORE)
        if len(moved) > 1 and not moved & before:
            shown = ", ".join(f"a[{', '.join(map(str, m))}]" for m in sorted(moved)[:3])
            fail(name, f"{call}: f saw {len(moved)} entries of a moved together ({shown}"
                       f"{', ...' if len(moved) > 3 else ''}), not one{_block_text(a, moved)}.",
                 "a partial derivative moves one entry alone: an index with one number per axis of a "
                 "(np.ndindex(a.shape) gives them all).", reveal=_RESTORE)
        if len(moved) > 1:
            i, j = (", ".join(map(str, m)) for m in sorted(moved)[:2])
            fail(name, f"{call}: f saw a[{i}] and a[{j}] both moved: an entry you nudged was not put back "
                       "before the next one was nudged, so every estimate after the first is taken at a "
                       "shifted point.",
                 "after the two evaluations for entry i, set that entry back to its old value before you "
                 "nudge the next one.", reveal=_RESTORE)
        before |= moved


@exercise("numerical_gradient", reference=lambda: _gradcheck().numerical_gradient,
          shortcuts=lambda: {_gradcheck().numerical_gradient: "which does the whole job"}, hints=[
    "start with one entry, on paper: which two values of f does section 3's central difference need, and "
    "what must the array a hold when f is called for each of them?",
    "f reads a when it is called: to get f at the point with a[i] moved up by h, change a[i] itself (not a "
    "copy of a), then call f(). Keep the old value of a[i] in a variable first: you need it for the other "
    "side, and to put a[i] back before the next entry.",
    "the gradient has the shape of a, one partial derivative per entry, for arrays of any number of axes: "
    "np.ndindex(a.shape) gives every index i, so that a[i] is one number.",
], reveal=_RESTORE + "; grad[i] = (f_plus - f_minus) / (2 * h)")
def check_numerical_gradient(fn):
    """fn(f, a, h=1e-5) -> the central-difference estimate of the gradient of f() at a (shaped like a);
    f takes no arguments and reads a, which fn nudges in place and puts back."""
    name = "numerical_gradient"
    hint = ("f takes no arguments and returns one number computed from the array a as it is when f is "
            "called. Nudge one entry of a at a time, and keep the signature numerical_gradient(f, a, h=1e-5).")
    # 1. A cubic, on a 2-d array like W, with a large h: its central difference is exactly 3a^2 + h^2.
    a = seeded_rng().uniform(-1, 1, size=(3, 4))
    h = 0.1
    call = "numerical_gradient(f, a, h=0.1) with f() = sum(a**3) and a of shape (3, 4)"
    got, seen = _call_in_place(name, fn, lambda a: float(np.sum(a ** 3)), a, h, call=call, hint=hint)
    got = as_array(name, got, call)
    exact = 3 * a ** 2
    expected = exact + h ** 2
    if got.shape != a.shape:
        fail(name, f"{call} returned shape {got.shape}, expected {a.shape}: one partial derivative per entry of a.",
             "the gradient has the shape of a: start from an array of zeros of that shape and fill in one "
             "entry for every index of a (np.ndindex(a.shape) gives them all, for any number of axes).")
    _judge_nudges(name, call, a, seen, h)
    if np.all(np.isfinite(got)) and not np.allclose(got, expected, rtol=1e-6, atol=1e-8):
        central = "use the central difference (f(a + h e_i) - f(a - h e_i)) / (2h): its error shrinks like h², not h."
        both = "evaluate f with a[i] moved up by h and with it moved down by h, and divide the difference by 2h."
        two_sided = "(f_plus - f_minus) / (2 * h), with f_plus at a[i] = old + h and f_minus at a[i] = old - h"
        for w, why, hint_, more, reveal in [
                (exact + 3 * a * h + h ** 2, "is the forward difference (f(a + h e_i) - f(a)) / h", central, both,
                 two_sided),
                (exact - 3 * a * h + h ** 2, "is the backward difference (f(a) - f(a - h e_i)) / h", central, both,
                 two_sided),
                (2 * expected, "is twice too large", "the two points a[i] - h and a[i] + h are 2h apart.", None,
                 "(f_plus - f_minus) / (2 * h)"),
                (expected / 2, "is half the right size", "the two points a[i] - h and a[i] + h are 2h apart, not 4h.",
                 None, "(f_plus - f_minus) / (2 * h)"),
                (exact, "did not use h: with h = 0.1 the central difference of sum(a**3) is 3a² + h², "
                        "not 3a²", "nudge by the h you are given, not by a fixed number.", None, None),
                (np.zeros_like(a), "is all zeros: f never saw a nudged array",
                 "f reads the array a you were given, when you call it. A change to a copy of a (a.copy(), "
                 "a.astype(...), a + 0, a.flatten()) never reaches f: change an entry of a itself.",
                 _READS_A, None)]:
            if np.allclose(got, w, rtol=1e-6, atol=1e-8):
                fail(name, f"{call}: your estimate {why}.", hint_, more, reveal)
    compare(name, got, expected, call=call, hint="for each index i: f() with a[i] moved up by h, f() with it "
            "moved down by h, their difference over 2h.", rtol=1e-6, atol=1e-8)

    # 2. A function that mixes the entries, with the default h: the gradient of log sum exp(a) is softmax(a).
    a = np.array([0.5, -1.0, 2.0, 0.0, 1.5, -0.3])
    call = "numerical_gradient(f, a) with f() = log(sum(exp(a))) and a of shape (6,), default h"
    lse = lambda a: float(np.log(np.sum(np.exp(a))))                           # noqa: E731
    got, seen = _call_in_place(name, fn, lse, a, call=call, hint=hint)
    got = as_array(name, got, call)
    expected = model.softmax(a)
    _judge_nudges(name, call, a, seen, 1e-5 if not seen else max(1e-12, _nudge_size(seen, a)))
    if got.shape == a.shape and np.allclose(got, expected, rtol=1e-2) and not np.allclose(got, expected, rtol=1e-6, atol=1e-9):
        fail(name, f"{call} is close, but not close enough: off by {np.abs(got - expected).max():.1g}.",
             "look at the default value of h: the error plot above shows which h makes central "
             "differences most accurate in float64.", reveal="def numerical_gradient(f, a, h=1e-5):")
    compare(name, got, expected, call=call, rtol=1e-6, atol=1e-9)
    return 2


def _nudge_size(seen, a):
    """The size of the learner's nudge: the largest move of an entry the first time f saw a moved."""
    moves = [float(np.abs(v - a).max()) for v in seen]
    return next((m for m in moves if m > 0), 0.0)


def _block_text(a, moved):
    """": a[0] with one index is a whole row of a, not one number" if ``moved`` is such a block, else ""."""
    first, k = min(moved), 0
    while k < a.ndim and all(m[k] == first[k] for m in moved):
        k += 1
    prefix = first[:k]
    if len(prefix) < a.ndim and len(moved) == int(np.prod(a.shape[len(prefix):])):
        index = ", ".join(map(str, prefix))
        return (f": a[{index}] with {len(prefix)} index{'es' if len(prefix) > 1 else ''} for an array of "
                f"{a.ndim} axes is a whole {'row' if a.ndim - len(prefix) == 1 else 'block'}, not one number")
    return ""


def gradient_shortcuts():
    """The library functions that compute softmax regression's gradients (or a step with them) in one call."""
    from .. import layers, softmax_regression, train
    what = "which does the whole job"
    return {model.gradients: what, softmax_regression.loss_and_grads: what, layers.linear_backward: what,
            train.step: "which takes a whole step with the gradients", softmax_regression.sgd_step: what,
            train.sgd_step: "which takes a whole step with the gradients"}


def unpack_advice(error, watch=None):
    """(hint, more, reveal) for the exceptions code around mnistlib's gradients raises most often:
    more values than names on the left of = (gradients gives three), and += of fractions into a
    sum of integers; else None. ``watch`` (the run's Watch) says whether the line that failed had
    just received what gradients returned."""
    text = str(error)
    if "values to unpack" in text:
        got = watch.returned_on(error) if watch is not None else None
        if got is not None and got[0] is model.gradients.__code__ and isinstance(got[1], tuple):
            return ("mnistlib's gradients returns three things: dW, db and the loss.", None,
                    "write dW, db, _ = gradients(...) (the _ takes the loss).")
        return ("the names on the left of = (or between for and in) must match the number of values "
                "the right side gives. `for x, t in X, y` takes the whole of X, then the whole of y, and "
                "tries to split each into two names.",
                "to go through two arrays side by side, pair their rows with zip(X, y); to have the "
                "position too, enumerate.", None)
    if "Cannot cast ufunc" in text:
        return ("your running sum is an array of integers, and += cannot put fractions into it.", None,
                "start the sums from floats: np.zeros_like(W) (or np.zeros((784, 10))).")
    return None


def _example_advice(error, watch=None):
    """Hints for the exceptions example_gradients raises most often (explain for run)."""
    advice = unpack_advice(error, watch)
    text = str(error)
    if advice is None and "broadcast" in text and "(784,)" in text and "(10,)" in text:
        advice = ("x has 784 entries and p - y has 10: dW pairs every pixel i with every class j, "
                  "dW[i, j] = x_i (p_j - y_j), a 784 x 10 table.", None, "np.outer(x, p - y)")
    return advice


@exercise("example_gradients", reference=lambda: lambda x, y, W, b: model.gradients(x, y, W, b)[:2],
          shortcuts=gradient_shortcuts, hints=[
    "start from what the links above give: δ = ∂L/∂l = p − y, with y one-hot. Then ask, for W_ij and for "
    "b_j, which logits they change and by how much.",
    "l_j = Σ_i x_i W_ij + b_j: W_ij appears only in l_j, with the factor x_i; b_j only in l_j, with the "
    "factor 1. The chain rule multiplies δ_j by that factor.",
    "dW pairs every pixel i with every class j: a 784 x 10 table whose entry (i, j) is x_i δ_j, a column "
    "times a row (the outer product).",
], reveal="delta = softmax(logits(x, W, b)) - as_one_hot(y, 10); return np.outer(x, delta), delta")
def check_example_gradients(fn):
    """fn(x, y, W, b) -> (dW: (784, 10), db: (10,)) for one example.  x: (784,); y: its class, 0..9."""
    name = "example_gradients"
    X, labels, W, b = gradient_inputs(2)
    chain = ("dL/dW_ij = (dL/dl_j) (dl_j/dW_ij): the first factor is p_j - y_j; the second, how much l_j "
             "grows when W_ij grows by 1, you read off l_j = sum_i x_i W_ij + b_j.")
    for x, y in zip(X, labels.tolist()):                   # two examples, of classes 3 and 0
        call = f"example_gradients(x, y, W, b) with x of shape (784,) and y = {y}"
        got = run(name, fn, x, y, W, b, call=call, explain=_example_advice)
        if not (isinstance(got, (tuple, list)) and len(got) == 2):
            fail(name, f"{call} returned {type(got).__name__}"
                 f"{f' of {len(got)} values' if isinstance(got, (tuple, list)) else ''}; expected a pair (dW, db).",
                 "end with `return dW, db`.")
        gW, gb = as_array(name, got[0], call + " (dW)"), as_array(name, got[1], call + " (db)")
        if gW.shape == (10,) and gb.shape == (784, 10):
            fail(name, f"{call} returned (db, dW); expected (dW, db), in that order.", "return dW, db")
        dW, db, _ = model.gradients(x, y, W, b)
        p = model.softmax(model.logits(x, W, b))
        y_hot = model.as_one_hot(y, 10)
        if gW.shape == (10, 784):
            fail(name, f"{call} returned dW of shape (10, 784); expected (784, 10), the shape of W.",
                 "dW[i, j] belongs to W[i, j]: the pixel i comes first, the class j second.",
                 reveal="np.outer(x, p - y) has shape (784, 10); np.outer(p - y, x) is its transpose.")
        if gW.shape in ((784,), (10,)):
            fail(name, f"{call} returned dW of shape {gW.shape}; expected (784, 10), one number per weight.",
                 "every weight W[i, j] gets its own derivative, x_i (p_j - y_j): a table of 784 x 10.",
                 reveal="np.outer(x, p - y)")
        raw = "subtracts the label number y from every p_j, not the one-hot row"
        raw_hint = (f"y = {y} is the class number; p - y needs the one-hot row: ten numbers, 1 at the true class.",
                    None, "as_one_hot(y, 10) (or np.eye(10)[y]), then p - that")
        if gW.shape == dW.shape and np.all(np.isfinite(gW)):
            for w, why, nudge, more, reveal in [
                    (-dW, "has the wrong sign", "dL/dl = p - y, predicted minus true.", None, "np.outer(x, p - y)"),
                    (np.outer(x, p), "ignores the label", "dL/dl = p - y: subtract the one-hot label from p.",
                     None, "np.outer(x, p - y)"),
                    (np.outer(x, p - y), raw, *raw_hint),
                    (np.outer(x, model.softmax(x @ W) - y_hot), "leaves out the bias b",
                     "p comes from the logits l = xW + b.", None, "p = softmax(logits(x, W, b))"),
                    (np.outer(np.ones(784), p - y_hot), "does not depend on x",
                     "W[i, j] multiplies the pixel x_i in the logit l_j: by how much does l_j change when "
                     "W[i, j] grows by 1?", chain, None)]:
                if np.allclose(gW, w, rtol=1e-6, atol=1e-10):
                    fail(name, f"{call}: dW {why}.", nudge, more, reveal)
        compare(name, gW, dW, call=call + " (dW)", hint="follow the chain: which logits does W[i, j] change, and "
                "by how much per unit?", more=chain)
        if gb.shape == ():
            fail(name, f"{call} returned db as a single number; expected shape (10,), like b.",
                 "each bias b_j gets its own derivative.", reveal="db = p - y")
        if gb.shape == db.shape and np.all(np.isfinite(gb)):
            for w, why, nudge, more, reveal in [
                    (-db, "has the wrong sign", "dL/dl = p - y, predicted minus true.", None, "db = p - y"),
                    (p, "ignores the label", "subtract the one-hot label from p.", None, "db = p - y"),
                    (p - y, raw, *raw_hint)]:
                if np.allclose(gb, w, rtol=1e-6, atol=1e-10):
                    fail(name, f"{call}: db {why}.", nudge, more, reveal)
        compare(name, gb, db, call=call + " (db)", hint="b_j moves the logit l_j by exactly as much as b_j "
                "changes, and no other logit.", more="dl_j/db_j = 1: so dL/db_j is dL/dl_j itself.",
                reveal="db = p - y")
    return 2
