"""Adding a backbone family: a ViT written here (not timm, not Hugging Face) gets an anatomy subclass and one
``register_anatomy`` line, and then takes every adapter like the built-in families. ``docs/extending.md`` points
here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
import torch
from torch import nn

import mmadapt
from mmadapt.anatomy.base import PosSlot

from ..core.backbones import timm_vit
from ..core.helpers import SMALL_HEAD, clone, hook_count, snapshot


# ---- a ViT of the user's own -------------------------------------------------------------------------------------
class TinyViT(nn.Module):
    """CLS token + learned positions, pre-norm torch encoder layers, a final LayerNorm; pools the CLS token."""

    def __init__(self, in_chans: int = 3, img_size: int = 32, patch: int = 8, dim: int = 24, depth: int = 3) -> None:
        super().__init__()
        self.img_size = img_size
        self.patch = nn.Conv2d(in_chans, dim, patch, stride=patch)
        self.cls = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
        self.pos = nn.Parameter(torch.randn(1, 1 + (img_size // patch) ** 2, dim) * 0.02)
        self.embedded = nn.Identity()  # a named module whose output feeds block 0: where prompts are appended
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(dim, 2, 2 * dim, dropout=0.0, batch_first=True, norm_first=True)
            for _ in range(depth)
        )
        self.norm = nn.LayerNorm(dim)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch(x).flatten(2).transpose(1, 2)  # (B, N, D)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1) + self.pos
        return self.embedded(x)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.embed(x)
        for layer in self.layers:
            x = layer(x)
        return self.norm(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_features(x)[:, 0]


# ---- its anatomy: where the family keeps each stage -----------------------------------------------------------------
class TinyViTAnatomy(mmadapt.Anatomy):
    family = "tiny-vit"
    resizable = False  # no position resampling written for this family: it runs at its native size

    @property
    def blocks(self) -> Sequence[nn.Module]:
        return list(self.model.layers)

    @property
    def width(self) -> int:
        return self.model.norm.normalized_shape[0]

    @property
    def num_prefix_tokens(self) -> int:
        return 1

    @property
    def in_chans(self) -> int:
        return self.model.patch.in_channels

    def _read_native_input_size(self) -> tuple[int, int]:
        return (self.model.img_size, self.model.img_size)

    @property
    def patch_size(self) -> tuple[int, int]:
        return tuple(self.model.patch.kernel_size)

    @property
    def embed_output(self) -> nn.Module:
        return self.model.embedded

    @property
    def token_output(self) -> nn.Module:
        return self.model.norm

    def pos_slots(self) -> dict[str, PosSlot]:
        return {"pos": PosSlot(self.model, "pos", slice(1, None))}

    def embed(self, x: torch.Tensor) -> tuple[torch.Tensor, Any]:
        return self.model.embed(x), None

    def block(self, i: int, x: torch.Tensor, ctx: Any) -> torch.Tensor:
        return self.model.layers[i](x)

    def final_norm(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.norm(x)

    def pool(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, 0]

    def native_tokens(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.forward_features(x)


mmadapt.register_anatomy(TinyViT, TinyViTAnatomy)


# ---- the specification ----------------------------------------------------------------------------------------------
def _pair(seed: int = 0):
    torch.manual_seed(seed)
    audio, a_shape = timm_vit(1, size=(64, 32))
    video = TinyViT().eval()
    g = torch.Generator().manual_seed(seed)
    vid = torch.randn(2, 3, 3, 32, 32, generator=g)
    aud = torch.randn(2, *a_shape, generator=g)
    return audio, video, vid, aud


def _wrap(audio, video, **overrides):
    return mmadapt.wrap_encoders(audio, video, preset="mma-dfer", num_classes=4, head=SMALL_HEAD, **overrides).eval()


def test_the_family_is_registered_and_resolved():
    assert mmadapt.list_anatomies()[f"{TinyViT.__module__}.{TinyViT.__qualname__}"] == "tiny-vit"
    anatomy = mmadapt.resolve_anatomy(TinyViT(depth=5))
    assert (anatomy.width, anatomy.depth, anatomy.num_tokens()) == (24, 5, 17)


def test_zero_gates_without_prompts_equal_the_native_forward():
    audio, video, vid, aud = _pair()
    with torch.no_grad():
        ref = video(vid.flatten(0, 1))
    model = _wrap(audio, video, prompts=None)
    with torch.no_grad():
        pooled = model.forward_streams(vid, aud).pooled["video"]
    assert torch.equal(pooled.flatten(0, 1), ref)


def test_prompts_and_fusion_reach_the_new_family_and_train():
    audio, video, vid, aud = _pair()
    model = _wrap(audio, video).train()
    assert model.prompts["video"].num_prompts > 0 and "video" in model.pos_embeds
    nn.functional.cross_entropy(model(vid, aud), torch.tensor([0, 3])).backward()
    assert model.prompts["video"].prompts.grad.abs().sum() > 0
    assert all(f.gate["video"].grad is not None for f in model.fusion)
    adapter = {id(p) for p in model.adapter_parameters()}
    # while attached, `video.pos` is the model's tuned copy of the table; every other weight stays frozen
    assert [n for n, p in video.named_parameters() if p.grad is not None] == ["pos"]
    assert all(p.grad is None for p in video.parameters() if id(p) not in adapter)


def test_detach_and_save_load_keep_their_promises(tmp_path):
    audio, video, vid, aud = _pair()
    fresh = clone(audio), clone(video)
    state = snapshot(video)
    model = _wrap(audio, video)
    with torch.no_grad():
        for p in model.adapter_parameters():
            p.add_(torch.randn_like(p) * 0.05)
        logits = model(vid, aud)
    model.save_adapter(tmp_path / "adapter")
    loaded = mmadapt.MultimodalAdapterModel.from_pretrained(tmp_path / "adapter", *fresh).eval()
    with torch.no_grad():
        assert torch.equal(loaded(vid, aud), logits)
    assert loaded.backbone_identity()["video"]["family"] == "tiny-vit"
    _, back = model.detach()
    assert back is video and hook_count(video) == 0
    assert all(torch.equal(video.state_dict()[k], v) for k, v in state.items())


def test_a_family_that_cannot_resize_says_so():
    audio, video, _, _ = _pair()
    with pytest.raises(mmadapt.UnsupportedBackboneError, match="tiny-vit.*native input size"):
        _wrap(audio, video, input_sizes={"video": (48, 48)})
