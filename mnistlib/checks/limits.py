"""A budget of CPU seconds for the learner's code: an endless loop becomes a failed check.

A check runs the learner's function inside ``cpu_limit()`` (``framework.exercise``),
and so do the graded course's hidden tests (tools/make_course.py). Past the budget
the code is stopped with ``CPUTimeExceeded``; the check turns that into a failure
("your function used more than 10 s of CPU time and was stopped: an endless
loop?") and, as after any failure, hands mnistlib's version to the cells below.
The check treats a ``KeyboardInterrupt`` the same way: the learner pressed the
stop button, or nbgrader's wall-clock timeout interrupted the kernel.

The budget counts CPU time, not the clock: on a classroom server busy with forty
kernels a right answer takes longer by the clock, but not in CPU seconds, so it
still passes. It is the CPU time of the whole process, every thread included (numpy's
BLAS threads count), as ``time.process_time()`` measures it.

How much: ``MNISTLIB_CPU_SECONDS`` in the environment (seconds, e.g. ``30``; ``0`` or
``off`` for no limit), read each time a check starts; without it, DEFAULT_SECONDS.
``cpu_limit(seconds)`` takes a budget of its own.

How the code is stopped:

- Linux and macOS, in the main thread (where Jupyter runs every cell): a profiling
  timer, ``signal.setitimer(signal.ITIMER_PROF, ...)``, which counts the process's
  CPU time. Its signal, SIGPROF, raises CPUTimeExceeded in the main thread.
- Windows, which has no such timer, and any thread but the main one: a watchdog
  thread compares ``time.process_time()`` with the budget every POLL seconds and
  raises CPUTimeExceeded in the limited thread with ``PyThreadState_SetAsyncExc``.

Either way Python stops the code between two bytecodes, so one call into compiled
code (a single huge numpy operation) runs to its end first. A call like that which
never ends, and code that waits without using the CPU (``time.sleep`` in a loop), are
beyond this limit on every system. Under nbgrader its timeout per cell
(``c.Execute.timeout``, in wall-clock seconds) interrupts them.

After the budget runs out, the exception is raised again every REPEAT seconds of
CPU time, REPEATS times at most, in case the code catches it (a bare ``except:`` in
a loop). A limit inside another adds nothing: the outer one governs.
"""

import ctypes
import os
import signal
import threading
import time

__all__ = ["CPUTimeExceeded", "cpu_limit", "budget", "stopped", "ENV", "DEFAULT_SECONDS"]

ENV = "MNISTLIB_CPU_SECONDS"
# Per check. The slowest right answers take under 1 s of CPU time (a check that trains
# small models), so this leaves a slow laptop ten times that, and more.
DEFAULT_SECONDS = 10.0
REPEAT = 0.1        # seconds of CPU time between two repeats of the exception
REPEATS = 50
POLL = 0.05         # seconds by the clock between two looks of the watchdog

_in_limit = threading.local()


class CPUTimeExceeded(BaseException):
    """The code ran past its budget of CPU seconds, and was stopped.

    A BaseException, as KeyboardInterrupt is, so that neither a learner's
    ``except Exception`` nor a check's handling of a function that raises swallows it.
    """

    def __init__(self, seconds=None):
        super().__init__(seconds)
        self.seconds = seconds

    def __str__(self):
        budget = f"{self.seconds:g} s" if self.seconds is not None else "its budget"
        return (f"the code used more than {budget} of CPU time and was stopped (the limit for one "
                f"exercise; {ENV} sets it): an endless loop?")


def budget():
    """The budget in CPU seconds per check: ``MNISTLIB_CPU_SECONDS``, else DEFAULT_SECONDS;
    None for no limit (0 or "off"). Raises ValueError for any other text."""
    text = os.environ.get(ENV, "").strip()
    if not text:
        return DEFAULT_SECONDS
    if text.lower() in ("off", "none", "no"):
        return None
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not seconds >= 0 or seconds == float("inf"):
        raise ValueError(f"{ENV}={text!r}: expected a number of CPU seconds per check, e.g. 30, "
                         "or 0 for no limit")
    return seconds or None


def stopped(name, error):
    """(message, hint) for a check whose learner's function ``name`` was stopped by ``error``,
    a CPUTimeExceeded or a KeyboardInterrupt."""
    hint = (f"look at each loop in your {name}: does its condition become false, does what it tests "
            "change inside the loop? Try it on a tiny input with a print() in the loop.")
    if isinstance(error, CPUTimeExceeded):
        return (f"your function used more than {error.seconds:g} s of CPU time and was stopped: an "
                "endless loop?",
                f"{hint} (A right answer takes well under a second; to allow more, set {ENV}, e.g. to 60.)")
    return ("your function was interrupted before it returned (under nbgrader: it ran past the time "
            "for one cell): an endless loop?", hint)


class cpu_limit:
    """``with cpu_limit():`` runs the block with a budget of CPU seconds (default: ``budget()``).

    Past it, raises CPUTimeExceeded (with ``.seconds``) in the thread that entered.
    ``watchdog=True`` uses the watchdog thread even where the profiling timer would work
    (the module docstring says which is used where).
    """

    def __init__(self, seconds=None, *, watchdog=False):
        self.seconds, self.watchdog, self.stopper = seconds, watchdog, None

    def __enter__(self):
        seconds = budget() if self.seconds is None else self.seconds
        if not seconds or getattr(_in_limit, "active", False):
            return self
        self.seconds = seconds
        if not self.watchdog and _profiling_timer_works():
            self.stopper = _ProfilingTimer(seconds)
        else:
            self.stopper = _Watchdog(seconds, threading.get_ident())
        _in_limit.active = True
        self.stopper.start()
        return self

    def __exit__(self, kind, error, traceback):
        if self.stopper is None:
            return False
        # The budget may run out just as the block ends, and the exception land here, before
        # the stopper is stopped: stop it whatever lands. (The block had finished.)
        while True:
            try:
                self.stopper.stop()
                break
            except CPUTimeExceeded:
                pass
        _in_limit.active = False
        if isinstance(error, CPUTimeExceeded) and error.seconds is None:
            # the watchdog can only raise the bare class: say the budget
            raise CPUTimeExceeded(self.seconds).with_traceback(traceback) from None
        return False


def _profiling_timer_works():
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


class _ProfilingTimer:
    """SIGPROF after ``seconds`` of the process's CPU time (Linux, macOS; main thread only)."""

    def __init__(self, seconds):
        self.seconds, self.fired, self.active = seconds, 0, False

    def start(self):
        self.active = True
        self.old_handler = signal.signal(signal.SIGPROF, self._fire)
        self.old_timer = signal.setitimer(signal.ITIMER_PROF, self.seconds, REPEAT)

    def _fire(self, signum, frame):
        if not self.active:
            return
        self.fired += 1
        if self.fired > REPEATS:
            signal.setitimer(signal.ITIMER_PROF, 0)
            return
        raise CPUTimeExceeded(self.seconds)

    def stop(self):
        self.active = False
        signal.setitimer(signal.ITIMER_PROF, 0)
        # A handler installed outside Python reads as None and cannot be put back; ours, now
        # inactive, then stays and ignores the signal.
        if self.old_handler is not None:
            signal.signal(signal.SIGPROF, self.old_handler)
        if self.old_timer[0] > 0:            # someone else's timer (a profiler): running again
            signal.setitimer(signal.ITIMER_PROF, *self.old_timer)


class _Watchdog:
    """A thread that raises CPUTimeExceeded in thread ``target`` once the process has used
    ``seconds`` more of CPU time (any system, any thread)."""

    def __init__(self, seconds, target):
        self.seconds, self.target = seconds, target
        self.done, self.lock = threading.Event(), threading.Lock()

    def start(self):
        self.deadline = time.process_time() + self.seconds
        threading.Thread(target=self._watch, name="mnistlib-cpu-limit", daemon=True).start()

    def _watch(self):
        fired = 0
        while not self.done.wait(POLL):
            if time.process_time() < self.deadline + fired * REPEAT:
                continue
            with self.lock:
                if self.done.is_set():
                    return
                _raise_in(self.target, ctypes.py_object(CPUTimeExceeded))
            fired += 1
            if fired > REPEATS:
                return

    def stop(self):
        with self.lock:
            self.done.set()
        # An exception raised just before is delivered at the next call: here, where
        # cpu_limit.__exit__ catches it. (Clearing it with PyThreadState_SetAsyncExc(NULL)
        # instead leaves CPython 3.11's eval breaker set for good, which can hang a later
        # profiling timer under sys.settrace.)
        _deliver_pending()


def _deliver_pending():
    """A Python call: the interpreter delivers an exception raised in this thread at its start."""


def _raise_in(thread_id, exception):
    """Have thread ``thread_id`` raise ``exception`` (a py_object of an exception class) at its
    next bytecode."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), exception)
