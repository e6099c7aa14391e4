"""The paper's Table 5 (§4.6): one modality alone, ``mma-dfer-audio-only`` and ``mma-dfer-video-only``.

"Each branch is frozen and only the classifier is updated": the model has one stream, no prompts, no fusion and
no positional tuning. The head is MMA-DFER's without the temporal transformer: joint Linear, mean over frames,
classifier; all three are linear, so what is trained is a linear classifier on the frozen encoder's
frame-averaged pooled token (the joint Linear is kept so the head has the same shape as in the other presets).
"""

from __future__ import annotations

from collections.abc import Mapping

from ...anatomy import Anatomy
from ...config import MultimodalConfig
from ...errors import ConfigError
from ...presets import PresetFn, register_preset
from .presets import mma_dfer_config

__all__ = ["TABLE5"]

TABLE5: dict[str, str] = {"mma-dfer-audio-only": "audio", "mma-dfer-video-only": "video"}
"""Table 5 by preset name: the one stream the preset is for."""


def _unimodal(name: str, stream: str) -> PresetFn:
    def fn(anatomies: Mapping[str, Anatomy]) -> MultimodalConfig:
        if list(anatomies) != [stream]:
            raise ConfigError(
                f"preset {name!r} takes the {stream} encoder alone, got streams {list(anatomies)}; "
                f"wrap_encoders({{{stream!r}: {stream}_vit}}, preset={name!r})"
            )
        c = mma_dfer_config(anatomies)
        return c.with_overrides(
            prompts=None, fusion=None, tune_pos_embed=False, head=c.head.replace(use_transformer=False)
        )

    fn.__doc__ = f"{stream} encoder alone, frozen; only the head (linear: joint Linear, frame mean, classifier) trains"
    return fn


for _name, _stream in TABLE5.items():
    register_preset(_name, _unimodal(_name, _stream), paper_ref="MMA-DFER §4.6, Table 5")
