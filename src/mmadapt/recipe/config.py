"""`TrainConfig`: every knob of the training recipe, with the official MMA-DFER values as defaults.

Defaults follow the official main.py / train_*.sh and the paper (§4.2): AdamW(lr 1e-4, weight decay
1e-2, default betas), cosine annealing to 0 over 25 epochs stepped once per epoch, batch 8 with
drop_last, plain cross-entropy, seed 1. Dicts (unknown keys rejected, the library version stamped), type checks
and `key=value` overrides come from :class:`~mmadapt.config_base.ConfigBase`; this file adds JSON/YAML files.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch

from .._io import write_json, write_text
from .._version import __version__
from ..config_base import ConfigBase, apply_overrides
from ..errors import ConfigError, UnknownNameError
from .losses import LOSSES

__all__ = ["AmpMode", "BackboneDtype", "TrainConfig", "apply_overrides", "default_num_workers", "library_version"]

AmpMode = Literal["auto", "bf16", "off"]
BackboneDtype = Literal["float32", "bfloat16", "float16"]


def library_version() -> str:
    """The mmadapt version (:mod:`mmadapt._version`), stamped into saved configs and run summaries."""
    return __version__


MAX_DEFAULT_WORKERS = 4
"""Most worker processes the default gives (the fixed default of earlier versions)."""


def default_num_workers() -> int:
    """``min(4, usable CPUs - 1)``, 0 on one CPU: one CPU is left to the main process, and DataLoader's warning
    about more workers than CPUs (4 workers on a 2-core machine) never fires. Usable CPUs = this process's
    affinity where the OS tells it (a container's or ``taskset``'s share), else ``os.cpu_count()``."""
    affinity = getattr(os, "sched_getaffinity", None)
    cpus = len(affinity(0)) if affinity is not None else (os.cpu_count() or 1)
    return max(0, min(MAX_DEFAULT_WORKERS, cpus - 1))


def _help(default: Any, text: str) -> Any:
    return field(default=default, metadata={"help": text})


@dataclass
class TrainConfig(ConfigBase):
    """Training and evaluation settings; `__post_init__` rejects bad values with the field's name."""

    _stamp_version = True

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
    check_finite: bool = _help(
        False,
        "Check the model's inputs and logits for NaN/inf on every call, in training and evaluation (sets "
        "model.check_finite): the first bad tensor stops the run with NonFiniteError naming the stream, the counts "
        "and the first bad index, whatever max_nonfinite_steps allows. Costs a device sync per call; off, nothing.",
    )
    num_workers: int = field(
        default_factory=lambda: default_num_workers(),  # looked up when called: a test may replace it
        metadata={
            "help": "DataLoader worker processes (0 = load in the main process); default: what this machine has, "
            "min(4, usable CPUs - 1). A saved config records the number."
        },
    )
    find_unused_parameters: bool = _help(False, "DDP find_unused_parameters (only for models that need it).")
    # evaluation
    eval_every: int = _help(1, "Evaluate every N epochs; 0 = only after the last epoch.")
    eval_batch_size: int = _help(1, "Evaluation batch per process (official evaluate.py: 1).")
    # outputs
    out_dir: str = _help("runs/mmadapt", "Folder for checkpoints, metrics.jsonl, summary.json, plots.")
    log_every: int = _help(50, "Write a train_step line to metrics.jsonl every N optimizer steps (0 = never).")
    progress: bool = _help(True, "Show progress bars (always off when stderr is not a TTY).")
    epoch_lines: bool = _help(
        True, "Print one line per epoch to stdout (loss, lr, val UAR/WAR, time, clips/s), terminal or not."
    )
    tensorboard: bool = _help(False, "Also log scalars to TensorBoard (needs the tensorboard package).")
    keep_checkpoints: int = _help(1, "Training checkpoints kept in out_dir/checkpoints (newest first).")
    resume: str | None = _help(
        None,
        "Checkpoint path to resume from, or 'auto' for the newest of the run in out_dir (starts the run when there is "
        "none). Epochs, lr, min_lr and weight_decay may differ from the checkpoint's (applied, logged); other "
        "changes to the training math are refused.",
    )
    overwrite: bool = _help(
        False,
        "Start a new run in an out_dir that holds another run's files (its checkpoints and summary are deleted); "
        "without it such a folder is refused unless `resume` continues its run.",
    )
    max_steps: int | None = _help(None, "Stop after this many optimizer steps (smoke runs); None = no limit.")
    max_nonfinite_steps: int = _help(
        0,
        "Optimizer steps with a non-finite loss or gradient norm that are skipped (no update, gradients dropped) "
        "before the run stops with NonFiniteError; 0 = stop at the first. A few skips suit bf16/fp16 runs whose "
        "rare overflows are harmless.",
    )

    def __post_init__(self) -> None:
        super().__post_init__()  # type checks; JSON/YAML lists become tuples
        positive = ("epochs", "lr", "batch_size", "grad_accum_steps", "eval_batch_size", "keep_checkpoints")
        for name in positive:
            if getattr(self, name) <= 0:
                raise ConfigError(f"TrainConfig.{name} must be > 0, got {getattr(self, name)!r}")
        non_negative = (
            "weight_decay",
            "eps",
            "min_lr",
            "num_workers",
            "eval_every",
            "log_every",
            "max_nonfinite_steps",
        )
        for name in non_negative:
            if getattr(self, name) < 0:
                raise ConfigError(f"TrainConfig.{name} must be >= 0, got {getattr(self, name)!r}")
        if not all(0.0 <= beta < 1.0 for beta in self.betas):
            raise ConfigError(f"TrainConfig.betas must lie in [0, 1), got {self.betas!r}")
        if self.min_lr > self.lr:
            raise ConfigError(f"TrainConfig.min_lr ({self.min_lr}) must not exceed lr ({self.lr})")
        if self.max_steps is not None and self.max_steps <= 0:
            raise ConfigError(f"TrainConfig.max_steps must be > 0 or None, got {self.max_steps!r}")
        if self.device != "auto":
            try:
                if torch.device(self.device).type == "meta":  # tensors without data: nothing can train there
                    raise ValueError
            except (RuntimeError, ValueError):
                raise ConfigError(
                    f"TrainConfig.device must be 'auto' or a torch device such as 'cpu', 'cuda', 'cuda:1', 'mps'; "
                    f"got {self.device!r}"
                ) from None
        if self.overwrite and self.resume is not None:
            raise ConfigError(
                f"TrainConfig.overwrite replaces the run in out_dir, resume={self.resume!r} continues one: give one"
            )
        if self.loss not in LOSSES:
            raise UnknownNameError(f"TrainConfig.loss: {LOSSES.unknown_message(self.loss)}")

    # --- files ---------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write JSON (`.json`) or YAML (`.yaml`/`.yml`) atomically."""
        path = Path(path)
        if path.suffix in (".yaml", ".yml"):
            yaml = _import_yaml()
            return write_text(path, yaml.safe_dump(self.to_dict(), sort_keys=False))
        if path.suffix == ".json":
            return write_json(path, self.to_dict())
        raise ConfigError(f"{path}: config files must end in .json, .yaml or .yml")

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
            raise ConfigError(f"{path}: config files must end in .json, .yaml or .yml")
        try:
            return cls.from_dict(data)
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from exc


def _import_yaml() -> Any:
    try:
        import yaml
    except ImportError as exc:  # pragma: no cover - pyyaml ships with the recipe extra
        raise ImportError("YAML configs need pyyaml: pip install 'mmadapt[recipe]'") from exc
    return yaml
