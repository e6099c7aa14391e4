"""Methods the lockstep runner bypasses: each anatomy's ``bypassed_methods`` is exactly what the family's own
forward runs and the runner does not, and wrapping a backbone whose class overrides one of them warns once
(issue 13 item 13); plain classes and subclasses that change only what the runner calls wrap silently."""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable

import pytest
import torch
from torch import nn

import mmadapt
from mmadapt import BypassedOverrideWarning
from mmadapt.anatomy import ANATOMIES, register_anatomy, resolve_anatomy
from mmadapt.anatomy.bypassed import bypassed_overrides

from ..core.backbones import timm_vit
from ..core.helpers import SMALL_HEAD, snapshot
from ._families import DEPTH, FAMILIES, HEADS, IMG, PATCH, WIDTH, make_input, staged


# ---- the list is what the runner really skips ------------------------------------------------------------------
def _record_calls(model: nn.Module) -> list[str]:
    """Route every method of the backbone's own classes (those above ``nn.Module``) through a recorder."""
    calls: list[str] = []
    names = {
        name
        for klass in type(model).__mro__[: type(model).__mro__.index(nn.Module)]
        for name, value in vars(klass).items()
        if inspect.isfunction(value) and not name.startswith("__")
    }
    for name in names:
        bound = getattr(model, name)

        def recorder(*args, _name=name, _bound=bound, **kwargs):
            calls.append(_name)
            return _bound(*args, **kwargs)

        object.__setattr__(model, name, recorder)  # on the instance: the class stays untouched
    return calls


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_bypassed_methods_are_those_the_family_forward_runs_and_the_runner_does_not(name: str) -> None:
    family = FAMILIES[name]
    model = family.build()
    anatomy = resolve_anatomy(model)
    x = make_input(family)
    calls = _record_calls(model)
    with torch.no_grad():
        family.reference(model, x)  # the family's public forward
        native = set(calls)
        calls.clear()
        anatomy.pool(staged(anatomy, x))  # the runner's path
        runner = set(calls)
    assert native - runner == set(type(anatomy).bypassed_methods)


# ---- the warning -----------------------------------------------------------------------------------------------
def _timm_vit_cls() -> type[nn.Module]:
    from timm.models.vision_transformer import VisionTransformer

    return VisionTransformer


def _hf_vit_cls() -> type[nn.Module]:
    from transformers import ViTModel

    return ViTModel


def _build(cls: type[nn.Module]) -> nn.Module:
    """A tiny seeded backbone of ``cls`` (a family class or a subclass of one): same seed, same weights."""
    torch.manual_seed(0)
    if issubclass(cls, _timm_vit_cls()):
        return cls(img_size=IMG, patch_size=PATCH, embed_dim=WIDTH, depth=DEPTH, num_heads=HEADS, num_classes=0).eval()
    from transformers import ViTConfig

    cfg = ViTConfig(
        hidden_size=WIDTH,
        num_hidden_layers=DEPTH,
        num_attention_heads=HEADS,
        intermediate_size=2 * WIDTH,
        image_size=IMG,
        patch_size=PATCH,
    )
    return cls(cfg, add_pooling_layer=False).eval()


def _audio() -> nn.Module:
    torch.manual_seed(1)
    return timm_vit(1)[0]


def _wrap(video: nn.Module, audio: nn.Module | None = None) -> mmadapt.MultimodalAdapterModel:
    return mmadapt.wrap_encoders(audio or _audio(), video, num_classes=3, head=SMALL_HEAD).eval()


def _subclass(base: type[nn.Module], **methods: Callable) -> type[nn.Module]:
    """A user's subclass of ``base`` defining ``methods`` (each calls the family's own, so outputs do not change)."""
    return type(f"My{base.__name__}", (base,), methods)


def _passes_on(base: type[nn.Module], name: str) -> Callable:
    def method(self, *args, **kwargs):
        return getattr(base, name)(self, *args, **kwargs)

    return method


def _bypass_warnings(record: list[warnings.WarningMessage]) -> list[warnings.WarningMessage]:
    return [w for w in record if issubclass(w.category, BypassedOverrideWarning)]


def _wrap_recording(video: nn.Module, audio: nn.Module | None = None):
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        model = _wrap(video, audio)
    return model, _bypass_warnings(record)


FAMILY_CLASSES = {"timm-vit": _timm_vit_cls, "hf-vit": _hf_vit_cls}


@pytest.mark.parametrize("family", sorted(FAMILY_CLASSES))
def test_the_plain_family_class_wraps_without_a_warning(family: str) -> None:
    _, warned = _wrap_recording(_build(FAMILY_CLASSES[family]()))
    assert warned == []


@pytest.mark.parametrize(
    ("family", "overridden"),
    [
        ("timm-vit", ("forward",)),
        ("timm-vit", ("forward_features",)),
        ("timm-vit", ("forward", "forward_features")),
        ("hf-vit", ("forward",)),
    ],
)
def test_a_subclass_overriding_a_bypassed_method_warns_once_naming_class_and_methods(family, overridden) -> None:
    base = FAMILY_CLASSES[family]()
    cls = _subclass(base, **{name: _passes_on(base, name) for name in overridden})
    _, warned = _wrap_recording(_build(cls))
    assert len(warned) == 1  # one warning per backbone, however many methods
    message = str(warned[0].message)
    assert message.startswith(f"stream 'video': {cls.__module__}.{cls.__qualname__} overrides {', '.join(overridden)} ")
    assert f"of {base.__name__}, which mmadapt does not call" in message
    assert warned[0].filename == __file__  # points at the user's wrap call, not into mmadapt


def test_a_mixin_ahead_of_the_family_overriding_forward_counts_as_an_override() -> None:
    class LoggingMixin:
        def forward(self, x):
            return super().forward(x)

    cls = type("LoggedViT", (LoggingMixin, _timm_vit_cls()), {})
    assert bypassed_overrides(resolve_anatomy(_build(cls))) == ["forward"]


@pytest.mark.parametrize("family", sorted(FAMILY_CLASSES))
def test_subclasses_adding_attributes_or_overriding_what_the_runner_calls_do_not_warn(family: str) -> None:
    base = FAMILY_CLASSES[family]()

    def __init__(self, *args, **kwargs):
        base.__init__(self, *args, **kwargs)
        self.note = "fine-tuned on faces"

    methods: dict[str, Callable] = {"__init__": __init__, "version": 2, "describe": lambda self: self.note}
    if family == "timm-vit":  # the runner calls these two itself (embed, pool)
        methods |= {name: _passes_on(base, name) for name in ("_pos_embed", "forward_head")}
    _, warned = _wrap_recording(_build(_subclass(base, **methods)))
    assert warned == []


def test_a_subclass_registered_in_its_own_right_does_not_warn() -> None:
    base = _timm_vit_cls()
    cls = _subclass(base, forward=_passes_on(base, "forward"))
    key = f"{cls.__module__}.{cls.__qualname__}"
    register_anatomy(key, type(resolve_anatomy(_build(base))))
    try:
        _, warned = _wrap_recording(_build(cls))
    finally:
        ANATOMIES.unregister(key)
    assert warned == []


def test_each_overriding_backbone_gets_its_own_warning_and_the_category_filters_them() -> None:
    base = _timm_vit_cls()
    cls = _subclass(base, forward_features=_passes_on(base, "forward_features"))
    audio = _subclass(base, forward=_passes_on(base, "forward"))
    torch.manual_seed(1)
    audio_vit = audio(
        img_size=IMG, patch_size=PATCH, in_chans=1, embed_dim=WIDTH, depth=DEPTH, num_heads=HEADS, num_classes=0
    )
    model, warned = _wrap_recording(_build(cls), audio_vit)
    assert sorted(str(w.message).split(":")[0] for w in warned) == ["stream 'audio'", "stream 'video'"]
    model.detach()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any other warning would fail the wrap
        warnings.filterwarnings("ignore", category=BypassedOverrideWarning)
        _wrap(model.backbones["video"], model.backbones["audio"])


@pytest.mark.parametrize("family", sorted(FAMILY_CLASSES))
def test_a_warned_backbone_runs_detaches_and_rewraps_like_the_plain_class(family: str) -> None:
    base = FAMILY_CLASSES[family]()
    cls = _subclass(base, forward=_passes_on(base, "forward"))
    plain, sub = _build(base), _build(cls)
    state = snapshot(sub)
    x = {"audio": torch.randn(1, 1, 32, 32), "video": torch.randn(1, 2, 3, IMG, IMG)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BypassedOverrideWarning)
        model, reference = _wrap(sub), _wrap(plain)
        with torch.no_grad():
            assert torch.equal(model(**x), reference(**x))  # the lockstep run is the family's
        assert model.detach()[1] is sub
        assert all(torch.equal(v, state[k]) for k, v in sub.state_dict().items())
        again, warned = _wrap_recording(sub)
    assert len(warned) == 1
    with torch.no_grad():
        assert torch.equal(again(**x), reference(**x))
