"""Gradient descent on the toy bowls of notebook 06: the path, what a learning rate does, the
pictures and the widget. No browser: the pure functions are called directly, and the widget's
callbacks are triggered by setting its controls' values."""

import ipywidgets
import numpy as np
import pytest
from matplotlib.figure import Figure

from mnistlib.widgets import descent as dw
from mnistlib.widgets.descent import BOWLS, describe, gradient_descent

PNG = b"\x89PNG\r\n\x1a\n"


def classes(w):
    return set(w._dom_classes)


# --- the bowls and the path -------------------------------------------------------

@pytest.mark.parametrize("name", ["1-D", "2-D"])
def test_bowl_gradient_matches_finite_differences(name):
    bowl = BOWLS[name]
    w = np.array(bowl.start) * 0.7 + 0.3
    h = 1e-6
    numeric = [(bowl.loss(w + h * e) - bowl.loss(w - h * e)) / (2 * h) for e in np.eye(bowl.dim)]
    np.testing.assert_allclose(bowl.grad(w), numeric, rtol=1e-7)
    assert bowl.loss(np.zeros(bowl.dim)) == 0                    # the bottom is at w = 0


@pytest.mark.parametrize("name", ["1-D", "2-D"])
@pytest.mark.parametrize("lr", [0.02, 0.15, 0.19, 1.8, 2.5])
def test_each_step_multiplies_each_coordinate_by_one_minus_lr_a(name, lr):
    bowl = BOWLS[name]
    w0 = np.array(bowl.start)
    path = gradient_descent(bowl.grad, w0, lr, 12)
    assert path.shape == (13, bowl.dim)
    expected = w0 * bowl.factors(lr) ** np.arange(13)[:, None]
    np.testing.assert_allclose(path, expected, rtol=1e-12)


def test_gradient_descent_keeps_w0_and_accepts_any_shape():
    w0 = np.array([[1.0, -2.0], [0.5, 3.0]])
    keep = w0.copy()
    path = gradient_descent(np.tanh, w0, 0.5, 3)
    assert path.shape == (4, 2, 2) and np.array_equal(w0, keep)
    np.testing.assert_array_equal(path[0], w0)
    np.testing.assert_allclose(path[1], w0 - 0.5 * np.tanh(w0))
    assert gradient_descent(np.tanh, w0, 0.5, 0).shape == (1, 2, 2)


@pytest.mark.parametrize("lr", [0, -0.1, float("nan"), float("inf"), "0.1", None, True])
def test_gradient_descent_rejects_a_bad_learning_rate(lr):
    with pytest.raises(ValueError, match="learning rate lr must be a positive number"):
        gradient_descent(np.tanh, np.zeros(2), lr, 3)


@pytest.mark.parametrize("steps", [-1, 2.5, "3", None, True])
def test_gradient_descent_rejects_bad_steps(steps):
    with pytest.raises(ValueError, match="steps must be a whole number"):
        gradient_descent(np.tanh, np.zeros(2), 0.1, steps)


# --- what a learning rate does ------------------------------------------------------

@pytest.mark.parametrize("name, lr, kind", [
    ("1-D", 0.1, "converges"), ("1-D", 1.0, "converges"), ("1-D", 1.8, "zigzags"), ("1-D", 2.0, "bounces"),
    ("1-D", 2.1, "diverges"),
    ("2-D", 0.02, "converges"), ("2-D", 0.08, "converges"), ("2-D", 0.19, "zigzags"), ("2-D", 0.2, "bounces"),
    ("2-D", 0.205, "diverges"), ("2-D", 2.5, "diverges"),
])
def test_describe_names_the_regime(name, lr, kind):
    assert describe(name, lr)[0] == kind


def test_describe_says_it_per_axis_with_the_factor():
    kind, text = describe("2-D", 0.19)
    assert "w₁ (curvature 1) to 0.81 of its distance" in text
    assert "w₂ (curvature 10) past the bottom, to 0.9 of its distance" in text and "zigzag" in text
    assert "puts w on the bottom" in describe("1-D", 1.0)[1]
    assert "1.1 times its distance" in describe("1-D", 2.1)[1]


def test_describe_rejects_an_unknown_bowl():
    with pytest.raises(ValueError, match=r"bowl must be one of \['1-D', '2-D'\]"):
        describe("3-D", 0.1)


# --- pictures ---------------------------------------------------------------------

@pytest.mark.parametrize("name", ["1-D", "2-D"])
def test_paths_figure_has_a_column_per_learning_rate(name):
    bowl = BOWLS[name]
    paths = {lr: gradient_descent(bowl.grad, np.array(bowl.start), lr, 20) for lr in (0.05, 0.15, 0.3)}
    fig = dw.paths_figure(name, paths)
    assert isinstance(fig, Figure) and len(fig.axes) == 6
    titles = [ax.get_title() for ax in fig.axes[:3]]
    assert titles[0].startswith("lr = 0.05: ")
    assert dw.paths_figure(name, paths, titles={0.05: "mine"}).axes[0].get_title() == "mine"


def test_paths_figure_draws_a_diverging_path_without_trouble():
    bowl = BOWLS["2-D"]
    path = gradient_descent(bowl.grad, np.array(bowl.start), 3.0, 50)      # grows to about 1e73
    fig = dw.paths_figure(bowl, {3.0: path})
    from mnistlib.plots import png_bytes
    assert png_bytes(fig).startswith(PNG)


def test_paths_figure_rejects_a_path_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"shape \(steps \+ 1, 2\)"):
        dw.paths_figure("2-D", {0.1: np.zeros((5, 3))})


# --- descent_explorer_update --------------------------------------------------------

def test_update_returns_the_path_the_picture_and_a_message():
    r = dw.descent_explorer_update(0.19, "2-D", 20)
    assert r["png"].startswith(PNG) and r["path"].shape == (21, 2) and r["losses"].shape == (21,)
    assert r["kind"] == "zigzags" and not r["diverged"]
    assert r["message"].startswith("lr = 0.19 on the 2-D bowl: each step moves w₁")
    assert "After 20 steps the loss is 0.297" in r["message"]
    np.testing.assert_allclose(r["losses"], BOWLS["2-D"].loss(r["path"]))


def test_update_redraws_in_place_and_each_change_shows():
    a = dw.descent_explorer_update(0.08, "2-D", 20)
    b = dw.descent_explorer_update(0.15, "2-D", 20, plots=a["plots"])
    c = dw.descent_explorer_update(0.15, "2-D", 5, plots=b["plots"])
    d = dw.descent_explorer_update(0.15, "1-D", 5, plots=c["plots"])
    assert b["fig"] is a["fig"] and c["fig"] is a["fig"] and d["fig"] is not a["fig"]
    assert len({a["png"], b["png"], c["png"], d["png"]}) == 4
    assert dw.descent_explorer_update(0.15, "2-D", 5, plots=d["plots"])["png"] == c["png"]   # repeatable


def test_update_reports_divergence_and_zero_steps():
    r = dw.descent_explorer_update(2.5, "1-D", 50)
    assert r["diverged"] and r["kind"] == "diverges" and r["png"].startswith(PNG)
    r = dw.descent_explorer_update(0.1, "1-D", 0)
    assert r["path"].shape == (1, 1) and "The loss starts at 8" in r["message"]


@pytest.mark.parametrize("args, match", [
    ((0, "2-D", 10), "learning rate"), ((0.1, "flat", 10), "bowl must be one of"),
    ((0.1, "2-D", -1), "steps must be a whole number"), ((0.1, "2-D", 51), "at most 50"),
])
def test_update_rejects_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        dw.descent_explorer_update(*args)


# --- the widget -------------------------------------------------------------------

def test_explorer_builds_with_a_css_class_on_every_control():
    box = dw.descent_explorer()
    assert "mnistlib-descent" in classes(box)
    assert isinstance(box.bowl, ipywidgets.ToggleButtons) and "mnistlib-descent-bowl" in classes(box.bowl)
    assert isinstance(box.slider, ipywidgets.FloatLogSlider) and "mnistlib-descent-lr" in classes(box.slider)
    assert isinstance(box.steps, ipywidgets.IntSlider) and "mnistlib-descent-steps" in classes(box.steps)
    assert isinstance(box.play, ipywidgets.Play) and "mnistlib-descent-play" in classes(box.play)
    assert "mnistlib-descent-plot" in classes(box.image) and "mnistlib-descent-status" in classes(box.status)
    assert bytes(box.image.value).startswith(PNG) and "lr = 0.08 on the 2-D bowl" in box.status.value
    assert box.play.max == box.steps.max == 50


def test_each_control_redraws_and_updates_the_status():
    box = dw.descent_explorer()
    seen = {bytes(box.image.value)}
    box.slider.value = 0.19
    assert "lr = 0.19" in box.status.value and "#1a7f37" in box.status.value          # ok colour
    seen.add(bytes(box.image.value))
    box.steps.value = 3
    assert "After 3 steps" in box.status.value
    seen.add(bytes(box.image.value))
    box.bowl.value = "1-D"
    assert "on the 1-D bowl" in box.status.value
    seen.add(bytes(box.image.value))
    box.slider.value = 2.5
    assert "further each time" in box.status.value and "#b35900" in box.status.value   # warn colour
    seen.add(bytes(box.image.value))
    assert len(seen) == 5


def test_an_error_in_a_callback_shows_in_the_status_line(monkeypatch):
    box = dw.descent_explorer()

    def broken(*args, **kwargs):
        raise RuntimeError("something went wrong")
    monkeypatch.setattr(dw, "descent_explorer_update", broken)
    box.slider.value = 0.1                                   # must not raise
    assert "RuntimeError: something went wrong" in box.status.value
