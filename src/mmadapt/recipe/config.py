"""`TrainConfig`: every knob of the training recipe, with the official MMA-DFER values as defaults.

Defaults follow the official main.py / train_*.sh and the paper (§4.2): AdamW(lr 1e-4, weight decay
1e-2, default betas), cosine annealing to 0 over 25 epochs stepped once per epoch, batch 8 with
drop_last, plain cross-entropy, seed 1. The config round-trips through JSON/YAML (unknown keys are
rejected, the library version is stamped) and takes command-line style `key=value` overrides.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
import types
import typing
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

from mmadapt._io import write_json, write_text

__all__ = ["AmpMode", "BackboneDtype", "TrainConfig", "apply_overrides", "library_version"]

AmpMode = Literal["auto", "bf16", "off"]
BackboneDtype = Literal["float32", "bfloat16", "float16"]

_VERSION_KEY = "mmadapt_version"


def library_version() -> str:
    """The installed mmadapt version, stamped into saved configs and run summaries."""
    try:
        return metadata.version("mmadapt")
    except metadata.PackageNotFoundError:
        return "unknown"


def _help(default: Any, text: str) -> Any:
    return field(default=default, metadata={"help": text})


@dataclass
class TrainConfig:
    """Training and evaluation settings; `__post_init__` rejects bad values with the field's name."""

    # optimisation (official recipe)
    epochs: int = _help(25, "Number of epochs; also the cosine schedule's T_max (annealed to min_lr).")
    lr: float = _help(1e-4, "AdamW learning rate at epoch 0.")
    weight_decay: float = _help(1e-2, "AdamW decoupled weight decay.")
    betas: tuple[float, float] = _help((0.9, 0.999), "AdamW betas (PyTorch defaults, as in the paper).")
    eps: float = _help(1e-8, "AdamW epsilon (PyTorch default).")
    min_lr: float = _help(0.0, "CosineAnnealingLR eta_min: the rate reached after `epochs` epochs.")
    batch_size: int = _help(8, "Global batch per forward pass, split evenly over the processes.")
    drop_last: bool = _help(True, "Drop the last incomplete training batch (official: True).")
    grad_accum_steps: int = _help(1, "Forward passes accumulated per optimizer step.")
    loss: str = _help("cross_entropy", "Loss name in the recipe's loss registry (see losses.py).")
    seed: int = _help(1, "Seed set once at the start of `train` (rank r uses seed + r).")
    shuffle: bool = _help(True, "Reshuffle the training set each epoch (permutation from seed and epoch).")
    # execution
    device: str = _help("auto", "'auto' (cuda:<local rank> if CUDA is available, else cpu) or a torch device.")
    amp: AmpMode = _help("auto", "'auto': bf16 autocast on CUDA only; 'bf16': always; 'off': full fp32.")
    backbone_dtype: BackboneDtype = _help(
        "float32",
        "Weight dtype of the frozen backbones: 'bfloat16' casts them (model.cast_backbones) so the residual stream "
        "runs in bf16 while the adapters keep fp32 weights; faster and lighter on GPUs, numerically not the official "
        "fp32 recipe.",
    )
    compile: bool = _help(False, "Run the forward through torch.compile(model).")
    compile_fusion: bool = _help(
        False,
        "torch.compile only the fusion bottlenecks (model.compile_fusion): the eager model's largest overhead "
        "fused into a few kernels at a fraction of the whole-model compile time (H100, bf16: train step x1.11).",
    )
    grad_checkpointing: bool = _help(False, "Call model.set_grad_checkpointing(True) when the model has it.")
    num_workers: int = _help(4, "DataLoader worker processes (0 = load in the main process).")
    find_unused_parameters: bool = _help(False, "DDP find_unused_parameters (only for models that need it).")
    # evaluation
    eval_every: int = _help(1, "Evaluate every N epochs; 0 = only after the last epoch.")
    eval_batch_size: int = _help(1, "Evaluation batch per process (official evaluate.py: 1).")
    # outputs
    out_dir: str = _help("runs/mma-dfer", "Folder for checkpoints, metrics.jsonl, summary.json, plots.")
    log_every: int = _help(50, "Write a train_step line to metrics.jsonl every N optimizer steps (0 = never).")
    progress: bool = _help(True, "Show progress bars (always off when stderr is not a TTY).")
    tensorboard: bool = _help(False, "Also log scalars to TensorBoard (needs the tensorboard package).")
    keep_checkpoints: int = _help(1, "Training checkpoints kept in out_dir/checkpoints (newest first).")
    resume: str | None = _help(None, "Checkpoint path to resume from, or 'auto' for the newest in out_dir.")
    max_steps: int | None = _help(None, "Stop after this many optimizer steps (smoke runs); None = no limit.")

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "betas" and isinstance(value, list):
                value = tuple(value)
                self.betas = value  # JSON/YAML give lists
            _check_type(f.name, value, hints[f.name])
        positive = ("epochs", "lr", "batch_size", "grad_accum_steps", "eval_batch_size", "keep_checkpoints")
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValueError(f"TrainConfig.{name} must be > 0, got {getattr(self, name)!r}")
        non_negative = ("weight_decay", "eps", "min_lr", "num_workers", "eval_every", "log_every")
        for name in non_negative:
            if getattr(self, name) < 0:
                raise ValueError(f"TrainConfig.{name} must be >= 0, got {getattr(self, name)!r}")
        if not all(0.0 <= beta < 1.0 for beta in self.betas):
            raise ValueError(f"TrainConfig.betas must lie in [0, 1), got {self.betas!r}")
        if self.min_lr > self.lr:
            raise ValueError(f"TrainConfig.min_lr ({self.min_lr}) must not exceed lr ({self.lr})")
        if self.max_steps is not None and self.max_steps <= 0:
            raise ValueError(f"TrainConfig.max_steps must be > 0 or None, got {self.max_steps!r}")
        if not self.device:
            raise ValueError("TrainConfig.device must be 'auto' or a torch device string, got ''")

    # --- serialisation -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types plus the library version stamp."""
        out: dict[str, Any] = {_VERSION_KEY: library_version()}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Build from `to_dict` output; unknown keys are an error (a typo must not be ignored)."""
        if not isinstance(data, dict):
            raise TypeError(f"TrainConfig.from_dict expects a dict, got {type(data).__name__}")
        data = {key: value for key, value in data.items() if key != _VERSION_KEY}
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise KeyError(f"unknown TrainConfig keys {unknown}{_did_you_mean(unknown[0], names)}")
        return cls(**data)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write JSON (`.json`) or YAML (`.yaml`/`.yml`) atomically."""
        path = Path(path)
        if path.suffix in (".yaml", ".yml"):
            yaml = _import_yaml()
            return write_text(path, yaml.safe_dump(self.to_dict(), sort_keys=False))
        if path.suffix == ".json":
            return write_json(path, self.to_dict())
        raise ValueError(f"{path}: config files must end in .json, .yaml or .yml")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> TrainConfig:
        """Read a file written by `save` (or by hand)."""
        path = Path(path)
        text = path.read_text(encoding="utf-8")
        if path.suffix in (".yaml", ".yml"):
            data = _import_yaml().safe_load(text)
        elif path.suffix == ".json":
            data = json.loads(text)
        else:
            raise ValueError(f"{path}: config files must end in .json, .yaml or .yml")
        try:
            return cls.from_dict(data)
        except (KeyError, TypeError, ValueError) as exc:
            raise type(exc)(f"{path}: {exc}") from exc


def apply_overrides(cfg: TrainConfig, overrides: list[str] | tuple[str, ...]) -> TrainConfig:
    """Return a copy of `cfg` with `key=value` strings applied (values parsed by the field's type).

    Examples: `lr=3e-4`, `epochs=2`, `amp=off`, `resume=none`, `betas=0.9,0.98`, `compile=true`.
    """
    hints = typing.get_type_hints(TrainConfig)
    changes: dict[str, Any] = {}
    for item in overrides:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"override {item!r} is not of the form key=value")
        if key not in hints:
            raise KeyError(f"override {item!r}: unknown TrainConfig key {key!r}{_did_you_mean(key, hints)}")
        try:
            changes[key] = _parse(text.strip(), hints[key])
        except ValueError as exc:
            raise ValueError(f"override {item!r}: {exc}") from exc
    return dataclasses.replace(cfg, **changes)


# --- typing helpers ------------------------------------------------------------------------------
def _did_you_mean(key: str, names: Any) -> str:
    close = difflib.get_close_matches(key, list(names), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _import_yaml() -> Any:
    try:
        import yaml
    except ImportError as exc:  # pragma: no cover - pyyaml ships with the recipe extra
        raise ImportError("YAML configs need pyyaml: pip install 'mmadapt[recipe]'") from exc
    return yaml


def _is_optional(hint: Any) -> tuple[bool, Any]:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if len(args) == 1 and len(typing.get_args(hint)) == 2:
            return True, args[0]
    return False, hint


def _check_type(name: str, value: Any, hint: Any) -> None:
    optional, inner = _is_optional(hint)
    if value is None:
        if optional:
            return
        raise TypeError(f"TrainConfig.{name} must not be None")
    origin = typing.get_origin(inner)
    if origin is Literal:
        if value not in typing.get_args(inner):
            raise ValueError(f"TrainConfig.{name} must be one of {typing.get_args(inner)}, got {value!r}")
        return
    if origin is tuple:
        args = typing.get_args(inner)
        if not isinstance(value, tuple) or len(value) != len(args):
            raise TypeError(f"TrainConfig.{name} must be a tuple of {len(args)} values, got {value!r}")
        for item, arg in zip(value, args, strict=True):
            _check_type(name, item, arg)
        return
    if inner is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif inner is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, inner)
    if not ok:
        raise TypeError(f"TrainConfig.{name} must be {getattr(inner, '__name__', inner)}, got {value!r}")


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _parse(text: str, hint: Any) -> Any:
    optional, inner = _is_optional(hint)
    if optional and text.lower() in ("none", "null", ""):
        return None
    origin = typing.get_origin(inner)
    if origin is Literal:
        choices = typing.get_args(inner)
        if text not in choices:
            raise ValueError(f"expected one of {choices}, got {text!r}")
        return text
    if origin is tuple:
        parts = json.loads(text) if text.startswith("[") else text.split(",")
        args = typing.get_args(inner)
        if len(parts) != len(args):
            raise ValueError(f"expected {len(args)} comma-separated values, got {text!r}")
        return tuple(_parse(str(part).strip(), arg) for part, arg in zip(parts, args, strict=True))
    if inner is bool:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ValueError(f"expected a boolean (true/false), got {text!r}")
    if inner is int:
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"expected an integer, got {text!r}") from None
    if inner is float:
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"expected a number, got {text!r}") from None
    return text
