"""One registry type for everything mmadapt looks up by name: anatomies, presets, adapter kinds, backbone builders,
losses and CLI commands.

Why one type: six hand-written dictionaries had six rules for names, duplicates and unknown-name errors. Here every
registry validates the same way, lists with the same shell-style patterns (``list("mma-*")``, as timm's
``list_models``) and answers an unknown name with one error class that names the close matches.
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
import re
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar, overload

from .errors import RegistryError

__all__ = ["Registry", "RegistryError", "defer_registrations"]

T = TypeVar("T")

NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.\-]*"
"""Default rule for names: letters, digits, ``_``, ``.`` and ``-``, not starting with punctuation."""


_DEFERRED: dict[str, list[str]] = {}
"""Registry ``what`` -> modules whose import registers entries in it, imported on that registry's first use."""


def defer_registrations(what: str, module: str) -> None:
    """Import ``module`` (a dotted path) on the first use of the registry named ``what``, not now.

    Why: the package root wires the method wings (their presets and backbone builders) into the core registries;
    importing them eagerly would import torch and timm for every ``import mmadapt.cli``. Any use of the registry,
    registering included, imports them first, so a built-in entry is there (and can be overridden) exactly as if
    it had been registered at import time.
    """
    modules = _DEFERRED.setdefault(what, [])
    if module not in modules:
        modules.append(module)


class Registry(Generic[T]):
    """Name -> entry, with validated registration.

    ``what`` names the kind of entry in messages (``"preset"``, ``"fusion kind"``). ``validate(name, entry)`` may
    raise ``TypeError``/``ValueError`` to refuse an entry; ``pattern`` is the regular expression a name must match
    in full. Registering a taken name is an error unless ``override=True`` or the entry is the very same object
    or an equal one (a preset record of the same function and figures, registered again by a re-run module);
    ``describe(entry)`` names the holder in that error (default: the entry's dotted path).
    """

    def __init__(
        self,
        what: str,
        *,
        validate: Callable[[str, T], None] | None = None,
        pattern: str = NAME_PATTERN,
        describe: Callable[[T], str] | None = None,
    ) -> None:
        self.what = what
        self._validate = validate
        self._describe = describe or _describe
        self._pattern = re.compile(pattern)
        self._entries: dict[str, T] = {}

    def _loaded(self) -> dict[str, T]:
        """The entries, after importing the modules deferred for this registry (once; a failed import retries)."""
        while _DEFERRED.get(self.what):
            module = _DEFERRED[self.what].pop(0)  # popped first: the module registers into this very registry
            try:
                importlib.import_module(module)
            except BaseException:
                _DEFERRED[self.what].insert(0, module)
                raise
        return self._entries

    # ---- registration ---------------------------------------------------------------------------------
    @overload
    def register(self, name: str, entry: None = None, *, override: bool = False) -> Callable[[T], T]: ...

    @overload
    def register(self, name: str, entry: T, *, override: bool = False) -> T: ...

    def register(self, name: str, entry: T | None = None, *, override: bool = False) -> T | Callable[[T], T]:
        """Register ``entry`` under ``name``; without ``entry`` this is a decorator."""

        def _register(e: T) -> T:
            if not isinstance(name, str) or not self._pattern.fullmatch(name):
                raise RegistryError(f"invalid {self.what} name {name!r}: it must match {self._pattern.pattern}")
            if self._validate is not None:
                self._validate(name, e)
            old = self._loaded().get(name)
            if old is not None and old is not e and old != e and not override:  # an equal record: a no-op
                raise RegistryError(
                    f"a {self.what} named {name!r} is already registered ({self._describe(old)}); "
                    "pass override=True to replace it"
                )
            self._entries[name] = e
            return e

        return _register if entry is None else _register(entry)

    def unregister(self, name: str) -> T:
        """Remove and return the entry ``name`` (tests and plugins that register temporarily)."""
        self.get(name)
        return self._loaded().pop(name)

    # ---- look-up --------------------------------------------------------------------------------------
    def get(self, name: str) -> T:
        """The entry ``name``; an unknown name raises :class:`RegistryError` naming the close matches."""
        try:
            return self._loaded()[name]
        except (KeyError, TypeError):
            raise RegistryError(self.unknown_message(name)) from None

    def unknown_message(self, name: object) -> str:
        close = difflib.get_close_matches(str(name), list(self._loaded()), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        known = ", ".join(self.list()) or "none"
        return f"unknown {self.what} {name!r}{hint} (registered: {known})"

    def list(self, pattern: str = "*") -> list[str]:
        """Registered names matching the shell-style ``pattern`` (``"mma-*"``), sorted."""
        return sorted(n for n in self._loaded() if fnmatch.fnmatchcase(n, pattern))

    def items(self) -> list[tuple[str, T]]:
        """(name, entry) pairs in registration order."""
        return list(self._loaded().items())

    def __contains__(self, name: object) -> bool:
        return name in self._loaded()

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._loaded()))

    def __len__(self) -> int:
        return len(self._loaded())

    def __repr__(self) -> str:
        return f"Registry({self.what!r}, {len(self)} entries)"


def _describe(entry: object) -> str:
    name = getattr(entry, "__qualname__", None) or type(entry).__qualname__
    module = getattr(entry, "__module__", None)
    return f"{module}.{name}" if module else str(name)
