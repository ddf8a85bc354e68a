"""tools/student_version.py: solutions are removed, and the student copy still runs to the end.

The end-to-end test runs each student notebook top to bottom (on the bundled
subset, offline), every exercise left blank: each check must say "not
implemented yet", and every cell after it must still run, on mnistlib's own
version of the missing function.
"""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))
TOOL = REPO_ROOT / "tools" / "student_version.py"

# A call such as `softmax = check_softmax(softmax)` or `checks.check_softmax(softmax)` at the
# start of a line.
CHECK_CALL = re.compile(r"^\s*(\w+\s*=\s*)?(\w+\.)?check_\w+\(", re.MULTILINE)


def _load_tool():
    spec = importlib.util.spec_from_file_location("student_version", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tool = _load_tool()


def has_solution(cell):
    return cell.cell_type == "code" and "# BEGIN SOLUTION" in cell.source


def is_check(cell):
    return cell.cell_type == "code" and CHECK_CALL.search(cell.source) is not None


def exercise_notebooks():
    return [p for p in NOTEBOOKS if any(has_solution(c) for c in nbformat.read(p, as_version=4).cells)]


@pytest.fixture(scope="module")
def student_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("student")
    run = subprocess.run([sys.executable, str(TOOL), "--out", str(out)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return out


# --- the text transformation ----------------------------------------------------

def test_placeholder_keeps_indentation():
    source = ("def f(x):\n"
              "    \"\"\"Doc.\"\"\"\n"
              "    # BEGIN SOLUTION\n"
              "    y = x + 1\n"
              "    return y\n"
              "    # END SOLUTION\n"
              "\n"
              "print(f)")
    new, n = tool.strip_solutions(source)
    assert n == 1
    assert new == ("def f(x):\n"
                   "    \"\"\"Doc.\"\"\"\n"
                   "    # YOUR CODE HERE\n"
                   "    raise NotImplementedError(\"your turn\")\n"
                   "\n"
                   "print(f)")


def test_several_blocks_and_no_blocks():
    source = "a = 1\n# BEGIN SOLUTION\nb = 2\n# END SOLUTION\nc = 3\n  # BEGIN SOLUTION\n  d = 4\n  # END SOLUTION"
    new, n = tool.strip_solutions(source)
    assert n == 2
    assert "b = 2" not in new and "d = 4" not in new
    assert new.splitlines()[-1] == '  raise NotImplementedError("your turn")'
    assert tool.strip_solutions("x = 1\ny = 2") == ("x = 1\ny = 2", 0)


@pytest.mark.parametrize("source, problem", [
    ("# BEGIN SOLUTION\nx = 1", "without '# END SOLUTION'"),
    ("x = 1\n# END SOLUTION", "line 2: '# END SOLUTION' without"),
    ("# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION", "line 2: '# BEGIN SOLUTION' inside"),
])
def test_unpaired_markers_are_errors(source, problem):
    with pytest.raises(tool.MarkerError, match=re.escape(problem)):
        tool.strip_solutions(source, where="03_softmax.ipynb, cell 7")


def test_hidden_tests_are_removed():
    source = "check_f(f)\n### BEGIN HIDDEN TESTS\nassert f(2) == 4\n### END HIDDEN TESTS"
    assert tool.strip_hidden_tests(source) == "check_f(f)"
    assert tool.strip_hidden_tests("x = 1") == "x = 1"
    with pytest.raises(tool.MarkerError, match="without"):
        tool.strip_hidden_tests("### BEGIN HIDDEN TESTS\nx = 1")


# --- the student notebooks --------------------------------------------------------

def test_every_notebook_is_written(student_dir):
    assert sorted(p.name for p in student_dir.glob("*.ipynb")) == [p.name for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_solutions_and_outputs_are_gone(student_dir, path):
    original = nbformat.read(path, as_version=4)
    student = nbformat.read(student_dir / path.name, as_version=4)
    assert len(student.cells) == len(original.cells)
    assert "widgets" not in student.metadata
    for before, after in zip(original.cells, student.cells):
        assert after.cell_type == before.cell_type
        if after.cell_type != "code":
            assert after.source == before.source
            continue
        assert after.outputs == [] and after.execution_count is None
        assert "BEGIN SOLUTION" not in after.source and "END SOLUTION" not in after.source
        if not has_solution(before):
            assert after.source == tool.strip_hidden_tests(before.source)
            continue
        assert "# YOUR CODE HERE" in after.source
        assert 'raise NotImplementedError("your turn")' in after.source
        # No line of the solution survives, unless the same line also stands outside the block.
        solution = re.findall(r"# BEGIN SOLUTION\n(.*?)\n[ \t]*# END SOLUTION", before.source, re.DOTALL)
        outside = re.sub(r"# BEGIN SOLUTION\n.*?# END SOLUTION", "", before.source, flags=re.DOTALL)
        kept = {line.strip() for line in outside.splitlines()}
        for block in solution:
            for line in block.splitlines():
                if line.strip() and line.strip() not in kept:
                    assert line not in after.source, f"solution line left in {path.name}: {line!r}"


@pytest.fixture(scope="module")
def offline(tmp_path_factory):
    """Environment for kernels: the bundled subset, and a download that fails at once."""
    import os
    env = dict(os.environ)
    env.pop("MNIST_DATA_DIR", None)
    env["MNIST_MIRRORS"] = "http://127.0.0.1:9/"
    env["MNISTLIB_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    return env


@pytest.mark.parametrize("path", exercise_notebooks(), ids=lambda p: p.name)
def test_student_copy_with_every_exercise_blank_runs_to_the_end(student_dir, offline, monkeypatch,
                                                                path, tmp_path):
    """Run All on the student notebook, every exercise left as the placeholder: no cell may
    fail, each check says "not implemented yet" and hands mnistlib's version to the cells below."""
    for key in ("MNIST_DATA_DIR", "MNIST_MIRRORS", "MNISTLIB_CACHE_DIR"):
        monkeypatch.delenv(key, raising=False)
        if key in offline:
            monkeypatch.setenv(key, offline[key])
    nb = nbformat.read(student_dir / path.name, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    problems, checked = [], 0
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for out in cell.outputs:
            if out.output_type == "error":
                problems.append(f"cell {i} ({cell.source.strip()[:60]!r}) failed: {out.ename}: {out.evalue}")
        if is_check(cell):
            text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
            checked += 1
            if "✗" not in text or "not implemented yet" not in text or "use mnistlib's" not in text:
                problems.append(f"cell {i}, check {cell.source.strip()!r} printed {text!r}")
        elif cell.source.strip() and cell.execution_count is None:
            problems.append(f"cell {i} ({cell.source.strip()[:60]!r}) never ran")
    assert checked, f"{path.name}: no check cell found"
    assert not problems, "\n".join(problems)
