"""Tests for mnistlib.download: downloading MNIST against a real HTTP server on 127.0.0.1,
and the cache it fills.

One server plays several mirrors, one per URL prefix: http://127.0.0.1:PORT/<kind>/<file>.gz,
where <kind> says how it behaves (serves the real file, an HTML 404 page, stalls, ...).
"""

import functools
import gzip
import http.server
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest

from mnistlib import data, download
from mnistlib.data import find_mnist_file, load_mnist
from mnistlib.download import MNIST_FILES, CacheDirError, DownloadError, download_mnist

HTML = b"<!DOCTYPE html><html><body><h1>404 Not Found</h1></body></html>"
STALL_SECONDS = 5
TRICKLE_SECONDS = 0.3
TRICKLE_LIMIT = 20


@functools.lru_cache
def bomb(size: int) -> bytes:
    """A gzip file of ``size`` zero bytes: about a thousandth of that on the wire."""
    stream, zeros = zlib.compressobj(9, zlib.DEFLATED, 31), bytes(2**20)
    return b"".join(stream.compress(zeros) for _ in range(size // 2**20)) + stream.flush()


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
        elif kind == "bomb":  # a small gzip that decompresses to 200 MB of zeros
            self.reply(200, bomb(200 * 2**20))
        elif kind == "trickle":  # headers, then one byte every TRICKLE_SECONDS
            self.send_response(200)
            self.send_header("Content-Length", "10000000")
            self.end_headers()
            self.trickle(b"\x1f\x8b" + b"\x00" * 1000)
        elif kind == "labelsstuck":  # the real files, but the last one never quite arrives
            if name == "t10k-labels-idx1-ubyte.gz":
                self.send_response(200)
                self.send_header("Content-Length", str(len(real)))
                self.end_headers()
                self.trickle(real[:1000])
            else:
                self.reply(200, real)
        elif kind == "tricklehead":  # even the status line comes a byte at a time
            self.trickle(b"HTTP/1.0 200 OK\r\nContent-Length: 10000000\r\nX-Padding: "
                         + b"a" * 1000)
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

    def trickle(self, body):
        """Send ``body`` a byte at a time, each within the client's timeout, for at most
        TRICKLE_LIMIT seconds (so that a client without a deadline finishes, late)."""
        end = time.monotonic() + TRICKLE_LIMIT
        try:
            for byte in body:
                if time.monotonic() > end or self.server.wake.wait(TRICKLE_SECONDS):
                    break
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
        except OSError:
            pass  # the client gave up

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
    for name in MNIST_FILES:  # read_mnist_file raises unless size and sha256 match
        download.read_mnist_file(find_mnist_file(cache, name), name)


# --- success -------------------------------------------------------------------------------

def test_load_mnist_downloads_into_the_cache(real_files, mirrors, server, cache, monkeypatch,
                                             capsys):
    monkeypatch.setenv("MNIST_MIRRORS", ",".join(mirrors("good")))
    d = load_mnist()
    out, err = capsys.readouterr()
    assert out == "MNIST: 60000 training and 10000 test images downloaded into the cache\n"
    assert "downloading train-images-idx3-ubyte.gz from 127.0.0.1:" in err
    assert re.search(r"t10k-labels-idx1-ubyte.gz from 127.0.0.1:\d+: 100% \(\d+ bytes\) *\n$", err)
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
    assert download.mirror_list() == ["http://a/x/", "http://b/y/", "http://c/"]
    assert download.mirror_list(["http://d"]) == ["http://d/"]
    monkeypatch.delenv("MNIST_MIRRORS")
    assert download.mirror_list() == download.DEFAULT_MIRRORS
    assert download.DEFAULT_MIRRORS[0] == "https://ossci-datasets.s3.amazonaws.com/mnist/"


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


# --- the deadline and progress ---------------------------------------------------------------

@pytest.mark.parametrize("kind", ["trickle", "tricklehead"])
def test_trickling_server_cannot_outlast_the_deadline(kind, mirrors, tmp_path, capsys):
    # One byte every 0.3 s never trips the 1 s timeout; only the deadline stops it.
    start = time.monotonic()
    with pytest.raises(DownloadError) as info:
        download_mnist(tmp_path, mirrors=mirrors(kind, "good"), timeout=1, deadline=2)
    seconds = time.monotonic() - start
    assert seconds < 6, f"the 2 s deadline stopped the download only after {seconds:.1f} s"
    message = str(info.value)
    assert message.startswith("gave up downloading train-images-idx3-ubyte.gz: the whole "
                              "download may take at most 2 s (the deadline)")
    assert "still downloading when the deadline passed" in message
    assert "--deadline" in message and info.value.summary == "it took longer than the 2 s deadline"
    assert list(tmp_path.iterdir()) == []
    err = capsys.readouterr().err
    if kind == "trickle":
        # Progress is redrawn as the bytes come in, not only when a whole percent is done.
        counts = [int(n) for n in re.findall(r": +0% \((\d+) bytes of 10.0 MB\)", err)]
        assert len(counts) >= 3 and counts == sorted(counts), err
    else:
        assert "train-images-idx3-ubyte.gz from 127.0.0.1:" in err
        assert "connected, waiting for the data" in err


def test_load_mnist_says_when_the_deadline_passed(mirrors, cache, monkeypatch, capsys):
    monkeypatch.setenv("MNIST_MIRRORS", " ".join(mirrors("trickle")))
    monkeypatch.setattr(data, "DOWNLOAD_DEADLINE", 1)   # where load_mnist looks it up
    d = load_mnist()
    assert d.source == "bundled subset"
    assert capsys.readouterr().out.startswith(
        "MNIST: could not download the full set (it took longer than the 1 s deadline); "
        "using the bundled subset")


def test_no_file_is_started_after_the_deadline(mirrors, server, tmp_path):
    with pytest.raises(DownloadError, match="the deadline of 0 s has passed"):
        download_mnist(tmp_path, mirrors=mirrors("good"), progress=False, deadline=0)
    assert server.requests == []


# --- gzip bombs ------------------------------------------------------------------------------

def test_a_gzip_bomb_is_rejected_without_unpacking_it(mirrors, tmp_path):
    bomb(200 * 2**20)  # made before measuring: the server sends this 200 KB file
    tracemalloc.start()
    try:
        with pytest.raises(DownloadError) as info:
            download_mnist(tmp_path, mirrors=mirrors("bomb"), progress=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "the gzip data decompresses to more than 47040016 bytes, the size of the original " \
           "file" in str(info.value)
    # Not a speed or memory target: proof that decompression stopped at the 47 MB limit
    # instead of unpacking all 200 MB (the limit, and zlib's growing buffer, fit in 150 MB).
    assert peak < 150 * 2**20, f"{peak / 2**20:.0f} MB allocated"
    assert list(tmp_path.iterdir()) == []


# --- stale temporary files -------------------------------------------------------------------

def test_a_part_file_left_by_a_killed_download_is_removed_later(cache, real_files, capsys):
    cache.mkdir()
    for name, blob in real_files.items():
        (cache / name).write_bytes(blob)
    # A download killed between writing its temporary file and renaming it: a real process,
    # stopped (SIGKILL) while the rename waits.
    code = ("import os, sys, time; from pathlib import Path; from mnistlib import download; "
            "os.replace = lambda *args: (print('written', flush=True), time.sleep(60)); "
            "download.save_atomically(Path(sys.argv[1]), 'train-images-idx3-ubyte.gz', bytes(10**6))")
    child = subprocess.Popen([sys.executable, "-c", code, str(cache)], stdout=subprocess.PIPE,
                             text=True)
    try:
        assert child.stdout.readline() == "written\n"
    finally:
        child.kill()
        child.wait()
    [part] = cache.glob(".*.part")
    assert part.stat().st_size == 10**6

    # Right after, it could as well be another process's download in progress: kept.
    assert load_mnist(verbose=False).source == "cache"
    assert part.exists()
    # Once older than any download could be (10 minutes), the next run removes it.
    old = time.time() - download.STALE_PART_SECONDS - 1
    os.utime(part, (old, old))
    fresh = cache / ".t10k-labels-idx1-ubyte.gz.0123abcd.part"
    fresh.write_bytes(b"being written right now")
    assert load_mnist(verbose=False).source == "cache"
    assert not part.exists() and fresh.exists()
    # download_mnist cleans up too, also when everything is already there.
    os.utime(fresh, (old, old))
    download_mnist(progress=False)
    assert_cache_holds_verified_mnist(cache)


# --- concurrent loads ------------------------------------------------------------------------

def test_processes_loading_a_damaged_cache_at_the_same_time(real_files, mirrors, cache):
    # Four processes start together on a cache with two damaged files; each must get the full
    # set, whoever deletes and replaces what. Three rounds: the old race hit about one in three.
    env = {**os.environ, "MNISTLIB_CACHE_DIR": str(cache), "MNIST_DATA_DIR": "",
           "MNIST_MIRRORS": mirrors("good")[0]}
    for round in range(3):
        shutil.rmtree(cache, ignore_errors=True)
        cache.mkdir()
        for name, blob in real_files.items():
            (cache / name).write_bytes(blob)
        for name in ["train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz"]:
            (cache / name).write_bytes(real_files[name][:-100])   # cut: found only at the end
        start = time.time() + 1.0
        code = (f"import time; time.sleep(max(0, {start} - time.time())); "
                "from mnistlib.data import load_mnist; "
                "d = load_mnist(dtype='uint8', shape='image'); print(d.source, d.is_full)")
        children = [subprocess.Popen([sys.executable, "-c", code], env=env, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                    for _ in range(4)]
        for child in children:
            out, err = child.communicate(timeout=120)
            assert child.returncode == 0 and "Traceback" not in err, err
            assert out.splitlines()[-1] in ("download True", "cache True"), out
        assert_cache_holds_verified_mnist(cache)


# --- where the data came from ----------------------------------------------------------------

def test_a_damaged_file_beside_an_intact_one_is_not_a_download(real_files, mirrors, server,
                                                               cache, monkeypatch, capsys):
    monkeypatch.setenv("MNIST_MIRRORS", mirrors("good")[0])
    cache.mkdir()
    for name, blob in real_files.items():
        (cache / name).write_bytes(blob)
    (cache / "t10k-labels-idx1-ubyte").write_bytes(b"")   # a damaged raw file wins over .gz
    d = load_mnist()
    assert capsys.readouterr().out.splitlines() == [
        "MNIST: deleted a damaged file from the cache (t10k-labels-idx1-ubyte: the file is "
        "empty (0 bytes))",
        "MNIST: 60000 training and 10000 test images from the cache"]
    assert d.source == "cache" and d.path == str(cache) and d.is_full
    assert server.requests == []


# --- where the cache lives -----------------------------------------------------------------

def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("MNISTLIB_CACHE_DIR", str(tmp_path / "mine"))
    assert download.default_cache_dir() == tmp_path / "mine"
    monkeypatch.delenv("MNISTLIB_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert download.default_cache_dir() == tmp_path / "xdg" / "mnistlib"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert download.default_cache_dir() == tmp_path / "home" / ".cache" / "mnistlib"
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "local"))
    assert download.default_cache_dir() == tmp_path / "local" / "mnistlib"


# --- caches shared between users, read-only caches -------------------------------------------

LOAD = ("import json; from mnistlib.data import load_mnist; d = load_mnist(dtype='uint8'); "
        "print(json.dumps([d.source, d.path, d.is_full]))")


@pytest.fixture
def teachers_cache(shared_dir, real_files, mirrors):
    """A cache that its owner filled with download_mnist (umask 022), then made read-only."""
    cache = shared_dir / "mnist"
    old = os.umask(0o022)
    try:
        download_mnist(cache, mirrors=mirrors("good"), progress=False)
    finally:
        os.umask(old)
    return cache


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_cache_files_get_the_permissions_the_umask_gives(real_files, mirrors, tmp_path, umask,
                                                         mode):
    old = os.umask(umask)
    try:
        download_mnist(tmp_path / "c", mirrors=mirrors("good"), progress=False)
    finally:
        os.umask(old)
    assert {stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "c").iterdir()} == {mode}


def test_a_cache_one_user_filled_is_read_by_another(teachers_cache, as_student):
    r = as_student("-c", LOAD, env={"MNISTLIB_CACHE_DIR": str(teachers_cache),
                          "MNIST_MIRRORS": closed_port_url()})
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "MNIST: 60000 training and 10000 test images from the cache",
        json.dumps(["cache", str(teachers_cache), True])]


def test_an_unreadable_cache_file_is_skipped_with_the_reason(teachers_cache, mirrors, server,
                                                             as_student):
    labels = teachers_cache / "train-labels-idx1-ubyte.gz"
    labels.chmod(0o000)
    teachers_cache.chmod(0o555)
    cannot_read = (f"MNIST: cannot read train-labels-idx1-ubyte.gz in the cache {teachers_cache} "
                   "(Permission denied); skipping it (its owner can make it readable: chmod a+r)")
    # Offline, the next source is the bundled subset...
    r = as_student("-c", LOAD, env={"MNISTLIB_CACHE_DIR": str(teachers_cache),
                          "MNIST_MIRRORS": closed_port_url()})
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        cannot_read,
        "MNIST: could not download the full set (offline?); using the bundled subset of 4000 "
        "training and 1000 test images",
        json.dumps(["bundled subset", None, False])]
    # ... online, a download that the student cannot save into the teacher's cache: it is
    # used for this run, and only the unreadable file is fetched.
    server.requests.clear()
    r = as_student("-c", LOAD, env={"MNISTLIB_CACHE_DIR": str(teachers_cache),
                          "MNIST_MIRRORS": mirrors("good")[0]})
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        cannot_read,
        f"MNIST: cannot save the download into the cache {teachers_cache} (Permission denied); "
        "using it for this run only",
        "MNIST: 60000 training and 10000 test images downloaded, for this run only",
        json.dumps(["download", None, True])]
    assert server.requests == ["/good/train-labels-idx1-ubyte.gz"]
    assert stat.S_IMODE(labels.stat().st_mode) == 0 and len(list(teachers_cache.iterdir())) == 4


def test_a_read_only_cache_still_gets_the_download_for_this_run(shared_dir, real_files, mirrors,
                                                                server, as_student):
    cache = shared_dir / "empty"
    cache.mkdir(mode=0o555)
    r = as_student("-c", LOAD, env={"MNISTLIB_CACHE_DIR": str(cache),
                                    "MNIST_MIRRORS": mirrors("good")[0]})
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[:2] == [
        f"MNIST: cannot save the download into the cache {cache} (Permission denied); "
        "using it for this run only",
        "MNIST: 60000 training and 10000 test images downloaded, for this run only"]
    assert json.loads(r.stdout.splitlines()[-1]) == ["download", None, True]
    assert len(server.requests) == 4 and list(cache.iterdir()) == []


def test_a_damaged_file_that_cannot_be_deleted_is_reported_as_such(teachers_cache, mirrors,
                                                                   server, as_student):
    labels = teachers_cache / "t10k-labels-idx1-ubyte.gz"
    labels.write_bytes(HTML)
    teachers_cache.chmod(0o555)
    r = as_student("-c", LOAD, env={"MNISTLIB_CACHE_DIR": str(teachers_cache),
                          "MNIST_MIRRORS": mirrors("good")[0]})
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "MNIST: found a damaged file in the cache (t10k-labels-idx1-ubyte.gz: this looks like "
        "an HTML page, probably an error page from a failed download) and could not delete it "
        "(Permission denied)",
        f"MNIST: cannot save the download into the cache {teachers_cache} (Permission denied); "
        "using it for this run only",
        "MNIST: 60000 training and 10000 test images downloaded, for this run only",
        json.dumps(["download", None, True])]
    assert labels.read_bytes() == HTML


def test_download_into_a_cache_that_cannot_be_written_fails_before_downloading(
        shared_dir, tmp_path, mirrors, server, as_student):
    cache = shared_dir / "readonly"
    cache.mkdir(mode=0o555)
    code = ("import sys; from mnistlib.download import download_mnist, CacheDirError\n"
            "try:\n    download_mnist(sys.argv[1], progress=False)\n"
            "except CacheDirError as e:\n    print(e)")
    r = as_student("-c", code, str(cache), env={"MNIST_MIRRORS": mirrors("good")[0]})
    assert r.returncode == 0, r.stderr
    assert r.stdout == (f"cannot use {cache} as the MNIST cache: Permission denied; choose "
                        "another directory (--cache-dir, or MNISTLIB_CACHE_DIR)\n")
    (tmp_path / "file").write_text("")
    with pytest.raises(CacheDirError, match="a file is in the way, not a directory"):
        download_mnist(tmp_path / "file" / "cache", mirrors=mirrors("good"), progress=False)
    assert server.requests == []
