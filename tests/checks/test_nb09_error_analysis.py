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


def broadcast(y_true, y_pred):
    classes = np.arange(10)
    return ((y_true[:, None, None] == classes[:, None]) & (y_pred[:, None, None] == classes)).sum(axis=0)


RIGHT_CONFUSION = {
    "loop": loop, "np.add.at": add_at, "bincount": lambda t, p: np.bincount(10 * t + p, minlength=100).reshape(10, 10),
    "histogram2d": histogram, "one-hot product": one_hot_product, "nested lists": nested_lists,
    "broadcasting": broadcast, "int32": with_dtype(np.int32),
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
    assert capsys.readouterr().out == "✓ confusion_matrix: all 5 checks passed\n"


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
    "fancy indexing counts repeats once": (fancy_indexing, ["at most once", "fancy indexing"]),
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
