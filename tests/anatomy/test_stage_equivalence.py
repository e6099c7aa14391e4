"""Driving a backbone stage by stage (the runner's path) reproduces its own public forward bit for bit."""

from __future__ import annotations

import pytest
import torch

from mmadapt.anatomy import resolve_anatomy

from ._families import FAMILIES, make_input, staged


@pytest.mark.parametrize("mode", ["eval", "train"])
@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_staged_run_equals_native_forward(name: str, mode: str) -> None:
    # every tiny model is built without dropout/drop-path, so train mode is deterministic too
    family = FAMILIES[name]
    model = family.build().train(mode == "train")
    anatomy = resolve_anatomy(model)
    x = make_input(family)
    # SDPA may pick another kernel when autograd records: compare within one grad mode, the one training uses
    with torch.set_grad_enabled(mode == "train"):
        ref_tokens, ref_pooled = family.reference(model, x)
        tokens = staged(anatomy, x)
        pooled = anatomy.pool(tokens)
        native = anatomy.native_tokens(x)
        native_pooled = anatomy.native_pooled(x)
    assert tokens.shape == ref_tokens.shape
    assert torch.equal(tokens, ref_tokens)
    assert torch.equal(pooled, ref_pooled)
    assert torch.equal(native, ref_tokens)
    assert torch.equal(native_pooled, ref_pooled)


def test_vit_mae_order_is_identity_in_train_mode() -> None:
    # without the anatomy's noise the family shuffles patches even with mask_ratio=0: the runner must not
    family = FAMILIES["hf-vit-mae"]
    model = family.build().train()
    anatomy = resolve_anatomy(model)
    x = make_input(family)
    with torch.no_grad():
        torch.manual_seed(0)
        shuffled = model(pixel_values=x).last_hidden_state
        ordered = anatomy.native_tokens(x)
        again = anatomy.native_tokens(x)
    assert torch.equal(ordered, again)
    assert not torch.equal(shuffled, ordered)
