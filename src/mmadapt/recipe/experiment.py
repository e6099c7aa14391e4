"""`ExperimentConfig`: everything one run needs (backbones + preset, data, training) as one YAML/JSON file.

Sections: ``model`` (:class:`ModelSpec`), ``data`` (a :class:`~mmadapt.data.DataConfig` plus ``data.source``,
the :class:`DataSource` saying where the clips are) and ``train`` (a :class:`~mmadapt.recipe.TrainConfig`).
The existing config classes are reused as they are; only the two small records below are new.

Command-line overrides are dotted ``key=value`` strings (``train.lr=3e-4``, ``data.img_size=112``,
``model.preset=mma-dfer-no-fusion``, ``model.overrides.fusion.latent_dim=64``), read by the one parser of
:func:`mmadapt.config_base.apply_overrides`. Unknown keys are errors, except inside the free-form dicts
``model.overrides`` and ``model.{audio,video}.kwargs`` (checked when the model is built). Relative paths in a
config file resolve against the file's folder, on the command line against the working directory; so does a
``model.<stream>.name`` that is a local Hugging Face folder found beside the file. Commented examples for users'
own backbones: ``examples/configs/``.

Nothing downloads: backbones come from their builders with a local checkpoint, or with random weights drawn
from ``model.init_seed`` (loudly warned about), so ``eval`` and ``predict`` rebuild the very same backbones.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import os
import string
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from .._io import read_user_text, write_json, write_text
from ..config import MultimodalConfig
from ..config_base import ConfigBase, apply_overrides
from ..data import (
    AudioRule,
    ClipDatasetBase,
    DataConfig,
    FrameFolderDataset,
    VideoManifestDataset,
    get_dataset_spec,
)
from ..data.preflight import NO_AUDIO_RULE
from ..errors import CheckpointError, ConfigError, UnknownNameError
from ..presets import PRESETS
from .config import TrainConfig

if TYPE_CHECKING:
    from ..backbones import BuiltBackbone

__all__ = [
    "BackboneSpec",
    "DataSource",
    "ExperimentConfig",
    "ExperimentData",
    "ModelSpec",
    "build_backbones",
    "build_dataset",
    "build_datasets",
    "build_model",
    "class_names",
    "load_backbone_spec",
    "model_overrides",
    "num_classes",
]

logger = logging.getLogger(__name__)

SOURCE_KINDS = ("manifest", "annotations")
SPLITS = ("train", "val", "test")
# dotted keys holding file paths (resolved against a config file's folder)
_PATH_KEYS = (
    "data.source.train",
    "data.source.val",
    "data.source.test",
    "data.source.root",
    "data.source.audio_dir",
    "data.source.class_names",
    "model.audio.checkpoint",
    "model.video.checkpoint",
    "train.out_dir",
)


# ---- the records ----------------------------------------------------------------------------------------
@dataclass
class BackboneSpec(ConfigBase):
    """One encoder: a registered mmadapt builder or a timm model name, its keyword arguments, a local checkpoint."""

    name: str = "maeface_vit_base"
    """Registered backbone (``mmadapt.backbones.list_backbones()``), timm model name or local HF directory."""
    kwargs: dict[str, Any] = field(default_factory=dict)
    """Constructor keywords, e.g. ``{img_size: 224}`` or a tiny timm ViT's ``embed_dim``/``depth``."""
    checkpoint: str | None = None
    """Local weights file loaded strictly; None = random weights (warned about)."""

    def __post_init__(self) -> None:
        super().__post_init__()  # type checks
        if not self.name:
            raise ConfigError(f"backbone name must be a non-empty string, got {self.name!r}")


@dataclass
class ModelSpec(ConfigBase):
    """Which backbones, which preset, how many classes."""

    preset: str = "mma-dfer"
    """Registered preset (``mmadapt.list_presets()``)."""
    num_classes: int | None = None
    """None: the number of class names of the data source (names list or dataset spec)."""
    audio: BackboneSpec = field(default_factory=lambda: BackboneSpec("audiomae_vit_base"))
    """Audio (spectrogram) encoder."""
    video: BackboneSpec = field(default_factory=lambda: BackboneSpec("maeface_vit_base", {"img_size": 224}))
    """Video (frame) encoder."""
    overrides: dict[str, Any] = field(default_factory=dict)
    """Preset fields to replace (``wrap_encoders`` overrides), e.g. ``{fusion: {latent_dim: 64}}``."""
    init_seed: int = 0
    """Seed of the backbones' random initialisation, so a rebuild gives the same weights where none are loaded."""

    def __post_init__(self) -> None:
        super().__post_init__()  # type checks; dicts for ``audio`` / ``video`` become BackboneSpecs
        if self.preset not in PRESETS:
            raise UnknownNameError(PRESETS.unknown_message(self.preset))
        if self.num_classes is not None and self.num_classes < 1:
            raise ConfigError(f"model.num_classes must be a positive integer or None, got {self.num_classes!r}")
        if "num_classes" in self.overrides:
            raise ConfigError("set model.num_classes, not model.overrides.num_classes")
        try:  # key names and value ranges; depth-dependent checks happen when the model is built
            MultimodalConfig().with_overrides(**self.overrides)
        except (ConfigError, TypeError, ValueError) as err:
            raise ConfigError(f"model.overrides: {err}") from err


@dataclass
class DataSource(ConfigBase):
    """Where the clips are: manifests of mp4 files or official annotation lists of frame folders."""

    kind: str = "manifest"
    """'manifest' (CSV/JSONL of mp4 files) or 'annotations' (official ``frame_dir num_frames label`` lists)."""
    train: str | None = None
    """Training split file; may contain ``{fold}`` for k-fold runs."""
    val: str | None = None
    """Validation split file, scored during training (final = last epoch)."""
    test: str | None = None
    """Test split file, scored once after training (the k-fold test split)."""
    dataset: str | None = None
    """Dataset spec (``dfew``, ``mafw``): class names and, with ``root``, the audio layout."""
    root: str | None = None
    """Dataset root: annotation lists' frame folders resolve against it; the spec's audio folder lies in it."""
    audio_dir: str | None = None
    """Annotation lists: folder of the audio files (overrides the spec's rule)."""
    audio_pattern: str = "{id}.wav"
    """Annotation lists: audio file name pattern in ``audio_dir`` (``{id}``, ``{int_id}``)."""
    class_names: list[str] | str | None = None
    """Class names in label order, or a file (.json list / {"classes": [...]}, or one name per line)."""

    def __post_init__(self) -> None:
        super().__post_init__()  # type checks
        if self.kind not in SOURCE_KINDS:
            raise ConfigError(f"data.source.kind must be one of {SOURCE_KINDS}, got {self.kind!r}")
        if self.dataset is not None:
            get_dataset_spec(self.dataset)  # raises, naming the registered ones
        if self.audio_dir is not None:
            AudioRule(Path(self.audio_dir), self.audio_pattern)  # validates the pattern
        for split in SPLITS:
            path = getattr(self, split)
            try:
                fields_used = {f for _, f, _, _ in string.Formatter().parse(path or "")} - {None}
            except ValueError as err:
                raise ConfigError(f"data.source.{split}={path!r}: {err}") from err
            if fields_used - {"fold"}:
                raise ConfigError(f"data.source.{split}={path!r}: the only placeholder allowed is {{fold}}")

    def uses_folds(self) -> bool:
        return any("{fold}" in (getattr(self, s) or "") for s in SPLITS)

    def for_fold(self, fold: int) -> DataSource:
        """A copy with ``{fold}`` filled in the split paths."""
        return self.replace(**{s: getattr(self, s).format(fold=fold) for s in SPLITS if getattr(self, s) is not None})


@dataclass
class ExperimentData(DataConfig):
    """A :class:`~mmadapt.data.DataConfig` plus its :class:`DataSource`. ``mode`` is set per split (train for
    the training split, test otherwise) and is not part of the file."""

    _unsaved = {"mode": "set per split (train / test)"}

    source: DataSource = field(default_factory=DataSource)
    """Where the clips are."""

    def for_split(self, split: str) -> DataConfig:
        """The plain DataConfig a dataset of ``split`` gets."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(DataConfig)}
        values["mode"] = "train" if split == "train" else "test"
        return DataConfig(**values)


@dataclass
class ExperimentConfig(ConfigBase):
    """A whole run: model, data, training. Round-trips through ``to_dict``/``from_dict``, YAML and JSON."""

    _stamp_version = True

    model: ModelSpec = field(default_factory=ModelSpec)
    """Backbones, preset, classes."""
    data: ExperimentData = field(default_factory=ExperimentData)
    """Sampling, transforms, audio features and the data source."""
    train: TrainConfig = field(default_factory=TrainConfig)
    """Optimisation, execution and outputs."""

    @classmethod
    def _migrate(cls, data: dict[str, Any], where: str) -> dict[str, Any]:
        sections = [f.name for f in dataclasses.fields(cls)]
        return {k: v for k, v in data.items() if not (v is None and k in sections)}  # an empty YAML section

    # ---- files ------------------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write YAML (``.yaml``/``.yml``) or JSON (``.json``) atomically."""
        path = Path(path)
        if path.suffix in (".yaml", ".yml"):
            import yaml

            return write_text(path, yaml.safe_dump(self.to_dict(), sort_keys=False))
        if path.suffix == ".json":
            return write_json(path, self.to_dict())
        raise ConfigError(f"{path}: experiment configs end in .yaml, .yml or .json")

    @classmethod
    def load(cls, path: str | os.PathLike[str], overrides: list[str] | tuple[str, ...] = ()) -> ExperimentConfig:
        """Read a file (its relative paths resolve against its folder), then apply ``overrides``."""
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"{path}: experiment config not found")
        d = _read_mapping(path)
        if not isinstance(d, dict):
            raise ConfigError(f"{path}: expected a mapping at the top level, got {type(d).__name__}")
        _rebase_paths(d, path.parent.resolve())
        try:
            cfg = cls.from_dict(d)
        except ConfigError as err:
            raise ConfigError(f"{path}: {err}") from err
        return cfg.with_overrides(overrides)

    # ---- variants -----------------------------------------------------------------------------------------
    def with_overrides(self, overrides: list[str] | tuple[str, ...]) -> ExperimentConfig:
        """A copy with dotted ``key=value`` overrides applied; each is validated (errors name the override)."""
        return apply_overrides(self, overrides)

    def for_fold(self, fold: int) -> ExperimentConfig:
        """A copy with ``{fold}`` filled in the data paths."""
        return self.replace(data=self.data.replace(source=self.data.source.for_fold(fold)))

    def with_absolute_paths(self, base: str | os.PathLike[str] | None = None) -> ExperimentConfig:
        """A copy whose relative paths are made absolute against ``base`` (default: the working directory)."""
        d = self.to_dict()
        _rebase_paths(d, Path(base) if base is not None else Path.cwd())
        return type(self).from_dict(d)

    def with_relative_paths(self, base: str | os.PathLike[str]) -> ExperimentConfig:
        """A copy whose paths are relative to ``base``: saved in ``base``, the file moves with what it names (the
        inverse of :meth:`with_absolute_paths`, which :meth:`load` applies against the file's folder)."""
        d = self.to_dict()
        start = Path(base).resolve()
        _map_paths(d, lambda p: os.path.relpath(Path(p).resolve(), start))
        return type(self).from_dict(d)


# ---- dict helpers -----------------------------------------------------------------------------------------
def _read_mapping(path: Path) -> Any:
    import yaml

    if path.suffix not in (".yaml", ".yml", ".json"):
        raise ConfigError(f"{path}: experiment configs end in .yaml, .yml or .json")
    text = read_user_text(path, "experiment config")
    try:
        if path.suffix == ".json":
            return json.loads(text)
        return yaml.safe_load(text) or {}
    except json.JSONDecodeError as err:
        raise ConfigError(f"{path}:{err.lineno}:{err.colno}: invalid JSON ({err.msg})") from None
    except yaml.MarkedYAMLError as err:
        raise ConfigError(f"{path}: {_yaml_problem(err)}") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: invalid YAML ({' '.join(str(err).split())})") from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply to be an experiment config") from None


def _yaml_problem(err: Any) -> str:
    """A YAML syntax error on one line: where (1-based line and column, as editors count) and what."""
    mark = err.problem_mark or err.context_mark
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    what = " ".join(p for p in (err.context, err.problem) if p)
    return f"{where}invalid YAML ({' '.join(what.split()) or 'syntax error'})"


def _map_paths(d: dict[str, Any], change: Callable[[str], str]) -> None:
    """Replace, in place, every non-empty path string of ``d`` at one of ``_PATH_KEYS`` by ``change(path)``."""
    for dotted in _PATH_KEYS:
        *parents, leaf = dotted.split(".")
        node: Any = d
        for p in parents:
            node = node.get(p) if isinstance(node, dict) else None
        if isinstance(node, dict) and isinstance(node.get(leaf), str) and node[leaf]:
            node[leaf] = change(node[leaf])


def _rebase_paths(d: dict[str, Any], base: Path) -> None:
    _rebase_backbone_folders(d, base)
    _map_paths(d, lambda p: p if Path(p).is_absolute() else str(base / p))


def _rebase_backbone_folders(d: dict[str, Any], base: Path) -> None:
    """``model.<stream>.name`` may be a local Hugging Face folder: relative to ``base`` when one is there, since a
    name is also a builder or timm name and only an existing folder tells them apart."""
    model = d.get("model")
    if not isinstance(model, dict):
        return
    for spec in model.values():
        name = spec.get("name") if isinstance(spec, dict) else None
        if isinstance(name, str) and name and not Path(name).is_absolute() and (base / name).is_dir():
            spec["name"] = str(base / name)


# ---- builders ---------------------------------------------------------------------------------------------
def class_names(cfg: ExperimentConfig) -> tuple[str, ...] | None:
    """Class names in label order: ``data.source.class_names`` (list or file), else the dataset spec's."""
    src = cfg.data.source
    names = src.class_names
    if isinstance(names, str):
        names = _read_class_names(Path(names))
    if names is None and src.dataset is not None:
        names = list(get_dataset_spec(src.dataset).class_names)
    return tuple(names) if names is not None else None


def _read_class_names(path: Path) -> list[str]:
    if not path.is_file():
        raise ConfigError(f"data.source.class_names: file {path} not found")
    text = read_user_text(path, "class-name file")
    if path.suffix == ".json":
        try:
            obj = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as err:
            raise ConfigError(f"{path}: invalid JSON ({getattr(err, 'msg', 'nested too deeply')})") from None
        names = obj.get("classes") if isinstance(obj, dict) else obj
        if not isinstance(names, list) or not names:
            raise ConfigError(f'{path}: expected a JSON list of class names or {{"classes": [...]}}')
        return [str(n) for n in names]
    names = [line.strip() for line in text.splitlines() if line.strip()]
    if not names:
        raise ConfigError(f"{path}: no class names (one per line)")
    return names


def num_classes(cfg: ExperimentConfig) -> int:
    """``model.num_classes``, or the number of class names; they must agree when both are known."""
    names = class_names(cfg)
    n = cfg.model.num_classes
    if n is not None and names is not None and n != len(names):
        raise ConfigError(f"model.num_classes={n} but the data source names {len(names)} classes: {list(names)}")
    if n is None and names is None:
        raise ConfigError("set model.num_classes, or data.source.class_names / data.source.dataset")
    return n if n is not None else len(names)  # type: ignore[arg-type]


def load_backbone_spec(spec: BackboneSpec, stream: str) -> BuiltBackbone:
    """``load_backbone`` of one ``model.<stream>`` entry; every failure is one MMAdaptError naming the entry."""
    from ..backbones import load_backbone

    try:
        return load_backbone(spec.name, spec.checkpoint, **spec.kwargs)
    except (CheckpointError, UnknownNameError) as err:
        raise type(err)(f"model.{stream}: {err}") from err
    except (TypeError, ValueError, KeyError) as err:
        raise ConfigError(f"model.{stream} ({spec.name!r}, kwargs {spec.kwargs}): {err}") from err


def _build_backbone(spec: BackboneSpec, stream: str) -> nn.Module:
    model, report = load_backbone_spec(spec, stream)
    if not report.pretrained:
        warnings.warn(
            f"the {stream} backbone {spec.name!r} has RANDOM weights (model.{stream}.checkpoint is not set): "
            "results mean nothing beyond smoke tests",
            UserWarning,
            stacklevel=3,
        )
    logger.info("%s backbone %s: %s", stream, spec.name, report.summary())
    return model


def build_backbones(cfg: ExperimentConfig) -> tuple[nn.Module, nn.Module]:
    """(audio, video) backbones; random parts are drawn from ``model.init_seed`` without touching the global RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.model.init_seed)
        audio = _build_backbone(cfg.model.audio, "audio")
        video = _build_backbone(cfg.model.video, "video")
    return audio, video


def build_model(cfg: ExperimentConfig) -> nn.Module:
    """Backbones + preset + overrides; the input sizes follow the data config (frame side, audio frames x mels).

    The adapters are initialised from the global RNG: the caller seeds it.
    """
    from ..model import wrap_encoders

    audio, video = build_backbones(cfg)
    return wrap_encoders(audio, video, preset=cfg.model.preset, num_classes=num_classes(cfg), **model_overrides(cfg))


def model_overrides(cfg: ExperimentConfig) -> dict[str, Any]:
    """The ``wrap_encoders`` overrides of the experiment: ``model.overrides`` plus the input sizes of the data
    config (frame side; audio frames x mel bins when the frame count is fixed), unless the overrides set them."""
    overrides = copy.deepcopy(cfg.model.overrides)
    overrides.setdefault("video_size", (cfg.data.img_size, cfg.data.img_size))
    if cfg.data.audio_frames is not None:
        overrides.setdefault("audio_size", (cfg.data.audio_frames, cfg.data.mel_bins))
    return overrides


def build_dataset(cfg: ExperimentConfig, path: str | os.PathLike[str], split: str = "test") -> ClipDatasetBase:
    """The dataset of one split file, read as ``data.source.kind`` says (mode: train for 'train', else test)."""
    if split not in SPLITS:
        raise ConfigError(f"split must be one of {SPLITS}, got {split!r}")
    src, data_cfg = cfg.data.source, cfg.data.for_split(split)
    names = class_names(cfg)
    if src.kind == "manifest":
        return VideoManifestDataset(path, data_cfg, class_names=names, num_classes=cfg.model.num_classes)
    rule = AudioRule(Path(src.audio_dir), src.audio_pattern) if src.audio_dir is not None else None
    if rule is None and (src.dataset is None or src.root is None) and data_cfg.missing_audio != "zeros":
        raise ConfigError(NO_AUDIO_RULE)  # names the experiment keys, not the dataset's Python arguments
    return FrameFolderDataset(
        path,
        data_cfg,
        spec=src.dataset,
        num_classes=None if src.dataset is not None else num_classes(cfg),
        root=src.root,
        audio_rule=rule,
    )


def build_datasets(cfg: ExperimentConfig) -> dict[str, ClipDatasetBase]:
    """Datasets of the splits named in ``data.source`` ({split: dataset}); ``train`` is required."""
    src = cfg.data.source
    if src.train is None:
        raise ConfigError("data.source.train is not set: nothing to train on")
    if src.uses_folds():
        raise ConfigError("data.source paths contain {fold}: pick a fold (ExperimentConfig.for_fold / --folds)")
    return {split: build_dataset(cfg, getattr(src, split), split) for split in SPLITS if getattr(src, split)}
