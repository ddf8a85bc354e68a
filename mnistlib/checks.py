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
                    # A fresh error with no chained context: what the learner sees (also in
                    # nbgrader's feedback) is the message, not the check's inner workings.
                    raise CheckFailed(str(failure), failure.more) from None
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
        # mnistlib's version: the graded course's check cells hand it to the cells below
        # before re-raising a strict failure (tools/make_course.py).
        check.reference = lambda: _as_reference(reference())
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
            if np.allclose(g, 0, atol=atol):
                return "Every entry is 0."
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


# --- notebook 00: a warm-up that shows how a check answers ------------------------

def _best_class_reference(scores):
    return int(np.argmax(scores))


@exercise("best_class", reference=lambda: _best_class_reference)
def check_best_class(fn):
    """fn(scores: (10,) floats) -> the class (0..9) whose score is largest, an int."""
    name = "best_class"
    cases = [np.array([0.3, -1.2, 2.5, 0.0, 4.1, -0.7, 1.9, 3.3, -2.0, 0.8]),
             np.array([-5.0, -3.0, -4.0, -2.5, -6.0, -3.5, -7.0, -4.5, -8.0, -0.5]),  # all negative; the last wins
             np.array([9.0, 1.0, 2.0, 8.5, 0.0, 3.0, 4.0, 5.0, 6.0, 7.0])]            # the first wins
    for scores in cases:
        call = f"best_class(scores) with scores = [{', '.join(f'{v:g}' for v in scores)}]"
        got = _as_array(name, _call(name, fn, scores, call=call), call)
        best = int(np.argmax(scores))
        if got.shape != ():
            _fail(name, f"{call} returned shape {got.shape}; expected a single number, the class.",
                  "return one class number from 0 to 9, not an array.")
        v = got.item()
        if v == best:
            continue
        if np.isclose(v, scores[best]):
            _fail(name, f"{call} returned {_fmt(v)}, the largest score itself; expected the class that has it, {best}.",
                  "the class is the position of the largest score in the list, not the score.",
                  "np.argmax(scores) gives the position of the largest entry; np.max(scores) gives the entry.")
        if v == best + 1:
            _fail(name, f"{call} returned {_fmt(v)}, one more than the right class, {best}.",
                  "classes are numbered from 0 to 9, like positions in a numpy array: the first score is class 0.")
        if v == int(np.argmax(np.abs(scores))):
            _fail(name, f"{call} returned {_fmt(v)}, the class whose score is farthest from 0; expected {best}.",
                  "with negative scores, -0.5 is larger than -5: compare the scores themselves, not their size.")
        if v == int(np.argmin(scores)):
            _fail(name, f"{call} returned {_fmt(v)}, the class with the smallest score; expected {best}.",
                  "the best class has the largest score.", "np.argmax, not np.argmin.")
        _fail(name, f"{call} returned {_fmt(v)}; expected {best}.",
              "the class is the position (0 to 9) of the largest of the ten scores.",
              "np.argmax(scores) gives that position.")
    return len(cases)


# --- notebook 01: flatten an image ----------------------------------------------

def _flatten_reference(image):
    return np.asarray(image, dtype=np.float32).reshape(784) / 255


@exercise("flatten", reference=lambda: _flatten_reference)
def check_flatten(fn):
    """fn(image: (28, 28) uint8 in 0..255) -> (784,) floats in [0, 1], row by row."""
    name = "flatten"
    rng = _rng()
    random = rng.integers(0, 256, size=(28, 28), dtype=np.uint8)
    random[0, 0], random[0, 1] = 255, 0                      # make sure the extremes occur
    faint = np.zeros((28, 28), dtype=np.uint8)               # a light pencil stroke: its darkest pixel is 200
    faint[6:22, 12:16] = rng.integers(40, 200, size=(16, 4))
    faint[10, 13] = 200
    white = np.full((28, 28), 255, dtype=np.uint8)           # catches answers that ignore the input
    cases = [(random, "a random (28, 28) uint8 image"),
             (faint, "a faint image whose darkest pixel is 200, not 255"),
             (white, "an all-255 image")]
    for image, what in cases:
        call = f"flatten(image) with {what}"
        got = _as_array(name, _call(name, fn, image, call=call), call)
        expected = _flatten_reference(image)
        if got.shape == (28, 28):
            _fail(name, f"{call} returned shape (28, 28), expected (784,).",
                  "the model reads one row of 784 numbers: the 28 rows of the image one after the other.",
                  "image.reshape(784) (or image.ravel()) lays the rows end to end.")
        if got.shape == (1, 784):
            _fail(name, f"{call} returned shape (1, 784), expected (784,).",
                  "the model's x is a plain vector of shape (784,); (1, 784) is a matrix with one row.",
                  "image.reshape(784), not image.reshape(1, 784).")
        if got.shape == (784,) and np.all(np.isfinite(got)) and not np.allclose(got, expected, atol=1e-6):
            flat = image.reshape(784).astype(np.float64)
            if got.max() > 1.5:
                _fail(name, f"{call} returned values up to {_fmt(got.max())}; expected values in [0, 1].",
                      "grey levels run from 0 to 255; the model wants them from 0 to 1.",
                      "convert to float and divide by 255: image.reshape(784) / 255.")
            if np.allclose(got, flat / flat.max(), atol=1e-6) or \
                    np.allclose(got, (flat - flat.min()) / (flat.max() - flat.min()), atol=1e-6):
                _fail(name, f"{call} turned its darkest pixel, 200, into {_fmt(got.max())}; expected "
                            f"200/255 = {200 / 255:.4f}. You scaled by the image's own darkest pixel, so a faint "
                            "digit comes out as dark as a bold one.",
                      "divide every image by the same number: the largest grey level there can be.",
                      "divide by 255, not by image.max().")
            if np.allclose(got, image.T.reshape(784) / 255, atol=1e-6):
                _fail(name, f"{call} read the image column by column: your entry 28 * r + c holds image[c, r].",
                      "MNIST stores each image row by row: entry 28 * r + c must be image[r, c].",
                      "image.reshape(784), without .T or order='F'.")
            if np.allclose(got, flat / 256, atol=1e-6):
                _fail(name, f"{call} divided by 256: a pixel of 255 became {255 / 256:.4f}, not 1.",
                      "255 is the largest grey level, and it must become exactly 1.")
        _compare(name, got, expected, call=call,
                 hint="entry 28 * r + c of your vector must be image[r, c] / 255.")
    return len(cases)


# --- notebook 01: where the ink is ------------------------------------------------

def _ink_box_reference(x):
    grid = np.asarray(x).reshape(28, 28) > 0
    rows, cols = np.flatnonzero(grid.any(axis=1)), np.flatnonzero(grid.any(axis=0))
    return int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])


def _ink_images():
    """Three (784,) images, each with a description, whose boxes catch the usual mistakes."""
    rng = _rng()
    tall = np.zeros((28, 28))
    tall[6:20, 9:15] = rng.uniform(0.3, 1.0, size=(14, 6))   # a tall stroke, off centre
    tall[5, 11] = 0.05                                        # faint pixels: the top row is 5,
    tall[12, 15] = 0.08                                       # the right column 15
    edges = np.zeros((28, 28))
    edges[10:18, 5:22] = 0.7
    edges[0, 3] = edges[27, 20] = edges[14, 27] = 1.0        # ink in the first and last row, the last column
    pieces = np.zeros((28, 28))
    pieces[3:7, 10:13] = 1.0                                  # two pieces, empty rows between them
    pieces[20:23, 4:9] = 0.9
    return [(tall.reshape(784).astype(np.float32),
             "a tall stroke with a faint pixel in its top row and its right column"),
            (edges.reshape(784).astype(np.float32), "ink in the first row, the last row and the last column"),
            (pieces.reshape(784).astype(np.float32), "two separate pieces with empty rows between them")]


@exercise("ink_box", reference=lambda: _ink_box_reference)
def check_ink_box(fn):
    """fn(x: (784,) floats in [0, 1]) -> (top, bottom, left, right): the first and the last row,
    and the first and the last column, that hold any ink (x > 0), numbered 0 to 27."""
    name = "ink_box"
    for x, what in _ink_images():
        call = f"ink_box(x) with {what}"
        got = _as_array(name, _call(name, fn, x, call=call), call)
        if got.shape != (4,):
            _fail(name, f"{call} returned shape {got.shape}; expected four numbers (top, bottom, left, right).",
                  "end with `return top, bottom, left, right`.")
        if not np.all(np.isfinite(got)) or not np.all(got == np.round(got)):
            _fail(name, f"{call} returned {_fmt(got)}; expected four whole row and column numbers.",
                  "rows and columns are counted in whole pixels, 0 to 27.")
        box = tuple(int(v) for v in got)
        t, b, l, r = expected = _ink_box_reference(x)
        if box == expected:
            continue
        grid = x.reshape(28, 28)
        said = f"{call} returned {box}; expected {expected}"
        if max(box) > 27 or min(box) < 0:
            _fail(name, f"{said}: {max(box) if max(box) > 27 else min(box)} is not a row or column number "
                        "(they run from 0 to 27).",
                  "did you use positions in the row of 784 numbers? Pixel k of x sits in row k // 28, "
                  "column k % 28: go back to the 28 x 28 grid first.",
                  "grid = x.reshape(28, 28); then find the rows of grid that hold any ink, and the columns.")
        if box == (l, r, t, b):
            _fail(name, f"{said}: rows and columns are swapped.",
                  "in grid[r, c] the first index is the row (counted downwards), the second the column.",
                  "grid.any(axis=1)[r] says whether row r holds ink; grid.any(axis=0)[c] whether column c does.")
        if box == (t, l, b, r):
            _fail(name, f"{said}: that is (top, left, bottom, right); the order asked for is "
                        "(top, bottom, left, right).", "return top, bottom, left, right.")
        if box == (t, b + 1, l, r + 1):
            _fail(name, f"{said}: your bottom and right are one past the last row and column with ink, "
                        "as the end of a Python slice is.",
                  "bottom is the last row that holds ink itself, so that the ink fits in grid[top:bottom + 1].")
        for level in (0.1, 0.2, 0.5):
            if (grid > level).any() and box == _ink_box_reference(grid * (grid > level)):
                _fail(name, f"{said}: faint pixels are ink too. Yours leaves out the faintest ones; this image "
                            "has pixels of 0.05 and 0.08 at the edges of its ink.",
                      "a pixel holds ink if it is not exactly 0: x > 0.")
        inked = (grid > 0).any(axis=1)
        if box[:2] == (t, t + int(inked.sum()) - 1):
            _fail(name, f"{said}: bottom = top + (number of rows with ink) - 1 assumes that the rows with ink "
                        f"follow each other; here {int((~inked[t:b + 1]).sum())} rows between {t} and {b} are empty.",
                  "find the last row that holds ink itself, rather than counting rows.")
        wrong = [f"{side} should be {e}, got {g}" for side, e, g in
                 zip(("top", "bottom", "left", "right"), expected, box) if e != g]
        _fail(name, f"{said}: {', '.join(wrong)}.",
              "top is the first row that holds any ink (x > 0), bottom the last one; left and right are the "
              "first and the last such column.",
              "grid = x.reshape(28, 28) > 0; rows = np.flatnonzero(grid.any(axis=1)); top, bottom = rows[0], "
              "rows[-1]; the columns likewise with axis=0.")
    return 3


# --- notebook 02: the nearest class mean, as ten neurons ------------------------------

def _nearest_mean_reference(means):
    means = np.asarray(means)
    return means.T.copy(), -0.5 * (means ** 2).sum(axis=1)


def _mean_images(seed, ink):
    """Ten made-up class means (10, 784), class j with ``ink[j]`` times as much ink as usual, and
    100 images to classify: a noisy copy of each mean, and random images."""
    rng = np.random.default_rng(seed)
    means = rng.random((10, 784)) ** 3 * np.asarray(ink)[:, None]
    noisy = np.clip(means + rng.normal(0, 0.15, size=means.shape), 0, 1)
    images = rng.random((90, 784)) ** rng.uniform(1, 4, size=(90, 1))
    return means, np.vstack([noisy, images])


@exercise("nearest_mean_params", reference=lambda: _nearest_mean_reference)
def check_nearest_mean_params(fn):
    """fn(means: (10, 784), row j the mean image of class j) -> (W: (784, 10), b: (10,)) such that
    the largest logit of l = x W + b is always the class whose mean is nearest to x."""
    means, X = _mean_images(12345, np.linspace(0.4, 1.6, 10))
    _verify_nearest_mean(fn, means, X, "nearest_mean_params(means) with ten made-up class means, shape (10, 784)")
    means, X = _mean_images(7, np.linspace(1.5, 0.5, 10))
    _verify_nearest_mean(fn, means.astype(np.float32), X,
                         "nearest_mean_params(means) with ten other made-up class means, float32")
    return 2


def _verify_nearest_mean(fn, means, X, call):
    name = "nearest_mean_params"
    got = _call(name, fn, means, call=call)
    if not (isinstance(got, (tuple, list)) and len(got) == 2):
        _fail(name, f"{call} returned {type(got).__name__}; expected a pair (W, b).", "end with `return W, b`.")
    W = _as_array(name, got[0], call + " (W)")
    b = _as_array(name, got[1], call + " (b)")
    if W.shape == (10,) and b.shape == (784, 10):
        _fail(name, f"{call} returned (b, W); expected (W, b).", "return W, b, in that order.")
    if W.shape == (10, 784):
        _fail(name, f"{call} returned W of shape (10, 784); expected (784, 10), one column per class, "
                    "so that x W works for x of shape (784,).",
              "in means the classes are the rows; in W they are the columns.", "means.T turns rows into columns.")
    if W.shape != (784, 10):
        _fail(name, f"{call} returned W of shape {W.shape}; expected (784, 10).",
              "W has one column of 784 weights per class.")
    if b.shape != (10,):
        _fail(name, f"{call} returned b of shape {b.shape}; expected (10,), one bias per class.",
              "b_j is one number per class j: a vector of 10 numbers." +
              (" (1, 10) and (10, 1) are matrices; b.reshape(10) makes a vector." if b.size == 10 else ""))
    if not (np.all(np.isfinite(W)) and np.all(np.isfinite(b))):
        _fail(name, f"{call} returned W or b with nan or inf.")

    l = X @ W + b
    d = ((X[:, None, :] - means[None, :, :]) ** 2).sum(axis=-1)     # (n, 10) squared distances
    disagree = int((l.argmax(axis=1) != d.argmin(axis=1)).sum())
    picks = (f"on {len(X)} test images, your logits pick a class other than the nearest mean for {disagree} of them"
             if disagree else f"your logits happen to pick the nearest mean for all {len(X)} test images, but "
                              "not for the right reason, so other images would go wrong")
    # Right means: l_j = -c/2 ‖x − m_j‖² + (anything the same for every j), with c > 0. Then the
    # logits rank the classes as the distances do for every image, not only for these.
    lc, dc = l - l.mean(axis=1, keepdims=True), d - d.mean(axis=1, keepdims=True)
    c = -2 * float((lc * dc).sum() / (dc * dc).sum())
    if c > 0 and np.linalg.norm(lc + c / 2 * dc) <= 1e-5 * np.linalg.norm(lc):
        return

    expand = ("expand ‖x − m_j‖² = ‖x‖² − 2 x·m_j + ‖m_j‖² and sort the terms: which one "
              "multiplies x, which one depends on the class j only, and which one is the same for every class?")
    answer = "W = means.T and b = -0.5 * (means ** 2).sum(axis=1): then l_j = x·m_j − ½ ‖m_j‖²."
    # Is column j of W a multiple k of m_j, plus one image v common to all columns?
    M = means.T
    Wc, Mc = W - W.mean(axis=1, keepdims=True), M - M.mean(axis=1, keepdims=True)
    k = float((Wc * Mc).sum() / (Mc * Mc).sum())
    if np.linalg.norm(Wc - k * Mc) > 1e-5 * np.linalg.norm(Wc) or abs(k) < 1e-12:
        _fail(name, f"{call}: {picks}. Column j of your W is not the mean image m_j (nor a multiple of it, "
                    "nor m_j minus an image common to all classes).", expand, answer)
    if k < 0:
        _fail(name, f"{call}: {picks}. Your W holds the class means with a minus sign, so images that look like "
                    "class j lower its logit.", "the nearest mean has the smallest distance; the logit must be "
                    "largest there: l_j goes with −‖x − m_j‖², not +.", answer)
    norms = (means ** 2).sum(axis=1)
    target = -k / 2 * norms                         # the right b for this W, up to a constant
    bc, tc = b - b.mean(), target - target.mean()
    r = float(bc @ tc / (tc @ tc))
    factor = f" (for your W, which is {_fmt(k, 3)} times the means)" if not np.isclose(k, 1) else ""
    if np.allclose(bc, 0, atol=1e-9 * max(1.0, np.abs(b).max())):
        _fail(name, f"{call}: {picks}. Your b is zero (or the same for every class), so the classes with more "
                    "ink win too often.", expand + " The term that depends on j only belongs in b_j.", answer)
    if np.allclose(bc, r * tc, rtol=1e-5, atol=1e-8 * np.abs(tc).max()):
        if np.isclose(r, -1, rtol=1e-4):
            _fail(name, f"{call}: {picks}. Your b has the wrong sign{factor}.",
                  "−‖x − m_j‖² contains −‖m_j‖²: a class whose mean has more ink must start lower.",
                  answer)
        if np.isclose(r, 2, rtol=1e-4) or np.isclose(r, 0.5, rtol=1e-4):
            _fail(name, f"{call}: {picks}. Your b is {_factor_text(r)} what your W needs{factor}: did you lose "
                        "the 2 in front of x·m_j, or the ½ of ‖m_j‖²?",
                  "−½ ‖x − m_j‖² = x·m_j − ½ ‖m_j‖² − ½ ‖x‖²: W and b must come from the same expression, "
                  "with the same factor.", answer)
    centred = -k / 2 * ((means - means.mean(axis=0)) ** 2).sum(axis=1)
    if np.allclose(bc, centred - centred.mean(), rtol=1e-5, atol=1e-8 * np.abs(tc).max()):
        _fail(name, f"{call}: {picks}. Your b uses the means minus their average; the average image may be "
                    "taken out of W (x times it is the same for every class) but b_j needs ‖m_j‖² itself.",
              expand, answer)
    s = np.sqrt(norms) - np.sqrt(norms).mean()
    if np.allclose(bc, (bc @ s) / (s @ s) * s, rtol=1e-5, atol=1e-8 * np.abs(bc).max()):
        _fail(name, f"{call}: {picks}. Your b uses the length ‖m_j‖, not its square.", expand, answer)
    _fail(name, f"{call}: {picks}. Your W is right{factor}, but b_j is not −{_fmt(k / 2, 3)} ‖m_j‖² "
                "(up to one number added to every class).", expand, answer)


# --- notebook 03: softmax -----------------------------------------------------

# Every input has ten logits per row, as the exercise's docstring promises, so that a loop over
# range(10) is a right answer too.
_ORDINARY = np.array([2.0, 1.0, 0.1, -1.0, 0.0, 3.0, -2.0, 0.5, 1.5, -0.5])
_ORDINARY_TEXT = f"[{', '.join(f'{v:g}' for v in _ORDINARY)}]"
_KEEPDIMS = ("print l.max(axis=-1).shape for this batch: it is ({n},), and numpy lines a ({n},) array up with "
             "the last axis (the 10 classes), not with the {n} rows. You need a column, shape ({n}, 1).")
_KEEPDIMS_MORE = ("keepdims=True keeps the axis you reduce over: l.max(axis=-1, keepdims=True) and "
                  "e.sum(axis=-1, keepdims=True) have shape (n, 1), which numpy subtracts from (or divides) "
                  "every row by.")
_SHIFT = ("exp() of a large number overflows to inf (and inf/inf is nan); of a very negative one it rounds to 0 "
          "(and 0/0 is nan). You showed that adding the same number to every logit of a row changes nothing: "
          "which number makes overflow impossible and keeps the sum at least 1?")
_SHIFT_MORE = ("subtract the largest logit of each row: e = np.exp(l - l.max(axis=-1, keepdims=True)), then "
               "divide e by its sum over the last axis, e.sum(axis=-1, keepdims=True).")


def _softmax_rows():
    """(l, text, what a nan or inf there means, hint): rows of ten logits, ordinary to extreme."""
    large = np.zeros(10)
    large[1] = 1000.0
    spread = np.zeros(10)
    spread[7], spread[9] = 2000.0, -2000.0
    low = -1000.0 - 0.5 * np.arange(10)
    not_enough = ("your softmax handles ten large logits, but returns {bad} for {text}: your shift is not "
                  "enough. After it, some exponent is still far above 0 (a shift by the mean, the middle of the "
                  "range, the smallest or the first logit leaves exp(900) or more here).")
    return [
        (_ORDINARY, f"l = {_ORDINARY_TEXT}", None, None),
        (np.zeros(10), "l = ten zeros", None, "equal logits give equal probabilities, 0.1 each."),
        (_ORDINARY + 1000.0, f"l = 1000 + {_ORDINARY_TEXT}", "your softmax returns {bad} for large logits, {text}.",
         _SHIFT),
        (large, "l = [0, 1000, 0, 0, 0, 0, 0, 0, 0, 0]", not_enough,
         "whatever the logits, after your shift the largest exponent must be exactly 0."),
        (spread, "l = [0, 0, 0, 0, 0, 0, 0, 2000, 0, -2000]", not_enough,
         "whatever the logits, after your shift the largest exponent must be exactly 0."),
        (low, "l = [-1000, -1000.5, -1001, ..., -1004.5]",
         "your softmax returns {bad} for very negative logits, {text}.", _SHIFT),
    ]


def _softmax_batches():
    """(l, text): batches whose rows differ in size, so that each row needs its own shift."""
    rng = _rng()
    three = rng.normal(0, 3, size=(3, 10))
    three[1] += 800.0
    ten = rng.normal(0, 3, size=(10, 10)) + np.linspace(-30, 30, 10)[:, None]
    return [(three, "a batch l of shape (3, 10), one row 800 larger than the others"),
            (ten, "a batch l of shape (10, 10) whose rows range from about -30 to 30")]


def _call_logits(name, fn, l, call):
    """_call for logits l, with a specific hint when one row, or a batch, trips over an axis."""
    try:
        return _call(name, fn, l, call=call)
    except CheckFailed as failure:
        text = str(failure).split("\nHint:")[0][len(name) + 2:]
        if l.ndim == 2 and "broadcast" in text:
            _fail(name, f"{text}\nYour function works for one row of logits, but not for a batch.",
                  _KEEPDIMS.format(n=len(l)), _KEEPDIMS_MORE)
        if l.ndim == 1 and "axis" in text:
            _fail(name, f"{text}\nOne row of logits, shape (10,), has a single axis.",
                  "axis=-1, the last axis, means the classes both for one row (10,) and for a batch (n, 10).")
        raise


def _unkept(l):
    """What a softmax that forgot keepdims in the max, the sum or both returns for a square batch l."""
    m, mk = l.max(axis=-1), l.max(axis=-1, keepdims=True)
    outs = []
    for shifted in (l - mk, l - m):
        e = np.exp(shifted)
        outs += [e / e.sum(axis=-1, keepdims=True), e / e.sum(axis=-1)]
    return outs[1:]


def _check_rows_sum_to_one(name, got, l, call):
    """The usual ways of normalising the wrong thing, each said in words."""
    rows = got.sum(axis=-1)
    if got.ndim == 2 and got.shape[0] == got.shape[1]:
        with np.errstate(all="ignore"):
            if any(np.allclose(got, w) for w in _unkept(l)):
                _fail(name, f"{call} returned wrong rows: a max or a sum of shape ({len(l)},) was lined up with "
                            f"the {len(l)} columns, not with the {len(l)} rows. (With 3 rows numpy refuses; with "
                            f"as many rows as columns it silently does the wrong thing.)",
                      _KEEPDIMS.format(n=len(l)), _KEEPDIMS_MORE)
    if got.ndim == 2 and not np.allclose(rows, 1, atol=1e-5):
        if np.allclose(got.sum(), 1, atol=1e-5):
            _fail(name, f"{call}: the whole batch sums to 1, but each row should (row sums: {_fmt(rows)}).",
                  "each row is one image: normalise each row on its own.",
                  "sum over the classes only: e.sum(axis=-1, keepdims=True).")
        if np.allclose(got.sum(axis=0), 1, atol=1e-5):
            _fail(name, f"{call}: the columns sum to 1, but each row should (row sums: {_fmt(rows)}).",
                  "each row is one image; normalise along the classes, the last axis, not axis=0.",
                  "axis=-1 (with keepdims=True) in both the max and the sum.")
    if not np.allclose(rows, 1, atol=1e-5):
        _fail(name, f"{call}: the probabilities don't sum to 1 (sum: {_fmt(rows)}).",
              "divide each exp(l_j) by the sum of all ten of them.")


@exercise("softmax", reference=lambda: model.softmax)
def check_softmax(fn):
    """fn(l) -> softmax(l), each row summing to 1.  l: (10,) or (n, 10)."""
    name = "softmax"
    n_checks = 0
    per_row = "on a batch, each row needs its own shift, from that row's own logits."
    cases = _softmax_rows() + [(l, text, "your softmax returns {bad} on {text}.", per_row)
                               for l, text in _softmax_batches()]
    for l, text, not_finite, hint in cases:
        call = f"softmax(l) with {text}"
        got = _as_array(name, _call_logits(name, fn, l, call), call)
        expected = model.softmax(l)
        if got.shape == expected.shape and not np.all(np.isfinite(got)) and not_finite:
            bad = "nan" if np.any(np.isnan(got)) else "inf"
            _fail(name, not_finite.format(bad=bad, text=text), hint, _SHIFT_MORE)
        if got.shape == expected.shape and np.all(np.isfinite(got)):
            _check_rows_sum_to_one(name, got, l, call)
        _compare(name, got, expected, call=call, hint=hint, more=_SHIFT_MORE)
        n_checks += 1
    return n_checks


# --- notebook 04: log-softmax, the log of the probabilities, from the logits -------------

_LOG_P = ("log p_j = log(e^(l_j) / sum_k e^(l_k)) = l_j - log sum_k e^(l_k): compute that from l directly, "
          "without forming p, whose small entries round to 0.")
_LOG_SUM = ("sum_k e^(l_k) overflows for a logit of 1000. Take the largest logit m out of the sum first: "
            "sum_k e^(l_k) = e^m sum_k e^(l_k - m), so log sum_k e^(l_k) = m + log sum_k e^(l_k - m).")
_LOG_MORE = ("m = l.max(axis=-1, keepdims=True); return l - m - np.log(np.exp(l - m).sum(axis=-1, "
             "keepdims=True)).")


def _log_softmax_cases():
    """(l, text, hint for this input): ten logits per row, ordinary to extreme, then batches."""
    far = np.zeros(10)
    far[1] = -1000.0
    large = np.zeros(10)
    large[3] = 1000.0
    low = -1000.0 - 0.5 * np.arange(10)
    return [(_ORDINARY, f"l = {_ORDINARY_TEXT}", _LOG_P),
            (far, "l = [0, -1000, 0, 0, 0, 0, 0, 0, 0, 0]", _LOG_P),
            (large, "l = [0, 0, 0, 1000, 0, 0, 0, 0, 0, 0]", _LOG_SUM),
            (low, "l = [-1000, -1000.5, -1001, ..., -1004.5]", _LOG_SUM)] + \
           [(l, text, "on a batch, each row is one image: its own largest logit, its own sum (axis=-1, "
                      "keepdims=True).") for l, text in _softmax_batches()]


@exercise("log_softmax", reference=lambda: model.log_softmax)
def check_log_softmax(fn):
    """fn(l) -> log softmax(l), exact and finite for any finite logits.  l: (10,) or (n, 10) -> same shape."""
    name = "log_softmax"
    n_checks = 0
    for l, text, hint in _log_softmax_cases():
        call = f"log_softmax(l) with {text}"
        got = _as_array(name, _call_logits(name, fn, l, call), call)
        expected = model.log_softmax(l)
        if got.shape == expected.shape and not np.all(np.isfinite(got)):
            bad = "nan" if np.any(np.isnan(got)) else ("-inf" if np.any(got == -np.inf) else "inf")
            if bad == "-inf" and np.all(np.isfinite(got[np.isfinite(expected) & (expected > -700)])):
                _fail(name, f"{call} returned -inf where log p is about {_fmt(expected[got == -np.inf].max(), 1)}: "
                            "that is the log of a probability that rounded to 0.", _LOG_P, _LOG_MORE)
            _fail(name, f"{call} returned {bad} in {int((~np.isfinite(got)).sum())} of its {got.size} entries.",
                  hint, _LOG_MORE)
        if got.shape == () and l.ndim == 1:
            _fail(name, f"{call} returned a single number; expected log p_j for each of the ten logits, shape (10,).",
                  "log_softmax gives the log of every probability; the loss, one number, comes after it.")
        if got.shape == expected.shape and l.ndim == 2 and np.isclose(np.exp(got).sum(), 1):
            _fail(name, f"{call}: exp() of your values sums to 1 over the whole batch, but it should over each "
                        f"row (row sums: {_fmt(np.exp(got).sum(axis=-1))}).",
                  "on a batch, each row is one image: its own largest logit, its own sum.",
                  "axis=-1, keepdims=True in both the max and the sum.")
        if got.shape == expected.shape:
            p = np.exp(expected)
            wrong = [(p, "returned the probabilities p, not their log", _LOG_P),
                     (-expected, "has the wrong sign: log p is at most 0, since p is at most 1",
                      "log p_j = l_j - log sum_k e^(l_k); -log p is the loss, not log p."),
                     (expected / np.log(10), "used log10; the loss and its formulas use the natural log",
                      "np.log is the natural log, the inverse of np.exp."),
                     (expected / np.log(2), "used log2; the loss and its formulas use the natural log",
                      "np.log is the natural log, the inverse of np.exp.")]
            for w, why, h in wrong:
                if np.allclose(got, w, rtol=1e-6, atol=1e-9):
                    _fail(name, f"{call} {why}.", h, _LOG_MORE)
            off = got - expected
            row_off = off - off.mean(axis=-1, keepdims=True)
            if np.allclose(row_off, 0, atol=1e-6) and not np.allclose(off, 0, atol=1e-6):
                sums = np.exp(got).sum(axis=-1)
                _fail(name, f"{call}: every entry of a row is off by the same number ({_fmt(off.mean(axis=-1), 4)}): "
                            f"exp() of your values sums to {_fmt(sums, 4)}, not 1.",
                      "if you subtract the largest logit m inside the sum, add it back outside: "
                      "log sum_k e^(l_k) = m + log sum_k e^(l_k - m).", _LOG_MORE)
            if l.ndim == 1 and l.min() == -1000 and l.max() == 0 and got[1] > expected[1] + 1:
                _fail(name, f"{call} gave log p_1 = {_fmt(got[1], 2)}; exactly it is -1000 - log 9 = "
                            f"{_fmt(expected[1], 2)}. That is the log of a p that was clipped, or rounded to 0, "
                            "before the log: once p is formed, its small entries are lost.", _LOG_P, _LOG_MORE)
        _compare(name, got, expected, call=call, hint=hint, more=_LOG_MORE, rtol=1e-6, atol=1e-6)
        n_checks += 1
    return n_checks


# --- notebook 05: gradients of the loss -----------------------------------------

def _gradient_inputs(n=5):
    rng = _rng()
    x = rng.uniform(0, 1, size=(n, 784))
    W = rng.normal(0, 0.05, size=(784, 10))
    b = rng.normal(0, 0.5, size=10)
    y = np.array([3, 0, 7, 9, 1, 4, 2, 8, 5, 6][:n])
    return x, y, W, b


def _central_difference(f, a, h):
    from .gradcheck import numerical_gradient
    return numerical_gradient(lambda: f(a), a, h)


def _numerical_gradient_reference(f, a, h=1e-5):
    return _central_difference(f, np.array(a, dtype=np.float64), h)


def _call_in_place(name, fn, f, a, *rest, call, hint):
    """fn(f, work, *rest) on a copy ``work`` of the array a, which fn may nudge but must put back."""
    work = a.copy()
    got = _call(name, lambda f_, a_, *r: fn(f_, work, *r), f, a, *rest, call=call, hint=hint)
    # a[i] += h; a[i] -= 2 * h; a[i] += h  may leave a rounding error of 1e-17: harmless.
    if not np.allclose(work, a, rtol=0, atol=1e-12):
        i = np.unravel_index(int(np.argmax(np.abs(work - a))), a.shape)
        _fail(name, f"{call} left the array a changed: a{list(map(int, i))} was {_fmt(a[i], 6)} before and "
                    f"{_fmt(work[i], 6)} after. Whoever calls your function would find their weights moved.",
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
    a = _rng().uniform(-1, 1, size=(3, 4))
    h = 0.1
    call = "numerical_gradient(f, a, h=0.1) with f(a) = sum(a**3) and a of shape (3, 4)"
    got = _as_array(name, _call_in_place(name, fn, lambda a: float(np.sum(a ** 3)), a, h, call=call,
                                         hint=hint), call)
    exact = 3 * a ** 2
    expected = exact + h ** 2
    if got.shape != a.shape:
        _fail(name, f"{call} returned shape {got.shape}, expected {a.shape}: one partial derivative per entry of a.",
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
                _fail(name, f"{call}: your estimate {why}.", hint_, more)
    _compare(name, got, expected, call=call, hint="for each index i: f(a with a[i] + h), f(a with a[i] - h), "
             "their difference over 2h.", rtol=1e-6, atol=1e-8)

    # 2. A function that mixes the entries, with the default h: the gradient of log sum exp(a) is softmax(a).
    a = np.array([0.5, -1.0, 2.0, 0.0, 1.5, -0.3])
    call = "numerical_gradient(f, a) with f(a) = log(sum(exp(a))) and a of shape (6,), default h"
    lse = lambda a: float(np.log(np.sum(np.exp(a))))                           # noqa: E731
    got = _as_array(name, _call_in_place(name, fn, lse, a, call=call, hint=hint), call)
    expected = model.softmax(a)
    if got.shape == a.shape and np.allclose(got, 1.0):
        _fail(name, f"{call} returned 1 for every entry: f was given a single number, not the whole array.",
              "f(a) needs the whole array a, with entry i nudged: f(a[i] + h) only looks at one number.",
              "old = a[i]; a[i] = old + h; f_plus = f(a); ...")
    if got.shape == a.shape and np.allclose(got, expected, rtol=1e-2) and not np.allclose(got, expected, rtol=1e-6, atol=1e-9):
        _fail(name, f"{call} is close, but not close enough: off by {np.abs(got - expected).max():.1g}.",
              "look at the default value of h: the error plot above shows which h makes central "
              "differences most accurate in float64.", "def numerical_gradient(f, a, h=1e-5):")
    _compare(name, got, expected, call=call, rtol=1e-6, atol=1e-9)
    return 2


def _example_advice(error):
    """Hints for the exceptions example_gradients raises most often (see _explained_call)."""
    advice = _unpack_advice(error)
    text = str(error)
    if advice is None and "broadcast" in text and "(784,)" in text and "(10,)" in text:
        advice = ("x has 784 entries and p - y has 10: dW pairs every pixel i with every class j, "
                  "dW[i, j] = x_i (p_j - y_j), a 784 x 10 table.", "np.outer(x, p - y)")
    return advice


@exercise("example_gradients", reference=lambda: lambda x, y, W, b: model.gradients(x, y, W, b)[:2])
def check_example_gradients(fn):
    """fn(x, y, W, b) -> (dW: (784, 10), db: (10,)) for one example.  x: (784,); y: its class, 0..9."""
    name = "example_gradients"
    X, labels, W, b = _gradient_inputs(2)
    chain = "dL/dW_ij = (dL/dl_j) (dl_j/dW_ij) = (p_j - y_j) x_i: pixel i times class j's share of the error."
    for x, y in zip(X, labels.tolist()):                   # two examples, of classes 3 and 0
        call = f"example_gradients(x, y, W, b) with x of shape (784,) and y = {y}"
        got = _explained_call(name, fn, x, y, W, b, call=call, explain=_example_advice)
        if not (isinstance(got, (tuple, list)) and len(got) == 2):
            _fail(name, f"{call} returned {type(got).__name__}"
                  f"{f' of {len(got)} values' if isinstance(got, (tuple, list)) else ''}; expected a pair (dW, db).",
                  "end with `return dW, db`.")
        gW, gb = _as_array(name, got[0], call + " (dW)"), _as_array(name, got[1], call + " (db)")
        if gW.shape == (10,) and gb.shape == (784, 10):
            _fail(name, f"{call} returned (db, dW); expected (dW, db), in that order.", "return dW, db")
        dW, db, _ = model.gradients(x, y, W, b)
        p = model.softmax(model.logits(x, W, b))
        y_hot = model.as_one_hot(y, 10)
        if gW.shape == (10, 784):
            _fail(name, f"{call} returned dW of shape (10, 784); expected (784, 10), the shape of W.",
                  "dW[i, j] belongs to W[i, j]: the pixel i comes first, the class j second.",
                  "np.outer(x, p - y) has shape (784, 10); np.outer(p - y, x) is its transpose.")
        if gW.shape in ((784,), (10,)):
            _fail(name, f"{call} returned dW of shape {gW.shape}; expected (784, 10), one number per weight.",
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
                    _fail(name, f"{call}: dW {why}.", nudge, more)
        _compare(name, gW, dW, call=call + " (dW)", hint="follow the chain: which logits does W[i, j] change, and "
                 "by how much per unit?", more=chain)
        if gb.shape == ():
            _fail(name, f"{call} returned db as a single number; expected shape (10,), like b.",
                  "each bias b_j gets its own derivative.", "db = p - y")
        if gb.shape == db.shape and np.all(np.isfinite(gb)):
            for w, why, nudge, more in [(-db, "has the wrong sign", "dL/dl = p - y, predicted minus true.", "db = p - y"),
                                        (p, "ignores the label", "subtract the one-hot label from p.", "db = p - y"),
                                        (p - y, raw, *raw_hint)]:
                if np.allclose(gb, w, rtol=1e-6, atol=1e-10):
                    _fail(name, f"{call}: db {why}.", nudge, more)
        _compare(name, gb, db, call=call + " (db)", hint="b_j moves the logit l_j by exactly as much as b_j "
                 "changes, and no other logit.", more="dl_j/db_j = 1, so dL/db_j = dL/dl_j: db = p - y")
    return 2


# --- notebook 06: gradient descent ----------------------------------------------

def _descent():
    from . import descent_widget
    return descent_widget


@exercise("gradient_descent", reference=lambda: _descent().gradient_descent)
def check_gradient_descent(fn):
    """fn(grad, w0, lr, steps) -> the path, (steps + 1, *w0.shape): row 0 is w0, row t the point after t steps."""
    name = "gradient_descent"
    descend = _descent().gradient_descent
    bowl = _descent().BOWLS["2-D"]
    hint = ("fn(grad, w0, lr, steps) works for any function grad and any w0: compute the gradient at the "
            "current point as grad(w).")

    def run(grad, w0, lr, steps, call):
        work = w0.copy()
        got = _call(name, lambda grad, w0_, lr, steps: fn(grad, work, lr, steps), grad, w0, lr, steps,
                    call=call, hint=hint)
        if not np.array_equal(work, w0):
            _fail(name, f"{call} changed w0 (it is now {_fmt(work)}): whoever called your function lost "
                        "their starting point.",
                  "`w = w0` does not copy: w and w0 are two names for one array, so w -= ... changes w0 "
                  "too. w = w - lr * grad(w) makes a new array instead.",
                  "w = w0.copy() at the start, or w = w - lr * grad(w) in the loop")
        return _as_array(name, got, call)

    # 1. The 2-D bowl of the notebook.
    w0, lr, steps = np.array(bowl.start), 0.15, 6
    call = f"gradient_descent(bowl.grad, w0, lr=0.15, steps=6) on the 2-D bowl, w0 = {_fmt(w0)}"
    got = run(bowl.grad, w0, lr, steps, call)
    expected = descend(bowl.grad, w0, lr, steps)
    shape_more = "path = [w0]; then in the loop: w = w - lr * grad(w); path.append(w); at the end return np.array(path)"
    if got.shape == w0.shape:
        _fail(name, f"{call} returned one point, shape {got.shape}: the end of the path? Expected the whole "
                    f"path, shape {expected.shape}.",
              "keep every point: row 0 is w0, row t the point after t steps.", shape_more)
    if got.shape == (steps, 2):
        why = ("starts after the first step: row 0 must be w0 itself" if np.allclose(got, expected[1:])
               else "has 6 rows; with w0 and one row per step it has 7")
        _fail(name, f"{call}: your path {why}.", "the path holds w0 and then one point per step: steps + 1 rows.",
              shape_more)
    if got.shape == (steps + 2, 2):
        _fail(name, f"{call}: your path has {steps + 2} rows; with w0 and one row per step it has {steps + 1}. "
                    "One step too many?", "range(steps) runs the loop steps times.", shape_more)
    if got.shape == expected.shape and np.all(np.isfinite(got)) and not np.allclose(got, expected):
        if np.allclose(got, got[-1]) and np.allclose(got[-1], expected[-1]):
            _fail(name, f"{call}: every row of your path is the last point.",
                  "w -= ... changes the array w in place, and path.append(w) stores that same array each "
                  "time, not a copy of it: all rows end up as the last w.",
                  "write w = w - lr * grad(w), which makes a new array each step (or append w.copy())")
        for w, why, nudge, more in [
                (descend(lambda w: -bowl.grad(w), w0, lr, steps), "climbs up the bowl instead of down",
                 "a step goes against the gradient.", "w = w - lr * grad(w)"),
                (descend(bowl.grad, w0, 1.0, steps), "ignores the learning rate",
                 "each step is lr times the gradient.", "w = w - lr * grad(w)"),
                (w0 - lr * np.arange(steps + 1)[:, None] * bowl.grad(w0), "uses the gradient at w0 for every step",
                 "the gradient changes as w moves: compute it again at the current point, every step.",
                 "w = w - lr * grad(w), with the w of this step")]:
            if np.allclose(got, w):
                _fail(name, f"{call}: your path {why}.", nudge, more)
    _compare(name, got, expected, call=call, hint="row t + 1 = row t - lr * grad(row t).", more=shape_more)

    # 2. Another function and another shape: tanh(w) is the gradient of sum(log(cosh(w))).
    w0, lr, steps = np.array([1.5, -0.5, 3.0]), 0.5, 4
    call = "gradient_descent(np.tanh, w0, lr=0.5, steps=4) with w0 = [1.5, -0.5, 3] (a bowl with 3 weights)"
    _compare(name, run(np.tanh, w0, lr, steps, call), descend(np.tanh, w0, lr, steps), call=call, hint=hint)

    # 3. No steps at all: the path is w0 alone.
    call = "gradient_descent(bowl.grad, w0, lr=0.1, steps=0)"
    w0 = np.array(bowl.start)
    _compare(name, run(bowl.grad, w0, 0.1, 0, call), w0[None, :], call=call,
             hint="with steps = 0 the path is just w0: shape (1, 2).", more=shape_more)
    return 3


BOWL_STEPS, BOWL_GOAL = 20, 1e-3


@exercise("bowl_lr", reference=lambda: lambda: 2 / 11)
def check_bowl_lr(fn):
    """fn() -> a learning rate with which 20 steps on the 2-D bowl bring the loss below 1/1000 of its start."""
    name = "bowl_lr"
    call = "bowl_lr()"
    got = _as_array(name, _call(name, fn, call=call), call)
    if got.size != 1:
        _fail(name, f"{call} returned {got.size} numbers (shape {got.shape}); expected one learning rate.",
              "return a single number, e.g. return 0.05.")
    lr = float(got.reshape(()))
    if not np.isfinite(lr) or lr <= 0:
        _fail(name, f"{call} returned {_fmt(lr)}; a learning rate must be a positive number.",
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
        _fail(name, f"{reached}: it {'diverges' if r2 < -1 else 'never settles'}. Along w₂ (curvature 10) each "
                    f"step lands {-r2:.3g} times as far on the other side of the bottom.",
              "the steep direction w₂ decides how large lr may be: move the lr slider until the zigzag "
              "across the valley stops growing.", "each step multiplies w₂ by 1 - 10 lr, which must stay "
              "above -1: lr < 0.2. " + balance)
    if not ratio < BOWL_GOAL:
        if abs(r1) >= abs(r2):
            _fail(name, f"{reached}. The slow one is w₁ (curvature 1): each step keeps {r1:.3g} of its distance "
                        "to the bottom.",
                  "the flat direction w₁ wants a larger lr. How large can lr go before the steep direction "
                  "w₂ zigzags too much?", balance)
        _fail(name, f"{reached}. The slow one is w₂ (curvature 10): it zigzags across the valley, keeping "
                    f"{-r2:.3g} of its distance each step.",
              "a slightly smaller lr calms the zigzag along w₂ without slowing w₁ much.", balance)
    return 2                                  # a positive number; the goal reached


@exercise("update_step", reference=lambda: _step_reference)
def check_update_step(fn):
    """fn(X, y, W, b, lr) -> (W_new, b_new): one gradient-descent step on the batch (X, y); W, b unchanged."""
    from .train import step

    name = "update_step"
    X, y, W, b = _gradient_inputs()
    lr = 0.5
    W1, b1, _ = step(X, y, W, b, lr)
    dW, db, _ = model.gradients(X, y, W, b)
    call = "update_step(X, y, W, b, lr=0.5) with X (5, 784), y = [3, 0, 7, 9, 1]"
    got = _explained_call(name, fn, X, y, W, b, lr, call=call, explain=_unpack_advice)
    if not (isinstance(got, (tuple, list)) and len(got) == 2):
        _fail(name, f"{call} returned {type(got).__name__}"
              f"{f' of {len(got)} values' if isinstance(got, (tuple, list)) else ''}; expected a pair (W_new, b_new).",
              "end with `return W_new, b_new`.")
    gW, gb = _as_array(name, got[0], call + " (W)"), _as_array(name, got[1], call + " (b)")
    if gW.shape == b.shape and gb.shape == W.shape:
        _fail(name, f"{call} returned (b_new, W_new); expected (W_new, b_new), in that order.", "return W_new, b_new")
    step_more = "W_new = W - lr * dW, with dW, db, _ = gradients(X, y, W, b)"
    if gW.shape == W.shape and np.all(np.isfinite(gW)):
        for w, why, nudge in [
                (W + lr * dW, "climbs up the loss instead of down", "a step goes against the gradient."),
                (W - dW, "ignores the learning rate", "the step is lr times the gradient."),
                (W, "is the old W", "return the W after the step."),
                (-lr * dW, "is the change, -lr * dW, not the new W", "add the change to W.")]:
            if np.allclose(gW, w, rtol=1e-6, atol=1e-10):
                _fail(name, f"{call}: the new W {why}.", nudge, step_more)
    _compare(name, gW, W1, call=call + " (W)", hint="W_new = W - lr * (dL/dW), with dL/dW from gradients(X, y, W, b).",
             more=step_more)
    if gb.shape == b.shape and np.allclose(gb, b, rtol=1e-6, atol=1e-10):
        _fail(name, f"{call}: the new b is the old b.", "the biases take a step too, with their own gradient db.",
              "b_new = b - lr * db")
    _compare(name, gb, b1, call=call + " (b)", hint="b_new = b - lr * (dL/db).", more="b_new = b - lr * db")
    return 2


# --- notebook 07: the batch gradient, looped and vectorised; an epoch of mini-batches ---

def _step_reference(x, y, W, b, lr):
    from .train import step
    return step(x, y, W, b, lr)[:2]


def _explained_call(name, fn, *args, call, explain):
    """``_call``, with a hint that fits the exception the learner's function raised.

    ``explain(error)`` returns (hint, more) for an exception it recognises, else None;
    then the generic message of ``_call`` stands.
    """
    try:
        return _call(name, fn, *args, call=call)
    except CheckFailed as failure:
        error = failure.__context__          # what the learner's function raised, if anything
        advice = None
        if isinstance(error, Exception) and not isinstance(error, (CheckFailed, NotImplementedError)):
            advice = explain(error)
        if advice:
            _fail(name, f"your function raised {type(error).__name__} on {call}: {error}", *advice)
        raise


def _python_loops(fn):
    """The Python loops in fn's source, [(what, line of the function)]; None if unreadable.

    Counts for, while, comprehensions, loops in disguise (np.vectorize, map, ...) and
    calls to a function whose name says it loops, or to mnistlib's ``gradients``.
    """
    import ast
    import textwrap
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError, IndentationError):
        return None
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.For, ast.AsyncFor)):
            found.append(("a for loop", node.lineno))
        elif isinstance(node, ast.While):
            found.append(("a while loop", node.lineno))
        elif isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            found.append(("a comprehension (a for loop in brackets)", node.lineno))
        elif isinstance(node, ast.Call):
            f = node.func
            called = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
            if called in ("vectorize", "apply_along_axis", "frompyfunc", "map") or "loop" in called:
                found.append((f"a call to {called}(), a loop in disguise", node.lineno))
            elif called == "gradients":
                found.append(("a call to mnistlib's gradients(), which does the whole job", node.lineno))
    return sorted(found, key=lambda item: item[1])


def _gradients_loop_reference(X, y, W, b):
    """The batch gradient as the mean of the n one-example gradients, one example at a time."""
    dW = np.zeros(W.shape, dtype=np.result_type(X, W))
    db = np.zeros(b.shape, dtype=dW.dtype)
    for x_m, y_m in zip(X, y):
        d = model.softmax(x_m @ W + b)
        d[y_m] -= 1                        # p - y, with y one-hot
        dW += np.outer(x_m, d)
        db += d
    return dW / len(X), db / len(X)


def _unpack_advice(error):
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


def _gradient_pair(name, fn, X, y, W, b, call):
    """Run fn(X, y, W, b) and check its (dW, db) against the gradients of the mean loss."""
    n = len(X)
    dW, db, _ = model.gradients(X, y, W, b)
    got = _explained_call(name, fn, X, y, W, b, call=call, explain=_unpack_advice)
    if not (isinstance(got, (tuple, list)) and len(got) == 2):
        _fail(name, f"{call} returned {type(got).__name__}; expected a pair (dW, db).", "end with `return dW, db`.")
    gW = _as_array(name, got[0], call + " (dW)")
    gb = _as_array(name, got[1], call + " (db)")
    p = model.softmax(model.logits(X, W, b))
    if gW.shape == (10, 784):
        _fail(name, f"{call} returned dW of shape (10, 784); expected (784, 10), the shape of W.",
              "each example's dW pairs every pixel (a row of W) with every class (a column): "
              "the pixels come first.", "np.outer(x, p - y) has shape (784, 10); np.outer(p - y, x) is its transpose.")
    if gW.shape == dW.shape and np.all(np.isfinite(gW)) and n > 1:
        first, last = model.gradients(X[0], y[0], W, b)[0], model.gradients(X[-1], y[-1], W, b)[0]
        for wrong, why, hint, more in [
                (n * dW, f"is {n} times too large: the sum of the example gradients, not their mean",
                 "the batch loss is the mean of the example losses, so its gradient is the mean too.",
                 "divide the sum by n = len(X) once, at the end."),
                (dW / n, f"is 1/{n} of the expected: divided by n twice (in the loop and at the end?)",
                 "divide by n once.", None),
                (-dW, "has the wrong sign", "the gradient of one example is x^T (p - y), not x^T (y - p).", None),
                (X.T @ p / n, "ignores the labels", "subtract the one-hot label y from p.", None),
                (X.T @ (p - y[:, None]) / n, "subtracts the label number y from every p_j",
                 "y must be one-hot: a row of ten numbers, 1 at the true class and 0 elsewhere.",
                 "np.eye(10)[y[m]] is the one-hot row of example m (or subtract 1 from p[y[m]] only)."),
                (last, "is the last example's gradient alone",
                 "add each example's gradient to a running sum instead of replacing it.",
                 "start with dW = np.zeros_like(W) and write dW += ... in the loop."),
                (first, "is the first example's gradient alone: did you return inside the loop?",
                 "return after the loop has gone through all the examples.", None),
                (last / n, "is the last example's gradient divided by n",
                 "add each example's gradient to a running sum (dW += ...) instead of replacing it.", None)]:
            if np.allclose(gW, wrong, rtol=1e-5, atol=1e-9):
                _fail(name, f"{call}: dW {why}{'' if why.endswith('?') else '.'}", hint, more)
    _compare(name, gW, dW, call=call + " (dW)",
             hint="dW is the mean over the examples of x^T (p - y), with y one-hot.")
    if gb.shape == db.shape and np.all(np.isfinite(gb)) and n > 1:
        for wrong, why in [(n * db, f"is {n} times too large: average over the examples, don't just add up"),
                           (-db, "has the wrong sign: each example contributes p - y"),
                           (p.mean(axis=0), "ignores the labels: subtract the one-hot y")]:
            if np.allclose(gb, wrong, rtol=1e-5, atol=1e-9):
                _fail(name, f"{call}: db {why}.", "db is the mean over the examples of p - y.")
    _compare(name, gb, db, call=call + " (db)", hint="db is the mean over the examples of p - y.")


def _gradient_cases():
    X, y, W, b = _gradient_inputs(5)
    return [(X, y, W, b, "(X, y, W, b) with a batch X of shape (5, 784)"),
            (X[:1], y[:1], W, b, "(X, y, W, b) with a batch of one, X of shape (1, 784)")]


@exercise("gradients_loop", reference=lambda: _gradients_loop_reference)
def check_gradients_loop(fn):
    """fn(X, y, W, b) -> (dW, db) of the mean loss, one example at a time.  X: (n, 784); y: (n,) labels."""
    name = "gradients_loop"
    for X, y, W, b, inputs in _gradient_cases():
        _gradient_pair(name, fn, X, y, W, b, f"gradients_loop{inputs}")
    loops = _python_loops(fn)
    if loops is not None:
        if not any(what.startswith(("a for", "a while", "a comprehension")) for what, _ in loops):
            _fail(name, "your function gives the right numbers, but without a loop over the examples. "
                        "This is the loop version; the next exercise is the one without a loop.",
                  "go through the examples one at a time, with a for loop.",
                  "for m in range(len(X)): add example m's gradients to running sums; divide by n at the end.")
        for what, line in loops:
            if "gradients()" in what:
                _fail(name, f"your function has {what} (line {line} of it). Compute each example's "
                            "gradient yourself, from its logits and softmax.",
                      "for one example x (a row): p = softmax(x @ W + b); its dW is the outer product of "
                      "x and p - y (y one-hot), its db is p - y.",
                      "inside the loop: d = softmax(X[m] @ W + b); d[y[m]] -= 1; dW += np.outer(X[m], d); db += d.")
    return 2


@exercise("gradients_vectorised", reference=lambda: lambda X, y, W, b: model.gradients(X, y, W, b)[:2])
def check_gradients_vectorised(fn):
    """fn(X, y, W, b) -> (dW, db) of the mean loss, without a Python loop.  X: (n, 784); y: (n,) labels."""
    name = "gradients_vectorised"
    for X, y, W, b, inputs in _gradient_cases():
        _gradient_pair(name, fn, X, y, W, b, f"gradients_vectorised{inputs}")
    loops = _python_loops(fn)
    for what, line in loops or []:
        if "gradients()" in what:
            _fail(name, f"your function has {what} (line {line} of it). Write the formula yourself.",
                  "start from the logits of the whole batch, X @ W + b, one row per example.")
    if loops:
        what, line = loops[0]
        _fail(name, f"your function gives the right numbers, but it has {what} (line {line} of it). "
                    "The point of this version is to hand the whole batch to numpy at once.",
              "your loop adds up n outer products, one per example. Stack the p - y of all the "
              "examples as the rows of one (n, 10) matrix D, as X stacks the x; write entry (i, j) "
              "of the sum and compare it with the definition of a matrix product.",
              "P = softmax(X @ W + b); D = P - as_one_hot(y, 10); dW = X.T @ D / len(X); "
              "db = D.mean(axis=0).")
    return 2


class _RecordingRng:
    """A seeded numpy Generator that remembers each random order or sample drawn from it,
    so that a check can replay the epoch that the learner's function made.

    ``draws`` holds, in order, the index array behind each draw (None for a draw
    that is not an order or a sample of indices).
    """

    def __init__(self, seed):
        self._rng = np.random.default_rng(seed)
        self.draws = []
        self.shuffled = False          # shuffle() reorders an array in place

    def _order(self, n):
        order = self._rng.permutation(n)
        self.draws.append(order.copy())
        return order

    def permutation(self, x, axis=0):
        if isinstance(x, (int, np.integer)):
            return self._order(x)
        return np.asarray(x)[self._order(len(x))]

    def shuffle(self, x, axis=0):
        self.shuffled = True
        order = self._order(len(x))
        if isinstance(x, list):
            x[:] = [x[i] for i in order]
        else:
            x[...] = np.asarray(x)[order]

    def permuted(self, x, axis=None, out=None):
        x = np.asarray(x)
        if x.ndim != 1 or out is not None:
            return self.__getattr__("permuted")(x, axis=axis, out=out)
        return x[self._order(len(x))]

    def choice(self, a, size=None, replace=True, p=None, axis=0, shuffle=True):
        whole = isinstance(a, (int, np.integer))
        idx = self._rng.choice(a if whole else len(a), size=size, replace=replace, p=p, shuffle=shuffle)
        self.draws.append(np.atleast_1d(idx).copy())
        return idx if whole else np.asarray(a)[idx]

    def integers(self, *args, **kwargs):
        out = self._rng.integers(*args, **kwargs)
        self.draws.append(np.atleast_1d(out).copy())
        return out

    def __getattr__(self, attr):
        method = getattr(self._rng, attr)
        if not callable(method):
            return method

        def drawn(*args, **kwargs):
            self.draws.append(None)
            return method(*args, **kwargs)
        return drawn


def _epoch_reference(X, y, W, b, lr, batch_size, rng):
    order = rng.permutation(len(X))
    for start in range(0, len(X), batch_size):
        rows = order[start:start + batch_size]
        dW, db, _ = model.gradients(X[rows], y[rows], W, b)
        W, b = W - lr * dW, b - lr * db
    return W, b


def _replay(X, y, W, b, lr, batches, update_b=True):
    """W, b after one update per batch; batches: [(rows of X, rows of y)]."""
    for rx, ry in batches:
        dW, db, _ = model.gradients(X[rx], y[ry], W, b)
        W, b = W - lr * dW, (b - lr * db if update_b else b)
    return W, b


def _epoch_inputs(n):
    rng = _rng()
    X = rng.uniform(0, 1, size=(n, 784))
    W = rng.normal(0, 0.05, size=(784, 10))
    b = rng.normal(0, 0.5, size=10)
    y = (3 + 7 * np.arange(n)) % 10
    return X, y, W, b


def _partitions(order, bs):
    """The ways of cutting ``order`` into batches of at most ``bs`` that the check accepts:
    slices of bs from the start (the last one shorter), or np.array_split into as few
    nearly equal batches as that allows."""
    n = len(order)
    return [[(r, r) for r in np.array_split(order, range(bs, n, bs))],
            [(r, r) for r in np.array_split(order, -(-n // bs))]]


def _epoch_mistakes(X, y, W, b, lr, bs, orders):
    """[(W, b, what went wrong, hint, more)]: epochs as learners get them wrong.

    ``orders`` are the random orders the learner's function drew (the first one is
    the epoch's order).
    """
    n = len(X)
    o = orders[0] if orders else np.arange(n)
    slices = lambda rows: [rows[s:s + bs] for s in range(0, len(rows), bs)]   # noqa: E731
    same = lambda rows: [(r, r) for r in slices(rows)]                         # noqa: E731
    grads = [model.gradients(X[r], y[r], W, b)[:2] for r in slices(o)]
    take = "take each batch's rows from the order: rows = order[start:start + batch_size], then X[rows], y[rows]."
    mistakes = []
    if orders:
        mistakes.append((*_replay(X, y, W, b, lr, same(np.arange(n))),
                         "drew a random order but went through X in its original order",
                         "take each batch's rows from the order you drew, not from X as it is.", take))
    else:
        mistakes.append((*_replay(X, y, W, b, lr, same(np.arange(n))),
                         "did not shuffle: it went through X in its original order",
                         "draw a random order of the n examples from rng, the generator your function is given.",
                         "order = rng.permutation(len(X)) at the start of the epoch; then " + take))
    mistakes.append((*_replay(X, y, W, b, lr, [(r, np.arange(n)[s:s + bs]) for s, r in
                                               zip(range(0, n, bs), slices(o))]),
                     "shuffled the images but not their labels, so most images were trained with "
                     "another image's label", "reorder X and y with the same order.", take))
    if len(orders) >= 2:
        mistakes.append((*_replay(X, y, W, b, lr, list(zip(slices(orders[0]), slices(orders[1])))),
                         "shuffled the images and the labels with two different random orders, so most "
                         "images were trained with another image's label",
                         "draw one order and use it for both X and y.", take))
    for k in range(bs, n, bs):
        if k == bs:
            what, hint = ("made only the first update: is the `return` inside the loop?",
                          "return W and b after the loop, once every batch has made its update.")
        else:
            what = f"stopped after {k} of the {n} examples: " + (
                "it skipped the last, shorter batch" if n - k < bs else "it stopped one batch early")
            hint = (f"the batches start at 0, {bs}, {2 * bs}, ... and go on while the start is below "
                    f"n = {n}; the last batch may be shorter.")
        mistakes.append((*_replay(X, y, W, b, lr, same(o[:k])), what, hint,
                         "for start in range(0, len(X), batch_size): rows = order[start:start + batch_size]"))
    mistakes.append((*_replay(X, y, W, b, lr, [(o, o)]), f"made a single update with all {n} examples",
                     "one update per batch of batch_size examples.", None))
    mistakes.append((*_replay(X, y, W, b, lr, [(o[i:i + 1], o[i:i + 1]) for i in range(n)]),
                     "made one update per example, not per batch",
                     f"take batch_size = {bs} examples at a time, and make one update with their mean gradient.",
                     "rows = order[start:start + batch_size]; dW, db, _ = gradients(X[rows], y[rows], W, b)"))
    k = -(-n // bs)
    if n // bs != k:
        mistakes.append((*_replay(X, y, W, b, lr, [(r, r) for r in np.array_split(o, n // bs)]),
                         f"made {n // bs} batches of more than batch_size = {bs} examples",
                         f"{n} examples in batches of at most {bs} make {k} batches.",
                         f"np.array_split(order, {k}), or slices order[start:start + batch_size] "
                         "for start in range(0, n, batch_size)."))
    sum_dW, sum_db = sum(g[0] for g in grads), sum(g[1] for g in grads)
    mistakes.append((W - lr * sum_dW, b - lr * sum_db,
                     "took every batch's gradient at the W it started with, not at the W after the "
                     "previous update", "compute each batch's gradient with the current W and b, "
                     "and update them before the next batch.", None))
    mistakes.append((W - lr * sum_dW / len(grads), b - lr * sum_db / len(grads),
                     "made one update for the whole epoch, with the average of the batch gradients",
                     "update W and b after every batch, inside the loop.", None))
    mistakes.append((W - lr * grads[-1][0], b - lr * grads[-1][1],
                     "started every update again from the W it was given, so only the last batch counts",
                     "keep each update, so that the next batch starts from it.",
                     "W = W - lr * dW (not W_new = W - lr * dW, which leaves W as it was)."))
    mistakes.append((*_replay(X, y, W, b, lr, same(o), update_b=False), "updated W but not b",
                     "b gets its own update, in the same loop as W.", "b = b - lr * db"))
    return mistakes


def _empty_batch_advice(n, bs):
    def explain(error):
        if "empty" in str(error) or "(0, " in str(error):      # a batch of shape (0, 784)
            return (f"one of your batches came out empty. With n = {n} and batch_size = {bs} the "
                    f"batches start at {', '.join(str(s) for s in range(0, n, bs))}: does your loop also "
                    f"start one at {n}, or does the end of your slice not move with its start?",
                    "for start in range(0, len(X), batch_size): rows = order[start:start + batch_size]")
        if "examples but y has" in str(error) or "labels" in str(error):
            return ("a batch of images and its labels must be the same rows: X[rows] and y[rows].", None)
        return _unpack_advice(error)
    return explain


@exercise("minibatch_epoch", reference=lambda: _epoch_reference)
def check_minibatch_epoch(fn):
    """fn(X, y, W, b, lr, batch_size, rng) -> (W, b) after one epoch: one pass over X in a
    random order drawn from rng, one update per batch of batch_size (the last may be shorter)."""
    name = "minibatch_epoch"
    lr = 0.5
    # Batches of 3: 8 examples make 3, 3, 2; 9 make 3, 3, 3; 7 make 3, 3, 1 (np.array_split
    # into as few batches cuts 7 as 3, 2, 2, which the check accepts as well).
    for n, bs in [(8, 3), (9, 3), (7, 3)]:
        X, y, W, b = _epoch_inputs(n)
        rng = _RecordingRng(7)
        sizes = ", ".join(str(len(r)) for r in np.array_split(np.arange(n), range(bs, n, bs)))
        call = (f"minibatch_epoch(X, y, W, b, lr=0.5, batch_size={bs}, rng) with {n} examples "
                f"(batches of {sizes})")
        try:
            got = _explained_call(name, fn, X, y, W, b, lr, bs, rng, call=call,
                                  explain=_empty_batch_advice(n, bs))
        except CheckFailed as failure:
            if "changed its input" in str(failure) and rng.shuffled:
                _fail(name, f"{call}: your function shuffled an array it was given in place: rng.shuffle "
                            "reorders the caller's own X or y.",
                      "draw a random order of the indices instead, and index with it: X[order] is a new array.",
                      "order = rng.permutation(len(X)), then rows = order[start:start + batch_size].")
            raise
        if not (isinstance(got, (tuple, list)) and len(got) == 2):
            _fail(name, f"{call} returned {type(got).__name__}; expected a pair (W, b).", "end with `return W, b`.")
        gW = _as_array(name, got[0], call + " (W)")
        gb = _as_array(name, got[1], call + " (b)")
        if gW.shape != W.shape or gb.shape != b.shape:
            _fail(name, f"{call} returned W of shape {gW.shape} and b of shape {gb.shape}; expected "
                        f"{W.shape} and {b.shape}.", "return the updated W and b, in that order.")
        if not (np.all(np.isfinite(gW)) and np.all(np.isfinite(gb))):
            _fail(name, f"{call} returned W or b with nan or inf in it.",
                  "did a batch come out empty? The mean of no examples is 0/0 = nan. Print the rows of "
                  "each batch.", "for start in range(0, len(X), batch_size): rows = order[start:start + batch_size]")
        close = lambda a, e: np.allclose(a, e, rtol=1e-6, atol=1e-9)              # noqa: E731
        orders = [d for d in rng.draws
                  if d is not None and d.shape == (n,) and np.array_equal(np.sort(d), np.arange(n))]
        if any(close(gW, eW) and close(gb, eb) for eW, eb in
               (_replay(X, y, W, b, lr, batches) for o in orders for batches in _partitions(o, bs))):
            continue
        for eW, eb, why, hint, more in _epoch_mistakes(X, y, W, b, lr, bs, orders):
            if close(gW, eW) and close(gb, eb):
                _fail(name, f"{call}: your epoch {why}{'' if why.endswith('?') else '.'}", hint, more)
        if len(rng.draws) > 1:
            _fail(name, f"{call}: your function drew {len(rng.draws)} random orders or samples in one epoch.",
                  "an epoch goes through every example exactly once: draw one random order at the start, "
                  "and take the batches from it one after the other.",
                  "order = rng.permutation(len(X)) before the loop; rows = order[start:start + batch_size] in it.")
        if not rng.draws:
            _fail(name, f"{call}: your function did not draw its order from rng, the generator it is given.",
                  "shuffle with rng (rng.permutation), not np.random: then runs repeat, and the check "
                  "can replay your epoch.")
        expected = _replay(X, y, W, b, lr, _partitions(orders[0], bs)[0]) if orders else \
            _epoch_reference(X, y, W, b, lr, bs, np.random.default_rng(7))
        hint = ("for each batch: dW, db from the batch's images and labels at the current W and b; "
                "then W = W - lr * dW and b = b - lr * db.")
        _compare(name, gW, expected[0], call=call + " (W)", hint=hint)
        _compare(name, gb, expected[1], call=call + " (b)", hint=hint)
    return 3


# --- notebook 08: choosing a recipe on validation; the confusion matrix ----------

# The candidates check_choose_recipe trains, on 300 images of the bundled subset,
# scored on 1000 others. Chosen so that each usual mistake picks a different one:
# the best on validation (index 2) is neither the first, the last, the worst on
# validation (3), nor the best on the training images (1, which memorises them).
_RECIPE_GRID = (
    {"lr": 0.5, "epochs": 10},
    {"lr": 2.0, "epochs": 100},
    {"lr": 0.5, "epochs": 100, "weight_decay": 0.01},
    {"lr": 0.02, "epochs": 2},
    {"lr": 0.5, "epochs": 30, "schedule": "linear"},
)


@functools.lru_cache(maxsize=1)
def _recipe_data():
    """300 training and 1000 validation images of the bundled subset (none of its test images)."""
    from .data import SUBSET_PATH
    with np.load(SUBSET_PATH) as npz:
        x = np.divide(npz["x_train"].reshape(-1, 784), 255, dtype=np.float32)
        y = npz["y_train"].astype(np.int64)
    arrays = (x[:300], y[:300], x[2000:3000], y[2000:3000])
    for a in arrays:
        a.flags.writeable = False          # shared by every run of the check
    return arrays


@functools.lru_cache(maxsize=1)
def _recipe_scores():
    """(train_accs, val_accs): the accuracy of each candidate of _RECIPE_GRID, trained by train()."""
    from .train import train
    x_tr, y_tr, x_va, y_va = _recipe_data()
    train_accs, val_accs = [], []
    for settings in _RECIPE_GRID:
        r = train(x_tr, y_tr, **settings, evaluate=False)
        train_accs.append(model.accuracy(x_tr, y_tr, r.W, r.b))
        val_accs.append(model.accuracy(x_va, y_va, r.W, r.b))
    return np.array(train_accs), np.array(val_accs)


class _Touched(Exception):
    """A sealed variable was used by the learner's function."""


class _Seal:
    """Stands in for one of the notebook's variables while a check runs the learner's function.

    Any use (an attribute such as .x_test, an index, len, arithmetic, numpy, printing)
    is logged and raises, so the check knows the function reached for it.
    """

    __slots__ = ("_seal_name", "_seal_log")

    def __init__(self, name, log):
        object.__setattr__(self, "_seal_name", name)
        object.__setattr__(self, "_seal_log", log)

    def _touch(self, *args, **kwargs):
        name = object.__getattribute__(self, "_seal_name")
        object.__getattribute__(self, "_seal_log").append(name)
        raise _Touched(f"{name} may not be used here")

    def __getattr__(self, attr):
        return object.__getattribute__(self, "_touch")()


for _dunder in ("getitem setitem delitem iter len contains reversed call bool int float index complex "
                "repr str format hash eq ne lt le gt ge neg pos abs invert add radd sub rsub mul rmul "
                "truediv rtruediv floordiv rfloordiv mod rmod pow rpow matmul rmatmul and rand or ror "
                "array array_ufunc array_function setattr").split():
    setattr(_Seal, f"__{_dunder}__", _Seal._touch)


def _holds_data(value, depth=2):
    """Is ``value`` an array, or a container or object holding one (two levels deep)?"""
    if isinstance(value, np.ndarray):
        return True
    if depth == 0 or isinstance(value, (str, bytes, type, _Seal)) or inspect.ismodule(value) or callable(value):
        return False
    if isinstance(value, dict):
        items = list(value.values())
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        items = list(getattr(value, "__dict__", {}).values())
    return any(_holds_data(v, depth - 1) for v in items[:100])


class _Sealer:
    """While active, every variable the learner's function could read data from is a _Seal.

    That is: the globals of the function's notebook (or module) that hold arrays, its
    default arguments, the variables it closes over, and ``mnistlib.data.load_mnist``.
    ``touched`` lists the names of those the function used; ``what(name)`` describes
    one for a message, and says whether it was (or held) the test set. Everything is
    put back on exit, even after an error.
    """

    def __init__(self, fn):
        self.touched, self._undo, self._what, self._tests = [], [], {}, []
        self.fn = inspect.unwrap(getattr(fn, "func", fn))      # functools.partial and wraps

    def what(self, name):
        """(description, is_test) of a sealed name, e.g. ("the notebook's variable x_val", False)."""
        return self._what[name]

    def _holds_test(self, name, value):
        if "test" in name.lower() or "load_mnist" in name:
            return True
        if isinstance(value, np.ndarray):
            return any(np.may_share_memory(value, t) for t in self._tests)
        return any(isinstance(getattr(value, a, None), np.ndarray) for a in ("x_test", "y_test"))

    def _seal(self, name, value, description, undo):
        self._what[name] = (description, self._holds_test(name, value))
        self._undo.append(undo)
        return _Seal(name, self.touched)

    def __enter__(self):
        from . import data
        fn = self.fn
        g = getattr(fn, "__globals__", None)
        if not isinstance(g, dict) or str(g.get("__name__", "")).startswith("mnistlib"):
            g = {}                                 # mnistlib's own functions read no notebook data
        holders = {k: v for k, v in g.items()
                   if not (k.startswith("__") and k.endswith("__")) and _holds_data(v)}
        # The test arrays, wherever they sit (data.x_test), so that copies of them are recognised.
        self._tests = [getattr(v, a) for v in holders.values() if not isinstance(v, np.ndarray)
                       for a in ("x_test", "y_test") if isinstance(getattr(v, a, None), np.ndarray)]
        for k, v in holders.items():
            g[k] = self._seal(k, v, f"the notebook's variable {k}", functools.partial(g.__setitem__, k, v))
        for k, v in list(g.items()):
            if v is data.load_mnist:
                g[k] = self._seal(f"{k}()", v, f"{k}()", functools.partial(g.__setitem__, k, v))
        data.load_mnist = self._seal("load_mnist()", None, "load_mnist()",
                                     functools.partial(setattr, data, "load_mnist", data.load_mnist))
        code = getattr(fn, "__code__", None)
        defaults = getattr(fn, "__defaults__", None) or ()
        if code and any(_holds_data(d) for d in defaults):
            names = code.co_varnames[:code.co_argcount][-len(defaults):]
            undo = functools.partial(setattr, fn, "__defaults__", defaults)
            fn.__defaults__ = tuple(self._seal(n, d, f"the default value of {n}", undo) if _holds_data(d) else d
                                    for n, d in zip(names, defaults))
        kwdefaults = getattr(fn, "__kwdefaults__", None) or {}
        if any(_holds_data(d) for d in kwdefaults.values()):
            undo = functools.partial(setattr, fn, "__kwdefaults__", kwdefaults)
            fn.__kwdefaults__ = {k: self._seal(k, d, f"the default value of {k}", undo) if _holds_data(d) else d
                                 for k, d in kwdefaults.items()}
        for k, cell in zip(code.co_freevars if code else (), getattr(fn, "__closure__", None) or ()):
            try:
                v = cell.cell_contents
            except ValueError:                  # an empty cell
                continue
            if _holds_data(v):
                cell.cell_contents = self._seal(k, v, f"{k}, from the function around it",
                                                functools.partial(setattr, cell, "cell_contents", v))
        return self

    def __exit__(self, *exc):
        for undo in reversed(self._undo):
            undo()
        self._undo.clear()
        return False


@exercise("choose_recipe", reference=lambda: _evaluate().choose_recipe)
def check_choose_recipe(fn):
    """fn(grid, x_train, y_train, x_val, y_val) -> (best, val_accs): train each candidate of
    grid on the training data, measure it on the validation data, return the best and all scores."""
    name = "choose_recipe"
    x_tr, y_tr, x_va, y_va = _recipe_data()
    train_accs, val_accs = _recipe_scores()
    grid = [dict(s) for s in _RECIPE_GRID]
    call = ("choose_recipe(grid, x_train, y_train, x_val, y_val) with 5 candidates, "
            "300 training and 1000 validation images")
    score_hint = ("for each settings dict: train on (x_train, y_train) with exactly those settings, "
                  "then measure the accuracy of that model on (x_val, y_val).")
    score_more = ("result = train(x_train, y_train, **settings); "
                  "val_accs.append(accuracy(x_val, y_val, result.W, result.b))")
    sealer, got = _Sealer(fn), None
    try:
        with sealer:
            got = _call(name, fn, grid, x_tr, y_tr, x_va, y_va, call=call, hint=score_hint, more=score_more)
    except CheckFailed:
        if not sealer.touched:
            raise
    returned = list(got) if isinstance(got, (tuple, list)) else [got]
    sealer.touched += [object.__getattribute__(v, "_seal_name") for v in returned if isinstance(v, _Seal)]
    if sealer.touched:
        used, is_test = sealer.what(sealer.touched[0])
        if is_test:
            _fail(name, f"your function used the test set ({used}). A choice made by looking at the test set "
                        "makes the test accuracy an overestimate: it no longer measures images the choice "
                        "never saw.",
                  "use only the function's arguments: (x_train, y_train) to train, (x_val, y_val) to measure.",
                  "measure each model with accuracy(x_val, y_val, result.W, result.b); the test set waits "
                  "for the very end of the notebook.")
        _fail(name, f"your function used {used} instead of only its arguments. It must decide from what "
                    "it is given, so that it works on any data, and surely does not see the test set.",
              "use only grid, x_train, y_train, x_val and y_val inside the function.")
    if grid != [dict(s) for s in _RECIPE_GRID]:
        _fail(name, f"{call}: your function changed the grid it was given (now {grid!r:.200}).",
              "read each settings dict without changing it: train(x_train, y_train, **settings).")

    # What came back: (best, val_accs)
    if isinstance(got, dict):
        _fail(name, f"{call} returned only the settings {got}; expected a pair (best, val_accs).",
              "end with `return best, val_accs`: the winning settings and the list of all the scores.")
    if not (isinstance(got, (tuple, list)) and len(got) == 2):
        _fail(name, f"{call} returned {type(got).__name__} {got!r:.80}; expected a pair (best, val_accs).",
              "end with `return best, val_accs`: the winning settings and the list of all the scores.")
    best, accs = got
    if isinstance(accs, dict) and not isinstance(best, dict):
        _fail(name, f"{call} returned (val_accs, best); expected (best, val_accs), the settings first.",
              "return best, val_accs")
    if isinstance(best, (int, np.integer)) and not isinstance(best, bool):
        _fail(name, f"{call} returned the number {best} as best; expected the settings dict itself.",
              "return grid[i], the dict, rather than its position i.")
    if not isinstance(best, dict):
        _fail(name, f"{call} returned {type(best).__name__} {best!r:.60} as best; expected one of the "
                    "settings dicts of grid.", "return the dict from grid that scored best.")
    accs = _as_array(name, accs, call + " (val_accs)")
    if accs.shape != (len(grid),):
        _fail(name, f"{call} returned val_accs of shape {accs.shape}; expected one accuracy per candidate, "
                    f"shape ({len(grid)},).",
              "append one validation accuracy to the list for every settings dict in grid.")

    # The scores: each candidate's accuracy on the validation images
    tol = 0.5 / len(y_va)                # half an image: the same predictions, counted another way
    if not np.allclose(accs, val_accs, rtol=0, atol=tol):
        shown = f"\n  expected {_fmt(val_accs)}\n  got      {_fmt(accs)}"
        if np.allclose(accs, train_accs, rtol=0, atol=0.5 / len(y_tr)):
            _fail(name, f"{call}: your scores are the accuracies on the training images.{shown}\n"
                        "A model can fit its training images ever better while getting worse on new ones; "
                        "only images it never trained on show how well it generalises.",
                  "measure each model on (x_val, y_val), not on (x_train, y_train).")
        if np.allclose(accs, 100 * val_accs, rtol=0, atol=100 * tol):
            _fail(name, f"{call}: your scores are percentages.{shown}",
                  "keep accuracies as fractions between 0 and 1, as accuracy() returns them.")
        if np.ptp(accs) == 0:
            _fail(name, f"{call}: every candidate got the same score, {_fmt(accs[0])}.{shown}",
                  "train a new model inside the loop, with that candidate's settings, and measure that model.",
                  score_more)
        _fail(name, f"{call}: your validation accuracies are not those of the candidates.{shown}",
              "train with all the settings of each candidate (lr, epochs, batch_size, weight_decay, ...) and "
              "nothing else: train(x_train, y_train, **settings); then measure on (x_val, y_val).",
              score_more)

    # The choice: the candidate with the highest validation accuracy
    if best not in grid:
        _fail(name, f"{call} returned best = {best}, which is not one of the candidates of grid.",
              "return the settings dict from grid itself.")
    i = grid.index(best)
    j = int(np.argmax(val_accs))
    if val_accs[i] < val_accs[j]:
        why = (f"your choice, candidate {i} ({best}), scores {_fmt(val_accs[i])} on validation, "
               f"but candidate {j} ({grid[j]}) scores {_fmt(val_accs[j])}")
        if i == int(np.argmax(train_accs)):
            _fail(name, f"{call}: {why}. You picked the best on the training images "
                        f"({train_accs[i]:.1%} of them right): it fits them best by memorising them, not by "
                        "generalising.",
                  "pick by the validation accuracies you computed, not by training accuracy.",
                  "best = grid[int(np.argmax(val_accs))], with val_accs measured on (x_val, y_val).")
        if i == len(grid) - 1:
            _fail(name, f"{call}: {why}. You returned the last candidate tried.",
                  "keep the best so far: update best only when a candidate beats it (check the "
                  "indentation of the line that sets best).",
                  "best = grid[int(np.argmax(val_accs))] after the loop does it in one line.")
        if i == int(np.argmin(val_accs)):
            _fail(name, f"{call}: {why}. You returned the worst candidate.",
                  "higher accuracy is better: take the largest, not the smallest.",
                  "best = grid[int(np.argmax(val_accs))]: argmax, not argmin.")
        if i == 0:
            _fail(name, f"{call}: {why}. You returned the first candidate.",
                  "compare each candidate's score with the best so far, and keep the better one.",
                  "best = grid[int(np.argmax(val_accs))] after the loop.")
        _fail(name, f"{call}: {why}.", "return the candidate with the highest validation accuracy.",
              "best = grid[int(np.argmax(val_accs))]")
    return 3


def _confusion_verdict(name, got, expected, y_true, y_pred, call, hint, more):
    """Fail with what is wrong if ``got`` is not the confusion matrix ``expected`` (10 x 10 ints)."""
    from .evaluate import confusion_matrix

    got = _as_array(name, got, call)
    if got.ndim == 2 and got.shape[0] == got.shape[1] and got.shape != (10, 10):
        top = int(max(y_true.max(), y_pred.max()))
        _fail(name, f"{call} returned shape {got.shape}, expected (10, 10). The size must not come from "
                    f"the labels you are given (the largest here is {top}).",
              "make the matrix 10 x 10 always, even when some digits never occur in y_true or y_pred.",
              "C = np.zeros((10, 10), dtype=int)")
    if got.shape != (10, 10):
        _fail(name, f"{call} returned shape {got.shape}, expected (10, 10): one row per true class, one "
                    "column per predicted class.", hint, more)
    if got.dtype.kind == "b":
        _fail(name, f"{call} returned True/False values (dtype bool), not counts.",
              "count: add 1 to the cell for every image, in a matrix of integers.", more)
    if got.dtype.kind == "f":
        rows = expected.sum(axis=1, keepdims=True)
        if np.allclose(got, expected):
            _fail(name, f"{call}: the counts are right, but they are floating-point numbers (dtype "
                        f"{got.dtype}). Counts are whole numbers, and the matrix should say so.",
                  "make the matrix with an integer dtype (or convert it at the end).",
                  "np.zeros((10, 10), dtype=int); or return C.astype(int)")
        if np.allclose(got, expected / np.maximum(rows, 1)):
            _fail(name, f"{call} divided each row by its total: those are fractions per true class (the "
                        "per-class accuracy comes later from them). The matrix holds the counts.",
                  "return the counts themselves, without dividing.")
        if np.allclose(got, expected / expected.sum()):
            _fail(name, f"{call} divided the counts by the number of images. The matrix holds the counts.",
                  "return the counts themselves, without dividing.")
    if got.dtype.kind in "iu" and np.iinfo(got.dtype).max < expected.max():
        i, j = np.unravel_index(int(np.argmax(expected)), expected.shape)
        _fail(name, f"{call}: your matrix has dtype {got.dtype}, which only holds numbers up to "
                    f"{np.iinfo(got.dtype).max}: C[{i}, {j}] should be {expected[i, j]}, but the count "
                    f"wrapped round to {got[i, j]}.",
              f"make the matrix with a wider integer dtype: the test set alone has 1135 ones, the "
              f"training set 6742.",
              "C = np.zeros((10, 10), dtype=int) (64-bit integers)")
    symmetric = np.array_equal(expected, expected.T)
    if not symmetric and np.array_equal(got, expected.T):
        _fail(name, f"{call} has rows and columns swapped: C[i, j] should count images of true class i "
                    "predicted as j.", "the row is the true class, the column the prediction.",
              "C[t, p] += 1 with t from y_true and p from y_pred.")
    if expected.max() > 1 and np.array_equal(got, (expected > 0).astype(got.dtype)):
        _fail(name, f"{call} counted each pair (true, predicted) at most once: a cell that should hold "
                    f"{expected.max()} holds 1.",
              "with fancy indexing, C[y_true, y_pred] += 1 adds only once per repeated pair; "
              "count one image at a time instead.",
              "a loop: for t, p in zip(y_true, y_pred): C[t, p] += 1; or np.add.at(C, (y_true, y_pred), 1).")
    diagonal = np.diag(np.diag(expected))
    if got.sum() > 0 and np.array_equal(got, diagonal) and not np.array_equal(expected, diagonal):
        _fail(name, f"{call} counted only the images predicted correctly (the diagonal).",
              "every image counts, right or wrong: add 1 to C[t, p] whatever t and p are.")
    if np.array_equal(got, expected - diagonal) and diagonal.any():
        _fail(name, f"{call} counted only the mistakes: the diagonal, the images predicted correctly, is 0.",
              "every image counts, right or wrong: add 1 to C[t, p] whatever t and p are.")
    if got.sum() == expected.sum() - 1:
        _fail(name, f"{call}: the counts add up to {got.sum()}, one short of the {expected.sum()} images: "
                    "one image was left out.",
              "loop over every pair: zip(y_true, y_pred), or range(len(y_true)), which stops at the last "
              "index by itself.")
    for a, b, what in ((y_true, y_true, "y_true with itself"), (y_pred, y_pred, "y_pred with itself")):
        if not np.array_equal(expected, confusion_matrix(a, b)) and np.array_equal(got, confusion_matrix(a, b)):
            _fail(name, f"{call} paired {what}.", "each image gives one pair (y_true[k], y_pred[k]).")
    if got.sum() == expected.sum():
        hint = ("every image is counted, but some in the wrong cell: row t and column p for an image of true "
                "class t predicted as p (with np.histogram2d, one bin per class: bins=np.arange(11)).")
    _compare(name, got, expected, call=call, hint=hint, more=more, floating=False)


@exercise("confusion_matrix", reference=lambda: _evaluate().confusion_matrix)
def check_confusion_matrix(fn):
    """fn(y_true, y_pred) -> (10, 10) ints, C[i, j] = images of true class i predicted as j."""
    from .evaluate import confusion_matrix

    name = "confusion_matrix"
    hint = ("start from a 10 x 10 matrix of integer zeros, then add 1 to the cell [true class, predicted "
            "class] of every image, one image at a time.")
    more = "C = np.zeros((10, 10), dtype=int); then for t, p in zip(y_true, y_pred): C[t, p] += 1"
    rng = _rng()
    many = np.concatenate([np.full(300, 3), rng.integers(0, 10, 100)])     # a count above 255
    many_pred = np.concatenate([np.full(300, 3), rng.integers(0, 10, 100)])
    no_nine = rng.integers(0, 9, 50)                                     # 9 only among the predictions
    no_nine_pred = no_nine.copy()
    no_nine_pred[::7] = 9
    cases = [
        ("y_true = [1, 1, 1, 7, 7, 3], y_pred = [1, 7, 1, 7, 7, 3]",
         np.array([1, 1, 1, 7, 7, 3]), np.array([1, 7, 1, 7, 7, 3])),
        ("400 images, over 300 of them 3s predicted as 3", many, many_pred),
        ("50 images, no 9 among the true classes but some among the predictions", no_nine, no_nine_pred),
        ("300 random labels", rng.integers(0, 10, 300), rng.integers(0, 10, 300)),
    ]
    for text, y_true, y_pred in cases:
        call = f"confusion_matrix(y_true, y_pred) with {text}"
        got = _call(name, fn, y_true, y_pred, call=call,
                    hint="an IndexError here means the matrix is too small: make it 10 x 10 whatever "
                         "labels occur. Otherwise: " + hint, more=more)
        _confusion_verdict(name, got, confusion_matrix(y_true, y_pred), y_true, y_pred, call, hint, more)
    return len(cases)


# --- notebook 09: centring a drawn digit by its centre of mass -------------------

def _mass_patches():
    """Three lopsided (h, w) patches, none pushed out of a 28x28 frame by its shift.

    The first leaves room around it, so that a centring that is a little off
    (rows and columns swapped, counted from 1) lands in the frame and can be named.
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
    return [p.astype(np.float32) for p in (c, a, b)]


def _shifted(patch, top, left):
    """patch pasted at (top, left) in a 28x28 frame, moved back inside if it sticks out."""
    top = min(max(int(top), 0), 28 - patch.shape[0])
    left = min(max(int(left), 0), 28 - patch.shape[1])
    frame = np.zeros((28, 28), dtype=np.float32)
    frame[top:top + patch.shape[0], left:left + patch.shape[1]] = patch
    return frame


def _centring_mistakes(patch):
    """[(frame, what went wrong, hint, more)]: centrings as learners get them wrong."""
    from .draw import center_of_mass

    h, w = patch.shape
    cy, cx = center_of_mass(patch)
    rows, cols = np.nonzero(patch)
    ink_y, ink_x = rows.mean(), cols.mean()          # every inked pixel counted alike
    formula = "the formula for the centre of mass weights each row index r by the ink in that row."
    return [
        (_shifted(patch, 0, 0), "left the patch in the top-left corner",
         "move it so that its centre of mass lands on row 14, column 14.",
         "top = round(14 - row of the centre of mass), left likewise with the column."),
        (_shifted(patch, (28 - h) // 2, (28 - w) // 2), "centred the patch's box, not its centre of mass",
         "MNIST centres the ink's centre of mass, not the middle of the bounding box: a "
         "top-heavy digit sits lower than its box.", formula),
        (_shifted(patch, round(14 - ink_y), round(14 - ink_x)),
         "centred the inked pixels, each counted alike, not the ink's centre of mass",
         "a dark pixel weighs more than a faint one: " + formula,
         "r_bar = patch.sum(axis=1) @ np.arange(h) / patch.sum()"),
        (_shifted(patch, int(14 - cy), int(14 - cx)), "shifted the patch one pixel too little",
         f"look at how you turn the shift into whole pixels, and where you aim: 14 - r_bar is "
         f"{14 - cy:.2f} here, and the nearest whole number is {round(14 - cy)}.",
         f"int() cuts {14 - cy:.2f} down to {int(14 - cy)}: use int(round(14 - r_bar)). Aiming at "
         "13.5, or counting rows from 1, also lands one pixel short."),
        (_shifted(patch, round(13 - cy), round(13 - cx)), "shifted the patch one pixel too little",
         "the rows and columns of a numpy array are counted from 0: which indices did you weight "
         "the ink with?", "r_bar = patch.sum(axis=1) @ np.arange(h) / patch.sum(), and likewise for c_bar."),
        (_shifted(patch, np.ceil(14 - cy), np.ceil(14 - cx)), "shifted the patch one pixel too far",
         f"14 - r_bar is {14 - cy:.2f} here; the nearest whole number is {round(14 - cy)}.",
         "round to the nearest whole pixel: int(round(14 - r_bar)), not np.ceil."),
        (_shifted(patch, round(14 - cx), round(14 - cy)), "swapped rows and columns",
         "the row of the centre of mass sets the shift down (top), its column the shift right (left).",
         None),
    ]


def _slice_advice(patch):
    from .draw import center_of_mass

    h, w = patch.shape
    cy, cx = center_of_mass(patch)
    top, left = min(max(round(14 - cy), 0), 28 - h), min(max(round(14 - cx), 0), 28 - w)

    def explain(error):
        text = str(error)
        if "slice indices must be integers" in text or "only integers, slices" in text:
            return ("top and left must be whole numbers to index the frame; yours is a float. "
                    "np.round() and 14 - r_bar give floats.",
                    "top = int(round(14 - r_bar)), left = int(round(14 - c_bar)).")
        if "could not broadcast" in text:
            return (f"the piece of the frame you paste into must have the patch's shape ({h}, {w}). For "
                    f"this patch top should be {top} and left {left}: print yours. Is one negative, or "
                    "so large that the patch sticks out of the frame?",
                    "frame[top:top + h, left:left + w] = patch, with h, w = patch.shape.")
        if "mismatch in its core dimension" in text or "not aligned" in text:
            return ("patch.sum(axis=1) holds the ink of each of the h rows, patch.sum(axis=0) that of "
                    "each of the w columns: pair each with the matching indices.",
                    "r_bar = patch.sum(axis=1) @ np.arange(h) / patch.sum()")
        return None
    return explain


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
        got = _as_array(name, _explained_call(name, fn, patch, call=call, explain=_slice_advice(patch)), call)
        if got.shape != (28, 28):
            _fail(name, f"{call} returned shape {got.shape}, expected (28, 28).",
                  "start from an empty 28 x 28 frame and paste the patch into it.",
                  "frame = np.zeros((28, 28)); frame[top:top + h, left:left + w] = patch")
        if np.allclose(got, expected, atol=1e-6):
            continue
        for frame, why, hint, more in _centring_mistakes(patch):
            if np.allclose(got, frame, atol=1e-6):
                _fail(name, f"{call}: your function {why}.", hint, more)
        if got.dtype.kind in "biu":
            _fail(name, f"{call} returned a frame of integers (dtype {got.dtype}): the grey pixels "
                        "of the patch were rounded away.",
                  "make the frame hold floats.", "frame = np.zeros((28, 28), dtype=np.float32)")
        if not np.isclose(got.sum(), patch.sum(), rtol=1e-5):
            _fail(name, f"{call}: the frame holds {got.sum():.3f} ink but the patch {patch.sum():.3f}.",
                  "paste the whole patch, unchanged: don't scale it or cut part of it off.",
                  "frame[top:top + h, left:left + w] = patch, with h, w = patch.shape.")
        if got.sum() > 0:
            gy, gx = center_of_mass(got)
            cy, cx = center_of_mass(patch)
            _fail(name, f"{call}: the centre of mass ends at ({gy:.2f}, {gx:.2f}); expected (14, 14) "
                  "within half a pixel.",
                  f"the patch's own centre of mass is at row {cy:.2f}, column {cx:.2f}: how far must "
                  "it move to reach (14, 14)?",
                  "top = int(round(14 - r_bar)), left = int(round(14 - c_bar)), then "
                  "frame[top:top + h, left:left + w] = patch.")
        _compare(name, got, expected, call=call)
    return 3


# --- notebook 10: backpropagation through a hidden layer; a scaled random start -------

def _mlp():
    from . import mlp
    return mlp


def _mlp_inputs(n=5, H=6):
    """A batch X: (n, 784) and params of a two-layer network with H hidden units, float64.

    Seeded so that most hidden units are active (z > 0) for some examples and silent for
    others, no z is near 0 (the ReLU's corner), and the sign of dL/dh differs from the sign
    of z often enough that a mask taken from the wrong one shows (tests check all three).
    """
    rng = _rng()
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


# What the learner's backward pass must not call: each does the whole job, or estimates it.
_NOT_BACKPROP = {"loss_and_grads": "mnistlib's loss_and_grads, which does the whole job",
                 "sgd_step": "mnistlib's sgd_step, which does the whole job",
                 "check_model": "check_model, which estimates the gradients by finite differences",
                 "numerical_gradient": "numerical_gradient, an estimate by finite differences"}


def _called_names(fn):
    """The names of the functions fn's source calls, with their lines; None if unreadable."""
    import ast
    import textwrap
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError, IndentationError):
        return None
    calls = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            calls.append((f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", ""), node.lineno))
    return sorted(calls, key=lambda c: c[1])


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
        _fail(name, f"{call} returned a {type(got).__name__} of four; expected a dict with the keys of params.",
              'return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}.')
    if not isinstance(got, dict):
        _fail(name, f"{call} returned {type(got).__name__}; expected a dict with the keys of params.",
              'return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}.')
    missing, extra = sorted(set(params) - set(got)), sorted(set(got) - set(params))
    if missing or extra:
        _fail(name, f"{call} returned a dict with the keys {sorted(got)}; expected {sorted(params)}"
                    f"{' (missing: ' + ', '.join(missing) + ')' if missing else ''}.",
              "one gradient per parameter, under the parameter's name: grads[k] has the shape of params[k].")
    arrays = {}
    for k in ("W2", "b2", "W1", "b1"):
        g = _as_array(name, got[k], f"{call}, gradient of {k},")
        want = params[k].shape
        if g.shape != want:
            advice = _SHAPE_ADVICE.get(k, {})
            hint, more = advice.get("T" if g.shape == want[::-1] else g.shape, (None, None))
            if hint is None and k.startswith("b"):
                hint = (f"{k} has one number per {'hidden unit' if k == 'b1' else 'class'}: sum the "
                        "gradient over the examples, axis=0.")
            _fail(name, f"{call}: the gradient of {k} has shape {g.shape}; expected {want}, the shape of {k}.",
                  hint, more)
        arrays[k] = g
    return arrays


@exercise("mlp_gradients", reference=lambda: lambda params, X, y: _mlp().loss_and_grads(params, X, y)[1])
def check_mlp_gradients(fn):
    """fn(params, X, y) -> {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}, the gradients of the mean
    cross-entropy of the two-layer network.  X: (n, 784); y: (n,) labels."""
    name = "mlp_gradients"
    for called, line in _called_names(fn) or []:
        if called in _NOT_BACKPROP:
            _fail(name, f"your function calls {_NOT_BACKPROP[called]} (line {line} of it). Write the "
                        "backward pass yourself, from the forward pass above it.",
                  "start from dL/dl = (P - Y) / n, as in notebook 05, and go back one link at a time.")
    for n, H in [(5, 6), (1, 3)]:
        params, X, y = _mlp_inputs(n, H)
        call = f"mlp_gradients(params, X, y) with X ({n}, 784) and H = {H} hidden units"
        kept = {k: v.copy() for k, v in params.items()}
        got = _call(name, fn, params, X, y, call=call)
        changed = [k for k in params if not _same(params[k], kept[k])]
        if changed:
            _fail(name, f"your function changed params[{changed[0]!r}]{' and more' if len(changed) > 1 else ''} "
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
                    _fail(name, f"{call}: d{k} {why}{so_far}.", hint, more)
            hint = {"W2": "dW2 = h^T dl, with dl = dL/dl = (P - Y) / n: notebook 05's formula, with h as the input.",
                    "b2": "db2 is the sum of dl over the examples.",
                    "W1": "the gradient reaches the first layer through h: dL/dh = dl W2^T, then the ReLU, "
                          "then notebook 05's formula with X as the input.",
                    "b1": "db1 is the sum of dL/dz over the examples."}[k]
            _compare(name, got[k], expected[k], call=f"{call}, gradient of {k},", hint=hint, rtol=1e-4, atol=1e-7)
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


@exercise("he_init", reference=lambda: _he_reference)
def check_he_init(fn):
    """fn(fan_in, fan_out, rng) -> (fan_in, fan_out) random weights drawn from rng, with mean 0 and
    variance 2 / fan_in."""
    name = "he_init"
    for fan_in, fan_out in [(784, 256), (100, 300)]:
        call = f"he_init(fan_in={fan_in}, fan_out={fan_out}, rng)"
        W = _as_array(name, _call(name, fn, fan_in, fan_out, np.random.default_rng(0), call=call), call)
        if W.shape != (fan_in, fan_out):
            _fail(name, f"{call} returned shape {W.shape}; expected ({fan_in}, {fan_out}).",
                  "W has one row per input and one column per unit: shape (fan_in, fan_out)."
                  if W.shape == (fan_out, fan_in) else "draw an array of shape (fan_in, fan_out).")
        if W.dtype.kind != "f":
            _fail(name, f"{call} returned {W.dtype} numbers; expected floats.",
                  "draw the weights with rng.normal or rng.standard_normal.")
        if not np.all(np.isfinite(W)):
            _fail(name, f"{call} returned nan or inf.", "a weight is a finite random number.")
        W = W.astype(np.float64)
        if np.all(W == W.flat[0]):
            _fail(name, f"{call} returned {'zeros' if W.flat[0] == 0 else f'the same number, {W.flat[0]:.3g}'} "
                        "everywhere. Then every hidden unit computes the same thing and gets the same "
                        "gradient, for ever: the symmetry of the section above.",
                  "draw every weight at random from rng.")
        s = np.sqrt(2 / fan_in)
        mean, std = W.mean(), W.std()
        if abs(mean) > 0.05 * s + 5 * s / np.sqrt(W.size):
            _fail(name, f"{call}: the weights' mean is {mean:.3g}, not 0"
                        f"{' (all of them are positive)' if W.min() >= 0 else ''}.",
                  "as many weights must be negative as positive: draw from a distribution centred on 0. "
                  "rng.random() and rng.uniform(0, a) give only positive numbers.",
                  "rng.normal(0, std, size=(fan_in, fan_out)), or std * rng.standard_normal((fan_in, fan_out)).")
        if abs(std / s - 1) > 0.03:
            for wrong, why, hint, more in _init_mistakes(fan_in, fan_out):
                if abs(std / wrong - 1) <= 0.03:
                    _fail(name, f"{call}: the weights' standard deviation is {std:.4g}; it {why}.", hint, more)
            _fail(name, f"{call}: the weights' standard deviation is {std:.4g}, {std / s:.3g} times what "
                        "keeps E[z^2] the same from layer to layer.",
                  "solve fan_in * Var(w) * 1/2 = 1 for Var(w); the standard deviation is its square root.",
                  "np.sqrt(2 / fan_in) * rng.standard_normal((fan_in, fan_out))")
    # The weights must come from the generator given, so that a seed repeats a run.
    call = "he_init(50, 40, rng)"
    a = _as_array(name, _call(name, fn, 50, 40, np.random.default_rng(7), call=call), call)
    b = _as_array(name, _call(name, fn, 50, 40, np.random.default_rng(7), call=call), call)
    c = _as_array(name, _call(name, fn, 50, 40, np.random.default_rng(8), call=call), call)
    if not np.array_equal(a, b):
        _fail(name, "two calls with generators of the same seed gave different weights: your function does "
                    "not draw from the rng it is given.",
              "draw with rng.normal(...) or rng.standard_normal(...), not np.random.")
    if np.array_equal(a, c):
        _fail(name, "generators with different seeds gave the same weights: your function does not draw "
                    "from the rng it is given.",
              "draw with rng.normal(...) or rng.standard_normal(...), the rng passed in; don't make a new one.")
    return 3


# --- notebook 11: the convolution layer as loops; the gradient of its kernels ----------

def _conv():
    from . import conv
    return conv


def _conv_forward_reference(x, K, b):
    return _conv().conv2d_forward_loops(x, K, b)[0]


def _kernel_gradient_reference(x, dout, kh, kw):
    F, C = dout.shape[1], x.shape[1]
    cache = (x, np.zeros((F, C, kh, kw), dtype=x.dtype), 1, 0)
    return _conv().conv2d_backward_loops(dout, cache)[1]


def _called(fn):
    """The names of the functions fn's source calls ({"conv2d_forward", "sum", ...}); None if unreadable."""
    import ast
    import textwrap
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError, IndentationError):
        return None
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            names.add(f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", ""))
    return names


# Library functions that would do an exercise of this notebook in one call.
_CONV_SHORTCUTS = {"conv2d_forward", "conv2d_forward_loops", "conv2d_backward", "conv2d_backward_loops",
                   "im2col", "correlate", "correlate2d", "convolve", "convolve2d", "fftconvolve"}


def _no_shortcut(name, fn, what):
    used = sorted((_called(fn) or set()) & _CONV_SHORTCUTS)
    if used:
        _fail(name, f"your function calls {used[0]}(), which does the whole job. Here you write {what} yourself.",
              "loop over the positions of the window and take each dot product yourself; the cells "
              "further down compare your version with mnistlib's.")


def _conv_advice(partner="the kernel it is multiplied with", same_as="K[f]"):
    """explain(error) for _explained_call: the exceptions loops over windows run into."""
    def explain(error):
        text = str(error)
        if "broadcast" in text:
            return (f"a window of x and {partner} must have the same shape. Print the shape of both "
                    "just before that line: is the window cut short at the edge of the image (the "
                    "loop went one position too far), or are rows and columns swapped?",
                    "the window at output position (r, s) is x[i, :, r:r + kh, s:s + kw], shape "
                    f"(C, kh, kw), the same as {same_as}; r runs over range(h - kh + 1).")
        if isinstance(error, IndexError):
            return ("an index ran past the end of an array: compare the ranges of your loops with the "
                    "shapes of the arrays they index (print them).",
                    "the output has oh = h - kh + 1 rows and ow = w - kw + 1 columns; make it with "
                    "np.zeros((n, F, oh, ow)) and let r and s run over range(oh) and range(ow).")
        if "unpack" in text:
            return ("x has four axes (n, C, h, w) and K four (F, C, kh, kw): unpack as many names as "
                    "there are axes.", "n, C, h, w = x.shape and F, _, kh, kw = K.shape")
        return None
    return explain


def _conv_cases():
    """(x, K, b) triples: one image, channel and filter; a batch with channels and filters;
    a square kernel. Images and kernels are not square in the first two, so that a swap of
    rows and columns shows, and there are more filters than images, so that a swap of
    those axes shows."""
    rng = _rng()
    one = (rng.integers(0, 5, (1, 1, 5, 6)).astype(np.float64),
           np.array([[[[1.0, 0.0], [2.0, -1.0], [0.0, 3.0]]]]), np.array([0.5]))
    batch = (rng.standard_normal((2, 3, 6, 5)), rng.standard_normal((4, 3, 2, 3)), rng.standard_normal(4))
    square = (rng.standard_normal((1, 2, 5, 5)), rng.standard_normal((3, 2, 3, 3)), rng.standard_normal(3))
    return [(*one, "conv_forward_loops(x, K, b) with one image x (1, 1, 5, 6), one kernel K (1, 1, 3, 2), b (1,)"),
            (*batch, "conv_forward_loops(x, K, b) with x (2, 3, 6, 5): 2 images of 3 channels, "
                     "K (4, 3, 2, 3): 4 kernels, b (4,)"),
            (*square, "conv_forward_loops(x, K, b) with x (1, 2, 5, 5), K (3, 2, 3, 3), b (3,)")]


def _conv_forward_mistakes(x, K, b):
    """(wrong output, what went wrong, hint, more) for the mistakes learners make in the loops."""
    ref = _conv_forward_reference
    n, C, h, w = x.shape
    F, _, kh, kw = K.shape
    plain = ref(x, K, np.zeros_like(b))
    bias = b[None, :, None, None]
    window = "the window x[i, :, r:r + kh, s:s + kw]"
    found = [
        (ref(x, K[:, :, ::-1, ::-1], b), "flipped the kernel: it multiplies the window's first entry by the "
         "kernel's last",
         "deep learning's convolution slides the kernel over the image as it is, unflipped: "
         "entry (p, q) of the window meets entry (p, q) of the kernel. (Flipping it first is the "
         "convolution of mathematics; the two differ only in the order of the kernel's entries.)",
         f"out[i, f, r, s] = np.sum({window} * K[f]) + b[f], with no [::-1] anywhere."),
        (plain, "leaves out the bias b", "every output number of kernel f gets b[f] added, once.", None),
        (plain / (C * kh * kw) + bias, "takes the mean of the products, not their sum",
         "the dot product of the window and the kernel is a sum: np.sum, not np.mean.", None),
        (-plain + bias, "has the sign of the dot product flipped", "multiply the window by the kernel; "
         "don't subtract.", None)]
    if C > 1:
        found += [
            (plain + C * bias, f"adds the bias once per channel ({C} times)",
             "b[f] is added once to each output number, after the sum over the channels.",
             "compute the whole sum over c, p and q first, then add b[f]."),
            (ref(x[:, :1], K[:, :1], b), "uses only the first channel",
             "each kernel spans all C channels of the image, and the output adds up all of them.",
             f"take the window across every channel: {window}, shape (C, kh, kw), times K[f]."),
            (ref(x[:, -1:], K[:, -1:], b), "keeps only the last channel: the sum over the channels is "
             "overwritten, channel after channel, instead of added up",
             "add each channel's dot product to the output (+=), or take all channels in one np.sum.", None)]
    if F > 1:
        found.append((plain.sum(axis=1, keepdims=True) + bias, "adds up all the kernels' dot products "
                      "(np.sum(window * K) with all of K, not K[f])",
                      "each output channel f comes from its own kernel K[f] alone.", None))
    if n > 1:
        found.append((np.broadcast_to(ref(x[:1], K, b), (n, F) + plain.shape[2:]), "gives every image the "
                      "output of the first image", "the window of image i comes from x[i].", None))
    if kh == kw:
        found.append((ref(x, K.swapaxes(2, 3), b), "uses the kernel transposed: entry (p, q) of the window "
                      "meets entry (q, p) of the kernel", "match the window's rows with the kernel's rows.",
                      None))
    return found


@exercise("conv_forward_loops", reference=lambda: _conv_forward_reference)
def check_conv_forward_loops(fn):
    """fn(x: (n, C, h, w), K: (F, C, kh, kw), b: (F,)) -> out: (n, F, h - kh + 1, w - kw + 1),
    out[i, f, r, s] = b[f] + sum over c, p, q of x[i, c, r + p, s + q] K[f, c, p, q]."""
    name = "conv_forward_loops"
    _no_shortcut(name, fn, "the convolution")
    for x, K, b, call in _conv_cases():
        n, C, h, w = x.shape
        F, _, kh, kw = K.shape
        oh, ow = h - kh + 1, w - kw + 1
        expected = _conv_forward_reference(x, K, b)
        got = _as_array(name, _explained_call(name, fn, x, K, b, call=call, explain=_conv_advice()), call)
        size = ("a kernel of width kw fits into a row of width w at the positions 0, 1, ..., w - kw: "
                "that is w - kw + 1 positions (try it with w = 5 and kw = 3).")
        shape_mistakes = {
            (n, F, oh - 1, ow - 1): ("is one row and one column short", size,
                                     "oh = h - kh + 1 and ow = w - kw + 1."),
            (n, F, h, w): ("has the size of the image, but the kernel fits fewer times than that",
                           size, "oh = h - kh + 1 and ow = w - kw + 1."),
            (F, n, oh, ow): ("has the kernels on the first axis and the images on the second",
                             "the output is (n, F, oh, ow): images first, as in x.", None),
            (n, F, ow, oh): ("has rows and columns swapped",
                             "r runs down the rows (h - kh + 1 of them), s along the columns.", None),
            (n, F, C, oh, ow): ("keeps the channels apart", "add the products over the channels too: "
                                "each output number is one sum over c, p and q.", None),
            (n, C, oh, ow): ("has one output channel per input channel, not one per kernel",
                             "the output has one channel per kernel: F = K.shape[0].", None)}
        if got.shape != expected.shape and got.shape in shape_mistakes:
            why, hint, more = shape_mistakes[got.shape]
            _fail(name, f"{call} returned shape {got.shape}, expected {expected.shape}: it {why}.", hint, more)
        if got.dtype.kind in "biu" and not np.allclose(got, expected):
            _fail(name, f"{call} returned integers (dtype {got.dtype}): every output number was rounded "
                        "to a whole number when it was stored.",
                  "make the output array hold floats.", "out = np.zeros((n, F, oh, ow)) holds floats; "
                  "np.zeros(..., dtype=int) or np.zeros_like of an integer array does not.")
        if got.shape == expected.shape and np.all(np.isfinite(got)) and not np.allclose(got, expected):
            for wrong, why, hint, more in _conv_forward_mistakes(x, K, b):
                if np.allclose(got, wrong, rtol=1e-6, atol=1e-9):
                    _fail(name, f"{call}: your function {why}.", hint, more)
            if np.allclose(got[..., :oh - 1, :ow - 1], expected[..., :oh - 1, :ow - 1]):
                _fail(name, f"{call}: the last row or column of the output is wrong (the rest is right).",
                      "the last window starts at row h - kh and column w - kw: does your loop reach it?",
                      "for r in range(h - kh + 1): for s in range(w - kw + 1): ...")
        _compare(name, got, expected, call=call,
                 hint="out[i, f, r, s] = b[f] + the sum over c, p, q of x[i, c, r + p, s + q] * K[f, c, p, q].")
    return len(_conv_cases())


def _kernel_gradient_cases():
    """(x, dout, kh, kw, call): as _conv_cases, with an upstream gradient dout of the output's shape."""
    rng = _rng()
    cases = []
    for (n, C, h, w), (F, kh, kw) in [((1, 1, 5, 6), (1, 3, 2)), ((2, 3, 6, 5), (4, 2, 3)),
                                      ((3, 2, 5, 5), (2, 3, 3))]:
        x = rng.integers(0, 4, (n, C, h, w)).astype(np.float64) if n == 1 else rng.standard_normal((n, C, h, w))
        dout = rng.standard_normal((n, F, h - kh + 1, w - kw + 1))
        cases.append((x, dout, kh, kw, f"kernel_gradient(x, dout, kh={kh}, kw={kw}) with x {x.shape} "
                                       f"and dout {dout.shape}"))
    return cases


def _kernel_gradient_mistakes(x, dout, kh, kw):
    ref = _kernel_gradient_reference
    n = len(x)
    oh, ow = dout.shape[2:]
    dK = ref(x, dout, kh, kw)
    last = np.einsum("if,icpq->fcpq", dout[:, :, -1, -1], x[:, :, oh - 1:oh - 1 + kh, ow - 1:ow - 1 + kw])
    found = [
        (dK[..., ::-1, ::-1], "is flipped: entry (p, q) holds what belongs to (kh - 1 - p, kw - 1 - q)",
         "out[i, f, r, s] multiplies K[f, c, p, q] by x[i, c, r + p, s + q], the entry (p, q) of its "
         "window, unflipped: so that is what dout[i, f, r, s] multiplies in dK[f, c, p, q].", None),
        (-dK, "has the wrong sign", "the derivative of x * K with respect to K is + x.", None),
        (dK / (oh * ow), f"is the mean over the {oh * ow} output positions, not the sum",
         "every output position adds its share to dK: a sum, with no division.", None),
        (last, "holds only the last window's share: each position overwrote the one before",
         "dK collects a share from every output position and image: add them up (+=).",
         "start from dK = np.zeros((F, C, kh, kw)) and write dK[f] += dout[i, f, r, s] * window.")]
    if n > 1:
        found += [
            (dK / n, f"is 1/{n} of the expected: divided by the number of images",
             "the loss's 1/n (it is a mean) is already inside dout: add up over the images, don't average.",
             None),
            (ref(x[:1], dout[:1], kh, kw), "uses only the first image",
             "the kernel is used on every image of the batch: add up the shares of all of them.", None),
            (ref(x[-1:], dout[-1:], kh, kw), "keeps only the last image: each image overwrote the one before",
             "add every image's share to dK (+=).", None)]
    if x.shape[1] > 1:
        found.append((np.broadcast_to(dK.sum(axis=1, keepdims=True), dK.shape), "is the same for every "
                      "channel: the channels were added up",
                      "K[f, c] meets channel c of the window only: dK[f, c] comes from channel c of x.", None))
    if kh == kw:
        found.append((dK.swapaxes(2, 3), "is transposed: entry (p, q) holds what belongs to (q, p)",
                      "p counts rows (with r), q counts columns (with s).", None))
    return found


@exercise("kernel_gradient", reference=lambda: _kernel_gradient_reference)
def check_kernel_gradient(fn):
    """fn(x: (n, C, h, w), dout: (n, F, oh, ow), kh, kw) -> dK: (F, C, kh, kw), the gradient of the
    loss with respect to the kernels, given dout, its gradient with respect to the convolution's output."""
    name = "kernel_gradient"
    _no_shortcut(name, fn, "the kernels' gradient")
    cases = _kernel_gradient_cases()
    for x, dout, kh, kw, call in cases:
        n, C = x.shape[:2]
        F = dout.shape[1]
        expected = _kernel_gradient_reference(x, dout, kh, kw)
        advice = _conv_advice("the part of dK it is added to", "dK[f]")
        got = _as_array(name, _explained_call(name, fn, x, dout, kh, kw, call=call, explain=advice), call)
        if got.shape != expected.shape:
            if got.shape == (C, F, kh, kw):
                _fail(name, f"{call} returned shape {got.shape}, expected {expected.shape}: the kernels "
                            "should come first, then the channels, like K.", "dK has the shape of K: (F, C, kh, kw).")
            if got.shape == (F, C, kw, kh):
                _fail(name, f"{call} returned shape {got.shape}, expected {expected.shape}: rows and columns "
                            "are swapped.", "dK has the shape of K: (F, C, kh, kw).")
            if got.shape in ((F, kh, kw), (n, F, C, kh, kw), (F, 1, kh, kw)):
                what = {(F, kh, kw): "has no channel axis", (n, F, C, kh, kw): "keeps one gradient per image",
                        (F, 1, kh, kw): "has one channel, not C"}[got.shape]
                _fail(name, f"{call} returned shape {got.shape}, expected {expected.shape}: it {what}.",
                      "dK has the shape of K, (F, C, kh, kw): one number per kernel entry, added up over "
                      "the images and the output positions.")
        if got.shape == expected.shape and np.all(np.isfinite(got)) and not np.allclose(got, expected):
            for wrong, why, hint, more in _kernel_gradient_mistakes(x, dout, kh, kw):
                if np.allclose(got, wrong, rtol=1e-6, atol=1e-9):
                    _fail(name, f"{call}: your dK {why}.", hint, more)
        _compare(name, got, expected, call=call,
                 hint="which entries of x did K[f, c, p, q] multiply, in the output numbers out[i, f, r, s]? "
                      "Each of those products sends dout[i, f, r, s] times that entry of x back to it.",
                 more="dK[f, c, p, q] = the sum over i, r, s of dout[i, f, r, s] * x[i, c, r + p, s + q].")
    return len(cases)
