"""One epoch of mnistlib's train() against the same network and loop in PyTorch.

PyTorch is optional: without it ``torch`` is None, only mnistlib is timed and
the rows say that the comparison was skipped.
"""

import harness
import training
from training import BATCH

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    torch = None


def version_line():
    """The header's line on PyTorch."""
    if torch is None:
        return "PyTorch: not installed: the PyTorch comparison is skipped"
    return f"PyTorch: {torch.__version__} (CPU)"


def network(name):
    """mnistlib's model ``name`` as PyTorch layers, and the shape its input takes: (net, shape).

    Softmax regression starts at zero, as in train(); the MLP and the CNN
    start from PyTorch's own initialisation.
    """
    nn = torch.nn
    if name == "softmax":
        net = nn.Linear(784, 10)
        with torch.no_grad():
            net.weight.zero_()
            net.bias.zero_()
        return net, (-1, 784)
    if name == "mlp":
        n_hidden = training.MLP.N_HIDDEN
        return nn.Sequential(nn.Linear(784, n_hidden), nn.ReLU(), nn.Linear(n_hidden, 10)), (-1, 784)
    (F1, F2), k, n_hidden = training.CNN.CHANNELS, training.CNN.KERNEL, training.CNN.N_HIDDEN
    side = ((28 - k + 1) // 2 - k + 1) // 2
    return nn.Sequential(nn.Conv2d(1, F1, k), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(F1, F2, k), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(F2 * side * side, n_hidden), nn.ReLU(),
                         nn.Linear(n_hidden, 10)), (-1, 1, 28, 28)


def torch_epoch(net, shape, x, y, lr, seed=0):
    """One epoch of plain SGD in PyTorch: cross-entropy, batches of BATCH.

    A fresh permutation, one indexing per batch, and the loss read back as a
    Python float every update (mnistlib reads it for its divergence check).
    x: (n, 784) float32 tensor, y: (n,) int64 tensor.
    """
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    order = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(seed))
    total = 0.0
    for start in range(0, x.shape[0], BATCH):
        idx = order[start:start + BATCH]
        loss = F.cross_entropy(net(x[idx].view(shape)), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item()
    return total


def epoch_times(d, name, lr, threads, repeats, lift_limit=False, with_torch=True):
    """One epoch of model ``name``, mnistlib against PyTorch, on ``threads`` threads.

    Interleaved runs (harness.interleaved); each starts from a fresh model.
    lift_limit: mnistlib's train() may use more than its one BLAS thread.
    Returns {"mnistlib": Timing, "torch": Timing}, without "torch" if
    PyTorch is missing or not with_torch.
    """
    fns = {"mnistlib": lambda: training.epoch(d, training.MODELS[name], lr, lift_limit)}
    if torch and with_torch:
        torch.set_num_threads(threads or 1)
        x, y = torch.from_numpy(d.x_train), torch.from_numpy(d.y_train.astype("int64"))

        def torch_run():
            net, shape = network(name)
            return torch_epoch(net, shape, x, y, lr)
        fns["torch"] = torch_run
    with harness.blas_threads(threads):
        return harness.interleaved(fns, repeats)


def epoch_times_in_child(name, lr, repeats, with_torch):
    """For harness.run_child: load MNIST and time one-thread epochs. Returns {impl: {wall, fastest, cpu}}."""
    from dataclasses import asdict
    d, _ = harness.load_data()
    times = epoch_times(d, name, lr, 1, repeats, with_torch=with_torch)
    return {impl: asdict(t) for impl, t in times.items()}
