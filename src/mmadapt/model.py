"""The multimodal adapter model: two frozen unimodal ViTs driven in lockstep, plus the adapters.

Legend: n clips (batch), T frames, C channels, H/W frame size, F/M spectrogram frames/mel bins, N tokens,
D width, P prompt tokens.

The backbones are registered as submodules (so ``.to()``, ``.train()`` and ``.eval()`` reach them) but never
edited: adapters act through hooks and through positional tables swapped in by reference; ``detach()`` hands the
backbones back bit-identical.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint
from torch.utils.hooks import RemovableHandle

from ._dtype import default_adapter_dtype, module_dtype, to_weight_dtype
from ._freeze import grad_flags, restore_grad_flags
from .adapters import FusionBottleneck, PromptInjector, TemporalHead
from .anatomy import Anatomy, map_tokens, resolve_anatomy
from .config import MultimodalConfig
from .errors import InputShapeError, UnsupportedBackboneError
from .lockstep import Step, build_plan

logger = logging.getLogger(__name__)

STREAMS = ("audio", "video")


@dataclass
class StreamOutputs:
    """What the two encoders produce for a batch of clips."""

    audio_tokens: torch.Tensor  # (n, Na, Da) final-norm tokens, prompts removed
    video_tokens: torch.Tensor  # (n·T, Nv, Dv)
    audio_pooled: torch.Tensor  # (n, Da)
    video_pooled: torch.Tensor  # (n, T, Dv)
    intermediates: dict[str, list[torch.Tensor]] = field(default_factory=dict)


@dataclass
class _Attachment:
    """Everything changed on one backbone while attached, so that ``detach`` can undo it exactly."""

    anatomy: Anatomy
    grad_flags: dict[str, bool]
    original_pos: dict[str, nn.Parameter]
    undo_size: Any
    handles: list[RemovableHandle]


def _fuse(fusion: nn.Module, audio: torch.Tensor, video: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One fusion step. A free function taking the bottleneck as an argument, so that its compiled form
    (:meth:`MultimodalAdapterModel.compile_fusion`) serves every layer and survives ``copy.deepcopy``."""
    return fusion(audio, video)


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
    """Audio ViT + video ViT + prompt injectors + fusion bottlenecks + temporal head.

    ``forward(video (n, T, C, H, W), audio (n, C, F, M)) -> logits (n, num_classes)``.

    ``adapter_dtype`` is the adapters' weight dtype; by default fp32 on half-precision backbones (the residual stream
    then runs in the backbones' dtype, see :mod:`mmadapt._dtype`), else the backbones' dtype.
    """

    def __init__(
        self,
        audio_vit: nn.Module,
        video_vit: nn.Module,
        config: MultimodalConfig,
        adapter_dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if audio_vit is video_vit:
            raise ValueError("audio_vit and video_vit are the same object; pass two backbones")
        self.config = config
        self.audio_backbone = audio_vit
        self.video_backbone = video_vit
        anat = {"audio": resolve_anatomy(audio_vit), "video": resolve_anatomy(video_vit)}
        self._anatomy = anat
        a, v = anat["audio"], anat["video"]
        ref = next(video_vit.parameters())
        factory = {"device": ref.device, "dtype": adapter_dtype or default_adapter_dtype(module_dtype(video_vit))}

        # input sizes first: resampled tables become the tuned positional embeddings
        sizes = {"audio": config.audio_size, "video": config.video_size}
        tables: dict[str, dict[str, torch.Tensor]] = {}
        undo: dict[str, Any] = {}
        for s in STREAMS:
            size = sizes[s] or anat[s].native_input_size
            tables[s], undo[s] = anat[s].set_input_size(size)

        # adapters
        if config.prompts is not None:
            self.audio_prompts: PromptInjector | None = PromptInjector(config.prompts, a.width, a.depth)
            self.video_prompts: PromptInjector | None = PromptInjector(config.prompts, v.width, v.depth)
        else:
            self.audio_prompts = self.video_prompts = None
        self.layer_map = config.fusion.resolve_layer_map(a.depth, v.depth) if config.fusion is not None else []
        self.fusion = nn.ModuleList(FusionBottleneck(config.fusion, a.width, v.width) for _ in self.layer_map)
        self.head = TemporalHead(config.head, a.width, v.width, config.num_classes)
        self._fuse = _fuse  # compile_fusion swaps in the compiled form
        self.pos_embeds = nn.ParameterDict()
        if config.tune_pos_embed:
            for s in STREAMS:
                for name, slot in anat[s].pos_slots().items():
                    value = tables[s].get(name, slot.get().detach())
                    self.pos_embeds[f"{s}_{name}"] = nn.Parameter(value.clone())
        for module in (self.audio_prompts, self.video_prompts, self.fusion, self.head, self.pos_embeds):
            if module is not None:
                module.to(**factory)

        self._plan: list[Step] = build_plan(
            a.depth,
            v.depth,
            self.layer_map,
            self.audio_prompts.schedule if self.audio_prompts is not None else {},
            self.video_prompts.schedule if self.video_prompts is not None else {},
        )
        self._attachments: dict[str, _Attachment] = {}
        self._adapters_enabled = True
        self._detached = False
        self._attach(undo)

    # ---- attach / detach ------------------------------------------------------------------------------
    def _prompts(self, stream: str) -> PromptInjector | None:
        return self.audio_prompts if stream == "audio" else self.video_prompts

    def _backbone(self, stream: str) -> nn.Module:
        return self.audio_backbone if stream == "audio" else self.video_backbone

    def _attach(self, undo: dict[str, Any]) -> None:
        for s in STREAMS:
            anatomy = self._anatomy[s]
            backbone = self._backbone(s)
            flags = grad_flags(backbone)
            for p in backbone.parameters():
                p.requires_grad_(False)
            original = {}
            for name, slot in anatomy.pos_slots().items():
                key = f"{s}_{name}"
                if key in self.pos_embeds:
                    original[name] = slot.get()
                    slot.set(self.pos_embeds[key])
            prompts = self._prompts(s)
            if prompts is not None:
                prompts.attach(anatomy, hook_blocks=False, strip_output=False)
            # after the prompt hook: tuned fp32 tables and prompts promote the tokens, the blocks take the stream's
            cast = anatomy.embed_output.register_forward_hook(_StreamCast(anatomy))
            self._attachments[s] = _Attachment(anatomy, flags, original, undo[s], [cast])
        for p in self.adapter_parameters():
            p.requires_grad_(True)

    def _swap_pos(self, to_original: bool) -> None:
        for s, att in self._attachments.items():
            for name, slot in att.anatomy.pos_slots().items():
                if name in att.original_pos:
                    slot.set(att.original_pos[name] if to_original else self.pos_embeds[f"{s}_{name}"])

    def detach(self) -> tuple[nn.Module, nn.Module]:
        """Remove every hook, restore positional tables, input sizes and gradient flags.

        Returns ``(audio_vit, video_vit)`` with bit-identical state dicts and outputs; the adapter model is
        unusable afterwards.
        """
        self._check_attached()
        for s in STREAMS:
            att = self._attachments[s]
            prompts = self._prompts(s)
            if prompts is not None:
                prompts.detach()
            for handle in att.handles:
                handle.remove()
            for name, slot in att.anatomy.pos_slots().items():
                if name in att.original_pos:
                    slot.set(att.original_pos[name])
            att.undo_size()
            restore_grad_flags(self._backbone(s), att.grad_flags)
        self._detached = True
        audio, video = self.audio_backbone, self.video_backbone
        return audio, video

    def cast_backbones(self, dtype: torch.dtype) -> MultimodalAdapterModel:
        """Cast the frozen backbones' floating-point weights and buffers to ``dtype``; the adapters, tuned positional
        tables included, keep theirs (e.g. bf16 backbones under fp32 adapters: a bf16 residual stream).

        Unlike ``model.to(dtype)``, which casts the adapters too. The backbones stay cast after ``detach()``.
        """
        self._check_attached()
        self._swap_pos(to_original=True)  # the tuned tables sit in the backbones' slots while attached
        try:
            for s in STREAMS:
                self._backbone(s).to(dtype)
        finally:
            self._swap_pos(to_original=not self._adapters_enabled)
        return self

    def compile_fusion(self, **compile_kwargs: Any) -> MultimodalAdapterModel:
        """``torch.compile`` the fusion steps only (regional compilation), leaving backbones and the rest eager.

        Why: in an eager model the bottlenecks' memory-bound glue (casts, LayerNorms, means, GELU, the gated
        residual) costs far more than their matrix products; compiled, it becomes a few fused kernels. All
        bottlenecks share one forward, so one graph per token shape is compiled and reused by every fused layer,
        which keeps compilation short. ``compile_kwargs`` go to ``torch.compile`` (``mode``, ``backend``, ...).
        Compiling the whole model (``torch.compile(model)``) fuses more but compiles far longer.
        """
        self._fuse = torch.compile(_fuse, **compile_kwargs)
        return self

    def _check_attached(self) -> None:
        if self._detached:
            raise RuntimeError("this MultimodalAdapterModel was detached from its backbones; wrap them again")

    @contextmanager
    def disable_adapters(self) -> Iterator[None]:
        """Run the backbones' native path (original positions, no prompts, no fusion) inside the block.

        The temporal head still maps the native pooled features to logits.
        """
        self._check_attached()
        self._set_enabled(False)
        try:
            yield
        finally:
            self._set_enabled(True)

    def _set_enabled(self, enabled: bool) -> None:
        self._adapters_enabled = enabled
        for prompts in (self.audio_prompts, self.video_prompts):
            if prompts is not None:
                prompts.enabled = enabled
        self._swap_pos(to_original=not enabled)

    # ---- parameters ---------------------------------------------------------------------------------------
    def adapter_modules(self) -> dict[str, nn.Module]:
        """The modules the adapters own (by ownership, never by parameter-name patterns)."""
        modules: dict[str, nn.Module] = {"fusion": self.fusion, "head": self.head, "pos_embeds": self.pos_embeds}
        if self.audio_prompts is not None:
            modules["audio_prompts"] = self.audio_prompts
            modules["video_prompts"] = self.video_prompts
        return modules

    def adapter_named_parameters(self) -> Iterator[tuple[str, nn.Parameter]]:
        for prefix, module in sorted(self.adapter_modules().items()):
            for name, p in module.named_parameters():
                yield f"{prefix}.{name}", p

    def adapter_parameters(self) -> Iterator[nn.Parameter]:
        for _, p in self.adapter_named_parameters():
            yield p

    def adapter_state_dict(self) -> dict[str, torch.Tensor]:
        """Adapter tensors only (what ``save_adapter`` writes), detached."""
        return {name: p.detach() for name, p in self.adapter_named_parameters()}

    def load_adapter_state_dict(self, state: dict[str, torch.Tensor], strict: bool = True) -> None:
        """Copy adapter tensors in; with ``strict`` any missing/unexpected key or shape mismatch raises first."""
        from .checkpoint import check_adapter_state

        params = dict(self.adapter_named_parameters())
        check_adapter_state(params, state, strict=strict)
        with torch.no_grad():
            for name, value in state.items():
                if name in params:
                    params[name].copy_(value)

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
        return f"trainable params: {trainable:,d} || all params: {total:,d} || trainable%: {100 * trainable / total:.4f}"

    def print_trainable_parameters(self, file: TextIO | None = None) -> None:
        """Write the PEFT-style one-line summary to ``file`` (stdout by default): a user-facing report."""
        (file or sys.stdout).write(self.trainable_parameters_summary() + "\n")

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        """Recompute the frozen blocks in backward (``use_reentrant=False``)."""
        self.config.grad_checkpointing = bool(enable)

    # ---- forward ------------------------------------------------------------------------------------------
    def _check_inputs(self, video: torch.Tensor, audio: torch.Tensor) -> None:
        if not isinstance(video, torch.Tensor) or video.dim() != 5:
            raise InputShapeError(
                f"video: expected a (B, T, C, H, W) tensor, got {tuple(getattr(video, 'shape', ()))}"
            )
        if not isinstance(audio, torch.Tensor) or audio.dim() != 4:
            raise InputShapeError(
                f"audio: expected a (B, C, frames, mel_bins) tensor, got {tuple(getattr(audio, 'shape', ()))}"
            )
        if video.shape[0] != audio.shape[0]:
            raise InputShapeError(f"video has {video.shape[0]} clips but audio has {audio.shape[0]}")
        t = video.shape[1]
        if t < 1 or t > self.config.head.max_frames:
            raise InputShapeError(f"video has T={t} frames; the temporal head takes 1..{self.config.head.max_frames}")
        self._anatomy["video"].check_input(video[:, 0], "video frames")
        self._anatomy["audio"].check_input(audio, "audio")

    def _block(self, stream: str, i: int, x: torch.Tensor, ctx: Any) -> torch.Tensor:
        anatomy = self._anatomy[stream]
        if self.config.grad_checkpointing and self.training and torch.is_grad_enabled():
            return checkpoint(anatomy.block, i, x, ctx, use_reentrant=False)
        return anatomy.block(i, x, ctx)

    def forward_streams(
        self, video: torch.Tensor, audio: torch.Tensor, return_intermediates: bool = False
    ) -> StreamOutputs:
        """Both encoders in lockstep: audio block i, video block i on the n·T frames as one batch, fusion i."""
        self._check_attached()
        self._check_inputs(video, audio)
        n, t = video.shape[:2]
        anat_a, anat_v = self._anatomy["audio"], self._anatomy["video"]
        a, ctx_a = anat_a.embed(to_weight_dtype(audio, anat_a.dtype))  # (n, Na + P, Da); prompts appended by hook
        v, ctx_v = anat_v.embed(to_weight_dtype(video.flatten(0, 1), anat_v.dtype))  # (n·T, Nv + P, Dv), frame-major
        enabled = self._adapters_enabled
        inter: dict[str, list[torch.Tensor]] = {"audio": [], "video": []}
        for step in self._plan:
            if step.op == "audio":
                a = self._block("audio", step.index, a, ctx_a)
                if return_intermediates:
                    inter["audio"].append(self._pool_intermediate("audio", a))
            elif step.op == "video":
                v = self._block("video", step.index, v, ctx_v)
                if return_intermediates:
                    inter["video"].append(self._pool_intermediate("video", v).view(n, t, -1))
            elif not enabled:
                continue
            elif step.op == "fuse":
                a, v = self._fuse(self.fusion[step.index], a, v)
            elif step.op == "audio_prompt":
                a = self.audio_prompts.update(step.index, a)
            else:
                v = self.video_prompts.update(step.index, v)
        a, v = anat_a.final_norm(a), anat_v.final_norm(v)
        if self.audio_prompts is not None and enabled:
            a, v = self.audio_prompts.strip(a), self.video_prompts.strip(v)
        return StreamOutputs(
            audio_tokens=a,
            video_tokens=v,
            audio_pooled=anat_a.pool(a),
            video_pooled=anat_v.pool(v).view(n, t, -1),
            intermediates=inter if return_intermediates else {},
        )

    def _pool_intermediate(self, stream: str, x: torch.Tensor) -> torch.Tensor:
        """A block's output pooled without the final norm: the first prefix token, else the patch mean."""
        anatomy = self._anatomy[stream]
        if anatomy.num_prefix_tokens > 0:
            return x[:, 0]
        end = x.shape[1] - (self.config.prompts.num_prompts if self.config.prompts is not None else 0)
        return x[:, :end].mean(dim=1)

    def _head_inputs(self, out: StreamOutputs) -> tuple[torch.Tensor, torch.Tensor]:
        """The pooled features in the head's weight dtype (a no-op unless the backbones run in another dtype)."""
        dtype = self.head.classifier.weight.dtype
        return to_weight_dtype(out.video_pooled, dtype), to_weight_dtype(out.audio_pooled, dtype)

    def forward_features(self, video: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        """Clip embedding (n, head.dim): the temporal transformer's CLS output."""
        out = self.forward_streams(video, audio)
        return self.head.forward_features(*self._head_inputs(out))

    def forward(
        self, video: torch.Tensor, audio: torch.Tensor, return_intermediates: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, dict[str, list[torch.Tensor]]]:
        out = self.forward_streams(video, audio, return_intermediates=return_intermediates)
        logits = self.head(*self._head_inputs(out))
        return (logits, out.intermediates) if return_intermediates else logits

    # ---- checkpoints --------------------------------------------------------------------------------------
    def save_adapter(self, directory: str | Path) -> Path:
        """Write ``adapter_config.json`` + ``adapter_model.safetensors`` (no backbone weights), atomically."""
        from .checkpoint import save_adapter

        return save_adapter(self, directory)

    def load_adapter(self, directory: str | Path) -> None:
        """Load a saved adapter into this model; strict, and the model is unchanged if anything mismatches."""
        from .checkpoint import load_adapter

        load_adapter(self, directory)

    @classmethod
    def from_pretrained(cls, directory: str | Path, audio_vit: nn.Module, video_vit: nn.Module) -> MultimodalAdapterModel:
        """Wrap fresh backbones with the adapter saved in ``directory``."""
        from .checkpoint import from_pretrained

        return from_pretrained(directory, audio_vit, video_vit)

    def backbone_identity(self) -> dict[str, dict[str, Any]]:
        return {s: self._anatomy[s].identity().to_dict() for s in STREAMS}

    def extra_repr(self) -> str:
        a, v = self._anatomy["audio"], self._anatomy["video"]
        return (
            f"audio={a.family}(D={a.width}, depth={a.depth}, size={a.input_size}), "
            f"video={v.family}(D={v.width}, depth={v.depth}, size={v.input_size}), fused_pairs={len(self.layer_map)}"
        )


def wrap_encoders(
    audio_vit: nn.Module,
    video_vit: nn.Module,
    preset: str | MultimodalConfig = "mma-dfer",
    num_classes: int | None = None,
    adapter_dtype: torch.dtype | None = None,
    **overrides: Any,
) -> MultimodalAdapterModel:
    """Wrap two unimodal ViTs into a multimodal temporal model with the adapters of ``preset``.

    ``overrides`` replace preset fields; a dict for ``prompts``/``fusion``/``head`` updates only the keys it names,
    ``None`` switches that adapter off. ``adapter_dtype``: see :class:`MultimodalAdapterModel` (bf16 backbones get
    fp32 adapters by default).
    """
    from .presets import get_preset

    if not isinstance(audio_vit, nn.Module) or not isinstance(video_vit, nn.Module):
        raise UnsupportedBackboneError("wrap_encoders expects two torch.nn.Module backbones")
    anatomies = (resolve_anatomy(audio_vit), resolve_anatomy(video_vit))
    config = preset if isinstance(preset, MultimodalConfig) else get_preset(preset, *anatomies)
    if num_classes is not None:
        overrides["num_classes"] = num_classes
    config = config.with_overrides(**overrides) if overrides else config
    logger.info("wrapping %s + %s with preset %s", type(audio_vit).__name__, type(video_vit).__name__, config.preset)
    return MultimodalAdapterModel(audio_vit, video_vit, config, adapter_dtype=adapter_dtype)
