"""The check of notebook 04: log_softmax, exact and finite for any finite logits.

Each check must pass right answers written in different ways and reject the wrong
answers learners write, with a message that names the mistake.
"""

import numpy as np
import pytest

from mnistlib import checks, model
from mnistlib.model import softmax

from helpers import fails


# --- log_softmax --------------------------------------------------------------

def log_softmax(l):
    m = l.max(axis=-1, keepdims=True)
    return l - m - np.log(np.exp(l - m).sum(axis=-1, keepdims=True))


def log_softmax_rows(l):
    """Row by row with math.log; the same formula, written differently."""
    import math
    rows = np.atleast_2d(l)
    out = np.empty_like(rows)
    for i, row in enumerate(rows):
        m = max(row)
        out[i] = row - (m + math.log(sum(math.exp(v - m) for v in row)))
    return out.reshape(np.shape(l))


def test_log_softmax_passes(capsys):
    def log_softmax_shifted(l):
        s = l - np.max(l, axis=-1, keepdims=True)
        return s - np.log(np.sum(np.exp(s), axis=-1, keepdims=True))

    for fn in (log_softmax, log_softmax_rows, log_softmax_shifted,
               lambda l: l - np.logaddexp.reduce(l, axis=-1, keepdims=True)):
        checks.check_log_softmax(fn)
    assert capsys.readouterr().out.count("✓ log_softmax: all 7 checks passed") == 4


def test_log_softmax_that_calls_mnistlibs_fails():
    fails(checks.check_log_softmax, model.log_softmax, "is log_softmax() from mnistlib.model itself")
    fails(checks.check_log_softmax, lambda l: 1 * model.log_softmax(l), "calls log_softmax() from mnistlib.model")


def test_log_softmax_that_drops_the_axis_of_a_batch_of_one():
    # Passed before: no batch of one among the check's inputs.
    def squeezed(l):
        l = np.atleast_2d(l)
        m = l.max(axis=1, keepdims=True)
        return np.squeeze(l - m - np.log(np.exp(l - m).sum(axis=1, keepdims=True)))
    fails(checks.check_log_softmax, squeezed, "batch of one", "returned shape (10,), expected (1, 10)")


@pytest.mark.parametrize("wrong, phrases", [
    # the log of the probabilities: p rounds to 0
    (lambda l: np.log(model.softmax(l)), ["-inf where log p is about -1002.2", "rounded to 0"]),
    (lambda l: np.log(softmax(l)), ["-inf where log p is about -1002.2"]),
    # a clip keeps it finite, but wrong
    (lambda l: np.log(np.maximum(softmax(l), 1e-12)), ["log p_1 = -27.63", "-1002.2", "clipped"]),
    (lambda l: np.log(softmax(l) + 1e-10), ["log p_1 = -23.03", "clipped"]),
    (lambda l: np.log(np.clip(softmax(l), 1e-300, 1)), ["log p_1 = -690.78", "clipped"]),
    # no shift: the sum overflows
    (lambda l: l - np.log(np.sum(np.exp(l), axis=-1, keepdims=True)), ["returned -inf", "m + log sum_k"]),
    # the shift taken out of the sum but not put back
    (lambda l: l - np.log(np.sum(np.exp(l - l.max(-1, keepdims=True)), axis=-1, keepdims=True)),
     ["off by the same number (3)", "sums to", "add it back"]),
    (lambda l: l - l.max(-1, keepdims=True) - np.log(np.sum(np.exp(l), axis=-1, keepdims=True)),
     ["off by the same number"]),
    # other logs, signs, the probabilities themselves
    (lambda l: log_softmax(l) / np.log(10), ["log10"]),
    (lambda l: -log_softmax(l), ["wrong sign"]),
    (lambda l: softmax(l), ["the probabilities p, not their log"]),
    # batches
    (lambda l: l - l.max() - np.log(np.exp(l - l.max()).sum(axis=-1, keepdims=True)),
     ["a batch", "returned inf in 20 of its 30 entries", "its own largest logit"]),
    (lambda l: (lambda m: l - m - np.log(np.exp(l - m).sum(axis=-1)))(l.max(axis=-1, keepdims=True)),
     ["not for a batch", "column, shape (3, 1)"]),
    (lambda l: (lambda m: l - m - np.log(np.exp(l - m).sum()))(l.max()), ["sums to 1 over the whole batch"]),
    (lambda l: -np.mean(np.sum(log_softmax(l), axis=-1)), ["returned a single number", "the loss"]),
])
def test_log_softmax_mistakes(wrong, phrases):
    fails(checks.check_log_softmax, wrong, *phrases)


def test_log_softmax_that_overwrites_its_input_fails():
    def in_place(l):
        l -= l.max(axis=-1, keepdims=True)
        return l - np.log(np.exp(l).sum(axis=-1, keepdims=True))
    fails(checks.check_log_softmax, in_place, "changed its input l")


def test_log_softmax_hints_in_steps(capsys):
    checks.check_log_softmax(lambda l: np.log(np.maximum(softmax(l), 1e-12)))
    first = capsys.readouterr().out
    assert "without forming p" in first and "keepdims=True))" not in first
    checks.hint("log_softmax")
    assert "keepdims=True))" not in capsys.readouterr().out
    checks.hint("log_softmax", reveal=True)
    assert "np.log(np.exp(l - m).sum(axis=-1, keepdims=True))" in capsys.readouterr().out
