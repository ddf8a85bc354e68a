"""Accessibility without a browser: colours that colour-blind viewers can read, text contrast, the
words behind every picture (alt texts), the names and live regions the widgets ask for, and the
"try a digit" menu that lets a keyboard user get an answer.

Colour blindness is simulated with the matrices of Machado, Oliveira and Fernandes (2009), "A
Physiologically-based Model for Simulation of Color Vision Deficiency", at severity 1.0
(protanopia and deuteranopia: no working red or green cones), applied to linear RGB. Two colours
are told apart by their CIE 1976 distance in L*a*b* (about 2.3 is just noticeable).
"""

import numpy as np
import pytest
from matplotlib import colormaps, colors

from mnistlib import draw, plots
from mnistlib.widgets import access, base, digit_menu, drawing, explorer, lr_explorer_update, training

SIMULATIONS = {
    "protanopia": np.array([[0.152286, 1.052583, -0.204868],
                            [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968],
                              [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
}


def linear(rgb):
    rgb = np.asarray(rgb, dtype=float)
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)


def seen_as(rgb, deficiency):
    """sRGB colours (..., 3) in [0, 1] as a viewer with ``deficiency`` sees them (sRGB)."""
    lin = np.clip(linear(rgb) @ SIMULATIONS[deficiency].T, 0, 1)
    return np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1 / 2.4) - 0.055)


def lab(rgb):
    """sRGB (..., 3) -> CIE L*a*b* (D65)."""
    xyz = linear(rgb) @ np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]).T
    xyz = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


def distance(a, b):
    return np.linalg.norm(lab(a) - lab(b), axis=-1)


def sign_is_readable(cmap_name, deficiency, smallest=0.2, needed=15.0):
    """Whether +v and -v look clearly different on this diverging map, for every |v| from ``smallest``
    of the scale up, to a viewer with ``deficiency``; and whether the colour darkens as |v| grows."""
    cmap = colormaps[cmap_name]
    t = np.linspace(smallest, 1, 17)
    up, down = seen_as(cmap(0.5 + t / 2)[:, :3], deficiency), seen_as(cmap(0.5 - t / 2)[:, :3], deficiency)
    darker = np.all(np.diff(lab(up)[:, 0]) < 0.5) and np.all(np.diff(lab(down)[:, 0]) < 0.5)
    return bool(np.all(distance(up, down) >= needed) and darker)


@pytest.mark.parametrize("deficiency", SIMULATIONS)
def test_heatmaps_keep_their_sign_for_colour_blind_viewers(deficiency):
    # every heatmap (weights, contributions, kernels, votes) uses RdBu_r
    assert sign_is_readable("RdBu_r", deficiency)


@pytest.mark.parametrize("deficiency", SIMULATIONS)
def test_the_simulation_catches_a_red_green_map(deficiency):
    # the check is not toothless: red against green fails it
    assert not sign_is_readable("RdYlGn", deficiency)


@pytest.mark.parametrize("deficiency", SIMULATIONS)
def test_the_predicted_bar_stands_out_for_colour_blind_viewers(deficiency):
    red, grey = np.array(colors.to_rgb("#d62728")), np.array(colors.to_rgb("#9ab"))
    assert distance(seen_as(red, deficiency), seen_as(grey, deficiency)) > 30


def contrast_on_white(colour):
    """The WCAG 2.1 contrast ratio of ``colour`` against white."""
    r, g, b = linear(colors.to_rgb(colour))
    return 1.05 / (0.2126 * r + 0.7152 * g + 0.0722 * b + 0.05)


@pytest.mark.parametrize("kind", base.COLOURS)
def test_status_text_has_enough_contrast(kind):
    assert contrast_on_white(base.COLOURS[kind]) >= 4.5


def test_right_and_wrong_are_marked_not_only_coloured():
    assert base.MARKS == {True: "✓", False: "✗"}


# --- words for pictures ------------------------------------------------------------

def test_curves_are_described_by_where_they_go():
    assert plots.describe_curve([0, 60, 120], [2.3, 1.0, 0.4]) == \
        "Training loss against update, 3 points from 0 to 120: falls from 2.3 to 0.4"
    assert "blows up" in plots.describe_curve([1, 2], [2.3, np.inf])
    assert plots.describe_curve([], [], what="loss").endswith("no points yet")


def test_probabilities_are_described_as_a_prediction():
    p = np.full(10, 0.002)
    p[7], p[9] = 0.94, 0.044
    assert plots.describe_probabilities(p) == "Prediction: 7, 94 %; next 9, 4 %"
    assert plots.describe_probabilities(p, true=1).endswith("true class 1 (wrong)")


def test_plots_figures_carry_their_alt_text_into_the_notebook_metadata():
    fig = plots.loss_curve([1, 2, 3], [2.0, 1.0, 0.5])
    assert fig._repr_mimebundle_() == ({}, {"image/png": {"alt": fig.alt}})
    assert fig.alt.startswith("Training loss against epoch")
    plots.loss_curve([1, 2], [0.5, 0.9], fig=fig)          # a redraw says what it shows now
    assert "rises from 0.5 to 0.9" in fig.alt
    W = np.zeros((784, 10))
    assert "all zero" in plots.weight_heatmaps(W).alt
    from matplotlib.figure import Figure
    drawn_in_a_cell = Figure()
    assert plots.described(drawn_in_a_cell, "a picture") is drawn_in_a_cell
    assert drawn_in_a_cell._repr_mimebundle_()[1] == {"image/png": {"alt": "a picture"}}
    assert repr(drawn_in_a_cell).startswith("<Figure size")      # what nbval compares stays the same


@pytest.fixture(scope="module")
def small_data():
    rng = np.random.default_rng(0)
    X = rng.random((200, 784), dtype=np.float32)
    y = rng.integers(0, 10, 200)
    return X, y


def test_lr_explorer_says_what_its_pictures_show(small_data):
    X, y = small_data
    r = lr_explorer_update(0.5, X, y, n_train=200, epochs=1)
    assert r["alt"]["loss"].startswith("Training loss at lr = 0.5 against update")
    assert r["alt"]["heatmaps"].startswith("The weights of the ten classes 0 to 9 as 28x28 heatmaps")
    assert r["loss_fig"].alt == r["alt"]["loss"]
    box = training.lr_explorer(X, y, n_train=200, epochs=1)
    assert box.access.alts["mnistlib-lr-loss"] == r["alt"]["loss"]
    assert "learning rate" in box.access.names["mnistlib-lr-slider"]


def test_draw_update_describes_the_prediction(small_data):
    W = np.random.default_rng(1).normal(size=(784, 10)) * 0.01
    r = drawing.draw_update(draw.render_strokes(draw.digit_strokes(7)), W, np.zeros(10), threshold=0.0)
    assert r["alt"]["probs"].startswith(f"Prediction: {r['predicted']}, ")
    empty = drawing.draw_update(np.zeros((280, 280)), W, np.zeros(10))
    assert empty["alt"]["probs"] == "No prediction yet: draw a digit"


def test_explorer_marks_right_and_wrong_and_describes_its_pictures(small_data):
    X, y = small_data
    W = np.random.default_rng(2).normal(size=(784, 10))
    r = explorer.prediction_explorer_update(3, X, y, W, np.zeros(10), render=False)
    assert r["alt"]["probs"].startswith(f"Test image 3, label {y[3]}: prediction: {r['predicted']}")
    box = explorer.prediction_explorer(X, y, W, np.zeros(10), index=3)
    mark = base.MARKS[bool(r["correct"])]
    assert f">{mark} image 3:" in box.status.value
    assert box.access.names["mnistlib-explorer-prev"] == "previous test image"


# --- the widgets' names, live regions and the keyboard way in ----------------------

def test_access_keeps_names_alt_texts_and_live_regions():
    a = access.Access(names={"x-slider": "x"}, live=["x-status"])
    a.name("x-slider", "x, the thing")
    a.alt_all({"x-image": "a picture", "y-image": "another"})
    assert a.names == {"x-slider": "x, the thing"} and a.alts["y-image"] == "another"
    assert a.live == ["x-status"] and a.layout.display == "none"


def test_the_digit_menu_offers_real_digits_of_every_class():
    X, y = digit_menu.example_digits()
    options = digit_menu.menu_options(y)
    assert options[0] == ("pick one", -1) and len(options) == 21
    assert [label.split()[1] for label, _ in options[1:]] == [str(k) for k in range(10) for _ in range(2)]
    big = digit_menu.enlarge(X[options[1][1]], 280)
    assert big.shape == (280, 280) and big.max() > 0.9
    with pytest.raises(ValueError, match="examples must be"):
        digit_menu.example_digits((np.zeros((3, 100)), np.zeros(3)))


def test_a_digit_picked_from_the_menu_is_answered_and_can_be_cleared():
    W = np.zeros((784, 10))
    W[:, 3] = 0.01
    X, y = digit_menu.example_digits()
    box = drawing.draw_digit(W, np.zeros(10), threshold=0.0, examples=(X[:50], y[:50]))
    pick = box.pick.options[5][1]
    box.pick.value = pick
    assert box.state["loaded"] == f"example {pick}, a {y[pick]}"
    assert box.answer.value.count("3") >= 1 and "The network answers" in box.answer.value
    assert box.status.value.count("answered") == 1 and f"Example {pick}" in box.status.value
    assert f"example {pick}" in box.access.names["mnistlib-draw-canvas"]
    assert box.access.live == ["mnistlib-draw-answer"]
    assert box.children[-1] is box.access          # in the box, where its JavaScript works
    clear = [w for w in _walk(box) if "mnistlib-draw-clear" in getattr(w, "_dom_classes", ())][0]
    clear.click()
    assert box.pick.value == -1 and box.state["loaded"] is None and not box.state["ink"].any()


def _walk(widget):
    stack = [widget]
    while stack:
        w = stack.pop()
        yield w
        stack.extend(getattr(w, "children", ()))
