"""The CNN's feature-map viewer (notebook 12): the code lives in ``mnistlib.widgets.feature_maps`` now.

This module stays so that notebooks saved before still import from here.
"""

from .widgets.feature_maps import (STAGES, TILE, activations, feature_map_viewer, feature_maps_update,
                                   tiles_png)

__all__ = ["STAGES", "TILE", "activations", "feature_map_viewer", "feature_maps_update", "tiles_png"]
