"""Shared pytest fixtures."""

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The directory with the four full MNIST files: MNIST_DATA_DIR, else ../shared/data/mnist."""
    if os.environ.get("MNIST_DATA_DIR"):
        return Path(os.environ["MNIST_DATA_DIR"])
    shared = REPO_ROOT.parent / "shared" / "data" / "mnist"
    if shared.is_dir():
        return shared
    pytest.skip("full MNIST not available: set MNIST_DATA_DIR or provide ../shared/data/mnist")


@pytest.fixture(scope="session")
def full_mnist(mnist_dir):
    """The full MNIST as float32 (n, 784) arrays, loaded once per test session."""
    from mnistlib.data import load_mnist
    return load_mnist(mnist_dir, verbose=False)


@pytest.fixture(scope="session")
def subset_mnist(tmp_path_factory):
    """The bundled subset, loaded with no directory, no cache and no download."""
    import mnistlib.data as data
    old = {k: os.environ.pop(k, None) for k in ("MNIST_DATA_DIR", "MNISTLIB_CACHE_DIR")}
    os.environ["MNISTLIB_CACHE_DIR"] = str(tmp_path_factory.mktemp("empty-cache"))
    try:
        return data.load_mnist(download=False, verbose=False)
    finally:
        for k, v in old.items():
            os.environ.pop(k, None)
            if v is not None:
                os.environ[k] = v
