"""The multimodal adapter model: frozen unimodal ViTs (named streams) driven in lockstep, plus the adapters.

Legend: n clips (batch), T frames, C channels, H/W image size (frames, mel bins for a spectrogram), N tokens,
D width, P prompt tokens.

Every per-stream thing lives in a dict keyed by the stream's name: backbones, prompts, positional tables, the
fusion's projections, the head's inputs. A per-frame stream takes ``(n, T, C, H, W)`` and runs as ``n·T`` images;
a per-clip stream takes ``(n, C, H, W)``; the time axis travels with each stream as ``frames[s]``.

The backbones are registered as submodules (so ``.to()``, ``.train()`` and ``.eval()`` reach them) but never
edited: adapters act through hooks and through positional tables swapped in by reference; ``detach()`` hands the
backbones back bit-identical. A backbone is held by one model at a time (:mod:`mmadapt._attachment`).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TextIO

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint
from torch.utils.hooks import RemovableHandle

from . import checkpoint as ckpt
from . import finite
from ._attachment import AttachMark, check_attachable, mark, unmark
from ._dtype import default_adapter_dtype, module_dtype, to_weight_dtype
from ._freeze import grad_flags, restore_grad_flags
from .adapters import build_adapter
from .adapters.backbone_lora import BackboneLora, lora_targets
from .anatomy import Anatomy, map_tokens, resolve_anatomy
from .anatomy.bypassed import warn_bypassed_overrides
from .config import MultimodalConfig
from .errors import (
    AdapterMismatchError,
    CheckpointError,
    ConfigError,
    DetachedModelError,
    InputShapeError,
    UnsupportedBackboneError,
)
from .lockstep import Step, build_plan
from .streams import LEGACY_FORWARD_ORDER, LEGACY_STREAMS, StreamInfo, as_streams, stream_infos

__all__ = ["MultimodalAdapterModel", "StreamOutputs", "wrap_encoders"]

logger = logging.getLogger(__name__)
_LORA_PREFIX = "backbone_lora"
"""Where the LoRA weights sit among the adapter's tensors (``backbone_lora.<stream>.<PEFT key>``)."""


@dataclass
class StreamOutputs:
    """What the encoders produce for a batch of clips, by stream name."""

    tokens: dict[str, torch.Tensor]
    """Final-norm tokens, prompts removed: (n·T, N, D) per-frame, (n, N, D) per-clip."""
    pooled: dict[str, torch.Tensor]
    """(n, T, D) per-frame, (n, D) per-clip."""
    frames: dict[str, int]
    """T per stream (1 for a per-clip stream)."""
    intermediates: dict[str, list[torch.Tensor]] = field(default_factory=dict)
    """Per stream, every block's pooled output (before the final norm), shaped as ``pooled``."""


@dataclass
class _Attachment:
    """Everything changed on one backbone while attached, so that ``detach`` can undo it exactly."""

    anatomy: Anatomy
    grad_flags: dict[str, bool]
    original_pos: dict[str, nn.Parameter]
    undo_size: Any
    handles: list[RemovableHandle]
    mark: AttachMark
    lora: BackboneLora | None = None
    """PEFT LoRA injected into the backbone (``MultimodalConfig.backbone_lora``), taken out on detach."""


def _fuse(fusion: nn.Module, x: dict[str, torch.Tensor], frames: dict[str, int], **kw: Any) -> dict[str, torch.Tensor]:
    """One fusion step. A free function taking the fusion module as an argument, so that its compiled form
    (:meth:`MultimodalAdapterModel.compile_fusion`) serves every layer and survives ``copy.deepcopy``. ``kw``: the
    ``blocks`` and ``state`` of a kind that runs the fused blocks itself (:mod:`mmadapt.adapters.fusion.base`)."""
    return fusion(x, frames, **kw)


def _check_fused(fusion: nn.Module, x: Mapping[str, torch.Tensor], out: Any) -> None:
    """A fusion kind must hand back every stream it was given, each in its input's shape and dtype: a kind that
    drops a stream or reshapes one would otherwise be silently ignored or fail deep inside the next block."""
    kind = type(fusion).__qualname__
    if not isinstance(out, Mapping) or set(out) != set(x):
        got = sorted(out) if isinstance(out, Mapping) else type(out).__name__
        raise AdapterMismatchError(f"fusion {kind} returned {got}; it must return the streams {sorted(x)}")
    for s, t in x.items():
        o = out[s]
        if not isinstance(o, torch.Tensor) or o.shape != t.shape or o.dtype != t.dtype:
            what = f"{tuple(o.shape)} {o.dtype}" if isinstance(o, torch.Tensor) else type(o).__name__
            raise AdapterMismatchError(
                f"fusion {kind} returned {what} for stream {s!r}; it must keep the input's {tuple(t.shape)} {t.dtype}"
            )


class _StreamCast:
    """Forward hook on the embed stage's last module: its tokens leave in the residual stream's dtype.

    A small object rather than a closure, so that ``copy.deepcopy(model)`` gives the copy a hook on its own
    anatomy."""

    def __init__(self, anatomy: Anatomy) -> None:
        self.anatomy = anatomy

    def __call__(self, module: nn.Module, args: Any, output: Any) -> Any:
        dtype = self.anatomy.dtype
        return map_tokens(output, lambda x: x if x.dtype == dtype else x.to(dtype))


class MultimodalAdapterModel(nn.Module):
    """Frozen encoders (one per named stream) + prompt injectors + fusion layers + head.

    ``forward(**{stream: tensor}) -> logits (n, num_classes)``; also ``forward({stream: tensor})`` and, for the
    two-stream audio/video model, ``forward(video, audio)``.

    ``frames`` names the per-frame streams. ``adapter_dtype`` is the adapters' weight dtype; by default fp32 on
    half-precision backbones (the residual stream then runs in the backbones' dtype, see :mod:`mmadapt._dtype`),
    else the backbones' dtype.
    """

    check_finite: bool = False
    """Check every input and the logits for NaN/inf on each call (:mod:`mmadapt.finite`); a run-time switch, not saved
    with the adapter."""

    def __init__(
        self,
        backbones: Mapping[str, nn.Module],
        config: MultimodalConfig,
        *,
        frames: Collection[str] | None = None,
        adapter_dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        streams, per_frame = as_streams(backbones, frames=frames)
        check_attachable(streams)  # before anything is changed: a refused attach leaves every backbone as it was
        if config.num_classes is None:
            raise ConfigError("MultimodalConfig.num_classes is not set; pass num_classes=... to wrap_encoders")
        self.config = config
        self.backbones = nn.ModuleDict(streams)
        self._anatomy: dict[str, Anatomy] = {s: resolve_anatomy(b) for s, b in streams.items()}
        for s, anatomy in self._anatomy.items():
            warn_bypassed_overrides(s, anatomy)
        # LoRA targets from the anatomies, checked before any backbone is changed
        self._lora_targets: dict[str, list[str]] = {}
        if config.backbone_lora is not None:
            for s, anatomy in self._anatomy.items():
                self._lora_targets[s] = lora_targets(config.backbone_lora, anatomy, f"stream {s!r}")
        names = list(streams)
        ref = next(self.backbones[names[0]].parameters())
        dtype = adapter_dtype or default_adapter_dtype(module_dtype(self.backbones[names[0]]))
        factory = {"device": ref.device, "dtype": dtype}

        # input sizes first: resampled tables become the tuned positional embeddings
        unknown = sorted(set(config.input_sizes) - set(names))
        if unknown:
            raise ConfigError(f"MultimodalConfig.input_sizes names {unknown}, which are not streams ({names})")
        tables: dict[str, dict[str, torch.Tensor]] = {}
        undo: dict[str, Any] = {}
        try:
            for s, anatomy in self._anatomy.items():
                try:
                    tables[s], undo[s] = anatomy.set_input_size(config.input_size(s) or anatomy.native_input_size)
                except (InputShapeError, UnsupportedBackboneError) as err:
                    raise type(err)(f"stream {s!r}: {err}") from None
            self.streams: dict[str, StreamInfo] = stream_infos(self._anatomy, per_frame)

            # adapters, built through the kind registry (construction order fixes the seeded initialisation)
            self.prompts = nn.ModuleDict()
            if config.prompts is not None:
                for s, info in self.streams.items():
                    self.prompts[s] = build_adapter(config.prompts, "prompts", info)
            self.fused_streams: list[str] = []
            self.fused_layers: list[dict[str, int]] = []
            if config.fusion is not None:
                self.fused_streams = config.fusion.participants(names)
                fused = {s: self.streams[s] for s in self.fused_streams}
                self.fused_layers = config.fusion.resolve_layer_map({s: info.depth for s, info in fused.items()})
            self.fusion = nn.ModuleList(build_adapter(config.fusion, "fusion", fused) for _ in self.fused_layers)
            if self.fusion and hasattr(self.fusion[-1], "last_layer"):  # a kind that carries state drops the last carry
                self.fusion[-1].last_layer()
            self._fusion_runs_blocks = bool(getattr(self.fusion[0], "runs_blocks", False)) if self.fusion else False
            if self._fusion_runs_blocks:
                for s in self.fused_streams:
                    if not self._anatomy[s].accepts_extra_tokens:
                        raise UnsupportedBackboneError(
                            f"stream {s!r}: fusion kind {type(self.fusion[0]).__name__} appends tokens to the "
                            f"{self._anatomy[s].family} blocks, which cannot take them (e.g. a relative position bias)"
                        )
            self.head = build_adapter(config.head, "head", self.streams, config.num_classes)
            self._fuse = _fuse  # compile_fusion swaps in the compiled form
            self.pos_embeds = nn.ModuleDict()
            if config.tune_pos_embed:
                for s, anatomy in self._anatomy.items():
                    slots = anatomy.pos_slots()
                    if slots:
                        start = {n: tables[s].get(n, slot.get().detach()) for n, slot in slots.items()}
                        self.pos_embeds[s] = nn.ParameterDict({n: nn.Parameter(t.clone()) for n, t in start.items()})
            for module in (self.prompts, self.fusion, self.head, self.pos_embeds):
                module.to(**factory)

            self._plan: list[Step] = build_plan(
                {s: info.depth for s, info in self.streams.items()},
                self.fused_layers,
                {s: p.schedule for s, p in self.prompts.items()},
                fusion_runs_blocks=self._fusion_runs_blocks,
            )
        except BaseException:
            for restore in undo.values():  # a refused config leaves every backbone at its native size
                restore()
            raise
        self._attachments: dict[str, _Attachment] = {}
        self._adapters_enabled = True
        self._disable_depth = 0  # open disable_adapters() contexts
        self._detached = False
        self._attach(undo)

    @property
    def stream_names(self) -> list[str]:
        return list(self.streams)

    # ---- attach / detach ------------------------------------------------------------------------------
    def _attach(self, undo: dict[str, Any]) -> None:
        for s, anatomy in self._anatomy.items():
            backbone = self.backbones[s]
            flags = grad_flags(backbone)
            for p in backbone.parameters():
                p.requires_grad_(False)
            original = {}
            tuned = self.pos_embeds[s] if s in self.pos_embeds else {}
            for name, slot in anatomy.pos_slots().items():
                if name in tuned:
                    original[name] = slot.get()
                    slot.set(tuned[name])
            if s in self.prompts:
                self.prompts[s].attach(anatomy, hook_blocks=False, strip_output=False)
            # after the prompt hook: tuned fp32 tables and prompts promote the tokens, the blocks take the stream's
            cast = anatomy.embed_output.register_forward_hook(_StreamCast(anatomy))
            held = AttachMark(f"stream {s!r} of a MultimodalAdapterModel")
            self._attachments[s] = _Attachment(anatomy, flags, original, undo[s], [cast], held)
            if s in self._lora_targets:  # after the other adapters: their seeded initialisation is unchanged
                self._attachments[s].lora = BackboneLora(self.config.backbone_lora, anatomy, self._lora_targets[s])
            mark(backbone, held)
        for p in self.adapter_parameters():
            p.requires_grad_(True)

    def _swap_pos(self, to_original: bool) -> None:
        for s, att in self._attachments.items():
            for name, slot in att.anatomy.pos_slots().items():
                if name in att.original_pos:
                    slot.set(att.original_pos[name] if to_original else self.pos_embeds[s][name])

    def detach(self) -> tuple[nn.Module, ...]:
        """Remove every hook, restore positional tables, input sizes and gradient flags.

        Returns the backbones in the streams' order (``(audio_vit, video_vit)`` for the two-stream model) with
        bit-identical state dicts and outputs, their original positional-table objects and ``requires_grad`` flags,
        and without the attachment mark, so they can be wrapped again; the adapter model is unusable afterwards.

        Allowed inside :meth:`disable_adapters` and exact there too: the native tables are then already in their
        slots, and the context's exit leaves a detached model's backbones alone (refusing it would strand a user who
        detaches in a ``with`` block that is open for other reasons, e.g. an evaluation of the native path).
        """
        self._check_attached()
        for s, att in self._attachments.items():
            if s in self.prompts:
                self.prompts[s].detach()
            for handle in att.handles:
                handle.remove()
            for name, slot in att.anatomy.pos_slots().items():
                if name in att.original_pos:
                    slot.set(att.original_pos[name])
            att.undo_size()
            if att.lora is not None:  # before the flags: they are keyed by the original parameter names
                att.lora.remove()
            restore_grad_flags(self.backbones[s], att.grad_flags)
            unmark(self.backbones[s], att.mark)
        self._detached = True
        return tuple(self.backbones[s] for s in self.streams)

    def cast_backbones(self, dtype: torch.dtype) -> MultimodalAdapterModel:
        """Cast the frozen backbones' floating-point weights and buffers to ``dtype``; the adapters, tuned positional
        tables included, keep theirs (e.g. bf16 backbones under fp32 adapters: a bf16 residual stream).

        Unlike ``model.to(dtype)``, which casts the adapters too. The backbones stay cast after ``detach()``.
        """
        self._check_attached()
        self._swap_pos(to_original=True)  # the tuned tables sit in the backbones' slots while attached
        lora_dtypes = [(p, p.dtype) for _, p in self._lora_named_parameters()]  # LoRA lives inside the backbones
        try:
            for backbone in self.backbones.values():
                backbone.to(dtype)
        finally:
            self._swap_pos(to_original=not self._adapters_enabled)
            for p, old in lora_dtypes:
                p.data = p.data.to(old)
        return self

    def compile_fusion(self, **compile_kwargs: Any) -> MultimodalAdapterModel:
        """``torch.compile`` the fusion steps only (regional compilation), leaving backbones and the rest eager.

        Why: in an eager model the bottlenecks' memory-bound glue (casts, LayerNorms, means, GELU, the gated
        residual) costs far more than their matrix products; compiled, it becomes a few fused kernels. All
        fusion layers share one forward, so one graph per token shape is compiled and reused by every fused layer,
        which keeps compilation short. ``compile_kwargs`` go to ``torch.compile`` (``mode``, ``backend``, ...).
        Compiling the whole model (``torch.compile(model)``) fuses more but compiles far longer.
        """
        self._fuse = torch.compile(_fuse, **compile_kwargs)
        return self

    def _check_attached(self) -> None:
        if self._detached:
            raise DetachedModelError(
                "this MultimodalAdapterModel was detached from its backbones (detach() hands them back); "
                "wrap them again with mmadapt.wrap_encoders"
            )

    @contextmanager
    def disable_adapters(self) -> Iterator[None]:
        """Run the backbones' native path (original positions, no prompts, no fusion) inside the block.

        The head still maps the native pooled features to logits. Re-entrant: contexts nest (a depth counter), and
        only the outermost exit re-enables the adapters. ``detach()`` inside the block is exact (see :meth:`detach`).
        """
        self._check_attached()
        self._disable_depth += 1
        try:
            if self._disable_depth == 1:
                self._set_enabled(False)
            yield
        finally:
            self._disable_depth -= 1
            if self._disable_depth == 0 and not self._detached:
                self._set_enabled(True)

    def _set_enabled(self, enabled: bool) -> None:
        self._adapters_enabled = enabled
        for prompts in self.prompts.values():
            prompts.enabled = enabled
        for att in self._attachments.values():
            if att.lora is not None:
                att.lora.set_enabled(enabled)
        self._swap_pos(to_original=not enabled)

    # ---- parameters ---------------------------------------------------------------------------------------
    def adapter_modules(self) -> dict[str, nn.Module]:
        """The modules the adapters own (by ownership, never by parameter-name patterns)."""
        return {"fusion": self.fusion, "head": self.head, "pos_embeds": self.pos_embeds, "prompts": self.prompts}

    def adapter_named_parameters(self) -> Iterator[tuple[str, nn.Parameter]]:
        yield from self._lora_named_parameters()
        for prefix, module in sorted(self.adapter_modules().items()):
            for name, p in module.named_parameters():
                yield f"{prefix}.{name}", p

    def adapter_parameter_counts(self, trainable_only: bool = False) -> dict[str, int]:
        """Adapter parameters per part, sorted by name: the :meth:`adapter_modules` (zero where a part is off) and
        ``backbone_lora`` when LoRA sits in the backbones, so the parts add up to the adapter's whole size."""
        counts = dict.fromkeys(self.adapter_modules(), 0)
        for name, p in self.adapter_named_parameters():
            if p.requires_grad or not trainable_only:
                part = name.split(".", 1)[0]
                counts[part] = counts.get(part, 0) + p.numel()
        return dict(sorted(counts.items()))

    def _lora_named_parameters(self) -> Iterator[tuple[str, nn.Parameter]]:
        """LoRA weights inside the backbones, ``backbone_lora.<stream>.<PEFT state-dict key>``, streams sorted."""
        for s, att in sorted(self._attachments.items()):
            if att.lora is not None:
                for name, p in att.lora.named_parameters():
                    yield f"{_LORA_PREFIX}.{s}.{name}", p

    def _copy_adapter_state(self, state: Mapping[str, torch.Tensor]) -> None:
        """Copy checked adapter tensors in: LoRA through PEFT (``set_peft_model_state_dict``), the rest by name."""
        params = dict(self.adapter_named_parameters())
        lora: dict[str, dict[str, torch.Tensor]] = {}
        with torch.no_grad():
            for name, value in state.items():
                if name.startswith(f"{_LORA_PREFIX}."):
                    _, s, key = name.split(".", 2)
                    lora.setdefault(s, {})[key] = value
                elif name in params:
                    params[name].copy_(value)
        for s, sub in lora.items():
            self._attachments[s].lora.load(sub)

    def adapter_parameters(self) -> Iterator[nn.Parameter]:
        for _, p in self.adapter_named_parameters():
            yield p

    def adapter_state_dict(self) -> dict[str, torch.Tensor]:
        """Adapter tensors only (what ``save_adapter`` writes), detached."""
        return {name: p.detach() for name, p in self.adapter_named_parameters()}

    def load_adapter_state_dict(self, state: dict[str, torch.Tensor], strict: bool = True) -> None:
        """Copy adapter tensors in; with ``strict`` any missing/unexpected key or shape mismatch raises first."""
        params = dict(self.adapter_named_parameters())
        ckpt.check_adapter_state(params, state, strict=strict)
        self._copy_adapter_state(state)

    def get_nb_trainable_parameters(self) -> tuple[int, int]:
        """(trainable, all) parameter counts, as PEFT reports them."""
        trainable = total = 0
        for p in self.parameters():
            total += p.numel()
            if p.requires_grad:
                trainable += p.numel()
        return trainable, total

    def trainable_parameters_summary(self) -> str:
        trainable, total = self.get_nb_trainable_parameters()
        return (
            f"trainable params: {trainable:,d} || all params: {total:,d} || trainable%: {100 * trainable / total:.4f}"
        )

    def print_trainable_parameters(self, file: TextIO | None = None) -> None:
        """Write the PEFT-style one-line summary to ``file`` (stdout by default): a user-facing report."""
        (file or sys.stdout).write(self.trainable_parameters_summary() + "\n")

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        """Recompute the frozen blocks in backward (``use_reentrant=False``)."""
        self.config.grad_checkpointing = bool(enable)

    # ---- forward ------------------------------------------------------------------------------------------
    def _gather(self, args: tuple[Any, ...], named: dict[str, Any]) -> dict[str, Any]:
        """The inputs by stream name, from ``(mapping)``, keywords, or the two-stream ``(video, audio)``."""
        if not args:
            return named
        if named:
            raise InputShapeError("pass the streams either positionally or by name, not both")
        if len(args) == 1 and isinstance(args[0], Mapping):
            return dict(args[0])
        if len(args) == len(LEGACY_FORWARD_ORDER) and set(self.streams) == set(LEGACY_STREAMS):
            return dict(zip(LEGACY_FORWARD_ORDER, args, strict=True))
        by_name = ", ".join(f"{s}=..." for s in self.streams)
        raise InputShapeError(
            f"pass the streams by name, model({by_name}), or as one mapping; got {len(args)} positional"
        )

    def _check_inputs(self, inputs: dict[str, Any]) -> dict[str, int]:
        """Validate every stream's input; returns T per stream (1 for per-clip streams).

        Runs inside the traced region of ``torch.compile(model)``, so it only reads static facts (shapes, dtypes,
        devices, layouts). An empty batch (B=0) is refused rather than answered with an empty output: the fusion
        and the head average over clips and frames, and an empty batch is almost always a data-loader bug.
        """
        missing = [s for s in self.streams if s not in inputs]
        unknown = [s for s in inputs if s not in self.streams]
        if missing or unknown:
            raise InputShapeError(
                f"the model's streams are {list(self.streams)}; "
                + "; ".join(p for p in (missing and f"missing {missing}", unknown and f"unexpected {unknown}") if p)
            )
        frames: dict[str, int] = {}
        clips: dict[str, int] = {}
        for s, info in self.streams.items():
            x = inputs[s]
            rank, layout = (5, "(B, T, C, H, W)") if info.per_frame else (4, "(B, C, H, W)")
            if isinstance(x, torch.Tensor) and x.is_nested:
                raise InputShapeError(
                    f"{s}: nested tensors are not supported; give clips of one length as a {layout} tensor "
                    "(pad or crop them to a common T)"
                )
            if not isinstance(x, torch.Tensor) or x.dim() != rank:
                raise InputShapeError(f"{s}: expected a {layout} tensor, got {tuple(getattr(x, 'shape', ()))}")
            self._check_device(s, x)
            clips[s] = x.shape[0]
            if clips[s] == 0:
                raise InputShapeError(f"{s}: the batch is empty (B=0); give at least one clip")
            frames[s] = x.shape[1] if info.per_frame else 1
            if info.per_frame and frames[s] < 1:
                raise InputShapeError(f"{s} has T=0 frames")
            self._anatomy[s].check_input(x[:, 0] if info.per_frame else x, f"{s} frames" if info.per_frame else s)
        first = next(iter(clips.values()))
        if any(n != first for n in clips.values()):  # not a set: a traced or exported batch size is not hashable
            raise InputShapeError(
                "the streams disagree on the number of clips: " + ", ".join(f"{s} {n}" for s, n in clips.items())
            )
        for module in self.head.modules():  # any part of the head may refuse clip lengths it cannot take
            check_frames = getattr(module, "check_frames", None)
            if check_frames is not None:
                check_frames(frames)
        return frames

    def _check_device(self, stream: str, x: torch.Tensor) -> None:
        """Inputs must hold data and sit on their backbone's device: one clear error instead of torch's, deep in a
        block. ``x.device`` is static under ``torch.compile``, so the check traces without a graph break."""
        if x.device.type == "meta":
            raise InputShapeError(f"{stream}: the input is a meta tensor (a shape without data); pass real data")
        device = self._anatomy[stream].device
        if device is not None and x.device != device:
            raise InputShapeError(
                f"{stream}: the input is on {x.device} but the {stream} backbone is on {device}; move the input with "
                f".to({str(device)!r})"
            )

    def _checking_finite(self) -> bool:
        """``check_finite`` or an open ``mmadapt.check_finite()`` block: a flag test, a guard under torch.compile."""
        return self.check_finite or finite.checks_active()

    def _check_finite_output(self, what: str, out: torch.Tensor) -> None:
        if self._checking_finite():
            finite.raise_if_nonfinite({f"output {what!r}": out}, "; the inputs were finite, so the model produced them")

    def _block(self, stream: str, i: int, x: torch.Tensor, ctx: Any) -> torch.Tensor:
        anatomy = self._anatomy[stream]
        if self.config.grad_checkpointing and self.training and torch.is_grad_enabled():
            return checkpoint(anatomy.block, i, x, ctx, use_reentrant=False)
        return anatomy.block(i, x, ctx)

    def _fused_block(self, stream: str, i: int, ctx: Any, x: torch.Tensor, extra_tokens: int = 0) -> torch.Tensor:
        """Block ``i`` as handed to a fusion kind that runs the fused blocks: ``x`` may carry ``extra_tokens``
        tokens of the kind's own at its end, for which the family's context is extended."""
        if extra_tokens:
            ctx = self._anatomy[stream].extend_context(ctx, extra_tokens)
        return self._block(stream, i, x, ctx)

    def _fuse_blocks(
        self, k: int, x: dict[str, torch.Tensor], ctx: dict[str, Any], frames: dict[str, int], state: dict[str, Any]
    ) -> dict[str, torch.Tensor]:
        """Fusion step ``k`` of a kind that runs the fused blocks itself; disabled, the blocks run natively."""
        layer = self.fused_layers[k]
        blocks = {s: partial(self._fused_block, s, layer[s], ctx[s]) for s in self.fused_streams}
        inputs = {s: x[s] for s in self.fused_streams}
        if not self._adapters_enabled:
            return {s: blocks[s](t) for s, t in inputs.items()}
        fused = self._fuse(self.fusion[k], inputs, frames, blocks=blocks, state=state)
        _check_fused(self.fusion[k], inputs, fused)
        return fused

    def forward_streams(self, *args: Any, return_intermediates: bool = False, **inputs: Any) -> StreamOutputs:
        """Every encoder in lockstep: each stream's blocks up to a fused layer (per-frame streams on their n·T
        frames as one batch), then the fusion, then the prompt updates."""
        self._check_attached()
        inputs = self._gather(args, inputs)
        frames = self._check_inputs(inputs)
        if self._checking_finite():
            finite.raise_if_nonfinite({f"input {s!r}": inputs[s] for s in self.streams})
        x: dict[str, torch.Tensor] = {}
        ctx: dict[str, Any] = {}
        for s, info in self.streams.items():
            anatomy = self._anatomy[s]
            images = inputs[s].flatten(0, 1) if info.per_frame else inputs[s]  # (n·T, C, H, W), clip-major
            x[s], ctx[s] = anatomy.embed(to_weight_dtype(images, anatomy.dtype))  # (n·T, N + P, D); prompts by hook
        enabled = self._adapters_enabled
        inter: dict[str, list[torch.Tensor]] = {s: [] for s in self.streams}
        state: dict[str, Any] = {}  # what a fusion kind that runs blocks carries from one fused layer to the next
        for step in self._plan:
            if step.op == "block":
                s = step.stream
                x[s] = self._block(s, step.index, x[s], ctx[s])
                if return_intermediates:
                    inter[s].append(self._shape_pooled(s, self._pool_intermediate(s, x[s]), frames[s]))
            elif step.op == "fuse" and self._fusion_runs_blocks:
                x.update(self._fuse_blocks(step.index, x, ctx, frames, state))
                if return_intermediates:  # the fused blocks' outputs, after their fusion
                    for s in self.fused_streams:
                        inter[s].append(self._shape_pooled(s, self._pool_intermediate(s, x[s]), frames[s]))
            elif not enabled:
                continue
            elif step.op == "fuse":
                inputs = {s: x[s] for s in self.fused_streams}
                fused = self._fuse(self.fusion[step.index], inputs, frames)
                _check_fused(self.fusion[step.index], inputs, fused)
                x.update(fused)
            else:
                x[step.stream] = self.prompts[step.stream].update(step.index, x[step.stream])
        tokens, pooled = {}, {}
        for s, anatomy in self._anatomy.items():
            t = anatomy.final_norm(x[s])
            if enabled and s in self.prompts:
                t = self.prompts[s].strip(t)
            tokens[s] = t
            pooled[s] = self._shape_pooled(s, anatomy.pool(t), frames[s])
        return StreamOutputs(tokens, pooled, frames, inter if return_intermediates else {})

    def _shape_pooled(self, stream: str, pooled: torch.Tensor, t: int) -> torch.Tensor:
        """(n·T, D) -> (n, T, D) for a per-frame stream; (n, D) as is for a per-clip one."""
        return pooled.view(-1, t, pooled.shape[-1]) if self.streams[stream].per_frame else pooled

    def _pool_intermediate(self, stream: str, x: torch.Tensor) -> torch.Tensor:
        """A block's output pooled without the final norm: the first prefix token, else the patch mean."""
        if self._anatomy[stream].num_prefix_tokens > 0:
            return x[:, 0]
        end = x.shape[1] - (self.prompts[stream].num_prompts if stream in self.prompts else 0)
        return x[:, :end].mean(dim=1)

    def _head_inputs(self, out: StreamOutputs) -> dict[str, torch.Tensor]:
        """The pooled features in the head's weight dtype (a no-op unless the backbones run in another dtype)."""
        dtype = module_dtype(self.head)
        return {s: to_weight_dtype(p, dtype) for s, p in out.pooled.items()}

    def forward_features(self, *args: Any, **inputs: Any) -> torch.Tensor:
        """Clip embedding (n, D_head): e.g. the temporal transformer's CLS output."""
        out = self.forward_streams(*args, **inputs)
        features = self.head.forward_features(self._head_inputs(out))
        self._check_finite_output("features", features)
        return features

    def forward(
        self, *args: Any, return_intermediates: bool = False, **inputs: Any
    ) -> torch.Tensor | tuple[torch.Tensor, dict[str, list[torch.Tensor]]]:
        out = self.forward_streams(*args, return_intermediates=return_intermediates, **inputs)
        logits = self.head(self._head_inputs(out))
        self._check_finite_output("logits", logits)
        return (logits, out.intermediates) if return_intermediates else logits

    # ---- checkpoints --------------------------------------------------------------------------------------
    def save_adapter(self, directory: str | Path) -> Path:
        """Write ``adapter_config.json`` + ``adapter_model.safetensors`` (no backbone weights), atomically."""
        return ckpt.save_adapter(self, directory)

    def load_adapter(self, directory: str | Path, *, strict_finite: bool = True) -> None:
        """Load a saved adapter into this model; strict, and the model is unchanged if anything mismatches.

        NaN/inf tensors are refused unless ``strict_finite=False``, which loads them with a warning.
        """
        saved = ckpt.read_adapter(directory, strict_finite=strict_finite)
        ckpt.check_backbones(saved.backbones, self.backbone_identity(), str(directory))
        if saved.frames != {s for s, i in self.streams.items() if i.per_frame}:
            raise AdapterMismatchError(
                f"the adapter in {directory} has per-frame streams {sorted(saved.frames)}, the model "
                f"{sorted(s for s, i in self.streams.items() if i.per_frame)}"
            )
        ckpt.check_same_config(saved.config, self.config, str(directory))
        params = dict(self.adapter_named_parameters())
        ckpt.check_adapter_state(params, saved.state, strict=True, where=str(Path(directory) / ckpt.WEIGHTS_NAME))
        self._copy_adapter_state(saved.state)

    def save_pretrained(
        self,
        save_directory: str | Path,
        *,
        is_main_process: bool = True,
        state_dict: Mapping[str, torch.Tensor] | None = None,
        safe_serialization: bool = True,
        **kwargs: Any,
    ) -> Path:
        """The adapter into ``save_directory`` (:meth:`save_adapter`): the saving side of :meth:`from_pretrained`.

        Takes the keywords that ``transformers``/``peft`` pass to a model's ``save_pretrained``, so that a
        checkpointing tool writes the adapter alone, never the frozen backbones: ``is_main_process=False`` writes
        nothing (one rank writes under DDP); ``state_dict``, the model's full ``state_dict()`` as a sharding wrapper
        gathers it, supplies the adapter tensors by their names in it (backbone tensors in it are not written).
        Adapters are always safetensors, so ``safe_serialization=False`` is refused; of the rest, ``push_to_hub``
        is refused (nothing is uploaded) and sharding or variant keywords, meaningless for one small file, are
        ignored.
        """
        if not safe_serialization:
            raise ConfigError("save_pretrained: an adapter is always written as safetensors; drop safe_serialization")
        if kwargs.get("push_to_hub"):
            raise ConfigError("save_pretrained: push_to_hub is not supported; upload the saved folder yourself")
        if kwargs:
            logger.debug("save_pretrained ignores %s (they do not apply to an adapter)", sorted(kwargs))
        if not is_main_process:
            return Path(save_directory)
        if state_dict is None:
            return self.save_adapter(save_directory)
        return ckpt.save_adapter(_GivenState(self, self._adapter_tensors_from(state_dict)), save_directory)

    def _adapter_tensors_from(self, state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The adapter's tensors, under their adapter names, out of a full ``state_dict`` of this model.

        Each adapter parameter is found under the names the model's ``named_parameters`` gives it (a tuned positional
        table has two: its own and the backbone slot it sits in), so the mapping follows the modules, not patterns.
        """
        full_names: dict[int, list[str]] = {}
        for name, p in self.named_parameters(remove_duplicate=False):
            full_names.setdefault(id(p), []).append(name)
        tensors, missing = {}, []
        for name, p in self.adapter_named_parameters():
            found = [n for n in full_names.get(id(p), []) if n in state_dict]
            if found:
                tensors[name] = state_dict[found[0]]
            else:
                missing.append(full_names.get(id(p), [name])[0])
        if missing:
            shown = ", ".join(missing[:4]) + (f" ... ({len(missing) - 4} more)" if len(missing) > 4 else "")
            raise CheckpointError(f"save_pretrained: the given state_dict lacks adapter tensors {shown}")
        return tensors

    @classmethod
    def from_pretrained(
        cls,
        directory: str | Path,
        *backbones: nn.Module | Mapping[str, nn.Module],
        strict_finite: bool = True,
        **named: nn.Module,
    ) -> MultimodalAdapterModel:
        """Wrap fresh backbones with the adapter saved in ``directory``.

        Backbones come as one ``{stream: backbone}`` mapping, by keyword (``audio=..., video=...``) or positionally
        in the saved streams' order (``(audio_vit, video_vit)`` for the two-stream model). Everything is checked
        before the backbones are touched; on a mismatch they are handed back untouched. ``strict_finite``: see
        :meth:`load_adapter`.
        """
        saved = ckpt.read_adapter(directory, strict_finite=strict_finite)
        streams = _backbones_for(saved.streams, backbones, named, str(directory))
        actual = {s: resolve_anatomy(b) for s, b in streams.items()}
        identity = {}
        for s, anatomy in actual.items():
            ident = anatomy.identity().to_dict()
            ident["input_size"] = tuple(saved.config.input_size(s) or anatomy.native_input_size)
            identity[s] = ident
        ckpt.check_backbones(saved.backbones, identity, str(directory))
        model = cls(streams, saved.config, frames=saved.frames)
        try:
            params = dict(model.adapter_named_parameters())
            ckpt.check_adapter_state(params, saved.state, strict=True, where=str(Path(directory) / ckpt.WEIGHTS_NAME))
            model._copy_adapter_state(saved.state)
        except Exception:
            model.detach()  # hand the backbones back untouched
            raise
        return model

    def backbone_identity(self) -> dict[str, dict[str, Any]]:
        return {s: anatomy.identity().to_dict() for s, anatomy in self._anatomy.items()}

    def extra_repr(self) -> str:
        parts = []
        for s, a in self._anatomy.items():
            per_frame = ", per frame" if self.streams[s].per_frame else ""
            parts.append(f"{s}={a.family}(D={a.width}, depth={a.depth}, size={a.input_size}{per_frame})")
        return ", ".join(parts) + f", fused_layers={len(self.fused_layers)}"


class _GivenState:
    """A model whose adapter tensors come from a given state dict (:meth:`MultimodalAdapterModel.save_pretrained`)."""

    def __init__(self, model: MultimodalAdapterModel, tensors: dict[str, torch.Tensor]) -> None:
        self.config, self.streams = model.config, model.streams
        self.backbone_identity = model.backbone_identity
        self._tensors = tensors

    def adapter_state_dict(self) -> dict[str, torch.Tensor]:
        return self._tensors


def _backbones_for(
    saved: list[str], positional: tuple[Any, ...], named: dict[str, nn.Module], where: str
) -> dict[str, nn.Module]:
    """The backbones for the saved streams, from a mapping, keywords or positions in the saved order."""
    if positional and named:
        raise AdapterMismatchError("pass the backbones either positionally or by stream name, not both")
    if len(positional) == 1 and isinstance(positional[0], Mapping):
        given = dict(positional[0])
    elif positional:
        if len(positional) != len(saved):
            raise AdapterMismatchError(
                f"the adapter in {where} has {len(saved)} streams {saved}; got {len(positional)} backbones"
            )
        given = dict(zip(saved, positional, strict=True))
    else:
        given = dict(named)
    if set(given) != set(saved):
        raise AdapterMismatchError(f"the adapter in {where} has streams {saved}; got backbones for {sorted(given)}")
    return {s: given[s] for s in saved}


def wrap_encoders(
    backbones: Mapping[str, nn.Module] | nn.Module,
    video_vit: nn.Module | None = None,
    preset: str | MultimodalConfig = "mma-dfer",
    num_classes: int | None = None,
    adapter_dtype: torch.dtype | None = None,
    *,
    frames: Collection[str] | None = None,
    **overrides: Any,
) -> MultimodalAdapterModel:
    """Wrap unimodal ViTs into a multimodal temporal model with the adapters of ``preset``.

    ``wrap_encoders(audio_vit, video_vit, ...)`` or ``wrap_encoders({"audio": a, "video": v, "flow": f},
    frames={"video", "flow"}, ...)``: ``frames`` names the per-frame streams (default: the stream named "video").
    ``overrides`` replace preset fields; a dict for ``prompts``/``fusion``/``head`` updates only the keys it names
    (``"type"`` switches kind), ``None`` switches that adapter off. ``adapter_dtype``: see
    :class:`MultimodalAdapterModel` (bf16 backbones get fp32 adapters by default).

    Refused before any backbone is touched: a backbone attached to another model (``detach()`` that one first),
    streams sharing modules or parameters, and backbones on different devices (the adapters, fusion and head live
    on one device; move the backbones with ``.to(device)`` first).
    """
    from .presets import get_preset

    if isinstance(backbones, Mapping) and isinstance(video_vit, (str, MultimodalConfig)):
        preset, video_vit = video_vit, None  # wrap_encoders({...}, "preset")
    streams, per_frame = as_streams(backbones, video_vit, frames)
    anatomies = {s: resolve_anatomy(b) for s, b in streams.items()}
    config = preset if isinstance(preset, MultimodalConfig) else get_preset(preset, anatomies)
    if num_classes is not None:
        overrides["num_classes"] = num_classes
    config = config.with_overrides(**overrides) if overrides else config
    logger.info(
        "wrapping %s with preset %s", ", ".join(f"{s}={type(b).__name__}" for s, b in streams.items()), config.preset
    )
    return MultimodalAdapterModel(streams, config, frames=per_frame, adapter_dtype=adapter_dtype)
