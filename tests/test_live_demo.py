"""The live demo's plain parts, without a browser: its text, its data check, its launcher.

The page itself is tested in Chromium by tests/browser/test_demo.py.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from mnistlib import demo
from mnistlib.data import MNIST, MNIST_FILES, MnistDataError


def fake_mnist(n_train, n_test):
    """An MNIST tuple of the given sizes (zeros: only the sizes matter here)."""
    return MNIST(np.zeros((n_train, 1), np.uint8), np.zeros(n_train, np.int64),
                 np.zeros((n_test, 1), np.uint8), np.zeros(n_test, np.int64), "test")


def test_data_note_names_the_full_set_and_the_accuracy():
    note = demo.data_note(fake_mnist(60000, 10000), 0.9263)
    assert "the full MNIST" in note and "70,000" in note
    assert "learned from 50,000" in note          # the training split, without validation
    assert "92.6% of the 10,000 test digits" in note
    assert "MNIST:" not in note and "download=False" not in note   # no log line


def test_data_note_says_the_page_uses_the_sample_and_why():
    note = demo.data_note(fake_mnist(4000, 1000), 0.912)
    assert "a sample of 5,000 MNIST digits" in note
    assert "not on this computer" in note
    assert "91.2% of the 1,000 test digits" in note


def test_footer_shows_the_note_in_small_type():
    line = demo.footer(fake_mnist(4000, 1000), 0.9)
    assert line.value.startswith("<p>Data: a sample") and "mnistlib-demo-footer" in line._dom_classes


@pytest.mark.parametrize("scale", [0, 0.1, 5, "big", True, None])
def test_projector_css_refuses_a_bad_scale(scale):
    with pytest.raises(ValueError, match="scale must be a number from 0.5 to 4"):
        demo.projector_css(scale)


def test_projector_css_scales_the_type():
    small, large = demo.projector_css(1.0), demo.projector_css(2.0)
    assert "--jp-widgets-font-size: 14px" in small and "--jp-widgets-font-size: 28px" in large
    assert "{" in small and "{{" not in small           # every placeholder was filled


def test_model_bar_and_slot_can_take_a_chooser_later():
    bar = demo.model_bar("The model: softmax")
    assert "mnistlib-demo-model" in bar._dom_classes
    import ipywidgets
    slot = demo.slot(ipywidgets.HTML("first model"))
    slot.children = [ipywidgets.HTML("second model")]           # what a chooser will do
    assert slot.children[0].value == "second model"


# --- --prepare: the models trained before class --------------------------------------

def test_prepare_trains_the_three_models_once_and_the_launcher_then_finds_them(tmp_path, monkeypatch,
                                                                                 capsys):
    from mnistlib import zoo

    monkeypatch.delenv("MNIST_DATA_DIR", raising=False)
    monkeypatch.setenv("MNISTLIB_CACHE_DIR", str(tmp_path / "cache"))   # no MNIST here: the subset
    zoo.forget()
    assert "not trained yet" in demo.models_note(full=False) and demo.PREPARE_COMMAND in demo.models_note(False)
    lines = []
    assert demo.prepare(lines.append) == 0
    text = "\n".join(lines)
    assert "the 5,000-digit sample" in text and demo.DOWNLOAD_COMMAND in text
    for title in ("Softmax regression", "The MLP", "The CNN"):
        assert re.search(title + r": trained in [^;]+; \d+\.\d% of the validation digits right", text), text
    assert len(lines) == len(set(lines)), "a line was said twice"
    assert sorted(p.name.split("-")[0] for p in (tmp_path / "cache" / "models").glob("*.npz")) == \
        ["cnn", "mlp", "softmax"]
    assert demo.models_note(full=False).startswith("Models: softmax regression, the MLP and the CNN are ready")
    zoo.forget()                                      # another day: loaded, not trained
    again = []
    assert demo.prepare(again.append) == 0
    assert sum("already in the cache" in line for line in again) == 3, again
    zoo.forget()


def test_prepare_says_each_epoch_once_and_the_end_once(tmp_path, monkeypatch):
    """The training reports its last update and then its end, both complete (as on the full MNIST)."""
    import dataclasses

    from mnistlib import zoo

    monkeypatch.delenv("MNIST_DATA_DIR", raising=False)
    monkeypatch.setenv("MNISTLIB_CACHE_DIR", str(tmp_path / "cache"))

    def trained(name, data, *, progress, say):
        for epoch, done in [(1, 0.0), (1, 0.25), (2, 0.5), (2, 1.0), (2, 1.0)]:
            progress(zoo.Step(name, epoch, 2, done, 4 * done))
        return dataclasses.replace(zoo.given(name, {}, 0.9), source="trained", seconds=4.0,
                                   path=tmp_path / f"{name}.npz")

    monkeypatch.setattr(zoo, "trained", trained)
    lines = []
    assert demo.prepare(lines.append) == 0
    mlp_lines = [line for line in lines if "the mlp" in line.lower()]
    assert [line.strip().split(":")[0] for line in mlp_lines] == ["training the MLP", "training the MLP",
                                                                   "the MLP", "The MLP"], lines


# --- where the full MNIST is -------------------------------------------------------

@pytest.fixture
def no_mnist(tmp_path, monkeypatch):
    monkeypatch.delenv("MNIST_DATA_DIR", raising=False)
    monkeypatch.setenv("MNISTLIB_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_full_mnist_on_disk_none_with_an_empty_cache(no_mnist):
    assert demo.full_mnist_on_disk() is None


def test_full_mnist_on_disk_finds_the_cache(no_mnist):
    no_mnist.mkdir()
    for name in MNIST_FILES:
        (no_mnist / f"{name}.gz").write_bytes(b"")      # only their presence is checked
    assert demo.full_mnist_on_disk() == no_mnist


def test_full_mnist_on_disk_refuses_a_data_dir_without_the_files(no_mnist, tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_DATA_DIR", str(tmp_path))
    with pytest.raises(MnistDataError, match="does not hold train-images-idx3-ubyte.*point it at"):
        demo.full_mnist_on_disk()


def test_mark_ready_writes_the_time_only_when_asked(tmp_path, monkeypatch):
    monkeypatch.delenv(demo.READY_FILE_VAR, raising=False)
    demo.mark_ready()                                    # no launcher: nothing happens
    ready = tmp_path / "ready"
    monkeypatch.setenv(demo.READY_FILE_VAR, str(ready))
    before = time.time()
    demo.mark_ready("ignored", "arguments")
    assert before <= float(ready.read_text()) <= time.time()
    assert list(tmp_path.iterdir()) == [ready]           # no half-written file left


# --- the launcher ---------------------------------------------------------------------

def launcher(*args, env):
    return subprocess.Popen([sys.executable, "-m", "mnistlib.demo", *args], env={**os.environ, **env},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)


def test_launcher_without_the_full_set_says_how_to_get_it_before_class(no_mnist):
    pytest.importorskip("voila")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = launcher(f"--port={port}", env={"MNISTLIB_CACHE_DIR": str(no_mnist),
                                           "MNIST_MIRRORS": "http://127.0.0.1:9/"})
    lines = []
    try:
        for line in proc.stdout:      # up to the address: Voila is serving then
            lines.append(line)
            if "Live demo: open" in line:
                break
    finally:
        proc.terminate()              # the launcher stops Voila, then itself
        proc.wait(timeout=60)
    assert proc.returncode == 0
    with pytest.raises(ProcessLookupError):   # nothing of it is left running
        os.killpg(proc.pid, signal.SIGKILL)
    out = "".join(lines)
    assert "the page uses the 5,000-digit sample" in out, out
    assert "Before class, download the full set once" in out and "python run.py download" in out
    assert f"open http://127.0.0.1:{port}/" in out
    assert not any(no_mnist.glob("*ubyte*")), "the launcher downloaded something"


def test_launcher_with_a_bad_data_dir_stops_with_what_to_do(tmp_path):
    proc = launcher(env={"MNIST_DATA_DIR": str(tmp_path)})
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert re.search(r"MNIST_DATA_DIR is .* which does not hold", out) and "Traceback" not in out


def test_launcher_on_a_busy_port_says_so():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = launcher(f"--port={port}", env={})
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert f"Port {port} is in use" in out and "--port" in out


def test_the_demo_culls_kernels_no_page_is_connected_to():
    """Voila refuses the page's shutdown request as it unloads (voila-dashboards/voila#1458):
    the launcher culls pageless kernels instead (the browser test shows it working)."""
    cmd = demo.voila_command()
    assert f"--MappingKernelManager.cull_idle_timeout={demo.CULL_IDLE_SECONDS}" in cmd
    assert f"--MappingKernelManager.cull_interval={demo.CULL_EVERY_SECONDS}" in cmd
    assert "--MappingKernelManager.cull_connected=False" in cmd     # an open page keeps its kernel
    mine = demo.voila_command(extra=["--MappingKernelManager.cull_idle_timeout=600"])
    timeouts = [option for option in mine if option.startswith("--MappingKernelManager.cull_idle_timeout")]
    assert timeouts == ["--MappingKernelManager.cull_idle_timeout=600"]     # Voila takes each option once
