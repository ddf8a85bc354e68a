"""The checks of notebook 07: the batch gradient as a loop and vectorised, and one epoch of mini-batches.

Each check must pass right answers written in different ways and reject the wrong
answers learners write, with a message that names the mistake.
"""

import numpy as np
import pytest

from mnistlib import checks, model

from helpers import fails


# --- notebook 07: the batch gradient as a loop, then vectorised ---------------------
# The checks tell a loop from numpy by running the function on a small and a large batch.

def _one_hot(label):
    return np.eye(10)[label]


def loop_outer(X, y, W, b):
    dW, db = np.zeros_like(W), np.zeros_like(b)
    for m in range(len(X)):
        d = model.softmax(X[m] @ W + b) - _one_hot(y[m])
        dW += np.outer(X[m], d)
        db += d
    return dW / len(X), db / len(X)


def loop_zip_while(X, y, W, b):
    grads_W, grads_b, m = [], [], 0
    while m < len(X):
        p = model.softmax(model.logits(X[m], W, b))
        p[y[m]] -= 1
        grads_W.append(X[m][:, None] * p[None, :])
        grads_b.append(p)
        m += 1
    return np.mean(grads_W, axis=0), np.mean(grads_b, axis=0)


def loop_every_entry(X, y, W, b):
    n = len(X)
    dW, db = np.zeros((784, 10)), np.zeros(10)
    for m in range(n):
        d = model.softmax(X[m] @ W + b) - model.as_one_hot(y[m], 10)
        for j in range(10):
            dW[:, j] += X[m] * d[j] / n
            db[j] += d[j] / n
    return dW, db


@pytest.mark.parametrize("fn", [loop_outer, loop_zip_while, loop_every_entry])
def test_gradients_loop_accepts_loops_written_differently(fn, capsys):
    assert checks.check_gradients_loop(fn) is fn
    assert capsys.readouterr().out == "✓ gradients_loop: all 2 checks passed\n"


def loop_sum(X, y, W, b):
    dW, db = np.zeros_like(W), np.zeros_like(b)
    for m in range(len(X)):
        d = model.softmax(X[m] @ W + b) - _one_hot(y[m])
        dW += np.outer(X[m], d)
        db += d
    return dW, db


def loop_divides_twice(X, y, W, b):
    dW, db = np.zeros_like(W), np.zeros_like(b)
    for m in range(len(X)):
        d = model.softmax(X[m] @ W + b) - _one_hot(y[m])
        dW += np.outer(X[m], d) / len(X)
        db += d / len(X)
    return dW / len(X), db / len(X)


def loop_y_minus_p(X, y, W, b):
    dW, db = np.zeros_like(W), np.zeros_like(b)
    for m in range(len(X)):
        d = _one_hot(y[m]) - model.softmax(X[m] @ W + b)
        dW += np.outer(X[m], d)
        db += d
    return dW / len(X), db / len(X)


def loop_no_labels(X, y, W, b):
    dW, db = np.zeros_like(W), np.zeros_like(b)
    for m in range(len(X)):
        p = model.softmax(X[m] @ W + b)
        dW += np.outer(X[m], p)
        db += p
    return dW / len(X), db / len(X)


def loop_label_number(X, y, W, b):
    dW, db = np.zeros_like(W), np.zeros_like(b)
    for m in range(len(X)):
        d = model.softmax(X[m] @ W + b) - y[m]
        dW += np.outer(X[m], d)
        db += d
    return dW / len(X), db / len(X)


def loop_overwrites(X, y, W, b):
    for m in range(len(X)):
        d = model.softmax(X[m] @ W + b) - _one_hot(y[m])
        dW = np.outer(X[m], d)
        db = d
    return dW, db


def loop_returns_early(X, y, W, b):
    dW, db = np.zeros_like(W), np.zeros_like(b)
    for m in range(len(X)):
        d = model.softmax(X[m] @ W + b) - _one_hot(y[m])
        dW += np.outer(X[m], d)
        db += d
        return dW, db


def loop_transposed(X, y, W, b):
    dW, db = np.zeros((10, 784)), np.zeros(10)
    for m in range(len(X)):
        d = model.softmax(X[m] @ W + b) - _one_hot(y[m])
        dW += np.outer(d, X[m])
        db += d
    return dW / len(X), db / len(X)


def loop_into_W(X, y, W, b):
    dW, db = W, np.zeros_like(b)
    dW *= 0
    for m in range(len(X)):
        d = model.softmax(X[m] @ W + b) - _one_hot(y[m])
        dW += np.outer(X[m], d)
        db += d
    return dW / len(X), db / len(X)


def loop_int_zeros(X, y, W, b):
    dW, db = np.zeros((784, 10), dtype=int), np.zeros(10, dtype=int)
    for m in range(len(X)):
        d = model.softmax(X[m] @ W + b) - _one_hot(y[m])
        dW += np.outer(X[m], d)
        db += d
    return dW / len(X), db / len(X)


def loop_unpacks_two(X, y, W, b):
    dW, db = np.zeros_like(W), np.zeros_like(b)
    for m in range(len(X)):
        dW_m, db_m = model.gradients(X[m], y[m], W, b)
        dW, db = dW + dW_m, db + db_m
    return dW / len(X), db / len(X)


def loop_forgot_zip(X, y, W, b):
    dW, db = np.zeros_like(W), np.zeros_like(b)
    for x, t in X, y:
        d = model.softmax(x @ W + b) - _one_hot(t)
        dW += np.outer(x, d)
        db += d
    return dW / len(X), db / len(X)


def loop_forgot_enumerate(X, y, W, b):
    dW, db = np.zeros_like(W), np.zeros_like(b)
    for m, x in X:
        d = model.softmax(x @ W + b) - _one_hot(y[m])
        dW += np.outer(x, d)
        db += d
    return dW / len(X), db / len(X)


def loop_calls_gradients(X, y, W, b):
    dW, db = np.zeros_like(W), np.zeros_like(b)
    for m in range(len(X)):
        dW_m, db_m, _ = model.gradients(X[m], y[m], W, b)
        dW, db = dW + dW_m, db + db_m
    return dW / len(X), db / len(X)


def no_loop(X, y, W, b):
    D = model.softmax(X @ W + b) - model.as_one_hot(y, 10)
    return X.T @ D / len(X), D.mean(axis=0)


@pytest.mark.parametrize("fn, phrases", [
    (loop_sum, ["5 times too large", "not their mean"]),
    (loop_divides_twice, ["1/5 of the expected", "divided by n twice"]),
    (loop_y_minus_p, ["wrong sign"]),
    (loop_no_labels, ["ignores the labels"]),
    (loop_label_number, ["subtracts the label number y", "one-hot"]),
    (loop_overwrites, ["last example's gradient alone", "running sum"]),
    (loop_returns_early, ["first example's gradient alone", "return inside the loop"]),
    (loop_transposed, ["shape (10, 784)", "pixels come first"]),
    (loop_into_W, ["changed its input W"]),
    (loop_int_zeros, ["Cannot cast", "integers"]),
    (loop_unpacks_two, ["calls gradients() from mnistlib.model", "line 4 of it", "which does the whole job"]),
    (loop_calls_gradients, ["calls gradients() from mnistlib.model", "yourself"]),
    (no_loop, ["without a loop over the examples", "as many steps for a batch of 12 as for a batch of 2"]),
    (lambda X, y, W, b: loop_outer(X, y, W, b)[0], ["expected a pair (dW, db)"]),
])
def test_gradients_loop_names_the_mistake(fn, phrases):
    fails(checks.check_gradients_loop, fn, *phrases)


@pytest.mark.parametrize("fn", [loop_forgot_zip, loop_forgot_enumerate])
def test_gradients_loop_that_unpacks_wrongly_is_not_told_about_gradients(fn):
    # Was told "mnistlib's gradients returns three things": it never called gradients.
    err = fails(checks.check_gradients_loop, fn, "too many values to unpack", "`for x, t in X, y`")
    assert "mnistlib's gradients" not in str(err) and "zip(X, y)" in err.more


def test_gradients_loop_hints_then_the_line_on_request(capsys):
    checks.check_gradients_loop(loop_overwrites)
    first = capsys.readouterr().out
    assert "dW +=" not in first and 'hint("gradients_loop")' in first
    checks.hint("gradients_loop")
    out = capsys.readouterr().out
    assert "start the sums at zero" in out and "dW +=" not in out
    checks.hint("gradients_loop", reveal=True)
    assert "dW += ..." in capsys.readouterr().out


def test_gradients_loop_accepts_a_loop_in_a_helper_of_any_name():
    # Judged before by the function's own source: a loop in a helper was "without a loop".
    def gradients_loop(X, y, W, b):
        return vec_matmul_in_steps(X, y, W, b)
    assert checks.check_gradients_loop(gradients_loop, strict=True) is gradients_loop


def vec_matmul(X, y, W, b):
    D = model.softmax(X @ W + b) - model.as_one_hot(y, 10)
    return X.T @ D / len(X), D.mean(axis=0)


def vec_einsum(X, y, W, b):
    P = model.softmax(model.logits(X, W, b))
    P[np.arange(len(X)), y] -= 1
    return np.einsum("mi,mj->ij", X, P) / len(X), P.sum(axis=0) / len(X)


def vec_broadcast_outer(X, y, W, b):
    D = model.softmax(X @ W + b) - np.eye(10)[y]
    return (X[:, :, None] * D[:, None, :]).mean(axis=0), np.mean(D, axis=0)


def vec_matmul_in_steps(X, y, W, b):
    """A loop over the examples, in a helper whose name says nothing of it."""
    return loop_outer(X, y, W, b)


def vec_loop_over_classes(X, y, W, b):
    """A loop over the 10 classes: the batch still goes to numpy whole."""
    D = model.softmax(X @ W + b) - model.as_one_hot(y, 10)
    dW = np.zeros((784, 10))
    for j in range(10):
        dW[:, j] = X.T @ D[:, j] / len(X)
    return dW, D.mean(axis=0)


@pytest.mark.parametrize("fn", [vec_matmul, vec_einsum, vec_broadcast_outer, vec_loop_over_classes])
def test_gradients_vectorised_accepts_forms_written_differently(fn, capsys):
    assert checks.check_gradients_vectorised(fn) is fn
    assert capsys.readouterr().out == "✓ gradients_vectorised: all 2 checks passed\n"


def vec_comprehension(X, y, W, b):
    D = model.softmax(X @ W + b) - model.as_one_hot(y, 10)
    return np.mean([np.outer(x, d) for x, d in zip(X, D)], axis=0), D.mean(axis=0)


def vec_calls_the_loop(X, y, W, b):
    return loop_outer(X, y, W, b)


def vec_library(X, y, W, b):
    return model.gradients(X, y, W, b)[:2]


def vec_map(X, y, W, b):
    D = model.softmax(X @ W + b) - model.as_one_hot(y, 10)
    return np.mean(list(map(np.outer, X, D)), axis=0), D.mean(axis=0)


def vec_apply_along_axis(X, y, W, b):
    D = model.softmax(X @ W + b) - model.as_one_hot(y, 10)
    rows = np.apply_along_axis(lambda r: np.outer(r[:784], r[784:]), 1, np.hstack([X, D]))
    return rows.mean(axis=0), D.mean(axis=0)


def vec_sum(X, y, W, b):
    D = model.softmax(X @ W + b) - model.as_one_hot(y, 10)
    return X.T @ D, D.sum(axis=0)


def vec_transposed(X, y, W, b):
    D = model.softmax(X @ W + b) - model.as_one_hot(y, 10)
    return D.T @ X / len(X), D.mean(axis=0)


def vec_db_wrong_axis(X, y, W, b):
    D = model.softmax(X @ W + b) - model.as_one_hot(y, 10)
    return X.T @ D / len(X), D.mean(axis=1)


def vec_sign(X, y, W, b):
    D = model.as_one_hot(y, 10) - model.softmax(X @ W + b)
    return X.T @ D / len(X), D.mean(axis=0)


def vec_softmax_overwrites_W(X, y, W, b):
    W -= 0                                    # harmless ...
    W[0, 0] = W[0, 0] + 1e-3                  # ... but this one changes the caller's W
    D = model.softmax(X @ W + b) - model.as_one_hot(y, 10)
    return X.T @ D / len(X), D.mean(axis=0)


@pytest.mark.parametrize("fn, phrases", [
    (vec_comprehension, ["a comprehension", "line 3"]),
    (vec_calls_the_loop, ["one example at a time", "a for loop, line 3 of loop_outer, ran 13 times for a batch of 12 examples, "
                            "3 for a batch of 2"]),
    (vec_matmul_in_steps, ["one example at a time", "line 3 of loop_outer"]),
    (vec_library, ["gradients() from mnistlib.model", "which does the whole job", "yourself"]),
    (vec_apply_along_axis, ["one example at a time", "line 3 of it", "ran 12 times for a batch of 12"]),
    (vec_map, ["one example at a time", "outer(), called once per example"]),
    (vec_sum, ["5 times too large"]),
    (vec_transposed, ["shape (10, 784)"]),
    (vec_db_wrong_axis, ["(db) returned shape (5,), expected (10,)"]),
    (vec_sign, ["wrong sign"]),
    (vec_softmax_overwrites_W, ["changed its input W"]),
])
def test_gradients_vectorised_names_the_mistake(fn, phrases):
    fails(checks.check_gradients_vectorised, fn, *phrases)


def test_gradients_loop_accepts_a_comprehension_as_its_loop():
    assert checks.check_gradients_loop(vec_comprehension, strict=True) is vec_comprehension


def test_gradients_vectorised_nudges_first_then_gives_the_line(capsys):
    checks.check_gradients_vectorised(vec_comprehension)
    first = capsys.readouterr().out
    assert "matrix product" in first and "X.T @" not in first
    checks.hint("gradients_vectorised")
    assert "X.T @" not in capsys.readouterr().out
    checks.hint("gradients_vectorised", reveal=True)
    assert "X.T @ D" in capsys.readouterr().out


def test_code_without_source_is_judged_by_what_it_does_too():
    # Code whose source cannot be read (typed at a bare interpreter prompt) was passed on its numbers.
    compiled = {}
    exec(compile("import numpy as np\nfrom mnistlib import model\n"
                 "def library(X, y, W, b):\n    return model.gradients(X, y, W, b)[:2]\n"
                 "def loop(X, y, W, b):\n    D = model.softmax(X @ W + b) - np.eye(10)[y]\n"
                 "    return sum(np.outer(x, d) for x, d in zip(X, D)) / len(X), D.mean(axis=0)\n",
                 "<no file>", "exec"), compiled)
    fails(checks.check_gradients_vectorised, compiled["library"], "gradients() from mnistlib.model")
    fails(checks.check_gradients_vectorised, compiled["loop"], "one example at a time")
    assert checks.check_gradients_loop(compiled["loop"], strict=True) is compiled["loop"]


# --- notebook 07: one epoch of mini-batch gradient descent ---------------------------

def epoch_for(X, y, W, b, lr, batch_size, rng):
    order = rng.permutation(len(X))
    for start in range(0, len(X), batch_size):
        rows = order[start:start + batch_size]
        dW, db, _ = model.gradients(X[rows], y[rows], W, b)
        W, b = W - lr * dW, b - lr * db
    return W, b


def epoch_while_shuffled_copy(X, y, W, b, lr, batch_size, rng):
    idx = np.arange(len(X))
    rng.shuffle(idx)
    Xs, ys = X[idx], y[idx]
    start = 0
    while start < len(Xs):
        dW, db, _ = model.gradients(Xs[start:start + batch_size], ys[start:start + batch_size], W, b)
        W = W - lr * dW
        b = b - lr * db
        start += batch_size
    return W, b


def epoch_array_split(X, y, W, b, lr, batch_size, rng):
    order = rng.permutation(len(X))
    for rows in np.array_split(order, int(np.ceil(len(X) / batch_size))):
        dW, db, _ = model.gradients(X[rows], y[rows], W, b)
        W, b = W - lr * dW, b - lr * db
    return W, b


def epoch_own_gradients_choice(X, y, W, b, lr, batch_size, rng):
    order = rng.choice(len(X), size=len(X), replace=False)
    batches = np.array_split(order, range(batch_size, len(X), batch_size))
    for rows in batches:
        D = model.softmax(X[rows] @ W + b) - np.eye(10)[y[rows]]
        W = W - lr * X[rows].T @ D / len(rows)
        b = b - lr * D.mean(axis=0)
    return W, b


@pytest.mark.parametrize("fn", [epoch_for, epoch_while_shuffled_copy, epoch_array_split,
                                epoch_own_gradients_choice])
def test_minibatch_epoch_accepts_epochs_written_differently(fn, capsys):
    assert checks.check_minibatch_epoch(fn) is fn
    assert capsys.readouterr().out == "✓ minibatch_epoch: all 6 checks passed\n"


def epoch_to_n_plus_1(X, y, W, b, lr, batch_size, rng):
    order = rng.permutation(len(X))
    for start in range(0, len(X) + 1, batch_size):
        rows = order[start:start + batch_size]
        dW, db, _ = model.gradients(X[rows], y[rows], W, b)
        W, b = W - lr * dW, b - lr * db
    return W, b


def epoch_slice_end_fixed(X, y, W, b, lr, batch_size, rng):
    order = rng.permutation(len(X))
    Xs, ys = X[order], y[order]
    for start in range(0, len(X), batch_size):
        dW, db, _ = model.gradients(Xs[start:batch_size], ys[start:batch_size], W, b)
        W, b = W - lr * dW, b - lr * db
    return W, b


def epoch_own_gradients_empty(X, y, W, b, lr, batch_size, rng):
    order = rng.permutation(len(X))
    for start in range(0, len(X) + 1, batch_size):
        rows = order[start:start + batch_size]
        D = model.softmax(X[rows] @ W + b) - np.eye(10)[y[rows]]
        W, b = W - lr * X[rows].T @ D / len(rows), b - lr * D.mean(axis=0)
    return W, b


def epoch_full_batches_only(X, y, W, b, lr, batch_size, rng):
    order = rng.permutation(len(X))
    for i in range(len(X) // batch_size):
        rows = order[i * batch_size:(i + 1) * batch_size]
        dW, db, _ = model.gradients(X[rows], y[rows], W, b)
        W, b = W - lr * dW, b - lr * db
    return W, b


def epoch_to_n_minus_batch(X, y, W, b, lr, batch_size, rng):
    order = rng.permutation(len(X))
    for start in range(0, len(X) - batch_size, batch_size):
        rows = order[start:start + batch_size]
        dW, db, _ = model.gradients(X[rows], y[rows], W, b)
        W, b = W - lr * dW, b - lr * db
    return W, b


def epoch_to_n_minus_1(X, y, W, b, lr, batch_size, rng):
    order = rng.permutation(len(X))
    for start in range(0, len(X) - 1, batch_size):
        rows = order[start:start + batch_size]
        dW, db, _ = model.gradients(X[rows], y[rows], W, b)
        W, b = W - lr * dW, b - lr * db
    return W, b


def epoch_unshuffled(X, y, W, b, lr, batch_size, rng):
    for start in range(0, len(X), batch_size):
        dW, db, _ = model.gradients(X[start:start + batch_size], y[start:start + batch_size], W, b)
        W, b = W - lr * dW, b - lr * db
    return W, b


def epoch_order_unused(X, y, W, b, lr, batch_size, rng):
    order = rng.permutation(len(X))      # noqa: F841
    return epoch_unshuffled(X, y, W, b, lr, batch_size, rng)


def epoch_images_only(X, y, W, b, lr, batch_size, rng):
    X = X[rng.permutation(len(X))]
    return epoch_unshuffled(X, y, W, b, lr, batch_size, rng)


def epoch_two_orders(X, y, W, b, lr, batch_size, rng):
    X, y = rng.permutation(X), rng.permutation(y)
    return epoch_unshuffled(X, y, W, b, lr, batch_size, rng)


def epoch_new_order_every_batch(X, y, W, b, lr, batch_size, rng):
    for start in range(0, len(X), batch_size):
        rows = rng.permutation(len(X))[:batch_size]
        dW, db, _ = model.gradients(X[rows], y[rows], W, b)
        W, b = W - lr * dW, b - lr * db
    return W, b


def epoch_sampled_with_replacement(X, y, W, b, lr, batch_size, rng):
    for _ in range(-(-len(X) // batch_size)):
        rows = rng.choice(len(X), batch_size)
        dW, db, _ = model.gradients(X[rows], y[rows], W, b)
        W, b = W - lr * dW, b - lr * db
    return W, b


def epoch_random_integers(X, y, W, b, lr, batch_size, rng):
    for _ in range(-(-len(X) // batch_size)):
        rows = rng.integers(0, len(X), batch_size)
        dW, db, _ = model.gradients(X[rows], y[rows], W, b)
        W, b = W - lr * dW, b - lr * db
    return W, b


def epoch_global_random(X, y, W, b, lr, batch_size, rng):
    return epoch_for(X, y, W, b, lr, batch_size, np.random.default_rng(12345))


def epoch_shuffles_in_place(X, y, W, b, lr, batch_size, rng):
    state = rng.bit_generator.state
    rng.shuffle(X)
    rng.bit_generator.state = state
    rng.shuffle(y)
    return epoch_unshuffled(X, y, W, b, lr, batch_size, rng)


def epoch_once_per_epoch(X, y, W, b, lr, batch_size, rng):
    order = rng.permutation(len(X))
    sum_dW, sum_db, k = 0, 0, 0
    for start in range(0, len(X), batch_size):
        rows = order[start:start + batch_size]
        dW, db, _ = model.gradients(X[rows], y[rows], W, b)
        sum_dW, sum_db, k = sum_dW + dW, sum_db + db, k + 1
    return W - lr * sum_dW / k, b - lr * sum_db / k


def epoch_gradients_at_start(X, y, W, b, lr, batch_size, rng):
    order = rng.permutation(len(X))
    W0, b0 = W, b
    for start in range(0, len(X), batch_size):
        rows = order[start:start + batch_size]
        dW, db, _ = model.gradients(X[rows], y[rows], W0, b0)
        W, b = W - lr * dW, b - lr * db
    return W, b


def epoch_update_not_kept(X, y, W, b, lr, batch_size, rng):
    order = rng.permutation(len(X))
    for start in range(0, len(X), batch_size):
        rows = order[start:start + batch_size]
        dW, db, _ = model.gradients(X[rows], y[rows], W, b)
        W_new, b_new = W - lr * dW, b - lr * db
    return W_new, b_new


def epoch_b_fixed(X, y, W, b, lr, batch_size, rng):
    order = rng.permutation(len(X))
    for start in range(0, len(X), batch_size):
        rows = order[start:start + batch_size]
        dW, db, _ = model.gradients(X[rows], y[rows], W, b)
        W = W - lr * dW
    return W, b


def epoch_return_in_loop(X, y, W, b, lr, batch_size, rng):
    order = rng.permutation(len(X))
    for start in range(0, len(X), batch_size):
        rows = order[start:start + batch_size]
        dW, db, _ = model.gradients(X[rows], y[rows], W, b)
        W, b = W - lr * dW, b - lr * db
        return W, b


def epoch_in_place(X, y, W, b, lr, batch_size, rng):
    order = rng.permutation(len(X))
    for start in range(0, len(X), batch_size):
        rows = order[start:start + batch_size]
        dW, db, _ = model.gradients(X[rows], y[rows], W, b)
        W -= lr * dW
        b -= lr * db
    return W, b


def epoch_full_batch(X, y, W, b, lr, batch_size, rng):
    order = rng.permutation(len(X))
    dW, db, _ = model.gradients(X[order], y[order], W, b)
    return W - lr * dW, b - lr * db


def epoch_per_example(X, y, W, b, lr, batch_size, rng):
    for m in rng.permutation(len(X)):
        dW, db, _ = model.gradients(X[m:m + 1], y[m:m + 1], W, b)
        W, b = W - lr * dW, b - lr * db
    return W, b


def epoch_split_too_few(X, y, W, b, lr, batch_size, rng):
    order = rng.permutation(len(X))
    for rows in np.array_split(order, len(X) // batch_size):
        dW, db, _ = model.gradients(X[rows], y[rows], W, b)
        W, b = W - lr * dW, b - lr * db
    return W, b


def epoch_unpacks_two(X, y, W, b, lr, batch_size, rng):
    order = rng.permutation(len(X))
    for start in range(0, len(X), batch_size):
        rows = order[start:start + batch_size]
        dW, db = model.gradients(X[rows], y[rows], W, b)
        W, b = W - lr * dW, b - lr * db
    return W, b


def epoch_lr_over_batch(X, y, W, b, lr, batch_size, rng):
    return epoch_for(X, y, W, b, lr / batch_size, batch_size, rng)


@pytest.mark.parametrize("fn, phrases", [
    (epoch_to_n_plus_1, ["batches came out empty", "start one at 9"]),
    (epoch_slice_end_fixed, ["batches came out empty", "end of your slice"]),
    (epoch_own_gradients_empty, ["batches came out empty"]),
    (epoch_full_batches_only, ["skipped the last, shorter batch"]),
    (epoch_to_n_minus_batch, ["skipped the last, shorter batch"]),
    (epoch_to_n_minus_1, ["7 examples", "skipped the last, shorter batch"]),
    (epoch_unshuffled, ["did not shuffle"]),
    (epoch_order_unused, ["drew a random order but went through X in its original order"]),
    (epoch_images_only, ["shuffled the images but not their labels"]),
    (epoch_two_orders, ["two different random orders"]),
    (epoch_new_order_every_batch, ["drew 3 random orders or samples in one epoch"]),
    (epoch_sampled_with_replacement, ["drew 3 random orders or samples in one epoch"]),
    (epoch_random_integers, ["drew 3 random orders or samples in one epoch"]),
    (epoch_global_random, ["did not draw its order from rng"]),
    (epoch_shuffles_in_place, ["shuffled an array it was given in place"]),
    (epoch_once_per_epoch, ["one update for the whole epoch"]),
    (epoch_gradients_at_start, ["gradient at the W it started with"]),
    (epoch_update_not_kept, ["only the last batch counts"]),
    (epoch_b_fixed, ["updated W but not b"]),
    (epoch_return_in_loop, ["made only the first update", "`return` inside the loop"]),
    (epoch_in_place, ["changed its input W"]),
    (epoch_full_batch, ["single update with all 8 examples"]),
    (epoch_per_example, ["one update per example"]),
    (epoch_split_too_few, ["2 batches of more than batch_size = 3"]),
    (epoch_unpacks_two, ["too many values to unpack", "three things"]),
    (epoch_lr_over_batch, ["wrong value"]),
    (lambda X, y, W, b, lr, batch_size, rng: W, ["expected a pair (W, b)"]),
])
def test_minibatch_epoch_names_the_mistake(fn, phrases):
    fails(checks.check_minibatch_epoch, fn, *phrases)


def epoch_split_into_batch_size(X, y, W, b, lr, batch_size, rng):
    order = rng.permutation(len(X))
    for rows in np.array_split(order, batch_size):
        dW, db, _ = model.gradients(X[rows], y[rows], W, b)
        W, b = W - lr * dW, b - lr * db
    return W, b


def epoch_steps_of_n_over_batch_size(X, y, W, b, lr, batch_size, rng):
    return epoch_for(X, y, W, b, lr, len(X) // batch_size, rng)      # slices of n // batch_size


def epoch_batch_size_many_batches(X, y, W, b, lr, batch_size, rng):
    order, n_batches = rng.permutation(len(X)), -(-len(X) // batch_size)
    for k in range(batch_size):
        rows = order[k * n_batches:(k + 1) * n_batches]
        dW, db, _ = model.gradients(X[rows], y[rows], W, b)
        W, b = W - lr * dW, b - lr * db
    return W, b


@pytest.mark.parametrize("fn", [epoch_split_into_batch_size, epoch_steps_of_n_over_batch_size,
                                epoch_batch_size_many_batches])
def test_minibatch_epoch_that_mixes_up_the_number_of_batches_with_their_size(fn):
    # Passed before (the first and last): with n = 7, 8, 9 and batch_size = 3, n is close to
    # batch_size², so batch_size batches of n / batch_size examples are (nearly) the right ones.
    fails(checks.check_minibatch_epoch, fn, "not the number of batches")


def epoch_for_xb_yb(X, y, W, b, lr, batch_size, rng):
    order = rng.permutation(len(X))
    for start in range(0, len(X), batch_size):
        rows = order[start:start + batch_size]
        for xb, yb in X[rows], y[rows]:
            dW, db, _ = model.gradients(xb, yb, W, b)
            W, b = W - lr * dW, b - lr * db
    return W, b


def test_minibatch_epoch_that_unpacks_a_pair_of_arrays_is_told_so():
    # Was told "mnistlib's gradients returns three things".
    err = fails(checks.check_minibatch_epoch, epoch_for_xb_yb, "too many values to unpack", "`for x, t in X, y`")
    assert "returns three things" not in str(err)


def test_minibatch_epoch_that_calls_train_fails():
    def by_train(X, y, W, b, lr, batch_size, rng):
        from mnistlib.train import train
        r = train(X, y, params={"W": W.copy(), "b": b.copy()}, lr=lr, epochs=1, batch_size=batch_size,
                  evaluate=False)
        return r.W, r.b
    fails(checks.check_minibatch_epoch, by_train, "train() from mnistlib.train", "whole epochs")


def test_minibatch_epoch_failure_hands_back_a_working_epoch(capsys):
    ref = checks.check_minibatch_epoch(epoch_to_n_plus_1)
    assert "use mnistlib's minibatch_epoch" in capsys.readouterr().out
    X, y, W, b = checks.nb07_minibatches_and_speed._epoch_inputs(9)
    got = ref(X, y, W, b, 0.5, 3, np.random.default_rng(1))
    want = epoch_for(X, y, W, b, 0.5, 3, np.random.default_rng(1))
    assert all(np.allclose(g, w) for g, w in zip(got, want))


def test_the_epoch_of_the_exercise_is_the_first_epoch_of_train():
    # The notebook says so: same seed, same order, same updates as train's first epoch.
    from mnistlib.train import train
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, size=(230, 784)).astype(np.float32)
    y = rng.integers(0, 10, 230)
    W0, b0 = model.init_params()
    W, b = epoch_for(X, y, W0, b0, 0.5, 50, np.random.default_rng(3))
    res = train(X, y, lr=0.5, epochs=1, batch_size=50, seed=3, evaluate=False)
    np.testing.assert_allclose(W, res.W, atol=1e-5)
    np.testing.assert_allclose(b, res.b, atol=1e-5)


@pytest.mark.parametrize("fn", [epoch_to_n_plus_1, epoch_full_batches_only, epoch_unshuffled, epoch_order_unused,
                                epoch_images_only, epoch_new_order_every_batch, epoch_update_not_kept, epoch_b_fixed,
                                epoch_per_example, epoch_split_too_few])
def test_minibatch_epoch_nudges_first_and_gives_the_code_on_request(fn, capsys):
    checks.check_minibatch_epoch(fn)
    first = capsys.readouterr().out
    assert 'hint("minibatch_epoch")' in first
    for code in ("order[start:start + batch_size]", "range(0, len(X)", "= W - lr", "= b - lr", "array_split("):
        assert code not in first, f"{code!r} in the first hint:\n{first}"
    checks.hint("minibatch_epoch")
    out = capsys.readouterr().out
    assert out.startswith("Hint 1 for minibatch_epoch:")
    for code in ("order[start:start + batch_size]", "range(0, len(X)", "= W - lr", "array_split("):
        assert code not in out, f"{code!r} in the next hint:\n{out}"
