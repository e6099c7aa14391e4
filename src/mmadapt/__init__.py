"""mmadapt: PEFT-style adapters that turn unimodal ViTs (audio, video, ...) into a multimodal temporal model.

The public names below are imported on first access (PEP 562), not by ``import mmadapt``: most of them pull in
torch and timm (seconds), and every command-line call, ``mmadapt --help`` included, imports this package first.
The errors, ``Registry`` and ``__version__`` are light and stay eager. The method wings (MMA-DFER's presets and
backbone builders) are registered on the first use of the preset or backbone registry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_attributes
from ._version import __version__
from .errors import (
    AdapterMismatchError,
    BypassedOverrideWarning,
    CheckpointError,
    ConfigError,
    DetachedModelError,
    InputShapeError,
    MMAdaptError,
    NonFiniteError,
    RegistryError,
    RunFolderError,
    RunFolderInUseError,
    UnknownNameError,
    UnsupportedBackboneError,
)
from .registry import Registry, defer_registrations

if TYPE_CHECKING:  # what the lazy names are, for type checkers and IDEs
    from .adapters import (
        AdapterConfig,
        AddFusion,
        AddFusionConfig,
        AddProjectConfig,
        AttentionBottleneck,
        AttentionBottleneckConfig,
        BackboneLoraConfig,
        FusionBottleneck,
        FusionConfig,
        FusionKindConfig,
        LateConcatConfig,
        MeanBottleneck,
        MeanBottleneckConfig,
        MultConcatFusion,
        MultConcatFusionConfig,
        MultFusion,
        MultFusionConfig,
        PromptConfig,
        PromptedViT,
        PromptInjector,
        TemporalHead,
        TemporalHeadConfig,
        VPTDeepConfig,
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
    from .finite import check_finite
    from .methods.mma_dfer import audiomae_vit_base, from_official, load_converted, maeface_vit_base, to_official
    from .model import MultimodalAdapterModel, StreamOutputs, wrap_encoders
    from .presets import describe_preset, get_preset, list_presets, register_preset
    from .streams import StreamInfo
    from .timeline import TimelineConfig, predict_timeline

_LAZY: dict[str, str] = {
    "AdapterConfig": ".adapters",
    "AddFusion": ".adapters",
    "AddFusionConfig": ".adapters",
    "AddProjectConfig": ".adapters",
    "Anatomy": ".anatomy",
    "AttentionBottleneck": ".adapters",
    "AttentionBottleneckConfig": ".adapters",
    "BackboneLoraConfig": ".adapters",
    "ConfigBase": ".config_base",
    "FusionBottleneck": ".adapters",
    "FusionConfig": ".adapters",
    "FusionKindConfig": ".adapters",
    "LateConcatConfig": ".adapters",
    "MeanBottleneck": ".adapters",
    "MeanBottleneckConfig": ".adapters",
    "MultConcatFusion": ".adapters",
    "MultConcatFusionConfig": ".adapters",
    "MultFusion": ".adapters",
    "MultFusionConfig": ".adapters",
    "MultimodalAdapterModel": ".model",
    "MultimodalConfig": ".config",
    "PromptConfig": ".adapters",
    "PromptInjector": ".adapters",
    "PromptedViT": ".adapters",
    "StreamInfo": ".streams",
    "StreamOutputs": ".model",
    "TemporalHead": ".adapters",
    "TemporalHeadConfig": ".adapters",
    "TimelineConfig": ".timeline",
    "VPTDeepConfig": ".adapters",
    "apply_overrides": ".config_base",
    "attach_prompts": ".adapters",
    "audiomae_vit_base": ".methods.mma_dfer",
    "check_finite": ".finite",
    "create_backbone": ".backbones",
    "describe_preset": ".presets",
    "from_official": ".methods.mma_dfer",
    "get_adapter_kind": ".adapters",
    "get_preset": ".presets",
    "list_adapter_kinds": ".adapters",
    "list_anatomies": ".anatomy",
    "list_backbones": ".backbones",
    "list_presets": ".presets",
    "load_backbone": ".backbones",
    "load_converted": ".methods.mma_dfer",
    "maeface_vit_base": ".methods.mma_dfer",
    "predict_timeline": ".timeline",
    "register_adapter_kind": ".adapters",
    "register_anatomy": ".anatomy",
    "register_preset": ".presets",
    "resolve_anatomy": ".anatomy",
    "to_official": ".methods.mma_dfer",
    "unregister_adapter_kind": ".adapters",
    "wrap_encoders": ".model",
}
"""Public name -> the submodule (relative to this package) that defines it, imported on first access."""

for _what in ("preset", "backbone"):
    defer_registrations(_what, f"{__name__}.methods")
del _what


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)

__all__ = [
    "AdapterConfig",
    "AdapterMismatchError",
    "AddFusion",
    "AddFusionConfig",
    "AddProjectConfig",
    "Anatomy",
    "AttentionBottleneck",
    "AttentionBottleneckConfig",
    "BackboneLoraConfig",
    "BypassedOverrideWarning",
    "CheckpointError",
    "ConfigBase",
    "ConfigError",
    "DetachedModelError",
    "FusionBottleneck",
    "FusionConfig",
    "FusionKindConfig",
    "InputShapeError",
    "LateConcatConfig",
    "MMAdaptError",
    "MeanBottleneck",
    "MeanBottleneckConfig",
    "MultConcatFusion",
    "MultConcatFusionConfig",
    "MultFusion",
    "MultFusionConfig",
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
    "TimelineConfig",
    "UnknownNameError",
    "UnsupportedBackboneError",
    "VPTDeepConfig",
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
    "predict_timeline",
    "register_adapter_kind",
    "register_anatomy",
    "register_preset",
    "resolve_anatomy",
    "to_official",
    "unregister_adapter_kind",
    "wrap_encoders",
]
