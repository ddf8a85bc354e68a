"""The classroom hub's load test, in CI: a class of thirty at once, every one finished and graded.

Runs ``python benchmarks/hub_load.py --students 30`` (see its docstring): a real hub on
127.0.0.1, thirty students who log in through the form, start their servers, run the
gradient-descent notebook with its solutions through the Jupyter API and submit it
through nbgrader, then the teacher collects and autogrades them all. About ten minutes
on two cores. The figures go to artifacts/hub/load-test.md and into the test's output.
Needs what the hub needs (root, Node.js, a cgroup memory controller); skipped with the
reason without them (a failure in CI).
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
STUDENTS = 30


@pytest.mark.slow
def test_a_class_of_thirty_finishes_and_is_graded(tmp_path):
    sys.path.insert(0, str(REPO_ROOT / "hub"))
    from mnist_hub.trial import why_not_here
    why = why_not_here()
    if why:
        pytest.skip(f"the classroom hub cannot run on this machine: {why}")
    results = tmp_path / "load.json"
    done = subprocess.run([sys.executable, "benchmarks/hub_load.py", "--students", str(STUDENTS),
                           "--json", str(results)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=2400)
    report = "\n".join(line for line in done.stdout.splitlines() if line.startswith(("|", "machine:")))
    artifacts = REPO_ROOT / "artifacts" / "hub"
    artifacts.mkdir(parents=True, exist_ok=True)
    (artifacts / "load-test.md").write_text(report + "\n")
    print(report)
    assert results.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(results.read_text())
    assert result["errors"] == {}, (result["errors"], done.stderr[-3000:])
    assert result["finished"] == STUDENTS, report
    assert result["gradebook_rows"] == STUDENTS and result["full_marks"] == STUDENTS, report
    assert result["feedback_fetched"] == STUDENTS, report
    assert done.returncode == 0, done.stderr[-3000:]
