"""Checks for the exercise of notebook 09, Error analysis (``notebooks/09_error_analysis.ipynb``)."""

import numpy as np

from .framework import as_array, compare, exercise, fail, loop_over_items, run, seeded_rng
from .watch import imported


# --- notebook 09: the confusion matrix ------------------------------------------

def _evaluate():
    from .. import evaluate         # when a check first needs it: evaluate imports matplotlib
    return evaluate


def _confusion_verdict(name, got, expected, y_true, y_pred, call, hint, more):
    """Fail with what is wrong if ``got`` is not the confusion matrix ``expected`` (10 x 10 ints)."""
    from ..evaluate import confusion_matrix

    got = as_array(name, got, call)
    if got.ndim == 2 and got.shape[0] == got.shape[1] and got.shape != (10, 10):
        top = int(max(y_true.max(), y_pred.max()))
        fail(name, f"{call} returned shape {got.shape}, expected (10, 10). The size must not come from "
                   f"the labels you are given (the largest here is {top}).",
             "make the matrix 10 x 10 always, even when some digits never occur in y_true or y_pred.",
             reveal="C = np.zeros((10, 10), dtype=int)")
    if got.shape != (10, 10):
        fail(name, f"{call} returned shape {got.shape}, expected (10, 10): one row per true class, one "
                   "column per predicted class.", hint, reveal=more)
    if got.dtype.kind == "b":
        fail(name, f"{call} returned True/False values (dtype bool), not counts.",
             "count: add 1 to the cell for every image, in a matrix of integers.", reveal=more)
    if got.dtype.kind == "f":
        rows = expected.sum(axis=1, keepdims=True)
        if np.allclose(got, expected):
            fail(name, f"{call}: the counts are right, but they are floating-point numbers (dtype "
                       f"{got.dtype}). Counts are whole numbers, and the matrix should say so.",
                 "make the matrix with an integer dtype (or convert it at the end).",
                 reveal="np.zeros((10, 10), dtype=int); or return C.astype(int)")
        if np.allclose(got, expected / np.maximum(rows, 1)):
            fail(name, f"{call} divided each row by its total: those are fractions per true class (the "
                       "per-class accuracy comes later from them). The matrix holds the counts.",
                 "return the counts themselves, without dividing.")
        if np.allclose(got, expected / expected.sum()):
            fail(name, f"{call} divided the counts by the number of images. The matrix holds the counts.",
                 "return the counts themselves, without dividing.")
    if got.dtype.kind in "iu" and np.iinfo(got.dtype).max < expected.max():
        i, j = np.unravel_index(int(np.argmax(expected)), expected.shape)
        fail(name, f"{call}: your matrix has dtype {got.dtype}, which only holds numbers up to "
                   f"{np.iinfo(got.dtype).max}: C[{i}, {j}] should be {expected[i, j]}, but the count "
                   f"wrapped round to {got[i, j]}.",
             "make the matrix with a wider integer dtype: the test set alone has 1135 ones, the "
             "training set 6742.",
             reveal="C = np.zeros((10, 10), dtype=int) (64-bit integers)")
    symmetric = np.array_equal(expected, expected.T)
    if not symmetric and np.array_equal(got, expected.T):
        fail(name, f"{call} has rows and columns swapped: C[i, j] should count images of true class i "
                   "predicted as j.", "the row is the true class, the column the prediction.",
             reveal="C[t, p] += 1 with t from y_true and p from y_pred.")
    if expected.max() > 1 and np.array_equal(got, (expected > 0).astype(got.dtype)):
        fail(name, f"{call} counted each pair (true, predicted) at most once: a cell that should hold "
                   f"{expected.max()} holds 1.",
             "C[y_true, y_pred] += 1 reads every cell it needs first, then writes each one once: a pair that "
             "repeats is added once. numpy's ufuncs have an .at method that adds once per index, repeats "
             "included; or number the 100 cells and count the numbers.",
             reveal="np.add.at(C, (y_true, y_pred), 1), or np.bincount(10 * y_true + y_pred, minlength=100)")
    diagonal = np.diag(np.diag(expected))
    if got.sum() > 0 and np.array_equal(got, diagonal) and not np.array_equal(expected, diagonal):
        fail(name, f"{call} counted only the images predicted correctly (the diagonal).",
             "every image counts, right or wrong: add 1 to C[t, p] whatever t and p are.")
    if np.array_equal(got, expected - diagonal) and diagonal.any():
        fail(name, f"{call} counted only the mistakes: the diagonal, the images predicted correctly, is 0.",
             "every image counts, right or wrong: add 1 to C[t, p] whatever t and p are.")
    if got.sum() == expected.sum() - 1:
        fail(name, f"{call}: the counts add up to {got.sum()}, one short of the {expected.sum()} images: "
                   "one image was left out.",
             "every image counts: does a slice or a range in your function stop one short?")
    for a, b, what in ((y_true, y_true, "y_true with itself"), (y_pred, y_pred, "y_pred with itself")):
        if not np.array_equal(expected, confusion_matrix(a, b)) and np.array_equal(got, confusion_matrix(a, b)):
            fail(name, f"{call} paired {what}.", "each image gives one pair (y_true[k], y_pred[k]).")
    if got.sum() == expected.sum():
        hint = ("every image is counted, but some in the wrong cell: row t and column p for an image of true "
                "class t predicted as p (with np.histogram2d, one bin per class: bins=np.arange(11)).")
    compare(name, got, expected, call=call, hint=hint, reveal=more, floating=False)


def _cm_shortcuts():
    what = "which does the whole job"
    return {f: what for f in [_evaluate().confusion_matrix] + imported("sklearn.metrics", "confusion_matrix")}


@exercise("confusion_matrix", reference=lambda: _evaluate().confusion_matrix, shortcuts=_cm_shortcuts, hints=[
    "each image adds 1 to one cell of a 10 × 10 matrix of integer zeros: [its true class, its predicted class]. "
    "Without a loop, think of the 100 cells as numbered 0 to 99, row by row: which number does cell (t, p) get?",
    "cell (t, p) is number 10 t + p. Make that number for all the images at once, with array arithmetic; then "
    "count how often each of the 100 numbers occurs (numpy has a function that counts whole numbers), and "
    "give the 100 counts the shape 10 × 10.",
    "C[y_true, y_pred] += 1 looks right but is not: a pair that repeats is added only once. If you prefer "
    "indexing to counting, numpy's ufuncs have an .at method that adds once per index, repeats included.",
], reveal="return np.bincount(10 * y_true + y_pred, minlength=100).reshape(10, 10)")
def check_confusion_matrix(fn):
    """fn(y_true, y_pred) -> (10, 10) ints, C[i, j] = images of true class i predicted as j, without a
    Python loop over the images."""
    from ..evaluate import confusion_matrix

    name = "confusion_matrix"
    hint = ("C[i, j] counts the images of true class i predicted as j: every image adds 1 to exactly one "
            "cell, [its true class, its predicted class].")
    more = "np.bincount(10 * y_true + y_pred, minlength=100).reshape(10, 10)"
    rng = seeded_rng()
    many = np.concatenate([np.full(300, 3), rng.integers(0, 10, 100)])     # a count above 255
    many_pred = np.concatenate([np.full(300, 3), rng.integers(0, 10, 100)])
    no_nine = rng.integers(0, 9, 50)                                     # 9 only among the predictions
    no_nine_pred = no_nine.copy()
    no_nine_pred[::7] = 9
    cases = [
        ("y_true = [1, 1, 1, 7, 7, 3], y_pred = [1, 7, 1, 7, 7, 3]",
         np.array([1, 1, 1, 7, 7, 3]), np.array([1, 7, 1, 7, 7, 3])),
        ("400 images, over 300 of them 3s predicted as 3", many, many_pred),
        ("50 images, no 9 among the true classes but some among the predictions", no_nine, no_nine_pred),
        ("300 random labels", rng.integers(0, 10, 300), rng.integers(0, 10, 300)),
        ("a batch of one image, y_true = [4], y_pred = [7]", np.array([4]), np.array([7])),
    ]
    for text, y_true, y_pred in cases:
        call = f"confusion_matrix(y_true, y_pred) with {text}"
        got = run(name, fn, y_true, y_pred, call=call, explain=_too_few_counts,
                  hint="an IndexError here means the matrix is too small: make it 10 x 10 whatever "
                       "labels occur. Otherwise: " + hint, reveal=more)
        _confusion_verdict(name, got, confusion_matrix(y_true, y_pred), y_true, y_pred, call, hint, more)
    _no_loop_over_images(name, fn)
    return len(cases) + 1


def _too_few_counts(error):
    """explain: reshaping fewer than 100 counts (np.bincount counts only up to the largest number given)."""
    if "cannot reshape array of size" in str(error):
        return ("np.bincount returns one count per number from 0 up to the largest number it is given, so fewer "
                "than 100 when the last cells are empty: ask it for at least 100 counts (see its minlength).", None,
                "np.bincount(10 * y_true + y_pred, minlength=100)")
    return None


def _no_loop_over_images(name, fn):
    """Fail if fn goes through the images one at a time (its Python steps grow with their number)."""
    def labels(n):
        rng = np.random.default_rng(n)
        return n, (rng.integers(0, 10, n), rng.integers(0, 10, n)), f"confusion_matrix(y_true, y_pred), {n} images"
    loop = loop_over_items(name, fn, labels(20), labels(200), item="image")
    if loop is not None:
        what, where, how_often = loop
        fail(name, f"your function counts right, but it goes through the images one at a time: {what}, {where}, "
                   f"ran {how_often}. Here numpy counts all the pairs at once.",
             "number the 100 cells of the matrix, 0 to 99 row by row: which number does the cell of an image of "
             "true class t predicted as p get? Counting how often each number occurs is one numpy call.",
             "a loop over the 10 classes is fine (its length does not grow with the images); a loop over the "
             "images is not.")
