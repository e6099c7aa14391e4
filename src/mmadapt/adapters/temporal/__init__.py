"""Head and joint kinds: from the streams' pooled features to a clip embedding and logits, one file per kind."""

from .joint import AddProjectConfig, JointAdaptation
from .layers import TemporalTransformer
from .transformer_head import TemporalHead, TemporalHeadConfig

__all__ = ["AddProjectConfig", "JointAdaptation", "TemporalHead", "TemporalHeadConfig", "TemporalTransformer"]
