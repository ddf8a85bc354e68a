"""Load MNIST: from a directory, the cache, a download, or the bundled subset; split it.

Start with ``load_mnist()``. It looks, in order, in

1. the ``data_dir`` argument, else the ``MNIST_DATA_DIR`` environment variable;
2. the per-user cache (``MNISTLIB_CACHE_DIR``, else ``$XDG_CACHE_HOME/mnistlib`` or
   ``~/.cache/mnistlib``; ``%LOCALAPPDATA%\\mnistlib`` on Windows);
3. a download into that cache (mirrors from ``MNIST_MIRRORS`` or a built-in list), used
   for this run only if the cache cannot be written;
4. the small subset shipped with the package (4000 training and 1000 test images),

and prints one line saying which one it used (and one more for any file it had to skip,
delete or could not save). ``load_mnist(validation=True)`` also holds out a validation set
from the training images, each image in memory once; ``train_val_split`` does the same to
arrays already loaded (a copy of them).

The file format is in ``idx`` (``read_idx``), the download and the cache in ``download``
(``download_mnist``); their public names can be imported from here too.
"""

import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .download import (DEFAULT_MIRRORS, DOWNLOAD_DEADLINE, MNIST_FILES, STALE_PART_SECONDS,
                       check_cache_dir, default_cache_dir, download_files, download_mnist,
                       mirror_list, read_cache, read_mnist_file, save_atomically)
from .idx import IDX_DTYPES, CacheDirError, DownloadError, MnistDataError, parse_idx, read_idx

__all__ = [
    # loading and splitting (this module)
    "MNIST", "SUBSET_PATH", "SHAPES", "DTYPES", "load_mnist", "find_mnist_file", "one_hot",
    "train_val_split", "validation_rows", "validation_split", "validation_set",
    # the file format and the errors (from idx)
    "read_idx", "IDX_DTYPES", "MnistDataError", "DownloadError", "CacheDirError",
    # the download and the cache (from download)
    "download_mnist", "default_cache_dir", "check_cache_dir", "mirror_list", "MNIST_FILES",
    "DEFAULT_MIRRORS", "DOWNLOAD_DEADLINE", "STALE_PART_SECONDS",
]

SUBSET_PATH = Path(__file__).parent / "subset" / "mnist_subset.npz"


class MNIST(NamedTuple):
    """MNIST as arrays, with where they came from.

    x: (n, 784) or (n, 28, 28), float32 in [0, 1] or uint8 in 0..255.
    y: (n,) int64 class indices, or (n, 10) float32 one-hot.
    source: "directory", "cache", "download" or "bundled subset"; path: the directory or None.
    x_val, y_val: the validation set held out of the training images (load_mnist(validation=True)),
    else None.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    path: str | None = None
    x_val: np.ndarray | None = None
    y_val: np.ndarray | None = None

    @property
    def is_full(self) -> bool:
        """True for the full MNIST (60000 training images, validation set included), False for the subset."""
        return len(self.x_train) + (0 if self.x_val is None else len(self.x_val)) == 60000

    def __repr__(self) -> str:
        # The default repr would print the large arrays; shapes are what a reader needs.
        arrays = ", ".join(f"{field}: {getattr(self, field).shape} {getattr(self, field).dtype}"
                           for field in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")
                           if getattr(self, field) is not None)
        return f"MNIST(source={self.source!r}, {arrays})"


SHAPES = ("flat", "image")
DTYPES = ("float32", "uint8")


def load_mnist(data_dir=None, *, shape="flat", dtype="float32", one_hot=False, validation=False,
               download=True, verbose=True) -> MNIST:
    """Load MNIST: 60000 training and 10000 test images, or the bundled 4000 / 1000 subset.

    shape="flat":  x (n, 784);   shape="image": x (n, 28, 28).
    dtype="float32": x in [0, 1];  dtype="uint8": x in 0..255, as stored.
    one_hot=False: y (n,) int64 in 0..9;  one_hot=True: y (n, 10) float32.
    validation=True: x_val, y_val hold the validation set that ``train_val_split`` would hold
    out (one training image in six, seed 0), and x_train, y_train the rest; each image is
    converted once, so that nothing is held twice. False: x_val and y_val are None.
    data_dir (or MNIST_DATA_DIR) must hold the four MNIST files, raw or .gz; otherwise the
    cache is used, then a download (if ``download``), then the bundled subset. The
    download waits at most 10 s for a silent server and gives up after DOWNLOAD_DEADLINE
    seconds in all (``download_mnist`` takes other limits).
    """
    if shape not in SHAPES:
        raise ValueError(f"shape must be one of {SHAPES}, not {shape!r}")
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, not {dtype!r}")
    if not isinstance(validation, bool):
        raise ValueError(f"validation must be True or False, not {validation!r} "
                         "(for another size of validation set, use train_val_split)")

    images, y_train, test_images, y_test, source, path = _find_arrays(data_dir, download, verbose)
    rows = x_val = y_val = None
    if validation:
        rows, val = validation_rows(len(images))
        x_val, y_val = _convert_images(images, shape, dtype, val), _convert_labels(y_train[val], one_hot)
        y_train = y_train[rows]
    x_train = _convert_images(images, shape, dtype, rows)
    # Let the raw training images go before the test images are converted: at no moment are
    # both the raw and the converted training images held together with the test images.
    del images
    return MNIST(x_train, _convert_labels(y_train, one_hot),
                 _convert_images(test_images, shape, dtype), _convert_labels(y_test, one_hot),
                 source, path, x_val, y_val)


def _find_arrays(data_dir, download, verbose):
    """Look for MNIST as load_mnist says, and say where it was found.

    Returns (x_train, y_train, x_test, y_test, source, path): the images (n, 28, 28) and
    labels (n,) as read, uint8 (not to be changed: they may share the file's buffer);
    source and path as in MNIST.
    """
    say = print if verbose else _quiet
    if data_dir is None and os.environ.get("MNIST_DATA_DIR"):
        data_dir, where = os.environ["MNIST_DATA_DIR"], "the directory in MNIST_DATA_DIR"
    else:
        where = "the given directory"

    if data_dir is not None:
        # The user chose this directory: a problem there is an error, not a reason to fall back.
        directory = Path(data_dir).expanduser()
        arrays = [_read_chosen(directory, name, where) for name in MNIST_FILES]
        source, note = "directory", f"from {where}"
    else:
        directory = default_cache_dir()
        found = read_cache(directory, say)
        missing = [name for name in MNIST_FILES if name not in found]
        arrays, source, note = None, "cache", "from the cache"
        why_not = "the full set is not in the cache and download=False"
        if missing and download:
            keep, unsaved = _keeper(directory, say)
            try:
                contents = download_files(missing, None, 10, DOWNLOAD_DEADLINE, verbose, keep)
            except DownloadError as err:
                # One line only: download_mnist() raises the error that lists every mirror.
                why_not = f"could not download the full set ({err.summary})"
            else:
                found.update({name: parse_idx(contents[name], name) for name in missing})
                source, note = "download", "downloaded into the cache"
                if unsaved:
                    directory, note = None, "downloaded, for this run only"
        if len(found) == len(MNIST_FILES):
            arrays = [found[name] for name in MNIST_FILES]

    if arrays is None:
        arrays = _load_subset()
        source, directory = "bundled subset", None
        say(f"MNIST: {why_not}; using the bundled subset of "
            f"{len(arrays[0])} training and {len(arrays[2])} test images")
    else:
        say(f"MNIST: {len(arrays[0])} training and {len(arrays[2])} test images {note}")
    return (*arrays, source, None if directory is None else str(directory))


def _quiet(*args, **kwargs):
    pass


def _read_chosen(directory: Path, name: str, where: str) -> np.ndarray:
    """MNIST file ``name`` from the directory the user chose; MnistDataError says what is wrong."""
    if not directory.exists():
        raise MnistDataError(f"{where} ({directory}) does not exist; "
                             "give a directory that holds the four MNIST files")
    if not directory.is_dir():
        raise MnistDataError(f"{where} ({directory}) is a file, not a directory; give the "
                             "directory that holds the four MNIST files "
                             f"(perhaps {directory.parent})")
    path = find_mnist_file(directory, name)
    if path is None:
        raise MnistDataError(f"{name}: not found (looked for {name} and {name}.gz in {directory}); "
                             "put the four MNIST files there, raw or .gz")
    try:
        return read_mnist_file(path, name)
    except OSError as err:
        raise MnistDataError(f"{path.name}: cannot read it ({err.strerror or err}); make it "
                             f"readable (chmod a+r {path}) or give another directory") from None


def find_mnist_file(directory: Path, name: str) -> Path | None:
    """The file ``name`` or ``name.gz`` in ``directory``, or None. Raw wins: it loads faster."""
    for candidate in (directory / name, directory / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _keeper(cache: Path, say):
    """keep(name, blob) saves each download into the cache; ``unsaved`` lists what could not be.

    A cache we cannot write (read-only, another user's) does not waste the download: it is
    used for this run, and one line says why it was not kept.
    """
    unsaved = []

    def keep(name, blob):
        if not unsaved:
            try:
                save_atomically(cache, f"{name}.gz", blob)
                return
            except OSError as err:
                say(f"MNIST: cannot save the download into the cache {cache} "
                    f"({err.strerror or err}); using it for this run only")
        unsaved.append(name)

    return keep, unsaved


def _load_subset() -> list[np.ndarray]:
    """The bundled subset, found next to this module: x (n, 28, 28) uint8, y (n,) uint8."""
    with np.load(SUBSET_PATH) as npz:
        return [npz["x_train"], npz["y_train"], npz["x_test"], npz["y_test"]]


CONVERT_CHUNK = 5000     # images converted at a time (a 3.9 MB uint8 copy)


def _convert_images(images: np.ndarray, shape: str, dtype: str, rows=None) -> np.ndarray:
    """images[rows]: (n, 28, 28) uint8 -> (n, 784) or (n, 28, 28), float32 in [0, 1] or uint8.

    rows: the row numbers to take, in order (default: all). The result is a new, writable array.
    """
    rows = np.arange(len(images)) if rows is None else rows
    size = (784,) if shape == "flat" else images.shape[1:]
    if dtype == "uint8":
        return images[rows].reshape(len(rows), *size)      # indexing with rows copies
    # Chunk by chunk, straight into float32: no float64 intermediate and no uint8 copy of
    # the whole selection, so the converted images are the only large new array.
    x = np.empty((len(rows), *size), dtype=np.float32)
    for start in range(0, len(rows), CONVERT_CHUNK):
        chunk = rows[start:start + CONVERT_CHUNK]
        np.divide(images[chunk].reshape(len(chunk), *size), 255, out=x[start:start + len(chunk)],
                  dtype=np.float32)
    return x


def _convert_labels(labels: np.ndarray, as_one_hot: bool) -> np.ndarray:
    """(n,) uint8 -> (n,) int64 or (n, 10) float32 one-hot."""
    return one_hot(labels) if as_one_hot else labels.astype(np.int64)


def one_hot(y, k: int = 10) -> np.ndarray:
    """Class indices y: (n,) ints in 0..k-1 -> (n, k) float32, a single 1 in each row."""
    y = np.asarray(y)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must be a 1-d array of integer class indices, got {y.dtype} {y.shape}")
    if y.size and (y.min() < 0 or y.max() >= k):
        raise ValueError(f"class indices must be in 0..{k - 1}, got {y.min()}..{y.max()}")
    encoded = np.zeros((len(y), k), dtype=np.float32)
    encoded[np.arange(len(y)), y] = 1.0
    return encoded


def train_val_split(X, y, n_val=None, seed=0):
    """Hold out a validation set: (x_train, y_train, x_val, y_val), copies of rows of X and y.

    X: (n, ...) images, y: (n,) or (n, 10) labels. ``n_val`` examples (default: one in six,
    so 10000 of the 60000 MNIST training images) are chosen by a seeded permutation
    (``validation_rows``). Hyper-parameters (learning rate, epochs, batch size, weight decay)
    are chosen by their accuracy on the validation set, so that the test set, used once at
    the end, still measures how the model does on images it was never tuned on.
    To split MNIST as it loads, without holding its training images twice, use
    ``load_mnist(validation=True)``: the same sets.
    """
    X, y = np.asarray(X), np.asarray(y)
    if len(y) != len(X):
        raise ValueError(f"X has {len(X)} examples but y has {len(y)} labels")
    train, val = validation_rows(len(X), n_val, seed)
    return X[train], y[train], X[val], y[val]


def validation_rows(n, n_val=None, seed=0):
    """(train, val): the row numbers of n examples kept for training and held out, each sorted.

    n_val: how many to hold out (default n // 6); they are the first n_val of a permutation
    drawn with ``seed``, so the same n, n_val and seed always give the same rows.
    """
    if n_val is None:
        n_val = n // 6
    if isinstance(n_val, bool) or not isinstance(n_val, (int, np.integer)) or not 0 < n_val < n:
        raise ValueError(f"n_val must be a whole number between 1 and {n - 1} "
                         f"(the number of validation examples); got {n_val!r}")
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def validation_split(data):
    """(x_train, y_train, x_val, y_val) of ``data``, a result of load_mnist.

    Its own sets if it was loaded with validation=True; else ``train_val_split`` of its
    training images (a copy), which gives the same sets.
    """
    if getattr(data, "x_val", None) is not None:
        return data.x_train, data.y_train, data.x_val, data.y_val
    return train_val_split(data.x_train, data.y_train)


def validation_set(data):
    """(x_val, y_val) of ``data``, a result of load_mnist: as ``validation_split`` gives them,
    without copying the training images."""
    if getattr(data, "x_val", None) is not None:
        return data.x_val, data.y_val
    val = validation_rows(len(data.x_train))[1]
    return data.x_train[val], np.asarray(data.y_train)[val]
