"""Studies: every preset of a list trained with every seed of a list on the same frozen backbones and data, and
the comparison a paper's ablation table needs (mean ± std, paired differences with a 95 % interval and a sign
test, per-class recall). ``mmadapt study``; ``mmadapt demo --ablations`` is one on the demo's scene.

``config`` (what a study is), ``grid`` (its cells and which are finished), ``cell`` (train one), ``synthetic``
(scenes and their pretrained backbones), ``runner`` (the whole grid, serial or in processes), ``stats`` and
``report``. See docs/study.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_attributes

if TYPE_CHECKING:
    from .config import StudyConfig, parse_seeds, resolve_presets
    from .runner import StudyResult, run_study
    from .stats import PairedDifference, mean_std, paired_difference
    from .synthetic import SCENES, register_scene

_LAZY: dict[str, str] = {
    "PairedDifference": ".stats",
    "SCENES": ".synthetic",
    "StudyConfig": ".config",
    "StudyResult": ".runner",
    "mean_std": ".stats",
    "paired_difference": ".stats",
    "parse_seeds": ".config",
    "register_scene": ".synthetic",
    "resolve_presets": ".config",
    "run_study": ".runner",
}
"""Public name -> its module, imported on first access: ``mmadapt study --help`` needs only :mod:`.config`."""

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)

__all__ = [
    "SCENES",
    "PairedDifference",
    "StudyConfig",
    "StudyResult",
    "mean_std",
    "paired_difference",
    "parse_seeds",
    "register_scene",
    "resolve_presets",
    "run_study",
]
