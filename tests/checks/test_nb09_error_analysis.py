"""The check of notebook 09: the confusion matrix.

It must pass right answers written in different ways and reject the wrong answers
learners write, with a message that names the mistake.
"""

import numpy as np
import pytest

from mnistlib import checks, evaluate
from mnistlib.checks import check_confusion_matrix

from helpers import fails


def loop(y_true, y_pred):
    C = np.zeros((10, 10), dtype=int)
    for t, p in zip(y_true, y_pred):
        C[t, p] += 1
    return C


def with_dtype(dtype):
    def confusion_matrix(y_true, y_pred):
        C = np.zeros((10, 10), dtype=dtype)
        for t, p in zip(y_true, y_pred):
            C[t, p] += 1
        return C
    return confusion_matrix


def add_at(y_true, y_pred):
    C = np.zeros((10, 10), dtype=np.int64)
    np.add.at(C, (y_true, y_pred), 1)
    return C


def histogram(y_true, y_pred):
    return np.histogram2d(y_true, y_pred, bins=np.arange(11))[0].astype(int)


def one_hot_product(y_true, y_pred):
    eye = np.eye(10, dtype=int)
    return eye[y_true].T @ eye[y_pred]


def nested_lists(y_true, y_pred):
    C = [[0] * 10 for _ in range(10)]
    for k in range(len(y_true)):
        C[y_true[k]][y_pred[k]] += 1
    return C


def per_class(y_true, y_pred):
    # A loop over the 10 classes: its length does not grow with the number of images.
    C = np.zeros((10, 10), dtype=int)
    for i in range(10):
        C[i] = np.bincount(y_pred[y_true == i], minlength=10)
    return C


def cell_numbers(y_true, y_pred):
    def cell(t, p):                      # a learner's own helper, whatever its name
        return 10 * t + p
    return np.bincount(cell(np.asarray(y_true), np.asarray(y_pred)), minlength=100).reshape(10, 10)


def unique_counts(y_true, y_pred):
    C = np.zeros(100, dtype=np.int64)
    cells, counts = np.unique(10 * y_true + y_pred, return_counts=True)
    C[cells] = counts
    return C.reshape(10, 10)


def broadcast(y_true, y_pred):
    classes = np.arange(10)
    return ((y_true[:, None, None] == classes[:, None]) & (y_pred[:, None, None] == classes)).sum(axis=0)


RIGHT_CONFUSION = {
    "np.add.at": add_at, "bincount": lambda t, p: np.bincount(10 * t + p, minlength=100).reshape(10, 10),
    "histogram2d": histogram, "one-hot product": one_hot_product, "broadcasting": broadcast,
    "a loop over the classes": per_class, "its own helper": cell_numbers, "np.unique": unique_counts,
    "int32": lambda t, p: add_at(t, p).astype(np.int32),
}


def test_confusion_matrix_that_calls_mnistlibs_fails():
    fails(check_confusion_matrix, lambda t, p: evaluate.confusion_matrix(t, p), "confusion_matrix() from mnistlib")


def pairs_squeezed(y_true, y_pred):
    C = np.zeros((10, 10), dtype=int)
    for t, p in np.squeeze(np.stack([y_true, y_pred], axis=1)):
        C[t, p] += 1
    return C


def test_confusion_matrix_that_drops_the_axis_of_a_single_image():
    # Passed before: the check had no case of one image.
    fails(check_confusion_matrix, pairs_squeezed, "with a batch of one image", "raised TypeError")


@pytest.mark.parametrize("fn", RIGHT_CONFUSION.values(), ids=RIGHT_CONFUSION.keys())
def test_confusion_matrix_passes_right_answers(fn, capsys):
    assert check_confusion_matrix(fn) is fn
    assert capsys.readouterr().out == "✓ confusion_matrix: all 6 checks passed\n"


LOOPS = {
    "a for loop over the pairs": (loop, ["goes through the images one at a time", "a for loop, line 3 of it",
                                         "ran 201 times for a batch of 200 images, 21 for a batch of 20"]),
    "nested lists": (nested_lists, ["goes through the images one at a time", "a for loop"]),
    "a comprehension": (lambda t, p: np.bincount([10 * a + b for a, b in zip(t, p)], minlength=100).reshape(10, 10),
                        ["goes through the images one at a time", "a comprehension"]),
    "np.vectorize": (lambda t, p: np.bincount(np.vectorize(lambda a, b: 10 * a + b)(t, p), minlength=100)
                     .reshape(10, 10), ["goes through the images one at a time"]),
}


@pytest.mark.parametrize("fn, phrases", LOOPS.values(), ids=LOOPS.keys())
def test_confusion_matrix_rejects_a_loop_over_the_images(fn, phrases):
    failure = fails(check_confusion_matrix, fn, "your function counts right", *phrases)
    assert "10 classes is fine" in failure.more


def fancy_indexing(y_true, y_pred):
    C = np.zeros((10, 10), dtype=int)
    C[y_true, y_pred] += 1
    return C


def size_from(labels_of):
    def confusion_matrix(y_true, y_pred):
        k = labels_of(y_true, y_pred)
        C = np.zeros((k, k), dtype=int)
        for t, p in zip(y_true, y_pred):
            C[t, p] += 1
        return C
    return confusion_matrix


def skip_last(y_true, y_pred):
    C = np.zeros((10, 10), dtype=int)
    for k in range(len(y_true) - 1):
        C[y_true[k], y_pred[k]] += 1
    return C


def only(keep):
    def confusion_matrix(y_true, y_pred):
        C = np.zeros((10, 10), dtype=int)
        for t, p in zip(y_true, y_pred):
            if keep(t, p):
                C[t, p] += 1
        return C
    return confusion_matrix


WRONG_CONFUSION = {
    "uint8 matrix": (with_dtype(np.uint8), ["dtype uint8", "up to 255", "should be 302", "wrapped round to 46"]),
    "int8 matrix": (with_dtype(np.int8), ["dtype int8", "up to 127"]),
    "rows and columns swapped": (lambda t, p: loop(p, t), ["swapped"]),
    "fancy indexing counts repeats once": (fancy_indexing, ["at most once", "C[y_true, y_pred] += 1 reads every cell"]),
    "float matrix": (with_dtype(float), ["floating-point", "dtype float64"]),
    "float histogram2d": (lambda t, p: np.histogram2d(t, p, bins=np.arange(11))[0], ["floating-point"]),
    "histogram2d with bins=10": (lambda t, p: np.histogram2d(t, p, bins=10)[0].astype(int),
                                 ["entries differ", "in the wrong cell", "bins=np.arange(11)"]),
    "rows divided by their totals": (
        lambda t, p: loop(t, p) / np.maximum(loop(t, p).sum(axis=1, keepdims=True), 1), ["divided each row"]),
    "size from the largest label": (
        size_from(lambda t, p: max(t.max(), p.max()) + 1), ["shape (8, 8)", "must not come from"]),
    "size from the classes present": (size_from(lambda t, p: len(np.unique(t))), ["IndexError", "too small"]),
    "size from y_true only": (size_from(lambda t, p: t.max() + 1), ["shape (8, 8)"]),
    "True/False matrix": (lambda t, p: loop(t, p) > 0, ["True/False"]),
    "one image left out": (skip_last, ["one short", "left out"]),
    "only the right answers": (only(lambda t, p: t == p), ["only the images predicted correctly"]),
    "only the mistakes": (only(lambda t, p: t != p), ["only the mistakes"]),
    "y_true with itself": (lambda t, p: loop(t, t), ["y_true with itself"]),
    "a 9 x 9 corner": (lambda t, p: loop(t, p)[:9, :9], ["shape (9, 9)"]),
    "a flat 100 counts": (lambda t, p: loop(t, p).ravel(), ["shape (100,)", "one row per true class"]),
    "changes its input": (lambda t, p: (t.sort(), loop(t, p))[1], ["changed its input t"]),
    "forgets return": (lambda t, p: None, ["returned None"]),
    "bincount without minlength": (lambda t, p: np.bincount(10 * t + p).reshape(10, 10),
                                   ["cannot reshape", "minlength"]),
    "bincount on the wrong numbers": (lambda t, p: np.bincount(t + 10 * p, minlength=100).reshape(10, 10),
                                      ["swapped"]),
    "bincount of t + p": (lambda t, p: np.bincount(t + p, minlength=100)[:100].reshape(10, 10),
                          ["wrong value"]),
}


@pytest.mark.parametrize("fn, phrases", WRONG_CONFUSION.values(), ids=WRONG_CONFUSION.keys())
def test_confusion_matrix_rejects_wrong_answers(fn, phrases):
    fails(check_confusion_matrix, fn, *phrases)


def test_hints_come_in_two_steps(capsys):
    check_confusion_matrix(fancy_indexing)
    first = capsys.readouterr().out
    assert "np.add.at(C" not in first.split("Hint:")[0]
    checks.hint("confusion_matrix")
    assert "np.add.at(C" not in capsys.readouterr().out
    checks.hint("confusion_matrix", reveal=True)
    assert "np.add.at(C, (y_true, y_pred), 1)" in capsys.readouterr().out


def test_first_hint_before_any_attempt_says_how_to_start_without_a_loop(capsys):
    checks.hints.forget_attempts()
    checks.hint("confusion_matrix")
    first = capsys.readouterr().out
    assert "numbered 0 to 99" in first and "bincount" not in first
