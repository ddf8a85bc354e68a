"""A class of thirty on one server: the load test of the classroom hub.

    sudo MNIST_DATA_DIR=/path/to/mnist python benchmarks/hub_load.py [--students 30] [--json out.json]

Starts a hub for a throw-away class on 127.0.0.1 (hub/mnist_hub/trial.py: real Unix
accounts, memory cgroups, the hub's own environment; removed at the end) and plays the
class, every student at once, as browsers would (hub/mnist_hub/client.py):

1. the teacher logs in and releases the assignment (Formgrader);
2. each student logs in through the hub's log-in form, starts their server, fetches the
   assignment (the Assignments tab), opens it and fills in the solutions (the worked
   answers, as a student who got them right), saves it, opens a kernel, executes every
   cell from top to bottom through the Jupyter server's API, saves the outputs, shuts the
   kernel down and submits (the Assignments tab);
3. the teacher collects, autogrades every submission, and generates and releases the
   feedback (Formgrader); each student fetches theirs.

Prints the machine, then a Markdown table: who finished, the gradebook's rows, the time
from log-in to the first kernel answering (median and 95th percentile), the wall time of
the class and of the grading, the peak memory of the machine and of the biggest student,
and the hub's own memory (the hub and its proxy), sampled every half second. Needs root,
Node.js and a Linux memory cgroup controller (the hub does); says why not otherwise.
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "hub"))

from mnist_hub.settings import COURSE_FOLDER, COURSE_ID, parse_size  # noqa: E402
from mnist_hub.trial import TrialClass, why_not_here     # noqa: E402

ASSIGNMENT = "06_gradient_descent"        # the gradient-descent notebook
BEGIN, END = "# BEGIN SOLUTION", "# END SOLUTION"


# --- the machine, sampled while the class works ---------------------------------------------

def meminfo():
    """{field: bytes} from /proc/meminfo."""
    values = {}
    for line in Path("/proc/meminfo").read_text().splitlines():
        name, _, rest = line.partition(":")
        values[name] = int(rest.split()[0]) * 1024
    return values


def resident(pid):
    """VmRSS of a process in bytes (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class Sampler(threading.Thread):
    """Every ``every`` seconds: the machine's used memory, each student's group, the hub's RSS."""

    def __init__(self, trial, every=0.5):
        super().__init__(daemon=True)
        self.trial, self.every = trial, every
        self.stopped = threading.Event()
        info = meminfo()
        self.machine_before = info["MemTotal"] - info["MemAvailable"]
        self.machine_peak = 0
        self.student_peak = {}             # name: peak resident bytes (the group's processes)
        self.hub_peak = self.proxy_peak = 0
        self.load_peak = 0.0

    def run(self):
        hub = self.trial.process.pid
        proxy = int((Path(self.trial.settings.state) / "jupyterhub-proxy.pid").read_text())
        while not self.stopped.is_set():
            info = meminfo()
            self.machine_peak = max(self.machine_peak, info["MemTotal"] - info["MemAvailable"])
            for name in self.trial.students:
                try:
                    now = self.trial.group(name).resident()
                except OSError:
                    continue
                self.student_peak[name] = max(self.student_peak.get(name, 0), now)
            self.hub_peak = max(self.hub_peak, resident(hub))
            self.proxy_peak = max(self.proxy_peak, resident(proxy))
            self.load_peak = max(self.load_peak, os.getloadavg()[0])
            self.stopped.wait(self.every)

    def stop(self):
        self.stopped.set()
        self.join()


# --- the class --------------------------------------------------------------------------------

def solutions(trial):
    """{grade id: the worked answer's source} from the teacher's course (markers taken out)."""
    import nbformat
    source = trial.home(trial.teacher) / COURSE_FOLDER / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    nb = nbformat.read(source, as_version=4)
    answers = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            answers[meta["grade_id"]] = "\n".join(line for line in cell.source.split("\n")
                                                  if line.strip() not in (BEGIN, END))
    return answers


async def student(trial, name, answers, record):
    """One student's whole visit; fills ``record`` (timings, or the step and error that stopped them)."""
    from mnist_hub.client import Person
    person = Person(trial.url, name, trial.passwords[name])
    step = "log in"
    try:
        record["start"] = time.monotonic()
        if not await person.log_in():
            raise RuntimeError("the hub refused the password")
        step = "start their server"
        record["spawn"] = await person.start_server()
        step = "fetch the assignment"
        listing = await person.assignment_action("fetch", COURSE_ID, ASSIGNMENT)
        fetched = next(a for a in listing if a["assignment_id"] == ASSIGNMENT and a["status"] == "fetched")
        path = fetched["notebooks"][0]["path"]
        step = "fill in and save the notebook"
        nb = await person.read_notebook(path)
        for cell in nb.cells:                     # the student types in the answers
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("solution"):
                cell.source = answers[meta["grade_id"]]
        await person.save_notebook(path, nb)
        step = "open a kernel"
        kernel = await person.open_kernel(path)
        await kernel.info()
        record["first_kernel"] = time.monotonic() - record["start"]
        step = "run every cell"
        began = time.monotonic()
        errors = await kernel.run_notebook(nb)
        record["execute"] = time.monotonic() - began
        if errors:
            raise RuntimeError(f"the notebook stopped with {errors[0].get('ename')}: {errors[0].get('evalue')}")
        step = "save the outputs and shut the kernel down"
        await person.save_notebook(path, nb)
        await kernel.shut_down()
        step = "submit"
        listing = await person.assignment_action("submit", COURSE_ID, ASSIGNMENT)
        if not any(a["assignment_id"] == ASSIGNMENT and a["status"] == "submitted" for a in listing):
            raise RuntimeError("the submission does not show in the Assignments tab")
        record["done"] = time.monotonic()
    except Exception as e:        # recorded: the load test reports every student's fate
        record["error"] = f"{step}: {type(e).__name__}: {e}"
        try:
            kills = trial.group(name).oom_kills()
        except OSError:
            kills = None
        if kills:
            record["error"] += f" (the out-of-memory killer stopped {kills} of their processes)"
    finally:
        await person.close()


async def teacher_releases(trial):
    from mnist_hub.client import Person
    teacher = Person(trial.url, trial.teacher, trial.passwords[trial.teacher])
    if not await teacher.log_in():
        raise RuntimeError("the hub refused the teacher's password")
    await teacher.start_server()
    await teacher.formgrader("POST", f"assignment/{ASSIGNMENT}/release")
    return teacher


async def teacher_grades(trial, teacher, records):
    """Collect, autograde each submission, feedback for all; returns (gradebook rows, seconds).

    Only the students who submitted are graded; an autograde that fails goes into that
    student's record, so that the report names every student's fate instead of stopping.
    """
    began = time.monotonic()
    await teacher.formgrader("POST", f"assignment/{ASSIGNMENT}/collect")
    for name in trial.students:
        if "done" not in records[name]:
            continue
        try:
            await teacher.formgrader("POST", f"submission/{ASSIGNMENT}/{name}/autograde")
        except Exception as e:    # recorded, as the students' own errors are
            records[name]["error"] = f"autograde: {type(e).__name__}: {e}"
    graded = time.monotonic() - began
    await teacher.formgrader("POST", f"assignment/{ASSIGNMENT}/generate_feedback")
    await teacher.formgrader("POST", f"assignment/{ASSIGNMENT}/release_feedback")
    rows = await teacher.formgrader("GET", f"submissions/{ASSIGNMENT}")
    return rows, graded, time.monotonic() - began


async def students_fetch_feedback(trial):
    from mnist_hub.client import Person
    got = 0
    for name in trial.students:
        person = Person(trial.url, name, trial.passwords[name])
        try:
            if await person.log_in():
                await person.open_server()
                listing = await person.assignment_action("fetch_feedback", COURSE_ID, ASSIGNMENT)
                got += any(a["assignment_id"] == ASSIGNMENT and any(s.get("has_local_feedback")
                           for s in a.get("submissions", [])) for a in listing)
        finally:
            await person.close()
    return got


async def play(trial, sampler):
    teacher = await teacher_releases(trial)
    answers = solutions(trial)
    records = {name: {} for name in trial.students}
    sampler.start()
    began = time.monotonic()
    await asyncio.gather(*(student(trial, name, answers, records[name]) for name in trial.students))
    class_seconds = time.monotonic() - began
    rows, graded, grading = await teacher_grades(trial, teacher, records)
    sampler.stop()
    await teacher.close()
    feedback = await students_fetch_feedback(trial)
    return records, class_seconds, rows, graded, grading, feedback


# --- the report -------------------------------------------------------------------------------

def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def cpu_model():
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def mb(size):
    return f"{size / 2 ** 20:,.0f} MB"


def report(n, records, class_seconds, rows, graded, grading, feedback, sampler, loads):
    finished = [r for r in records.values() if "done" in r]
    full = [r for r in rows if r.get("score") is not None and r["score"] == r.get("max_score") and r["max_score"]]
    first = [r["first_kernel"] for r in records.values() if "first_kernel" in r]
    execute = [r["execute"] for r in records.values() if "execute" in r]
    biggest = max(sampler.student_peak.values(), default=0)
    result = {
        "students": n, "finished": len(finished), "gradebook_rows": len(rows), "full_marks": len(full),
        "feedback_fetched": feedback,
        "first_kernel_median_s": statistics.median(first) if first else None,
        "first_kernel_p95_s": percentile(first, 0.95) if first else None,
        "execute_median_s": statistics.median(execute) if execute else None,
        "class_wall_s": class_seconds, "autograde_s": graded, "grading_wall_s": grading,
        "machine_peak_bytes": sampler.machine_peak, "biggest_student_bytes": biggest,
        "hub_peak_bytes": sampler.hub_peak, "proxy_peak_bytes": sampler.proxy_peak,
        "machine_before_bytes": sampler.machine_before, "load_before": loads[0], "load_after": loads[1],
        "load_peak": sampler.load_peak,
        "errors": {name: r["error"] for name, r in records.items() if "error" in r},
    }
    lines = [
        "| measurement | result |", "|---|---|",
        f"| students who finished (log-in, server, fetch, run {ASSIGNMENT}, submit) | {len(finished)} of {n} |",
        f"| gradebook rows after autograding / with full marks | {len(rows)} / {len(full)} |",
        f"| students who fetched their feedback | {feedback} of {n} |",
        f"| log-in to the first kernel answering: median / 95th percentile | "
        f"{result['first_kernel_median_s'] or 0:.1f} s / {result['first_kernel_p95_s'] or 0:.1f} s |",
        f"| the class through the notebook: first log-in to last submission (wall) | {class_seconds:.0f} s |",
        f"| one student's Run All (median, with the class running) | {result['execute_median_s'] or 0:.0f} s |",
        f"| the teacher: collect and autograde all {n} / with feedback released | {graded:.0f} s / {grading:.0f} s |",
        f"| memory of the whole machine in use (MemTotal - MemAvailable): before / peak | "
        f"{mb(sampler.machine_before)} / {mb(sampler.machine_peak)} |",
        f"| peak memory of the biggest student (their server and kernels, resident) | {mb(biggest)} |",
        f"| peak memory of the hub: JupyterHub / its proxy | {mb(sampler.hub_peak)} / {mb(sampler.proxy_peak)} |",
        f"| load average: before / peak / after | {loads[0]:.1f} / {sampler.load_peak:.1f} / {loads[1]:.1f} |",
    ]
    return result, "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=30, help="how many students (default 30)")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    parser.add_argument("--class-mem-limit", default="auto",
                        help="memory for all servers together, e.g. 16G; auto (default): what the machine has "
                             "available now minus 1 GB, so that other programs are never the ones stopped")
    args = parser.parse_args(argv)
    why = why_not_here()
    if why:
        sys.exit(f"The hub load test cannot run here: {why}")
    if args.students < 1:
        parser.error("--students must be at least 1")
    limit = args.class_mem_limit
    if limit == "auto":
        limit = str(max(meminfo()["MemAvailable"] - 2 ** 30, 2 ** 30))
    try:
        limit = str(parse_size(limit))
    except ValueError as e:
        parser.error(f"--class-mem-limit: {e}")
    loads = [os.getloadavg()[0]]
    print(f"machine: {os.cpu_count()} cores, {cpu_model()}, {mb(meminfo()['MemTotal'])} of memory; "
          f"load average {os.getloadavg()[0]:.2f}; the servers may use {mb(int(limit))} together", flush=True)
    with TrialClass(students=args.students, class_mem_limit=limit, cull_servers=0, cull_kernels=0,
                    course_notebooks=[ASSIGNMENT]) as trial:
        print(f"hub ready at {trial.url}: {args.students} students and the teacher; the class starts",
              flush=True)
        sampler = Sampler(trial)
        outcome = asyncio.run(play(trial, sampler))
        loads.append(os.getloadavg()[0])
        result, table = report(args.students, *outcome, sampler, loads)
        if result["errors"]:     # the hub's log holds the servers' too: its warnings and errors
            lines = trial.log_path.read_text(errors="replace").splitlines()
            alarms = [line for line in lines if line.startswith(("[W ", "[E ", "[C ")) or "Error" in line]
            print("warnings and errors in the hub's log (the last 60):\n" + "\n".join(alarms[-60:]),
                  file=sys.stderr)
    print(table)
    for name, error in result["errors"].items():
        print(f"{name}: {error}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return 0 if result["finished"] == args.students and result["full_marks"] == args.students else 1


if __name__ == "__main__":
    sys.exit(main())
