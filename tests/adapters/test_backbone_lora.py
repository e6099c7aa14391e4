"""PEFT LoRA inside the frozen backbones (``MultimodalConfig.backbone_lora``), as a specification.

Over timm and Hugging Face pairs: the targets come from the anatomy; at init (B = 0) LoRA changes no number; its
weights are PEFT's own layers and keys, trainable, counted and reached by gradients; they round-trip through
``adapter_model.safetensors`` (loaded by ``peft.set_peft_model_state_dict``); ``disable_adapters`` runs the native
path; ``detach`` hands back the backbones bit-identical, module tree and parameter objects included.
"""

from __future__ import annotations

import copy

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors import safe_open
from torch import nn

import mmadapt
from mmadapt import BackboneLoraConfig, ConfigError, UnsupportedBackboneError
from mmadapt.adapters import backbone_lora as bl

from ..anatomy._families import FAMILIES
from ..anatomy._families import make_input as make_family_input
from ..core.helpers import hook_count, make_inputs, make_pair

peft = pytest.importorskip("peft")
from peft.tuners.lora import LoraLayer  # noqa: E402

PAIRS = ["timm+timm", "hfvit+clip", "eva+beit"]
"""(audio, video) pairs: timm ViT, HF ViT + CLIP, timm EVA (RoPE) + HF BEiT (relative bias)."""
HEAD = {"type": "late-concat", "heads": 2, "dim_head": 8, "mlp_dim": 16, "max_frames": 4}
LORA = {"rank": 2, "alpha": 4, "dropout": 0.0, "targets": "attention+mlp"}


def _wrap(audio: nn.Module, video: nn.Module, seed: int = 0, **overrides) -> mmadapt.MultimodalAdapterModel:
    overrides.setdefault("backbone_lora", LORA)
    torch.manual_seed(seed)  # the adapters' initialisation
    return mmadapt.wrap_encoders(audio, video, preset="claip-emo", head=HEAD, num_classes=3, **overrides).eval()


def _lora_state(model: mmadapt.MultimodalAdapterModel) -> dict[str, torch.Tensor]:
    return {k: v for k, v in model.adapter_state_dict().items() if k.startswith("backbone_lora.")}


@torch.no_grad()
def _randomise_lora(model: mmadapt.MultimodalAdapterModel, seed: int = 3) -> None:
    g = torch.Generator().manual_seed(seed)
    for name, p in model.adapter_named_parameters():
        if name.startswith("backbone_lora."):
            p.copy_(torch.randn(p.shape, generator=g) * 0.2)


def _tree(module: nn.Module) -> list[tuple[str, int, str]]:
    return [(n, id(m), type(m).__name__) for n, m in module.named_modules()]


def _params(module: nn.Module) -> list[tuple[str, int, bool]]:
    return [(n, id(p), p.requires_grad) for n, p in module.named_parameters()]


# ---- targets ---------------------------------------------------------------------------------------------------
def _linears_the_forward_calls(family, model: nn.Module) -> set[str]:
    """Paths of the block Linears whose own forward the family runs (a Linear used as ``F.linear(x, m.weight)`` does
    not count: no wrapper of it would ever run)."""
    anatomy = mmadapt.resolve_anatomy(model)
    in_blocks = {id(m) for b in anatomy.blocks for m in b.modules()}
    called: set[str] = set()
    handles = [
        m.register_forward_hook(lambda mod, args, out, n=n: called.add(n))
        for n, m in model.named_modules()
        if isinstance(m, nn.Linear) and id(m) in in_blocks
    ]
    with torch.no_grad():
        family.reference(model, make_family_input(family))
    for h in handles:
        h.remove()
    return called


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_targets_are_the_block_linears_the_family_runs(name):
    family = FAMILIES[name]
    model = family.build()
    anatomy = mmadapt.resolve_anatomy(model)
    both = bl.lora_targets(BackboneLoraConfig(targets="attention+mlp"), anatomy, "s")
    attention = bl.lora_targets(BackboneLoraConfig(targets="attention"), anatomy, "s")
    assert set(both) == _linears_the_forward_calls(family, model)  # a plain ViT block: attention + MLP, nothing else
    assert attention and set(attention) < set(both)
    assert len(attention) % anatomy.depth == 0  # the same layers in every block


@pytest.mark.parametrize("name", ["timm-eva", "hf-beit", "hf-clip-vision"])
def test_every_target_is_live(name):
    """With B != 0 each injected LoRA changes the output and gets a gradient: none sits on a bypassed layer."""
    family = FAMILIES[name]
    model = family.build()
    anatomy = mmadapt.resolve_anatomy(model)
    config = BackboneLoraConfig(rank=2, targets="attention+mlp")
    lora = bl.BackboneLora(config, anatomy, bl.lora_targets(config, anatomy, "s"))
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for _, p in lora.named_parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.1)
    tokens, _ = family.reference(model, make_family_input(family))
    tokens.square().sum().backward()
    for key, p in lora.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, key
    lora.remove()


def test_an_anatomy_that_names_no_parts_is_refused_by_name_before_anything_changes():
    audio, video, *_ = make_pair("timm+timm")

    class Opaque(mmadapt.anatomy.TimmViTAnatomy):
        family = "opaque-test"
        block_parts = mmadapt.Anatomy.block_parts

    class OpaqueViT(type(video)):
        pass

    video.__class__ = OpaqueViT
    mmadapt.register_anatomy(OpaqueViT, Opaque)
    try:
        before = _params(video)
        with pytest.raises(UnsupportedBackboneError, match=r"stream 'video'.*block_parts"):
            _wrap(audio, video)
        assert _params(video) == before and "peft_config" not in vars(video)
        mmadapt.wrap_encoders(audio, video, preset="claip-emo", backbone_lora=None, head=HEAD, num_classes=3)
    finally:
        mmadapt.anatomy.ANATOMIES.unregister(f"{OpaqueViT.__module__}.{OpaqueViT.__qualname__}")


def test_a_backbone_holding_peft_layers_already_is_refused_and_left_alone():
    audio, video, *_ = make_pair("lora-timm")
    before = (_tree(audio), _params(audio))
    with pytest.raises(UnsupportedBackboneError, match="already holds PEFT adapter layers"):
        _wrap(audio, video)
    assert (_tree(audio), _params(audio)) == before
    _wrap(audio, video, backbone_lora=None).detach()  # still free to wrap


# ---- at init and in training -------------------------------------------------------------------------------------
@pytest.mark.parametrize("pair", PAIRS)
def test_lora_at_init_changes_no_number(pair):
    audio, video, a_shape, v_shape = make_pair(pair)
    plain_a, plain_v = copy.deepcopy(audio), copy.deepcopy(video)
    x_video, x_audio = make_inputs(a_shape, v_shape)
    with_lora = _wrap(audio, video)
    without = _wrap(plain_a, plain_v, backbone_lora=None)  # same seed: the same head
    assert all(torch.count_nonzero(v) == 0 for k, v in _lora_state(with_lora).items() if ".lora_B." in k)
    with torch.no_grad():
        assert torch.equal(with_lora(video=x_video, audio=x_audio), without(video=x_video, audio=x_audio))


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rank=st.integers(1, 6), alpha=st.integers(1, 64), targets=st.sampled_from(["attention", "attention+mlp"]))
def test_zero_b_is_the_identity_for_any_rank_and_alpha(rank, alpha, targets):
    audio, video, a_shape, v_shape = make_pair("hfvit+clip")
    native = {s: copy.deepcopy(b) for s, b in (("audio", audio), ("video", video))}
    x_video, x_audio = make_inputs(a_shape, v_shape)
    model = _wrap(audio, video, backbone_lora={"rank": rank, "alpha": alpha, "targets": targets})
    with torch.no_grad():
        out = model.forward_streams(video=x_video, audio=x_audio)
        assert torch.equal(out.pooled["audio"], mmadapt.resolve_anatomy(native["audio"]).native_pooled(x_audio))
        video_native = mmadapt.resolve_anatomy(native["video"]).native_pooled(x_video.flatten(0, 1))
        assert torch.equal(out.pooled["video"].flatten(0, 1), video_native)


@pytest.mark.parametrize("pair", PAIRS)
def test_lora_weights_are_peft_layers_owned_trainable_and_counted(pair):
    audio, video, *_ = make_pair(pair)
    base = _wrap(copy.deepcopy(audio), copy.deepcopy(video), backbone_lora=None)
    model = _wrap(audio, video)
    for s, backbone in model.backbones.items():
        anatomy = mmadapt.resolve_anatomy(backbone)
        for t in model._lora_targets[s]:
            assert isinstance(anatomy.model.get_submodule(t), LoraLayer)  # PEFT's own layer, not a copy of it
        theirs = peft.get_peft_model_state_dict(anatomy.model, adapter_name=bl.ADAPTER_NAME)
        prefix = f"backbone_lora.{s}."
        ours = {k.removeprefix(prefix): v for k, v in _lora_state(model).items() if k.startswith(prefix)}
        assert list(ours) == list(theirs) and all(torch.equal(ours[k], theirs[k]) for k in theirs)
    trainable = dict(model.adapter_named_parameters())
    assert all(p.requires_grad for p in trainable.values())
    lora = sum(v.numel() for v in _lora_state(model).values())
    expected = sum(
        LORA["rank"] * (m.in_features + m.out_features)
        for s, b in model.backbones.items()
        for t in model._lora_targets[s]
        for m in [mmadapt.resolve_anatomy(b).model.get_submodule(t).get_base_layer()]
    )
    assert lora == expected
    assert model.get_nb_trainable_parameters()[0] == base.get_nb_trainable_parameters()[0] + lora


@pytest.mark.parametrize("pair", PAIRS)
def test_gradients_reach_lora_a_and_b_and_no_backbone_weight(pair):
    audio, video, a_shape, v_shape = make_pair(pair)
    x_video, x_audio = make_inputs(a_shape, v_shape)
    model = _wrap(audio, video)
    model(video=x_video, audio=x_audio).square().sum().backward()
    grads = {k: p.grad for k, p in model.adapter_named_parameters() if k.startswith("backbone_lora.")}
    assert all(g is not None and g.abs().sum() > 0 for k, g in grads.items() if ".lora_B." in k)
    model.zero_grad()
    _randomise_lora(model)  # with B != 0 the gradient reaches A too
    model(video=x_video, audio=x_audio).square().sum().backward()
    for k, p in model.adapter_named_parameters():
        if k.startswith("backbone_lora."):
            assert p.grad is not None and p.grad.abs().sum() > 0, k
    lora = {id(p) for p in model.adapter_parameters()}
    for b in model.backbones.values():
        assert all(p.grad is None and not p.requires_grad for p in b.parameters() if id(p) not in lora)


# ---- save / load ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("pair", PAIRS)
def test_save_then_from_pretrained_on_fresh_backbones_gives_identical_logits(pair, tmp_path, monkeypatch):
    audio, video, a_shape, v_shape = make_pair(pair)
    fresh_a, fresh_v = copy.deepcopy(audio), copy.deepcopy(video)
    x_video, x_audio = make_inputs(a_shape, v_shape)
    model = _wrap(audio, video)
    _randomise_lora(model)
    with torch.no_grad():
        expected = model(video=x_video, audio=x_audio)
    model.save_adapter(tmp_path)
    with safe_open(str(tmp_path / "adapter_model.safetensors"), "pt") as f:
        saved = set(f.keys())
    assert set(_lora_state(model)) <= saved  # the same file as the other adapters

    loads = []
    real = peft.set_peft_model_state_dict
    monkeypatch.setattr(peft, "set_peft_model_state_dict", lambda *a, **k: loads.append(1) or real(*a, **k))
    torch.manual_seed(123)  # a different fresh LoRA init: only the loaded weights may count
    loaded = mmadapt.MultimodalAdapterModel.from_pretrained(tmp_path, audio=fresh_a, video=fresh_v).eval()
    assert len(loads) == 2  # one PEFT load per stream
    with torch.no_grad():
        assert torch.equal(loaded(video=x_video, audio=x_audio), expected)
    assert loaded.config.backbone_lora == model.config.backbone_lora


def test_a_saved_adapter_without_lora_does_not_load_into_a_model_with_it(tmp_path):
    audio, video, *_ = make_pair("timm+timm")
    fresh_a, fresh_v = copy.deepcopy(audio), copy.deepcopy(video)
    _wrap(audio, video, backbone_lora=None).save_adapter(tmp_path)
    model = _wrap(fresh_a, fresh_v)
    with pytest.raises(mmadapt.AdapterMismatchError):
        model.load_adapter(tmp_path)


# ---- disable / detach -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("pair", PAIRS)
def test_disable_adapters_runs_the_native_path_and_restores_lora(pair):
    audio, video, a_shape, v_shape = make_pair(pair)
    native = {"audio": copy.deepcopy(audio), "video": copy.deepcopy(video)}
    x = dict(zip(("video", "audio"), make_inputs(a_shape, v_shape), strict=True))
    model = _wrap(audio, video)
    _randomise_lora(model)
    with torch.no_grad():
        tuned = model.forward_streams(**x).pooled
        with model.disable_adapters():
            off = model.forward_streams(**x).pooled
        back = model.forward_streams(**x).pooled
    for s in ("audio", "video"):
        frames = x[s].flatten(0, 1) if s == "video" else x[s]
        ref = mmadapt.resolve_anatomy(native[s]).native_pooled(frames)
        torch.testing.assert_close(off[s].reshape(ref.shape), ref, rtol=0, atol=1e-6)  # runner vs family forward
        assert not torch.equal(tuned[s].reshape(ref.shape), ref)
        assert torch.equal(back[s], tuned[s])
    assert all(p.requires_grad for p in model.adapter_parameters())


@pytest.mark.parametrize("pair", PAIRS)
def test_detach_gives_the_backbones_back_bit_identical(pair):
    audio, video, a_shape, v_shape = make_pair(pair)
    audio.layers_frozen_by_user = None  # a plain attribute survives, untouched
    before = {
        s: (_tree(b), _params(b), copy.deepcopy(b.state_dict()), hook_count(b))
        for s, b in (("audio", audio), ("video", video))
    }
    x_video, x_audio = make_inputs(a_shape, v_shape)
    with torch.no_grad():
        native = mmadapt.resolve_anatomy(video).native_pooled(x_video.flatten(0, 1))
    model = _wrap(audio, video)
    _randomise_lora(model)
    model(video=x_video, audio=x_audio).sum().backward()
    a, v = model.detach()
    assert a is audio and v is video
    for s, b in (("audio", a), ("video", v)):
        tree, params, state, hooks = before[s]
        assert _tree(b) == tree  # the same module objects in the same slots: no PEFT wrapper left
        assert _params(b) == params  # the same parameter objects, with their own requires_grad
        now = b.state_dict()
        assert list(now) == list(state) and all(torch.equal(now[k], state[k]) for k in state)
        assert hook_count(b) == hooks and "peft_config" not in vars(b)
    with torch.no_grad():
        assert torch.equal(mmadapt.resolve_anatomy(v).native_pooled(x_video.flatten(0, 1)), native)
    _wrap(a, v).detach()  # free to be wrapped again


def test_a_deepcopied_model_owns_its_own_lora():
    audio, video, a_shape, v_shape = make_pair("hfvit+clip")
    x_video, x_audio = make_inputs(a_shape, v_shape)
    model = _wrap(audio, video)
    _randomise_lora(model)
    twin = copy.deepcopy(model)
    with torch.no_grad():
        expected = model(video=x_video, audio=x_audio)
        assert torch.equal(twin(video=x_video, audio=x_audio), expected)
        twin_lora = dict(twin.adapter_named_parameters())
        mine = dict(model.adapter_named_parameters())
        assert all(twin_lora[k] is not mine[k] for k in mine)
        twin.detach()
        assert torch.equal(model(video=x_video, audio=x_audio), expected)  # the original keeps its LoRA
    model.detach()


# ---- config -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"rank": 0}, "rank must be >= 1"),
        ({"alpha": 0}, "alpha must be > 0"),
        ({"dropout": 1.0}, r"dropout must be in \[0, 1\)"),
        ({"targets": "mlp"}, "targets must be one of"),
    ],
)
def test_bad_lora_settings_are_refused_in_one_line(changes, message):
    with pytest.raises(ConfigError, match=message) as err:
        BackboneLoraConfig.from_dict(changes)
    assert "\n" not in str(err.value)


def test_lora_config_round_trips_and_overrides_merge():
    config = mmadapt.MultimodalConfig(num_classes=3, backbone_lora=BackboneLoraConfig(rank=4, targets="attention+mlp"))
    again = mmadapt.MultimodalConfig.from_dict(config.to_dict())
    assert again == config and isinstance(again.backbone_lora, BackboneLoraConfig)
    merged = config.with_overrides(backbone_lora={"alpha": 8})
    assert (merged.backbone_lora.rank, merged.backbone_lora.alpha, merged.backbone_lora.targets) == (
        4,
        8,
        "attention+mlp",
    )
    assert config.with_overrides(backbone_lora=None).backbone_lora is None
    assert mmadapt.MultimodalConfig.from_dict({"num_classes": 3}).backbone_lora is None  # older files: no LoRA
