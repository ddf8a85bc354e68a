"""Checks for the notebooks' "your turn" exercises.

In a notebook, the cell after an exercise runs its check::

    softmax = check_softmax(softmax)

If the learner's function is right, the check prints one line
(``✓ softmax: all 5 checks passed``) and returns it. If not, it prints what is
wrong, on which input, and a first hint (a nudge, not the answer), and returns
mnistlib's own version, so that the cells below still run; it says so.
``hint("softmax")`` then prints a more specific hint for the same mistake,
usually the line of code. With ``strict=True`` (tests, autograding) a wrong
answer raises ``CheckFailed`` instead.

Adding a check (in the section of its notebook, in the same style)::

    @exercise("thing", reference=lambda: model.thing)
    def check_thing(fn):
        x = ...                                   # small, seeded, meaningful input
        call = "thing(x) with x = ..."
        got = _call("thing", fn, x, call=call)    # None, NotImplementedError, crashes
        if <a known mistake>:
            _fail("thing", "what is wrong", hint="a nudge", more="the line of code")
        _compare("thing", got, reference(x), call=call, hint="a nudge")
        return 1                                  # the number of checks passed

- ``_call(name, fn, *args, call=...)`` runs the learner's function on copies of
  the inputs with numpy warnings silenced (an overflow is reported by the check,
  not as a warning), fails if the function changed an input, and turns a missing
  ``return``, ``NotImplementedError`` or any other exception into a failure.
- ``_compare(name, got, expected, call=..., hint=...)`` checks, in order, that
  ``got`` is numeric, its shape, nan/inf, floating dtype (optional), and the
  values; a wrong value is described (a factor off, or where the largest
  difference is), never dumped as a big matrix.
- ``_fail(name, message, hint=, more=)``: ``hint`` is shown at once, ``more``
  only when the learner asks for it with ``hint(name)``.

Checks are deterministic (fixed seeds), quick (milliseconds), and print nothing
but their one result.
"""

import functools
import inspect
import warnings
from fractions import Fraction

import numpy as np

from . import model


class CheckFailed(AssertionError):
    """Your function gave a wrong answer. The message says on which input, and what to try."""

    def __init__(self, text, more=None):
        super().__init__(text)
        self.more = more


# The last failure of each check, for hint(name).
_last_failure = {}


# --- running a check -------------------------------------------------------------

def exercise(name, reference):
    """Decorator turning ``verify(fn)`` (raises CheckFailed, returns the number of checks
    passed) into ``check(fn, strict=False)`` as the notebooks call it.

    ``reference()`` gives mnistlib's own version, used by the cells after a failed
    exercise.
    """
    def wrap(verify):
        @functools.wraps(verify)
        def check(fn, *, strict=False):
            try:
                if getattr(fn, "_mnistlib_reference", False):
                    _fail(name, f"this is mnistlib's own {name}, which the check handed back after your "
                                "function failed.", "run the cell that defines your function again, then "
                                "this cell.")
                n = verify(fn)
            except CheckFailed as failure:
                _last_failure[name] = failure
                if strict:
                    raise
                print(f"✗ {failure}")
                if failure.more:
                    print(f'  For a more specific hint, run: hint("{name}")')
                print(f"  The cells below use mnistlib's {name} instead of yours, so that the "
                      "notebook runs on. Fix yours, then run its cell and this one again.")
                return _as_reference(reference())
            _last_failure.pop(name, None)
            print(f"✓ {name}: all {n} checks passed")
            return fn
        check.exercise = name
        return check
    return wrap


def _as_reference(obj):
    """``obj`` marked as mnistlib's (a check given it back says so instead of passing it)."""
    if callable(obj):
        @functools.wraps(obj)
        def reference(*args, **kwargs):
            return obj(*args, **kwargs)
        reference._mnistlib_reference = True
        return reference
    return obj


def hint(name):
    """Print the more specific hint for the last failure of check ``name`` (e.g. "softmax")."""
    failure = _last_failure.get(name)
    if failure is None:
        print(f"No failed check of {name} to give a hint for: run its check first.")
    elif failure.more:
        print(f"Hint for {name}: {failure.more}")
    else:
        print(f"No more specific hint for this one: compare your {name} with the formula above it, "
              "one step at a time, printing the shapes and values of your arrays.")


# --- helpers shared by all checks ---------------------------------------------

def _fmt(a, precision=4, max_items=8):
    """A short, rounded text of ``a`` for messages: at most ``max_items`` numbers per row."""
    a = np.asarray(a)
    if a.ndim == 0:
        return np.format_float_positional(float(a), precision=precision, trim="-") if a.dtype.kind in "fc" else str(a.item())
    return np.array2string(a, precision=precision, suppress_small=True, threshold=max_items,
                           edgeitems=max_items // 2, max_line_width=100, separator=", ")


def _fail(name, message, hint=None, more=None):
    text = f"{name}: {message}"
    if hint:
        text += f"\nHint: {hint}"
    raise CheckFailed(text, more)


def _copy(a):
    return a.copy() if isinstance(a, np.ndarray) else a


def _same(a, b):
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")


def _arg_names(fn, n):
    try:
        names = [p.name for p in inspect.signature(fn).parameters.values()]
    except (TypeError, ValueError):
        names = []
    return (names + [f"argument {i + 1}" for i in range(len(names), n)])[:n]


def _call(name, fn, *args, call=None, hint=None, more=None):
    """fn(*args) with copies of the inputs; every way of not answering becomes a CheckFailed.

    ``call`` describes the inputs ("softmax(l) with l = [1000, 0]") for the message;
    ``hint`` (and ``more``) are shown if the function raises an exception.
    A function that changes one of its input arrays fails too: the caller's array
    would silently change under it.
    """
    copies = [_copy(a) for a in args]
    where = f" on {call}" if call else ""
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            result = fn(*copies)
    except NotImplementedError:
        _fail(name, "not implemented yet.",
              "write your code where it says # YOUR CODE HERE, and delete the `raise NotImplementedError` line.")
    except CheckFailed:
        raise
    except Exception as e:
        if hint is None and any(w in str(e) for w in ("broadcast", "matmul", "aligned", "shape")):
            hint = "print the shapes of your arrays (a.shape) just before the line that fails."
        _fail(name, f"your function raised {type(e).__name__}{where}: {e}", hint, more)
    for arg, before, after in zip(_arg_names(fn, len(args)), args, copies):
        if isinstance(before, np.ndarray) and not _same(before, after):
            _fail(name, f"your function changed its input {arg}{where}. Whoever calls it would find "
                        f"their {arg} changed afterwards.",
                  f"compute into a new array instead of changing {arg} in place (no {arg} -= ..., "
                  f"{arg}[...] = ..., or {arg} /= ...).",
                  f"write new = {arg} - something instead of {arg} -= something; "
                  f"or start with {arg} = {arg}.copy().")
    if result is None:
        _fail(name, "your function returned None — did you forget `return`?")
    return result


def _as_array(name, got, call):
    try:
        a = np.asarray(got)
    except Exception:
        a = None
    if a is None or a.dtype.kind not in "biuf":
        _fail(name, f"{call} returned {type(got).__name__} {got!r:.60}, not numbers.")
    return a


def _factor_text(k):
    """k as a reader would say it: "10 times", "1/10 of", "-1 times" (the sign flipped)."""
    if np.isclose(k, -1, rtol=1e-4):
        return "minus (the sign is flipped)"
    f = Fraction(float(k)).limit_denominator(1000)
    if abs(float(f) - k) <= 1e-4 * abs(k):
        if f.denominator == 1:
            return f"{f.numerator} times"
        if abs(f.numerator) == 1:
            return f"{'-' if f.numerator < 0 else ''}1/{f.denominator} of"
    return f"{k:.4g} times"


def _describe_difference(got, expected, rtol, atol):
    """A sentence on how ``got`` differs from ``expected`` (same shape): a factor, or where."""
    g, e = got.astype(np.float64).ravel(), expected.astype(np.float64).ravel()
    ee = float(e @ e)
    if ee > 0:
        k = float(g @ e) / ee
        if not np.isclose(k, 1, rtol=1e-3) and np.allclose(g, k * e, rtol=1e-4, atol=atol * max(1, abs(k))):
            return f"Every entry is {_factor_text(k)} the expected value."
    bad = ~np.isclose(g, e, rtol=rtol, atol=atol)
    if got.size == 1:
        return ""
    i = int(np.argmax(np.abs(g - e)))
    where = np.unravel_index(i, got.shape)
    where = where[0] if len(where) == 1 else tuple(int(w) for w in where)
    return (f"{int(bad.sum())} of its {got.size} entries differ; the largest difference is at "
            f"[{where}]: expected {_fmt(e[i])}, got {_fmt(g[i])}.".replace("[(", "[").replace(")]", "]"))


def _compare(name, got, expected, *, call, hint=None, more=None, rtol=1e-5, atol=1e-6, floating=True):
    """Raise CheckFailed unless ``got`` matches ``expected`` in shape, finiteness, dtype and values."""
    expected = np.asarray(expected)
    got = _as_array(name, got, call)
    if got.shape != expected.shape:
        _fail(name, f"{call} returned shape {got.shape}, expected {expected.shape}.", hint, more)
    if np.all(np.isfinite(expected)) and not np.all(np.isfinite(got)):
        bad = "nan" if np.any(np.isnan(got)) else "inf"
        _fail(name, f"{call} returned {bad}: got {_fmt(got)}, expected {_fmt(expected)}.", hint, more)
    if floating and got.dtype.kind != "f":
        _fail(name, f"{call} returned integers (dtype {got.dtype}); expected floating-point numbers.",
              "integer arithmetic rounds: convert to float before dividing.",
              "use .astype(np.float32), or divide with / rather than //.")
    if not np.allclose(got, expected, rtol=rtol, atol=atol):
        if expected.size <= 12:
            shown = f"\n  expected {_fmt(expected)}\n  got      {_fmt(got)}"
        else:
            shown = ""
        _fail(name, f"{call} returned a wrong value. {_describe_difference(got, expected, rtol, atol)}{shown}",
              hint, more)


def _rng():
    return np.random.default_rng(12345)


def _evaluate():
    from . import evaluate
    return evaluate


def _draw():
    from . import draw
    return draw


# --- notebook 01: flatten an image --------------------------------------------

@exercise("flatten", reference=lambda: lambda image: np.asarray(image, dtype=np.float32).reshape(784) / 255)
def check_flatten(fn):
    """fn(image: (28, 28) uint8 in 0..255) -> (784,) floats in [0, 1], row by row."""
    name = "flatten"
    rng = _rng()
    image = rng.integers(0, 256, size=(28, 28), dtype=np.uint8)
    image[0, 0], image[0, 1] = 255, 0   # make sure the extremes occur
    expected = image.reshape(784).astype(np.float32) / 255
    call = "flatten(image) with a random (28, 28) uint8 image"
    got = _as_array(name, _call(name, fn, image, call=call), call)
    if got.shape == (28, 28):
        _fail(name, f"{call} returned shape (28, 28), expected (784,).",
              "reshape the 28 x 28 grid into one row of 784 numbers: image.reshape(784).")
    if got.shape == (1, 784):
        _fail(name, f"{call} returned shape (1, 784), expected (784,).",
              "reshape(784) gives a vector; reshape(1, 784) gives a matrix with one row.")
    if got.shape == (784,) and got.max() > 1.5:
        _fail(name, f"{call} returned values up to {_fmt(got.max())}; expected values in [0, 1].",
              "divide the pixel values by 255 (after converting to float).")
    if got.shape == (784,) and np.allclose(got, image.T.reshape(784) / 255, atol=1e-6) \
            and not np.allclose(got, expected, atol=1e-6):
        _fail(name, f"{call} read the image column by column.",
              "MNIST stores each image row by row: image.reshape(784), without .T.")
    _compare(name, got, expected, call=call, hint="flatten row by row and divide by 255.")
    # A second image, all white: catches answers that ignore the input.
    white = np.full((28, 28), 255, dtype=np.uint8)
    _compare(name, _call(name, fn, white), np.ones(784, dtype=np.float32),
             call="flatten(image) with an all-255 image")
    return 2


# --- notebook 02: logits ------------------------------------------------------

def _logits_inputs(n=3):
    rng = _rng()
    x = rng.random((n, 784)).astype(np.float32)
    W = (0.05 * rng.standard_normal((784, 10))).astype(np.float32)
    b = np.linspace(-1, 1, 10).astype(np.float32)
    return x, W, b


@exercise("logits", reference=lambda: model.logits)
def check_logits(fn):
    """fn(x, W, b) -> x W + b.  x: (784,) or (n, 784); W: (784, 10); b: (10,)."""
    name = "logits"
    x, W, b = _logits_inputs()
    hint = "l = x W + b: x (784,) times W (784, 10) gives (10,); then add b (10,)."
    # 1. one image
    call = "logits(x, W, b) with x (784,), W (784, 10), b (10,)"
    got = _as_array(name, _call(name, fn, x[0], W, b, call=call, hint=(
        "x has shape (784,) and W (784, 10): x @ W gives (10,); W @ x and x @ W.T don't fit.")), call)
    expected = model.logits(x[0], W, b)
    if got.shape == (784,):
        _fail(name, f"{call} returned shape (784,), expected (10,).",
              "multiply with the matrix product x @ W, not elementwise x * W[:, j].")
    if got.shape == expected.shape and np.allclose(got, x[0] @ W, atol=1e-4) and not np.allclose(got, expected, atol=1e-4):
        _fail(name, f"{call} returned x W, without the bias.\n  expected {_fmt(expected)}\n  got      {_fmt(got)}",
              "add the bias b to the logits.")
    _compare(name, got, expected, call=call, hint=hint, rtol=1e-4, atol=1e-4)
    # 2. a batch
    call = "logits(x, W, b) with a batch x (3, 784)"
    got = _as_array(name, _call(name, fn, x, W, b, call=call, hint=(
        "it works for one image but not for a batch: x @ W + b handles x (784,) and x (n, 784) alike; "
        "W.T @ x only works for a single image.")), call)
    expected = model.logits(x, W, b)
    if got.shape == (10, 3):
        _fail(name, f"{call} returned shape (10, 3), expected (3, 10): one row per image.",
              "compute x @ W (shape (n, 10)), not W.T @ x.T.")
    _compare(name, got, expected, call=call, rtol=1e-4, atol=1e-4,
             hint="the same formula must work for a batch: x @ W + b handles (784,) and (n, 784) alike; "
                  "W.T @ x only works for a single image.")
    # 3. a batch of one keeps its batch dimension
    call = "logits(x, W, b) with a batch of one image, x (1, 784)"
    _compare(name, _call(name, fn, x[:1], W, b, call=call), model.logits(x[:1], W, b), call=call, rtol=1e-4, atol=1e-4,
             hint="don't reshape or squeeze x: (1, 784) @ (784, 10) gives (1, 10).")
    return 3


# --- notebook 03: softmax -----------------------------------------------------

@exercise("softmax", reference=lambda: model.softmax)
def check_softmax(fn):
    """fn(l) -> softmax(l), each row summing to 1.  l: (10,) or (n, 10)."""
    name = "softmax"
    stable = ("Adding the same number to every logit doesn't change softmax: which number keeps "
              "every exp() at most 1?")
    stable_more = ("e = np.exp(l - l.max(axis=-1, keepdims=True)), then divide e by its sum over the "
                   "last axis (keepdims=True).")
    n_checks = 0

    def run(l, call, hint=None, not_finite=None):
        nonlocal n_checks
        got = _as_array(name, _call(name, fn, l, call=call), call)
        expected = model.softmax(l)
        if not_finite and got.shape == expected.shape and not np.all(np.isfinite(got)):
            _fail(name, not_finite.format("nan" if np.any(np.isnan(got)) else "inf"), hint, stable_more)
        if got.shape == expected.shape and np.all(np.isfinite(got)):
            rows = got.sum(axis=-1)
            if got.ndim == 2 and not np.allclose(rows, 1, atol=1e-5):
                if np.allclose(got.sum(), 1, atol=1e-5):
                    _fail(name, f"{call}: the whole batch sums to 1, but each row should (row sums: {_fmt(rows)}).",
                          "sum over the classes only: e.sum(axis=-1, keepdims=True).")
                if np.allclose(got.sum(axis=0), 1, atol=1e-5):
                    _fail(name, f"{call}: the columns sum to 1, but each row should (row sums: {_fmt(rows)}).",
                          "each row is one example; normalise along axis=-1 (the classes), not axis=0.")
            if not np.allclose(rows, 1, atol=1e-5):
                _fail(name, f"{call}: the probabilities don't sum to 1 (sum: {_fmt(rows)}).",
                      "divide each exp(l_j) by the sum of all of them.")
        _compare(name, got, expected, call=call, hint=hint)
        n_checks += 1

    l = np.array([2.0, 1.0, 0.1, -1.0, 0.0, 3.0, -2.0, 0.5, 1.5, -0.5])
    run(l, f"softmax(l) with l = {_fmt(l, 1)}")
    run(np.zeros(10), "softmax(l) with l = 10 zeros", hint="equal logits give equal probabilities, 0.1 each.")
    big = np.array([1000.0, 0.0])
    run(big, "softmax(l) with l = [1000, 0]", hint="np.exp(1000) overflows to inf, and inf/inf = nan. " + stable,
        not_finite="your softmax returns {} for large logits (try l = [1000, 0]).")
    low = np.array([-1000.0, -1001.0])
    run(low, "softmax(l) with l = [-1000, -1001]",
        hint="exp(-1000) underflows to 0, so the sum is 0 and 0/0 = nan. " + stable,
        not_finite="your softmax returns {} for very negative logits (try l = [-1000, -1001]).")
    batch = _rng().normal(0, 3, size=(3, 10))
    batch[1] += 800   # one row with large logits: the shift must be per row
    run(batch, "softmax(l) with a batch l of shape (3, 10)",
        not_finite="your softmax returns {} on a batch l of shape (3, 10) whose rows have very different sizes.",
        hint="on a batch, take the max and the sum of each row: axis=-1, keepdims=True.")
    return n_checks


# --- notebook 04: cross-entropy -----------------------------------------------

@exercise("cross_entropy", reference=lambda: model.cross_entropy)
def check_cross_entropy(fn):
    """fn(p, y) -> mean over the batch of -sum_j y_j log p_j.  p: (n, 10); y: (n, 10) one-hot."""
    name = "cross_entropy"
    rng = _rng()
    p = model.softmax(rng.normal(0, 2, size=(4, 10)))
    labels = np.array([3, 0, 7, 9])
    y = model.as_one_hot(labels, 10)
    expected = model.cross_entropy(p, y)
    call = "cross_entropy(p, y) with p (4, 10) and one-hot y (4, 10)"
    got = _as_array(name, _call(name, fn, p, y, call=call, hint=(
        "y is one-hot, shape (n, 10): use y * np.log(p) and sum over axis=-1 "
        "(y.argmax(axis=-1) gives the class indices, if you prefer -log p_true).")), call)
    per_example = -np.log(p[np.arange(4), labels])
    if got.shape == (4,) and np.allclose(got, per_example, rtol=1e-5):
        _fail(name, f"{call} returned one loss per example (shape (4,)); expected a single number.",
              "average the per-example losses: .mean().")
    if got.shape == (4, 10):
        _fail(name, f"{call} returned shape (4, 10); expected a single number.",
              "sum y_j log p_j over the classes (axis=-1), then average over the examples.")
    if got.shape == () and np.isfinite(got):
        if np.isclose(got, -expected, rtol=1e-5):
            _fail(name, f"{call} returned {_fmt(got)}, expected {_fmt(expected)}: the sign is wrong.",
                  "L = -sum_j y_j log p_j. log p is negative, so the loss is positive.")
        if np.isclose(got, 4 * expected, rtol=1e-5):
            _fail(name, f"{call} returned {_fmt(got)}, the sum over the 4 examples; expected the mean {_fmt(expected)}.",
                  "divide by the number of examples: .mean() instead of .sum() over the batch.")
    _compare(name, got, expected, call=call, hint="L = -sum_j y_j log p_j, averaged over the batch.")

    # p rounds to exactly 0 for a wrong class: 0 * log(0) is nan in numpy.
    p0 = np.array([[1.0, 0.0] + [0.0] * 8, [0.5, 0.5] + [0.0] * 8])
    y0 = model.as_one_hot(np.array([0, 1]), 10)
    call = "cross_entropy(p, y) when p has a 0 (p = [1, 0, ..., 0], true class 0)"
    got = _as_array(name, _call(name, fn, p0, y0, call=call), call)
    if got.shape == () and not np.isfinite(got):
        _fail(name, f"{call} returned {_fmt(got)}, expected {_fmt(model.cross_entropy(p0, y0))}.",
              "y_j log p_j with y_j = 0 and p_j = 0 is 0 * log(0) = 0 * (-inf) = nan. Never take log(0): "
              "clip first, np.log(np.maximum(p, 1e-12)), or compute the loss from the logits with log-softmax.")
    _compare(name, got, model.cross_entropy(p0, y0), call=call, rtol=1e-5, atol=1e-6)

    # The true class has p = 0: the loss is huge, but must stay a number.
    y1 = model.as_one_hot(np.array([1, 1]), 10)
    call = "cross_entropy(p, y) when the true class has p = 0"
    got = _as_array(name, _call(name, fn, p0, y1, call=call), call)
    if got.shape != () or not np.isfinite(got):
        _fail(name, f"{call} returned {_fmt(got)}; expected a large but finite number.",
              "log(0) = -inf. Clip p away from 0 (np.log(np.maximum(p, 1e-12))), or compute the loss "
              "from the logits with log-softmax, which never takes log(0).")
    if not got > 5:
        _fail(name, f"{call} returned {_fmt(got)}; a confident wrong answer should cost a lot (more than 5).",
              "clip p with a tiny number such as 1e-12, not a large one.")
    return 3


# --- notebook 05: gradients of the loss -----------------------------------------

def _gradient_inputs(n=5):
    rng = _rng()
    x = rng.uniform(0, 1, size=(n, 784))
    W = rng.normal(0, 0.05, size=(784, 10))
    b = rng.normal(0, 0.5, size=10)
    y = np.array([3, 0, 7, 9, 1, 4, 2, 8][:n])
    return x, y, W, b


@exercise("gradients", reference=lambda: lambda x, y, W, b: model.gradients(x, y, W, b)[:2])
def check_batch_gradients(fn):
    """fn(x, y, W, b) -> (dW, db), the gradients of the mean loss.  x: (n, 784); y: (n,) labels."""
    name = "gradients"
    x, y, W, b = _gradient_inputs()
    n = len(x)
    dW, db, _ = model.gradients(x, y, W, b)
    call = "gradients(x, y, W, b) with x (5, 784), W (784, 10), b (10,)"
    got = _call(name, fn, x, y, W, b, call=call)
    if not (isinstance(got, (tuple, list)) and len(got) == 2):
        _fail(name, f"{call} returned {type(got).__name__}; expected a pair (dW, db).", "end with `return dW, db`.")
    gW = _as_array(name, got[0], call + " (dW)")
    gb = _as_array(name, got[1], call + " (db)")
    p = model.softmax(model.logits(x, W, b))
    if gW.shape == (10, 784):
        _fail(name, f"{call} returned dW of shape (10, 784); expected (784, 10), the shape of W.",
              "dW = x^T (p - y) / n: transpose x, not the product.")
    if gW.shape == dW.shape and np.all(np.isfinite(gW)):
        wrong = [(n * dW, "is n times too large: the loss is a mean, so divide the sum over the examples by n"),
                 (-dW, "has the wrong sign: it is p - y, not y - p"),
                 (x.T @ p / n, "ignores the labels: subtract the one-hot y from p first")]
        for w, why in wrong:
            if np.allclose(gW, w, rtol=1e-5, atol=1e-8):
                _fail(name, f"{call}: dW {why}.", "dW = x^T (p - y) / n")
    _compare(name, gW, dW, call=call + " (dW)", hint="dW = x^T (p - y) / n, with y one-hot.")
    if gb.shape == db.shape and np.all(np.isfinite(gb)):
        for w, why in [(n * db, "is n times too large: average over the examples, .mean(axis=0)"),
                       (-db, "has the wrong sign: it is p - y"),
                       (p.mean(axis=0), "ignores the labels: subtract the one-hot y")]:
            if np.allclose(gb, w, rtol=1e-5, atol=1e-8):
                _fail(name, f"{call}: db {why}.", "db = mean over the rows of (p - y)")
    _compare(name, gb, db, call=call + " (db)", hint="db = mean over the rows of (p - y).")

    # One example in a batch of one: the same formulas without the average.
    call1 = "gradients(x[:1], y[:1], W, b), a batch of one"
    got = _call(name, fn, x[:1], y[:1], W, b, call=call1)
    dW1, db1, _ = model.gradients(x[0], y[0], W, b)
    _compare(name, got[0], dW1, call=call1 + " (dW)", hint="for one example, dW_ij = x_i (p_j - y_j).")
    _compare(name, got[1], db1, call=call1 + " (db)", hint="for one example, db_j = p_j - y_j.")
    return 4


# --- notebook 06: one step of gradient descent ----------------------------------

@exercise("update_step", reference=lambda: _step_reference)
def check_update_step(fn):
    """fn(x, y, W, b, lr) -> (W_new, b_new): one gradient-descent step on the batch (x, y)."""
    from .train import step

    name = "update_step"
    x, y, W, b = _gradient_inputs()
    lr = 0.5
    W1, b1, _ = step(x, y, W, b, lr)
    dW, db, _ = model.gradients(x, y, W, b)
    call = "update_step(x, y, W, b, lr=0.5) with x (5, 784)"
    got = _call(name, fn, x, y, W, b, lr, call=call)
    if not (isinstance(got, (tuple, list)) and len(got) == 2):
        _fail(name, f"{call} returned {type(got).__name__}; expected a pair (W_new, b_new).",
              "end with `return W_new, b_new`.")
    gW = _as_array(name, got[0], call + " (W)")
    if gW.shape == W.shape and np.all(np.isfinite(gW)):
        for w, why, hint in [
                (W + lr * dW, "climbs up the loss instead of down", "W_new = W - lr * dW: subtract the gradient."),
                (W - dW, "ignores the learning rate", "multiply the gradient by lr."),
                (W, "did not change W", "W_new = W - lr * dW, and return W_new."),
                (-lr * dW, "returned -lr * dW, the change, not the new W", "W_new = W - lr * dW.")]:
            if np.allclose(gW, w, rtol=1e-6, atol=1e-10):
                _fail(name, f"{call}: the new W {why}.", hint)
    _compare(name, gW, W1, call=call + " (W)", hint="W_new = W - lr * dW, with dW from gradients(x, y, W, b).")
    _compare(name, got[1], b1, call=call + " (b)", hint="b_new = b - lr * db.")

    # A second call from the same start must give the same answer: the inputs must not change.
    W_keep = W.copy()
    fn(x, y, W, b, lr)
    if not np.array_equal(W, W_keep):
        _fail(name, "update_step changed the W it was given.",
              "compute W - lr * dW into a new array instead of W -= ..., so the caller's W stays as it was.")
    return 3


# --- notebook 07: an epoch of mini-batch gradient descent -----------------------

def _step_reference(x, y, W, b, lr):
    from .train import step
    return step(x, y, W, b, lr)[:2]


def _epoch_reference(x, y, W, b, lr, batch_size):
    for start in range(0, len(x), batch_size):
        dW, db, _ = model.gradients(x[start:start + batch_size], y[start:start + batch_size], W, b)
        W, b = W - lr * dW, b - lr * db
    return W, b


@exercise("minibatch_epoch", reference=lambda: _epoch_reference)
def check_minibatch_epoch(fn):
    """fn(x, y, W, b, lr, batch_size) -> (W, b) after one pass over x in batches taken in order."""
    name = "minibatch_epoch"
    x, y, W, b = _gradient_inputs(8)
    lr = 0.5
    expected = _epoch_reference(x, y, W, b, lr, 3)
    call = "minibatch_epoch(x, y, W, b, lr=0.5, batch_size=3) with 8 examples (batches of 3, 3, 2)"
    got = _call(name, fn, x, y, W, b, lr, 3, call=call)
    if not (isinstance(got, (tuple, list)) and len(got) == 2):
        _fail(name, f"{call} returned {type(got).__name__}; expected a pair (W, b).", "end with `return W, b`.")
    gW = _as_array(name, got[0], call + " (W)")
    if gW.shape == W.shape and np.all(np.isfinite(gW)):
        for w, why, hint in [
                (_epoch_reference(x[:6], y[:6], W, b, lr, 3)[0], "skipped the last, shorter batch of 2",
                 "loop over start = 0, 3, 6 (range(0, n, batch_size)); x[6:9] simply has 2 rows."),
                (_epoch_reference(x, y, W, b, lr, 8)[0], "made a single update with all 8 examples",
                 "one update per batch: slice x[start:start + batch_size] inside the loop."),
                (_epoch_reference(x, y, W, b, lr, 1)[0], "made one update per example",
                 "slice batches of batch_size rows: x[start:start + batch_size]."),
                (_epoch_reference(x[:3], y[:3], W, b, lr, 3)[0], "made only the first update",
                 "update W and b inside the loop, and keep the updated values for the next batch.")]:
            if np.allclose(gW, w, rtol=1e-6, atol=1e-10):
                _fail(name, f"{call}: your loop {why}.", hint)
    _compare(name, gW, expected[0], call=call + " (W)",
             hint="for each batch: dW, db from gradients(x_batch, y_batch, W, b); then W = W - lr * dW.")
    _compare(name, got[1], expected[1], call=call + " (b)", hint="update b in the same loop: b = b - lr * db.")
    return 2


# --- notebook 08: the confusion matrix ------------------------------------------

@exercise("confusion_matrix", reference=lambda: _evaluate().confusion_matrix)
def check_confusion_matrix(fn):
    """fn(y_true, y_pred) -> (10, 10) ints, C[i, j] = images of true class i predicted as j."""
    from .evaluate import confusion_matrix

    name = "confusion_matrix"
    hint = "start from C = np.zeros((10, 10), dtype=int) and add 1 to C[t, p] for each pair (t, p)."
    # 1. a small hand example: three 1s, one of them predicted as 7; two 7s, one 3, all right
    y_true = np.array([1, 1, 1, 7, 7, 3])
    y_pred = np.array([1, 7, 1, 7, 7, 3])
    expected = confusion_matrix(y_true, y_pred)
    call = "confusion_matrix(y_true, y_pred) with y_true = [1, 1, 1, 7, 7, 3], y_pred = [1, 7, 1, 7, 7, 3]"
    got = _as_array(name, _call(name, fn, y_true, y_pred, call=call, hint=hint), call)
    if got.ndim == 2 and got.shape != (10, 10) and got.shape[0] == got.shape[1]:
        _fail(name, f"{call} returned shape {got.shape}, expected (10, 10).",
              "make the matrix 10 x 10 always, even when some digits do not occur in y_true or y_pred.")
    if got.shape == (10, 10) and np.array_equal(got, expected.T) and not np.array_equal(got, expected):
        _fail(name, f"{call} has rows and columns swapped: C[1, 7] should count 1s predicted as 7.",
              "the row is the true class, the column the prediction: C[t, p] += 1.")
    if got.shape == (10, 10) and got[1, 1] == 1 and expected[1, 1] == 2:
        _fail(name, f"{call} counted each pair at most once: C[1, 1] is {_fmt(got[1, 1])}, expected 2.",
              "with fancy indexing, C[y_true, y_pred] += 1 adds only once per repeated pair; "
              "use a loop, or np.add.at(C, (y_true, y_pred), 1).")
    _compare(name, got, expected, call=call, hint=hint, floating=False)
    # 2. random labels: the totals must add up
    rng = _rng()
    y_true, y_pred = rng.integers(0, 10, 300), rng.integers(0, 10, 300)
    call = "confusion_matrix(y_true, y_pred) with 300 random labels"
    got = _as_array(name, _call(name, fn, y_true, y_pred, call=call, hint=hint), call)
    if got.shape == (10, 10) and got.sum() != 300:
        _fail(name, f"{call}: the counts add up to {_fmt(got.sum())}, expected 300 (one per image).", hint)
    _compare(name, got, confusion_matrix(y_true, y_pred), call=call, hint=hint, floating=False)
    return 2


# --- notebook 09: centring a drawn digit by its centre of mass -------------------

def _mass_patches():
    """Three lopsided (h, w) patches, none pushed out of a 28x28 frame by its shift.

    The second one's shift, 14 - (row of the centre of mass) = 5.84, must be
    rounded up: cutting it off with int() shows there.
    """
    rng = _rng()
    a = rng.random((20, 12)) * 0.5
    a[2:9, 1:6] = 1.0                    # heavy top-left
    b = rng.random((9, 20)) * 0.3
    b[:, 13:] = 1.0                      # heavy right
    c = np.zeros((20, 18))
    c[12:17, 2:16] = 1.0                 # a bar low in the box, a stem on the left
    c[2:12, 4:6] = 0.6
    return [p.astype(np.float32) for p in (b, a, c)]


def _shifted(patch, top, left):
    """patch pasted at (top, left) in a 28x28 frame, moved back inside if it sticks out."""
    top = min(max(top, 0), 28 - patch.shape[0])
    left = min(max(left, 0), 28 - patch.shape[1])
    frame = np.zeros((28, 28), dtype=np.float32)
    frame[top:top + patch.shape[0], left:left + patch.shape[1]] = patch
    return frame


@exercise("center_by_mass", reference=lambda: _draw().center_by_mass)
def check_center_by_mass(fn):
    """fn(patch: (h, w) floats, h, w <= 20) -> (28, 28) frame with the patch pasted so that
    its centre of mass lands on row 14, column 14 (shift rounded to whole pixels)."""
    from .draw import center_by_mass, center_of_mass

    name = "center_by_mass"
    for patch in _mass_patches():
        h, w = patch.shape
        call = f"center_by_mass(patch) with a lopsided ({h}, {w}) patch"
        expected = center_by_mass(patch)
        got = _as_array(name, _call(name, fn, patch, call=call), call)
        if got.shape != (28, 28):
            _fail(name, f"{call} returned shape {got.shape}, expected (28, 28).",
                  "start from np.zeros((28, 28)) and paste the patch into it.")
        cy, cx = center_of_mass(patch)
        wrong = [
            (_shifted(patch, 0, 0), "left the patch in the top-left corner",
             "shift it: top = round(14 - row of the centre of mass), left likewise with the column."),
            (_shifted(patch, (28 - h) // 2, (28 - w) // 2), "centred the patch's box, not its centre of mass",
             "MNIST centres the ink's centre of mass: row = sum_r r * patch[r, :].sum() / patch.sum()."),
            (_shifted(patch, int(14 - cy), int(14 - cx)), "shifted one pixel too little",
             f"round to the nearest whole pixel: int(round(14 - cy)); int() cuts {14 - cy:.2f} down to "
             f"{int(14 - cy)} (aiming at 13.5 instead of 14 does the same)."),
        ]
        wrong.append((_shifted(patch, int(round(14 - cx)), int(round(14 - cy))), "swapped rows and columns",
                      "the row of the centre of mass sets the shift down (top), its column the shift right (left)."))
        if got.shape == (28, 28) and not np.allclose(got, expected, atol=1e-6):
            for frame, why, hint in wrong:
                if np.allclose(got, frame, atol=1e-6):
                    _fail(name, f"{call}: your function {why}.", hint)
            if not np.isclose(got.sum(), patch.sum(), rtol=1e-5):
                _fail(name, f"{call}: the frame holds {got.sum():.3f} ink but the patch {patch.sum():.3f}.",
                      "paste the whole patch, unchanged: frame[top:top + h, left:left + w] = patch.")
            if got.sum() > 0:
                gy, gx = center_of_mass(got)
                _fail(name, f"{call}: the centre of mass ends at ({gy:.2f}, {gx:.2f}); expected (14, 14) "
                      "within half a pixel.",
                      "top = round(14 - cy), left = round(14 - cx), then frame[top:top + h, left:left + w] = patch.")
        _compare(name, got, expected, call=call)
    return 3
