"""The model chooser (notebook 10, the live demo): the code lives in ``mnistlib.widgets.chooser`` now.

This module stays so that notebooks saved before still import from here.
"""

from .widgets.chooser import chooser_status, model_chooser

__all__ = ["chooser_status", "model_chooser"]
