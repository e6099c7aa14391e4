"""One base for every config of mmadapt: dict round trip, unknown keys with did-you-mean, type checks, overrides.

Decision: our own small base rather than OmegaConf structured configs or draccus. Either would be a new runtime
dependency for about 200 lines of need, and both want their own container types (OmegaConf's ``DictConfig``) or
their own CLI; our configs are plain dataclasses, are built directly in Python far more often than from files,
and stay plain dataclasses with this mixin.

What a config gets by inheriting :class:`ConfigBase` (a dataclass, frozen or not):

* ``to_dict()``: JSON-ready values (nested configs recursively, tuples as lists); configs that are saved on their
  own (``_stamp_version``) carry the library version under ``"mmadapt_version"``.
* ``from_dict(mapping)``: the inverse. Unknown keys are a :class:`~mmadapt.errors.ConfigError` naming the key and
  the nearest field; nested configs are rebuilt; lists become tuples where the field is a tuple; every value is
  checked against the field's annotation (``X | None``, ``tuple[int, ...]``, ``Literal``, nested configs,
  ``dict``/``Mapping``; a bool is no int and an int no bool; an int is a fine float).
* The same checks when constructed directly (``ConfigBase.__post_init__``; a subclass that has its own
  ``__post_init__`` calls ``super().__post_init__()`` first, then adds its range checks).
* ``replace(**changes)``: a validated copy.
* :func:`apply_overrides` / :func:`parse_override`: the one dotted ``key=value`` parser of the CLI; the text is
  read by the annotation of the field it lands in.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import json
import math
import sys
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Literal, TypeVar

from ._version import __version__
from .errors import ConfigError

__all__ = ["VERSION_KEY", "ConfigBase", "apply_overrides", "did_you_mean", "parse_override", "require_at_least"]

VERSION_KEY = "mmadapt_version"
"""Key of the library version stamp in saved configs."""

C = TypeVar("C", bound="ConfigBase")

_NONE_WORDS = ("none", "null", "~", "")
_TRUE_WORDS = ("true", "1", "yes", "on")
_FALSE_WORDS = ("false", "0", "no", "off")


def did_you_mean(key: str, names: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the name nearest to ``key``, or an empty string."""
    close = difflib.get_close_matches(key, list(names), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def require_at_least(config: object, minimum: int, *names: str) -> None:
    """Refuse a count or size below `minimum`, naming the field: ``DemoConfig.depth must be >= 1, got -1``."""
    for name in names:
        value = getattr(config, name)
        if value is not None and value < minimum:
            raise ConfigError(f"{type(config).__name__}.{name} must be >= {minimum}, got {value!r}")


class ConfigBase:
    """Mixin of every mmadapt config dataclass (see the module docstring)."""

    _stamp_version: ClassVar[bool] = False
    """Whether ``to_dict`` stamps ``mmadapt_version`` (configs saved as files of their own)."""
    _aliases: ClassVar[Mapping[str, str]] = {}
    """Override keys kept for old command lines: ``{"img_size": "transform.img_size"}``."""
    _unsaved: ClassVar[Mapping[str, str]] = {}
    """Fields that are not part of a saved config: ``{field: why}`` (left out of ``to_dict``, refused by
    ``from_dict``)."""

    def __post_init__(self) -> None:
        self._check_fields()

    # ---- dicts ------------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values of every field (nested configs recursively), version-stamped where saved alone."""
        out: dict[str, Any] = {VERSION_KEY: __version__} if self._stamp_version else {}
        out.update(self._fields_dict())
        return out

    def _fields_dict(self) -> dict[str, Any]:
        return {name: _encode(getattr(self, name)) for name in _init_fields(type(self)) if name not in self._unsaved}

    def _to_nested(self) -> Any:
        """This config as a value inside another config's dict."""
        return self._fields_dict()

    @classmethod
    def from_dict(cls: type[C], data: Mapping[str, Any], *, where: str | None = None) -> C:
        """Inverse of :meth:`to_dict`; ``where`` names the config in errors (``ExperimentConfig.data``)."""
        where = where or cls.__name__
        if not isinstance(data, Mapping):
            raise ConfigError(f"{where} must be a mapping, got {type(data).__name__}")
        data = cls._resolve_aliases(cls._migrate(dict(data), where), where)
        if cls._stamp_version:
            data.pop(VERSION_KEY, None)
        fields = _init_fields(cls)
        for key in data:
            if key in cls._unsaved:
                raise ConfigError(f"{where}.{key} is {cls._unsaved[key]}; remove it from the config")
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise ConfigError(
                f"unknown keys in {where}: {unknown}{did_you_mean(str(unknown[0]), fields)}; known: {list(fields)}"
            )
        hints = _hints(cls)
        values = {k: _decode(v, hints[k], f"{where}.{k}", fields[k].metadata) for k, v in data.items()}
        return _construct(cls, values, where)

    @classmethod
    def _resolve_aliases(cls, data: dict[str, Any], where: str) -> dict[str, Any]:
        """Alias keys (``img_size``) moved to their nested place (``transform.img_size``), so a file takes the
        same keys as the command line."""
        for alias in [key for key in data if key in cls._aliases]:
            *parents, leaf = cls._aliases[alias].split(".")
            node = data
            for part in parents:
                child = node.get(part)
                if isinstance(child, ConfigBase):
                    child = child._fields_dict()
                if child is None:
                    child = {}
                if not isinstance(child, Mapping):
                    raise ConfigError(f"{where}.{part} must be a mapping, got {type(child).__name__}")
                node[part] = child = dict(child)
                node = child
            if leaf in node:
                raise ConfigError(f"{where}: {alias!r} and {cls._aliases[alias]!r} name the same value; give one")
            node[leaf] = data.pop(alias)
        return data

    @classmethod
    def _migrate(cls, data: dict[str, Any], where: str) -> dict[str, Any]:
        """Rewrite legacy keys of an incoming dict (the default: none)."""
        return data

    @classmethod
    def _coerce(cls, value: Any, where: str, metadata: Mapping[str, Any]) -> Any:
        """``value`` as an instance of this config (a mapping is rebuilt), for a field annotated with it."""
        if isinstance(value, cls):
            return value
        if isinstance(value, Mapping):
            return cls.from_dict(value, where=where)
        raise ConfigError(f"{where} must be a {cls.__name__} or a mapping, got {value!r}")

    # ---- copies -----------------------------------------------------------------------------------------
    def replace(self: C, **changes: Any) -> C:
        """A copy with ``changes`` applied and validated (unknown names rejected with a suggestion)."""
        fields = _init_fields(type(self))
        unknown = sorted(set(changes) - set(fields))
        if unknown:
            name = type(self).__name__
            raise ConfigError(f"unknown keys for {name}: {unknown}{did_you_mean(unknown[0], fields)}")
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]

    def _check_fields(self) -> None:
        """Check every field against its annotation, storing the normalised value (lists -> tuples...)."""
        cls = type(self)
        hints = _hints(cls)
        for name, f in _init_fields(cls).items():
            value = getattr(self, name)
            normal = _decode(value, hints[name], f"{cls.__name__}.{name}", f.metadata)
            if normal is not value:
                object.__setattr__(self, name, normal)  # frozen dataclasses too


# ---- introspection ----------------------------------------------------------------------------------------
@functools.cache
def _init_fields(cls: type) -> dict[str, dataclasses.Field[Any]]:
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls.__name__} must be a dataclass to use ConfigBase")
    return {f.name: f for f in dataclasses.fields(cls) if f.init}


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls)
    except NameError:  # a class defined in a function, naming its local types: check the fields that resolve
        namespace = vars(sys.modules[cls.__module__])
        hints: dict[str, Any] = {}
        for name, f in _init_fields(cls).items():
            try:
                hints[name] = eval(f.type, dict(namespace)) if isinstance(f.type, str) else f.type
            except NameError:
                hints[name] = Any
        return hints


def _construct(cls: type[C], values: dict[str, Any], where: str) -> C:
    missing = [
        f.name
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
        if f.init
        and f.name not in values
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:  # named here: the dataclass's own TypeError speaks of __init__ arguments
        raise ConfigError(f"{where}: missing field{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))}")
    try:
        return cls(**values)
    except ConfigError as err:
        if "." in where and not str(err).startswith(where):
            raise ConfigError(f"{where}: {err}") from err
        raise
    except TypeError as err:  # a required field missing
        raise ConfigError(f"{where}: {err}") from err


def _is_union(hint: Any) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType)


def _type_name(hint: Any) -> str:
    if isinstance(hint, type) and not typing.get_args(hint):
        return hint.__name__
    return str(hint).replace("typing.", "").replace("collections.abc.", "")


def _config_class(hint: Any) -> type[ConfigBase] | None:
    return hint if isinstance(hint, type) and issubclass(hint, ConfigBase) else None


def _container(hint: Any) -> type | None:
    """``tuple``, ``list`` or ``dict`` for a (possibly parametrised) container hint."""
    origin = typing.get_origin(hint) or hint
    if origin is tuple:
        return tuple
    if origin is list:
        return list
    if origin in (dict, Mapping) or (isinstance(origin, type) and issubclass(origin, Mapping)):
        return dict
    return None


# ---- values -> JSON ---------------------------------------------------------------------------------------
def _encode(value: Any) -> Any:
    if isinstance(value, ConfigBase):
        return value._to_nested()
    if isinstance(value, (tuple, list)):
        return [_encode(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _encode(v) for k, v in value.items()}
    return value


# ---- JSON -> values, checked by annotation ----------------------------------------------------------------
def _shape_fits(value: Any, hint: Any) -> bool:
    """Whether ``value`` could be an instance of ``hint`` at all (picks the arm of a union to report)."""
    if hint is Any:
        return True
    if cls := _config_class(hint):
        return isinstance(value, (cls, Mapping))
    kind = _container(hint)
    if kind is dict:
        return isinstance(value, Mapping)
    if kind is not None:
        return isinstance(value, (list, tuple))
    if typing.get_origin(hint) is Literal:
        return True
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(hint, type) and isinstance(value, hint)


def _decode(value: Any, hint: Any, where: str, metadata: Mapping[str, Any] = types.MappingProxyType({})) -> Any:
    """``value`` checked against ``hint`` and normalised (nested configs built, lists -> tuples, int -> float)."""
    if hint is Any or hint is object:
        return value
    if _is_union(hint):
        args = typing.get_args(hint)
        if value is None and type(None) in args:
            return None
        arms = [a for a in args if a is not type(None)]
        fitting = [a for a in arms if _shape_fits(value, a)]
        if len(fitting) == 1:
            return _decode(value, fitting[0], where, metadata)
        for arm in fitting:
            try:
                return _decode(value, arm, where, metadata)
            except ConfigError:
                continue
        raise ConfigError(f"{where} must be {_type_name(hint)}, got {value!r}")
    if hint is None or hint is type(None):
        if value is None:
            return None
        raise ConfigError(f"{where} must be None, got {value!r}")
    if typing.get_origin(hint) is Literal:
        choices = typing.get_args(hint)
        if any(value == c and type(value) is type(c) for c in choices):
            return value
        raise ConfigError(f"{where} must be one of {choices}, got {value!r}")
    if cls := _config_class(hint):
        return cls._coerce(value, where, metadata)
    kind = _container(hint)
    args = typing.get_args(hint)
    if kind is tuple or kind is list:
        if not isinstance(value, (tuple, list)):
            raise ConfigError(f"{where} must be {_type_name(hint)}, got {value!r}")
        if kind is list:
            item = args[0] if args else Any
            out: Any = [_decode(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
            return value if isinstance(value, list) and all(a is b for a, b in zip(out, value)) else out
        if not args or (len(args) == 2 and args[1] is Ellipsis):
            item = args[0] if args else Any
            out = tuple(_decode(v, item, f"{where}[{i}]") for i, v in enumerate(value))
        else:
            if len(value) != len(args):
                raise ConfigError(f"{where} must be a tuple of {len(args)} values ({_type_name(hint)}), got {value!r}")
            out = tuple(_decode(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
        return value if isinstance(value, tuple) and all(a is b for a, b in zip(out, value)) else out
    if kind is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where} must be a mapping ({_type_name(hint)}), got {value!r}")
        key_hint, item_hint = args if len(args) == 2 else (Any, Any)
        out = {_decode_key(k, key_hint, where): _decode(v, item_hint, f"{where}[{k!r}]") for k, v in value.items()}
        unchanged = isinstance(value, dict) and all(a is b for a, b in zip(out.values(), value.values()))
        return value if unchanged and list(out) == list(value) else out
    if hint is bool:
        if isinstance(value, bool):
            return value
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(value):  # JSON cannot hold it, and no setting means it
                raise ConfigError(f"{where} must be a finite number, got {value!r}")
            return value if isinstance(value, float) else float(value)
    elif isinstance(hint, type):
        if isinstance(value, hint):
            return value
    else:
        return value  # an annotation this base does not interpret (a TypeVar, a Protocol...)
    raise ConfigError(f"{where} must be {_type_name(hint)}, got {type(value).__name__} {value!r}")


def _decode_key(key: Any, hint: Any, where: str) -> Any:
    if hint is int and isinstance(key, str):  # JSON object keys are strings
        try:
            return int(key)
        except ValueError:
            raise ConfigError(f"{where} keys must be integers, got {key!r}") from None
    return _decode(key, hint, f"{where} key")


# ---- dotted overrides -------------------------------------------------------------------------------------
def _suggest_key(cls: type[ConfigBase], name: str, path: list[str]) -> str:
    """`` (did you mean 'train.lr'?)``: the full dotted key, ready to paste; a key given without its section
    (``lr``) is looked for one level down."""
    names = [*_init_fields(cls), *cls._aliases]
    close = difflib.get_close_matches(name, names, n=1)
    if close:
        return f" (did you mean {'.'.join([*path, close[0]])!r}?)"
    nested = []
    for field_name in _init_fields(cls):
        sub = _config_class(_hints(cls)[field_name])
        if sub is not None:
            nested += [f"{field_name}.{key}" for key in (*_init_fields(sub), *sub._aliases) if key == name]
    return f" (did you mean {'.'.join([*path, nested[0]])!r}?)" if nested else ""


def parse_override(item: str) -> tuple[str, str]:
    """``"a.b=3"`` -> ``("a.b", "3")``; the value text is read later by the field's annotation."""
    key, sep, text = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"override {item!r} is not of the form key=value")
    return key, text.strip()


def apply_overrides(config: C, overrides: Iterable[str]) -> C:
    """A copy of ``config`` with dotted ``key=value`` strings applied, each validated (errors name the override).

    Values are read by the annotation of their field: ``3``/``1e-4`` for ints/floats, ``true/false/yes/no/1/0``
    for bools, ``none``/``null`` for an optional field, ``0.9,0.98`` or ``[0.9, 0.98]`` for tuples and lists,
    JSON for mappings; inside a free-form ``dict[str, Any]`` keys may be created and values are JSON (else text).
    """
    if isinstance(overrides, str):
        raise TypeError("apply_overrides takes a list of 'key=value' strings, not one string")
    for item in overrides:
        key, text = parse_override(item)
        try:
            config = _set(config, key.split("."), text, [])
        except ConfigError as err:  # keep the class: an unknown name stays a RegistryError too
            raise type(err)(f"override {item!r}: {err}") from err
    return config


def _set(node: C, parts: list[str], text: str, path: list[str]) -> C:
    cls = type(node)
    name = parts[0]
    if name in cls._aliases:
        parts = [*cls._aliases[name].split("."), *parts[1:]]
        name = parts[0]
    fields = _init_fields(cls)
    if name not in fields:
        raise ConfigError(f"unknown key {'.'.join([*path, name])!r}{_suggest_key(cls, name, path)}")
    hint = _hints(cls)[name]
    metadata = fields[name].metadata
    here = [*path, name]
    current = getattr(node, name)
    if len(parts) == 1:
        value = _coerce_text(text, hint, ".".join(here), metadata)
    elif "role" in metadata and parts[1:] == ["type"]:  # a kind-valued field: switch kind, its defaults
        value = _decode({"type": text}, hint, ".".join(here), metadata)
    else:
        if current is None and "role" in metadata:  # an adapter switched off: start from its default kind
            current = _decode({}, hint, ".".join(here), metadata)
        value = _descend(current, hint, parts[1:], text, here)
    return node.replace(**{name: value})


def _descend(current: Any, hint: Any, parts: list[str], text: str, path: list[str]) -> Any:
    """``current`` (the value at ``path``) with ``parts`` set to ``text`` inside it."""
    if isinstance(current, ConfigBase):
        return _set(current, parts, text, path)
    if _is_union(hint):
        arms = [a for a in typing.get_args(hint) if a is not type(None)]
        hint = next((a for a in arms if _container(a) is dict), arms[0] if len(arms) == 1 else Any)
    if current is None and (hint is Any or _container(hint) is dict):
        current = {}
    if not isinstance(current, Mapping):
        dotted = ".".join([*path, *parts])
        raise ConfigError(f"{'.'.join(path)} is {current!r}, not a config or mapping; cannot set {dotted!r}")
    args = typing.get_args(hint)
    item_hint = args[1] if len(args) == 2 else Any
    key = parts[0]
    where = ".".join([*path, key])
    if len(parts) == 1:
        value = _coerce_text(text, item_hint, where)
    else:
        value = _descend(current.get(key), item_hint, parts[1:], text, [*path, key])
    return {**current, key: value}


def _coerce_text(text: str, hint: Any, where: str, metadata: Mapping[str, Any] = types.MappingProxyType({})) -> Any:
    """The value ``text`` means for a field annotated ``hint`` (checked; ``metadata``: the field's, e.g. its
    adapter role)."""
    if hint is Any or hint is object:
        return _untyped(text)
    if _is_union(hint):
        args = typing.get_args(hint)
        if type(None) in args and text.lower() in _NONE_WORDS:
            return None
        arms = [a for a in args if a is not type(None)]
        if len(arms) == 1:
            return _coerce_text(text, arms[0], where, metadata)
        if text[:1] in "[{":  # JSON: let the value's shape pick the arm
            return _decode(_json(text, where), hint, where, metadata)
        scalars_first = sorted(arms, key=lambda a: _container(a) is not None or _config_class(a) is not None)
        for arm in scalars_first:
            try:
                return _coerce_text(text, arm, where)
            except ConfigError:
                continue
        raise ConfigError(f"{where}: expected {_type_name(hint)}, got {text!r}")
    if typing.get_origin(hint) is Literal:
        for choice in typing.get_args(hint):
            if str(choice) == text or (isinstance(choice, bool) and text.lower() == str(choice).lower()):
                return choice
        raise ConfigError(f"{where}: expected one of {typing.get_args(hint)}, got {text!r}")
    if hint is bool:
        if text.lower() in _TRUE_WORDS:
            return True
        if text.lower() in _FALSE_WORDS:
            return False
        raise ConfigError(f"{where}: expected a boolean (true/false, yes/no, 1/0), got {text!r}")
    if hint is int:
        try:
            return int(text)
        except ValueError:
            raise ConfigError(f"{where}: expected an integer, got {text!r}") from None
    if hint is float:
        try:
            return float(text)
        except ValueError:
            raise ConfigError(f"{where}: expected a number, got {text!r}") from None
    if hint is str:
        return text
    kind = _container(hint)
    if kind in (tuple, list):
        if text.startswith("["):
            return _decode(_json(text, where), hint, where)
        parts = [p.strip() for p in text.split(",")] if text else []
        args = typing.get_args(hint)
        if kind is list or not args or (len(args) == 2 and args[1] is Ellipsis):
            item = args[0] if args else Any
            items = [_coerce_text(p, item, f"{where}[{i}]") for i, p in enumerate(parts)]
            return items if kind is list else tuple(items)
        if len(parts) != len(args):
            raise ConfigError(f"{where}: expected {len(args)} comma-separated values, got {text!r}")
        return tuple(_coerce_text(p, a, f"{where}[{i}]") for i, (p, a) in enumerate(zip(parts, args)))
    if kind is dict or _config_class(hint):
        if not text.startswith("{"):
            raise ConfigError(f"{where}: expected a JSON object ({{...}}), got {text!r}")
        return _decode(_json(text, where), hint, where, metadata)
    return _decode(_untyped(text), hint, where)


def _json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigError(f"{where}: cannot parse {text!r} as JSON ({err.msg})") from None


def _untyped(text: str) -> Any:
    """A value for a free-form field: none/null -> None, JSON where it parses (numbers, bools, lists), else text."""
    if text.lower() in _NONE_WORDS:
        return None
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text
