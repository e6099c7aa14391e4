"""Input sizes other than the native one: resampled tables, finite outputs, an exact undo; or a clear refusal."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mmadapt.anatomy import resolve_anatomy
from mmadapt.errors import InputShapeError, UnsupportedBackboneError

from ._families import FAMILIES, make_input, staged

NON_SQUARE = (48, 32)
RESIZABLE = sorted(n for n in FAMILIES if n != "hf-ast")


def _attributes(model: nn.Module) -> list[dict]:
    """Every plain attribute of every submodule, plus the buffers (by object and value)."""
    snap = []
    for m in model.modules():
        plain = {k: v for k, v in vars(m).items() if not k.startswith("_")}
        snap.append(plain)
    return snap


def _buffers(model: nn.Module) -> dict[str, torch.Tensor]:
    return dict(model.named_buffers())


@pytest.mark.parametrize("name", RESIZABLE)
def test_resize_runs_and_undo_is_exact(name: str) -> None:
    family = FAMILIES[name]
    model = family.build()
    anatomy = resolve_anatomy(model)
    x = make_input(family)
    size = (NON_SQUARE[0], NON_SQUARE[0]) if name == "hf-clip-vision" else NON_SQUARE
    attrs, buffers = _attributes(model), _buffers(model)
    with torch.no_grad():
        before = anatomy.native_tokens(x)

        tables, undo = anatomy.set_input_size(size)
        slots = anatomy.pos_slots()
        originals = {k: slots[k].get() for k in tables}
        for k, t in tables.items():
            assert t.shape[-1] == originals[k].shape[-1]
            slots[k].set(nn.Parameter(t))
        batch, chans = family.input_shape[:2]
        big = torch.randn(batch, chans, *size, generator=torch.Generator().manual_seed(3))
        anatomy.check_input(big, "x")
        tokens = anatomy.native_tokens(big)
        assert tokens.shape[1] == anatomy.num_tokens() == family.prefix + (size[0] // 8) * (size[1] // 8)
        assert torch.isfinite(tokens).all()
        assert torch.equal(staged(anatomy, big), tokens)

        undo()
        for k, p in originals.items():
            slots[k].set(p)
        after = anatomy.native_tokens(x)
    assert anatomy.input_size == anatomy.native_input_size
    assert _attributes(model) == attrs
    now = _buffers(model)
    assert now.keys() == buffers.keys()
    assert all(torch.equal(now[k], buffers[k]) for k in buffers)
    assert torch.equal(before, after)


@pytest.mark.parametrize("name", ["timm-vit", "hf-vit"])
def test_resize_returns_resampled_table(name: str) -> None:
    family = FAMILIES[name]
    anatomy = resolve_anatomy(family.build())
    (slot_name,) = family.slots
    native = anatomy.pos_slots()[slot_name].get().detach().clone()
    tables, undo = anatomy.set_input_size(NON_SQUARE)
    undo()
    table = tables[slot_name]
    gh, gw = NON_SQUARE[0] // 8, NON_SQUARE[1] // 8
    assert table.shape == (1, family.prefix + gh * gw, native.shape[-1])
    assert torch.equal(table[:, : family.prefix], native[:, : family.prefix])  # prefix rows kept as they are
    assert torch.equal(anatomy.pos_slots()[slot_name].get(), native)  # the live table is the caller's to swap


def test_ast_cannot_resize() -> None:
    anatomy = resolve_anatomy(FAMILIES["hf-ast"].build())
    with pytest.raises(UnsupportedBackboneError, match="ASTModel"):
        anatomy.set_input_size((32, 16))
    tables, undo = anatomy.set_input_size(anatomy.native_input_size)  # the native size is always fine
    assert tables == {}
    undo()


def test_clip_refuses_non_square() -> None:
    anatomy = resolve_anatomy(FAMILIES["hf-clip-vision"].build())
    with pytest.raises(UnsupportedBackboneError, match="square"):
        anatomy.set_input_size(NON_SQUARE)


def test_size_must_be_a_patch_multiple() -> None:
    anatomy = resolve_anatomy(FAMILIES["hf-vit"].build())
    with pytest.raises(InputShapeError, match="patch size"):
        anatomy.set_input_size((36, 32))
