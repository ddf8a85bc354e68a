"""The exercise checks pass the reference solutions and catch the usual mistakes with a useful message."""

import warnings

import numpy as np
import pytest

from mnistlib import checks, model
from mnistlib.checks import CheckFailed


def fails(check, fn, *phrases):
    """Run ``check(fn, strict=True)``, expect CheckFailed, and that its message contains every phrase."""
    with pytest.raises(CheckFailed) as info:
        check(fn, strict=True)
    for phrase in phrases:
        assert phrase in str(info.value), f"{phrase!r} not in message:\n{info.value}"
    return str(info.value)


def test_checkfailed_is_an_assertion_error():
    assert issubclass(CheckFailed, AssertionError)


# --- the generic failures, shown on every check -------------------------------

ALL = [checks.check_flatten, checks.check_logits, checks.check_softmax, checks.check_cross_entropy]


@pytest.mark.parametrize("check", ALL)
def test_returns_none(check):
    fails(check, lambda *args: None, "returned None", "forget `return`")


@pytest.mark.parametrize("check", ALL)
def test_not_implemented(check):
    def todo(*args):
        raise NotImplementedError("your turn")
    fails(check, todo, "not implemented yet")


@pytest.mark.parametrize("check", ALL)
def test_other_exception_shows_type_and_message(check):
    def crash(*args):
        raise KeyError("oops")
    fails(check, crash, "raised KeyError", "oops")


@pytest.mark.parametrize("check", ALL)
def test_not_numbers(check):
    fails(check, lambda *args: "hello", "not numbers")


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
    lambda l: (np.subtract(l, l.max(axis=-1, keepdims=True), out=l), model.softmax(l))[1],
    lambda l: (l.__setitem__(Ellipsis, 0), np.full(np.shape(l), 1 / np.shape(l)[-1]))[1],
])
def test_a_function_that_changes_its_input_fails_and_says_so(vandal):
    fails(checks.check_softmax, vandal, "changed its input l", "in place")


# --- the notebook flow: pass returns yours, fail prints and returns mnistlib's ------

def test_a_passing_check_returns_the_learners_function(capsys):
    assert checks.check_softmax(softmax) is softmax
    assert capsys.readouterr().out == "✓ softmax: all 5 checks passed\n"


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


def test_hint_gives_the_second_step_only_when_asked(capsys):
    def naive(l):
        e = np.exp(l)
        return e / e.sum(axis=-1, keepdims=True)
    checks.check_softmax(naive)
    first = capsys.readouterr().out
    assert 'hint("softmax")' in first and "l.max(" not in first     # the nudge, not the line
    checks.hint("softmax")
    assert "l.max(" in capsys.readouterr().out
    checks.check_softmax(softmax)
    capsys.readouterr()
    checks.hint("softmax")
    assert "No failed check of softmax" in capsys.readouterr().out


@pytest.mark.parametrize("k, text", [(10, "10 times"), (0.1, "1/10 of"), (-1, "minus"), (0.025, "1/40 of"),
                                     (1.2345, "1.234 times")])
def test_factors_are_said_as_a_reader_would(k, text):
    assert checks._factor_text(k).startswith(text)


def test_a_wrong_matrix_is_described_not_dumped():
    x, y, W, b = checks._gradient_inputs()
    msg = fails(checks.check_batch_gradients, lambda x, y, W, b: tuple(g / 8 for g in model.gradients(x, y, W, b)[:2]),
                "1/8 of the expected")
    assert "..." not in msg and len(msg) < 600
    one_off = lambda x, y, W, b: (model.gradients(x, y, W, b)[0] + np.eye(784, 10)[::-1] * 0.5,   # noqa: E731
                                  model.gradients(x, y, W, b)[1])
    fails(checks.check_batch_gradients, one_off, "entries differ", "largest difference is at [")


# --- flatten ------------------------------------------------------------------

def flatten(image):
    return image.reshape(784).astype(np.float32) / 255


def test_flatten_passes(capsys):
    checks.check_flatten(flatten)
    assert capsys.readouterr().out == "✓ flatten: all 2 checks passed\n"


def test_flatten_mistakes():
    fails(checks.check_flatten, lambda im: im.astype(np.float32) / 255, "shape (28, 28)", "reshape")
    fails(checks.check_flatten, lambda im: im.reshape(1, 784) / 255, "shape (1, 784)")
    fails(checks.check_flatten, lambda im: im.reshape(784).astype(float), "values in [0, 1]", "255")
    fails(checks.check_flatten, lambda im: im.T.reshape(784) / 255, "column by column")
    fails(checks.check_flatten, lambda im: im.reshape(784) // 255, "integers")
    fails(checks.check_flatten, lambda im: np.zeros(784), "wrong value")


# --- logits -------------------------------------------------------------------

def test_logits_passes(capsys):
    checks.check_logits(lambda x, W, b: x @ W + b)
    checks.check_logits(model.logits)
    assert capsys.readouterr().out.count("✓ logits: all 3 checks passed") == 2


def test_logits_missing_bias():
    fails(checks.check_logits, lambda x, W, b: x @ W, "without the bias", "add the bias")


def test_logits_transposed_W():
    # Works for one image, not for a batch.
    msg = fails(checks.check_logits, lambda x, W, b: W.T @ x + b, "batch")
    assert "raised ValueError" in msg
    fails(checks.check_logits, lambda x, W, b: (W.T @ x.T).T + b if x.ndim == 2 else W.T @ x + b + 1, "wrong value")
    fails(checks.check_logits, lambda x, W, b: x @ W.T + b, "raised ValueError", "x @ W gives (10,)")


def test_logits_wrong_shapes():
    fails(checks.check_logits, lambda x, W, b: x * W[:, 0], "shape (784,), expected (10,)")
    fails(checks.check_logits, lambda x, W, b: (x @ W + b).T, "shape (10, 3), expected (3, 10)")
    fails(checks.check_logits, lambda x, W, b: np.squeeze(x) @ W + b, "batch of one", "shape (10,), expected (1, 10)")


# --- softmax ------------------------------------------------------------------

def softmax(l):
    e = np.exp(l - l.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_softmax_passes(capsys):
    checks.check_softmax(softmax)
    checks.check_softmax(model.softmax)
    assert capsys.readouterr().out.count("✓ softmax: all 5 checks passed") == 2


def test_softmax_naive_overflow():
    def naive(l):
        e = np.exp(l)
        return e / e.sum(axis=-1, keepdims=True)
    fails(checks.check_softmax, naive,
          "your softmax returns nan for large logits (try l = [1000, 0])", "every exp() at most 1")


def test_softmax_wrong_axis():
    def no_axis(l):
        e = np.exp(l - l.max())
        return e / e.sum()
    fails(checks.check_softmax, no_axis, "whole batch sums to 1", "axis=-1")

    def axis0(l):
        e = np.exp(l - l.max(axis=0))
        return e / e.sum(axis=0)
    fails(checks.check_softmax, axis0, "columns sum to 1")

    def no_keepdims(l):
        e = np.exp(l - l.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1)
    fails(checks.check_softmax, no_keepdims, "raised ValueError", "broadcast", "print the shapes")


def test_softmax_global_max_on_batch():
    def global_max(l):
        e = np.exp(l - l.max())
        return e / e.sum(axis=-1, keepdims=True)
    fails(checks.check_softmax, global_max, "batch", "nan")


def test_softmax_not_normalised_and_shape():
    fails(checks.check_softmax, lambda l: np.exp(l), "don't sum to 1")
    fails(checks.check_softmax, lambda l: softmax(l).ravel() if np.ndim(l) == 2 else softmax(l),
          "shape (30,), expected (3, 10)")


# --- cross-entropy ------------------------------------------------------------

def cross_entropy(p, y):
    return -np.mean(np.sum(y * np.log(np.maximum(p, 1e-12)), axis=-1))


def test_cross_entropy_passes(capsys):
    checks.check_cross_entropy(cross_entropy)
    checks.check_cross_entropy(model.cross_entropy)
    checks.check_cross_entropy(lambda p, y: -np.mean(np.log(p[np.arange(len(p)), y.argmax(1)] + 1e-12)))
    assert capsys.readouterr().out.count("✓ cross_entropy: all 3 checks passed") == 3


def test_cross_entropy_log_of_zero():
    def naive_onehot(p, y):
        return -np.mean(np.sum(y * np.log(p), axis=-1))
    fails(checks.check_cross_entropy, naive_onehot, "nan", "0 * log(0)", "log-softmax")

    def naive_index(p, y):
        return -np.mean(np.log(p[np.arange(len(p)), y.argmax(1)]))
    fails(checks.check_cross_entropy, naive_index, "inf", "log-softmax", "Clip")


def test_cross_entropy_sum_not_mean():
    fails(checks.check_cross_entropy, lambda p, y: cross_entropy(p, y) * len(p), "sum over the 4 examples", ".mean()")


def test_cross_entropy_sign():
    fails(checks.check_cross_entropy, lambda p, y: -cross_entropy(p, y), "sign is wrong")


def test_cross_entropy_per_example():
    fails(checks.check_cross_entropy, lambda p, y: -np.sum(y * np.log(np.maximum(p, 1e-12)), axis=-1),
          "one loss per example")


def test_cross_entropy_indexing_with_one_hot():
    fails(checks.check_cross_entropy, lambda p, y: -np.mean(np.log(p[np.arange(len(p)), y])),
          "raised IndexError", "y is one-hot")


def test_cross_entropy_big_clip():
    fails(checks.check_cross_entropy, lambda p, y: -np.mean(np.sum(y * np.log(np.maximum(p, 0.1)), axis=-1)),
          "wrong value")
