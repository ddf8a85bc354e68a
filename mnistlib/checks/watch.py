"""Watching a learner's function run: which library functions it calls, and how much Python it runs.

A check judges what a function does, not what its code is called. ``Watch`` records,
with ``sys.settrace``, while the function runs:

- the calls it makes itself (from its own code or its helpers, whatever their names)
  to the library functions an exercise forbids, such as mnistlib's own ``softmax`` in
  the softmax exercise, however they were imported or renamed;
- ``steps``: the Python calls and lines it runs, so that a check can tell a loop over
  the examples from one pass of numpy over the whole batch (run it on a small and a
  large batch: a loop's steps grow with the batch);
- the last value a mnistlib function handed back to it, so that an error in the line
  that received it can be explained (``returned_on``).

The code of mnistlib, numpy and the rest of the installed packages counts as
library; everything else (a notebook's cells, a test file, the checks' own
inputs) as the learner's.
"""

import os
import sys
import sysconfig
from collections import Counter

__all__ = ["Watch", "python_function", "label", "origin", "imported"]

_HERE = os.path.dirname(os.path.abspath(__file__))
_MNISTLIB = os.path.dirname(_HERE)
_INSTALLED = tuple(sorted({os.path.abspath(p) for k, p in sysconfig.get_paths().items()
                           if k in ("stdlib", "platstdlib", "purelib", "platlib")}))


_ORIGIN = {}          # file name -> its origin, as origin() says


def origin(code):
    """Where ``code`` comes from: "check" (mnistlib.checks: a check, or an input it made),
    "mnistlib", "library" (numpy, the standard library, any installed package) or "learner"."""
    filename = code.co_filename
    kind = _ORIGIN.get(filename)
    if kind is None:
        path = os.path.abspath(filename) if os.path.isabs(filename) else filename
        if path.startswith(_HERE + os.sep):
            kind = "check"
        elif path.startswith(_MNISTLIB + os.sep):
            kind = "mnistlib"
        elif path.startswith(_INSTALLED) or filename.startswith("<frozen"):
            kind = "library"
        else:
            kind = "learner"
        _ORIGIN[filename] = kind
    return kind


def python_function(obj):
    """The plain Python function behind ``obj`` (unwrapping numpy's dispatchers and
    functools.wraps), or None if there is none to watch."""
    seen = set()
    while obj is not None and id(obj) not in seen:
        seen.add(id(obj))
        if hasattr(obj, "__code__"):
            return obj
        obj = getattr(obj, "__wrapped__", None) or getattr(obj, "_implementation", None)
    return None


def imported(module, *names):
    """The functions ``names`` of ``module`` (e.g. "scipy.special") if the module is imported
    already: a learner who calls one has imported it. Nothing is imported here."""
    mod = sys.modules.get(module)
    return [getattr(mod, n) for n in names if hasattr(mod, n)] if mod is not None else []


def label(fn):
    """How a message names a library function: "softmax() from mnistlib.model"."""
    return f"{getattr(fn, '__qualname__', fn.__name__)}() from {fn.__module__}"


class Watch:
    """Use as ``with Watch(forbidden) as watch: fn(...)``; then read what fn did.

    A call counts as the learner's if it comes from the learner's code or a check's
    (then the learner's function is the library function itself).

    ``forbidden`` maps library functions to what they are ("which does the whole job").
    After the run:

    - ``called``: [(function, what, caller code, caller line)], each forbidden function
      called straight from the learner's code, in order;
    - ``steps``: Python calls plus lines of the learner's code run;
    - ``lines``: Counter of (code, line) of the learner's code, how often each ran;
    - ``calls``: Counter of the code objects called, learner's and library's.
    """

    def __init__(self, forbidden=None):
        self._forbidden = {}
        self.forbid(forbidden or {})
        self.called = []
        self.steps = 0
        self.lines = Counter()
        self.calls = Counter()
        self._returned = None
        self._outer = None

    def forbid(self, functions):
        """Watch for calls to these library functions too ({function: what it is})."""
        for fn, what in functions.items():
            py = python_function(fn)
            if py is not None:
                self._forbidden[py.__code__] = (py, what)

    def __enter__(self):
        self._outer = sys.gettrace()
        sys.settrace(self._on_call)
        return self

    def __exit__(self, *exc):
        sys.settrace(self._outer)
        return False

    def _on_call(self, frame, event, arg):
        if event != "call":
            return None
        code, caller = frame.f_code, frame.f_back
        self.steps += 1
        self.calls[code] += 1
        by_learner = caller is not None and origin(caller.f_code) in ("learner", "check")
        if by_learner and code in self._forbidden:
            fn, what = self._forbidden[code]
            self.called.append((fn, what, caller.f_code, caller.f_lineno))
        kind = origin(code)
        if kind in ("learner", "check"):
            return self._on_line
        if kind == "mnistlib" and by_learner:
            frame.f_trace_lines = False           # only its return, for returned_on
            return self._on_return
        return None

    def _on_line(self, frame, event, arg):
        if event == "line":
            self.steps += 1
            self.lines[(frame.f_code, frame.f_lineno)] += 1
        return self._on_line

    def _on_return(self, frame, event, arg):
        if event == "return" and frame.f_back is not None:
            self._returned = (frame.f_code, arg, frame.f_back.f_code, frame.f_back.f_lineno)
        return self._on_return

    def returned_on(self, error):
        """(mnistlib function's code, value) if ``error`` was raised in the very line of the
        learner's code to which a mnistlib function had just returned that value; else None."""
        tb = error.__traceback__
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        if tb is None or self._returned is None:
            return None
        code, value, caller, line = self._returned
        if tb.tb_frame.f_code is caller and tb.tb_lineno == line:
            return code, value
        return None

    def busiest_line(self):
        """((code, line), times) of the learner's line that ran most often, or None."""
        return self.lines.most_common(1)[0] if self.lines else None

    def busiest_call(self):
        """(code, times) of the function called most often, or None; a public name (numpy's
        outer) comes before a private helper called as often (its _outer_dispatcher)."""
        if not self.calls:
            return None
        return max(self.calls.items(), key=lambda item: (item[1], not item[0].co_name.startswith("_")))
