"""mmadapt: PEFT-style adapters that turn two unimodal ViTs (audio, video) into a multimodal temporal model."""

from .adapters import (
    FusionBottleneck,
    FusionConfig,
    PromptConfig,
    PromptedViT,
    PromptInjector,
    TemporalHead,
    TemporalHeadConfig,
    attach_prompts,
)
from .anatomy import Anatomy, list_anatomies, register_anatomy, resolve_anatomy
from .config import MultimodalConfig
from .errors import (
    AdapterMismatchError,
    CheckpointError,
    ConfigError,
    InputShapeError,
    MMAdaptError,
    UnsupportedBackboneError,
)
from .model import MultimodalAdapterModel, StreamOutputs, wrap_encoders
from .presets import describe_preset, get_preset, list_presets, register_preset

__version__ = "0.1.0"

__all__ = [
    "AdapterMismatchError",
    "Anatomy",
    "CheckpointError",
    "ConfigError",
    "FusionBottleneck",
    "FusionConfig",
    "InputShapeError",
    "MMAdaptError",
    "MultimodalAdapterModel",
    "MultimodalConfig",
    "PromptConfig",
    "PromptInjector",
    "PromptedViT",
    "StreamOutputs",
    "TemporalHead",
    "TemporalHeadConfig",
    "UnsupportedBackboneError",
    "__version__",
    "attach_prompts",
    "describe_preset",
    "get_preset",
    "list_anatomies",
    "list_presets",
    "register_anatomy",
    "register_preset",
    "resolve_anatomy",
    "wrap_encoders",
]
