"""What each anatomy reports about its backbone matches the backbone's configuration and modules."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mmadapt.anatomy import BackboneIdentity, resolve_anatomy

from ._families import DEPTH, FAMILIES, WIDTH, make_input


def _is_submodule(model: nn.Module, module: nn.Module) -> bool:
    return any(m is module for m in model.modules())


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_facts_match_config(name: str) -> None:
    family = FAMILIES[name]
    model = family.build()
    anatomy = resolve_anatomy(model)
    x = make_input(family)
    with torch.no_grad():
        tokens, _ = family.reference(model, x)

    assert anatomy.width == WIDTH
    assert anatomy.depth == DEPTH
    assert anatomy.num_prefix_tokens == family.prefix
    assert anatomy.in_chans == family.input_shape[1]
    assert anatomy.native_input_size == anatomy.input_size == tuple(family.input_shape[-2:])
    assert anatomy.grid_size() == family.grid
    assert anatomy.num_tokens() == tokens.shape[1]
    assert all(_is_submodule(model, b) for b in anatomy.blocks)  # held by reference
    assert _is_submodule(model, anatomy.embed_output)
    assert _is_submodule(model, anatomy.token_output)
    ident = anatomy.identity()
    assert ident.family == type(anatomy).family
    assert BackboneIdentity.from_dict(ident.to_dict()) == ident


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_pos_slots_are_the_live_tables(name: str) -> None:
    family = FAMILIES[name]
    model = family.build()
    anatomy = resolve_anatomy(model)
    slots = anatomy.pos_slots()
    assert tuple(slots) == family.slots
    x = make_input(family)
    for slot in slots.values():
        table = slot.get()
        assert any(p is table for p in model.parameters())
        gh, gw = family.grid
        assert slot.grid_rows.start == family.prefix
        assert table.shape[-2] == family.prefix + gh * gw
        # swapping the Parameter object changes the output, swapping it back restores it bit for bit
        with torch.no_grad():
            before = anatomy.native_tokens(x)
            slot.set(nn.Parameter(table.detach() + 1.0))
            changed = anatomy.native_tokens(x)
            slot.set(table)
            after = anatomy.native_tokens(x)
        assert not torch.equal(before, changed)
        assert torch.equal(before, after)
