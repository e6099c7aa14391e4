"""Config values (issue 13 items 8, 9): every leaf field of every ``ConfigBase`` subclass in mmadapt, fed wrong
types, non-finite numbers, negative sizes, ``None`` where required, containers of the wrong kind and unknown keys,
through ``from_dict`` and through ``apply_overrides``.

Which values are wrong is decided here, from the annotation alone (an oracle written apart from
``mmadapt.config_base``), so the cases keep finding holes when the base changes.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
import pkgutil
import re
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from functools import cache
from typing import Any, Literal

import mmadapt
from mmadapt.config_base import ConfigBase, apply_overrides

from ..case import Case, Catalogue

AREA = "config"

SKIP_MODULES = ("mmadapt.cli.__main__",)
"""Modules not imported by the walk: ``python -m mmadapt.cli`` runs ``main`` on import."""

POOL: tuple[tuple[str, Any], ...] = (
    ("str", "abc"),
    ("numeric-str", "3"),
    ("str-false", "false"),
    ("float", 2.5),
    ("int", 3),
    ("bool", True),
    ("none", None),
    ("nan", math.nan),
    ("inf", math.inf),
    ("list", [1, 2]),
    ("dict", {"k": 1}),
)
"""Candidate values for a field; a case is made for each one the field's annotation cannot take."""

TEXTS: tuple[str, ...] = ("abc", "2.5", "nan", "inf", "maybe")
"""Candidate override texts for scalar fields (``-1`` is added for sizes)."""

SIZE_NAME = re.compile(
    r"size|dim|depth|heads|^num_|frames|batch|epochs|workers|bins|length|clips|prompts|classes|"
    r"latent|channels|_every|max_|keep_|accum|fps|rate|stride|patch"
)
"""Int fields that count or measure something: -1 is never meaningful there."""
NOT_SIZE = re.compile(r"seed|rank|offset|index|shift")


DELIBERATE: dict[tuple[str, str], str] = {
    ("ExperimentConfig", "none"): "an empty YAML section (None) means that section's defaults",
}
"""(class, value label) -> why the base takes that value on purpose: such a case expects ``ok`` (the defaults)."""

DEFECTS: dict[str, str] = {}
"""Case-id patterns of defects this harness found on main, kept as pending until fixed."""


def _bases() -> dict[str, Callable[[], ConfigBase]]:
    """Valid instances of the configs that have required fields (no defaults to start from)."""
    from mmadapt.anatomy import BackboneIdentity
    from mmadapt.backbones.vit_config import ViTBackboneConfig
    from mmadapt.study.config import StudyConfig

    return {
        "BackboneIdentity": lambda: BackboneIdentity(
            family="timm-vit",
            cls="VisionTransformer",
            width=32,
            depth=2,
            num_prefix_tokens=1,
            in_chans=3,
            input_size=(32, 32),
            patch_size=(8, 8),
        ),
        "ViTBackboneConfig": lambda: ViTBackboneConfig(embed_dim=32, depth=2, num_heads=2),
        "StudyConfig": lambda: StudyConfig(synthetic="expressions"),  # a study needs one source
    }


@cache
def config_classes() -> tuple[type[ConfigBase], ...]:
    """Every ConfigBase subclass defined in mmadapt (all its modules imported first)."""
    for info in pkgutil.walk_packages(mmadapt.__path__, "mmadapt."):
        if info.name not in SKIP_MODULES:
            importlib.import_module(info.name)

    def walk(cls: type) -> Iterator[type]:
        for sub in cls.__subclasses__():
            yield sub
            yield from walk(sub)

    found = {c for c in walk(ConfigBase) if c.__module__.startswith("mmadapt.")}
    return tuple(sorted(found, key=lambda c: f"{c.__module__}.{c.__qualname__}"))


def base_instance(cls: type[ConfigBase]) -> ConfigBase:
    factory = _bases().get(cls.__name__)
    return factory() if factory else cls()


# ---- the oracle: which values an annotation can take --------------------------------------------------------
def accepts(hint: Any, value: Any) -> bool | None:
    """True/False when the annotation alone decides; None when it cannot (a nested config's own fields)."""
    if hint is Any or hint is object or isinstance(hint, typing.TypeVar):
        return True
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        answers = [accepts(a, value) for a in args]
        return True if True in answers else (None if None in answers else False)
    if hint is type(None) or hint is None:
        return value is None
    if origin is Literal:
        return any(value == c and type(value) is type(c) for c in args)
    if isinstance(hint, type) and issubclass(hint, ConfigBase):
        return None if isinstance(value, Mapping) else isinstance(value, hint)
    if origin in (tuple, list) or hint in (tuple, list):
        if not isinstance(value, (list, tuple)):
            return False
        if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis) and len(args) != len(value):
            return False
        items = args[:1] if origin is list or (len(args) == 2 and args[1] is Ellipsis) else args
        if not items:
            return True
        answers = [accepts(items[0] if len(items) == 1 else items[i], v) for i, v in enumerate(value)]
        return False if False in answers else (None if None in answers else True)
    if origin in (dict, Mapping) or hint in (dict, Mapping) or origin is typing.get_origin(Mapping[str, int]):
        return None if isinstance(value, Mapping) else False
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if isinstance(hint, type):
        return isinstance(value, hint)
    return None


def accepts_text(hint: Any, text: str) -> bool | None:
    """Whether override text ``text`` is a valid value of a scalar field (None: not a scalar annotation)."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        arms = [a for a in args if a is not type(None)]
        if type(None) in args and text.lower() in ("none", "null", "~", ""):
            return True
        answers = [accepts_text(a, text) for a in arms]
        return True if True in answers else (None if None in answers else False)
    if typing.get_origin(hint) is Literal:
        return any(str(c) == text for c in args)
    if hint is bool:
        return text.lower() in ("true", "false", "yes", "no", "on", "off", "1", "0")
    if hint is int:
        return re.fullmatch(r"[+-]?\d+", text.strip()) is not None
    if hint is float:
        try:
            return math.isfinite(float(text))
        except ValueError:
            return False
    if hint is str:
        return True
    return None


def _pick(hint: Any, bad: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """One wrong value per JSON kind, the one that is a trap for this annotation: ``"false"`` for a bool, ``"3"`` for
    a number, non-finite numbers only where a float is taken, a list or (if lists are fine) a mapping."""
    labels = [label for label, _ in bad]
    strings = [label for label in labels if label in ("str", "numeric-str", "str-false")]
    numeric = accepts(hint, 2.5) is not False or accepts(hint, 3) is not False
    prefer = "str-false" if accepts(hint, False) is not False else "numeric-str" if numeric else "str"
    keep_str = prefer if prefer in strings else (strings[0] if strings else None)
    floaty = accepts(hint, 2.5) is not False
    out = []
    for label, value in bad:
        if label in ("str", "numeric-str", "str-false") and label != keep_str:
            continue
        if label in ("nan", "inf") and not floaty:
            continue
        if label == "dict" and "list" in labels:
            continue
        out.append((label, value))
    return out


def _pick_texts(hint: Any, texts: list[str]) -> list[str]:
    """Override texts that are wrong for ``hint``, without repeats of one kind (a word, a fraction, non-finite)."""
    floaty = accepts_text(hint, "2.5") is not False
    out = [t for t in texts if accepts_text(hint, t) is False and (floaty or t not in ("nan", "inf"))]
    return [t for t in out if not (t == "maybe" and "abc" in out)]


def _scalar(hint: Any) -> Any:
    """The non-None arm of ``X | None`` when X is int/float/bool/Literal, else ``hint``."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    return args[0] if len(args) == 1 and typing.get_origin(hint) is not Literal else hint


def is_size(name: str, hint: Any) -> bool:
    return _scalar(hint) is int and bool(SIZE_NAME.search(name)) and not NOT_SIZE.search(name)


# ---- the cases ----------------------------------------------------------------------------------------------
def _from_dict(cls: type[ConfigBase], data: dict[str, Any]) -> Callable[[], Any]:
    return lambda: cls.from_dict(data)


def _override(base: ConfigBase, item: str) -> Callable[[], Any]:
    return lambda: apply_overrides(base, [item])


def _same(base: ConfigBase) -> Callable[[Any], str | None]:
    return lambda got: None if got == base else f"round trip changed the config: {got!r}"


def _misspell(name: str) -> str:
    return name[:-1] + ("x" if name[-1] != "x" else "y")


def cases() -> list[Case]:
    from mmadapt.config_base import _hints, _init_fields  # the fields as the base sees them

    cat = Catalogue(AREA)
    for cls in config_classes():
        name = cls.__name__
        base = base_instance(cls)
        good = base.to_dict()
        cat.add(f"{name}/round-trip", 8, _from_dict(cls, good), expect=("ok",), check=_same(base))
        cat.add(f"{name}/unknown-key", 8, _from_dict(cls, {**good, "bogus_key": 1}), token="bogus_key")
        cat.add(f"{name}/override-unknown-key", 9, _override(base, "bogus_key=1"), token="bogus_key")
        hints = _hints(cls)
        for field, f in _init_fields(cls).items():
            if field in cls._unsaved:
                continue
            hint = hints[field]
            cat.add(
                f"{name}.{field}/misspelt",
                8,
                _from_dict(cls, {**good, _misspell(field): good.get(field)}),
                token=(_misspell(field), field),
            )
            for label, value in _pick(hint, [(k, v) for k, v in POOL if accepts(hint, v) is False]):
                data = {**good, field: value}
                if (name, label) in DELIBERATE:
                    cat.add(f"{name}.{field}/{label}", 8, _from_dict(cls, data), expect=("ok",), check=_same(base))
                else:
                    cat.add(f"{name}.{field}/{label}", 8, _from_dict(cls, data), token=field)
            if is_size(field, hint):
                cat.add(f"{name}.{field}/negative", 8, _from_dict(cls, {**good, field: -1}), token=(field, "-1"))
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                missing = {k: v for k, v in good.items() if k != field}
                cat.add(f"{name}.{field}/missing-required", 9, _from_dict(cls, missing), token=field)
            texts = [*TEXTS, "-1"] if is_size(field, hint) else TEXTS
            for text in _pick_texts(hint, texts):
                cat.add(f"{name}.{field}/override={text}", 9, _override(base, f"{field}={text}"), token=(field, text))
    return cat.with_pending(DEFECTS)
