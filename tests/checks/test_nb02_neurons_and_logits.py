"""The check of notebook 02: the nearest class mean, as the weights and biases of ten neurons.

Each check must pass right answers written in different ways and reject the wrong
answers learners write, with a message that names the mistake.
"""

import numpy as np
import pytest

from mnistlib import checks

from helpers import fails


# --- nearest_mean_params ------------------------------------------------------

def nearest_mean_params(means):
    return means.T, -0.5 * np.sum(means ** 2, axis=1)


def test_nearest_mean_params_passes(capsys):
    checks.check_nearest_mean_params(nearest_mean_params)
    # twice the expansion: W = 2 m, b = -||m||^2
    checks.check_nearest_mean_params(lambda m: (2 * m.T, -np.einsum("ij,ij->i", m, m)))
    # the templates of notebook 02: the average image taken out of W changes no ranking
    checks.check_nearest_mean_params(lambda m: ((m - m.mean(axis=0)).T, -0.5 * (m ** 2).sum(axis=1)))
    # a constant added to every bias, and loops
    checks.check_nearest_mean_params(lambda m: (m.T.copy(), np.array([7 - 0.5 * sum(v * v for v in row) for row in m])))
    # float32 answers
    checks.check_nearest_mean_params(lambda m: (m.T.astype(np.float32), (-0.5 * (m ** 2).sum(1)).astype(np.float32)))
    assert capsys.readouterr().out.count("✓ nearest_mean_params: all 2 checks passed") == 5


@pytest.mark.parametrize("wrong, phrases", [
    (lambda m: (m.T, np.zeros(10)), ["Your b is zero", "more ink win too often", "test images"]),
    (lambda m: (m.T, np.full(10, 3.0)), ["Your b is zero (or the same for every class)"]),
    (lambda m: (m.T, 0.5 * (m ** 2).sum(1)), ["wrong sign"]),
    (lambda m: (m.T, -(m ** 2).sum(1)), ["2 times what your W needs", "the ½ of"]),
    (lambda m: (2 * m.T, -0.5 * (m ** 2).sum(1)), ["1/2 of what your W needs", "2 times the means"]),
    (lambda m: (-m.T, 0.5 * (m ** 2).sum(1)), ["minus sign"]),
    (lambda m: (m.T, -0.5 * np.sqrt((m ** 2).sum(1))), ["the length ‖m_j‖, not its square"]),
    (lambda m: (m.T, -np.sqrt((m ** 2).sum(1))), ["the length ‖m_j‖, not its square"]),
    (lambda m: ((m - m.mean(0)).T, -0.5 * ((m - m.mean(0)) ** 2).sum(1)),
     ["minus their average", "‖m_j‖² itself"]),
    (lambda m: (m, -0.5 * (m ** 2).sum(1)), ["shape (10, 784)", "one column per class"]),
    (lambda m: ((m / np.linalg.norm(m, axis=1, keepdims=True)).T, np.zeros(10)), ["is not the mean image m_j"]),
    (lambda m: (m.T, -0.5 * (m ** 2).sum(1)[:, None]), ["b of shape (10, 1)", "b.reshape(10)"]),
    (lambda m: (-0.5 * (m ** 2).sum(1), m.T), ["returned (b, W)"]),
    (lambda m: m.T, ["expected a pair (W, b)"]),
    (lambda m: (m.T, -0.5 * (m ** 2).sum(1) + np.arange(10)), ["b_j is not −0.5 ‖m_j‖²"]),
])
def test_nearest_mean_params_mistakes(wrong, phrases):
    fails(checks.check_nearest_mean_params, wrong, *phrases)


def test_nearest_mean_params_hints_narrow_down_and_reveal_the_code_last(capsys):
    checks.check_nearest_mean_params(lambda m: (m.T, np.zeros(10)))
    first = capsys.readouterr().out
    assert "expand ‖x − m_j‖²" in first and "(means ** 2)" not in first
    for _ in range(3):
        checks.hint("nearest_mean_params")
        assert "(means ** 2)" not in capsys.readouterr().out
    checks.hint("nearest_mean_params", reveal=True)
    assert "b = -0.5 * (means ** 2).sum(axis=1)" in capsys.readouterr().out


def test_nearest_mean_params_must_not_change_means():
    def centres_in_place(means):
        means -= means.mean(axis=0)
        return means.T, -0.5 * (means ** 2).sum(1)
    fails(checks.check_nearest_mean_params, centres_in_place, "changed its input means")
