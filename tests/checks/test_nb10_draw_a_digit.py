"""The check of notebook 10: center_by_mass, centring a drawn digit by its centre of mass.

Each check must pass right answers written in different ways and reject the wrong
answers learners write, with a message that names the mistake.
"""

import numpy as np
import pytest

from mnistlib import draw
from mnistlib.checks import check_center_by_mass, hint

from helpers import fails


# --- center_by_mass: right answers -------------------------------------------------------

def _paste(patch, top, left):
    frame = np.zeros((28, 28), dtype=np.float32)
    frame[top:top + patch.shape[0], left:left + patch.shape[1]] = patch
    return frame


def _com(patch):
    """The centre of mass, written out as a learner might: loops over the pixels."""
    total = r_sum = c_sum = 0.0
    for r in range(patch.shape[0]):
        for c in range(patch.shape[1]):
            total += patch[r, c]
            r_sum += r * patch[r, c]
            c_sum += c * patch[r, c]
    return r_sum / total, c_sum / total


def centre_loops(patch):
    r_bar, c_bar = _com(patch)
    return _paste(patch, int(round(14 - r_bar)), int(round(14 - c_bar)))


def centre_average_pad(patch):
    h, w = patch.shape
    r_bar = np.average(np.arange(h), weights=patch.sum(axis=1))
    c_bar = np.average(np.arange(w), weights=patch.sum(axis=0))
    top, left = int(np.rint(14 - r_bar)), int(np.floor(14 - c_bar + 0.5))
    return np.pad(patch, ((top, 28 - h - top), (left, 28 - w - left)))


def centre_indices(patch):
    rows, cols = np.indices(patch.shape)
    m = patch.sum()
    top, left = round(14 - (rows * patch).sum() / m), round(14 - (cols * patch).sum() / m)
    return _paste(patch, top, left)


@pytest.mark.parametrize("fn", [centre_loops, centre_average_pad, centre_indices])
def test_check_center_by_mass_accepts_centrings_written_differently(fn, capsys):
    assert check_center_by_mass(fn) is fn
    assert capsys.readouterr().out == "✓ center_by_mass: all 3 checks passed\n"


# --- center_by_mass: the mistakes learners make ---------------------------------------------

def truncated(patch):
    r_bar, c_bar = _com(patch)
    return _paste(patch, int(14 - r_bar), int(14 - c_bar))


def aims_at_13_5(patch):
    r_bar, c_bar = _com(patch)
    return _paste(patch, round(13.5 - r_bar), round(13.5 - c_bar))


def counts_from_1(patch):
    h, w = patch.shape
    r_bar = patch.sum(axis=1) @ np.arange(1, h + 1) / patch.sum()
    c_bar = patch.sum(axis=0) @ np.arange(1, w + 1) / patch.sum()
    return _paste(patch, round(14 - r_bar), round(14 - c_bar))


def ceiling(patch):
    r_bar, c_bar = _com(patch)
    return _paste(patch, int(np.ceil(14 - r_bar)), int(np.ceil(14 - c_bar)))


def float_top(patch):
    r_bar, c_bar = _com(patch)
    return _paste(patch, np.round(14 - r_bar), np.round(14 - c_bar))


def unrounded(patch):
    r_bar, c_bar = _com(patch)
    return _paste(patch, 14 - r_bar, 14 - c_bar)


def box_centred(patch):
    h, w = patch.shape
    return _paste(patch, (28 - h) // 2, (28 - w) // 2)


def ink_pixels_alike(patch):
    rows, cols = np.nonzero(patch)
    return _paste(patch, round(14 - rows.mean()), round(14 - cols.mean()))


def swapped(patch):
    r_bar, c_bar = _com(patch)
    return _paste(patch, round(14 - c_bar), round(14 - r_bar))


def sign_flipped(patch):
    r_bar, c_bar = _com(patch)
    return _paste(patch, round(r_bar - 14), round(c_bar - 14))


def axes_mixed_up(patch):
    h, w = patch.shape
    r_bar = patch.sum(axis=0) @ np.arange(h) / patch.sum()
    c_bar = patch.sum(axis=1) @ np.arange(w) / patch.sum()
    return _paste(patch, round(14 - r_bar), round(14 - c_bar))


def int_frame(patch):
    r_bar, c_bar = _com(patch)
    frame = np.zeros((28, 28), dtype=int)
    top, left = round(14 - r_bar), round(14 - c_bar)
    frame[top:top + patch.shape[0], left:left + patch.shape[1]] = patch
    return frame


def normalised(patch):
    return centre_loops(patch / patch.max()) * 0.9


def divides_in_place(patch):
    patch /= patch.sum()
    return centre_loops(patch)


def not_pasted(patch):
    return np.zeros((28, 28))


@pytest.mark.parametrize("fn, words", [
    (truncated, "one pixel too little"),
    (aims_at_13_5, "one pixel too little"),
    (counts_from_1, "one pixel too little"),
    (ceiling, "one pixel too far"),
    (float_top, "top and left must be whole numbers"),
    (unrounded, "slice indices must be integers"),
    (box_centred, "box, not its centre of mass"),
    (ink_pixels_alike, "each counted alike"),
    (swapped, "swapped rows and columns"),
    (sign_flipped, "top should be 1 and left 6: print yours"),
    (axes_mixed_up, "pair each with the matching indices"),
    (int_frame, "frame of integers"),
    (normalised, "ink but the patch"),
    (divides_in_place, "changed its input patch"),
    (not_pasted, "0.000 ink"),
    (lambda p: p, "shape (20, 18)"),
    (lambda p: None, "returned None"),
])
def test_check_center_by_mass_names_the_mistake(fn, words):
    fails(check_center_by_mass, fn, words)


def test_check_center_by_mass_keeps_the_line_of_code_for_the_reveal(capsys):
    for fn in (truncated, float_top, box_centred, not_pasted):
        check_center_by_mass(fn)
        first = capsys.readouterr().out
        assert "int(round(" not in first and "frame[top:top + h" not in first, first
        hint("center_by_mass")
        out = capsys.readouterr().out
        assert "center_by_mass" in out and "int(round(" not in out and "frame[top:top + h" not in out
        hint("center_by_mass", reveal=True)
        assert "A line of the solution of center_by_mass: " in capsys.readouterr().out


def test_check_center_by_mass_rejects_mnistlibs_under_any_name():
    from mnistlib.draw import center_of_mass as mass_centre
    fails(check_center_by_mass, draw.center_by_mass, "is center_by_mass() from mnistlib.draw itself")

    def with_the_librarys_centre(patch):
        h, w = patch.shape
        r_bar, c_bar = mass_centre(patch)
        return _paste(patch, int(round(14 - r_bar)), int(round(14 - c_bar)))
    fails(check_center_by_mass, with_the_librarys_centre, "center_of_mass() from mnistlib.draw (line 3 of it)",
          "finds the centre of mass for you")
