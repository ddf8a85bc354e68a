"""Tests for mnistlib.idx: reading IDX files, damaged files, gzip bombs, the shared errors."""

import gzip
import tracemalloc
import zlib

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from mnistlib.idx import DownloadError, MnistDataError, read_idx

CODES = {"u1": 0x08, "i1": 0x09, ">i2": 0x0B, ">i4": 0x0C, ">f4": 0x0D, ">f8": 0x0E}


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode ``array`` as an IDX file (big-endian header and values)."""
    dtype = array.dtype.newbyteorder(">") if array.dtype.itemsize > 1 else array.dtype
    header = bytes([0, 0, CODES[dtype.str.replace("|", "")], array.ndim])
    header += b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.astype(dtype).tobytes()


# --- read_idx ------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", list(CODES))
@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_round_trip(tmp_path, dtype, compress):
    array = (np.arange(2 * 3 * 4) - 7).reshape(2, 3, 4).astype(dtype)
    blob = idx_bytes(array)
    path = tmp_path / ("a.idx.gz" if compress else "a.idx")
    path.write_bytes(gzip.compress(blob) if compress else blob)
    result = read_idx(path)
    assert result.shape == (2, 3, 4)
    assert result.dtype == np.dtype(dtype).newbyteorder("=")
    assert result.dtype.isnative
    np.testing.assert_array_equal(result, array)
    result[0, 0, 0] = 1  # the caller owns a writable copy


def test_read_idx_detects_gzip_by_content_not_name(tmp_path):
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    (tmp_path / "labels").write_bytes(gzip.compress(idx_bytes(labels)))
    (tmp_path / "labels.gz").write_bytes(idx_bytes(labels))
    np.testing.assert_array_equal(read_idx(tmp_path / "labels"), labels)
    np.testing.assert_array_equal(read_idx(str(tmp_path / "labels.gz")), labels)


def test_read_idx_mnist_shaped_header(tmp_path):
    images = np.zeros((2, 28, 28), dtype=np.uint8)
    blob = idx_bytes(images)
    assert int.from_bytes(blob[:4], "big") == 2051
    assert int.from_bytes(idx_bytes(np.zeros(2, np.uint8))[:4], "big") == 2049
    (tmp_path / "x").write_bytes(blob)
    assert read_idx(tmp_path / "x").shape == (2, 28, 28)


GOOD = idx_bytes(np.arange(3 * 28 * 28).reshape(3, 28, 28).astype(np.uint8))  # 2368 bytes
GOOD_GZ = gzip.compress(GOOD)
CORRUPT_GZ = GOOD_GZ[:30] + bytes(b ^ 0xFF for b in GOOD_GZ[30:60]) + GOOD_GZ[60:]

DAMAGED = {
    "empty": (b"", ["empty"]),
    "too short": (b"\x00\x00\x08", ["truncated", "3 bytes"]),
    "header cut": (GOOD[:10], ["truncated", "3 dimensions", "16 header bytes", "only 10 bytes"]),
    "data cut": (GOOD[:-100], ["truncated", "3 x 28 x 28", "needs 2368 bytes", "only 2268 bytes",
                               "download again"]),
    "extra bytes": (GOOD + b"\x00" * 5, ["5 extra bytes", "needs 2368 bytes", "has 2373 bytes"]),
    "wrong magic": (b"\x01\x02" + GOOD[2:], ["wrong magic number", "0x0102", "not an IDX file"]),
    "unknown type": (GOOD[:2] + b"\x0a" + GOOD[3:], ["unknown IDX type code 0x0a"]),
    "doctype": (b"<!DOCTYPE html><html><body>404 Not Found</body></html>",
                ["looks like an HTML page", "error page", "delete it and download again"]),
    "html": (b"\n  <html><head><title>Error</title></head></html>", ["HTML page"]),
    "html in gzip": (gzip.compress(b"<html>Access denied</html>"), ["HTML page"]),
    "gzip cut": (GOOD_GZ[: len(GOOD_GZ) // 2], ["gzip", "corrupt or incomplete", "download"]),
    "gzip corrupt": (CORRUPT_GZ, ["gzip", "corrupt or incomplete"]),
    "gzip header only": (b"\x1f\x8b", ["gzip", "corrupt or incomplete"]),
}


@pytest.mark.parametrize("case", list(DAMAGED))
def test_read_idx_damaged_file_raises_a_clear_error(tmp_path, case):
    blob, fragments = DAMAGED[case]
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(blob)
    with pytest.raises(MnistDataError) as info:
        read_idx(path)
    message = str(info.value)
    assert message.startswith("train-images-idx3-ubyte.gz: ")
    for fragment in fragments:
        assert fragment in message
    assert "reshape" not in message


def test_errors_are_value_errors_and_download_errors_are_os_errors():
    assert issubclass(MnistDataError, ValueError)
    assert issubclass(DownloadError, MnistDataError)
    assert issubclass(DownloadError, OSError)


def test_read_idx_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte"):
        read_idx(tmp_path / "t10k-labels-idx1-ubyte")


def test_read_idx_on_a_directory_says_it_is_a_directory(tmp_path):
    with pytest.raises(IsADirectoryError, match="this is a directory, not a file; give the path "
                                                "of an IDX file"):
        read_idx(tmp_path)


def gzip_of_header_and_zeros(shape, n_zeros) -> bytes:
    """gzip of an IDX header announcing a uint8 array of ``shape``, followed by n_zeros zeros."""
    stream, zeros = zlib.compressobj(9, zlib.DEFLATED, 31), bytes(2**20)
    header = bytes([0, 0, 0x08, len(shape)]) + b"".join(d.to_bytes(4, "big") for d in shape)
    return (stream.compress(header) + b"".join(stream.compress(zeros[:min(2**20, n_zeros - i)])
                                               for i in range(0, n_zeros, 2**20)) + stream.flush())


def test_read_idx_unpacks_no_more_than_the_header_announces(tmp_path):
    path = tmp_path / "bomb.gz"
    path.write_bytes(gzip_of_header_and_zeros((3, 28, 28), 100 * 2**20))  # 100 KB on disk
    tracemalloc.start()
    try:
        with pytest.raises(MnistDataError) as info:
            read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(info.value) == ("bomb.gz: the gzip data decompresses to more than 2368 bytes, the "
                               "size its IDX header announces; delete it and download again")
    assert peak < 10 * 2**20, f"{peak / 2**20:.0f} MB allocated to read a 2368-byte array"
    # The same header and exactly the announced data is fine, in one or in two gzip members.
    path.write_bytes(gzip_of_header_and_zeros((3, 28, 28), 3 * 28 * 28))
    assert read_idx(path).shape == (3, 28, 28)
    path.write_bytes(gzip.compress(GOOD[:1000]) + gzip.compress(GOOD[1000:]) + bytes(8))
    np.testing.assert_array_equal(read_idx(path), np.arange(3 * 28 * 28).reshape(3, 28, 28) % 256)


@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_holds_the_content_once(tmp_path, compress):
    # Random pixels do not compress: the file is as large as its content (8 MB, many pieces of
    # gzip). The array is the content itself, not a copy of it.
    images = np.random.default_rng(0).integers(0, 256, (10700, 28, 28), dtype=np.uint8)
    blob = gzip.compress(idx_bytes(images), 1) if compress else idx_bytes(images)
    path = tmp_path / "images"
    path.write_bytes(blob)
    del blob
    tracemalloc.start()
    try:
        result = read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(result, images)
    result[0, 0, 0] = 1                          # writable: the caller's own
    size = path.stat().st_size
    assert peak < size * compress + 1.2 * images.nbytes + 2**21, f"{peak / 2**20:.1f} MB"


@pytest.fixture(scope="module")
def scratch_file(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz") / "f"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64) | st.builds(lambda b, n: GOOD[:n] + b, st.binary(max_size=8),
                                           st.integers(0, len(GOOD))))
def test_read_idx_never_fails_with_anything_but_mnist_data_error(scratch_file, blob):
    path = scratch_file
    path.write_bytes(blob)
    try:
        read_idx(path)
    except MnistDataError as err:
        assert str(err).startswith("f: ")

