"""Checks for the exercises of notebook 03, Softmax (``notebooks/03_softmax.ipynb``)."""

import numpy as np

from .. import model
from .framework import CheckFailed, as_array, compare, exercise, fail, fmt, run, seeded_rng
from .watch import imported


# --- notebook 03: softmax -----------------------------------------------------
# ORDINARY_LOGITS, softmax_batches and run_logits serve the log_softmax check of notebook 04 too.

# Every input has ten logits per row, as the exercise's docstring promises, so that a loop over
# range(10) is a right answer too.
ORDINARY_LOGITS = np.array([2.0, 1.0, 0.1, -1.0, 0.0, 3.0, -2.0, 0.5, 1.5, -0.5])
ORDINARY_LOGITS_TEXT = f"[{', '.join(f'{v:g}' for v in ORDINARY_LOGITS)}]"
_KEEPDIMS = ("print l.max(axis=-1).shape for this batch: it is ({n},), and numpy lines a ({n},) array up with "
             "the last axis (the 10 classes), not with the {n} rows. You need a column, shape ({n}, 1).")
_KEEPDIMS_REVEAL = ("keepdims=True keeps the axis you reduce over: l.max(axis=-1, keepdims=True) and "
                  "e.sum(axis=-1, keepdims=True) have shape (n, 1), which numpy subtracts from (or divides) "
                  "every row by.")
_SHIFT = ("exp() of a large number overflows to inf (and inf/inf is nan); of a very negative one it rounds to 0 "
          "(and 0/0 is nan). You showed that adding the same number to every logit of a row changes nothing: "
          "which number makes overflow impossible and keeps the sum at least 1?")
_SHIFT_REVEAL = ("subtract the largest logit of each row: e = np.exp(l - l.max(axis=-1, keepdims=True)), then "
               "divide e by its sum over the last axis, e.sum(axis=-1, keepdims=True).")


def _softmax_rows():
    """(l, text, what a nan or inf there means, hint): rows of ten logits, ordinary to extreme."""
    large = np.zeros(10)
    large[1] = 1000.0
    spread = np.zeros(10)
    spread[7], spread[9] = 2000.0, -2000.0
    low = -1000.0 - 0.5 * np.arange(10)
    not_enough = ("your softmax handles ten large logits, but returns {bad} for {text}: your shift is not "
                  "enough. After it, some exponent is still far above 0 (a shift by the mean, the middle of the "
                  "range, the smallest or the first logit leaves exp(900) or more here).")
    return [
        (ORDINARY_LOGITS, f"l = {ORDINARY_LOGITS_TEXT}", None, None),
        (np.zeros(10), "l = ten zeros", None, "equal logits give equal probabilities, 0.1 each."),
        (ORDINARY_LOGITS + 1000.0, f"l = 1000 + {ORDINARY_LOGITS_TEXT}",
         "your softmax returns {bad} for large logits, {text}.", _SHIFT),
        (large, "l = [0, 1000, 0, 0, 0, 0, 0, 0, 0, 0]", not_enough,
         "whatever the logits, after your shift the largest exponent must be exactly 0."),
        (spread, "l = [0, 0, 0, 0, 0, 0, 0, 2000, 0, -2000]", not_enough,
         "whatever the logits, after your shift the largest exponent must be exactly 0."),
        (low, "l = [-1000, -1000.5, -1001, ..., -1004.5]",
         "your softmax returns {bad} for very negative logits, {text}.", _SHIFT),
    ]


def softmax_batches():
    """[(l, text)]: batches (3, 10) and (10, 10), whose rows differ in size, so that each row
    needs its own shift, and a batch of one, (1, 10), which must stay a batch; text describes l
    for a message."""
    rng = seeded_rng()
    three = rng.normal(0, 3, size=(3, 10))
    three[1] += 800.0
    ten = rng.normal(0, 3, size=(10, 10)) + np.linspace(-30, 30, 10)[:, None]
    one = (ORDINARY_LOGITS + 500.0)[None, :]
    return [(three, "a batch l of shape (3, 10), one row 800 larger than the others"),
            (ten, "a batch l of shape (10, 10) whose rows range from about -30 to 30"),
            (one, "a batch of one, l of shape (1, 10), 500 + " + ORDINARY_LOGITS_TEXT)]


def batch_of_one(name, got, l, call):
    """Fail if a batch of one, l: (1, 10), came back as a single row (10,), or a number."""
    if l.shape == (1, 10) and got.shape in ((10,), ()):
        fail(name, f"{call} returned shape {got.shape}, expected (1, 10): a batch of one image is still a "
                   "batch, and the code that calls your function indexes its rows.",
             "return the shape you were given. Something dropped the batch axis: np.squeeze, [0], or "
             "a reshape to (10,).")


def logit_shortcuts(*names):
    """{library function: what it is} for the library's functions ``names`` ("softmax",
    "log_softmax") and scipy's (with "logsumexp"), each of which does an exercise in one call."""
    what = "which does the whole job"
    scipy_names = names + (("logsumexp",) if "log_softmax" in names else ())
    return {f: what for f in [getattr(model, n) for n in names] + imported("scipy.special", *scipy_names)}


def run_logits(name, fn, l, call):
    """run(name, fn, l, call=call) for logits l: (10,) or (n, 10), with a specific hint when one row,
    or a batch, trips over an axis."""
    try:
        return run(name, fn, l, call=call)
    except CheckFailed as failure:
        text = str(failure).split("\nHint:")[0][len(name) + 2:]
        if l.ndim == 2 and "broadcast" in text:
            fail(name, f"{text}\nYour function works for one row of logits, but not for a batch.",
                 _KEEPDIMS.format(n=len(l)), reveal=_KEEPDIMS_REVEAL)
        if l.ndim == 1 and "axis" in text:
            fail(name, f"{text}\nOne row of logits, shape (10,), has a single axis.",
                 "axis=-1, the last axis, means the classes both for one row (10,) and for a batch (n, 10).")
        raise


def _unkept(l):
    """What a softmax that forgot keepdims in the max, the sum or both returns for a square batch l."""
    m, mk = l.max(axis=-1), l.max(axis=-1, keepdims=True)
    outs = []
    for shifted in (l - mk, l - m):
        e = np.exp(shifted)
        outs += [e / e.sum(axis=-1, keepdims=True), e / e.sum(axis=-1)]
    return outs[1:]


def _check_rows_sum_to_one(name, got, l, call):
    """The usual ways of normalising the wrong thing, each said in words."""
    rows = got.sum(axis=-1)
    if got.ndim == 2 and got.shape[0] == got.shape[1]:
        with np.errstate(all="ignore"):
            if any(np.allclose(got, w) for w in _unkept(l)):
                fail(name, f"{call} returned wrong rows: a max or a sum of shape ({len(l)},) was lined up with "
                           f"the {len(l)} columns, not with the {len(l)} rows. (With 3 rows numpy refuses; with "
                           f"as many rows as columns it silently does the wrong thing.)",
                     _KEEPDIMS.format(n=len(l)), reveal=_KEEPDIMS_REVEAL)
    if got.ndim == 2 and not np.allclose(rows, 1, atol=1e-5):
        if np.allclose(got.sum(), 1, atol=1e-5):
            fail(name, f"{call}: the whole batch sums to 1, but each row should (row sums: {fmt(rows)}).",
                 "each row is one image: normalise each row on its own.",
                 reveal="sum over the classes only: e.sum(axis=-1, keepdims=True).")
        if np.allclose(got.sum(axis=0), 1, atol=1e-5):
            fail(name, f"{call}: the columns sum to 1, but each row should (row sums: {fmt(rows)}).",
                 "each row is one image; normalise along the classes, the last axis, not axis=0.",
                 reveal="axis=-1 (with keepdims=True) in both the max and the sum.")
    if not np.allclose(rows, 1, atol=1e-5):
        fail(name, f"{call}: the probabilities don't sum to 1 (sum: {fmt(rows)}).",
             "divide each exp(l_j) by the sum of all ten of them.")


@exercise("softmax", reference=lambda: model.softmax,
          shortcuts=lambda: logit_shortcuts("softmax", "log_softmax"), hints=[
    "start from the formula for one row, p_j = e^(l_j) / Σ_k e^(l_k), and get it right on ordinary "
    "logits; then make it safe for large ones.",
    "you showed that adding the same number to every logit of a row changes nothing. Pick the number that "
    "makes the largest exponent exactly 0: then nothing overflows, and the sum is at least 1.",
    "on a batch each row needs its own number: reduce over the last axis (axis=-1) and keep the result as a "
    "column (keepdims=True), so that numpy lines it up with the rows.",
], reveal="e = np.exp(l - l.max(axis=-1, keepdims=True)); return e / e.sum(axis=-1, keepdims=True)")
def check_softmax(fn):
    """fn(l) -> softmax(l), each row summing to 1.  l: (10,) or (n, 10)."""
    name = "softmax"
    n_checks = 0
    per_row = "on a batch, each row needs its own shift, from that row's own logits."
    cases = _softmax_rows() + [(l, text, "your softmax returns {bad} on {text}.", per_row)
                               for l, text in softmax_batches()]
    for l, text, not_finite, hint in cases:
        call = f"softmax(l) with {text}"
        got = as_array(name, run_logits(name, fn, l, call), call)
        expected = model.softmax(l)
        if got.shape == expected.shape and not np.all(np.isfinite(got)) and not_finite:
            bad = "nan" if np.any(np.isnan(got)) else "inf"
            fail(name, not_finite.format(bad=bad, text=text), hint, reveal=_SHIFT_REVEAL)
        batch_of_one(name, got, l, call)
        if got.shape == expected.shape and np.all(np.isfinite(got)):
            _check_rows_sum_to_one(name, got, l, call)
        compare(name, got, expected, call=call, hint=hint, reveal=_SHIFT_REVEAL)
        n_checks += 1
    return n_checks
