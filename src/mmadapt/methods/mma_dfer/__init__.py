"""MMA-DFER (CVPR-W 2024) as one wing: everything specific to the method, on top of the generic toolkit.

* :mod:`.presets` — the ``mma-dfer`` preset and the paper's Table-4 ablations (``list_presets("mma-dfer*")``);
* :mod:`.audiomae`, :mod:`.maeface` — the AudioMAE and MAE-Face ViT-B builders (``list_backbones()``);
* :mod:`.convert` — official ``model.pth`` <-> mmadapt, bit-exact both ways (``mmadapt convert-official``).

Importing it registers the presets and builders; ``mmadapt`` does so on the first use of either registry.
"""

from . import beyond_paper, presets
from .audiomae import audiomae_vit_base
from .convert import from_official, load_converted, save_converted, to_official
from .maeface import maeface_vit_base
from .presets import TABLE4, mma_dfer_config

__all__ = [
    "TABLE4",
    "audiomae_vit_base",
    "beyond_paper",
    "from_official",
    "load_converted",
    "maeface_vit_base",
    "mma_dfer_config",
    "presets",
    "save_converted",
    "to_official",
]
