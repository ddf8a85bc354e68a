"""Tests for the training widgets (learning-rate explorer, live heatmaps, batch size).

Everything runs on the bundled subset and without a browser: the pure functions
are called directly, and widget callbacks are triggered by setting values.
"""

import warnings

import numpy as np
import ipywidgets
import pytest

from mnistlib import plots
from mnistlib.data import SUBSET_PATH
from mnistlib.widgets import training

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def mnist():
    """The bundled subset as float32 x: (4000, 784), (1000, 784) and int labels."""
    with np.load(SUBSET_PATH) as npz:
        x_train = npz["x_train"].reshape(-1, 784).astype(np.float32) / 255
        x_test = npz["x_test"].reshape(-1, 784).astype(np.float32) / 255
        return x_train, npz["y_train"].astype(np.int64), x_test, npz["y_test"].astype(np.int64)


def classes(w):
    return set(w._dom_classes)


# --- heatmaps_png -------------------------------------------------------------

def test_heatmaps_png_is_a_png_that_depends_on_W():
    rng = np.random.default_rng(0)
    a = plots.heatmaps_png(rng.standard_normal((784, 10)))
    b = plots.heatmaps_png(rng.standard_normal((784, 10)))
    assert a.startswith(PNG) and b.startswith(PNG) and a != b
    assert plots.heatmaps_png(np.zeros((784, 10))).startswith(PNG)   # no division by zero


def test_heatmaps_png_rejects_wrong_shape():
    with pytest.raises(ValueError, match=r"\(784, 10\).*\(10, 784\)"):
        plots.heatmaps_png(np.zeros((10, 784)))


# --- lr_explorer_update -------------------------------------------------------

def test_lr_change_redraws(mnist):
    x, y, xt, yt = mnist
    a = training.lr_explorer_update(0.5, x, y, xt, yt)
    b = training.lr_explorer_update(0.02, x, y, xt, yt, figs=a)
    for r in (a, b):
        assert r["loss_png"].startswith(PNG) and r["heatmap_png"].startswith(PNG)
        assert not r["diverged"] and 0.5 < r["val_acc"] <= 1
    assert a["loss_png"] != b["loss_png"]
    assert a["heatmap_png"] != b["heatmap_png"]
    assert "lr = 0.5" in a["message"] and "lr = 0.02" in b["message"]
    assert b["loss_plot"] is a["loss_plot"]         # the plot is reused, not rebuilt


def test_same_lr_gives_the_same_picture(mnist):
    x, y, xt, yt = mnist
    a = training.lr_explorer_update(0.3, x, y, xt, yt)
    b = training.lr_explorer_update(0.3, x, y, xt, yt)
    assert a["heatmap_png"] == b["heatmap_png"] and a["val_acc"] == b["val_acc"]


def test_huge_lr_diverges_without_raising(mnist):
    x, y, xt, yt = mnist
    r = training.lr_explorer_update(1e4, x, y, xt, yt)
    assert r["diverged"] is True
    assert "10000" in r["message"] and "diverged" in r["message"]
    assert r["val_acc"] is None
    assert r["loss_png"].startswith(PNG) and r["heatmap_png"].startswith(PNG)


@pytest.mark.parametrize("lr", [0, -0.1, float("nan"), float("inf"), "0.5", None, True])
def test_invalid_lr_is_a_clear_error(mnist, lr):
    x, y, _, _ = mnist
    with pytest.raises(ValueError, match="learning rate lr must be a positive number"):
        training.lr_explorer_update(lr, x, y)


def test_works_without_test_data(mnist):
    x, y, _, _ = mnist
    r = training.lr_explorer_update(0.5, x, y, n_train=500)
    assert r["val_acc"] is None and "validation accuracy" not in r["message"]


# --- lr_explorer --------------------------------------------------------------

def test_lr_explorer_builds_with_css_classes(mnist):
    box = training.lr_explorer(*mnist)
    assert "mnistlib-lr-explorer" in classes(box)
    assert isinstance(box.slider, ipywidgets.FloatLogSlider)
    assert box.slider.continuous_update is False
    assert "mnistlib-lr-slider" in classes(box.slider)
    assert "mnistlib-lr-loss" in classes(box.loss_image)
    assert "mnistlib-lr-heatmaps" in classes(box.heatmap_image)
    assert "mnistlib-lr-status" in classes(box.status)
    assert bytes(box.loss_image.value).startswith(PNG) and "lr = 0.5" in box.status.value


def test_lr_slider_callback_redraws_and_reports_divergence(mnist):
    box = training.lr_explorer(*mnist)
    loss, heat = box.loss_image.value, box.heatmap_image.value
    box.slider.value = 0.05
    assert box.loss_image.value != loss and box.heatmap_image.value != heat
    assert "lr = 0.05" in box.status.value and "#1a7f37" in box.status.value     # ok colour
    box.slider.value = 10 ** box.slider.max       # FloatLogSlider: max is an exponent
    assert "diverged" in box.status.value and "#b35900" in box.status.value      # warn colour


def test_lr_explorer_error_shows_in_status(mnist, monkeypatch):
    box = training.lr_explorer(*mnist)

    def broken(*args, **kwargs):
        raise RuntimeError("something went wrong")

    monkeypatch.setattr(training, "lr_explorer_update", broken)
    box.slider.value = 0.1                        # must not raise
    assert "RuntimeError: something went wrong" in box.status.value


def test_lr_explorer_rejects_bad_data_when_built(mnist):
    x, y, _, _ = mnist
    with pytest.raises(ValueError, match="784"):
        training.lr_explorer(x[:, :100], y)


# --- live training ------------------------------------------------------------

def test_live_training_calls_back_every_k_updates(mnist):
    x, y, xt, yt = mnist
    frames = []
    res = training.live_training(x, y, xt, yt, on_frame=frames.append, epochs=1, batch_size=100, every=10)
    assert len(frames) == 40 // 10 + 1                      # 40 updates, plus the final frame
    assert [f["update"] for f in frames] == [10, 20, 30, 40, 40]
    assert [f["done"] for f in frames] == [False] * 4 + [True]
    assert len({f["heatmap_png"] for f in frames[:4]}) == 4     # the picture changes every time
    assert "validation accuracy" in frames[-1]["message"]
    assert res is not None and res.W.shape == (784, 10)


def test_live_training_reports_divergence(mnist):
    x, y, _, _ = mnist
    frames = []
    res = training.live_training(x, y, on_frame=frames.append, lr=1e4, epochs=1, every=5)
    assert res is None
    assert frames[-1]["diverged"] and frames[-1]["done"] and "lr=10000" in frames[-1]["message"]


def test_live_training_rejects_bad_arguments(mnist):
    x, y, _, _ = mnist
    with pytest.raises(ValueError, match="every"):
        training.live_training(x, y, on_frame=print, every=0)
    with pytest.raises(ValueError, match="on_frame"):
        training.live_training(x, y, on_frame=None)


def test_live_heatmaps_button_updates_the_image_several_times(mnist):
    box = training.live_heatmaps(*mnist, epochs=1, batch_size=100, every=10)
    assert "mnistlib-live" in classes(box)
    assert "mnistlib-live-train" in classes(box.button)
    assert "mnistlib-live-heatmaps" in classes(box.heatmap_image)
    assert "mnistlib-live-status" in classes(box.status)
    values, disabled = [], []
    box.heatmap_image.observe(lambda c: values.append(c["new"]), names="value")
    box.heatmap_image.observe(lambda c: disabled.append(box.button.disabled), names="value")
    box.button.click()
    assert len(values) >= 4 and len(set(values)) == len(values)
    assert all(disabled)                          # no second run can start meanwhile
    assert not box.button.disabled and "done" in box.status.value


def test_live_heatmaps_divergence_is_a_warning_not_a_traceback(mnist):
    box = training.live_heatmaps(*mnist, lr=1e4, epochs=1, every=5)
    box.button.click()
    assert "diverged" in box.status.value and "#b35900" in box.status.value


# --- batch size ---------------------------------------------------------------

def test_batch_size_update_counts_updates_and_redraws(mnist):
    x, y, xt, yt = mnist
    a = training.batch_size_explorer_update(1, x, y, xt, yt, n_train=300)
    b = training.batch_size_explorer_update(300, x, y, xt, yt, n_train=300, plot=a["plot"])
    assert a["updates"] == 2 * 300 and b["updates"] == 2       # two epochs
    assert b["plot"] is a["plot"] and a["png"] != b["png"]
    assert b["png"].startswith(PNG) and b["fig"] is a["fig"]
    assert "batch size 300" in b["message"] and 0 < b["val_acc"] <= 1


@pytest.mark.parametrize("bs", [0, -5, 2.5, "50", None])
def test_batch_size_must_be_a_positive_integer(mnist, bs):
    x, y, _, _ = mnist
    with pytest.raises(ValueError, match="batch_size"):
        training.batch_size_explorer_update(bs, x, y)


def test_batch_size_explorer_control_redraws(mnist):
    box = training.batch_size_explorer(*mnist, n_train=500)
    assert "mnistlib-batch-explorer" in classes(box)
    assert "mnistlib-batch-size" in classes(box.control)
    assert box.control.continuous_update is False
    assert box.control.options[0][1] == 1 and box.control.options[-1] == ("500 (full)", 500)
    before = box.image.value
    box.control.value = 500
    assert box.image.value != before and "batch size 500" in box.status.value


# --- impossible runs are clear errors before anything is drawn ------------------------

IMPOSSIBLE_RUNS = {
    "no epochs": ({"epochs": 0}, "epochs must be a whole number of at least 1 (passes over the "
                                 "training examples); got 0"),
    "negative epochs": ({"epochs": -2}, "epochs must be a whole number of at least 1"),
    "fractional epochs": ({"epochs": 1.5}, "epochs must be a whole number of at least 1"),
    "no examples": ({"n_train": 0}, "n_train must be a whole number of at least 1 (how many "
                                    "training examples to use); got 0"),
    "no batch": ({"batch_size": 0}, "batch_size must be a whole number of at least 1 (examples "
                                    "per update); got 0"),
}


@pytest.mark.parametrize("case", list(IMPOSSIBLE_RUNS))
def test_lr_explorer_update_rejects_impossible_runs_clearly(mnist, case):
    x, y, _, _ = mnist
    options, message = IMPOSSIBLE_RUNS[case]
    with warnings.catch_warnings():
        warnings.simplefilter("error")    # no half-drawn plot complaining first
        with pytest.raises(ValueError) as info:
            training.lr_explorer_update(0.5, x, y, **options)
    assert str(info.value).startswith(message)


@pytest.mark.parametrize("case", ["no epochs", "fractional epochs", "no examples"])
def test_batch_size_explorer_rejects_impossible_runs_clearly(mnist, case):
    x, y, _, _ = mnist
    options, message = IMPOSSIBLE_RUNS[case]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError) as info:
            training.batch_size_explorer_update(10, x, y, **options)
        assert str(info.value).startswith(message)
        with pytest.raises(ValueError) as info:
            training.batch_size_explorer(x, y, **options)
        assert str(info.value).startswith(message)


@pytest.mark.parametrize("case", ["no epochs", "no batch"])
def test_live_training_rejects_impossible_runs_clearly(mnist, case):
    x, y, _, _ = mnist
    options, message = IMPOSSIBLE_RUNS[case]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError) as info:
            training.live_training(x, y, on_frame=lambda frame: None, **options)
    assert str(info.value).startswith(message)
