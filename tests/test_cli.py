"""The command line: python -m mnistlib train / download."""

import hashlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

# The loopback mirrors of the download tests.
from test_download import (assert_cache_holds_verified_mnist, mirrors, real_files,  # noqa: F401
                           server)

REPO = Path(__file__).resolve().parents[1]


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


def test_train_diverging_by_weight_decay_names_the_weight_decay(tmp_path, offline):
    r = run_cli("train", "--weight-decay", "1e30", "--lr", "1e-6", "--epochs", "1",
                "--out", str(tmp_path / "w.png"), env=offline)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "diverged" in r.stderr and "The weight decay is the cause" in r.stderr
    assert "1 - lr * weight_decay = 1 - 1e-06 * 1e+30 = -1e+24" in r.stderr
    assert "learning rate" not in r.stderr and "try lr=" not in r.stderr


def test_out_without_an_extension_says_the_file_it_really_wrote(tmp_path, offline):
    r = run_cli("train", "--epochs", "1", "--out", str(tmp_path / "weights"), env=offline)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-1] == f"weight heatmaps saved to {tmp_path / 'weights.png'}"
    assert (tmp_path / "weights.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (tmp_path / "weights").exists()


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


# --- every argument is checked before any work starts ------------------------------------------

BAD_TRAIN_ARGUMENTS = {
    "no epochs": (["--epochs", "0"], "argument --epochs: must be at least 1, got '0'"),
    "negative epochs": (["--epochs", "-1"], "argument --epochs: must be at least 1, got '-1'"),
    "fractional epochs": (["--epochs", "2.5"], "argument --epochs: expected a whole number"),
    "negative lr": (["--lr", "-1"], "argument --lr: must be a number above 0, got '-1'"),
    "zero lr": (["--lr", "0"], "argument --lr: must be a number above 0, got '0'"),
    "nan lr": (["--lr", "nan"], "argument --lr: must be a number above 0, got 'nan'"),
    "infinite lr": (["--lr", "inf"], "argument --lr: must be a number above 0, got 'inf'"),
    "zero batch": (["--batch-size", "0"], "argument --batch-size: must be at least 1, got '0'"),
    "batch for full": (["--method", "full", "--batch-size", "10"],
                       "--batch-size applies to --method minibatch only; --method full uses all "
                       "examples per update"),
    "missing data dir": (["--data-dir", "{tmp}/nowhere"],
                         "--data-dir {tmp}/nowhere does not exist; give the directory that holds "
                         "the four MNIST files"),
    "data dir is a file": (["--data-dir", "{tmp}/file"],
                           "--data-dir {tmp}/file is not a directory"),
    "empty data dir": (["--data-dir", "{tmp}"], "train-images-idx3-ubyte: not found"),
    "out in a missing directory": (["--out", "{tmp}/nowhere/w.png"],
                                   "--out {tmp}/nowhere/w.png: the directory {tmp}/nowhere does "
                                   "not exist"),
    "out is a directory": (["--out", "{tmp}"], "--out {tmp}: this is a directory"),
    "negative seed": (["--seed", "-1"], "argument --seed: must be at least 0, got '-1'"),
    "fractional seed": (["--seed", "0.5"], "argument --seed: expected a whole number, got '0.5'"),
    "out of unknown type": (["--out", "{tmp}/w.txt"],
                            "--out {tmp}/w.txt: matplotlib cannot save .txt files; give a file "
                            "name ending in .png"),
}


@pytest.mark.parametrize("case", list(BAD_TRAIN_ARGUMENTS))
def test_bad_train_arguments_are_errors_before_training(case, tmp_path, offline):
    args, message = BAD_TRAIN_ARGUMENTS[case]
    (tmp_path / "file").write_text("")
    r = run_cli("train", *[a.format(tmp=tmp_path) for a in args], env=offline)
    assert r.returncode == 2
    assert r.stderr.splitlines()[0].startswith("usage: python -m mnistlib train")
    assert r.stderr.splitlines()[-1].startswith(
        "python -m mnistlib train: error: " + message.format(tmp=tmp_path)), r.stderr
    assert "Traceback" not in r.stderr
    assert "epoch" not in r.stdout          # nothing was trained
    assert not (tmp_path / "w.txt").exists()


def test_out_that_cannot_be_written_is_an_error_before_training(shared_dir, as_student, tmp_path):
    readonly = shared_dir / "readonly"
    readonly.mkdir(mode=0o555)
    r = as_student("-m", "mnistlib", "train", "--out", str(readonly / "w.png"),
                   env={"MNISTLIB_CACHE_DIR": str(tmp_path / "none"),
                        "MNIST_MIRRORS": "http://127.0.0.1:9/"})
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.splitlines()[-1] == (f"python -m mnistlib train: error: --out "
                                         f"{readonly / 'w.png'}: cannot write there "
                                         "(Permission denied)")
    assert r.stdout == ""


def test_download_into_a_cache_dir_that_cannot_be_written(shared_dir, as_student, tmp_path):
    readonly = shared_dir / "readonly"
    readonly.mkdir(mode=0o555)
    r = as_student("-m", "mnistlib", "download", "--cache-dir", str(readonly),
                   env={"MNIST_MIRRORS": "http://127.0.0.1:9/"})
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.splitlines()[-1] == (
        f"python -m mnistlib download: error: cannot use {readonly} as the MNIST cache: "
        "Permission denied; choose another directory (--cache-dir, or MNISTLIB_CACHE_DIR)")
    (tmp_path / "file").write_text("")
    r = run_cli("download", "--cache-dir", str(tmp_path / "file"))
    assert r.returncode == 2
    assert "a file is in the way, not a directory" in r.stderr.splitlines()[-1]


@pytest.mark.parametrize("args, message", [
    (["--timeout", "0"], "argument --timeout: must be a number above 0, got '0'"),
    (["--deadline", "-5"], "argument --deadline: must be a number above 0, got '-5'"),
    (["--deadline", "soon"], "argument --deadline: expected a number, got 'soon'"),
])
def test_bad_download_arguments(args, message, offline):
    r = run_cli("download", *args, env=offline)
    assert r.returncode == 2
    assert r.stderr.splitlines()[-1] == f"python -m mnistlib download: error: {message}"


def test_method_example_says_one_example_per_update(tmp_path, offline):
    r = run_cli("train", "--method", "example", "--epochs", "1", "--lr", "0.1",
                "--out", str(tmp_path / "w.png"), env=offline)
    assert r.returncode == 0, r.stderr
    assert ("training: example gradient descent, lr=0.1, one example per update, 1 epochs"
            in r.stdout)
    assert "batch size" not in r.stdout


# --- Ctrl-C --------------------------------------------------------------------------------------

def interrupt_when(child, ready, stream="stdout", group=False):
    """Read ``child``'s output until a line contains ``ready``, then send it Ctrl-C (SIGINT; to
    its whole process group, as a terminal does, if ``group``). Returns (stdout, stderr)."""
    pipe = getattr(child, stream)
    seen = ""
    try:
        while ready not in seen:
            line = pipe.readline()
            assert line, f"the command ended before {ready!r}: {seen}"
            seen += line
        if group:
            os.killpg(child.pid, signal.SIGINT)
        else:
            child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    return (seen + out, err) if stream == "stdout" else (out, seen + err)


def popen(cmd, env, **kwargs):
    return subprocess.Popen(cmd, env={**os.environ, **env}, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, **kwargs)


@pytest.mark.skipif(os.name == "nt", reason="SIGINT cannot be sent to a process on Windows")
def test_ctrl_c_in_train_says_interrupted(tmp_path, offline):
    child = popen([sys.executable, "-m", "mnistlib", "train", "--epochs", "100000",
                   "--out", str(tmp_path / "w.png")], offline)
    out, err = interrupt_when(child, "epoch  2")
    assert child.returncode == 130
    assert err == "\ninterrupted; training stopped, nothing was saved\n"
    assert not (tmp_path / "w.png").exists()


@pytest.mark.skipif(os.name == "nt", reason="SIGINT cannot be sent to a process on Windows")
def test_ctrl_c_in_download_leaves_the_cache_intact(real_files, mirrors, server, tmp_path):
    cache = tmp_path / "cache"
    child = popen([sys.executable, "-m", "mnistlib", "download", "--cache-dir", str(cache)],
                  {"MNIST_MIRRORS": mirrors("labelsstuck")[0]})
    out, err = interrupt_when(child, "t10k-labels-idx1-ubyte.gz from", stream="stderr")
    assert child.returncode == 130
    assert "Traceback" not in err
    assert err.endswith("\ninterrupted; the cache is intact (a file is saved only when it is "
                        "complete and verified): run the same command again to fetch the rest\n")
    # The three files that had arrived are kept, verified; nothing half-written is left.
    assert sorted(p.name for p in cache.iterdir()) == [
        "t10k-images-idx3-ubyte.gz", "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]
    r = run_cli("download", "--cache-dir", str(cache), env={"MNIST_MIRRORS": mirrors("good")[0]})
    assert r.returncode == 0, r.stderr
    assert server.requests[-1] == "/good/t10k-labels-idx1-ubyte.gz"
    assert_cache_holds_verified_mnist(cache)


@pytest.fixture
def run_py(tmp_path):
    """A copy of run.py whose set-up is already done: its .venv runs this Python."""
    root = tmp_path / "project"
    (root / ".venv" / "bin").mkdir(parents=True)
    shutil.copy(REPO / "run.py", root)
    shutil.copy(REPO / "pyproject.toml", root)
    python = root / ".venv" / "bin" / "python"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    stamp = hashlib.sha256((root / "pyproject.toml").read_bytes()).hexdigest()
    (root / ".venv" / ".installed-base").write_text(stamp)
    return root / "run.py"


@pytest.mark.skipif(os.name == "nt", reason="SIGINT cannot be sent to a process on Windows")
@pytest.mark.parametrize("group", [True, False], ids=["terminal", "run.py alone"])
def test_ctrl_c_in_run_py_train_says_interrupted(run_py, offline, tmp_path, group):
    # As a terminal does, Ctrl-C goes to run.py and the training it started; sent to run.py
    # alone (kill -INT), it is passed on.
    child = popen([sys.executable, str(run_py), "train", "--epochs", "100000",
                   "--out", str(tmp_path / "w.png")], offline, start_new_session=True)
    out, err = interrupt_when(child, "epoch  2", group=group)
    assert child.returncode == 130
    assert err == "\ninterrupted; training stopped, nothing was saved\n"
