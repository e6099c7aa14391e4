"""Adapter kinds by role, each kind in its own file with its config beside it (see :mod:`.kinds`)."""

from ._config import AdapterConfig
from .backbone_lora import BackboneLoraConfig
from .fusion import (
    FusionBottleneck,
    FusionConfig,
    FusionKindConfig,
    MeanBottleneck,
    MeanBottleneckConfig,
)
from .kinds import (
    AdapterKind,
    build_adapter,
    config_from_dict,
    get_adapter_kind,
    kind_of,
    list_adapter_kinds,
    register_adapter_kind,
    unregister_adapter_kind,
)
from .prompts import PromptConfig, PromptedViT, PromptInjector, attach_prompts
from .temporal import (
    AddProjectConfig,
    JointAdaptation,
    LateConcatConfig,
    LateConcatHead,
    TemporalHead,
    TemporalHeadConfig,
)

__all__ = [
    "AdapterConfig",
    "AdapterKind",
    "AddProjectConfig",
    "BackboneLoraConfig",
    "FusionBottleneck",
    "FusionConfig",
    "FusionKindConfig",
    "JointAdaptation",
    "LateConcatConfig",
    "LateConcatHead",
    "MeanBottleneck",
    "MeanBottleneckConfig",
    "PromptConfig",
    "PromptInjector",
    "PromptedViT",
    "TemporalHead",
    "TemporalHeadConfig",
    "attach_prompts",
    "build_adapter",
    "config_from_dict",
    "get_adapter_kind",
    "kind_of",
    "list_adapter_kinds",
    "register_adapter_kind",
    "unregister_adapter_kind",
]
