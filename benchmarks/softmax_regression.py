"""Softmax regression: its epoch against PyTorch and the memory floor, the recipe, three ways to
descend, peak memory, and the epoch without the OpenBLAS variables (rows 1-4 and 6 of the README).
"""

import statistics
import time

import numpy as np
from mnistlib.train import train

import harness
import pytorch_epoch
import training
from harness import fmt_s
from training import BATCH, SOFTMAX

LR = 0.5                      # the epoch compared with PyTorch


# --- 1. one epoch: mnistlib against PyTorch -------------------------------------------

def epoch_rows(table, d, repeats, both_thread_counts):
    """The epoch on train()'s own thread count, then (both_thread_counts) with its limit lifted.

    Returns the median seconds of mnistlib's epoch with train()'s limit.
    """
    limit = training.one_thread_max_batch()
    _, numpy_threads = harness.blas_info()
    inside = 1 if BATCH <= limit else numpy_threads
    seconds = {}
    for threads in harness.thread_counts(both_thread_counts, first=inside):
        # The second setting lifts train()'s limit, to show what the limit buys.
        t = pytorch_epoch.epoch_times(d, "softmax", LR, threads, repeats, lift_limit=threads != inside)
        seconds[threads] = t["mnistlib"].wall
        label = harness.threads_label(threads)
        note = (f" (train() limits BLAS to 1 thread for batches <= {limit})"
                if threads == inside else " (train()'s limit lifted: numpy's default BLAS threads)")
        ours = t["mnistlib"]
        if "torch" in t:
            ratio = ours.wall / t["torch"].wall
            table.add(f"epoch, 60k images, batch {BATCH}, {label}: mnistlib / PyTorch CPU{note}",
                      f"{fmt_s(ours.wall)} / {fmt_s(t['torch'].wall)} = {ratio:.2f}x "
                      f"(fastest runs: {fmt_s(ours.fastest)} / {fmt_s(t['torch'].fastest)})",
                      "<= 0.6x", ratio <= 0.6)
        else:
            table.add(f"epoch, 60k images, batch {BATCH}, {label}: mnistlib{note}",
                      f"{fmt_s(ours.wall)}, fastest {fmt_s(ours.fastest)} "
                      "(PyTorch not installed: comparison skipped)", "<= 0.6x PyTorch", None)
    return seconds[inside]


# --- 2. the memory floor -----------------------------------------------------------------

def floor_rows(table, d, repeats, mnistlib_seconds):
    """Time to read x once per epoch: sequentially (sum) and as the epoch does (shuffled gather)."""
    x, y = d.x_train, d.y_train.astype(np.intp)
    n = len(x)
    nbytes = x.nbytes + n * np.dtype(np.intp).itemsize       # images once, plus the label indices
    order = np.random.default_rng(0).permutation(n)
    xb = np.empty((BATCH, x.shape[1]), x.dtype)
    yb = np.empty(BATCH, np.intp)

    def gather():
        # mode="clip" skips the index check that makes np.take buffer its output
        for start in range(0, n, BATCH):
            idx = order[start:start + BATCH]
            np.take(x, idx, axis=0, out=xb, mode="clip")
            np.take(y, idx, out=yb, mode="clip")

    t = harness.interleaved({"sum": lambda: x.sum(), "gather": gather}, repeats)
    floor, seq = t["gather"].wall, t["sum"].wall
    table.add("memory floor: gather x in the epoch's shuffled batch order (np.take into a reused buffer)",
              f"{fmt_s(floor)} for {nbytes / 1e6:.0f} MB = {nbytes / floor / 1e9:.1f} GB/s "
              f"(sequential x.sum(): {fmt_s(seq)}, {x.nbytes / seq / 1e9:.1f} GB/s)")
    ratio = mnistlib_seconds / floor
    table.add("mnistlib epoch / memory floor", f"{ratio:.1f}x ({fmt_s(mnistlib_seconds)} / {fmt_s(floor)})",
              "<= 2x", ratio <= 2)


# --- the OpenBLAS variables ----------------------------------------------------------------

def openblas_row(table, repeats, mnistlib_seconds):
    """If OPENBLAS_CORETYPE or OPENBLAS_L2_SIZE is set: the epoch again in a process without them."""
    set_vars = harness.openblas_set()
    if not set_vars:
        return
    child = harness.run_child("pytorch_epoch", "epoch_times_in_child", "softmax", LR, repeats, False,
                              unset_openblas=True)
    seconds = child["result"]["mnistlib"]["wall"]
    kernels = ", ".join(map(str, child["blas"]))
    table.add(f"epoch with {' and '.join(set_vars)} unset (subprocess; kernel {kernels})",
              f"{fmt_s(seconds)} (with {'it' if len(set_vars) == 1 else 'them'} set: {fmt_s(mnistlib_seconds)})")


# --- 3. the recipe, and one example / mini-batch / full batch -------------------------------

def recipe_row(table, d, repeats):
    """``python -m mnistlib train``: the softmax RECIPE on the 50,000 images of the training split."""
    x, y = training.training_split(d)
    results = []
    for _ in range(repeats):
        t = time.perf_counter()
        r = train(x, y, model=SOFTMAX, evaluate=False, **SOFTMAX.RECIPE)
        results.append((time.perf_counter() - t, training.test_accuracy(SOFTMAX, r.params, d)))
    seconds = statistics.median(s for s, _ in results)
    acc = results[0][1]          # seeded: every run gives the same model
    settings = ", ".join(f"{k}={v!r}" for k, v in SOFTMAX.RECIPE.items())
    table.add(f"recipe: train({settings}) on the 50k training split",
              f"{acc:.2%} test accuracy in {seconds:.2f} s", ">= 92.5% in < 2 s",
              acc >= 0.925 and seconds < 2)


def method_rows(table, d, quick):
    """Updates per second, and training seconds until the validation accuracy first reaches 90%.

    Trained on the 50,000 images of the training split, scored on the 10,000 validation
    images (the test images keep their one look, as in notebook 08).
    """
    goal = 0.90
    x, y = training.training_split(d)
    held_out = training.validation_split(d)
    runs = [("one example at a time", dict(method="example", lr=0.01, every=1000)),
            ("mini-batch of 100", dict(method="minibatch", lr=0.5, batch_size=100, every=20)),
            ("full batch (50k)", dict(method="full", lr=1.0, every=5))]
    for name, kw in runs:
        run = training.time_to_accuracy(SOFTMAX, x, y, held_out, goal, epochs=1000,
                                        max_seconds=10 if quick else 30, **kw)
        rate = run.updates / run.seconds if run.seconds else float("nan")
        if run.reached:
            result = (f"{rate:,.0f} updates/s; {goal:.0%} validation accuracy after {run.updates} updates, "
                      f"{run.seconds:.2f} s")
        else:
            result = (f"{rate:,.0f} updates/s; {goal:.0%} not reached in {run.updates} updates "
                      f"(best {run.best:.1%})")
        table.add(f"{name}, lr={kw['lr']}, on the 50k training split, scored on the 10k validation images "
                  f"every {kw['every']} updates (scoring time excluded)", result)


# --- 6. peak memory ------------------------------------------------------------------------

def memory_row(table):
    """A fresh process loads MNIST and trains the recipe with validation: its peak resident memory."""
    peak_mb = harness.run_child("training", "softmax_recipe_with_validation")["peak_mb"]
    table.add("peak memory: python + load_mnist() + softmax_regression.RECIPE with validation (fresh process, VmHWM)",
              f"{peak_mb:.0f} MB", "< 1 GB", peak_mb < 1024)
