"""The three models by name, trained once and kept in the cache (mnistlib.zoo).

Quick: the models train on tiny made-up data or on the bundled subset with short
recipes, and every test has a cache of its own.
"""

import os
import stat
import subprocess
import sys
import threading
import zipfile

import numpy as np
import pytest

from mnistlib import cnn, mlp, zoo
from mnistlib.data import MNIST, train_val_split
from mnistlib.download import save_atomically
from mnistlib.gradcheck import numerical_gradient, rel_error
from mnistlib import softmax_regression

SHORT = dict(lr=0.5, epochs=1, batch_size=50, schedule="linear")


def fake_data(n=600, seed=0):
    """n made-up "images" (rows of 784 pixels) whose class shows in which block of pixels is bright."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    x = 0.1 * rng.random((n, 784), dtype=np.float32)
    for k in range(10):
        x[y == k, 78 * k:78 * k + 78] += 0.8
    return MNIST(x, y, x[:50], y[:50], "made up")


@pytest.fixture(autouse=True)
def fresh_session():
    """Each test starts with nothing remembered from another test."""
    zoo.forget()
    yield
    zoo.forget()


@pytest.fixture
def cache(tmp_path):
    return tmp_path / "cache"


@pytest.fixture
def trainings(monkeypatch):
    """Counts the trainings zoo runs (the training itself is unchanged)."""
    count = []
    real = zoo.train

    def counted(*args, **kwargs):
        count.append(kwargs.get("model"))
        return real(*args, **kwargs)

    monkeypatch.setattr(zoo, "train", counted)
    return count


# --- miss, then hit ---------------------------------------------------------------------

def test_a_miss_trains_on_the_training_split_and_saves_a_file_everyone_can_read(cache, trainings):
    data = fake_data()
    old = os.umask(0o022)
    try:
        m = zoo.trained("softmax", data, recipe=SHORT, cache_dir=cache)
    finally:
        os.umask(old)
    assert len(trainings) == 1 and m.source == "trained" and m.name == "softmax"
    assert m.path.parent == cache / "models" and m.path.name.startswith("softmax-other-")
    assert stat.S_IMODE(m.path.stat().st_mode) == 0o644
    assert [p.name for p in m.path.parent.iterdir()] == [m.path.name]      # no temporary file left
    # trained on the 500 images of the training split, scored on the 100 held out
    x_train, y_train, x_val, y_val = train_val_split(data.x_train, data.y_train)
    assert m.val_acc == pytest.approx(np.mean(m.logits(x_val).argmax(axis=1) == y_val))
    assert m.val_acc > 0.9 and m.seconds > 0


def test_a_hit_loads_the_same_model_without_training(cache, trainings):
    data = fake_data()
    first = zoo.trained("mlp", data, recipe=SHORT, cache_dir=cache)
    zoo.forget()                                  # a new session
    again = zoo.trained("mlp", data, recipe=SHORT, cache_dir=cache)
    assert len(trainings) == 1
    assert again.source == "cache" and again.path == first.path
    assert again.val_acc == first.val_acc and again.seconds == pytest.approx(first.seconds)
    for k in first.params:
        assert np.array_equal(again.params[k], first.params[k])
    assert zoo.cached("mlp", data, recipe=SHORT, cache_dir=cache).val_acc == first.val_acc


def test_within_a_session_a_model_is_trained_once(cache, trainings):
    data = fake_data()
    a = zoo.trained("softmax", data, recipe=SHORT, cache_dir=cache)
    b = zoo.trained("softmax", data, recipe=SHORT, cache_dir=cache)
    assert a is b and len(trainings) == 1


def test_another_recipe_seed_or_data_is_another_file(cache):
    data = fake_data()
    files = {zoo.trained("softmax", data, recipe=SHORT, cache_dir=cache).path,
             zoo.trained("softmax", data, recipe={**SHORT, "lr": 0.1}, cache_dir=cache).path,
             zoo.trained("softmax", data, recipe=SHORT, seed=1, cache_dir=cache).path,
             zoo.trained("softmax", fake_data(seed=1), recipe=SHORT, cache_dir=cache).path,
             zoo.trained("mlp", data, recipe=SHORT, cache_dir=cache).path}
    assert len(files) == 5 and all(p.is_file() for p in files)


def test_the_file_name_of_the_full_set_and_the_subset_needs_no_images():
    # the launcher finds the prepared models without loading MNIST
    full = zoo.cache_file("cnn", "full", cache_dir="/c")
    assert full.parent.as_posix() == "/c/models" and full.name.startswith("cnn-full-")
    assert zoo.cache_file("cnn", "subset", cache_dir="/c") != full
    assert zoo.cache_file("cnn", "full", cache_dir="/c", recipe={**cnn.RECIPE, "epochs": 1}) != full


def test_the_full_set_and_the_subset_are_named_as_such(subset_mnist):
    assert zoo.data_kind(subset_mnist) == "subset"
    assert zoo.data_kind(fake_data()) == "other"
    big = MNIST(np.zeros((60000, 784), np.float32), np.zeros(60000, np.int64), None, None, "directory")
    assert zoo.data_kind(big) == "full"


def test_the_default_cache_is_the_data_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("MNISTLIB_CACHE_DIR", str(tmp_path))
    assert zoo.models_dir() == tmp_path / "models"
    assert zoo.cache_file("mlp").parent == tmp_path / "models"


# --- damaged files --------------------------------------------------------------------------

def _rewrite(path, change):
    """Rewrite the model file at path with change(arrays) applied to its arrays."""
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    change(arrays)
    np.savez(path, **arrays)


DAMAGE = {
    "half written": lambda p: p.write_bytes(p.read_bytes()[:len(p.read_bytes()) // 2]),
    "empty": lambda p: p.write_bytes(b""),
    "not a model file": lambda p: p.write_bytes(b"<html>error page</html>"),
    "a NaN": lambda p: _rewrite(p, lambda a: a["param.W"].__setitem__((0, 0), np.nan)),
    "a missing array": lambda p: _rewrite(p, lambda a: a.pop("param.b")),
    "a wrong shape": lambda p: _rewrite(p, lambda a: a.__setitem__("param.W", a["param.W"][:700])),
    "no description": lambda p: _rewrite(p, lambda a: a.pop("meta")),
    "another model's description": lambda p: _rewrite(p, lambda a: a.__setitem__(
        "meta", np.array(str(a["meta"]).replace('"lr": 0.5', '"lr": 0.25')))),
}


@pytest.mark.parametrize("damage", DAMAGE, ids=list(DAMAGE))
def test_a_damaged_file_is_retrained_with_one_line_saying_why(cache, trainings, damage):
    data = fake_data()
    good = zoo.trained("softmax", data, recipe=SHORT, cache_dir=cache)
    DAMAGE[damage](good.path)
    zoo.forget()
    said = []
    again = zoo.trained("softmax", data, recipe=SHORT, cache_dir=cache, say=said.append)
    assert len(trainings) == 2 and again.source == "trained"
    assert len(said) == 1 and said[0].startswith(f"softmax regression: the file {good.path} ")
    assert "damaged or out of date" in said[0] and said[0].endswith("; training it again")
    # the damaged file was replaced by a good one
    zoo.forget()
    assert zoo.trained("softmax", data, recipe=SHORT, cache_dir=cache).source == "cache"


def test_a_file_trained_on_other_images_is_not_used(cache, trainings):
    # The full MNIST and the subset are named by their kind alone, so the file also
    # records the images it was trained on, and loading checks them.
    data = fake_data()._replace(source="bundled subset")
    m = zoo.trained("softmax", data, recipe=SHORT, cache_dir=cache)
    assert m.path.name.startswith("softmax-subset-")
    zoo.forget()
    said = []
    other = fake_data(seed=1)._replace(source="bundled subset")
    assert zoo.trained("softmax", other, recipe=SHORT, cache_dir=cache, say=said.append).source == "trained"
    assert len(trainings) == 2 and len(said) == 1 and "it was trained on other images" in said[0]


# --- a cache that cannot be written -----------------------------------------------------------

def test_a_cache_that_cannot_be_written_still_gives_the_model_for_this_session(tmp_path, trainings):
    blocked = tmp_path / "cache"
    blocked.write_text("a file where the cache directory should be")
    data = fake_data()
    said = []
    m = zoo.trained("mlp", data, recipe=SHORT, cache_dir=blocked, say=said.append)
    assert m.source == "trained" and m.path is None and m.val_acc > 0.5
    assert said == [m.note]
    assert said[0].startswith("the MLP: cannot save it in the cache ")
    assert said[0].endswith("; it is kept for this session only")
    # and it is not trained again in this session
    assert zoo.trained("mlp", data, recipe=SHORT, cache_dir=blocked, say=said.append) is m
    assert len(trainings) == 1 and len(said) == 1


STUDENT = """
import sys
from mnistlib import zoo
from mnistlib.data import load_mnist
data = load_mnist(download=False, verbose=False)
short = dict(lr=0.5, epochs=1, batch_size=50, schedule="linear")
for name in ("softmax", "mlp"):
    m = zoo.trained(name, data, recipe=short)
    print(name, m.source, m.path is not None, f"{m.val_acc:.3f}")
"""


def teachers_softmax(shared_dir, data):
    """(the teacher's cache, the softmax model trained into it as the teacher would: readable by all)."""
    teachers = shared_dir / "mnist"
    old = os.umask(0o022)
    try:
        return teachers, zoo.trained("softmax", data, recipe=SHORT, cache_dir=teachers)
    finally:
        os.umask(old)


def test_a_class_reads_the_models_a_teacher_prepared_in_a_shared_read_only_cache(
        shared_dir, subset_mnist, as_student):
    teachers, prepared = teachers_softmax(shared_dir, subset_mnist)
    for d in (teachers, teachers / "models"):
        d.chmod(0o555)
    r = as_student("-c", STUDENT, env={"MNISTLIB_CACHE_DIR": str(teachers)})
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == f"softmax cache True {prepared.val_acc:.3f}"
    # the MLP was not prepared: trained for this session, and one line says why it is not kept
    assert lines[1].startswith(f"the MLP: cannot save it in the cache {teachers / 'models'} (Permission denied)")
    assert lines[2].startswith("mlp trained False ")
    assert "Traceback" not in r.stderr


# --- at the same time -------------------------------------------------------------------------

def test_threads_asking_for_the_same_model_at_once_share_one_training(cache, trainings):
    data = fake_data()
    results, errors = [], []

    def ask():
        try:
            results.append(zoo.trained("mlp", data, recipe=SHORT, cache_dir=cache))
        except Exception as e:  # noqa: BLE001 - the test reports it
            errors.append(e)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(trainings) == 1
    assert all(r is results[0] for r in results)


def test_loads_while_another_process_rewrites_the_file_never_fail(cache):
    data = fake_data()
    m = zoo.trained("softmax", data, recipe=SHORT, cache_dir=cache)
    images = zoo._fingerprint(data)
    spec = zoo._spec("softmax", SHORT, 0, "other", images)
    blob = zoo._encode(m, spec, images)
    stop, failures, loads = threading.Event(), [], []

    def writer():
        while not stop.is_set():
            save_atomically(m.path.parent, m.path.name, blob)    # what a second process saving it does

    def reader():
        for _ in range(40):
            try:
                loads.append(zoo.read_model_file(m.path, "softmax", spec, images).val_acc)
            except Exception as e:  # noqa: BLE001
                failures.append(e)

    w = threading.Thread(target=writer)
    readers = [threading.Thread(target=reader) for _ in range(3)]
    w.start()
    for t in readers:
        t.start()
    for t in readers:
        t.join()
    stop.set()
    w.join()
    assert failures == [] and loads == [m.val_acc] * 120


TWO_PROCESSES = """
from mnistlib import zoo
from mnistlib.data import load_mnist
m = zoo.trained("softmax", load_mnist(download=False, verbose=False),
                recipe=dict(lr=0.5, epochs=2, batch_size=20))
print(m.source, f"{m.val_acc:.4f}")
"""


def test_two_processes_training_the_same_model_into_one_cache_both_succeed(tmp_path):
    env = {**os.environ, "MNIST_DATA_DIR": "", "MNISTLIB_CACHE_DIR": str(tmp_path)}
    procs = [subprocess.Popen([sys.executable, "-c", TWO_PROCESSES], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1] for o in outs]
    accs = {out.split()[1] for out, _ in outs}
    assert len(accs) == 1                     # the same model, trained twice or loaded once
    files = list((tmp_path / "models").iterdir())
    assert len(files) == 1 and zipfile.is_zipfile(files[0])


# --- progress and words -----------------------------------------------------------------------

def test_training_reports_its_progress(cache):
    steps = []
    zoo.trained("softmax", fake_data(), recipe={**SHORT, "epochs": 3}, cache_dir=cache, progress=steps.append)
    assert steps[0] == zoo.Step("softmax", 1, 3, 0.0, 0.0)
    assert steps[-1].done == 1.0 and steps[-1].epoch == 3
    done = [s.done for s in steps]
    assert done == sorted(done) and len(steps) >= 20
    assert {s.epoch for s in steps} == {1, 2, 3}


def test_a_loaded_model_reports_no_progress(cache):
    zoo.trained("softmax", fake_data(), recipe=SHORT, cache_dir=cache)
    zoo.forget()
    steps = []
    zoo.trained("softmax", fake_data(), recipe=SHORT, cache_dir=cache, progress=steps.append)
    assert steps == []


@pytest.mark.parametrize("step, text", [
    (zoo.Step("cnn", 1, 12, 0.0, 0.0), "training the CNN: epoch 1 of 12 (0%)…"),
    (zoo.Step("cnn", 3, 12, 0.25, 20.0), "training the CNN: epoch 3 of 12 (25%), about 60 s left…"),
    (zoo.Step("cnn", 2, 12, 0.1, 20.0), "training the CNN: epoch 2 of 12 (10%), about 3 min left…"),
    (zoo.Step("mlp", 8, 15, 0.5, 6.0), "training the MLP: epoch 8 of 15 (50%), about 6.0 s left…"),
    (zoo.Step("softmax", 8, 8, 1.0, 1.23), "softmax regression: trained in 1.2 s; measuring its validation "
                                             "accuracy…"),
    (zoo.Step("cnn", 12, 12, 1.0, 150.0), "the CNN: trained in 2 min; measuring its validation accuracy…"),
])
def test_describe_says_where_training_is(step, text):
    assert zoo.describe(step) == text


def test_estimates_scale_with_the_data():
    assert zoo.estimate("cnn") == f"about {zoo.duration(zoo.FIRST_TRAINING_SECONDS['cnn'])}"
    assert zoo.estimate("softmax", 3334) == "about 0.5 s"


@pytest.mark.parametrize("call, words", [
    (lambda d: zoo.trained("resnet", d), "must be one of softmax, mlp, cnn; got 'resnet'"),
    (lambda d: zoo.trained("mlp", d, recipe={"lr": 0.1, "momentum": 0.9}), "momentum is not one of them"),
    (lambda d: zoo.trained("mlp", d._replace(x_train=d.x_train.reshape(-1, 28, 28))),
     r"rows of 784 pixels; data.x_train has shape \(600, 28, 28\)"),
])
def test_bad_requests_say_what_is_wrong(call, words, cache):
    with pytest.raises(ValueError, match=words):
        call(fake_data())


def test_every_model_has_a_recipe_the_cli_uses_too():
    from mnistlib.__main__ import main
    assert set(zoo.MODELS) == {"softmax", "mlp", "cnn"}
    assert zoo.MODELS["softmax"].RECIPE == dict(lr=1.0, epochs=8, batch_size=50, schedule="linear",
                                                 weight_decay=0.0)
    assert zoo.MODELS["mlp"] is mlp and zoo.MODELS["cnn"] is cnn
    with pytest.raises(SystemExit):
        main(["train", "--model", "cnn", "--out", "w.png"])   # the CLI knows the cnn has no heatmaps


# --- what a network looks at: the gradient of the logits with respect to the pixels ----------

def small_params(name, seed=0):
    """Small random parameters, biases too, so that the checks see every term."""
    rng = np.random.default_rng(seed)
    if name == "softmax":
        params = {"W": rng.standard_normal((784, 10)) * 0.1, "b": rng.standard_normal(10)}
    elif name == "mlp":
        params = mlp.init_params(seed, np.float64, n_hidden=12)
    else:
        params = cnn.init_params(seed, np.float64, channels=(3, 4), n_hidden=8)
    return {k: v + 0.05 * rng.standard_normal(v.shape) for k, v in params.items()}


@pytest.mark.parametrize("name", ["softmax", "mlp", "cnn"])
def test_logits_backward_matches_finite_differences(name):
    model = zoo.MODELS[name]
    params = small_params(name)
    rng = np.random.default_rng(1)
    X = rng.random((2, 784))             # no blank background: no ties in the max-pooling
    dl = rng.standard_normal((2, 10))
    dX = model.logits_backward(params, X, dl)
    assert dX.shape == (2, 784)
    numeric = numerical_gradient(lambda: float(np.sum(dl * model.logits(params, X))), X)
    assert rel_error(dX, numeric) < 1e-7


@pytest.mark.parametrize("name", ["softmax", "mlp", "cnn"])
def test_local_linear_gives_the_logits_exactly_and_the_gradient(name):
    params = small_params(name)
    x = np.random.default_rng(2).random(784)
    W_x, b_x = zoo.local_linear(name, params, x)
    assert W_x.shape == (784, 10) and b_x.shape == (10,)
    l = zoo.MODELS[name].logits(params, x[None])[0]
    assert np.allclose(x @ W_x + b_x, l, atol=1e-10)
    for j in (0, 7):                    # column j is dl_j/dx
        dl = np.zeros((1, 10))
        dl[0, j] = 1
        assert np.allclose(W_x[:, j], zoo.MODELS[name].logits_backward(params, x[None], dl)[0])


def test_softmax_regression_is_its_own_local_linear_model():
    params = small_params("softmax")
    for x in np.random.default_rng(3).random((3, 784)):
        W_x, b_x = zoo.local_linear(softmax_regression, params, x)
        assert np.array_equal(W_x, params["W"]) and np.array_equal(b_x, params["b"])


def test_near_the_image_the_mlp_is_that_linear_model_and_far_away_it_is_not():
    params = small_params("mlp")
    rng = np.random.default_rng(4)
    x = rng.random(784)
    W_x, b_x = zoo.local_linear(mlp, params, x)
    near = x + 1e-6 * rng.standard_normal(784)        # switches no unit on or off
    assert np.allclose(mlp.logits(params, near[None])[0], near @ W_x + b_x, atol=1e-9)
    far = rng.random(784)                             # another image: other units are on
    assert not np.allclose(mlp.logits(params, far[None])[0], far @ W_x + b_x, atol=1e-3)


def test_local_linear_refuses_a_batch():
    with pytest.raises(ValueError, match="one image of 784 pixels; got 1568 numbers"):
        zoo.local_linear("mlp", small_params("mlp"), np.zeros((2, 784)))
