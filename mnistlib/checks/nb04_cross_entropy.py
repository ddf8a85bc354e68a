"""Checks for the exercises of notebook 04, Cross-entropy (``notebooks/04_cross_entropy.ipynb``)."""

import numpy as np

from .. import model
from .framework import as_array, compare, exercise, fail, fmt
from .nb03_softmax import (ORDINARY_LOGITS, ORDINARY_LOGITS_TEXT, batch_of_one, logit_shortcuts, run_logits,
                           softmax_batches)


# --- notebook 04: log-softmax, the log of the probabilities, from the logits -------------

_LOG_P = ("log p_j = log(e^(l_j) / sum_k e^(l_k)) = l_j - log sum_k e^(l_k): compute that from l directly, "
          "without forming p, whose small entries round to 0.")
_LOG_SUM = ("sum_k e^(l_k) overflows for a logit of 1000. Take the largest logit m out of the sum first: "
            "sum_k e^(l_k) = e^m sum_k e^(l_k - m), so log sum_k e^(l_k) = m + log sum_k e^(l_k - m).")
_LOG_REVEAL = ("m = l.max(axis=-1, keepdims=True); return l - m - np.log(np.exp(l - m).sum(axis=-1, "
             "keepdims=True)).")


def _log_softmax_cases():
    """(l, text, hint for this input): ten logits per row, ordinary to extreme, then batches."""
    far = np.zeros(10)
    far[1] = -1000.0
    large = np.zeros(10)
    large[3] = 1000.0
    low = -1000.0 - 0.5 * np.arange(10)
    return [(ORDINARY_LOGITS, f"l = {ORDINARY_LOGITS_TEXT}", _LOG_P),
            (far, "l = [0, -1000, 0, 0, 0, 0, 0, 0, 0, 0]", _LOG_P),
            (large, "l = [0, 0, 0, 1000, 0, 0, 0, 0, 0, 0]", _LOG_SUM),
            (low, "l = [-1000, -1000.5, -1001, ..., -1004.5]", _LOG_SUM)] + \
           [(l, text, "on a batch, each row is one image: its own largest logit, its own sum (axis=-1, "
                      "keepdims=True).") for l, text in softmax_batches()]


@exercise("log_softmax", reference=lambda: model.log_softmax, shortcuts=lambda: logit_shortcuts("log_softmax"),
          hints=[
    "take the log of the softmax formula and simplify it on paper: log(a / b) = log a − log b, and "
    "log e^(l_j) = l_j. Then try your formula by hand on l = [0, -1000].",
    "what is left, log Σ_k e^(l_k), still overflows for a logit of 1000. Take the largest logit m out of "
    "the sum: Σ_k e^(l_k) = e^m Σ_k e^(l_k − m).",
    "on a batch each row has its own m and its own sum: reduce over axis=-1 with keepdims=True, so that "
    "they line up with the rows.",
], reveal="m = l.max(axis=-1, keepdims=True); return l - m - np.log(np.exp(l - m).sum(axis=-1, keepdims=True))")
def check_log_softmax(fn):
    """fn(l) -> log softmax(l), exact and finite for any finite logits.  l: (10,) or (n, 10) -> same shape."""
    name = "log_softmax"
    n_checks = 0
    for l, text, hint in _log_softmax_cases():
        call = f"log_softmax(l) with {text}"
        got = as_array(name, run_logits(name, fn, l, call), call)
        expected = model.log_softmax(l)
        if got.shape == expected.shape and not np.all(np.isfinite(got)):
            bad = "nan" if np.any(np.isnan(got)) else ("-inf" if np.any(got == -np.inf) else "inf")
            if bad == "-inf" and np.all(np.isfinite(got[np.isfinite(expected) & (expected > -700)])):
                fail(name, f"{call} returned -inf where log p is about {fmt(expected[got == -np.inf].max(), 1)}: "
                           "that is the log of a probability that rounded to 0.", _LOG_P, reveal=_LOG_REVEAL)
            fail(name, f"{call} returned {bad} in {int((~np.isfinite(got)).sum())} of its {got.size} entries.",
                 hint, reveal=_LOG_REVEAL)
        batch_of_one(name, got, l, call)
        if got.shape == () and l.ndim == 1:
            fail(name, f"{call} returned a single number; expected log p_j for each of the ten logits, shape (10,).",
                 "log_softmax gives the log of every probability; the loss, one number, comes after it.")
        if got.shape == expected.shape and len(l) > 1 and l.ndim == 2 and np.isclose(np.exp(got).sum(), 1):
            fail(name, f"{call}: exp() of your values sums to 1 over the whole batch, but it should over each "
                       f"row (row sums: {fmt(np.exp(got).sum(axis=-1))}).",
                 "on a batch, each row is one image: its own largest logit, its own sum.",
                 reveal="axis=-1, keepdims=True in both the max and the sum.")
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
                    fail(name, f"{call} {why}.", h, reveal=_LOG_REVEAL)
            off = got - expected
            row_off = off - off.mean(axis=-1, keepdims=True)
            if np.allclose(row_off, 0, atol=1e-6) and not np.allclose(off, 0, atol=1e-6):
                sums = np.exp(got).sum(axis=-1)
                fail(name, f"{call}: every entry of a row is off by the same number ({fmt(off.mean(axis=-1), 4)}): "
                           f"exp() of your values sums to {fmt(sums, 4)}, not 1.",
                     "if you subtract the largest logit m inside the sum, add it back outside: "
                     "log sum_k e^(l_k) = m + log sum_k e^(l_k - m).", reveal=_LOG_REVEAL)
            if l.ndim == 1 and l.min() == -1000 and l.max() == 0 and got[1] > expected[1] + 1:
                fail(name, f"{call} gave log p_1 = {fmt(got[1], 2)}; exactly it is -1000 - log 9 = "
                           f"{fmt(expected[1], 2)}. That is the log of a p that was clipped, or rounded to 0, "
                           "before the log: once p is formed, its small entries are lost.", _LOG_P,
                     reveal=_LOG_REVEAL)
        compare(name, got, expected, call=call, hint=hint, reveal=_LOG_REVEAL, rtol=1e-6, atol=1e-6)
        n_checks += 1
    return n_checks
