"""Fusion kinds: how information crosses between streams inside the encoders, one file per kind."""

from .attention_bottleneck import AttentionBottleneck, AttentionBottleneckConfig
from .base import FusedLayer, FusionKindConfig, resolve_layer_map
from .mean_bottleneck import MeanBottleneck, MeanBottleneckConfig

# the names of format v1, when the bottleneck was the only fusion
FusionBottleneck = MeanBottleneck
FusionConfig = MeanBottleneckConfig

__all__ = [
    "AttentionBottleneck",
    "AttentionBottleneckConfig",
    "FusedLayer",
    "FusionBottleneck",
    "FusionConfig",
    "FusionKindConfig",
    "MeanBottleneck",
    "MeanBottleneckConfig",
    "resolve_layer_map",
]
