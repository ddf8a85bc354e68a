"""Live-demo mode: the course's widgets on one page, for a projector in a lecture hall.

The page is ``demo/live_demo.ipynb``, shown by Voila without its code cells;
``python run.py demo`` (or ``python -m mnistlib.demo``) serves it:

    voila demo/live_demo.ipynb --port=8866 --Voila.ip=127.0.0.1 --theme=light \\
          --strip_sources=True --show_tracebacks=False --no-browser \\
          --MappingKernelManager.cull_idle_timeout=120 --MappingKernelManager.cull_interval=30

The launcher (``main``) first says whether the full MNIST is on disk (the page
never downloads: without it, the page uses the bundled subset, and the launcher
prints the one command to run before class), then prints the address, and,
once a browser has opened the page and its widgets answer, the start-up time.

The notebook calls ``projector_mode()`` first, then shows the widgets of
``mnistlib.widgets`` (training, explorer, drawing, chooser) unchanged (each
catches its own errors and shows them in its status line), and ends with
``footer()``: which data the page uses and how well the model does, in words.
"""

import html
import os
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

# Large type through ipywidgets' CSS variables; and a layout that fits any window
# from 1280 px wide up, with no horizontal scrolling: boxes wrap, and each
# picture takes a share of the width (capped at `scale` times its size).
# The pictures are PNGs drawn at 100 dpi with fixed layouts (fast redraws), so
# CSS resizes them rather than redrawing them with larger fonts (which would not
# fit those layouts) or at a higher dpi (slower). "!important" where the widgets
# set a size inline.
# The style sheet is demo.css beside this module, with ${placeholders} for the sizes.
_CSS_FILE = Path(__file__).resolve().parent / "demo.css"


def projector_css(scale=1.5):
    """The demo page's style sheet (an HTML ``<style>`` element) at ``scale`` x normal size.

    scale: 1.0 is JupyterLab's usual size; 1.5 reads well from the back of a room.
    """
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 0.5 <= scale <= 4:
        raise ValueError(f"scale must be a number from 0.5 to 4; got {scale!r}")
    px = lambda n: round(n * scale)  # noqa: E731
    return string.Template(_CSS_FILE.read_text(encoding="utf-8")).substitute(font=px(14), control=px(28), label=px(80), handle=px(16), h1=px(30),
                       h2=px(22), slider=px(420), status=px(15), small=px(12), plot=px(500),
                       heat=px(600), probs=px(500), contrib=px(840), preview=px(170),
                       draw_probs=px(340), draw_contrib=px(560), draw_slider=px(240),
                       pair=px(1130))


def projector_mode(scale=1.5):
    """The style widget that switches the page to large type; display it first.

    scale: as for ``projector_css``.
    """
    import ipywidgets   # here, not at the top: the launcher starts faster without it

    style = ipywidgets.HTML(projector_css(scale))
    style.add_class("mnistlib-demo-style")
    return style


# --- the page's own lines: the model in use, the data in use -----------------

def model_bar(content):
    """The row above sections 3 and 4 that names the model they use, or lets the room pick it.

    content: a sentence (text or HTML), or a widget: the model chooser
    (``widgets.chooser.model_chooser``), whose status line then names the model.
    """
    import ipywidgets

    if isinstance(content, str):
        content = ipywidgets.HTML(content)
        content.add_class("mnistlib-demo-model-name")
    bar = ipywidgets.HBox([content])
    bar.add_class("mnistlib-demo-model")
    return bar


def slot(widget):
    """A box holding one widget, whose content can later be replaced in place."""
    import ipywidgets

    box = ipywidgets.VBox([widget])
    box.add_class("mnistlib-demo-slot")
    return box


def data_note(data, test_accuracy, model=None):
    """Two sentences for people: which data the page uses; which model answers, why that one, and how well.

    data: the ``mnistlib.data.MNIST`` the page loaded; test_accuracy: in [0, 1],
    of ``model``: a ``zoo.Trained`` (then the note says where it came from: the
    cache, trained just now and why, or untrained because training failed), or
    its title ("the MLP"; see ``zoo.TITLES``), or None for "the model".
    The models learn from the training split (``data.train_val_split``: five in six
    of the training images; the other sixth is for validation).
    """
    n_train, n_test = len(data.x_train), len(data.x_test)
    n_learn = n_train - n_train // 6
    title = model if model is None or isinstance(model, str) else model.title
    who = "the model" if title is None else title
    who = who[0].upper() + who[1:]
    how = "" if model is None or isinstance(model, str) else provenance(model)
    acc = f"{test_accuracy:.1%}"
    if data.is_full:
        what, better = f"Data: the full MNIST, {n_train + n_test:,} handwritten digits.", ""
    else:
        what = (f"Data: a sample of {n_train + n_test:,} MNIST digits that comes with the course, "
                "because the full set of 70,000 is not on this computer.")
        better = " (trained on the full set, it does better)"
    if getattr(model, "source", None) == "untrained":
        return (f"{what} {who} answers above, but untrained: {how}. It reads {acc} of the {n_test:,} "
                "test digits correctly, by chance.")
    return (f"{what} {who} answers above{f' ({how})' if how else ''}: it learned from {n_learn:,} of "
            f"them and reads {acc} of the {n_test:,} test digits, which it never saw, correctly{better}.")


def provenance(model):
    """Where a ``zoo.Trained`` came from, in words for the page: "loaded from the cache" and the like."""
    note = model.note.split(": ", 1)[-1] if model.note else ""
    if model.source == "cache":
        return "loaded from the cache"
    if model.source == "trained":
        return f"trained just now{': ' + note if note else ''}"
    if model.source == "untrained":
        return note.split("; ")[0] or "training it failed"
    return ""


def footer(data, test_accuracy, model=None):
    """The page's last line: ``data_note`` in small type. ``.update(test_accuracy, model)`` rewrites it."""
    import ipywidgets

    line = ipywidgets.HTML()
    line.add_class("mnistlib-demo-footer")

    def update(test_accuracy, model=None):
        line.value = f"<p>{html.escape(data_note(data, test_accuracy, model))}</p>"

    update(test_accuracy, model)
    line.update = update
    return line


# --- the launcher ---------------------------------------------------------------

DEMO_NOTEBOOK = Path(__file__).resolve().parent.parent / "demo" / "live_demo.ipynb"
# The page's own Voila template: Voila's lab template with a main landmark (see its file).
# Voila looks for templates on the Jupyter data path, so the launcher puts this folder first.
DEMO_TEMPLATE = "mnistlib-demo"
DEMO_DATA_PATH = DEMO_NOTEBOOK.parent / "share"
# As a teacher types them: in a plain shell, in the project's directory (run.py sets up .venv/).
DOWNLOAD_COMMAND = "python run.py download"
PREPARE_COMMAND = "python run.py demo --prepare"
# The launcher names a file here; the page writes the time into it when its first
# widget has answered the browser (see ``mark_ready``).
READY_FILE_VAR = "MNISTLIB_DEMO_READY_FILE"
# Set by ``python run.py demo``: when the command started (time.time()), so that
# the start-up time counts the set-up check too.
STARTED_VAR = "MNISTLIB_DEMO_STARTED"


def full_mnist_on_disk():
    """Where the page will find the full MNIST without downloading: a Path, or None.

    Looks where ``load_mnist(download=False)`` looks: MNIST_DATA_DIR, else the cache.
    Raises MnistDataError if MNIST_DATA_DIR names a directory without the four files
    (the page would stop with that error).
    """
    from . import data

    if os.environ.get("MNIST_DATA_DIR"):
        directory = Path(os.environ["MNIST_DATA_DIR"]).expanduser()
        missing = [n for n in data.MNIST_FILES if not directory.is_dir() or data.find_mnist_file(directory, n) is None]
        if missing:
            raise data.MnistDataError(
                f"MNIST_DATA_DIR is {directory}, which does not hold {', '.join(missing)} "
                f"(raw or .gz); point it at the four MNIST files, or unset it")
        return directory
    cache = data.default_cache_dir()
    return cache if all(data.find_mnist_file(cache, n) for n in data.MNIST_FILES) else None


def mark_ready(*_):
    """Write the time into the launcher's ready file, if the launcher named one.

    The demo page calls this when a widget has answered its browser (the drawing
    canvas's "client ready" message), so the launcher can say the page is up.
    """
    path = os.environ.get(READY_FILE_VAR)
    if path:
        part = Path(f"{path}.part")
        part.write_text(f"{time.time()}\n")
        os.replace(part, path)        # the launcher never reads half a line


# Each open page has a kernel of its own, holding the data and the models (about half a GB).
# Voila's page asks for its kernel to be shut down as it unloads, but Voila 0.5 refuses that
# request (no _xsrf cookie: voila-dashboards/voila#1458), so each reload or closed tab would
# leave its kernel running. A kernel with no page connected is shut down after this long
# idle instead; a page that is open keeps its kernel, however long it sits unused.
CULL_IDLE_SECONDS = 120
CULL_EVERY_SECONDS = 30


def voila_command(notebook=DEMO_NOTEBOOK, port=8866, open_browser=False, extra=()):
    """The Voila command line (a list) that serves the demo on 127.0.0.1:port.

    extra: more Voila options, e.g. ["--token=..."]; a culling option given there replaces
    the launcher's (Voila takes each option once).
    """
    voila = shutil.which("voila", path=str(Path(sys.executable).parent)) or "voila"
    cmd = [voila, str(notebook), f"--port={port}", "--Voila.ip=127.0.0.1", f"--template={DEMO_TEMPLATE}",
           "--theme=light", "--strip_sources=True", "--show_tracebacks=False"]
    culling = {"--MappingKernelManager.cull_idle_timeout": CULL_IDLE_SECONDS,
               "--MappingKernelManager.cull_interval": CULL_EVERY_SECONDS,
               "--MappingKernelManager.cull_connected": False}
    given = {option.split("=", 1)[0] for option in extra}
    cmd += [f"{name}={value}" for name, value in culling.items() if name not in given]
    if not open_browser:
        cmd.append("--no-browser")
    return cmd + list(extra)


def with_demo_template(env):
    """The environment ``env`` with the demo's template folder first on JUPYTER_PATH, for Voila."""
    paths = [p for p in env.get("JUPYTER_PATH", "").split(os.pathsep) if p]
    return {**env, "JUPYTER_PATH": os.pathsep.join([str(DEMO_DATA_PATH), *paths])}


def _listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def _free(port):
    with socket.socket() as s:
        if os.name != "nt":
            # as Voila binds: a demo stopped a moment ago leaves connections in TIME_WAIT, not a server
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


class _Stop(Exception):
    """The launcher was told to stop (SIGTERM, or SIGHUP when its terminal closes)."""


def _serve(port, open_browser, extra, started, say):
    """Run Voila; print the address when it listens and the start-up time when the page is up.

    Ctrl+C (or SIGTERM, SIGHUP) stops Voila and its kernels, and returns once the port is
    free, saying so in one line: exit code 130 after Ctrl+C, 0 otherwise. Voila runs in
    a session of its own, so that only this launcher stops it, once: a Ctrl+C that
    reached Voila too would interrupt its shutdown, with a traceback.
    """
    ready_dir = Path(tempfile.mkdtemp(prefix="mnistlib-demo-"))
    ready_file = ready_dir / "ready"
    env = {**os.environ, READY_FILE_VAR: str(ready_file)}
    proc = subprocess.Popen(voila_command(port=port, open_browser=open_browser, extra=extra), env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
                            start_new_session=True)
    # Voila's log is passed on as it comes, until the demo stops: its shutdown is not news.
    quiet = threading.Event()
    threading.Thread(target=_relay, args=(proc.stdout, quiet), daemon=True).start()
    url = f"http://127.0.0.1:{port}/"

    def stop(signum, frame):
        raise _Stop
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), stop)
    announced = False
    try:
        while proc.poll() is None:
            if not announced and _listening(port):
                say(f"Live demo: open {url} in the browser on the projector (Ctrl+C to stop).")
                say("The page builds when it is opened; the next line says when it is ready.")
                announced = True
            if ready_file.exists():
                text = ready_file.read_text().strip()
                if text:
                    say(f"Page ready: its first widget answered {float(text) - started:.1f} s "
                        "after the command started.")
                    break
            time.sleep(0.1)
        return proc.wait()
    except (KeyboardInterrupt, _Stop) as e:
        # A second Ctrl+C, or python run.py passing this one on, must not cut the shutdown short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        quiet.set()
        proc.terminate()                # Voila shuts its kernels down, then exits
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        how = "interrupted" if isinstance(e, KeyboardInterrupt) else "stopped"
        print(f"\n{how}; the live demo has stopped and port {port} is free again", file=sys.stderr, flush=True)
        return 130 if isinstance(e, KeyboardInterrupt) else 0
    finally:
        shutil.rmtree(ready_dir, ignore_errors=True)


def _relay(lines, quiet):
    """Copy Voila's output to stderr line by line, until ``quiet`` is set; read it to the end regardless."""
    for line in lines:
        if not quiet.is_set():
            sys.stderr.write(line)
            sys.stderr.flush()


def models_note(full):
    """What the launcher says about the models: which are ready in the cache, how to prepare the rest.

    full: whether the page will use the full MNIST (else the bundled subset).
    Reads each cache file and checks it whole, as the page does when it loads it
    (``zoo.file_state``): a damaged file is named, with what is wrong with it.
    """
    from . import zoo

    kind = "full" if full else "subset"
    states = {name: zoo.file_state(name, kind) for name in zoo.NAMES}
    damaged = [f"{zoo.TITLES[name][0].upper()}{zoo.TITLES[name][1:]}: {why}; the page trains it again."
               for name, (state, why) in states.items() if state == "damaged"]
    missing = [name for name, (state, _) in states.items() if state != "ready"]
    if not missing:
        return "Models: softmax regression, the MLP and the CNN are ready in the cache."
    deep = [name for name in missing if name != "softmax"]
    if not deep:
        return "\n".join(damaged + ["Models: the MLP and the CNN are ready in the cache; softmax regression "
                                    "trains as the page opens."])
    n_train = 50000 if full else 3334
    titles = " and ".join(zoo.TITLES[name] for name in deep)
    times = ", ".join(f"{zoo.TITLES[name]} {zoo.estimate(name, n_train)}" for name in deep)
    return "\n".join(damaged + [
        f"Models: {titles} {'are' if len(deep) > 1 else 'is'} "
        f"{'not ready' if damaged else 'not trained yet'}. On the page, "
        f"each trains in the background when picked ({times}), while the others answer.",
        f"Before class, train and keep them once:  {PREPARE_COMMAND}"])


def prepare(say=print):
    """Train the three models on the data the page uses and keep them in the cache (``--prepare``).

    Says how long each took. Returns 0, or 1 if a model could not be kept (a
    cache that cannot be written).
    """
    from . import zoo
    from .data import load_mnist

    data = load_mnist(download=False, verbose=False)
    if data.is_full:
        say("Preparing the models of the live demo on the full MNIST, in the cache "
            f"{zoo.models_dir()}.")
    else:
        say("The full MNIST is not on this computer, so the page uses the 5,000-digit sample; "
            f"preparing the models on it (for the full set: {DOWNLOAD_COMMAND}, then this again).")
    started, failed = time.perf_counter(), False
    for name in zoo.NAMES:
        shown = set()

        def progress(step):
            key = "end" if step.done >= 1 else step.epoch   # one line per epoch, one at the end
            if key not in shown:
                shown.add(key)
                say(f"  {zoo.describe(step)}")

        t = time.perf_counter()
        model = zoo.trained(name, data, progress=progress, say=lambda line: say(f"  {line}"))
        how = ("already in the cache" if model.source == "cache"
               else f"trained in {zoo.duration(model.seconds)}")
        if model.path is None:
            failed = True
            how += ", but NOT kept: the cache cannot be written (set MNISTLIB_CACHE_DIR)"
        say(f"{zoo.TITLES[name][0].upper()}{zoo.TITLES[name][1:]}: {how}; {model.val_acc:.1%} of the "
            f"validation digits right ({time.perf_counter() - t:.1f} s in all).")
    say(f"Done in {zoo.duration(time.perf_counter() - started)}."
        + ("" if failed else " The page now loads the models from the cache in a fraction of a second."))
    return 1 if failed else 0


def main(argv=None):
    """``python -m mnistlib.demo [--port N] [--open] [--prepare] [Voila options]``: serve the live demo."""
    import argparse

    started = float(os.environ.get(STARTED_VAR) or time.time())
    parser = argparse.ArgumentParser(prog="python -m mnistlib.demo", description=main.__doc__)
    parser.add_argument("--port", type=int, default=8866)
    parser.add_argument("--open", action="store_true", help="open a browser tab")
    parser.add_argument("--prepare", action="store_true",
                        help="before class: train the three models (softmax regression, MLP, CNN) on "
                             "the data the page will use and keep them in the cache, then stop")
    args, extra = parser.parse_known_args(argv)
    if args.prepare:
        if extra:
            parser.error(f"--prepare takes no other options; got {' '.join(extra)}")
        try:
            return prepare(lambda line: print(line, flush=True))
        except KeyboardInterrupt:
            signal.signal(signal.SIGINT, signal.SIG_IGN)      # a second Ctrl+C: no traceback either
            print("\ninterrupted; the models trained so far are kept in the cache (a file is saved only "
                  "when it is complete): run the same command again to train the rest", file=sys.stderr,
                  flush=True)
            return 130
    if not DEMO_NOTEBOOK.is_file():
        sys.exit(f"demo notebook not found: {DEMO_NOTEBOOK} (run from a checkout of the repository)")
    from .data import MnistDataError
    try:
        where = full_mnist_on_disk()
    except MnistDataError as e:
        sys.exit(f"error: {e}")
    if shutil.which("voila", path=str(Path(sys.executable).parent)) is None and not shutil.which("voila"):
        sys.exit("Voila is not installed: pip install -e '.[browser]'")
    if not _free(args.port):
        sys.exit(f"Port {args.port} is in use (is the demo already running?); "
                 f"choose another with --port, e.g. --port {args.port + 1}")
    if where is None:
        print("The full MNIST is not on this computer, so the page uses the 5,000-digit sample "
              "that comes with the course (the page never downloads during a talk).\n"
              f"Before class, download the full set once (about 11 MB):  {DOWNLOAD_COMMAND}",
              flush=True)
    else:
        print(f"Data: the full MNIST, from {where}", flush=True)
    print(models_note(where is not None), flush=True)
    os.environ.update(with_demo_template(os.environ))
    return _serve(args.port, args.open, extra, started, lambda line: print(line, flush=True))


if __name__ == "__main__":
    sys.exit(main())
