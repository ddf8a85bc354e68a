"""Command line: ``python -m mnistlib download`` and ``python -m mnistlib train``.

    python -m mnistlib download            fetch the full MNIST into the per-user cache
    python -m mnistlib train [options]     train on MNIST, print progress and the test
                                           accuracy, save the weight heatmaps as a PNG
    python -m mnistlib train --model mlp   train the network with a hidden layer instead
                                           (--model cnn: the convolutional network); no PNG

Each model trains by its recipe, chosen on the validation split, unless options
say otherwise: ``zoo.MODELS[name].RECIPE`` (softmax as notebook 08 chose it, mlp
and cnn as notebooks 11 and 12 did).

Every argument is checked before any work starts: a bad one ends the command with
"error: ..." and exit code 2, as argparse does. Ctrl-C stops it with "interrupted" and
exit code 130.
"""

import argparse
import math
import signal
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: this command never opens a window


# --- argument types: each turns the text of an option into a value, or says what is wrong ----

def positive(text):
    """A finite number above 0 (a learning rate, a number of seconds)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a number above 0, got {text!r}")
    return value


def non_negative(text):
    """A finite number of at least 0 (a weight decay)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be a number of at least 0, got {text!r}")
    return value


def whole_number(minimum):
    """An argument type: a whole number of at least ``minimum`` (epochs and a batch size: 1, a seed: 0)."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {text!r}")
        return value
    return parse


at_least_one = whole_number(1)


# --- download -----------------------------------------------------------------------------------

def _download(args, parser):
    from .download import (CacheDirError, DownloadError, check_cache_dir, default_cache_dir,
                           download_mnist)
    cache = Path(args.cache_dir).expanduser() if args.cache_dir else default_cache_dir()
    try:
        check_cache_dir(cache)
    except CacheDirError as e:
        parser.error(str(e))
    try:
        path = download_mnist(cache_dir=cache, timeout=args.timeout, deadline=args.deadline)
    except (DownloadError, CacheDirError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"cache: {path}")
    return 0


# --- train --------------------------------------------------------------------------------------

def out_path(path: str) -> Path:
    """The file the heatmaps are saved to: ``path``, with ".png" added if it has no extension
    (as matplotlib's savefig does)."""
    out = Path(path)
    return out if out.suffix or out.is_dir() else out.with_name(out.name + ".png")


def _check_out(out: Path) -> str | None:
    """Why the heatmaps could not be saved to ``out``, or None: checked before training."""
    from matplotlib.backend_bases import FigureCanvasBase
    if out.is_dir():
        return "this is a directory; give a file name such as weights.png"
    kind = out.suffix[1:].lower()
    if kind not in FigureCanvasBase.get_supported_filetypes():
        return f"matplotlib cannot save .{kind} files; give a file name ending in .png"
    if not out.parent.is_dir():
        return f"the directory {out.parent} does not exist"
    existed = out.exists()
    try:
        open(out, "ab").close()  # what saving will do, minus the writing
    except OSError as e:
        return f"cannot write there ({e.strerror or e})"
    if not existed:
        out.unlink()
    return None


def _train(args, parser):
    from .data import MnistDataError, load_mnist, train_val_split
    from .plots import weight_heatmaps
    from .train import DivergenceError, accuracy_of, train
    from .zoo import model_of

    softmax = args.model == "softmax"
    model = model_of(args.model)
    recipe = model.RECIPE
    # Options not given come from the model's recipe.
    lr, epochs, schedule, weight_decay = (recipe[k] if getattr(args, k) is None else getattr(args, k)
                                          for k in ("lr", "epochs", "schedule", "weight_decay"))
    # Everything that can be checked is checked before the data is loaded and trained on.
    if args.out is not None and not softmax:
        parser.error(f"--out saves the softmax model's weight heatmaps; the {args.model} model has "
                     "none (drop --out)")
    if args.batch_size is not None and args.method != "minibatch":
        parser.error(f"--batch-size applies to --method minibatch only; --method {args.method} "
                     f"uses {'one example' if args.method == 'example' else 'all examples'} "
                     "per update")
    if args.data_dir is not None and not Path(args.data_dir).expanduser().is_dir():
        what = "is not a directory" if Path(args.data_dir).exists() else "does not exist"
        parser.error(f"--data-dir {args.data_dir} {what}; give the directory that holds the "
                     "four MNIST files")
    out = out_path(args.out or "weights.png")
    problem = _check_out(out) if softmax else None
    if problem:
        parser.error(f"--out {args.out or out}: {problem}")
    try:
        data = load_mnist(args.data_dir, download=not args.no_download)
    except MnistDataError as e:
        parser.error(str(e))

    def report(p):
        h = p.history
        val = f"  validation accuracy {h.val_acc[-1]:.4f}" if h.val_acc else ""
        print(f"epoch {p.epoch:2d}  loss {p.loss:.4f}  train accuracy {h.train_acc[-1]:.4f}{val}"
              f"  ({h.seconds[-1]:.2f} s training)", flush=True)

    # The recipe was chosen on the validation split; the test set is used once, below.
    x_train, y_train, x_val, y_val = train_val_split(data.x_train, data.y_train)
    batch_size = args.batch_size or recipe["batch_size"]
    batches = {"example": "one example per update",
               "minibatch": f"batch size {batch_size}",
               "full": f"the full batch of {len(x_train)} examples per update"}[args.method]
    decay = f", weight decay {weight_decay:g}" if weight_decay else ""
    which = "" if softmax else f" the {args.model} model"
    print(f"training{which}: {args.method} gradient descent, lr={lr:g}, {batches}, "
          f"{epochs} epochs, {schedule} schedule{decay}")
    t = time.perf_counter()
    try:
        result = train(x_train, y_train, model=model, method=args.method, lr=lr,
                       epochs=epochs, batch_size=batch_size, schedule=schedule,
                       weight_decay=weight_decay, seed=args.seed, x_val=x_val, y_val=y_val,
                       callback=report)
    except (DivergenceError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    acc = accuracy_of(result.model, result.params, data.x_test, data.y_test)
    print(f"final test accuracy: {acc:.4f} (error {1 - acc:.4f}) on {len(data.y_test)} test images; "
          f"{result.history.seconds[-1]:.2f} s training, {time.perf_counter() - t:.2f} s in all")
    if not softmax:
        return 0
    fig = weight_heatmaps(result.W, title=f"learned weights (test accuracy {acc:.2%})")
    try:
        fig.savefig(out, dpi=100)
    except OSError as e:  # checked before training; something changed since
        print(f"error: could not save {out}: {e.strerror or e}", file=sys.stderr)
        return 1
    print(f"weight heatmaps saved to {out}")
    return 0


# --- the command line ---------------------------------------------------------------------------

INTERRUPTED = {
    "download": "interrupted; the cache is intact (a file is saved only when it is complete and "
                "verified): run the same command again to fetch the rest",
    "train": "interrupted; training stopped, nothing was saved",
}


def main(argv=None):
    from .download import DOWNLOAD_DEADLINE

    parser = argparse.ArgumentParser(prog="python -m mnistlib", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    d = sub.add_parser("download", help="fetch the full MNIST into the per-user cache")
    d.add_argument("--cache-dir", default=None,
                   help="where to store it (default: the per-user cache)")
    d.add_argument("--timeout", type=positive, default=10,
                   help="seconds a server may stay silent before the next is tried (default 10)")
    d.add_argument("--deadline", type=positive, default=DOWNLOAD_DEADLINE,
                   help=f"seconds the whole download may take (default {DOWNLOAD_DEADLINE})")
    d.set_defaults(run=_download, parser=d)

    from .zoo import MODELS
    recipes = {name: model.RECIPE for name, model in MODELS.items()}

    def default(key):
        return "default: " + ", ".join(f"{name} {r[key]:g}" if isinstance(r[key], (int, float)) else
                                       f"{name} {r[key]}" for name, r in recipes.items())

    t = sub.add_parser("train", help="train a model (softmax, mlp or cnn) and report its test accuracy")
    t.add_argument("--model", choices=list(recipes), default="softmax",
                   help="softmax (default; notebooks 02-10), mlp (a hidden layer, notebook 11) or cnn "
                        "(a convolutional network, notebook 12)")
    t.add_argument("--data-dir", default=None, help="directory with the four MNIST files")
    t.add_argument("--no-download", action="store_true", help="never download; use what is here")
    t.add_argument("--method", choices=["example", "minibatch", "full"], default="minibatch")
    t.add_argument("--lr", type=positive, default=None, help=f"learning rate ({default('lr')})")
    t.add_argument("--epochs", type=at_least_one, default=None,
                   help=f"passes over the data ({default('epochs')}: each model's recipe, "
                        "chosen on the validation split)")
    t.add_argument("--batch-size", type=at_least_one, default=None,
                   help=f"examples per update, for --method minibatch ({default('batch_size')})")
    t.add_argument("--schedule", choices=["constant", "linear"], default=None,
                   help=f"learning-rate schedule ({default('schedule')})")
    t.add_argument("--weight-decay", type=non_negative, default=None,
                   help=f"lambda of the penalty lambda/2 * sum of squared weights ({default('weight_decay')})")
    t.add_argument("--seed", type=whole_number(0), default=0,
                   help="seeds the starting weights and the order of the examples (default 0)")
    t.add_argument("--out", default=None,
                   help="PNG file for the softmax model's weight heatmaps (default weights.png; "
                        ".png is added to a name without an extension)")
    t.set_defaults(run=_train, parser=t)

    args = parser.parse_args(argv)
    try:
        return args.run(args, args.parser)
    except KeyboardInterrupt:
        # A second Ctrl-C must not turn this clean stop into a traceback.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        print(f"\n{INTERRUPTED[args.command]}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
