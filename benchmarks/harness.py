"""What every benchmark shares: the machine, timing, the table, the data, child processes.

The benchmark modules (softmax_regression, mlp_and_cnn, widget_latency, demo_startup,
classroom) each add rows to one Table; run.py prints it below the lines that
describe the machine.
"""

import datetime
import inspect
import io
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from contextlib import nullcontext, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import numpy as np

try:
    import threadpoolctl
except ImportError:
    threadpoolctl = None

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OPENBLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


# --- the machine -------------------------------------------------------------------

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


def blas_kernels():
    """The kernels numpy's BLAS libraries chose for this CPU (OpenBLAS names them, e.g. Haswell)."""
    if threadpoolctl is None:
        return []
    return [lib.get("architecture") for lib in threadpoolctl.threadpool_info() if lib.get("user_api") == "blas"]


def blas_threads(n):
    """Context: numpy's BLAS limited to n threads (no-op without threadpoolctl)."""
    if threadpoolctl is None:
        return nullcontext()
    return threadpoolctl.threadpool_limits(n, user_api="blas")


def thread_counts(both, first=1):
    """The thread counts to time: ``first``, then numpy's default if ``both`` and it differs."""
    _, default = blas_info()
    return [first] + ([default] if both and default not in (None, first) else [])


def threads_label(n):
    return f"{n} thread{'s' if n != 1 else ''}"


def openblas_set():
    """The OpenBLAS variables set in this environment: {name: value}."""
    return {k: os.environ[k] for k in OPENBLAS_VARS if k in os.environ}


def load():
    return "%.2f %.2f %.2f" % os.getloadavg()


def machine_lines():
    """The header's lines on the date, the machine, numpy and its BLAS, and the OpenBLAS variables."""
    blas, _ = blas_info()
    return [
        f"date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"machine: {os.cpu_count()} cores, {cpu_model()}, {platform.system()} {platform.machine()}",
        f"python {platform.python_version()}, numpy {np.__version__}, BLAS: {blas}",
    ]


def openblas_line():
    return "OpenBLAS variables: " + ", ".join(f"{k}={os.environ[k]}" if k in os.environ else f"{k} not set"
                                              for k in OPENBLAS_VARS)


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on (for a server this run starts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- timing --------------------------------------------------------------------------

@dataclass
class Timing:
    wall: float          # median wall seconds
    fastest: float       # fastest wall seconds
    cpu: float           # median CPU seconds of this process (all its threads)


def interleaved(fns, repeats):
    """Time each function ``repeats`` times, interleaved, after one warm-up call each.

    fns: {name: f()}. Returns {name: Timing}. Interleaving makes a change in
    the machine's load hit every function alike. On one thread, CPU time is
    what a run would take on an idle core: when other programs share the
    cores, wall time grows and CPU time barely moves.
    """
    wall, cpu = {name: [] for name in fns}, {name: [] for name in fns}
    for f in fns.values():              # warm-up: caches, lazy imports, first allocations
        f()
    for _ in range(repeats):
        for name, f in fns.items():
            t, c = time.perf_counter(), time.process_time()
            f()
            wall[name].append(time.perf_counter() - t)
            cpu[name].append(time.process_time() - c)
    return {name: Timing(statistics.median(wall[name]), min(wall[name]), statistics.median(cpu[name]))
            for name in fns}


def fmt_s(s):
    if s < 0.01:
        return f"{s * 1e3:.1f} ms"
    return f"{s * 1e3:.0f} ms" if s < 10 else f"{s:.1f} s"


# --- the table -----------------------------------------------------------------------

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


# --- the data ------------------------------------------------------------------------

def load_data():
    """(MNIST as mnistlib.data.load_mnist returns it, the line it printed on where it came from)."""
    from mnistlib.data import load_mnist
    with redirect_stdout(io.StringIO()) as said:
        d = load_mnist()
    return d, said.getvalue().strip()


# --- child processes -----------------------------------------------------------------

def process_usage():
    """This process's peak resident memory (MB) and CPU seconds so far (user + system, all threads).

    The peak is VmHWM from /proc/self/status, else ru_maxrss. Self-contained,
    because notebook kernels run its source (usage_report_code).
    """
    import resource
    import sys
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak_mb = usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)   # bytes on macOS
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    peak_mb = int(line.split()[1]) / 1024
    except OSError:
        pass
    return {"peak_mb": peak_mb, "cpu_s": usage.ru_utime + usage.ru_stime}


def usage_report_code():
    """Python source that prints its process's usage (process_usage) as one line of JSON."""
    return inspect.getsource(process_usage) + "\nimport json\nprint(json.dumps(process_usage()))\n"


CHILD = "import sys; sys.path.insert(0, {here!r}); import harness; harness.child_main({module!r}, {call!r})"


def run_child(module, function, *args, unset_openblas=False):
    """Call ``module.function(*args)`` (a module of this folder) in a fresh Python process.

    The child starts in the repository's root, so it imports this checkout's
    mnistlib. args and the return value must be JSON values. unset_openblas:
    start it with the OpenBLAS variables removed from the environment.
    Returns a dict: result, peak_mb and cpu_s (process_usage at the end),
    blas (blas_kernels in the child). Raises RuntimeError with the child's
    error if it fails.
    """
    env = {k: v for k, v in os.environ.items() if not (unset_openblas and k in OPENBLAS_VARS)}
    code = CHILD.format(here=str(HERE), module=module, call=json.dumps([function, list(args)]))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"{module}.{function}{tuple(args)} failed in a child process:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def child_main(module, call):
    """In the child: run the call, then print its result and the process's usage as JSON."""
    import importlib
    function, args = json.loads(call)
    result = getattr(importlib.import_module(module), function)(*args)
    print(json.dumps({"result": result, "blas": blas_kernels(), **process_usage()}))
