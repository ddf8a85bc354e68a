"""Is the series fast enough to train live?  Times the training loop, the widgets and the notebooks.

    MNIST_DATA_DIR=/path/to/mnist python benchmarks/run.py [--quick] [--notebooks | --classroom]

Prints the machine (cores, CPU, numpy, BLAS), then a Markdown table: one row per
measurement, with its target and whether it was met. benchmarks/README.md says
what each row measures. --quick: fewer repeats, for checking the script itself.
--notebooks: also execute every notebook headless (not written back), each in a
fresh kernel whose peak memory and CPU time are read, and size a classroom server
from them. --classroom: those rows only.

The numbers only count on the full MNIST; the script says so loudly when
load_mnist fell back to the bundled subset. Run it on a quiet machine: the load
average is printed before and after.
"""

import argparse
import datetime
import inspect
import io
import math
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import mnistlib                                        # noqa: E402
from mnistlib import train as train_module              # noqa: E402
from mnistlib.data import load_mnist, train_val_split   # noqa: E402
from mnistlib import cnn, conv, mlp                     # noqa: E402
from mnistlib.model import accuracy                     # noqa: E402
from mnistlib.train import Softmax, accuracy_of, train  # noqa: E402

try:
    import threadpoolctl
except ImportError:
    threadpoolctl = None
try:
    import torch
    import torch.nn.functional as F
except ImportError:
    torch = None

OPENBLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
LR, BATCH = 0.5, 100          # the epoch compared with PyTorch


# --- the machine -------------------------------------------------------------

def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def blas_info():
    """(description, number of threads) of numpy's BLAS, as threadpoolctl sees it."""
    if threadpoolctl is None:
        return "unknown (threadpoolctl not installed)", None
    for lib in threadpoolctl.threadpool_info():
        if lib.get("user_api") == "blas":
            kernel = f", kernel {lib['architecture']}" if lib.get("architecture") else ""
            return (f"{lib.get('internal_api')} {lib.get('version')}{kernel}, "
                    f"{lib.get('num_threads')} threads"), lib.get("num_threads")
    return "none found by threadpoolctl", None


def blas_threads(n):
    """Context: numpy's BLAS limited to n threads (no-op without threadpoolctl)."""
    if threadpoolctl is None:
        from contextlib import nullcontext
        return nullcontext()
    return threadpoolctl.threadpool_limits(n, user_api="blas")


def load():
    return "%.2f %.2f %.2f" % os.getloadavg()


# --- timing helpers ----------------------------------------------------------

def median_times(fns, repeats):
    """Run each function ``repeats`` times, interleaved (so load changes hit all alike).

    fns: {name: f()}. Returns ({name: median seconds}, {name: fastest seconds}).
    """
    times = {name: [] for name in fns}
    for name, f in fns.items():          # one warm-up run each: caches, lazy imports
        f()
    for _ in range(repeats):
        for name, f in fns.items():
            t = time.perf_counter()
            f()
            times[name].append(time.perf_counter() - t)
    return ({name: statistics.median(ts) for name, ts in times.items()},
            {name: min(ts) for name, ts in times.items()})


def fmt_s(s):
    if s < 0.01:
        return f"{s * 1e3:.1f} ms"
    return f"{s * 1e3:.0f} ms" if s < 10 else f"{s:.1f} s"


class Table:
    def __init__(self):
        self.rows = []

    def add(self, what, result, target="", met=None):
        verdict = "" if met is None else ("met" if met else "MISSED")
        # The load when the row was finished: other programs make timings pessimistic.
        self.rows.append((what, result, target, verdict, f"{os.getloadavg()[0]:.1f}"))
        print(f"  {what}: {result}  {target} {verdict}", file=sys.stderr, flush=True)

    def markdown(self):
        lines = ["| measurement | result | target | | load |", "|---|---|---|---|---|"]
        lines += ["| " + " | ".join(r) + " |" for r in self.rows]
        return "\n".join(lines)


# --- 1. one epoch: mnistlib against PyTorch -----------------------------------

def mnistlib_epoch(d, one_thread=True):
    """One epoch with train(); one_thread=False lifts its one-BLAS-thread limit."""
    saved = train_module.ONE_THREAD_MAX_BATCH
    if not one_thread:
        train_module.ONE_THREAD_MAX_BATCH = 0
    try:
        train(d.x_train, d.y_train, lr=LR, epochs=1, batch_size=BATCH, evaluate=False)
    finally:
        train_module.ONE_THREAD_MAX_BATCH = saved


def torch_epoch(x, y, seed=0):
    """The same epoch in PyTorch: zero-initialised Linear, cross-entropy, plain SGD.

    A fresh permutation, one indexing per batch, and the loss read back as a
    Python float every update (mnistlib needs it for its divergence check).
    """
    model = torch.nn.Linear(784, 10)
    with torch.no_grad():
        model.weight.zero_()
        model.bias.zero_()
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    n = x.shape[0]
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    total = 0.0
    for start in range(0, n, BATCH):
        idx = order[start:start + BATCH]
        loss = F.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item()
    return total


def epoch_rows(table, d, repeats, both_thread_counts):
    _, numpy_threads = blas_info()
    inside = 1 if BATCH <= train_module.ONE_THREAD_MAX_BATCH else numpy_threads
    settings = [inside] + ([numpy_threads] if both_thread_counts and numpy_threads not in (None, inside) else [])
    x_t = torch.from_numpy(d.x_train) if torch else None
    y_t = torch.from_numpy(d.y_train.astype(np.int64)) if torch else None
    medians = {}
    for threads in settings:
        # The second setting lifts train()'s limit, to show what the limit buys.
        fns = {"mnistlib": lambda: mnistlib_epoch(d, one_thread=threads == inside)}
        if torch:
            torch.set_num_threads(threads or 1)
            fns["torch"] = lambda: torch_epoch(x_t, y_t)
        with blas_threads(threads):
            med, best = median_times(fns, repeats)
        medians[threads] = med
        label = f"{threads} thread{'s' if threads != 1 else ''}"
        note = (f" (train() limits BLAS to 1 thread for batches <= {train_module.ONE_THREAD_MAX_BATCH})"
                if threads == inside else " (train()'s limit lifted: numpy's default BLAS threads)")
        if torch:
            ratio = med["mnistlib"] / med["torch"]
            table.add(f"epoch, 60k images, batch {BATCH}, {label}: mnistlib / PyTorch CPU{note}",
                      f"{fmt_s(med['mnistlib'])} / {fmt_s(med['torch'])} = {ratio:.2f}x "
                      f"(fastest runs: {fmt_s(best['mnistlib'])} / {fmt_s(best['torch'])})",
                      "<= 0.6x", ratio <= 0.6)
        else:
            table.add(f"epoch, 60k images, batch {BATCH}, {label}: mnistlib{note}",
                      f"{fmt_s(med['mnistlib'])}, fastest {fmt_s(best['mnistlib'])} "
                      "(PyTorch not installed: comparison skipped)", "<= 0.6x PyTorch", None)
    return medians[inside]["mnistlib"]


# --- 2. the memory floor -----------------------------------------------------

def floor_rows(table, d, repeats, mnistlib_seconds):
    """Time to read x once per epoch: sequentially (sum) and as the epoch does (shuffled gather)."""
    x, y = d.x_train, d.y_train
    n = len(x)
    nbytes = x.nbytes + n * np.dtype(np.intp).itemsize       # images once, plus the label indices
    order = np.random.default_rng(0).permutation(n)
    xb = np.empty((BATCH, x.shape[1]), x.dtype)
    yb = np.empty(BATCH, np.intp)
    y = y.astype(np.intp)

    def gather():
        # mode="clip" skips the index check that makes np.take buffer its output
        for start in range(0, n, BATCH):
            idx = order[start:start + BATCH]
            np.take(x, idx, axis=0, out=xb, mode="clip")
            np.take(y, idx, out=yb, mode="clip")

    med, _ = median_times({"sum": lambda: x.sum(), "gather": gather}, repeats)
    floor = med["gather"]
    table.add("memory floor: gather x in the epoch's shuffled batch order (np.take into a reused buffer)",
              f"{fmt_s(floor)} for {nbytes / 1e6:.0f} MB = {nbytes / floor / 1e9:.1f} GB/s "
              f"(sequential x.sum(): {fmt_s(med['sum'])}, {x.nbytes / med['sum'] / 1e9:.1f} GB/s)")
    ratio = mnistlib_seconds / floor
    table.add("mnistlib epoch / memory floor", f"{ratio:.1f}x ({fmt_s(mnistlib_seconds)} / {fmt_s(floor)})",
              "<= 2x", ratio <= 2)


# --- 3. one example, mini-batch, full batch ----------------------------------

class _Reached(Exception):
    pass


def time_to_accuracy(d, goal, *, method, lr, batch_size=100, every, max_seconds, schedule="constant"):
    """Train, testing every ``every`` updates; training seconds (testing excluded) to reach ``goal``.

    Returns (updates per second, seconds to goal or None, updates to goal or
    None, best accuracy seen).
    """
    spent_testing = 0.0
    state = {"best": 0.0, "update": 0, "train_s": 0.0}
    t0 = time.perf_counter()

    def check(p):
        nonlocal spent_testing
        t = time.perf_counter()
        state["update"], state["train_s"] = p.update, t - t0 - spent_testing
        acc = accuracy(d.x_test, d.y_test, p.W, p.b)
        state["best"] = max(state["best"], acc)
        spent_testing += time.perf_counter() - t
        if acc >= goal:
            raise _Reached
        if state["train_s"] > max_seconds:
            raise TimeoutError

    reached = False
    try:
        train(d.x_train, d.y_train, method=method, lr=lr, batch_size=batch_size, epochs=1000,
              evaluate=False, callback=check, callback_every=every, schedule=schedule)
    except _Reached:
        reached = True
    except TimeoutError:
        pass
    rate = state["update"] / state["train_s"] if state["train_s"] else float("nan")
    if reached:
        return rate, state["train_s"], state["update"], state["best"]
    return rate, None, state["update"], state["best"]


def method_rows(table, d, quick):
    goal = 0.90
    runs = [("one example at a time", dict(method="example", lr=0.01, every=1000)),
            ("mini-batch of 100", dict(method="minibatch", lr=0.5, batch_size=100, every=20)),
            ("full batch (60k)", dict(method="full", lr=1.0, every=5))]
    for name, kw in runs:
        rate, seconds, updates, best = time_to_accuracy(d, goal, max_seconds=10 if quick else 30, **kw)
        if seconds is None:
            result = f"{rate:,.0f} updates/s; {goal:.0%} not reached in {updates} updates (best {best:.1%})"
        else:
            result = f"{rate:,.0f} updates/s; {goal:.0%} test accuracy after {updates} updates, {seconds:.2f} s"
        table.add(f"{name}, lr={kw['lr']}, test every {kw['every']} updates (testing time excluded)", result)


def recipe_row(table, d, repeats):
    """``python -m mnistlib train``: Softmax.RECIPE on the 50,000 images of the training split."""
    x, y, _, _ = train_val_split(d.x_train, d.y_train)
    results = []
    for _ in range(repeats):
        t = time.perf_counter()
        r = train(x, y, evaluate=False, **Softmax.RECIPE)
        results.append((time.perf_counter() - t, accuracy(d.x_test, d.y_test, r.W, r.b)))
    seconds = statistics.median(s for s, _ in results)
    acc = results[0][1]          # seeded: every run gives the same model
    settings = ", ".join(f"{k}={v!r}" for k, v in Softmax.RECIPE.items())
    table.add(f"recipe: train({settings}) on the 50k training split",
              f"{acc:.2%} test accuracy in {seconds:.2f} s", ">= 92.5% in < 2 s",
              acc >= 0.925 and seconds < 2)


# --- 4. widgets ----------------------------------------------------------------

def widget_rows(table, d, repeats):
    """Time from a changed control value to the new PNG, through each widget's pure function."""
    from mnistlib import draw_widget, explorer_widget, widgets
    limit = 0.150
    W = train(d.x_train[:3000], d.y_train[:3000], lr=0.5, epochs=1, batch_size=50, evaluate=False).W

    def row(name, fn):
        try:
            fn()                                    # first call builds the figures
            times = []
            for _ in range(repeats):
                t = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t)
        except Exception as e:                      # a widget being rewritten must not stop the run
            table.add(f"widget: {name}", f"failed: {type(e).__name__}: {e}", "< 150 ms", False)
            return
        med, worst = statistics.median(times), max(times)
        table.add(f"widget: {name}", f"median {fmt_s(med)}, slowest {fmt_s(worst)} of {len(times)}",
                  "< 150 ms", med < limit)

    if hasattr(widgets, "lr_explorer_update"):
        state = {}
        lrs = iter([0.05, 0.2, 0.5, 1.0, 2.0, 5.0] * 100)

        def lr_change():
            state.update(widgets.lr_explorer_update(next(lrs), d.x_train, d.y_train, d.x_test, d.y_test,
                                                    figs=state or None))
        row("learning-rate explorer, slider change -> retrain (3000 images, 2 epochs) + redraw", lr_change)
    else:
        from mnistlib import plots
        fig = plots.weight_heatmaps(W)

        def fallback():
            r = train(d.x_train[:3000], d.y_train[:3000], lr=0.5, epochs=2, batch_size=50, evaluate=False)
            plots.fig_to_png(plots.weight_heatmaps(r.W, fig=fig))
        row("learning rate (lr_explorer_update missing): retrain + weight_heatmaps + fig_to_png", fallback)

    if hasattr(widgets, "heatmaps_png") and hasattr(widgets, "_LossPlot"):
        plot = widgets._LossPlot(2400)
        xs, losses = np.arange(1, 241) * 10, np.linspace(2.3, 0.3, 240)
        row("live heatmaps, one frame: heatmaps_png(W) + loss plot", lambda: (widgets.heatmaps_png(W),
                                                                            plot.png(xs, losses)))
    if hasattr(widgets, "batch_size_explorer_update"):
        prev = {}
        sizes = iter([1, 10, 50, 100, 1000] * 100)

        # Pass back whatever the previous call returned for redrawing in place.
        params = inspect.signature(widgets.batch_size_explorer_update).parameters
        reuse = next((k for k in ("plot", "fig", "figs") if k in params), None)

        def batch_change():
            again = {reuse: prev.get(reuse)} if reuse else {}
            prev.update(widgets.batch_size_explorer_update(next(sizes), d.x_train, d.y_train, d.x_test, d.y_test,
                                                           **again))
        row("batch-size explorer, slider change (1 to 1000)", batch_change)
    if hasattr(widgets, "softmax_temperature_update"):
        l = d.x_test[0] @ W
        fig = [None]
        temps = iter(np.geomspace(0.05, 20, 7).tolist() * 100)

        def temperature_change():
            fig[0] = widgets.softmax_temperature_update(l, next(temps), fig=fig[0])[1]
        row("softmax temperature, slider change", temperature_change)
    if explorer_widget is not None:
        b = np.zeros(10, np.float32)
        figs = [None]
        images = iter(range(1000))

        def prediction_change():
            figs[0] = explorer_widget.prediction_explorer_update(next(images), d.x_test, d.y_test, W, b,
                                                         figs=figs[0])["figs"]
        row("prediction explorer, next image", prediction_change)
    try:
        from mnistlib import decay_widget
    except ImportError:
        decay_widget = None
    if decay_widget is not None:
        lams = iter(list(decay_widget.DECAY_VALUES) * 100)
        x_val, y_val = d.x_train[-2000:], d.y_train[-2000:]        # held out from the 1000 it trains on

        def decay_change():
            decay_widget.weight_decay_update(next(lams), d.x_train, d.y_train, x_val, y_val)
        row("weight-decay explorer, slider change -> retrain (1000 images, 30 epochs) + redraw", decay_change)
    if draw_widget is not None:
        b = np.zeros(10, np.float32)
        figs = [None]
        canvas = np.kron(d.x_test[0].reshape(28, 28), np.ones((10, 10)))      # a 280x280 drawing

        def drawn():
            figs[0] = draw_widget.draw_update(canvas, W, b, figs=figs[0]).get("figs")
        row("draw a digit, stroke finished -> prediction", drawn)


# --- 5. the notebooks ----------------------------------------------------------

# Appended to each notebook in memory: the kernel reports its own peak memory and CPU time.
KERNEL_USAGE = """
import json as _json, resource as _resource, sys as _sys
_usage = _resource.getrusage(_resource.RUSAGE_SELF)
_peak_mb = _usage.ru_maxrss / (1024 * 1024 if _sys.platform == "darwin" else 1024)
try:
    for _line in open("/proc/self/status"):
        if _line.startswith("VmHWM:"):
            _peak_mb = int(_line.split()[1]) / 1024
except OSError:
    pass
print(_json.dumps({"peak_mb": _peak_mb, "cpu_s": _usage.ru_utime + _usage.ru_stime}))
"""


def notebook_rows(table):
    """Each notebook in a fresh kernel: wall time, and the kernel's CPU seconds and peak memory."""
    import json
    import nbformat
    from nbclient import NotebookClient
    paths = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    total, usage = 0.0, {}
    for p in paths:
        nb = nbformat.read(p, as_version=4)        # executed in memory, never written back
        nb.cells.append(nbformat.v4.new_code_cell(KERNEL_USAGE))
        client = NotebookClient(nb, timeout=600, kernel_name="python3",
                                resources={"metadata": {"path": str(p.parent)}})
        t = time.perf_counter()
        try:
            client.execute()
            seconds = time.perf_counter() - t
            out = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.output_type == "stream")
            usage[p.name] = json.loads(out.strip().splitlines()[-1])
            result = (f"{seconds:.1f} s; kernel: {usage[p.name]['cpu_s']:.1f} CPU s, "
                      f"peak {usage[p.name]['peak_mb']:.0f} MB")
        except Exception as e:
            result = f"{time.perf_counter() - t:.1f} s, FAILED: {type(e).__name__}"
        total += time.perf_counter() - t
        table.add(f"notebook {p.name} (fresh kernel: wall time; CPU time and peak memory (VmHWM) "
                  "of the kernel process)", result)
    table.add(f"all {len(paths)} notebooks, executed headless one after another", f"{total:.1f} s",
              "< 3 min", total < 180)
    return usage


def jupyter_server_mb():
    """Resident memory (MB) of a JupyterLab server that has started and served /lab once: what a
    JupyterHub starts for each student, before any kernel."""
    import socket
    import tempfile
    import urllib.request
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with tempfile.TemporaryDirectory() as home:
        server = subprocess.Popen(
            [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", f"--port={port}",
             "--ServerApp.ip=127.0.0.1", "--IdentityProvider.token=bench", f"--ServerApp.root_dir={home}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/lab?token=bench", timeout=5).read()
                    break
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("JupyterLab did not start")
                    time.sleep(0.5)
            for line in Path(f"/proc/{server.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
            raise RuntimeError("no VmRSS in /proc")
        finally:
            server.terminate()
            server.wait(timeout=30)


SERVER_GB, KEPT_FOR_SYSTEM_GB = 16, 2


def classroom_rows(table, usage):
    """Turn the notebooks' kernels into "one student needs about X MB; a 16 GB server holds N"."""
    if not usage:
        return
    name, worst = max(usage.items(), key=lambda kv: kv[1]["peak_mb"])
    try:
        server = jupyter_server_mb()
        table.add("JupyterLab server of one student, started and /lab served once (VmRSS)", f"{server:.0f} MB")
    except Exception as e:                          # no JupyterLab, or no /proc: report the kernels alone
        table.add("JupyterLab server of one student", f"not measured: {type(e).__name__}: {e}")
        server = 0.0
    student = worst["peak_mb"] + server
    n = int((SERVER_GB - KEPT_FOR_SYSTEM_GB) * 1024 // student)
    table.add(f"classroom server: one student = the largest kernel peak ({name}) + their JupyterLab server; "
              f"{SERVER_GB} GB less {KEPT_FOR_SYSTEM_GB} GB for the system",
              f"one student needs about {student:.0f} MB; a {SERVER_GB} GB server holds about {n} students "
              "(one running kernel each)")
    cpu_name, cpu_worst = max(usage.items(), key=lambda kv: kv[1]["cpu_s"])
    all_cpu = sum(u["cpu_s"] for u in usage.values())
    table.add("classroom server: CPU for one student's Run All",
              f"{cpu_worst['cpu_s']:.1f} CPU s for the heaviest ({cpu_name}), {all_cpu:.0f} CPU s for the "
              f"whole series; 30 students running {cpu_name} at once on 2 cores wait about "
              f"{30 * cpu_worst['cpu_s'] / 2:.0f} s")


# --- 6. peak memory -------------------------------------------------------------

PEAK_MEMORY_CHILD = """
import resource
from mnistlib.data import load_mnist
from mnistlib.data import train_val_split
from mnistlib.train import Softmax, train
d = load_mnist(verbose=False)
x, y, x_val, y_val = train_val_split(d.x_train, d.y_train)
train(x, y, x_val=x_val, y_val=y_val, **Softmax.RECIPE)
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss   # kilobytes on Linux
try:
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            peak_kb = int(line.split()[1])
except OSError:
    pass
print(peak_kb)
"""


def memory_row(table):
    out = subprocess.run([sys.executable, "-c", PEAK_MEMORY_CHILD], capture_output=True, text=True,
                         cwd=ROOT, check=True)
    peak_mb = int(out.stdout.split()[-1]) / 1024
    table.add("peak memory: python + load_mnist() + Softmax.RECIPE with validation (fresh process, VmHWM)",
              f"{peak_mb:.0f} MB", "< 1 GB", peak_mb < 1024)


# --- 7. the live demo's start-up ------------------------------------------------

def demo_startup_row(table):
    """From the command to the first widget answering, as a presenter would see it.

    Starts ``python -m mnistlib.demo`` (what ``python run.py demo`` runs after its
    set-up check), opens the page in headless Chromium as soon as the launcher
    prints the address, and clicks the prediction explorer's "next image" button:
    the time until its status line changes. The launcher's own reading ("Page
    ready: ...") is shown beside it. Needs Playwright, Voila and Chromium.
    """
    import re
    import signal
    import socket
    what = "live demo start-up: command -> first widget answers a click in the browser"
    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        table.add(what, "not measured: Playwright is not installed (pip install -e '.[browser]')")
        return
    if not os.access(chromium, os.X_OK):
        table.add(what, f"not measured: no Chromium at {chromium} (sudo bash .ci/browser-deps)")
        return
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = open(os.devnull, "w")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True,
                                    args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1366, "height": 768})   # the presenter's browser is open
        t0 = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "mnistlib.demo", f"--port={port}"], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=log, text=True, start_new_session=True)
        lines = []
        def read():
            for line in proc.stdout:
                lines.append(line)
        reader = threading.Thread(target=read, daemon=True)
        reader.start()

        def said(words, timeout):
            """Wait until the launcher has printed a line with these words."""
            deadline = time.monotonic() + timeout
            while not any(words in x for x in lines):
                if time.monotonic() > deadline or not reader.is_alive():
                    raise RuntimeError(f"the launcher never said {words!r}: {''.join(lines)[-300:]}")
                time.sleep(0.05)

        try:
            said("Live demo: open", 120)                   # the launcher says when to open the page
            page.goto(f"http://127.0.0.1:{port}/", wait_until="domcontentloaded", timeout=120_000)
            button = page.locator(".mnistlib-explorer-next").first
            button.wait_for(timeout=120_000)
            status = page.locator(".mnistlib-explorer-status").inner_text()
            button.click()
            page.wait_for_function("s => document.querySelector('.mnistlib-explorer-status')"
                                   ".innerText !== s", arg=status, timeout=60_000)
            seconds = time.monotonic() - t0
            said("Page ready", 60)
            m = re.search(r"answered (\d+\.\d) s", "".join(lines))
            data = "full MNIST" if any("Data: the full MNIST" in x for x in lines) else "bundled subset"
            table.add(f"{what} ({data})", f"{seconds:.1f} s (the launcher said {m.group(1)} s)",
                      "< 10 s", seconds < 10)
        except Exception as e:
            table.add(what, f"failed: {type(e).__name__}: {str(e).splitlines()[0]}", "< 10 s", False)
        finally:
            proc.terminate()                               # the launcher stops Voila and its kernels
            proc.wait(timeout=60)
            try:
                os.killpg(proc.pid, signal.SIGKILL)        # whatever did not stop in time
            except ProcessLookupError:
                pass
            browser.close()
            log.close()


# --- OpenBLAS variables ---------------------------------------------------------

UNSET_CHILD = """
import json, statistics, time
import threadpoolctl
from mnistlib.data import load_mnist
from mnistlib.train import train
d = load_mnist(verbose=False)
arch = [l.get("architecture") for l in threadpoolctl.threadpool_info() if l.get("user_api") == "blas"]
times = []
for _ in range(%d):
    t = time.perf_counter()
    train(d.x_train, d.y_train, lr=%r, epochs=1, batch_size=%d, evaluate=False)
    times.append(time.perf_counter() - t)
print(json.dumps({"arch": arch, "median": statistics.median(times[1:])}))
"""


def openblas_row(table, repeats, mnistlib_seconds):
    set_vars = {k: os.environ[k] for k in OPENBLAS_VARS if k in os.environ}
    if not set_vars:
        return
    import json
    env = {k: v for k, v in os.environ.items() if k not in OPENBLAS_VARS}
    out = subprocess.run([sys.executable, "-c", UNSET_CHILD % (repeats + 1, LR, BATCH)],
                         capture_output=True, text=True, cwd=ROOT, env=env, check=True)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    table.add(f"epoch with {' and '.join(set_vars)} unset (subprocess; kernel {', '.join(map(str, r['arch']))})",
              f"{fmt_s(r['median'])} (with {'it' if len(set_vars) == 1 else 'them'} set: "
              f"{fmt_s(mnistlib_seconds)})")


# --- 8. beyond one layer: the MLP and the CNN -------------------------------------------

def cpu_and_wall(fns, repeats):
    """Like median_times, but also the process's CPU time: ({name: median wall s}, {name: median CPU s}).

    On one thread, CPU time is what the run would take on an idle core; when
    other programs share the cores, wall time grows and CPU time barely moves.
    """
    wall, cpu = {name: [] for name in fns}, {name: [] for name in fns}
    for f in fns.values():
        f()
    for _ in range(repeats):
        for name, f in fns.items():
            t, c = time.perf_counter(), time.process_time()
            f()
            wall[name].append(time.perf_counter() - t)
            cpu[name].append(time.process_time() - c)
    return ({n: statistics.median(v) for n, v in wall.items()}, {n: statistics.median(v) for n, v in cpu.items()})


def torch_layers(name):
    """The same layers as mnistlib.mlp / mnistlib.cnn, in PyTorch (its own initialisation)."""
    nn = torch.nn
    if name == "MLP":
        return nn.Sequential(nn.Linear(784, mlp.N_HIDDEN), nn.ReLU(), nn.Linear(mlp.N_HIDDEN, 10)), (-1, 784)
    (F1, F2), k = cnn.CHANNELS, cnn.KERNEL
    side = ((28 - k + 1) // 2 - k + 1) // 2
    return nn.Sequential(nn.Conv2d(1, F1, k), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(F1, F2, k), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(F2 * side * side, cnn.N_HIDDEN), nn.ReLU(),
                         nn.Linear(cnn.N_HIDDEN, 10)), (-1, 1, 28, 28)


def torch_model_epoch(net, shape, x, y, lr, seed=0):
    """One epoch of plain SGD in PyTorch, batches of BATCH, as torch_epoch does for the softmax."""
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    order = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(seed))
    total = 0.0
    for start in range(0, x.shape[0], BATCH):
        idx = order[start:start + BATCH]
        loss = F.cross_entropy(net(x[idx].view(shape)), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item()
    return total


def model_epoch_times(d, name, model, threads, repeats):
    """Median wall and CPU seconds of one epoch, mnistlib against PyTorch: ({impl: s}, {impl: s})."""
    lr = model.RECIPE["lr"]

    def ours():
        saved = train_module.ONE_THREAD_MAX_BATCH
        train_module.ONE_THREAD_MAX_BATCH = BATCH if threads == 1 else 0
        try:
            train(d.x_train, d.y_train, model=model, lr=lr, epochs=1, batch_size=BATCH, evaluate=False)
        finally:
            train_module.ONE_THREAD_MAX_BATCH = saved
    fns = {"mnistlib": ours}
    if torch:
        torch.set_num_threads(threads)
        net, shape = torch_layers(name)
        x_t, y_t = torch.from_numpy(d.x_train), torch.from_numpy(d.y_train.astype(np.int64))
        fns["torch"] = lambda: torch_model_epoch(net, shape, x_t, y_t, lr)
    with blas_threads(threads):
        return cpu_and_wall(fns, repeats)


def model_epoch_rows(table, d, repeats, both_thread_counts):
    """One epoch, batch BATCH, float32: mnistlib's MLP and CNN through train(), against PyTorch."""
    _, numpy_threads = blas_info()
    for name, model, target in (("MLP", mlp, 0.8), ("CNN", cnn, 1.0)):
        settings = [1] + ([numpy_threads] if both_thread_counts and numpy_threads not in (None, 1) else [])
        for threads in settings:
            wall, cpu = model_epoch_times(d, name, model, threads, repeats)
            label = f"{threads} thread{'s' if threads != 1 else ''}"
            what = f"{name} epoch, 60k images, batch {BATCH}, {label}: mnistlib / PyTorch CPU"
            if not torch:
                table.add(what, f"{fmt_s(wall['mnistlib'])} (PyTorch not installed: comparison skipped)",
                          f"<= {target}x PyTorch", None)
                continue
            ratio = wall["mnistlib"] / wall["torch"]
            table.add(what, f"{fmt_s(wall['mnistlib'])} / {fmt_s(wall['torch'])} = {ratio:.2f}x; CPU time "
                      f"{fmt_s(cpu['mnistlib'])} / {fmt_s(cpu['torch'])} = {cpu['mnistlib'] / cpu['torch']:.2f}x",
                      f"<= {target}x", ratio <= target)


MODEL_UNSET_CHILD = """
import json, sys
import threadpoolctl
sys.path.insert(0, %r)
import run
from mnistlib import cnn
d = run.load_mnist(verbose=False)
arch = [l.get("architecture") for l in threadpoolctl.threadpool_info() if l.get("user_api") == "blas"]
wall, cpu = run.model_epoch_times(d, "CNN", cnn, 1, %d)
print(json.dumps({"arch": arch, "wall": wall, "cpu": cpu}))
"""


def model_openblas_row(table, repeats):
    """The CNN epoch (1 thread) again in a subprocess with the OpenBLAS variables unset, if they are set."""
    set_vars = [k for k in OPENBLAS_VARS if k in os.environ]
    if not set_vars or not torch:
        return
    import json
    env = {k: v for k, v in os.environ.items() if k not in OPENBLAS_VARS}
    out = subprocess.run([sys.executable, "-c", MODEL_UNSET_CHILD % (str(ROOT / "benchmarks"), repeats)],
                         capture_output=True, text=True, cwd=ROOT, env=env, check=True)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    wall, cpu = r["wall"], r["cpu"]
    table.add(f"CNN epoch, batch {BATCH}, 1 thread, with {' and '.join(set_vars)} unset (subprocess; kernel "
              f"{', '.join(map(str, r['arch']))}): mnistlib / PyTorch CPU",
              f"{fmt_s(wall['mnistlib'])} / {fmt_s(wall['torch'])} = {wall['mnistlib'] / wall['torch']:.2f}x; "
              f"CPU time {fmt_s(cpu['mnistlib'])} / {fmt_s(cpu['torch'])} = {cpu['mnistlib'] / cpu['torch']:.2f}x")


def time_to_goal(d, model, goal, every):
    """Train with model.RECIPE, testing every ``every`` updates (testing time excluded).

    Trains on the 50,000 images that train_val_split leaves for training, as
    ``python -m mnistlib train --model ...`` does. Returns (training seconds
    to reach ``goal`` test accuracy or None, the same in CPU seconds, the test
    accuracy then or at the end, updates done).
    """
    x, y, _, _ = train_val_split(d.x_train, d.y_train)
    state = {"testing": 0.0, "testing_cpu": 0.0, "train_s": 0.0, "train_cpu": 0.0, "acc": 0.0, "update": 0}
    t0, c0 = time.perf_counter(), time.process_time()

    def check(p):
        t, c = time.perf_counter(), time.process_time()
        state["train_s"], state["train_cpu"] = t - t0 - state["testing"], c - c0 - state["testing_cpu"]
        state["update"] = p.update
        state["acc"] = accuracy_of(model, p.params, d.x_test, d.y_test)
        state["testing"] += time.perf_counter() - t
        state["testing_cpu"] += time.process_time() - c
        if state["acc"] >= goal:
            raise _Reached

    try:
        r = train(x, y, model=model, evaluate=False, callback=check, callback_every=every, **model.RECIPE)
    except _Reached:
        return state["train_s"], state["train_cpu"], state["acc"], state["update"]
    return None, None, accuracy_of(model, r.params, d.x_test, d.y_test), r.history.updates[-1]


def model_goal_rows(table, d):
    for name, model, goal, limit, every in (("MLP", mlp, 0.98, 10, 100), ("CNN", cnn, 0.99, 180, 500)):
        recipe = ", ".join(f"{k}={v!r}" for k, v in model.RECIPE.items())
        seconds, cpu, acc, updates = time_to_goal(d, model, goal, every)
        what = (f"time to {goal:.0%} test accuracy, {name}: train(model={name.lower()}, {recipe}) on 50k images, "
                f"tested every {every} updates")
        if seconds is None:
            table.add(what, f"not reached: {acc:.2%} after the whole recipe ({updates} updates)",
                      f"< {limit} s", False)
        else:
            table.add(what, f"{acc:.2%} after {updates} updates, {seconds:.1f} s of training "
                      f"({cpu:.1f} s CPU time)", f"< {limit} s", seconds < limit)


def conv_throughput_rows(table, repeats):
    """The fast convolution layer's GFLOP/s, forward and backward, against a large matrix product.

    All on one thread, timed in CPU time (process_time): on a busy machine the
    wall time of every run includes other programs' turns on the core.
    """
    rng = np.random.default_rng(0)
    m = 1024
    a, b = (rng.random((m, m), dtype=np.float32) for _ in range(2))
    with blas_threads(1):
        _, cpu = cpu_and_wall({"matmul": lambda: a @ b}, 3 * repeats)
    peak = 2 * m ** 3 / cpu["matmul"] / 1e9
    table.add(f"matrix product rate, ({m}, {m}) @ ({m}, {m}) float32, 1 thread (CPU time)", f"{peak:.0f} GFLOP/s")
    (F1, F2), k = cnn.CHANNELS, cnn.KERNEL
    for name, (C, side, F_) in (("conv 1", (1, 28, F1)), ("conv 2", (F1, (28 - k + 1) // 2, F2))):
        x = rng.random((BATCH, C, side, side), dtype=np.float32)
        K, bias = rng.standard_normal((F_, C, k, k)).astype(np.float32), np.zeros(F_, np.float32)
        out, cache = conv.conv2d_forward(x, K, bias)
        dout = rng.standard_normal(out.shape).astype(np.float32)
        flops = 2 * out.size * C * k * k                     # one multiply-add per kernel entry per output
        with blas_threads(1):
            _, cpu = cpu_and_wall({"forward": lambda: conv.conv2d_forward(x, K, bias),
                                   "backward": lambda: conv.conv2d_backward(dout, cache)}, 10 * repeats)
        fwd, bwd = flops / cpu["forward"] / 1e9, 2 * flops / cpu["backward"] / 1e9     # backward: dK and dx
        table.add(f"{name} (fast layer), x {x.shape} * K {K.shape}, 1 thread (CPU time): forward / backward",
                  f"{fmt_s(cpu['forward'])} = {fwd:.0f} GFLOP/s ({fwd / peak:.0%} of the matrix product rate) / "
                  f"{fmt_s(cpu['backward'])} = {bwd:.0f} GFLOP/s ({bwd / peak:.0%})")


MODEL_MEMORY_CHILD = """
import resource
from mnistlib import %s as model
from mnistlib.data import load_mnist
from mnistlib.train import train
d = load_mnist(verbose=False)
recipe = dict(model.RECIPE, epochs=1)
train(d.x_train, d.y_train, model=model, max_updates=300, x_val=d.x_test, y_val=d.y_test, **recipe)
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            peak_kb = int(line.split()[1])
except OSError:
    pass
print(peak_kb)
"""


def model_memory_rows(table):
    for name in ("mlp", "cnn"):
        out = subprocess.run([sys.executable, "-c", MODEL_MEMORY_CHILD % name], capture_output=True, text=True,
                             cwd=ROOT, check=True)
        peak_mb = int(out.stdout.split()[-1]) / 1024
        table.add(f"peak memory: python + load_mnist() + {name.upper()} training (300 updates) + accuracy on "
                  "the 60k training and 10k test images (fresh process, VmHWM)",
                  f"{peak_mb:.0f} MB", "< 1 GB", peak_mb < 1024)


# --- main -------------------------------------------------------------------------

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, shorter runs")
    parser.add_argument("--notebooks", action="store_true", help="also execute every notebook headless")
    parser.add_argument("--skip-models", action="store_true",
                        help="leave out the MLP and CNN rows (they train for a few minutes)")
    parser.add_argument("--classroom", action="store_true",
                        help="only the notebooks and the classroom-server rows (what a JupyterHub needs)")
    args = parser.parse_args(argv)
    repeats = 3 if args.quick else 7

    load_before = load()
    with redirect_stdout(io.StringIO()) as said:
        d = load_mnist()
    blas, _ = blas_info()
    header = [
        f"date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"machine: {os.cpu_count()} cores, {cpu_model()}, {platform.system()} {platform.machine()}",
        f"python {platform.python_version()}, numpy {np.__version__}, BLAS: {blas}",
        f"PyTorch: {torch.__version__ + ' (CPU)' if torch else 'not installed: the PyTorch comparison is skipped'}",
        "OpenBLAS variables: " + (", ".join(f"{k}={os.environ[k]}" if k in os.environ else f"{k} not set"
                                            for k in OPENBLAS_VARS)),
        f"data: {said.getvalue().strip()}",
    ]
    if not d.is_full:
        header.append("WARNING: load_mnist fell back to the bundled subset (set MNIST_DATA_DIR to the "
                      "full MNIST). These numbers do not count.")
    for line in header:
        print(line, file=sys.stderr, flush=True)

    table = Table()
    if not args.classroom:
        seconds = epoch_rows(table, d, repeats, both_thread_counts=not args.quick)
        floor_rows(table, d, repeats, seconds)
        openblas_row(table, repeats, seconds)
        recipe_row(table, d, 3 if args.quick else 5)
        method_rows(table, d, args.quick)
        widget_rows(table, d, 5 if args.quick else 10)
        memory_row(table)
        demo_startup_row(table)
    if not args.classroom and not args.skip_models:
        conv_throughput_rows(table, repeats)
        model_epoch_rows(table, d, 3 if args.quick else 5, both_thread_counts=not args.quick)
        model_openblas_row(table, 3 if args.quick else 5)
        model_goal_rows(table, d)
        model_memory_rows(table)
    if args.notebooks or args.classroom:
        classroom_rows(table, notebook_rows(table))
    header.append(f"load average: {load_before} before, {load()} after (1, 5, 15 min)")

    print("\n".join(header))
    print()
    print(table.markdown())


if __name__ == "__main__":
    main()
