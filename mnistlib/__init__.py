"""mnistlib: the helper package behind the notebook series.

One module per idea, each readable top to bottom:

- ``data``      read IDX files, load MNIST (directory, cache, download, bundled subset)
- ``model``     logits, softmax, cross-entropy, gradients, predictions
- ``gradcheck`` numerical gradients by central differences
- ``train``     gradient descent: one example at a time, mini-batch, full batch
- ``plots``     weight heatmaps, digit grids, curves
- ``widgets``   thin ipywidgets shells over the pure functions above
- ``checks``    checks for the notebooks' "your turn" exercises
"""

__version__ = "0.1.0"
