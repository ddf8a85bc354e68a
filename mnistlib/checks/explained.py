"""Where an exercise's explanation is, for the line a passing check adds.

In the worked notebooks (notebooks/) the explanation of an exercise follows its
check cell in plain sight, and a passing check prints its one line. The student
copy and the graded course fold that explanation away (tools/fold.py), and their
set-up cell says so::

    from mnistlib.checks.explained import explained_in_fold
    explained_in_fold("flatten", "ink_box")

From then on, in that kernel, a check of one of these exercises that passes adds
a line saying where the explanation is.
"""

__all__ = ["explained_in_fold", "where_explained"]

FOLDED_NOTE = "The explanation is folded just below: click its title (▸) to open it."

_folded = set()     # the exercises whose explanation this notebook folds


def explained_in_fold(*names):
    """Say that the explanation after each exercise in ``names`` (e.g. "softmax") is folded."""
    for name in names:
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"explained_in_fold takes the exercises' names, e.g. explained_in_fold(\"softmax\"); "
                             f"got {name!r}")
    _folded.update(names)


def where_explained(name):
    """What a passing check of exercise ``name`` adds to its line: "" unless its explanation is folded."""
    return f"\n  {FOLDED_NOTE}" if name in _folded else ""
