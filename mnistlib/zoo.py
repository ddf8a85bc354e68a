"""The series' three models by name: each trained once, then kept in the per-user cache.

    name      model                        what it is                                      notebook
    softmax   mnistlib.softmax_regression  one layer of ten neurons, l = xW + b            02-10
    mlp       mnistlib.mlp                 a hidden layer of 256 ReLU units, then ten      11
    cnn       mnistlib.cnn                 two convolutions with max-pooling, then an MLP  12

Each model carries its recipe, the training settings chosen on the validation
split: ``MODELS[name].RECIPE``. ``trained(name, data)`` returns the model trained
by its recipe on the 50,000 images of the training split and scored on the
10,000 held out (``data.train_val_split``): from the cache if it is there, else
trained now and saved. The first training takes about a second (softmax), 15 s
(MLP) or 2 min (CNN) on two cores; loading takes a fraction of a second.

The cache is ``default_cache_dir()/models`` (``MNISTLIB_CACHE_DIR`` moves it, with
the data). A file's name says what it holds, e.g. ``cnn-full-3f9c0a1b2d4e.npz``:
the model, the data ("full" MNIST, the bundled "subset", or "other" images) and
a hash of everything that decides the result (recipe, seed, parameter shapes,
package version, and the images themselves unless they are the full MNIST or
the subset). Another recipe is another file. Files are written as the data
files are: complete or not at all, readable by everyone (as the umask allows),
so a teacher can prepare a cache that the class only reads. Loading checks the
file whole (``mnistlib.modelfile``: a sha256 of its arrays, their shapes before
anything is allocated; FIFOs and devices are not opened), its numbers finite and
what it was trained on; a file that fails, whatever is wrong with it, is named in
one line and trained again, and the good file replaces it. A cache that cannot be
written costs only time: the model is kept for this session, and one line says so. Within one Python session each model is trained at most once:
``trained`` remembers what it returned, and a caller that asks while another
one trains the same model waits for it.

``local_linear`` gives the linear model that a network equals near one image
(for softmax regression, W and b themselves): the pixel contributions that the
widgets show.
"""

import hashlib
import inspect
import json
import math
import threading
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import NamedTuple

import numpy as np

from . import __version__, cnn, mlp, modelfile, softmax_regression
from .data import default_cache_dir, train_val_split
from .download import remove_stale_parts, save_atomically
from .train import accuracy_of, train

MODELS = {"softmax": softmax_regression, "mlp": mlp, "cnn": cnn}
NAMES = tuple(MODELS)
# In sentences ("the MLP answers") and in menus.
TITLES = {"softmax": "softmax regression", "mlp": "the MLP", "cnn": "the CNN"}
LABELS = {"softmax": "softmax regression (one layer)", "mlp": "MLP (a hidden layer)",
          "cnn": "CNN (convolutions)"}
# A first training on the 50,000 images of full MNIST, with the recipe, on two cores
# that other programs also used: for "about ..." estimates only.
FIRST_TRAINING_SECONDS = {"softmax": 1.5, "mlp": 15.0, "cnn": 110.0}

_RECIPE_KEYS = ("method", "lr", "epochs", "batch_size", "schedule", "weight_decay")
_TRAIN_DEFAULTS = {k: p.default for k, p in inspect.signature(train).parameters.items()}


@dataclass(frozen=True, eq=False)
class Trained:
    """A trained model: ``logits(X)`` for X: (n, 784) gives (n, 10).

    name: "softmax", "mlp" or "cnn"; model: its module or class (``MODELS[name]``);
    params: its arrays; val_acc: accuracy on the 10,000 validation images (None
    if unknown); seconds: how long its training took; source: "cache", "trained"
    (just now), "given" or "untrained" (training failed: see
    ``trained_or_untrained``); path: its cache file (None if it is not in one);
    recipe: how it was trained; note: the line said about the cache, if any.
    """

    name: str
    model: object
    params: dict
    val_acc: float | None = None
    seconds: float | None = None
    source: str = "given"
    path: Path | None = None
    recipe: dict | None = None
    note: str = ""

    @property
    def title(self):
        return TITLES.get(self.name, self.name)

    @property
    def linear(self):
        """True for softmax regression: its pixel contributions are exact for every image."""
        return self.model is softmax_regression

    @property
    def W(self):
        return self.params.get("W")

    @property
    def b(self):
        return self.params.get("b")

    def logits(self, X):
        """l: (n, 10) for X: (n, 784)."""
        return self.model.logits(self.params, X)

    def local_linear(self, x):
        """(W_x, b_x): see ``local_linear``."""
        return local_linear(self.model, self.params, x)


def given(name, params, val_acc=None):
    """A model trained elsewhere (e.g. a notebook's W and b), as a ``Trained``."""
    return Trained(name, model_of(name), dict(params), val_acc=val_acc)


class Step(NamedTuple):
    """Where a training is, for a status line: ``describe(step)`` says it in words.

    epoch: 1..epochs; done: the fraction of all updates made (0 to 1; 1 also while
    the validation accuracy is measured); seconds: since the training started.
    """

    name: str
    epoch: int
    epochs: int
    done: float
    seconds: float


def describe(step):
    """"training the CNN: epoch 3 of 12 (21 %), about 2 min left" and the like."""
    title = TITLES.get(step.name, step.name)
    if step.done >= 1:
        return f"{title}: trained in {duration(step.seconds)}; measuring its validation accuracy…"
    left = ""
    if step.done > 0.02 and step.seconds > 2:
        left = f", about {duration(step.seconds * (1 - step.done) / step.done)} left"
    return f"training {title}: epoch {step.epoch} of {step.epochs} ({step.done:.0%}){left}…"


def duration(seconds):
    """Seconds in words: "4.2 s", "42 s", "3 min"."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min"


def estimate(name, n_train=50000):
    """How long a first training of ``name`` on n_train images takes, in words ("about 4 min")."""
    return f"about {duration(max(0.5, FIRST_TRAINING_SECONDS[name] * n_train / 50000))}"


# --- the cache -------------------------------------------------------------------------

def model_of(name):
    """The model called ``name``: ``MODELS[name]``, or a ValueError listing the names."""
    if name not in MODELS:
        raise ValueError(f"the model must be one of {', '.join(NAMES)}; got {name!r}")
    return MODELS[name]


def recipe_of(name, recipe=None):
    """``recipe``, or the model's own, checked: a dict of ``train`` settings."""
    recipe = dict(model_of(name).RECIPE if recipe is None else recipe)
    unknown = sorted(set(recipe) - set(_RECIPE_KEYS))
    if unknown:
        raise ValueError(f"a recipe holds training settings ({', '.join(_RECIPE_KEYS)}); "
                         f"{', '.join(unknown)} is not one of them")
    return recipe


def models_dir(cache_dir=None):
    """Where trained models are kept: <cache>/models (the cache: ``data.default_cache_dir()``)."""
    return Path(cache_dir).expanduser() / "models" if cache_dir is not None else default_cache_dir() / "models"


def data_kind(data):
    """ "full" (MNIST's 60,000 training images), "subset" (the bundled one) or "other"."""
    if getattr(data, "is_full", False):
        return "full"
    return "subset" if getattr(data, "source", None) == "bundled subset" else "other"


def _fingerprint(data):
    """A hash of the training images and labels: their shapes, all labels and some 300 images."""
    h = hashlib.sha256()
    for a in (np.asarray(data.x_train), np.asarray(data.y_train)):
        h.update(f"{a.shape} {a.dtype.str};".encode())
        h.update(np.ascontiguousarray(a[::max(1, len(a) // 300)]).tobytes())
    return h.hexdigest()[:16]


@cache
def _shapes(name):
    return {k: list(v.shape) for k, v in model_of(name).init_params().items()}


def _spec(name, recipe, seed, kind, images):
    """Everything that decides what training gives (and how the file is written), as a dict that JSON can store."""
    return {"name": name, "recipe": recipe, "seed": seed, "shapes": _shapes(name),
            "version": __version__, "data": kind, "format": modelfile.FORMAT,
            # the full MNIST and the subset are always the same images: their name is enough
            "images": images if kind == "other" else None}


def cache_file(name, kind="full", *, recipe=None, seed=0, cache_dir=None, images=None):
    """The cache file for model ``name`` trained on data of this kind (see ``data_kind``).

    images: the fingerprint of "other" data (``trained`` computes it).
    """
    spec = _spec(name, recipe_of(name, recipe), seed, kind, images)
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:12]
    return models_dir(cache_dir) / f"{name}-{kind}-{digest}.npz"


# A model file that cannot be used: damaged, or made for something else (the message says which).
CacheFileError = modelfile.ModelFileError


def _encode(trained, spec, images):
    meta = {"spec": spec, "trained_on": images, "val_acc": trained.val_acc, "seconds": trained.seconds}
    return modelfile.encode(meta, trained.params)


def read_model_file(path, name, spec, images):
    """The Trained stored in ``path``, checked whole (``modelfile.read``) and against what it should hold.

    images: the fingerprint of the images it must have been trained on (None: not checked).
    Raises FileNotFoundError (or NotADirectoryError) if there is none, PermissionError
    if it cannot be read, CacheFileError (saying what is wrong) for anything else: a
    damaged file, or one made for other settings or other images.
    """
    shapes = {k: tuple(v) for k, v in _shapes(name).items()}
    meta, params = modelfile.read(path, shapes)
    if meta.get("spec") != spec:
        raise CacheFileError("it was made for other settings")
    if images is not None and meta.get("trained_on") != images:
        raise CacheFileError("it was trained on other images")
    for k, v in params.items():
        if not np.isfinite(v).all():
            raise CacheFileError(f"its {k} holds NaN or inf")
    val_acc, seconds = meta.get("val_acc"), meta.get("seconds")
    if not (isinstance(val_acc, float) and 0 <= val_acc <= 1
            and isinstance(seconds, (int, float)) and math.isfinite(seconds) and seconds >= 0):
        raise CacheFileError("its validation accuracy or training time is missing or not a number")
    return Trained(name, model_of(name), params, val_acc=val_acc, seconds=float(seconds),
                   source="cache", path=Path(path), recipe=spec["recipe"])


def _load(path, name, spec, images):
    """(the Trained in the cache file, "") or (None, why it cannot be used; "" if there is none).

    Every Exception is caught, whatever its class (KeyboardInterrupt is not one).
    """
    try:
        return read_model_file(path, name, spec, images), ""
    except (FileNotFoundError, NotADirectoryError):      # not there (or no cache at all)
        return None, ""
    except PermissionError as e:
        return None, f"cannot read {path} ({e.strerror or e})"
    except CacheFileError as e:
        return None, f"the file {path} in the cache is damaged or out of date: {e}"
    except Exception as e:  # noqa: BLE001 - a disk error, or what no one foresaw: never the page's end
        return None, f"cannot read {path} ({type(e).__name__}: {e})"


def file_state(name, kind="full", *, recipe=None, seed=0, cache_dir=None):
    """Whether the cache holds model ``name`` for data of this kind: ("ready" | "missing" | "damaged", why).

    Reads the file and checks it whole, as loading does, but not which images it was
    trained on (that needs the data): for the launcher, which does not load MNIST.
    """
    recipe = recipe_of(name, recipe)
    path = cache_file(name, kind, recipe=recipe, seed=seed, cache_dir=cache_dir)
    found, why = _load(path, name, _spec(name, recipe, seed, kind, None), None)
    return ("ready" if found else "damaged" if why else "missing"), why


# --- trained(): from the cache, or trained now -------------------------------------------

_session = {}                   # cache file -> Trained, for this Python session
_locks = {}                     # cache file -> the lock its training holds
_locks_guard = threading.Lock()


def forget():
    """Forget the models of this session (the next ``trained`` looks in the cache again)."""
    with _locks_guard:
        _session.clear()


def _lock(key):
    with _locks_guard:
        return _locks.setdefault(key, threading.Lock())


def _check_images(data):
    shape = np.shape(data.x_train)
    if len(shape) != 2 or shape[1] != 784:
        raise ValueError(f"the models read images as rows of 784 pixels; data.x_train has shape {shape} "
                         "(load it with load_mnist(shape='flat'))")


def trained(name, data, *, recipe=None, seed=0, cache_dir=None, progress=None, say=print):
    """Model ``name`` trained by its recipe on the training split of ``data``: a Trained.

    data: ``load_mnist()``'s result (the 50,000 / 10,000 split is made here).
    From the cache when it holds this model for this recipe, seed, package
    version and data; else trained now and saved there (``cache_dir``, default
    ``default_cache_dir()``; the file is in ``models/``).
    recipe: settings for ``train`` (default: the model's RECIPE).
    progress(step): called with a Step while training (some 50 times, and at the end).
    say(line): gets the one line said when a cached file is damaged or the cache
        cannot be written; print by default, None for silence.
    Raises ValueError for an unknown name or recipe setting, DivergenceError if
    training diverges (a recipe's lr far too large).
    """
    model = model_of(name)
    recipe = recipe_of(name, recipe)
    say = say or (lambda line: None)
    _check_images(data)
    kind = data_kind(data)
    images = _fingerprint(data)
    spec = _spec(name, recipe, seed, kind, images)
    path = cache_file(name, kind, recipe=recipe, seed=seed, cache_dir=cache_dir, images=images)
    key = str(path)
    with _lock(key):            # one training per model at a time; the others wait for it
        if key in _session:
            return _session[key]
        result, why = _load(path, name, spec, images)
        if result is None:
            if why:
                say(f"{TITLES[name]}: {why}; training it again")
            result = _train(name, model, recipe, seed, train_val_split(data.x_train, data.y_train), progress)
            result = _keep(result, path, spec, images, say, why)
        _session[key] = result
    return result


def trained_or_untrained(name, data, **options):
    """``trained(name, data, **options)``; if that fails, whatever the error, the model untrained.

    For a page that must come up whatever happens (the live demo, the model menus):
    the untrained model has source "untrained", no validation accuracy, and the note
    "<title>: training it failed (<error>); it answers untrained, guessing", which
    ``say`` (as for ``trained``) also gets. A bad name or recipe is still a ValueError.
    """
    model = model_of(name)
    recipe_of(name, options.get("recipe"))
    try:
        return trained(name, data, **options)
    except Exception as e:  # noqa: BLE001 - no memory, a full disk, a bug: the page still comes up
        note = f"{TITLES[name]}: training it failed ({type(e).__name__}: {e}); it answers untrained, guessing"
        say = options.get("say", print)
        if say:
            say(note)
        return Trained(name, model, model.init_params(), source="untrained", note=note)


def validation_accuracy(model, params, data):
    """The accuracy of a model (e.g. ``softmax_regression``) on the 10,000 validation images of ``data``."""
    _check_images(data)
    # The split of the indices, not of the images: no copy of the 50,000 training images.
    index = np.arange(len(data.x_train))
    val = train_val_split(index, index)[2]
    return float(accuracy_of(model, params, data.x_train[val], np.asarray(data.y_train)[val]))


def cached(name, data, *, recipe=None, seed=0, cache_dir=None, say=None):
    """Model ``name`` as ``trained`` would return it, if that needs no training; else None.

    say(line): gets one line naming a file in the cache that cannot be used (damaged,
    out of date or unreadable), which ``trained`` will train again; None for silence.
    """
    _check_images(data)
    kind = data_kind(data)
    images = _fingerprint(data)
    recipe = recipe_of(name, recipe)
    path = cache_file(name, kind, recipe=recipe, seed=seed, cache_dir=cache_dir, images=images)
    if str(path) in _session:
        return _session[str(path)]
    found, why = _load(path, name, _spec(name, recipe, seed, kind, images), images)
    if why and say:
        say(f"{TITLES[name]}: {why}; it is trained again when it is asked for")
    return found


def _train(name, model, recipe, seed, split, progress):
    x_train, y_train, x_val, y_val = split
    settings = {**{k: _TRAIN_DEFAULTS[k] for k in _RECIPE_KEYS}, **recipe}
    per_epoch = {"example": len(x_train), "full": 1}.get(
        settings["method"], math.ceil(len(x_train) / min(settings["batch_size"], len(x_train))))
    total = settings["epochs"] * per_epoch
    start = time.perf_counter()

    def report(p):
        progress(Step(name, p.epoch, settings["epochs"], p.update / total, time.perf_counter() - start))

    if progress:
        progress(Step(name, 1, settings["epochs"], 0.0, 0.0))
    result = train(x_train, y_train, model=model, seed=seed, evaluate=False,
                   callback=report if progress else None, callback_every=max(1, total // 50), **recipe)
    seconds = time.perf_counter() - start
    if progress:
        progress(Step(name, settings["epochs"], settings["epochs"], 1.0, seconds))
    val_acc = accuracy_of(model, result.params, x_val, y_val)
    return Trained(name, model, result.params, val_acc=float(val_acc), seconds=seconds,
                   source="trained", recipe=recipe)


def _keep(result, path, spec, images, say, why):
    """Save a model just trained into the cache; if that fails, say so and keep it for this session."""
    try:
        remove_stale_parts(path.parent)
        save_atomically(path.parent, path.name, _encode(result, spec, images))
    except OSError as e:
        note = (f"{result.title}: cannot save it in the cache {path.parent} ({e.strerror or e}); "
                "it is kept for this session only")
        say(note)
        return _replace(result, note=note)
    return _replace(result, path=path, note=f"{result.title}: {why}; trained again" if why else "")


def _replace(t, **changes):
    return Trained(**{**t.__dict__, **changes})


# --- what a network looks at ---------------------------------------------------------------

def local_linear(model, params, x):
    """(W_x, b_x), the linear model that the network equals near the image x: l = x W_x + b_x.

    model: a name or ``MODELS[name]``; x: (784,). W_x: (784, 10), column j the
    gradient dl_j/dx; b_x: (10,). float64.

    For softmax regression these are W and b, the same for every x. The MLP and
    the CNN are built from linear maps, ReLUs and max-pooling, so they are
    piecewise linear: near x each is a linear model, whose weights change once x
    moves far enough to switch a unit on or off. So x_i W_x[i, j] is pixel i's
    contribution to l_j as for softmax regression: they sum, with b_x[j], to
    l_j for this x exactly; for any other image they are a first-order guess.
    """
    model = model_of(model) if isinstance(model, str) else model
    x = np.asarray(x, dtype=np.float64).reshape(1, -1)
    if x.shape != (1, 784):
        raise ValueError(f"x must be one image of 784 pixels; got {x.size} numbers")
    params = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
    if model is softmax_regression:
        return params["W"], params["b"]
    W_x = model.logits_backward(params, np.repeat(x, 10, axis=0), np.eye(10)).T
    return W_x, model.logits(params, x)[0] - x[0] @ W_x


def contributions_note(model):
    """One sentence on what the pixel-contribution pictures mean for ``model`` (a Trained)."""
    if model.linear:
        return ("Pixel contributions x · w: red pushes a class up, blue pushes it down; with the "
                "bias they add up to the logit, for every image.")
    title = model.title[0].upper() + model.title[1:]
    return (f"{title} is not linear, so these are x · ∂l/∂x: near this image it acts as a linear "
            "model, and these are that model's contributions (with its bias they add up to the "
            "logits here). A first-order picture: change the image and the weights change too.")
