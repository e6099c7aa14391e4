"""mmadapt: PEFT-style adapters that turn unimodal ViTs (audio, video, ...) into a multimodal temporal model."""

from ._version import __version__
from .adapters import (
    AdapterConfig,
    AddProjectConfig,
    FusionBottleneck,
    FusionConfig,
    FusionKindConfig,
    MeanBottleneck,
    MeanBottleneckConfig,
    PromptConfig,
    PromptedViT,
    PromptInjector,
    TemporalHead,
    TemporalHeadConfig,
    attach_prompts,
    get_adapter_kind,
    list_adapter_kinds,
    register_adapter_kind,
    unregister_adapter_kind,
)
from .anatomy import Anatomy, list_anatomies, register_anatomy, resolve_anatomy
from .backbones import create_backbone, list_backbones, load_backbone
from .config import MultimodalConfig
from .config_base import ConfigBase, apply_overrides
from .errors import (
    AdapterMismatchError,
    BypassedOverrideWarning,
    CheckpointError,
    ConfigError,
    InputShapeError,
    MMAdaptError,
    NonFiniteError,
    RegistryError,
    RunFolderError,
    RunFolderInUseError,
    UnknownNameError,
    UnsupportedBackboneError,
)
from .finite import check_finite
from .methods.mma_dfer import audiomae_vit_base, from_official, load_converted, maeface_vit_base, to_official
from .model import MultimodalAdapterModel, StreamOutputs, wrap_encoders
from .presets import describe_preset, get_preset, list_presets, register_preset
from .registry import Registry
from .streams import StreamInfo

__all__ = [
    "AdapterConfig",
    "AdapterMismatchError",
    "AddProjectConfig",
    "Anatomy",
    "BypassedOverrideWarning",
    "CheckpointError",
    "ConfigBase",
    "ConfigError",
    "FusionBottleneck",
    "FusionConfig",
    "FusionKindConfig",
    "InputShapeError",
    "MMAdaptError",
    "MeanBottleneck",
    "MeanBottleneckConfig",
    "MultimodalAdapterModel",
    "MultimodalConfig",
    "NonFiniteError",
    "PromptConfig",
    "PromptInjector",
    "PromptedViT",
    "Registry",
    "RegistryError",
    "RunFolderError",
    "RunFolderInUseError",
    "StreamInfo",
    "StreamOutputs",
    "TemporalHead",
    "TemporalHeadConfig",
    "UnknownNameError",
    "UnsupportedBackboneError",
    "__version__",
    "apply_overrides",
    "attach_prompts",
    "audiomae_vit_base",
    "check_finite",
    "create_backbone",
    "describe_preset",
    "from_official",
    "get_adapter_kind",
    "get_preset",
    "list_adapter_kinds",
    "list_anatomies",
    "list_backbones",
    "list_presets",
    "load_backbone",
    "load_converted",
    "maeface_vit_base",
    "register_adapter_kind",
    "register_anatomy",
    "register_preset",
    "resolve_anatomy",
    "to_official",
    "unregister_adapter_kind",
    "wrap_encoders",
]
