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
    "logits": (
        "forgot the bias",
        "return x @ W",
        "without the bias"),
    "softmax": (
        "no shift by the maximum: exp overflows",
        "e = np.exp(l)\n"
        "return e / e.sum(axis=-1, keepdims=True)",
        "returns nan for large logits"),
    "cross_entropy": (
        "the sum over the batch, not the mean",
        "return float(-np.sum(y * np.log(p)))",
        "the sum over the 4 examples; expected the mean"),
    "batch_gradients": (
        "forgot to divide by n",
        "l = x @ W + b\n"
        "p = np.exp(l - l.max(axis=1, keepdims=True))\n"
        "p = p / p.sum(axis=1, keepdims=True)\n"
        "p[np.arange(len(y)), y] -= 1\n"
        "return x.T @ p, p.sum(axis=0)",
        "dW is n times too large"),
    "update_step": (
        "a step up the gradient",
        "l = x @ W + b\n"
        "p = np.exp(l - l.max(axis=1, keepdims=True))\n"
        "p = p / p.sum(axis=1, keepdims=True)\n"
        "p[np.arange(len(y)), y] -= 1\n"
        "return W + lr * x.T @ p / len(x), b + lr * p.mean(axis=0)",
        "climbs up the loss instead of down"),
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
    "confusion_matrix": (
        "rows and columns swapped",
        "C = np.zeros((10, 10), dtype=int)\n"
        "for t, p in zip(y_true, y_pred):\n"
        "    C[p, t] += 1\n"
        "return C",
        "has rows and columns swapped"),
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
}


def wrong_answer(name):
    """(mistake, body, message) for exercise ``name``: from WRONG, else FORGOT_RETURN."""
    return WRONG.get(name, FORGOT_RETURN)
