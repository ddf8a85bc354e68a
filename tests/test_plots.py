"""Plots build, redraw in place, and reject wrong shapes."""

import numpy as np
import pytest

from mnistlib import plots


def test_weight_heatmaps_redraw_in_place():
    W = np.random.default_rng(0).normal(size=(784, 10))
    fig = plots.weight_heatmaps(W)
    first = plots.fig_to_png(fig)
    again = plots.weight_heatmaps(-W, fig=fig)
    assert again is fig and len(fig.axes) == 11              # ten maps and their colourbar
    np.testing.assert_allclose(fig.axes[3].images[0].get_array(), -W[:, 3].reshape(28, 28))
    assert plots.fig_to_png(fig) != first
    with pytest.raises(ValueError, match=r"\(784, 10\)"):
        plots.weight_heatmaps(W.T)


def test_weight_heatmaps_share_one_symmetric_scale_or_say_each_scale():
    W = np.zeros((784, 10))
    W[:, 0], W[:, 1] = 0.5, -0.01                              # a strong map and a weak one
    fig = plots.weight_heatmaps(W)
    assert all(ax.images[0].get_clim() == (-0.5, 0.5) for ax in fig.axes[:10])
    own = plots.weight_heatmaps(W, shared_scale=False)
    assert own.axes[1].images[0].get_clim() == (-0.01, 0.01) and len(own.axes) == 10
    assert own.axes[1].get_title() == "class 1: ±0.01"


def test_digit_grid_and_labels():
    x = np.random.default_rng(1).random((12, 784))
    fig = plots.digit_grid(x, np.arange(12) % 10, ncols=6)
    assert len(fig.axes) == 12 and fig.axes[11].get_title() == "1"
    with pytest.raises(ValueError, match="784"):
        plots.digit_grid(np.zeros((3, 100)))


def test_probability_bars_highlight_the_prediction():
    p = np.full(10, 0.05)
    p[7] = 0.55
    fig = plots.probability_bars(p, true=3)
    ax = fig.axes[0]
    assert [round(b.get_height(), 2) for b in ax.patches][7] == 0.55
    assert "7" in ax.get_title()
    plots.probability_bars(np.roll(p, 1), fig=fig)
    assert "8" in ax.get_title()
    with pytest.raises(ValueError, match="10 probabilities"):
        plots.probability_bars(np.ones(9) / 9)


def test_loss_curve_replaces_its_line():
    fig = plots.loss_curve([1, 2, 3], [3.0, 2.0, 1.0])
    plots.loss_curve([1, 2], [0.5, 0.25], fig=fig)
    x, y = fig.axes[0].lines[0].get_data()
    assert list(y) == [0.5, 0.25] and len(fig.axes[0].lines) == 1


def test_blit_redraws_only_what_changes_and_matches_a_full_draw():
    import io

    from PIL import Image
    fig = plots.probability_bars(np.full(10, 0.1))
    ax = fig.axes[0]
    blit = plots.Blit(fig, [*ax.patches, ax.title])
    p = np.linspace(0, 1, 10)
    plots.probability_bars(p / p.sum(), fig=fig)
    fast = np.asarray(Image.open(io.BytesIO(blit.png())).convert("RGB"), dtype=int)
    full = np.asarray(Image.open(io.BytesIO(plots.png_bytes(fig))).convert("RGB"), dtype=int)
    assert fast.shape == full.shape
    assert np.mean(np.abs(fast - full).sum(axis=2) > 30) < 0.005


def test_heatmap_tiles_png():
    png = plots.heatmaps_png(np.random.default_rng(0).normal(size=(784, 10)))
    assert png.startswith(b"\x89PNG")
    assert plots.heatmaps_png(np.zeros((784, 10))).startswith(b"\x89PNG")   # no division by zero
    with pytest.raises(ValueError, match=r"\(784, 10\)"):
        plots.heatmaps_png(np.zeros((10, 784)))
