"""A fresh laptop without Chromium and without the full MNIST, for real: pytest in a subprocess.

Not browser tests themselves (they run everywhere): they check what the test
suite says and returns where the browser tests or the notebooks cannot run.
On such a machine the run passes and its last lines say what was skipped and
why; in CI (CI=true) the same skips fail the run.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = "notebooks/00_start_here.ipynb"


@pytest.fixture(scope="module")
def fresh_clone(tmp_path_factory):
    """The files a test run needs, copied where no ../shared/data/mnist is beside them."""
    root = tmp_path_factory.mktemp("fresh") / "repo"
    for name in ("conftest.py", "pyproject.toml", "tests/conftest.py", "tests/nbval_sanitize.cfg", NOTEBOOK):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO_ROOT / name, root / name)
    shutil.copytree(REPO_ROOT / "tests" / "browser", root / "tests" / "browser",
                    ignore=shutil.ignore_patterns("__pycache__"))
    assert not (root.parent / "shared").exists()
    return root


def run_pytest(root, **env):
    """pytest on the harness test and one notebook, as on a laptop with neither Chromium nor MNIST."""
    full_env = {k: v for k, v in os.environ.items() if k not in ("MNIST_DATA_DIR", "CI", "CHROMIUM")}
    full_env.update(CHROMIUM=str(root / "no-chromium-here"), MNISTLIB_CACHE_DIR=str(root / "empty-cache"),
                    MNIST_MIRRORS="http://127.0.0.1:9/", **env)   # port 9: the download fails at once
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "tests/browser/test_harness.py", NOTEBOOK],
                          cwd=root, env=full_env, capture_output=True, text=True, timeout=300)


def test_without_chromium_or_mnist_the_run_passes_and_says_why(fresh_clone):
    r = run_pytest(fresh_clone)
    assert r.returncode == 0, r.stdout + r.stderr
    last = r.stdout.strip().splitlines()[-3:]
    browser = next((line for line in last if "browser tests skipped" in line), None)
    assert browser == (f"2 browser tests skipped: Chromium not found at {fresh_clone / 'no-chromium-here'}; "
                       "install it with: sudo bash .ci/browser-deps (or set CHROMIUM=/path/to/chromium)"), last
    cells = next((line for line in last if "notebook cells skipped" in line), None)
    assert cells and "the full MNIST is not on this machine" in cells, last
    assert "python -m mnistlib download" in cells
    assert r.stdout.count("browser tests skipped") == 1, "the reason is said once, not per test"
    assert " skipped in " in last[-1] and "passed" not in last[-1] and "error" not in last[-1], last


def test_in_ci_the_same_skips_fail_the_run(fresh_clone):
    r = run_pytest(fresh_clone, CI="true")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "2 browser tests FAILED in CI, where nothing may be skipped: Chromium not found" in r.stdout
    assert "notebook cells FAILED in CI, where nothing may be skipped: the full MNIST" in r.stdout
    assert "skipped in CI, where nothing may be skipped" in r.stdout     # each test says why too
