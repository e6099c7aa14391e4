"""CLAIP-Emo (IEEE SPL 2026) as one wing: a second published method on the same toolkit, not MMA-DFER-shaped.

* :mod:`.presets` — the ``claip-emo`` preset: PEFT LoRA inside each frozen tower, no prompts, no fusion, a temporal
  transformer over the frames and late concatenation (docs/methods-claip-emo.md).

Importing it registers the preset; ``mmadapt`` does so on the first use of the preset registry.
"""

from . import presets
from .presets import claip_emo_config

__all__ = ["claip_emo_config", "presets"]
