"""Typical wrong answers, one per exercise, for the autograding test (tests/test_course.py).

``WRONG[name] = (mistake, body, message)``: ``body`` is what a learner wrote in
place of the worked solution of the function ``name`` (it replaces the lines
between the markers, at their indentation); ``message`` is a part of what the
check must say about it. Bodies use numpy and their arguments only, so they run
whatever the notebook around them imports.

An exercise missing here gets ``FORGOT_RETURN`` in the test (a function that
computes nothing and returns None): add a real mistake for each new exercise.
"""

FORGOT_RETURN = ("forgot the return", "pass", "returned None")

WRONG = {
    "flatten": (
        "forgot to divide by 255",
        "return image.reshape(784).astype(np.float32)",
        "expected values in [0, 1]"),
    "ink_box": (
        "bottom and right one past the ink, as a slice's end",
        "grid = x.reshape(28, 28) > 0\n"
        "rows = np.flatnonzero(grid.any(axis=1))\n"
        "cols = np.flatnonzero(grid.any(axis=0))\n"
        "return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1",
        "one past the last row and column with ink"),
    "nearest_mean_params": (
        "the 1/2 of |m_j|^2 lost",
        "return means.T, -(means ** 2).sum(axis=1)",
        "Your b is 2 times what your W needs"),
    "softmax": (
        "no shift by the maximum: exp overflows",
        "e = np.exp(l)\n"
        "return e / e.sum(axis=-1, keepdims=True)",
        "returns nan for large logits"),
    "log_softmax": (
        "the log of softmax: -inf where p rounds to 0",
        "e = np.exp(l - l.max(axis=-1, keepdims=True))\n"
        "return np.log(e / e.sum(axis=-1, keepdims=True))",
        "returned -inf where log p is about -1002.2"),
    "numerical_gradient": (
        "the forward difference",
        "grad = np.zeros(a.shape)\n"
        "for i in np.ndindex(a.shape):\n"
        "    value = a[i]\n"
        "    f0 = f()\n"
        "    a[i] = value + h\n"
        "    grad[i] = (f() - f0) / h\n"
        "    a[i] = value\n"
        "return grad",
        "your estimate is the forward difference"),
    "example_gradients": (
        "the outer product the wrong way round",
        "l = x @ W + b\n"
        "p = np.exp(l - l.max())\n"
        "p = p / p.sum()\n"
        "p[y] -= 1\n"
        "return np.outer(p, x), p",
        "returned dW of shape (10, 784); expected (784, 10)"),
    "update_step": (
        "the predicted change without the biases' terms",
        "l = X @ W + b\n"
        "P = np.exp(l - l.max(axis=1, keepdims=True))\n"
        "P = P / P.sum(axis=1, keepdims=True)\n"
        "P[np.arange(len(y)), y] -= 1\n"
        "dW, db = X.T @ P / len(X), P.mean(axis=0)\n"
        "return W - lr * dW, b - lr * db, -lr * np.sum(dW ** 2)",
        "leaves out the biases"),
    "gradient_descent": (
        "the path without its starting point",
        "w = w0\n"
        "path = []\n"
        "for _ in range(steps):\n"
        "    w = w - lr * grad(w)\n"
        "    path.append(w)\n"
        "return np.array(path)",
        "your path starts after the first step"),
    "bowl_lr": (
        "the largest rate that does not diverge, 0.2",
        "return 0.2",
        "it never settles"),
    "gradients_loop": (
        "the sum of the example gradients, not their mean",
        "dW, db = np.zeros_like(W), np.zeros_like(b)\n"
        "for m in range(len(X)):\n"
        "    l = X[m] @ W + b\n"
        "    p = np.exp(l - l.max())\n"
        "    p = p / p.sum()\n"
        "    p[y[m]] -= 1\n"
        "    dW += np.outer(X[m], p)\n"
        "    db += p\n"
        "return dW, db",
        "dW is 5 times too large: the sum of the example gradients, not their mean"),
    "gradients_vectorised": (
        "dW not divided by n",
        "l = X @ W + b\n"
        "P = np.exp(l - l.max(axis=1, keepdims=True))\n"
        "P = P / P.sum(axis=1, keepdims=True)\n"
        "P[np.arange(len(y)), y] -= 1\n"
        "return X.T @ P, P.sum(axis=0) / len(X)",
        "dW is 5 times too large"),
    "minibatch_epoch": (
        "the batches in the data's order, not shuffled",
        "for start in range(0, len(X), batch_size):\n"
        "    Xb, yb = X[start:start + batch_size], y[start:start + batch_size]\n"
        "    l = Xb @ W + b\n"
        "    P = np.exp(l - l.max(axis=1, keepdims=True))\n"
        "    P = P / P.sum(axis=1, keepdims=True)\n"
        "    P[np.arange(len(yb)), yb] -= 1\n"
        "    W, b = W - lr * Xb.T @ P / len(Xb), b - lr * P.mean(axis=0)\n"
        "return W, b",
        "your epoch did not shuffle"),
    "choose_recipe": (
        "each recipe scored on the training images",
        "from mnistlib.model import accuracy\n"
        "from mnistlib.train import train\n"
        "val_accs = []\n"
        "for settings in grid:\n"
        "    result = train(x_train, y_train, **settings, evaluate=False)\n"
        "    val_accs.append(accuracy(x_train, y_train, result.W, result.b))\n"
        "return grid[int(np.argmax(val_accs))], val_accs, \"C\"",
        "your scores are the accuracies on the training images"),
    "confusion_matrix": (
        "a loop over the images",
        "C = np.zeros((10, 10), dtype=int)\n"
        "for t, p in zip(y_true, y_pred):\n"
        "    C[t, p] += 1\n"
        "return C",
        "goes through the images one at a time"),
    "center_by_mass": (
        "the offsets not rounded to whole pixels",
        "h, w = patch.shape\n"
        "total = patch.sum()\n"
        "r_bar = patch.sum(axis=1) @ np.arange(h) / total\n"
        "c_bar = patch.sum(axis=0) @ np.arange(w) / total\n"
        "top, left = 14 - r_bar, 14 - c_bar\n"
        "frame = np.zeros((28, 28), dtype=np.float32)\n"
        "frame[top:top + h, left:left + w] = patch\n"
        "return frame",
        "slice indices must be integers"),
    "mlp_gradients": (
        "the ReLU left out of the backward pass",
        "dl = (P - np.eye(10)[y]) / len(X)\n"
        "dh = dl @ W2.T\n"
        "dz = dh\n"
        "return {\"W1\": X.T @ dz, \"b1\": dz.sum(axis=0), \"W2\": h.T @ dl, \"b2\": dl.sum(axis=0)}",
        "dW1 ignores the ReLU"),
    "he_init": (
        "the variance 1 / fan_in: the ReLU's half forgotten",
        "return rng.normal(0, np.sqrt(1 / fan_in), size=(fan_in, fan_out))",
        "gives the variance 1 / fan_in"),
    "conv_forward_loops": (
        "the kernel flipped, as in the convolution of mathematics",
        "n, C, h, w = x.shape\n"
        "F, _, kh, kw = K.shape\n"
        "out = np.zeros((n, F, h - kh + 1, w - kw + 1))\n"
        "for i in range(n):\n"
        "    for f in range(F):\n"
        "        for r in range(h - kh + 1):\n"
        "            for s in range(w - kw + 1):\n"
        "                out[i, f, r, s] = np.sum(x[i, :, r:r + kh, s:s + kw] * K[f, :, ::-1, ::-1]) + b[f]\n"
        "return out",
        "flipped the kernel"),
    "kernel_gradient": (
        "averaged over the images: the 1/n counted twice",
        "n, C, h, w = x.shape\n"
        "_, F, oh, ow = dout.shape\n"
        "dK = np.zeros((F, C, kh, kw))\n"
        "for i in range(n):\n"
        "    for f in range(F):\n"
        "        for r in range(oh):\n"
        "            for s in range(ow):\n"
        "                dK[f] += dout[i, f, r, s] * x[i, :, r:r + kh, s:s + kw]\n"
        "return dK / n",
        "divided by the number of images"),
    "input_gradient": (
        "dout not padded: only the windows wholly inside it counted (a 'valid' convolution, not a 'full' one)",
        "_, C, kh, kw = K.shape\n"
        "n, F, oh, ow = dout.shape\n"
        "dx = np.zeros((n, C, oh - kh + 1, ow - kw + 1))\n"
        "for i, c, u, v in np.ndindex(dx.shape):\n"
        "    dx[i, c, u, v] = np.sum(dout[i, :, u:u + kh, v:v + kw] * K[:, c, ::-1, ::-1])\n"
        "return dx",
        "dout was not padded"),
}


def wrong_answer(name):
    """(mistake, body, message) for exercise ``name``: from WRONG, else FORGOT_RETURN."""
    return WRONG.get(name, FORGOT_RETURN)


# Right answers written differently from the worked solutions: the visible check and the
# hidden tests of the exercise must both accept each (tests/test_course.py).
RIGHT = {
    "flatten": [
        "return np.ravel(image) / 255.0",
        "return (image.astype(np.float64) / 255).flatten()",
    ],
    "ink_box": [
        "rows = [r for r in range(28) if x[28 * r:28 * r + 28].max() > 0]\n"
        "cols = [c for c in range(28) if x[c::28].max() > 0]\n"
        "return rows[0], rows[-1], cols[0], cols[-1]",
        "r, c = np.nonzero(x.reshape(28, 28))\n"
        "return r.min(), r.max(), c.min(), c.max()",
    ],
    "nearest_mean_params": [
        "W = np.stack([m for m in means], axis=1)\n"
        "b = np.array([-0.5 * m @ m for m in means])\n"
        "return W, b",
        "return 2 * means.T, -(means ** 2).sum(axis=1)",
    ],
    "softmax": [
        "z = l - np.max(l, axis=-1, keepdims=True)\n"
        "return np.exp(z) / np.sum(np.exp(z), axis=-1, keepdims=True)",
        "e = np.exp(l - l.max(axis=-1)[..., None])\n"
        "return e / e.sum(axis=-1)[..., None]",
    ],
    "log_softmax": [
        "m = np.max(l, axis=-1, keepdims=True)\n"
        "return (l - m) - np.log(np.sum(np.exp(l - m), axis=-1, keepdims=True))",
        "return l - np.logaddexp.reduce(l, axis=-1, keepdims=True)",
    ],
    "choose_recipe": [
        "from mnistlib.model import accuracy\n"
        "from mnistlib.train import train\n"
        "models = [train(x_train, y_train, evaluate=False, **g) for g in grid]\n"
        "val_accs = [accuracy(x_val, y_val, m.W, m.b) for m in models]\n"
        "return max(zip(grid, val_accs), key=lambda pair: pair[1])[0], val_accs, 'c'",
    ],
    "confusion_matrix": [
        "C = np.zeros((10, 10), dtype=np.int64)\n"
        "np.add.at(C, (y_true, y_pred), 1)\n"
        "return C",
        "return np.bincount(10 * np.asarray(y_true) + np.asarray(y_pred), minlength=100).reshape(10, 10)",
        "C = np.zeros((10, 10), dtype=int)\n"
        "for i in range(10):                  # a loop over the classes, not the images\n"
        "    C[i] = np.bincount(y_pred[y_true == i], minlength=10)\n"
        "return C",
    ],
    "numerical_gradient": [
        "grad = np.zeros_like(a, dtype=np.float64)\n"
        "flat, out = a.reshape(-1), grad.reshape(-1)   # views: a change of flat[k] is a change of a\n"
        "for k in range(flat.size):\n"
        "    old = flat[k]\n"
        "    flat[k] = old + h\n"
        "    up = f()\n"
        "    flat[k] = old - h\n"
        "    down = f()\n"
        "    flat[k] = old\n"
        "    out[k] = (up - down) / (2 * h)\n"
        "return grad",
        "grad = np.zeros(a.shape)\n"
        "it = np.nditer(a, flags=['multi_index'])\n"
        "for _ in it:\n"
        "    i = it.multi_index\n"
        "    a[i] += h\n"
        "    up = f()\n"
        "    a[i] -= 2 * h\n"
        "    down = f()\n"
        "    a[i] += h\n"
        "    grad[i] = (up - down) / (2 * h)\n"
        "return grad",
    ],
    "example_gradients": [
        "l = x @ W + b\n"
        "p = np.exp(l - l.max())\n"
        "d = p / p.sum() - np.eye(10)[y]\n"
        "return x[:, None] * d[None, :], d",
    ],
    "update_step": [
        "l = X @ W + b\n"
        "P = np.exp(l - l.max(axis=1, keepdims=True))\n"
        "P = P / P.sum(axis=1, keepdims=True)\n"
        "P[np.arange(len(y)), y] -= 1\n"
        "dW, db = np.einsum('ni,nj->ij', X, P) / len(X), P.sum(axis=0) / len(X)\n"
        "g = np.concatenate([dW.ravel(), db])\n"
        "return W - lr * dW, b - lr * db, -lr * (g @ g)",
    ],
    "gradient_descent": [
        "path = np.empty((steps + 1,) + np.shape(w0))\n"
        "path[0] = w0\n"
        "for t in range(steps):\n"
        "    path[t + 1] = path[t] - lr * grad(path[t])\n"
        "return path",
    ],
    "bowl_lr": [
        "return 0.18",
        "return 0.14",
    ],
    "gradients_loop": [
        "dW, db = np.zeros(W.shape), np.zeros(b.shape)\n"
        "for x, t in zip(X, y):\n"
        "    l = x @ W + b\n"
        "    p = np.exp(l - l.max())\n"
        "    d = p / p.sum() - np.eye(10)[t]\n"
        "    dW = dW + np.outer(x, d)\n"
        "    db = db + d\n"
        "return dW / len(X), db / len(X)",
    ],
    "gradients_vectorised": [
        "l = X @ W + b\n"
        "P = np.exp(l - l.max(axis=1, keepdims=True))\n"
        "P /= P.sum(axis=1, keepdims=True)\n"
        "P[np.arange(len(y)), y] -= 1\n"
        "return np.einsum('ni,nj->ij', X, P) / len(X), P.mean(axis=0)",
    ],
    "minibatch_epoch": [
        "idx = np.arange(len(X))\n"
        "rng.shuffle(idx)\n"
        "for start in range(0, len(X), batch_size):\n"
        "    rows = idx[start:start + batch_size]\n"
        "    Xb, yb = X[rows], y[rows]\n"
        "    l = Xb @ W + b\n"
        "    P = np.exp(l - l.max(axis=1, keepdims=True))\n"
        "    P = P / P.sum(axis=1, keepdims=True)\n"
        "    P[np.arange(len(yb)), yb] -= 1\n"
        "    W, b = W - lr * Xb.T @ P / len(Xb), b - lr * P.mean(axis=0)\n"
        "return W, b",
    ],
    "center_by_mass": [
        "h, w = patch.shape\n"
        "total = r_sum = c_sum = 0.0\n"
        "for r in range(h):\n"
        "    for c in range(w):\n"
        "        total += patch[r, c]\n"
        "        r_sum += r * patch[r, c]\n"
        "        c_sum += c * patch[r, c]\n"
        "top, left = int(np.round(14 - r_sum / total)), int(np.round(14 - c_sum / total))\n"
        "frame = np.zeros((28, 28))\n"
        "frame[top:top + h, left:left + w] = patch\n"
        "return frame",
    ],
    "mlp_gradients": [
        "grads = {k: np.zeros_like(v) for k, v in params.items()}\n"
        "for x_m, y_m in zip(X, y):\n"
        "    z_m = x_m @ W1 + b1\n"
        "    e = np.exp(np.maximum(z_m, 0) @ W2 + b2)\n"
        "    d = e / e.sum()\n"
        "    d[y_m] -= 1\n"
        "    dz_m = (W2 @ d) * (z_m > 0)\n"
        "    grads[\"W2\"] += np.outer(np.maximum(z_m, 0), d)\n"
        "    grads[\"b2\"] += d\n"
        "    grads[\"W1\"] += np.outer(x_m, dz_m)\n"
        "    grads[\"b1\"] += dz_m\n"
        "return {k: g / len(X) for k, g in grads.items()}",
        "dl = P.copy()\n"
        "dl[np.arange(len(y)), y] -= 1\n"
        "dl /= len(X)\n"
        "dz = np.where(z > 0, np.einsum('nj,kj->nk', dl, W2), 0.0)\n"
        "return dict(W2=np.einsum('nk,nj->kj', h, dl), b2=np.einsum('nj->j', dl),\n"
        "            W1=np.einsum('ni,nk->ik', X, dz), b1=np.einsum('nk->k', dz))",
    ],
    "he_init": [
        "a = np.sqrt(6 / fan_in)          # a uniform on [-a, a] has variance a^2 / 3\n"
        "return rng.uniform(-a, a, size=(fan_in, fan_out))",
        "return rng.normal(0.0, (2 / fan_in) ** 0.5, (fan_out, fan_in)).T",
    ],
    "conv_forward_loops": [
        "oh, ow = x.shape[2] - K.shape[2] + 1, x.shape[3] - K.shape[3] + 1\n"
        "out = np.zeros((len(x), len(K), oh, ow)) + b[None, :, None, None]\n"
        "for p in range(K.shape[2]):\n"
        "    for q in range(K.shape[3]):\n"
        "        out += np.einsum('ncrs,fc->nfrs', x[:, :, p:p + oh, q:q + ow], K[:, :, p, q])\n"
        "return out",
        "n, C, h, w = x.shape\n"
        "F, _, kh, kw = K.shape\n"
        "out = np.empty((n, F, h - kh + 1, w - kw + 1))\n"
        "for r in range(h - kh + 1):\n"
        "    for s in range(w - kw + 1):\n"
        "        window = x[:, :, r:r + kh, s:s + kw].reshape(n, -1)     # every image's window, as rows\n"
        "        out[:, :, r, s] = window @ K.reshape(F, -1).T + b\n"
        "return out",
    ],
    "kernel_gradient": [
        "oh, ow = dout.shape[2:]\n"
        "dK = np.zeros((dout.shape[1], x.shape[1], kh, kw))\n"
        "for p in range(kh):\n"
        "    for q in range(kw):\n"
        "        dK[:, :, p, q] = np.einsum('nfrs,ncrs->fc', dout, x[:, :, p:p + oh, q:q + ow])\n"
        "return dK",
        "dK = 0.0\n"
        "for i in range(len(x)):\n"
        "    for r in range(dout.shape[2]):\n"
        "        for s in range(dout.shape[3]):\n"
        "            window = x[i, :, r:r + kh, s:s + kw]                  # (C, kh, kw)\n"
        "            dK = dK + dout[i, :, r, s][:, None, None, None] * window[None]\n"
        "return dK",
    ],
    "input_gradient": [
        "n, F, oh, ow = dout.shape\n"
        "_, C, kh, kw = K.shape\n"
        "dx = np.zeros((n, C, (oh - 1) * stride + kh, (ow - 1) * stride + kw))\n"
        "for i, f, r, s in np.ndindex(dout.shape):\n"
        "    u, v = r * stride, s * stride                              # where the window starts\n"
        "    dx[i, :, u:u + kh, v:v + kw] += dout[i, f, r, s] * K[f]     # its share, sent back\n"
        "return dx",
        "n, F, oh, ow = dout.shape\n"
        "kh, kw = K.shape[2:]\n"
        "dx = np.zeros((n, K.shape[1], (oh - 1) * stride + kh, (ow - 1) * stride + kw))\n"
        "for p in range(kh):\n"
        "    for q in range(kw):\n"
        "        rows, cols = slice(p, p + stride * oh, stride), slice(q, q + stride * ow, stride)\n"
        "        dx[:, :, rows, cols] += np.einsum('nfrs,fc->ncrs', dout, K[:, :, p, q])\n"
        "return dx",
    ],
}
