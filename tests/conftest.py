"""Shared pytest fixtures (``mnist_dir``, the full MNIST's directory, is in the root conftest.py)."""

import os

import pytest


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
