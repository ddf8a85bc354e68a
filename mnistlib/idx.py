"""The IDX file format (notebook 01), and the errors the data modules share.

MNIST is stored in IDX files: two zero bytes, a type code, the number of dimensions,
each dimension as a 4-byte big-endian integer, then the values. ``read_idx`` reads one,
raw or gzip-compressed, and checks that the header matches the file's size. Gzip data is
never decompressed beyond the size the file should have: a small file can hold
gigabytes of zeros.

The errors, for ``data``, ``download`` and this module alike: ``MnistDataError`` (a file
is missing, damaged or not MNIST's), ``DownloadError`` (no mirror delivered a correct
file in time) and ``CacheDirError`` (the cache directory cannot be written).
"""

import os
import zlib
from pathlib import Path

import numpy as np

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
    array = parse_idx(read_decompressed(path), path.name)
    # The array is a view of the file's content, which nothing else holds: the caller can
    # have it as it is. Only values stored big-endian are converted (into a copy).
    array = array.astype(array.dtype.newbyteorder("="), copy=False)
    return array if array.flags.writeable else array.copy()


def read_decompressed(path: Path, size: int | None = None) -> bytearray:
    """The content of ``path``, decompressed if it is gzip (recognized by its magic bytes).

    size: the size the content must have; gzip data is never decompressed beyond it (a
    small file can hold gigabytes of zeros). None: the size its IDX header announces.
    A bytearray, so that arrays made from it (``parse_idx``) are writable without a copy.
    """
    if path.is_dir():
        raise IsADirectoryError(f"{path}: this is a directory, not a file; give the path of "
                                "an IDX file (e.g. train-images-idx3-ubyte)")
    if not path.is_file():
        raise FileNotFoundError(f"{path.name}: no such file in {path.parent}")
    with path.open("rb") as f:
        # Read straight into the bytearray: bytes, then a bytearray of them, would be two copies.
        data = bytearray(os.fstat(f.fileno()).st_size)
        del data[f.readinto(data):]         # a file that shrank since fstat: keep what was read
    if data[:2] != b"\x1f\x8b":
        return data
    try:
        if size is None:
            head, complete = _gunzip_head(data)
            size = _idx_size(head)
            if size is None:  # not an IDX header: parse_idx says what is wrong with it
                if not complete:
                    raise EOFError("the data ends before the end of the gzip stream")
                return head
            return gunzip(data, size, "the size its IDX header announces")
        return gunzip(data, size, "the size of the original file")
    except _TooLarge as err:
        raise MnistDataError(f"{path.name}: {err}; delete it and download again") from None
    except (OSError, EOFError, zlib.error) as err:
        raise MnistDataError(
            f"{path.name}: the gzip data is corrupt or incomplete ({err}); "
            "delete it and download again"
        ) from None


class _TooLarge(ValueError):
    """Gzip data that decompresses to more than it may."""


GUNZIP_PIECE = 1 << 20      # compressed bytes fed to zlib at a time, and most bytes it may give back


def gunzip(blob, size: int, what: str) -> bytearray:
    """Decompress gzip ``blob``, but never to more than ``size`` bytes (``what`` says whose size).

    Raises a ValueError beyond that, EOFError or zlib.error if the data is damaged. Like
    gzip.decompress it accepts several gzip members one after the other, and zero padding.
    The content is appended to one bytearray a piece at a time, so it is never held twice.
    """
    out, rest = bytearray(), blob
    while rest:
        if rest[:2] != b"\x1f\x8b":
            raise zlib.error("data after the end of the gzip stream is not gzip")
        stream = zlib.decompressobj(wbits=31)   # 31: gzip header and trailer, checked
        fed = 0
        while not stream.eof:
            pending = stream.unconsumed_tail
            if not pending:
                # zlib took all it was given: feed it the next slice (all of the input at
                # once would have it copy what it leaves over, megabytes, at every step).
                pending = memoryview(rest)[fed:fed + GUNZIP_PIECE]
                fed += len(pending)
            # Ask for one byte more than allowed: getting it proves there is too much.
            part = stream.decompress(pending, min(GUNZIP_PIECE, size + 1 - len(out)))
            out += part
            if len(out) > size:
                raise _TooLarge(f"the gzip data decompresses to more than {size} bytes, {what}")
            if not part and not pending:
                raise EOFError("the data ends before the end of the gzip stream")
        rest = (stream.unused_data + rest[fed:]).lstrip(b"\x00")
    return out


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


def parse_idx(data: bytes, name: str) -> np.ndarray:
    """Check the IDX header of ``data`` against its size; return a view of the values.

    The view is writable if ``data`` is (a bytearray), read-only if it is bytes.

    name: the file's name, which starts every ``MnistDataError`` message.
    """
    def fail(problem, advice="delete it and download again"):
        raise MnistDataError(f"{name}: {problem}; {advice}")

    if not data:
        fail("the file is empty (0 bytes)")
    if looks_like_html(data):
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


def looks_like_html(data: bytes) -> bool:
    """True if ``data`` starts like a web page ("<!DOCTYPE", "<html", ...) rather than binary data."""
    # Only look at the start: stripping the whole of a 47 MB file would copy it.
    return data[:256].lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"<"

