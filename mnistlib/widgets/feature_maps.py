"""The filter and feature-map viewer of notebook 12: what each layer of the CNN sees.

``activations`` is what every stage of ``mnistlib.cnn`` makes of the images
(``cnn.feature_maps``, with a check of the input); ``tiles_png`` paints small
arrays (kernels, feature maps) as a grid of enlarged tiles; ``feature_maps_update``
is the pure function behind the viewer and ``feature_map_viewer`` the widget
around it. The conventions every widget follows are in ``mnistlib.widgets``.
"""

import ipywidgets
import numpy as np
from threadpoolctl import threadpool_limits

from .. import cnn
from ..model import softmax
from ..plots import label_font, rgb_png
from .access import Access
from .base import MARKS, IndexStepper, guarded, png_image, show_message, status_line

# The stages of mnistlib.cnn the viewer can show, in order, with their names on screen.
STAGES = {"conv1": "convolution 1, then ReLU", "pool1": "max-pooling 1",
          "conv2": "convolution 2, then ReLU", "pool2": "max-pooling 2"}
TILE = 80            # every feature map is drawn this many pixels wide, whatever its size


def activations(params, X):
    """What every stage of the CNN makes of the images X: (n, 784) -> dict of arrays.

    "conv1": (n, F1, 24, 24) after ReLU, "pool1": (n, F1, 12, 12), "conv2": (n, F2, 8, 8)
    after ReLU, "pool2": (n, F2, 4, 4), for the 5x5 kernels of ``mnistlib.cnn``: its
    ``feature_maps``, the same forward pass as ``cnn.logits`` with every stage kept.
    """
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != 784:
        raise ValueError(f"X must have shape (n, 784), one image per row; got shape {X.shape}")
    return cnn.feature_maps(params, X)


def tiles_png(tiles, *, scale, ncols=None, symmetric=True, vmax=None, titles=None, row_titles=None, gap=6):
    """Small arrays drawn as a grid of enlarged tiles on one colour scale; PNG bytes.

    tiles: (k, h, w), laid out ``ncols`` to a row (default: all in one row), or
    (rows, cols, h, w) for a grid as it stands (a layer's kernels: one row per
    kernel, one column per input channel). Each entry becomes a scale x scale square.
    symmetric=True: red positive, blue negative, white 0, from -vmax to +vmax
    (weights); False: white 0 to black vmax (activations, which ReLU keeps >= 0).
    vmax defaults to the largest |value|. titles: one per tile, above it;
    row_titles: one per row, on the left.
    """
    from matplotlib import colormaps
    from PIL import Image, ImageDraw

    tiles = np.asarray(tiles, dtype=np.float64)
    if tiles.ndim == 3:
        k = len(tiles)
        ncols = k if ncols is None else ncols
        nrows = -(-k // ncols)
        grid = np.full((nrows * ncols,) + tiles.shape[1:], np.nan)
        grid[:k] = tiles
        tiles = grid.reshape(nrows, ncols, *tiles.shape[1:])
    if tiles.ndim != 4:
        raise ValueError(f"tiles must have shape (k, h, w) or (rows, cols, h, w); got shape {tiles.shape}")
    nrows, ncols, h, w = tiles.shape
    if vmax is None:
        vmax = float(np.nanmax(np.abs(tiles))) if np.isfinite(tiles).any() else 1.0
    vmax = vmax or 1.0
    if symmetric:
        rgb = colormaps["RdBu_r"]((np.clip(tiles / vmax, -1, 1) + 1) / 2, bytes=True)[..., :3]
    else:
        rgb = colormaps["Greys"](np.clip(tiles / vmax, 0, 1), bytes=True)[..., :3]
    top = 16 if titles is not None else 0
    left = 30 if row_titles is not None else 0
    th, tw = h * scale, w * scale
    canvas = np.full((nrows * (th + top + gap), left + ncols * (tw + gap), 3), 255, np.uint8)
    corners = {}
    for r in range(nrows):
        for c in range(ncols):
            if np.isnan(tiles[r, c]).all():
                continue                                          # an empty place at the end of the grid
            y0, x0 = r * (th + top + gap) + top + gap // 2, left + c * (tw + gap) + gap // 2
            canvas[y0:y0 + th, x0:x0 + tw] = rgb[r, c].repeat(scale, 0).repeat(scale, 1)
            corners[r * ncols + c] = (x0, y0)
    img = Image.fromarray(canvas)
    pen = ImageDraw.Draw(img)
    for x0, y0 in corners.values():            # a thin frame: white tiles on a white page stay visible
        pen.rectangle((x0 - 1, y0 - 1, x0 + tw, y0 + th), outline=(190, 190, 190))
    for n, title in enumerate(titles or []):
        if n in corners:
            x0, y0 = corners[n]
            pen.text((x0 + tw // 2, y0 - top // 2), str(title), fill=(0, 0, 0), font=label_font(12), anchor="mm")
    for r, title in enumerate(row_titles or []):
        pen.text((left // 2, r * (th + top + gap) + top + gap // 2 + th // 2), str(title), fill=(0, 0, 0),
                 font=label_font(12), anchor="mm")
    return rgb_png(np.asarray(img))


def _kernels_png(params, stage):
    """The kernels that made ``stage``: conv 1's (one row) or conv 2's (a row per kernel)."""
    if stage in ("conv1", "pool1"):
        K = params["K1"]                                          # (F1, 1, k, k)
        return tiles_png(K[:, 0], scale=10, ncols=8, titles=range(len(K)))
    K = params["K2"]                                              # (F2, F1, k, k)
    return tiles_png(K, scale=4, gap=3, row_titles=range(len(K)))


def feature_maps_update(params, X, y, i, stage="conv1"):
    """Everything the viewer shows for image i at one stage of the CNN, as plain values.

    params: the CNN's parameters (``mnistlib.cnn``); X: (n, 784) images, y: (n,) labels.
    stage: one of STAGES. Returns dict(index, label, predicted, probs, stage,
    maps: (F, s, s) the stage's feature maps of image i, png={"digit", "kernels",
    "maps"}: PNG bytes, message, kind, alt: the same three pictures in words). A bad
    index or stage gives a message with kind "error" (and no pictures), never an exception.
    """
    n = len(X)
    out = dict(index=i, label=None, predicted=None, probs=None, stage=stage, maps=None, png=None, kind="error",
               alt=None)
    if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= i < n:
        out["message"] = f"image index must be a whole number from 0 to {n - 1}; got {i!r}"
        return out
    if stage not in STAGES:
        out["message"] = f"stage must be one of {', '.join(STAGES)}; got {stage!r}"
        return out
    i = int(i)
    # One image's products are tiny: handing them to a second BLAS thread costs far more
    # than it saves (some 20 ms per product on a busy machine), as for train's small batches.
    with threadpool_limits(1, user_api="blas"):
        a = activations(params, X[i:i + 1])
        p = softmax(cnn.logits(params, X[i:i + 1])[0].astype(np.float64))
    pred, label = int(np.argmax(p)), int(y[i])
    maps = a[stage][0]
    F, side = maps.shape[:2]
    top = float(maps.max())
    zeros = float(np.mean(maps == 0))
    png = {"digit": tiles_png(X[i].reshape(1, 28, 28), scale=4, symmetric=False, vmax=1.0),
           "kernels": _kernels_png(params, stage),
           "maps": tiles_png(maps, scale=max(1, TILE // side), ncols=8, symmetric=False,
                             vmax=top or 1.0, titles=range(F))}
    verdict = "right" if pred == label else "wrong"
    K = params["K1"] if stage in ("conv1", "pool1") else params["K2"]
    alt = {"digit": f"Image {i}, a handwritten {label}",
           "kernels": (f"The {K.shape[0]} kernels of convolution {1 if K is params['K1'] else 2}, "
                       f"{K.shape[-2]}x{K.shape[-1]} each" + ("" if K.shape[1] == 1 else f", one row per kernel and "
                                                               f"one column per input channel ({K.shape[1]})")
                       + " (red positive, blue negative)"),
           "maps": (f"The {F} feature maps after {STAGES[stage]} for image {i}, {side}x{side} each, dark where "
                    f"the value is large; largest value {top:.2f}, {zeros:.0%} of the values 0")}
    message = (f"image {i}: label {label}, the network says {pred} (p = {p[pred]:.2f}, {verdict}). "
               f"{STAGES[stage]}: {F} maps of {side} x {side}, largest value {top:.2f}, "
               f"{zeros:.0%} of the values 0")
    out.update(index=i, label=label, predicted=pred, probs=p, maps=maps, png=png, message=message,
               kind="ok" if pred == label else "warn", alt=alt)
    return out


def feature_map_viewer(params, X, y, *, index=0, stage="conv1"):
    """Step through images and the CNN's stages: the kernels, and the feature maps they make.

    params: the CNN's parameters; X: (n, 784) images, y: (n,) labels. Returns the
    widget; ``.index``, ``.stage``, ``.prev``, ``.next``, ``.digit_image``,
    ``.kernels_image``, ``.maps_image`` and ``.status`` are its parts (for tests).
    """
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim != 2 or X.shape[1] != 784 or y.shape != (len(X),) or len(X) == 0:
        raise ValueError(f"X must be (n, 784) images with y (n,) labels; got X {X.shape} and y {y.shape}")
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {', '.join(STAGES)}; got {stage!r}")
    n = len(X)
    first = feature_maps_update(params, X, y, min(max(int(index), 0), n - 1), stage)

    status = status_line("mnistlib-featuremaps-status")
    stepper = IndexStepper(n, first["index"], css="mnistlib-featuremaps", what="image", status=status,
                           description="image", layout=ipywidgets.Layout(width="170px"))
    index_box = stepper.index
    stage_buttons = ipywidgets.ToggleButtons(options=[(label, key) for key, label in STAGES.items()],
                                             value=stage, style={"button_width": "auto"})
    stage_buttons.add_class("mnistlib-featuremaps-stage")
    digit_image = png_image(first["png"]["digit"], "mnistlib-featuremaps-digit")
    kernels_image = png_image(first["png"]["kernels"], "mnistlib-featuremaps-kernels")
    maps_image = png_image(first["png"]["maps"], "mnistlib-featuremaps-maps")
    kernels_title, maps_title = ipywidgets.HTML(), ipywidgets.HTML()
    access = Access(names={"mnistlib-featuremaps-prev": "previous image", "mnistlib-featuremaps-next": "next image"})
    parts = ("digit", "kernels", "maps")

    def titles(stage):
        which = "1" if stage in ("conv1", "pool1") else "2"
        rows = "" if which == "1" else " (a row per kernel, a column per input channel)"
        kernels_title.value = f"<b>kernels of convolution {which}</b>{rows}"
        maps_title.value = f"<b>feature maps: {STAGES[stage]}</b>"

    def show(r):
        if r["kind"] == "error":
            show_message(status, r["message"], "error")
            return
        digit_image.value = r["png"]["digit"]
        kernels_image.value = r["png"]["kernels"]
        maps_image.value = r["png"]["maps"]
        access.alt_all({f"mnistlib-featuremaps-{part}": r["alt"][part] for part in parts})
        titles(r["stage"])
        show_message(status, f"{MARKS[r['kind'] == 'ok']} {r['message']}", r["kind"])

    @guarded(status)
    def redraw(_=None):
        show(feature_maps_update(params, X, y, index_box.value, stage_buttons.value))

    index_box.observe(redraw, names="value")
    stage_buttons.observe(redraw, names="value")
    titles(stage)
    show_message(status, f"{MARKS[first['kind'] == 'ok']} {first['message']}", first["kind"])
    access.alt_all({f"mnistlib-featuremaps-{part}": first["alt"][part] for part in parts})

    wrap = ipywidgets.Layout(flex_flow="row wrap", align_items="flex-start")
    box = ipywidgets.VBox([
        ipywidgets.HBox(stepper.widgets, layout=wrap),
        stage_buttons,
        ipywidgets.HBox([ipywidgets.VBox([ipywidgets.HTML("<b>the image</b>"), digit_image]),
                         ipywidgets.VBox([kernels_title, kernels_image]),
                         ipywidgets.VBox([maps_title, maps_image])], layout=wrap),
        status,
        access,
    ])
    box.add_class("mnistlib-featuremaps")
    box.index, box.stage, box.prev, box.next = index_box, stage_buttons, stepper.prev, stepper.next
    box.digit_image, box.kernels_image, box.maps_image = digit_image, kernels_image, maps_image
    box.status, box.access = status, access
    return box
