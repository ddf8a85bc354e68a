"""The hidden-unit viewer of notebook 11: what one hidden unit of the MLP looks for.

Hidden unit k of ``mnistlib.mlp`` computes h_k = max(0, x W1[:, k] + b1[k]): it
compares the image with its 784 incoming weights, a template, and stays silent
(h_k = 0) unless the match is good enough. Its 10 outgoing weights W2[k, :] are
its votes: h_k W2[k, j] is what it adds to the logit of class j.

``hidden_unit_update`` is the pure function (tests call it); ``hidden_unit_viewer``
is the widget around it. The conventions every widget follows are in
``mnistlib.widgets``.
"""

import ipywidgets
import numpy as np

from .. import mlp
from ..plots import heatmap_tiles_png, label_font, listing, rgb_png
from .access import Access
from .base import IndexStepper, guarded, png_image, show_message, status_line


def _mlp_params(params):
    """W1: (784, H), b1: (H,), W2: (H, 10) from an MLP's params, or a ValueError saying what is wrong."""
    try:
        W1, b1, W2 = (np.asarray(params[k]) for k in ("W1", "b1", "W2"))
    except (KeyError, TypeError):
        raise ValueError("params must be the MLP's dict with W1, b1, W2 and b2 (mnistlib.mlp.init_params, "
                         "or result.params after train(..., model=mlp))") from None
    H = W1.shape[1] if W1.ndim == 2 else None
    if W1.shape != (784, H) or b1.shape != (H,) or W2.shape != (H, 10):
        raise ValueError(f"expected W1 (784, H), b1 (H,), W2 (H, 10); got W1 {W1.shape}, b1 {b1.shape}, "
                         f"W2 {W2.shape}")
    return W1, b1, W2


def hidden_activations(params, X):
    """h = max(0, X W1 + b1) for every image: X: (n, 784) -> h: (n, H). ``mlp.hidden``, with checks."""
    W1, b1, _ = _mlp_params(params)
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != 784:
        raise ValueError(f"X must be images of shape (n, 784); got shape {X.shape}")
    return mlp.hidden({"W1": W1, "b1": b1}, X)


def strongest_unit(params, h, j):
    """The hidden unit that adds most to the logit of class j, on average over the images.

    h: (n, H) hidden activations. The mean contribution of unit k is mean(h_k) W2[k, j].
    """
    _, _, W2 = _mlp_params(params)
    return int(np.argmax(h.mean(axis=0) * W2[:, j]))


def _digit_tiles_png(images, titles, *, ncols=6, scale=2):
    """Grey digits (ink dark, as in ``plots.digit_grid``) in a grid, a title above each, as PNG bytes."""
    from PIL import Image, ImageDraw

    side, gap, top = 28 * scale, 10, 16
    nrows = -(-len(images) // ncols)
    canvas = np.full((nrows * (side + top + gap), ncols * (side + gap), 3), 255, np.uint8)
    corners = []
    for n, img in enumerate(images):
        r, c = divmod(n, ncols)
        y0, x0 = r * (side + top + gap) + top, c * (side + gap) + gap // 2
        grey = (255 * (1 - np.clip(np.asarray(img, dtype=np.float64).reshape(28, 28), 0, 1))).astype(np.uint8)
        canvas[y0:y0 + side, x0:x0 + side] = grey.repeat(scale, 0).repeat(scale, 1)[..., None]
        corners.append((x0, y0))
    picture = Image.fromarray(canvas)
    pen = ImageDraw.Draw(picture)
    for (x0, y0), title in zip(corners, titles):
        pen.text((x0 + side // 2, y0 - top // 2), title, fill=(0, 0, 0), font=label_font(11), anchor="mm")
    return rgb_png(np.asarray(picture))


def _votes_html(votes):
    """The 10 outgoing weights as a row of coloured cells: red votes for a class, blue against."""
    from matplotlib import colormaps

    scale = float(np.abs(votes).max()) or 1.0
    cells = []
    for j, v in enumerate(votes):
        r, g, b, _ = colormaps["RdBu_r"](0.5 + 0.5 * v / scale, bytes=True)
        cells.append(f'<td style="background:rgb({r},{g},{b});padding:2px 6px;text-align:center">'
                     f"<b>{j}</b><br>{v:+.2f}</td>")
    return ("<table style='border-collapse:collapse'><tr><td style='padding-right:8px'>votes W2[k, j]"
            f"</td>{''.join(cells)}</tr></table>")


def hidden_unit_update(unit, params, X, y=None, *, h=None, n_top=12, render=True):
    """Everything the viewer shows for one hidden unit, as plain values.

    unit: 0..H-1. params: the MLP's {"W1": (784, H), "b1": (H,), "W2": (H, 10), ...}.
    X: (n, 784) images to search for the ones that excite the unit most; y: (n,) their
    labels, or None. h: ``hidden_activations(params, x)`` if already computed.
    render: False skips the pictures (png is then None).
    Returns dict(unit, weights (784,), bias, votes (10,), top (n_top,) indices into x,
    most exciting first, top_h (their h), active (fraction of X with h > 0),
    png={"weights", "top"}, votes_html, message, kind, alt={"weights", "top"}: the pictures in words).
    A bad unit number gives kind "error" and a message, never an exception.
    """
    W1, b1, W2 = _mlp_params(params)
    H = W1.shape[1]
    out = dict(unit=unit, weights=None, bias=None, votes=None, top=None, top_h=None, active=None,
               png=None, votes_html="", kind="error", alt=None)
    if isinstance(unit, bool) or not isinstance(unit, (int, np.integer)) or not 0 <= unit < H:
        out["message"] = f"the hidden unit must be a whole number from 0 to {H - 1}; got {unit!r}"
        return out
    k = int(unit)
    h_k = (hidden_activations(params, X) if h is None else np.asarray(h))[:, k]
    top = np.argsort(-h_k, kind="stable")[:n_top]       # stable: a dead unit shows the first images
    votes = W2[k].astype(np.float64)
    active = float(np.mean(h_k > 0))
    best, worst = int(np.argmax(votes)), int(np.argmin(votes))
    if active == 0:
        message = (f"unit {k} never fires on these {len(h_k)} images (h = 0 for all): a dead unit. "
                   "Its weights get no gradient, so it stays dead.")
        kind = "warn"
    else:
        message = (f"unit {k}: fires (h > 0) on {active:.0%} of the {len(h_k)} images; "
                   f"votes most for {best} ({votes[best]:+.2f}), most against {worst} ({votes[worst]:+.2f})")
        kind = "ok"
    labels = "" if y is None else f", labelled {listing([int(y[i]) for i in top], most=n_top)}"
    alt = {"weights": (f"The 784 incoming weights of hidden unit {k} as a 28x28 heatmap (red positive, blue "
                       f"negative), up to ±{np.abs(W1[:, k]).max():.2g}"),
           "top": (f"The {len(top)} images that excite unit {k} most, most exciting first{labels}; "
                   f"its largest activation h is {h_k[top[0]]:.1f}" if len(top) else "No images")}
    out.update(unit=k, weights=W1[:, k], bias=float(b1[k]), votes=votes, top=top, top_h=h_k[top],
               active=active, votes_html=_votes_html(votes), message=message, kind=kind, alt=alt)
    if render:
        labels = [("" if y is None else f"{int(y[i])}: ") + f"h={h_k[i]:.1f}" for i in top]
        out["png"] = {"weights": heatmap_tiles_png([(W1[:, k], f"unit {k}")], ncols=1, scale=6),
                      "top": _digit_tiles_png(np.asarray(X)[top], labels)}
    return out


def hidden_unit_viewer(params, X, y=None, *, unit=0, n_top=12, h=None):
    """Pick a hidden unit; see its 784 incoming weights, its 10 votes and the images that excite it most.

    params: the MLP's dict; X: (n, 784) images (e.g. the validation set), y: (n,) labels.
    Controls: the unit's number, ◀ ▶, and "strongest for": jump to the unit that adds
    most to a class's logit on average. Returns the widget; ``.unit``, ``.strongest``,
    ``.prev``, ``.next``, ``.weights_image``, ``.top_image``, ``.votes`` and ``.status``
    are its parts (for tests). h: ``hidden_activations(params, X)`` if already computed
    (on the full validation set it is 10 MB: computed once, never twice).
    """
    if h is None:
        h = hidden_activations(params, X)          # once: every redraw reuses it
    else:
        h = np.asarray(h)
        expected = (len(X), _mlp_params(params)[0].shape[1])
        if h.shape != expected:
            raise ValueError(f"h must be hidden_activations(params, X), of shape {expected}; got shape {h.shape}")
    H = h.shape[1]
    status = status_line("mnistlib-hidden-status")
    strongest = ipywidgets.Dropdown(options=[("—", -1)] + [(str(j), j) for j in range(10)], value=-1,
                                    description="strongest for class", style={"description_width": "initial"},
                                    layout=ipywidgets.Layout(width="200px"))
    strongest.add_class("mnistlib-hidden-class")

    def leave_class():          # after a step, the class chosen no longer says which unit is shown
        strongest.value = -1

    stepper = IndexStepper(H, unit, css="mnistlib-hidden", index_css="mnistlib-hidden-unit", what="unit",
                           status=status, on_step=leave_class, description="hidden unit",
                           continuous_update=False)
    unit_box = stepper.index
    votes = ipywidgets.HTML()
    votes.add_class("mnistlib-hidden-votes")

    first = hidden_unit_update(unit_box.value, params, X, y, h=h, n_top=n_top)
    weights_image = png_image(first["png"]["weights"], "mnistlib-hidden-weights")
    top_image = png_image(first["png"]["top"], "mnistlib-hidden-top")

    note = {"text": ""}        # what a jump to the strongest unit adds to the status line
    access = Access(names={"mnistlib-hidden-prev": "previous hidden unit", "mnistlib-hidden-next": "next hidden unit"},
                    alts={"mnistlib-hidden-weights": first["alt"]["weights"], "mnistlib-hidden-top": first["alt"]["top"]})

    def show(r):
        if r["kind"] == "error":
            show_message(status, r["message"], "error")
            return
        weights_image.value = r["png"]["weights"]
        top_image.value = r["png"]["top"]
        access.alt_all({"mnistlib-hidden-weights": r["alt"]["weights"], "mnistlib-hidden-top": r["alt"]["top"]})
        votes.value = r["votes_html"]
        show_message(status, note["text"] + r["message"], r["kind"])

    @guarded(status)
    def redraw(change=None):
        show(hidden_unit_update(unit_box.value, params, X, y, h=h, n_top=n_top))
        note["text"] = ""

    @guarded(status)
    def jump(change):
        if change["new"] == -1:
            return
        k = strongest_unit(params, h, change["new"])
        note["text"] = f"strongest for class {change['new']}: "
        if k == unit_box.value:
            redraw()             # the same value again would not trigger the observer
        else:
            unit_box.value = k

    unit_box.observe(redraw, names="value")
    strongest.observe(jump, names="value")
    votes.value = first["votes_html"]
    show_message(status, first["message"], first["kind"])

    wrap = ipywidgets.Layout(flex_flow="row wrap", align_items="center")
    box = ipywidgets.VBox([
        ipywidgets.HBox([*stepper.widgets, strongest], layout=wrap),
        ipywidgets.HBox([weights_image, top_image], layout=wrap),
        votes,
        status,
        access,
    ])
    box.add_class("mnistlib-hidden")
    box.unit, box.strongest, box.prev, box.next = unit_box, strongest, stepper.prev, stepper.next
    box.weights_image, box.top_image, box.votes, box.status = weights_image, top_image, votes, status
    box.access = access
    return box
