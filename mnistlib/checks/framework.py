"""The machinery every check shares: how the learner's function is run, compared and answered.

``exercise`` turns a ``verify(fn)`` function (raises ``CheckFailed``, returns the
number of checks passed) into the ``check_<name>(fn, strict=False)`` a notebook
calls, and registers the exercise's hints (``hints.py``) and the library
functions it may not call (watched while it runs: ``watch.py``). The tools
``verify`` uses are ``run``, ``compare`` and ``fail``, with ``as_array``, ``fmt``,
``factor_text``, ``identical`` and ``seeded_rng`` for the details, and
``loop_over_items`` to tell a loop over the examples by the work it does (the package
docstring, ``mnistlib/checks/__init__.py``, shows how to add a check).
"""

import functools
import inspect
import linecache
import warnings
from fractions import Fraction

import numpy as np

from . import limits
from .explained import where_explained
from .hints import Ladder, hint, record_failure, record_pass, register
from .watch import Watch, label, origin, python_function

__all__ = ["CheckFailed", "exercise", "hint", "run", "compare", "fail", "as_array", "fmt", "factor_text",
           "identical", "seeded_rng", "Watch", "line_of", "loop_over_items"]


class CheckFailed(AssertionError):
    """Your function gave a wrong answer. The message says on which input, and what to try.

    ``more`` is the next hint for this very mistake (no code), ``reveal`` the line of the
    solution that fixes it; ``hint(name)`` and ``hint(name, reveal=True)`` show them.
    """

    def __init__(self, text, more=None, reveal=None):
        super().__init__(text)
        self.more = more
        self.reveal = reveal


# What each exercise may not call: name -> {library function: what it is}, made when first needed.
_shortcuts = {}


# --- running a check -------------------------------------------------------------

def exercise(name, reference, *, hints, reveal, shortcuts=None):
    """Decorator turning ``verify(fn)`` (raises CheckFailed, returns the number of checks
    passed) into ``check(fn, strict=False)`` as the notebooks call it.

    ``reference()`` gives mnistlib's own version, used by the cells after a failed
    exercise. ``hints`` (how to start, then narrower; no code of the solution) and
    ``reveal`` (a line of the solution) are what ``hint(name)`` gives. ``shortcuts()``
    returns {library function: what it is ("which does the whole job")}: a learner's
    function that calls one of them, under any name, fails.
    """
    register(Ladder(name, hints, reveal))
    _shortcuts[name] = shortcuts

    def wrap(verify):
        @functools.wraps(verify)
        def check(fn, *, strict=False):
            try:
                if getattr(fn, "_mnistlib_reference", False):
                    fail(name, f"this is mnistlib's own {name}, which the check handed back after your "
                               "function failed.", "run the cell that defines your function again, then "
                               "this cell.")
                try:
                    # A budget of CPU seconds: an endless loop fails the check instead of
                    # hanging the notebook (or nbgrader); the stop button counts the same.
                    with limits.cpu_limit():
                        n = verify(fn)
                except (limits.CPUTimeExceeded, KeyboardInterrupt) as stop:
                    fail(name, *limits.stopped(name, stop))
            except CheckFailed as failure:
                record_failure(name, failure)
                if strict:
                    # A fresh error with no chained context: what the learner sees (also in
                    # nbgrader's feedback) is the message, not the check's inner workings.
                    raise CheckFailed(str(failure), failure.more, failure.reveal) from None
                print(f"✗ {failure}")
                print(f'  For a more specific hint, run: hint("{name}")')
                print(f"  The cells below use mnistlib's {name} instead of yours, so that the "
                      "notebook runs on. Fix yours, then run its cell and this one again.")
                return _as_reference(reference())
            record_pass(name)
            print(f"✓ {name}: all {n} checks passed{where_explained(name)}")
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


def forbidden(name):
    """{library function: what it is} that exercise ``name`` may not call."""
    make = _shortcuts.get(name)
    return make() if make else {}


# --- the tools of a check -------------------------------------------------------

def fmt(a, precision=4, max_items=8):
    """A short, rounded text of ``a`` (a number or an array) for messages: at most
    ``max_items`` numbers per row, ``precision`` digits after the point."""
    a = np.asarray(a)
    if a.ndim == 0:
        return np.format_float_positional(float(a), precision=precision, trim="-") if a.dtype.kind in "fc" else str(a.item())
    return np.array2string(a, precision=precision, suppress_small=True, threshold=max_items,
                           edgeitems=max_items // 2, max_line_width=100, separator=", ")


def fail(name, message, hint=None, more=None, reveal=None):
    """Raise CheckFailed("name: message"). ``hint`` (a nudge, no code of the solution) is shown
    with the message; ``more`` (a narrower hint for this mistake, no code either) when the
    learner asks with ``hint(name)``; ``reveal`` (the line of code that fixes it) only with
    ``hint(name, reveal=True)``."""
    text = f"{name}: {message}"
    if hint:
        text += f"\nHint: {hint}"
    raise CheckFailed(text, more, reveal)


def _copy(a):
    return a.copy() if isinstance(a, np.ndarray) else a


def identical(a, b):
    """Do arrays ``a`` and ``b`` have the same shape, dtype and values (nan equal to nan)?"""
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")


def _arg_names(fn, n):
    try:
        names = [p.name for p in inspect.signature(fn).parameters.values()]
    except (TypeError, ValueError):
        names = []
    return (names + [f"argument {i + 1}" for i in range(len(names), n)])[:n]


def _advice(explain, error, watch):
    """explain(error, watch), or explain(error) if it takes one argument."""
    try:
        inspect.signature(explain).bind(error, watch)
    except TypeError:
        return explain(error)
    except ValueError:                     # no signature to read: try both
        pass
    return explain(error, watch)


def line_of(fn, code, line):
    """Where ``line`` of ``code`` is, said to the author of ``fn``: "line 3 of it" (of fn),
    "line 2 of norm" (a helper of theirs), or "a line of a lambda"."""
    own = python_function(fn)
    if own is not None and code.co_filename == own.__code__.co_filename:
        first = own.__code__.co_firstlineno
        last = max((end for _, _, end in own.__code__.co_lines() if end), default=first)
        if first <= line <= last:
            return f"line {line - first + 1} of it"
    if code.co_name.startswith("<"):
        return f"a line of a {code.co_name.strip('<>')}"
    return f"line {line - code.co_firstlineno + 1} of {code.co_name}"


def _no_shortcut(name, fn, watch):
    """Fail if ``fn`` called a library function the exercise forbids (under any name)."""
    if not watch.called:
        return
    library_fn, what, code, line = watch.called[0]
    if origin(code) == "check":          # fn is the library function itself
        message = f"your {name} is {label(library_fn)} itself, {what}."
    else:
        message = f"your function calls {label(library_fn)} ({line_of(fn, code, line)}), {what}."
    fail(name, message + " Here you write that part yourself.",
         f'compute it with numpy from the formula; hint("{name}") says how to start.')


def run(name, fn, *args, call=None, hint=None, more=None, reveal=None, explain=None, watch=None):
    """fn(*args) with copies of the inputs, numpy's warnings silenced, watched (``Watch``)
    for the library functions exercise ``name`` forbids; every way of not answering becomes
    a CheckFailed: a call to such a function, a missing ``return``, NotImplementedError, any
    other exception, and a changed input array (the caller's array would silently change
    under it).

    ``call`` describes the inputs ("softmax(l) with l = [1000, 0]") for the message;
    ``hint`` (and ``more``, ``reveal``) are shown if the function raises an exception.
    ``explain(error)`` or ``explain(error, watch)`` returns (hint, more[, reveal]) for an
    exception it recognises, else None: then ``hint`` and ``more``, or a generic hint, stand.
    ``watch``, if given, is the Watch to record the run in (for its ``steps``).
    """
    copies = [_copy(a) for a in args]
    where = f" on {call}" if call else ""
    if watch is None:
        watch = Watch()
    watch.forbid(forbidden(name))
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"), watch:
            warnings.simplefilter("ignore", RuntimeWarning)
            result = fn(*copies)
    except NotImplementedError:
        fail(name, "not implemented yet.",
             "write your code where it says # YOUR CODE HERE, and delete the `raise NotImplementedError` line.")
    except CheckFailed:
        raise
    except Exception as e:
        _no_shortcut(name, fn, watch)
        advice = _advice(explain, e, watch) if explain else None
        if advice:
            fail(name, f"your function raised {type(e).__name__}{where}: {e}", *advice)
        if hint is None and any(w in str(e) for w in ("broadcast", "matmul", "aligned", "shape")):
            hint = "print the shapes of your arrays (a.shape) just before the line that fails."
        fail(name, f"your function raised {type(e).__name__}{where}: {e}", hint, more, reveal)
    _no_shortcut(name, fn, watch)
    for arg, before, after in zip(_arg_names(fn, len(args)), args, copies):
        if isinstance(before, np.ndarray) and not identical(before, after):
            fail(name, f"your function changed its input {arg}{where}. Whoever calls it would find "
                       f"their {arg} changed afterwards.",
                 f"compute into a new array instead of changing {arg} in place (no {arg} -= ..., "
                 f"{arg}[...] = ..., or {arg} /= ...).",
                 f"write new = {arg} - something instead of {arg} -= something; "
                 f"or start with {arg} = {arg}.copy().")
    if result is None:
        fail(name, "your function returned None — did you forget `return`?")
    return result


def as_array(name, got, call):
    """``got`` as a numpy array; CheckFailed ("{call} returned ..., not numbers.") unless it holds numbers."""
    try:
        a = np.asarray(got)
    except Exception:
        a = None
    if a is None or a.dtype.kind not in "biuf":
        fail(name, f"{call} returned {type(got).__name__} {got!r:.60}, not numbers.")
    return a


def factor_text(k):
    """The factor k as a reader would say it: "10 times", "1/10 of", "minus (the sign is flipped)",
    "1.234 times"; a message goes on with "the expected value"."""
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
            return f"Every entry is {factor_text(k)} the expected value."
    bad = ~np.isclose(g, e, rtol=rtol, atol=atol)
    if got.size == 1:
        return ""
    i = int(np.argmax(np.abs(g - e)))
    where = np.unravel_index(i, got.shape)
    where = where[0] if len(where) == 1 else tuple(int(w) for w in where)
    return (f"{int(bad.sum())} of its {got.size} entries differ; the largest difference is at "
            f"[{where}]: expected {fmt(e[i])}, got {fmt(g[i])}.".replace("[(", "[").replace(")]", "]"))


def compare(name, got, expected, *, call, hint=None, more=None, reveal=None, rtol=1e-5, atol=1e-6,
            floating=True):
    """Raise CheckFailed unless ``got`` matches ``expected``. In order: numbers, the shape, nan
    or inf, a floating dtype (unless ``floating=False``), the values (within rtol, atol); a wrong
    value is described (a factor off, or where the largest difference is), never dumped. ``hint``,
    ``more`` and ``reveal`` as for ``fail``."""
    expected = np.asarray(expected)
    got = as_array(name, got, call)
    if got.shape != expected.shape:
        fail(name, f"{call} returned shape {got.shape}, expected {expected.shape}.", hint, more, reveal)
    if np.all(np.isfinite(expected)) and not np.all(np.isfinite(got)):
        bad = "nan" if np.any(np.isnan(got)) else "inf"
        fail(name, f"{call} returned {bad}: got {fmt(got)}, expected {fmt(expected)}.", hint, more, reveal)
    if floating and got.dtype.kind != "f":
        fail(name, f"{call} returned integers (dtype {got.dtype}); expected floating-point numbers.",
             "integer arithmetic rounds: convert to float before dividing.",
             reveal="use .astype(np.float32), or divide with / rather than //.")
    if not np.allclose(got, expected, rtol=rtol, atol=atol):
        if expected.size <= 12:
            shown = f"\n  expected {fmt(expected)}\n  got      {fmt(got)}"
        else:
            shown = ""
        fail(name, f"{call} returned a wrong value. {_describe_difference(got, expected, rtol, atol)}{shown}",
             hint, more, reveal)


def seeded_rng():
    """A new numpy Generator with the checks' fixed seed: the same inputs on every run."""
    return np.random.default_rng(12345)


def loop_over_items(name, fn, small, large, *, item="example", explain=None):
    """Does ``fn`` go through its input one item at a time? Judged by its work, not its code.

    ``small`` and ``large`` are (n, args, call): the same kind of input with n items
    (examples, images) each. ``fn`` runs on both (with ``run``, so a wrong run fails as
    usual); if its Python steps (lines and calls) grow by at least one per added item,
    the answer is (what, where, times): "a for loop", "line 3 of it", "13 times for a
    batch of 12 examples, 3 for a batch of 2" (the busiest line, or call); else None.
    A loop whose length does not depend on n (over the 10 classes, say) is not one.
    """
    watches = []
    for _, args, call in (small, large):
        watches.append(Watch())
        run(name, fn, *args, call=call, explain=explain, watch=watches[-1])
    (n_small, few), (n_large, many) = ((n, w) for (n, _, _), w in zip((small, large), watches))
    if many.steps - few.steps < n_large - n_small:
        return None
    busiest = many.busiest_line()
    if busiest is not None and busiest[1] >= n_large:
        (code, line), times = busiest
        text = linecache.getline(code.co_filename, line).strip()
        what = ("a for loop" if text.startswith("for ") else "a while loop" if text.startswith("while ")
                else "a comprehension (a for loop in brackets)" if " for " in f" {text}" else "a loop")
        where, before = line_of(fn, code, line), few.lines[(code, line)]
    else:
        code, times = many.busiest_call()
        what, where, before = "a loop in disguise", f"{code.co_name}(), called once per {item}", few.calls[code]
    return what, where, f"{times} times for a batch of {n_large} {item}s, {before} for a batch of {n_small}"
