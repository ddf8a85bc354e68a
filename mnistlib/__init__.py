"""mnistlib: the helper package behind the notebook series.

One module per idea, each readable top to bottom:

- ``idx``       the IDX file format (read and check IDX files, raw or gzip), and the errors
                that ``idx``, ``download`` and ``data`` share
- ``download``  download MNIST (mirrors, deadline, sha256) into the per-user cache
- ``data``      load MNIST (directory, cache, download, bundled subset); one-hot; validation split
- ``model``     logits, softmax, cross-entropy, gradients, predictions
- ``gradcheck`` numerical gradients by central differences; checks for layers and models
- ``layers``    layers as forward/backward pairs: linear, ReLU, flatten, softmax cross-entropy
- ``conv``      convolution and max-pooling, as plain loops and fast (im2col)
- ``mlp``       a hidden layer: linear, ReLU, linear (notebook 10)
- ``cnn``       a small convolutional network (notebook 11)
- ``train``     gradient descent for any of the models: one example at a time, mini-batch, full batch
- ``plots``     digits, weight heatmaps, curves, probability bars; fast redraws
- ``evaluate``  choosing a recipe on validation, confusion matrix, "I don't know" thresholds,
                robustness transforms
- ``draw``      turn a drawing on a canvas into an MNIST-like 28x28 image
- ``widgets``   thin ipywidgets shells over the pure functions above: the training widgets
- ``explorer_widget``  the prediction explorer (why this class?)
- ``decay_widget``     the weight-decay explorer (templates and accuracies against lambda)
- ``draw_widget``      draw a digit, watch the network answer
- ``descent_widget``   gradient descent on a toy bowl, step by step: the learning rate's four regimes
- ``hidden_widget``    what one hidden unit of the MLP looks for (notebook 10)
- ``conv_widget``      the CNN's kernels and a digit's feature maps, stage by stage
- ``checks``    checks for the notebooks' "your turn" exercises (a small package: one module per
                notebook, and the framework they share)
- ``demo``      the live-demo page for a projector (``python -m mnistlib.demo``)

``python -m mnistlib download`` fetches the full MNIST; ``python -m mnistlib train``
trains headless and saves the weight heatmaps.
"""

__version__ = "0.1.0"
