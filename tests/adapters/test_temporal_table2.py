"""Table 2: the mean-bottleneck-ita fusion kind (untrained == mean-bottleneck, gradients, save/load) over timm and
HF pairs, and our temporal-block parameter counts for two ViT-B/16 at 160 px beside the paper's."""

from __future__ import annotations

import pytest
import timm
import torch

import mmadapt
from mmadapt.methods.mma_dfer.table2 import TABLE2, temporal_block_parameters

from ..core.helpers import SMALL_HEAD, make_inputs, make_pair, randomise_gates

PAIRS = ["timm+timm", "hfvit+clip", "timm-avg+data2vec"]  # timm, HF, a family without prefix tokens (timm-avg)


def _wrap(audio, video, **fusion):
    fusion = {"type": "mean-bottleneck-ita", "latent_dim": 8, "temporal_dim": 8, "heads": 2, **fusion}
    return mmadapt.wrap_encoders(audio, video, preset="mma-dfer", num_classes=5, head=SMALL_HEAD, fusion=fusion).eval()


@pytest.mark.parametrize("pair", PAIRS)
@pytest.mark.parametrize("fusion", [{}, {"temporal_dim": 4}, {"temporal_dim": 12, "projection": "latent"}])
def test_untrained_ita_equals_the_mean_bottleneck_exactly(pair, fusion):
    audio, video, a_shape, v_shape = make_pair(pair)
    vid, aud = make_inputs(a_shape, v_shape)
    torch.manual_seed(0)
    ita = _wrap(audio, video, **fusion)
    randomise_gates(ita)  # bottleneck gates non-zero; the temporal gates stay 0
    state = {k: v for k, v in ita.adapter_state_dict().items() if not (k.startswith("fusion.") and ".temporal." in k)}
    with torch.no_grad():
        out_ita = ita(vid, aud)
    ita.detach()
    mb = mmadapt.wrap_encoders(
        audio, video, preset="mma-dfer", num_classes=5, head=SMALL_HEAD, fusion={"latent_dim": 8}
    ).eval()
    mb.load_adapter_state_dict(state)
    with torch.no_grad():
        assert torch.equal(out_ita, mb(vid, aud))


@pytest.mark.parametrize("pair", PAIRS)
@pytest.mark.parametrize("add_to", ["token", "frame"])
def test_gradients_reach_the_temporal_adaptor_and_it_changes_only_the_video(pair, add_to):
    audio, video, a_shape, v_shape = make_pair(pair)
    vid, aud = make_inputs(a_shape, v_shape)
    model = _wrap(audio, video, add_to=add_to, temporal_dim=4)
    paths = [f.temporal["video"] for f in model.fusion]
    assert all(set(f.temporal) == {"video"} for f in model.fusion)  # per-clip audio gets no ITA
    model(vid, aud).sum().backward()
    assert all(p.gate.grad.abs().sum() > 0 for p in paths[:1])  # a zero gate still learns
    with torch.no_grad():
        before = model.forward_streams(vid, aud)
        for p in paths:
            p.gate.fill_(0.5)
        after = model.forward_streams(vid, aud)
    assert torch.equal(before.pooled["audio"], after.pooled["audio"]) or len(model.fusion) > 1
    assert (before.pooled["video"] - after.pooled["video"]).abs().max() > 1e-5
    model.zero_grad()
    model(vid, aud).sum().backward()
    assert paths[0].attn.qkv.weight.grad.abs().sum() > 0 and paths[0].down[0].weight.grad.abs().sum() > 0


@pytest.mark.parametrize("pair", ["timm+timm", "hfvit+clip"])
def test_save_load_round_trip(tmp_path, pair):
    audio, video, a_shape, v_shape = make_pair(pair)
    vid, aud = make_inputs(a_shape, v_shape)
    model = _wrap(audio, video, temporal_dim=4)
    with torch.no_grad():
        for p in model.adapter_parameters():
            p.add_(torch.randn_like(p) * 0.1)
        ref = model(vid, aud)
    model.save_adapter(tmp_path / "ita")
    model.detach()
    again = mmadapt.MultimodalAdapterModel.from_pretrained(tmp_path / "ita", audio, video).eval()
    assert type(again.fusion[0]).__name__ == "MeanBottleneckITA"
    with torch.no_grad():
        assert torch.equal(again(vid, aud), ref)


def test_bad_heads_is_one_line_error():
    with pytest.raises(mmadapt.ConfigError, match="divide temporal_dim"):
        mmadapt.adapters.MeanBottleneckITAConfig(temporal_dim=10, heads=4)


def _vit_b(**kw):
    return timm.create_model("vit_base_patch16_224", pretrained=False, num_classes=0, **kw)


OURS = {  # temporal-block parameters, two ViT-B/16 at 160 px (docs/kinds-temporal.md)
    "mma-dfer-ita-64": 1_390_860,
    "mma-dfer-ita-128": 792_588,
    "mma-dfer-ita-256": 7_895_052,
    "mma-dfer-mtm-ita-128": 2_903_052,
    "mma-dfer": 2_110_464,
}


@pytest.mark.parametrize("name", sorted(TABLE2))
def test_vit_b_temporal_block_counts(name):
    with torch.device("meta"):
        model = mmadapt.wrap_encoders(_vit_b(img_size=(512, 128), in_chans=1), _vit_b(img_size=160), preset=name)
    assert temporal_block_parameters(model) == OURS[name]
    paper = TABLE2[name].paper_temporal_params_m
    matches = {"mma-dfer-ita-128", "mma-dfer-mtm-ita-128"}  # the rows our design reproduces to the printed digit
    assert (round(OURS[name] / 1e6, 1) == paper) == (name in matches)
    assert mmadapt.presets.preset_record(name).paper_params_m is None or name == "mma-dfer"
