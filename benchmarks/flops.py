"""Analytic FLOPs of a wrapped model per clip: the numerator of MFU.

Legend: n clips, T frames per clip, N tokens per sequence (prefix + patches + P prompts), D encoder width,
H MLP hidden width, d fusion latent width, E temporal-head width, I head attention width (heads * dim_head),
C classes. One multiply-accumulate (MAC) = 2 FLOPs; only matrix products are counted (LayerNorm, softmax,
GELU, residual adds, biases and means are left out, as ``torch.utils.flop_counter`` does).

Forward, per sequence of N tokens through one ViT block (pre-norm, fused qkv):

    qkv projection      N * D * 3D
    attention scores    N * N * D           (Q K^T over all heads: heads * N * N * D/heads)
    weighted sum        N * N * D           (softmax(QK^T) V)
    output projection   N * D * D
    MLP                 N * D * H + N * H * D
    block MACs          = N * (4D^2 + 2DH) + 2 N^2 D     (= 12 N D^2 + 2 N^2 D when H = 4D)

Patch embedding: patches * (C_in * p_h * p_w) * D per sequence (a strided convolution = one GEMM).

A clip has one audio sequence (N_a tokens) and T video sequences (N_v tokens each); every block of both
encoders runs on them. Fusion, per fused pair: down (D -> d) and up (d -> D) projections on every token of both
streams: (N_a D_a + T N_v D_v) * 2d. Temporal head: joint projection T * D_v * E (+ D_a * D_v when widths
differ), per layer linear maps on T + 1 tokens (q: E*I, kv: E*2I, out: I*E, MLP: 2*E*mlp) plus attention
2 (T+1)^2 I, classifier E * C.

Training (frozen backbones, trainable adapters), per clip:
    frozen linear maps  x2   forward + gradient w.r.t. their input only (no weight gradient)
    attention products  x3   forward + gradients w.r.t. both operands of both products
    patch embedding     x1   its input is data and its weights are frozen: no backward at all
    adapter linear maps x3   forward + input gradient + weight gradient
Recomputation (activation checkpointing, flash-attention backward) is not counted: MFU counts useful work.

For the ``mma-dfer`` preset on two ViT-B/16 (D = 768, H = 3072, 12 blocks), 16 frames at 160 px
(N_v = 1 + 100 + 6 = 107) and a 512 x 128 spectrogram (N_a = 1 + 256 + 6 = 263), per clip forward:
video blocks 297.569 GFLOP (linear 290.816 + attention 6.753), audio blocks 47.226 (44.676 + 2.550) -- the two
encoders' blocks alone are 344.8 GFLOP, the issue's "~345" -- plus patch embeds 1.988, fusion 9.319 and head
0.085: 356.186 GFLOP for the whole model. Training: 700.880 for the frozen encoders (the floor) + 3 x 9.404 for the
adapters = 729.091 GFLOP per clip. ``python benchmarks/flops.py`` prints the table for 112/160/224 px.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._bootstrap import ensure_mmadapt

ensure_mmadapt()

from torch import nn  # noqa: E402

GIGA = 1e9


# ---- closed-form pieces (the formulas of the module docstring) --------------------------------------------------
def vit_block_flops(tokens: int, width: int, mlp_hidden: int) -> tuple[int, int]:
    """(linear FLOPs, attention FLOPs) of one pre-norm ViT block on one sequence of ``tokens`` tokens."""
    linear_macs = tokens * (4 * width * width + 2 * width * mlp_hidden)  # qkv 3D^2 + proj D^2 + MLP 2DH
    attention_macs = 2 * tokens * tokens * width  # scores QK^T + weighted sum PV
    return 2 * linear_macs, 2 * attention_macs


def patch_embed_flops(num_patches: int, in_chans: int, patch: tuple[int, int], width: int) -> int:
    """A non-overlapping patch convolution on one sequence: one GEMM of (patches, C p_h p_w) x (C p_h p_w, D)."""
    return 2 * num_patches * in_chans * patch[0] * patch[1] * width


def linear_macs_per_token(module: nn.Module) -> int:
    """Sum of in * out over every ``nn.Linear`` inside ``module``: its MACs per token when all act per token."""
    return sum(m.in_features * m.out_features for m in module.modules() if isinstance(m, nn.Linear))


# ---- the breakdown of one wrapped model --------------------------------------------------------------------------
@dataclass(frozen=True)
class StreamShape:
    """What one encoder runs per clip."""

    width: int
    depth: int
    tokens: int  # N: prefix + patches + prompts, per sequence
    sequences: int  # per clip: 1 for audio, T for video
    patches: int
    in_chans: int
    patch: tuple[int, int]
    linear_macs_per_token: int  # per block (summed over the block's Linear layers)


@dataclass(frozen=True)
class FlopBreakdown:
    """FLOPs per clip of one forward pass, split by where they are spent."""

    audio_linear: int
    audio_attention: int
    video_linear: int
    video_attention: int
    patch_embed: int
    fusion: int
    head_linear: int
    head_attention: int

    @property
    def backbone_forward(self) -> int:
        """The floor: both encoders alone (blocks + patch embeds) on the same token counts."""
        return self.audio_linear + self.audio_attention + self.video_linear + self.video_attention + self.patch_embed

    @property
    def adapters_forward(self) -> int:
        return self.fusion + self.head_linear + self.head_attention

    @property
    def forward(self) -> int:
        return self.backbone_forward + self.adapters_forward

    @property
    def backbone_train(self) -> int:
        """Floor forward + backward to the inputs of the block stacks."""
        frozen_linear = self.audio_linear + self.video_linear
        attention = self.audio_attention + self.video_attention
        return 2 * frozen_linear + 3 * attention + self.patch_embed

    @property
    def train(self) -> int:
        return self.backbone_train + 3 * (self.fusion + self.head_linear + self.head_attention)

    def to_dict(self) -> dict[str, float]:
        d: dict[str, float] = {k: v / GIGA for k, v in asdict(self).items()}
        for name in ("backbone_forward", "adapters_forward", "forward", "backbone_train", "train"):
            d[name] = getattr(self, name) / GIGA
        return {f"{k}_gflop": v for k, v in d.items()}


def stream_shapes(model, frames: int) -> dict[str, StreamShape]:
    """Read widths, depths, token counts and block sizes from a wrapped model's public surface."""
    from mmadapt import resolve_anatomy

    identity = model.backbone_identity()
    prompts = model.config.prompts.num_prompts if model.config.prompts is not None else 0
    shapes = {}
    for stream, backbone in (("audio", model.backbones["audio"]), ("video", model.backbones["video"])):
        ident = identity[stream]
        (h, w), (ph, pw) = ident["input_size"], ident["patch_size"]
        patches = (h // ph) * (w // pw)
        blocks = resolve_anatomy(backbone).blocks
        per_block = {linear_macs_per_token(b) for b in blocks}
        if len(per_block) != 1:
            raise ValueError(f"{stream} encoder: blocks of different sizes ({sorted(per_block)}) are not supported")
        shapes[stream] = StreamShape(
            width=ident["width"],
            depth=ident["depth"],
            tokens=ident["num_prefix_tokens"] + patches + prompts,
            sequences=1 if stream == "audio" else frames,
            patches=patches,
            in_chans=ident["in_chans"],
            patch=(ph, pw),
            linear_macs_per_token=per_block.pop(),
        )
    return shapes


def model_flops(model, frames: int) -> FlopBreakdown:
    """The forward FLOPs per clip of ``model`` (a ``MultimodalAdapterModel``) on clips of ``frames`` frames."""
    s = stream_shapes(model, frames)
    enc: dict[str, tuple[int, int]] = {}
    patch = 0
    for name, sh in s.items():
        linear = 2 * sh.linear_macs_per_token * sh.tokens * sh.sequences * sh.depth
        attention = 2 * 2 * sh.tokens * sh.tokens * sh.width * sh.sequences * sh.depth
        enc[name] = (linear, attention)
        patch += patch_embed_flops(sh.patches, sh.in_chans, sh.patch, sh.width) * sh.sequences
    a, v = s["audio"], s["video"]
    fusion = 0
    for f in model.fusion:
        audio_macs = linear_macs_per_token(f.down["audio"]) + linear_macs_per_token(f.up["audio"])
        video_macs = linear_macs_per_token(f.down["video"]) + linear_macs_per_token(f.up["video"])
        fusion += 2 * (audio_macs * a.tokens + video_macs * v.tokens * v.sequences)
    head = model.head
    head_linear = 2 * (
        linear_macs_per_token(head.joint.proj) * frames
        + linear_macs_per_token(head.joint.proj_in)  # once per clip (no Linear when widths match)
        + linear_macs_per_token(head.classifier)
    )
    head_attention = 0
    if head.temporal is not None:
        seq = frames + 1  # CLS + frames
        head_linear += 2 * linear_macs_per_token(head.temporal.layers) * seq
        inner = head.config.heads * head.config.dim_head
        head_attention = 2 * 2 * seq * seq * inner * head.config.depth
    return FlopBreakdown(
        audio_linear=enc["audio"][0],
        audio_attention=enc["audio"][1],
        video_linear=enc["video"][0],
        video_attention=enc["video"][1],
        patch_embed=patch,
        fusion=fusion,
        head_linear=head_linear,
        head_attention=head_attention,
    )


def table(backbone: str = "vitb", sizes: tuple[int, ...] = (112, 160, 224), frames: int = 16) -> dict[str, dict]:
    """``{size: FlopBreakdown.to_dict()}`` for the preset on a backbone spec (built on the meta device: no memory)."""
    from benchmarks.specs import SPECS, build_model

    return {
        str(size): model_flops(build_model(SPECS[backbone], size, frames, device="meta"), frames).to_dict()
        for size in sizes
    }


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    """Print (and return) the decomposition for the preset on a backbone spec at several frame sizes."""
    from benchmarks.specs import SPECS

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backbone", default="vitb", choices=sorted(SPECS), help="backbone pair spec")
    p.add_argument("--sizes", type=int, nargs="+", default=[112, 160, 224], help="video frame sizes (px)")
    p.add_argument("--frames", type=int, default=16, help="frames per clip")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = p.parse_args(argv)
    out = table(args.backbone, tuple(args.sizes), args.frames)
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        keys = list(next(iter(out.values())))
        print(f"{'GFLOP per clip':<26}" + "".join(f"{s + ' px':>12}" for s in out))
        for k in keys:
            print(f"{k.removesuffix('_gflop'):<26}" + "".join(f"{out[s][k]:>12.3f}" for s in out))
    return out


if __name__ == "__main__":
    main()
