"""The check of notebook 00: best_class, the warm-up that shows how a check answers.

Each check must pass right answers written in different ways and reject the wrong
answers learners write, with a message that names the mistake.
"""

import numpy as np
import pytest

from mnistlib import checks

from helpers import fails


# --- best_class (notebook 00: the warm-up that shows how a check answers) ------------------

def test_best_class_passes(capsys):
    checks.check_best_class(lambda s: int(np.argmax(s)))
    checks.check_best_class(lambda s: list(s).index(max(s)))
    checks.check_best_class(lambda s: int(np.argsort(s)[-1]))

    def loop(scores):
        best = 0
        for j in range(10):
            if scores[j] > scores[best]:
                best = j
        return best
    checks.check_best_class(loop)
    assert capsys.readouterr().out.count("✓ best_class: all 4 checks passed") == 4


@pytest.mark.parametrize("wrong, phrases", [
    (lambda s: max(s), ["the largest score itself", "position"]),
    (lambda s: np.max(s), ["the largest score itself"]),
    (lambda s: int(np.argmax(s)) + 1, ["one more than the right class", "from 0 to 9"]),
    (lambda s: int(np.argmin(s)), ["smallest score"]),
    (lambda s: int(np.argmax(np.abs(s))), ["farthest from 0", "-0.5 is larger than -5"]),
    (lambda s: np.argsort(s), ["shape (10,)", "single number"]),
    (lambda s: sorted(s)[-1], ["the largest score itself"]),
    (lambda s: 4, ["returned 4; expected 9"]),
])
def test_best_class_mistakes(wrong, phrases):
    fails(checks.check_best_class, wrong, *phrases)


@pytest.mark.parametrize("whole", [
    lambda s: int(np.argmax(np.asarray(s).astype(int))),
    lambda s: int(np.argmax(np.round(s))),
    lambda s: max(range(10), key=lambda j: int(s[j])),
])
def test_best_class_that_compares_only_whole_numbers(whole):
    # Passed before: in every case the scores' whole-number parts happened to pick the right class.
    fails(checks.check_best_class, whole, "compared only the whole-number parts", "0.31 is larger than 0.12")


def test_best_class_hints_give_the_function_only_on_request(capsys):
    checks.check_best_class(lambda s: max(s))
    assert "argmax" not in capsys.readouterr().out
    checks.hint("best_class")
    out = capsys.readouterr().out
    assert "position 4" in out and "argmax" not in out
    checks.hint("best_class", reveal=True)
    assert "np.argmax(scores)" in capsys.readouterr().out
