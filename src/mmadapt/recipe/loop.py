"""The training loop: a plain epoch/step loop plus event callbacks (see callbacks/base.py).

Shape legend: B batch per process, K classes.

Batches are ``{stream: tensor, ..., "label": labels}`` (:mod:`mmadapt.data.batch`) and the model is called by
keyword, ``model(**streams)``: the loop knows stream names only from ``model.stream_names`` (see
:class:`mmadapt.recipe.protocols.StreamModel`).

Per run: seed once (`cfg.seed + rank`), AdamW over the trainable parameters (requires_grad=True;
the frozen backbones get no gradient, so this equals the official AdamW over model.parameters()),
cosine annealing stepped once per epoch, gradient accumulation over `grad_accum_steps` forward
passes, bf16 autocast per `cfg.amp`, evaluation every `eval_every` epochs and always after the last.
The reported result is the LAST epoch's (official protocol); the best epoch by validation UAR is kept
next to it, labelled as reference only. After each full epoch a training checkpoint is written;
`cfg.resume` continues from one to the same weights as an unbroken run.

The run folder belongs to this run (:mod:`mmadapt.recipe.run_folder`): it is locked for the run, another run's files
in it are refused unless `cfg.resume` continues that run or `cfg.overwrite` replaces it, and every checkpoint and the
summary carry the run id. Resuming with changed settings applies epochs/lr changes and refuses the rest
(:mod:`mmadapt.recipe.resume_changes`).

A step whose loss or total gradient norm is not finite is skipped (no update, gradients dropped); after more than
`cfg.max_nonfinite_steps` of them the run raises :class:`~mmadapt.errors.NonFiniteError` before any checkpoint,
adapter or summary is written, so the newest checkpoint on disk is the last finite one.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from .._io import write_json
from ..errors import NonFiniteError
from .callbacks import (
    BestMetric,
    Callback,
    CallbackList,
    EpochLine,
    MetricsLogger,
    ProgressBar,
    TensorBoardLogger,
    TrainState,
)
from .checkpoint import (
    TrainingCheckpoint,
    find_latest_checkpoint,
    load_checkpoint,
    prune_checkpoints,
    resolve_resume,
    save_checkpoint,
)
from .config import TrainConfig, library_version
from .distributed import (
    DistInfo,
    all_gather_objects,
    all_reduce_mean,
    barrier,
    init_distributed,
    make_train_sampler,
    wrap_ddp,
)
from .evaluation import autocast_context, count_views, evaluate, split_batch
from .losses import get_loss
from .metrics import ClassificationMetrics, save_confusion_matrix
from .protocols import StreamModel, check_model, stream_layout
from .resume_changes import apply_resume_plan, plan_resume
from .rng import capture_rng_state, restore_rng_state, seed_everything, seed_worker
from .run_folder import RunClaim, claim_run_folder

__all__ = ["TrainResult", "Trainer", "resolve_device", "train"]

logger = logging.getLogger(__name__)

_PROTOCOL_NOTE = (
    "final = metrics of the last epoch's weights (official MMA-DFER protocol, the number to report); "
    "best = epoch with the highest validation UAR, for reference only"
)


@dataclass
class TrainResult:
    """`final`: last epoch's validation metrics (report these); `best`: best epoch, reference only."""

    final: dict[str, Any] | None
    best: dict[str, Any] | None
    history: list[dict[str, Any]]
    epochs_completed: int
    global_step: int
    summary: dict[str, Any] = field(repr=False)
    summary_path: Path | None = None
    final_metrics: ClassificationMetrics | None = field(default=None, repr=False)


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """'auto' -> cuda:<local_rank> when CUDA is available, else cpu; a bare 'cuda' also gets the
    local rank so each torchrun process uses its own GPU."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError(f"device {name!r} requested but CUDA is not available")
        if device.index is None:
            device = torch.device("cuda", local_rank)
    return device


class Trainer:
    """Owns one training run. `fit()` runs it; `train(...)` is the one-call form."""

    def __init__(
        self,
        model: StreamModel,
        train_set: Dataset[Any],
        val_set: Dataset[Any] | None = None,
        cfg: TrainConfig | None = None,
        callbacks: Sequence[Callback] = (),
        class_names: Sequence[str] | None = None,
    ) -> None:
        check_model(model)
        self.model: nn.Module = model  # type: ignore[assignment]  # check_model: an nn.Module
        self.train_set = train_set
        self.val_set = val_set
        self.cfg = cfg or TrainConfig()
        self.extra_callbacks = list(callbacks)
        self.class_names = list(class_names) if class_names is not None else None
        self.layout = stream_layout(model)
        """``{stream: per_frame}``: the streams every batch must carry."""
        self.nonfinite_steps = 0
        """Steps of this run skipped because their loss or gradient norm was not finite (a resumed run starts from
        its checkpoint's count)."""
        self.claim: RunClaim | None = None
        """Whose run folder this is (set by `fit()`; :mod:`mmadapt.recipe.run_folder`)."""
        self.resume_changes: dict[str, list[Any]] = {}
        """Settings that differ from the resumed checkpoint's and were applied, ``{key: [old, new]}``."""

    # --- set-up ------------------------------------------------------------------------------
    def _default_callbacks(self) -> list[Callback]:
        cfg = self.cfg
        callbacks: list[Callback] = [ProgressBar(enabled=cfg.progress), MetricsLogger(), BestMetric("val_uar", "max")]
        if cfg.epoch_lines:
            callbacks.append(EpochLine())
        if cfg.tensorboard:
            callbacks.append(TensorBoardLogger())
        return callbacks

    def _build_loader(self, info: DistInfo, device: torch.device) -> tuple[DataLoader[Any], Any, torch.Generator]:
        cfg = self.cfg
        if cfg.batch_size % info.world_size:
            raise ValueError(f"batch_size {cfg.batch_size} is not divisible by the {info.world_size} processes")
        sampler = make_train_sampler(self.train_set, info, cfg.seed, cfg.shuffle)
        generator = torch.Generator()  # worker base seeds; its state is checkpointed
        generator.manual_seed(cfg.seed + info.rank)
        loader = DataLoader(
            self.train_set,
            batch_size=cfg.batch_size // info.world_size,
            sampler=sampler,
            num_workers=cfg.num_workers,
            drop_last=cfg.drop_last,
            generator=generator,
            worker_init_fn=seed_worker,
            pin_memory=device.type == "cuda",
        )
        if len(loader) == 0:
            raise ValueError(
                f"training set of {len(sampler)} clips per process gives no batch of "
                f"{cfg.batch_size // info.world_size} (drop_last={cfg.drop_last})"
            )
        left_out = (len(sampler) % (cfg.batch_size // info.world_size)) * info.world_size if cfg.drop_last else 0
        if left_out and info.is_main:  # said once, so 4 of 12 clips are never dropped without a word
            logger.warning(
                "drop_last: the last %d of %d training clips are left out each epoch (batch %d)",
                left_out,
                len(self.train_set),  # type: ignore[arg-type]
                cfg.batch_size,
            )
        return loader, sampler, generator

    # --- the run -----------------------------------------------------------------------------
    def fit(self) -> TrainResult:
        cfg = self.cfg
        started = time.perf_counter()
        device = resolve_device(cfg.device, _env_local_rank())
        if device.type == "cuda":
            torch.cuda.set_device(device)
        info = init_distributed(device)
        with self._claim(info) as claim:
            return self._fit(claim, info, device, started)

    @contextlib.contextmanager
    def _claim(self, info: DistInfo) -> Iterator[RunClaim]:
        """Rank 0 locks the run folder and decides whose it is; the other ranks read the run id after it."""
        cfg = self.cfg
        if info.is_main:
            with claim_run_folder(cfg.out_dir, resume=cfg.resume, overwrite=cfg.overwrite) as claim:
                barrier(info)
                yield claim
            return
        barrier(info)
        with claim_run_folder(cfg.out_dir, main=False) as claim:
            yield claim

    def _fit(self, claim: RunClaim, info: DistInfo, device: torch.device, started: float) -> TrainResult:
        cfg = self.cfg
        self.claim = claim
        seed_everything(cfg.seed + info.rank)
        out_dir = Path(cfg.out_dir)

        model = apply_backbone_dtype(self.model.to(device), cfg.backbone_dtype)
        if cfg.compile_fusion:
            model = _compile_fusion(model)
        if cfg.grad_checkpointing:
            if callable(getattr(model, "set_grad_checkpointing", None)):
                model.set_grad_checkpointing(True)
            else:
                warnings.warn(f"{type(model).__name__} has no set_grad_checkpointing(); flag ignored", stacklevel=2)
        if cfg.check_finite:  # NaN/inf checks of inputs and logits, train and eval alike (issue 13 item 13)
            from ..finite import enable_check_finite

            enable_check_finite(model)
        trainable = [p for p in model.parameters() if p.requires_grad]
        if not trainable:
            raise ValueError("model has no trainable parameters (requires_grad=True): nothing to train")
        optimizer = torch.optim.AdamW(trainable, lr=cfg.lr, betas=cfg.betas, eps=cfg.eps, weight_decay=cfg.weight_decay)
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=cfg.epochs, eta_min=cfg.min_lr)
        loader, sampler, generator = self._build_loader(info, device)
        if info.is_main:  # after the set-up checks: a run refused there leaves its folder as it was
            cfg.save(out_dir / "config.json")
        # a user callback replaces the default of the same name (e.g. a ProgressBar on another stream)
        user_names = {cb.name for cb in self.extra_callbacks}
        defaults = [cb for cb in self._default_callbacks() if cb.name not in user_names]
        callbacks = CallbackList([*defaults, *self.extra_callbacks], info)
        state = TrainState(
            cfg=cfg,
            info=info,
            device=device,
            model=model,
            optimizer=optimizer,
            scheduler=scheduler,
            out_dir=out_dir,
            steps_per_epoch=-(-len(loader) // cfg.grad_accum_steps),
        )

        start_epoch, resumed_from, rng_to_restore = 0, None, None
        self.nonfinite_steps = 0  # a resumed run continues the count of its checkpoint (the limit is per run)
        resume_path = resolve_resume(cfg.resume, out_dir, claim.checkpoint_ids)
        if resume_path is not None:
            start_epoch, rng_to_restore = self._restore(resume_path, state, callbacks)
            resumed_from = str(resume_path)
            if start_epoch >= cfg.epochs:
                logger.warning(
                    "%s already finished its %d epochs: nothing left to train (pass train.epochs=%d or more to "
                    "continue it)",
                    out_dir,
                    start_epoch,
                    start_epoch + 1,
                )

        net = wrap_ddp(model, info, device, cfg.find_unused_parameters)
        forward = torch.compile(net) if cfg.compile else net
        if rng_to_restore is not None:  # last: nothing may draw random numbers between this and epoch 1
            restore_rng_state(rng_to_restore, generator)

        loss_fn = get_loss(cfg.loss)
        callbacks.fire("on_train_start", state)
        final_metrics: ClassificationMetrics | None = None
        clips_seen, train_seconds, stopped_early = 0, 0.0, False
        for epoch in range(start_epoch, cfg.epochs):
            state.epoch = epoch
            final_metrics = None  # only the last epoch's evaluation is final
            sampler.set_epoch(epoch)
            lr = optimizer.param_groups[0]["lr"]
            net.train()
            callbacks.fire("on_epoch_start", state)
            tick = time.perf_counter()
            epoch_stats = self._train_epoch(state, loader, forward, net, loss_fn, callbacks)
            seconds = time.perf_counter() - tick
            clips_seen += epoch_stats["clips"]
            train_seconds += seconds
            partial = epoch_stats["stopped"] and not epoch_stats["complete"]
            stopped_early = stopped_early or epoch_stats["stopped"]
            record: dict[str, Any] = {
                "event": "epoch",
                "epoch": epoch + 1,
                "step": state.global_step,
                "lr": lr,
                "train_loss": all_reduce_mean(epoch_stats["loss"], info, device),
                "train_clips_per_s": epoch_stats["clips"] / max(seconds, 1e-9),
                "complete": not partial,
            }
            last = epoch + 1 == cfg.epochs or epoch_stats["stopped"] or state.should_stop
            due = cfg.eval_every > 0 and (epoch + 1) % cfg.eval_every == 0
            if self.val_set is not None and (due or last):
                metrics = evaluate(
                    model,
                    self.val_set,
                    batch_size=cfg.eval_batch_size,
                    num_workers=cfg.num_workers,
                    amp=cfg.amp,
                    loss=cfg.loss,
                    info=info,
                    progress=cfg.progress,
                )
                final_metrics = metrics
                record.update({f"val_{k}": v for k, v in metrics.to_dict().items()})
                callbacks.fire("on_eval_end", state, metrics)
            if not partial:
                scheduler.step()
            state.history.append(record)
            callbacks.fire("on_epoch_end", state, record)
            if not partial:
                self._save_checkpoint(state, callbacks, generator, epoch + 1)
            if epoch_stats["stopped"] or state.should_stop:
                break

        summary = self._summary(state, callbacks, resumed_from, stopped_early, started, clips_seen, train_seconds)
        summary_path = None
        if info.is_main:
            if final_metrics is not None and summary["final"] is not None:
                save_confusion_matrix(
                    final_metrics.confusion,
                    out_dir / "confusion_final",
                    self.class_names,
                    title=f"validation, epoch {summary['final']['epoch']} (final)",
                )
            if callable(getattr(model, "save_adapter", None)):
                model.save_adapter(out_dir / "adapter")
            summary_path = write_json(out_dir / "summary.json", summary)
        barrier(info)
        callbacks.fire("on_train_end", state, summary)
        return TrainResult(
            final=summary["final"],
            best=summary["best"],
            history=list(state.history),
            epochs_completed=summary["epochs_completed"],
            global_step=state.global_step,
            summary=summary,
            summary_path=summary_path,
            final_metrics=final_metrics,
        )

    def _restore(self, path: Path, state: TrainState, callbacks: CallbackList) -> tuple[int, dict[str, Any] | None]:
        """Load a training checkpoint into the run; returns (next epoch, this rank's RNG state or None)."""
        info = state.info
        ckpt = load_checkpoint(path)
        plan = plan_resume(ckpt.config, self.cfg, ckpt.epoch, str(path))  # refuses changes it cannot honour
        state.model.load_adapter_state_dict(ckpt.adapter, strict=True)  # type: ignore[operator]
        state.optimizer.load_state_dict(ckpt.optimizer)
        state.scheduler.load_state_dict(ckpt.scheduler)
        apply_resume_plan(plan, self.cfg, state.optimizer, state.scheduler)
        self.resume_changes = {key: list(change) for key, change in plan.applied.items()}
        callbacks.load_state_dict(ckpt.callbacks)
        state.global_step, state.history = ckpt.global_step, list(ckpt.history)
        self.nonfinite_steps = ckpt.nonfinite_steps
        logger.info("resumed from %s at epoch %d, step %d", path, ckpt.epoch, ckpt.global_step)
        if len(ckpt.rng) == info.world_size:
            return ckpt.epoch, ckpt.rng[info.rank]
        warnings.warn(
            f"{path} holds RNG states of {len(ckpt.rng)} processes, this run has {info.world_size}: "
            "RNG streams restart from the seed (results will differ from an unbroken run)",
            stacklevel=3,
        )
        return ckpt.epoch, None

    def _train_epoch(
        self,
        state: TrainState,
        loader: DataLoader[Any],
        forward: nn.Module,
        net: nn.Module,
        loss_fn: Any,
        callbacks: CallbackList,
    ) -> dict[str, Any]:
        """One pass over the loader. Each optimizer step averages the loss over its window of
        micro-batches (the last window of an epoch may be shorter), so accumulating k batches of b
        equals one batch of k*b; DDP then averages over processes."""
        cfg, info, device, optimizer = state.cfg, state.info, state.device, state.optimizer
        accum, n_batches = cfg.grad_accum_steps, len(loader)
        params = [p for group in optimizer.param_groups for p in group["params"]]
        loss_sum, count, clips, window_loss, window_clips = 0.0, 0, 0, 0.0, 0
        window_loss_sum, window_count = 0.0, 0
        step_tick = time.perf_counter()
        stopped = complete = False
        optimizer.zero_grad(set_to_none=True)
        for i, batch in enumerate(loader):
            window_start = (i // accum) * accum
            window = min(accum, n_batches - window_start)
            is_step = i + 1 == window_start + window
            inputs, target = split_batch(batch, device, self.layout)  # {stream: (B, ...)}, (B,)
            views = count_views(inputs, self.layout)
            if views:
                raise ValueError(f"training batches must be single-view; these streams carry views: {views}")
            sync = contextlib.nullcontext() if (is_step or not info.enabled) else net.no_sync()  # type: ignore[operator]
            with sync:
                with autocast_context(device, cfg.amp):
                    logits = forward(**inputs)  # (B, K)
                per_sample = loss_fn(logits, target)  # (B,)
                loss = per_sample.mean()
                (loss / window).backward()
            batch_loss = float(loss.detach())
            window_loss_sum += batch_loss * target.shape[0]
            window_count += target.shape[0]
            clips += target.shape[0]
            window_loss += batch_loss / window
            window_clips += target.shape[0] * info.world_size
            if not is_step:
                continue
            if self._skip_nonfinite(state, window_loss, params):
                optimizer.zero_grad(set_to_none=True)
                window_loss, window_clips, window_loss_sum, window_count = 0.0, 0, 0.0, 0
                step_tick = time.perf_counter()
                continue
            loss_sum, count = loss_sum + window_loss_sum, count + window_count  # skipped windows stay out of it
            window_loss_sum, window_count = 0.0, 0
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            state.global_step += 1
            now = time.perf_counter()
            record = {
                "event": "train_step",
                "epoch": state.epoch + 1,
                "step": state.global_step,
                "loss": window_loss,
                "lr": optimizer.param_groups[0]["lr"],
                "clips_per_s": window_clips / max(now - step_tick, 1e-9),
            }
            callbacks.fire("on_step_end", state, record)
            if cfg.log_every and state.global_step % cfg.log_every == 0:
                callbacks.fire("on_log", state, {**record, "loss": all_reduce_mean(window_loss, info, device)})
            window_loss, window_clips, step_tick = 0.0, 0, now
            if cfg.max_steps is not None and state.global_step >= cfg.max_steps:
                stopped, complete = True, i + 1 == n_batches
                break
        else:
            complete = True
        return {
            "loss": loss_sum / count if count else math.nan,  # nan: every step of the epoch was skipped
            "clips": clips * info.world_size,
            "stopped": stopped,
            "complete": complete,
        }

    def _skip_nonfinite(self, state: TrainState, window_loss: float, params: list[nn.Parameter]) -> bool:
        """Whether this step's loss or total gradient norm is not finite (then it is skipped and counted); raises
        NonFiniteError once more than `max_nonfinite_steps` were. Under DDP the gradients are already averaged and
        the verdict is all-reduced too, so every rank skips or stops together."""
        grads = [p.grad for p in params if p.grad is not None]
        grad_norm = float(torch.nn.utils.get_total_norm(grads)) if grads else 0.0
        bad = not (math.isfinite(window_loss) and math.isfinite(grad_norm))
        if state.info.enabled:
            bad = all_reduce_mean(float(bad), state.info, state.device) > 0
        if not bad:
            return False
        self.nonfinite_steps += 1
        limit = state.cfg.max_nonfinite_steps
        where = f"epoch {state.epoch + 1}, step {state.global_step + 1}: loss {window_loss}, grad norm {grad_norm}"
        if self.nonfinite_steps > limit:
            kept = find_latest_checkpoint(state.out_dir, self.claim.checkpoint_ids) if self.claim else None
            where_kept = f"the last finite checkpoint is kept: {kept}" if kept else "no checkpoint was written yet"
            raise NonFiniteError(
                f"training stopped at {where} ({self.nonfinite_steps} non-finite steps, "
                f"train.max_nonfinite_steps={limit}); no adapter written, {where_kept}; try a lower lr"
            )
        logger.warning("skipped the step at %s (%d of %d allowed)", where, self.nonfinite_steps, limit)
        return True

    def _save_checkpoint(
        self, state: TrainState, callbacks: CallbackList, generator: torch.Generator, epoch: int
    ) -> None:
        rng = all_gather_objects(capture_rng_state(generator), state.info)  # every rank's streams
        if state.info.is_main:
            ckpt = TrainingCheckpoint(
                adapter={k: v.detach().cpu() for k, v in state.model.adapter_state_dict().items()},  # type: ignore[operator]
                optimizer=state.optimizer.state_dict(),
                scheduler=state.scheduler.state_dict(),
                epoch=epoch,
                global_step=state.global_step,
                rng=rng,
                callbacks=callbacks.state_dict(),
                history=list(state.history),
                config=self.cfg.to_dict(),
                run_id=self.claim.run_id,
                nonfinite_steps=self.nonfinite_steps,
            )
            save_checkpoint(ckpt, state.out_dir)
            prune_checkpoints(state.out_dir, self.cfg.keep_checkpoints, self.claim.checkpoint_ids)
        barrier(state.info)

    def _summary(
        self,
        state: TrainState,
        callbacks: CallbackList,
        resumed_from: str | None,
        stopped_early: bool,
        started: float,
        clips_seen: int,
        train_seconds: float,
    ) -> dict[str, Any]:
        last = state.history[-1] if state.history else None
        final = None
        if last is not None and "val_uar" in last:
            final = {"epoch": last["epoch"], **{k[4:]: v for k, v in last.items() if k.startswith("val_")}}
        best = None
        for cb in callbacks:
            if isinstance(cb, BestMetric) and cb.monitor == "val_uar" and cb.best is not None:
                best = {"epoch": cb.best["epoch"], **{k[4:]: v for k, v in cb.best.items() if k.startswith("val_")}}
        return {
            "mmadapt_version": library_version(),
            "run_id": self.claim.run_id,
            "protocol": _PROTOCOL_NOTE,
            "final": final,
            "best": best,
            "epochs_completed": sum(1 for r in state.history if r.get("complete", True)),
            "global_step": state.global_step,
            "nonfinite_steps_skipped": self.nonfinite_steps,
            "stopped_early": stopped_early,
            "resumed_from": resumed_from,
            "resume_changes": self.resume_changes,
            "wall_time_s": time.perf_counter() - started,
            "train_clips_seen": clips_seen,
            "train_clips_per_s": clips_seen / train_seconds if train_seconds > 0 else None,
            "world_size": state.info.world_size,
            "device": str(state.device),
            "trainable_params": sum(p.numel() for p in state.model.parameters() if p.requires_grad),
            "dataset_stats": {
                "train": _dataset_stats(self.train_set),
                "val": _dataset_stats(self.val_set) if self.val_set is not None else None,
            },
            "config": self.cfg.to_dict(),
        }


def apply_backbone_dtype(model: nn.Module, backbone_dtype: str) -> nn.Module:
    """Cast the frozen backbones as ``TrainConfig.backbone_dtype`` says ('float32': leave them as built)."""
    if backbone_dtype == "float32":
        return model
    if not callable(getattr(model, "cast_backbones", None)):
        raise ValueError(
            f"TrainConfig.backbone_dtype={backbone_dtype!r} needs a model with cast_backbones() "
            f"(mmadapt.MultimodalAdapterModel); {type(model).__name__} has none"
        )
    return model.cast_backbones(getattr(torch, backbone_dtype))


def _compile_fusion(model: nn.Module) -> nn.Module:
    if not callable(getattr(model, "compile_fusion", None)):
        raise ValueError(
            f"TrainConfig.compile_fusion needs a model with compile_fusion() (mmadapt.MultimodalAdapterModel); "
            f"{type(model).__name__} has none"
        )
    return model.compile_fusion()


def train(
    model: StreamModel,
    train_set: Dataset[Any],
    val_set: Dataset[Any] | None,
    cfg: TrainConfig | None = None,
    callbacks: Sequence[Callback] = (),
    class_names: Sequence[str] | None = None,
) -> TrainResult:
    """Train `model`'s trainable parameters on `train_set`, evaluating on `val_set`; see `Trainer`."""
    return Trainer(model, train_set, val_set, cfg, callbacks=callbacks, class_names=class_names).fit()


def _dataset_stats(dataset: Dataset[Any]) -> dict[str, Any] | None:
    """The dataset's `stats` counters (e.g. skipped clips, zero-filled audio) as seen by this process;
    counters incremented inside DataLoader worker processes are not visible here."""
    stats = getattr(dataset, "stats", None)
    return dict(stats) if isinstance(stats, dict) else None


def _env_local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))
