"""Model inputs (issue 13 item 12): wrong rank, T, B=0, dtype, device (meta), layouts, missing/extra streams,
on a tiny timm pair and a tiny Hugging Face pair. A refused input must be named at the model's entrance; an
accepted one must give the logits of the plain float32 contiguous input.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import torch

from tests.core.backbones import hf_vit, timm_vit
from tests.core.helpers import randomise_gates, wrap

from ..case import Case, Catalogue

AREA = "inputs"
BATCH, FRAMES = 2, 3
TOLERANCE = 1e-5
"""Float32 round-off between two layouts of the same input."""

PAIRS: dict[str, Callable[[], tuple[torch.nn.Module, torch.nn.Module]]] = {
    "timm": lambda: (timm_vit(1, size=(64, 32), depth=2)[0], timm_vit(3, depth=2)[0]),
    "hf": lambda: (hf_vit(1)[0], hf_vit(3)[0]),
}
"""Tiny (audio, video) encoders of two families; the audio one takes one channel."""


@cache
def model(pair: str):
    torch.manual_seed(0)
    audio, video = PAIRS[pair]()
    m = wrap(audio, video)
    randomise_gates(m)  # a non-zero fusion, so every stream reaches the logits
    return m


@cache
def inputs(pair: str) -> dict[str, torch.Tensor]:
    m = model(pair)
    g = torch.Generator().manual_seed(1)
    shapes = {s: (a.in_chans, *a.input_size) for s, a in m._anatomy.items()}
    return {
        "video": torch.randn(BATCH, FRAMES, *shapes["video"], generator=g),
        "audio": torch.randn(BATCH, *shapes["audio"], generator=g),
    }


@cache
def reference(pair: str) -> torch.Tensor:
    with torch.no_grad():
        return model(pair)(**inputs(pair))


def _call(pair: str, change: Callable[[dict[str, Any]], dict[str, Any] | tuple]) -> Callable[[], Any]:
    def run() -> Any:
        given = change({k: v.clone() for k, v in inputs(pair).items()})
        with torch.no_grad():
            if isinstance(given, tuple):  # positional
                args, kwargs = given
                return model(pair)(*args, **kwargs)
            return model(pair)(**given)

    return run


def _equals(pair: str, expected: Callable[[], torch.Tensor] | None = None) -> Callable[[Any], str | None]:
    def check(logits: Any) -> str | None:
        want = expected() if expected else reference(pair)
        if not isinstance(logits, torch.Tensor) or logits.shape != want.shape:
            return f"logits {getattr(logits, 'shape', logits)!r}, expected shape {tuple(want.shape)}"
        err = (logits.float() - want).abs().max().item()
        return None if err <= TOLERANCE else f"logits differ from the reference by {err:.3g}"

    return check


def _reference_of(pair: str, cast: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[], torch.Tensor]:
    def compute() -> torch.Tensor:
        with torch.no_grad():
            return model(pair)(**{k: cast(v).float() for k, v in inputs(pair).items()})

    return compute


def _expanded_reference(pair: str, stream: str) -> torch.Tensor:
    x = inputs(pair)
    with torch.no_grad():
        return model(pair)(**{**x, stream: x[stream][:1].repeat_interleave(BATCH, dim=0)})


def _set(stream: str, make: Callable[[torch.Tensor], Any]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda x: {**x, stream: make(x[stream])}


def _noncontiguous(x: torch.Tensor) -> torch.Tensor:
    wide = torch.zeros(*x.shape[:-1], 2 * x.shape[-1])
    wide[..., ::2] = x
    out = wide[..., ::2]
    assert not out.is_contiguous()
    return out


def _nested(x: torch.Tensor) -> torch.Tensor:
    return torch.nested.nested_tensor([x[0], x[1, :-1]])


def cases() -> list[Case]:
    cat = Catalogue(AREA)
    for pair in PAIRS:

        def refused(name: str, change: Callable, token: str | tuple[str, ...], item: int = 12) -> None:
            cat.add(f"{pair}/{name}", item, _call(pair, change), token=token)

        def accepted(name: str, change: Callable, expected=None, also_clear: bool = False) -> None:
            cat.add(
                f"{pair}/{name}",
                12,
                _call(pair, change),
                expect=("ok", "clear") if also_clear else ("ok",),
                check=_equals(pair, expected),
            )

        accepted("plain", lambda x: x)
        accepted("one-mapping", lambda x: ((x,), {}))
        accepted("legacy-positional", lambda x: ((x["video"], x["audio"]), {}))
        for s in ("video", "audio"):
            refused(f"{s}-rank-minus-1", _set(s, lambda t: t[:, 0]), s)
            refused(f"{s}-rank-plus-1", _set(s, lambda t: t[None]), s)
            refused(f"{s}-scalar", _set(s, lambda t: t.sum()), s)
            for dtype in (torch.int64, torch.uint8, torch.bool):
                refused(f"{s}-{dtype}".replace("torch.", ""), _set(s, lambda t, d=dtype: t.to(d)), (s, "dtype"))
            refused(f"{s}-complex", _set(s, lambda t: t.to(torch.complex64)), s)
            accepted(f"{s}-float64", _set(s, lambda t: t.double()), also_clear=True)
            accepted(
                f"{s}-float16",
                _set(s, lambda t: t.half()),
                _reference_of(pair, lambda t, s=s, p=pair: t.half() if t.dim() == inputs(p)[s].dim() else t),
                also_clear=True,
            )
            refused(f"{s}-meta", _set(s, lambda t: t.to("meta")), (s, "meta"))
            accepted(f"{s}-non-contiguous", _set(s, _noncontiguous))
            accepted(
                f"{s}-expanded-batch",
                _set(s, lambda t: t[:1].expand_as(t)),
                lambda s=s, p=pair: _expanded_reference(p, s),
            )
            accepted(f"{s}-requires-grad", _set(s, lambda t: t.requires_grad_()))
            refused(f"{s}-missing", lambda x, s=s: {k: v for k, v in x.items() if k != s}, s)
            refused(f"{s}-list", _set(s, lambda t: t.tolist()), s)
            refused(f"{s}-numpy", _set(s, lambda t: t.numpy()), s)
            refused(f"{s}-batch-0", _set(s, lambda t: t[:0]), s)
            refused(
                f"{s}-one-channel-more", _set(s, lambda t: torch.cat([t, t[..., :1, :, :]], dim=-3)), (s, "channel")
            )
            refused(f"{s}-half-size", _set(s, lambda t: t[..., ::2, ::2].contiguous()), (s, "size"))
        accepted("audio-channels-last", _set("audio", lambda t: t.contiguous(memory_format=torch.channels_last)))
        accepted(
            "video-channels-last-frames",
            _set("video", lambda t: t.flatten(0, 1).contiguous(memory_format=torch.channels_last).view(t.shape)),
        )
        refused("both-batch-0", lambda x: {k: v[:0] for k, v in x.items()}, "B=0")
        refused("batch-mismatch", _set("audio", lambda t: torch.cat([t, t[:1]])), "clips")
        refused("video-T-0", _set("video", lambda t: t[:, :0]), ("video", "T=0"))
        refused("video-T-too-long", _set("video", lambda t: t[:, [0, 1, 2, 0, 1]]), ("video", "T=5"))
        refused("video-nested-ragged-T", _set("video", _nested), ("video", "nested"))
        refused("extra-stream", lambda x: {**x, "flow": x["video"]}, "flow")
        refused("no-inputs", lambda x: {}, "missing")
        refused("positional-and-named", lambda x: ((x["video"],), {"audio": x["audio"]}), "positionally")
        refused("three-positional", lambda x: ((x["video"], x["audio"], x["audio"]), {}), "positional")
    return cat.cases
