"""The check of notebook 12's last exercise (``notebooks/12_convolution.ipynb``): the gradient of
the convolution's input, the full convolution of dout with the flipped kernels."""

import numpy as np

from .framework import as_array, compare, exercise, fail, run, seeded_rng
from .watch import imported


def _conv():
    from .. import conv
    return conv


def _input_gradient_reference(dout, K, stride=1):
    n, _, oh, ow = dout.shape
    _, C, kh, kw = K.shape
    x = np.zeros((n, C, (oh - 1) * stride + kh, (ow - 1) * stride + kw), dtype=np.result_type(dout, K))
    return _conv().conv2d_backward_loops(dout, (x, K, stride, 0))[0]


def dilated(dout, stride):
    """dout: (n, F, oh, ow) with stride - 1 zeros between its numbers along rows and columns:
    (n, F, (oh - 1) * stride + 1, (ow - 1) * stride + 1). With stride 1, dout itself."""
    n, F, oh, ow = dout.shape
    spread = np.zeros((n, F, (oh - 1) * stride + 1, (ow - 1) * stride + 1), dtype=dout.dtype)
    spread[:, :, ::stride, ::stride] = dout
    return spread


def input_gradient_shortcuts():
    """What computes dx in one call: mnistlib's backward passes, finite differences, scipy's
    convolutions (which flip and pad for you). A forward convolution is allowed: the exercise is
    what to give it."""
    from .. import gradcheck
    conv = _conv()
    whole = "which does the whole job"
    return {conv.conv2d_backward: whole, conv.conv2d_backward_loops: whole,
            gradcheck.numerical_gradient: "an estimate by finite differences",
            gradcheck.check_layer: "which estimates the gradients by finite differences",
            **{f: "which flips and pads for you" for f in
               imported("scipy.signal", "correlate", "correlate2d", "convolve", "convolve2d", "fftconvolve",
                        "oaconvolve") + imported("scipy.ndimage", "correlate", "convolve")}}


def _input_gradient_cases():
    """(dout, K, stride, call): one image, channel and kernel; a square kernel with C = F = 2; a batch
    with C = 3 channels and F = 4 kernels; then stride 2. Kernels are not square in the first and
    last two (so that rows and columns can't be swapped unseen). C equals F in the second, so that a
    learner who swaps them gets numbers, and the check can name it, before a case where C differs
    from F would stop the function with an error. Stride comes last: every other mistake is named
    on the simpler cases first."""
    rng = seeded_rng()
    one_kernel = np.array([[[[1.0, 0.0], [2.0, -1.0], [0.0, 3.0]]]])
    cases = [(rng.integers(-2, 3, (1, 1, 3, 5)).astype(np.float64), one_kernel, 1),
             (rng.standard_normal((3, 2, 3, 3)), rng.standard_normal((2, 2, 3, 3)), 1),
             (rng.standard_normal((2, 4, 5, 3)), rng.standard_normal((4, 3, 2, 3)), 1),
             (rng.standard_normal((2, 2, 3, 2)), rng.standard_normal((2, 3, 3, 2)), 2)]
    return [(dout, K, stride, f"input_gradient(dout, K{'' if stride == 1 else f', {stride}'}) with dout "
                              f"{dout.shape} and K {K.shape}") for dout, K, stride in cases]


def _gathered(padded, K):
    """The valid convolution of ``padded`` with K flipped, kernels and channels swapped: how the
    learners who gather compute dx, whatever padding they chose."""
    C = K.shape[1]
    return _conv().conv2d_forward_loops(padded, K[:, :, ::-1, ::-1].transpose(1, 0, 2, 3), np.zeros(C))[0]


def _scattered_with_assignment(dout, K):
    """Each window's share assigned to dx (=), not added (+=): the last window wins."""
    kh, kw = K.shape[2:]
    dx = np.zeros(_input_gradient_reference(dout, K).shape)
    for i, f, r, s in np.ndindex(dout.shape):
        dx[i, :, r:r + kh, s:s + kw] = dout[i, f, r, s] * K[f]
    return dx


def _stride_mistakes(dout, K, stride):
    """[(wrong dx, what went wrong, hint, reveal)] for stride: windows sent back 1 pixel apart."""
    dx = _input_gradient_reference(dout, K)
    n, C, h, w = _input_gradient_reference(dout, K, stride).shape
    unstrided = np.pad(dx, ((0, 0), (0, 0), (0, h - dx.shape[2]), (0, w - dx.shape[3])))
    return [(unstrided, f"sends dout back to windows 1 pixel apart: with stride {stride} they start {stride} "
             "pixels apart", "with stride S the window of out[i, f, r, s] starts at row r * S, column s * S: "
             "x[i, c, u, v] is entry (p, q) of a window only where u - p and v - q are multiples of S.",
             "dx[i, :, r * S:r * S + kh, s * S:s * S + kw] += dout[i, f, r, s] * K[f]; or the stride-1 answer "
             "on dout with S - 1 zeros put between its numbers")]


def _input_gradient_mistakes(dout, K, stride):
    """[(wrong dx, what went wrong, hint, reveal)] for the mistakes learners make. With a stride,
    the stride-1 mistakes made on dout spread out (stride - 1 zeros between its numbers), as a
    learner who has the stride right but makes another mistake computes them."""
    if stride > 1:
        return _stride_mistakes(dout, K, stride) + _input_gradient_mistakes(dilated(dout, stride), K, 1)
    ref = _input_gradient_reference
    n, F, oh, ow = dout.shape
    _, C, kh, kw = K.shape
    dx = ref(dout, K)
    met = ("in the forward pass x[i, c, r + p, s + q] met K[f, c, p, q]: so x[i, c, u, v] met it in the "
           "window at (r, s) = (u - p, v - q).")
    flip = "K[:, c, ::-1, ::-1] against the padded dout; K[f] unflipped if you add each window's share back"
    below = ((0, 0), (0, 0), (0, 2 * (kh - 1)), (0, 2 * (kw - 1)))      # all the zeros on one side
    above = ((0, 0), (0, 0), (2 * (kh - 1), 0), (2 * (kw - 1), 0))
    sides = ("the index of dout in your sum, u - p, runs from u - kh + 1 to u: dout is needed kh - 1 rows beyond "
             "each of its edges, above and below, and kw - 1 columns left and right. Pad it equally on both "
             "sides.")
    found = [
        (ref(dout, K[:, :, ::-1, ::-1]), "meets the kernels the wrong way round: flipped where they must not "
         "be, or not flipped where they must", met + " Gathered from the padded dout, the kernel's entries run "
         "against dout's (flipped); sent back window by window, they don't.", flip),
        *[(ref(dout, K_half), "meets the kernels the wrong way round along one axis only: along the rows "
           "but not the columns, or the other way", "rows and columns need the same treatment: gathered from "
           "the padded dout the indices run against each other in both (u - p and v - q), sent back window by "
           "window in neither.", flip) for K_half in (K[:, :, ::-1, :], K[:, :, :, ::-1])],
        (-dx, "has the wrong sign", "the derivative of x * K with respect to x is + K.", None),
        (_scattered_with_assignment(dout, K), "holds only the last window's share at each pixel: each window "
         "overwrote the ones before", "a pixel lies in up to kh x kw windows: add every window's share (+=).",
         "dx[i, :, r:r + kh, s:s + kw] += dout[i, f, r, s] * K[f]"),
        (_gathered(np.pad(dout, below), K), "is shifted: dout was padded on one side only (all its zeros below "
         "and to the right)", sides, None),
        (_gathered(np.pad(dout, above), K), "is shifted: dout was padded on one side only (all its zeros above "
         "and to the left)", sides, None)]
    if kh == kw:
        found += [
            (ref(dout, K.swapaxes(2, 3)), "uses each kernel transposed: entry (q, p) where (p, q) belongs",
             "p counts rows (with u and r), q counts columns (with v and s).", None),
            (ref(dout, K.swapaxes(2, 3)[:, :, ::-1, ::-1]), "transposes the kernels where they must be "
             "flipped: a transpose mirrors a kernel on its diagonal, a flip reverses its rows and its columns",
             "the indices run against each other: u - p and v - q, a reversal of both axes (K[..., ::-1, ::-1]), "
             "not .T.", flip)]
    if C == F:
        found += [
            (ref(dout, K.transpose(1, 0, 2, 3)), "mixes up kernels and channels: K[c, f] where K[f, c] belongs",
             "dx[:, c] collects from every kernel f, each through its channel c: K[f, c].", None),
            (ref(dout, K.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1]), "mixes up kernels and channels (K[c, f] "
             "where K[f, c] belongs), and meets the kernels the wrong way round",
             "dx[:, c] collects from every kernel f through K[f, c]; " + met, flip)]
    if C > 1:
        found.append((np.broadcast_to(dx.sum(axis=1, keepdims=True), dx.shape), "is the same for every "
                      "channel: the channels were added up", "K[f, c] sends dout back to channel c alone.", None))
    if F > 1:
        found += [
            (ref(dout[:, :1], K[:1]), "uses only the first kernel", "every kernel f saw the pixel: add up what "
             "all F of them send back.", None),
            (ref(dout[:, -1:], K[-1:]), "keeps only the last kernel's share: each kernel overwrote the one before",
             "add every kernel's share to dx (+=), or sum over f.", None),
            (dx / F, f"is the mean over the {F} kernels, not their sum", "by the chain rule the shares add up: "
             "a sum over f, with no division.", None)]
    if n > 1:
        found += [
            (dx / n, f"is 1/{n} of the expected: divided by the number of images", "the loss's 1/n is already "
             "in dout; each image's dx is its own, with no division.", None),
            (np.broadcast_to(dx[:1], dx.shape), "gives every image the gradient of the first",
             "image i's dx comes from its own dout[i].", None)]
    return found


def _input_gradient_shape(name, call, got, dout, K, stride):
    """Fail, naming the mistake, if ``got`` has one of the wrong shapes learners give dx."""
    n, F, oh, ow = dout.shape
    _, C, kh, kw = K.shape
    h, w = (oh - 1) * stride + kh, (ow - 1) * stride + kw
    dh, dw = (oh - 1) * stride + 1, (ow - 1) * stride + 1          # dout spread out by the stride
    size = ("x had h rows, and a window of kh rows fits into them at oh = h - kh + 1 positions, the rows "
            "of dout: solve that for h.") if stride == 1 else (
            f"the windows start {stride} rows apart, so the last of dout's oh rows starts at row "
            f"(oh - 1) * {stride} of x, and x is the smallest input for which it fits: solve for h.")
    mistakes = [((n, C, h - 1, w - 1), "is one row and one column short", size),
                ((n, C, h + 1, w + 1), "is one row and one column too large", size + " (Padding dout with kh "
                 "zeros on each side, not kh - 1, gives this.)"),
                ((n, C, oh, ow), "has the shape of dout, not of the layer's input x", "dx is the gradient of x: "
                 "it has x's shape. A row of x lies in up to kh windows, so x has more rows than dout: how many?"),
                ((n, C, dh - kh + 1, dw - kw + 1), "is smaller than dout: dout was not padded, so only the "
                 "windows that lie wholly inside it were counted", "a pixel at the edge of x lies in fewer "
                 "windows than one in the middle: pad dout with zeros so that every window that touched x is "
                 "counted.")]
    if stride > 1:
        mistakes += [((n, C, oh + kh - 1, ow + kw - 1), f"has the size x has with stride 1: with stride {stride} "
                      f"the windows start {stride} pixels apart, and x is larger", size),
                     ((n, C, (oh - 1) * (stride + 1) + kh, (ow - 1) * (stride + 1) + kw), f"is too large: "
                      f"{stride} zeros were put between dout's numbers, where {stride - 1} belong",
                      f"window r starts at row r * {stride}: between two rows of dout lie {stride - 1} rows "
                      "that no window starts at.")]
    if F != C:
        mistakes.append(((n, F, h, w), f"has one channel per kernel ({F}), but x has {C} channels",
                         "dx has the shape of x: one channel per input channel c, collecting from all F kernels."))
    if h != w:
        mistakes.append(((n, C, w, h), "has rows and columns swapped", "dx is shaped like x: h rows (with "
                         "oh and kh), w columns (with ow and kw)."))
    if C != n:
        mistakes.append(((C, n, h, w), "has the channels on the first axis and the images on the second",
                         "dx is shaped like x: (n, C, h, w), images first."))
    # A convolution of (spread out) dout padded with P zeros on each side has dh + 2P - kh + 1 rows: which P?
    rows, cols = ((g - d + k - 1) / 2 for g, d, k in zip(got.shape[2:], (dh, dw), (kh, kw))) if got.ndim == 4 \
        else (-1, -1)
    if got.shape[:2] == (n, C) and min(rows, cols) >= 0 and rows % 1 == cols % 1 == 0:
        mistakes.append(((n, C) + got.shape[2:], f"has the size a convolution gives when dout is padded with "
                         f"{rows:.0f} row(s) and {cols:.0f} column(s) of zeros on each side; the rows need "
                         f"kh - 1 = {kh - 1}, the columns kw - 1 = {kw - 1}",
                         size + " Then pad dout so that every window that touched x is counted."))
    reveal = ("h = oh + kh - 1 and w = ow + kw - 1; pad dout with np.pad(dout, ((0, 0), (0, 0), (kh - 1, kh - 1), "
              "(kw - 1, kw - 1)))") if stride == 1 else ("h = (oh - 1) * S + kh and w = (ow - 1) * S + kw")
    for shape, why, hint in mistakes:
        if got.shape == shape != (n, C, h, w):
            fail(name, f"{call} returned shape {got.shape}, expected {(n, C, h, w)}: it {why}.", hint,
                 reveal=reveal)


def _input_gradient_advice(error):
    """explain(error) for run: the exceptions of loops over windows, or of a convolution called with
    arrays it does not fit."""
    text = str(error)
    if isinstance(error, TypeError) and "positional argument" in text:
        return ("input_gradient(dout, K, stride=1) takes the stride as its third argument: with stride S, "
                "window (r, s) starts at row r * S, column s * S of x.", None, None)
    if "K must have shape" in text:
        return ("this convolution reads dout, whose channels are the F kernels' outputs, and gives one output "
                "per channel c of x: the kernels you hand it need F input channels and C outputs. Which axes "
                "of K change places?", None, "K[:, :, ::-1, ::-1].transpose(1, 0, 2, 3) has shape (C, F, kh, kw).")
    if "broadcast" in text:
        return ("a window and the kernel it meets must have the same shape. Print both just before that line: "
                "is dx (or the padded dout) too small, so that the window is cut short at its edge, or are the "
                "kernel's axes in another order?", None, "dx has shape (n, C, (oh - 1) * S + kh, (ow - 1) * S + "
                "kw), and each window dx[i, :, r * S:r * S + kh, s * S:s * S + kw] has the shape of K[f].")
    if isinstance(error, IndexError):
        return ("an index ran past the end of an array: compare the ranges of your loops with the shapes of "
                "the arrays they index (print them).", None, "h = (oh - 1) * S + kh and w = (ow - 1) * S + kw.")
    if "unpack" in text:
        return ("dout has four axes (n, F, oh, ow) and K four (F, C, kh, kw): unpack as many names as there "
                "are axes.", None, "n, F, oh, ow = dout.shape and _, C, kh, kw = K.shape")
    return None


@exercise("input_gradient", reference=lambda: _input_gradient_reference, shortcuts=input_gradient_shortcuts,
          hints=[
    "start from one pixel x[i, c, u, v]. In the forward formula it appears in out[i, f, r, s] wherever "
    "r + p = u and s + q = v for an entry (p, q) of the kernel: in which windows, then, and times what? Its "
    "gradient adds up dout times that, over all of them.",
    "dx has the shape of x: solve oh = h - kh + 1 for h. Near the edges of x some terms of your sum fall "
    "outside dout: count them as zeros (pad dout with zeros), and the sum needs no special cases.",
    "two ways to write it: send each output number's share back, dout[i, f, r, s] times kernel f, added into "
    "the window it came from; or gather at each pixel the sum over f, p, q of your formula: a convolution "
    "of the padded dout with the kernels flipped and their first two axes swapped.",
    "with stride S the window of out[i, f, r, s] starts at (r * S, s * S): sending back, start each window "
    "there; gathering, put S - 1 zeros between dout's numbers first, and the stride-1 answer does the rest.",
], reveal="dx[i, c, u, v] = np.sum(padded[i, :, u:u + kh, v:v + kw] * K[:, c, ::-1, ::-1]), with padded = dout "
          "(S - 1 zeros between its numbers) and kh - 1 rows, kw - 1 columns of zeros on every side")
def check_input_gradient(fn):
    """fn(dout: (n, F, oh, ow), K: (F, C, kh, kw), stride=1) -> dx: (n, C, (oh - 1) * stride + kh,
    (ow - 1) * stride + kw), the gradient of the loss with respect to the input of the convolution
    (no padding), given dout."""
    name = "input_gradient"
    cases = _input_gradient_cases()
    for dout, K, stride, call in cases:
        expected = _input_gradient_reference(dout, K, stride)
        args = (dout, K) if stride == 1 else (dout, K, stride)
        got = as_array(name, run(name, fn, *args, call=call, explain=_input_gradient_advice), call)
        _input_gradient_shape(name, call, got, dout, K, stride)
        if got.shape == expected.shape and np.all(np.isfinite(got)) and not np.allclose(got, expected):
            for wrong, why, hint, reveal in _input_gradient_mistakes(dout, K, stride):
                if np.allclose(got, wrong, rtol=1e-6, atol=1e-9):
                    fail(name, f"{call}: your dx {why}.", hint, reveal=reveal)
        compare(name, got, expected, call=call,
                hint="which output numbers did x[i, c, u, v] take part in, and times which kernel entry? Its "
                     "gradient is dout times that entry, added up over all of them.",
                reveal="dx[i, c, u, v] = the sum over f, p, q of dout[i, f, (u - p) / S, (v - q) / S] * "
                       "K[f, c, p, q], with dout counted as 0 outside its edges and where S does not divide "
                       "u - p or v - q.")
    return len(cases)
