"""Fusion bottleneck between the audio and video encoders."""

from .config import FusionConfig
from .layer import FusionBottleneck

__all__ = ["FusionBottleneck", "FusionConfig"]
