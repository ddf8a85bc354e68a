"""Whatever the model cache holds, the demo comes up and says which model answers and why.

Without a browser: the launcher's report of the cache, the footer's words, and the
model menu when a model cannot be loaded or trained. The page itself, with a damaged
cache and with training that fails, is tested in Chromium by
tests/browser/test_demo_whatever_the_cache.py.
"""

import numpy as np
import pytest

from mnistlib import demo, zoo
from mnistlib.widgets.chooser import model_chooser

from test_live_demo import fake_mnist
from test_zoo import SHORT, fake_data


@pytest.fixture(autouse=True)
def fresh_session():
    zoo.forget()
    yield
    zoo.forget()


def damage(path):
    """Change one character of the first .npy header in the file (the issue's damage)."""
    blob = bytearray(path.read_bytes())
    blob[blob.index(b"{'descr'")] = ord("(")
    path.write_bytes(blob)


# --- the launcher reports what the cache really holds -------------------------------------------

def test_the_launcher_names_a_damaged_file_instead_of_calling_it_ready(tmp_path, monkeypatch, subset_mnist):
    monkeypatch.delenv("MNIST_DATA_DIR", raising=False)
    monkeypatch.setenv("MNISTLIB_CACHE_DIR", str(tmp_path))
    short = {name: {**zoo.MODELS[name].RECIPE, "epochs": 1} for name in zoo.NAMES}
    monkeypatch.setattr(zoo, "recipe_of", lambda name, recipe=None, real=zoo.recipe_of:
                        real(name, short[name] if recipe is None else recipe))
    models = {name: zoo.trained(name, subset_mnist, say=None) for name in zoo.NAMES}
    assert demo.models_note(full=False) == "Models: softmax regression, the MLP and the CNN are ready in the cache."
    damage(models["cnn"].path)
    note = demo.models_note(full=False)
    lines = note.splitlines()
    assert lines[0].startswith(f"The CNN: the file {models['cnn'].path} in the cache is damaged or out of date: "
                               "it cannot be read as a model file ("), note
    assert lines[0].endswith("; the page trains it again.")
    assert lines[1].startswith("Models: the CNN is not ready. On the page, each trains in the background")
    assert lines[2] == f"Before class, train and keep them once:  {demo.PREPARE_COMMAND}"
    models["softmax"].path.write_bytes(b"")
    assert "Softmax regression: the file" in demo.models_note(full=False)
    # --prepare names them and trains them again (it stopped with tokenize.TokenError)
    zoo.forget()
    lines = []
    assert demo.prepare(lines.append) == 0
    for name in ("softmax", "cnn"):
        assert sum(str(models[name].path) in line for line in lines) == 1, lines
    assert sum("already in the cache" in line for line in lines) == 1 and "Traceback" not in "\n".join(lines)
    assert demo.models_note(full=False) == "Models: softmax regression, the MLP and the CNN are ready in the cache."


# --- the footer says which model answers, and why ------------------------------------------------

def test_the_footer_says_where_the_model_came_from():
    data = fake_mnist(4000, 1000)
    loaded = zoo.Trained("cnn", zoo.cnn, {}, val_acc=0.98, source="cache")
    assert "The CNN answers above (loaded from the cache): it learned from 3,334" in demo.data_note(data, 0.97, loaded)
    again = zoo.Trained("mlp", zoo.mlp, {}, source="trained",
                        note="the MLP: the file /c/models/mlp.npz in the cache is damaged or out of date: "
                             "its contents do not match its sha256: it changed after it was written; trained again")
    assert ("The MLP answers above (trained just now: the file /c/models/mlp.npz in the cache is damaged or out "
            "of date: its contents do not match its sha256: it changed after it was written; trained again): "
            "it learned from") in demo.data_note(data, 0.97, again)
    # a title, or a model a notebook trained: no "why"
    assert demo.data_note(data, 0.9, "the MLP") == demo.data_note(data, 0.9, zoo.given("mlp", {}))


def test_a_model_that_cannot_be_trained_answers_untrained_and_says_why(monkeypatch, tmp_path):
    def no_memory(*args, **kwargs):
        raise MemoryError("Unable to allocate 4.77 GiB")

    monkeypatch.setattr(zoo, "train", no_memory)
    said = []
    m = zoo.trained_or_untrained("softmax", fake_data(), recipe=SHORT, cache_dir=tmp_path, say=said.append)
    assert m.source == "untrained" and m.val_acc is None and m.path is None
    assert said == [m.note] == ["softmax regression: training it failed (MemoryError: Unable to allocate "
                                "4.77 GiB); it answers untrained, guessing"]
    assert m.logits(np.zeros((3, 784))).shape == (3, 10)
    note = demo.data_note(fake_mnist(4000, 1000), 0.098, m)
    assert note.endswith("Softmax regression answers above, but untrained: training it failed (MemoryError: "
                         "Unable to allocate 4.77 GiB). It reads 9.8% of the 1,000 test digits correctly, by chance.")
    with pytest.raises(ValueError, match="must be one of"):
        zoo.trained_or_untrained("resnet", fake_data())


def test_the_model_menu_comes_up_when_its_first_model_cannot_be_trained(monkeypatch, tmp_path):
    def no_memory(*args, **kwargs):
        raise MemoryError("no memory")

    monkeypatch.setattr(zoo, "train", no_memory)
    chooser = model_chooser(["softmax", "mlp"], fake_data(), cache_dir=tmp_path)
    assert chooser.current().source == "untrained"
    assert "softmax regression: training it failed (MemoryError: no memory)" in chooser.status.value


def test_the_model_menu_names_a_damaged_file_of_a_model_not_yet_picked(tmp_path):
    data = fake_data()
    mlp = zoo.trained("mlp", data, cache_dir=tmp_path, say=None)
    zoo.forget()
    damage(mlp.path)
    chooser = model_chooser(["softmax", "mlp"], data, cache_dir=tmp_path)
    assert chooser.current().name == "softmax" and "mlp" not in chooser.models
    assert f"the MLP: the file {mlp.path} in the cache is damaged or out of date" in chooser.status.value
