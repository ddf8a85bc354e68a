"""Tests for mnistlib.data: load_mnist on the subset and the full set, one_hot, the validation split.

The IDX format is tested in test_idx.py, the download and the cache in test_download.py.
"""

import gzip
import hashlib
import shutil
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from mnistlib import data, download, idx
from mnistlib.data import MNIST_FILES, MnistDataError, load_mnist, one_hot

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]

SUBSET_LINE = ("MNIST: the full set is not in the cache and download=False; "
               "using the bundled subset of 4000 training and 1000 test images\n")


def closed_port_url() -> str:
    """A loopback URL on which nothing listens: connections are refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """No MNIST_DATA_DIR, an empty cache and unreachable mirrors: only the subset is left."""
    monkeypatch.delenv("MNIST_DATA_DIR", raising=False)
    monkeypatch.setenv("MNISTLIB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("MNIST_MIRRORS", closed_port_url())
    return tmp_path / "cache"


# --- the names mnistlib.data has always offered ----------------------------------------------

def test_names_that_moved_to_idx_and_download_still_import_from_data():
    # Notebooks, scripts and teachers' code import these from mnistlib.data; they live in
    # mnistlib.idx and mnistlib.download, and must be the very same objects here.
    moved = {idx: ["read_idx", "IDX_DTYPES", "MnistDataError", "DownloadError", "CacheDirError"],
             download: ["download_mnist", "default_cache_dir", "check_cache_dir", "mirror_list",
                        "MNIST_FILES", "DEFAULT_MIRRORS", "DOWNLOAD_DEADLINE", "STALE_PART_SECONDS"]}
    for module, names in moved.items():
        for name in names:
            assert getattr(data, name) is getattr(module, name), name
            assert name in data.__all__, name
    assert {"MNIST", "SUBSET_PATH", "SHAPES", "DTYPES", "load_mnist", "one_hot", "train_val_split",
            "validation_rows", "validation_split", "validation_set"} <= set(data.__all__)


# --- one_hot -------------------------------------------------------------------------------

def test_one_hot():
    encoded = one_hot(np.array([2, 0, 9]))
    assert encoded.shape == (3, 10) and encoded.dtype == np.float32
    np.testing.assert_array_equal(encoded.sum(axis=1), 1)
    np.testing.assert_array_equal(encoded.argmax(axis=1), [2, 0, 9])
    assert one_hot([1, 0], k=2).tolist() == [[0, 1], [1, 0]]
    assert one_hot(np.array([], dtype=int)).shape == (0, 10)


@pytest.mark.parametrize("bad", [[10], [-1], [0.5], [[1, 2]]])
def test_one_hot_rejects_bad_labels(bad):
    with pytest.raises(ValueError):
        one_hot(np.array(bad))


# --- load_mnist on the bundled subset --------------------------------------------------------

def test_subset_default(offline, capsys):
    d = load_mnist(download=False)
    assert capsys.readouterr().out == SUBSET_LINE
    assert d.source == "bundled subset" and d.path is None and not d.is_full
    assert d.x_train.shape == (4000, 784) and d.x_test.shape == (1000, 784)
    assert d.x_train.dtype == d.x_test.dtype == np.float32
    assert d.y_train.shape == (4000,) and d.y_test.shape == (1000,)
    assert d.y_train.dtype == d.y_test.dtype == np.int64
    assert 0.0 == d.x_train.min() and d.x_train.max() == 1.0
    assert "MNIST(source='bundled subset', x_train: (4000, 784) float32" in repr(d)


def test_subset_options(offline):
    raw = load_mnist(shape="image", dtype="uint8", download=False, verbose=False)
    assert raw.x_train.shape == (4000, 28, 28) and raw.x_train.dtype == np.uint8
    assert raw.x_test.shape == (1000, 28, 28) and raw.x_train.max() == 255
    flat = load_mnist(one_hot=True, download=False, verbose=False)
    assert flat.y_train.shape == (4000, 10) and flat.y_train.dtype == np.float32
    np.testing.assert_array_equal(flat.y_train.argmax(axis=1), raw.y_train)
    np.testing.assert_array_equal(flat.y_test.argmax(axis=1), raw.y_test)
    np.testing.assert_array_equal(flat.x_train, raw.x_train.reshape(4000, 784) / np.float32(255))
    raw.x_train[0, 0, 0] = 7  # writable, and not shared with the next call
    assert load_mnist(dtype="uint8", download=False, verbose=False).x_train[0, 0] == 0


def test_subset_split_is_stratified_and_disjoint(offline):
    d = load_mnist(shape="image", dtype="uint8", download=False, verbose=False)
    assert np.bincount(d.y_train).tolist() == [400] * 10
    assert np.bincount(d.y_test).tolist() == [100] * 10
    train = {image.tobytes() for image in d.x_train}
    test = {image.tobytes() for image in d.x_test}
    assert len(train) == 4000 and len(test) == 1000 and not train & test
    assert d.y_train[:10].tolist() != sorted(d.y_train[:10])  # shuffled, not grouped by digit


def test_subset_file_is_small():
    assert data.SUBSET_PATH.stat().st_size < 1.5e6
    with np.load(data.SUBSET_PATH) as npz:
        assert sorted(npz.files) == ["x_test", "x_train", "y_test", "y_train"]
        assert all(npz[key].dtype == np.uint8 for key in npz.files)


def test_quiet_prints_nothing(offline, capsys):
    load_mnist(download=False, verbose=False)
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("option", [{"shape": "square"}, {"dtype": "float64"}, {"dtype": np.uint8}])
def test_bad_options(offline, option):
    with pytest.raises(ValueError, match="must be one of"):
        load_mnist(**option)


# --- a chosen directory must hold MNIST: no silent fallback ---------------------------------

def test_empty_directory_argument_is_an_error(offline, tmp_path):
    with pytest.raises(MnistDataError, match="train-images-idx3-ubyte: not found"):
        load_mnist(tmp_path)


def test_empty_directory_in_env_is_an_error(offline, tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_DATA_DIR", str(tmp_path))
    with pytest.raises(MnistDataError, match="not found"):
        load_mnist()


def test_missing_directory_is_an_error(offline, tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_DATA_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(MnistDataError, match="the directory in MNIST_DATA_DIR .* does not exist"):
        load_mnist()
    with pytest.raises(MnistDataError, match="the given directory .* does not exist"):
        load_mnist(tmp_path / "nowhere")


def test_data_dir_that_is_a_file_says_so(offline, tmp_path, monkeypatch):
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(b"")
    monkeypatch.setenv("MNIST_DATA_DIR", str(tmp_path / "train-images-idx3-ubyte.gz"))
    with pytest.raises(MnistDataError) as info:
        load_mnist()
    assert str(info.value) == (
        f"the directory in MNIST_DATA_DIR ({tmp_path / 'train-images-idx3-ubyte.gz'}) is a "
        f"file, not a directory; give the directory that holds the four MNIST files "
        f"(perhaps {tmp_path})")


def test_unreadable_file_in_the_chosen_directory_says_so(mnist_dir, shared_dir, as_student):
    chosen = shared_dir / "mnist"
    shutil.copytree(mnist_dir, chosen)
    (chosen / "t10k-images-idx3-ubyte.gz").chmod(0o000)
    code = ("from mnistlib.data import load_mnist, MnistDataError\n"
            "try:\n    load_mnist()\nexcept MnistDataError as e:\n    print(e)")
    r = as_student("-c", code, env={"MNIST_DATA_DIR": str(chosen)})
    assert r.returncode == 0, r.stderr
    assert r.stdout == ("t10k-images-idx3-ubyte.gz: cannot read it (Permission denied); make it "
                        f"readable (chmod a+r {chosen / 't10k-images-idx3-ubyte.gz'}) or give "
                        "another directory\n")


# --- the full MNIST ------------------------------------------------------------------------

def test_full_set_files_match_checksums(mnist_dir):
    for name, (size, sha256) in MNIST_FILES.items():
        path = mnist_dir / name if (mnist_dir / name).exists() else mnist_dir / f"{name}.gz"
        content = path.read_bytes()
        content = gzip.decompress(content) if content[:2] == b"\x1f\x8b" else content
        assert len(content) == size
        assert hashlib.sha256(content).hexdigest() == sha256


def test_full_set_from_env(mnist_dir, offline, monkeypatch, capsys):
    monkeypatch.setenv("MNIST_DATA_DIR", str(mnist_dir))
    start = time.perf_counter()
    d = load_mnist()
    seconds = time.perf_counter() - start
    assert capsys.readouterr().out == (
        "MNIST: 60000 training and 10000 test images from the directory in MNIST_DATA_DIR\n")
    assert d.source == "directory" and d.path == str(mnist_dir) and d.is_full
    assert d.x_train.shape == (60000, 784) and d.x_test.shape == (10000, 784)
    assert d.x_train.dtype == np.float32 and d.y_train.dtype == np.int64
    assert d.x_train.min() == 0.0 and d.x_train.max() == 1.0
    assert np.bincount(d.y_train).tolist() == TRAIN_COUNTS
    assert np.bincount(d.y_test).tolist() == TEST_COUNTS
    assert d.y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert seconds < 5, f"loading the full set took {seconds:.1f} s"


def test_full_set_from_argument_as_images(mnist_dir, offline, capsys):
    d = load_mnist(mnist_dir, shape="image", dtype="uint8", one_hot=True)
    assert capsys.readouterr().out.endswith("images from the given directory\n")
    assert d.x_train.shape == (60000, 28, 28) and d.x_train.dtype == np.uint8
    assert d.y_test.shape == (10000, 10) and d.y_test.sum(axis=0).tolist() == TEST_COUNTS


@pytest.fixture
def mnist_copy(mnist_dir, tmp_path):
    """A writable copy of the four MNIST files, as .gz, in tmp_path/"copy"."""
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in MNIST_FILES:
        source = mnist_dir / f"{name}.gz"
        if source.exists():
            shutil.copyfile(source, copy / source.name)
        else:
            (copy / source.name).write_bytes(gzip.compress((mnist_dir / name).read_bytes(), 1))
    return copy


def test_directory_with_damaged_file_is_an_error(mnist_copy, offline):
    labels = mnist_copy / "t10k-labels-idx1-ubyte.gz"
    labels.write_bytes(labels.read_bytes()[:-50])
    with pytest.raises(MnistDataError, match="t10k-labels-idx1-ubyte.gz: the gzip data is corrupt"):
        load_mnist(mnist_copy)


def test_directory_with_other_data_fails_the_checksum(mnist_copy, offline):
    # A well-formed IDX file of the right shape whose content is not MNIST's: 10000 zeros.
    (mnist_copy / "t10k-labels-idx1-ubyte.gz").unlink()
    (mnist_copy / "t10k-labels-idx1-ubyte").write_bytes(
        bytes([0, 0, 0x08, 1]) + (10000).to_bytes(4, "big") + bytes(10000))
    with pytest.raises(MnistDataError, match="t10k-labels-idx1-ubyte: .*sha256"):
        load_mnist(mnist_copy)


def test_full_set_from_the_cache(mnist_copy, offline, monkeypatch, capsys):
    monkeypatch.setenv("MNISTLIB_CACHE_DIR", str(mnist_copy))
    d = load_mnist(download=False)
    assert capsys.readouterr().out == (
        "MNIST: 60000 training and 10000 test images from the cache\n")
    assert d.source == "cache" and d.is_full and d.path == str(mnist_copy)


def test_damaged_cached_file_is_reported_and_deleted(mnist_copy, offline, monkeypatch, capsys):
    monkeypatch.setenv("MNISTLIB_CACHE_DIR", str(mnist_copy))
    labels = mnist_copy / "train-labels-idx1-ubyte.gz"
    labels.write_bytes(b"<!DOCTYPE html><title>503</title>")
    d = load_mnist(download=False)
    out = capsys.readouterr().out
    assert out == ("MNIST: deleted a damaged file from the cache (train-labels-idx1-ubyte.gz: "
                   "this looks like an HTML page, probably an error page from a failed download)\n"
                   + SUBSET_LINE)
    assert d.source == "bundled subset" and not labels.exists()

# --- validation split -----------------------------------------------------------------------

def test_train_val_split_holds_out_one_in_six_disjoint_and_repeatable():
    from mnistlib.data import train_val_split
    x = np.arange(600, dtype=np.float32).reshape(600, 1)
    y = np.arange(600) % 10
    xt, yt, xv, yv = train_val_split(x, y)
    assert (len(xt), len(xv)) == (500, 100)
    assert set(xt[:, 0]).isdisjoint(xv[:, 0]) and len(set(xt[:, 0]) | set(xv[:, 0])) == 600
    assert np.array_equal(yv, xv[:, 0].astype(int) % 10)           # labels stay with their images
    again = train_val_split(x, y)
    assert all(np.array_equal(a, b) for a, b in zip((xt, yt, xv, yv), again))
    assert not np.array_equal(train_val_split(x, y, seed=1)[2], xv)


@pytest.mark.parametrize("n_val", [0, 600, -1, 2.5, True, "10"])
def test_train_val_split_rejects_impossible_sizes(n_val):
    from mnistlib.data import train_val_split
    with pytest.raises(ValueError, match="n_val"):
        train_val_split(np.zeros((600, 784)), np.zeros(600, int), n_val=n_val)


def test_validation_rows_are_train_val_splits_rows():
    from mnistlib.data import train_val_split, validation_rows
    train, val = validation_rows(600)
    assert len(train) == 500 and len(val) == 100
    assert np.all(np.diff(train) > 0) and np.all(np.diff(val) > 0)          # sorted, no repeats
    assert np.array_equal(np.sort(np.concatenate([train, val])), np.arange(600))
    rows = np.arange(600)
    xt, _, xv, _ = train_val_split(rows, rows, n_val=37, seed=4)
    assert [np.array_equal(a, b) for a, b in zip((xt, xv), validation_rows(600, 37, seed=4))] == [True, True]
    with pytest.raises(ValueError, match="n_val"):
        validation_rows(600, n_val=600)


def split_by_hand(d):
    """load_mnist()'s result d split as before load_mnist(validation=True): train_val_split."""
    from mnistlib.data import train_val_split
    return train_val_split(d.x_train, d.y_train)


def assert_same_split(split, d):
    """split (loaded with validation=True) holds what train_val_split makes of d (loaded without)."""
    for got, expected in zip((split.x_train, split.y_train, split.x_val, split.y_val), split_by_hand(d)):
        assert got.dtype == expected.dtype and np.array_equal(got, expected)
    assert np.array_equal(split.x_test, d.x_test) and np.array_equal(split.y_test, d.y_test)
    assert (split.source, split.path, split.is_full) == (d.source, d.path, d.is_full)


@pytest.mark.parametrize("options", [{}, {"shape": "image", "dtype": "uint8"}, {"one_hot": True}])
def test_loading_with_validation_gives_train_val_splits_sets(offline, options):
    d = load_mnist(download=False, verbose=False, **options)
    split = load_mnist(validation=True, download=False, verbose=False, **options)
    assert_same_split(split, d)
    assert len(split.x_train) == 3334 and len(split.x_val) == 666 and not split.is_full
    assert d.x_val is None and d.y_val is None
    split.x_train[0] = 0                # writable, as without validation
    assert "x_val: (666," in repr(split) and "x_val" not in repr(d)


def test_validation_split_and_set_of_either_kind_of_result(offline):
    from mnistlib.data import validation_set, validation_split
    d = load_mnist(download=False, verbose=False)
    split = load_mnist(validation=True, download=False, verbose=False)
    for got, expected in zip(validation_split(d), split_by_hand(d)):
        assert np.array_equal(got, expected)
    assert all(got is mine for got, mine in zip(validation_split(split), (split.x_train, split.y_train,
                                                                          split.x_val, split.y_val)))
    assert all(np.array_equal(a, b) for a, b in zip(validation_set(d), (split.x_val, split.y_val)))
    assert validation_set(split)[0] is split.x_val


@pytest.mark.parametrize("bad", [1, "yes", None])
def test_validation_must_be_true_or_false(offline, bad):
    with pytest.raises(ValueError, match="validation must be True or False"):
        load_mnist(validation=bad, download=False)


def test_full_set_with_validation_is_the_split_of_the_full_set(mnist_dir, offline):
    d = load_mnist(mnist_dir, verbose=False)
    split = load_mnist(mnist_dir, validation=True, verbose=False)
    assert_same_split(split, d)
    assert (len(split.x_train), len(split.x_val), len(split.x_test)) == (50000, 10000, 10000)
    assert split.is_full and split.y_val[0] == 5       # image 0 (a 5) is a validation image


PEAK_OF_LOADING = """
import sys
sys.path.insert(0, {root!r})
from mnistlib.data import load_mnist

def peak_mb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024

before = peak_mb()
d = load_mnist({directory!r}, validation=True, verbose=False)
print(peak_mb() - before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the peak memory from /proc")
def test_loading_the_full_set_with_validation_holds_each_image_once(mnist_dir):
    # The float32 images (188 MB of training and validation images, 31 MB of test images) and,
    # while they are converted, the raw training and test images (55 MB): splitting after
    # loading would add a second copy of the training images (188 MB).
    code = PEAK_OF_LOADING.format(root=str(data.SUBSET_PATH.parents[2]), directory=str(mnist_dir))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert float(out.stdout) < 188 + 31 + 55 + 30, out.stdout


@pytest.mark.parametrize("chunk", [1, 7, 1000])
def test_images_converted_a_chunk_at_a_time_are_the_images_converted_at_once(offline, monkeypatch, chunk):
    # 3334 training, 666 validation and 1000 test images: chunks that end mid-set and a last short one
    stored = load_mnist(shape="image", dtype="uint8", validation=True, download=False, verbose=False)
    monkeypatch.setattr(data, "CONVERT_CHUNK", chunk)
    split = load_mnist(validation=True, download=False, verbose=False)
    for got, raw in ((split.x_train, stored.x_train), (split.x_val, stored.x_val), (split.x_test, stored.x_test)):
        assert got.dtype == np.float32 and got.shape == (len(raw), 784)
        np.testing.assert_array_equal(got, raw.reshape(len(raw), 784) / np.float32(255))
