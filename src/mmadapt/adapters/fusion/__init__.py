"""Fusion kinds: how information crosses between streams inside the encoders, one file per kind."""

from .add import AddFusion, AddFusionConfig
from .attention_bottleneck import AttentionBottleneck, AttentionBottleneckConfig
from .base import FusedLayer, FusionKindConfig, resolve_layer_map
from .mean_bottleneck import MeanBottleneck, MeanBottleneckConfig
from .mean_bottleneck_ita import MeanBottleneckITA, MeanBottleneckITAConfig
from .mult import MultFusion, MultFusionConfig
from .mult_concat import MultConcatFusion, MultConcatFusionConfig

# the names of format v1, when the bottleneck was the only fusion
FusionBottleneck = MeanBottleneck
FusionConfig = MeanBottleneckConfig

__all__ = [
    "AddFusion",
    "AddFusionConfig",
    "AttentionBottleneck",
    "AttentionBottleneckConfig",
    "FusedLayer",
    "FusionBottleneck",
    "FusionConfig",
    "FusionKindConfig",
    "MeanBottleneck",
    "MeanBottleneckConfig",
    "MeanBottleneckITA",
    "MeanBottleneckITAConfig",
    "MultConcatFusion",
    "MultConcatFusionConfig",
    "MultFusion",
    "MultFusionConfig",
    "resolve_layer_map",
]
