"""Fusion kinds: how information crosses between streams inside the encoders, one file per kind."""

from .base import FusedLayer, FusionKindConfig, resolve_layer_map
from .mean_bottleneck import MeanBottleneck, MeanBottleneckConfig
from .mean_bottleneck_ita import MeanBottleneckITA, MeanBottleneckITAConfig

# the names of format v1, when the bottleneck was the only fusion
FusionBottleneck = MeanBottleneck
FusionConfig = MeanBottleneckConfig

__all__ = [
    "FusedLayer",
    "FusionBottleneck",
    "FusionConfig",
    "FusionKindConfig",
    "MeanBottleneck",
    "MeanBottleneckConfig",
    "MeanBottleneckITA",
    "MeanBottleneckITAConfig",
    "resolve_layer_map",
]
