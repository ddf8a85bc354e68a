"""The stored notebook outputs hold on another machine, not only on the one that made them.

nbval compares every cell's output with the stored one. Training in float32 gives
results whose last digits depend on the order in which BLAS adds up the products,
and that order differs between BLAS builds and CPU kernels (a laptop's numpy is
rarely the machine's that executed the notebooks). Such cells are marked
``# NBVAL_IGNORE_OUTPUT`` and their numbers checked by asserts instead (see
CONTRIBUTING.md). This test re-runs nbval with OpenBLAS forced onto another kernel,
so that a new cell whose printed digits depend on it fails here, not in a classroom.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OTHER_KERNEL = "Sandybridge"      # AVX without FMA: products summed differently from Haswell's or SkylakeX's


def _openblas():
    import numpy  # noqa: F401  (threadpoolctl sees only the libraries already loaded)
    from threadpoolctl import threadpool_info

    return [i for i in threadpool_info() if i.get("internal_api") == "openblas"]


@pytest.mark.slow
def test_notebook_outputs_do_not_depend_on_the_blas_kernel(mnist_dir):
    found = _openblas()
    if not found:
        pytest.skip("numpy does not use OpenBLAS here, so its kernel cannot be switched for this test")
    if os.environ.get("OPENBLAS_CORETYPE", "").lower() == OTHER_KERNEL.lower():
        pytest.skip(f"OPENBLAS_CORETYPE is already {OTHER_KERNEL}: the main nbval run is this test")
    env = {**os.environ, "OPENBLAS_CORETYPE": OTHER_KERNEL, "MNIST_DATA_DIR": str(mnist_dir),
           "PYTHONDONTWRITEBYTECODE": "1"}
    check = subprocess.run([sys.executable, "-c", "import numpy; from threadpoolctl import threadpool_info as t; "
                            "print([i.get('architecture') for i in t() if i.get('internal_api') == 'openblas'])"],
                           env=env, capture_output=True, text=True, cwd=ROOT)
    if OTHER_KERNEL.lower() not in check.stdout.lower():
        pytest.skip(f"this OpenBLAS does not switch kernels (it reports {check.stdout.strip()}); "
                    "nothing to compare")
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "notebooks"],
                         env=env, capture_output=True, text=True, cwd=ROOT, timeout=1800)
    tail = "\n".join(run.stdout.splitlines()[-30:])
    assert run.returncode == 0, (f"with OPENBLAS_CORETYPE={OTHER_KERNEL}, some stored outputs differ "
                                 f"(mark such cells as CONTRIBUTING.md says):\n{tail}")
