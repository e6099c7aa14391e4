"""Pre-trained ViT backbones: the builder registry, generic loading, pos-embed resampling.

Every builder returns ``BuiltBackbone(model, report)``; checkpoints are local files loaded strictly. The
method-specific builders live in their wing and register themselves on the registry's first use (AudioMAE and
MAE-Face: :mod:`mmadapt.methods.mma_dfer`); ``audiomae_vit_base`` and ``maeface_vit_base`` stay importable from
here, resolved on first access so that this generic package never imports a method.
"""

from importlib import import_module
from typing import Any

from ..pos_embed import infer_grid, resample_grid_pos_embed
from .checkpoint_file import read_state_dict
from .generic import LoadOptions, load_backbone
from .load_report import BuiltBackbone, CheckpointError, LoadReport
from .registry import BACKBONES, create_backbone, list_backbones, register_backbone
from .state_loading import load_state_into
from .vit_config import ViTBackboneConfig, build_vit

__all__ = [
    "BACKBONES",
    "BuiltBackbone",
    "CheckpointError",
    "LoadOptions",
    "LoadReport",
    "ViTBackboneConfig",
    "audiomae_vit_base",
    "build_vit",
    "create_backbone",
    "infer_grid",
    "list_backbones",
    "load_backbone",
    "load_state_into",
    "maeface_vit_base",
    "read_state_dict",
    "register_backbone",
    "resample_grid_pos_embed",
]

_MOVED = {
    "audiomae_vit_base": "mmadapt.methods.mma_dfer.audiomae",
    "maeface_vit_base": "mmadapt.methods.mma_dfer.maeface",
}


def __getattr__(name: str) -> Any:
    """The builders that moved to a method wing, by their old name."""
    if name in _MOVED:
        return getattr(import_module(_MOVED[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_MOVED})
