"""Tests for mnistlib.evaluate and the prediction explorer (small data, no browser)."""


import numpy as np
import pytest

from mnistlib import evaluate
from mnistlib.evaluate import (add_noise, confusion_matrix, contributions, coverage_at_thresholds,
                               most_confident_mistakes, per_class_accuracy, rotate, shift)
from mnistlib.model import logits
from mnistlib.widgets.explorer import prediction_explorer, prediction_explorer_update


@pytest.fixture(scope="module")
def subset():
    """The bundled test images with a model trained briefly on the bundled training images."""
    from mnistlib.data import SUBSET_PATH
    from mnistlib.train import train
    d = np.load(SUBSET_PATH)
    x_train, x_test = d["x_train"].reshape(-1, 784) / np.float32(255), d["x_test"].reshape(-1, 784) / np.float32(255)
    r = train(x_train, d["y_train"], lr=1.0, epochs=2, batch_size=50, schedule="linear", evaluate=False)
    return x_test.astype(np.float32), d["y_test"].astype(np.int64), r.W, r.b


def images(n=5, seed=0):
    return np.random.default_rng(seed).random((n, 784)).astype(np.float32)


# --- confusion matrix, per-class accuracy, mistakes ----------------------------

def test_confusion_matrix_hand_example():
    y_true = np.array([0, 0, 1, 1, 1, 2])
    y_pred = np.array([0, 1, 1, 1, 2, 0])
    C = confusion_matrix(y_true, y_pred, k=3)
    assert C.dtype == np.int64
    np.testing.assert_array_equal(C, [[1, 1, 0],
                                      [0, 2, 1],
                                      [1, 0, 0]])
    np.testing.assert_allclose(per_class_accuracy(C), [1 / 2, 2 / 3, 0])


def test_confusion_matrix_shape_and_totals():
    rng = np.random.default_rng(1)
    y, p = rng.integers(0, 10, 500), rng.integers(0, 10, 500)
    C = confusion_matrix(y, p)
    assert C.shape == (10, 10) and C.sum() == 500
    np.testing.assert_array_equal(C.sum(axis=1), np.bincount(y, minlength=10))
    assert np.trace(C) == np.sum(y == p)


@pytest.mark.parametrize("y_true, y_pred, words", [
    (np.array([0, 1]), np.array([0, 1, 2]), "same shape"),
    (np.array([0, 10]), np.array([0, 1]), "between 0 and 9"),
    (np.array([0.5, 1.0]), np.array([0, 1]), "whole class numbers"),
])
def test_confusion_matrix_bad_input(y_true, y_pred, words):
    with pytest.raises(ValueError, match=words):
        confusion_matrix(y_true, y_pred)


def test_per_class_accuracy_empty_class_is_nan():
    C = confusion_matrix(np.array([0, 0]), np.array([0, 1]), k=3)
    acc = per_class_accuracy(C)
    assert acc[0] == 0.5 and np.isnan(acc[1]) and np.isnan(acc[2])


def test_most_confident_mistakes():
    p = np.full((4, 10), 0.01)
    p[0, 3], p[1, 5], p[2, 7], p[3, 2] = 0.91, 0.6, 0.8, 0.91   # predictions 3, 5, 7, 2
    y = np.array([3, 1, 1, 1])                                   # image 0 is right
    np.testing.assert_array_equal(most_confident_mistakes(p, y, n=2), [3, 2])
    np.testing.assert_array_equal(most_confident_mistakes(p, y), [3, 2, 1])


# --- coverage at thresholds ---------------------------------------------------

def test_coverage_threshold_zero_answers_everything():
    rng = np.random.default_rng(0)
    l = rng.standard_normal((200, 10))
    p = np.exp(l) / np.exp(l).sum(axis=1, keepdims=True)
    y = rng.integers(0, 10, 200)
    cov = coverage_at_thresholds(p, y, [0.0])
    assert cov.coverage[0] == 1.0
    assert cov.accuracy[0] == pytest.approx(np.mean(p.argmax(axis=1) == y))


def test_coverage_is_monotone_and_counts_right(subset):
    x, y, W, b = subset
    p = np.exp(logits(x, W, b))
    p /= p.sum(axis=1, keepdims=True)
    t = np.linspace(0, 1, 11)
    cov = coverage_at_thresholds(p, y, t)
    assert np.all(np.diff(cov.coverage) <= 0)
    # Spot-check one threshold by counting directly.
    answered = p.max(axis=1) >= 0.7
    assert cov.coverage[7] == pytest.approx(answered.mean())
    assert cov.accuracy[7] == pytest.approx(np.mean(p[answered].argmax(axis=1) == y[answered]))


def test_coverage_none_answered_gives_nan():
    p = np.full((3, 10), 0.1)
    cov = coverage_at_thresholds(p, np.array([0, 1, 2]), [0.5])
    assert cov.coverage[0] == 0 and np.isnan(cov.accuracy[0])


def test_coverage_bad_threshold():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        coverage_at_thresholds(np.full((2, 10), 0.1), np.array([0, 1]), [1.5])


# --- transforms -------------------------------------------------------------

@pytest.mark.parametrize("shape", [(5, 784), (5, 28, 28)])
@pytest.mark.parametrize("transform", [lambda x: add_noise(x, 0.3, seed=1),
                                       lambda x: rotate(x, 17), lambda x: shift(x, 2, -3)])
def test_transforms_keep_shape_and_dtype(shape, transform):
    x = images().reshape(shape)
    out = transform(x)
    assert out.shape == shape and out.dtype == x.dtype


@pytest.mark.parametrize("bad", [np.zeros(784), np.zeros((28, 28)), np.zeros((2, 783)), np.zeros((2, 28, 27))])
@pytest.mark.parametrize("transform", [lambda x: add_noise(x, 0.1), lambda x: rotate(x, 10),
                                       lambda x: shift(x, 1, 1)])
def test_transforms_reject_bad_shapes(bad, transform):
    with pytest.raises(ValueError, match=r"\(n, 784\) or \(n, 28, 28\)"):
        transform(bad)


def test_rotate_by_zero_is_identity():
    x = images()
    np.testing.assert_array_equal(rotate(x, 0), x)


def test_rotate_90_four_times_is_identity_on_interior():
    x = images().reshape(-1, 28, 28)
    out = x
    for _ in range(4):
        out = rotate(out, 90)
    np.testing.assert_allclose(out[:, 1:-1, 1:-1], x[:, 1:-1, 1:-1], atol=1e-5)


def test_rotate_90_is_counter_clockwise():
    x = np.zeros((1, 28, 28), np.float32)
    x[0, 0, 27] = 1.0                                  # top right corner
    out = rotate(x, 90)
    r, c = np.unravel_index(np.argmax(out[0]), (28, 28))
    assert (r, c) == (0, 0)                            # moved to the top left
    np.testing.assert_allclose(np.rot90(x, axes=(1, 2)), out, atol=1e-5)


def test_rotate_keeps_mass_of_a_centred_blob():
    x = np.zeros((1, 28, 28), np.float32)
    x[0, 10:18, 12:16] = 1.0
    assert rotate(x, 30).sum() == pytest.approx(x.sum(), rel=0.02)


@pytest.mark.parametrize("dx, dy", [(0, 0), (3, 0), (0, -2), (-4, 4), (27, 0)])
def test_shift_moves_mass_by_the_right_amount(dx, dy):
    x = np.zeros((1, 28, 28), np.float32)
    x[0, 12:15, 10:14] = 1.0
    out = shift(x, dx, dy)
    if abs(dx) < 20:
        assert out.sum() == x.sum()
        rows, cols = np.indices((28, 28))

        def centre(img):
            return (img * rows).sum() / img.sum(), (img * cols).sum() / img.sum()

        (r0, c0), (r1, c1) = centre(x[0]), centre(out[0])
        assert (r1 - r0, c1 - c0) == pytest.approx((dy, dx))
    else:
        assert out.sum() == 0                          # pushed off the image


def test_shift_fills_with_zeros_not_wraparound():
    x = np.ones((1, 784), np.float32)
    out = shift(x, 2, 0).reshape(28, 28)
    assert np.all(out[:, :2] == 0) and np.all(out[:, 2:] == 1)


def test_shift_rejects_fractions():
    with pytest.raises(ValueError, match="whole numbers"):
        shift(images(), 0.5, 0)


def test_noise_reproducible_and_in_range():
    x = images()
    a, b_ = add_noise(x, 0.5, seed=3), add_noise(x, 0.5, seed=3)
    np.testing.assert_array_equal(a, b_)
    assert not np.array_equal(a, add_noise(x, 0.5, seed=4))
    assert a.min() >= 0 and a.max() <= 1
    np.testing.assert_array_equal(add_noise(x, 0.0), x)


def test_noise_rejects_bad_sigma_and_raw_pixels():
    with pytest.raises(ValueError, match="sigma"):
        add_noise(images(), -0.1)
    with pytest.raises(ValueError, match="255"):
        add_noise(np.zeros((2, 784), np.uint8), 0.1)


def test_robustness_curve_shift_zero_is_plain_accuracy(subset):
    x, y, W, b = subset
    acc = evaluate.robustness_curve(x, y, W, b, lambda x, d: shift(x, d, 0), [0, 4])
    assert acc[0] == pytest.approx(np.mean(np.argmax(logits(x, W, b), axis=1) == y))
    assert acc[1] < acc[0]


# --- contributions and the prediction explorer --------------------------------

def test_contributions_sum_to_the_logit(subset):
    x, y, W, b = subset
    l = logits(x[0], W, b)
    for j in range(10):
        assert contributions(x[0], W, j).sum() + b[j] == pytest.approx(l[j], abs=1e-4)


def test_explorer_update_is_consistent(subset):
    x, y, W, b = subset
    r = prediction_explorer_update(3, x, y, W, b)
    assert r["kind"] != "error"
    assert r["probs"].sum() == pytest.approx(1.0)
    assert r["predicted"] == int(np.argmax(r["probs"])) == int(np.argmax(logits(x[3], W, b)))
    assert r["label"] == y[3]
    assert r["png"]["probs"][:4] == b"\x89PNG" and r["png"]["contrib"][:4] == b"\x89PNG"
    r8 = prediction_explorer_update(3, x, y, W, b, compare=8, figs=r["figs"])
    assert r8["compare"] == 8 and r8["figs"]["contrib"] is r["figs"]["contrib"]


def test_explorer_update_auto_compare_uses_true_class_on_a_mistake(subset):
    x, y, W, b = subset
    wrong = np.flatnonzero(np.argmax(logits(x, W, b), axis=1) != y)
    r = prediction_explorer_update(int(wrong[0]), x, y, W, b, render=False)
    assert r["correct"] is False and r["compare"] == y[wrong[0]] and r["png"] == {}


@pytest.mark.parametrize("i", [-1, 1000, 10**9, 2.5, "3", None])
def test_explorer_update_bad_index_gives_a_message(subset, i):
    x, y, W, b = subset
    r = prediction_explorer_update(i, x, y, W, b)
    assert r["kind"] == "error" and r["predicted"] is None
    assert "0 to 999" in r["message"]


def test_explorer_update_bad_compare_gives_a_message(subset):
    x, y, W, b = subset
    r = prediction_explorer_update(0, x, y, W, b, compare=10)
    assert r["kind"] == "error" and "0 to 9" in r["message"]


def test_explorer_widget_builds_and_follows_the_index(subset):
    x, y, W, b = subset
    box = prediction_explorer(x, y, W, b)
    assert "mnistlib-explorer" in box._dom_classes
    for part, cls in [(box.index, "index"), (box.compare, "compare"), (box.probs_image, "probs"),
                      (box.contrib_image, "contrib"), (box.status, "status")]:
        assert f"mnistlib-explorer-{cls}" in part._dom_classes
    before = box.contrib_image.value, box.probs_image.value
    box.index.value = 7
    assert box.contrib_image.value != before[0] and box.probs_image.value != before[1]
    assert "image 7" in box.status.value and "error" not in box.status.value.lower()
    probs = box.probs_image.value
    box.compare.value = (box.compare.value + 1) % 10 if box.compare.value >= 0 else 0
    assert box.probs_image.value == probs                # only the contributions change


def test_explorer_index_box_says_which_images(subset):
    x, y, W, b = subset
    assert prediction_explorer(x, y, W, b).index.description == "test image"
    assert prediction_explorer(x, y, W, b, description="validation image").index.description == "validation image"


def test_explorer_next_mistake(subset):
    x, y, W, b = subset
    wrong = np.flatnonzero(np.argmax(logits(x, W, b), axis=1) != y)
    box = prediction_explorer(x, y, W, b, index=0)
    box.next_mistake.click()
    assert box.index.value == wrong[wrong > 0][0]
    box.index.value = int(wrong[-1])
    box.next_mistake.click()
    assert box.index.value == wrong[0]                  # wraps around


def test_explorer_rejects_mismatched_data(subset):
    x, y, W, b = subset
    with pytest.raises(ValueError, match="labels"):
        prediction_explorer(x, y[:10], W, b)


# --- the notebooks' exercise checks: see checks/test_nb08_choosing_honestly.py, test_nb09_error_analysis.py

def test_explorer_status_line_reports_a_bad_index_without_raising(subset):
    x, y, W, b = subset
    box = prediction_explorer(x, y, W, b, index=2)
    picture = box.contrib_image.value
    box.index.max = len(x) + 10       # the box normally forbids this; force an index past the end
    box.index.value = len(x) + 3
    assert "0 to 999" in box.status.value and "#c00" in box.status.value   # shown in red
    assert box.contrib_image.value == picture                               # last good picture stays


def test_explorer_rejects_one_hot_labels(subset):
    x, y, W, b = subset
    with pytest.raises(ValueError, match=r"y \(n,\) labels"):
        prediction_explorer(x, np.eye(10)[y], W, b)


# --- properties over many random cases ----------------------------------------

from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(dx=st.integers(-6, 6), dy=st.integers(-6, 6), seed=st.integers(0, 2**16))
def test_shift_there_and_back_keeps_the_middle(dx, dy, seed):
    x = images(2, seed).reshape(-1, 28, 28)
    back = shift(shift(x, dx, dy), -dx, -dy)
    # Pixels that never left the image come back unchanged.
    np.testing.assert_array_equal(back[:, 6:22, 6:22], x[:, 6:22, 6:22])


@settings(max_examples=40, deadline=None)
@given(degrees=st.floats(-180, 180, allow_nan=False), seed=st.integers(0, 2**16))
def test_rotate_stays_in_range_and_back_rotation_restores_the_centre(degrees, seed):
    x = images(2, seed).reshape(-1, 28, 28)
    out = rotate(x, degrees)
    assert out.min() >= 0 and out.max() <= 1 + 1e-6       # a blend of pixels never leaves [0, 1]
    # A smooth image survives rotating there and back, away from the corners.
    smooth = np.tile(np.linspace(0, 1, 28, dtype=np.float32), (1, 28, 1))
    back = rotate(rotate(smooth, degrees), -degrees)
    rows, cols = np.indices((28, 28))
    disc = (rows - 13.5) ** 2 + (cols - 13.5) ** 2 < 11 ** 2
    np.testing.assert_allclose(back[0][disc], smooth[0][disc], atol=1e-5)


@settings(max_examples=30, deadline=None)
@given(sigma=st.floats(0, 2, allow_nan=False), seed=st.integers(0, 2**16))
def test_noise_in_range_for_any_sigma(sigma, seed):
    out = add_noise(images(2), sigma, seed=seed)
    assert out.min() >= 0 and out.max() <= 1 and out.dtype == np.float32


def test_explorer_pngs_match_a_full_redraw(subset):
    """The explorer redraws only what changes; its PNGs must look like a full draw of the figure."""
    import io

    from PIL import Image

    from mnistlib.plots import fig_to_png
    x, y, W, b = subset
    r = prediction_explorer_update(0, x, y, W, b)
    r = prediction_explorer_update(5, x, y, W, b, compare=2, figs=r["figs"])
    for name in ("probs", "contrib"):
        fast = np.asarray(Image.open(io.BytesIO(r["png"][name])).convert("RGB"), dtype=int)
        full = np.asarray(Image.open(io.BytesIO(fig_to_png(r["figs"][name]))).convert("RGB"), dtype=int)
        assert fast.shape == full.shape
        differ = np.abs(fast - full).max(axis=-1) > 40      # antialiasing where bars meet the axis may differ
        assert differ.mean() < 0.002, f"{name}: {differ.sum()} pixels differ"


def test_explorer_with_a_nan_model_says_so_instead_of_showing_nan_percent(subset):
    x, y, W, b = subset
    broken = np.array(W)
    broken[300, 4] = np.nan
    for build in (lambda: prediction_explorer_update(0, x, y, broken, b),
                  lambda: prediction_explorer(x, y, broken, b)):
        with pytest.raises(ValueError, match="finite.*did training diverge"):
            build()
