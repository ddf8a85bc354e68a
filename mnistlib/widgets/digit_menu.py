"""The "try a digit" menu of the drawing widget: real digits to put on the canvas, without a pointer.

A keyboard or switch user cannot draw; picking a digit from this menu puts a real
MNIST digit on the canvas, enlarged as if drawn there, to be answered and then
drawn on with the mouse or a finger like any drawing. ``example_digits`` checks
the digits offered (the validation digits, in the live demo), ``menu_options``
picks two of each class, ``enlarge`` makes one canvas-sized.
"""

import numpy as np

from .. import validate
from ..data import SUBSET_PATH


def example_digits(examples=None):
    """The digits the "try a digit" menu offers: (X (n, 784) float32 in [0, 1], y (n,) int), checked.

    examples: (X, y), or None for the test digits of the bundled subset (always on disk).
    """
    if examples is None:
        with np.load(SUBSET_PATH) as npz:
            X, y = npz["x_test"], npz["y_test"]
    else:
        X, y = examples
    X, y = np.asarray(X).reshape(len(X), -1), validate.labels(y)
    if X.shape[1] != 784 or len(y) != len(X):
        raise ValueError(f"examples must be (X, y): X (n, 784) images and y (n,) labels; got X {X.shape} "
                         f"and y {y.shape}")
    if X.dtype == np.uint8 or X.max() > 1:
        X = X.astype(np.float32) / 255
    return X, y


def menu_options(y, per_class=2):
    """The menu's choices: a prompt (-1), then the first ``per_class`` examples of each class, by class."""
    chosen = [i for k in range(10) for i in np.flatnonzero(y == k)[:per_class]]
    return [("pick one", -1)] + [(f"a {int(y[i])} (example {i})", int(i)) for i in chosen]


def enlarge(x, size):
    """A 28x28 digit x: (784,) in [0, 1] made (size, size), smoothly: (size, size) float32."""
    from PIL import Image

    grey = Image.fromarray((255 * np.clip(x.reshape(28, 28), 0, 1)).astype(np.uint8))
    return np.asarray(grey.resize((size, size), Image.BILINEAR), dtype=np.float32) / 255
