"""What a checkpoint load did (the error raised when it cannot be done faithfully is mmadapt.errors.CheckpointError)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from torch import nn

from ..errors import CheckpointError  # one error type for every weights file in mmadapt

__all__ = ["BuiltBackbone", "CheckpointError", "LoadReport"]

Shape = tuple[int, ...]


@dataclass(frozen=True)
class LoadReport:
    """Outcome of loading a checkpoint into a backbone.

    ``loaded``, ``resampled`` and ``initialised`` partition the model's keys; ``loaded``, ``resampled`` and
    ``ignored`` partition the checkpoint's. A name can be both ignored and initialised (a checkpoint head
    dropped in favour of a fresh one).
    """

    source: str | None = None
    """Path of the checkpoint, or ``None`` when the weights are random."""
    loaded: tuple[str, ...] = ()
    """Keys copied unchanged from the checkpoint."""
    resampled: dict[str, tuple[Shape, Shape]] = field(default_factory=dict)
    """Keys resized to fit the model: key -> (checkpoint shape, model shape)."""
    ignored: tuple[str, ...] = ()
    """Checkpoint keys deliberately dropped (decoder, mask token, classification head...)."""
    initialised: tuple[str, ...] = ()
    """Model keys deliberately left at their fresh initialisation (e.g. a new classification head)."""

    def __post_init__(self) -> None:
        taken = set(self.loaded) | set(self.resampled)
        if len(taken) != len(self.loaded) + len(self.resampled):
            raise ValueError("a key is reported both loaded and resampled")
        for name in ("ignored", "initialised"):
            if taken & set(getattr(self, name)):
                raise ValueError(f"keys reported as taken and {name}: {sorted(taken & set(getattr(self, name)))}")

    @property
    def pretrained(self) -> bool:
        """Whether any weight came from a checkpoint."""
        return bool(self.loaded or self.resampled)

    def summary(self) -> str:
        """One line for logs."""
        src = self.source or "random init"
        return (
            f"{src}: {len(self.loaded)} loaded, {len(self.resampled)} resampled "
            f"({', '.join(self.resampled) or '-'}), {len(self.ignored)} ignored, "
            f"{len(self.initialised)} left at init"
        )


class BuiltBackbone(NamedTuple):
    """A backbone and the report of how its weights were obtained; unpacks as ``model, report``."""

    model: nn.Module
    report: LoadReport
