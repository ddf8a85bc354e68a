"""The command line: python -m mnistlib train / download."""

import os
import subprocess
import sys

import pytest


def run_cli(*args, env=None, cwd=None):
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "mnistlib", *args], capture_output=True,
                          text=True, env=full_env, cwd=cwd, timeout=300)


@pytest.fixture
def offline(tmp_path):
    """No directory, an empty cache, and every mirror unreachable: the bundled subset."""
    env = {"MNIST_DATA_DIR": "", "MNISTLIB_CACHE_DIR": str(tmp_path / "cache"),
           "MNIST_MIRRORS": "http://127.0.0.1:9/"}
    return env


def test_train_offline_uses_the_subset_and_saves_heatmaps(tmp_path, offline):
    out = tmp_path / "w.png"
    r = run_cli("train", "--epochs", "2", "--out", str(out), env=offline)
    assert r.returncode == 0, r.stderr
    assert "bundled subset" in r.stdout
    assert "epoch  2" in r.stdout and "final test accuracy" in r.stdout
    acc = float(r.stdout.split("final test accuracy: ")[1].split()[0])
    assert acc > 0.8
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_train_with_a_diverging_rate_says_what_to_do(tmp_path, offline):
    r = run_cli("train", "--lr", "1000", "--out", str(tmp_path / "w.png"), env=offline)
    assert r.returncode == 1
    assert "diverged" in r.stderr and "try lr=100" in r.stderr
    assert "Traceback" not in r.stderr and "RuntimeWarning" not in r.stderr


def test_download_offline_fails_in_one_clear_message(tmp_path, offline):
    r = run_cli("download", "--timeout", "2", env=offline)
    assert r.returncode == 1
    assert "could not download" in r.stderr and "127.0.0.1:9" in r.stderr
    assert "Traceback" not in r.stderr
    assert not any((tmp_path / "cache").glob("*ubyte*"))


@pytest.mark.slow
def test_train_on_full_mnist_reaches_92_percent(tmp_path, mnist_dir):
    r = run_cli("train", "--out", str(tmp_path / "w.png"), env={"MNIST_DATA_DIR": str(mnist_dir)})
    assert r.returncode == 0, r.stderr
    assert "60000 training" in r.stdout
    acc = float(r.stdout.split("final test accuracy: ")[1].split()[0])
    assert acc >= 0.92
