"""Official MMA-DFER checkpoints <-> mmadapt: convert, export back bit-exactly, save and reload converted models.

``from_official(path, img_size, num_classes)`` -> ``ConversionResult(model, report, extras)``;
``to_official(model)`` -> the official state dict; ``save_converted`` / ``load_converted`` store a converted
model as an adapter directory plus both backbones (what ``mmadapt convert-official`` writes).
"""

from .architecture import EncoderShape, OfficialArchitecture
from .directory import load_converted, save_converted
from .from_official import ConversionReport, ConversionResult, from_official
from .layout import Dropped, OfficialLayout, Part, Route, build_layout
from .reader import OfficialSource, read_official
from .to_official import to_official

__all__ = [
    "ConversionReport",
    "ConversionResult",
    "Dropped",
    "EncoderShape",
    "OfficialArchitecture",
    "OfficialLayout",
    "OfficialSource",
    "Part",
    "Route",
    "build_layout",
    "from_official",
    "load_converted",
    "read_official",
    "save_converted",
    "to_official",
]
