"""Temporal head: joint adaptation + multimodal temporal transformer + classifier."""

from .config import TemporalHeadConfig
from .layer import JointAdaptation, TemporalHead, TemporalTransformer

__all__ = ["JointAdaptation", "TemporalHead", "TemporalHeadConfig", "TemporalTransformer"]
