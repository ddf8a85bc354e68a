"""Checks for the exercises of notebook 12, Convolution (``notebooks/12_convolution.ipynb``):
the layer as loops, and the gradient of its kernels (the gradient of its input is in
``nb12_input_gradient``)."""

import numpy as np

from .framework import as_array, compare, exercise, fail, run, seeded_rng
from .watch import imported


# --- notebook 12: the convolution layer as loops; the gradient of its kernels ----------

def _conv():
    from .. import conv
    return conv


def _conv_forward_reference(x, K, b):
    return _conv().conv2d_forward_loops(x, K, b)[0]


def _kernel_gradient_reference(x, dout, kh, kw):
    F, C = dout.shape[1], x.shape[1]
    cache = (x, np.zeros((F, C, kh, kw), dtype=x.dtype), 1, 0)
    return _conv().conv2d_backward_loops(dout, cache)[1]


def conv_shortcuts():
    """The library functions that do a convolution, or its backward pass, in one call: mnistlib's,
    and scipy's if the learner imported it."""
    conv = _conv()
    what = "which does the whole job"
    return {f: what for f in [conv.conv2d_forward, conv.conv2d_forward_loops, conv.conv2d_backward,
                              conv.conv2d_backward_loops, conv.im2col]
            + imported("scipy.signal", "correlate", "correlate2d", "convolve", "convolve2d", "fftconvolve",
                       "oaconvolve")
            + imported("scipy.ndimage", "correlate", "convolve")}


def _conv_advice(partner="the kernel it is multiplied with", same_as="K[f]"):
    """explain(error) for run: the exceptions loops over windows run into."""
    def explain(error):
        text = str(error)
        if "broadcast" in text:
            return (f"a window of x and {partner} must have the same shape. Print the shape of both "
                    "just before that line: is the window cut short at the edge of the image (the "
                    "loop went one position too far), or are rows and columns swapped?", None,
                    "the window at output position (r, s) is x[i, :, r:r + kh, s:s + kw], shape "
                    f"(C, kh, kw), the same as {same_as}; r runs over range(h - kh + 1).")
        if isinstance(error, IndexError):
            return ("an index ran past the end of an array: compare the ranges of your loops with the "
                    "shapes of the arrays they index (print them).", None,
                    "the output has oh = h - kh + 1 rows and ow = w - kw + 1 columns; make it with "
                    "np.zeros((n, F, oh, ow)) and let r and s run over range(oh) and range(ow).")
        if "unpack" in text:
            return ("x has four axes (n, C, h, w) and K four (F, C, kh, kw): unpack as many names as "
                    "there are axes.", None, "n, C, h, w = x.shape and F, _, kh, kw = K.shape")
        return None
    return explain


def _conv_cases():
    """(x, K, b) triples: one image, channel and filter; a batch with channels and filters;
    a square kernel. Images and kernels are not square in the first two, so that a swap of
    rows and columns shows, and there are more filters than images, so that a swap of
    those axes shows."""
    rng = seeded_rng()
    one = (rng.integers(0, 5, (1, 1, 5, 6)).astype(np.float64),
           np.array([[[[1.0, 0.0], [2.0, -1.0], [0.0, 3.0]]]]), np.array([0.5]))
    batch = (rng.standard_normal((2, 3, 6, 5)), rng.standard_normal((4, 3, 2, 3)), rng.standard_normal(4))
    square = (rng.standard_normal((1, 2, 5, 5)), rng.standard_normal((3, 2, 3, 3)), rng.standard_normal(3))
    return [(*one, "conv_forward_loops(x, K, b) with one image x (1, 1, 5, 6), one kernel K (1, 1, 3, 2), b (1,)"),
            (*batch, "conv_forward_loops(x, K, b) with x (2, 3, 6, 5): 2 images of 3 channels, "
                     "K (4, 3, 2, 3): 4 kernels, b (4,)"),
            (*square, "conv_forward_loops(x, K, b) with x (1, 2, 5, 5), K (3, 2, 3, 3), b (3,)")]


def _conv_forward_mistakes(x, K, b):
    """(wrong output, what went wrong, hint, more) for the mistakes learners make in the loops."""
    ref = _conv_forward_reference
    n, C, h, w = x.shape
    F, _, kh, kw = K.shape
    plain = ref(x, K, np.zeros_like(b))
    bias = b[None, :, None, None]
    window = "the window x[i, :, r:r + kh, s:s + kw]"
    found = [
        (ref(x, K[:, :, ::-1, ::-1], b), "flipped the kernel: it multiplies the window's first entry by the "
         "kernel's last",
         "deep learning's convolution slides the kernel over the image as it is, unflipped: "
         "entry (p, q) of the window meets entry (p, q) of the kernel. (Flipping it first is the "
         "convolution of mathematics; the two differ only in the order of the kernel's entries.)",
         f"out[i, f, r, s] = np.sum({window} * K[f]) + b[f], with no [::-1] anywhere."),
        (plain, "leaves out the bias b", "every output number of kernel f gets b[f] added, once.", None),
        (plain / (C * kh * kw) + bias, "takes the mean of the products, not their sum",
         "the dot product of the window and the kernel is a sum: np.sum, not np.mean.", None),
        (-plain + bias, "has the sign of the dot product flipped", "multiply the window by the kernel; "
         "don't subtract.", None)]
    if C > 1:
        found += [
            (plain + C * bias, f"adds the bias once per channel ({C} times)",
             "b[f] is added once to each output number, after the sum over the channels.",
             "compute the whole sum over c, p and q first, then add b[f]."),
            (ref(x[:, :1], K[:, :1], b), "uses only the first channel",
             "each kernel spans all C channels of the image, and the output adds up all of them.",
             f"take the window across every channel: {window}, shape (C, kh, kw), times K[f]."),
            (ref(x[:, -1:], K[:, -1:], b), "keeps only the last channel: the sum over the channels is "
             "overwritten, channel after channel, instead of added up",
             "add each channel's dot product to the output (+=), or take all channels in one np.sum.", None)]
    if F > 1:
        found.append((plain.sum(axis=1, keepdims=True) + bias, "adds up all the kernels' dot products "
                      "(np.sum(window * K) with all of K, not K[f])",
                      "each output channel f comes from its own kernel K[f] alone.", None))
    if n > 1:
        found.append((np.broadcast_to(ref(x[:1], K, b), (n, F) + plain.shape[2:]), "gives every image the "
                      "output of the first image", "the window of image i comes from x[i].", None))
    if kh == kw:
        found.append((ref(x, K.swapaxes(2, 3), b), "uses the kernel transposed: entry (p, q) of the window "
                      "meets entry (q, p) of the kernel", "match the window's rows with the kernel's rows.",
                      None))
    return found


@exercise("conv_forward_loops", reference=lambda: _conv_forward_reference, shortcuts=conv_shortcuts, hints=[
    "the output's shape first: a window of width kw fits into a row of width w at w − kw + 1 positions, "
    "and likewise down the rows. Start from zeros of shape (n, F, oh, ow).",
    "loop over the images i, the kernels f and the output positions (r, s): each output number is the "
    "window of all channels of image i at (r, s), times kernel f, added up, plus b[f].",
], reveal="out[i, f, r, s] = np.sum(x[i, :, r:r + kh, s:s + kw] * K[f]) + b[f]")
def check_conv_forward_loops(fn):
    """fn(x: (n, C, h, w), K: (F, C, kh, kw), b: (F,)) -> out: (n, F, h - kh + 1, w - kw + 1),
    out[i, f, r, s] = b[f] + sum over c, p, q of x[i, c, r + p, s + q] K[f, c, p, q]."""
    name = "conv_forward_loops"
    for x, K, b, call in _conv_cases():
        n, C, h, w = x.shape
        F, _, kh, kw = K.shape
        oh, ow = h - kh + 1, w - kw + 1
        expected = _conv_forward_reference(x, K, b)
        got = as_array(name, run(name, fn, x, K, b, call=call, explain=_conv_advice()), call)
        size = ("a kernel of width kw fits into a row of width w at the positions 0, 1, ..., w - kw: "
                "that is w - kw + 1 positions (try it with w = 5 and kw = 3).")
        shape_mistakes = {
            (n, F, oh - 1, ow - 1): ("is one row and one column short", size,
                                     "oh = h - kh + 1 and ow = w - kw + 1."),
            (n, F, h, w): ("has the size of the image, but the kernel fits fewer times than that",
                           size, "oh = h - kh + 1 and ow = w - kw + 1."),
            (F, n, oh, ow): ("has the kernels on the first axis and the images on the second",
                             "the output is (n, F, oh, ow): images first, as in x.", None),
            (n, F, ow, oh): ("has rows and columns swapped",
                             "r runs down the rows (h - kh + 1 of them), s along the columns.", None),
            (n, F, C, oh, ow): ("keeps the channels apart", "add the products over the channels too: "
                                "each output number is one sum over c, p and q.", None),
            (n, C, oh, ow): ("has one output channel per input channel, not one per kernel",
                             "the output has one channel per kernel: F = K.shape[0].", None)}
        if got.shape != expected.shape and got.shape in shape_mistakes:
            why, hint, more = shape_mistakes[got.shape]
            fail(name, f"{call} returned shape {got.shape}, expected {expected.shape}: it {why}.", hint,
                 reveal=more)
        if got.dtype.kind in "biu" and not np.allclose(got, expected):
            fail(name, f"{call} returned integers (dtype {got.dtype}): every output number was rounded "
                       "to a whole number when it was stored.",
                 "make the output array hold floats.",
                 reveal="out = np.zeros((n, F, oh, ow)) holds floats; np.zeros(..., dtype=int) or np.zeros_like "
                        "of an integer array does not.")
        if got.shape == expected.shape and np.all(np.isfinite(got)) and not np.allclose(got, expected):
            for wrong, why, hint, more in _conv_forward_mistakes(x, K, b):
                if np.allclose(got, wrong, rtol=1e-6, atol=1e-9):
                    fail(name, f"{call}: your function {why}.", hint, reveal=more)
            if np.allclose(got[..., :oh - 1, :ow - 1], expected[..., :oh - 1, :ow - 1]):
                fail(name, f"{call}: the last row or column of the output is wrong (the rest is right).",
                     "the last window starts at row h - kh and column w - kw: does your loop reach it?",
                     reveal="for r in range(h - kh + 1): for s in range(w - kw + 1): ...")
        compare(name, got, expected, call=call,
                hint="out[i, f, r, s] = b[f] + the sum over c, p, q of x[i, c, r + p, s + q] * K[f, c, p, q].")
    return len(_conv_cases())


def _kernel_gradient_cases():
    """(x, dout, kh, kw, call): as _conv_cases, with an upstream gradient dout of the output's shape."""
    rng = seeded_rng()
    cases = []
    for (n, C, h, w), (F, kh, kw) in [((1, 1, 5, 6), (1, 3, 2)), ((2, 3, 6, 5), (4, 2, 3)),
                                      ((3, 2, 5, 5), (2, 3, 3))]:
        x = rng.integers(0, 4, (n, C, h, w)).astype(np.float64) if n == 1 else rng.standard_normal((n, C, h, w))
        dout = rng.standard_normal((n, F, h - kh + 1, w - kw + 1))
        cases.append((x, dout, kh, kw, f"kernel_gradient(x, dout, kh={kh}, kw={kw}) with x {x.shape} "
                                       f"and dout {dout.shape}"))
    return cases


def _kernel_gradient_mistakes(x, dout, kh, kw):
    ref = _kernel_gradient_reference
    n = len(x)
    oh, ow = dout.shape[2:]
    dK = ref(x, dout, kh, kw)
    last = np.einsum("if,icpq->fcpq", dout[:, :, -1, -1], x[:, :, oh - 1:oh - 1 + kh, ow - 1:ow - 1 + kw])
    found = [
        (dK[..., ::-1, ::-1], "is flipped: entry (p, q) holds what belongs to (kh - 1 - p, kw - 1 - q)",
         "out[i, f, r, s] multiplies K[f, c, p, q] by x[i, c, r + p, s + q], the entry (p, q) of its "
         "window, unflipped: so that is what dout[i, f, r, s] multiplies in dK[f, c, p, q].", None),
        (-dK, "has the wrong sign", "the derivative of x * K with respect to K is + x.", None),
        (dK / (oh * ow), f"is the mean over the {oh * ow} output positions, not the sum",
         "every output position adds its share to dK: a sum, with no division.", None),
        (last, "holds only the last window's share: each position overwrote the one before",
         "dK collects a share from every output position and image: add them up (+=).",
         "start from dK = np.zeros((F, C, kh, kw)) and write dK[f] += dout[i, f, r, s] * window.")]
    if n > 1:
        found += [
            (dK / n, f"is 1/{n} of the expected: divided by the number of images",
             "the loss's 1/n (it is a mean) is already inside dout: add up over the images, don't average.",
             None),
            (ref(x[:1], dout[:1], kh, kw), "uses only the first image",
             "the kernel is used on every image of the batch: add up the shares of all of them.", None),
            (ref(x[-1:], dout[-1:], kh, kw), "keeps only the last image: each image overwrote the one before",
             "add every image's share to dK (+=).", None)]
    if x.shape[1] > 1:
        found.append((np.broadcast_to(dK.sum(axis=1, keepdims=True), dK.shape), "is the same for every "
                      "channel: the channels were added up",
                      "K[f, c] meets channel c of the window only: dK[f, c] comes from channel c of x.", None))
    if kh == kw:
        found.append((dK.swapaxes(2, 3), "is transposed: entry (p, q) holds what belongs to (q, p)",
                      "p counts rows (with r), q counts columns (with s).", None))
    return found


@exercise("kernel_gradient", reference=lambda: _kernel_gradient_reference, shortcuts=conv_shortcuts, hints=[
    "in the formula for out[i, f, r, s], find the one term that contains K[f, c, p, q]: its derivative "
    "with respect to K[f, c, p, q] is the entry of x that it multiplies.",
    "so dK[f, c, p, q] adds up dout[i, f, r, s] times that entry of x, over every image i and output "
    "position (r, s): loop over them, and add each window, times its dout, to dK[f].",
], reveal="dK[f] += dout[i, f, r, s] * x[i, :, r:r + kh, s:s + kw]")
def check_kernel_gradient(fn):
    """fn(x: (n, C, h, w), dout: (n, F, oh, ow), kh, kw) -> dK: (F, C, kh, kw), the gradient of the
    loss with respect to the kernels, given dout, its gradient with respect to the convolution's output."""
    name = "kernel_gradient"
    cases = _kernel_gradient_cases()
    for x, dout, kh, kw, call in cases:
        n, C = x.shape[:2]
        F = dout.shape[1]
        expected = _kernel_gradient_reference(x, dout, kh, kw)
        advice = _conv_advice("the part of dK it is added to", "dK[f]")
        got = as_array(name, run(name, fn, x, dout, kh, kw, call=call, explain=advice), call)
        if got.shape != expected.shape:
            if got.shape == (C, F, kh, kw):
                fail(name, f"{call} returned shape {got.shape}, expected {expected.shape}: the kernels "
                           "should come first, then the channels, like K.", "dK has the shape of K: (F, C, kh, kw).")
            if got.shape == (F, C, kw, kh):
                fail(name, f"{call} returned shape {got.shape}, expected {expected.shape}: rows and columns "
                           "are swapped.", "dK has the shape of K: (F, C, kh, kw).")
            if got.shape in ((F, kh, kw), (n, F, C, kh, kw), (F, 1, kh, kw)):
                what = {(F, kh, kw): "has no channel axis", (n, F, C, kh, kw): "keeps one gradient per image",
                        (F, 1, kh, kw): "has one channel, not C"}[got.shape]
                fail(name, f"{call} returned shape {got.shape}, expected {expected.shape}: it {what}.",
                     "dK has the shape of K, (F, C, kh, kw): one number per kernel entry, added up over "
                     "the images and the output positions.")
        if got.shape == expected.shape and np.all(np.isfinite(got)) and not np.allclose(got, expected):
            for wrong, why, hint, more in _kernel_gradient_mistakes(x, dout, kh, kw):
                if np.allclose(got, wrong, rtol=1e-6, atol=1e-9):
                    fail(name, f"{call}: your dK {why}.", hint, reveal=more)
        compare(name, got, expected, call=call,
                hint="which entries of x did K[f, c, p, q] multiply, in the output numbers out[i, f, r, s]? "
                     "Each of those products sends dout[i, f, r, s] times that entry of x back to it.",
                reveal="dK[f, c, p, q] = the sum over i, r, s of dout[i, f, r, s] * x[i, c, r + p, s + q].")
    return len(cases)
