"""Is the series fast enough to train live?  Times the training loop, the widgets and the notebooks.

    MNIST_DATA_DIR=/path/to/mnist python benchmarks/run.py [--quick] [--skip-models] [--notebooks | --classroom | --hub]
                                                           [--laptop-kernels]

Prints the machine (cores, CPU, numpy, BLAS), then a Markdown table: one row per
measurement, with its target and whether it was met. benchmarks/README.md says
what each row measures. --quick: fewer repeats, for checking the script itself.
--skip-models: without the MLP and CNN rows. --notebooks: also execute every
notebook headless (not written back), each in a fresh kernel whose peak memory
and CPU time are read, and size a classroom server from them. --classroom: those
rows only; their kernels run with the environment the classroom hub gives every
kernel (hub/mnist_hub/settings.py), or with --laptop-kernels in this process's.
--hub: the classroom hub's load test (hub_load.py), 30 students at once.

The numbers only count on the full MNIST; the script says so loudly when
load_mnist fell back to the bundled subset. Run it on a quiet machine: the load
average is printed before and after.

The rows come from one module per concern (softmax_regression, widget_latency,
demo_startup, mlp_and_cnn, classroom), over the shared harness.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))    # this checkout's mnistlib

import classroom            # noqa: E402
import demo_startup         # noqa: E402
import harness              # noqa: E402
import hub_load             # noqa: E402
import mlp_and_cnn          # noqa: E402
import pytorch_epoch        # noqa: E402
import softmax_regression   # noqa: E402
import widget_latency       # noqa: E402


def parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, shorter runs")
    parser.add_argument("--notebooks", action="store_true", help="also execute every notebook headless")
    parser.add_argument("--skip-models", action="store_true",
                        help="leave out the MLP and CNN rows (they train for a few minutes)")
    parser.add_argument("--classroom", action="store_true",
                        help="only the notebooks and the classroom-server rows (what a JupyterHub needs)")
    parser.add_argument("--hub", action="store_true",
                        help="only the load test of the classroom hub: 30 students at once (needs root and "
                             "`python run.py hub --install-only`; see hub_load.py)")
    parser.add_argument("--laptop-kernels", action="store_true",
                        help="run the notebooks' kernels in this process's environment, not the classroom "
                             "hub's (one BLAS thread, malloc settings: hub/mnist_hub/settings.py)")
    return parser.parse_args(argv)


def softmax_and_widget_rows(table, d, quick):
    """Rows 1 to 7 of the README: softmax regression, the widgets, its peak memory, the demo's start-up."""
    repeats = 3 if quick else 7
    seconds = softmax_regression.epoch_rows(table, d, repeats, both_thread_counts=not quick)
    softmax_regression.floor_rows(table, d, repeats, seconds)
    softmax_regression.openblas_row(table, repeats, seconds)
    softmax_regression.recipe_row(table, d, 3 if quick else 5)
    softmax_regression.method_rows(table, d, quick)
    widget_latency.rows(table, d, 5 if quick else 10)
    softmax_regression.memory_row(table)
    demo_startup.row(table)


def main(argv=None):
    args = parse(argv)
    if args.hub:
        return hub_load.main(["--students", "30"])
    load_before = harness.load()
    d, said = harness.load_data()
    header = harness.machine_lines() + [pytorch_epoch.version_line(), harness.openblas_line(), f"data: {said}"]
    if not d.is_full:
        header.append("WARNING: load_mnist fell back to the bundled subset (set MNIST_DATA_DIR to the "
                      "full MNIST). These numbers do not count.")
    for line in header:
        print(line, file=sys.stderr, flush=True)

    table = harness.Table()
    if not args.classroom:
        softmax_and_widget_rows(table, d, args.quick)
    if not args.classroom and not args.skip_models:
        mlp_and_cnn.rows(table, d, args.quick)
    if args.notebooks or args.classroom:
        classroom.rows(table, class_environment=not args.laptop_kernels)
    header.append(f"load average: {load_before} before, {harness.load()} after (1, 5, 15 min)")

    print("\n".join(header))
    print()
    print(table.markdown())


if __name__ == "__main__":
    main()
