"""``load_backbone``: any timm model name, Hugging Face config or local HF directory, plus a local checkpoint.

Nothing is downloaded: timm models are created with ``pretrained=False`` and Hugging Face directories are
opened with ``local_files_only=True``. Weights come from the explicit ``checkpoint`` file, loaded strictly
(see :func:`~mmadapt.backbones.state_loading.load_state_into`); a timm ViT's position grid is resampled
when the checkpoint was trained on another input size.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import UnknownNameError
from ..pos_embed import infer_grid
from .checkpoint_file import read_state_dict
from .load_report import BuiltBackbone, CheckpointError, LoadReport
from .registry import create_backbone, is_registered, list_backbones
from .state_loading import Resampler, load_state_into, matches_any

__all__ = ["LoadOptions", "load_backbone"]

logger = logging.getLogger(__name__)

Spec = Any
"""A backbone name, a ``transformers.PretrainedConfig`` or a local Hugging Face model directory."""
Checkpoint = str | PathLike[str] | None
HF_CONFIG_FILE = "config.json"
"""What ``save_pretrained`` writes into every Hugging Face model folder."""


@dataclass(frozen=True)
class LoadOptions:
    """How a checkpoint is matched against the model."""

    ignore_keys: tuple[str, ...] = ()
    """fnmatch patterns of checkpoint keys to drop (reported as ignored)."""
    keep_init: tuple[str, ...] = ()
    """fnmatch patterns of model keys allowed to keep their initialisation (reported as initialised)."""
    checkpoint_grid: tuple[int, int] | None = None
    """The checkpoint's position grid (rows, cols); guessed as square when ``None``."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "ignore_keys", tuple(self.ignore_keys))
        object.__setattr__(self, "keep_init", tuple(self.keep_init))
        if self.checkpoint_grid is not None:
            grid = tuple(int(g) for g in self.checkpoint_grid)
            if len(grid) != 2 or min(grid) <= 0:
                raise ValueError(f"checkpoint_grid must be two positive integers, got {self.checkpoint_grid}")
            object.__setattr__(self, "checkpoint_grid", grid)


@dataclass(frozen=True)
class _Source:
    """One way of turning a spec into a model: ``build(spec, checkpoint, options, **kwargs)``."""

    name: str
    accepts: Callable[[Spec], bool]
    build: Callable[..., BuiltBackbone]


def _timm_pos_embed_resampler(
    model: nn.Module, checkpoint_grid: tuple[int, int] | None, source: str
) -> dict[str, Resampler]:
    """A resampler for ``pos_embed`` when ``model`` looks like a timm ViT (learned grid pos embed); its errors
    name the checkpoint ``source``."""
    pos = getattr(model, "pos_embed", None)
    grid = getattr(getattr(model, "patch_embed", None), "grid_size", None)
    if not isinstance(pos, torch.Tensor) or grid is None:
        return {}
    prefix = 0 if getattr(model, "no_embed_class", False) else int(getattr(model, "num_prefix_tokens", 0))
    new_grid = [int(g) for g in grid]

    def fit(value: torch.Tensor, want: torch.Size) -> torch.Tensor:
        from timm.layers import resample_abs_pos_embed

        if value.ndim != 3 or value.shape[-1] != want[-1] or value.shape[1] <= prefix:
            raise CheckpointError(f"{source}: pos_embed {tuple(value.shape)} cannot be resampled to {tuple(want)}")
        try:
            old = list(checkpoint_grid or infer_grid(value.shape[1] - prefix))
        except ValueError as err:
            raise CheckpointError(f"{source}: pos_embed {tuple(value.shape)}: {err}") from err
        # bicubic without antialias: the semantics of resample_grid_pos_embed
        return resample_abs_pos_embed(
            value,
            new_size=new_grid,
            old_size=old,
            num_prefix_tokens=prefix,
            interpolation="bicubic",
            antialias=False,
        )

    return {"pos_embed": fit}


def _with_checkpoint(built: BuiltBackbone, checkpoint: Checkpoint, options: LoadOptions) -> BuiltBackbone:
    if checkpoint is None:
        return built
    report = load_state_into(
        built.model,
        read_state_dict(checkpoint),
        source=str(checkpoint),
        ignore=options.ignore_keys,
        keep_init=options.keep_init,
        resamplers=_timm_pos_embed_resampler(built.model, options.checkpoint_grid, str(checkpoint)),
    )
    return BuiltBackbone(built.model, report)


def _random(model: nn.Module) -> BuiltBackbone:
    return BuiltBackbone(model, LoadReport(initialised=tuple(model.state_dict())))


def _from_registry(spec: str, checkpoint: Checkpoint, options: LoadOptions, **kwargs: Any) -> BuiltBackbone:
    if options.keep_init:
        raise ValueError(f"{spec!r} is a named builder; it decides which keys stay initialised (no keep_init)")
    if options.ignore_keys:
        kwargs["ignore_keys"] = options.ignore_keys
    if options.checkpoint_grid is not None:
        kwargs["checkpoint_grid"] = options.checkpoint_grid
    return create_backbone(spec, checkpoint, **kwargs)


def _from_hf_config(spec: Spec, checkpoint: Checkpoint, options: LoadOptions, **kwargs: Any) -> BuiltBackbone:
    from transformers import AutoModel

    return _with_checkpoint(_random(AutoModel.from_config(spec, **kwargs)), checkpoint, options)


def _from_hf_dir(spec: Spec, checkpoint: Checkpoint, options: LoadOptions, **kwargs: Any) -> BuiltBackbone:
    from transformers import AutoModel

    if not (Path(spec) / HF_CONFIG_FILE).is_file():
        raise CheckpointError(
            f"{spec}: not a Hugging Face model folder (no {HF_CONFIG_FILE}; write one with model.save_pretrained)"
        )
    try:
        model, info = AutoModel.from_pretrained(spec, local_files_only=True, output_loading_info=True, **kwargs)
    except (OSError, ValueError, KeyError) as err:  # no weights file, unknown model_type, damaged config.json
        reason = " ".join(str(err).split())
        raise CheckpointError(f"{spec}: cannot be loaded as a transformers model: {reason}") from err
    initialised = sorted(info.get("missing_keys", ()))
    missing = [k for k in initialised if not matches_any(k, options.keep_init)]
    problems = sorted(map(str, info.get("mismatched_keys", ()))) + list(info.get("error_msgs", ()))
    if missing or problems:
        raise CheckpointError(f"{spec}: weights do not fit {type(model).__name__}: missing {missing} {problems}")
    report = LoadReport(
        source=str(spec),
        loaded=tuple(k for k in model.state_dict() if k not in set(initialised)),
        ignored=tuple(sorted(info.get("unexpected_keys", ()))),
        initialised=tuple(initialised),
    )
    return _with_checkpoint(BuiltBackbone(model, report), checkpoint, options)


def _is_timm_name(spec: Spec) -> bool:
    import timm  # imported on use: `import timm` costs seconds (it imports torchvision and torch._dynamo)

    return isinstance(spec, str) and timm.is_model(spec)


def _from_timm(spec: str, checkpoint: Checkpoint, options: LoadOptions, **kwargs: Any) -> BuiltBackbone:
    import timm

    if kwargs.pop("pretrained", False):
        raise ValueError("load_backbone never downloads weights: pass a local checkpoint file instead")
    return _with_checkpoint(_random(timm.create_model(spec, pretrained=False, **kwargs)), checkpoint, options)


def _is_hf_config(spec: Spec) -> bool:
    try:
        from transformers import PretrainedConfig
    except ImportError:  # transformers is only needed for Hugging Face backbones
        return False
    return isinstance(spec, PretrainedConfig)


_SOURCES: tuple[_Source, ...] = (
    _Source("mmadapt builder", lambda s: isinstance(s, str) and is_registered(s), _from_registry),
    _Source("transformers config", _is_hf_config, _from_hf_config),
    _Source(
        "local transformers directory", lambda s: isinstance(s, (str, PathLike)) and Path(s).is_dir(), _from_hf_dir
    ),
    _Source("timm model name", _is_timm_name, _from_timm),
)


def load_backbone(
    name_or_config: Spec,
    checkpoint: Checkpoint = None,
    *,
    ignore_keys: Sequence[str] = (),
    keep_init: Sequence[str] = (),
    checkpoint_grid: Sequence[int] | None = None,
    **kwargs: Any,
) -> BuiltBackbone:
    """Build a backbone and load ``checkpoint`` (a local file) strictly; returns ``(model, report)``.

    ``name_or_config`` is tried, in order, as a registered mmadapt backbone, a transformers config
    (``AutoModel.from_config``), a local transformers directory (``AutoModel.from_pretrained``, local files
    only) and a timm model name (``timm.create_model(pretrained=False)``); ``kwargs`` go to that
    constructor. See :class:`LoadOptions` for the other arguments.
    """
    options = LoadOptions(tuple(ignore_keys), tuple(keep_init), checkpoint_grid)  # type: ignore[arg-type]
    for source in _SOURCES:
        if source.accepts(name_or_config):
            logger.debug("building %r as a %s", name_or_config, source.name)
            return source.build(name_or_config, checkpoint, options, **kwargs)
    raise UnknownNameError(_unknown_spec_message(name_or_config))


def _looks_like_path(spec: str) -> bool:
    """Names of builders and timm models hold no path separator and do not start with ``.`` or ``~``."""
    return any(sep in spec for sep in ("/", "\\")) or spec.startswith((".", "~"))


def _unknown_spec_message(spec: Spec) -> str:
    head = f"cannot build a backbone from {spec!r}"
    if isinstance(spec, (str, PathLike)) and Path(spec).is_file():
        return f"{head}: it is a file; weights files are the checkpoint, the spec names the architecture"
    if isinstance(spec, PathLike) or (isinstance(spec, str) and _looks_like_path(spec)):
        return f"{head}: folder {spec} not found"
    import timm  # imported on use (mmadapt.cli starts without it)

    close = difflib.get_close_matches(str(spec), [*list_backbones(), *timm.list_models()], n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return (
        f"{head}: not a registered mmadapt backbone, a transformers config, a local model directory or a timm "
        f"model name{hint}"
    )
