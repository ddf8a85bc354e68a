"""tools/student_version.py: solutions are removed, and the student copy still runs to the end.

The end-to-end test runs each student notebook top to bottom (on the bundled
subset, offline), every exercise left blank: each check must say "not
implemented yet", and every cell after it must still run, on mnistlib's own
version of the missing function.

The re-run tests run ``python run.py student`` as a learner would, on copies of
two notebooks that the test changes "upstream": a notebook the learner changed
survives every re-run, byte for byte, and its new version goes beside it; an
untouched one is updated, also after it was run; notebooks/ and worked notebooks
are refused; a folder that cannot be written is one line; an interrupted write
leaves no half-written notebook.
"""

import copy
import errno
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

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
import fold  # noqa: E402  (tools/, on the path once the tool is loaded)


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
    """Solutions, hidden tests and outputs are gone, the explanations folded (tools/fold.py, tested in
    test_fold.py); every other cell is as in the worked notebook."""
    original = nbformat.read(path, as_version=4)
    student = nbformat.read(student_dir / path.name, as_version=4)
    with_folds = copy.deepcopy(original)
    folded = [i for cells in fold.fold_answers(with_folds, path.name).values() for i in cells]
    assert len(student.cells) == len(original.cells)
    assert "widgets" not in student.metadata
    for i, (before, after) in enumerate(zip(original.cells, student.cells)):
        if i in folded:
            assert after.cell_type == "markdown" and after.source.startswith("<details>")
            assert after.source == with_folds.cells[i].source
            continue
        assert after.cell_type == before.cell_type
        if after.cell_type != "code":
            assert after.source == before.source
            continue
        assert after.outputs == [] and after.execution_count is None
        assert "BEGIN SOLUTION" not in after.source and "END SOLUTION" not in after.source
        if not has_solution(before):
            assert after.source == tool.strip_hidden_tests(with_folds.cells[i].source)
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


# --- re-running: the learner's work is never lost ------------------------------------

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PLACEHOLDER_LINE = 'raise NotImplementedError("your turn")'
UPSTREAM_NOTEBOOKS = ("03_softmax.ipynb", "04_cross_entropy.ipynb")


@pytest.fixture(scope="module")
def run_student():
    """run_student(out, *notebooks): ``python run.py student --out out notebooks...``, as a subprocess."""
    spec = importlib.util.spec_from_file_location("run_py", REPO_ROOT / "run.py")
    run_py = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run_py)
    try:
        run_py.setup("lab")            # once; then `python run.py student` only checks it is done
    except (subprocess.CalledProcessError, OSError) as e:
        reason = f"could not set up .venv for `python run.py student`: {e} (it needs the package registry once)"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)

    def run(out, *notebooks):
        return subprocess.run([sys.executable, str(REPO_ROOT / "run.py"), "student", "--out", str(out),
                               *map(str, notebooks)], capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)
    return run


@pytest.fixture
def student(capsys):
    """student(out, *notebooks): the same command in this process (quicker: no start-up, no imports)."""
    def run(out, *notebooks):
        capsys.readouterr()
        code = tool.main(["--out", str(out), *map(str, notebooks)])
        said = capsys.readouterr()
        return subprocess.CompletedProcess(["student_version.py"], code, said.out, said.err)
    return run


def upstream(tmp_path, names=UPSTREAM_NOTEBOOKS):
    """Copies of worked notebooks that a test may change, as a `git pull` would."""
    folder = tmp_path / "upstream"
    folder.mkdir()
    for name in names:
        shutil.copy(REPO_ROOT / "notebooks" / name, folder / name)
    return sorted(folder.glob("*.ipynb"))


def change_upstream(path, sentence="A sentence added upstream."):
    nb = nbformat.read(path, as_version=4)
    nb.cells[0].source += "\n\n" + sentence
    nbformat.write(nb, path)


def answer_first_exercise(path):
    """What a learner does: fill in the first exercise, and save."""
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if PLACEHOLDER_LINE in c.source)
    cell.source = cell.source.replace(PLACEHOLDER_LINE, "return l / l.sum()   # my first try")
    nbformat.write(nb, path)


def lines(run):
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout.splitlines()


def one_error_line(run):
    assert run.returncode == 2, run.stdout + run.stderr
    assert len(run.stderr.strip().splitlines()) == 1 and "Traceback" not in run.stderr, run.stderr
    assert run.stderr.startswith("error: ")
    return run.stderr.strip()


def test_learners_edited_copy_survives_run_py_student_twice(run_student, tmp_path):
    sources, out = upstream(tmp_path), tmp_path / "student"
    assert lines(run_student(out, *sources))[:2] == ["added 03_softmax.ipynb", "added 04_cross_entropy.ipynb"]
    answer_first_exercise(out / "03_softmax.ipynb")
    mine = (out / "03_softmax.ipynb").read_bytes()
    for _ in range(2):
        said = lines(run_student(out, *sources))
        assert (out / "03_softmax.ipynb").read_bytes() == mine
        assert said == ["kept 03_softmax.ipynb: changed since it was written; nothing new for it",
                        "unchanged 04_cross_entropy.ipynb",
                        f"nothing new for {out}: 1 unchanged, 1 kept"]
    assert sorted(p.name for p in out.iterdir()) == list(UPSTREAM_NOTEBOOKS)


def test_new_version_goes_beside_an_edited_copy_and_an_untouched_one_is_updated(student, tmp_path):
    sources, out = upstream(tmp_path), tmp_path / "student"
    lines(student(out, *sources))
    answer_first_exercise(out / "03_softmax.ipynb")
    mine = (out / "03_softmax.ipynb").read_bytes()
    for path in sources:
        change_upstream(path)
    said = lines(student(out, *sources))
    assert said == ["kept 03_softmax.ipynb: changed since it was written; the new version is in "
                    "03_softmax.new.ipynb",
                    "updated 04_cross_entropy.ipynb",
                    f"wrote 2 notebooks to {out}: 1 updated, 1 kept"]
    assert (out / "03_softmax.ipynb").read_bytes() == mine
    for name in ("03_softmax.new.ipynb", "04_cross_entropy.ipynb"):
        nb = nbformat.read(out / name, as_version=4)
        assert nb.cells[0].source.endswith("A sentence added upstream.")
        assert not tool.holds_solutions(nb) and any(PLACEHOLDER_LINE in c.source for c in nb.cells)
    new = (out / "03_softmax.new.ipynb").read_bytes()
    # Again: nothing is rewritten, and the line still says where the new version is.
    said = lines(student(out, *sources))
    assert said[0] == "kept 03_softmax.ipynb: changed since it was written; the new version is in 03_softmax.new.ipynb"
    assert said[1:] == ["unchanged 04_cross_entropy.ipynb", f"nothing new for {out}: 1 unchanged, 1 kept"]
    assert (out / "03_softmax.ipynb").read_bytes() == mine and (out / "03_softmax.new.ipynb").read_bytes() == new


def test_a_copy_without_the_record_counts_as_changed(student, tmp_path):
    """A student/ written by hand or by an older version of the command is kept (unless it already
    holds exactly the new version)."""
    sources, out = upstream(tmp_path, ["03_softmax.ipynb"]), tmp_path / "student"
    out.mkdir()
    old, _ = tool.student_notebook(nbformat.read(sources[0], as_version=4))
    nbformat.write(old, out / "03_softmax.ipynb")
    assert lines(student(out, *sources))[0] == "unchanged 03_softmax.ipynb"
    change_upstream(sources[0])
    mine = (out / "03_softmax.ipynb").read_bytes()
    assert lines(student(out, *sources))[0] == (
        "kept 03_softmax.ipynb: no record that this command wrote it from 03_softmax.ipynb; "
        "the new version is in 03_softmax.new.ipynb")
    assert (out / "03_softmax.ipynb").read_bytes() == mine


def test_running_a_notebook_is_no_change(student, tmp_path):
    """Outputs, execution counts, widget state and metadata from running it: still untouched."""
    folder = tmp_path / "upstream"
    folder.mkdir()
    source, out = folder / "00_tiny.ipynb", tmp_path / "student"
    nbformat.write(new_notebook(cells=[new_markdown_cell("# Tiny"), new_code_cell("x = 6 * 7\nprint(x)")]), source)
    lines(student(out, source))
    ran = nbformat.read(out / source.name, as_version=4)
    NotebookClient(ran, timeout=60, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    ran.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}, "version_major": 2,
                                                                            "version_minor": 0}}
    ran.cells[1].metadata["collapsed"] = True
    nbformat.write(ran, out / source.name)
    assert ran.cells[1].outputs[0]["text"] == "42\n" and ran.cells[1].execution_count == 1
    executed = (out / source.name).read_bytes()
    assert lines(student(out, source))[0] == "unchanged 00_tiny.ipynb"
    assert (out / source.name).read_bytes() == executed                 # its outputs are left too
    change_upstream(source)
    assert lines(student(out, source))[0] == "updated 00_tiny.ipynb"
    now = nbformat.read(out / source.name, as_version=4)
    assert now.cells[0].source.endswith("A sentence added upstream.") and now.cells[1].outputs == []


def _snapshot(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_refuses_to_write_into_notebooks(run_student, student, tmp_path, monkeypatch):
    before = _snapshot(REPO_ROOT / "notebooks")
    said = one_error_line(run_student("notebooks"))
    assert said.startswith("error: --out notebooks is the folder of the worked notebooks")
    link = tmp_path / "link"
    link.symlink_to(REPO_ROOT / "notebooks")
    monkeypatch.chdir(REPO_ROOT)
    for out in (REPO_ROOT / "notebooks", "tools/../notebooks", link):
        said = one_error_line(student(out))
        assert said.startswith(f"error: --out {out} is the folder of the worked notebooks") and "--out" in said
    # the folder of the notebooks it reads, wherever that is
    sources = upstream(tmp_path)
    said = one_error_line(student(sources[0].parent, *sources))
    assert said.startswith(f"error: --out {sources[0].parent} is the folder of the worked notebooks")
    assert _snapshot(REPO_ROOT / "notebooks") == before


def test_refuses_to_overwrite_a_notebook_with_solutions(student, tmp_path):
    sources, out = upstream(tmp_path), tmp_path / "student"
    out.mkdir()
    shutil.copy(sources[0], out / sources[0].name)
    before = _snapshot(out)
    said = one_error_line(student(out, *sources))
    assert f"{out / '03_softmax.ipynb'} holds worked solutions" in said and "Move it away" in said
    assert _snapshot(out) == before                      # nothing written, 04 neither: checked first


def test_a_folder_that_cannot_be_written_is_one_line(as_student, shared_dir):
    shared_dir.chmod(0o555)                  # read-only for its owner too, when that is who runs it
    for out, problem in ((shared_dir / "student", "cannot create the folder"), (shared_dir, "cannot write in")):
        said = one_error_line(as_student(str(TOOL), "--out", str(out), str(NOTEBOOKS[0])))
        assert said.startswith(f"error: {problem} {out}: Permission denied") and "--out DIR" in said
    assert list(shared_dir.iterdir()) == []


@pytest.mark.parametrize("failure", [KeyboardInterrupt, OSError], ids=["ctrl-c", "disk-full"])
def test_an_interrupted_write_leaves_no_half_written_notebook(tmp_path, monkeypatch, capsys, failure):
    """The run stops between writing the temporary file and renaming it: the old notebook is left
    whole, a new one is not there at all, and no temporary file stays behind."""
    sources, out = upstream(tmp_path, ["03_softmax.ipynb"]), tmp_path / "student"
    assert tool.main(["--out", str(out), *map(str, sources)]) == 0
    before = _snapshot(out)
    change_upstream(sources[0])

    def stop(*args):
        raise KeyboardInterrupt() if failure is KeyboardInterrupt else OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(os, "replace", stop)
    for folder in (out, tmp_path / "fresh"):
        capsys.readouterr()
        if failure is KeyboardInterrupt:
            with pytest.raises(KeyboardInterrupt):
                tool.main(["--out", str(folder), *map(str, sources)])
        else:
            assert tool.main(["--out", str(folder), *map(str, sources)]) == 2
            assert capsys.readouterr().err.startswith(f"error: cannot write {folder / '03_softmax.ipynb'}: "
                                                      "No space left on device")
    assert _snapshot(out) == before and list((tmp_path / "fresh").iterdir()) == []
    monkeypatch.undo()
    assert tool.main(["--out", str(out), *map(str, sources)]) == 0
    assert capsys.readouterr().out.startswith("updated 03_softmax.ipynb")

