"""Ctrl-C in ``python run.py demo --prepare`` and ``python run.py demo``, with a real SIGINT.

Each must end with one line, exit code 130, no traceback, the port free and the model
cache consistent. "terminal": the SIGINT goes to run.py and everything it started, as
a terminal's Ctrl-C does; "run.py alone": to run.py only (kill -INT), which passes it on.
"""

import os
import signal
import socket
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from mnistlib import demo, zoo

from test_cli import interrupt_when, popen, run_py  # noqa: F401 - run_py is a fixture

pytestmark = pytest.mark.skipif(os.name == "nt", reason="SIGINT cannot be sent to a process on Windows")


@pytest.fixture
def demo_py(run_py):
    """run.py in a copy of the project whose set-up is done for every job (see test_cli.run_py)."""
    venv = run_py.parent / ".venv"
    stamp = (venv / ".installed-base").read_text()
    for extras in ("lab-browser", "test-browser", "lab"):
        (venv / f".installed-{extras}").write_text(stamp)
    return run_py


@pytest.fixture
def subset_only(tmp_path):
    """No full MNIST: the demo uses the bundled subset; a model cache of the test's own."""
    return {"MNIST_DATA_DIR": "", "MNISTLIB_CACHE_DIR": str(tmp_path / "cache"),
            "MNIST_MIRRORS": "http://127.0.0.1:9/"}


@pytest.mark.parametrize("group", [True, False], ids=["terminal", "run.py alone"])
def test_ctrl_c_in_prepare_says_one_line_and_keeps_the_models_trained_so_far(demo_py, subset_only, group):
    child = popen([sys.executable, str(demo_py), "demo", "--prepare"], subset_only, start_new_session=True)
    out, err = interrupt_when(child, "training the CNN", group=group)
    assert child.returncode == 130, (out, err)
    assert err == ("\ninterrupted; the models trained so far are kept in the cache (a file is saved only when "
                   "it is complete): run the same command again to train the rest\n")
    models = Path(subset_only["MNISTLIB_CACHE_DIR"]) / "models"
    assert [zoo.file_state(name, "subset", cache_dir=models.parent)[0] for name in zoo.NAMES] == \
        ["ready", "ready", "missing"]
    assert sorted(p.name.split("-")[0] for p in models.iterdir()) == ["mlp", "softmax"]   # no .part left


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def processes_with(text):
    """The pids of the processes whose command line contains ``text``."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and text in (proc / "cmdline").read_bytes().decode(errors="replace"):
                found.append(int(proc.name))
        except OSError:
            pass
    return found


def environ_has(pid, text):
    try:
        return text in Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace")
    except OSError:
        return False


def test_ctrl_c_in_the_demo_stops_voila_and_its_kernel_and_frees_the_port(demo_py, subset_only):
    port = free_port()
    child = popen([sys.executable, str(demo_py), "demo", f"--port={port}"], subset_only, start_new_session=True)
    log = []                                                  # (when it was read, line) of stderr
    reader = threading.Thread(target=lambda: log.extend((time.monotonic(), line) for line in child.stderr))
    reader.start()
    try:
        seen = ""
        while "Live demo: open" not in seen:
            line = child.stdout.readline()
            assert line, f"the demo ended before it served: {seen}{child.stderr.read()}"
            seen += line
        # a page opened: Voila runs the notebook in a kernel (the bundled subset, softmax trained)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=300) as r:
            assert r.status == 200 and b"application/vnd.jupyter.widget-view+json" in r.read()
        # its kernel: the process whose environment names this test's cache
        mine = [pid for pid in processes_with("ipykernel_launcher")
                if environ_has(pid, f"MNISTLIB_CACHE_DIR={subset_only['MNISTLIB_CACHE_DIR']}")]
        assert mine, "no kernel of the demo is running"
        while not log or time.monotonic() - log[-1][0] < 1:  # Voila's log lines of the page are in
            time.sleep(0.1)
        interrupted = time.monotonic()
        os.killpg(child.pid, signal.SIGINT)                  # Ctrl-C in the terminal
        out = child.stdout.read()
        child.wait(timeout=90)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        reader.join()
    assert child.returncode == 130, out
    err = "".join(line for _, line in log)
    after = "".join(line for when, line in log if when > interrupted)
    assert after == f"\ninterrupted; the live demo has stopped and port {port} is free again\n", err
    assert "Traceback" not in err + out and "KeyboardInterrupt" not in err
    # free: a server can listen there again at once (as Voila does, with SO_REUSEADDR: the
    # connections the page made wait a minute in TIME_WAIT), and the launcher agrees
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen()
    assert demo._free(port), "a second python run.py demo would say the port is in use"
    with pytest.raises(ProcessLookupError):                  # run.py, the launcher: gone
        os.killpg(child.pid, 0)
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in mine) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(Path(f"/proc/{pid}").exists() for pid in mine), "the demo's kernel outlived it"
