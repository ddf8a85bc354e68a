"""The widgets: time from a changed control value to the new picture (row 5 of the README).

Each widget is timed through the plain function behind it, no browser. A
widget that fails (one being rewritten, say) gives a "failed" row and the run
goes on.
"""

import statistics
import time

import numpy as np
from mnistlib import decay_widget, draw_widget, explorer_widget, widgets
from mnistlib.train import train

from harness import fmt_s
from training import SOFTMAX

LIMIT = 0.150                     # seconds: a slider that answers slower feels stuck


def timed_row(table, name, fn, repeats):
    """Median and slowest of ``repeats`` calls of fn(), after one call that builds the figures."""
    try:
        fn()
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
    except Exception as e:                      # a widget being rewritten must not stop the run
        table.add(f"widget: {name}", f"failed: {type(e).__name__}: {e}", "< 150 ms", False)
        return
    add_row(table, name, times)


def add_row(table, name, times):
    med, worst = statistics.median(times), max(times)
    table.add(f"widget: {name}", f"median {fmt_s(med)}, slowest {fmt_s(worst)} of {len(times)}",
              "< 150 ms", med < LIMIT)


def rows(table, d, repeats):
    """Every widget's row; those that show a model get softmax regression trained one epoch on 3000 images."""
    params = train(d.x_train[:3000], d.y_train[:3000], model=SOFTMAX, lr=0.5, epochs=1, batch_size=50,
                   evaluate=False).params
    W, b = params["W"], params["b"]
    lr_explorer_row(table, d, repeats)
    live_heatmaps_row(table, d, repeats)
    batch_size_row(table, d, repeats)
    temperature_row(table, d, W, repeats)
    prediction_explorer_row(table, d, W, b, repeats)
    decay_row(table, d, repeats)
    draw_row(table, d, W, b, repeats)


def lr_explorer_row(table, d, repeats):
    figs = {}
    lrs = iter([0.05, 0.2, 0.5, 1.0, 2.0, 5.0] * 100)

    def lr_change():
        figs.update(widgets.lr_explorer_update(next(lrs), d.x_train, d.y_train, d.x_test, d.y_test,
                                               figs=figs or None))
    timed_row(table, "learning-rate explorer, slider change -> retrain (3000 images, 2 epochs) + redraw",
              lr_change, repeats)


def live_heatmaps_row(table, d, repeats):
    """One frame of the live heatmaps as live_training draws it: one update, heatmaps_png(W) and the loss plot.

    A frame after every update of batch 50; the time from one frame to the next.
    """
    name = "live heatmaps, one frame: heatmaps_png(W) + loss plot"
    sent = []
    n = 50 * (repeats + 1)          # the first frame draws the plot's background: not counted
    try:
        widgets.live_training(d.x_train[:n], d.y_train[:n], on_frame=lambda f: sent.append(
            (time.perf_counter(), f["done"])), lr=0.5, epochs=1, batch_size=50, every=1)
    except Exception as e:
        table.add(f"widget: {name}", f"failed: {type(e).__name__}: {e}", "< 150 ms", False)
        return
    frames = [t for t, done in sent if not done]
    add_row(table, name, np.diff(frames).tolist())


def batch_size_row(table, d, repeats):
    plot = [None]
    sizes = iter([1, 10, 50, 100, 1000] * 100)

    def batch_change():
        plot[0] = widgets.batch_size_explorer_update(next(sizes), d.x_train, d.y_train, d.x_test, d.y_test,
                                                     plot=plot[0])["plot"]
    timed_row(table, "batch-size explorer, slider change (1 to 1000)", batch_change, repeats)


def temperature_row(table, d, W, repeats):
    l = d.x_test[0] @ W
    fig = [None]
    temps = iter(np.geomspace(0.05, 20, 7).tolist() * 100)

    def temperature_change():
        fig[0] = widgets.softmax_temperature_update(l, next(temps), fig=fig[0])[1]
    timed_row(table, "softmax temperature, slider change", temperature_change, repeats)


def prediction_explorer_row(table, d, W, b, repeats):
    figs = [None]
    images = iter(range(1000))

    def prediction_change():
        figs[0] = explorer_widget.prediction_explorer_update(next(images), d.x_test, d.y_test, W, b,
                                                             figs=figs[0])["figs"]
    timed_row(table, "prediction explorer, next image", prediction_change, repeats)


def decay_row(table, d, repeats):
    lams = iter(list(decay_widget.DECAY_VALUES) * 100)
    x_val, y_val = d.x_train[-2000:], d.y_train[-2000:]        # held out from the 1000 it trains on

    def decay_change():
        decay_widget.weight_decay_update(next(lams), d.x_train, d.y_train, x_val, y_val)
    timed_row(table, "weight-decay explorer, slider change -> retrain (1000 images, 30 epochs) + redraw",
              decay_change, repeats)


def draw_row(table, d, W, b, repeats):
    figs = [None]
    canvas = np.kron(d.x_test[0].reshape(28, 28), np.ones((10, 10)))      # a 280x280 drawing

    def drawn():
        figs[0] = draw_widget.draw_update(canvas, W, b, figs=figs[0]).get("figs")
    timed_row(table, "draw a digit, stroke finished -> prediction", drawn, repeats)
