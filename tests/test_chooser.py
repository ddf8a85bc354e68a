"""The model chooser (softmax regression, MLP, CNN) of draw-a-digit and the live demo, without a browser.

The models train on the bundled subset (the MLP in under a second); a training
that must be caught half-way is held at a gate by a stand-in for zoo.trained, so
nothing here waits on the clock. Strokes are fed to the canvas as the browser
sends them (see tests/test_draw.py).
"""

import threading

import numpy as np
import pytest

from mnistlib import draw, zoo
from mnistlib.model import logits, softmax
from mnistlib import softmax_regression
from mnistlib.widgets.chooser import chooser_status, model_chooser
from mnistlib.widgets.drawing import draw_digit, draw_update
from mnistlib.widgets.explorer import prediction_explorer, prediction_explorer_update


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    """Every test: an empty cache of its own, nothing remembered from another test."""
    monkeypatch.setenv("MNISTLIB_CACHE_DIR", str(tmp_path / "cache"))
    zoo.forget()
    yield tmp_path / "cache"
    zoo.forget()


@pytest.fixture(scope="module")
def data(subset_mnist):
    return subset_mnist


@pytest.fixture(scope="module")
def models(data, tmp_path_factory):
    """The three models trained by their recipes on the subset (the CNN in a few seconds)."""
    where = tmp_path_factory.mktemp("models")
    return {name: zoo.trained(name, data, cache_dir=where) for name in zoo.NAMES}


def find(box, cls):
    stack = [box]
    while stack:
        w = stack.pop()
        if cls in getattr(w, "_dom_classes", ()):
            return w
        stack.extend(getattr(w, "children", ()))
    raise LookupError(cls)


def stroke(box, digit=7):
    """Draw a digit as the browser sends it: mouse down, moves, mouse up, for each stroke."""
    send = lambda event, x, y: box.canvas._handle_frontend_event(None, {"event": event, "x": x, "y": y}, [])
    for points in draw.digit_strokes(digit):
        points = [tuple(p) for p in points.tolist()]
        send("mouse_down", *points[0])
        for p in points[1:]:
            send("mouse_move", *p)
        send("mouse_up", *points[-1])


class Gate:
    """A stand-in for zoo.trained: reports progress, then waits at a gate the test opens."""

    def __init__(self, monkeypatch, models, fail=None):
        self.models, self.fail = models, fail
        self.reached, self.opened = threading.Event(), threading.Event()
        self.asked = []
        real = zoo.trained

        def trained(name, data, *, progress=None, **kwargs):
            if name == "softmax":
                return real(name, data, progress=progress, **kwargs)
            self.asked.append(name)
            if progress:
                progress(zoo.Step(name, 3, 12, 0.21, 20.0))
            self.reached.set()
            assert self.opened.wait(60), "the test never opened the gate"
            if self.fail:
                raise self.fail
            return self.models[name]

        monkeypatch.setattr(zoo, "trained", trained)
        monkeypatch.setattr(zoo, "cached", lambda *args, **kwargs: None)    # nothing in the cache


# --- the status line: a pure function ------------------------------------------------------

def test_status_names_the_model_that_answers_and_what_is_not_trained_yet(models):
    text, kind = chooser_status(models["softmax"], ["softmax", "mlp", "cnn"], {"softmax", "mlp"})
    assert kind == "ok"
    assert text.startswith(f"Softmax regression answers ({models['softmax'].val_acc:.1%} of the validation "
                           "digits right), trained just now in ")
    assert text.endswith("Not trained yet: the CNN; it trains here when picked.")
    loaded = zoo._replace(models["mlp"], source="cache")
    text, _ = chooser_status(loaded, ["softmax", "mlp", "cnn"], {"softmax", "mlp", "cnn"})
    assert text == f"The MLP answers ({loaded.val_acc:.1%} of the validation digits right), loaded from the cache."


def test_status_while_the_picked_model_trains(models):
    step = zoo.Step("cnn", 3, 12, 0.21, 20.0)
    text, kind = chooser_status(models["softmax"], ["softmax", "cnn"], {"softmax"},
                                               selected="cnn", training=step)
    assert kind == "warn"
    assert text == ("Training the CNN: epoch 3 of 12 (21%), about 75 s left… "
                    "Meanwhile softmax regression answers.")
    # picked, then left for another model: that one answers, the training goes on
    text, kind = chooser_status(models["mlp"], ["softmax", "mlp", "cnn"], {"softmax", "mlp"},
                                               selected="mlp", training=step)
    assert text.startswith("The MLP answers (") and "In the background, training the CNN: epoch 3" in text


def test_status_after_a_failure_says_what_and_who_still_answers(models):
    text, kind = chooser_status(models["softmax"], ["softmax", "cnn"], {"softmax"},
                                               selected="cnn", error="could not switch to the CNN: MemoryError")
    assert kind == "error"
    assert text.startswith("Could not switch to the CNN: MemoryError. Softmax regression answers (")


def test_status_of_a_model_kept_for_this_session_only(models):
    unsaved = zoo._replace(models["mlp"], source="trained", path=None)
    text, _ = chooser_status(unsaved, ["mlp"], {"mlp"})
    assert "(kept for this session only: the cache cannot be written)" in text


# --- the chooser ----------------------------------------------------------------------------

def test_the_first_choice_answers_at_once_and_the_others_wait_until_picked(data, models, monkeypatch):
    asked = []
    real = zoo.trained
    monkeypatch.setattr(zoo, "trained", lambda name, *a, **k: asked.append(name) or real(name, *a, **k))
    chooser = model_chooser(["softmax", "mlp", "cnn"], data)
    assert asked == ["softmax"]                       # the MLP and the CNN only when picked
    assert chooser.current().name == "softmax" and not chooser.busy()
    assert "mnistlib-model" in chooser.dropdown._dom_classes
    assert [label for label, _ in chooser.dropdown.options] == [zoo.LABELS[n] for n in zoo.NAMES]
    assert "Not trained yet: the MLP and the CNN; each trains here when picked." in chooser.status.value


def test_models_in_the_cache_are_ready_without_training(data, own_cache, monkeypatch):
    for name in ("mlp", "softmax"):
        zoo.trained(name, data)                       # a previous session filled the cache
    zoo.forget()
    monkeypatch.setattr(zoo, "train", lambda *a, **k: pytest.fail("nothing should train"))
    chooser = model_chooser(["softmax", "mlp", "cnn"], data)
    assert set(chooser.models) == {"softmax", "mlp"}
    seen = []
    chooser.on_change(seen.append)
    chooser.dropdown.value = "mlp"
    assert chooser.wait(60)
    assert [m.name for m in seen] == ["mlp"] and chooser.current().source == "cache"
    assert "The MLP answers (" in chooser.status.value and "loaded from the cache" in chooser.status.value


def test_a_model_picked_untrained_trains_in_the_background_and_then_answers(data, models, monkeypatch):
    gate = Gate(monkeypatch, models)
    box = draw_digit(models=["softmax", "cnn"], data=data, threshold=0.0)
    chooser = box.chooser
    stroke(box, 7)
    answered_by_softmax = box.answer.value
    assert "answered by softmax regression" in box.status.value

    chooser.dropdown.value = "cnn"
    assert gate.reached.wait(60)
    # while it trains: the status says how far, the drawing keeps answering with softmax regression
    assert "Training the CNN: epoch 3 of 12 (21%)" in chooser.status.value
    assert "Meanwhile softmax regression answers." in chooser.status.value
    assert chooser.busy() and box.model().name == "softmax"
    stroke(box, 1)
    assert "2 strokes" in box.status.value or "3 strokes" in box.status.value
    assert "answered by softmax regression" in box.status.value

    gate.opened.set()
    assert chooser.wait(60)
    assert gate.asked == ["cnn"]
    assert chooser.status.value.count("The CNN answers (") == 1
    assert box.model() is models["cnn"] and chooser.current() is models["cnn"]
    assert "answered by the CNN" in box.status.value          # the drawing was answered again
    assert "The CNN is not linear" in box.note.value
    assert ">7<" in answered_by_softmax


def test_picking_the_same_untrained_model_twice_trains_it_once(data, models, monkeypatch):
    gate = Gate(monkeypatch, models)
    chooser = model_chooser(["softmax", "mlp"], data)
    chooser.dropdown.value = "mlp"
    assert gate.reached.wait(60)
    chooser.dropdown.value = "softmax"                 # back at once: softmax answers, no waiting
    chooser.dropdown.value = "mlp"                     # and again: it is already training
    gate.opened.set()
    assert chooser.wait(60)
    assert gate.asked == ["mlp"] and chooser.current().name == "mlp"


def test_leaving_a_model_while_it_trains_keeps_the_new_choice(data, models, monkeypatch):
    gate = Gate(monkeypatch, models)
    chooser = model_chooser(["softmax", "mlp", "cnn"], data)
    chooser.models["mlp"] = models["mlp"]
    chooser.dropdown.value = "cnn"
    assert gate.reached.wait(60)
    chooser.dropdown.value = "mlp"
    for thread in threading.enumerate():              # the switch to the MLP needs no training
        if thread.name == "mnistlib-mlp":
            thread.join(60)
    assert chooser.current().name == "mlp"
    assert chooser.status.value.startswith('<span style="color:#333">The MLP answers (')
    assert "In the background, training the CNN: epoch 3 of 12" in chooser.status.value
    gate.opened.set()
    assert chooser.wait(60)
    assert chooser.current().name == "mlp" and "cnn" in chooser.models   # trained, kept, not forced on us
    assert chooser.status.value.count("The MLP answers") == 1


def test_a_failed_training_is_said_in_the_status_and_the_old_model_answers_on(data, models, monkeypatch):
    gate = Gate(monkeypatch, models, fail=MemoryError("not enough memory for the im2col columns"))
    box = draw_digit(models=["softmax", "cnn"], data=data)
    box.chooser.dropdown.value = "cnn"
    gate.opened.set()
    assert box.chooser.wait(60)
    status = box.chooser.status.value
    assert "Could not switch to the CNN: MemoryError: not enough memory for the im2col columns." in status
    assert "Softmax regression answers" in status and "Traceback" not in status
    assert box.model().name == "softmax"
    stroke(box, 7)
    assert ">7<" in box.answer.value


def test_choices_must_be_known_models_once_each(data, models):
    with pytest.raises(ValueError, match="must be one of softmax, mlp, cnn; got 'lenet'"):
        model_chooser(["softmax", "lenet"], data)
    with pytest.raises(ValueError, match="mlp is among the choices twice"):
        model_chooser([models["softmax"], "mlp", "mlp"], data)
    with pytest.raises(ValueError, match="give data="):
        model_chooser(["softmax", "mlp"])
    model_chooser([models["cnn"]])     # trained models need no data


# --- draw_update and draw_digit for any model --------------------------------------------------

@pytest.mark.parametrize("name", zoo.NAMES)
def test_draw_update_answers_with_any_model(models, name):
    m = models[name]
    ink = draw.render_strokes(draw.digit_strokes(0))
    r = draw_update(ink, model=m, compare=6)
    x = draw.preprocess(ink)
    assert np.allclose(r["probs"], softmax(m.logits(x[None])[0].astype(np.float64)), atol=1e-5)
    assert r["predicted"] == int(np.argmax(r["probs"])) and r["compare"] == (6 if r["predicted"] != 6 else r["compare"])
    assert r["exact"] == (name == "softmax")
    # the contributions are those of the linear model the network is near this drawing
    W_x, b_x = m.local_linear(x)
    j = r["predicted"]
    assert np.isclose((x * W_x[:, j]).sum() + b_x[j], m.logits(x[None])[0][j], atol=1e-4)
    assert r["contrib_png"].startswith(b"\x89PNG")


def test_draw_update_of_the_softmax_model_is_the_same_with_w_and_b(models):
    m = models["softmax"]
    ink = draw.render_strokes(draw.digit_strokes(3))
    by_weights = draw_update(ink, m.W, m.b, compare=8)
    by_model = draw_update(ink, model=m, compare=8)
    assert np.allclose(by_weights["probs"], by_model["probs"], atol=1e-6)
    assert by_weights["message"] == by_model["message"] and by_weights["exact"] and by_model["exact"]
    with pytest.raises(ValueError, match="not both"):
        draw_update(ink, m.W, m.b, model=m)


def test_draw_digit_with_w_and_b_and_a_choice_uses_those_weights_for_softmax(data, models):
    W, b = np.array(models["softmax"].W), np.array(models["softmax"].b)
    box = draw_digit(W, b, models=["softmax", "mlp", "cnn"], data=data)
    dropdown = find(box, "mnistlib-draw-model")
    assert dropdown is box.chooser.dropdown and dropdown.value == "softmax"
    first = box.model()
    assert first.source == "given" and first.W is W
    assert first.val_acc == pytest.approx(models["softmax"].val_acc)
    assert "x · w" in box.note.value                 # the note explains the linear contributions
    plain = draw_digit(W, b)
    assert plain.chooser is None and plain.note.value == ""
    with pytest.raises(LookupError):
        find(plain, "mnistlib-draw-model")           # no dropdown without a choice


def test_notebook_10s_chooser_trains_nothing_until_a_pick(data, models, own_cache, monkeypatch):
    """Notebook 10 builds it with W and b and an empty cache: nbval must never train the MLP or CNN."""
    W, b = np.array(models["softmax"].W), np.array(models["softmax"].b)
    monkeypatch.setattr(zoo, "train", lambda *a, **k: pytest.fail("nothing should train"))
    box = draw_digit(W, b, models=["softmax", "mlp", "cnn"], data=data)
    assert not box.chooser.busy() and set(box.chooser.models) == {"softmax"}
    assert not own_cache.exists() or not any(own_cache.rglob("*.npz"))
    stroke(box, 7)                                   # drawing answers with W and b
    assert box.model().source == "given" and "answered by softmax regression" in box.status.value


def test_draw_digit_with_one_model_and_set_model(models):
    box = draw_digit(model=models["mlp"], threshold=0.0)
    stroke(box, 1)
    assert ">1<" in box.answer.value and "answered by the MLP" in box.status.value
    assert "The MLP is not linear" in box.note.value
    contrib = box.contrib.value
    box.set_model(models["softmax"])
    assert "answered by softmax regression" in box.status.value
    assert box.contrib.value != contrib and "x · w" in box.note.value


# --- the prediction explorer for any model ------------------------------------------------------

def test_the_explorer_shows_any_model_and_switches(data, models):
    x, y = data.x_test[:300], data.y_test[:300]
    soft, cnn_ = models["softmax"], models["cnn"]
    by_weights = prediction_explorer_update(5, x, y, soft.W, soft.b, render=False)
    by_model = prediction_explorer_update(5, x, y, model=soft, render=False)
    assert np.allclose(by_weights["probs"], by_model["probs"]) and by_weights["compare"] == by_model["compare"]

    box = prediction_explorer(x, y, model=soft)
    acc_soft = box.accuracy()
    assert acc_soft == pytest.approx(np.mean(soft.logits(x).argmax(axis=1) == y))
    assert find(box, "mnistlib-explorer-note").value == ""
    picture = box.contrib_image.value
    box.set_model(cnn_)
    assert box.accuracy() == pytest.approx(np.mean(cnn_.logits(x).argmax(axis=1) == y)) and box.accuracy() > acc_soft
    assert box.contrib_image.value != picture
    assert "The CNN is not linear" in find(box, "mnistlib-explorer-note").value
    r = prediction_explorer_update(5, x, y, model=cnn_, render=False)
    assert r["predicted"] == int(np.argmax(cnn_.logits(x[5:6])[0]))
    assert "image 0:" in box.status.value and "Error" not in box.status.value
    box.index.value = 5
    assert f"predicted {r['predicted']} with p = {r['probs'][r['predicted']]:.2f}" in box.status.value
