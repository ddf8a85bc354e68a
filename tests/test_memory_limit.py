"""Memory bounded by design: the training CLI under a real 1 GB limit, and batches done in chunks.

The limit is a cgroup (v1 memory controller at /sys/fs/cgroup/memory) of 1 GB with
no swap, one per command: a command that needs more is killed by the kernel, as it
would be on a server with per-student limits. This needs root (CI runs as root);
elsewhere the test is skipped with the reason.
"""

import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from mnistlib import cnn, mlp
from mnistlib.train import sgd_step, train

CGROUPS = Path("/sys/fs/cgroup/memory")
LIMIT = 10**9                 # 1 GB

# Every model and method for one epoch, and mini-batches larger than the training set. (The
# recipes' rates are for mini-batches of 50: one example at a time needs a smaller one.)
RUNS = [[*model, *method, "--epochs", "1"]
        for model in (["--model", "softmax"], ["--model", "mlp"], ["--model", "cnn"])
        for method in (["--method", "example", "--lr", "0.01"], ["--method", "minibatch"], ["--method", "full"])]
RUNS += [["--model", model, "--batch-size", "1000000", "--epochs", "1"] for model in ("mlp", "cnn")]


def tiny_problem(n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 784)), rng.integers(0, 10, n)


def small_params(model):
    if model is mlp:
        return mlp.init_params(seed=1, dtype=np.float64, n_hidden=12)
    return cnn.init_params(seed=1, dtype=np.float64, channels=(2, 3), n_hidden=6)


# --- chunks: the same gradient as one big batch ----------------------------------------------------

@pytest.mark.parametrize("model", [mlp, cnn], ids=["mlp", "cnn"])
@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
def test_a_batch_done_in_chunks_makes_the_update_of_one_big_batch(model, weight_decay, monkeypatch):
    X, y = tiny_problem(13)
    params = small_params(model)
    one = {k: v.copy() for k, v in params.items()}
    L = sgd_step(model, one, X, y, 0.3, weight_decay)            # 13 < CHUNK: one batch, the fused step
    monkeypatch.setattr(model, "CHUNK", 4)                        # 4 + 4 + 4 + 1
    chunked = {k: v.copy() for k, v in params.items()}
    assert sgd_step(model, chunked, X, y, 0.3, weight_decay) == pytest.approx(L, rel=1e-12)
    for k in params:
        np.testing.assert_allclose(chunked[k], one[k], rtol=1e-12, atol=1e-15, err_msg=k)
    # a mini-batch given by its rows: gathered a chunk at a time
    rows = np.random.default_rng(2).permutation(13)[:11]
    by_rows = {k: v.copy() for k, v in params.items()}
    L_rows = sgd_step(model, by_rows, X, y, 0.3, weight_decay, index=rows)
    monkeypatch.setattr(model, "CHUNK", 100)
    gathered = {k: v.copy() for k, v in params.items()}
    assert sgd_step(model, gathered, X[rows], y[rows], 0.3, weight_decay) == pytest.approx(L_rows, rel=1e-12)
    for k in params:
        np.testing.assert_allclose(by_rows[k], gathered[k], rtol=1e-12, atol=1e-15, err_msg=k)


@pytest.mark.parametrize("model", [mlp, cnn], ids=["mlp", "cnn"])
def test_full_batch_training_in_chunks_follows_the_same_path(model, monkeypatch):
    X, y = tiny_problem(24, seed=3)
    kwargs = dict(model=model, params=small_params(model), method="full", lr=0.2, epochs=3, evaluate=False)
    whole = train(X, y, **kwargs)
    monkeypatch.setattr(model, "CHUNK", 5)
    sizes, real = [], model.loss_and_grads

    def spied(params, X, y):
        sizes.append(len(X))
        return real(params, X, y)

    monkeypatch.setattr(model, "loss_and_grads", spied)
    chunked = train(X, y, **kwargs)
    assert sizes == [5, 5, 5, 5, 4] * 3                  # never more than a chunk at a time
    assert chunked.history.loss == pytest.approx(whole.history.loss, rel=1e-12)
    for k in whole.params:
        np.testing.assert_allclose(chunked.params[k], whole.params[k], rtol=1e-11, atol=1e-14, err_msg=k)


def test_a_full_batch_step_of_the_cnn_stays_within_a_chunks_memory():
    """The fused step on 2,000 images made 480 MB of work arrays; in chunks of 500, some 230 MB (and as
    much for any larger batch, where the fused step grows with it: 12 GB for 50,000 images)."""
    X = np.random.default_rng(5).random((2000, 784), dtype=np.float32)
    y = np.random.default_rng(5).integers(0, 10, 2000)
    params = cnn.init_params()
    tracemalloc.start()
    try:
        loss = sgd_step(cnn, params, X, y, 0.1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert np.isfinite(loss)
    assert peak < 300e6, f"peak {peak / 1e6:.0f} MB"


# --- the CLI under a real 1 GB limit ------------------------------------------------------------

def cgroups_or_skip():
    if not (CGROUPS / "memory.limit_in_bytes").is_file() or not os.access(CGROUPS, os.W_OK):
        pytest.skip(f"limiting memory for real needs root and the cgroup v1 memory controller at {CGROUPS}, "
                    "writable (as on CI's machines)")


def run_limited(args, env, workdir):
    """Run ``python -m mnistlib train *args`` in a cgroup of its own limited to LIMIT bytes.

    Returns (exit code, stdout, stderr, peak resident memory in bytes, peak cgroup charge
    in bytes, CPU seconds, wall-clock seconds). The cgroup is removed afterwards.
    """
    group = CGROUPS / f"mnistlib-test-{os.getpid()}-{'_'.join(a.strip('-') for a in args)}"
    started = time.monotonic()
    group.mkdir()
    try:
        (group / "memory.limit_in_bytes").write_text(str(LIMIT))
        if (group / "memory.memsw.limit_in_bytes").exists():       # no swap to escape to
            (group / "memory.memsw.limit_in_bytes").write_text(str(LIMIT))
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            child = subprocess.Popen([sys.executable, "-m", "mnistlib", "train", *args], cwd=workdir,
                                     env=env, stdout=out, stderr=err, text=True,
                                     preexec_fn=lambda: (group / "cgroup.procs").write_text(str(os.getpid())))
            _, status, usage = os.wait4(child.pid, 0)
            child.returncode = os.waitstatus_to_exitcode(status)
            out.seek(0)
            err.seek(0)
            result = (child.returncode, out.read(), err.read(), usage.ru_maxrss * 1024,
                      int((group / "memory.max_usage_in_bytes").read_text()),
                      usage.ru_utime + usage.ru_stime, time.monotonic() - started)
    finally:
        group.rmdir()
    return result


@pytest.mark.slow
def test_every_model_and_method_trains_within_1_gb(mnist_dir, tmp_path):
    cgroups_or_skip()
    env = {**os.environ, "MNIST_DATA_DIR": str(mnist_dir), "MNISTLIB_CACHE_DIR": str(tmp_path / "cache")}
    with ThreadPoolExecutor(2) as pool:        # two at a time: most use one core each
        results = list(pool.map(lambda args: run_limited(args, env, tmp_path), RUNS))
    report, failures = [], []
    for args, (code, out, err, rss, charged, cpu, wall) in zip(RUNS, results):
        report.append(f"{' '.join(args):58s} exit {code}  peak RSS {rss / 1e6:4.0f} MB  cgroup peak "
                      f"{charged / 1e6:4.0f} MB  {cpu:5.1f} CPU s  {wall:5.1f} s")
        if code != 0 or "Traceback" in err or "MemoryError" in err or "final test accuracy" not in out:
            failures.append(f"{' '.join(args)}: exit {code}\n{err[-2000:]}")
    print("\n" + "\n".join(report))
    assert failures == [], "\n".join(failures)
