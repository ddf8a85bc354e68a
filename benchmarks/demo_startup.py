"""The live demo's start-up: from the command to the first widget answering a click (row 7 of the README).

``python -m mnistlib.demo`` (what ``python run.py demo`` runs after its set-up
check) is started; headless Chromium opens the page as soon as the launcher
prints the address, and clicks the prediction explorer's "next image" button.
The row is the time until its status line changes; the launcher's own reading
("Page ready: ...") is shown beside it. Needs Playwright, Voila and Chromium.
"""

import os
import re
import signal
import subprocess
import sys
import threading
import time

import harness

WHAT = "live demo start-up: command -> first widget answers a click in the browser"
NEXT, STATUS = ".mnistlib-explorer-next", ".mnistlib-explorer-status"


class Launcher:
    """``python -m mnistlib.demo`` on a port, in its own process group; its output collected as it comes."""

    def __init__(self, port):
        self.log = open(os.devnull, "w")
        self.proc = subprocess.Popen([sys.executable, "-m", "mnistlib.demo", f"--port={port}"], cwd=harness.ROOT,
                                     stdout=subprocess.PIPE, stderr=self.log, text=True, start_new_session=True)
        self.lines = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line)

    def said(self, words, timeout):
        """Wait until the launcher has printed a line with these words."""
        deadline = time.monotonic() + timeout
        while not any(words in line for line in self.lines):
            if time.monotonic() > deadline or not self.reader.is_alive():
                raise RuntimeError(f"the launcher never said {words!r}: {''.join(self.lines)[-300:]}")
            time.sleep(0.05)

    def stop(self):
        self.proc.terminate()                         # the launcher stops Voila and its kernels
        self.proc.wait(timeout=60)
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)   # whatever did not stop in time
        except ProcessLookupError:
            pass
        self.log.close()


def first_answer(page, launcher, port):
    """Open the page once the launcher says so, click "next image", wait for the status line to change."""
    launcher.said("Live demo: open", 120)
    page.goto(f"http://127.0.0.1:{port}/", wait_until="domcontentloaded", timeout=120_000)
    button = page.locator(NEXT).first
    button.wait_for(timeout=120_000)
    status = page.locator(STATUS).inner_text()
    button.click()
    page.wait_for_function(f"s => document.querySelector('{STATUS}').innerText !== s", arg=status,
                           timeout=60_000)


def measure(table, browser):
    page = browser.new_page(viewport={"width": 1366, "height": 768})   # the presenter's browser is open
    port = harness.free_port()
    t0 = time.monotonic()
    launcher = Launcher(port)
    try:
        first_answer(page, launcher, port)
        seconds = time.monotonic() - t0
        launcher.said("Page ready", 60)
        said = "".join(launcher.lines)
        m = re.search(r"answered (\d+\.\d) s", said)
        data = "full MNIST" if "Data: the full MNIST" in said else "bundled subset"
        table.add(f"{WHAT} ({data})", f"{seconds:.1f} s (the launcher said {m.group(1)} s)",
                  "< 10 s", seconds < 10)
    except Exception as e:
        table.add(WHAT, f"failed: {type(e).__name__}: {str(e).splitlines()[0]}", "< 10 s", False)
    finally:
        launcher.stop()


def row(table):
    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        table.add(WHAT, "not measured: Playwright is not installed (pip install -e '.[browser]')")
        return
    if not os.access(chromium, os.X_OK):
        table.add(WHAT, f"not measured: no Chromium at {chromium} (sudo bash .ci/browser-deps)")
        return
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True,
                                    args=["--no-sandbox", "--disable-gpu"])
        try:
            measure(table, browser)
        finally:
            browser.close()
