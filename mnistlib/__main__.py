"""Command line: ``python -m mnistlib download`` and ``python -m mnistlib train``.

    python -m mnistlib download            fetch the full MNIST into the per-user cache
    python -m mnistlib train [options]     train on MNIST, print progress and the test
                                           accuracy, save the weight heatmaps as a PNG
"""

import argparse
import sys
import time

import matplotlib

matplotlib.use("Agg")  # headless: this command never opens a window


def _download(args):
    from .data import DownloadError, download_mnist
    try:
        path = download_mnist(cache_dir=args.cache_dir, timeout=args.timeout)
    except DownloadError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"cache: {path}")
    return 0


def _train(args):
    from .data import load_mnist, train_val_split
    from .model import accuracy
    from .plots import weight_heatmaps
    from .train import DivergenceError, train

    data = load_mnist(args.data_dir, download=not args.no_download)

    def report(p):
        h = p.history
        val = f"  validation accuracy {h.val_acc[-1]:.4f}" if h.val_acc else ""
        print(f"epoch {p.epoch:2d}  loss {p.loss:.4f}  train accuracy {h.train_acc[-1]:.4f}{val}"
              f"  ({h.seconds[-1]:.2f} s training)", flush=True)

    print(f"training: {args.method} gradient descent, lr={args.lr:g}, batch size {args.batch_size}, "
          f"{args.epochs} epochs, {args.schedule} schedule")
    # The recipe was chosen on the validation split; the test set is used once, below.
    x_train, y_train, x_val, y_val = train_val_split(data.x_train, data.y_train)
    t = time.perf_counter()
    try:
        result = train(x_train, y_train, method=args.method, lr=args.lr,
                       epochs=args.epochs, batch_size=args.batch_size, schedule=args.schedule,
                       seed=args.seed, x_val=x_val, y_val=y_val, callback=report)
    except DivergenceError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    acc = accuracy(data.x_test, data.y_test, result.W, result.b)
    print(f"final test accuracy: {acc:.4f} (error {1 - acc:.4f}) on {len(data.y_test)} test images; "
          f"{result.history.seconds[-1]:.2f} s training, {time.perf_counter() - t:.2f} s in all")
    fig = weight_heatmaps(result.W, title=f"learned weights (test accuracy {acc:.2%})")
    fig.savefig(args.out, dpi=100)
    print(f"weight heatmaps saved to {args.out}")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m mnistlib", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    d = sub.add_parser("download", help="fetch the full MNIST into the per-user cache")
    d.add_argument("--cache-dir", default=None, help="where to store it (default: the per-user cache)")
    d.add_argument("--timeout", type=float, default=10, help="seconds to wait for a server")
    d.set_defaults(run=_download)

    t = sub.add_parser("train", help="train the softmax model and save its weight heatmaps")
    t.add_argument("--data-dir", default=None, help="directory with the four MNIST files")
    t.add_argument("--no-download", action="store_true", help="never download; use what is here")
    t.add_argument("--method", choices=["example", "minibatch", "full"], default="minibatch")
    t.add_argument("--lr", type=float, default=1.0, help="learning rate (default 1.0)")
    t.add_argument("--epochs", type=int, default=4)
    t.add_argument("--batch-size", type=int, default=50)
    t.add_argument("--schedule", choices=["constant", "linear"], default="linear")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--out", default="weights.png", help="PNG file for the weight heatmaps")
    t.set_defaults(run=_train)

    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
