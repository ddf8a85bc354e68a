"""The classroom hub (hub/, python run.py hub): JupyterHub for a class, tested with real accounts.

The first part needs nothing but Python: the class list, passwords, settings, what the
command says on a machine that lacks something.

The second part starts a real hub for a throw-away class on 127.0.0.1
(hub/mnist_hub/trial.py): Unix accounts for a teacher and three students, each
student's server in its own memory cgroup, the hub's own environment and shared cache
(installed by ``python run.py hub --install-only`` the first time: a few minutes, the
package registries needed once). The students are played over HTTP, as a browser would
(hub/mnist_hub/client.py). It needs root, Node.js and a writable cgroup memory
controller; without them it is skipped, saying which is missing (a failure in CI).
Everything it makes is removed at the end: the accounts and their homes, the cgroups,
the hub's directory; the hub is stopped as Ctrl-C stops it.
"""

import asyncio
import concurrent.futures
import json
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "hub"))

from mnist_hub import accounts, cgroups, install  # noqa: E402
from mnist_hub.settings import (COURSE_ID, KERNEL_ENVIRONMENT, STUDENT_FOLDER, Settings, parse_size,  # noqa: E402
                                show_size)


# --- without a hub -------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["ada", "ada-lovelace", "s01", "a_b", "x" * 32])
def test_names_that_can_log_in(name):
    assert accounts.check_name(name) == name


@pytest.mark.parametrize("name", ["Ada", "1ada", "ada lovelace", "ada;rm", "-ada", "", "x" * 33, "élodie"])
def test_names_that_cannot_log_in_say_what_to_use(name):
    with pytest.raises(accounts.ClassListError, match="lowercase letters, digits"):
        accounts.check_name(name)


def test_class_list_reads_names_and_names_the_bad_line(tmp_path):
    good = tmp_path / "class.txt"
    good.write_text("# Tuesday group\nada, Ada Lovelace\n\n  alan  # Turing\ngrace\n")
    assert accounts.read_class_list(good) == ["ada", "alan", "grace"]
    bad = tmp_path / "bad.txt"
    bad.write_text("ada\nAlan Turing\n")
    with pytest.raises(accounts.ClassListError, match=r"bad.txt, line 2: 'Alan'"):
        accounts.read_class_list(bad)
    twice = tmp_path / "twice.txt"
    twice.write_text("ada\nalan\nada\n")
    with pytest.raises(accounts.ClassListError, match="line 3: ada is listed twice"):
        accounts.read_class_list(twice)
    empty = tmp_path / "empty.txt"
    empty.write_text("# nobody yet\n")
    with pytest.raises(accounts.ClassListError, match="names nobody"):
        accounts.read_class_list(empty)
    with pytest.raises(accounts.ClassListError, match="cannot read the class list"):
        accounts.read_class_list(tmp_path / "missing.txt")


def test_passwords_are_checked_against_salted_hashes():
    password = accounts.new_password()
    assert len(password) == 14 and password.count("-") == 2
    assert all(c in accounts.ALPHABET + "-" for c in password)
    stored = accounts.hash_password(password)
    assert password not in stored
    assert accounts.verify_password(password, stored)
    assert not accounts.verify_password(password.upper(), stored)
    assert not accounts.verify_password("", stored)
    assert accounts.hash_password(password) != stored                  # a new salt each time
    assert not accounts.verify_password(password, "garbage")


def test_adding_students_keeps_everyones_password(tmp_path):
    hashes, handout = tmp_path / "passwords.json", tmp_path / "class-passwords.csv"
    first = accounts.add_people(hashes, handout, ["teacher", "ada", "alan"])
    assert set(first) == {"teacher", "ada", "alan"} and len(set(first.values())) == 3
    assert stat.S_IMODE(hashes.stat().st_mode) == 0o600 and stat.S_IMODE(handout.stat().st_mode) == 0o600
    second = accounts.add_people(hashes, handout, ["teacher", "ada", "alan", "grace"])
    assert list(second) == ["grace"]
    stored = accounts.load_hashes(hashes)
    assert all(accounts.verify_password(first[n], stored[n]) for n in first)
    renewed = accounts.add_people(hashes, handout, ["ada"], renew=["ada"])
    assert not accounts.verify_password(first["ada"], accounts.load_hashes(hashes)["ada"])
    assert accounts.verify_password(renewed["ada"], accounts.load_hashes(hashes)["ada"])
    rows = handout.read_text().splitlines()
    assert rows[0] == "name,password" and f"ada,{renewed['ada']}" in rows and f"grace,{second['grace']}" in rows


@pytest.mark.parametrize("text, size", [("1G", 2 ** 30), ("512M", 2 ** 29), ("1.5G", 3 * 2 ** 29),
                                        ("2GiB", 2 ** 31), ("1000", 1000), ("256 MB", 2 ** 28)])
def test_memory_sizes(text, size):
    assert parse_size(text) == size


def test_bad_settings_are_named(tmp_path):
    with pytest.raises(ValueError, match="mem-limit: 'lots' is not a memory size"):
        Settings.at(tmp_path, mem_limit="lots").check()
    with pytest.raises(ValueError, match="spawner must be auto, systemd or cgroup"):
        Settings.at(tmp_path, spawner="docker").check()
    settings = Settings.at(tmp_path, port=8123, course_notebooks=["03_softmax"])
    settings.save()
    assert Settings.load(settings.path) == settings
    assert show_size(2 ** 30) == "1 GB" and show_size(3 * 2 ** 29) == "1.5 GB"


def test_command_says_what_is_missing(monkeypatch):
    monkeypatch.setattr(install.shutil, "which", lambda name: None)
    assert "Node.js is missing" in install.node_problem()
    assert "apt-get install nodejs" in install.node_problem()
    assert "python3-venv" in install.python_problem(sys.executable) or install.python_problem(sys.executable) == ""
    assert "is missing" in install.python_problem("/nonexistent/python3")
    monkeypatch.setattr(install.os, "geteuid", lambda: 1000)
    problems = " ".join(install.machine_problems("cgroup"))
    assert "must run as root" in problems and "Node.js is missing" in problems


def test_run_py_hub_names_a_bad_class_list(tmp_path):
    bad = tmp_path / "class.txt"
    bad.write_text("Ada\n")
    done = subprocess.run([sys.executable, "run.py", "hub", "--students", str(bad), "--dir", str(tmp_path)],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "line 1: 'Ada' cannot be a log-in name" in done.stderr
    done = subprocess.run([sys.executable, "run.py", "hub", "--mem-limit", "lots", "--dir", str(tmp_path)],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "mem-limit" in done.stderr
    assert not any(tmp_path.iterdir()) or {p.name for p in tmp_path.iterdir()} == {"class.txt"}


def test_the_kubernetes_values_give_kernels_the_classroom_hubs_environment():
    values = (REPO_ROOT / "hub" / "kubernetes" / "values.yaml").read_text()
    for name, value in KERNEL_ENVIRONMENT.items():
        assert f'{name}: "{value}"' in values, f"hub/kubernetes/values.yaml: extraEnv lacks {name}={value}"


def test_out_of_memory_message_says_what_happened_and_what_to_do():
    from mnist_hub.singleuser import out_of_memory_message
    text = out_of_memory_message(2 ** 30)
    assert "more than the 1 GB of memory this server gives each student" in text
    assert "Run All" in text and "Close and Shut Down Notebook" in text
    assert "the memory this server" in out_of_memory_message(None)


# --- a hub with a class ------------------------------------------------------------------------

def _needs_a_hub():
    from mnist_hub.trial import why_not_here
    why = why_not_here()
    if why:
        pytest.skip(f"the classroom hub cannot run on this machine: {why}")


@pytest.fixture(scope="module")
def trial():
    """A hub with a teacher and three students, for this module's tests."""
    _needs_a_hub()
    from mnist_hub.trial import TrialClass
    with TrialClass(students=3, course_notebooks=["03_softmax", "06_gradient_descent"]) as t:
        yield t
        print(t.log_tail(30))


def run(coroutine):
    """``asyncio.run(coroutine)`` in a thread of its own: an event loop that another test module
    left running in pytest's one thread cannot get in its way."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def person(trial, name, password=None):
    from mnist_hub.client import Person
    return Person(trial.url, name, trial.passwords[name] if password is None else password)


async def signed_in(trial, name):
    """A person logged in, with their server started and opened (cookies set)."""
    p = person(trial, name)
    assert await p.log_in(), f"{name} could not log in"
    await p.start_server()
    return p


async def kernel_of(p, notebook="00_start_here.ipynb"):
    return await p.open_kernel(f"{STUDENT_FOLDER}/{notebook}")


async def run_code(p, code, notebook="00_start_here.ipynb"):
    """Run ``code`` in a new kernel of ``p``'s: (reply, text of all outputs); the kernel is shut down."""
    kernel = await kernel_of(p, notebook)
    try:
        reply, outputs = await kernel.execute(code)
    finally:
        await kernel.shut_down()
    return reply, "".join(o.get("text", "") + o.get("evalue", "") for o in outputs)


@pytest.mark.slow
def test_each_person_logs_in_with_their_own_password_only(trial):
    a, b = trial.students[:2]

    async def go():
        tries = [person(trial, a), person(trial, a, trial.passwords[b]), person(trial, "nobody-here", "x"),
                 person(trial, b, trial.passwords[trial.teacher]), person(trial, trial.teacher)]
        results = [await p.log_in() for p in tries]
        for p in tries:
            await p.close()
        return results

    assert run(go()) == [True, False, False, False, True]


@pytest.mark.slow
def test_a_student_cannot_read_or_change_another_students_files(trial):
    a, b = trial.students[:2]
    b_home = trial.home(b)

    async def go():
        pa, pb = await signed_in(trial, a), await signed_in(trial, b)
        try:
            # b's server refuses a's cookies, and a's server serves only a's home
            foreign = await pa.http.get(f"{pb.server}/api/contents/{STUDENT_FOLDER}")
            through_own = await pa.request("GET", f"api/contents/../{b}", check=False)
            # a's kernel runs as a: the system refuses what is b's
            _, text = await run_code(pa, f"""
import os, pathlib
home = pathlib.Path({str(b_home)!r})
for what, act in [("list", lambda: os.listdir(home)),
                  ("read", lambda: (home / {STUDENT_FOLDER!r} / "00_start_here.ipynb").read_text()),
                  ("write", lambda: (home / "from-a.txt").write_text("hello")),
                  ("remove", lambda: (home / {STUDENT_FOLDER!r} / "00_start_here.ipynb").unlink())]:
    try:
        act()
        print(what, "ALLOWED")
    except PermissionError:
        print(what, "refused")
print("uid", os.getuid())""")
            return foreign, through_own, text
        finally:
            await pa.close()
            await pb.close()

    foreign, through_own, text = run(go())
    assert foreign.status_code == 403 or "/hub/" in str(foreign.url), (foreign.status_code, foreign.url)
    assert b not in (foreign.text + through_own.text) or through_own.status_code >= 400
    assert [line for line in text.splitlines() if "ALLOWED" in line] == []
    assert text.count("refused") == 4, text
    assert f"uid {accounts.account(a).pw_uid}" in text
    assert stat.S_IMODE(b_home.stat().st_mode) == 0o700
    assert (b_home / STUDENT_FOLDER / "00_start_here.ipynb").exists() and not (b_home / "from-a.txt").exists()


@pytest.mark.slow
def test_the_shared_cache_is_read_by_all_and_written_by_none(trial):
    data = Path(trial.settings.data)

    async def go():
        p = await signed_in(trial, trial.students[0])
        try:
            return await run_code(p, f"""
import os, pathlib
from mnistlib import zoo
from mnistlib.data import load_mnist
data = load_mnist(verbose=False)
print("full:", data.is_full, len(data.x_train))
print("models:", [n for n in ("softmax", "mlp", "cnn") if zoo.cached(n, data) is not None])
for target in [pathlib.Path({str(data)!r}) / "mine.txt", pathlib.Path({str(data)!r}) / "models" / "mine.npz"]:
    try:
        target.write_text("x")
        print("write ALLOWED", target)
    except PermissionError:
        print("write refused")
print("env:", os.environ["MNIST_DATA_DIR"] == os.environ["MNISTLIB_CACHE_DIR"] == {str(data)!r})""")
        finally:
            await p.close()

    reply, text = run(go())
    assert reply["status"] == "ok", text
    assert "full: True 60000" in text
    assert "models: ['softmax', 'mlp', 'cnn']" in text
    assert text.count("write refused") == 2 and "ALLOWED" not in text
    assert "env: True" in text
    for path in [data, *data.rglob("*")]:
        mode = path.stat().st_mode
        assert path.stat().st_uid == 0 and not mode & 0o022 and mode & 0o004, path


@pytest.mark.slow
def test_each_kernel_gets_one_blas_thread_and_the_class_malloc_settings(trial):
    async def go():
        p = await signed_in(trial, trial.students[0])
        try:
            return await run_code(p, """
import os, numpy, threadpoolctl
print("env", os.environ["OPENBLAS_NUM_THREADS"], os.environ["OMP_NUM_THREADS"], os.environ["MALLOC_MMAP_THRESHOLD_"])
print("blas", sorted({i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"}))""")
        finally:
            await p.close()

    _, text = run(go())
    assert f"env 1 1 {4 * 2 ** 20}" in text and "blas [1]" in text, text


@pytest.mark.slow
def test_a_runaway_kernel_dies_alone_and_its_cell_says_why(trial):
    """3 GB in one kernel: the kernel's OOM killer ends that kernel, in its student's cgroup only."""
    a, b = trial.students[:2]

    async def go():
        pa, pb = await signed_in(trial, a), await signed_in(trial, b)
        try:
            kills_before = trial.group(a).oom_kills(), trial.group(b).oom_kills()
            neighbour = await kernel_of(pb)
            reply, _ = await neighbour.execute("import numpy as np\nweights = np.arange(10 ** 6)")
            assert reply["status"] == "ok"
            runaway = await kernel_of(pa)
            reply, outputs = await runaway.execute("import numpy as np\nbig = np.ones(3 * 2**30 // 8)\nprint('kept')")
            # the neighbour's kernel kept its variables and still answers
            after, said = await neighbour.execute("print(int(weights.sum()))")
            # the runaway student's server lives on, and their notebook's restarted kernel works
            status = (await pa.request("GET", "api/status")).json()
            await runaway.ready()
            fresh, fresh_out = await runaway.execute("print(6 * 7)", timeout=120)
            for k in (neighbour, runaway):
                await k.shut_down()
            kills_after = trial.group(a).oom_kills(), trial.group(b).oom_kills()
            return reply, outputs, after, said, status, fresh_out, kills_before, kills_after
        finally:
            await pa.close()
            await pb.close()

    reply, outputs, after, said, status, fresh_out, before, after_kills = run(go())
    text = "".join(o.get("text", "") for o in outputs)
    assert reply is None, "the kernel should have died"
    assert "kept" not in text
    assert "The kernel was stopped" in text and "more than the 1 GB of memory" in text
    assert after["status"] == "ok" and said[0]["text"] == f"{sum(range(10 ** 6))}\n"
    assert "started" in status and fresh_out[0]["text"] == "42\n"
    assert after_kills[0] == before[0] + 1 and after_kills[1] == before[1]
    assert trial.group(a).limit() == parse_size("1G")


def _page_config(html):
    """The configuration JupyterLab's page starts with (its jupyter-config-data script)."""
    import re
    return json.loads(re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
                                html, re.S).group(1))


@pytest.mark.slow
def test_students_have_the_assignments_tab_and_not_formgrader(trial):
    async def go():
        ps, pt = await signed_in(trial, trial.students[2]), await signed_in(trial, trial.teacher)
        try:
            student_api = await ps.request("GET", "formgrader/api/assignments", check=False)
            listing = await ps.assignments(COURSE_ID)
            teacher_api = await pt.formgrader("GET", "assignments")
            pages = [_page_config((await p.http.get(f"{p.server}/lab")).text) for p in (ps, pt)]
            return student_api.status_code, listing, teacher_api, pages
        finally:
            await ps.close()
            await pt.close()

    student_api, listing, teacher_api, (student_page, teacher_page) = run(go())
    assert student_api == 404 and isinstance(listing, list)
    assert {a["name"] for a in teacher_api} == {"03_softmax", "06_gradient_descent"}
    hidden = {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment"}
    assert hidden <= set(student_page["disabledExtensions"])
    assert not hidden & set(teacher_page["disabledExtensions"])
    assert "@jupyter/nbgrader:assignment-list" not in student_page["disabledExtensions"]


def _answers(source_nb):
    return {c.metadata["nbgrader"]["grade_id"]: "\n".join(
        x for x in c.source.split("\n") if x.strip() not in ("# BEGIN SOLUTION", "# END SOLUTION"))
        for c in source_nb.cells if c.metadata.get("nbgrader", {}).get("solution")}


@pytest.mark.slow
def test_nbgrader_release_fetch_submit_collect_autograde_feedback(trial):
    """The whole cycle in the hub: one student answers right, one hands in the notebook blank."""
    assignment = "03_softmax"
    right, blank = trial.students[:2]
    source = nbformat.read(trial.home(trial.teacher) / "course" / "source" / assignment / f"{assignment}.ipynb",
                           as_version=4)

    async def hand_in(p, answers):
        listing = await p.assignment_action("fetch", COURSE_ID, assignment)
        path = next(a for a in listing if a["assignment_id"] == assignment)["notebooks"][0]["path"]
        nb = await p.read_notebook(path)
        for cell in nb.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id in answers:
                cell.source = answers[grade_id]
        await p.save_notebook(path, nb)
        return await p.assignment_action("submit", COURSE_ID, assignment)

    async def go():
        pt = await signed_in(trial, trial.teacher)
        await pt.formgrader("POST", f"assignment/{assignment}/release")
        pr, pb = await signed_in(trial, right), await signed_in(trial, blank)
        listed = await pr.assignments(COURSE_ID)
        submitted = [await hand_in(pr, _answers(source)), await hand_in(pb, {})]
        inbound = Path(trial.settings.exchange) / COURSE_ID / "inbound"
        _, peek = await run_code(pb, f"""
import os
try:
    print(os.listdir({str(inbound)!r}))
except PermissionError:
    print("listing refused")""")
        await pt.formgrader("POST", f"assignment/{assignment}/collect")
        for name in (right, blank):
            await pt.formgrader("POST", f"submission/{assignment}/{name}/autograde")
        await pt.formgrader("POST", f"assignment/{assignment}/generate_feedback")
        await pt.formgrader("POST", f"assignment/{assignment}/release_feedback")
        rows = await pt.formgrader("GET", f"submissions/{assignment}")
        feedback = [await p.assignment_action("fetch_feedback", COURSE_ID, assignment) for p in (pr, pb)]
        for p in (pt, pr, pb):
            await p.close()
        return listed, submitted, peek, rows, feedback

    listed, submitted, peek, rows, feedback = run(go())
    assert peek.strip() == "listing refused"                  # nobody sees the others' submissions
    assert any(a["assignment_id"] == assignment and a["status"] == "released" for a in listed)
    for listing in submitted:
        assert any(a["assignment_id"] == assignment and a["status"] == "submitted" for a in listing)
    scores = {r["student"]: (r["score"], r["max_score"]) for r in rows}
    total = scores[right][1]
    assert total > 0 and scores == {right: (total, total), blank: (0, total)}
    for name, listing in zip((right, blank), feedback):
        entry = next(a for a in listing if a["assignment_id"] == assignment and "submissions" in a)
        assert any(s["has_local_feedback"] for s in entry["submissions"]), entry
        [html] = (trial.home(name) / assignment / "feedback").rglob(f"{assignment}.html")
        # the course's own feedback page (mnistlib/feedback): the score, each exercise named
        text = html.read_text()
        assert f"{assignment}: score {scores[name][0]:g} / {total:g}" in text, text[-3000:]
    exchange = Path(trial.settings.exchange)
    assert stat.S_IMODE(exchange.stat().st_mode) == 0o1777          # writable by all, sticky
    assert (exchange / COURSE_ID).stat().st_uid == accounts.account(trial.teacher).pw_uid
    assert "/usr/local/share/nbgrader" not in trial.log_tail(10 ** 6)


def _notebook_with(source, marker):
    nb = json.loads(source)
    nb["cells"].insert(1, {"cell_type": "markdown", "metadata": {}, "source": [marker], "id": "update-marker"})
    return nb


@pytest.mark.slow
def test_logging_in_again_or_an_update_never_overwrites_a_students_change(trial):
    """The student copy at each server start keeps what the student changed (the student-copy
    command's never-overwrite rule) and brings what the teacher published to the rest."""
    name = trial.students[2]
    changed, untouched = "03_softmax.ipynb", "04_cross_entropy.ipynb"
    home = trial.home(name) / STUDENT_FOLDER
    material = Path(trial.settings.material) / "notebooks"

    async def restart(p):
        await p.stop_server()
        await p.start_server()

    async def go():
        p = await signed_in(trial, name)
        nb = await p.read_notebook(f"{STUDENT_FOLDER}/{changed}")
        nb.cells.append(nbformat.v4.new_code_cell("# my own experiment\nprint('mine')"))
        await p.save_notebook(f"{STUDENT_FOLDER}/{changed}", nb)
        await restart(p)                                       # logging in again
        after_login = (home / changed).read_text()
        trial.publish({n: _notebook_with((material / n).read_text(), "Updated by the teacher")
                       for n in (changed, untouched)})
        await restart(p)                                       # the teacher's update
        await p.close()
        return after_login

    after_login = run(go())
    assert "my own experiment" in after_login
    assert "my own experiment" in (home / changed).read_text()
    assert "Updated by the teacher" not in (home / changed).read_text()
    assert "Updated by the teacher" in (home / untouched).read_text()
    assert (home / changed).stat().st_uid == accounts.account(name).pw_uid


def _git(*args, cwd):
    subprocess.run(["git", "-c", "user.name=Teacher", "-c", "user.email=teacher@example.org", *args],
                   cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def git_server(trial):
    """A repository of the student copy, served by git's own server as a teacher's GitHub
    repository would be: {"url": ..., "update": update(notebook names, marker)}, which the
    teacher uses to publish a change: a markdown cell with ``marker`` in each notebook named."""
    from mnist_hub.trial import free_port
    work, served = trial.root / "git-work", trial.root / "git" / "mnist.git"
    subprocess.run([str(trial.settings.python), str(Path(trial.settings.material) / "tools" / "student_version.py"),
                    "--out", str(work)], check=True, capture_output=True)
    _git("init", "-q", "-b", "main", cwd=work)
    _git("add", ".", cwd=work)
    _git("commit", "-q", "-m", "the student copy", cwd=work)
    served.parent.mkdir()
    _git("clone", "-q", "--bare", str(work), str(served), cwd=trial.root)
    port = free_port()
    daemon = subprocess.Popen(["git", "daemon", "--export-all", "--listen=127.0.0.1", f"--port={port}",
                               f"--base-path={served.parent}", str(served.parent)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)

    def update(names, marker):
        for name in names:
            (work / name).write_text(json.dumps(_notebook_with((work / name).read_text(), marker)))
        _git("commit", "-q", "-am", "an update", cwd=work)
        _git("push", "-q", str(served), "main", cwd=work)

    yield {"url": f"git://127.0.0.1:{port}/mnist.git", "update": update}
    daemon.terminate()
    daemon.wait(10)


@pytest.mark.slow
def test_nbgitpuller_link_keeps_a_students_change_and_brings_the_update(trial, git_server):
    """An existing hub's way: a link to /git-pull with the teacher's repository of the student copy."""
    name = trial.students[0]
    changed, untouched = "03_softmax.ipynb", "04_cross_entropy.ipynb"
    home = trial.home(name) / "mnist-pulled"
    query = f"repo={git_server['url']}&branch=main&targetpath=mnist-pulled"

    async def pull(p):
        answer = (await p.request("GET", f"git-pull/api?{query}")).text
        assert '"phase": "finished"' in answer, answer[-2000:]

    async def go():
        p = await signed_in(trial, name)
        await pull(p)                                          # the first click on the link
        nb = await p.read_notebook(f"mnist-pulled/{changed}")
        nb.cells.append(nbformat.v4.new_code_cell("# my own experiment"))
        await p.save_notebook(f"mnist-pulled/{changed}", nb)
        git_server["update"]((changed, untouched), "Updated by the teacher")
        await pull(p)                                          # the link again, after the update
        await p.close()

    run(go())
    assert "my own experiment" in (home / changed).read_text()
    assert "Updated by the teacher" in (home / untouched).read_text()
    assert (home / changed).stat().st_uid == accounts.account(name).pw_uid


# --- culling, and a clean stop -------------------------------------------------------------------

@pytest.mark.slow
def test_idle_kernels_and_servers_are_culled_and_the_hub_stops_cleanly():
    """Short timeouts: a kernel idle 5 s is shut down by its server, a server idle 20 s is
    stopped by jupyterhub-idle-culler. A hub killed hard starts again; then it stops as
    Ctrl-C stops it and leaves nothing behind."""
    _needs_a_hub()
    from mnist_hub.trial import TrialClass
    t = TrialClass(students=1, cull_kernels=5, cull_servers=20, course_notebooks=["00_start_here"])
    name = t.students[0]
    try:
        t.open()

        async def go():
            p = await signed_in(t, name)
            kernel = await kernel_of(p)
            reply, _ = await kernel.execute("x = 1")
            assert reply["status"] == "ok"
            began = time.monotonic()
            while any(k["id"] == kernel.id for k in (await p.request("GET", "api/kernels")).json()):
                assert time.monotonic() - began < 60, "the idle kernel was not shut down"
                await asyncio.sleep(1)
            kernel_gone = time.monotonic() - began
            while (await p.hub_api("GET", f"users/{name}")).json().get("servers"):
                assert time.monotonic() - began < 180, "the idle server was not stopped"
                await asyncio.sleep(2)
            await p.close()
            return kernel_gone, time.monotonic() - began

        kernel_gone, server_gone = run(go())
        assert 4 <= kernel_gone < 60 and server_gone >= 15, (kernel_gone, server_gone)
        assert not t.group(name).exists() or t.group(name).pids() == []
        # A hub killed hard leaves its proxy (and its pid file) and its idle culler running;
        # the next start ends them and starts on the same ports.
        t.process.kill()
        t.process.wait()
        left = install.leftovers(t.settings)
        assert len(left) == 2 and all(Path(f"/proc/{pid}").exists() for pid in left)
        t.start()
        assert not any(Path(f"/proc/{pid}").exists() for pid in left)
        assert len(install.leftovers(t.settings)) == 2          # the new hub's own
    finally:
        t.stop()
        left = t.left_behind()
        uid = accounts.account(name).pw_uid
        t.close()
    assert left == []
    assert accounts.account(name) is None and not t.home(name).exists()
    assert accounts.processes_of(uid) == []
    assert not cgroups.MemoryGroup(t.settings.cgroup).exists() and not t.root.exists()
