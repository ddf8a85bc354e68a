"""The weight-decay explorer of notebook 08, on the bundled subset and without a browser."""

import ipywidgets
import numpy as np
import pytest

from mnistlib.widgets import weight_decay
from mnistlib.data import SUBSET_PATH
from mnistlib.model import accuracy
from mnistlib.train import train

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def mnist():
    """The subset's training images, split: 3000 to train, 1000 to validate."""
    with np.load(SUBSET_PATH) as npz:
        x = np.divide(npz["x_train"].reshape(-1, 784), 255, dtype=np.float32)
        y = npz["y_train"].astype(np.int64)
    return x[:3000], y[:3000], x[3000:], y[3000:]


def classes(w):
    return set(w._dom_classes)


def test_update_trains_with_weight_decay_as_train_does(mnist):
    x, y, xv, yv = mnist
    r = weight_decay.weight_decay_update(0.01, x, y, xv, yv, n_train=300, epochs=5)
    ref = train(x[:300], y[:300], lr=1.0, epochs=5, batch_size=50, schedule="linear", weight_decay=0.01,
                evaluate=False)
    np.testing.assert_array_equal(r["W"], ref.W)
    assert r["train_acc"] == accuracy(x[:300], y[:300], ref.W, ref.b)
    assert r["val_acc"] == accuracy(xv, yv, ref.W, ref.b)
    assert r["w_max"] == pytest.approx(float(np.abs(ref.W).max()))
    assert r["heatmap_png"].startswith(PNG)
    assert "λ = 0.01" in r["message"] and "validation accuracy" in r["message"]


def test_more_decay_gives_smaller_weights_and_a_smaller_gap(mnist):
    x, y, xv, yv = mnist
    runs = [weight_decay.weight_decay_update(lam, x, y, xv, yv) for lam in (0.0, 0.01, 0.1)]
    w_max = [r["w_max"] for r in runs]
    gaps = [r["train_acc"] - r["val_acc"] for r in runs]
    assert w_max[0] > w_max[1] > w_max[2]
    assert gaps[0] > gaps[1] > gaps[2]
    assert runs[0]["train_acc"] > 0.99                 # 1000 images, 30 epochs: memorised
    assert len({r["heatmap_png"] for r in runs}) == 3


def test_same_lambda_gives_the_same_picture(mnist):
    a = weight_decay.weight_decay_update(0.003, *mnist, n_train=300, epochs=3)
    b = weight_decay.weight_decay_update(0.003, *mnist, n_train=300, epochs=3)
    assert a["heatmap_png"] == b["heatmap_png"] and a["val_acc"] == b["val_acc"]


@pytest.mark.parametrize("lam", [-0.1, float("nan"), float("inf"), "0.01", None, True])
def test_a_bad_lambda_is_a_clear_error(mnist, lam):
    with pytest.raises(ValueError, match="weight decay lambda must be a number >= 0"):
        weight_decay.weight_decay_update(lam, *mnist)


def test_explorer_builds_with_css_classes(mnist):
    box = weight_decay.weight_decay_explorer(*mnist, n_train=300, epochs=3)
    assert "mnistlib-decay" in classes(box)
    assert isinstance(box.slider, ipywidgets.SelectionSlider)
    assert box.slider.continuous_update is False
    assert "mnistlib-decay-slider" in classes(box.slider)
    assert "mnistlib-decay-heatmaps" in classes(box.heatmap_image)
    assert "mnistlib-decay-status" in classes(box.status)
    assert [v for _, v in box.slider.options] == list(weight_decay.DECAY_VALUES)
    assert bytes(box.heatmap_image.value).startswith(PNG) and "λ = 0:" in box.status.value


def test_slider_redraws(mnist):
    box = weight_decay.weight_decay_explorer(*mnist, n_train=300, epochs=3)
    picture = box.heatmap_image.value
    box.slider.value = 0.03
    assert box.heatmap_image.value != picture
    assert "λ = 0.03:" in box.status.value and "#1a7f37" in box.status.value      # ok colour


def test_an_error_shows_in_the_status_line(mnist, monkeypatch):
    box = weight_decay.weight_decay_explorer(*mnist, n_train=300, epochs=3)
    picture = box.heatmap_image.value

    def broken(*args, **kwargs):
        raise RuntimeError("something went wrong")

    monkeypatch.setattr(weight_decay, "weight_decay_update", broken)
    box.slider.value = 0.01                       # must not raise
    assert "RuntimeError: something went wrong" in box.status.value and "#c00" in box.status.value
    assert box.heatmap_image.value == picture     # the last good picture stays


def test_explorer_rejects_a_start_off_the_slider(mnist):
    with pytest.raises(ValueError, match="one of the slider's values"):
        weight_decay.weight_decay_explorer(*mnist, weight_decay=0.005)


def test_explorer_rejects_bad_data_when_built(mnist):
    x, y, xv, yv = mnist
    with pytest.raises(ValueError, match="784"):
        weight_decay.weight_decay_explorer(x[:, :100], y, xv, yv)
