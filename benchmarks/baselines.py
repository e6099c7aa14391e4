"""The two baselines every model figure is compared with, both on the wrapped model's own tensors.

Legend: n clips, T frames, N tokens (CLS + patches + P prompts), D width, E head width.

* ``BackboneFloor`` -- the floor: both frozen encoders alone on the same token counts (patch embed, CLS +
  patches + P prompt-sized tokens + positions, every block, final norm, CLS). Its prompt stand-ins and positions
  are its own trainable leaves, so a backward pass reaches the inputs of both block stacks and no further.
* ``NaiveMMADFER`` -- the same model written the way research code usually is: one Python loop over block
  indices, ``repeat_interleave`` to give each frame its clip's audio mean, clone + in-place slice adds for the
  progressive prompts, an explicit softmax(QK^T)V in the temporal head. No hooks, no plan, no broadcast views.

Both read the timm ``VisionTransformer`` layout (``patch_embed``, ``cls_token``, ``blocks``, ``norm``) of the
benchmark pairs (``benchmarks/specs.py``).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from mmadapt._dtype import to_weight_dtype


def _check_timm_pair(model) -> None:
    for name in ("audio", "video"):
        vit = model.backbones[name]
        missing = [a for a in ("patch_embed", "cls_token", "blocks", "norm") if getattr(vit, a, None) is None]
        if missing:
            raise TypeError(f"baselines need timm ViTs with a CLS token; {name} ({type(vit).__name__}) lacks {missing}")


class _Runner(nn.Module):
    """Runs one block, recomputed in backward when checkpointing is on (as the wrapped model does)."""

    def __init__(self, checkpointing: bool) -> None:
        super().__init__()
        self.checkpointing = checkpointing

    def block(self, blk: nn.Module, x: torch.Tensor) -> torch.Tensor:
        if self.checkpointing and self.training and torch.is_grad_enabled():
            return checkpoint(blk, x, use_reentrant=False)
        return blk(x)


class BackboneFloor(_Runner):
    """``forward(video (n, T, C, H, W), audio (n, C, F, M)) -> (audio CLS (n, Da), video CLS (n·T, Dv))``."""

    def __init__(self, model, checkpointing: bool = False) -> None:
        super().__init__(checkpointing)
        _check_timm_pair(model)
        self.audio = model.backbones["audio"]  # shared with the wrapped model, frozen
        self.video = model.backbones["video"]
        num_prompts = model.config.prompts.num_prompts if model.config.prompts is not None else 0
        self.audio_pos = nn.Parameter(model.pos_embeds["audio"]["pos_embed"].detach().clone())  # (1, 1 + grid, D)
        self.video_pos = nn.Parameter(model.pos_embeds["video"]["pos_embed"].detach().clone())
        ref = self.audio_pos
        self.audio_extra = nn.Parameter(ref.new_zeros(1, num_prompts, ref.shape[-1]))  # (1, P, Da)
        self.video_extra = nn.Parameter(self.video_pos.new_zeros(1, num_prompts, self.video_pos.shape[-1]))

    def _encode(self, vit: nn.Module, x: torch.Tensor, pos: torch.Tensor, extra: torch.Tensor) -> torch.Tensor:
        dtype = vit.cls_token.dtype  # the stream runs in the backbone's dtype, as in the wrapped model
        x = vit.patch_embed(to_weight_dtype(x, dtype))  # (B, grid, D)
        b = x.shape[0]
        x = torch.cat([vit.cls_token.expand(b, -1, -1) + pos[:, :1], x + pos[:, 1:], extra.expand(b, -1, -1)], 1)
        x = x.to(dtype)
        for blk in vit.blocks:
            x = self.block(blk, x)
        return vit.norm(x)[:, 0]

    def forward(self, video: torch.Tensor, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a = self._encode(self.audio, audio, self.audio_pos, self.audio_extra)
        v = self._encode(self.video, video.flatten(0, 1), self.video_pos, self.video_extra)
        return a, v

    def trainable(self) -> list[nn.Parameter]:
        return [self.audio_pos, self.video_pos, self.audio_extra, self.video_extra]


class NaiveMMADFER(_Runner):
    """``forward(video, audio) -> logits``; equal to the wrapped ``mma-dfer`` model's logits."""

    def __init__(self, model, checkpointing: bool = False) -> None:
        super().__init__(checkpointing)
        _check_timm_pair(model)
        depth = len(model.backbones["video"].blocks)
        if len(model.backbones["audio"].blocks) != depth or model.fused_layers != [
            {"audio": i, "video": i} for i in range(depth)
        ]:
            raise ValueError("the naive loop fuses block i with block i: it needs two encoders of equal depth")
        if "audio" not in model.prompts or model.head.temporal is None:
            raise ValueError(
                "the naive loop is the full mma-dfer model: prompts and the temporal transformer are needed"
            )
        self.model = model  # every tensor is the wrapped model's own

    def _embed(self, vit: nn.Module, x: torch.Tensor, prompts, pos: torch.Tensor) -> torch.Tensor:
        x = vit.patch_embed(x)  # (B, grid, D)
        b = x.shape[0]
        x = torch.cat([vit.cls_token.expand(b, -1, -1), x, prompts.prompts.expand(b, -1, -1)], dim=1)
        return x + torch.cat([pos, prompts.prompt_pos.unsqueeze(0)], dim=1)  # (B, N, D)

    @staticmethod
    def _progressive(x: torch.Tensor, prompts, block: int) -> torch.Tensor:
        schedule = list(prompts.schedule.items())
        blocks = [b for b, _ in schedule]
        if block not in blocks:
            return x
        k = blocks.index(block)
        start = x.shape[1] - prompts.num_prompts + sum(count for _, count in schedule[:k])
        x = x.clone()
        x[:, start : start + schedule[k][1]] += prompts.progressive[k]
        return x

    def forward(self, video: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        m = self.model
        A, V = m.backbones["audio"], m.backbones["video"]
        n, t = video.shape[:2]
        a = self._embed(A, audio, m.prompts["audio"], m.pos_embeds["audio"]["pos_embed"])  # (n, Na, Da)
        v = self._embed(V, video.flatten(0, 1), m.prompts["video"], m.pos_embeds["video"]["pos_embed"])  # (n·T, Nv, Dv)
        for i in range(len(V.blocks)):
            a = self.block(A.blocks[i], a)
            v = self.block(V.blocks[i], v)
            f = m.fusion[i]
            v_lo = f.down["video"](v)
            a_lo = f.down["audio"](a)
            v_in = v_lo + a_lo.mean(1, keepdim=True).repeat_interleave(t, dim=0)  # materialised (n·T, 1, d)
            a_in = a_lo + v_lo.view(n, t, v_lo.shape[1], -1).mean(1).mean(1, keepdim=True)
            v = v + torch.tanh(f.gate["video"]) * f.up["video"](v_in)
            a = a + torch.tanh(f.gate["audio"]) * f.up["audio"](a_in)
            v = self._progressive(v, m.prompts["video"], i)
            a = self._progressive(a, m.prompts["audio"], i)
        v = V.norm(v)[:, 0]  # (n·T, Dv) CLS
        a = A.norm(a)[:, 0]  # (n, Da)
        return self._head(v.view(n, t, -1), a)

    def _head(self, v: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        head = self.model.head
        a = head.joint.proj_in["audio"](a) if "audio" in head.joint.proj_in else a  # to the video width
        x = head.joint.proj(v + a[:, None, :])  # (n, T, E)
        tt = head.temporal
        n, t = x.shape[:2]
        x = torch.cat([tt.cls_token.expand(n, -1, -1), x], dim=1) + tt.pos_embedding[:, : t + 1]
        for attn, ff in tt.layers:
            h = attn.norm(x)
            q = attn.to_q(h)
            k, val = attn.to_kv(h).chunk(2, dim=-1)
            q, k, val = (z.view(n, t + 1, attn.heads, -1).transpose(1, 2) for z in (q, k, val))
            weights = (q @ k.transpose(-1, -2) * attn.scale).softmax(dim=-1)
            x = x + attn.to_out((weights @ val).transpose(1, 2).reshape(n, t + 1, -1))
            lin1, _, _, lin2, _ = ff.net
            u = lin1(ff.norm(x))
            u = 0.5 * u * (1 + torch.tanh(math.sqrt(2 / math.pi) * (u + 0.044715 * u**3)))
            x = x + lin2(u)
        return head.classifier(x[:, 0])


def floor_loss(outputs: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """A scalar that touches both CLS outputs, so backward runs through both block stacks."""
    a, v = outputs
    return a.float().square().mean() + v.float().square().mean()


def cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits.float(), labels)
