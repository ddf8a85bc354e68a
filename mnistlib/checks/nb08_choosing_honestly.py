"""Checks for the exercise of notebook 08, Choosing honestly (``notebooks/08_choosing_honestly.ipynb``)."""

import functools
import inspect

import numpy as np

from .. import model
from .framework import CheckFailed, as_array, exercise, fail, fmt, run


# --- notebook 08: choosing a recipe on validation -------------------------------

def _evaluate():
    from .. import evaluate
    return evaluate


# The candidates check_choose_recipe trains, on 300 images of the bundled subset,
# scored on 1000 others. Chosen so that each usual mistake picks a different one:
# the best on validation (index 2) is neither the first, the last, the worst on
# validation (3), nor the best on the training images (1, which memorises them).
_RECIPE_GRID = (
    {"lr": 0.5, "epochs": 10},
    {"lr": 2.0, "epochs": 100},
    {"lr": 0.5, "epochs": 100, "weight_decay": 0.01},
    {"lr": 0.02, "epochs": 2},
    {"lr": 0.5, "epochs": 30, "schedule": "linear"},
)


@functools.lru_cache(maxsize=1)
def _recipe_data():
    """300 training and 1000 validation images of the bundled subset (none of its test images)."""
    from ..data import SUBSET_PATH
    with np.load(SUBSET_PATH) as npz:
        x = np.divide(npz["x_train"].reshape(-1, 784), 255, dtype=np.float32)
        y = npz["y_train"].astype(np.int64)
    arrays = (x[:300], y[:300], x[2000:3000], y[2000:3000])
    for a in arrays:
        a.flags.writeable = False          # shared by every run of the check
    return arrays


@functools.lru_cache(maxsize=1)
def _recipe_scores():
    """(train_accs, val_accs): the accuracy of each candidate of _RECIPE_GRID, trained by train()."""
    from ..train import train
    x_tr, y_tr, x_va, y_va = _recipe_data()
    train_accs, val_accs = [], []
    for settings in _RECIPE_GRID:
        r = train(x_tr, y_tr, **settings, evaluate=False)
        train_accs.append(model.accuracy(x_tr, y_tr, r.W, r.b))
        val_accs.append(model.accuracy(x_va, y_va, r.W, r.b))
    return np.array(train_accs), np.array(val_accs)


class _Touched(Exception):
    """A sealed variable was used by the learner's function."""


class _Seal:
    """Stands in for one of the notebook's variables while a check runs the learner's function.

    Any use (an attribute such as .x_test, an index, len, arithmetic, numpy, printing)
    is logged and raises, so the check knows the function reached for it.
    """

    __slots__ = ("_seal_name", "_seal_log")

    def __init__(self, name, log):
        object.__setattr__(self, "_seal_name", name)
        object.__setattr__(self, "_seal_log", log)

    def _touch(self, *args, **kwargs):
        name = object.__getattribute__(self, "_seal_name")
        object.__getattribute__(self, "_seal_log").append(name)
        raise _Touched(f"{name} may not be used here")

    def __getattr__(self, attr):
        return object.__getattribute__(self, "_touch")()


for _dunder in ("getitem setitem delitem iter len contains reversed call bool int float index complex "
                "repr str format hash eq ne lt le gt ge neg pos abs invert add radd sub rsub mul rmul "
                "truediv rtruediv floordiv rfloordiv mod rmod pow rpow matmul rmatmul and rand or ror "
                "array array_ufunc array_function setattr").split():
    setattr(_Seal, f"__{_dunder}__", _Seal._touch)


def _holds_data(value, depth=2):
    """Is ``value`` an array, or a container or object holding one (two levels deep)?"""
    if isinstance(value, np.ndarray):
        return True
    if depth == 0 or isinstance(value, (str, bytes, type, _Seal)) or inspect.ismodule(value) or callable(value):
        return False
    if isinstance(value, dict):
        items = list(value.values())
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        items = list(getattr(value, "__dict__", {}).values())
    return any(_holds_data(v, depth - 1) for v in items[:100])


class _Sealer:
    """While active, every variable the learner's function could read data from is a _Seal.

    That is: the globals of the function's notebook (or module) that hold arrays, its
    default arguments, the variables it closes over, and ``mnistlib.data.load_mnist``.
    ``touched`` lists the names of those the function used; ``what(name)`` describes
    one for a message, and says whether it was (or held) the test set. Everything is
    put back on exit, even after an error.
    """

    def __init__(self, fn):
        self.touched, self._undo, self._what, self._tests = [], [], {}, []
        self.fn = inspect.unwrap(getattr(fn, "func", fn))      # functools.partial and wraps

    def what(self, name):
        """(description, is_test) of a sealed name, e.g. ("the notebook's variable x_val", False)."""
        return self._what[name]

    def _holds_test(self, name, value):
        if "test" in name.lower() or "load_mnist" in name:
            return True
        if isinstance(value, np.ndarray):
            return any(np.may_share_memory(value, t) for t in self._tests)
        return any(isinstance(getattr(value, a, None), np.ndarray) for a in ("x_test", "y_test"))

    def _seal(self, name, value, description, undo):
        self._what[name] = (description, self._holds_test(name, value))
        self._undo.append(undo)
        return _Seal(name, self.touched)

    def __enter__(self):
        from .. import data
        fn = self.fn
        g = getattr(fn, "__globals__", None)
        if not isinstance(g, dict) or str(g.get("__name__", "")).startswith("mnistlib"):
            g = {}                                 # mnistlib's own functions read no notebook data
        holders = {k: v for k, v in g.items()
                   if not (k.startswith("__") and k.endswith("__")) and _holds_data(v)}
        # The test arrays, wherever they sit (data.x_test), so that copies of them are recognised.
        self._tests = [getattr(v, a) for v in holders.values() if not isinstance(v, np.ndarray)
                       for a in ("x_test", "y_test") if isinstance(getattr(v, a, None), np.ndarray)]
        for k, v in holders.items():
            g[k] = self._seal(k, v, f"the notebook's variable {k}", functools.partial(g.__setitem__, k, v))
        for k, v in list(g.items()):
            if v is data.load_mnist:
                g[k] = self._seal(f"{k}()", v, f"{k}()", functools.partial(g.__setitem__, k, v))
        data.load_mnist = self._seal("load_mnist()", None, "load_mnist()",
                                     functools.partial(setattr, data, "load_mnist", data.load_mnist))
        code = getattr(fn, "__code__", None)
        defaults = getattr(fn, "__defaults__", None) or ()
        if code and any(_holds_data(d) for d in defaults):
            names = code.co_varnames[:code.co_argcount][-len(defaults):]
            undo = functools.partial(setattr, fn, "__defaults__", defaults)
            fn.__defaults__ = tuple(self._seal(n, d, f"the default value of {n}", undo) if _holds_data(d) else d
                                    for n, d in zip(names, defaults))
        kwdefaults = getattr(fn, "__kwdefaults__", None) or {}
        if any(_holds_data(d) for d in kwdefaults.values()):
            undo = functools.partial(setattr, fn, "__kwdefaults__", kwdefaults)
            fn.__kwdefaults__ = {k: self._seal(k, d, f"the default value of {k}", undo) if _holds_data(d) else d
                                 for k, d in kwdefaults.items()}
        for k, cell in zip(code.co_freevars if code else (), getattr(fn, "__closure__", None) or ()):
            try:
                v = cell.cell_contents
            except ValueError:                  # an empty cell
                continue
            if _holds_data(v):
                cell.cell_contents = self._seal(k, v, f"{k}, from the function around it",
                                                functools.partial(setattr, cell, "cell_contents", v))
        return self

    def __exit__(self, *exc):
        for undo in reversed(self._undo):
            undo()
        self._undo.clear()
        return False


# The question of the exercise: the winner's accuracy on new images, against its validation accuracy.
# The notebook lists the four answers; a learner's function returns the letter of one.
WHY_LOWER = "C"
_NOT_SO = {
    "A": ("each candidate's validation accuracy, taken alone, is an honest estimate: true. But the winner's is "
          "not taken alone: it is the largest of several, and it was picked for being the largest.",
          "every score is part skill, part luck with the particular images it is measured on. Which candidate's "
          "luck does picking the highest score select?"),
    "B": ("no model saw a validation image in training: each one is trained on (x_train, y_train) only, so "
          "something else makes the winner's validation score flatter it.",
          "every score is part skill, part luck with the particular images it is measured on. Which candidate's "
          "luck does picking the highest score select?"),
    "D": ("for one set of new images either can happen, yes; but not with equal odds. The winner was picked "
          "because its validation score was the highest, and that choice is not neutral.",
          "every score is part skill, part luck with the particular images it is measured on. Which candidate's "
          "luck does picking the highest score select, and will new images repeat it?"),
}


def _reference(grid, x_train, y_train, x_val, y_val):
    best, val_accs = _evaluate().choose_recipe(grid, x_train, y_train, x_val, y_val)
    return best, val_accs, WHY_LOWER


@exercise("choose_recipe", reference=lambda: _reference,
          shortcuts=lambda: {_evaluate().choose_recipe: "which does the whole job"}, hints=[
    "go through grid one settings dict at a time: train a model on the training data with exactly those "
    "settings, then measure it on the validation data. Keep every score, in the order of grid. Then the "
    "question: think of the experiment at the top of the notebook, the best of 30 models.",
    "train(x_train, y_train, **settings) trains with one dict, and accuracy(x_val, y_val, W, b) measures "
    "the result. The best candidate has the largest validation accuracy: return that dict itself, with "
    "the list of scores, and the letter of your answer.",
    "for the question: a score measured on 10,000 images is part skill, part luck with those images. Which "
    "candidate does picking the highest score favour, and do new images repeat its luck?",
], reveal="result = train(x_train, y_train, **settings, evaluate=False); val_accs.append(accuracy(x_val, y_val, "
          "result.W, result.b)); after the loop: best = grid[int(np.argmax(val_accs))]; return best, val_accs, "
          f"\"{WHY_LOWER}\"")
def check_choose_recipe(fn):
    """fn(grid, x_train, y_train, x_val, y_val) -> (best, val_accs, why): train each candidate of grid on the
    training data, measure it on the validation data, return the best, all the scores, and the letter of the
    answer to the notebook's question (the winner's accuracy on new images against its validation accuracy)."""
    name = "choose_recipe"
    train_accs, val_accs = _recipe_scores()
    grid = [dict(s) for s in _RECIPE_GRID]
    call = ("choose_recipe(grid, x_train, y_train, x_val, y_val) with 5 candidates, "
            "300 training and 1000 validation images")
    got = _run_sealed(name, fn, grid, call)
    if grid != [dict(s) for s in _RECIPE_GRID]:
        fail(name, f"{call}: your function changed the grid it was given (now {grid!r:.200}).",
             "read each settings dict without changing it: train(x_train, y_train, **settings).")
    best, accs, why = _unpack(name, got, len(grid), call)
    _verify_scores(name, accs, val_accs, train_accs, call)
    _verify_choice(name, best, grid, val_accs, train_accs, call)
    _verify_why(name, why)
    return 4


_SCORE_REVEAL = ("result = train(x_train, y_train, **settings); "
                 "val_accs.append(accuracy(x_val, y_val, result.W, result.b))")


def _run_sealed(name, fn, grid, call):
    """fn(grid, 300 training images, their labels, 1000 validation images, their labels), with every data set
    of the notebook sealed (``_Sealer``): fail, naming it, if fn used one instead of its arguments."""
    x_tr, y_tr, x_va, y_va = _recipe_data()
    sealer, got = _Sealer(fn), None
    try:
        with sealer:
            got = run(name, fn, grid, x_tr, y_tr, x_va, y_va, call=call, reveal=_SCORE_REVEAL,
                      hint="for each settings dict: train on (x_train, y_train) with exactly those settings, "
                           "then measure the accuracy of that model on (x_val, y_val).")
    except CheckFailed:
        if not sealer.touched:
            raise
    returned = list(got) if isinstance(got, (tuple, list)) else [got]
    sealer.touched += [object.__getattribute__(v, "_seal_name") for v in returned if isinstance(v, _Seal)]
    if sealer.touched:
        used, is_test = sealer.what(sealer.touched[0])
        if is_test:
            fail(name, f"your function used the test set ({used}). A choice made by looking at the test set "
                       "makes the test accuracy an overestimate: it no longer measures images the choice "
                       "never saw.",
                 "use only the function's arguments: (x_train, y_train) to train, (x_val, y_val) to measure.",
                 reveal="measure each model with accuracy(x_val, y_val, result.W, result.b); the test set "
                        "waits for the very end of the notebook.")
        fail(name, f"your function used {used} instead of only its arguments. It must decide from what "
                   "it is given, so that it works on any data, and surely does not see the test set.",
             "use only grid, x_train, y_train, x_val and y_val inside the function.")
    return got


def _unpack(name, got, n, call):
    """(best, val_accs as an array, why) from what fn returned, or a failure saying what is amiss."""
    ending = "end with `return best, val_accs, why`: the winning settings, the list of all the scores, and the " \
             "letter of your answer to the question."
    if isinstance(got, dict):
        fail(name, f"{call} returned only the settings {got}; expected (best, val_accs, why).", ending)
    if isinstance(got, (tuple, list)) and len(got) == 2:
        fail(name, f"{call} returned two values; expected three: best, val_accs, and the letter of your answer "
                   "to the question about the winner's accuracy on new images.", ending)
    if not (isinstance(got, (tuple, list)) and len(got) == 3):
        fail(name, f"{call} returned {type(got).__name__} {got!r:.80}; expected (best, val_accs, why).", ending)
    best, accs, why = got
    if isinstance(accs, dict) and not isinstance(best, dict):
        fail(name, f"{call} returned (val_accs, best, ...); expected (best, val_accs, why), the settings first.",
             "return best, val_accs, why")
    if isinstance(best, (int, np.integer)) and not isinstance(best, bool):
        fail(name, f"{call} returned the number {best} as best; expected the settings dict itself.",
             "return grid[i], the dict, rather than its position i.")
    if not isinstance(best, dict):
        fail(name, f"{call} returned {type(best).__name__} {best!r:.60} as best; expected one of the "
                   "settings dicts of grid.", "return the dict from grid that scored best.")
    accs = as_array(name, accs, call + " (val_accs)")
    if accs.shape != (n,):
        fail(name, f"{call} returned val_accs of shape {accs.shape}; expected one accuracy per candidate, "
                   f"shape ({n},).", "append one validation accuracy to the list for every settings dict in grid.")
    return best, accs, why


def _verify_scores(name, accs, val_accs, train_accs, call):
    """Fail unless ``accs`` are the candidates' validation accuracies (within half an image)."""
    n_val, n_train = len(_recipe_data()[3]), len(_recipe_data()[1])
    tol = 0.5 / n_val                # half an image: the same predictions, counted another way
    if np.allclose(accs, val_accs, rtol=0, atol=tol):
        return
    shown = f"\n  expected {fmt(val_accs)}\n  got      {fmt(accs)}"
    if np.allclose(accs, train_accs, rtol=0, atol=0.5 / n_train):
        fail(name, f"{call}: your scores are the accuracies on the training images.{shown}\n"
                   "A model can fit its training images ever better while getting worse on new ones; "
                   "only images it never trained on show how well it generalises.",
             "measure each model on (x_val, y_val), not on (x_train, y_train).")
    if np.allclose(accs, 100 * val_accs, rtol=0, atol=100 * tol):
        fail(name, f"{call}: your scores are percentages.{shown}",
             "keep accuracies as fractions between 0 and 1, as accuracy() returns them.")
    if np.ptp(accs) == 0:
        fail(name, f"{call}: every candidate got the same score, {fmt(accs[0])}.{shown}",
             "train a new model inside the loop, with that candidate's settings, and measure that model.",
             reveal=_SCORE_REVEAL)
    fail(name, f"{call}: your validation accuracies are not those of the candidates.{shown}",
         "train with all the settings of each candidate (lr, epochs, batch_size, weight_decay, ...) and "
         "nothing else: train(x_train, y_train, **settings); then measure on (x_val, y_val).", reveal=_SCORE_REVEAL)


def _verify_choice(name, best, grid, val_accs, train_accs, call):
    """Fail unless ``best`` is the candidate of ``grid`` with the highest validation accuracy."""
    if best not in grid:
        fail(name, f"{call} returned best = {best}, which is not one of the candidates of grid.",
             "return the settings dict from grid itself.")
    i, j = grid.index(best), int(np.argmax(val_accs))
    if val_accs[i] >= val_accs[j]:
        return
    why = (f"your choice, candidate {i} ({best}), scores {fmt(val_accs[i])} on validation, "
           f"but candidate {j} ({grid[j]}) scores {fmt(val_accs[j])}")
    if i == int(np.argmax(train_accs)):
        fail(name, f"{call}: {why}. You picked the best on the training images "
                   f"({train_accs[i]:.1%} of them right): it fits them best by memorising them, not by "
                   "generalising.",
             "pick by the validation accuracies you computed, not by training accuracy.",
             reveal="best = grid[int(np.argmax(val_accs))], with val_accs measured on (x_val, y_val).")
    if i == len(grid) - 1:
        fail(name, f"{call}: {why}. You returned the last candidate tried.",
             "keep the best so far: update best only when a candidate beats it (check the "
             "indentation of the line that sets best).",
             reveal="best = grid[int(np.argmax(val_accs))] after the loop does it in one line.")
    if i == int(np.argmin(val_accs)):
        fail(name, f"{call}: {why}. You returned the worst candidate.",
             "higher accuracy is better: take the largest, not the smallest.",
             reveal="best = grid[int(np.argmax(val_accs))]: argmax, not argmin.")
    if i == 0:
        fail(name, f"{call}: {why}. You returned the first candidate.",
             "compare each candidate's score with the best so far, and keep the better one.",
             reveal="best = grid[int(np.argmax(val_accs))] after the loop.")
    fail(name, f"{call}: {why}.", "return the candidate with the highest validation accuracy.",
         reveal="best = grid[int(np.argmax(val_accs))]")


def _verify_why(name, why):
    """Fail unless ``why`` is the letter of the right answer, saying what is wrong with another one."""
    letters = "A, B, C or D"
    if not isinstance(why, str) or why.strip().upper() not in ("A", "B", "C", "D"):
        fail(name, f"your third value, {why!r:.60}, is not one of the letters {letters}: the letter of your "
                   "answer to the question about the winner's accuracy on new images.",
             'return it as a string, e.g. "A", after best and val_accs.')
    letter = why.strip().upper()
    if letter != WHY_LOWER:
        message, more = _NOT_SO[letter]
        fail(name, f"your scores and your choice are right; your answer to the question, {letter}, is not: "
                   + message, more=more, hint="the experiment at the top of this notebook picked the best of 30 "
                                              "models: what became of its score on fresh images, and why?")
