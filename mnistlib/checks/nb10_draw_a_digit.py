"""Checks for the exercises of notebook 10, Draw a digit (``notebooks/10_draw_a_digit.ipynb``)."""

import numpy as np

from .framework import as_array, compare, exercise, fail, run, seeded_rng


# --- notebook 10: centring a drawn digit by its centre of mass -------------------

def _draw():
    from .. import draw
    return draw


def _mass_patches():
    """Three lopsided (h, w) patches, none pushed out of a 28x28 frame by its shift.

    The first leaves room around it, so that a centring that is a little off
    (rows and columns swapped, counted from 1) lands in the frame and can be named.
    The second one's shift, 14 - (row of the centre of mass) = 5.84, must be
    rounded up: cutting it off with int() shows there.
    """
    rng = seeded_rng()
    a = rng.random((20, 12)) * 0.5
    a[2:9, 1:6] = 1.0                    # heavy top-left
    b = rng.random((9, 20)) * 0.3
    b[:, 13:] = 1.0                      # heavy right
    c = np.zeros((20, 18))
    c[12:17, 2:16] = 1.0                 # a bar low in the box, a stem on the left
    c[2:12, 4:6] = 0.6
    return [p.astype(np.float32) for p in (c, a, b)]


def _shifted(patch, top, left):
    """patch pasted at (top, left) in a 28x28 frame, moved back inside if it sticks out."""
    top = min(max(int(top), 0), 28 - patch.shape[0])
    left = min(max(int(left), 0), 28 - patch.shape[1])
    frame = np.zeros((28, 28), dtype=np.float32)
    frame[top:top + patch.shape[0], left:left + patch.shape[1]] = patch
    return frame


def _centring_mistakes(patch):
    """[(frame, what went wrong, hint, more)]: centrings as learners get them wrong."""
    from ..draw import center_of_mass

    h, w = patch.shape
    cy, cx = center_of_mass(patch)
    rows, cols = np.nonzero(patch)
    ink_y, ink_x = rows.mean(), cols.mean()          # every inked pixel counted alike
    formula = "the formula for the centre of mass weights each row index r by the ink in that row."
    return [
        (_shifted(patch, 0, 0), "left the patch in the top-left corner",
         "move it so that its centre of mass lands on row 14, column 14.",
         "top = round(14 - row of the centre of mass), left likewise with the column."),
        (_shifted(patch, (28 - h) // 2, (28 - w) // 2), "centred the patch's box, not its centre of mass",
         "MNIST centres the ink's centre of mass, not the middle of the bounding box: a "
         "top-heavy digit sits lower than its box.", formula),
        (_shifted(patch, round(14 - ink_y), round(14 - ink_x)),
         "centred the inked pixels, each counted alike, not the ink's centre of mass",
         "a dark pixel weighs more than a faint one: " + formula,
         "r_bar = patch.sum(axis=1) @ np.arange(h) / patch.sum()"),
        (_shifted(patch, int(14 - cy), int(14 - cx)), "shifted the patch one pixel too little",
         f"look at how you turn the shift into whole pixels, and where you aim: 14 - r_bar is "
         f"{14 - cy:.2f} here, and the nearest whole number is {round(14 - cy)}.",
         f"int() cuts {14 - cy:.2f} down to {int(14 - cy)}: use int(round(14 - r_bar)). Aiming at "
         "13.5, or counting rows from 1, also lands one pixel short."),
        (_shifted(patch, round(13 - cy), round(13 - cx)), "shifted the patch one pixel too little",
         "the rows and columns of a numpy array are counted from 0: which indices did you weight "
         "the ink with?", "r_bar = patch.sum(axis=1) @ np.arange(h) / patch.sum(), and likewise for c_bar."),
        (_shifted(patch, np.ceil(14 - cy), np.ceil(14 - cx)), "shifted the patch one pixel too far",
         f"14 - r_bar is {14 - cy:.2f} here; the nearest whole number is {round(14 - cy)}.",
         "round to the nearest whole pixel: int(round(14 - r_bar)), not np.ceil."),
        (_shifted(patch, round(14 - cx), round(14 - cy)), "swapped rows and columns",
         "the row of the centre of mass sets the shift down (top), its column the shift right (left).",
         None),
    ]


def _slice_advice(patch):
    from ..draw import center_of_mass

    h, w = patch.shape
    cy, cx = center_of_mass(patch)
    top, left = min(max(round(14 - cy), 0), 28 - h), min(max(round(14 - cx), 0), 28 - w)

    def explain(error):
        text = str(error)
        if "slice indices must be integers" in text or "only integers, slices" in text:
            return ("top and left must be whole numbers to index the frame; yours is a float. "
                    "np.round() and 14 - r_bar give floats.", None,
                    "top = int(round(14 - r_bar)), left = int(round(14 - c_bar)).")
        if "could not broadcast" in text:
            return (f"the piece of the frame you paste into must have the patch's shape ({h}, {w}). For "
                    f"this patch top should be {top} and left {left}: print yours. Is one negative, or "
                    "so large that the patch sticks out of the frame?", None,
                    "frame[top:top + h, left:left + w] = patch, with h, w = patch.shape.")
        if "mismatch in its core dimension" in text or "not aligned" in text:
            return ("patch.sum(axis=1) holds the ink of each of the h rows, patch.sum(axis=0) that of "
                    "each of the w columns: pair each with the matching indices.", None,
                    "r_bar = patch.sum(axis=1) @ np.arange(h) / patch.sum()")
        return None
    return explain


@exercise("center_by_mass", reference=lambda: _draw().center_by_mass,
          shortcuts=lambda: {_draw().center_by_mass: "which does the whole job",
                             _draw().center_of_mass: "which finds the centre of mass for you"}, hints=[
    "the centre of mass first: r̄ is the average row index, each row weighted by the ink in it, and c̄ "
    "likewise with the columns. Try it by hand on a tiny patch.",
    "the patch's top-left corner goes to row 14 − r̄, column 14 − c̄, each rounded to the nearest whole "
    "pixel; then paste the h x w patch into an empty 28 x 28 frame there.",
], reveal="r_bar = patch.sum(axis=1) @ np.arange(h) / patch.sum(); top = int(round(14 - r_bar)); "
          "frame[top:top + h, left:left + w] = patch")
def check_center_by_mass(fn):
    """fn(patch: (h, w) floats, h, w <= 20) -> (28, 28) frame with the patch pasted so that
    its centre of mass lands on row 14, column 14 (shift rounded to whole pixels)."""
    from ..draw import center_by_mass, center_of_mass

    name = "center_by_mass"
    for patch in _mass_patches():
        h, w = patch.shape
        call = f"center_by_mass(patch) with a lopsided ({h}, {w}) patch"
        expected = center_by_mass(patch)
        got = as_array(name, run(name, fn, patch, call=call, explain=_slice_advice(patch)), call)
        if got.shape != (28, 28):
            fail(name, f"{call} returned shape {got.shape}, expected (28, 28).",
                 "start from an empty 28 x 28 frame and paste the patch into it.",
                 reveal="frame = np.zeros((28, 28)); frame[top:top + h, left:left + w] = patch")
        if np.allclose(got, expected, atol=1e-6):
            continue
        for frame, why, hint, more in _centring_mistakes(patch):
            if np.allclose(got, frame, atol=1e-6):
                fail(name, f"{call}: your function {why}.", hint, reveal=more)
        if got.dtype.kind in "biu":
            fail(name, f"{call} returned a frame of integers (dtype {got.dtype}): the grey pixels "
                       "of the patch were rounded away.",
                 "make the frame hold floats.", reveal="frame = np.zeros((28, 28), dtype=np.float32)")
        if not np.isclose(got.sum(), patch.sum(), rtol=1e-5):
            fail(name, f"{call}: the frame holds {got.sum():.3f} ink but the patch {patch.sum():.3f}.",
                 "paste the whole patch, unchanged: don't scale it or cut part of it off.",
                 reveal="frame[top:top + h, left:left + w] = patch, with h, w = patch.shape.")
        if got.sum() > 0:
            gy, gx = center_of_mass(got)
            cy, cx = center_of_mass(patch)
            fail(name, f"{call}: the centre of mass ends at ({gy:.2f}, {gx:.2f}); expected (14, 14) "
                 "within half a pixel.",
                 f"the patch's own centre of mass is at row {cy:.2f}, column {cx:.2f}: how far must "
                 "it move to reach (14, 14)?",
                 reveal="top = int(round(14 - r_bar)), left = int(round(14 - c_bar)), then "
                        "frame[top:top + h, left:left + w] = patch.")
        compare(name, got, expected, call=call)
    return 3
