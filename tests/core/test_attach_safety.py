"""Attachment safety and edge inputs at the model's entrance (issue 13, items 6, 7 and 12).

A backbone belongs to at most one attached model at a time; ``disable_adapters()`` nests; ``detach()`` is exact
anywhere; bad inputs (empty batch, nested or meta tensors, wrong device, disagreeing clip lengths) are refused at
the entrance with a one-line error naming the stream, before any encoder runs.
"""

from __future__ import annotations

import copy

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mmadapt
from mmadapt import InputShapeError, UnsupportedBackboneError

from .backbones import hf_vit, timm_vit
from .helpers import (
    hook_count,
    make_inputs,
    make_pair,
    make_three,
    make_three_inputs,
    randomise_gates,
    snapshot,
    wrap,
    wrap_three,
)

PAIRS = ["timm+timm", "hfvit+clip"]  # a timm pair and a Hugging Face pair
SINGLE = {"timm": timm_vit, "hf-vit": hf_vit}


def _setup(pair: str, **overrides):
    audio, video, a_shape, v_shape = make_pair(pair)
    vid, aud = make_inputs(a_shape, v_shape)
    model = wrap(audio, video, **overrides)
    randomise_gates(model)
    return model, audio, video, vid, aud


def _logits(model, vid, aud):
    with torch.no_grad():
        return model(vid, aud)


def _pooled(vit, x):
    with torch.no_grad():
        return mmadapt.resolve_anatomy(vit).native_pooled(x)


def _record(vit):
    """What detach() must hand back: the state, the grad flags and the positional-table objects themselves."""
    slots = mmadapt.resolve_anatomy(vit).pos_slots()
    return snapshot(vit), [p.requires_grad for p in vit.parameters()], {n: s.get() for n, s in slots.items()}


def _assert_restored(vit, record):
    state, flags, tables = record
    assert hook_count(vit) == 0
    assert [p.requires_grad for p in vit.parameters()] == flags
    slots = mmadapt.resolve_anatomy(vit).pos_slots()
    assert {n: s.get() for n, s in slots.items()}.keys() == tables.keys()
    assert all(slots[n].get() is t for n, t in tables.items()), "the original positional tables are back in place"
    after = vit.state_dict()
    assert after.keys() == state.keys() and all(torch.equal(after[k], v) for k, v in state.items())


# ---- item 6: disable_adapters() nests; detach() inside it is exact --------------------------------------------
@pytest.mark.parametrize("pair", PAIRS)
def test_nested_disable_adapters_re_enable_only_at_the_outermost_exit(pair):
    model, _, _, vid, aud = _setup(pair)
    adapted = _logits(model, vid, aud)
    with model.disable_adapters():
        native = _logits(model, vid, aud)
        with model.disable_adapters():
            assert torch.equal(_logits(model, vid, aud), native)
        assert torch.equal(_logits(model, vid, aud), native), "the inner exit must not re-enable the adapters"
    assert not torch.equal(native, adapted)
    assert torch.equal(_logits(model, vid, aud), adapted)


_NESTING = {}


def _nesting_model():
    if not _NESTING:
        model, _, _, vid, aud = _setup("timm+timm")
        adapted = _logits(model, vid, aud)
        with model.disable_adapters():
            native = _logits(model, vid, aud)
        _NESTING.update(model=model, vid=vid, aud=aud, adapted=adapted, native=native)
    return _NESTING


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(depth=st.integers(1, 6), fail_at=st.one_of(st.none(), st.integers(1, 6)))
def test_any_nesting_of_disable_adapters_restores_the_enabled_state_exactly(depth, fail_at):
    """Whatever the depth, and whether or not a level exits by an exception, every level inside runs the native
    path and the model is adapted again (bit for bit) once the outermost context is left."""
    s = _nesting_model()
    model = s["model"]

    def level(k: int) -> None:
        with model.disable_adapters():
            if k < depth:
                level(k + 1)
            assert torch.equal(_logits(model, s["vid"], s["aud"]), s["native"])
            if fail_at == k:
                raise KeyError(k)

    try:
        level(1)
    except KeyError as err:
        assert fail_at is not None and err.args == (fail_at,)
    assert torch.equal(_logits(model, s["vid"], s["aud"]), s["adapted"])


@pytest.mark.parametrize("pair", PAIRS)
def test_detach_inside_disable_adapters_hands_back_the_original_backbones(pair):
    audio, video, a_shape, v_shape = make_pair(pair)
    vid, aud = make_inputs(a_shape, v_shape)
    records = _record(audio), _record(video)
    model = wrap(audio, video)
    with model.disable_adapters():
        with model.disable_adapters():
            a2, v2 = model.detach()
    assert a2 is audio and v2 is video
    _assert_restored(audio, records[0])
    _assert_restored(video, records[1])
    with pytest.raises(RuntimeError, match="detached"):
        model(vid, aud)
    wrap(audio, video)  # unmarked: it can be wrapped again


# ---- item 7: one attachment per backbone ---------------------------------------------------------------------
@pytest.mark.parametrize("pair", PAIRS + ["lora-timm"])
def test_a_second_wrap_is_refused_and_leaves_the_first_model_unchanged(pair):
    model, audio, video, vid, aud = _setup(pair)
    before = _logits(model, vid, aud)
    tuned = {n: p.detach().clone() for n, p in model.adapter_named_parameters()}
    refused = r"^stream 'audio': the backbone is already attached.*detach\(\) that first"
    with pytest.raises(UnsupportedBackboneError, match=refused):
        wrap(audio, video)
    fresh, _ = make_pair(pair, seed=5)[:2]
    with pytest.raises(UnsupportedBackboneError, match=r"^stream 'video': .*already attached .*stream 'video'"):
        mmadapt.wrap_encoders(fresh, video, num_classes=5)
    assert torch.equal(_logits(model, vid, aud), before)
    assert all(torch.equal(p, tuned[n]) for n, p in model.adapter_named_parameters())


@pytest.mark.parametrize("pair", PAIRS + ["lora-timm"])
def test_wrapping_again_after_detach_is_the_same_as_wrapping_fresh_backbones(pair):
    audio, video, a_shape, v_shape = make_pair(pair)
    vid, aud = make_inputs(a_shape, v_shape)
    torch.manual_seed(3)
    first = _logits(wrap(audio, video), vid, aud)
    model = wrap(*make_pair(pair)[:2])
    audio2, video2 = model.detach()
    torch.manual_seed(3)
    assert torch.equal(_logits(wrap(audio2, video2), vid, aud), first)


@pytest.mark.parametrize("family", sorted(SINGLE))
@pytest.mark.parametrize("share", ["copy.copy", "one block"])
def test_streams_sharing_modules_are_refused_naming_both(family, share):
    video, _ = SINGLE[family](3)
    if share == "copy.copy":
        flow = copy.copy(video)
    else:
        flow, _ = SINGLE[family](3)
        blocks = mmadapt.resolve_anatomy(flow).blocks
        blocks[0].load_state_dict(mmadapt.resolve_anatomy(video).blocks[0].state_dict())
        shared = mmadapt.resolve_anatomy(video).blocks[0]
        parent = next(m for m in flow.modules() if any(c is blocks[0] for c in m.children()))
        name = next(n for n, c in parent.named_children() if c is blocks[0])
        setattr(parent, name, shared)
    record = _record(video)
    with pytest.raises(UnsupportedBackboneError, match=r"^streams 'video' and 'flow' share"):
        mmadapt.wrap_encoders({"video": video, "flow": flow}, frames={"video", "flow"}, num_classes=3)
    _assert_restored(video, record)  # refused before anything was touched


def test_a_deepcopied_model_owns_its_copied_backbones():
    model, audio, video, vid, aud = _setup("timm+timm")
    twin = copy.deepcopy(model)
    twin_audio, twin_video = twin.backbones["audio"], twin.backbones["video"]
    with pytest.raises(UnsupportedBackboneError, match="already attached"):
        wrap(twin_audio, twin_video)  # attached, to the twin
    assert twin.detach() == (twin_audio, twin_video)
    wrap(twin_audio, twin_video)  # the twin's detach released its own backbones ...
    with pytest.raises(UnsupportedBackboneError, match="already attached"):
        wrap(audio, video)  # ... and not the original's
    model.detach()
    wrap(audio, video)


def test_a_copy_of_one_attached_backbone_is_refused_it_carries_the_hooks():
    model, audio, video, _, _ = _setup("timm+timm")
    lone = copy.deepcopy(video)
    assert hook_count(lone) > 0
    with pytest.raises(UnsupportedBackboneError, match=r"stream 'video'.*copy of one taken while attached"):
        mmadapt.wrap_encoders({"video": lone}, num_classes=3)


@pytest.mark.parametrize("family", sorted(SINGLE))
def test_prompted_and_wrapped_vits_refuse_a_second_attachment(family):
    torch.manual_seed(0)
    vit, shape = SINGLE[family](3)
    x = torch.randn(2, *shape)
    handle = mmadapt.attach_prompts(vit, mmadapt.PromptConfig(num_prompts=3))
    prompted = _pooled(vit, x)
    with pytest.raises(UnsupportedBackboneError, match=r"^stream 'vit': .*prompted by attach_prompts"):
        mmadapt.attach_prompts(vit)  # hooks would stack: twice the prompts
    with pytest.raises(UnsupportedBackboneError, match=r"^stream 'video': .*prompted by attach_prompts"):
        mmadapt.wrap_encoders({"video": vit}, num_classes=3, fusion=None)
    assert torch.equal(_pooled(vit, x), prompted)
    model = mmadapt.wrap_encoders({"video": handle.detach()}, num_classes=3, fusion=None)
    with pytest.raises(UnsupportedBackboneError, match=r"^stream 'vit': .*stream 'video' of a MultimodalAdapterModel"):
        mmadapt.attach_prompts(vit)
    mmadapt.attach_prompts(model.detach()[0])


@pytest.mark.parametrize("pair", PAIRS)
def test_a_config_refused_after_resizing_leaves_the_backbones_at_their_native_size(pair):
    audio, video, a_shape, v_shape = make_pair(pair)
    records = _record(audio), _record(video)
    sizes = {"audio": (a_shape[1] + 16, a_shape[2]), "video": (v_shape[1] + 16, v_shape[2] + 16)}
    with pytest.raises(mmadapt.ConfigError, match="schedule names blocks"):
        wrap(audio, video, input_sizes=sizes, prompts={"schedule": {99: 1}})
    for vit, record in zip((audio, video), records, strict=True):
        _assert_restored(vit, record)
    model = wrap(audio, video)  # and they wrap at the native size
    assert [model._anatomy[s].input_size for s in ("audio", "video")] == [a_shape[1:], v_shape[1:]]


def test_from_pretrained_wraps_detached_backbones(tmp_path):
    model, audio, video, vid, aud = _setup("timm+timm")
    adapted = _logits(model, vid, aud)
    model.save_adapter(tmp_path)
    loaded = mmadapt.MultimodalAdapterModel.from_pretrained(tmp_path, *model.detach()).eval()
    assert torch.equal(_logits(loaded, vid, aud), adapted)


# ---- item 12: edge inputs at the entrance --------------------------------------------------------------------
def _embed_calls(model) -> list[int]:
    """Counts every embed stage's runs: an entrance check must refuse before any of them."""
    calls: list[int] = []
    for backbone in model.backbones.values():
        mmadapt.resolve_anatomy(backbone).embed_output.register_forward_hook(lambda *_: calls.append(1))
    return calls


@pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors:UserWarning")
@pytest.mark.parametrize("pair", PAIRS)
@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("empty batch", r"^audio: the batch is empty \(B=0\)"),
        ("meta", r"^audio: the input is a meta tensor"),
        ("nested", r"^video: nested tensors are not supported"),
        ("jagged", r"^video: nested tensors are not supported"),
    ],
)
def test_edge_inputs_are_refused_at_the_entrance(pair, case, message):
    model, _, _, vid, aud = _setup(pair)
    if case == "empty batch":
        vid, aud = vid[:0], aud[:0]
    elif case == "meta":
        vid, aud = vid.to("meta"), aud.to("meta")
    else:  # two clips of different T
        layout = torch.jagged if case == "jagged" else torch.strided
        vid = torch.nested.nested_tensor([vid[0], vid[1, :2]], layout=layout)
    calls = _embed_calls(model)
    with pytest.raises(InputShapeError, match=message):
        model(vid, aud)
    assert calls == []


@pytest.mark.parametrize("flow_family", ["hf-vit", "timm-eva"])
def test_per_frame_streams_that_must_agree_on_t_are_refused_at_the_entrance(flow_family):
    backbones, shapes = make_three(flow_family)
    model = wrap_three(backbones)
    x = make_three_inputs(shapes)
    x["flow"] = x["flow"][:, :2]
    calls = _embed_calls(model)
    with pytest.raises(InputShapeError, match=r"^flow has T=2 frames but the anchor video has T=3"):
        model(x)
    assert calls == []


@pytest.mark.parametrize("pair", PAIRS)
def test_inputs_on_another_device_than_their_backbone_name_the_stream_and_both_devices(pair):
    audio, video, a_shape, v_shape = make_pair(pair)
    vid, aud = make_inputs(a_shape, v_shape)
    model = wrap(audio.to("meta"), video.to("meta"))  # a second device without an accelerator
    with pytest.raises(InputShapeError, match=r"^audio: the input is on cpu but the audio backbone is on meta"):
        model(vid, aud)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cpu_inputs_to_a_cuda_model_name_the_stream_and_both_devices():
    model, _, _, vid, aud = _setup("timm+timm")
    model.cuda()
    with pytest.raises(InputShapeError, match=r"^audio: the input is on cpu but the audio backbone is on cuda:0"):
        model(vid.cuda(), aud)
    with pytest.raises(InputShapeError, match=r"^video: the input is on cpu but the video backbone is on cuda:0"):
        model(vid, aud.cuda())


@pytest.mark.parametrize("pair", PAIRS)
def test_backbones_on_different_devices_are_refused_at_wrap_time(pair):
    audio, video, _, _ = make_pair(pair)
    record = _record(audio)
    refused = r"^the backbones must all be on one device.*: audio on cpu, video on meta; move them"
    with pytest.raises(UnsupportedBackboneError, match=refused):
        wrap(audio, video.to("meta"))
    _assert_restored(audio, record)
