"""A red-team case and the classifier that turns what it did into one outcome (issue 13).

Outcomes a case may be expected to reach:

* ``clear``: refused with an mmadapt error, or a ``ValueError``/``TypeError``/``FileNotFoundError`` raised by
  mmadapt itself, whose message is ONE line and names the offending key/value/file/stream (``Case.token``);
* ``ok``: accepted, and ``Case.check`` proves the result right (logits equal a reference, values read as given);
* ``intact``: a fault was injected and ``Case.check`` finds the files/model still in the old or the new valid state.

Failures:

* ``raw``: a traceback-type error (``KeyError``, ``AttributeError``, ``ZeroDivisionError``, ``RecursionError``, a
  ``RuntimeError`` or a ``ValueError``/``TypeError`` raised inside torch or the stdlib), or a clear-looking error
  whose message spans lines or does not name the token;
* ``silent``: accepted but wrong (a bad value accepted, or the check failed: NaN weights loaded, "false" read as True);
* ``lost``: a previously good adapter/checkpoint/run folder no longer loads (an ``intact`` case's check failed).
"""

from __future__ import annotations

import dataclasses
import re
import traceback
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmadapt.errors import MMAdaptError

__all__ = ["FAILURES", "OUTCOMES", "Case", "Catalogue", "Verdict", "classify", "classify_error"]

OUTCOMES = ("clear", "ok", "intact")
"""What a case may be expected to reach."""
FAILURES = ("raw", "silent", "lost")
"""What a case reaches when mmadapt is wrong."""

Check = Callable[[Any], "str | None"]
"""``check(result)``: None when the result is right, else one line saying what is wrong."""

_CLEAR_TYPES = (MMAdaptError, ValueError, TypeError, FileNotFoundError)
_RAW_TYPES = (
    KeyError,
    AttributeError,
    IndexError,
    ZeroDivisionError,
    RecursionError,
    RuntimeError,
    UnicodeError,
    AssertionError,
    NotImplementedError,
)
"""Never a deliberate refusal (unless it is also an MMAdaptError): the user gets a traceback to debug."""
_PACKAGE = str(Path(__import__("mmadapt").__file__).parent)


@dataclass(frozen=True)
class Case:
    """One attack: ``run()`` does it (building what it needs), and the outcome is classified by :func:`classify`."""

    id: str
    area: str
    item: int
    """The item of issue 13 the attack belongs to."""
    run: Callable[[], Any]
    expect: Collection[str] = ("clear",)
    """Outcomes that count as a pass (a subset of :data:`OUTCOMES`)."""
    token: str | tuple[str, ...] = ()
    """What a clear message must contain (every one of them): the key, value, file or stream at fault."""
    forbid: tuple[str, ...] = ()
    """What a clear message must NOT contain (misleading advice, e.g. ``missing_audio='zeros'`` for a corrupt file)."""
    check: Check | None = None
    """For an accepted result (``ok``/``intact``): None if right, else what is wrong."""
    after: Callable[[], str | None] | None = None
    """Run after ``run`` whatever happened (e.g. "the model is unchanged"); a problem makes the case ``silent``."""
    lost_on_fail: bool = False
    """A failed ``check`` means data lost (fault cases) rather than a silent wrong result."""
    pending: int | str | None = None
    """Issue 13 item still being fixed (xfail, strict), or ``"defect: ..."`` for one found by this harness."""
    slow: bool = False
    """Runs subprocesses."""

    @property
    def tokens(self) -> tuple[str, ...]:
        return (self.token,) if isinstance(self.token, str) else tuple(self.token)

    @property
    def pending_reason(self) -> str | None:
        if self.pending is None:
            return None
        return self.pending if isinstance(self.pending, str) else f"issue 13 item {self.pending}: in progress"


@dataclass(frozen=True)
class Verdict:
    outcome: str
    detail: str = ""

    def passed(self, case: Case) -> bool:
        return self.outcome in case.expect


def _raised_by_mmadapt(err: BaseException) -> bool:
    """Whether the innermost Python frame of ``err`` is mmadapt's own code (a deliberate raise)."""
    frames = traceback.extract_tb(err.__traceback__)
    return bool(frames) and frames[-1].filename.startswith(_PACKAGE)


def classify_error(case: Case, err: BaseException) -> Verdict:
    """``clear`` or ``raw`` for an exception ``case.run`` raised."""
    name = f"{type(err).__name__}: {err}"
    if isinstance(err, _RAW_TYPES) and not isinstance(err, MMAdaptError):
        return Verdict("raw", name)
    if not isinstance(err, _CLEAR_TYPES):
        return Verdict("raw", name)
    if not isinstance(err, (MMAdaptError, FileNotFoundError)) and not _raised_by_mmadapt(err):
        return Verdict("raw", f"raised inside a dependency: {name}")
    message = str(err)
    if "\n" in message.strip():
        return Verdict("raw", f"multi-line message: {name!r}")
    missing = [t for t in case.tokens if t.lower() not in message.lower()]
    if missing:
        return Verdict("raw", f"message does not name {missing}: {name}")
    misleading = [t for t in case.forbid if t.lower() in message.lower()]
    if misleading:
        return Verdict("raw", f"misleading message (says {misleading}): {name}")
    return Verdict("clear", name)


def classify(case: Case) -> Verdict:
    """Run ``case`` once and name its outcome."""
    try:
        result = case.run()
    except BaseException as err:
        if isinstance(err, KeyboardInterrupt):
            raise
        verdict = classify_error(case, err)
    else:
        verdict = _classify_result(case, result)
    if case.after is not None:
        problem = case.after()
        if problem:
            return Verdict("lost" if case.lost_on_fail else "silent", f"{problem} (after: {verdict.outcome})")
    return verdict


def _classify_result(case: Case, result: Any) -> Verdict:
    if case.check is None:  # nothing proves an accepted bad input right: it was silently taken
        return Verdict("silent", f"accepted: {_short(result)}")
    problem = case.check(result)
    if problem:
        return Verdict("lost" if case.lost_on_fail else "silent", problem)
    return Verdict("intact" if "intact" in case.expect else "ok")


def _short(value: Any, most: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= most else text[:most] + "..."


@dataclass
class Catalogue:
    """Cases of one area, collected by a generator; ids are unique across the whole catalogue."""

    area: str
    cases: list[Case] = field(default_factory=list)

    def add(self, id: str, item: int, run: Callable[[], Any], **kw: Any) -> None:
        self.cases.append(Case(f"{self.area}/{id}", self.area, item, run, **kw))

    def with_pending(self, defects: Mapping[str, str]) -> list[Case]:
        """The cases, those whose id matches a pattern of ``defects`` (regex -> reason) marked pending."""
        out = []
        for case in self.cases:
            reason = next((r for pattern, r in defects.items() if re.fullmatch(pattern, case.id)), None)
            out.append(dataclasses.replace(case, pending=reason) if reason and case.pending is None else case)
        unused = [p for p in defects if not any(re.fullmatch(p, c.id) for c in self.cases)]
        if unused:
            raise ValueError(f"{self.area}: defect patterns match no case: {unused}")
        return out
