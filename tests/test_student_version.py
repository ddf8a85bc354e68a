"""tools/student_version.py: solutions are removed, and the checks then fail with CheckFailed.

The end-to-end test runs, from each student notebook (on the bundled subset,
offline), only the cells a check needs: those that import something, the
exercises, and the check cells. An exercise now raises NotImplementedError
before touching any other variable, so nothing else is needed, and the test
stays well under a minute however many notebooks there are.
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

# A call such as `check_softmax(softmax)` or `checks.check_softmax(softmax)` at the start of a line.
CHECK_CALL = re.compile(r"^\s*(\w+\.)?check_\w+\(", re.MULTILINE)
IMPORT = re.compile(r"^(import|from)\s+\S+", re.MULTILINE)


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


def is_needed_by_a_check(cell):
    return cell.cell_type == "code" and (IMPORT.search(cell.source) or has_solution(cell)
                                         or "# YOUR CODE HERE" in cell.source or is_check(cell))


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
            assert after.source == before.source
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


def test_checks_pass_on_solutions_and_fail_on_placeholders(student_dir, monkeypatch, tmp_path):
    """Run, notebook after notebook in one kernel, the imports, exercises and checks of the
    original (every check must print its ✓ line), then those of the student version (every
    check must raise CheckFailed saying "not implemented yet")."""
    # The kernel inherits this environment: the bundled subset, and a download that fails at once.
    monkeypatch.delenv("MNIST_DATA_DIR", raising=False)
    monkeypatch.setenv("MNIST_MIRRORS", "http://127.0.0.1:9/")
    monkeypatch.setenv("MNISTLIB_CACHE_DIR", str(tmp_path / "cache"))
    cells, roles = [], []      # one kernel for all: starting one per notebook costs seconds each
    for path in exercise_notebooks():
        for version, source in (("worked", path), ("student", student_dir / path.name)):
            for cell in nbformat.read(source, as_version=4).cells:
                if is_needed_by_a_check(cell):
                    cells.append(nbformat.v4.new_code_cell(cell.source))   # a fresh, unique cell id
                    roles.append((path.name, version))
    nb = nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}})
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()

    problems = []
    for cell, (name, version) in zip(nb.cells, roles):
        if not is_check(cell):
            continue
        call = f"{name}: {cell.source.strip()!r} in the {version} version"
        errors = [o for o in cell.outputs if o.output_type == "error"]
        error = f"{errors[0].ename}: {errors[0].evalue}" if errors else "no error"
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        if version == "worked":
            if errors or "✓" not in text:
                problems.append(f"{call} gave {error}, printed {text!r}")
        elif not errors or errors[0].ename != "CheckFailed":
            problems.append(f"{call} gave {error}")
        elif "not implemented yet" not in errors[0].evalue:
            problems.append(f"{call} said {errors[0].evalue!r}")
    assert not problems, "\n".join(problems)
