"""Methods built on the toolkit, one wing each; importing this package registers their presets and backbone builders.

The generic core (model, lockstep, streams, adapters, anatomies, checkpoint I/O) never imports a method; a
method is a client of the core like any user code (``tests/core/test_layering.py`` holds that line).

* :mod:`mmadapt.methods.mma_dfer` — MMA-DFER (CVPR-W 2024): its presets, the AudioMAE / MAE-Face backbone
  builders and the official-checkpoint converter.
"""

from . import mma_dfer

__all__ = ["mma_dfer"]
