"""Draw a digit (notebook 10, the live demo): the code lives in ``mnistlib.widgets.drawing`` now.

This module stays so that notebooks saved before still import from here.
"""

from .widgets.drawing import draw_digit, draw_update

__all__ = ["draw_digit", "draw_update"]
