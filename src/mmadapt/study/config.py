"""What a study is: a grid of (preset, seed) cells trained on one set of frozen backbones and one data set.

Apart from the runner so that ``mmadapt study --help`` and the seed/preset parsing need no torch.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any

from ..config_base import ConfigBase, did_you_mean, require_at_least
from ..demo.config import DemoConfig
from ..errors import ConfigError

__all__ = ["StudyConfig", "parse_seeds", "resolve_presets"]


@dataclass
class StudyConfig(ConfigBase):
    """One study. Exactly one of ``synthetic`` (a demo scene; backbones pretrained once per study) and
    ``experiment`` (an experiment YAML naming real backbones and data) says where backbones and data come from."""

    _stamp_version = True

    out_dir: str = "study_out"
    """Study folder: ``study_config.json``, ``backbones/``, ``cells/<preset>/seed_<k>.json``, the reports."""
    presets: tuple[str, ...] = ("mma-dfer", "mma-dfer-no-fusion")
    """Registered preset names, in report order."""
    reference: str | None = None
    """The preset every other one is compared to, seed by seed (None: the first)."""
    seeds: tuple[int, ...] = (0,)
    """Training seeds: each seeds the adapters' initialisation and the batch order; backbones and data stay."""
    synthetic: str | None = None
    """A scene of :data:`mmadapt.study.synthetic.SCENES` (e.g. ``expressions``)."""
    experiment: str | None = None
    """Path of an experiment YAML/JSON (``mmadapt train --config``): backbones, data, training."""
    data: str | None = None
    """With ``experiment``: a manifest that replaces its ``data.source.train``."""
    epochs: int | None = None
    """Training epochs per cell (None: the experiment's or the demo's)."""
    workers: int = 1
    """Cells trained at once, each in its own process (1: in this process)."""
    threads: int | None = None
    """torch CPU threads per cell (None: the machine's cores divided by ``workers``)."""
    demo: DemoConfig = field(default_factory=DemoConfig)
    """Sizes of the synthetic data and backbones (``synthetic`` only); its ``seed`` draws data and pretraining."""

    def __post_init__(self) -> None:
        for name in ("presets", "seeds"):
            if isinstance(getattr(self, name), list):
                setattr(self, name, tuple(getattr(self, name)))
        super().__post_init__()
        require_at_least(self, 1, "workers", "epochs", "threads")
        if not self.presets:
            raise ConfigError("StudyConfig.presets is empty: name at least one preset")
        if len(set(self.presets)) != len(self.presets):
            raise ConfigError(f"StudyConfig.presets repeats a name: {list(self.presets)}")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ConfigError(f"StudyConfig.seeds must be distinct and not empty, got {list(self.seeds)}")
        if self.reference is not None and self.reference not in self.presets:
            raise ConfigError(f"reference {self.reference!r} is not one of the presets {list(self.presets)}")
        if (self.synthetic is None) == (self.experiment is None):
            raise ConfigError("a study needs exactly one source: a synthetic scene or an experiment config")
        if self.data is not None and self.experiment is None:
            raise ConfigError("--data MANIFEST needs --config EXPERIMENT.yaml (it names the backbones)")

    @property
    def reference_preset(self) -> str:
        return self.reference if self.reference is not None else self.presets[0]

    def fingerprint(self) -> dict[str, Any]:
        """What makes two cells of the same (preset, seed) comparable: everything but the grid and the execution.
        A study folder resumes only under the same fingerprint."""
        d = self.to_dict()
        # The experiment's and manifest's paths are not compared as spelled ("exp.yaml" from one folder is
        # "../exp.yaml" from another): the runner compares the experiment they give, paths made absolute.
        for key in ("out_dir", "presets", "reference", "seeds", "workers", "threads", "experiment", "data"):
            d.pop(key)
        if self.synthetic is None:
            d.pop("demo")
        else:  # the grid's own fields of the demo are the study's
            if self.epochs is None:  # the demo's epochs are the cells' (``--demo epochs=3`` is ``--epochs 3``)
                d["epochs"] = self.demo.epochs
            for key in ("out_dir", "presets", "epochs", "threads"):
                d["demo"].pop(key)
        return d

    def changed_settings(self, other: StudyConfig) -> list[str]:
        """The fingerprint's settings (dotted, e.g. ``demo.lr``) on which ``other`` differs from this study."""
        mine, theirs = _flatten(self.fingerprint()), _flatten(other.fingerprint())
        return sorted(k for k in mine.keys() | theirs.keys() if mine.get(k, _MISSING) != theirs.get(k, _MISSING))


_MISSING = object()


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in d.items():
        if isinstance(value, dict) and value:
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def parse_seeds(text: str) -> tuple[int, ...]:
    """``"0-9"``, ``"0,3,5"`` or a mix (``"0-2,7"``) -> distinct seeds in the order given."""
    seeds: list[int] = []
    for part in text.split(","):
        part = part.strip()
        lo, dash, hi = part.partition("-")
        try:
            chunk = list(range(int(lo), int(hi) + 1)) if dash else [int(part)]
        except ValueError:
            raise ConfigError(f"--seeds {text!r}: {part!r} is not a seed or a range like 0-9") from None
        if dash and int(hi) < int(lo):
            raise ConfigError(f"--seeds {text!r}: the range {part!r} runs backwards")
        seeds.extend(chunk)
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"--seeds {text!r}: a seed is given twice")
    return tuple(seeds)


def resolve_presets(text: str, registered: list[str]) -> tuple[str, ...]:
    """A comma list of preset names and shell patterns (``"mma-dfer*"``) -> names, in the order given (a
    pattern's matches sorted), each once."""
    names: list[str] = []
    for item in (t.strip() for t in text.split(",")):
        if not item:
            continue
        matches = sorted(fnmatch.filter(registered, item)) if any(c in item for c in "*?[") else [item]
        if not matches:
            raise ConfigError(
                f"--presets: {item!r} matches no registered preset (mmadapt info --list-presets lists them)"
            )
        for name in matches:
            if name not in registered:
                raise ConfigError(f"--presets: unknown preset {name!r}{did_you_mean(name, registered)}")
            if name not in names:
                names.append(name)
    if not names:
        raise ConfigError(f"--presets {text!r} names no preset")
    return tuple(names)
