"""TEACHING.md's classroom set-up commands run as written, in a fresh clone, from a plain shell.

A plain shell: ``python`` is a Python without numpy or anything else of this project
(a bare virtual environment), as on a teacher's machine before the first
``python run.py``. The clone's set-up (``.venv/``, which run.py makes with pip the first
time) is stood in for by a ``.venv/bin/python`` that runs this test's Python, marked as
installed, so that nothing is downloaded; the clone's own ``mnistlib`` is the one that
runs. /srv/mnist is a directory of the test's; the download comes from a loopback
mirror serving the real MNIST files.

The two long commands run until they have done their first real work, then get a
Ctrl-C: ``demo --prepare`` has trained softmax regression and the MLP into /srv/mnist
when the CNN starts (two minutes more), and the classroom benchmark has loaded MNIST
and is executing the notebooks (several minutes more).
"""

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from mnistlib import zoo
from mnistlib.data import MNIST_FILES

from test_cli import interrupt_when, popen
from test_download import mirrors, real_files, server  # noqa: F401 - fixtures

REPO = Path(__file__).resolve().parents[1]
SHARED = "/srv/mnist"

# The commands, exactly as TEACHING.md writes them (the test checks they are there), and
# the line after which a long one is stopped (None: it runs to the end).
COMMANDS = [
    ("python run.py download --cache-dir /srv/mnist", None),
    ("chmod -R a+rX /srv/mnist", None),
    ("MNIST_DATA_DIR=/srv/mnist MNISTLIB_CACHE_DIR=/srv/mnist python run.py demo --prepare",
     "training the CNN: epoch 1 of"),
    ("chmod -R a+rX /srv/mnist", None),
    ("python run.py bench --classroom", "data: MNIST: "),
]


@pytest.fixture
def clone(tmp_path):
    """A fresh clone of this repository whose set-up is done (see the module docstring)."""
    if not (REPO / ".git").exists() or shutil.which("git") is None:
        pytest.skip("the repository is not a git checkout (or git is missing): nothing to clone")
    root = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(root)], check=True, timeout=120)
    bin_dir = root / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    (bin_dir / "python").chmod(0o755)
    stamp = hashlib.sha256((root / "pyproject.toml").read_bytes()).hexdigest()
    for extras in ("base", "lab", "lab-browser", "test-browser"):
        (root / ".venv" / f".installed-{extras}").write_text(stamp)
    return root


@pytest.fixture
def plain_shell(tmp_path):
    """PATH for a plain shell: ``python`` without any of the project's packages."""
    plain = tmp_path / "plain"
    venv.EnvBuilder(with_pip=False, symlinks=True).create(plain)
    check = subprocess.run([plain / "bin" / "python", "-c", "import numpy"], capture_output=True)
    assert check.returncode != 0, "the plain Python has numpy: it is not a plain shell"
    return f"{plain / 'bin'}{os.pathsep}/usr/bin{os.pathsep}/bin"


def test_the_commands_are_in_teaching_md_as_tested():
    text = (REPO / "TEACHING.md").read_text()
    for command, _ in COMMANDS:
        assert command in text, f"TEACHING.md no longer says: {command}"


@pytest.mark.slow
def test_teaching_md_classroom_commands_run_as_written_in_a_fresh_clone(clone, plain_shell, tmp_path,
                                                                      real_files, mirrors, mnist_dir):
    shared = tmp_path / "srv" / "mnist"
    env = {"PATH": plain_shell, "HOME": str(tmp_path / "home"), "MNIST_MIRRORS": mirrors("good")[0],
           "MNIST_DATA_DIR": "", "MNISTLIB_CACHE_DIR": str(tmp_path / "home-cache")}
    # the benchmark reads the data as notebooks do; the machine's full MNIST, wherever it is
    bench_env = {"MNIST_DATA_DIR": str(mnist_dir)}
    for command, stop_at in COMMANDS:
        line = command.replace(SHARED, str(shared))
        full_env = {**env, **(bench_env if "bench" in command else {})}
        child = popen(["bash", "-c", line], full_env, cwd=clone, start_new_session=True)
        if stop_at is None:
            out, err = child.communicate(timeout=300)
            assert child.returncode == 0, f"{command}\n{out}\n{err}"
        else:
            stream = "stderr" if "bench" in command else "stdout"
            out, err = interrupt_when(child, stop_at, stream=stream, group=True)
        assert "ModuleNotFoundError" not in err and "Traceback" not in out, f"{command}\n{out}\n{err}"
        if "download" in command:
            assert sorted(p.name for p in shared.iterdir()) == sorted(f"{n}.gz" for n in MNIST_FILES)
        if "--prepare" in command:
            assert f"Preparing the models of the live demo on the full MNIST, in the cache {shared / 'models'}" in out
            assert child.returncode == 130 and "Traceback" not in err, err
            assert [zoo.file_state(n, "full", cache_dir=shared)[0] for n in zoo.NAMES] == ["ready", "ready", "missing"]
        if "bench" in command:
            assert "data: MNIST: 60000 training and 10000 test images" in err, err
    assert not (tmp_path / "home-cache").exists(), "something was written to the per-user cache instead"
