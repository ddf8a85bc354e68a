"""Pick a model (softmax regression, MLP, CNN): loaded from the cache, or trained in the background.

``model_chooser`` is a dropdown and a status line over ``mnistlib.zoo``. A model
that is neither trained nor in the cache is trained when it is picked, in a
background thread, while the model that answered so far goes on answering; the
status line follows the training ("training the CNN: epoch 3 of 12 (21%)…")
and then says which model answers and how well. ``chooser_status`` is the
pure function behind that line. The draw-a-digit widget (notebook 10) has one
of these; the live demo puts one in its model bar for sections 3 and 4.

ipywidgets may be changed from a thread (each change is a message to the
browser). What the widget shares with that thread sits behind ``box.lock``.
"""

import threading
import time

import ipywidgets

from .. import zoo
from .access import Access
from .base import show_message, status_line


def _sentence(text):
    return text[0].upper() + text[1:]


def chooser_status(answering, names, ready, *, selected=None, training=None, error=None):
    """The chooser's status line for this state: (text, kind), kind as for ``base.show_message``.

    answering: the Trained that answers now; names: every choice, in order;
    ready: the names trained or loaded so far; selected: the name picked in the
    dropdown (default: the one answering); training: a ``zoo.Step`` while a
    model trains, else None; error: what went wrong with the last pick, or None.
    """
    selected = selected or answering.name
    now = _sentence(answering.title)
    if answering.val_acc is not None:
        now += f" answers ({answering.val_acc:.1%} of the validation digits right)"
    else:
        now += " answers"
    if error:
        return f"{_sentence(error)}. {now}.", "error"
    if training is not None:
        if training.name != selected:           # picked, then left for another model
            return f"{now}. In the background, {zoo.describe(training)}", "info"
        return f"{_sentence(zoo.describe(training))} Meanwhile {answering.title} answers.", "warn"
    if selected != answering.name:             # picked, about to answer: loading or switching
        return f"Switching to {zoo.TITLES[selected]}… {now}.", "info"
    how = {"cache": ", loaded from the cache",
           "trained": f", trained just now in {zoo.duration(answering.seconds or 0)}"}.get(answering.source, "")
    if answering.source == "trained" and answering.path is None:
        how += " (kept for this session only: the cache cannot be written)"
    waiting = [zoo.TITLES[n] for n in names if n not in ready]
    later = ""
    if waiting:
        later = (f" Not trained yet: {' and '.join(waiting)}; "
                 f"{'each trains' if len(waiting) > 1 else 'it trains'} here when picked.")
    return f"{now}{how}.{later}", ("error" if answering.source == "untrained" else "ok")


def model_chooser(choices, data=None, *, cache_dir=None, css="mnistlib-model", description="model"):
    """A dropdown of models and a status line (an HBox); the first choice answers at once.

    choices: names ("softmax", "mlp", "cnn") and trained models (``zoo.Trained``,
    e.g. from ``zoo.given``). The first is loaded or trained now if it is a name
    (softmax regression: about a second); the others are looked up in the cache,
    and those not there are trained when picked, in a background thread.
    data: ``load_mnist()``'s result, which choices given by name are trained on.
    cache_dir: as for ``zoo.trained``. css: the dropdown's CSS class (its status
    line gets ``css + "-status"``).

    The box has: ``dropdown``, ``status``; ``current()``, the Trained that answers;
    ``models``, {name: Trained} of those ready; ``on_change(fn)``, to have
    fn(trained) called when another model starts answering (from a background
    thread, holding ``lock``: hold it too when you use what fn changes);
    ``wait(timeout=None)``, True once no pick is being handled (for tests); and
    ``busy()``.
    """
    names, models = _choices(choices, data)
    notes = []          # what zoo said while loading or training (e.g. that the cache cannot be written)
    if names[0] not in models:     # whatever goes wrong, a model answers and the status line says why
        models[names[0]] = zoo.trained_or_untrained(names[0], data, cache_dir=cache_dir, say=notes.append)
    for name in names[1:]:
        if name not in models:
            found = zoo.cached(name, data, cache_dir=cache_dir, say=notes.append)
            if found is not None:
                models[name] = found

    dropdown = ipywidgets.Dropdown(options=[(zoo.LABELS[n], n) for n in names], value=names[0],
                                   description=description)
    dropdown.add_class(css)
    status = status_line(f"{css}-status")
    switcher = _Switcher(names, models, dropdown, status, notes, data=data, cache_dir=cache_dir)
    dropdown.observe(switcher.on_pick, names="value")
    switcher.show()

    # a screen reader says when the status line changes: which model answers, how far a training is
    access = Access(live=[f"{css}-status"])
    box = ipywidgets.HBox([dropdown, status, access],
                          layout=ipywidgets.Layout(flex_flow="row wrap", align_items="center"))
    box.add_class(f"{css}-chooser")
    box.dropdown, box.status, box.models, box.lock = dropdown, status, models, switcher.lock
    box.access = access
    box.current = switcher.current
    box.on_change = switcher.listeners.append
    box.wait, box.busy = switcher.wait, switcher.busy
    return box


def _choices(choices, data):
    """The names of the choices, in order, and {name: Trained} of those given trained; or a ValueError."""
    names, models = [], {}
    for choice in choices:
        name = choice.name if isinstance(choice, zoo.Trained) else choice
        zoo.model_of(name)
        if name in names:
            raise ValueError(f"{name} is among the choices twice")
        names.append(name)
        if isinstance(choice, zoo.Trained):
            models[name] = choice
    if not names:
        raise ValueError("give at least one model to choose from")
    if data is None and any(n not in models for n in names):
        raise ValueError("give data= (load_mnist()'s result) to train or load the models named "
                         + ", ".join(n for n in names if n not in models))
    return names, models


class _Switcher:
    """What happens when a model is picked: it is trained or loaded in a background thread, then answers.

    names: every choice, in order; models: {name: Trained} of those ready (added
    to as models are trained); the first name answers at first. notes: lines
    from zoo to add to the status line.
    """

    def __init__(self, names, models, dropdown, status, notes, *, data, cache_dir):
        self.names, self.models, self.notes = names, models, notes
        self.dropdown, self.status = dropdown, status
        self.data, self.cache_dir = data, cache_dir
        self.lock = threading.RLock()             # held while the answering model changes
        self.training_lock = threading.Lock()     # one training at a time: they would share two cores
        self.answering, self.training, self.error, self.shown = names[0], None, None, 0.0
        self.threads, self.listeners = [], []

    def current(self):
        """The Trained that answers now."""
        return self.models[self.answering]

    def show(self, force=True):
        """Write the status line (unless ``force`` is False and it was written under 0.3 s ago)."""
        if not force and time.monotonic() - self.shown < 0.3:      # progress: a few updates a second
            return
        self.shown = time.monotonic()
        text, kind = chooser_status(self.current(), self.names, set(self.models),
                                    selected=self.dropdown.value, training=self.training, error=self.error)
        if self.notes:
            text += " " + " ".join(self.notes)
        show_message(self.status, text, kind)

    def progress(self, step):
        """zoo.trained's progress callback: follow the training in the status line."""
        before, self.training = self.training, step
        # a new model or epoch, and the end, are always shown; within an epoch, a few updates a second
        self.show(force=before is None or (before.name, before.epoch) != (step.name, step.epoch)
                  or step.done >= 1)

    def on_pick(self, change):
        """The dropdown's observer: handle the pick in a background thread."""
        self.error = None
        name = change["new"]
        self.show()
        thread = threading.Thread(target=self.switch, args=(name,), daemon=True, name=f"mnistlib-{name}")
        self.threads.append(thread)
        thread.start()

    def switch(self, name):
        """Make ``name`` answer: train or load it first if needed (in this background thread)."""
        try:
            if name not in self.models:
                with self.training_lock:
                    if name not in self.models:
                        self.models[name] = zoo.trained(name, self.data, cache_dir=self.cache_dir,
                                                        progress=self.progress, say=self.notes.append)
                    self.training = None
            with self.lock:
                if self.dropdown.value != name or self.answering == name:
                    return              # picked something else meanwhile, or nothing changes
                for fn in self.listeners:
                    fn(self.models[name])
                self.answering = name
        except Exception as e:          # a pick must never end in a silent, dead widget
            self.training = None
            self.error = f"could not switch to {zoo.TITLES[name]}: {type(e).__name__}: {e}"
        finally:
            self.show()

    def wait(self, timeout=None):
        """Wait for the picks being handled (at most ``timeout`` seconds); True if none is left."""
        end = None if timeout is None else time.monotonic() + timeout
        for thread in list(self.threads):
            thread.join(None if end is None else max(0.0, end - time.monotonic()))
        return not self.busy()

    def busy(self):
        """Whether a pick is being handled."""
        return any(t.is_alive() for t in self.threads)
