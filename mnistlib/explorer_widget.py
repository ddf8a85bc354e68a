"""The prediction explorer (notebook 09, the live demo): the code lives in ``mnistlib.widgets.explorer`` now.

This module stays so that notebooks saved before still import from here.
"""

from .widgets.explorer import prediction_explorer, prediction_explorer_update

__all__ = ["prediction_explorer", "prediction_explorer_update"]
