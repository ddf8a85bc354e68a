"""The checks of notebook 01: flatten an image, and the box around its ink.

Each check must pass right answers written in different ways and reject the wrong
answers learners write, with a message that names the mistake.
"""

import numpy as np
import pytest

from mnistlib import checks

from helpers import fails


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


def test_flatten_hints_hold_the_code_only_when_revealed(capsys):
    checks.check_flatten(lambda im: im.reshape(784).astype(float))
    assert "/ 255" not in capsys.readouterr().out
    checks.hint("flatten")
    assert "/ 255" not in capsys.readouterr().out
    checks.hint("flatten", reveal=True)
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
    (lambda x: ink_box(x * (x > 0.5)), ["faint pixels are ink too", "0.0039 and 0.08"]),
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


@pytest.mark.parametrize("level", [0.01, 0.02, 0.004, 0.001])
def test_ink_box_with_a_threshold_below_the_old_faintest_pixel(level):
    # Passed before: the faintest ink in the check's images was 0.05.
    fails(checks.check_ink_box, lambda x: ink_box(x * (x > level)), "faint pixels are ink too",
          "compare with 0")


@pytest.mark.parametrize("wrong, said", [
    (lambda x: (lambda t, b, l, r: (t, b, l + 1, r))(*ink_box(x)), "left should be 9, got 10."),
    (lambda x: (lambda t, b, l, r: (t, b, l, r + 1))(*ink_box(x)), "right should be 15, got 16."),
    (lambda x: (lambda t, b, l, r: (t, b, r, l))(*ink_box(x)),
     "left should be 9, got 15, right should be 15, got 9."),
])
def test_ink_box_with_only_the_left_or_right_edge_wrong_is_told_so(wrong, said):
    # Was told "bottom = top + (number of rows with ink) - 1 ...": its bottom was right.
    err = fails(checks.check_ink_box, wrong, said)
    assert "bottom" not in str(err)


def test_ink_box_right_edge_by_counting_columns():
    def counted(x):
        grid = x.reshape(28, 28) > 0
        rows, cols = np.flatnonzero(grid.any(axis=1)), np.flatnonzero(grid.any(axis=0))
        return rows[0], rows[-1], cols[0], cols[0] + len(cols) - 1
    fails(checks.check_ink_box, counted, "right = left + (number of columns with ink) - 1", "columns")


def test_ink_box_must_not_change_x():
    def blanks_it(x):
        box = ink_box(x)
        x[:] = 0
        return box
    fails(checks.check_ink_box, blanks_it, "changed its input x")
