"""Head and joint kinds: from the streams' pooled features to a clip embedding and logits, one file per kind."""

from .joint import AddProjectConfig, JointAdaptation
from .late_concat import LateConcatConfig, LateConcatHead
from .layers import TemporalTransformer
from .transformer_head import TemporalHead, TemporalHeadConfig

__all__ = [
    "AddProjectConfig",
    "JointAdaptation",
    "LateConcatConfig",
    "LateConcatHead",
    "TemporalHead",
    "TemporalHeadConfig",
    "TemporalTransformer",
]
