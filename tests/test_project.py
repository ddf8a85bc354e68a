"""The project's own files agree with each other."""

import os
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")


def _name_and_spec(requirement):
    m = re.match(r"\s*([A-Za-z0-9_.\-]+)\s*(.*)", requirement)
    return m.group(1).lower().replace("_", "-"), m.group(2).replace(" ", "")


# The teacher's tools get an environment of their own (.venv-teach, environment-teach.yml);
# every other extra belongs to environment.yml.
SEPARATE_EXTRAS = {"teach": "environment-teach.yml"}


def pyproject_requirements(extras=None):
    """{name: spec} of mnistlib's dependencies and of the named extras (all but the separate ones)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    optional = project["optional-dependencies"]
    if extras is None:
        extras = [e for e in optional if e not in SEPARATE_EXTRAS]
    reqs = list(project["dependencies"])
    for extra in extras:
        reqs += optional[extra]
    return dict(_name_and_spec(r) for r in reqs)


def conda_requirements(filename="environment.yml"):
    reqs, in_deps = {}, False
    for line in (ROOT / filename).read_text().splitlines():
        if line.startswith("dependencies:"):
            in_deps = True
        elif in_deps and re.match(r"  - [A-Za-z]|      - [A-Za-z]", line):    # conda's, or pip's
            name, spec = _name_and_spec(line.strip()[2:])
            if name not in ("python", "pip"):
                reqs[name] = spec
    return reqs


def test_environment_yml_names_the_same_packages_as_pyproject():
    assert conda_requirements() == pyproject_requirements()


@pytest.mark.parametrize("extra, filename", SEPARATE_EXTRAS.items())
def test_separate_environments_name_mnistlib_and_their_extra(extra, filename):
    assert conda_requirements(filename) == pyproject_requirements([extra])
    assert "--editable ." in (ROOT / filename).read_text()


def test_environment_yml_installs_the_package_itself():
    assert "--editable ." in (ROOT / "environment.yml").read_text()


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python run.py test" in readme
    assert re.search(r"^python3? run\.py test\s*$", ci, re.M)


def test_no_mnist_files_in_the_repository():
    bad = []
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [d for d in subfolders if d not in (".venv", ".venv-teach", ".git", "node_modules")]
        bad += [os.path.join(folder, f) for f in files if "ubyte" in f]
    assert not bad, bad


def test_no_two_test_modules_share_a_name():
    """pytest imports test modules by their file name (rootdir-relative "prepend" mode): two
    test_x.py in different folders make the whole run stop at collection."""
    names = [p.name for p in (ROOT / "tests").rglob("test_*.py")]
    assert sorted({n for n in names if names.count(n) > 1}) == []
