"""Read IDX files and load MNIST: from a directory, the cache, a download, or the bundled subset.

Start with ``load_mnist()``. It looks, in order, in

1. the ``data_dir`` argument, else the ``MNIST_DATA_DIR`` environment variable;
2. the per-user cache (``MNISTLIB_CACHE_DIR``, else ``$XDG_CACHE_HOME/mnistlib`` or
   ``~/.cache/mnistlib``; ``%LOCALAPPDATA%\\mnistlib`` on Windows);
3. a download into that cache (mirrors from ``MNIST_MIRRORS`` or a built-in list), used
   for this run only if the cache cannot be written;
4. the small subset shipped with the package (4000 training and 1000 test images),

and prints one line saying which one it used (and one more for any file it had to skip,
delete or could not save). ``train_val_split`` then holds out a validation set from the
training images.

The cache may be shared (a teacher downloads once into a directory the class reads):
files are written with the usual permissions (readable by all unless the umask says
otherwise), each appears complete or not at all, and several processes may load or fill
the cache at the same time.
"""

import contextlib
import hashlib
import http.client
import os
import secrets
import socket
import ssl
import stat
import sys
import threading
import time
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

# Seconds a whole download (all four files, all mirrors) may take before it gives up.
DOWNLOAD_DEADLINE = 600

# A download is complete and verified in memory before its temporary ".part" file is
# written, so that file lives for well under a second. One older than this was left by a
# process killed between writing and renaming, and no running process will finish it.
# (An age, not a pid: a shared cache can be filled from several machines, and pids are reused.)
STALE_PART_SECONDS = 600

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
    """No mirror delivered a correct file in time. The message lists every mirror and why it
    failed; ``summary`` says why in a few words."""

    def __init__(self, message, summary="offline?"):
        super().__init__(message)
        self.summary = summary


class CacheDirError(OSError):
    """The cache directory cannot be created or written. The message says which and why."""


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


def _read_bytes(path: Path, size: int | None = None) -> bytes:
    """The content of ``path``, decompressed if it is gzip (recognized by its magic bytes).

    size: the size the content must have; gzip data is never decompressed beyond it (a
    small file can hold gigabytes of zeros). None: the size its IDX header announces.
    """
    if path.is_dir():
        raise IsADirectoryError(f"{path}: this is a directory, not a file; give the path of "
                                "an IDX file (e.g. train-images-idx3-ubyte)")
    if not path.is_file():
        raise FileNotFoundError(f"{path.name}: no such file in {path.parent}")
    data = path.read_bytes()
    if data[:2] != b"\x1f\x8b":
        return data
    try:
        if size is None:
            head, complete = _gunzip_head(data)
            size = _idx_size(head)
            if size is None:  # not an IDX header: _parse_idx says what is wrong with it
                if not complete:
                    raise EOFError("the data ends before the end of the gzip stream")
                return head
            return _gunzip(data, size, "the size its IDX header announces")
        return _gunzip(data, size, "the size of the original file")
    except _TooLarge as err:
        raise MnistDataError(f"{path.name}: {err}; delete it and download again") from None
    except (OSError, EOFError, zlib.error) as err:
        raise MnistDataError(
            f"{path.name}: the gzip data is corrupt or incomplete ({err}); "
            "delete it and download again"
        ) from None


class _TooLarge(ValueError):
    """Gzip data that decompresses to more than it may."""


def _gunzip(blob: bytes, size: int, what: str) -> bytes:
    """Decompress gzip ``blob``, but never to more than ``size`` bytes (``what`` says whose size).

    Raises _TooLarge beyond that, EOFError or zlib.error if the data is damaged. Like
    gzip.decompress it accepts several gzip members one after the other, and zero padding.
    """
    parts, total, rest = [], 0, blob
    while rest:
        if rest[:2] != b"\x1f\x8b":
            raise zlib.error("data after the end of the gzip stream is not gzip")
        stream = zlib.decompressobj(wbits=31)   # 31: gzip header and trailer, checked
        # Ask for one byte more than allowed: getting it proves there is too much.
        part = stream.decompress(rest, size + 1 - total)
        total += len(part)
        if total > size:
            raise _TooLarge(f"the gzip data decompresses to more than {size} bytes, {what}")
        if not stream.eof:
            raise EOFError("the data ends before the end of the gzip stream")
        parts.append(part)
        rest = stream.unused_data.lstrip(b"\x00")
    return b"".join(parts)


def _gunzip_head(blob: bytes) -> tuple[bytes, bool]:
    """The first 1024 decompressed bytes of gzip ``blob`` (enough for any IDX header), and
    whether the gzip stream ended there."""
    stream = zlib.decompressobj(wbits=31)
    head = stream.decompress(blob, 1024)
    return head, stream.eof


def _idx_size(head: bytes) -> int | None:
    """The size in bytes (header and values) that an IDX header announces, or None if
    ``head`` does not start with a valid IDX header."""
    if len(head) < 4 or head[:2] != b"\x00\x00" or head[2] not in IDX_DTYPES:
        return None
    header = 4 + 4 * head[3]
    if len(head) < header:
        return None
    dims = [int.from_bytes(head[4 + 4 * i: 8 + 4 * i], "big") for i in range(head[3])]
    return header + IDX_DTYPES[head[2]].itemsize * int(np.prod(dims, dtype=object))


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


def _read_mnist_file(path: Path, name: str) -> np.ndarray:
    """Read MNIST file ``name`` from ``path`` (raw or .gz) and check its size and sha256.

    Raises MnistDataError if the file is damaged or not MNIST's, OSError if it cannot be read.
    """
    size, sha256 = MNIST_FILES[name]
    data = _read_bytes(path, size)
    array = _parse_idx(data, path.name)
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
    cache is used, then a download (if ``download``), then the bundled subset. The
    download waits at most 10 s for a silent server and gives up after DOWNLOAD_DEADLINE
    seconds in all (``download_mnist`` takes other limits).
    """
    if shape not in SHAPES:
        raise ValueError(f"shape must be one of {SHAPES}, not {shape!r}")
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, not {dtype!r}")

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
        found = _from_cache(directory, say)
        missing = [name for name in MNIST_FILES if name not in found]
        arrays, source, note = None, "cache", "from the cache"
        why_not = "the full set is not in the cache and download=False"
        if missing and download:
            keep, unsaved = _keeper(directory, say)
            try:
                contents = _download(missing, None, 10, DOWNLOAD_DEADLINE, verbose, keep)
            except DownloadError as err:
                # One line only: download_mnist() raises the error that lists every mirror.
                why_not = f"could not download the full set ({err.summary})"
            else:
                found.update({name: _parse_idx(contents[name], name) for name in missing})
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

    x_train, y_train, x_test, y_test = arrays
    return MNIST(
        _convert_images(x_train, shape, dtype), _convert_labels(y_train, one_hot),
        _convert_images(x_test, shape, dtype), _convert_labels(y_test, one_hot),
        source, None if directory is None else str(directory),
    )


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
    path = _find(directory, name)
    if path is None:
        raise MnistDataError(f"{name}: not found (looked for {name} and {name}.gz in {directory}); "
                             "put the four MNIST files there, raw or .gz")
    try:
        return _read_mnist_file(path, name)
    except OSError as err:
        raise MnistDataError(f"{path.name}: cannot read it ({err.strerror or err}); make it "
                             f"readable (chmod a+r {path}) or give another directory") from None


def _from_cache(cache: Path, say) -> dict[str, np.ndarray]:
    """The intact MNIST files in the cache, as arrays by name (maybe not all four).

    The cache is ours to manage: a damaged file is deleted so that a download replaces it;
    one we cannot read is left alone. Either way one line says so.
    """
    _remove_stale_parts(cache)
    found = {}
    for name in MNIST_FILES:
        for path in (cache / name, cache / f"{name}.gz"):
            array = _read_cached(path, name, say)
            if array is not None:
                found[name] = array
                break
    return found


def _read_cached(path: Path, name: str, say, retry: bool = True) -> np.ndarray | None:
    """The array in cache file ``path``, or None if it is missing, unreadable or damaged."""
    try:
        seen = path.stat()
        if not stat.S_ISREG(seen.st_mode):
            return None
        return _read_mnist_file(path, name)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as err:
        say(f"MNIST: cannot read {path.name} in the cache {path.parent} ({err.strerror or err}); "
            "skipping it (its owner can make it readable: chmod a+r)")
        return None
    except MnistDataError as err:
        reason = str(err).split("; ")[0]
    # Another process may be loading the same cache and may have replaced the file with a
    # good download since we read it. Delete only the file we read; read a new one again.
    # (This leaves a window of microseconds in which a good file could be deleted: then it
    # is downloaded again, which wastes time but breaks nothing.)
    try:
        now = path.stat()
        if _identity(now) != _identity(seen):
            return _read_cached(path, name, say, retry=False) if retry else None
        path.unlink()
    except FileNotFoundError:
        say(f"MNIST: found a damaged file in the cache ({reason}); another process has removed it")
    except OSError as err:
        say(f"MNIST: found a damaged file in the cache ({reason}) and could not delete it "
            f"({err.strerror or err})")
    else:
        say(f"MNIST: deleted a damaged file from the cache ({reason})")
    return None


def _identity(st: os.stat_result) -> tuple:
    return st.st_ino, st.st_size, st.st_mtime_ns


def _remove_stale_parts(cache: Path) -> None:
    """Delete the temporary files of downloads that were killed between writing and renaming."""
    now = time.time()
    with contextlib.suppress(OSError):          # no cache yet, or one we may not change
        for part in cache.glob(".*.part"):
            with contextlib.suppress(OSError):  # gone already, or not ours to delete
                if now - part.stat().st_mtime > STALE_PART_SECONDS:
                    part.unlink()


def _keeper(cache: Path, say):
    """keep(name, blob) saves each download into the cache; ``unsaved`` lists what could not be.

    A cache we cannot write (read-only, another user's) does not waste the download: it is
    used for this run, and one line says why it was not kept.
    """
    unsaved = []

    def keep(name, blob):
        if not unsaved:
            try:
                _save(cache, f"{name}.gz", blob)
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

def download_mnist(cache_dir=None, mirrors=None, timeout=10, progress=True,
                   deadline=DOWNLOAD_DEADLINE) -> Path:
    """Download the four MNIST files into the cache, verify them, and return the cache directory.

    mirrors: base URLs tried in order (default: MNIST_MIRRORS, comma- or space-separated,
    else DEFAULT_MIRRORS). Files already in the cache and intact are kept.
    timeout: seconds a mirror may stay silent (connecting, or waiting for the next bytes)
    before the next mirror is tried.
    deadline: seconds the whole download may take, all files and mirrors together (default
    600); a server that sends a byte now and then cannot hold it longer.
    progress: show progress on stderr, and a final line on stdout.
    Raises ``CacheDirError`` (before downloading anything) if the cache directory cannot be
    written, ``DownloadError`` if every mirror fails or the deadline passes. Each file is
    saved complete or not at all, so an interrupted download leaves the cache intact.
    """
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    check_cache_dir(cache)
    say = print if progress else _quiet
    missing = [name for name in MNIST_FILES if name not in _from_cache(cache, say)]

    def keep(name, blob):
        try:
            _save(cache, f"{name}.gz", blob)
        except OSError as err:
            raise CacheDirError(f"could not save {name}.gz into the cache {cache}: "
                                f"{err.strerror or err}") from None

    _download(missing, mirrors, timeout, deadline, progress, keep)
    if progress:
        print("MNIST downloaded and verified in the cache" if missing
              else "MNIST: already in the cache and verified")
    return cache


def check_cache_dir(cache) -> None:
    """Raise ``CacheDirError`` saying why, unless ``cache`` is (or can be made) a directory we
    can write files into."""
    cache = Path(cache)
    try:
        cache.mkdir(parents=True, exist_ok=True)
        # Create and remove a file: the only test that also holds for root, read-only file
        # systems and network drives. (A unique ".part" name: no clash with another process,
        # and the next run removes it if we are killed right now.)
        probe = cache / f".write-test.{secrets.token_hex(6)}.part"
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        probe.unlink()
    except OSError as err:
        problem = err.strerror or str(err)
        if isinstance(err, (FileExistsError, NotADirectoryError)):
            problem = "a file is in the way, not a directory"
        raise CacheDirError(f"cannot use {cache} as the MNIST cache: {problem}; choose another "
                            "directory (--cache-dir, or MNISTLIB_CACHE_DIR)") from None


def mirror_list(mirrors=None) -> list[str]:
    """Base URLs to try, each ending in "/": ``mirrors``, else MNIST_MIRRORS, else the defaults."""
    if mirrors is None:
        mirrors = os.environ.get("MNIST_MIRRORS", "").replace(",", " ").split() or DEFAULT_MIRRORS
    elif isinstance(mirrors, str):
        mirrors = mirrors.replace(",", " ").split()
    return [m if m.endswith("/") else m + "/" for m in mirrors]


def _download(names, mirrors, timeout: float, deadline: float, progress: bool, keep) -> dict:
    """Fetch and verify each of ``names`` from the first mirror that delivers it.

    Calls keep(name, blob) with each verified .gz as soon as it arrives; returns
    {name: decompressed content}. Raises DownloadError if a file fails on every mirror or
    all of it takes longer than ``deadline`` seconds.
    """
    mirrors = mirror_list(mirrors)
    end = time.monotonic() + deadline
    contents = {}
    for name in names:
        failures = []
        for base in mirrors:
            try:
                if time.monotonic() >= end:
                    raise _DeadlinePassed(f"the deadline of {deadline:g} s has passed")
                blob = _fetch(f"{base}{name}.gz", timeout, end, progress)
            except _DeadlinePassed as err:
                failures.append(f"  {base}: {err}")
                raise DownloadError(
                    f"gave up downloading {name}.gz: the whole download may take at most "
                    f"{deadline:g} s (the deadline), and that time has passed. Try again on a "
                    "faster connection, or allow more time (download_mnist(deadline=...), "
                    "python -m mnistlib download --deadline ...):\n" + "\n".join(failures),
                    summary=f"it took longer than the {deadline:g} s deadline") from None
            except (OSError, ValueError, http.client.HTTPException) as err:
                failures.append(f"  {base}: {_reason(err, timeout)}")
                continue
            try:
                contents[name] = _check_download(blob, name)
            except (OSError, ValueError, EOFError, zlib.error) as err:
                failures.append(f"  {base}: {_reason(err, timeout)}")
                if progress:  # the progress line said 100%; say why that was not enough
                    print(f"  rejected: {_reason(err, timeout)}", file=sys.stderr)
                continue
            keep(name, blob)
            break
        else:
            offline = all("cannot connect" in f or "timed out" in f for f in failures)
            raise DownloadError(f"could not download {name}.gz from any mirror:\n"
                                + "\n".join(failures),
                                summary="offline?" if offline else "no mirror sent a correct "
                                "file; python -m mnistlib download says why")
    return contents


class _DeadlinePassed(TimeoutError):
    """The whole download took longer than its deadline."""


def _fetch(url: str, timeout: float, end: float, progress: bool) -> bytes:
    """The body of ``url``, by time.monotonic() ``end`` at the latest (else _DeadlinePassed).

    Shows a one-line progress display on stderr if ``progress``, updated as bytes arrive.
    """
    name = url.rsplit("/", 1)[-1]
    # A compressed MNIST file is under 10 MB; refuse endless or absurd responses.
    limit = 64 * 2**20
    show = _progress_line(f"downloading {name} from {urllib.parse.urlsplit(url).netloc}: ",
                          progress)
    chunks, received, total = [], 0, 0
    # Once connected, say so: a server can keep us waiting before the first byte.
    with _Deadline(end, on_connect=lambda: show("connected, waiting for the data")) as deadline:
        try:
            with _opener(deadline).open(url, timeout=timeout) as response:
                total = int(response.headers.get("Content-Length") or 0)
                # read1 returns what has arrived (read would wait for a full 64 KiB).
                while chunk := response.read1(2**16):
                    chunks.append(chunk)
                    received += len(chunk)
                    if received > limit:
                        raise ValueError(f"the server sent more than {limit} bytes, "
                                         "too much for MNIST")
                    show(_amount(received, total))
        except (OSError, ValueError, http.client.HTTPException):
            if deadline.passed:
                raise _DeadlinePassed(f"still downloading when the deadline passed, "
                                     f"at {_amount(received, total).strip()}") from None
            raise
        finally:
            show(None)  # end the progress line, even if the transfer broke off
        if deadline.passed:  # the cut connection may look like a normal end of the data
            raise _DeadlinePassed(f"still downloading when the deadline passed, "
                                 f"at {_amount(received, total).strip()}")
    if total and received != total:
        raise ValueError(f"incomplete download: {received} of {total} bytes")
    return b"".join(chunks)


def _amount(received: int, total: int) -> str:
    """ " 12% (1.2 MB of 9.9 MB)", "100% (9.9 MB)", or "1.2 MB" if the total is unknown."""
    def size(n):
        if n < 10**4:
            return f"{n} bytes"
        return f"{n / 1e3:.0f} kB" if n < 10**6 else f"{n / 1e6:.1f} MB"
    if not total:
        return size(received)
    if received == total:
        return f"100% ({size(total)})"
    return f"{100 * received // total:3d}% ({size(received)} of {size(total)})"


def _progress_line(prefix: str, enabled: bool):
    """show(text) redraws "prefix text" in place on stderr (at most ten times a second);
    show(None) ends the line."""
    state = {"shown": None, "at": 0.0, "width": 0}

    def show(text):
        if not enabled:
            return
        if text is None:
            if state["shown"] is not None:
                if state["shown"] != state["text"]:     # the last state, if not drawn yet
                    draw(state["text"])
                print(file=sys.stderr, flush=True)
            return
        state["text"] = text
        if text != state["shown"] and time.monotonic() - state["at"] >= 0.1:
            draw(text)

    def draw(text):
        line = prefix + text
        print("\r" + line.ljust(state["width"]), end="", file=sys.stderr, flush=True)
        state.update(shown=text, at=time.monotonic(), width=len(line))

    return show


class _Deadline:
    """Cuts the connections of one fetch when time.monotonic() reaches ``end``.

    A socket timeout only limits each wait for data, so a server that sends a byte every few
    seconds never trips it, not even while sending headers. Shutting the socket down from a
    timer thread wakes up whatever read is waiting, and ``passed`` tells why it failed.
    """

    def __init__(self, end: float, on_connect=None):
        self.end, self.passed, self.sockets, self.on_connect = end, False, [], on_connect
        self.lock = threading.Lock()
        self.timer = threading.Timer(max(0.0, end - time.monotonic()), self._cut)
        self.timer.daemon = True

    def __enter__(self):
        self.timer.start()
        return self

    def __exit__(self, *exc):
        self.timer.cancel()
        with self.lock:
            for sock in self.sockets:
                sock.close()

    def watch(self, sock: socket.socket) -> None:
        with self.lock:
            # A duplicate: it reaches the same connection after TLS wraps (and detaches) sock.
            self.sockets.append(sock.dup())
            if self.passed:
                self._shut(self.sockets[-1])
        if self.on_connect:
            self.on_connect()

    def connection(self, cls):
        """A factory for urllib's do_open: ``cls`` connections that this deadline watches."""
        def make(host, timeout, **kwargs):
            conn = cls(host, timeout=min(timeout, max(0.01, self.end - time.monotonic())), **kwargs)
            conn.deadline = self
            return conn
        return make

    def _cut(self):
        with self.lock:
            self.passed = True
            for sock in self.sockets:
                self._shut(sock)

    @staticmethod
    def _shut(sock):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


class _WatchedHTTP(http.client.HTTPConnection):
    def connect(self):
        super().connect()
        self.deadline.watch(self.sock)


class _WatchedHTTPS(http.client.HTTPSConnection, _WatchedHTTP):
    # HTTPSConnection.connect calls _WatchedHTTP.connect (the TCP connection), then adds TLS.
    pass


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, deadline):
        super().__init__()
        self.deadline = deadline

    def http_open(self, req):
        return self.do_open(self.deadline.connection(_WatchedHTTP), req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, deadline):
        self.context = ssl.create_default_context()
        super().__init__(context=self.context)
        self.deadline = deadline

    def https_open(self, req):
        return self.do_open(self.deadline.connection(_WatchedHTTPS), req, context=self.context)


def _opener(deadline: _Deadline) -> urllib.request.OpenerDirector:
    """urllib's opener (proxies, redirects) whose connections ``deadline`` can cut."""
    return urllib.request.build_opener(_HTTPHandler(deadline), _HTTPSHandler(deadline))


def _check_download(blob: bytes, name: str) -> bytes:
    """The decompressed content of ``blob``; ValueError unless it is the gzip of MNIST ``name``."""
    if _looks_like_html(blob):
        raise ValueError("the server sent an HTML page instead of the file")
    if blob[:2] != b"\x1f\x8b":
        raise ValueError("the server did not send a gzip file")
    size, sha256 = MNIST_FILES[name]
    data = _gunzip(blob, size, "the size of the original file")
    if len(data) != size:
        raise ValueError(f"wrong size after decompression: {len(data)} bytes, expected {size}")
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ValueError("sha256 checksum mismatch")
    return data


def _save(directory: Path, name: str, blob: bytes) -> None:
    """Write ``blob`` to ``directory/name`` atomically: a reader never sees half a file.

    The file gets the permissions of any new file (0666 less the umask), so that other users
    can read a shared cache; a temporary file would otherwise keep its private 0600.
    """
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f".{name}.{secrets.token_hex(6)}.part"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
        os.replace(tmp, directory / name)
    finally:
        with contextlib.suppress(FileNotFoundError):
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
        return f"timed out after {timeout:g} s"
    if isinstance(err, (EOFError, zlib.error)):
        return f"corrupt gzip data ({err})"
    return str(err) or type(err).__name__
