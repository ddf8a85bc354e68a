"""The weight-decay explorer (notebook 08): the code lives in ``mnistlib.widgets.weight_decay`` now.

This module stays so that notebooks saved before still import from here.
"""

from .widgets.weight_decay import DECAY_VALUES, weight_decay_explorer, weight_decay_update

__all__ = ["DECAY_VALUES", "weight_decay_explorer", "weight_decay_update"]
