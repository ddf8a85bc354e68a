"""The check of notebook 08: choosing a recipe on validation.

The check must pass right answers written in different ways and reject the wrong
answers learners write, with a message that names the mistake. The learner's
functions are defined as a notebook cell defines them: by running source code in a
namespace that holds the notebook's variables (the data, the test set, ...), since
check_choose_recipe seals those variables while it runs the function.
"""

import numpy as np
import pytest

import mnistlib.data
from mnistlib import checks, evaluate
from mnistlib.checks import CheckFailed, check_choose_recipe
from mnistlib.data import MNIST, SUBSET_PATH
from mnistlib.model import accuracy
from mnistlib.train import train

from helpers import fails


@pytest.fixture(scope="module")
def namespace():
    """The variables of a notebook at the exercise: the data set with its test images, and more."""
    with np.load(SUBSET_PATH) as npz:
        x = {k: np.divide(npz[k].reshape(-1, 784), 255, dtype=np.float32) for k in ("x_train", "x_test")}
        data = MNIST(x["x_train"], npz["y_train"].astype(np.int64), x["x_test"], npz["y_test"].astype(np.int64),
                     "bundled subset")
    x_train, y_train, x_val, y_val = mnistlib.data.train_val_split(data.x_train, data.y_train)
    return {"np": np, "train": train, "accuracy": accuracy, "evaluate": evaluate,
            "load_mnist": mnistlib.data.load_mnist, "data": data, "x_train": x_train, "y_train": y_train,
            "x_val": x_val, "y_val": y_val, "grid_lr": [{"lr": 0.5}, {"lr": 1.0}]}


def cell(namespace, source, name="choose_recipe"):
    """Run ``source`` in a fresh copy of the notebook's namespace; return the function it defines."""
    ns = dict(namespace)
    exec(source, ns)
    return ns[name]


# --- check_choose_recipe: right answers ------------------------------------------

RIGHT = {
    "loop keeping the best so far": """
def choose_recipe(grid, x_train, y_train, x_val, y_val):
    best, best_acc, val_accs = None, -1.0, []
    for settings in grid:
        result = train(x_train, y_train, **settings)
        acc = accuracy(x_val, y_val, result.W, result.b)
        val_accs.append(acc)
        if acc > best_acc:
            best, best_acc = settings, acc
    return best, val_accs, "C"
""",
    "comprehension and argmax": """
def choose_recipe(grid, x_train, y_train, x_val, y_val):
    models = [train(x_train, y_train, evaluate=False, **s) for s in grid]
    val_accs = [accuracy(x_val, y_val, m.W, m.b) for m in models]
    return grid[int(np.argmax(val_accs))], val_accs, "C"
""",
    "the history's validation accuracy": """
def choose_recipe(grid, x_train, y_train, x_val, y_val):
    val_accs = [train(x_train, y_train, x_val=x_val, y_val=y_val, **s).history.val_acc[-1] for s in grid]
    best = max(zip(val_accs, range(len(grid))))[1]
    return grid[best], tuple(val_accs), " c"
""",
    "a helper defined in another cell, counting right answers itself": """
def score(settings, x_train, y_train, x_val, y_val):
    r = train(x_train, y_train, **settings)
    return np.mean((x_val @ r.W + r.b).argmax(axis=1) == y_val)

def choose_recipe(grid, x_train, y_train, x_val, y_val):
    val_accs = np.array([score(s, x_train, y_train, x_val, y_val) for s in grid])
    return grid[val_accs.argmax()], val_accs, "C"
""",
}


@pytest.mark.parametrize("source", RIGHT.values(), ids=RIGHT.keys())
def test_choose_recipe_passes_right_answers(namespace, source, capsys):
    fn = cell(namespace, source)
    assert check_choose_recipe(fn) is fn
    assert capsys.readouterr().out.startswith("✓ choose_recipe")


def test_choose_recipe_that_is_mnistlibs_own_fails(namespace):
    fails(check_choose_recipe, evaluate.choose_recipe, "is choose_recipe() from mnistlib.evaluate itself")
    wrapped = cell(namespace, "def choose_recipe(grid, x_train, y_train, x_val, y_val):\n"
                              "    return evaluate.choose_recipe(grid, x_train, y_train, x_val, y_val)\n")
    fails(check_choose_recipe, wrapped, "calls choose_recipe() from mnistlib.evaluate (line 2 of it)")


# --- check_choose_recipe: wrong answers ---------------------------------------------

TEMPLATE = """
def choose_recipe(grid, x_train, y_train, x_val, y_val):
    val_accs = []
    for settings in grid:
        result = train(x_train, y_train, **settings)
        val_accs.append({score})
    return grid[int(np.{pick}({by}))], val_accs, "C"
"""


def template(score="accuracy(x_val, y_val, result.W, result.b)", pick="argmax", by="val_accs"):
    return TEMPLATE.format(score=score, pick=pick, by=by)


WRONG = {
    "scores on the test set (x_test)": (
        "x_test, y_test = data.x_test, data.y_test\n" + template("accuracy(x_test, y_test, result.W, result.b)"),
        ["used the test set (the notebook's variable x_test)", "overestimate"]),
    "scores on data.x_test": (
        template("accuracy(data.x_test, data.y_test, result.W, result.b)"),
        ["used the test set (the notebook's variable data)"]),
    "passes the test set to train as validation": ("""
x_test, y_test = data.x_test, data.y_test
def choose_recipe(grid, x_train, y_train, x_val, y_val):
    val_accs = [train(x_train, y_train, x_val=x_test, y_val=y_test, **s).history.val_acc[-1] for s in grid]
    return grid[int(np.argmax(val_accs))], val_accs, "C"
""", ["used the test set (the notebook's variable x_test)"]),
    "loads MNIST again inside": (template(
        "accuracy(load_mnist().x_test, load_mnist().y_test, result.W, result.b)"),
        ["used the test set (load_mnist())"]),
    "loads MNIST through the module": ("import mnistlib.data\n" + template(
        "accuracy(mnistlib.data.load_mnist().x_test, mnistlib.data.load_mnist().y_test, result.W, result.b)"),
        ["used the test set (load_mnist())"]),
    "the test set as a default argument": ("""
def choose_recipe(grid, x_train, y_train, x_val, y_val, x_test=data.x_test, y_test=data.y_test):
    val_accs = [accuracy(x_test, y_test, train(x_train, y_train, **s).W, train(x_train, y_train, **s).b)
                for s in grid]
    return grid[int(np.argmax(val_accs))], val_accs, "C"
""", ["used the test set (the default value of x_test)"]),
    "the test set in a closure": ("""
def make(x_test, y_test):
    def choose_recipe(grid, x_train, y_train, x_val, y_val):
        val_accs = []
        for s in grid:
            r = train(x_train, y_train, **s)
            val_accs.append(accuracy(x_test, y_test, r.W, r.b))
        return grid[int(np.argmax(val_accs))], val_accs, "C"
    return choose_recipe
choose_recipe = make(data.x_test, data.y_test)
""", ["used the test set (x_test, from the function around it)"]),
    "peeks at the test set and swallows the error": ("""
x_test, y_test = data.x_test, data.y_test
def choose_recipe(grid, x_train, y_train, x_val, y_val):
    val_accs = []
    for s in grid:
        r = train(x_train, y_train, **s)
        try:
            accuracy(x_test, y_test, r.W, r.b)
        except Exception:
            pass
        val_accs.append(accuracy(x_val, y_val, r.W, r.b))
    return grid[int(np.argmax(val_accs))], val_accs, "C"
""", ["used the test set (the notebook's variable x_test)"]),
    "returns the notebook's data": ("""
def choose_recipe(grid, x_train, y_train, x_val, y_val):
    return data, [0.5] * len(grid), "C"
""", ["used the test set (the notebook's variable data)"]),
    "closes over the test set under another name": ("""
def make(a, b):
    def choose_recipe(grid, x_train, y_train, x_val, y_val):
        accs = [accuracy(a, b, train(x_train, y_train, **s).W, train(x_train, y_train, **s).b) for s in grid]
        return grid[int(np.argmax(accs))], accs, "C"
    return choose_recipe
choose_recipe = make(data.x_test, data.y_test)
""", ["used the test set (a, from the function around it)"]),
    "stores the test set in a private name": ("_x, _y = data.x_test, data.y_test\n" + template(
        "accuracy(_x, _y, result.W, result.b)"), ["used the test set (the notebook's variable _x)"]),
    "reads the notebook's x_val, not its argument": ("""
def choose_recipe(grid, xt, yt, xv, yv):
    val_accs = []
    for s in grid:
        r = train(xt, yt, **s)
        val_accs.append(accuracy(x_val, y_val, r.W, r.b))
    return grid[int(np.argmax(val_accs))], val_accs, "C"
""", ["used the notebook's variable x_val instead of only its arguments"]),
    "scores on the training images": (
        template("accuracy(x_train, y_train, result.W, result.b)"), ["accuracies on the training images"]),
    "picks by training accuracy": ("""
def choose_recipe(grid, x_train, y_train, x_val, y_val):
    val_accs, train_accs = [], []
    for s in grid:
        r = train(x_train, y_train, **s)
        val_accs.append(accuracy(x_val, y_val, r.W, r.b))
        train_accs.append(accuracy(x_train, y_train, r.W, r.b))
    return grid[int(np.argmax(train_accs))], val_accs, "C"
""", ["best on the training images (100.0% of them right)", "memorising"]),
    "returns the last tried (indentation)": ("""
def choose_recipe(grid, x_train, y_train, x_val, y_val):
    best_acc, val_accs = 0, []
    for settings in grid:
        r = train(x_train, y_train, **settings)
        acc = accuracy(x_val, y_val, r.W, r.b)
        val_accs.append(acc)
        if acc > best_acc:
            best_acc = acc
        best = settings
    return best, val_accs, "C"
""", ["the last candidate tried"]),
    "min instead of max": (template(pick="argmin"), ["the worst candidate"]),
    "returns the first": ("""
def choose_recipe(grid, x_train, y_train, x_val, y_val):
    val_accs = [accuracy(x_val, y_val, train(x_train, y_train, **s).W, train(x_train, y_train, **s).b)
                for s in grid]
    return grid[0], val_accs, "C"
""", ["the first candidate"]),
    "returns the index": ("""
def choose_recipe(grid, x_train, y_train, x_val, y_val):
    val_accs = [accuracy(x_val, y_val, train(x_train, y_train, **s).W, train(x_train, y_train, **s).b)
                for s in grid]
    return int(np.argmax(val_accs)), val_accs, "C"
""", ["returned the number 2", "grid[i]"]),
    "returns only the settings": ("""
def choose_recipe(grid, x_train, y_train, x_val, y_val):
    val_accs = [accuracy(x_val, y_val, train(x_train, y_train, **s).W, train(x_train, y_train, **s).b)
                for s in grid]
    return grid[int(np.argmax(val_accs))]
""", ["returned only the settings"]),
    "returns the pair the wrong way round": ("""
def choose_recipe(grid, x_train, y_train, x_val, y_val):
    val_accs = [accuracy(x_val, y_val, train(x_train, y_train, **s).W, train(x_train, y_train, **s).b)
                for s in grid]
    return val_accs, grid[int(np.argmax(val_accs))], "C"
""", ["settings first"]),
    "trains once, before the loop": ("""
def choose_recipe(grid, x_train, y_train, x_val, y_val):
    r = train(x_train, y_train)
    val_accs = [accuracy(x_val, y_val, r.W, r.b) for s in grid]
    return grid[int(np.argmax(val_accs))], val_accs, "C"
""", ["every candidate got the same score"]),
    "uses only lr and epochs": ("""
def choose_recipe(grid, x_train, y_train, x_val, y_val):
    val_accs = []
    for s in grid:
        r = train(x_train, y_train, lr=s["lr"], epochs=s["epochs"])
        val_accs.append(accuracy(x_val, y_val, r.W, r.b))
    return grid[int(np.argmax(val_accs))], val_accs, "C"
""", ["not those of the candidates", "**settings"]),
    "trains on the validation images": ("""
def choose_recipe(grid, x_train, y_train, x_val, y_val):
    val_accs = []
    for s in grid:
        r = train(x_val, y_val, **s)
        val_accs.append(accuracy(x_val, y_val, r.W, r.b))
    return grid[int(np.argmax(val_accs))], val_accs, "C"
""", ["not those of the candidates"]),
    "percentages": (template("100 * accuracy(x_val, y_val, result.W, result.b)"), ["percentages"]),
    "changes the grid": ("""
def choose_recipe(grid, x_train, y_train, x_val, y_val):
    val_accs = []
    for s in grid:
        lr = s.pop("lr")
        r = train(x_train, y_train, lr=lr, **s)
        val_accs.append(accuracy(x_val, y_val, r.W, r.b))
    return grid[int(np.argmax(val_accs))], val_accs, "C"
""", ["changed the grid"]),
    "not implemented": ("""
def choose_recipe(grid, x_train, y_train, x_val, y_val):
    raise NotImplementedError("your turn")
""", ["not implemented yet"]),
    "forgets return": ("""
def choose_recipe(grid, x_train, y_train, x_val, y_val):
    val_accs = [0.5 for s in grid]
""", ["returned None"]),
}


@pytest.mark.parametrize("source, phrases", WRONG.values(), ids=WRONG.keys())
def test_choose_recipe_rejects_wrong_answers(namespace, source, phrases):
    fails(check_choose_recipe, cell(namespace, source), *phrases)


ANSWERS = {
    "A": ["your answer to the question, A, is not", "taken alone", "picked for being the largest"],
    "B": ["your answer to the question, B, is not", "no model saw a validation image in training"],
    "D": ["your answer to the question, D, is not", "not with equal odds"],
}


@pytest.mark.parametrize("letter, phrases", ANSWERS.items(), ids=ANSWERS.keys())
def test_choose_recipe_with_a_wrong_answer_to_the_question(namespace, letter, phrases):
    source = RIGHT["comprehension and argmax"].replace('val_accs, "C"', f'val_accs, "{letter.lower()}"')
    failure = fails(check_choose_recipe, cell(namespace, source), "your scores and your choice are right", *phrases)
    assert "the experiment" in failure.more or "luck" in failure.more


@pytest.mark.parametrize("why, phrases", [
    ('"lower"', ["'lower', is not one of the letters A, B, C or D"]),
    ("3", ["your third value, 3, is not one of the letters"]),
    ("None", ["your third value, None"]),
])
def test_choose_recipe_with_no_letter_for_the_question(namespace, why, phrases):
    source = RIGHT["comprehension and argmax"].replace('val_accs, "C"', f"val_accs, {why}")
    fails(check_choose_recipe, cell(namespace, source), *phrases)


def test_choose_recipe_that_returns_the_pair_of_before(namespace):
    source = RIGHT["comprehension and argmax"].replace('val_accs, "C"', "val_accs")
    fails(check_choose_recipe, cell(namespace, source), "returned two values; expected three")


def test_the_notebooks_variables_are_given_back_after_the_check(namespace):
    ns = dict(namespace)
    ns["x_test"] = x_test = ns["data"].x_test
    exec(WRONG["scores on the test set (x_test)"][0], ns)
    keep = {k: v for k, v in ns.items() if k != "__builtins__"}
    load = mnistlib.data.load_mnist
    with pytest.raises(CheckFailed):
        check_choose_recipe(ns["choose_recipe"], strict=True)
    assert ns["x_test"] is x_test and ns["data"] is namespace["data"]
    assert all(ns[k] is v for k, v in keep.items())
    assert mnistlib.data.load_mnist is load
    fn = ns["choose_recipe"]
    assert fn.__defaults__ is None and fn.__closure__ is None


def test_a_failed_choice_hands_the_notebook_mnistlibs_version(namespace, capsys):
    got = check_choose_recipe(cell(namespace, template(pick="argmin")))
    out = capsys.readouterr().out
    assert out.startswith("✗ choose_recipe") and "use mnistlib's choose_recipe" in out
    assert got.__wrapped__ is checks.nb08_choosing_honestly._reference
    assert got(namespace["grid_lr"], namespace["x_train"][:200], namespace["y_train"][:200],
               namespace["x_val"][:200], namespace["y_val"][:200])[2] == "C"
    checks.hint("choose_recipe", reveal=True)
    assert "argmax, not argmin" in capsys.readouterr().out


def test_the_check_grid_separates_the_usual_mistakes():
    """Each wrong rule picks a different candidate, so that the check can tell them apart."""
    train_accs, val_accs = checks.nb08_choosing_honestly._recipe_scores()
    best = int(np.argmax(val_accs))
    others = {int(np.argmax(train_accs)), len(val_accs) - 1, int(np.argmin(val_accs)), 0}
    assert best not in others and len(others) == 4
    assert np.sort(val_accs)[-1] - np.sort(val_accs)[-2] >= 0.004        # a margin of 4 images
    assert not np.allclose(train_accs, val_accs, atol=0.01)


# --- evaluate.choose_recipe -----------------------------------------------------

def test_choose_recipe_scores_each_candidate_on_validation(namespace):
    x_tr, y_tr = namespace["x_train"][:500], namespace["y_train"][:500]
    x_va, y_va = namespace["x_val"], namespace["y_val"]
    grid = [{"lr": 0.01, "epochs": 1}, {"lr": 0.5, "epochs": 3}, {"lr": 1e6, "epochs": 1}]
    best, val_accs = evaluate.choose_recipe(grid, x_tr, y_tr, x_va, y_va)
    r = train(x_tr, y_tr, lr=0.5, epochs=3)
    assert best is grid[1]
    assert val_accs[1] == accuracy(x_va, y_va, r.W, r.b)
    assert val_accs[0] < val_accs[1] and np.isnan(val_accs[2])        # lr = 1e6 diverges


@pytest.mark.parametrize("grid", [[], {"lr": 1.0}, [0.5, 1.0]])
def test_choose_recipe_wants_a_list_of_settings(grid, namespace):
    with pytest.raises(ValueError, match="list of dicts"):
        evaluate.choose_recipe(grid, namespace["x_train"], namespace["y_train"],
                               namespace["x_val"], namespace["y_val"])
