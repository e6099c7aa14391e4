"""Adapter files (issue 13 items 2, 8, 9): a saved adapter whose ``adapter_config.json`` or safetensors file was
tampered with, field by field and tensor by tensor, or damaged as a whole. Loading must refuse with a message naming
the field/key/file, and a strict load must leave the model it loads into unchanged; where a tampered value is
harmless (a record that loading does not use) it may load, and then the logits must be the saved model's.
"""

from __future__ import annotations

import copy
import json
import math
import os
import shutil
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

import mmadapt
from mmadapt.checkpoint import CONFIG_NAME, WEIGHTS_NAME
from tests.core.backbones import timm_vit
from tests.core.helpers import randomise_gates, snapshot, wrap

from ..case import Case, Catalogue
from ._tmp import fresh_dir

AREA = "adapter"
LATENT = 16
TOLERANCE = 1e-5
"""Float32 round-off between two thread counts; a wrong load differs by orders of magnitude more."""
INFORMATIONAL = (
    "mmadapt_version",
    "num_tensors",
    "num_parameters",
    "preset",
    "config.preset",
    "config.grad_checkpointing",
)
"""Config entries a load does not need: a tampered value there may load (the logits must still be the saved ones)."""


@cache
def _backbones() -> tuple[torch.nn.Module, torch.nn.Module]:
    torch.manual_seed(0)
    return timm_vit(1, size=(64, 32), depth=2)[0], timm_vit(3, depth=2)[0]


def _fresh_pair() -> tuple[torch.nn.Module, torch.nn.Module]:
    return tuple(copy.deepcopy(b) for b in _backbones())  # type: ignore[return-value]


@cache
def _inputs() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(2)
    return {"video": torch.randn(2, 3, 3, 32, 32, generator=g), "audio": torch.randn(2, 1, 64, 32, generator=g)}


def _logits(model: torch.nn.Module) -> torch.Tensor:
    with torch.no_grad():
        return model(**_inputs())


def _model(seed: int) -> mmadapt.MultimodalAdapterModel:
    torch.manual_seed(seed)
    m = wrap(*_fresh_pair(), fusion={"latent_dim": LATENT})
    randomise_gates(m, seed)
    with torch.no_grad():
        for p in m.pos_embeds.parameters():
            p.add_(0.1 * (seed + 1))
    return m


@cache
def template() -> tuple[Path, torch.Tensor]:
    """A saved adapter and the logits of the model that saved it."""
    m = _model(1)
    folder = fresh_dir() / "template"
    m.save_adapter(folder)
    return folder, _logits(m)


@cache
def target() -> mmadapt.MultimodalAdapterModel:
    """The model tampered adapters are loaded into (other adapter values than the template's)."""
    return _model(2)


@cache
def _target_state() -> dict[str, torch.Tensor]:
    return snapshot(target())


def _target_unchanged() -> str | None:
    """The target as it was; restored if a load changed it, so the next case starts clean."""
    state = _target_state()
    now = snapshot(target())
    changed = [k for k in state if not torch.equal(state[k], now[k])]
    if changed:
        target().load_state_dict(state)
        return f"the model was changed by a load that did not succeed cleanly: {changed[:3]}"
    return None


def _copy() -> Path:
    folder = fresh_dir() / "adapter"
    shutil.copytree(template()[0], folder)
    return folder


def _tampered(edit: Callable[[Path], None]) -> Path:
    folder = _copy()
    edit(folder)
    return folder


# ---- entry points -------------------------------------------------------------------------------------------
def _from_pretrained(edit: Callable[[Path], None]) -> Callable[[], Any]:
    return lambda: _logits(mmadapt.MultimodalAdapterModel.from_pretrained(_tampered(edit), *_fresh_pair()))


def _load_into_target(edit: Callable[[Path], None]) -> Callable[[], Any]:
    def run() -> Any:
        target().load_adapter(_tampered(edit))
        return _logits(target())

    return run


def _saved_logits(logits: Any) -> str | None:
    want = template()[1]
    err = (logits - want).abs().max().item()
    return None if err <= TOLERANCE else f"loaded, but the logits differ from the saved model's by {err:.3g}"


# ---- JSON edits ---------------------------------------------------------------------------------------------
def _edit_json(change: Callable[[dict], None]) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        path = folder / CONFIG_NAME
        data = json.loads(path.read_text())
        change(data)
        path.write_text(json.dumps(data))  # allow_nan: a NaN here is what a hand edit can leave

    return edit


def _leaves(node: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    if isinstance(node, dict) and node:
        for k, v in node.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(node, list) and node and not all(isinstance(v, (int, float)) for v in node):
        for i, v in enumerate(node):
            yield from _leaves(v, (*path, i))
    else:
        yield path, node


def _set_at(path: tuple, value: Any) -> Callable[[dict], None]:
    def change(data: dict) -> None:
        node = data
        for p in path[:-1]:
            node = node[p]
        node[path[-1]] = value

    return change


def _delete_at(path: tuple) -> Callable[[dict], None]:
    def change(data: dict) -> None:
        node = data
        for p in path[:-1]:
            node = node[p]
        del node[path[-1]]

    return change


def _wrong_values(value: Any) -> list[tuple[str, Any]]:
    """Values of another JSON type than ``value`` (and the string form of a boolean)."""
    if isinstance(value, bool):
        return [("str-bool", str(not value).lower()), ("int", int(not value)), ("null", None)]
    if isinstance(value, int):
        return [("str", "abc"), ("numeric-str", str(value)), ("float", value + 0.5), ("null", None), ("bool", True)]
    if isinstance(value, float):
        return [("str", "abc"), ("nan", math.nan), ("inf", math.inf), ("null", None)]
    if isinstance(value, str):
        return [("int", 3), ("null", None), ("list", [value])]
    if value is None:
        return [("str", "abc"), ("int", -3)]
    if isinstance(value, list):
        return [("str", "x"), ("object", {"0": value}), ("short", value[:1] or [1])]
    if isinstance(value, dict):
        return [("list", [1]), ("str", "x")]
    return []


def _field_token(path: tuple) -> str:
    """What a message about the leaf at ``path`` must name: the field, or for a kind's ``type`` or a stream's
    ``name`` the entry holding it."""
    if path[-1] == "type":
        return str(path[-2])
    if path[-1] in ("name", "per_frame") or isinstance(path[-1], int):
        return str(next(p for p in reversed(path) if isinstance(p, str) and p not in ("name", "per_frame")))
    return str(path[-1])


def _dotted(path: tuple) -> str:
    return ".".join(map(str, path))


# ---- weights edits ------------------------------------------------------------------------------------------
def _edit_weights(change: Callable[[dict[str, torch.Tensor]], None], metadata: dict[str, str] | None = None):
    def edit(folder: Path) -> None:
        path = folder / WEIGHTS_NAME
        state = _read_weights(path)
        change(state)
        save_file(state, str(path), metadata=metadata or {"format": "mmadapt-adapter", "format_version": "2"})

    return edit


def _representative_keys() -> list[str]:
    """One tensor per adapter part (the first of each ``a.b`` prefix), plus a fusion gate (a 1-element tensor)."""
    state = load_file(str(template()[0] / WEIGHTS_NAME))
    seen: dict[str, str] = {}
    for key in sorted(state):
        seen.setdefault(".".join(key.split(".")[:2]), key)
    gate = next(k for k in sorted(state) if ".gate." in k)
    return sorted({*seen.values(), gate})


def _tensor_edits(key: str) -> list[tuple[str, Callable[[dict[str, torch.Tensor]], None], str]]:
    def to(dtype: torch.dtype) -> Callable:
        return lambda s: s.__setitem__(key, s[key].to(dtype))

    def grow(s: dict) -> None:
        t = s[key]
        s[key] = torch.cat([t, t[:1]]) if t.dim() else t[None]

    def poison(value: float) -> Callable:
        def change(s: dict) -> None:
            t = s[key].clone()
            t.view(-1)[0] = value
            s[key] = t

        return change

    return [
        ("int64", to(torch.int64), "dtype"),
        ("bool", to(torch.bool), "dtype"),
        ("complex", to(torch.complex64), "dtype"),
        ("shape", grow, "shape"),
        ("missing", lambda s: s.pop(key), "missing"),
        ("nan", poison(math.nan), "non-finite"),
        ("inf", poison(math.inf), "non-finite"),
    ]


# ---- whole-file damage --------------------------------------------------------------------------------------
def _write(name: str, data: bytes) -> Callable[[Path], None]:
    return lambda folder: (folder / name).write_bytes(data)


def _truncate(name: str, fraction: float) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        path = folder / name
        data = path.read_bytes()
        path.write_bytes(data[: max(1, int(len(data) * fraction))])

    return edit


def _remove(name: str) -> Callable[[Path], None]:
    return lambda folder: (folder / name).unlink()


def _make_dir(name: str) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        (folder / name).unlink()
        (folder / name).mkdir()

    return edit


def _other_model_weights(folder: Path) -> None:
    torch.manual_seed(5)
    other = wrap(*_fresh_pair(), fusion={"latent_dim": LATENT // 2})
    scratch = fresh_dir()
    other.save_adapter(scratch)
    shutil.copy(scratch / WEIGHTS_NAME, folder / WEIGHTS_NAME)


def _read_weights(path: Path) -> dict[str, torch.Tensor]:
    """The tensors copied out of the file: ``load_file`` maps it, and rewriting a mapped file in place is a bus
    error."""
    return {k: v.clone() for k, v in load_file(str(path)).items()}


def _pickled_weights(folder: Path) -> None:
    torch.save(_read_weights(folder / WEIGHTS_NAME), folder / WEIGHTS_NAME)


def _damage() -> list[tuple[str, Callable[[Path], None], str]]:
    out = [
        ("config-empty", _write(CONFIG_NAME, b""), CONFIG_NAME),
        ("config-garbage", _write(CONFIG_NAME, os.urandom(256)), CONFIG_NAME),
        ("config-latin1", _write(CONFIG_NAME, '{"preset": "caf\xe9"}'.encode("latin-1")), CONFIG_NAME),
        ("config-deep-list", _write(CONFIG_NAME, b"[" * 100_000), CONFIG_NAME),
        ("config-deep-object", _write(CONFIG_NAME, b'{"a":' * 100_000), CONFIG_NAME),
        ("config-a-list", _write(CONFIG_NAME, b"[1, 2]"), CONFIG_NAME),
        ("config-missing", _remove(CONFIG_NAME), CONFIG_NAME),
        ("config-a-folder", _make_dir(CONFIG_NAME), CONFIG_NAME),
        ("weights-empty", _write(WEIGHTS_NAME, b""), WEIGHTS_NAME),
        ("weights-garbage", _write(WEIGHTS_NAME, os.urandom(4096)), WEIGHTS_NAME),
        ("weights-missing", _remove(WEIGHTS_NAME), WEIGHTS_NAME),
        ("weights-a-folder", _make_dir(WEIGHTS_NAME), WEIGHTS_NAME),
        ("weights-pickle", _pickled_weights, WEIGHTS_NAME),
        ("weights-of-another-model", _other_model_weights, "shape"),
        (
            "weights-extra-key",
            _edit_weights(lambda s: s.__setitem__("fusion.9.gate.audio", torch.zeros(1))),
            "fusion.9.gate.audio",
        ),
        ("weights-no-metadata", _edit_weights(lambda s: None, metadata={}), None),
        ("weights-stamped-format-1", _edit_weights(lambda s: None, {"format_version": "1"}), "format"),
        ("weights-stamped-format-99", _edit_weights(lambda s: None, {"format_version": "99"}), "99"),
    ]
    for fraction in (0.001, 0.05, 0.5, 0.999):
        out.append((f"weights-truncated-{fraction}", _truncate(WEIGHTS_NAME, fraction), WEIGHTS_NAME))
    for fraction in (0.1, 0.5, 0.99):
        out.append((f"config-truncated-{fraction}", _truncate(CONFIG_NAME, fraction), CONFIG_NAME))
    return out


def _format_versions() -> list[tuple[str, Any]]:
    return [
        ("99", 99),
        ("abc", "abc"),
        ("str-2", "2"),
        ("float-2.0", 2.0),
        ("true", True),
        ("null", None),
        ("minus-1", -1),
        ("zero", 0),
        ("three", 3),
    ]


def cases() -> list[Case]:
    cat = Catalogue(AREA)
    saved = json.loads((template()[0] / CONFIG_NAME).read_text())
    cat.add("round-trip/from_pretrained", 8, _from_pretrained(lambda f: None), expect=("ok",), check=_saved_logits)
    cat.add(
        "round-trip/load_adapter",
        8,
        _load_into_target(lambda f: None),
        expect=("ok",),
        check=_saved_logits,
        after=lambda: target().load_state_dict(_target_state()) and None,
    )
    for path, value in _leaves(saved):
        name = _dotted(path)
        token = _field_token(path)
        lenient = {"expect": ("clear", "ok"), "check": _saved_logits}
        if path[-1] != "format_version":  # a missing field with a default takes it: fine if the model is the same
            cat.add(f"json/{name}/deleted", 8, _from_pretrained(_edit_json(_delete_at(path))), **lenient)
        for label, wrong in _wrong_values(value):
            # a value of another type is never read as something else ("false" as True); a null had no type to
            # break, and a record nobody reads may hold anything: both may load if the model is the saved one
            loose = name in INFORMATIONAL or value is None or label == "short"
            cat.add(
                f"json/{name}/{label}",
                8,
                _from_pretrained(_edit_json(_set_at(path, wrong))),
                token=() if loose else token,
                **(lenient if loose else {}),
            )
    for label, version in _format_versions():
        edit = _edit_json(_set_at(("format_version",), version))
        cat.add(f"format_version/{label}", 8, _from_pretrained(edit), token="format_version")
        cat.add(
            f"format_version/{label}/load_adapter",
            8,
            _load_into_target(edit),
            token="format_version",
            after=_target_unchanged,
        )
    cat.add(
        "format_version/missing",
        8,
        _from_pretrained(_edit_json(_delete_at(("format_version",)))),
        token="format_version",
    )
    for key in _representative_keys():
        for label, change, token in _tensor_edits(key):
            shown = key if label != "missing" else key.rsplit(".", 1)[0]
            cat.add(
                f"tensor/{key}/{label}",
                8 if label not in ("nan", "inf") else 2,
                _load_into_target(_edit_weights(change)),
                token=(shown, token),
                after=_target_unchanged,
            )
        cat.add(
            f"tensor/{key}/float16",
            8,
            _load_into_target(_edit_weights(lambda s, k=key: s.__setitem__(k, s[k].half()))),
            expect=("ok", "clear"),
            check=lambda logits: None if torch.isfinite(logits).all() else "non-finite logits",
            token=key,
            after=lambda: target().load_state_dict(_target_state()) and None,
        )
    for label, edit, token in _damage():
        if token is None:  # a file written by hand without metadata loads as is
            cat.add(f"file/{label}", 8, _from_pretrained(edit), expect=("ok",), check=_saved_logits)
            continue
        cat.add(f"file/{label}", 8, _from_pretrained(edit), token=token)
        cat.add(f"file/{label}/load_adapter", 8, _load_into_target(edit), token=token, after=_target_unchanged)
    cat.add(
        "backbones/swapped-order",
        8,
        lambda: mmadapt.MultimodalAdapterModel.from_pretrained(template()[0], *reversed(_fresh_pair())),
        token="in_chans",
    )
    cat.add(
        "backbones/deeper-video",
        8,
        lambda: mmadapt.MultimodalAdapterModel.from_pretrained(
            template()[0], _fresh_pair()[0], timm_vit(3, depth=3)[0]
        ),
        token="depth",
    )
    cat.add(
        "backbones/unknown-stream-keyword",
        8,
        lambda: mmadapt.MultimodalAdapterModel.from_pretrained(
            template()[0], audio=_fresh_pair()[0], flow=_fresh_pair()[1]
        ),
        token="flow",
    )
    return cat.with_pending(DEFECTS)


DEFECTS: dict[str, str] = {}
"""Case-id patterns of defects this harness found on main, kept as pending until fixed."""
