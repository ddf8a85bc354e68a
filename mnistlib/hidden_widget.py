"""The hidden-unit viewer (notebook 11): the code lives in ``mnistlib.widgets.hidden_units`` now.

This module stays so that notebooks saved before still import from here.
"""

from .widgets.hidden_units import (hidden_activations, hidden_unit_update, hidden_unit_viewer,
                                   strongest_unit)

__all__ = ["hidden_activations", "hidden_unit_update", "hidden_unit_viewer", "strongest_unit"]
