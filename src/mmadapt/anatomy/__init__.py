"""Backbone anatomies: one file per family, resolved from the model object through a validating registry."""

from .base import Anatomy, BackboneIdentity, PosSlot, PromptFixup, map_tokens
from .registry import ANATOMIES, list_anatomies, register_anatomy, resolve_anatomy
from .timm_vit import TimmViTAnatomy

register_anatomy("timm.models.vision_transformer.VisionTransformer", TimmViTAnatomy)

__all__ = [
    "ANATOMIES",
    "Anatomy",
    "BackboneIdentity",
    "PosSlot",
    "PromptFixup",
    "TimmViTAnatomy",
    "list_anatomies",
    "map_tokens",
    "register_anatomy",
    "resolve_anatomy",
]

from .hf_beit import BeitAnatomy  # noqa: E402
from .hf_clip import CLIPVisionAnatomy  # noqa: E402
from .hf_mae import ViTMAEAnatomy  # noqa: E402
from .hf_vit import ASTAnatomy, Dinov2Anatomy, HFViTAnatomy  # noqa: E402
from .timm_eva import TimmEvaAnatomy  # noqa: E402

register_anatomy("timm.models.eva.Eva", TimmEvaAnatomy)
register_anatomy("transformers.models.vit.modeling_vit.ViTModel", HFViTAnatomy)
register_anatomy(
    "transformers.models.audio_spectrogram_transformer.modeling_audio_spectrogram_transformer.ASTModel", ASTAnatomy
)
register_anatomy("transformers.models.dinov2.modeling_dinov2.Dinov2Model", Dinov2Anatomy)
register_anatomy("transformers.models.clip.modeling_clip.CLIPVisionModel", CLIPVisionAnatomy)
register_anatomy("transformers.models.vit_mae.modeling_vit_mae.ViTMAEModel", ViTMAEAnatomy)
register_anatomy("transformers.models.beit.modeling_beit.BeitModel", BeitAnatomy)
register_anatomy("transformers.models.data2vec.modeling_data2vec_vision.Data2VecVisionModel", BeitAnatomy)

__all__ += [
    "ASTAnatomy",
    "BeitAnatomy",
    "CLIPVisionAnatomy",
    "Dinov2Anatomy",
    "HFViTAnatomy",
    "TimmEvaAnatomy",
    "ViTMAEAnatomy",
]
