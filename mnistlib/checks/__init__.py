"""Checks for the notebooks' "your turn" exercises.

In a notebook, the cell after an exercise runs its check::

    softmax = check_softmax(softmax)

If the learner's function is right, the check prints one line
(``✓ softmax: all 9 checks passed``) and returns it. If not, it prints what is
wrong, on which input, and a first hint (a nudge, not the answer), and returns
mnistlib's own version, so that the cells below still run; it says so. With
``strict=True`` (tests, autograding) a wrong answer raises ``CheckFailed`` instead.

Hints (``hints.py``) are a ladder the learner climbs on request: ``hint("softmax")``
works before any attempt and says how to start; asked again, it narrows down
(after a failed check, first to that very mistake); the last hint says that
``hint("softmax", reveal=True)`` shows a line of the solution, and only that does.

A check judges what the learner's function does, not what its code says: while the
function runs it is watched (``watch.py``), so that a call to a library function
the exercise forbids (mnistlib's own ``softmax`` in the softmax exercise), however
it was imported or named, fails, and a learner's own helper passes whatever its
name; a loop over the examples shows as work that grows with the batch.

The checks of each notebook are in the module named after it (``nb03_softmax`` for
``notebooks/03_softmax.ipynb``); the machinery they share is in ``framework``. Inputs
that the checks of several notebooks share are public in the module of the notebook
that introduces them (``nb03_softmax.softmax_batches``, ``nb05_gradients.gradient_inputs``).
Adding a check (in its notebook's module, in the same style)::

    from .framework import as_array, compare, exercise, fail, fmt, run, seeded_rng

    @exercise("thing", reference=lambda: model.thing,
              shortcuts=lambda: {model.thing: "which does the whole job"},
              hints=["how to start", "narrower", "narrower still, but no line of code"],
              reveal="the line of the solution")
    def check_thing(fn):
        x = seeded_rng().normal(size=(3, 10))     # small, seeded, meaningful input; batches of one too
        call = "thing(x) with x of shape (3, 10)"
        got = as_array("thing", run("thing", fn, x, call=call), call)   # None, crashes, not numbers
        if <a known mistake>:
            fail("thing", f"{call} returned {fmt(got)}: what is wrong", hint="a nudge",
                 more="a narrower hint for this mistake", reveal="the line of code that fixes it")
        compare("thing", got, model.thing(x), call=call, hint="a nudge")
        return 1                                  # the number of checks passed

- ``run(name, fn, *args, call=..., hint=, more=, reveal=, explain=, watch=)`` runs
  the learner's function on copies of the inputs with numpy warnings silenced (an
  overflow is reported by the check, not as a warning), watched for the library
  functions the exercise forbids; it fails if the function called one of them or
  changed an input, and turns a missing ``return``, ``NotImplementedError`` or any
  other exception into a failure. ``explain(error)`` (or ``explain(error, watch)``)
  may return a (hint, more[, reveal]) that fits the exception, or None. ``watch``, a
  ``Watch``, keeps what the run did (``steps``: compare two batch sizes to see a loop;
  ``loop_over_items(name, fn, small, large)`` does that comparison and says where the loop is).
- ``compare(name, got, expected, call=..., hint=, more=, reveal=, rtol=, atol=, floating=)``
  checks, in order, that ``got`` is numeric, its shape, nan/inf, floating dtype
  (optional), and the values; a wrong value is described (a factor off, or where
  the largest difference is), never dumped as a big matrix.
- ``fail(name, message, hint=, more=, reveal=)``: ``hint`` (no code of the solution)
  is shown at once, ``more`` when the learner asks with ``hint(name)``, ``reveal``
  only with ``hint(name, reveal=True)``.
- ``as_array(name, got, call)`` is ``got`` as an array, or a failure if it is not
  numbers; ``fmt(a)`` a short, rounded text of ``a`` for a message;
  ``factor_text(k)`` says a factor as a reader would ("1/10 of");
  ``identical(a, b)`` compares shape, dtype and values exactly; ``seeded_rng()``
  is a generator with the checks' fixed seed; ``line_of(fn, code, line)`` says where
  a line is ("line 3 of it").

Checks are deterministic (fixed seeds), quick (milliseconds), and print nothing
but their one result.
"""

from .framework import CheckFailed, exercise, hint
from .nb00_start_here import check_best_class
from .nb01_mnist_data import check_flatten, check_ink_box
from .nb02_neurons_and_logits import check_nearest_mean_params
from .nb03_softmax import check_softmax
from .nb04_cross_entropy import check_log_softmax
from .nb05_gradients import check_numerical_gradient, check_example_gradients
from .nb06_gradient_descent import check_gradient_descent, check_bowl_lr, check_update_step
from .nb07_minibatches_and_speed import (check_gradients_loop, check_gradients_vectorised,
                                         check_minibatch_epoch)
from .nb08_choosing_honestly import check_choose_recipe
from .nb09_error_analysis import check_confusion_matrix
from .nb10_draw_a_digit import check_center_by_mass
from .nb11_hidden_layer import check_mlp_gradients, check_he_init
from .nb12_convolution import check_conv_forward_loops, check_kernel_gradient
from .nb12_input_gradient import check_input_gradient

__all__ = [
    'CheckFailed', 'exercise', 'hint', 'check_best_class', 'check_flatten', 'check_ink_box',
    'check_nearest_mean_params', 'check_softmax', 'check_log_softmax',
    'check_numerical_gradient', 'check_example_gradients', 'check_gradient_descent',
    'check_bowl_lr', 'check_update_step', 'check_gradients_loop',
    'check_gradients_vectorised', 'check_minibatch_epoch', 'check_choose_recipe',
    'check_confusion_matrix', 'check_center_by_mass', 'check_mlp_gradients',
    'check_he_init', 'check_conv_forward_loops', 'check_kernel_gradient', 'check_input_gradient',
]
