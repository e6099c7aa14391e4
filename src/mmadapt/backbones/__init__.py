"""Pre-trained ViT backbones: named builders (registered on import), generic loading, pos-embed resampling.

Every builder returns ``BuiltBackbone(model, report)``; checkpoints are local files loaded strictly.
"""

from .audiomae import audiomae_vit_base
from .checkpoint_file import read_state_dict
from .generic import LoadOptions, load_backbone
from .load_report import BuiltBackbone, CheckpointError, LoadReport
from .maeface import maeface_vit_base
from ..pos_embed import infer_grid, resample_grid_pos_embed
from .registry import create_backbone, list_backbones, register_backbone
from .state_loading import load_state_into
from .vit_config import ViTBackboneConfig, build_vit

__all__ = [
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
