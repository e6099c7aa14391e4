"""Methods built on the toolkit, one wing each; importing this package registers their presets and backbone builders.

The generic core (model, lockstep, streams, adapters, anatomies, checkpoint I/O) never imports a method; a
method is a client of the core like any user code (``tests/core/test_layering.py`` holds that line).

* :mod:`mmadapt.methods.mma_dfer` — MMA-DFER (CVPR-W 2024): its presets, the AudioMAE / MAE-Face backbone
  builders and the official-checkpoint converter.
* :mod:`mmadapt.methods.claip_emo` — CLAIP-Emo (IEEE SPL 2026): its preset (PEFT LoRA in the towers, late concat).
"""

from . import claip_emo, mma_dfer

__all__ = ["claip_emo", "mma_dfer"]
