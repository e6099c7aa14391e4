"""MMA-DFER (CVPR-W 2024) as one wing: everything specific to the method, on top of the generic toolkit.

* :mod:`.presets` — the ``mma-dfer`` preset and the paper's Table-4 ablations (``list_presets("mma-dfer*")``);
* :mod:`.table3` — Table 3's other fusion kinds in the ``mma-dfer`` recipe (``list_presets("mma-dfer-fusion-*")``);
* :mod:`.table2`, :mod:`.table5` — intermediate temporal adaptors (Table 2) and one modality alone (Table 5);
* :mod:`.table6`, :mod:`.table7` — Tables 6 (latent width) and 7 (prompt updates); :mod:`.vpt` — VPT-deep prompts;
* :mod:`.audiomae`, :mod:`.maeface` — the AudioMAE and MAE-Face ViT-B builders (``list_backbones()``);
* :mod:`.convert` — official ``model.pth`` <-> mmadapt, bit-exact both ways (``mmadapt convert-official``).

Importing it registers the presets and builders; ``mmadapt`` does so on the first use of either registry.
"""

from . import beyond_paper, presets, table2, table3, table5, table6, table7, vpt
from .audiomae import audiomae_vit_base
from .convert import from_official, load_converted, save_converted, to_official
from .maeface import maeface_vit_base
from .presets import TABLE4, mma_dfer_config
from .table3 import TABLE3

__all__ = [
    "TABLE3",
    "TABLE4",
    "audiomae_vit_base",
    "beyond_paper",
    "from_official",
    "load_converted",
    "maeface_vit_base",
    "mma_dfer_config",
    "presets",
    "save_converted",
    "table2",
    "table3",
    "table5",
    "table6",
    "table7",
    "to_official",
    "vpt",
]
