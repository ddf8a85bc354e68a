"""Checks for the exercises of notebook 02, Neurons and logits (``notebooks/02_neurons_and_logits.ipynb``)."""

import numpy as np

from .framework import as_array, exercise, factor_text, fail, fmt, run


# --- notebook 02: the nearest class mean, as ten neurons ------------------------------

def _nearest_mean_reference(means):
    means = np.asarray(means)
    return means.T.copy(), -0.5 * (means ** 2).sum(axis=1)


def _mean_images(seed, ink):
    """Ten made-up class means (10, 784), class j with ``ink[j]`` times as much ink as usual, and
    100 images to classify: a noisy copy of each mean, and random images."""
    rng = np.random.default_rng(seed)
    means = rng.random((10, 784)) ** 3 * np.asarray(ink)[:, None]
    noisy = np.clip(means + rng.normal(0, 0.15, size=means.shape), 0, 1)
    images = rng.random((90, 784)) ** rng.uniform(1, 4, size=(90, 1))
    return means, np.vstack([noisy, images])


@exercise("nearest_mean_params", reference=lambda: _nearest_mean_reference, hints=[
    "turn 'smallest distance' into 'largest logit' first: the nearest mean has the largest "
    "−½ ‖x − m_j‖². Write that out for one class j.",
    "expand ‖x − m_j‖² = ‖x‖² − 2 x·m_j + ‖m_j‖² and sort the terms: one multiplies x (it belongs in W), "
    "one depends on the class j alone (it belongs in b), one is the same for every class (drop it).",
    "in l_j = x·W[:, j] + b_j, column j of W multiplies x: so it is m_j (times the factor in front of "
    "x·m_j), and b_j is the term of class j alone, with the same factor.",
], reveal="W = means.T; b = -0.5 * (means ** 2).sum(axis=1)")
def check_nearest_mean_params(fn):
    """fn(means: (10, 784), row j the mean image of class j) -> (W: (784, 10), b: (10,)) such that
    the largest logit of l = x W + b is always the class whose mean is nearest to x."""
    means, X = _mean_images(12345, np.linspace(0.4, 1.6, 10))
    _verify_nearest_mean(fn, means, X, "nearest_mean_params(means) with ten made-up class means, shape (10, 784)")
    means, X = _mean_images(7, np.linspace(1.5, 0.5, 10))
    _verify_nearest_mean(fn, means.astype(np.float32), X,
                         "nearest_mean_params(means) with ten other made-up class means, float32")
    return 2


def _verify_nearest_mean(fn, means, X, call):
    name = "nearest_mean_params"
    got = run(name, fn, means, call=call)
    if not (isinstance(got, (tuple, list)) and len(got) == 2):
        fail(name, f"{call} returned {type(got).__name__}; expected a pair (W, b).", "end with `return W, b`.")
    W = as_array(name, got[0], call + " (W)")
    b = as_array(name, got[1], call + " (b)")
    if W.shape == (10,) and b.shape == (784, 10):
        fail(name, f"{call} returned (b, W); expected (W, b).", "return W, b, in that order.")
    if W.shape == (10, 784):
        fail(name, f"{call} returned W of shape (10, 784); expected (784, 10), one column per class, "
                   "so that x W works for x of shape (784,).",
             "in means the classes are the rows; in W they are the columns.",
             reveal="means.T turns rows into columns.")
    if W.shape != (784, 10):
        fail(name, f"{call} returned W of shape {W.shape}; expected (784, 10).",
             "W has one column of 784 weights per class.")
    if b.shape != (10,):
        fail(name, f"{call} returned b of shape {b.shape}; expected (10,), one bias per class.",
             "b_j is one number per class j: a vector of 10 numbers." +
             (" (1, 10) and (10, 1) are matrices; b.reshape(10) makes a vector." if b.size == 10 else ""))
    if not (np.all(np.isfinite(W)) and np.all(np.isfinite(b))):
        fail(name, f"{call} returned W or b with nan or inf.")

    l = X @ W + b
    d = ((X[:, None, :] - means[None, :, :]) ** 2).sum(axis=-1)     # (n, 10) squared distances
    disagree = int((l.argmax(axis=1) != d.argmin(axis=1)).sum())
    picks = (f"on {len(X)} test images, your logits pick a class other than the nearest mean for {disagree} of them"
             if disagree else f"your logits happen to pick the nearest mean for all {len(X)} test images, but "
                              "not for the right reason, so other images would go wrong")
    # Right means: l_j = -c/2 ‖x − m_j‖² + (anything the same for every j), with c > 0. Then the
    # logits rank the classes as the distances do for every image, not only for these.
    lc, dc = l - l.mean(axis=1, keepdims=True), d - d.mean(axis=1, keepdims=True)
    c = -2 * float((lc * dc).sum() / (dc * dc).sum())
    if c > 0 and np.linalg.norm(lc + c / 2 * dc) <= 1e-5 * np.linalg.norm(lc):
        return

    expand = ("expand ‖x − m_j‖² = ‖x‖² − 2 x·m_j + ‖m_j‖² and sort the terms: which one "
              "multiplies x, which one depends on the class j only, and which one is the same for every class?")
    answer = "W = means.T and b = -0.5 * (means ** 2).sum(axis=1): then l_j = x·m_j − ½ ‖m_j‖²."
    # Is column j of W a multiple k of m_j, plus one image v common to all columns?
    M = means.T
    Wc, Mc = W - W.mean(axis=1, keepdims=True), M - M.mean(axis=1, keepdims=True)
    k = float((Wc * Mc).sum() / (Mc * Mc).sum())
    if np.linalg.norm(Wc - k * Mc) > 1e-5 * np.linalg.norm(Wc) or abs(k) < 1e-12:
        fail(name, f"{call}: {picks}. Column j of your W is not the mean image m_j (nor a multiple of it, "
                   "nor m_j minus an image common to all classes).", expand, reveal=answer)
    if k < 0:
        fail(name, f"{call}: {picks}. Your W holds the class means with a minus sign, so images that look like "
                   "class j lower its logit.", "the nearest mean has the smallest distance; the logit must be "
                   "largest there: l_j goes with −‖x − m_j‖², not +.", reveal=answer)
    norms = (means ** 2).sum(axis=1)
    target = -k / 2 * norms                         # the right b for this W, up to a constant
    bc, tc = b - b.mean(), target - target.mean()
    r = float(bc @ tc / (tc @ tc))
    factor = f" (for your W, which is {fmt(k, 3)} times the means)" if not np.isclose(k, 1) else ""
    if np.allclose(bc, 0, atol=1e-9 * max(1.0, np.abs(b).max())):
        fail(name, f"{call}: {picks}. Your b is zero (or the same for every class), so the classes with more "
                   "ink win too often.", expand + " The term that depends on j only belongs in b_j.", reveal=answer)
    if np.allclose(bc, r * tc, rtol=1e-5, atol=1e-8 * np.abs(tc).max()):
        if np.isclose(r, -1, rtol=1e-4):
            fail(name, f"{call}: {picks}. Your b has the wrong sign{factor}.",
                 "−‖x − m_j‖² contains −‖m_j‖²: a class whose mean has more ink must start lower.",
                 reveal=answer)
        if np.isclose(r, 2, rtol=1e-4) or np.isclose(r, 0.5, rtol=1e-4):
            fail(name, f"{call}: {picks}. Your b is {factor_text(r)} what your W needs{factor}: did you lose "
                       "the 2 in front of x·m_j, or the ½ of ‖m_j‖²?",
                 "−½ ‖x − m_j‖² = x·m_j − ½ ‖m_j‖² − ½ ‖x‖²: W and b must come from the same expression, "
                 "with the same factor.", reveal=answer)
    centred = -k / 2 * ((means - means.mean(axis=0)) ** 2).sum(axis=1)
    if np.allclose(bc, centred - centred.mean(), rtol=1e-5, atol=1e-8 * np.abs(tc).max()):
        fail(name, f"{call}: {picks}. Your b uses the means minus their average; the average image may be "
                   "taken out of W (x times it is the same for every class) but b_j needs ‖m_j‖² itself.",
             expand, reveal=answer)
    s = np.sqrt(norms) - np.sqrt(norms).mean()
    if np.allclose(bc, (bc @ s) / (s @ s) * s, rtol=1e-5, atol=1e-8 * np.abs(bc).max()):
        fail(name, f"{call}: {picks}. Your b uses the length ‖m_j‖, not its square.", expand, reveal=answer)
    fail(name, f"{call}: {picks}. Your W is right{factor}, but b_j is not −{fmt(k / 2, 3)} ‖m_j‖² "
               "(up to one number added to every class).", expand, reveal=answer)
