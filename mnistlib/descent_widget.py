"""Gradient descent on a toy bowl (notebook 06): the code lives in ``mnistlib.widgets.descent`` now.

This module stays so that notebooks saved before still import from here.
"""

from .widgets.descent import (BOWLS, Bowl, describe, descent_explorer, descent_explorer_update,
                              gradient_descent, paths_figure)

__all__ = ["BOWLS", "Bowl", "describe", "descent_explorer", "descent_explorer_update", "gradient_descent",
           "paths_figure"]
