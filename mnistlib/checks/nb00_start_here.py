"""Checks for the exercises of notebook 00, Start here (``notebooks/00_start_here.ipynb``)."""

import numpy as np

from .framework import as_array, exercise, fail, fmt, run


# --- notebook 00: a warm-up that shows how a check answers ------------------------

def _best_class_reference(scores):
    return int(np.argmax(scores))


@exercise("best_class", reference=lambda: _best_class_reference, hints=[
    "start on paper: for the scores [0.3, 4.1, 2.5], which class wins? The answer is not the score 4.1 "
    "but its position, counted from 0.",
    "go through the ten scores and keep the position of the largest one so far; or find the numpy "
    "function that gives the position of the largest entry rather than the entry itself.",
], reveal="return int(np.argmax(scores))")
def check_best_class(fn):
    """fn(scores: (10,) floats) -> the class (0..9) whose score is largest, an int."""
    name = "best_class"
    cases = [np.array([0.3, -1.2, 2.5, 0.0, 4.1, -0.7, 1.9, 3.3, -2.0, 0.8]),
             np.array([-5.0, -3.0, -4.0, -2.5, -6.0, -3.5, -7.0, -4.5, -8.0, -0.5]),  # all negative; the last wins
             np.array([9.0, 1.0, 2.0, 8.5, 0.0, 3.0, 4.0, 5.0, 6.0, 7.0]),            # the first wins
             # probabilities: every whole-number part is 0, so only the fractions decide
             np.array([0.12, 0.05, 0.31, 0.02, 0.08, 0.04, 0.19, 0.09, 0.06, 0.04])]
    for scores in cases:
        call = f"best_class(scores) with scores = [{', '.join(f'{v:g}' for v in scores)}]"
        got = as_array(name, run(name, fn, scores, call=call), call)
        best = int(np.argmax(scores))
        if got.shape != ():
            fail(name, f"{call} returned shape {got.shape}; expected a single number, the class.",
                 "return one class number from 0 to 9, not an array.")
        v = got.item()
        if v == best:
            continue
        if np.isclose(v, scores[best]):
            fail(name, f"{call} returned {fmt(v)}, the largest score itself; expected the class that has it, {best}.",
                 "the class is the position of the largest score in the list, not the score.",
                 f"here the largest score, {scores[best]:g}, stands at position {best} (counting from 0): "
                 "that position is the answer.",
                 "return int(np.argmax(scores))   (np.max gives the largest entry, np.argmax its position)")
        if v == best + 1:
            fail(name, f"{call} returned {fmt(v)}, one more than the right class, {best}.",
                 "classes are numbered from 0 to 9, like positions in a numpy array: the first score is class 0.")
        if any(v == int(np.argmax(whole(scores))) for whole in (np.trunc, np.round, np.floor)):
            fail(name, f"{call} returned {fmt(v)}; expected {best}. Your function compared only the whole-number "
                       "parts of the scores: here they are all 0, and the first of the tied scores won.",
                 "compare the scores themselves, fractions included: 0.31 is larger than 0.12. Don't round "
                 "them or turn them into int.")
        if v == int(np.argmax(np.abs(scores))):
            fail(name, f"{call} returned {fmt(v)}, the class whose score is farthest from 0; expected {best}.",
                 "with negative scores, -0.5 is larger than -5: compare the scores themselves, not their size.")
        if v == int(np.argmin(scores)):
            fail(name, f"{call} returned {fmt(v)}, the class with the smallest score; expected {best}.",
                 "the best class has the largest score.", reveal="np.argmax, not np.argmin.")
        fail(name, f"{call} returned {fmt(v)}; expected {best}.",
             "the class is the position (0 to 9) of the largest of the ten scores.")
    return len(cases)
