"""Wrap arguments and attachment (issue 13 items 6, 7, 9, 12): bad ``wrap_encoders`` arguments, the same or
shared backbones, double attachment, backbones on meta or on two devices; ``disable_adapters`` nesting and
``detach`` inside it. A refused wrap must leave the backbones untouched.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

import mmadapt
from tests.core.backbones import timm_vit
from tests.core.helpers import hook_count, randomise_gates, snapshot, wrap

from ..case import Case, Catalogue

AREA = "wrap"


def _pair(seed: int = 0) -> tuple[nn.Module, nn.Module]:
    torch.manual_seed(seed)
    return timm_vit(1, size=(64, 32), depth=2)[0], timm_vit(3, depth=2)[0]


def _inputs(model: mmadapt.MultimodalAdapterModel) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(3)
    a, v = model._anatomy["audio"], model._anatomy["video"]
    return {
        "video": torch.randn(2, 3, v.in_chans, *v.input_size, generator=g),
        "audio": torch.randn(2, a.in_chans, *a.input_size, generator=g),
    }


def _logits(model: nn.Module, x: dict[str, torch.Tensor]) -> torch.Tensor:
    with torch.no_grad():
        return model(**x)


class _Pristine:
    """Backbones and what they were before any wrap: state, grad flags, hooks, pos_embed objects."""

    def __init__(self, *backbones: nn.Module) -> None:
        self.backbones = backbones
        self.state = [snapshot(b) for b in backbones]
        self.flags = [[p.requires_grad for p in b.parameters()] for b in backbones]
        self.hooks = [hook_count(b) for b in backbones]
        self.pos = [getattr(b, "pos_embed", None) for b in backbones]

    def problem(self, backbones: tuple[nn.Module, ...] | None = None) -> str | None:
        for i, b in enumerate(backbones or self.backbones):
            now = snapshot(b)
            if now.keys() != self.state[i].keys() or any(not torch.equal(now[k], self.state[i][k]) for k in now):
                return f"backbone {i}: state dict changed"
            if [p.requires_grad for p in b.parameters()] != self.flags[i]:
                return f"backbone {i}: requires_grad flags changed"
            if hook_count(b) != self.hooks[i]:
                return f"backbone {i}: hooks left behind"
            if getattr(b, "pos_embed", None) is not self.pos[i]:
                return f"backbone {i}: pos_embed is not the original table"
        return None


def _refused_wrap(
    cat: Catalogue,
    name: str,
    item: int,
    build: Callable[[nn.Module, nn.Module], Any],
    token: str | tuple[str, ...],
    pending: int | str | None = None,
) -> None:
    """A wrap that must be refused, leaving the two backbones as they were."""
    state: dict[str, _Pristine] = {}

    def run() -> Any:
        audio, video = _pair()
        state["p"] = _Pristine(audio, video)
        return build(audio, video)

    cat.add(name, item, run, token=token, after=lambda: state["p"].problem() if "p" in state else None, pending=pending)


def _double_attach() -> Callable[[], Any]:
    holder: dict[str, Any] = {}

    def run() -> Any:
        audio, video = _pair()
        first = wrap(audio, video)
        randomise_gates(first)
        x = _inputs(first)
        holder.update(first=first, x=x, before=_logits(first, x))
        return wrap(audio, video)

    def after() -> str | None:
        err = (_logits(holder["first"], holder["x"]) - holder["before"]).abs().max().item()
        return None if err == 0 else f"the first model's logits changed by {err:.3g}"

    return run, after


def _copied(attach_first: bool) -> Callable[[], Any]:
    def run() -> Any:
        audio, video = _pair()
        if attach_first:
            wrap(audio, video)
            return wrap(copy.copy(audio), copy.copy(video))
        return mmadapt.wrap_encoders(
            {"video": video, "flow": copy.copy(video)}, frames={"video", "flow"}, num_classes=5
        )

    return run


def _meta_forward() -> Any:
    """Backbones on meta wrap (shape inspection, ``to_empty``), but a forward with real data is refused."""
    audio, video = _pair()
    real = _inputs(wrap(*_pair()))
    return _logits(wrap(audio.to("meta"), video.to("meta")), real)


def _nested_disable() -> Any:
    m = wrap(*_pair())
    randomise_gates(m)
    x = _inputs(m)
    on = _logits(m, x)
    with m.disable_adapters():
        off = _logits(m, x)
        with m.disable_adapters():
            pass
        still_off = _logits(m, x)
    return on, off, still_off, _logits(m, x)


def _check_nested(result: Any) -> str | None:
    on, off, still_off, back_on = result
    if torch.equal(on, off):
        return "disable_adapters changed nothing"
    if not torch.equal(off, still_off):
        return "the inner context's exit re-enabled the adapters"
    return None if torch.equal(on, back_on) else "the outer exit did not restore the adapted logits"


def _raise_inside_disable() -> Any:
    m = wrap(*_pair())
    randomise_gates(m)
    x = _inputs(m)
    on = _logits(m, x)
    try:
        with m.disable_adapters():
            raise LookupError("user code fails inside the block")
    except LookupError:
        pass
    return on, _logits(m, x)


def _detach_inside_disable() -> Any:
    audio, video = _pair()
    pristine = _Pristine(audio, video)
    m = wrap(audio, video)
    with torch.no_grad():
        for p in m.pos_embeds.parameters():
            p.add_(0.5)  # tuned tables differ from the originals
    with m.disable_adapters():
        backbones = m.detach()
    return pristine, backbones


def _detach_plain() -> Any:
    audio, video = _pair()
    pristine = _Pristine(audio, video)
    m = wrap(audio, video)
    with torch.no_grad():
        for p in m.pos_embeds.parameters():
            p.add_(0.5)
    return pristine, m.detach()


def _check_pristine(result: Any) -> str | None:
    pristine, backbones = result
    return pristine.problem(backbones)


def _rewrap_after_detach() -> Any:
    audio, video = _pair()
    torch.manual_seed(7)
    first = wrap(audio, video)
    x = _inputs(first)
    fresh = _logits(first, x)
    first.detach()
    torch.manual_seed(7)
    return _logits(wrap(audio, video), x), fresh


def _save_inside_disable(tmp: Callable[[], Any]) -> Callable[[], Any]:
    def run() -> Any:
        audio, video = _pair()
        m = wrap(audio, video)
        randomise_gates(m)
        with torch.no_grad():
            for p in m.pos_embeds.parameters():
                p.add_(0.5)
        x = _inputs(m)
        want = _logits(m, x)
        folder = tmp() / "adapter"
        with m.disable_adapters():
            m.save_adapter(folder)
        loaded = mmadapt.MultimodalAdapterModel.from_pretrained(folder, *_pair())
        return _logits(loaded, x), want

    return run


def _equal_pair(result: Any) -> str | None:
    got, want = result
    err = (got - want).abs().max().item()
    return None if err == 0 else f"logits differ by {err:.3g}"


def _use_after_detach(use: Callable[[mmadapt.MultimodalAdapterModel, dict], Any]) -> Callable[[], Any]:
    def run() -> Any:
        m = wrap(*_pair())
        x = _inputs(m)
        m.detach()
        return use(m, x)

    return run


def cases() -> list[Case]:
    from ._tmp import fresh_dir

    cat = Catalogue(AREA)
    for value in (2.5, "7", 0, -1, True, [5]):
        _refused_wrap(cat, f"num_classes={value!r}", 9, lambda a, v, n=value: wrap(a, v, num_classes=n), "num_classes")
    for key, value in (("video_size", -8), ("video_size", 30), ("audio_size", (64, -32)), ("video_size", "32")):
        _refused_wrap(
            cat,
            f"{key}={value!r}",
            9,
            lambda a, v, k=key, x=value: wrap(a, v, **{k: x}),
            (key.removesuffix("_size"), str(value)),
        )
    for sizes, token in (
        ({"video": (-8, -8)}, "video"),
        ({"video": (30, 30)}, "video"),
        ({"flow": (32, 32)}, "flow"),
        ({"video": 32.5}, "video"),
    ):
        _refused_wrap(cat, f"input_sizes={sizes}", 9, lambda a, v, s=sizes: wrap(a, v, input_sizes=s), token)
    plain = mmadapt.wrap_encoders
    _refused_wrap(cat, "preset-typo", 9, lambda a, v: plain(a, v, preset="mma-dferr", num_classes=5), "mma-dferr")
    _refused_wrap(cat, "preset-int", 9, lambda a, v: plain(a, v, preset=3, num_classes=5), "preset")
    _refused_wrap(cat, "unknown-override", 9, lambda a, v: wrap(a, v, fusionn={"latent_dim": 8}), "fusionn")
    for part, key, value in (
        ("fusion", "latent_dim", "abc"),
        ("fusion", "latent_dim", 0),
        ("fusion", "latent_dim", -1),
        ("fusion", "type", "no-such-kind"),
        ("head", "dim", 0),
        ("head", "depth", 2.5),
        ("prompts", "num_prompts", -1),
        ("prompts", "bogus", 1),
    ):
        _refused_wrap(
            cat,
            f"{part}.{key}={value!r}",
            9,
            lambda a, v, p=part, k=key, x=value: wrap(a, v, **{p: {k: x}}),
            key if key != "type" else value,
        )
    _refused_wrap(cat, "same-backbone-twice", 7, lambda a, v: wrap(v, v), "same backbone")
    _refused_wrap(
        cat,
        "shared-submodule",
        7,
        lambda a, v: mmadapt.wrap_encoders(
            {"video": v, "flow": _shares_blocks(v)}, frames={"video", "flow"}, num_classes=5
        ),
        "share",
    )
    _refused_wrap(cat, "not-a-module", 9, lambda a, v: mmadapt.wrap_encoders(a, "video.pt", num_classes=5), "str")
    _refused_wrap(cat, "not-a-vit", 12, lambda a, v: wrap(a, nn.Linear(4, 4)), "Linear")
    _refused_wrap(
        cat,
        "stream-name-reserved",
        9,
        lambda a, v: mmadapt.wrap_encoders({"audio": a, "label": v}, frames={"label"}, num_classes=5),
        "label",
    )
    _refused_wrap(
        cat,
        "frames-unknown-stream",
        9,
        lambda a, v: mmadapt.wrap_encoders({"audio": a, "video": v}, frames={"flow"}, num_classes=5),
        "flow",
    )
    _refused_wrap(
        cat, "frames-unsaid", 9, lambda a, v: mmadapt.wrap_encoders({"a": a, "b": v}, num_classes=5), "frames"
    )
    _refused_wrap(cat, "no-streams", 9, lambda a, v: mmadapt.wrap_encoders({}, num_classes=5), "stream")
    _refused_wrap(cat, "mapping-and-video", 9, lambda a, v: mmadapt.wrap_encoders({"audio": a}, v), "mapping")
    cat.add("backbones-on-meta-real-input", 12, _meta_forward, token="meta")
    cat.add("backbones-on-two-devices", 12, lambda: (lambda a, v: wrap(a.to("meta"), v))(*_pair()), token="device")
    run, after = _double_attach()
    cat.add("double-attach", 7, run, token="already attached", after=after)
    cat.add("copy-of-attached-backbone", 7, _copied(True), token="attached")
    cat.add("shallow-copies", 7, _copied(False), token="share")
    cat.add("disable-nested", 6, _nested_disable, expect=("ok",), check=_check_nested)
    cat.add(
        "disable-exception-inside",
        6,
        _raise_inside_disable,
        expect=("ok",),
        check=lambda r: None if torch.equal(*r) else "adapters stayed disabled after an exception in the block",
    )
    cat.add("detach-inside-disable", 6, _detach_inside_disable, expect=("ok",), check=_check_pristine)
    cat.add("detach", 7, _detach_plain, expect=("ok",), check=_check_pristine)
    cat.add("rewrap-after-detach", 7, _rewrap_after_detach, expect=("ok",), check=_equal_pair)
    cat.add(
        "save-inside-disable",
        6,
        _save_inside_disable(fresh_dir),
        expect=("ok", "clear"),
        check=_equal_pair,
        token="disable",
    )
    cat.add("forward-after-detach", 7, _use_after_detach(lambda m, x: m(**x)), token="detached")
    cat.add("detach-twice", 7, _use_after_detach(lambda m, x: m.detach()), token="detached")
    cat.add(
        "disable-after-detach", 6, _use_after_detach(lambda m, x: m.disable_adapters().__enter__()), token="detached"
    )
    return cat.cases


def _shares_blocks(video: nn.Module) -> nn.Module:
    other = copy.deepcopy(video)
    other.blocks[0] = video.blocks[0]  # one block object in two streams
    return other
