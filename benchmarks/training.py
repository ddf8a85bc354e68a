"""How the benchmarks train mnistlib's models: the one module that names them.

Every benchmark reaches softmax regression, the MLP and the CNN through MODELS
and the functions here, so that a change to mnistlib's model interface is made
in this file alone. What they rely on: a model has RECIPE (train()'s settings),
init_params, logits and loss_and_grads; train(x, y, model=...) returns a Result
with .params and .history.updates, and calls back with a Progress that has
.params and .update; accuracy_of(model, params, x, y); and the module constant
train.ONE_THREAD_MAX_BATCH, which the epoch benchmarks change for a while.
"""

import math
import time
from contextlib import contextmanager
from dataclasses import dataclass

from mnistlib import cnn, mlp
from mnistlib import train as train_module
from mnistlib.data import train_val_split
from mnistlib import softmax_regression
from mnistlib.train import accuracy_of, train

import harness

MODELS = {"softmax": softmax_regression, "mlp": mlp, "cnn": cnn}
SOFTMAX, MLP, CNN = MODELS["softmax"], MODELS["mlp"], MODELS["cnn"]
BATCH = 100                     # the batch of every epoch compared with PyTorch


def one_thread_max_batch():
    """The largest batch for which train() runs numpy's BLAS on one thread."""
    return train_module.ONE_THREAD_MAX_BATCH


@contextmanager
def one_thread_limit(max_batch):
    """Context: train() uses one BLAS thread for batches up to max_batch (0: never limits)."""
    saved = train_module.ONE_THREAD_MAX_BATCH
    train_module.ONE_THREAD_MAX_BATCH = max_batch
    try:
        yield
    finally:
        train_module.ONE_THREAD_MAX_BATCH = saved


def epoch(d, model, lr, lift_limit=False):
    """One epoch of train() over the 60,000 training images, batches of BATCH, no evaluation.

    lift_limit: let numpy's BLAS use its default threads, not train()'s one thread.
    """
    with one_thread_limit(0 if lift_limit else one_thread_max_batch()):
        train(d.x_train, d.y_train, model=model, lr=lr, epochs=1, batch_size=BATCH, evaluate=False)


def test_accuracy(model, params, d):
    """Fraction of d's 10,000 test images the model with these params classifies right."""
    return accuracy_of(model, params, d.x_test, d.y_test)


def training_split(d):
    """The 50,000 images (x, y) that train_val_split leaves for training, as ``python -m mnistlib train``."""
    x, y, _, _ = train_val_split(d.x_train, d.y_train)
    return x, y


def validation_split(d):
    """The 10,000 validation images (x_val, y_val) that train_val_split keeps back from training."""
    _, _, x_val, y_val = train_val_split(d.x_train, d.y_train)
    return x_val, y_val


# --- time to an accuracy ---------------------------------------------------------------

class _Stop(Exception):
    """Raised from train()'s callback to end the run."""


@dataclass
class Run:
    """Where a timed run was when it was last tested."""
    updates: int = 0
    seconds: float = 0.0             # training time: testing excluded
    cpu_seconds: float = 0.0
    accuracy: float = 0.0            # accuracy on the scored images then
    best: float = 0.0                # the best accuracy seen
    reached: bool = False


def time_to_accuracy(model, x, y, held_out, goal, every, max_seconds=math.inf, **settings):
    """Train on (x, y), scoring every ``every`` updates until the accuracy reaches ``goal``.

    The accuracy is measured on ``held_out`` = (x_val, y_val), never on the test
    images: a goal that is reached once, out of many looks, is a choice, and the
    test set keeps its one look. settings: train()'s, e.g. lr, epochs. Scoring
    time is subtracted from both the wall and the CPU time. Stops after
    ``max_seconds`` of training, or when train() ends; the model is then scored
    once more. Returns a Run.
    """
    x_scored, y_scored = held_out
    run, testing_wall, testing_cpu = Run(), 0.0, 0.0
    t0, c0 = time.perf_counter(), time.process_time()

    def test(params, update):
        nonlocal testing_wall, testing_cpu
        t, c = time.perf_counter(), time.process_time()
        run.updates, run.seconds, run.cpu_seconds = update, t - t0 - testing_wall, c - c0 - testing_cpu
        run.accuracy = accuracy_of(model, params, x_scored, y_scored)
        run.best = max(run.best, run.accuracy)
        run.reached = run.accuracy >= goal
        testing_wall += time.perf_counter() - t
        testing_cpu += time.process_time() - c
        return run.reached or run.seconds > max_seconds

    def check(progress):
        if test(progress.params, progress.update):
            raise _Stop

    try:
        r = train(x, y, model=model, evaluate=False, callback=check, callback_every=every, **settings)
        test(r.params, r.history.updates[-1])
    except _Stop:
        pass
    return run


# --- what the peak-memory rows run in a fresh process (harness.run_child) -------------------

def softmax_recipe_with_validation():
    """Load MNIST and train softmax regression as ``python -m mnistlib train`` does, validation included."""
    d, _ = harness.load_data()
    x, y, x_val, y_val = train_val_split(d.x_train, d.y_train)
    train(x, y, model=SOFTMAX, x_val=x_val, y_val=y_val, **SOFTMAX.RECIPE)


def model_updates_and_accuracy(name, updates=300):
    """Load MNIST, train the model ``updates`` updates, then its accuracy on all 70,000 images."""
    d, _ = harness.load_data()
    model = MODELS[name]
    train(d.x_train, d.y_train, model=model, max_updates=updates, x_val=d.x_test, y_val=d.y_test,
          **dict(model.RECIPE, epochs=1))
