"""The benchmark script's shared parts: the entry point, child processes, timing, time to an accuracy.

The benchmarks themselves take minutes on the full MNIST (``python benchmarks/run.py
--quick`` checks them); these tests check, in seconds, what every row relies on.
"""

import importlib
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture
def bench(monkeypatch):
    """bench("harness"): a module of benchmarks/, imported as run.py imports it."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    return importlib.import_module


def test_run_py_imports_every_benchmark_and_offers_every_flag():
    r = subprocess.run([sys.executable, str(BENCHMARKS / "run.py"), "--help"], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    for flag in ("--quick", "--skip-models", "--notebooks", "--classroom", "--laptop-kernels"):
        assert flag in r.stdout


def test_a_child_process_returns_its_result_and_peak_memory(bench):
    from mnistlib import train
    child = bench("harness").run_child("training", "one_thread_max_batch")
    assert child["result"] == train.ONE_THREAD_MAX_BATCH
    assert child["peak_mb"] > 10            # python and numpy alone take more
    assert child["cpu_s"] > 0
    assert isinstance(child["blas"], list)


def test_a_child_process_can_start_without_the_openblas_variables(bench, monkeypatch):
    harness = bench("harness")
    monkeypatch.setenv("OPENBLAS_L2_SIZE", "512")
    assert harness.run_child("harness", "openblas_set")["result"]["OPENBLAS_L2_SIZE"] == "512"
    assert "OPENBLAS_L2_SIZE" not in harness.run_child("harness", "openblas_set", unset_openblas=True)["result"]


def test_a_failing_child_process_says_what_failed(bench):
    with pytest.raises(RuntimeError, match=r"(?s)training\.no_such_function.*AttributeError"):
        bench("harness").run_child("training", "no_such_function")


def test_the_usage_report_runs_on_its_own_as_a_notebook_cell_does(bench):
    code = bench("harness").usage_report_code()
    r = subprocess.run([sys.executable, "-c", "big = bytearray(200 * 2**20)\n" + code], capture_output=True,
                       text=True, timeout=60)
    usage = json.loads(r.stdout.strip().splitlines()[-1])
    assert usage["peak_mb"] > 200           # the 200 MB it held count
    assert usage["cpu_s"] >= 0


def test_interleaved_runs_every_function_in_turn_after_one_warm_up(bench):
    calls = []
    times = bench("harness").interleaved({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, 3)
    assert calls == ["a", "b"] * 4
    for t in times.values():
        assert 0 <= t.fastest <= t.wall and t.cpu >= 0


def test_the_one_thread_limit_is_restored_even_after_an_error(bench):
    from mnistlib import train
    before = train.ONE_THREAD_MAX_BATCH
    with pytest.raises(ZeroDivisionError):
        with bench("training").one_thread_limit(0):
            assert train.ONE_THREAD_MAX_BATCH == 0
            1 / 0
    assert train.ONE_THREAD_MAX_BATCH == before


def test_time_to_accuracy_stops_at_the_goal(bench, subset_mnist):
    training = bench("training")
    d = subset_mnist
    x, y, x_val, y_val = training.train_val_split(d.x_train, d.y_train)
    run = training.time_to_accuracy(training.SOFTMAX, x, y, (x_val, y_val), 0.5, every=10, lr=0.5, epochs=3)
    assert run.reached and run.accuracy >= 0.5 and run.best == run.accuracy
    assert run.updates % 10 == 0 and run.seconds > 0


def test_time_to_accuracy_scores_on_the_held_out_images_it_is_given(bench, subset_mnist):
    from mnistlib.train import train
    training = bench("training")
    d = subset_mnist
    x, y, x_val, y_val = training.train_val_split(d.x_train, d.y_train)
    run = training.time_to_accuracy(training.SOFTMAX, x, y, (x_val, y_val), 1.01, every=1000,
                                    lr=0.5, epochs=1, batch_size=100)
    final = train(x, y, model=training.SOFTMAX, lr=0.5, epochs=1, batch_size=100, evaluate=False)
    assert run.accuracy == training.accuracy_of(training.SOFTMAX, final.params, x_val, y_val)


def test_time_to_accuracy_that_never_gets_there_scores_the_final_model(bench, subset_mnist):
    from mnistlib.train import train
    training = bench("training")
    d = subset_mnist
    x, y, x_val, y_val = training.train_val_split(d.x_train, d.y_train)
    run = training.time_to_accuracy(training.SOFTMAX, x, y, (x_val, y_val), 1.01, every=7, lr=0.5,
                                    epochs=1, batch_size=100)
    assert not run.reached
    assert run.updates == math.ceil(len(x) / 100)          # scored once more at the end
    final = train(x, y, model=training.SOFTMAX, lr=0.5, epochs=1, batch_size=100, evaluate=False)
    assert run.accuracy == training.accuracy_of(training.SOFTMAX, final.params, x_val, y_val)
    assert run.best >= run.accuracy


@pytest.mark.parametrize("class_environment", [True, False])
def test_the_classroom_rows_run_kernels_as_the_hub_does_or_as_on_a_laptop(bench, tmp_path, monkeypatch,
                                                                         class_environment):
    import nbformat
    classroom, harness = bench("classroom"), bench("harness")
    for name in classroom.KERNEL_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import os\n"
        f"expected = {dict(classroom.KERNEL_ENVIRONMENT) if class_environment else {}!r}\n"
        "assert {k: os.environ[k] for k in expected} == expected\n"
        f"assert not {class_environment} or os.environ.get('OPENBLAS_NUM_THREADS') == '1'\n"
        f"assert {class_environment} or 'MALLOC_MMAP_THRESHOLD_' not in os.environ")]
    path = tmp_path / "00_env.ipynb"
    nbformat.write(nb, path)
    table = harness.Table()
    usage = classroom.notebook_rows(table, class_environment, paths=[path])
    assert list(usage) == ["00_env.ipynb"], table.markdown()      # a failed assert leaves it out
    assert usage["00_env.ipynb"]["peak_mb"] > 10
    said = table.markdown()
    assert ("the classroom hub's environment" in said) == class_environment
