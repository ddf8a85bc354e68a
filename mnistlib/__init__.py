"""mnistlib: the helper package behind the notebook series.

One module per idea, each readable top to bottom:

- ``idx``       the IDX file format (read and check IDX files, raw or gzip), and the errors
                that ``idx``, ``download`` and ``data`` share
- ``download``  download MNIST (mirrors, deadline, sha256) into the per-user cache
- ``data``      load MNIST (directory, cache, download, bundled subset); one-hot; validation split
- ``validate``  checking inputs: labels, images, parameters, learning rates, whole numbers; one
                place that says what is wrong with an argument and what to do
- ``model``     the maths of notebooks 02-05 with W and b: logits, softmax, cross-entropy,
                gradients, predictions
- ``gradcheck`` numerical gradients by central differences; checks for layers and models
- ``layers``    layers as forward/backward pairs: linear, ReLU, flatten, softmax cross-entropy
- ``conv``      convolution and max-pooling, as plain loops and fast (im2col)
- the three models, each a module with one interface (``init_params``, ``logits``,
  ``loss_and_grads``, ``logits_backward``, ``sgd_step``, ``RECIPE``):
  ``softmax_regression`` (one layer of ten neurons, notebooks 02-10), ``mlp`` (a hidden
  layer, notebook 11) and ``cnn`` (a small convolutional network, notebook 12)
- ``train``     gradient descent for any model: one example at a time, mini-batch, full batch
- ``plots``     digits, weight heatmaps, curves, probability bars; fast redraws
- ``evaluate``  choosing a recipe on validation, confusion matrix, "I don't know" thresholds,
                robustness transforms
- ``draw``      turn a drawing on a canvas into an MNIST-like 28x28 image
- ``widgets``   thin ipywidgets shells over the pure functions above (a small package: one
                module per widget, and the base they share): the training widgets, softmax
                temperature, gradient descent on a toy bowl, weight decay, the prediction
                explorer, drawing a digit, the model chooser, hidden units, CNN feature maps.
                ``descent_widget``, ``decay_widget``, ``explorer_widget``, ``draw_widget``,
                ``chooser_widget``, ``hidden_widget`` and ``conv_widget`` re-export them for
                notebooks saved before
- ``checks``    checks for the notebooks' "your turn" exercises (a small package: one module per
                notebook, the framework they share, and ``limits``, the budget of CPU seconds
                that turns an endless loop into a failed check)
- ``feedback``  the nbgrader course's feedback pages (for teachers; needs nbgrader): each
                exercise named, the hidden tests left out, the formulas typeset offline
- ``demo``      the live-demo page for a projector (``python -m mnistlib.demo``)

``python -m mnistlib download`` fetches the full MNIST; ``python -m mnistlib train``
trains headless and saves the weight heatmaps.
"""

__version__ = "0.1.0"
