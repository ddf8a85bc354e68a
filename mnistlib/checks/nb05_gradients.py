"""Checks for the exercises of notebook 05, Gradients (``notebooks/05_gradients.ipynb``)."""

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


def _central_difference(f, a, h):
    from ..gradcheck import numerical_gradient
    return numerical_gradient(lambda: f(a), a, h)


def _numerical_gradient_reference(f, a, h=1e-5):
    return _central_difference(f, np.array(a, dtype=np.float64), h)


def _call_in_place(name, fn, f, a, *rest, call, hint):
    """fn(f, work, *rest) on a copy ``work`` of the array a, which fn may nudge but must put back."""
    work = a.copy()
    got = run(name, lambda f_, a_, *r: fn(f_, work, *r), f, a, *rest, call=call, hint=hint)
    # a[i] += h; a[i] -= 2 * h; a[i] += h  may leave a rounding error of 1e-17: harmless.
    if not np.allclose(work, a, rtol=0, atol=1e-12):
        i = np.unravel_index(int(np.argmax(np.abs(work - a))), a.shape)
        fail(name, f"{call} left the array a changed: a{list(map(int, i))} was {fmt(a[i], 6)} before and "
                   f"{fmt(work[i], 6)} after. Whoever calls your function would find their weights moved.",
             "after the two evaluations at a[i] + h and a[i] - h, put a[i] back to its old value.",
             "old = a[i]; a[i] = old + h; f_plus = f(a); a[i] = old - h; f_minus = f(a); a[i] = old")
    return got


@exercise("numerical_gradient", reference=lambda: _numerical_gradient_reference)
def check_numerical_gradient(fn):
    """fn(f, a, h=1e-5) -> the central-difference estimate of the gradient of f at a (shaped like a)."""
    name = "numerical_gradient"
    hint = ("f takes the whole array and returns one number, f(a). Nudge one entry of a at a time "
            "(for i in np.ndindex(a.shape) visits every index), and keep the signature "
            "numerical_gradient(f, a, h=1e-5).")
    # 1. A cubic, on a 2-d array like W, with a large h: its central difference is exactly 3a^2 + h^2.
    a = seeded_rng().uniform(-1, 1, size=(3, 4))
    h = 0.1
    call = "numerical_gradient(f, a, h=0.1) with f(a) = sum(a**3) and a of shape (3, 4)"
    got = as_array(name, _call_in_place(name, fn, lambda a: float(np.sum(a ** 3)), a, h, call=call,
                                        hint=hint), call)
    exact = 3 * a ** 2
    expected = exact + h ** 2
    if got.shape != a.shape:
        fail(name, f"{call} returned shape {got.shape}, expected {a.shape}: one partial derivative per entry of a.",
             "the gradient has the shape of a: start from grad = np.zeros(a.shape) and fill in grad[i] "
             "for every index i of a (np.ndindex(a.shape) gives them all, for any number of dimensions).")
    if np.all(np.isfinite(got)) and not np.allclose(got, expected, rtol=1e-6, atol=1e-8):
        central = "use the central difference (f(a + h e_i) - f(a - h e_i)) / (2h): its error shrinks like h², not h."
        for w, why, hint_, more in [
                (exact + 3 * a * h + h ** 2, "is the forward difference (f(a + h e_i) - f(a)) / h", central,
                 "evaluate f at a[i] = old + h and at a[i] = old - h, and divide the difference by 2 * h."),
                (exact - 3 * a * h + h ** 2, "is the backward difference (f(a) - f(a - h e_i)) / h", central,
                 "evaluate f at a[i] = old + h and at a[i] = old - h, and divide the difference by 2 * h."),
                (2 * expected, "is twice too large", "the two points a[i] - h and a[i] + h are 2h apart.",
                 "(f_plus - f_minus) / (2 * h)"),
                (expected / 2, "is half the right size", "the two points a[i] - h and a[i] + h are 2h apart, not 4h.",
                 "(f_plus - f_minus) / (2 * h)"),
                (exact, "did not use h: with h = 0.1 the central difference of sum(a**3) is 3a² + h², "
                        "not 3a²", "nudge by the h you are given, not by a fixed number.", None),
                (np.zeros_like(a), "is all zeros: f never saw a nudged array",
                 "change one entry of the array you pass to f, then call f on that array.", None)]:
            if np.allclose(got, w, rtol=1e-6, atol=1e-8):
                fail(name, f"{call}: your estimate {why}.", hint_, more)
    compare(name, got, expected, call=call, hint="for each index i: f(a with a[i] + h), f(a with a[i] - h), "
            "their difference over 2h.", rtol=1e-6, atol=1e-8)

    # 2. A function that mixes the entries, with the default h: the gradient of log sum exp(a) is softmax(a).
    a = np.array([0.5, -1.0, 2.0, 0.0, 1.5, -0.3])
    call = "numerical_gradient(f, a) with f(a) = log(sum(exp(a))) and a of shape (6,), default h"
    lse = lambda a: float(np.log(np.sum(np.exp(a))))                           # noqa: E731
    got = as_array(name, _call_in_place(name, fn, lse, a, call=call, hint=hint), call)
    expected = model.softmax(a)
    if got.shape == a.shape and np.allclose(got, 1.0):
        fail(name, f"{call} returned 1 for every entry: f was given a single number, not the whole array.",
             "f(a) needs the whole array a, with entry i nudged: f(a[i] + h) only looks at one number.",
             "old = a[i]; a[i] = old + h; f_plus = f(a); ...")
    if got.shape == a.shape and np.allclose(got, expected, rtol=1e-2) and not np.allclose(got, expected, rtol=1e-6, atol=1e-9):
        fail(name, f"{call} is close, but not close enough: off by {np.abs(got - expected).max():.1g}.",
             "look at the default value of h: the error plot above shows which h makes central "
             "differences most accurate in float64.", "def numerical_gradient(f, a, h=1e-5):")
    compare(name, got, expected, call=call, rtol=1e-6, atol=1e-9)
    return 2


def unpack_advice(error):
    """(hint, more) for the exceptions code around mnistlib's gradients raises most often: three
    results unpacked into two names, and += of fractions into a sum of integers; else None."""
    text = str(error)
    if "too many values to unpack (expected 2)" in text:
        return ("mnistlib's gradients returns three things: dW, db and the loss.",
                "write dW, db, _ = gradients(...) (the _ takes the loss).")
    if "values to unpack" in text:
        return ("the number of names on the left of = must match what the right side gives.", None)
    if "Cannot cast ufunc" in text:
        return ("your running sum is an array of integers, and += cannot put fractions into it.",
                "start the sums from floats: np.zeros_like(W) (or np.zeros((784, 10))).")
    return None


def _example_advice(error):
    """Hints for the exceptions example_gradients raises most often (explain for run)."""
    advice = unpack_advice(error)
    text = str(error)
    if advice is None and "broadcast" in text and "(784,)" in text and "(10,)" in text:
        advice = ("x has 784 entries and p - y has 10: dW pairs every pixel i with every class j, "
                  "dW[i, j] = x_i (p_j - y_j), a 784 x 10 table.", "np.outer(x, p - y)")
    return advice


@exercise("example_gradients", reference=lambda: lambda x, y, W, b: model.gradients(x, y, W, b)[:2])
def check_example_gradients(fn):
    """fn(x, y, W, b) -> (dW: (784, 10), db: (10,)) for one example.  x: (784,); y: its class, 0..9."""
    name = "example_gradients"
    X, labels, W, b = gradient_inputs(2)
    chain = "dL/dW_ij = (dL/dl_j) (dl_j/dW_ij) = (p_j - y_j) x_i: pixel i times class j's share of the error."
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
                 "np.outer(x, p - y) has shape (784, 10); np.outer(p - y, x) is its transpose.")
        if gW.shape in ((784,), (10,)):
            fail(name, f"{call} returned dW of shape {gW.shape}; expected (784, 10), one number per weight.",
                 "every weight W[i, j] gets its own derivative, x_i (p_j - y_j): a table of 784 x 10.",
                 "np.outer(x, p - y)")
        raw = "subtracts the label number y from every p_j, not the one-hot row"
        raw_hint = (f"y = {y} is the class number; p - y needs the one-hot row: ten numbers, 1 at the true class.",
                    "as_one_hot(y, 10) (or np.eye(10)[y]), then p - that")
        if gW.shape == dW.shape and np.all(np.isfinite(gW)):
            for w, why, nudge, more in [
                    (-dW, "has the wrong sign", "dL/dl = p - y, predicted minus true.", "np.outer(x, p - y)"),
                    (np.outer(x, p), "ignores the label", "dL/dl = p - y: subtract the one-hot label from p.",
                     "np.outer(x, p - y)"),
                    (np.outer(x, p - y), raw, *raw_hint),
                    (np.outer(x, model.softmax(x @ W) - y_hot), "leaves out the bias b",
                     "p comes from the logits l = xW + b.", "p = softmax(logits(x, W, b))"),
                    (np.outer(np.ones(784), p - y_hot), "does not depend on x",
                     "W[i, j] multiplies the pixel x_i in the logit l_j: by how much does l_j change when "
                     "W[i, j] grows by 1?", chain)]:
                if np.allclose(gW, w, rtol=1e-6, atol=1e-10):
                    fail(name, f"{call}: dW {why}.", nudge, more)
        compare(name, gW, dW, call=call + " (dW)", hint="follow the chain: which logits does W[i, j] change, and "
                "by how much per unit?", more=chain)
        if gb.shape == ():
            fail(name, f"{call} returned db as a single number; expected shape (10,), like b.",
                 "each bias b_j gets its own derivative.", "db = p - y")
        if gb.shape == db.shape and np.all(np.isfinite(gb)):
            for w, why, nudge, more in [(-db, "has the wrong sign", "dL/dl = p - y, predicted minus true.", "db = p - y"),
                                        (p, "ignores the label", "subtract the one-hot label from p.", "db = p - y"),
                                        (p - y, raw, *raw_hint)]:
                if np.allclose(gb, w, rtol=1e-6, atol=1e-10):
                    fail(name, f"{call}: db {why}.", nudge, more)
        compare(name, gb, db, call=call + " (db)", hint="b_j moves the logit l_j by exactly as much as b_j "
                "changes, and no other logit.", more="dl_j/db_j = 1, so dL/db_j = dL/dl_j: db = p - y")
    return 2
