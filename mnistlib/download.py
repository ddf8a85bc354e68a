"""Download MNIST into the per-user cache, and read what the cache holds.

``download_mnist()`` fetches the four files (those not in the cache already) from a list of
mirrors (``MNIST_MIRRORS``, else ``DEFAULT_MIRRORS``), checks each against its size and
sha256 (``MNIST_FILES``), and saves it into the cache (``MNISTLIB_CACHE_DIR``, else
``$XDG_CACHE_HOME/mnistlib`` or ``~/.cache/mnistlib``; ``%LOCALAPPDATA%\\mnistlib`` on
Windows). A mirror that stays silent for ``timeout`` seconds is left for the next; the whole
download gives up after ``DOWNLOAD_DEADLINE`` seconds, enforced by a watchdog that cuts the
connection. Progress is shown on stderr, a line for each file. ``read_cache`` gives the
intact files in the cache and deletes damaged ones; ``data.load_mnist`` uses both.

The cache may be shared (a teacher downloads once into a directory the class reads):
files are written with the usual permissions (readable by all unless the umask says
otherwise), each appears complete or not at all (``save_atomically``: a ``.part`` file,
then a rename), and several processes may load or fill the cache at the same time.
"""

import contextlib
import hashlib
import http.client
import os
import secrets
import socket
import ssl
import stat
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from pathlib import Path

import numpy as np

from .idx import (CacheDirError, DownloadError, MnistDataError, gunzip, looks_like_html,
                  parse_idx, read_decompressed)

# The four files, with the size and sha256 of their decompressed bytes. The .gz files found
# on mirrors differ in compression, so only the decompressed content can be checked.
MNIST_FILES = {
    "train-images-idx3-ubyte": (47040016, "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
    "train-labels-idx1-ubyte": (60008, "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
    "t10k-images-idx3-ubyte": (7840016, "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    "t10k-labels-idx1-ubyte": (10008, "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
}

DEFAULT_MIRRORS = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
]

# Seconds a whole download (all four files, all mirrors) may take before it gives up.
DOWNLOAD_DEADLINE = 600

# A download is complete and verified in memory before its temporary ".part" file is
# written, so that file lives for well under a second. One older than this was left by a
# process killed between writing and renaming, and no running process will finish it.
# (An age, not a pid: a shared cache can be filled from several machines, and pids are reused.)
STALE_PART_SECONDS = 600


# ---------------------------------------------------------------------------------------------
# The cache
# ---------------------------------------------------------------------------------------------

def default_cache_dir() -> Path:
    """Where downloads go: MNISTLIB_CACHE_DIR, else the platform's per-user cache + /mnistlib."""
    if os.environ.get("MNISTLIB_CACHE_DIR"):
        return Path(os.environ["MNISTLIB_CACHE_DIR"]).expanduser()
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "mnistlib"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "mnistlib"


def check_cache_dir(cache) -> None:
    """Raise ``CacheDirError`` saying why, unless ``cache`` is (or can be made) a directory we
    can write files into."""
    cache = Path(cache)
    try:
        cache.mkdir(parents=True, exist_ok=True)
        # Create and remove a file: the only test that also holds for root, read-only file
        # systems and network drives. (A unique ".part" name: no clash with another process,
        # and the next run removes it if we are killed right now.)
        probe = cache / f".write-test.{secrets.token_hex(6)}.part"
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        probe.unlink()
    except OSError as err:
        problem = err.strerror or str(err)
        if isinstance(err, (FileExistsError, NotADirectoryError)):
            problem = "a file is in the way, not a directory"
        raise CacheDirError(f"cannot use {cache} as the MNIST cache: {problem}; choose another "
                            "directory (--cache-dir, or MNISTLIB_CACHE_DIR)") from None


def read_mnist_file(path: Path, name: str) -> np.ndarray:
    """Read MNIST file ``name`` from ``path`` (raw or .gz) and check its size and sha256.

    Raises MnistDataError if the file is damaged or not MNIST's, OSError if it cannot be read.
    """
    size, sha256 = MNIST_FILES[name]
    data = read_decompressed(path, size)
    array = parse_idx(data, path.name)
    if len(data) != size or hashlib.sha256(data).hexdigest() != sha256:
        raise MnistDataError(
            f"{path.name}: a valid IDX file, but not the original MNIST {name} "
            f"(its sha256 checksum does not match); replace it with the original file"
        )
    return array


def read_cache(cache: Path, say) -> dict[str, np.ndarray]:
    """The intact MNIST files in ``cache``, as arrays by name (maybe not all four).

    The cache is ours to manage: stale ``.part`` files are removed, a damaged file is
    deleted so that a download replaces it, and one we cannot read is left alone. Either
    way say(line) is called with one line saying so (``print``, or a function that drops it).
    """
    remove_stale_parts(cache)
    found = {}
    for name in MNIST_FILES:
        for path in (cache / name, cache / f"{name}.gz"):
            array = _read_cached(path, name, say)
            if array is not None:
                found[name] = array
                break
    return found


def _read_cached(path: Path, name: str, say, retry: bool = True) -> np.ndarray | None:
    """The array in cache file ``path``, or None if it is missing, unreadable or damaged."""
    try:
        seen = path.stat()
        if not stat.S_ISREG(seen.st_mode):
            return None
        return read_mnist_file(path, name)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as err:
        say(f"MNIST: cannot read {path.name} in the cache {path.parent} ({err.strerror or err}); "
            "skipping it (its owner can make it readable: chmod a+r)")
        return None
    except MnistDataError as err:
        reason = str(err).split("; ")[0]
    # Another process may be loading the same cache and may have replaced the file with a
    # good download since we read it. Delete only the file we read; read a new one again.
    # (This leaves a window of microseconds in which a good file could be deleted: then it
    # is downloaded again, which wastes time but breaks nothing.)
    try:
        now = path.stat()
        if _identity(now) != _identity(seen):
            return _read_cached(path, name, say, retry=False) if retry else None
        path.unlink()
    except FileNotFoundError:
        say(f"MNIST: found a damaged file in the cache ({reason}); another process has removed it")
    except OSError as err:
        say(f"MNIST: found a damaged file in the cache ({reason}) and could not delete it "
            f"({err.strerror or err})")
    else:
        say(f"MNIST: deleted a damaged file from the cache ({reason})")
    return None


def _identity(st: os.stat_result) -> tuple:
    return st.st_ino, st.st_size, st.st_mtime_ns


def remove_stale_parts(cache: Path) -> None:
    """Delete the ``.part`` files in ``cache`` older than STALE_PART_SECONDS: left by writes
    killed between writing and renaming. OSError is ignored (no cache yet, not ours to delete)."""
    now = time.time()
    with contextlib.suppress(OSError):          # no cache yet, or one we may not change
        for part in cache.glob(".*.part"):
            with contextlib.suppress(OSError):  # gone already, or not ours to delete
                if now - part.stat().st_mtime > STALE_PART_SECONDS:
                    part.unlink()


def save_atomically(directory: Path, name: str, blob: bytes) -> None:
    """Write ``blob`` to ``directory/name`` atomically: a reader never sees half a file.

    The bytes go to a ``.part`` file in ``directory`` (made if missing), which a rename then
    puts in place. Raises OSError if that fails; only a process killed in between leaves the
    ``.part`` behind (``remove_stale_parts`` deletes it later). The file gets the permissions
    of any new file (0666 less the umask), so that other users can read a shared cache; a
    temporary file would otherwise keep its private 0600.
    """
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f".{name}.{secrets.token_hex(6)}.part"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
        os.replace(tmp, directory / name)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


# ---------------------------------------------------------------------------------------------
# Downloading
# ---------------------------------------------------------------------------------------------

def download_mnist(cache_dir=None, mirrors=None, timeout=10, progress=True,
                   deadline=DOWNLOAD_DEADLINE) -> Path:
    """Download the four MNIST files into the cache, verify them, and return the cache directory.

    mirrors: base URLs tried in order (default: MNIST_MIRRORS, comma- or space-separated,
    else DEFAULT_MIRRORS). Files already in the cache and intact are kept.
    timeout: seconds a mirror may stay silent (connecting, or waiting for the next bytes)
    before the next mirror is tried.
    deadline: seconds the whole download may take, all files and mirrors together (default
    600); a server that sends a byte now and then cannot hold it longer.
    progress: show progress on stderr, and a final line on stdout.
    Raises ``CacheDirError`` (before downloading anything) if the cache directory cannot be
    written, ``DownloadError`` if every mirror fails or the deadline passes. Each file is
    saved complete or not at all, so an interrupted download leaves the cache intact.
    """
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    check_cache_dir(cache)
    say = print if progress else _quiet
    missing = [name for name in MNIST_FILES if name not in read_cache(cache, say)]

    def keep(name, blob):
        try:
            save_atomically(cache, f"{name}.gz", blob)
        except OSError as err:
            raise CacheDirError(f"could not save {name}.gz into the cache {cache}: "
                                f"{err.strerror or err}") from None

    download_files(missing, mirrors, timeout, deadline, progress, keep)
    if progress:
        print("MNIST downloaded and verified in the cache" if missing
              else "MNIST: already in the cache and verified")
    return cache


def _quiet(*args, **kwargs):
    pass


def mirror_list(mirrors=None) -> list[str]:
    """Base URLs to try, each ending in "/": ``mirrors``, else MNIST_MIRRORS, else the defaults."""
    if mirrors is None:
        mirrors = os.environ.get("MNIST_MIRRORS", "").replace(",", " ").split() or DEFAULT_MIRRORS
    elif isinstance(mirrors, str):
        mirrors = mirrors.replace(",", " ").split()
    return [m if m.endswith("/") else m + "/" for m in mirrors]


def download_files(names, mirrors, timeout: float, deadline: float, progress: bool, keep) -> dict:
    """Fetch and verify each of ``names`` from the first mirror that delivers it.

    mirrors: as for ``mirror_list``; timeout, deadline: seconds, as for ``download_mnist``;
    progress: a progress line on stderr for each file and mirror tried.
    Calls keep(name, blob) with each verified .gz as soon as it arrives; returns
    {name: decompressed content}. Raises DownloadError if a file fails on every mirror or
    all of it takes longer than ``deadline`` seconds.
    """
    mirrors = mirror_list(mirrors)
    end = time.monotonic() + deadline
    contents = {}
    for name in names:
        failures = []
        for base in mirrors:
            try:
                if time.monotonic() >= end:
                    raise _DeadlinePassed(f"the deadline of {deadline:g} s has passed")
                blob = _fetch(f"{base}{name}.gz", timeout, end, progress)
            except _DeadlinePassed as err:
                failures.append(f"  {base}: {err}")
                raise DownloadError(
                    f"gave up downloading {name}.gz: the whole download may take at most "
                    f"{deadline:g} s (the deadline), and that time has passed. Try again on a "
                    "faster connection, or allow more time (download_mnist(deadline=...), "
                    "python -m mnistlib download --deadline ...):\n" + "\n".join(failures),
                    summary=f"it took longer than the {deadline:g} s deadline") from None
            except (OSError, ValueError, http.client.HTTPException) as err:
                failures.append(f"  {base}: {_reason(err, timeout)}")
                continue
            try:
                contents[name] = _check_download(blob, name)
            except (OSError, ValueError, EOFError, zlib.error) as err:
                failures.append(f"  {base}: {_reason(err, timeout)}")
                if progress:  # the progress line said 100%; say why that was not enough
                    print(f"  rejected: {_reason(err, timeout)}", file=sys.stderr)
                continue
            keep(name, blob)
            break
        else:
            offline = all("cannot connect" in f or "timed out" in f for f in failures)
            raise DownloadError(f"could not download {name}.gz from any mirror:\n"
                                + "\n".join(failures),
                                summary="offline?" if offline else "no mirror sent a correct "
                                "file; python -m mnistlib download says why")
    return contents


class _DeadlinePassed(TimeoutError):
    """The whole download took longer than its deadline."""


def _fetch(url: str, timeout: float, end: float, progress: bool) -> bytes:
    """The body of ``url``, by time.monotonic() ``end`` at the latest (else _DeadlinePassed).

    Shows a one-line progress display on stderr if ``progress``, updated as bytes arrive.
    """
    name = url.rsplit("/", 1)[-1]
    # A compressed MNIST file is under 10 MB; refuse endless or absurd responses.
    limit = 64 * 2**20
    show = _progress_line(f"downloading {name} from {urllib.parse.urlsplit(url).netloc}: ",
                          progress)
    chunks, received, total = [], 0, 0
    # Once connected, say so: a server can keep us waiting before the first byte.
    with _Deadline(end, on_connect=lambda: show("connected, waiting for the data")) as deadline:
        try:
            with _opener(deadline).open(url, timeout=timeout) as response:
                total = int(response.headers.get("Content-Length") or 0)
                # read1 returns what has arrived (read would wait for a full 64 KiB).
                while chunk := response.read1(2**16):
                    chunks.append(chunk)
                    received += len(chunk)
                    if received > limit:
                        raise ValueError(f"the server sent more than {limit} bytes, "
                                         "too much for MNIST")
                    show(_amount(received, total))
        except (OSError, ValueError, http.client.HTTPException):
            if deadline.passed:
                raise _DeadlinePassed(f"still downloading when the deadline passed, "
                                     f"at {_amount(received, total).strip()}") from None
            raise
        finally:
            show(None)  # end the progress line, even if the transfer broke off
        if deadline.passed:  # the cut connection may look like a normal end of the data
            raise _DeadlinePassed(f"still downloading when the deadline passed, "
                                 f"at {_amount(received, total).strip()}")
    if total and received != total:
        raise ValueError(f"incomplete download: {received} of {total} bytes")
    return b"".join(chunks)


def _amount(received: int, total: int) -> str:
    """ " 12% (1.2 MB of 9.9 MB)", "100% (9.9 MB)", or "1.2 MB" if the total is unknown."""
    def size(n):
        if n < 10**4:
            return f"{n} bytes"
        return f"{n / 1e3:.0f} kB" if n < 10**6 else f"{n / 1e6:.1f} MB"
    if not total:
        return size(received)
    if received == total:
        return f"100% ({size(total)})"
    return f"{100 * received // total:3d}% ({size(received)} of {size(total)})"


def _progress_line(prefix: str, enabled: bool):
    """show(text) redraws "prefix text" in place on stderr (at most ten times a second);
    show(None) ends the line."""
    state = {"shown": None, "at": 0.0, "width": 0}

    def show(text):
        if not enabled:
            return
        if text is None:
            if state["shown"] is not None:
                if state["shown"] != state["text"]:     # the last state, if not drawn yet
                    draw(state["text"])
                print(file=sys.stderr, flush=True)
            return
        state["text"] = text
        if text != state["shown"] and time.monotonic() - state["at"] >= 0.1:
            draw(text)

    def draw(text):
        line = prefix + text
        print("\r" + line.ljust(state["width"]), end="", file=sys.stderr, flush=True)
        state.update(shown=text, at=time.monotonic(), width=len(line))

    return show


class _Deadline:
    """Cuts the connections of one fetch when time.monotonic() reaches ``end``.

    A socket timeout only limits each wait for data, so a server that sends a byte every few
    seconds never trips it, not even while sending headers. Shutting the socket down from a
    timer thread wakes up whatever read is waiting, and ``passed`` tells why it failed.
    """

    def __init__(self, end: float, on_connect=None):
        self.end, self.passed, self.sockets, self.on_connect = end, False, [], on_connect
        self.lock = threading.Lock()
        self.timer = threading.Timer(max(0.0, end - time.monotonic()), self._cut)
        self.timer.daemon = True

    def __enter__(self):
        self.timer.start()
        return self

    def __exit__(self, *exc):
        self.timer.cancel()
        with self.lock:
            for sock in self.sockets:
                sock.close()

    def watch(self, sock: socket.socket) -> None:
        with self.lock:
            # A duplicate: it reaches the same connection after TLS wraps (and detaches) sock.
            self.sockets.append(sock.dup())
            if self.passed:
                self._shut(self.sockets[-1])
        if self.on_connect:
            self.on_connect()

    def connection(self, cls):
        """A factory for urllib's do_open: ``cls`` connections that this deadline watches."""
        def make(host, timeout, **kwargs):
            conn = cls(host, timeout=min(timeout, max(0.01, self.end - time.monotonic())), **kwargs)
            conn.deadline = self
            return conn
        return make

    def _cut(self):
        with self.lock:
            self.passed = True
            for sock in self.sockets:
                self._shut(sock)

    @staticmethod
    def _shut(sock):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


class _WatchedHTTP(http.client.HTTPConnection):
    def connect(self):
        super().connect()
        self.deadline.watch(self.sock)


class _WatchedHTTPS(http.client.HTTPSConnection, _WatchedHTTP):
    # HTTPSConnection.connect calls _WatchedHTTP.connect (the TCP connection), then adds TLS.
    pass


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, deadline):
        super().__init__()
        self.deadline = deadline

    def http_open(self, req):
        return self.do_open(self.deadline.connection(_WatchedHTTP), req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, deadline):
        self.context = ssl.create_default_context()
        super().__init__(context=self.context)
        self.deadline = deadline

    def https_open(self, req):
        return self.do_open(self.deadline.connection(_WatchedHTTPS), req, context=self.context)


def _opener(deadline: _Deadline) -> urllib.request.OpenerDirector:
    """urllib's opener (proxies, redirects) whose connections ``deadline`` can cut."""
    return urllib.request.build_opener(_HTTPHandler(deadline), _HTTPSHandler(deadline))


def _check_download(blob: bytes, name: str) -> bytearray:
    """The decompressed content of ``blob``; ValueError unless it is the gzip of MNIST ``name``."""
    if looks_like_html(blob):
        raise ValueError("the server sent an HTML page instead of the file")
    if blob[:2] != b"\x1f\x8b":
        raise ValueError("the server did not send a gzip file")
    size, sha256 = MNIST_FILES[name]
    data = gunzip(blob, size, "the size of the original file")
    if len(data) != size:
        raise ValueError(f"wrong size after decompression: {len(data)} bytes, expected {size}")
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ValueError("sha256 checksum mismatch")
    return data


def _reason(err: Exception, timeout: float) -> str:
    """A short human-readable reason for a failed fetch."""
    if isinstance(err, urllib.error.HTTPError):
        return f"HTTP {err.code} {err.reason}"
    if isinstance(err, urllib.error.URLError):
        err = err.reason if isinstance(err.reason, Exception) else err
        if not isinstance(err, TimeoutError):
            return f"cannot connect ({err})"
    if isinstance(err, TimeoutError):
        return f"timed out after {timeout:g} s"
    if isinstance(err, (EOFError, zlib.error)):
        return f"corrupt gzip data ({err})"
    return str(err) or type(err).__name__
