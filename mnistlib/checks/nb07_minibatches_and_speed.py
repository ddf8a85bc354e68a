"""Checks for the exercises of notebook 07, Mini-batches and speed (``notebooks/07_minibatches_and_speed.ipynb``)."""

import numpy as np

from .. import model
from .framework import CheckFailed, as_array, compare, exercise, fail, loop_over_items, run, seeded_rng
from .nb05_gradients import gradient_inputs, gradient_shortcuts, unpack_advice


# --- notebook 07: the batch gradient, looped and vectorised; an epoch of mini-batches ---

SMALL, LARGE = 2, 12          # batch sizes on which a check compares how much Python a function runs


def _batch(n):
    """A seeded batch of n examples: (X: (n, 784), y: (n,), W, b)."""
    rng = np.random.default_rng(n)
    X, _, W, b = gradient_inputs(1)
    return rng.uniform(0, 1, size=(n, 784)), np.arange(n) % 10, W, b


def _per_example(name, fn):
    """(what, where, how often) if fn's work grows with the batch, one step (a Python line or
    call) or more per example, else None (``loop_over_items`` on batches of SMALL and LARGE)."""
    small, large = ((n, _batch(n), f"{name}(X, y, W, b) with a batch X of shape ({n}, 784)")
                    for n in (SMALL, LARGE))
    return loop_over_items(name, fn, small, large, item="example", explain=unpack_advice)


def _gradients_loop_reference(X, y, W, b):
    """The batch gradient as the mean of the n one-example gradients, one example at a time."""
    dW = np.zeros(W.shape, dtype=np.result_type(X, W))
    db = np.zeros(b.shape, dtype=dW.dtype)
    for x_m, y_m in zip(X, y):
        d = model.softmax(x_m @ W + b)
        d[y_m] -= 1                        # p - y, with y one-hot
        dW += np.outer(x_m, d)
        db += d
    return dW / len(X), db / len(X)


def _gradient_pair(name, fn, X, y, W, b, call):
    """Run fn(X, y, W, b) and check its (dW, db) against the gradients of the mean loss."""
    n = len(X)
    dW, db, _ = model.gradients(X, y, W, b)
    got = run(name, fn, X, y, W, b, call=call, explain=unpack_advice)
    if not (isinstance(got, (tuple, list)) and len(got) == 2):
        fail(name, f"{call} returned {type(got).__name__}; expected a pair (dW, db).", "end with `return dW, db`.")
    gW = as_array(name, got[0], call + " (dW)")
    gb = as_array(name, got[1], call + " (db)")
    p = model.softmax(model.logits(X, W, b))
    if gW.shape == (10, 784):
        fail(name, f"{call} returned dW of shape (10, 784); expected (784, 10), the shape of W.",
             "each example's dW pairs every pixel (a row of W) with every class (a column): "
             "the pixels come first.",
             reveal="np.outer(x, p - y) has shape (784, 10); np.outer(p - y, x) is its transpose.")
    if gW.shape == dW.shape and np.all(np.isfinite(gW)) and n > 1:
        first, last = model.gradients(X[0], y[0], W, b)[0], model.gradients(X[-1], y[-1], W, b)[0]
        for wrong, why, hint, more, reveal in [
                (n * dW, f"is {n} times too large: the sum of the example gradients, not their mean",
                 "the batch loss is the mean of the example losses, so its gradient is the mean too.",
                 "divide the sum by n = len(X) once, at the end.", None),
                (dW / n, f"is 1/{n} of the expected: divided by n twice (in the loop and at the end?)",
                 "divide by n once.", None, None),
                (-dW, "has the wrong sign", "the gradient of one example is x^T (p - y), not x^T (y - p).",
                 None, None),
                (X.T @ p / n, "ignores the labels", "subtract the one-hot label y from p.", None, None),
                (X.T @ (p - y[:, None]) / n, "subtracts the label number y from every p_j",
                 "y must be one-hot: a row of ten numbers, 1 at the true class and 0 elsewhere.", None,
                 "np.eye(10)[y[m]] is the one-hot row of example m (or subtract 1 from p[y[m]] only)."),
                (last, "is the last example's gradient alone",
                 "add each example's gradient to a running sum instead of replacing it.",
                 "start the sums at zero, before the loop, and add to them in it.",
                 "dW = np.zeros_like(W) before the loop, dW += ... in it."),
                (first, "is the first example's gradient alone: did you return inside the loop?",
                 "return after the loop has gone through all the examples.", None, None),
                (last / n, "is the last example's gradient divided by n",
                 "add each example's gradient to a running sum (dW += ...) instead of replacing it.", None, None)]:
            if np.allclose(gW, wrong, rtol=1e-5, atol=1e-9):
                fail(name, f"{call}: dW {why}{'' if why.endswith('?') else '.'}", hint, more, reveal)
    compare(name, gW, dW, call=call + " (dW)",
            hint="dW is the mean over the examples of x^T (p - y), with y one-hot.")
    if gb.shape == db.shape and np.all(np.isfinite(gb)) and n > 1:
        for wrong, why in [(n * db, f"is {n} times too large: average over the examples, don't just add up"),
                           (-db, "has the wrong sign: each example contributes p - y"),
                           (p.mean(axis=0), "ignores the labels: subtract the one-hot y")]:
            if np.allclose(gb, wrong, rtol=1e-5, atol=1e-9):
                fail(name, f"{call}: db {why}.", "db is the mean over the examples of p - y.")
    compare(name, gb, db, call=call + " (db)", hint="db is the mean over the examples of p - y.")


def _gradient_cases():
    X, y, W, b = gradient_inputs(5)
    return [(X, y, W, b, "(X, y, W, b) with a batch X of shape (5, 784)"),
            (X[:1], y[:1], W, b, "(X, y, W, b) with a batch of one, X of shape (1, 784)")]


@exercise("gradients_loop", reference=lambda: _gradients_loop_reference, shortcuts=gradient_shortcuts, hints=[
    "start with one example m: its p = softmax(X[m] @ W + b), its dW the outer product of X[m] and p − y "
    "(y one-hot), its db p − y. Then go through all the examples with a loop.",
    "the batch loss is the mean of the example losses, so the batch gradient is the mean of the example "
    "gradients: add them up in the loop, into sums that start at zero, and divide by n once at the end.",
], reveal="for m in range(len(X)): d = softmax(X[m] @ W + b) - as_one_hot(y[m], 10); dW += np.outer(X[m], d); "
          "db += d   (then return dW / len(X), db / len(X))")
def check_gradients_loop(fn):
    """fn(X, y, W, b) -> (dW, db) of the mean loss, one example at a time.  X: (n, 784); y: (n,) labels."""
    name = "gradients_loop"
    for X, y, W, b, inputs in _gradient_cases():
        _gradient_pair(name, fn, X, y, W, b, f"gradients_loop{inputs}")
    if _per_example(name, fn) is None:
        fail(name, "your function gives the right numbers, but without a loop over the examples: it runs as "
                   f"many steps for a batch of {LARGE} as for a batch of {SMALL}. This is the loop version; "
                   "the next exercise is the one without a loop.",
             "go through the examples one at a time, with a for loop.",
             "in the loop, add example m's gradients to running sums; divide by n at the end.")
    return 2


@exercise("gradients_vectorised", reference=lambda: lambda X, y, W, b: model.gradients(X, y, W, b)[:2],
          shortcuts=gradient_shortcuts, hints=[
    "compute the softmax of the whole batch at once: P = softmax(X @ W + b), one row per example, and "
    "D = P − Y, with Y the one-hot labels: shape (n, 10).",
    "write entry (i, j) of the sum of the outer products: Σ_m X[m, i] D[m, j]. Which matrix product has "
    "exactly these entries? Compare with (AB)_ij = Σ_m A_im B_mj.",
    "db is the sum over the examples of the rows of D; divide both sums by n for the mean.",
], reveal="D = softmax(X @ W + b) - as_one_hot(y, 10); return X.T @ D / len(X), D.mean(axis=0)")
def check_gradients_vectorised(fn):
    """fn(X, y, W, b) -> (dW, db) of the mean loss, without a Python loop.  X: (n, 784); y: (n,) labels."""
    name = "gradients_vectorised"
    for X, y, W, b, inputs in _gradient_cases():
        _gradient_pair(name, fn, X, y, W, b, f"gradients_vectorised{inputs}")
    loop = _per_example(name, fn)
    if loop is not None:
        what, where, how_often = loop
        fail(name, f"your function gives the right numbers, but it goes through the batch one example at a "
                   f"time: {what}, {where}, ran {how_often}. The point of this version is to hand the whole "
                   "batch to numpy at once.",
             "your loop adds up n outer products, one per example. Stack the p - y of all the "
             "examples as the rows of one (n, 10) matrix D, as X stacks the x; write entry (i, j) "
             "of the sum and compare it with the definition of a matrix product.")
    return 2


class _RecordingRng:
    """A seeded numpy Generator that remembers each random order or sample drawn from it,
    so that a check can replay the epoch that the learner's function made.

    ``draws`` holds, in order, the index array behind each draw (None for a draw
    that is not an order or a sample of indices).
    """

    def __init__(self, seed):
        self._rng = np.random.default_rng(seed)
        self.draws = []
        self.shuffled = False          # shuffle() reorders an array in place

    def _order(self, n):
        order = self._rng.permutation(n)
        self.draws.append(order.copy())
        return order

    def permutation(self, x, axis=0):
        if isinstance(x, (int, np.integer)):
            return self._order(x)
        return np.asarray(x)[self._order(len(x))]

    def shuffle(self, x, axis=0):
        self.shuffled = True
        order = self._order(len(x))
        if isinstance(x, list):
            x[:] = [x[i] for i in order]
        else:
            x[...] = np.asarray(x)[order]

    def permuted(self, x, axis=None, out=None):
        x = np.asarray(x)
        if x.ndim != 1 or out is not None:
            return self.__getattr__("permuted")(x, axis=axis, out=out)
        return x[self._order(len(x))]

    def choice(self, a, size=None, replace=True, p=None, axis=0, shuffle=True):
        whole = isinstance(a, (int, np.integer))
        idx = self._rng.choice(a if whole else len(a), size=size, replace=replace, p=p, shuffle=shuffle)
        self.draws.append(np.atleast_1d(idx).copy())
        return idx if whole else np.asarray(a)[idx]

    def integers(self, *args, **kwargs):
        out = self._rng.integers(*args, **kwargs)
        self.draws.append(np.atleast_1d(out).copy())
        return out

    def __getattr__(self, attr):
        method = getattr(self._rng, attr)
        if not callable(method):
            return method

        def drawn(*args, **kwargs):
            self.draws.append(None)
            return method(*args, **kwargs)
        return drawn


def _epoch_reference(X, y, W, b, lr, batch_size, rng):
    order = rng.permutation(len(X))
    for start in range(0, len(X), batch_size):
        rows = order[start:start + batch_size]
        dW, db, _ = model.gradients(X[rows], y[rows], W, b)
        W, b = W - lr * dW, b - lr * db
    return W, b


def _replay(X, y, W, b, lr, batches, update_b=True):
    """W, b after one update per batch; batches: [(rows of X, rows of y)]."""
    for rx, ry in batches:
        dW, db, _ = model.gradients(X[rx], y[ry], W, b)
        W, b = W - lr * dW, (b - lr * db if update_b else b)
    return W, b


def _epoch_inputs(n):
    rng = seeded_rng()
    X = rng.uniform(0, 1, size=(n, 784))
    W = rng.normal(0, 0.05, size=(784, 10))
    b = rng.normal(0, 0.5, size=10)
    y = (3 + 7 * np.arange(n)) % 10
    return X, y, W, b


def _partitions(order, bs):
    """The ways of cutting ``order`` into batches of at most ``bs`` that the check accepts:
    slices of bs from the start (the last one shorter), or np.array_split into as few
    nearly equal batches as that allows."""
    n = len(order)
    return [[(r, r) for r in np.array_split(order, range(bs, n, bs))],
            [(r, r) for r in np.array_split(order, -(-n // bs))]]


def _epoch_mistakes(X, y, W, b, lr, bs, orders):
    """[(W, b, what went wrong, hint, more, reveal)]: epochs as learners get them wrong.

    ``orders`` are the random orders the learner's function drew (the first one is
    the epoch's order).
    """
    n = len(X)
    o = orders[0] if orders else np.arange(n)
    slices = lambda rows: [rows[s:s + bs] for s in range(0, len(rows), bs)]   # noqa: E731
    same = lambda rows: [(r, r) for r in slices(rows)]                         # noqa: E731
    grads = [model.gradients(X[r], y[r], W, b)[:2] for r in slices(o)]
    take = "rows = order[start:start + batch_size], then X[rows], y[rows]."
    mistakes = []
    if orders:
        mistakes.append((*_replay(X, y, W, b, lr, same(np.arange(n))),
                         "drew a random order but went through X in its original order",
                         "take each batch's rows from the order you drew, not from X as it is.", None, take))
    else:
        mistakes.append((*_replay(X, y, W, b, lr, same(np.arange(n))),
                         "did not shuffle: it went through X in its original order",
                         "draw a random order of the n examples from rng, the generator your function is given.",
                         None, "order = rng.permutation(len(X)) at the start of the epoch; then " + take))
    mistakes.append((*_replay(X, y, W, b, lr, [(r, np.arange(n)[s:s + bs]) for s, r in
                                               zip(range(0, n, bs), slices(o))]),
                     "shuffled the images but not their labels, so most images were trained with "
                     "another image's label", "reorder X and y with the same order.", None, take))
    if len(orders) >= 2:
        mistakes.append((*_replay(X, y, W, b, lr, list(zip(slices(orders[0]), slices(orders[1])))),
                         "shuffled the images and the labels with two different random orders, so most "
                         "images were trained with another image's label",
                         "draw one order and use it for both X and y.", None, take))
    for k in range(bs, n, bs):
        if k == bs:
            what, hint = ("made only the first update: is the `return` inside the loop?",
                          "return W and b after the loop, once every batch has made its update.")
        else:
            what = f"stopped after {k} of the {n} examples: " + (
                "it skipped the last, shorter batch" if n - k < bs else "it stopped one batch early")
            hint = (f"the batches start at 0, {bs}, {2 * bs}, ... and go on while the start is below "
                    f"n = {n}; the last batch may be shorter.")
        mistakes.append((*_replay(X, y, W, b, lr, same(o[:k])), what, hint, None,
                         "for start in range(0, len(X), batch_size): rows = order[start:start + batch_size]"))
    mistakes.append((*_replay(X, y, W, b, lr, [(o, o)]), f"made a single update with all {n} examples",
                     "one update per batch of batch_size examples.", None, None))
    mistakes.append((*_replay(X, y, W, b, lr, [(o[i:i + 1], o[i:i + 1]) for i in range(n)]),
                     "made one update per example, not per batch",
                     f"take batch_size = {bs} examples at a time, and make one update with their mean gradient.",
                     None, "rows = order[start:start + batch_size]; dW, db, _ = gradients(X[rows], y[rows], W, b)"))
    k = -(-n // bs)
    if n // bs != k:
        mistakes.append((*_replay(X, y, W, b, lr, [(r, r) for r in np.array_split(o, n // bs)]),
                         f"made {n // bs} batches of more than batch_size = {bs} examples",
                         f"{n} examples in batches of at most {bs} make {k} batches.", None,
                         f"np.array_split(order, {k}), or slices order[start:start + batch_size] "
                         "for start in range(0, n, batch_size)."))
    sum_dW, sum_db = sum(g[0] for g in grads), sum(g[1] for g in grads)
    mistakes.append((W - lr * sum_dW, b - lr * sum_db,
                     "took every batch's gradient at the W it started with, not at the W after the "
                     "previous update", "compute each batch's gradient with the current W and b, "
                     "and update them before the next batch.", None, None))
    mistakes.append((W - lr * sum_dW / len(grads), b - lr * sum_db / len(grads),
                     "made one update for the whole epoch, with the average of the batch gradients",
                     "update W and b after every batch, inside the loop.", None, None))
    mistakes.append((W - lr * grads[-1][0], b - lr * grads[-1][1],
                     "started every update again from the W it was given, so only the last batch counts",
                     "keep each update, so that the next batch starts from it.", None,
                     "W = W - lr * dW (not W_new = W - lr * dW, which leaves W as it was)."))
    mistakes.append((*_replay(X, y, W, b, lr, same(o), update_b=False), "updated W but not b",
                     "b gets its own update, in the same loop as W.", None, "b = b - lr * db"))
    return mistakes + _batch_count_mistakes(X, y, W, b, lr, bs, o)


def _batch_count_mistakes(X, y, W, b, lr, bs, o):
    """Epochs that mix up the number of batches with their size: batch_size batches of about
    n / batch_size examples. (With n near batch_size², they are nearly the right epoch.)"""
    n = len(X)
    why = (f"made about {bs} batches of about {n / bs:.3g} examples each: batch_size is the number of "
           "examples in each batch, not the number of batches")
    hint = (f"with n = {n} and batch_size = {bs} there are {-(-n // bs)} batches: {bs} examples each, the last "
            "one shorter if n is not a multiple of batch_size.")
    more = "the number of batches is n / batch_size, rounded up; each batch holds batch_size rows of the order."
    found = [(*_replay(X, y, W, b, lr, [(r, r) for r in np.array_split(o, bs)]), why, hint, more, None)]
    for size in {n // bs, -(-n // bs)} - {0, bs}:
        found.append((*_replay(X, y, W, b, lr, [(o[s:s + size], o[s:s + size]) for s in range(0, n, size)]),
                      why, hint, more, None))
    return found


def _empty_batch_advice(n, bs):
    def explain(error, watch=None):
        if "empty" in str(error) or "(0, " in str(error):      # a batch of shape (0, 784)
            return (f"one of your batches came out empty. With n = {n} and batch_size = {bs} the "
                    f"batches start at {', '.join(str(s) for s in range(0, n, bs))}: does your loop also "
                    f"start one at {n}, or does the end of your slice not move with its start?", None,
                    "for start in range(0, len(X), batch_size): rows = order[start:start + batch_size]")
        if "examples but y has" in str(error) or "labels" in str(error):
            return ("a batch of images and its labels must be the same rows: X[rows] and y[rows].", None)
        return unpack_advice(error, watch)
    return explain


def _train():
    from .. import train
    return train


@exercise("minibatch_epoch", reference=lambda: _epoch_reference,
          shortcuts=lambda: {_train().train: "which runs whole epochs"}, hints=[
    "three steps, in order: draw one random order of the n examples from rng; cut it into batches of "
    "batch_size examples; make one update per batch.",
    "the batches start at 0, batch_size, 2 batch_size, ... as long as the start is below n; the last one may "
    "be shorter. A batch's rows come from the order, the same rows of X and of y.",
    "in the loop: the gradients of the batch at the current W and b, then W and b replaced by the stepped "
    "ones, so that the next batch starts from them. Return after the loop.",
], reveal="order = rng.permutation(len(X)); for start in range(0, len(X), batch_size): rows = "
          "order[start:start + batch_size]; dW, db, _ = gradients(X[rows], y[rows], W, b); "
          "W, b = W - lr * dW, b - lr * db")
def check_minibatch_epoch(fn):
    """fn(X, y, W, b, lr, batch_size, rng) -> (W, b) after one epoch: one pass over X in a
    random order drawn from rng, one update per batch of batch_size (the last may be shorter)."""
    name = "minibatch_epoch"
    lr = 0.5
    # Batches of 3: 8 examples make 3, 3, 2; 9 make 3, 3, 3; 7 make 3, 3, 1 (np.array_split
    # into as few batches cuts 7 as 3, 2, 2, which the check accepts as well). Then n far from
    # batch_size², where the number of batches and their size differ: 10 in 5 batches of 2,
    # 5 in a batch of 4 and one of 1; and batches of one, 3 examples in 3 updates.
    cases = [(8, 3), (9, 3), (7, 3), (10, 2), (5, 4), (3, 1)]
    for n, bs in cases:
        X, y, W, b = _epoch_inputs(n)
        rng = _RecordingRng(7)
        sizes = ", ".join(str(len(r)) for r in np.array_split(np.arange(n), range(bs, n, bs)))
        call = (f"minibatch_epoch(X, y, W, b, lr=0.5, batch_size={bs}, rng) with {n} examples "
                f"(batches of {sizes})")
        try:
            got = run(name, fn, X, y, W, b, lr, bs, rng, call=call,
                      explain=_empty_batch_advice(n, bs))
        except CheckFailed as failure:
            if "changed its input" in str(failure) and rng.shuffled:
                fail(name, f"{call}: your function shuffled an array it was given in place: rng.shuffle "
                           "reorders the caller's own X or y.",
                     "draw a random order of the indices instead, and index with it: X[order] is a new array.",
                     reveal="order = rng.permutation(len(X)), then rows = order[start:start + batch_size].")
            raise
        if not (isinstance(got, (tuple, list)) and len(got) == 2):
            fail(name, f"{call} returned {type(got).__name__}; expected a pair (W, b).", "end with `return W, b`.")
        gW = as_array(name, got[0], call + " (W)")
        gb = as_array(name, got[1], call + " (b)")
        if gW.shape != W.shape or gb.shape != b.shape:
            fail(name, f"{call} returned W of shape {gW.shape} and b of shape {gb.shape}; expected "
                       f"{W.shape} and {b.shape}.", "return the updated W and b, in that order.")
        if not (np.all(np.isfinite(gW)) and np.all(np.isfinite(gb))):
            fail(name, f"{call} returned W or b with nan or inf in it.",
                 "did a batch come out empty? The mean of no examples is 0/0 = nan. Print the rows of "
                 "each batch.",
                 reveal="for start in range(0, len(X), batch_size): rows = order[start:start + batch_size]")
        close = lambda a, e: np.allclose(a, e, rtol=1e-6, atol=1e-9)              # noqa: E731
        orders = [d for d in rng.draws
                  if d is not None and d.shape == (n,) and np.array_equal(np.sort(d), np.arange(n))]
        if any(close(gW, eW) and close(gb, eb) for eW, eb in
               (_replay(X, y, W, b, lr, batches) for o in orders for batches in _partitions(o, bs))):
            continue
        for eW, eb, why, hint, more, reveal in _epoch_mistakes(X, y, W, b, lr, bs, orders):
            if close(gW, eW) and close(gb, eb):
                fail(name, f"{call}: your epoch {why}{'' if why.endswith('?') else '.'}", hint, more, reveal)
        if len(rng.draws) > 1:
            fail(name, f"{call}: your function drew {len(rng.draws)} random orders or samples in one epoch.",
                 "an epoch goes through every example exactly once: draw one random order at the start, "
                 "and take the batches from it one after the other.",
                 reveal="order = rng.permutation(len(X)) before the loop; rows = order[start:start + batch_size] "
                        "in it.")
        if not rng.draws:
            fail(name, f"{call}: your function did not draw its order from rng, the generator it is given.",
                 "shuffle with rng (rng.permutation), not np.random: then runs repeat, and the check "
                 "can replay your epoch.")
        expected = _replay(X, y, W, b, lr, _partitions(orders[0], bs)[0]) if orders else \
            _epoch_reference(X, y, W, b, lr, bs, np.random.default_rng(7))
        hint = ("for each batch: the gradients of its images and labels at the current W and b, then one "
                "step with them, kept for the next batch.")
        compare(name, gW, expected[0], call=call + " (W)", hint=hint)
        compare(name, gb, expected[1], call=call + " (b)", hint=hint)
    return len(cases)
