"""Training with the Hugging Face ecosystem: ``transformers.Trainer`` (:mod:`.hf`) and ``accelerate`` loops.

``AdapterTrainer`` is a ``Trainer`` whose checkpoints hold the adapter alone (``adapter_config.json`` +
``adapter_model.safetensors``), and which resumes from them and reloads the best one; :func:`batch_loss` maps a
dict batch (stream tensors + labels) to the model and returns the loss, for a hand-written ``accelerate`` loop.
The names are imported on first access, so ``import mmadapt.integrations`` does not import transformers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_attributes

if TYPE_CHECKING:
    from .batch import batch_loss, split_batch
    from .hf import AdapterTrainer

_LAZY: dict[str, str] = {"AdapterTrainer": ".hf", "batch_loss": ".batch", "split_batch": ".batch"}
"""Public name -> its module; :mod:`.hf` imports transformers, :mod:`.batch` only torch."""

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)

__all__ = ["AdapterTrainer", "batch_loss", "split_batch"]
