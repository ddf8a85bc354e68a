"""Fixtures for the end-to-end tests: Jupyter servers and headless Chromium.

Every test here carries the ``browser`` marker; leave them out with
``-m "not browser"``. They need:
- Chromium at /usr/bin/chromium (``sudo bash .ci/browser-deps`` on Debian),
  or another Chromium named by the environment variable CHROMIUM;
- Playwright for Python, Voila: ``pip install -e '.[lab,browser]'``.
  Never ``playwright install``: the tests drive the system Chromium.
Where one of them is missing, they are skipped and the end of the run says why
(in CI, where nothing may be skipped, that is a failure: see the root conftest.py).

Every wait follows the state of the page or the kernel (a selector, a status
line, the kernel's own status), never the clock: timeouts only bound how long
a broken page may take to fail.

Servers run from this environment on 127.0.0.1, on a free port, with a random
token and throw-away config/runtime/settings directories, on a temporary copy of
the notebooks (JupyterLab autosaves: the repository's notebooks stay untouched).
Kernels inherit the environment, so MNIST_DATA_DIR is honoured when set; without
it the notebooks use the bundled subset.

Screenshots go to artifacts/browser/ (ignored by git).
"""

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "artifacts" / "browser"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]

# JupyterLab user settings for the test server: no news or update pop-ups, and
# every cell kept in the DOM (no windowing), so selectors find all outputs.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings":
        {"windowingMode": "none"},
}


def missing_browser_tools():
    """What the browser tests need and this machine lacks, as short sentences (none: [])."""
    problems = []
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        problems.append(f"Chromium not found at {CHROMIUM}; install it with: sudo bash .ci/browser-deps "
                        "(or set CHROMIUM=/path/to/chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        problems.append("Playwright for Python is not installed: pip install -e '.[browser]'")
    if shutil.which("voila", path=str(Path(sys.executable).parent)) is None:
        problems.append("Voila is not installed: pip install -e '.[browser]'")
    return problems


def pytest_collection_modifyitems(config, items):
    """Without Chromium, Playwright or Voila, skip every browser test with the reason.

    The root conftest.py prints the reason once at the end of the run, and turns
    these skips into failures in CI.
    """
    browser_items = [item for item in items if item.get_closest_marker("browser")]
    problems = missing_browser_tools() if browser_items else []
    if problems:
        skip = pytest.mark.skip(reason="; ".join(problems))
        for item in browser_items:
            item.add_marker(skip)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A server process in its own process group, with its log in a file."""

    def __init__(self, name, args, env, cwd, log_dir):
        self.name = name
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(log_dir) / f"{name}.log"
        self._log = open(self.log_path, "wb")
        args = [a.format(port=self.port, token=self.token) for a in args]
        self.started_at = time.time()
        self.proc = subprocess.Popen(args, env=env, cwd=cwd, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def url(self, path):
        sep = "&" if "?" in path else "?"
        return f"{self.base}/{path.lstrip('/')}{sep}token={self.token}"

    def log_tail(self, n=40):
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])

    def _wait(self, ready, what, timeout):
        """Poll ready() until it returns True; fail with the server's log if it dies or times out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"{self.name} exited with code {self.proc.returncode}:\n"
                            + self.log_tail(), pytrace=False)
            try:
                if ready():
                    return
            except OSError:
                pass
            time.sleep(0.3)
        self.stop()
        pytest.fail(f"{self.name} not {what} after {timeout} s:\n" + self.log_tail(), pytrace=False)

    def wait_ready(self, path, timeout=180):
        """Wait until ``path`` answers 200."""
        def ready():
            with urllib.request.urlopen(self.url(path), timeout=5) as r:
                return r.status == 200
        self._wait(ready, "ready", timeout)

    def wait_port(self, timeout=180):
        """Wait until the server accepts connections (for servers without a status API)."""
        def ready():
            socket.create_connection(("127.0.0.1", self.port), timeout=2).close()
            return True
        self._wait(ready, "listening", timeout)

    def kernel_pids(self):
        """The kernels running under this server now (its descendants: a kernel runs in a
        session of its own), as a set of pids."""
        parents, kernels = {}, set()
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                parents[int(proc.name)] = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
                if b"ipykernel_launcher" in (proc / "cmdline").read_bytes():
                    kernels.add(int(proc.name))
            except (OSError, IndexError, ValueError):
                continue          # gone meanwhile
        def under_server(pid):
            while pid > 1:
                pid = parents.get(pid, 0)
                if pid == self.proc.pid:
                    return True
            return False
        return {pid for pid in kernels if under_server(pid)}

    def shutdown_kernels(self):
        """Shut down every kernel of a Jupyter server (frees memory between tests)."""
        with urllib.request.urlopen(self.url("api/kernels"), timeout=10) as r:
            kernels = json.load(r)
        for k in kernels:
            req = urllib.request.Request(self.url(f"api/kernels/{k['id']}"), method="DELETE")
            try:
                urllib.request.urlopen(req, timeout=30).close()
            except OSError:
                pass

    def stop(self):
        """Terminate the server and everything it started (kernels), then reap it."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
            except ProcessLookupError:
                pass
        # kernels live in the server's process group: make sure none outlives it
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self._log.close()


@pytest.fixture(scope="session")
def browser_workdir():
    """A temp dir holding a copy of notebooks/ and demo/, and the servers' logs.

    Its own mkdtemp rather than pytest's tmp_path: pytest prunes old numbered
    tmp dirs, which would pull the files from under a running server if another
    pytest runs at the same time.
    """
    root = Path(tempfile.mkdtemp(prefix="mnistlib-browser-"))
    shutil.copytree(REPO_ROOT / "notebooks", root / "notebooks",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    if (REPO_ROOT / "demo").is_dir():
        shutil.copytree(REPO_ROOT / "demo", root / "demo",
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def jupyter_env(browser_workdir, full_mnist_or_none):
    """The environment for the servers: this one, with throw-away Jupyter dirs."""
    env = dict(os.environ)
    dirs = {name: browser_workdir / "jupyter" / name.lower() for name in (
        "JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTERLAB_SETTINGS_DIR",
        "JUPYTERLAB_WORKSPACES_DIR", "IPYTHONDIR", "MPLCONFIGDIR")}
    for name, d in dirs.items():
        d.mkdir(parents=True, exist_ok=True)
        env[name] = str(d)
    for rel, settings in LAB_SETTINGS.items():
        path = dirs["JUPYTERLAB_SETTINGS_DIR"] / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings))
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("JUPYTER_TOKEN", None)
    # Models the pages train (the demo's softmax regression) go to a throw-away cache, not
    # the user's; the full MNIST is then named by MNIST_DATA_DIR, wherever it was found.
    if full_mnist_or_none is not None:
        env["MNIST_DATA_DIR"] = str(full_mnist_or_none)
    env["MNISTLIB_CACHE_DIR"] = str(browser_workdir / "cache")
    # the kernels must find this environment's python first
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env


def _jupyter_server(app, browser_workdir, jupyter_env, name=None):
    """Start JupyterLab or Notebook 7 (app: "lab" or "notebook"); name: for its log (default: app)."""
    args = [sys.executable, "-m", "jupyter", app, "--no-browser",
            "--ServerApp.ip=127.0.0.1", "--ServerApp.port={port}",
            "--ServerApp.port_retries=0", "--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={browser_workdir / 'notebooks'}",
            "--ServerApp.open_browser=False", "--LabApp.news_url=",
            "--LabApp.extension_manager=readonly",
            # window.jupyterapp: the tests read the kernel's state from the app itself
            "--LabApp.expose_app_in_browser=True",
            "--JupyterNotebookApp.expose_app_in_browser=True"]
    if os.geteuid() == 0:  # CI containers run as root
        args.append("--allow-root")
    server = Server(name or app, args, jupyter_env, browser_workdir, browser_workdir)
    server.wait_ready("api/status")
    return server


@pytest.fixture(scope="session")
def lab_server(browser_workdir, jupyter_env):
    """JupyterLab serving the temp copy of notebooks/."""
    server = _jupyter_server("lab", browser_workdir, jupyter_env)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def notebook_server(browser_workdir, jupyter_env):
    """Notebook 7 serving the temp copy of notebooks/."""
    server = _jupyter_server("notebook", browser_workdir, jupyter_env)
    yield server
    server.stop()


@pytest.fixture(params=["lab", "notebook"])
def server(request):
    """JupyterLab, then Notebook 7 (``server.ui``: "lab" or "notebook"); its kernels are shut down
    after the test. ``@pytest.mark.parametrize("server", ["lab"], indirect=True)``: one of them."""
    server = request.getfixturevalue(f"{request.param}_server")
    server.ui = request.param
    yield server
    server.shutdown_kernels()


@pytest.fixture(scope="session")
def voila_server(browser_workdir, jupyter_env):
    """The live demo, started as ``python run.py demo`` starts it: ``python -m mnistlib.demo``.

    Voila serves demo/live_demo.ipynb (it only reads it); the launcher's own lines
    (data, address, start-up time) are at the top of the server's log.
    """
    server = start_voila(browser_workdir, jupyter_env)
    yield server
    server.stop()


def start_voila(browser_workdir, env, name="voila", extra=()):
    """Start ``python -m mnistlib.demo`` with this environment (e.g. a cache of its own) and
    these more Voila options; stop() it."""
    from mnistlib.demo import DEMO_NOTEBOOK

    if not DEMO_NOTEBOOK.is_file():
        pytest.fail("demo/live_demo.ipynb is missing", pytrace=False)
    args = [sys.executable, "-m", "mnistlib.demo", "--port={port}", "--token={token}",
            "--Voila.port_retries=0", *extra]
    server = Server(name, args, env, browser_workdir, browser_workdir)
    server.wait_port()
    return server


@pytest.fixture(scope="session")
def start_server(browser_workdir, jupyter_env):
    """A factory: ``start_server(app, name, extra=(), **env)`` starts "voila" (the demo, as
    voila_server, with ``extra`` options for the launcher), "lab" or "notebook" with these
    environment variables changed ("" removes one), e.g. a model cache of its own; name: for
    its log. The caller stops it (``server.stop()``)."""
    def start(app, name, extra=(), **changes):
        env = {**jupyter_env, **changes}
        env = {k: v for k, v in env.items() if v != ""}
        if app == "voila":
            return start_voila(browser_workdir, env, name, extra)
        return _jupyter_server(app, browser_workdir, env, name=name)
    return start


@pytest.fixture(scope="session")
def chromium():
    """Headless system Chromium, driven by Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(chromium, request):
    """A factory: ``new_page(**context_options)`` opens a fresh tab in a context of its own
    (no shared storage; e.g. viewport=..., has_touch=True) that records page errors.

    When the test fails, each tab's screenshot is saved and its console printed.
    """
    opened = []

    def make(**options):
        options.setdefault("viewport", {"width": 1400, "height": 2000})
        context = chromium.new_context(**options)
        context.set_default_timeout(60_000)
        page = context.new_page()
        page.errors, page.console = [], []
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        page.on("console", lambda m: page.console.append(f"{m.type}: {m.text[:300]}"))
        opened.append((context, page))
        return page

    yield make
    from jupyter_ui import close_tab
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for n, (context, page) in enumerate(opened):
        if failed:
            try:
                shot(page, f"FAILED-{request.node.name}" + (f"-{n}" if n else ""))
            except Exception as e:  # a crashed page: still report the console
                print(f"no screenshot: {e}")
            print("browser console (last 30 messages):", *page.console[-30:], sep="\n  ")
        close_tab(page)
        context.close()


@pytest.fixture
def page(new_page):
    """A fresh browser tab, 1400 x 2000 (see new_page)."""
    return new_page()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Remember each phase's report on the item, so `page` can screenshot failures."""
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


def shot(target, name, whole=True):
    """Save a screenshot as artifacts/browser/<name>.png and return its path.

    target: a Playwright page, or a locator (just that element, e.g. one widget).
    whole: for a page, the whole page (Voila scrolls its content inside an element,
    so the window is made as tall as the content for the picture, then restored);
    False: just what the window shows.
    """
    from jupyter_ui import PAGE_HEIGHT

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    path = ARTIFACTS / f"{safe}.png"
    if not hasattr(target, "goto"):
        target.scroll_into_view_if_needed()
        target.screenshot(path=str(path))
        return path
    size = target.viewport_size
    height = target.evaluate(PAGE_HEIGHT) if whole else size["height"]
    if height > size["height"]:
        target.set_viewport_size({"width": size["width"], "height": height})
    try:
        target.screenshot(path=str(path))
    finally:
        if height > size["height"]:
            target.set_viewport_size(size)
    return path


@pytest.fixture
def screenshot():
    return shot
