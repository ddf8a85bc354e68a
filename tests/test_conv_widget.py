"""The filter and feature-map viewer of notebook 12, without a browser."""

import io

import ipywidgets
import numpy as np
import pytest
from PIL import Image

from mnistlib import cnn
from mnistlib.conv import conv2d_forward_loops, maxpool2d_forward_loops
from mnistlib.data import SUBSET_PATH
from mnistlib.widgets import feature_maps

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def mnist():
    """20 images of the subset and the parameters of a CNN (random, with biases that matter)."""
    with np.load(SUBSET_PATH) as npz:
        x = np.divide(npz["x_train"][:20].reshape(-1, 784), 255, dtype=np.float32)
        y = npz["y_train"][:20].astype(np.int64)
    params = cnn.init_params(seed=1, channels=(8, 16))        # the viewer takes any number of kernels
    rng = np.random.default_rng(2)
    for k, v in params.items():
        if k.startswith("b"):
            v[:] = rng.normal(0, 0.1, v.shape)
    return params, x, y


def size(png):
    return Image.open(io.BytesIO(png)).size


def classes(w):
    return set(w._dom_classes)


def test_activations_are_the_cnn_stage_by_stage(mnist):
    params, x, y = mnist
    a = feature_maps.activations(params, x[:3])
    F1, F2 = len(params["K1"]), len(params["K2"])
    assert {k: v.shape for k, v in a.items()} == {"conv1": (3, F1, 24, 24), "pool1": (3, F1, 12, 12),
                                                  "conv2": (3, F2, 8, 8), "pool2": (3, F2, 4, 4)}
    # against the loop layers, in float64
    p = {k: v.astype(np.float64) for k, v in params.items()}
    z1 = np.maximum(conv2d_forward_loops(x[:1].reshape(1, 1, 28, 28).astype(np.float64), p["K1"], p["b1"])[0], 0)
    np.testing.assert_allclose(a["conv1"][:1], z1, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(a["pool1"][:1], maxpool2d_forward_loops(z1)[0], rtol=1e-4, atol=1e-5)
    assert all((a[k] >= 0).all() for k in ("conv1", "pool1", "conv2", "pool2"))     # after ReLU


def test_activations_refuse_images_that_are_not_rows(mnist):
    params, x, _ = mnist
    with pytest.raises(ValueError, match=r"shape \(n, 784\)"):
        feature_maps.activations(params, x[0].reshape(28, 28))


def test_tiles_png_lays_out_rows_and_grids():
    three = feature_maps.tiles_png(np.ones((3, 5, 5)), scale=10, gap=6)
    assert three.startswith(PNG) and size(three) == (3 * 56, 56)
    wrapped = feature_maps.tiles_png(np.ones((5, 4, 4)), scale=2, ncols=2, gap=2, titles=range(5))
    assert size(wrapped) == (2 * 10, 3 * (8 + 16 + 2))
    grid = feature_maps.tiles_png(np.zeros((4, 2, 5, 5)), scale=5, gap=3, row_titles=range(4))
    assert size(grid) == (30 + 2 * 28, 4 * 28)
    with pytest.raises(ValueError, match="tiles must have shape"):
        feature_maps.tiles_png(np.zeros((5, 5)), scale=2)


def test_tiles_png_colours_follow_the_scale():
    """Symmetric: +vmax red, -vmax blue, 0 white; activations: 0 white, vmax black."""
    tiles = np.array([[[1.0]], [[-1.0]], [[0.0]]])
    img = np.asarray(Image.open(io.BytesIO(feature_maps.tiles_png(tiles, scale=4, gap=0))))
    red, blue, white = img[2, 2], img[2, 6], img[2, 10]
    assert red[0] > 2 * red[2] and blue[2] > 2 * blue[0] and white.min() > 240
    grey = np.asarray(Image.open(io.BytesIO(feature_maps.tiles_png(np.array([[[2.0]], [[0.0]]]), scale=4, gap=0,
                                                                  symmetric=False))))
    assert grey[2, 2].max() < 30 and grey[2, 6].min() > 240


@pytest.mark.parametrize("stage, shape", [("conv1", (8, 24, 24)), ("pool1", (8, 12, 12)),
                                          ("conv2", (16, 8, 8)), ("pool2", (16, 4, 4))])
def test_update_shows_each_stage(mnist, stage, shape):
    params, x, y = mnist
    r = feature_maps.feature_maps_update(params, x, y, 4, stage)
    assert r["kind"] in ("ok", "warn") and r["stage"] == stage and r["maps"].shape == shape
    np.testing.assert_array_equal(r["maps"], feature_maps.activations(params, x[4:5])[stage][0])
    assert r["label"] == y[4] and r["predicted"] == int(np.argmax(cnn.logits(params, x[4:5])))
    assert np.isclose(r["probs"].sum(), 1)
    assert set(r["png"]) == {"digit", "kernels", "maps"} and all(v.startswith(PNG) for v in r["png"].values())
    assert f"image 4: label {y[4]}" in r["message"] and f"{shape[0]} maps of {shape[1]} x {shape[1]}" in r["message"]
    # one row of kernel tiles for the first convolution, a row per kernel for the second
    width, height = size(r["png"]["kernels"])
    assert (height > width) == stage.endswith("2")


def test_update_differs_between_images_and_stages(mnist):
    params, x, y = mnist
    a = feature_maps.feature_maps_update(params, x, y, 0, "conv1")["png"]
    b = feature_maps.feature_maps_update(params, x, y, 1, "conv1")["png"]
    c = feature_maps.feature_maps_update(params, x, y, 1, "conv2")["png"]
    assert a["maps"] != b["maps"] and a["digit"] != b["digit"] and a["kernels"] == b["kernels"]
    assert b["maps"] != c["maps"] and b["kernels"] != c["kernels"] and b["digit"] == c["digit"]


@pytest.mark.parametrize("i", [-1, 20, 2.5, True, "3", None])
def test_a_bad_index_is_a_message_not_an_exception(mnist, i):
    r = feature_maps.feature_maps_update(*mnist, i)
    assert r["kind"] == "error" and "from 0 to 19" in r["message"] and r["png"] is None


def test_a_bad_stage_is_a_message(mnist):
    r = feature_maps.feature_maps_update(*mnist, 0, "conv3")
    assert r["kind"] == "error" and "conv1, pool1, conv2, pool2" in r["message"]


def test_viewer_builds_with_css_classes(mnist):
    box = feature_maps.feature_map_viewer(*mnist, index=2)
    assert "mnistlib-featuremaps" in classes(box)
    for part, cls in [("index", "index"), ("stage", "stage"), ("prev", "prev"), ("next", "next"),
                      ("digit_image", "digit"), ("kernels_image", "kernels"), ("maps_image", "maps"),
                      ("status", "status")]:
        assert f"mnistlib-featuremaps-{cls}" in classes(getattr(box, part)), part
    assert isinstance(box.stage, ipywidgets.ToggleButtons) and box.stage.value == "conv1"
    assert [v for _, v in box.stage.options] == list(feature_maps.STAGES)
    assert box.index.value == 2 and box.index.max == 19
    assert "image 2:" in box.status.value
    assert bytes(box.maps_image.value).startswith(PNG)


def test_viewer_redraws_on_index_stage_and_buttons(mnist):
    box = feature_maps.feature_map_viewer(*mnist)
    maps, digit, kernels = box.maps_image.value, box.digit_image.value, box.kernels_image.value
    box.index.value = 5
    assert box.maps_image.value != maps and box.digit_image.value != digit and "image 5:" in box.status.value
    maps = box.maps_image.value
    box.stage.value = "pool2"
    assert box.maps_image.value != maps and box.kernels_image.value != kernels
    assert "max-pooling 2: 16 maps of 4 x 4" in box.status.value
    box.next.click()
    assert box.index.value == 6 and "image 6:" in box.status.value
    box.index.value = 0
    box.prev.click()
    assert box.index.value == 19                       # wraps round at the start


def test_viewer_shows_errors_in_its_status_line(mnist, monkeypatch):
    box = feature_maps.feature_map_viewer(*mnist)

    def broken(*args, **kwargs):
        raise RuntimeError("something broke")
    monkeypatch.setattr(feature_maps, "feature_maps_update", broken)
    box.index.value = 3
    assert "RuntimeError: something broke" in box.status.value


@pytest.mark.parametrize("kwargs, match", [(dict(stage="conv9"), "stage must be one of"),
                                           (dict(), "X must be")])
def test_viewer_refuses_bad_arguments(mnist, kwargs, match):
    params, x, y = mnist
    if not kwargs:
        x = x.reshape(-1, 28, 28)
    with pytest.raises(ValueError, match=match):
        feature_maps.feature_map_viewer(params, x, y, **kwargs)


def test_update_with_the_default_network(mnist):
    """cnn.init_params's own sizes: the kernels of convolution 1 wrap after 8 to a row."""
    _, x, y = mnist
    params = cnn.init_params(seed=0)
    F1, F2 = len(params["K1"]), len(params["K2"])
    r = feature_maps.feature_maps_update(params, x, y, 0, "conv1")
    assert r["maps"].shape == (F1, 24, 24) and f"{F1} maps of 24 x 24" in r["message"]
    width, height = size(r["png"]["kernels"])
    assert width <= 8 * 56 and height == -(-F1 // 8) * (50 + 16 + 6)
    r = feature_maps.feature_maps_update(params, x, y, 0, "conv2")
    assert r["maps"].shape == (F2, 8, 8) and size(r["png"]["kernels"])[1] == F2 * (20 + 3)
