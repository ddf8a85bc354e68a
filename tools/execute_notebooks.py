"""Execute notebooks in place, so their stored outputs are the ones nbval compares.

    MNIST_DATA_DIR=/path/to/mnist python tools/execute_notebooks.py [notebooks/03_softmax.ipynb ...]

With no arguments, runs every notebook in notebooks/ in order. The committed
outputs must come from the full MNIST (that is what CI runs with), so this
refuses to run unless MNIST_DATA_DIR holds it (or, as in CI, the full set sits
in ../shared/data/mnist beside the repository). Prints each notebook's run time.
Execution timestamps are not stored: they would change every cell on every run.
"""

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent


def execute(path, timeout=600):
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    t = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - t
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    nbformat.write(nb, path)
    return seconds


def main(argv):
    beside = ROOT.parent / "shared" / "data" / "mnist"
    if not os.environ.get("MNIST_DATA_DIR") and beside.is_dir():
        os.environ["MNIST_DATA_DIR"] = str(beside)      # the kernels inherit it
    if not os.environ.get("MNIST_DATA_DIR"):
        sys.exit("Set MNIST_DATA_DIR to a directory holding the full MNIST: "
                 "committed outputs must come from the full data set.")
    paths = [Path(a).resolve() for a in argv] or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    total = 0.0
    for p in paths:
        s = execute(p)
        total += s
        print(f"{p.name:40s} {s:6.1f} s", flush=True)
    print(f"{'total':40s} {total:6.1f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
