"""The machinery every check shares (``mnistlib/checks/framework.py``), shown on the checks.

Every way of not answering fails and says which; a check prints nothing but its result and
no warning; in a notebook a passing check returns the learner's function and a failing one
prints why and hands back mnistlib's; a wrong value is described, not dumped.
"""

import warnings

import numpy as np
import pytest

from mnistlib import checks, model
from mnistlib.checks import CheckFailed
from mnistlib.checks import framework, hints
from mnistlib.checks.framework import factor_text

from helpers import fails


def softmax(l):
    """A learner's right answer, for the tests of the notebook flow."""
    e = np.exp(l - l.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_checkfailed_is_an_assertion_error():
    assert issubclass(CheckFailed, AssertionError)


# --- the generic failures, shown on every check -------------------------------

EARLY = [checks.check_best_class, checks.check_flatten, checks.check_ink_box, checks.check_softmax,
         checks.check_log_softmax]
NOTEBOOK_07 = [checks.check_gradients_loop, checks.check_gradients_vectorised, checks.check_minibatch_epoch]
LATER = [checks.check_numerical_gradient, checks.check_example_gradients, checks.check_gradient_descent,
         checks.check_bowl_lr, checks.check_update_step, *NOTEBOOK_07, checks.check_mlp_gradients,
         checks.check_he_init]


@pytest.mark.parametrize("check", EARLY, ids=lambda c: c.exercise)
def test_returns_none(check):
    fails(check, lambda *args: None, "returned None", "forget `return`")


@pytest.mark.parametrize("check", EARLY, ids=lambda c: c.exercise)
def test_not_implemented(check):
    def todo(*args):
        raise NotImplementedError("your turn")
    fails(check, todo, "not implemented yet")


@pytest.mark.parametrize("check", EARLY, ids=lambda c: c.exercise)
def test_other_exception_shows_type_and_message(check):
    def crash(*args):
        raise KeyError("oops")
    fails(check, crash, "raised KeyError", "oops")


@pytest.mark.parametrize("check", EARLY, ids=lambda c: c.exercise)
def test_not_numbers(check):
    fails(check, lambda *args: "hello", "not numbers")


@pytest.mark.parametrize("check", NOTEBOOK_07, ids=lambda c: c.exercise)
def test_a_pair_of_words_is_not_numbers(check):
    fails(check, lambda *args: ("a", "b"), "not numbers")


@pytest.mark.parametrize("check", LATER, ids=lambda c: c.exercise)
def test_blank_missing_return_and_crash(check):
    def todo(*args):
        raise NotImplementedError("your turn")

    def crash(*args):
        raise KeyError("oops")
    fails(check, todo, "not implemented yet")
    fails(check, lambda *args: None, "returned None", "forget `return`")
    fails(check, crash, "raised KeyError", "oops")


def test_checks_do_not_warn_or_print_on_failure(capsys):
    # An overflow in the learner's code is reported by the check, not as a RuntimeWarning,
    # so the notebook output stays the same from run to run.
    def naive(l):
        e = np.exp(l)
        return e / e.sum(axis=-1, keepdims=True)
    with warnings.catch_warnings(record=True) as log:
        warnings.simplefilter("always")
        with pytest.raises(CheckFailed):
            checks.check_softmax(naive, strict=True)
    assert not log, [str(w.message) for w in log]
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("vandal", [
    lambda l: (np.subtract(l, l.max(axis=-1, keepdims=True), out=l), softmax(l))[1],
    lambda l: (l.__setitem__(Ellipsis, 0), np.full(np.shape(l), 1 / np.shape(l)[-1]))[1],
])
def test_a_function_that_changes_its_input_fails_and_says_so(vandal):
    fails(checks.check_softmax, vandal, "changed its input l", "in place")


# --- the notebook flow: pass returns yours, fail prints and returns mnistlib's ------

def test_a_passing_check_returns_the_learners_function(capsys):
    assert checks.check_softmax(softmax) is softmax
    assert capsys.readouterr().out == "✓ softmax: all 9 checks passed\n"


def test_a_failing_check_prints_and_hands_back_the_reference(capsys):
    wrong = lambda l: np.exp(l)                                          # noqa: E731
    ref = checks.check_softmax(wrong)
    out = capsys.readouterr().out
    assert out.startswith("✗ softmax: ") and "don't sum to 1" in out and "Hint:" in out
    assert "use mnistlib's softmax instead of yours" in out
    np.testing.assert_allclose(ref(np.array([1.0, 2.0])), model.softmax(np.array([1.0, 2.0])))
    # handed the reference again (the learner re-ran only the check cell), the check says so
    again = checks.check_softmax(ref)
    assert "mnistlib's own softmax" in capsys.readouterr().out and again is not ref


@pytest.mark.parametrize("check", LATER[:5], ids=lambda c: c.exercise)
def test_a_failed_check_hands_back_a_reference_that_passes(check, capsys, monkeypatch):
    ref = check(lambda *args: None)
    out = capsys.readouterr().out
    assert out.startswith(f"✗ {check.exercise}: ") and "use mnistlib's" in out
    # the reference is right: unmarked, it passes its own check, once it may use the library
    # functions that a learner may not (the reference is built on them)
    monkeypatch.setitem(framework._shortcuts, check.exercise, None)
    assert check(ref.__wrapped__, strict=True) is ref.__wrapped__


# --- hints: how to start, narrower, then a line of the solution only on request ------

EXERCISES = sorted(c.exercise for c in (getattr(checks, n) for n in checks.__all__) if hasattr(c, "exercise"))


@pytest.mark.parametrize("name", EXERCISES)
def test_every_exercise_has_a_ladder_of_short_hints_that_hold_no_line_of_its_solution(name):
    ladder = hints.ladder(name)
    assert ladder is not None and len(ladder.hints) >= 2 and ladder.reveal
    for h in ladder.hints:
        assert ladder.reveal not in h and len(h) < 400, h


@pytest.mark.parametrize("name", EXERCISES)
def test_hints_work_before_any_attempt_narrow_down_and_say_when_the_next_is_the_answer(name, capsys):
    ladder = hints.ladder(name)
    for k, expected in enumerate(ladder.hints, 1):
        checks.hint(name)
        out = capsys.readouterr().out
        assert out.startswith(f"Hint {k} for {name}: {expected}\n") and ladder.reveal not in out
        last = k == len(ladder.hints)
        assert (f'hint("{name}", reveal=True) shows a line of the solution' in out) == last, out
    checks.hint(name)
    assert "No more hints" in capsys.readouterr().out
    checks.hint(name, reveal=True)
    assert capsys.readouterr().out == f"A line of the solution of {name}: {ladder.reveal}\n"


def test_after_a_failure_the_first_hint_is_about_that_mistake_and_reveal_fixes_it(capsys):
    def no_keepdims(l):
        e = np.exp(l - l.max(axis=-1))
        return e / e.sum(axis=-1, keepdims=True)
    checks.check_softmax(no_keepdims)
    first = capsys.readouterr().out
    assert 'hint("softmax")' in first and "keepdims=True" not in first       # the nudge, not the line
    checks.hint("softmax")
    out = capsys.readouterr().out
    assert out.startswith("Hint 1 for softmax: ") and "keepdims=True" not in out
    checks.hint("softmax", reveal=True)
    assert "keepdims=True keeps the axis you reduce over" in capsys.readouterr().out


def test_a_failure_with_a_hint_of_its_own_gives_it_first(capsys):
    checks.check_best_class(lambda s: max(s))
    capsys.readouterr()
    checks.hint("best_class")
    assert "stands at position 4" in capsys.readouterr().out
    checks.hint("best_class")                   # then the exercise's own hints
    assert capsys.readouterr().out.startswith(f"Hint 2 for best_class: {hints.ladder('best_class').hints[0]}")


def test_hint_after_a_pass_and_for_an_unknown_name(capsys):
    checks.check_softmax(softmax)
    capsys.readouterr()
    checks.hint("softmax")
    assert "passed its check" in capsys.readouterr().out
    checks.hint("sofmax")
    out = capsys.readouterr().out
    assert 'No exercise is called "sofmax"' in out and "softmax" in out


@pytest.mark.parametrize("k, text", [(10, "10 times"), (0.1, "1/10 of"), (-1, "minus"), (0.025, "1/40 of"),
                                     (1.2345, "1.234 times")])
def test_factors_are_said_as_a_reader_would(k, text):
    assert factor_text(k).startswith(text)


def example_gradients(x, y, W, b):
    delta = softmax(x @ W + b) - np.eye(10)[y]
    return np.outer(x, delta), delta


def test_a_wrong_matrix_is_described_not_dumped():
    msg = str(fails(checks.check_example_gradients,
                    lambda x, y, W, b: tuple(g / 8 for g in example_gradients(x, y, W, b)), "1/8 of the expected"))
    assert "..." not in msg and len(msg) < 600
    one_off = lambda x, y, W, b: (example_gradients(x, y, W, b)[0] + np.eye(784, 10)[::-1] * 0.5,   # noqa: E731
                                  example_gradients(x, y, W, b)[1])
    fails(checks.check_example_gradients, one_off, "entries differ", "largest difference is at [")


# --- shortcuts: judged by what the function calls, whatever the names ----------------

def test_the_librarys_function_fails_under_any_name():
    import functools

    import mnistlib.model
    from mnistlib.model import softmax as probabilities

    def through_the_module(l):
        return mnistlib.model.softmax(l)

    def in_a_helper(l):
        return normalise(l)

    def normalise(l):
        return probabilities(l)

    for fn, where in [(lambda l: probabilities(l), "line 1 of it"), (through_the_module, "line 2 of it"),
                      (functools.partial(probabilities), "is softmax() from mnistlib.model itself"),
                      (in_a_helper, "line 2 of normalise"), (model.softmax, "itself")]:
        fails(checks.check_softmax, fn, "softmax() from mnistlib.model", where, "which does the whole job")


def test_a_learners_own_helper_passes_whatever_its_name():
    def gradients(X, y, W, b):                 # the learner's own, named like mnistlib's
        D = softmax(X @ W + b) - np.eye(10)[y]
        return X.T @ D / len(X), D.mean(axis=0)

    def gradients_loop_free(X, y, W, b):       # "loop" in a name is no loop
        return gradients(X, y, W, b)

    def log_softmax(l):
        return np.log(softmax(l))              # softmax is allowed here; log_softmax is not

    assert checks.check_gradients_vectorised(gradients_loop_free, strict=True) is gradients_loop_free
    assert checks.check_softmax(lambda l: np.exp(log_softmax(l)), strict=True)


def test_watching_a_check_leaves_another_tracer_in_place():
    import sys
    calls = []

    def tracer(frame, event, arg):
        calls.append(event)
        return None
    sys.settrace(tracer)
    try:
        checks.check_softmax(softmax, strict=True)
        assert sys.gettrace() is tracer
    finally:
        sys.settrace(None)


# --- every check of a batch tries a batch of one; the epoch, n far from batch_size² ------

# (check, which argument is the batch): for the epoch, batch_size itself.
BATCHED = [(checks.check_softmax, 0), (checks.check_log_softmax, 0), (checks.check_update_step, 0),
           (checks.check_gradients_loop, 0), (checks.check_gradients_vectorised, 0),
           (checks.check_minibatch_epoch, 5), (checks.check_mlp_gradients, 1), (checks.check_confusion_matrix, 0),
           (checks.check_conv_forward_loops, 0), (checks.check_kernel_gradient, 0), (checks.check_input_gradient, 0)]


def _recording(check, monkeypatch, record):
    """mnistlib's answer to ``check``, which records its arguments with ``record(args)`` first."""
    monkeypatch.setitem(framework._shortcuts, check.exercise, None)   # the reference uses the library
    reference = check.reference().__wrapped__

    def answer(*args):
        record(args)
        return reference(*args)
    return answer


@pytest.mark.parametrize("check, batch", BATCHED, ids=lambda c: getattr(c, "exercise", ""))
def test_every_check_whose_function_takes_a_batch_tries_a_batch_of_one(check, batch, monkeypatch):
    sizes = []
    size = lambda arg: arg if isinstance(arg, int) else np.shape(arg)[0]        # noqa: E731
    check(_recording(check, monkeypatch, lambda args: sizes.append(size(args[batch]))), strict=True)
    assert 1 in sizes and max(sizes) > 1, sizes


def test_the_epoch_check_tries_n_far_from_batch_size_squared(monkeypatch):
    seen = []
    check = checks.check_minibatch_epoch
    check(_recording(check, monkeypatch, lambda args: seen.append((len(args[0]), args[5]))), strict=True)
    assert any(abs(n - bs * bs) > bs for n, bs in seen) and any(bs == 1 for n, bs in seen), seen


# --- loop_over_items: a loop over the items is told by the work it does ---------------

def _items(n):
    return n, (np.arange(n),), f"f(x) with {n} items"


def test_loop_over_items_names_a_loop_over_the_items_and_how_often_it_ran():
    def per_item(x):
        total = 0
        for v in x:
            total += v
        return total
    what, where, how_often = framework.loop_over_items("f", per_item, _items(3), _items(30), item="number")
    assert what == "a for loop" and where == "line 3 of it"
    assert how_often == "31 times for a batch of 30 numbers, 4 for a batch of 3"


def test_loop_over_items_accepts_a_loop_of_fixed_length_and_whole_array_work():
    def per_class(x):
        return [int(np.sum(x % 10 == k)) for k in range(10)]
    assert framework.loop_over_items("f", per_class, _items(3), _items(30)) is None
    assert framework.loop_over_items("f", lambda x: np.bincount(x % 10), _items(3), _items(30)) is None
