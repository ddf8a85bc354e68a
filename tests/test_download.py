"""Tests for downloading MNIST, against a real HTTP server on 127.0.0.1.

One server plays several mirrors, one per URL prefix: http://127.0.0.1:PORT/<kind>/<file>.gz,
where <kind> says how it behaves (serves the real file, an HTML 404 page, stalls, ...).
"""

import gzip
import http.server
import socket
import threading
import time

import numpy as np
import pytest

from mnistlib import data
from mnistlib.data import MNIST_FILES, DownloadError, download_mnist, load_mnist

HTML = b"<!DOCTYPE html><html><body><h1>404 Not Found</h1></body></html>"
STALL_SECONDS = 5


class Mirror(http.server.BaseHTTPRequestHandler):
    """Answers GET /<kind>/<name> according to <kind>; see do_GET."""

    def do_GET(self):
        kind, _, name = self.path.strip("/").partition("/")
        self.server.requests.append(self.path)
        real = self.server.files.get(name)
        small = gzip.compress(b"\x00\x00\x08\x01" + (3).to_bytes(4, "big") + b"\x01\x02\x03")
        if kind == "good" and real is not None:
            self.reply(200, real)
        elif kind == "html404":
            self.reply(404, HTML, "text/html")
        elif kind == "html200":  # e.g. a captive portal's login page
            self.reply(200, HTML, "text/html")
        elif kind == "notgzip":
            self.reply(200, b"\x00\x00\x08\x01" + b"\x00" * 20)
        elif kind == "wrongfile":  # a valid gzip of a valid IDX file, but not this MNIST file
            self.reply(200, small)
        elif kind == "corrupt":
            blob = real or gzip.compress(bytes(range(256)) * 400)
            middle = len(blob) // 2
            self.reply(200, blob[:middle] + bytes(b ^ 0x55 for b in blob[middle:middle + 64])
                       + blob[middle + 64:])
        elif kind == "cut":  # the connection drops before the announced length
            blob = real or gzip.compress(bytes(range(256)) * 400)
            self.reply(200, blob, length=len(blob), send=len(blob) // 2)
        elif kind == "cutgz":  # no Content-Length, stream simply ends early
            blob = real or gzip.compress(bytes(range(256)) * 400)
            self.reply(200, blob[: len(blob) // 2], length=None)
        elif kind == "stall":
            self.server.wake.wait(STALL_SECONDS)
        elif kind == "stallbody":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"\x1f\x8b" + b"\x00" * 100)
            self.wfile.flush()
            self.server.wake.wait(STALL_SECONDS)
        else:
            self.reply(404, b"not found", "text/plain")

    def reply(self, status, body, content_type="application/gzip", length=-1, send=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if length is not None:
            self.send_header("Content-Length", str(len(body) if length == -1 else length))
        self.end_headers()
        self.wfile.write(body[:send])

    def log_message(self, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # clients that time out leave broken pipes behind; that is expected here


@pytest.fixture(scope="module")
def server(request):
    """The loopback server; it serves the real MNIST .gz files under /good/ when available."""
    srv = Server(("127.0.0.1", 0), Mirror)
    srv.requests, srv.files, srv.wake = [], {}, threading.Event()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()

    def stop():
        srv.wake.set()
        srv.shutdown()
        srv.server_close()
        thread.join(5)

    request.addfinalizer(stop)
    srv.url = f"http://127.0.0.1:{srv.server_address[1]}"
    return srv


@pytest.fixture
def mirrors(server):
    """mirrors("html404", "good") -> the base URLs of those mirrors; clears the request log."""
    server.requests.clear()
    return lambda *kinds: [f"{server.url}/{kind}/" for kind in kinds]


@pytest.fixture
def real_files(server, mnist_dir):
    """Make /good/ serve the real four files (as gzip); skips without the full MNIST."""
    for name in MNIST_FILES:
        gz = mnist_dir / f"{name}.gz"
        blob = gz.read_bytes() if gz.exists() else gzip.compress((mnist_dir / name).read_bytes(), 1)
        server.files[f"{name}.gz"] = blob
    return server.files


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty cache directory, with MNIST_DATA_DIR unset."""
    monkeypatch.delenv("MNIST_DATA_DIR", raising=False)
    monkeypatch.setenv("MNISTLIB_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def assert_cache_holds_verified_mnist(cache):
    assert sorted(p.name for p in cache.iterdir()) == sorted(f"{n}.gz" for n in MNIST_FILES)
    for name in MNIST_FILES:
        data._read_mnist_file(cache, name)  # raises unless size and sha256 match


# --- success -------------------------------------------------------------------------------

def test_load_mnist_downloads_into_the_cache(real_files, mirrors, server, cache, monkeypatch,
                                             capsys):
    monkeypatch.setenv("MNIST_MIRRORS", ",".join(mirrors("good")))
    d = load_mnist()
    out, err = capsys.readouterr()
    assert out == "MNIST: 60000 training and 10000 test images downloaded into the cache\n"
    assert "downloading train-images-idx3-ubyte.gz from 127.0.0.1:" in err and err.endswith(": 100%\n")
    assert d.source == "download" and d.is_full and d.path == str(cache)
    assert d.x_train.shape == (60000, 784) and d.y_test.shape == (10000,)
    assert_cache_holds_verified_mnist(cache)

    # A second download finds everything in the cache and does not ask the mirror again.
    server.requests.clear()
    assert download_mnist(progress=True) == cache
    assert capsys.readouterr().out == "MNIST: already in the cache and verified\n"
    assert server.requests == []


def test_bad_mirrors_are_skipped(real_files, mirrors, server, tmp_path, capsys):
    bad = ["html404", "html200", "corrupt", "cut", "cutgz", "wrongfile", "notgzip"]
    cache = download_mnist(tmp_path / "c", mirrors=mirrors(*bad, "good"), timeout=5)
    assert cache == tmp_path / "c"
    assert capsys.readouterr().out == "MNIST downloaded and verified in the cache\n"
    assert_cache_holds_verified_mnist(cache)  # also: no temporary or damaged file left behind
    assert len(server.requests) == 4 * (len(bad) + 1)


def test_damaged_cached_file_is_downloaded_again(real_files, mirrors, server, cache, monkeypatch,
                                                 capsys):
    monkeypatch.setenv("MNIST_MIRRORS", " ".join(mirrors("good")))
    cache.mkdir()
    for name, blob in real_files.items():
        (cache / name).write_bytes(blob)
    labels = cache / "t10k-labels-idx1-ubyte.gz"
    labels.write_bytes(labels.read_bytes()[:100])
    d = load_mnist()
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("MNIST: deleted a damaged file from the cache "
                             "(t10k-labels-idx1-ubyte.gz: the gzip data is corrupt")
    assert out[1:] == ["MNIST: 60000 training and 10000 test images downloaded into the cache"]
    assert d.source == "download" and d.is_full
    assert server.requests == ["/good/t10k-labels-idx1-ubyte.gz"]
    assert_cache_holds_verified_mnist(cache)


# --- failure -------------------------------------------------------------------------------

def test_all_mirrors_bad(mirrors, tmp_path):
    bad = mirrors("html404", "html200", "corrupt", "cut", "cutgz", "wrongfile", "notgzip")
    closed = closed_port_url()
    with pytest.raises(DownloadError) as info:
        download_mnist(tmp_path, mirrors=bad + [closed], timeout=5, progress=False)
    message = str(info.value)
    assert message.startswith("could not download train-images-idx3-ubyte.gz from any mirror")
    lines = message.splitlines()[1:]
    assert len(lines) == 8
    for base, line, reason in zip(bad + [closed], lines, [
            "HTTP 404", "HTML page", "corrupt gzip", "incomplete", "corrupt gzip",
            "wrong size", "not send a gzip", "cannot connect"]):
        assert line.startswith(f"  {base}: ")
        assert reason in line, line
    assert list(tmp_path.iterdir()) == []  # nothing final, nothing temporary


def test_stalled_mirror_times_out_promptly(mirrors, tmp_path):
    start = time.perf_counter()
    with pytest.raises(DownloadError, match="timed out after 1 s") as info:
        download_mnist(tmp_path, mirrors=mirrors("stall", "stallbody"), timeout=1, progress=False)
    assert time.perf_counter() - start < 4
    assert str(info.value).count("timed out") == 2
    assert list(tmp_path.iterdir()) == []


def test_closed_port_fails_fast(tmp_path):
    start = time.perf_counter()
    with pytest.raises(DownloadError, match="cannot connect"):
        download_mnist(tmp_path, mirrors=[closed_port_url()], timeout=5, progress=False)
    assert time.perf_counter() - start < 2


def test_load_mnist_falls_back_to_the_subset(cache, monkeypatch, capsys):
    monkeypatch.setenv("MNIST_MIRRORS", closed_port_url())
    d = load_mnist()
    assert capsys.readouterr() == (
        "MNIST: could not download the full set (offline?); "
        "using the bundled subset of 4000 training and 1000 test images\n", "")
    assert d.source == "bundled subset" and d.x_train.shape == (4000, 784)
    assert not any(p.is_file() for p in cache.rglob("*"))


def test_mirror_list(monkeypatch):
    monkeypatch.setenv("MNIST_MIRRORS", "http://a/x, http://b/y/  http://c")
    assert data.mirror_list() == ["http://a/x/", "http://b/y/", "http://c/"]
    assert data.mirror_list(["http://d"]) == ["http://d/"]
    monkeypatch.delenv("MNIST_MIRRORS")
    assert data.mirror_list() == data.DEFAULT_MIRRORS
    assert data.DEFAULT_MIRRORS[0] == "https://ossci-datasets.s3.amazonaws.com/mnist/"


def test_download_needs_nothing_but_the_four_names():
    # Guard against typos in the table everything else relies on.
    assert list(MNIST_FILES) == ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
    assert [size for size, _ in MNIST_FILES.values()] == [47040016, 60008, 7840016, 10008]
    assert np.all([len(sha) == 64 for _, sha in MNIST_FILES.values()])


def test_unusable_cache_directory_falls_back_to_the_subset(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("MNIST_DATA_DIR", raising=False)
    (tmp_path / "file").write_text("not a directory")
    monkeypatch.setenv("MNISTLIB_CACHE_DIR", str(tmp_path / "file" / "cache"))
    monkeypatch.setenv("MNIST_MIRRORS", closed_port_url())
    assert load_mnist().source == "bundled subset"
    assert capsys.readouterr().out.startswith("MNIST: could not download the full set (offline?)")
