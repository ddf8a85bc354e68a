"""Test set-up shared by tests/ and notebooks/.

The stored notebook outputs were made with the full MNIST, so nbval can only
compare them when the full set is here too. Before the tests start, find it:
MNIST_DATA_DIR, else ../shared/data/mnist beside the repository, else the
per-user cache, else one download attempt. If none works (offline, no copy),
the notebooks are skipped with the reason, and every other test still runs.
"""

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
_full_mnist = {"available": None, "why": ""}


def _find_full_mnist():
    from mnistlib import data

    if os.environ.get("MNIST_DATA_DIR"):
        return True, ""
    beside = ROOT.parent / "shared" / "data" / "mnist"
    if beside.is_dir():
        os.environ["MNIST_DATA_DIR"] = str(beside)   # the notebooks' kernels inherit it
        return True, ""
    try:
        data.download_mnist(progress=False)          # a no-op when the cache has it
        return True, ""
    except data.DownloadError:
        return False, ("the stored notebook outputs come from the full MNIST, which is not here "
                       "and could not be downloaded; run `python -m mnistlib download` or set "
                       "MNIST_DATA_DIR")


def pytest_collection_modifyitems(config, items):
    notebooks = [item for item in items if item.nodeid.endswith(".ipynb") or ".ipynb::" in item.nodeid]
    if not notebooks:
        return
    if _full_mnist["available"] is None:
        _full_mnist["available"], _full_mnist["why"] = _find_full_mnist()
    if not _full_mnist["available"]:
        skip = pytest.mark.skip(reason=_full_mnist["why"])
        for item in notebooks:
            item.add_marker(skip)
