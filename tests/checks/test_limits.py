"""The budget of CPU seconds (mnistlib/checks/limits.py), and how a check answers an endless loop.

Both ways of stopping code run here on Linux: the profiling timer (Linux, macOS) and the
watchdog thread (Windows, and any thread but the main one), which ``watchdog=True`` forces.
Budgets are tenths of a second, and measured in CPU time, so a busy machine makes these
tests slower by the clock but does not change what they see.
"""

import os
import signal
import sys
import threading
import time

import numpy as np
import pytest

from mnistlib.checks import check_softmax, limits

from helpers import fails

WAYS = [pytest.param(False, id="profiling-timer"), pytest.param(True, id="watchdog")]
SLACK = 1.0       # CPU seconds past the budget before the code must have been stopped
# The kernel counts the profiling timer's CPU time in ticks, time.process_time() exactly: the
# timer may fire a few milliseconds before process_time() reaches the budget.
EARLY = 0.05


def spin():
    """An endless loop, as a learner writes one."""
    n = 0
    while True:
        n += 1


def spin_for(seconds):
    """Use ``seconds`` of CPU time, then return."""
    start = time.process_time()
    while time.process_time() - start < seconds:
        pass


def stopped_after(block, seconds, watchdog):
    """Run ``block()`` in a cpu_limit(seconds); return (the CPUTimeExceeded, CPU seconds it took)."""
    start = time.process_time()
    with pytest.raises(limits.CPUTimeExceeded) as stopped:
        with limits.cpu_limit(seconds, watchdog=watchdog):
            block()
    return stopped.value, time.process_time() - start


@pytest.mark.parametrize("watchdog", WAYS)
def test_an_endless_loop_is_stopped_after_its_cpu_seconds(watchdog):
    error, used = stopped_after(spin, 0.3, watchdog)
    assert error.seconds == 0.3
    assert 0.3 - EARLY <= used < 0.3 + SLACK
    assert "more than 0.3 s of CPU time" in str(error) and "MNISTLIB_CPU_SECONDS" in str(error)


@pytest.mark.parametrize("watchdog", WAYS)
def test_code_within_its_budget_runs_to_the_end_and_nothing_is_left_armed(watchdog):
    handler = signal.getsignal(signal.SIGPROF)
    with limits.cpu_limit(0.5, watchdog=watchdog):
        spin_for(0.1)
        result = np.ones((50, 50)) @ np.ones((50, 50))
    assert result[0, 0] == 50
    spin_for(0.8)                            # past the budget, outside the block: no exception
    assert signal.getsignal(signal.SIGPROF) == handler
    assert signal.getitimer(signal.ITIMER_PROF) == (0.0, 0.0)
    for watcher in [t for t in threading.enumerate() if t.name == "mnistlib-cpu-limit"]:
        watcher.join(timeout=5)              # it sees the block has ended within POLL seconds
        assert not watcher.is_alive()


def test_off_the_main_thread_the_watchdog_stops_that_thread():
    seen = {}

    def learner():
        try:
            with limits.cpu_limit(0.3):
                spin()
        except limits.CPUTimeExceeded as e:
            seen["error"] = e

    thread = threading.Thread(target=learner)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive() and seen["error"].seconds == 0.3


@pytest.mark.parametrize("watchdog", WAYS)
def test_code_that_catches_the_exception_is_stopped_again(watchdog):
    def stubborn():
        for _ in range(3):                   # a learner's `except BaseException:` in a loop
            try:
                spin()
            except limits.CPUTimeExceeded:
                pass
        spin()

    _, used = stopped_after(stubborn, 0.2, watchdog)
    assert used < 0.2 + 4 * limits.REPEAT + SLACK


def test_a_limit_inside_another_leaves_the_outer_budget_in_charge():
    start = time.process_time()
    with pytest.raises(limits.CPUTimeExceeded) as stopped:
        with limits.cpu_limit(0.3):
            with limits.cpu_limit(30):
                spin()
    assert stopped.value.seconds == 0.3 and time.process_time() - start < 0.3 + SLACK


@pytest.mark.parametrize("text, seconds", [("", limits.DEFAULT_SECONDS), ("2.5", 2.5), (" 30 ", 30.0),
                                           ("0", None), ("off", None)])
def test_the_budget_comes_from_the_environment(monkeypatch, text, seconds):
    monkeypatch.setenv(limits.ENV, text)
    assert limits.budget() == seconds


@pytest.mark.parametrize("text", ["ten", "-1", "inf", "nan"])
def test_a_budget_that_is_not_a_number_of_seconds_is_named(monkeypatch, text):
    monkeypatch.setenv(limits.ENV, text)
    with pytest.raises(ValueError, match=f"MNISTLIB_CPU_SECONDS={text!r}: expected a number of CPU seconds"):
        limits.budget()


def looping_softmax(l):
    while True:
        l = l + 0


def test_a_check_fails_an_endless_loop_and_names_it(monkeypatch):
    monkeypatch.setenv(limits.ENV, "0.3")
    failure = fails(check_softmax, looping_softmax, "softmax: your function used more than 0.3 s of CPU time",
                    "an endless loop?", "look at each loop in your softmax")
    assert failure.__cause__ is None and failure.__suppress_context__


def test_without_strict_the_check_hands_on_mnistlibs_version(monkeypatch, capsys):
    monkeypatch.setenv(limits.ENV, "0.3")
    softmax = check_softmax(looping_softmax)
    assert getattr(softmax, "_mnistlib_reference", False)
    np.testing.assert_allclose(softmax(np.zeros(10)), np.full(10, 0.1))
    out = capsys.readouterr().out
    assert out.startswith("✗ softmax: your function used more than 0.3 s of CPU time")
    assert "The cells below use mnistlib's softmax instead of yours" in out


def test_an_interrupted_check_fails_like_an_endless_loop(monkeypatch):
    """A real SIGINT, as Jupyter's stop button or nbgrader's timeout sends, during a function
    that waits without using the CPU (which no CPU budget would stop)."""
    monkeypatch.setenv(limits.ENV, "off")

    def waiting_softmax(l):
        while True:
            time.sleep(0.01)

    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        fails(check_softmax, waiting_softmax, "softmax: your function was interrupted before it returned",
              "an endless loop?")
    finally:
        timer.cancel()


def test_stopped_says_what_to_look_at():
    message, hint = limits.stopped("softmax", limits.CPUTimeExceeded(10))
    assert message == "your function used more than 10 s of CPU time and was stopped: an endless loop?"
    assert "your softmax" in hint and "MNISTLIB_CPU_SECONDS" in hint
    message, hint = limits.stopped("softmax", KeyboardInterrupt())
    assert "interrupted" in message and "MNISTLIB_CPU_SECONDS" not in hint


def test_after_the_watchdog_a_traced_check_is_still_stopped():
    """The watchdog leaves nothing behind in the interpreter: a later limit under sys.settrace
    (as every check runs the learner's code) still stops an endless loop."""
    stopped_after(spin, 0.2, watchdog=True)
    tracer = lambda frame, event, arg: tracer  # noqa: E731
    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        _, used = stopped_after(spin, 0.2, watchdog=False)
    finally:
        sys.settrace(previous)
    assert used < 0.2 + SLACK
