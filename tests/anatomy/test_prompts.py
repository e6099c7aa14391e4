"""Appended prompt tokens: the family fix-ups make them legal, pooling leaves them out, detaching is exact.

Legend: B batch, N tokens without prompts, P prompts, D width.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mmadapt.anatomy import resolve_anatomy
from mmadapt.errors import UnsupportedBackboneError

from ._families import FAMILIES, make_input, staged

P = 3


class PromptHook:
    """A stand-in for mmadapt's prompt hook: appends P fixed tokens to the embed output while ``on``."""

    def __init__(self, width: int, seed: int = 7) -> None:
        self.tokens = torch.randn(1, P, width, generator=torch.Generator().manual_seed(seed))
        self.on = True

    def _cat(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.tokens.expand(x.shape[0], -1, -1)], dim=1)  # (B, N + P, D)

    def __call__(self, module: nn.Module, args: tuple, out):
        if not self.on:
            return None
        if isinstance(out, tuple):  # ViTMAE embeddings: (tokens, mask, ids_restore)
            return (self._cat(out[0]), *out[1:])
        return self._cat(out)


def strip_prompts(module: nn.Module, args: tuple, out):
    if isinstance(out, tuple):
        return (out[0][:, :-P], *out[1:])
    return out[:, :-P]


def _attach(anatomy, width: int):
    hook = PromptHook(width)
    handles = [anatomy.embed_output.register_forward_hook(hook)]
    handles += anatomy.prompt_fixups(P, lambda: hook.on)
    return hook, handles


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_prompts_staged_equals_native_and_detach_is_exact(name: str) -> None:
    family = FAMILIES[name]
    model = family.build()
    anatomy = resolve_anatomy(model)
    x = make_input(family)
    n = anatomy.num_tokens()
    with torch.no_grad():
        base_tokens, base_pooled = family.reference(model, x)
        hook, handles = _attach(anatomy, anatomy.width)
        tokens = staged(anatomy, x)  # (B, N + P, D)
        native_tokens, native_pooled = family.reference(model, x)
        pooled = anatomy.pool(tokens[:, :n])

        assert tokens.shape[1] == n + P
        assert torch.equal(tokens, native_tokens)
        assert not torch.equal(tokens[:, :n], base_tokens)  # prompts reached the patch tokens
        if family.manual_mean is None:
            assert torch.equal(pooled, native_pooled)  # CLS-style pooling ignores appended tokens by itself
        else:
            assert torch.equal(pooled, family.manual_mean(model, tokens[:, :n]))
            assert not torch.equal(pooled, native_pooled)  # the family's own mean took the prompts in

        # disabled: the prompt hook adds nothing and the fix-ups stand aside
        hook.on = False
        assert torch.equal(staged(anatomy, x), base_tokens)
        off_tokens, off_pooled = family.reference(model, x)
        assert torch.equal(off_tokens, base_tokens) and torch.equal(off_pooled, base_pooled)
        hook.on = True

        # stripping at token_output hands the family's pooler the sequence without prompts
        strip = anatomy.token_output.register_forward_hook(strip_prompts)
        stripped_tokens, stripped_pooled = family.reference(model, x)
        strip.remove()
        assert torch.equal(stripped_tokens, tokens[:, :n])
        assert torch.equal(stripped_pooled, pooled)

        for h in handles:
            h.remove()
        after_tokens, after_pooled = family.reference(model, x)
    assert torch.equal(after_tokens, base_tokens)
    assert torch.equal(after_pooled, base_pooled)


@pytest.mark.parametrize("name", ["timm-eva", "timm-eva-mixed", "hf-beit", "hf-beit-shared", "hf-data2vec-vision"])
def test_fixups_are_what_makes_prompts_legal(name: str) -> None:
    family = FAMILIES[name]
    model = family.build()
    anatomy = resolve_anatomy(model)
    x = make_input(family)
    handle = anatomy.embed_output.register_forward_hook(PromptHook(anatomy.width))
    with torch.no_grad(), pytest.raises(RuntimeError):
        family.reference(model, x)
    handle.remove()


@pytest.mark.parametrize("name", ["hf-beit", "hf-beit-shared", "hf-data2vec-vision"])
def test_beit_refuses_bias_interpolation_with_prompts(name: str) -> None:
    # the family would stretch its relative bias over the prompts and return wrong numbers without an error
    family = FAMILIES[name]
    model = family.build()
    anatomy = resolve_anatomy(model)
    _, handles = _attach(anatomy, anatomy.width)
    with torch.no_grad(), pytest.raises(UnsupportedBackboneError, match="interpolate_pos_encoding"):
        model(pixel_values=make_input(family), interpolate_pos_encoding=True)
    for h in handles:
        h.remove()


def test_eva_identity_rows_leave_prompts_unrotated() -> None:
    from timm.layers.pos_embed_sincos import apply_rot_embed_cat

    from mmadapt.anatomy.timm_eva import pad_rope_identity

    rope = torch.randn(5, 8)  # (R, E): [sin | cos]
    padded = pad_rope_identity(rope, 7)
    assert torch.equal(padded[:5], rope)
    q = torch.randn(1, 2, 7, 4)
    rotated = apply_rot_embed_cat(q, padded)
    assert torch.equal(rotated[..., 5:, :], q[..., 5:, :])
    assert torch.equal(rotated[..., :5, :], apply_rot_embed_cat(q[..., :5, :], rope))
