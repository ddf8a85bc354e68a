"""The hidden-unit viewer of notebook 11, without a browser: the pure function, then the widget's callbacks."""

import numpy as np
import pytest

from mnistlib.widgets import hidden_units as hw
from mnistlib import mlp
from mnistlib.data import SUBSET_PATH

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def digits():
    """500 digits of the bundled subset: x (500, 784) float32 in [0, 1], y (500,) labels."""
    with np.load(SUBSET_PATH) as npz:
        return npz["x_train"][:500].reshape(-1, 784).astype(np.float32) / 255, npz["y_train"][:500].astype(np.int64)


@pytest.fixture
def params():
    return mlp.init_params(seed=0, n_hidden=8)


def classes(w):
    return set(w._dom_classes)


def test_hidden_activations_are_the_mlps_hidden_layer(params, digits):
    x, _ = digits
    h = hw.hidden_activations(params, x)
    assert h.shape == (500, 8)
    np.testing.assert_allclose(h, np.maximum(x @ params["W1"] + params["b1"], 0), rtol=1e-6)


def test_a_one_pixel_unit_is_excited_most_by_the_inkiest_images_at_that_pixel(params, digits):
    x, y = digits
    pixel = 14 * 28 + 14
    params["W1"][:, 2] = 0
    params["W1"][pixel, 2] = 1.0            # unit 2 reports the ink at the centre, nothing else
    params["b1"][2] = 0
    r = hw.hidden_unit_update(2, params, x, y, n_top=6)
    assert r["kind"] == "ok" and r["unit"] == 2
    np.testing.assert_allclose(r["top_h"], np.sort(x[:, pixel])[::-1][:6], rtol=1e-6)
    assert np.all(np.diff(r["top_h"]) <= 0)                         # most exciting first
    np.testing.assert_array_equal(r["weights"], params["W1"][:, 2])
    assert r["active"] == pytest.approx(np.mean(x[:, pixel] > 0))
    assert r["png"]["weights"].startswith(PNG) and r["png"]["top"].startswith(PNG)
    assert f"{r['active']:.0%} of the 500 images" in r["message"]


def test_the_votes_are_the_outgoing_weights(params, digits):
    x, y = digits
    params["W2"][5] = np.arange(10) - 4.5
    params["W2"][5, 3] = 9.0
    r = hw.hidden_unit_update(5, params, x, y, render=False)
    np.testing.assert_array_equal(r["votes"], params["W2"][5])
    assert "votes most for 3 (+9.00), most against 0 (-4.50)" in r["message"]
    assert r["votes_html"].count("<td style=\"background") == 10
    assert r["png"] is None


def test_a_dead_unit_is_said_to_be_dead(params, digits):
    x, y = digits
    params["b1"][1] = -1000.0
    r = hw.hidden_unit_update(1, params, x, y)
    assert r["kind"] == "warn" and r["active"] == 0
    assert "never fires" in r["message"] and "dead" in r["message"]
    assert r["png"]["top"].startswith(PNG)                           # still drawn: the first images


def test_precomputed_activations_give_the_same_answer(params, digits):
    x, y = digits
    h = hw.hidden_activations(params, x)
    a = hw.hidden_unit_update(4, params, x, y, render=False)
    b = hw.hidden_unit_update(4, params, x, y, h=h, render=False)
    np.testing.assert_array_equal(a["top"], b["top"])
    assert a["message"] == b["message"]


def test_different_units_give_different_pictures(params, digits):
    x, y = digits
    a = hw.hidden_unit_update(0, params, x, y)
    b = hw.hidden_unit_update(1, params, x, y)
    assert a["png"]["weights"] != b["png"]["weights"]
    c = hw.hidden_unit_update(0, params, x, None)                    # without labels: still drawn
    assert c["png"]["top"].startswith(PNG)


@pytest.mark.parametrize("unit", [-1, 8, 1.5, True, "3", None])
def test_a_bad_unit_number_is_a_message_not_an_exception(params, digits, unit):
    x, y = digits
    r = hw.hidden_unit_update(unit, params, x, y)
    assert r["kind"] == "error" and "from 0 to 7" in r["message"]


@pytest.mark.parametrize("bad, match", [
    ({"W": np.zeros((784, 10)), "b": np.zeros(10)}, "the MLP's dict"),
    ({"W1": np.zeros((10, 784)), "b1": np.zeros(784), "W2": np.zeros((784, 10)), "b2": np.zeros(10)},
     r"W1 \(784, H\).*got W1 \(10, 784\)"),
])
def test_bad_params_are_a_clear_error(bad, match, digits):
    with pytest.raises(ValueError, match=match):
        hw.hidden_unit_update(0, bad, digits[0])


def test_images_of_the_wrong_shape_are_a_clear_error(params):
    with pytest.raises(ValueError, match=r"\(n, 784\); got shape \(3, 28, 28\)"):
        hw.hidden_activations(params, np.zeros((3, 28, 28)))


def test_strongest_unit_weighs_the_votes_by_how_much_the_unit_fires(params, digits):
    x, _ = digits
    h = np.zeros((500, 8))
    h[:, 2], h[:, 6] = 1.0, 0.1
    params["W2"][:, 7] = 0
    params["W2"][2, 7], params["W2"][6, 7] = 1.0, 5.0    # unit 6 votes more, but fires little
    assert hw.strongest_unit(params, h, 7) == 2


# --- the widget -------------------------------------------------------------------

def test_viewer_has_its_parts_with_css_classes(params, digits):
    x, y = digits
    w = hw.hidden_unit_viewer(params, x, y, unit=3)
    assert "mnistlib-hidden" in classes(w)
    for part, cls in [(w.unit, "unit"), (w.prev, "prev"), (w.next, "next"), (w.strongest, "class"),
                      (w.weights_image, "weights"), (w.top_image, "top"), (w.votes, "votes"),
                      (w.status, "status")]:
        assert f"mnistlib-hidden-{cls}" in classes(part)
    assert w.unit.value == 3 and w.unit.max == 7
    assert "unit 3" in w.status.value


def test_viewer_redraws_when_the_unit_changes(params, digits):
    x, y = digits
    w = hw.hidden_unit_viewer(params, x, y)
    weights, top, votes = w.weights_image.value, w.top_image.value, w.votes.value
    w.unit.value = 5
    assert w.weights_image.value != weights and w.top_image.value != top and w.votes.value != votes
    assert "unit 5" in w.status.value and "error" not in w.status.value.lower()


def test_viewer_buttons_step_and_wrap_around(params, digits):
    x, y = digits
    w = hw.hidden_unit_viewer(params, x, y, unit=7)
    w.next.click()
    assert w.unit.value == 0 and "unit 0" in w.status.value
    w.prev.click()
    assert w.unit.value == 7


def test_viewer_jumps_to_the_strongest_unit_for_a_class(params, digits):
    x, y = digits
    w = hw.hidden_unit_viewer(params, x, y)
    expected = hw.strongest_unit(params, hw.hidden_activations(params, x), 4)
    w.strongest.value = 4
    assert w.unit.value == expected
    assert "strongest for class 4" in w.status.value and f"unit {expected}" in w.status.value
    w.next.click()                                       # stepping on leaves the class behind
    assert w.strongest.value == -1 and "strongest" not in w.status.value


def test_viewer_jump_to_the_unit_already_shown_still_says_so(params, digits):
    x, y = digits
    k = hw.strongest_unit(params, hw.hidden_activations(params, x), 0)
    w = hw.hidden_unit_viewer(params, x, y, unit=k)
    w.strongest.value = 0
    assert w.unit.value == k and "strongest for class 0" in w.status.value


def test_viewer_uses_activations_already_computed_and_rejects_the_wrong_ones(params, digits):
    x, y = digits
    h = hw.hidden_activations(params, x)
    given, own = hw.hidden_unit_viewer(params, x, y, unit=2, h=h), hw.hidden_unit_viewer(params, x, y, unit=2)
    assert given.top_image.value == own.top_image.value and given.status.value == own.status.value
    with pytest.raises(ValueError, match=r"h must be hidden_activations\(params, X\)"):
        hw.hidden_unit_viewer(params, x, y, h=h[:-1])
