"""From a drawing to an MNIST input: the preprocessing MNIST itself was made with.

LeCun, Cortes and Burges describe how the MNIST images were made from
black-and-white scans of handwritten digits:

1. the digit was size-normalised to fit a 20x20 box, keeping its aspect ratio;
   the anti-aliasing of that step is what gives MNIST its grey edge pixels;
2. it was then placed in a 28x28 frame so that its centre of mass sits at the
   centre of the frame (in the data, the mean centre of mass is row 14,
   column 14, within half a pixel for every digit).

A digit drawn on a large canvas must go through the same steps, or the network
sees something unlike anything it was trained on (a digit in one corner, or
filling the frame edge to edge). ``preprocess`` does them, with numpy only:

    canvas (H, W) --crop to the ink--> (h, w) --area-average into 20x20 box-->
    (h', w'), longer side 20 --shift centre of mass to (14, 14)--> (28, 28) --> (784,)

The other direction, ``strokes_from_image``, turns a 28x28 test digit back into
a large "drawn" canvas (scaled and moved at random), so the preprocessing can be
tested on digits whose right answer is known. ``render_strokes`` draws polylines
with a round brush, as a canvas widget does.
"""


import numpy as np
from matplotlib.figure import Figure

from .plots import described, heatmap_tiles_png, rgb_png

BOX = 20          # the longer side of the digit after size normalisation
FRAME = 28        # the MNIST image is FRAME x FRAME
CENTRE = (14.0, 14.0)  # where MNIST puts the centre of mass (row, column)
INK_LEVEL = 0.1   # pixels fainter than this do not count for the bounding box


# --- input --------------------------------------------------------------------

def as_ink(canvas_pixels):
    """Canvas pixels as ink intensity: (H, W) float32 in [0, 1], 1 = full ink.

    Accepts
    - (H, W) ink intensity: floats in [0, 1], or uint8 0..255;
    - (H, W, 4) RGBA uint8 (what a browser canvas holds): ink = alpha * darkness,
      so black strokes on a transparent canvas and on an opaque white canvas
      both work (darkness = 1 - mean(R, G, B) / 255);
    - (H, W, 3) RGB uint8 on a white background: ink = darkness.
    """
    a = np.asarray(canvas_pixels)
    if a.ndim == 3 and a.shape[-1] in (3, 4):
        if a.dtype != np.uint8:
            raise ValueError(f"RGB(A) canvas pixels must be uint8; got dtype {a.dtype}")
        rgb = a[..., :3].astype(np.float32) / 255
        ink = 1 - rgb.mean(axis=-1)
        if a.shape[-1] == 4:
            ink = ink * (a[..., 3].astype(np.float32) / 255)
    elif a.ndim == 2:
        if a.dtype == np.uint8:
            ink = a.astype(np.float32) / 255
        elif np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.bool_):
            ink = a.astype(np.float32)
        else:
            raise ValueError(f"canvas pixels must be floats in [0, 1] or uint8; got dtype {a.dtype}")
    else:
        hint = " (a flattened image? pass it as a 2D array, e.g. x.reshape(28, 28))" if a.ndim == 1 else ""
        raise ValueError(f"canvas pixels must have shape (H, W), (H, W, 3) or (H, W, 4); got shape {a.shape}{hint}")
    if ink.shape[0] < 1 or ink.shape[1] < 1:
        raise ValueError(f"the canvas must be at least 1x1 pixel; got shape {a.shape}")
    if not np.all(np.isfinite(ink)):
        raise ValueError("canvas pixels must be finite (found NaN or inf)")
    return np.clip(ink, 0, 1)


def has_ink(canvas_pixels, level=INK_LEVEL):
    """True if any pixel has more ink than ``level`` (False for an empty canvas)."""
    return bool(as_ink(canvas_pixels).max() > level)


# --- the three steps ----------------------------------------------------------

def bounding_box(ink, level=INK_LEVEL):
    """The smallest box holding every pixel with ink > level: (top, bottom, left, right), half-open.

    ink: (H, W). Raises ValueError on an empty canvas.
    """
    ink = np.asarray(ink)
    rows = np.flatnonzero((ink > level).any(axis=1))
    cols = np.flatnonzero((ink > level).any(axis=0))
    if rows.size == 0:
        raise ValueError("the canvas is empty: draw a digit first")
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def _resize_axis(img, n_out, axis):
    """Area-average ``img`` along one axis to ``n_out`` pixels.

    Output pixel i covers input coordinates [i * s, (i + 1) * s), s = n_in / n_out,
    and its value is the mean of the input over that span. The cumulative sum C
    of the input is piecewise linear in the coordinate, so that mean is exactly
    (C((i + 1) * s) - C(i * s)) / s, with C read between its samples by linear
    interpolation. Shrinking, this is anti-aliased; enlarging, it repeats pixels
    (blending the ones that straddle two outputs). No matrix products: fast even
    when the BLAS is busy.
    """
    img = np.moveaxis(img, axis, 0)
    n_in = img.shape[0]
    C = np.concatenate([np.zeros((1,) + img.shape[1:], img.dtype), np.cumsum(img, axis=0)])
    s = n_in / n_out
    edges = np.arange(n_out + 1) * s
    k = np.minimum(np.floor(edges).astype(int), n_in - 1)
    f = (edges - k).astype(img.dtype).reshape((-1,) + (1,) * (img.ndim - 1))
    Ce = C[k] + f * (C[k + 1] - C[k])  # exact where the input is flat (no round-off specks)
    return np.moveaxis(np.diff(Ce, axis=0) / s, 0, axis)


def resize_area(img, shape):
    """img: (h, w) resized to ``shape`` (h', w') by area averaging (each axis in turn)."""
    img = np.asarray(img, dtype=np.float32)
    if img.ndim != 2:
        raise ValueError(f"img must be 2D (h, w); got shape {img.shape}")
    return _resize_axis(_resize_axis(img, shape[0], 0), shape[1], 1)


def fit_box(cropped, box=BOX):
    """Scale the cropped digit so its longer side is ``box`` pixels, keeping the aspect ratio.

    cropped: (h, w) -> (h', w') with max(h', w') == box, values rescaled so the
    darkest pixel is 1 (every MNIST digit has full-ink pixels; a thin brush
    would otherwise give a faint digit).
    """
    h, w = cropped.shape
    scale = box / max(h, w)
    shape = (max(1, round(h * scale)), max(1, round(w * scale)))
    out = resize_area(cropped, shape)
    top = out.max()
    return np.clip(out / top, 0, 1) if top > 0 else out


def center_of_mass(img):
    """(row, column) of the ink's centre of mass: sum_i i * img_i / sum_i img_i per axis."""
    img = np.asarray(img, dtype=np.float64)
    total = img.sum()
    if total <= 0:
        raise ValueError("the image has no ink, so it has no centre of mass")
    rows = np.arange(img.shape[0])
    cols = np.arange(img.shape[1])
    return float(img.sum(axis=1) @ rows / total), float(img.sum(axis=0) @ cols / total)


def center_by_mass(patch, size=FRAME, centre=CENTRE):
    """Paste ``patch`` (h, w) into a (size, size) frame so its centre of mass lands on ``centre``.

    The shift is rounded to whole pixels, as in MNIST. If that would push the
    patch past an edge (only for a very lopsided digit) it is moved back inside.
    """
    patch = np.asarray(patch, dtype=np.float32)
    h, w = patch.shape
    if h > size or w > size:
        raise ValueError(f"patch {patch.shape} does not fit in a {size}x{size} frame")
    cy, cx = center_of_mass(patch)
    top = min(max(int(round(centre[0] - cy)), 0), size - h)
    left = min(max(int(round(centre[1] - cx)), 0), size - w)
    frame = np.zeros((size, size), dtype=np.float32)
    frame[top:top + h, left:left + w] = patch
    return frame


def preprocess_steps(canvas_pixels):
    """Every intermediate image of ``preprocess``, for pictures: a dict with
    ink (H, W), box (top, bottom, left, right), cropped (h, w), scaled (h', w'),
    image (28, 28), x (784,) float32.
    """
    ink = as_ink(canvas_pixels)
    box = bounding_box(ink)
    top, bottom, left, right = box
    cropped = ink[top:bottom, left:right]
    scaled = fit_box(cropped)
    image = center_by_mass(scaled)
    return {"ink": ink, "box": box, "cropped": cropped, "scaled": scaled,
            "image": image, "x": image.reshape(-1).astype(np.float32)}


def preprocess(canvas_pixels):
    """A drawing as an MNIST input: (784,) float32 in [0, 1].

    canvas_pixels: (H, W) ink intensity, or RGBA / RGB uint8 (see ``as_ink``).
    Crops to the ink, fits it into a 20x20 box (aspect ratio kept, area
    averaged), centres it by centre of mass in a 28x28 frame.
    Raises ValueError if the canvas is empty.
    """
    return preprocess_steps(canvas_pixels)["x"]


# --- drawing ------------------------------------------------------------------

def _stamp_segment(ink, p0, p1, radius):
    """Ink every pixel within ``radius`` of the segment p0-p1 (x, y in canvas pixels).

    Coverage falls from 1 to 0 over the last pixel of the radius, so edges are
    anti-aliased like a browser's round brush.
    """
    H, W = ink.shape
    (x0, y0), (x1, y1) = p0, p1
    r = radius + 1
    i0, i1 = max(int(min(y0, y1) - r), 0), min(int(max(y0, y1) + r) + 1, H)
    j0, j1 = max(int(min(x0, x1) - r), 0), min(int(max(x0, x1) + r) + 1, W)
    if i0 >= i1 or j0 >= j1:
        return
    py = np.arange(i0, i1, dtype=np.float32)[:, None] + 0.5  # pixel centres
    px = np.arange(j0, j1, dtype=np.float32)[None, :] + 0.5
    dx, dy = x1 - x0, y1 - y0
    length2 = dx * dx + dy * dy
    # t: where along the segment the nearest point lies (0 = p0, 1 = p1)
    t = 0.0 if length2 == 0 else np.clip(((px - x0) * dx + (py - y0) * dy) / length2, 0, 1)
    d = np.hypot(px - (x0 + t * dx), py - (y0 + t * dy))
    cover = np.clip(radius + 0.5 - d, 0, 1)
    np.maximum(ink[i0:i1, j0:j1], cover, out=ink[i0:i1, j0:j1])


def render_strokes(strokes, size=280, brush=18, ink=None):
    """Draw polylines with a round brush: a (size, size) float32 ink array in [0, 1].

    strokes: a list of strokes, each a sequence of (x, y) points in canvas pixels
    (x to the right, y down, as in a browser canvas); a one-point stroke is a dot.
    brush: the brush diameter in pixels. ink: an existing array to draw onto.
    """
    if ink is None:
        ink = np.zeros((size, size), dtype=np.float32)
    if brush <= 0:
        raise ValueError(f"brush must be a positive diameter in pixels; got {brush}")
    for stroke in strokes:
        pts = np.asarray(stroke, dtype=np.float64).reshape(-1, 2)
        if not np.isfinite(pts).all():
            x, y = pts[~np.isfinite(pts).all(axis=1)][0].tolist()
            raise ValueError("stroke points must be finite (x, y) positions in canvas pixels; "
                             f"got ({x}, {y})")
        if len(pts) == 1:
            pts = np.vstack([pts, pts])
        for p0, p1 in zip(pts[:-1], pts[1:]):
            _stamp_segment(ink, p0, p1, brush / 2)
    return ink


def _bilinear_axis(img, n_out, axis):
    """Linear interpolation between pixel centres along one axis, to ``n_out`` pixels."""
    img = np.moveaxis(img, axis, 0)
    n_in = img.shape[0]
    src = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
    k0 = np.floor(src).astype(int)
    k1 = np.minimum(k0 + 1, n_in - 1)
    f = (src - k0).reshape((-1,) + (1,) * (img.ndim - 1))
    return np.moveaxis(img[k0] * (1 - f) + img[k1] * f, 0, axis)


def strokes_from_image(x28, size=280, *, scale=None, offset=None, rng=None, level=0.5):
    """A 28x28 digit redrawn on a (size, size) canvas, as if someone had drawn it there.

    The digit is enlarged ``scale`` times with bilinear interpolation and
    thresholded at ``level`` (a pen leaves ink or not), then placed at ``offset``
    (row, column of its 28x28 frame's top-left corner). Unless given, scale is
    drawn from [4, size / 28] and the offset uniformly from where it fits, with
    ``rng`` (a numpy Generator, or a seed). x28: (784,) or (28, 28) in [0, 1].
    Returns (size, size) float32 in {0, 1}.
    """
    x = np.asarray(x28, dtype=np.float64)
    if x.shape == (784,):
        x = x.reshape(28, 28)
    if x.shape != (28, 28):
        raise ValueError(f"x28 must have shape (784,) or (28, 28); got shape {x.shape}")
    rng = np.random.default_rng(rng)
    if scale is None:
        scale = rng.uniform(4, size / 28)
    n = int(round(28 * scale))
    if n > size:
        raise ValueError(f"a digit enlarged {scale:.2f} times ({n} px) does not fit a {size} px canvas")
    big = _bilinear_axis(_bilinear_axis(x, n, 0), n, 1) > level
    if offset is None:
        offset = rng.integers(0, size - n + 1, size=2)
    top, left = int(offset[0]), int(offset[1])
    if not (0 <= top <= size - n and 0 <= left <= size - n):
        raise ValueError(f"offset {tuple(offset)} puts the {n} px digit outside the {size} px canvas")
    canvas = np.zeros((size, size), dtype=np.float32)
    canvas[top:top + n, left:left + n] = big
    return canvas


# --- digits drawn with a "mouse" ---------------------------------------------
# Polylines shaped like digits on a 280x280 canvas, a brush 18 px wide: the
# strokes a learner might draw. Used to test the whole path from strokes to
# prediction; some shapes are too crude for a linear model, which is a lesson too.

def _arc(cx, cy, rx, ry, start, stop, n=40):
    t = np.radians(np.linspace(start, stop, n))
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def digit_strokes(digit):
    """A list of strokes (each an (n, 2) array of x, y) that draws ``digit`` on a 280x280 canvas."""
    shapes = {
        0: [_arc(140, 140, 60, 95, 0, 360, 72)],
        1: [np.array([[145, 45], [140, 240]])],
        2: [np.vstack([_arc(140, 100, 55, 50, 200, 360 + 30), [[90, 235], [200, 235]]])],
        3: [np.vstack([_arc(135, 95, 50, 48, 200, 450), _arc(135, 190, 58, 48, 270, 520)])],
        4: [np.array([[170, 235], [170, 45], [80, 170], [205, 170]])],
        5: [np.array([[195, 50], [100, 50], [95, 130]]), _arc(140, 180, 58, 55, 220, 500)],
        6: [np.vstack([_arc(170, 130, 80, 90, 240, 180, 20), _arc(140, 185, 55, 50, 180, 540)])],
        7: [np.array([[85, 55], [200, 55], [120, 240]])],
        8: [np.vstack([_arc(140, 95, 45, 48, 90, 450), _arc(140, 190, 55, 48, -90, 270)])],
        9: [np.vstack([_arc(140, 95, 52, 50, 0, 360), [[192, 95], [180, 240]]])],
    }
    if digit not in shapes:
        raise ValueError(f"digit must be an int from 0 to 9; got {digit!r}")
    return shapes[digit]


# --- pictures -----------------------------------------------------------------

# Widgets redraw after every stroke, and a matplotlib redraw costs 40-100 ms per
# figure; these paint the same pictures straight into PNG bytes in a few ms.

def preview_png(x28, *, scale=6):
    """The 28x28 input as the network gets it (ink black on white), as PNG bytes.

    x28: (784,) or (28, 28) in [0, 1]. A grey frame marks the 28x28 border.
    """
    img = np.asarray(x28, dtype=np.float32).reshape(28, 28)
    grey = (255 * (1 - np.clip(img, 0, 1))).astype(np.uint8)
    big = grey.repeat(scale, axis=0).repeat(scale, axis=1)
    big = np.pad(big, 1, constant_values=160)
    return rgb_png(np.stack([big] * 3, axis=-1))


def contributions_png(x, W, j, k, *, scale=5):
    """Why j and not k, as PNG bytes: x*w_j, x*w_k and their difference on one colour scale.

    x: (784,), W: (784, 10). Each title gives the panel's sum, which is that
    class's logit without the bias.
    """
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    W = np.asarray(W, dtype=np.float64)
    if x.shape != (784,) or W.shape != (784, 10):
        raise ValueError(f"expected x: (784,) and W: (784, 10); got {x.shape} and {W.shape}")
    cj, ck = x * W[:, j], x * W[:, k]
    return heatmap_tiles_png([(cj, f"for {j}: sum {cj.sum():+.1f}"),
                              (ck, f"for {k}: sum {ck.sum():+.1f}"),
                              (cj - ck, f"{j} minus {k}: {cj.sum() - ck.sum():+.1f}")],
                             ncols=3, scale=scale, shared_scale=True)


def steps_figure(steps, *, fig=None):
    """The preprocessing step by step (from ``preprocess_steps``): canvas with its
    bounding box, the crop, the 20x20 fit, and the centred 28x28 image."""
    from matplotlib.patches import Rectangle

    top, bottom, left, right = steps["box"]
    if fig is None:
        fig = Figure(figsize=(10, 2.9), layout="constrained")
    axes = fig.subplots(1, 4)
    axes[0].imshow(steps["ink"], cmap="gray_r", vmin=0, vmax=1)
    axes[0].add_patch(Rectangle((left - 0.5, top - 0.5), right - left, bottom - top,
                                fill=False, edgecolor="#d62728", linewidth=1.5))
    axes[0].set_title(f"canvas {steps['ink'].shape[0]}x{steps['ink'].shape[1]}, ink's box", fontsize=9)
    h, w = steps["cropped"].shape
    axes[1].imshow(steps["cropped"], cmap="gray_r", vmin=0, vmax=1)
    axes[1].set_title(f"cropped {h}x{w}", fontsize=9)
    h2, w2 = steps["scaled"].shape
    axes[2].imshow(steps["scaled"], cmap="gray_r", vmin=0, vmax=1)
    axes[2].set_title(f"fit into 20x20: {h2}x{w2}", fontsize=9)
    axes[3].imshow(steps["image"], cmap="gray_r", vmin=0, vmax=1)
    cy, cx = center_of_mass(steps["image"])
    axes[3].plot([cx], [cy], "+", color="#d62728", markersize=12)
    axes[3].set_title(f"28x28, centre of mass ({cy:.1f}, {cx:.1f})", fontsize=9)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    return described(fig, f"Preprocessing a drawing in four steps: the {steps['ink'].shape[0]}x{steps['ink'].shape[1]} "
                          f"canvas with the box around its ink, the crop ({h}x{w}), fitted into 20x20 ({h2}x{w2}), "
                          f"and the 28x28 image with its centre of mass at ({cy:.1f}, {cx:.1f})")
