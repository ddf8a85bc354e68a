"""Shared pytest fixtures (``mnist_dir``, the full MNIST's directory, is in the root conftest.py)."""

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


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


@pytest.fixture
def as_student():
    """as_student(*args, env={...}): run ``python *args`` as a user who does not own the files
    under test, and return the CompletedProcess (text output captured).

    That user is "nobody" when the tests run as root, since chmod blocks nobody's reads and
    writes but not root's; otherwise it is ourselves, whom chmod does block. Skips, saying
    why, where that is impossible.
    """
    user = {}
    if getattr(os, "geteuid", lambda: -1)() == 0:
        import pwd
        try:
            nobody = pwd.getpwnam("nobody")
        except KeyError:
            pytest.skip("running as root, and there is no user 'nobody' to test permissions with")
        user = dict(user=nobody.pw_uid, group=nobody.pw_gid, extra_groups=[])

    def run(*args, env=None):
        full_env = {**os.environ, "MNIST_DATA_DIR": "", "HOME": "/nonexistent",
                    "PYTHONDONTWRITEBYTECODE": "1", **(env or {})}
        try:
            check = subprocess.run([sys.executable, "-c", "import mnistlib"], capture_output=True,
                                   text=True, env=full_env, cwd="/", **user)
        except PermissionError as err:
            check = subprocess.CompletedProcess([], 1, "", str(err))
        if check.returncode:
            pytest.skip(f"the user 'nobody' cannot run this Python ({sys.executable}): "
                        f"{check.stderr.strip().splitlines()[-1:]}")
        return subprocess.run([sys.executable, *args], capture_output=True, text=True,
                              env=full_env, cwd="/", timeout=120, **user)

    return run


@pytest.fixture
def shared_dir():
    """A directory that other users may enter (pytest's tmp_path is private to its user)."""
    path = Path(tempfile.mkdtemp(prefix="mnistlib-shared-"))
    path.chmod(0o755)
    yield path
    for p in [path, *path.rglob("*")]:
        p.chmod(0o755 if p.is_dir() else 0o644)
    shutil.rmtree(path)


def _cannot_run(reason):
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: this test must run, not skip)")
    pytest.skip(reason)


def _load_run_py():
    spec = importlib.util.spec_from_file_location("run_py", REPO_ROOT / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def teach_python():
    """The Python of .venv-teach, where the teach extra (nbgrader) is installed (the course's tests:
    tests/test_course.py, tests/browser/test_feedback.py). Skips where it cannot be set up; fails in CI."""
    run = _load_run_py()
    if sys.version_info < run.TEACH_PYTHON:
        _cannot_run(f"nbgrader 0.9.6 needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    try:
        run.setup("teach", run.TEACH_VENV)
    except (subprocess.CalledProcessError, OSError) as e:
        _cannot_run(f"could not install the teach extra (nbgrader) into .venv-teach: {e}. It needs the "
                    "package registry once: run `python run.py course` while online")
    return run.venv_python(run.TEACH_VENV)
