"""``transformers.Trainer`` for a :class:`~mmadapt.MultimodalAdapterModel`, with adapter-only checkpoints.

A plain ``Trainer`` saves a model that is not a ``PreTrainedModel`` as its whole ``state_dict``: every frozen
backbone tensor, in every checkpoint, and it cannot load that folder back as an adapter. :class:`AdapterTrainer`
changes what decides it:

* ``_save`` writes the adapter through :meth:`~mmadapt.MultimodalAdapterModel.save_pretrained` (plus the
  Trainer's ``training_args.bin``); the optimizer state beside it covers the adapter's parameters only, the
  only ones that require a gradient;
* ``_load_from_checkpoint`` (``train(resume_from_checkpoint=...)``) and ``_load_best_model``
  (``load_best_model_at_end``) load the adapter folder with the strict
  :meth:`~mmadapt.MultimodalAdapterModel.load_adapter`;
* ``compute_loss`` calls the model with the batch's streams by name and computes the loss from its logits
  (cross-entropy; ``label_smoothing_factor`` and ``compute_loss_func`` as the ``Trainer`` defines them), a
  per-batch mean that gradient accumulation divides (``forward(**inputs)`` would otherwise read as taking
  ``num_items_in_batch``); evaluation returns the logits as predictions;
* the batch keys kept by ``remove_unused_columns`` are the model's streams and the label, read from the model rather
  than from its ``forward(**inputs)`` signature, which names none of them.

Labels travel under ``"labels"`` (``TrainingArguments.label_names`` may name one other key): the default collator
renames the datasets' ``"label"`` to it. Single process and DDP (``torchrun``) are supported; DeepSpeed and FSDP,
which load checkpoints through their own paths, are refused at construction. Written against the ``Trainer`` of
transformers 5 (tested with 5.25).
"""

from __future__ import annotations

import logging
import os
from typing import Any

import torch
from torch import nn
from transformers import Trainer
from transformers.trainer import TRAINING_ARGS_NAME

from ..errors import ConfigError
from ..model import MultimodalAdapterModel
from .batch import batch_loss

__all__ = ["AdapterTrainer"]

logger = logging.getLogger(__name__)

DEFAULT_LABEL_NAME = "labels"
"""Where ``transformers.default_data_collator`` puts the datasets' ``"label"``."""


class AdapterTrainer(Trainer):
    """A ``Trainer`` that trains, checkpoints, resumes and reloads the adapter of a ``MultimodalAdapterModel``.

    Takes the ``Trainer``'s arguments; ``model`` must be a :class:`~mmadapt.MultimodalAdapterModel` (``model_init``
    is not supported: the backbones are the caller's). The saved folders load with
    ``MultimodalAdapterModel.from_pretrained(folder, backbones)``.
    """

    def __init__(self, model: MultimodalAdapterModel, *args: Any, **kwargs: Any) -> None:
        if not isinstance(model, MultimodalAdapterModel):
            raise ConfigError(f"AdapterTrainer trains a MultimodalAdapterModel, got {type(model).__name__}")
        if kwargs.get("model_init") is not None:
            raise ConfigError("AdapterTrainer: model_init is not supported; pass the wrapped model as model=...")
        super().__init__(model, *args, **kwargs)
        if self.is_deepspeed_enabled or self.is_fsdp_enabled:
            raise ConfigError(
                "AdapterTrainer: DeepSpeed and FSDP are not supported (they save and load checkpoints their own way); "
                "train on one process or under torchrun (DDP)"
            )
        if getattr(self.args, "activation_checkpointing", None) or getattr(self.args, "gradient_checkpointing", None):
            raise ConfigError(
                "AdapterTrainer: activation_checkpointing needs a PreTrainedModel; recompute the frozen blocks with "
                "model.set_grad_checkpointing(True) instead"
            )
        if self.args.label_names is None:
            self.label_names = [DEFAULT_LABEL_NAME]  # forward(**inputs) names no label for the Trainer to find
        if len(self.label_names) != 1:
            raise ConfigError(f"AdapterTrainer takes one label key, got label_names={self.label_names}")
        # a per-batch mean loss: the Trainer divides it by the accumulation steps (see the module's docstring)
        self.model_accepts_loss_kwargs = False

    @property
    def adapter_model(self) -> MultimodalAdapterModel:
        """The model being trained, outside any DDP / ``accelerate`` wrapper."""
        return self._unwrap(self.model)

    def _unwrap(self, model: nn.Module) -> MultimodalAdapterModel:
        """``model`` outside DDP / ``accelerate`` and ``torch.compile`` wrappers (``_orig_mod``)."""
        model = self.accelerator.unwrap_model(model)
        return getattr(model, "_orig_mod", model)

    # ---- batches and the loss ------------------------------------------------------------------------------
    def _set_signature_columns_if_needed(self) -> None:
        if self._signature_columns is None:
            self._signature_columns = [*self.adapter_model.stream_names, *self.label_names, "label", "label_ids"]

    def compute_loss(
        self,
        model: nn.Module,
        inputs: dict[str, Any],
        return_outputs: bool = False,
        num_items_in_batch: torch.Tensor | int | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Cross-entropy of the model's logits (B, C) against the labels (B,); the outputs are ``{"logits": ...}``."""
        label = self.label_names[0]
        if self.compute_loss_func is not None:

            def loss_fn(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
                return self.compute_loss_func({"logits": logits}, labels, num_items_in_batch=num_items_in_batch)

            loss, logits = batch_loss(model, inputs, label_key=label, loss_fn=loss_fn)
        elif self.label_smoother is not None:
            loss, logits = batch_loss(
                model, inputs, label_key=label, loss_fn=lambda lg, lb: self.label_smoother({"logits": lg}, lb)
            )
        else:
            loss, logits = batch_loss(model, inputs, label_key=label)
        return (loss, {"logits": logits}) if return_outputs else loss

    # ---- checkpoints ---------------------------------------------------------------------------------------
    def _save(self, output_dir: str | None = None, state_dict: dict[str, torch.Tensor] | None = None) -> None:
        """The adapter (no backbone tensor), the processing class if any, and the training arguments."""
        output_dir = output_dir if output_dir is not None else self.args.output_dir
        if not self.args.should_save:
            return
        logger.info("saving the adapter to %s", output_dir)
        self.adapter_model.save_pretrained(output_dir, state_dict=state_dict)
        if self.processing_class is not None:
            self.processing_class.save_pretrained(output_dir)
        torch.save(self.args, os.path.join(output_dir, TRAINING_ARGS_NAME))

    def _load_from_checkpoint(self, resume_from_checkpoint: str, model: nn.Module | None = None) -> None:
        """Resume: the adapter saved in the checkpoint folder, loaded strictly (the optimizer, scheduler, RNG and
        trainer state are the ``Trainer``'s own files beside it)."""
        target = self._unwrap(model if model is not None else self.model)
        logger.info("loading the adapter from %s", resume_from_checkpoint)
        target.load_adapter(resume_from_checkpoint)

    def _load_best_model(self) -> None:
        """``load_best_model_at_end``: the adapter of the best checkpoint."""
        best = self.state.best_model_checkpoint
        logger.info("loading the best adapter from %s (score: %s)", best, self.state.best_metric)
        self.adapter_model.load_adapter(best)
