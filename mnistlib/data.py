"""Read IDX files and load MNIST: from a directory, the cache, a download, or the bundled subset.

Start with ``load_mnist()``. It looks, in order, in

1. the ``data_dir`` argument, else the ``MNIST_DATA_DIR`` environment variable;
2. the per-user cache (``MNISTLIB_CACHE_DIR``, else ``$XDG_CACHE_HOME/mnistlib`` or
   ``~/.cache/mnistlib``; ``%LOCALAPPDATA%\\mnistlib`` on Windows);
3. a download into that cache (mirrors from ``MNIST_MIRRORS`` or a built-in list);
4. the small subset shipped with the package (4000 training and 1000 test images),

and prints one line saying which one it used. ``train_val_split`` then holds out a
validation set from the training images.
"""

import contextlib
import gzip
import hashlib
import http.client
import os
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zlib
from pathlib import Path
from typing import NamedTuple

import numpy as np

# The four files, with the size and sha256 of their decompressed bytes. The .gz files found
# on mirrors differ in compression, so only the decompressed content can be checked.
MNIST_FILES = {
    "train-images-idx3-ubyte": (47040016, "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
    "train-labels-idx1-ubyte": (60008, "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
    "t10k-images-idx3-ubyte": (7840016, "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    "t10k-labels-idx1-ubyte": (10008, "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
}

DEFAULT_MIRRORS = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
]

SUBSET_PATH = Path(__file__).parent / "subset" / "mnist_subset.npz"

# IDX type codes. Multi-byte values are stored big-endian, hence the ">".
IDX_DTYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


class MnistDataError(ValueError):
    """A data file is missing, damaged or not what it should be. The message says what to do."""


class DownloadError(MnistDataError, OSError):
    """No mirror delivered a correct file. The message lists every mirror and why it failed."""


# ---------------------------------------------------------------------------------------------
# Reading IDX files
# ---------------------------------------------------------------------------------------------

def read_idx(path) -> np.ndarray:
    """Read an IDX file, raw or gzip-compressed; return its array (e.g. images: (n, 28, 28) uint8).

    Raises ``MnistDataError`` naming the file and the problem when the file is damaged.
    """
    path = Path(path)
    # The parsed array is a read-only view of the file's bytes; give the caller its own copy,
    # in native byte order.
    array = _parse_idx(_read_bytes(path), path.name)
    return np.array(array, dtype=array.dtype.newbyteorder("="))


def _read_bytes(path: Path) -> bytes:
    """The content of ``path``, decompressed if it is gzip (recognized by its magic bytes)."""
    if not path.is_file():
        raise FileNotFoundError(f"{path.name}: no such file in {path.parent}")
    data = path.read_bytes()
    if data[:2] != b"\x1f\x8b":
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as err:
        raise MnistDataError(
            f"{path.name}: the gzip data is corrupt or incomplete ({err}); "
            "delete it and download again"
        ) from None


def _parse_idx(data: bytes, name: str) -> np.ndarray:
    """Check the IDX header of ``data`` against its size; return a read-only view of the values."""
    def fail(problem, advice="delete it and download again"):
        raise MnistDataError(f"{name}: {problem}; {advice}")

    if not data:
        fail("the file is empty (0 bytes)")
    if _looks_like_html(data):
        fail("this looks like an HTML page, probably an error page from a failed download")
    if len(data) < 4:
        fail(f"the file is truncated: {len(data)} bytes, but an IDX header alone needs 4")
    if data[:2] != b"\x00\x00":
        fail(f"wrong magic number: the first two bytes are 0x{data[:2].hex()}, an IDX file "
             "starts with 0x0000; this is not an IDX file")
    code, ndim = data[2], data[3]
    if code not in IDX_DTYPES:
        fail(f"unknown IDX type code 0x{code:02x} (known: "
             + ", ".join(f"0x{c:02x}" for c in IDX_DTYPES) + "); this is not a valid IDX file")
    dtype = IDX_DTYPES[code]
    header = 4 + 4 * ndim
    if len(data) < header:
        fail(f"the file is truncated: the header announces {ndim} dimensions, which needs "
             f"{header} header bytes, but the file has only {len(data)} bytes")
    dims = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected = header + dtype.itemsize * int(np.prod(dims, dtype=object))
    shape = " x ".join(map(str, dims))
    if len(data) < expected:
        fail(f"the file is truncated: a {shape} array of {dtype.name} needs {expected} bytes, "
             f"but the file has only {len(data)} bytes (the download was probably interrupted)")
    if len(data) > expected:
        fail(f"the file has {len(data) - expected} extra bytes at the end: a {shape} array "
             f"of {dtype.name} needs {expected} bytes, but the file has {len(data)} bytes")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)


def _looks_like_html(data: bytes) -> bool:
    """True if ``data`` starts like a web page ("<!DOCTYPE", "<html", ...) rather than binary data."""
    # Only look at the start: stripping the whole of a 47 MB file would copy it.
    return data[:256].lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"<"


def _read_mnist_file(directory: Path, name: str) -> np.ndarray:
    """Read MNIST file ``name`` (raw or .gz) from ``directory`` and check its size and sha256."""
    path = _find(directory, name)
    if path is None:
        raise MnistDataError(f"{name}: not found (looked for {name} and {name}.gz in {directory}); "
                             "put the four MNIST files there, raw or .gz")
    data = _read_bytes(path)
    array = _parse_idx(data, path.name)
    size, sha256 = MNIST_FILES[name]
    if len(data) != size or hashlib.sha256(data).hexdigest() != sha256:
        raise MnistDataError(
            f"{path.name}: a valid IDX file, but not the original MNIST {name} "
            f"(its sha256 checksum does not match); replace it with the original file"
        )
    return array


def _find(directory: Path, name: str) -> Path | None:
    """The file ``name`` or ``name.gz`` in ``directory``, or None. Raw wins: it loads faster."""
    for candidate in (directory / name, directory / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


# ---------------------------------------------------------------------------------------------
# Loading MNIST
# ---------------------------------------------------------------------------------------------

class MNIST(NamedTuple):
    """MNIST as arrays, with where they came from.

    x: (n, 784) or (n, 28, 28), float32 in [0, 1] or uint8 in 0..255.
    y: (n,) int64 class indices, or (n, 10) float32 one-hot.
    source: "directory", "cache", "download" or "bundled subset"; path: the directory or None.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    path: str | None = None

    @property
    def is_full(self) -> bool:
        """True for the full MNIST (60000 training images), False for the bundled subset."""
        return len(self.x_train) == 60000

    def __repr__(self) -> str:
        # The default repr would print four large arrays; shapes are what a reader needs.
        arrays = ", ".join(f"{field}: {getattr(self, field).shape} {getattr(self, field).dtype}"
                           for field in self._fields[:4])
        return f"MNIST(source={self.source!r}, {arrays})"


SHAPES = ("flat", "image")
DTYPES = ("float32", "uint8")


def load_mnist(data_dir=None, *, shape="flat", dtype="float32", one_hot=False,
               download=True, verbose=True) -> MNIST:
    """Load MNIST: 60000 training and 10000 test images, or the bundled 4000 / 1000 subset.

    shape="flat":  x (n, 784);   shape="image": x (n, 28, 28).
    dtype="float32": x in [0, 1];  dtype="uint8": x in 0..255, as stored.
    one_hot=False: y (n,) int64 in 0..9;  one_hot=True: y (n, 10) float32.
    data_dir (or MNIST_DATA_DIR) must hold the four MNIST files, raw or .gz; otherwise the
    cache is used, then a download (if ``download``), then the bundled subset.
    """
    if shape not in SHAPES:
        raise ValueError(f"shape must be one of {SHAPES}, not {shape!r}")
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, not {dtype!r}")

    say = print if verbose else (lambda *args: None)
    if data_dir is None and os.environ.get("MNIST_DATA_DIR"):
        data_dir, where = os.environ["MNIST_DATA_DIR"], "the directory in MNIST_DATA_DIR"
    else:
        where = "the given directory"

    if data_dir is not None:
        # The user chose this directory: a problem there is an error, not a reason to fall back.
        directory = Path(data_dir).expanduser()
        if not directory.is_dir():
            raise MnistDataError(f"{where} ({directory}) does not exist; "
                                 "give a directory that holds the four MNIST files")
        arrays = [_read_mnist_file(directory, name) for name in MNIST_FILES]
        source, note = "directory", f"from {where}"
    else:
        directory = default_cache_dir()
        arrays, source, note = _from_cache(directory, say), "cache", "from the cache"
        why_not = "the full set is not in the cache and download=False"
        if arrays is None and download:
            try:
                _download(directory, mirrors=None, timeout=10, progress=verbose)
                arrays = [_read_mnist_file(directory, name) for name in MNIST_FILES]
                source, note = "download", "downloaded into the cache"
            except OSError:  # DownloadError, or a cache directory we cannot write to
                # One line only: download_mnist() raises the error that lists every mirror.
                why_not = "could not download the full set (offline?)"

    if arrays is None:
        arrays = _load_subset()
        source, directory = "bundled subset", None
        say(f"MNIST: {why_not}; using the bundled subset of "
            f"{len(arrays[0])} training and {len(arrays[2])} test images")
    else:
        say(f"MNIST: {len(arrays[0])} training and {len(arrays[2])} test images {note}")

    x_train, y_train, x_test, y_test = arrays
    return MNIST(
        _convert_images(x_train, shape, dtype), _convert_labels(y_train, one_hot),
        _convert_images(x_test, shape, dtype), _convert_labels(y_test, one_hot),
        source, None if directory is None else str(directory),
    )


def _from_cache(cache: Path, say) -> list[np.ndarray] | None:
    """The four arrays from the cache, or None if a file is missing or was corrupt (and deleted)."""
    arrays = []
    for name in MNIST_FILES:
        path = _find(cache, name)
        if path is None:
            return None
        try:
            arrays.append(_read_mnist_file(cache, name))
        except MnistDataError as err:
            # The cache is ours to manage: drop the bad file so that a download replaces it.
            say(f"MNIST: deleted a damaged file from the cache ({str(err).split('; ')[0]})")
            with contextlib.suppress(OSError):  # a read-only cache: the download will say so
                path.unlink()
            return None
    return arrays


def _load_subset() -> list[np.ndarray]:
    """The bundled subset, found next to this module: x (n, 28, 28) uint8, y (n,) uint8."""
    with np.load(SUBSET_PATH) as npz:
        return [npz["x_train"], npz["y_train"], npz["x_test"], npz["y_test"]]


def _convert_images(images: np.ndarray, shape: str, dtype: str) -> np.ndarray:
    """(n, 28, 28) uint8 -> (n, 784) or (n, 28, 28), float32 in [0, 1] or uint8."""
    images = images.reshape(len(images), 784) if shape == "flat" else images
    if dtype == "uint8":
        return images.copy()  # the parsed array is read-only; give the caller a writable one
    # One pass, straight into float32: no float64 intermediate of the full set.
    return np.divide(images, 255, dtype=np.float32)


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


def train_val_split(x, y, n_val=None, seed=0):
    """Hold out a validation set: (x_train, y_train, x_val, y_val).

    x: (n, ...) images, y: (n,) or (n, 10) labels. ``n_val`` examples (default: one in six,
    so 10000 of the 60000 MNIST training images) are chosen by a seeded permutation.
    Hyper-parameters (learning rate, epochs, batch size, weight decay) are chosen by their
    accuracy on the validation set, so that the test set, used once at the end, still
    measures how the model does on images it was never tuned on.
    """
    x, y = np.asarray(x), np.asarray(y)
    n = len(x)
    if len(y) != n:
        raise ValueError(f"x has {n} examples but y has {len(y)} labels")
    if n_val is None:
        n_val = n // 6
    if isinstance(n_val, bool) or not isinstance(n_val, (int, np.integer)) or not 0 < n_val < n:
        raise ValueError(f"n_val must be a whole number between 1 and {n - 1} "
                         f"(the number of validation examples); got {n_val!r}")
    order = np.random.default_rng(seed).permutation(n)
    val, train = np.sort(order[:n_val]), np.sort(order[n_val:])
    return x[train], y[train], x[val], y[val]


def default_cache_dir() -> Path:
    """Where downloads go: MNISTLIB_CACHE_DIR, else the platform's per-user cache + /mnistlib."""
    if os.environ.get("MNISTLIB_CACHE_DIR"):
        return Path(os.environ["MNISTLIB_CACHE_DIR"]).expanduser()
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "mnistlib"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "mnistlib"


# ---------------------------------------------------------------------------------------------
# Downloading
# ---------------------------------------------------------------------------------------------

def download_mnist(cache_dir=None, mirrors=None, timeout=10, progress=True) -> Path:
    """Download the four MNIST files into the cache, verify them, and return the cache directory.

    mirrors: base URLs tried in order (default: MNIST_MIRRORS, comma- or space-separated,
    else DEFAULT_MIRRORS). Files already in the cache and intact are kept. ``progress`` shows
    progress on stderr and a final line on stdout. Raises ``DownloadError`` if all mirrors fail.
    """
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    fetched = _download(cache, mirrors, timeout, progress)
    if progress:
        print("MNIST downloaded and verified in the cache" if fetched
              else "MNIST: already in the cache and verified")
    return cache


def mirror_list(mirrors=None) -> list[str]:
    """Base URLs to try, each ending in "/": ``mirrors``, else MNIST_MIRRORS, else the defaults."""
    if mirrors is None:
        mirrors = os.environ.get("MNIST_MIRRORS", "").replace(",", " ").split() or DEFAULT_MIRRORS
    elif isinstance(mirrors, str):
        mirrors = mirrors.replace(",", " ").split()
    return [m if m.endswith("/") else m + "/" for m in mirrors]


def _download(cache: Path, mirrors, timeout: float, progress: bool) -> list[str]:
    """Fetch each missing or damaged file into ``cache``; return the names fetched."""
    cache.mkdir(parents=True, exist_ok=True)
    mirrors = mirror_list(mirrors)
    fetched = []
    for name in MNIST_FILES:
        if _find(cache, name) is not None:
            try:
                _read_mnist_file(cache, name)
                continue
            except MnistDataError:
                _find(cache, name).unlink(missing_ok=True)
        failures = []
        for base in mirrors:
            url = f"{base}{name}.gz"
            try:
                blob = _fetch(url, timeout, progress)
            except (OSError, ValueError, http.client.HTTPException) as err:
                failures.append(f"  {base}: {_reason(err, timeout)}")
                continue
            try:
                _check_download(blob, name)
            except (OSError, ValueError, EOFError, zlib.error) as err:
                failures.append(f"  {base}: {_reason(err, timeout)}")
                if progress:  # the progress line said 100%; say why that was not enough
                    print(f"  rejected: {_reason(err, timeout)}", file=sys.stderr)
                continue
            _save(cache, f"{name}.gz", blob)
            fetched.append(name)
            break
        else:
            raise DownloadError(f"could not download {name}.gz from any mirror:\n"
                                + "\n".join(failures))
    return fetched


def _fetch(url: str, timeout: float, progress: bool) -> bytes:
    """The body of ``url``; shows a one-line progress display on stderr if ``progress``."""
    name = url.rsplit("/", 1)[-1]
    # A compressed MNIST file is under 10 MB; refuse endless or absurd responses.
    limit = 64 * 2**20
    host = urllib.parse.urlsplit(url).netloc
    chunks, received, shown = [], 0, None
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            total = int(response.headers.get("Content-Length") or 0)
            while chunk := response.read(2**16):
                chunks.append(chunk)
                received += len(chunk)
                if received > limit:
                    raise ValueError(f"the server sent more than {limit} bytes, too much for MNIST")
                done = f"{100 * received // total:3d}%" if total else f"{received // 2**20} MB"
                if progress and done != shown:  # redraw only when the text changes
                    print(f"\rdownloading {name} from {host}: {done}", end="", file=sys.stderr,
                          flush=True)
                    shown = done
    finally:
        if shown is not None:  # end the progress line, even if the transfer broke off
            print(file=sys.stderr)
    if total and received != total:
        raise ValueError(f"incomplete download: {received} of {total} bytes")
    return b"".join(chunks)


def _check_download(blob: bytes, name: str) -> None:
    """Raise ValueError unless ``blob`` is the gzip of the original MNIST file ``name``."""
    if _looks_like_html(blob):
        raise ValueError("the server sent an HTML page instead of the file")
    if blob[:2] != b"\x1f\x8b":
        raise ValueError("the server did not send a gzip file")
    data = gzip.decompress(blob)
    size, sha256 = MNIST_FILES[name]
    if len(data) != size:
        raise ValueError(f"wrong size after decompression: {len(data)} bytes, expected {size}")
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ValueError("sha256 checksum mismatch")


def _save(directory: Path, name: str, blob: bytes) -> None:
    """Write ``blob`` to ``directory/name`` atomically: a reader never sees half a file."""
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
        os.replace(tmp, directory / name)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _reason(err: Exception, timeout: float) -> str:
    """A short human-readable reason for a failed fetch."""
    if isinstance(err, urllib.error.HTTPError):
        return f"HTTP {err.code} {err.reason}"
    if isinstance(err, urllib.error.URLError):
        err = err.reason if isinstance(err.reason, Exception) else err
        if not isinstance(err, TimeoutError):
            return f"cannot connect ({err})"
    if isinstance(err, TimeoutError):
        return f"timed out after {timeout} s"
    if isinstance(err, (EOFError, zlib.error, gzip.BadGzipFile)):
        return f"corrupt gzip data ({err})"
    return str(err) or type(err).__name__
