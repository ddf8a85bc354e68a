"""Checks for the exercises of notebook 01, The MNIST data (``notebooks/01_mnist_data.ipynb``)."""

import numpy as np

from .framework import as_array, compare, exercise, fail, fmt, run, seeded_rng


# --- notebook 01: flatten an image ----------------------------------------------

def _flatten_reference(image):
    return np.asarray(image, dtype=np.float32).reshape(784) / 255


@exercise("flatten", reference=lambda: _flatten_reference, hints=[
    "start from the file: \"row by row\" means all 28 pixels of row 0, then all 28 of row 1, and so on. "
    "How many pixels come before image[r, c]? That count is its position in the row of 784.",
    "print np.arange(6).reshape(2, 3), then that grid laid out as one row in numpy's two orders, "
    ".reshape(6) and .reshape(6, order=\"F\"): which one goes row by row, as the file does?",
    "the scale: every image is divided by the same number, the largest grey level a byte (the file's type "
    "08) can hold, so that full ink becomes 1 whatever the image.",
], reveal="return image.reshape(784) / 255")
def check_flatten(fn):
    """fn(image: (28, 28) uint8 in 0..255) -> (784,) floats in [0, 1], row by row."""
    name = "flatten"
    rng = seeded_rng()
    random = rng.integers(0, 256, size=(28, 28), dtype=np.uint8)
    random[0, 0], random[0, 1] = 255, 0                      # make sure the extremes occur
    faint = np.zeros((28, 28), dtype=np.uint8)               # a light pencil stroke: its darkest pixel is 200
    faint[6:22, 12:16] = rng.integers(40, 200, size=(16, 4))
    faint[10, 13] = 200
    white = np.full((28, 28), 255, dtype=np.uint8)           # catches answers that ignore the input
    cases = [(random, "a random (28, 28) uint8 image"),
             (faint, "a faint image whose darkest pixel is 200, not 255"),
             (white, "an all-255 image")]
    for image, what in cases:
        call = f"flatten(image) with {what}"
        got = as_array(name, run(name, fn, image, call=call), call)
        expected = _flatten_reference(image)
        if got.shape == (28, 28):
            fail(name, f"{call} returned shape (28, 28), expected (784,).",
                 "the model reads one row of 784 numbers: the 28 rows of the image one after the other.",
                 reveal="image.reshape(784) (or image.ravel()) lays the rows end to end.")
        if got.shape == (1, 784):
            fail(name, f"{call} returned shape (1, 784), expected (784,).",
                 "the model's x is a plain vector of shape (784,); (1, 784) is a matrix with one row.",
                 reveal="image.reshape(784), not image.reshape(1, 784).")
        if got.shape == (784,) and np.all(np.isfinite(got)) and not np.allclose(got, expected, atol=1e-6):
            flat = image.reshape(784).astype(np.float64)
            if got.max() > 1.5:
                fail(name, f"{call} returned values up to {fmt(got.max())}; expected values in [0, 1].",
                     "grey levels run from 0 to 255; the model wants them from 0 to 1.",
                     "255, the largest grey level, must become exactly 1, and 0 stay 0.")
            if np.allclose(got, flat / flat.max(), atol=1e-6) or \
                    np.allclose(got, (flat - flat.min()) / (flat.max() - flat.min()), atol=1e-6):
                fail(name, f"{call} turned its darkest pixel, 200, into {fmt(got.max())}; expected "
                           f"200/255 = {200 / 255:.4f}. You scaled by the image's own darkest pixel, so a faint "
                           "digit comes out as dark as a bold one.",
                     "divide every image by the same number: the largest grey level there can be.",
                     reveal="divide by 255, not by image.max().")
            if np.allclose(got, image.T.reshape(784) / 255, atol=1e-6):
                fail(name, f"{call} read the image column by column: your entry 28 * r + c holds image[c, r].",
                     "MNIST stores each image row by row: entry 28 * r + c must be image[r, c].",
                     "lay np.arange(6).reshape(2, 3) out as one row the way your function does: in the file's "
                     "order, row by row, 1 comes right after 0; in yours, 3 does.",
                     "image.reshape(784), without .T or order='F'.")
            if np.allclose(got, flat / 256, atol=1e-6):
                fail(name, f"{call} divided by 256: a pixel of 255 became {255 / 256:.4f}, not 1.",
                     "255 is the largest grey level, and it must become exactly 1.")
        compare(name, got, expected, call=call,
                hint="entry 28 * r + c of your vector must be image[r, c] / 255.")
    return len(cases)


# --- notebook 01: where the ink is ------------------------------------------------

FAINTEST_MNIST = 1 / 255     # the faintest ink an MNIST image can hold: grey level 1 of 255
FAINTEST_DRAWN = 0.0002      # the edge of a drawn digit after resizing (notebook 10) is fainter still


def _ink_box_reference(x):
    grid = np.asarray(x).reshape(28, 28) > 0
    rows, cols = np.flatnonzero(grid.any(axis=1)), np.flatnonzero(grid.any(axis=0))
    return int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])


def _ink_images():
    """Three (784,) images, each with a description, whose boxes catch the usual mistakes.

    Each one's box has a pixel of the faintest ink at an edge, so that a threshold above 0
    (x > 0.01, x > 0.1) misses it."""
    rng = seeded_rng()
    tall = np.zeros((28, 28))
    tall[6:20, 9:15] = rng.uniform(0.3, 1.0, size=(14, 6))   # a tall stroke, off centre
    tall[5, 11] = FAINTEST_MNIST                              # faint pixels: the top row is 5,
    tall[12, 15] = 0.08                                       # the right column 15
    edges = np.zeros((28, 28))
    edges[10:18, 5:22] = 0.7
    edges[0, 3] = edges[27, 20] = edges[14, 27] = 1.0        # ink in the first and last row, the last column
    edges[13, 2] = FAINTEST_DRAWN                            # and a trace in column 2, the left edge
    pieces = np.zeros((28, 28))
    pieces[3:7, 10:13] = 1.0                                  # two pieces, empty rows and a column between them
    pieces[20:23, 4:9] = 0.9
    pieces[23, 6] = FAINTEST_MNIST                            # the bottom row is 23
    return [(tall.reshape(784).astype(np.float32),
             "a tall stroke with a faint pixel in its top row and its right column"),
            (edges.reshape(784).astype(np.float32), "ink in the first row, the last row and the last column, "
                                                     "and a trace of 0.0002 in its left column"),
            (pieces.reshape(784).astype(np.float32), "two separate pieces with empty rows between them")]


def _threshold_mistake(name, said, grid, box):
    """Fail if ``box`` is the ink box of the pixels above some level: faint ink left out."""
    levels = np.unique(grid[grid > 0])
    for level in levels[:-1]:
        if box == _ink_box_reference(grid * (grid > level)):
            missed = [fmt(v, 4) for v in levels[levels <= level][:3]]
            missed = ", ".join(missed[:-1]) + " and " + missed[-1] if len(missed) > 1 else missed[0]
            fail(name, f"{said}: faint pixels are ink too. Yours leaves out the faintest ones: this image has "
                       f"pixels of {missed} at the edges of its ink. (The faintest grey in MNIST is "
                       f"1/255 = {FAINTEST_MNIST:.4f}; a drawn digit, resized, has fainter ones.)",
                 "a pixel holds ink if it is not exactly 0: compare with 0, not with a small number.")


def _counted_mistake(name, said, grid, box, expected):
    """Fail if bottom (or right) was found as top (left) plus the number of rows (columns) with ink."""
    t, b, l, r = expected
    for axis, (first, last), (e_first, e_last), what in [(1, box[:2], (t, b), ("bottom", "top", "rows")),
                                                           (0, box[2:], (l, r), ("right", "left", "columns"))]:
        inked = (grid > 0).any(axis=axis)
        counted = e_first + int(inked.sum()) - 1
        if last != e_last and last == counted and first == e_first:
            end, start, lines = what
            fail(name, f"{said}: {end} = {start} + (number of {lines} with ink) - 1 assumes that the {lines} "
                       f"with ink follow each other; here {int((~inked[e_first:e_last + 1]).sum())} {lines} "
                       f"between {e_first} and {e_last} are empty.",
                 f"find the last of the {lines} that hold ink itself, rather than counting them.")


@exercise("ink_box", reference=lambda: _ink_box_reference, hints=[
    "turn x back into the 28 x 28 grid first (row r is x[28 * r:28 * r + 28]); then ask of each row "
    "whether it holds any ink, x > 0.",
    "with one True/False per row, top is the first True and bottom the last; there may be empty rows in "
    "between, so find the last row with ink itself rather than counting rows. The columns work the same "
    "way, along the other axis.",
    "numpy gives the positions of the True entries of an array, in order (np.flatnonzero): their first "
    "and last are what you need.",
], reveal="grid = x.reshape(28, 28) > 0; rows = np.flatnonzero(grid.any(axis=1)); cols = "
          "np.flatnonzero(grid.any(axis=0)); return rows[0], rows[-1], cols[0], cols[-1]")
def check_ink_box(fn):
    """fn(x: (784,) floats in [0, 1]) -> (top, bottom, left, right): the first and the last row,
    and the first and the last column, that hold any ink (x > 0), numbered 0 to 27."""
    name = "ink_box"
    for x, what in _ink_images():
        call = f"ink_box(x) with {what}"
        got = as_array(name, run(name, fn, x, call=call), call)
        if got.shape != (4,):
            fail(name, f"{call} returned shape {got.shape}; expected four numbers (top, bottom, left, right).",
                 "end with `return top, bottom, left, right`.")
        if not np.all(np.isfinite(got)) or not np.all(got == np.round(got)):
            fail(name, f"{call} returned {fmt(got)}; expected four whole row and column numbers.",
                 "rows and columns are counted in whole pixels, 0 to 27.")
        box = tuple(int(v) for v in got)
        t, b, l, r = expected = _ink_box_reference(x)
        if box == expected:
            continue
        grid = x.reshape(28, 28)
        said = f"{call} returned {box}; expected {expected}"
        if max(box) > 27 or min(box) < 0:
            fail(name, f"{said}: {max(box) if max(box) > 27 else min(box)} is not a row or column number "
                       "(they run from 0 to 27).",
                 "did you use positions in the row of 784 numbers? Pixel k of x sits in row k // 28, "
                 "column k % 28: go back to the 28 x 28 grid first.",
                 reveal="grid = x.reshape(28, 28); then find the rows of grid that hold any ink, and the columns.")
        if box == (l, r, t, b):
            fail(name, f"{said}: rows and columns are swapped.",
                 "in grid[r, c] the first index is the row (counted downwards), the second the column.",
                 "ask of each row whether it holds ink by looking along it, across its 28 columns.",
                 "grid.any(axis=1)[r] says whether row r holds ink; grid.any(axis=0)[c] whether column c does.")
        if box == (t, l, b, r):
            fail(name, f"{said}: that is (top, left, bottom, right); the order asked for is "
                       "(top, bottom, left, right).", "return top, bottom, left, right.")
        if box == (t, b + 1, l, r + 1):
            fail(name, f"{said}: your bottom and right are one past the last row and column with ink, "
                       "as the end of a Python slice is.",
                 "bottom is the last row that holds ink itself, so that the ink fits in grid[top:bottom + 1].")
        _threshold_mistake(name, said, grid, box)
        _counted_mistake(name, said, grid, box, expected)
        wrong = [f"{side} should be {e}, got {g}" for side, e, g in
                 zip(("top", "bottom", "left", "right"), expected, box) if e != g]
        rows = "top is the first row that holds any ink (x > 0), bottom the last one"
        cols = "left is the first column that holds any ink (x > 0), right the last one"
        fail(name, f"{said}: {', '.join(wrong)}.",
             "; ".join(([rows] if box[:2] != expected[:2] else []) + ([cols] if box[2:] != expected[2:] else []))
             + ".")
    return 3
