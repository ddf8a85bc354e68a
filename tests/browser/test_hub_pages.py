"""The classroom hub in Chromium: the pages a student and the teacher see.

A hub for a throw-away class on 127.0.0.1 (hub/mnist_hub/trial.py: real Unix accounts,
memory cgroups, the hub's own environment; all removed at the end), with two students
and the teacher. A student logs in on the hub's page with their own password, lands in
JupyterLab, runs 00_start_here and works its slider; the teacher logs in and sees the
admin page; a student fetches and submits an assignment from the Assignments tab.

Besides what every browser test needs, it needs what the hub does (root, Node.js, a
cgroup memory controller); without them it is skipped with the reason (a failure in CI).
"""

import asyncio
import shutil
import threading
import sys
from pathlib import Path

import pytest

import jupyter_ui as ui

pytestmark = pytest.mark.browser

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "hub"))

from mnist_hub.settings import COURSE_ID, STUDENT_FOLDER  # noqa: E402

START = f"{STUDENT_FOLDER}/00_start_here.ipynb"
ASSIGNMENT = "03_softmax"


@pytest.fixture(scope="module")
def hub(jupyter_env):
    from mnist_hub.trial import TrialClass, why_not_here
    why = why_not_here()
    if why:
        pytest.skip(f"the classroom hub cannot run on this machine: {why}")
    # window.jupyterapp: the helpers read the kernel's state from the app itself
    with TrialClass(students=2, course_notebooks=[ASSIGNMENT],
                    server_args=["--LabApp.expose_app_in_browser=True"]) as trial:
        for name in [trial.teacher, *trial.students]:
            _give_lab_settings(trial, name, Path(jupyter_env["JUPYTERLAB_SETTINGS_DIR"]))
        yield trial


def _give_lab_settings(trial, name, settings):
    """The browser tests' JupyterLab settings (no news pop-ups, every cell in the page), as
    this person's own: in ~/.jupyter/lab/user-settings, owned by them."""
    from mnist_hub.accounts import account
    entry = account(name)
    target = trial.home(name) / ".jupyter" / "lab" / "user-settings"
    shutil.copytree(settings, target, dirs_exist_ok=True)
    for path in [target.parents[1], target.parent, target, *target.rglob("*")]:
        shutil.chown(path, entry.pw_uid, entry.pw_gid)


class OwnServer:
    """A person's server behind the hub, for jupyter_ui's helpers (they call ``url(path)``);
    the browser's cookies from the hub's log-in do the authentication."""

    def __init__(self, hub, name):
        self.base = f"{hub.url}/user/{name}"

    def url(self, path):
        return f"{self.base}/{path.lstrip('/')}"


def run_async(coroutine):
    """Run a coroutine to its end from a Playwright test (whose thread runs an event loop already)."""
    result = {}
    worker = threading.Thread(target=lambda: result.update(value=asyncio.run(coroutine)))
    worker.start()
    worker.join()
    if "value" not in result:
        raise AssertionError("the coroutine failed (its traceback is above)")
    return result["value"]


def log_in(page, hub, name, password):
    """The hub's log-in page, as a person fills it in."""
    page.goto(f"{hub.url}/hub/login")
    page.fill("#username_input", name)
    page.fill("#password_input", password)
    page.click("#login_submit")


def test_student_logs_in_runs_start_here_and_works_its_slider(hub, new_page, screenshot):
    name, other = hub.students
    page = new_page()
    log_in(page, hub, name, hub.passwords[other])              # someone else's password: refused
    page.wait_for_selector(".login_error")
    assert "Invalid username or password" in page.inner_text(".login_error")
    log_in(page, hub, name, hub.passwords[name])
    # The hub starts the server and sends the student to 00_start_here in JupyterLab.
    page.wait_for_url(f"**/user/{name}/lab/tree/{START}**", timeout=300_000)
    screenshot(page, "hub-student-landed", whole=False)
    server = OwnServer(hub, name)
    ui.open_notebook(page, server, START)
    ui.run_all(page)
    # 00's own text names "Error displaying widget" (what to do if you see it): look in the outputs
    problems = [p for p in ui.errors_on_page(page) if "Error displaying widget" not in p]
    broken = page.locator(f"{ui.NOTEBOOK} .jp-OutputArea-output", has_text="Error displaying widget").count()
    assert problems == [] and broken == 0, f"00_start_here did not run cleanly on the hub: {problems}, {broken}"
    ui.wait_widgets_rendered(page, ".mnistlib-start-slider")
    label = page.locator(".mnistlib-start-label")
    before = label.inner_text()
    ui.drag_slider(page, ".mnistlib-start-slider", 0.8)
    n = int(ui.slider_value(page, ".mnistlib-start-slider"))
    assert n != 3
    # the kernel answers each value the slider passed through; wait for the last one
    page.wait_for_function("t => document.querySelector('.mnistlib-start-label').innerText === t",
                           arg=f"{n} × {n} = {n * n}")
    assert label.inner_text() != before
    screenshot(page, "hub-student-00-slider")
    # the student's own notebooks, in their own home, saved by their own server
    assert (hub.home(name) / START).exists()


def test_teacher_sees_the_admin_page_and_a_student_does_not(hub, new_page, screenshot):
    teacher = new_page()
    log_in(teacher, hub, hub.teacher, hub.passwords[hub.teacher])
    teacher.wait_for_url(f"**/user/{hub.teacher}/lab**", timeout=300_000)
    teacher.goto(f"{hub.url}/hub/admin")
    for name in hub.students:
        teacher.get_by_text(name, exact=True).first.wait_for()
    assert teacher.get_by_text(hub.teacher, exact=True).count() >= 1
    screenshot(teacher, "hub-teacher-admin")
    student = new_page()
    name = hub.students[1]
    log_in(student, hub, name, hub.passwords[name])
    student.wait_for_url(f"**/user/{name}/lab**", timeout=300_000)
    answer = student.goto(f"{hub.url}/hub/admin")
    assert answer.status == 403


def test_student_fetches_and_submits_from_the_assignments_tab(hub, new_page, screenshot):
    from mnist_hub.client import Person

    async def release():
        teacher = Person(hub.url, hub.teacher, hub.passwords[hub.teacher])
        assert await teacher.log_in()
        await teacher.start_server()
        await teacher.formgrader("POST", f"assignment/{ASSIGNMENT}/release")
        await teacher.close()

    run_async(release())
    name = hub.students[1]
    page = new_page()
    log_in(page, hub, name, hub.passwords[name])
    page.wait_for_url(f"**/user/{name}/lab**", timeout=300_000)
    page.goto(f"{hub.url}/user/{name}/lab?reset")       # JupyterLab without the landing notebook
    page.wait_for_selector(".lm-MenuBar-itemLabel >> text=Nbgrader", timeout=120_000)
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").first.click()
    items = page.locator(".lm-Menu-content .lm-Menu-itemLabel").all_inner_texts()
    assert "Assignment List" in items and not any("Formgrader" in item for item in items), items
    page.keyboard.press("Escape")
    ui.menu(page, "Nbgrader", "Assignment List")
    released = page.locator("#released_assignments_list")
    released.get_by_text(ASSIGNMENT).wait_for(timeout=60_000)
    screenshot(page, "hub-assignments-released", whole=False)
    released.locator("button", has_text="Fetch").click()
    fetched = page.locator("#fetched_assignments_list")
    fetched.locator("button", has_text="Submit").wait_for(timeout=60_000)
    assert (hub.home(name) / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").exists()
    fetched.locator("button", has_text="Submit").click()
    page.locator("#submitted_assignments_list").get_by_text(ASSIGNMENT).wait_for(timeout=60_000)
    screenshot(page, "hub-assignments-submitted", whole=False)
    inbound = Path(hub.settings.exchange) / COURSE_ID / "inbound"
    assert [p.name.split("+")[:2] for p in inbound.iterdir()] == [[name, ASSIGNMENT]]
