"""The sizes of an official MMA-DFER model, read from its state dict (or from an mmadapt model) — never assumed.

Legend: D backbone width, G grid tokens, P prompt tokens, E temporal width, S frame side, F/M audio frames/mel bins.

Official pos tables are ``(1, 1 + G + P, D)``: CLS row, grid rows, then one row per prompt token. The frame side
follows from the vision table (``G = (S / patch)^2``); the audio frame count from the audio table and the mel
bins (``G = (F / patch) * (M / patch)``), since a token count alone cannot tell time rows from mel columns.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from ....adapters import kind_of
from ....errors import CheckpointError, ConfigError

if TYPE_CHECKING:
    from ....model import MultimodalAdapterModel

__all__ = ["HEAD_WIDTH", "STREAM_LAYOUT", "EncoderShape", "OfficialArchitecture", "StreamLayout", "head_rows_from"]

HEAD_WIDTH = 64
"""Attention head width assumed when the number of heads is not given (the ViT convention; not stored in weights)."""
OFFICIAL_DROP_PATH = 0.1
"""Stochastic depth rate of both official backbones (last block)."""
OFFICIAL_MEL_BINS = 128
"""Mel bins of the official audio input (the Kaldi fbank of the data pipeline)."""
OFFICIAL_BACKBONE_EPS = 1e-6
OFFICIAL_ADAPTER_EPS = 1e-5
"""LayerNorm epsilons: timm ViT norms, and the fusion / temporal-transformer norms (torch default)."""


@dataclass(frozen=True)
class StreamLayout:
    """How one mmadapt stream is called in the official code, and which builder rebuilds its backbone."""

    official: str
    builder: str
    default_head_rows: int | None
    """Rows of the unused official head when no checkpoint value is known (``None``: the number of heads, as the
    official code passes ``num_heads`` where ``num_classes`` belongs)."""


STREAM_LAYOUT: dict[str, StreamLayout] = {
    "video": StreamLayout("image_encoder", "maeface_vit_base", None),
    "audio": StreamLayout("audio_model", "audiomae_vit_base", 1000),
}
"""mmadapt stream -> official encoder prefix and backbone builder (the audio head is timm's default 1000-way)."""

_MARKERS = (
    "image_encoder.pos_embed",
    "image_encoder.patch_embed.proj.weight",
    "image_encoder.learnable_prompts_init",
    "image_encoder.temporal_pre.0.weight",
    "audio_model.pos_embed",
    "audio_model.patch_embed.proj.weight",
    "audio_model.learnable_prompts_init",
    "temporal_net.pos_embedding",
    "temporal_net.temporal_transformer.layers.0.0.fn.fn.to_q.weight",
    "temporal_net.temporal_transformer.layers.0.1.fn.fn.net.0.weight",
    "vision_proj.weight",
    "our_classifier.weight",
)
"""Keys every official MMA-DFER ``GenerateModel`` state dict has; used to recognise one."""


@dataclass(frozen=True)
class EncoderShape:
    """One backbone of the official model, as far as its weights tell."""

    stream: str
    width: int
    depth: int
    num_heads: int
    mlp_hidden: int
    patch_size: int
    in_chans: int
    qkv_bias: bool
    input_size: tuple[int, int]
    """(S, S) frames, or (F, M) spectrogram."""
    num_prompts: int
    progressive: tuple[int, ...]
    """Rows of each progressive prompt group."""
    head_rows: int
    drop_path_rate: float = OFFICIAL_DROP_PATH

    @property
    def grid(self) -> tuple[int, int]:
        return self.input_size[0] // self.patch_size, self.input_size[1] // self.patch_size

    @property
    def grid_tokens(self) -> int:
        rows, cols = self.grid
        return rows * cols

    @property
    def official(self) -> str:
        return STREAM_LAYOUT[self.stream].official

    @property
    def builder(self) -> str:
        return STREAM_LAYOUT[self.stream].builder

    def builder_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of the registered builder that rebuild this backbone (without weights)."""
        mlp_ratio = self.mlp_hidden / self.width
        if int(self.width * mlp_ratio) != self.mlp_hidden:
            raise ConfigError(f"{self.official}: MLP width {self.mlp_hidden} is not a ratio of width {self.width}")
        common = {
            "patch_size": self.patch_size,
            "embed_dim": self.width,
            "depth": self.depth,
            "num_heads": self.num_heads,
            "mlp_ratio": mlp_ratio,
            "qkv_bias": self.qkv_bias,
            "drop_path_rate": self.drop_path_rate,
        }
        if self.stream == "video":
            return {"img_size": self.input_size[0], **common}
        return {"frames": self.input_size[0], "mel_bins": self.input_size[1], **common}


@dataclass(frozen=True)
class OfficialArchitecture:
    """Both encoders, the fusion width and the temporal head of one official model."""

    video: EncoderShape
    audio: EncoderShape
    fusion_dim: int
    head_dim: int
    head_depth: int
    head_heads: int
    head_dim_head: int
    head_mlp: int
    max_frames: int
    num_classes: int

    @property
    def img_size(self) -> int:
        return self.video.input_size[0]

    @property
    def depth(self) -> int:
        return self.video.depth

    @property
    def num_prompts(self) -> int:
        return self.video.num_prompts

    @property
    def progressive_every(self) -> int:
        """Blocks between progressive updates: group k is added after block k * every (official: 0 and 6)."""
        return self.depth // len(self.video.progressive) if self.video.progressive else 0

    def encoder(self, stream: str) -> EncoderShape:
        return self.video if stream == "video" else self.audio

    def prompt_schedule(self) -> dict[int, int]:
        every = self.progressive_every
        return {k * every: n for k, n in enumerate(self.video.progressive)}

    def wrap_overrides(self) -> dict[str, Any]:
        """``wrap_encoders`` overrides of the ``mma-dfer`` preset that reproduce this architecture."""
        from ....adapters import PromptConfig

        prompts: dict[str, Any] = {
            "num_prompts": self.num_prompts,
            "progressive": bool(self.video.progressive),
            "num_updates": len(self.video.progressive),
        }
        if self.video.progressive:
            default = PromptConfig(**prompts).resolve_schedule(self.depth)
            if default != self.prompt_schedule():
                prompts["schedule"] = self.prompt_schedule()
        return {
            "num_classes": self.num_classes,
            "prompts": prompts,
            "fusion": {"latent_dim": self.fusion_dim, "layer_map": None, "norm_eps": OFFICIAL_ADAPTER_EPS},
            "head": {
                "dim": self.head_dim,
                "depth": self.head_depth,
                "heads": self.head_heads,
                "dim_head": self.head_dim_head,
                "mlp_dim": self.head_mlp,
                "max_frames": self.max_frames,
                "norm_eps": OFFICIAL_ADAPTER_EPS,
                "use_transformer": True,
            },
            "tune_pos_embed": True,
        }

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)

    # ---- reading it from weights --------------------------------------------------------------------------
    @classmethod
    def from_state_dict(
        cls,
        sd: Mapping[str, torch.Tensor],
        *,
        num_heads: int | None = None,
        temporal_heads: int | None = None,
        mel_bins: int = OFFICIAL_MEL_BINS,
        where: str = "state dict",
        img_size: int | None = None,
        num_classes: int | None = None,
    ) -> OfficialArchitecture:
        """Infer every size from an official state dict (``module.`` already removed).

        ``img_size`` / ``num_classes``, when given, are checked first against what the checkpoint was trained with.
        """
        _check_is_official(sd, where)
        _check_trained_sizes(sd, img_size, num_classes, where)
        encoders = {s: _encoder_from_state(sd, s, num_heads, mel_bins, where) for s in STREAM_LAYOUT}
        video, audio = encoders["video"], encoders["audio"]
        problems = []
        if video.depth != audio.depth:
            problems.append(f"the encoders have {video.depth} and {audio.depth} blocks (fusion needs equal depths)")
        if video.width != audio.width:
            problems.append(f"the encoders are {video.width} and {audio.width} wide (the head adds their CLS tokens)")
        if (video.num_prompts, video.progressive) != (audio.num_prompts, audio.progressive):
            problems.append(
                f"prompt layouts differ: vision {video.num_prompts} prompts, groups {video.progressive}; "
                f"audio {audio.num_prompts}, {audio.progressive}"
            )
        _check_progressive(video, problems)
        if problems:
            raise CheckpointError(f"{where}: not a layout mmadapt can represent: " + "; ".join(problems))

        layer = "temporal_net.temporal_transformer.layers"
        inner = _get(sd, f"{layer}.0.0.fn.fn.to_q.weight", where).shape[0]
        heads = temporal_heads or _heads_for(inner, f"{layer}.0.0.fn.fn.to_q.weight", where)
        if inner % heads:
            raise CheckpointError(f"{where}: temporal attention width {inner} is not divisible by {heads} heads")
        return cls(
            video=video,
            audio=audio,
            fusion_dim=_get(sd, "image_encoder.temporal_pre.0.weight", where).shape[0],
            head_dim=_get(sd, "vision_proj.weight", where).shape[0],
            head_depth=_count(sd, layer),
            head_heads=heads,
            head_dim_head=inner // heads,
            head_mlp=_get(sd, f"{layer}.0.1.fn.fn.net.0.weight", where).shape[0],
            max_frames=_get(sd, "temporal_net.pos_embedding", where).shape[1] - 1,
            num_classes=_get(sd, "our_classifier.weight", where).shape[0],
        )

    # ---- reading it from an mmadapt model -------------------------------------------------------------------
    @classmethod
    def from_model(
        cls, model: MultimodalAdapterModel, head_rows: Mapping[str, int] | None = None
    ) -> OfficialArchitecture:
        """The official architecture ``model`` corresponds to; ``ConfigError`` if it has no official equivalent."""
        c = model.config
        problems = []
        if set(model.streams) != set(STREAM_LAYOUT):
            problems.append(f"the streams are {list(model.streams)}, not the official {sorted(STREAM_LAYOUT)}")
        elif [s for s, info in model.streams.items() if info.per_frame] != ["video"]:
            problems.append("only the video stream may run per frame")
        if c.prompts is None or set(model.prompts) != set(STREAM_LAYOUT):
            problems.append("the model has no prompts")
        elif kind_of(c.prompts).name != "progressive":
            problems.append(f"the prompts are of kind {kind_of(c.prompts).name!r}, not 'progressive'")
        if c.fusion is None:
            problems.append("the model has no fusion bottleneck")
        elif kind_of(c.fusion).name != "mean-bottleneck":
            problems.append(f"the fusion is of kind {kind_of(c.fusion).name!r}, not 'mean-bottleneck'")
        if kind_of(c.head).name != "temporal-transformer":
            problems.append(f"the head is of kind {kind_of(c.head).name!r}, not 'temporal-transformer'")
        elif model.head.temporal is None:
            problems.append("the head has no temporal transformer")
        elif kind_of(c.head.joint).name != "add-project":
            problems.append(f"the joint adaptation is of kind {kind_of(c.head.joint).name!r}, not 'add-project'")
        if not c.tune_pos_embed:
            problems.append("positional tables are not tuned (tune_pos_embed=False)")
        if problems:
            raise ConfigError("this model has no official MMA-DFER equivalent: " + "; ".join(problems))
        encoders = {s: _encoder_from_model(model, s, (head_rows or {}).get(s)) for s in STREAM_LAYOUT}
        video, audio = encoders["video"], encoders["audio"]
        if video.depth != audio.depth or video.width != audio.width:
            problems.append(f"encoders differ (depth {video.depth}/{audio.depth}, width {video.width}/{audio.width})")
        if model.fused_layers != [dict.fromkeys(STREAM_LAYOUT, i) for i in range(video.depth)]:
            problems.append(f"fusion is not at every block pair: {model.fused_layers}")
        every = video.depth // max(len(video.progressive), 1)
        arch_schedule = {k * every: n for k, n in enumerate(video.progressive)}
        for s in STREAM_LAYOUT:
            schedule = model.prompts[s].schedule
            if schedule != arch_schedule:
                problems.append(
                    f"{s} progressive schedule {schedule} is not the official one "
                    f"{arch_schedule} (group k after block k * depth / groups)"
                )
        _check_progressive(video, problems)
        if c.fusion is not None and c.fusion.norm_eps != OFFICIAL_ADAPTER_EPS:
            problems.append(f"fusion norm_eps {c.fusion.norm_eps} != {OFFICIAL_ADAPTER_EPS}")
        if c.head.norm_eps != OFFICIAL_ADAPTER_EPS:
            problems.append(f"head norm_eps {c.head.norm_eps} != {OFFICIAL_ADAPTER_EPS}")
        if problems:
            raise ConfigError("this model has no official MMA-DFER equivalent: " + "; ".join(problems))
        h = c.head
        return cls(
            video=video,
            audio=audio,
            fusion_dim=c.fusion.latent_dim,
            head_dim=h.dim,
            head_depth=h.depth,
            head_heads=h.heads,
            head_dim_head=h.dim_head,
            head_mlp=h.mlp_dim,
            max_frames=h.max_frames,
            num_classes=c.num_classes,
        )


def head_rows_from(extras: Mapping[str, torch.Tensor]) -> dict[str, int]:
    """Rows of the unused official heads kept in ``extras`` (stream -> rows), for streams that have one."""
    rows = {}
    for stream, layout in STREAM_LAYOUT.items():
        head = extras.get(f"{layout.official}.head.weight")
        if head is not None:
            rows[stream] = int(head.shape[0])
    return rows


# ---- helpers ------------------------------------------------------------------------------------------------------
def _get(sd: Mapping[str, torch.Tensor], key: str, where: str) -> torch.Tensor:
    if key not in sd:
        raise CheckpointError(f"{where}: the official key {key!r} is missing")
    return sd[key]


def _count(sd: Mapping[str, torch.Tensor], prefix: str) -> int:
    """Number of consecutive indices i with keys ``{prefix}.{i}`` or ``{prefix}.{i}.*``."""
    present = set()
    head = prefix + "."
    for key in sd:
        if key.startswith(head):
            index = key[len(head) :].split(".", 1)[0]
            if index.isdigit():
                present.add(int(index))
    n = 0
    while n in present:
        n += 1
    return n


def _heads_for(width: int, key: str, where: str) -> int:
    if width % HEAD_WIDTH:
        raise CheckpointError(
            f"{where}: cannot infer the number of heads of {key} (width {width} is not a multiple of {HEAD_WIDTH}); "
            "pass it explicitly"
        )
    return width // HEAD_WIDTH


def _looks_like(sd: Mapping[str, torch.Tensor]) -> str:
    keys = list(sd)
    if any(k.startswith("blocks.0.") for k in keys) or "pos_embed" in sd:
        return " It looks like a plain ViT backbone state dict (keys such as 'blocks.0.attn.qkv.weight' at top level)."
    if any(k.startswith("decoder") for k in keys):
        return " It looks like an MAE pre-training checkpoint (decoder keys)."
    return ""


def _check_trained_sizes(
    sd: Mapping[str, torch.Tensor], img_size: int | None, num_classes: int | None, where: str
) -> None:
    problems = []
    if img_size is not None:
        pos, prompts = sd["image_encoder.pos_embed"], sd["image_encoder.learnable_prompts_init"]
        patch = sd["image_encoder.patch_embed.proj.weight"].shape[-1]
        grid = pos.shape[1] - 1 - prompts.shape[0] if pos.ndim == 3 else -1
        side = math.isqrt(max(grid, 0))
        trained = side * patch if grid > 0 and side * side == grid else None
        if trained != img_size:
            rows = f"image_encoder.pos_embed has {pos.shape[1] if pos.ndim == 3 else tuple(pos.shape)} rows"
            problems.append(
                f"it was trained at img_size={trained} ({rows} = 1 + {side}x{side} grid + {prompts.shape[0]} prompts), "
                f"not {img_size}"
                if trained
                else f"{rows}, which fits no square frame size (asked for {img_size})"
            )
    if num_classes is not None:
        trained_classes = sd["our_classifier.weight"].shape[0]
        if trained_classes != num_classes:
            problems.append(
                f"its classifier has {trained_classes} classes (our_classifier.weight has {trained_classes} rows), "
                f"not {num_classes}"
            )
    if problems:
        raise CheckpointError(f"{where}: " + "; ".join(problems))


def _check_is_official(sd: Mapping[str, torch.Tensor], where: str) -> None:
    missing = [k for k in _MARKERS if k not in sd]
    if missing:
        raise CheckpointError(
            f"{where} is not an official MMA-DFER GenerateModel checkpoint: missing {missing[:6]}"
            f"{' ...' if len(missing) > 6 else ''}; its first keys are {list(sd)[:6]}.{_looks_like(sd)}"
        )


def _encoder_from_state(
    sd: Mapping[str, torch.Tensor], stream: str, num_heads: int | None, mel_bins: int, where: str
) -> EncoderShape:
    layout = STREAM_LAYOUT[stream]
    p = layout.official
    proj = _get(sd, f"{p}.patch_embed.proj.weight", where)
    if proj.ndim != 4 or proj.shape[-1] != proj.shape[-2]:
        raise CheckpointError(f"{where}: {p}.patch_embed.proj.weight {tuple(proj.shape)} is not a square conv kernel")
    width, in_chans, patch = int(proj.shape[0]), int(proj.shape[1]), int(proj.shape[-1])
    depth = _count(sd, f"{p}.blocks")
    if depth == 0:
        raise CheckpointError(f"{where}: no {p}.blocks.* keys")
    heads = num_heads or _heads_for(width, f"{p}.blocks.0.attn.qkv.weight", where)
    if width % heads:
        raise CheckpointError(f"{where}: {p} width {width} is not divisible by {heads} heads")
    num_prompts = int(_get(sd, f"{p}.learnable_prompts_init", where).shape[0])
    progressive = tuple(
        int(sd[f"{p}.learnable_prompts_progr.{k}"].shape[0]) for k in range(_count(sd, f"{p}.learnable_prompts_progr"))
    )
    pos = _get(sd, f"{p}.pos_embed", where)
    if pos.ndim != 3 or pos.shape[0] != 1 or pos.shape[2] != width:
        raise CheckpointError(f"{where}: {p}.pos_embed has shape {tuple(pos.shape)}, expected (1, tokens, {width})")
    grid_tokens = pos.shape[1] - 1 - num_prompts  # CLS row and prompt rows removed
    if stream == "video":
        side = math.isqrt(max(grid_tokens, 0))
        if grid_tokens <= 0 or side * side != grid_tokens:
            raise CheckpointError(
                f"{where}: {p}.pos_embed has {pos.shape[1]} rows: not 1 + a square grid + {num_prompts} prompts"
            )
        input_size = (side * patch, side * patch)
    else:
        cols = mel_bins // patch
        if mel_bins % patch or grid_tokens <= 0 or grid_tokens % cols:
            raise CheckpointError(
                f"{where}: {p}.pos_embed has {pos.shape[1]} rows, which is not 1 + a (time x {cols}) grid for "
                f"{mel_bins} mel bins + {num_prompts} prompts"
            )
        input_size = (grid_tokens // cols * patch, mel_bins)
    head = sd.get(f"{p}.head.weight")
    head_rows = int(head.shape[0]) if head is not None else (layout.default_head_rows or heads)
    return EncoderShape(
        stream=stream,
        width=width,
        depth=depth,
        num_heads=heads,
        mlp_hidden=int(_get(sd, f"{p}.blocks.0.mlp.fc1.weight", where).shape[0]),
        patch_size=patch,
        in_chans=in_chans,
        qkv_bias=f"{p}.blocks.0.attn.qkv.bias" in sd,
        input_size=input_size,
        num_prompts=num_prompts,
        progressive=progressive,
        head_rows=head_rows,
    )


def _encoder_from_model(model: MultimodalAdapterModel, stream: str, head_rows: int | None) -> EncoderShape:
    from timm.models.vision_transformer import VisionTransformer

    vit = model.backbones[stream]
    layout = STREAM_LAYOUT[stream]
    if not isinstance(vit, VisionTransformer) or vit.num_prefix_tokens != 1 or getattr(vit, "no_embed_class", False):
        raise ConfigError(
            f"the {stream} backbone ({type(vit).__name__}) is not a CLS-token timm VisionTransformer as in the "
            "official model"
        )
    eps = vit.norm.eps if isinstance(vit.norm, torch.nn.LayerNorm) else None
    if eps != OFFICIAL_BACKBONE_EPS:
        raise ConfigError(f"the {stream} backbone's LayerNorm eps is {eps}, not the official {OFFICIAL_BACKBONE_EPS}")
    proj = vit.patch_embed.proj
    block = vit.blocks[0]
    prompts = model.prompts[stream]
    drop = getattr(vit.blocks[-1].drop_path1, "drop_prob", 0.0)
    heads = int(block.attn.num_heads)
    return EncoderShape(
        stream=stream,
        width=int(vit.embed_dim),
        depth=len(vit.blocks),
        num_heads=heads,
        mlp_hidden=int(block.mlp.fc1.out_features),
        patch_size=int(proj.kernel_size[0]),
        in_chans=int(proj.in_channels),
        qkv_bias=block.attn.qkv.bias is not None,
        input_size=tuple(int(s) for s in vit.patch_embed.img_size),  # type: ignore[arg-type]
        num_prompts=prompts.num_prompts,
        progressive=tuple(prompts.schedule.values()),
        head_rows=head_rows or layout.default_head_rows or heads,
        drop_path_rate=float(drop),
    )


def _check_progressive(video: EncoderShape, problems: list[str]) -> None:
    groups = video.progressive
    if not groups:
        return
    if len(set(groups)) != 1:
        problems.append(f"progressive prompt groups have unequal sizes {groups} (the official offsets are k * size)")
    if sum(groups) > video.num_prompts:
        problems.append(f"progressive groups {groups} cover more than the {video.num_prompts} prompt tokens")
    if video.depth % len(groups):
        problems.append(f"{len(groups)} progressive groups do not divide {video.depth} blocks evenly")
