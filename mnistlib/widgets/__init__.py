"""Interactive widgets: thin ipywidgets shells over plain functions.

Each widget has a pure function behind it (``*_update`` or similar) that takes
plain values and returns what to show: tests and benchmarks call those directly,
no browser needed. The widget only wires controls to that function.

Conventions, so widgets behave the same everywhere (JupyterLab 4, Notebook 7,
Voila):
- Figures are drawn with ``mnistlib.plots`` and shown as PNG in an
  ``ipywidgets.Image`` that is updated in place (no stacked figures, no
  clear_output flicker).
- Sliders whose redraw is costly use ``continuous_update=False``.
- Every callback runs inside ``base.guarded``, which catches any exception and
  shows it as a readable message in the widget's own status line, so a bad
  value can never leave a silent, dead control or a traceback.
- Each control carries a CSS class ``mnistlib-<widget>-<part>`` so the browser
  tests can find it.
- Each widget's box holds an ``access.Access``: the accessible names of its
  sliders and icon buttons, the alt texts of its pictures (computed by the pure
  function, under "alt", and updated at each redraw) and its live regions, which
  ipywidgets cannot set. Right and wrong are marked ✓ and ✗, not only coloured.

The modules, one per widget, on top of ``base``:

- ``base``          what they share: status line, messages, guarded callbacks,
                    PNG images, an index box with ◀ ▶
- ``training``      the learning-rate explorer, live heatmaps, the batch-size explorer
                    (notebooks 06 and 07, the demo)
- ``temperature``   softmax(l / T) as the temperature T moves (notebook 03)
- ``descent``       gradient descent on a toy bowl, step by step (notebook 06)
- ``weight_decay``  the weight-decay explorer: templates and accuracies against lambda (notebook 08)
- ``explorer``      the prediction explorer: which pixels decided (notebook 09, the demo)
- ``drawing``       draw a digit, watch the network answer (notebook 10, the demo)
- ``chooser``       a model menu: softmax regression, MLP or CNN, trained in the background when picked
- ``digit_menu``    the drawing's "try a digit" menu: real digits for the canvas, without a pointer
- ``access``        accessible names, alt texts, live regions and a way out of the canvas, set in the browser
- ``hidden_units``  what one hidden unit of the MLP looks for (notebook 11)
- ``feature_maps``  the CNN's kernels and a digit's feature maps, stage by stage (notebook 12)

The training and temperature widgets can be used from here
(``widgets.lr_explorer``, ``widgets.softmax_temperature``, ...), as notebooks
03, 06 and 07 do; the others from their modules.
"""

from ..plots import heatmaps_png
from .temperature import softmax_temperature, softmax_temperature_update
from .training import (LossPlot, batch_size_explorer, batch_size_explorer_update, live_heatmaps,
                       live_training, lr_explorer, lr_explorer_update)

__all__ = ["LossPlot", "batch_size_explorer", "batch_size_explorer_update", "heatmaps_png", "live_heatmaps",
           "live_training", "lr_explorer", "lr_explorer_update", "softmax_temperature",
           "softmax_temperature_update"]
