"""The softmax-temperature widget (notebook 03): its pure function, and that the widget builds."""


import numpy as np
import pytest

from mnistlib.widgets.temperature import softmax_temperature, softmax_temperature_update

L = np.array([2.0, 1.0, 0.1, -1.0, 0.0, 3.0, -2.0, 0.5, 1.5, -0.5])


@pytest.mark.parametrize("T", [0.05, 0.3, 1.0, 4.0, 20.0])
def test_probabilities_sum_to_one(T):
    p, fig = softmax_temperature_update(L, T)
    assert p.shape == (10,)
    assert np.isclose(p.sum(), 1.0)
    assert np.all(p >= 0)
    assert fig.axes[0].get_title().startswith(f"T = {T:.3g}")


def test_T_one_is_plain_softmax():
    p, _ = softmax_temperature_update(L, 1.0)
    e = np.exp(L - L.max())
    np.testing.assert_allclose(p, e / e.sum())


def test_small_T_approaches_one_hot_and_large_T_uniform():
    p_cold, _ = softmax_temperature_update(L, 0.01)
    np.testing.assert_allclose(p_cold, np.eye(10)[5], atol=1e-6)
    p_hot, _ = softmax_temperature_update(L, 1e4)
    np.testing.assert_allclose(p_hot, np.full(10, 0.1), atol=1e-3)
    # In between, p moves monotonically: the largest p shrinks as T grows.
    tops = [softmax_temperature_update(L, T)[0].max() for T in (0.1, 0.5, 1, 2, 10)]
    assert all(a > b for a, b in zip(tops, tops[1:]))


def test_redraws_in_place():
    p, fig = softmax_temperature_update(L, 1.0)
    _, fig2 = softmax_temperature_update(L, 0.2, fig=fig)
    assert fig2 is fig
    assert np.isclose(max(bar.get_height() for bar in fig.axes[0].patches),
                      softmax_temperature_update(L, 0.2)[0].max())


@pytest.mark.parametrize("T", [0, -1.0, float("nan"), float("inf"), "1", None, True])
def test_invalid_T_raises_a_clear_error(T):
    with pytest.raises(ValueError, match="temperature T must be a positive number"):
        softmax_temperature_update(L, T)


def test_invalid_logits():
    with pytest.raises(ValueError, match=r"shape \(10,\); got shape \(3,\)"):
        softmax_temperature_update([1.0, 2.0, 3.0], 1.0)


def test_widget_builds_and_updates():
    w = softmax_temperature(L)
    assert "mnistlib-temperature" in w._dom_classes
    assert "mnistlib-temperature-slider" in w.slider._dom_classes
    assert "mnistlib-temperature-bars" in w.image._dom_classes
    assert "mnistlib-temperature-status" in w.status._dom_classes
    assert w.image.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert "p sums to 1.0000" in w.status.value
    before = w.image.value
    w.slider.value = 0.2
    assert w.image.value != before
    assert "T = 0.2" in w.status.value


def test_invalid_T_shows_in_status_line_not_exception():
    w = softmax_temperature(L)
    w.update(0)              # must not raise
    assert "temperature T must be a positive number" in w.status.value
    assert "got 0" in w.status.value
    w.update(2.0)            # and the widget still works afterwards
    assert "T = 2:" in w.status.value
