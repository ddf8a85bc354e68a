"""The machinery every check shares: how the learner's function is run, compared and answered.

``exercise`` turns a ``verify(fn)`` function (raises ``CheckFailed``, returns the
number of checks passed) into the ``check_<name>(fn, strict=False)`` a notebook
calls; ``_call``, ``_compare`` and ``_fail`` are the tools ``verify`` uses (see
the package docstring, ``mnistlib/checks/__init__.py``, for how to add a check).
"""

import functools
import inspect
import warnings
from fractions import Fraction

import numpy as np



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
    from .. import evaluate
    return evaluate


def _draw():
    from .. import draw
    return draw


# --- shared by the checks of several notebooks --------------------------------------

def _step_reference(x, y, W, b, lr):
    from ..train import step
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
