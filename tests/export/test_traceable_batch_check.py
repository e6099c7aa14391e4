"""The input checks trace: under torch.export with a dynamic batch the clip counts are symbolic (unhashable), and
under torch.jit.trace they are tensors; both must pass the streams-agree check and give the eager logits."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ..core.helpers import make_inputs, make_pair, randomise_gates, wrap


class _ByName(nn.Module):
    """Positional inputs in the streams' order -> the model's keyword forward."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, audio: torch.Tensor, video: torch.Tensor) -> torch.Tensor:
        return self.model(audio=audio, video=video)


@pytest.mark.parametrize("pair", ["timm+timm", "hfvit+clip"])
def test_exported_program_with_dynamic_batch_matches_eager(pair):
    audio, video, a_shape, v_shape = make_pair(pair)
    model = wrap(audio, video)
    randomise_gates(model)
    vid, aud = make_inputs(a_shape, v_shape, n=2)
    batch = torch.export.Dim("batch", min=1, max=64)
    ep = torch.export.export(_ByName(model), (aud, vid), dynamic_shapes={"audio": {0: batch}, "video": {0: batch}})
    for n in (1, 3):
        vid, aud = make_inputs(a_shape, v_shape, n=n, seed=n)
        with torch.no_grad():
            assert torch.allclose(ep.module()(aud, vid), model(vid, aud), atol=1e-5)


def test_traced_model_checks_clip_counts_without_refusing_equal_ones():
    audio, video, a_shape, v_shape = make_pair("timm+timm")
    model = wrap(audio, video)
    vid, aud = make_inputs(a_shape, v_shape, n=2)
    with torch.no_grad(), pytest.warns(torch.jit.TracerWarning):
        traced = torch.jit.trace(_ByName(model), (aud, vid), check_trace=False)
        vid, aud = make_inputs(a_shape, v_shape, n=3, seed=3)
        assert torch.equal(traced(aud, vid), model(vid, aud))
