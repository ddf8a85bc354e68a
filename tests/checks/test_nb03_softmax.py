"""The check of notebook 03: softmax, on one row of logits and on batches, large and small.

Each check must pass right answers written in different ways and reject the wrong
answers learners write, with a message that names the mistake.
"""

import numpy as np
import pytest

from mnistlib import checks, model

from helpers import fails


# --- softmax ------------------------------------------------------------------

def softmax(l):
    e = np.exp(l - l.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_loop(l):
    """Follows the exercise's contract, ten logits per row, with a loop over range(10)."""
    m = np.max(l, axis=-1, keepdims=True)
    e = np.exp(l - m)
    total = 0
    for j in range(10):
        total = total + e[..., j:j + 1]
    return e / total


def softmax_rows(l):
    """A batch row by row, with the shift as a transposed subtraction for the batch."""
    if l.ndim == 1:
        e = np.exp(l - max(l))
        return e / sum(e)
    e = np.exp((l.T - l.max(axis=1)).T)
    return (e.T / e.sum(axis=1)).T


def test_softmax_passes(capsys):
    def softmax_einsum(l):
        e = np.exp(l - np.amax(l, -1, keepdims=True))
        return e / np.einsum("...j->...", e)[..., None]

    for fn in (softmax, softmax_loop, softmax_rows, softmax_einsum,
               lambda l: np.exp(l - np.logaddexp.reduce(l, axis=-1, keepdims=True))):
        checks.check_softmax(fn)
    assert capsys.readouterr().out.count("✓ softmax: all 9 checks passed") == 5


@pytest.mark.parametrize("library", [model.softmax, lambda l: model.softmax(l),
                                     lambda l: np.exp(model.log_softmax(l))])
def test_softmax_that_calls_mnistlibs_fails(library):
    # Passed before: nothing looked at what the function called.
    fails(checks.check_softmax, library, "from mnistlib.model", "which does the whole job")


@pytest.mark.parametrize("squeezed", [
    lambda l: softmax(np.atleast_2d(l)).squeeze(),
    lambda l: np.squeeze(softmax(np.atleast_2d(l))),
    lambda l: softmax(l)[0] if len(l) == 1 else softmax(l),
])
def test_softmax_that_drops_the_axis_of_a_batch_of_one(squeezed):
    # Passed before: no batch of one among the check's inputs.
    fails(checks.check_softmax, squeezed, "batch of one", "returned shape (10,), expected (1, 10)", "np.squeeze")


def test_softmax_naive_overflow():
    def naive(l):
        e = np.exp(l)
        return e / e.sum(axis=-1, keepdims=True)
    msg = str(fails(checks.check_softmax, naive, "your softmax returns nan for large logits, l = 1000 + [2, 1, 0.1",
                    "changes nothing"))
    assert "l.max(" not in msg


@pytest.mark.parametrize("shift", [
    lambda l: l.mean(axis=-1, keepdims=True),                                   # the mean
    lambda l: np.median(l, axis=-1, keepdims=True),                             # the median
    lambda l: (l.max(axis=-1, keepdims=True) + l.min(axis=-1, keepdims=True)) / 2,   # the middle of the range
    lambda l: l[..., :1],                                                       # the first logit
    lambda l: l.min(axis=-1, keepdims=True),                                    # the smallest logit
])
def test_softmax_shift_by_something_other_than_the_max(shift):
    # The mean passed the old check: [1000, 0] shifted by its mean is [500, -500], and exp(500) is finite.
    def shifted(l):
        e = np.exp(l - shift(l))
        return e / e.sum(axis=-1, keepdims=True)
    fails(checks.check_softmax, shifted, "handles ten large logits, but returns nan", "your shift is not enough",
          "largest exponent must be exactly 0")


def test_softmax_that_overwrites_its_input_fails():
    def in_place(l):
        l -= l.max(axis=-1, keepdims=True)
        np.exp(l, out=l)
        l /= l.sum(axis=-1, keepdims=True)
        return l
    fails(checks.check_softmax, in_place, "changed its input l", "in place")


def test_softmax_wrong_axis():
    def no_axis(l):
        e = np.exp(l - l.max())
        return e / e.sum()
    fails(checks.check_softmax, no_axis, "whole batch sums to 1", "each row is one image")

    def axis0(l):
        e = np.exp(l - l.max(axis=0))
        return e / e.sum(axis=0)
    fails(checks.check_softmax, axis0, "columns sum to 1")


@pytest.mark.parametrize("where", ["max", "sum", "both"])
def test_softmax_missing_keepdims(where, capsys):
    def no_keepdims(l):
        m = l.max(axis=-1, keepdims=where == "sum")
        e = np.exp(l - m)
        return e / e.sum(axis=-1, keepdims=where == "max")
    msg = str(fails(checks.check_softmax, no_keepdims, "works for one row of logits, but not for a batch",
                    "(3,)", "column, shape (3, 1)"))
    assert "keepdims" not in msg.split("Hint:")[1]        # the nudge first
    checks.check_softmax(no_keepdims)
    capsys.readouterr()
    checks.hint("softmax")
    assert "keepdims=True" not in capsys.readouterr().out
    checks.hint("softmax", reveal=True)
    assert "keepdims=True" in capsys.readouterr().out


def test_softmax_written_for_batches_only():
    def rows_only(l):
        e = np.exp(l - l.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    fails(checks.check_softmax, rows_only, "raised AxisError", "a single axis", "axis=-1")
    fails(checks.check_log_softmax, lambda l: rows_only(l) * 0 + l - l.max(axis=1, keepdims=True), "a single axis")


def test_softmax_missing_keepdims_on_a_square_batch():
    # Rows that always broadcast: a (10, 10) batch hides the missing keepdims from numpy.
    def square_only(l):
        if l.ndim == 2 and l.shape[0] != l.shape[1]:
            return softmax(l)
        e = np.exp(l - l.max(axis=-1))
        return e / e.sum(axis=-1, keepdims=True)
    fails(checks.check_softmax, square_only, "lined up with the 10 columns", "shape (10, 1)")


def test_softmax_global_max_on_batch():
    def global_max(l):
        e = np.exp(l - l.max())
        return e / e.sum(axis=-1, keepdims=True)
    fails(checks.check_softmax, global_max, "batch", "nan", "its own shift")


def test_softmax_not_normalised_and_shape():
    fails(checks.check_softmax, lambda l: np.exp(l), "don't sum to 1")
    def by_max(l):
        e = np.exp(l - l.max(axis=-1, keepdims=True))
        return e / e.max(axis=-1, keepdims=True)
    fails(checks.check_softmax, by_max, "don't sum to 1", "divide each exp(l_j) by the sum")
    fails(checks.check_softmax, lambda l: softmax(l).ravel() if np.ndim(l) == 2 else softmax(l),
          "shape (30,), expected (3, 10)")
    fails(checks.check_softmax, lambda l: 1 / (1 + np.exp(-l)), "don't sum to 1")
