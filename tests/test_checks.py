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

ALL = [checks.check_best_class, checks.check_flatten, checks.check_ink_box, checks.check_softmax,
       checks.check_log_softmax]


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
    assert capsys.readouterr().out == "✓ softmax: all 8 checks passed\n"


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
    assert checks.framework._factor_text(k).startswith(text)


def test_a_wrong_matrix_is_described_not_dumped():
    x, y, W, b = checks.nb05_gradients._gradient_inputs()
    msg = fails(checks.check_example_gradients, lambda x, y, W, b: tuple(g / 8 for g in model.gradients(x, y, W, b)[:2]),
                "1/8 of the expected")
    assert "..." not in msg and len(msg) < 600
    one_off = lambda x, y, W, b: (model.gradients(x, y, W, b)[0] + np.eye(784, 10)[::-1] * 0.5,   # noqa: E731
                                  model.gradients(x, y, W, b)[1])
    fails(checks.check_example_gradients, one_off, "entries differ", "largest difference is at [")


# --- best_class (notebook 00: the warm-up that shows how a check answers) ------------------

def test_best_class_passes(capsys):
    checks.check_best_class(lambda s: int(np.argmax(s)))
    checks.check_best_class(lambda s: list(s).index(max(s)))
    checks.check_best_class(lambda s: int(np.argsort(s)[-1]))

    def loop(scores):
        best = 0
        for j in range(10):
            if scores[j] > scores[best]:
                best = j
        return best
    checks.check_best_class(loop)
    assert capsys.readouterr().out.count("✓ best_class: all 3 checks passed") == 4


@pytest.mark.parametrize("wrong, phrases", [
    (lambda s: max(s), ["the largest score itself", "position"]),
    (lambda s: np.max(s), ["the largest score itself"]),
    (lambda s: int(np.argmax(s)) + 1, ["one more than the right class", "from 0 to 9"]),
    (lambda s: int(np.argmin(s)), ["smallest score"]),
    (lambda s: int(np.argmax(np.abs(s))), ["farthest from 0", "-0.5 is larger than -5"]),
    (lambda s: np.argsort(s), ["shape (10,)", "single number"]),
    (lambda s: sorted(s)[-1], ["the largest score itself"]),
    (lambda s: 4, ["returned 4; expected 9"]),
])
def test_best_class_mistakes(wrong, phrases):
    fails(checks.check_best_class, wrong, *phrases)


def test_best_class_second_hint_gives_the_function(capsys):
    checks.check_best_class(lambda s: max(s))
    assert "argmax" not in capsys.readouterr().out
    checks.hint("best_class")
    assert "np.argmax(scores)" in capsys.readouterr().out


# --- flatten ------------------------------------------------------------------

def flatten(image):
    return image.reshape(784).astype(np.float32) / 255


def test_flatten_passes(capsys):
    checks.check_flatten(flatten)
    checks.check_flatten(lambda im: im.ravel() / 255.0)
    checks.check_flatten(lambda im: np.array([im[r, c] / 255 for r in range(28) for c in range(28)]))
    checks.check_flatten(lambda im: (im.astype(np.float64) / 255).flatten())
    assert capsys.readouterr().out.count("✓ flatten: all 3 checks passed") == 4


def test_flatten_mistakes():
    fails(checks.check_flatten, lambda im: im.astype(np.float32) / 255, "shape (28, 28)", "one after the other")
    fails(checks.check_flatten, lambda im: im.reshape(1, 784) / 255, "shape (1, 784)")
    fails(checks.check_flatten, lambda im: im.reshape(784).astype(float), "values in [0, 1]", "0 to 255")
    fails(checks.check_flatten, lambda im: im.T.reshape(784) / 255, "column by column", "image[c, r]")
    fails(checks.check_flatten, lambda im: im.flatten(order="F") / 255, "column by column")
    fails(checks.check_flatten, lambda im: im.reshape(784) // 255, "integers")
    fails(checks.check_flatten, lambda im: (im.reshape(784) / 255).astype(np.uint8), "integers")
    fails(checks.check_flatten, lambda im: im.reshape(784) / 256, "divided by 256")
    fails(checks.check_flatten, lambda im: np.zeros(784), "wrong value")


@pytest.mark.parametrize("own_scale", [
    lambda im: im.reshape(784) / im.max(),
    lambda im: im.reshape(784).astype(np.float32) / np.max(im),
    lambda im: (im.reshape(784) - im.min()) / (im.max() - im.min()),
])
def test_flatten_scaled_by_the_images_own_maximum(own_scale):
    # Passed before: both test images then had a pixel of 255.
    fails(checks.check_flatten, own_scale, "faint image", "darkest pixel", "as dark as a bold one")


def test_flatten_hint_holds_the_code_only_in_the_second_step(capsys):
    checks.check_flatten(lambda im: im.reshape(784).astype(float))
    assert "/ 255" not in capsys.readouterr().out
    checks.hint("flatten")
    assert "/ 255" in capsys.readouterr().out


# --- ink_box ------------------------------------------------------------------

def ink_box(x):
    grid = x.reshape(28, 28) > 0
    rows, cols = np.flatnonzero(grid.any(axis=1)), np.flatnonzero(grid.any(axis=0))
    return rows[0], rows[-1], cols[0], cols[-1]


def ink_box_loops(x):
    top = bottom = left = right = None
    for r in range(28):
        for c in range(28):
            if x[28 * r + c] > 0:
                top = r if top is None else top
                bottom = r
                left = c if left is None else min(left, c)
                right = c if right is None else max(right, c)
    return [top, bottom, left, right]


def ink_box_where(x):
    rows, cols = np.nonzero(x.reshape(28, 28))
    return np.array([rows.min(), rows.max(), cols.min(), cols.max()])


def ink_box_divmod(x):
    k = np.flatnonzero(x)
    r, c = k // 28, k % 28
    return float(r.min()), float(r.max()), float(c.min()), float(c.max())


def test_ink_box_passes(capsys):
    for fn in (ink_box, ink_box_loops, ink_box_where, ink_box_divmod):
        checks.check_ink_box(fn)
    assert capsys.readouterr().out.count("✓ ink_box: all 3 checks passed") == 4


def _box_of(grid):
    rows, cols = np.flatnonzero(grid.any(axis=1)), np.flatnonzero(grid.any(axis=0))
    return rows, cols


@pytest.mark.parametrize("wrong, phrases", [
    # positions in the row of 784 numbers, not in the grid
    (lambda x: (np.flatnonzero(x).min(), np.flatnonzero(x).max(), 0, 0),
     ["is not a row or column number", "k // 28"]),
    # rows and columns swapped
    (lambda x: ink_box(x.reshape(28, 28).T.reshape(784)), ["rows and columns are swapped"]),
    (lambda x: (lambda r, c: (c[0], c[-1], r[0], r[-1]))(*_box_of(x.reshape(28, 28) > 0)),
     ["rows and columns are swapped", "in grid[r, c]"]),
    # (top, left, bottom, right)
    (lambda x: (lambda t, b, l, r: (t, l, b, r))(*ink_box(x)), ["(top, left, bottom, right)"]),
    # slice ends: one past the last row and column
    (lambda x: (lambda t, b, l, r: (t, b + 1, l, r + 1))(*ink_box(x)), ["one past the last row", "slice"]),
    # only dark ink counts
    (lambda x: ink_box(x * (x > 0.5)), ["faint pixels are ink too", "0.05 and 0.08"]),
    (lambda x: ink_box(x * (x > 0.1)), ["faint pixels are ink too"]),
    # bottom from the number of rows with ink
    (lambda x: (lambda r, c: (r[0], r[0] + len(r) - 1, c[0], c[-1]))(*_box_of(x.reshape(28, 28) > 0)),
     ["follow each other", "are empty"]),
    # argmax of the ink per row: the fullest row, not the first
    (lambda x: (int(x.reshape(28, 28).sum(axis=1).argmax()), 27, 0, 27), ["top should be 5, got"]),
    # the box's height and width instead of its edges
    (lambda x: (lambda t, b, l, r: (t, b - t + 1, l, r - l + 1))(*ink_box(x)), ["bottom should be 19, got 15"]),
    (lambda x: (5, 19), ["shape (2,)", "four numbers"]),
    (lambda x: (5.5, 19, 9, 15), ["whole row and column numbers"]),
])
def test_ink_box_mistakes(wrong, phrases):
    fails(checks.check_ink_box, wrong, *phrases)


def test_ink_box_must_not_change_x():
    def blanks_it(x):
        box = ink_box(x)
        x[:] = 0
        return box
    fails(checks.check_ink_box, blanks_it, "changed its input x")


# --- nearest_mean_params ------------------------------------------------------

def nearest_mean_params(means):
    return means.T, -0.5 * np.sum(means ** 2, axis=1)


def test_nearest_mean_params_passes(capsys):
    checks.check_nearest_mean_params(nearest_mean_params)
    # twice the expansion: W = 2 m, b = -||m||^2
    checks.check_nearest_mean_params(lambda m: (2 * m.T, -np.einsum("ij,ij->i", m, m)))
    # the templates of notebook 02: the average image taken out of W changes no ranking
    checks.check_nearest_mean_params(lambda m: ((m - m.mean(axis=0)).T, -0.5 * (m ** 2).sum(axis=1)))
    # a constant added to every bias, and loops
    checks.check_nearest_mean_params(lambda m: (m.T.copy(), np.array([7 - 0.5 * sum(v * v for v in row) for row in m])))
    # float32 answers
    checks.check_nearest_mean_params(lambda m: (m.T.astype(np.float32), (-0.5 * (m ** 2).sum(1)).astype(np.float32)))
    assert capsys.readouterr().out.count("✓ nearest_mean_params: all 2 checks passed") == 5


@pytest.mark.parametrize("wrong, phrases", [
    (lambda m: (m.T, np.zeros(10)), ["Your b is zero", "more ink win too often", "test images"]),
    (lambda m: (m.T, np.full(10, 3.0)), ["Your b is zero (or the same for every class)"]),
    (lambda m: (m.T, 0.5 * (m ** 2).sum(1)), ["wrong sign"]),
    (lambda m: (m.T, -(m ** 2).sum(1)), ["2 times what your W needs", "the ½ of"]),
    (lambda m: (2 * m.T, -0.5 * (m ** 2).sum(1)), ["1/2 of what your W needs", "2 times the means"]),
    (lambda m: (-m.T, 0.5 * (m ** 2).sum(1)), ["minus sign"]),
    (lambda m: (m.T, -0.5 * np.sqrt((m ** 2).sum(1))), ["the length ‖m_j‖, not its square"]),
    (lambda m: (m.T, -np.sqrt((m ** 2).sum(1))), ["the length ‖m_j‖, not its square"]),
    (lambda m: ((m - m.mean(0)).T, -0.5 * ((m - m.mean(0)) ** 2).sum(1)),
     ["minus their average", "‖m_j‖² itself"]),
    (lambda m: (m, -0.5 * (m ** 2).sum(1)), ["shape (10, 784)", "one column per class"]),
    (lambda m: ((m / np.linalg.norm(m, axis=1, keepdims=True)).T, np.zeros(10)), ["is not the mean image m_j"]),
    (lambda m: (m.T, -0.5 * (m ** 2).sum(1)[:, None]), ["b of shape (10, 1)", "b.reshape(10)"]),
    (lambda m: (-0.5 * (m ** 2).sum(1), m.T), ["returned (b, W)"]),
    (lambda m: m.T, ["expected a pair (W, b)"]),
    (lambda m: (m.T, -0.5 * (m ** 2).sum(1) + np.arange(10)), ["b_j is not −0.5 ‖m_j‖²"]),
])
def test_nearest_mean_params_mistakes(wrong, phrases):
    fails(checks.check_nearest_mean_params, wrong, *phrases)


def test_nearest_mean_params_hints_in_two_steps(capsys):
    checks.check_nearest_mean_params(lambda m: (m.T, np.zeros(10)))
    first = capsys.readouterr().out
    assert "expand ‖x − m_j‖²" in first and "(means ** 2)" not in first
    checks.hint("nearest_mean_params")
    assert "b = -0.5 * (means ** 2).sum(axis=1)" in capsys.readouterr().out


def test_nearest_mean_params_must_not_change_means():
    def centres_in_place(means):
        means -= means.mean(axis=0)
        return means.T, -0.5 * (means ** 2).sum(1)
    fails(checks.check_nearest_mean_params, centres_in_place, "changed its input means")


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

    for fn in (softmax, model.softmax, softmax_loop, softmax_rows, softmax_einsum,
               lambda l: np.exp(l - np.logaddexp.reduce(l, axis=-1, keepdims=True))):
        checks.check_softmax(fn)
    assert capsys.readouterr().out.count("✓ softmax: all 8 checks passed") == 6


def test_softmax_naive_overflow():
    def naive(l):
        e = np.exp(l)
        return e / e.sum(axis=-1, keepdims=True)
    msg = fails(checks.check_softmax, naive, "your softmax returns nan for large logits, l = 1000 + [2, 1, 0.1",
                "changes nothing")
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
    msg = fails(checks.check_softmax, no_keepdims, "works for one row of logits, but not for a batch",
                "(3,)", "column, shape (3, 1)")
    assert "keepdims" not in msg.split("Hint:")[1]        # the nudge first
    checks.check_softmax(no_keepdims)
    capsys.readouterr()
    checks.hint("softmax")
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

    for fn in (log_softmax, model.log_softmax, log_softmax_rows, log_softmax_shifted,
               lambda l: l - np.logaddexp.reduce(l, axis=-1, keepdims=True)):
        checks.check_log_softmax(fn)
    assert capsys.readouterr().out.count("✓ log_softmax: all 6 checks passed") == 5


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


def test_log_softmax_hints_in_two_steps(capsys):
    checks.check_log_softmax(lambda l: np.log(np.maximum(softmax(l), 1e-12)))
    first = capsys.readouterr().out
    assert "without forming p" in first and "keepdims=True))" not in first
    checks.hint("log_softmax")
    assert "np.log(np.exp(l - m).sum(axis=-1, keepdims=True))" in capsys.readouterr().out


# --- notebook 07: the batch gradient as a loop, then vectorised ---------------------
# Written as def functions (not lambdas): the checks read their source to find loops.

def _one_hot(label):
    return np.eye(10)[label]


def loop_outer(X, y, W, b):
    dW, db = np.zeros_like(W), np.zeros_like(b)
    for m in range(len(X)):
        d = model.softmax(X[m] @ W + b) - _one_hot(y[m])
        dW += np.outer(X[m], d)
        db += d
    return dW / len(X), db / len(X)


def loop_zip_while(X, y, W, b):
    grads_W, grads_b, m = [], [], 0
    while m < len(X):
        p = model.softmax(model.logits(X[m], W, b))
        p[y[m]] -= 1
        grads_W.append(X[m][:, None] * p[None, :])
        grads_b.append(p)
        m += 1
    return np.mean(grads_W, axis=0), np.mean(grads_b, axis=0)


def loop_every_entry(X, y, W, b):
    n = len(X)
    dW, db = np.zeros((784, 10)), np.zeros(10)
    for m in range(n):
        d = model.softmax(X[m] @ W + b) - model.as_one_hot(y[m], 10)
        for j in range(10):
            dW[:, j] += X[m] * d[j] / n
            db[j] += d[j] / n
    return dW, db


@pytest.mark.parametrize("fn", [loop_outer, loop_zip_while, loop_every_entry])
def test_gradients_loop_accepts_loops_written_differently(fn, capsys):
    assert checks.check_gradients_loop(fn) is fn
    assert capsys.readouterr().out == "✓ gradients_loop: all 2 checks passed\n"


def loop_sum(X, y, W, b):
    dW, db = np.zeros_like(W), np.zeros_like(b)
    for m in range(len(X)):
        d = model.softmax(X[m] @ W + b) - _one_hot(y[m])
        dW += np.outer(X[m], d)
        db += d
    return dW, db


def loop_divides_twice(X, y, W, b):
    dW, db = np.zeros_like(W), np.zeros_like(b)
    for m in range(len(X)):
        d = model.softmax(X[m] @ W + b) - _one_hot(y[m])
        dW += np.outer(X[m], d) / len(X)
        db += d / len(X)
    return dW / len(X), db / len(X)


def loop_y_minus_p(X, y, W, b):
    dW, db = np.zeros_like(W), np.zeros_like(b)
    for m in range(len(X)):
        d = _one_hot(y[m]) - model.softmax(X[m] @ W + b)
        dW += np.outer(X[m], d)
        db += d
    return dW / len(X), db / len(X)


def loop_no_labels(X, y, W, b):
    dW, db = np.zeros_like(W), np.zeros_like(b)
    for m in range(len(X)):
        p = model.softmax(X[m] @ W + b)
        dW += np.outer(X[m], p)
        db += p
    return dW / len(X), db / len(X)


def loop_label_number(X, y, W, b):
    dW, db = np.zeros_like(W), np.zeros_like(b)
    for m in range(len(X)):
        d = model.softmax(X[m] @ W + b) - y[m]
        dW += np.outer(X[m], d)
        db += d
    return dW / len(X), db / len(X)


def loop_overwrites(X, y, W, b):
    for m in range(len(X)):
        d = model.softmax(X[m] @ W + b) - _one_hot(y[m])
        dW = np.outer(X[m], d)
        db = d
    return dW, db


def loop_returns_early(X, y, W, b):
    dW, db = np.zeros_like(W), np.zeros_like(b)
    for m in range(len(X)):
        d = model.softmax(X[m] @ W + b) - _one_hot(y[m])
        dW += np.outer(X[m], d)
        db += d
        return dW, db


def loop_transposed(X, y, W, b):
    dW, db = np.zeros((10, 784)), np.zeros(10)
    for m in range(len(X)):
        d = model.softmax(X[m] @ W + b) - _one_hot(y[m])
        dW += np.outer(d, X[m])
        db += d
    return dW / len(X), db / len(X)


def loop_into_W(X, y, W, b):
    dW, db = W, np.zeros_like(b)
    dW *= 0
    for m in range(len(X)):
        d = model.softmax(X[m] @ W + b) - _one_hot(y[m])
        dW += np.outer(X[m], d)
        db += d
    return dW / len(X), db / len(X)


def loop_int_zeros(X, y, W, b):
    dW, db = np.zeros((784, 10), dtype=int), np.zeros(10, dtype=int)
    for m in range(len(X)):
        d = model.softmax(X[m] @ W + b) - _one_hot(y[m])
        dW += np.outer(X[m], d)
        db += d
    return dW / len(X), db / len(X)


def loop_unpacks_two(X, y, W, b):
    dW, db = np.zeros_like(W), np.zeros_like(b)
    for m in range(len(X)):
        dW_m, db_m = model.gradients(X[m], y[m], W, b)
        dW, db = dW + dW_m, db + db_m
    return dW / len(X), db / len(X)


def loop_calls_gradients(X, y, W, b):
    dW, db = np.zeros_like(W), np.zeros_like(b)
    for m in range(len(X)):
        dW_m, db_m, _ = model.gradients(X[m], y[m], W, b)
        dW, db = dW + dW_m, db + db_m
    return dW / len(X), db / len(X)


def no_loop(X, y, W, b):
    D = model.softmax(X @ W + b) - model.as_one_hot(y, 10)
    return X.T @ D / len(X), D.mean(axis=0)


@pytest.mark.parametrize("fn, phrases", [
    (loop_sum, ["5 times too large", "not their mean"]),
    (loop_divides_twice, ["1/5 of the expected", "divided by n twice"]),
    (loop_y_minus_p, ["wrong sign"]),
    (loop_no_labels, ["ignores the labels"]),
    (loop_label_number, ["subtracts the label number y", "one-hot"]),
    (loop_overwrites, ["last example's gradient alone", "running sum"]),
    (loop_returns_early, ["first example's gradient alone", "return inside the loop"]),
    (loop_transposed, ["shape (10, 784)", "pixels come first"]),
    (loop_into_W, ["changed its input W"]),
    (loop_int_zeros, ["Cannot cast", "integers"]),
    (loop_unpacks_two, ["too many values to unpack", "three things"]),
    (loop_calls_gradients, ["gradients()", "yourself"]),
    (no_loop, ["without a loop over the examples"]),
    (lambda X, y, W, b: model.gradients(X, y, W, b)[0], ["expected a pair (dW, db)"]),
])
def test_gradients_loop_names_the_mistake(fn, phrases):
    fails(checks.check_gradients_loop, fn, *phrases)


def test_gradients_loop_second_hint_only_on_request(capsys):
    checks.check_gradients_loop(loop_overwrites)
    first = capsys.readouterr().out
    assert "dW +=" not in first and 'hint("gradients_loop")' in first
    checks.hint("gradients_loop")
    assert "dW += ..." in capsys.readouterr().out


def vec_matmul(X, y, W, b):
    D = model.softmax(X @ W + b) - model.as_one_hot(y, 10)
    return X.T @ D / len(X), D.mean(axis=0)


def vec_einsum(X, y, W, b):
    P = model.softmax(model.logits(X, W, b))
    P[np.arange(len(X)), y] -= 1
    return np.einsum("mi,mj->ij", X, P) / len(X), P.sum(axis=0) / len(X)


def vec_broadcast_outer(X, y, W, b):
    D = model.softmax(X @ W + b) - np.eye(10)[y]
    return (X[:, :, None] * D[:, None, :]).mean(axis=0), np.mean(D, axis=0)


@pytest.mark.parametrize("fn", [vec_matmul, vec_einsum, vec_broadcast_outer])
def test_gradients_vectorised_accepts_forms_written_differently(fn, capsys):
    assert checks.check_gradients_vectorised(fn) is fn
    assert capsys.readouterr().out == "✓ gradients_vectorised: all 2 checks passed\n"


def vec_comprehension(X, y, W, b):
    D = model.softmax(X @ W + b) - model.as_one_hot(y, 10)
    return np.mean([np.outer(x, d) for x, d in zip(X, D)], axis=0), D.mean(axis=0)


def vec_calls_the_loop(X, y, W, b):
    return loop_outer(X, y, W, b)


def vec_library(X, y, W, b):
    return model.gradients(X, y, W, b)[:2]


def vec_apply_along_axis(X, y, W, b):
    D = model.softmax(X @ W + b) - model.as_one_hot(y, 10)
    rows = np.apply_along_axis(lambda r: np.outer(r[:784], r[784:]), 1, np.hstack([X, D]))
    return rows.mean(axis=0), D.mean(axis=0)


def vec_sum(X, y, W, b):
    D = model.softmax(X @ W + b) - model.as_one_hot(y, 10)
    return X.T @ D, D.sum(axis=0)


def vec_transposed(X, y, W, b):
    D = model.softmax(X @ W + b) - model.as_one_hot(y, 10)
    return D.T @ X / len(X), D.mean(axis=0)


def vec_db_wrong_axis(X, y, W, b):
    D = model.softmax(X @ W + b) - model.as_one_hot(y, 10)
    return X.T @ D / len(X), D.mean(axis=1)


def vec_sign(X, y, W, b):
    D = model.as_one_hot(y, 10) - model.softmax(X @ W + b)
    return X.T @ D / len(X), D.mean(axis=0)


def vec_softmax_overwrites_W(X, y, W, b):
    W -= 0                                    # harmless ...
    W[0, 0] = W[0, 0] + 1e-3                  # ... but this one changes the caller's W
    D = model.softmax(X @ W + b) - model.as_one_hot(y, 10)
    return X.T @ D / len(X), D.mean(axis=0)


@pytest.mark.parametrize("fn, phrases", [
    (vec_comprehension, ["a comprehension", "line 3"]),
    (vec_calls_the_loop, ["loop_outer(), a loop in disguise"]),
    (vec_library, ["gradients(), which does the whole job", "formula yourself"]),
    (vec_apply_along_axis, ["apply_along_axis(), a loop in disguise"]),
    (vec_sum, ["5 times too large"]),
    (vec_transposed, ["shape (10, 784)"]),
    (vec_db_wrong_axis, ["(db) returned shape (5,), expected (10,)"]),
    (vec_sign, ["wrong sign"]),
    (vec_softmax_overwrites_W, ["changed its input W"]),
])
def test_gradients_vectorised_names_the_mistake(fn, phrases):
    fails(checks.check_gradients_vectorised, fn, *phrases)


def test_gradients_loop_accepts_a_comprehension_as_its_loop():
    assert checks.check_gradients_loop(vec_comprehension, strict=True) is vec_comprehension


def test_gradients_vectorised_nudges_first_then_gives_the_line(capsys):
    checks.check_gradients_vectorised(vec_comprehension)
    first = capsys.readouterr().out
    assert "matrix product" in first and "X.T @" not in first
    checks.hint("gradients_vectorised")
    assert "X.T @ D" in capsys.readouterr().out


def test_loops_in_code_without_source_are_not_held_against_it():
    # Code whose source cannot be read (typed at a bare interpreter prompt) passes on its numbers.
    compiled = {}
    exec(compile("import numpy as np\nfrom mnistlib import model\n"
                 "def f(X, y, W, b):\n    return model.gradients(X, y, W, b)[:2]\n", "<no file>", "exec"), compiled)
    assert checks.nb07_minibatches_and_speed._python_loops(compiled["f"]) is None
    assert checks.check_gradients_vectorised(compiled["f"], strict=True) is compiled["f"]


# --- notebook 07: one epoch of mini-batch gradient descent ---------------------------

def epoch_for(X, y, W, b, lr, batch_size, rng):
    order = rng.permutation(len(X))
    for start in range(0, len(X), batch_size):
        rows = order[start:start + batch_size]
        dW, db, _ = model.gradients(X[rows], y[rows], W, b)
        W, b = W - lr * dW, b - lr * db
    return W, b


def epoch_while_shuffled_copy(X, y, W, b, lr, batch_size, rng):
    idx = np.arange(len(X))
    rng.shuffle(idx)
    Xs, ys = X[idx], y[idx]
    start = 0
    while start < len(Xs):
        dW, db, _ = model.gradients(Xs[start:start + batch_size], ys[start:start + batch_size], W, b)
        W = W - lr * dW
        b = b - lr * db
        start += batch_size
    return W, b


def epoch_array_split(X, y, W, b, lr, batch_size, rng):
    order = rng.permutation(len(X))
    for rows in np.array_split(order, int(np.ceil(len(X) / batch_size))):
        dW, db, _ = model.gradients(X[rows], y[rows], W, b)
        W, b = W - lr * dW, b - lr * db
    return W, b


def epoch_own_gradients_choice(X, y, W, b, lr, batch_size, rng):
    order = rng.choice(len(X), size=len(X), replace=False)
    batches = np.array_split(order, range(batch_size, len(X), batch_size))
    for rows in batches:
        D = model.softmax(X[rows] @ W + b) - np.eye(10)[y[rows]]
        W = W - lr * X[rows].T @ D / len(rows)
        b = b - lr * D.mean(axis=0)
    return W, b


@pytest.mark.parametrize("fn", [epoch_for, epoch_while_shuffled_copy, epoch_array_split,
                                epoch_own_gradients_choice])
def test_minibatch_epoch_accepts_epochs_written_differently(fn, capsys):
    assert checks.check_minibatch_epoch(fn) is fn
    assert capsys.readouterr().out == "✓ minibatch_epoch: all 3 checks passed\n"


def epoch_to_n_plus_1(X, y, W, b, lr, batch_size, rng):
    order = rng.permutation(len(X))
    for start in range(0, len(X) + 1, batch_size):
        rows = order[start:start + batch_size]
        dW, db, _ = model.gradients(X[rows], y[rows], W, b)
        W, b = W - lr * dW, b - lr * db
    return W, b


def epoch_slice_end_fixed(X, y, W, b, lr, batch_size, rng):
    order = rng.permutation(len(X))
    Xs, ys = X[order], y[order]
    for start in range(0, len(X), batch_size):
        dW, db, _ = model.gradients(Xs[start:batch_size], ys[start:batch_size], W, b)
        W, b = W - lr * dW, b - lr * db
    return W, b


def epoch_own_gradients_empty(X, y, W, b, lr, batch_size, rng):
    order = rng.permutation(len(X))
    for start in range(0, len(X) + 1, batch_size):
        rows = order[start:start + batch_size]
        D = model.softmax(X[rows] @ W + b) - np.eye(10)[y[rows]]
        W, b = W - lr * X[rows].T @ D / len(rows), b - lr * D.mean(axis=0)
    return W, b


def epoch_full_batches_only(X, y, W, b, lr, batch_size, rng):
    order = rng.permutation(len(X))
    for i in range(len(X) // batch_size):
        rows = order[i * batch_size:(i + 1) * batch_size]
        dW, db, _ = model.gradients(X[rows], y[rows], W, b)
        W, b = W - lr * dW, b - lr * db
    return W, b


def epoch_to_n_minus_batch(X, y, W, b, lr, batch_size, rng):
    order = rng.permutation(len(X))
    for start in range(0, len(X) - batch_size, batch_size):
        rows = order[start:start + batch_size]
        dW, db, _ = model.gradients(X[rows], y[rows], W, b)
        W, b = W - lr * dW, b - lr * db
    return W, b


def epoch_to_n_minus_1(X, y, W, b, lr, batch_size, rng):
    order = rng.permutation(len(X))
    for start in range(0, len(X) - 1, batch_size):
        rows = order[start:start + batch_size]
        dW, db, _ = model.gradients(X[rows], y[rows], W, b)
        W, b = W - lr * dW, b - lr * db
    return W, b


def epoch_unshuffled(X, y, W, b, lr, batch_size, rng):
    for start in range(0, len(X), batch_size):
        dW, db, _ = model.gradients(X[start:start + batch_size], y[start:start + batch_size], W, b)
        W, b = W - lr * dW, b - lr * db
    return W, b


def epoch_order_unused(X, y, W, b, lr, batch_size, rng):
    order = rng.permutation(len(X))      # noqa: F841
    return epoch_unshuffled(X, y, W, b, lr, batch_size, rng)


def epoch_images_only(X, y, W, b, lr, batch_size, rng):
    X = X[rng.permutation(len(X))]
    return epoch_unshuffled(X, y, W, b, lr, batch_size, rng)


def epoch_two_orders(X, y, W, b, lr, batch_size, rng):
    X, y = rng.permutation(X), rng.permutation(y)
    return epoch_unshuffled(X, y, W, b, lr, batch_size, rng)


def epoch_new_order_every_batch(X, y, W, b, lr, batch_size, rng):
    for start in range(0, len(X), batch_size):
        rows = rng.permutation(len(X))[:batch_size]
        dW, db, _ = model.gradients(X[rows], y[rows], W, b)
        W, b = W - lr * dW, b - lr * db
    return W, b


def epoch_sampled_with_replacement(X, y, W, b, lr, batch_size, rng):
    for _ in range(-(-len(X) // batch_size)):
        rows = rng.choice(len(X), batch_size)
        dW, db, _ = model.gradients(X[rows], y[rows], W, b)
        W, b = W - lr * dW, b - lr * db
    return W, b


def epoch_random_integers(X, y, W, b, lr, batch_size, rng):
    for _ in range(-(-len(X) // batch_size)):
        rows = rng.integers(0, len(X), batch_size)
        dW, db, _ = model.gradients(X[rows], y[rows], W, b)
        W, b = W - lr * dW, b - lr * db
    return W, b


def epoch_global_random(X, y, W, b, lr, batch_size, rng):
    return epoch_for(X, y, W, b, lr, batch_size, np.random.default_rng(12345))


def epoch_shuffles_in_place(X, y, W, b, lr, batch_size, rng):
    state = rng.bit_generator.state
    rng.shuffle(X)
    rng.bit_generator.state = state
    rng.shuffle(y)
    return epoch_unshuffled(X, y, W, b, lr, batch_size, rng)


def epoch_once_per_epoch(X, y, W, b, lr, batch_size, rng):
    order = rng.permutation(len(X))
    sum_dW, sum_db, k = 0, 0, 0
    for start in range(0, len(X), batch_size):
        rows = order[start:start + batch_size]
        dW, db, _ = model.gradients(X[rows], y[rows], W, b)
        sum_dW, sum_db, k = sum_dW + dW, sum_db + db, k + 1
    return W - lr * sum_dW / k, b - lr * sum_db / k


def epoch_gradients_at_start(X, y, W, b, lr, batch_size, rng):
    order = rng.permutation(len(X))
    W0, b0 = W, b
    for start in range(0, len(X), batch_size):
        rows = order[start:start + batch_size]
        dW, db, _ = model.gradients(X[rows], y[rows], W0, b0)
        W, b = W - lr * dW, b - lr * db
    return W, b


def epoch_update_not_kept(X, y, W, b, lr, batch_size, rng):
    order = rng.permutation(len(X))
    for start in range(0, len(X), batch_size):
        rows = order[start:start + batch_size]
        dW, db, _ = model.gradients(X[rows], y[rows], W, b)
        W_new, b_new = W - lr * dW, b - lr * db
    return W_new, b_new


def epoch_b_fixed(X, y, W, b, lr, batch_size, rng):
    order = rng.permutation(len(X))
    for start in range(0, len(X), batch_size):
        rows = order[start:start + batch_size]
        dW, db, _ = model.gradients(X[rows], y[rows], W, b)
        W = W - lr * dW
    return W, b


def epoch_return_in_loop(X, y, W, b, lr, batch_size, rng):
    order = rng.permutation(len(X))
    for start in range(0, len(X), batch_size):
        rows = order[start:start + batch_size]
        dW, db, _ = model.gradients(X[rows], y[rows], W, b)
        W, b = W - lr * dW, b - lr * db
        return W, b


def epoch_in_place(X, y, W, b, lr, batch_size, rng):
    order = rng.permutation(len(X))
    for start in range(0, len(X), batch_size):
        rows = order[start:start + batch_size]
        dW, db, _ = model.gradients(X[rows], y[rows], W, b)
        W -= lr * dW
        b -= lr * db
    return W, b


def epoch_full_batch(X, y, W, b, lr, batch_size, rng):
    order = rng.permutation(len(X))
    dW, db, _ = model.gradients(X[order], y[order], W, b)
    return W - lr * dW, b - lr * db


def epoch_per_example(X, y, W, b, lr, batch_size, rng):
    for m in rng.permutation(len(X)):
        dW, db, _ = model.gradients(X[m:m + 1], y[m:m + 1], W, b)
        W, b = W - lr * dW, b - lr * db
    return W, b


def epoch_split_too_few(X, y, W, b, lr, batch_size, rng):
    order = rng.permutation(len(X))
    for rows in np.array_split(order, len(X) // batch_size):
        dW, db, _ = model.gradients(X[rows], y[rows], W, b)
        W, b = W - lr * dW, b - lr * db
    return W, b


def epoch_unpacks_two(X, y, W, b, lr, batch_size, rng):
    order = rng.permutation(len(X))
    for start in range(0, len(X), batch_size):
        rows = order[start:start + batch_size]
        dW, db = model.gradients(X[rows], y[rows], W, b)
        W, b = W - lr * dW, b - lr * db
    return W, b


def epoch_lr_over_batch(X, y, W, b, lr, batch_size, rng):
    return epoch_for(X, y, W, b, lr / batch_size, batch_size, rng)


@pytest.mark.parametrize("fn, phrases", [
    (epoch_to_n_plus_1, ["batches came out empty", "start one at 9"]),
    (epoch_slice_end_fixed, ["batches came out empty", "end of your slice"]),
    (epoch_own_gradients_empty, ["batches came out empty"]),
    (epoch_full_batches_only, ["skipped the last, shorter batch"]),
    (epoch_to_n_minus_batch, ["skipped the last, shorter batch"]),
    (epoch_to_n_minus_1, ["7 examples", "skipped the last, shorter batch"]),
    (epoch_unshuffled, ["did not shuffle"]),
    (epoch_order_unused, ["drew a random order but went through X in its original order"]),
    (epoch_images_only, ["shuffled the images but not their labels"]),
    (epoch_two_orders, ["two different random orders"]),
    (epoch_new_order_every_batch, ["drew 3 random orders or samples in one epoch"]),
    (epoch_sampled_with_replacement, ["drew 3 random orders or samples in one epoch"]),
    (epoch_random_integers, ["drew 3 random orders or samples in one epoch"]),
    (epoch_global_random, ["did not draw its order from rng"]),
    (epoch_shuffles_in_place, ["shuffled an array it was given in place"]),
    (epoch_once_per_epoch, ["one update for the whole epoch"]),
    (epoch_gradients_at_start, ["gradient at the W it started with"]),
    (epoch_update_not_kept, ["only the last batch counts"]),
    (epoch_b_fixed, ["updated W but not b"]),
    (epoch_return_in_loop, ["made only the first update", "`return` inside the loop"]),
    (epoch_in_place, ["changed its input W"]),
    (epoch_full_batch, ["single update with all 8 examples"]),
    (epoch_per_example, ["one update per example"]),
    (epoch_split_too_few, ["2 batches of more than batch_size = 3"]),
    (epoch_unpacks_two, ["too many values to unpack", "three things"]),
    (epoch_lr_over_batch, ["wrong value"]),
    (lambda X, y, W, b, lr, batch_size, rng: W, ["expected a pair (W, b)"]),
])
def test_minibatch_epoch_names_the_mistake(fn, phrases):
    fails(checks.check_minibatch_epoch, fn, *phrases)


def test_minibatch_epoch_failure_hands_back_a_working_epoch(capsys):
    ref = checks.check_minibatch_epoch(epoch_to_n_plus_1)
    assert "use mnistlib's minibatch_epoch" in capsys.readouterr().out
    X, y, W, b = checks.nb07_minibatches_and_speed._epoch_inputs(9)
    got = ref(X, y, W, b, 0.5, 3, np.random.default_rng(1))
    want = epoch_for(X, y, W, b, 0.5, 3, np.random.default_rng(1))
    assert all(np.allclose(g, w) for g, w in zip(got, want))


def test_the_epoch_of_the_exercise_is_the_first_epoch_of_train():
    # The notebook says so: same seed, same order, same updates as train's first epoch.
    from mnistlib.train import train
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, size=(230, 784)).astype(np.float32)
    y = rng.integers(0, 10, 230)
    W0, b0 = model.init_params()
    W, b = epoch_for(X, y, W0, b0, 0.5, 50, np.random.default_rng(3))
    res = train(X, y, lr=0.5, epochs=1, batch_size=50, seed=3, evaluate=False)
    np.testing.assert_allclose(W, res.W, atol=1e-5)
    np.testing.assert_allclose(b, res.b, atol=1e-5)


@pytest.mark.parametrize("fn", [epoch_to_n_plus_1, epoch_full_batches_only, epoch_unshuffled, epoch_order_unused,
                                epoch_images_only, epoch_new_order_every_batch, epoch_update_not_kept, epoch_b_fixed,
                                epoch_per_example, epoch_split_too_few])
def test_minibatch_epoch_nudges_first_and_gives_the_code_on_request(fn, capsys):
    checks.check_minibatch_epoch(fn)
    first = capsys.readouterr().out
    assert 'hint("minibatch_epoch")' in first
    for code in ("order[start:start + batch_size]", "range(0, len(X)", "= W - lr", "= b - lr", "array_split("):
        assert code not in first, f"{code!r} in the first hint:\n{first}"
    checks.hint("minibatch_epoch")
    assert "Hint for minibatch_epoch:" in capsys.readouterr().out


MINE_07 = [checks.check_gradients_loop, checks.check_gradients_vectorised, checks.check_minibatch_epoch]


@pytest.mark.parametrize("check", MINE_07)
def test_notebook_07_checks_say_not_implemented_none_and_crash(check):
    def todo(*args):
        raise NotImplementedError("your turn")

    def crash(*args):
        raise KeyError("oops")
    fails(check, todo, "not implemented yet")
    fails(check, lambda *args: None, "returned None")
    fails(check, crash, "raised KeyError", "oops")
    fails(check, lambda *args: ("a", "b"), "not numbers")
