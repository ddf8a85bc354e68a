"""The classroom: every notebook executed headless, and a classroom server sized from them.

Rows 9 and 10 of the README: each notebook in a fresh kernel (wall time, and
the kernel's CPU time and peak memory), then one student's JupyterLab server,
and how many students a 16 GB server holds. The kernels run as a class's kernels
run on the classroom hub: with the environment its spawner gives every server
(``KERNEL_ENVIRONMENT``: one BLAS thread, malloc that gives big arrays back), unless
``class_environment=False`` (then as on a laptop: this process's environment).
"""

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import harness

sys.path.insert(0, str(harness.ROOT / "hub"))
from mnist_hub.settings import KERNEL_ENVIRONMENT  # noqa: E402

SERVER_GB, KEPT_FOR_SYSTEM_GB = 16, 2


def rows(table, class_environment=True):
    classroom_rows(table, notebook_rows(table, class_environment))


def notebook_rows(table, class_environment=True, paths=None):
    """Each notebook in a fresh kernel: wall time, and the kernel's CPU seconds and peak memory.

    paths: the notebooks (default: the series). Returns {notebook name: {"peak_mb", "cpu_s"}}
    for the notebooks that ran.
    """
    import nbformat
    from nbclient import NotebookClient
    paths = sorted((harness.ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")) if paths is None else paths
    extra = KERNEL_ENVIRONMENT if class_environment else {}
    env = {**os.environ, **extra}
    table.add("the notebooks' kernels run with",
              " ".join(f"{k}={v}" for k, v in extra.items()) + " (the classroom hub's environment)"
              if extra else "this process's environment (as on a laptop), not the classroom hub's")
    total, usage = 0.0, {}
    for p in paths:
        nb = nbformat.read(p, as_version=4)        # executed in memory, never written back
        # A last cell, in memory only: the kernel reports its own peak memory and CPU time.
        nb.cells.append(nbformat.v4.new_code_cell(harness.usage_report_code()))
        client = NotebookClient(nb, timeout=600, kernel_name="python3",
                                resources={"metadata": {"path": str(p.parent)}})
        t = time.perf_counter()
        try:
            client.execute(env=env)
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


def wait_for_page(url, server, timeout):
    """Fetch url until it answers; RuntimeError if the server exits or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=5).read()
            return
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("JupyterLab did not start")
            time.sleep(0.5)


def jupyter_server_mb():
    """Resident memory (MB) of a JupyterLab server that has started and served /lab once: what a
    JupyterHub starts for each student, before any kernel."""
    port = harness.free_port()
    with tempfile.TemporaryDirectory() as home:
        server = subprocess.Popen(
            [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", f"--port={port}",
             "--ServerApp.ip=127.0.0.1", "--IdentityProvider.token=bench", f"--ServerApp.root_dir={home}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_page(f"http://127.0.0.1:{port}/lab?token=bench", server, 120)
            for line in Path(f"/proc/{server.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
            raise RuntimeError("no VmRSS in /proc")
        finally:
            server.terminate()
            server.wait(timeout=30)


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
