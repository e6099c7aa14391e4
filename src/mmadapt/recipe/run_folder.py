"""Run folders: a folder belongs to one training run, and one process at a time trains into it.

A run is named by a random run id, written to ``run.json`` when the run claims its folder and stamped into each of
its checkpoints and its summary. :func:`claim_run_folder` first takes an exclusive lock (``.mmadapt.lock`` through
`filelock`; the OS drops it when the holder dies, so a lock left by ``kill -9`` is simply taken over; the holder's
pid is kept beside it for the message a second run gets; both files are gone again once the claim ends), then
decides whose folder it is:

* no run outputs in it (checkpoints, log, summary, adapter) -> a new run;
* another run's files -> refused, unless ``resume`` continues that run or ``overwrite`` replaces it (its checkpoints
  and summary are deleted at once; its log, adapter and plots are replaced as the new run writes them);
* run files but no ``run.json`` (written before run ids existed) -> adopted, with a warning, when resumed; its
  checkpoints without a run id count as the run's.

Pruning and ``resume='auto'`` then consider only the checkpoints of the claimed run (:attr:`RunClaim.checkpoint_ids`).
A process that already holds a folder (the CLI claims it before it writes the experiment file, the trainer claims it
again) gets its claim back instead of a deadlock. Under DDP only rank 0 locks and writes; the other ranks read the
run id it wrote.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import time
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from .._io import write_json
from ..errors import RunFolderError, RunFolderInUseError
from .checkpoint import checkpoint_files, read_checkpoint_run_id

__all__ = [
    "HOLDER_FILE",
    "LOCK_FILE",
    "RUN_FILE",
    "RunClaim",
    "claim_run_folder",
    "inspect_run_folder",
    "run_files",
]

logger = logging.getLogger(__name__)

RUN_FILE = "run.json"
LOCK_FILE = ".mmadapt.lock"
HOLDER_FILE = ".mmadapt.lock.json"
RUN_FORMAT = "mmadapt.run/1"
_OUTPUTS = ("summary.json", "metrics.jsonl", "adapter")  # beside run.json and checkpoints: what marks a run's folder
_DELETED_ON_OVERWRITE = ("summary.json", "test_metrics.json")

Start = Literal["new", "resumed", "overwrote", "adopted"]


@dataclass(frozen=True)
class RunClaim:
    """Who a run folder belongs to, decided once per run."""

    out_dir: Path
    run_id: str
    start: Start
    """'new' (empty folder), 'resumed' (its run continues), 'overwrote' (another run replaced), 'adopted'
    (a folder without run.json, resumed)."""
    legacy_checkpoints: bool = False
    """Whether checkpoints without a run id (older mmadapt) count as this run's."""
    replaced_run: str | None = None
    """The run id that 'overwrote' replaced."""
    history: tuple[dict[str, Any], ...] = field(default=(), repr=False)

    @property
    def checkpoint_ids(self) -> frozenset[str | None]:
        """Run ids whose checkpoints are this run's (None: checkpoints without one)."""
        return frozenset({self.run_id, None}) if self.legacy_checkpoints else frozenset({self.run_id})


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


def run_files(out_dir: str | os.PathLike[str]) -> list[str]:
    """The outputs of a training run in `out_dir` (relative names; empty for a fresh folder). ``run.json`` alone is
    not among them: a run that failed before writing anything leaves nothing to protect."""
    out = Path(out_dir)
    found = [name for name in _OUTPUTS if (out / name).exists() and not _empty_file(out / name)]
    found += [f"checkpoints/{path.name}" for _, path in checkpoint_files(out)]
    return found


def _empty_file(path: Path) -> bool:
    """An empty log (a run that failed before its first step) holds nothing to protect."""
    return path.is_file() and path.stat().st_size == 0


def _read_marker(out: Path) -> dict[str, Any] | None:
    path = out / RUN_FILE
    if not path.exists():
        return None
    try:
        marker = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise RunFolderError(
            f"{path} is damaged ({type(err).__name__}); pass --overwrite to start a new run in {out}"
        ) from None
    if not isinstance(marker, dict) or not isinstance(marker.get("run_id"), str):
        raise RunFolderError(f"{path} names no run (no 'run_id'); pass --overwrite to start a new run in {out}")
    return marker


def _describe(out: Path, marker: dict[str, Any] | None, files: list[str]) -> str:
    ckpts = [name for name in files if name.startswith("checkpoints/")]
    who = f"run {marker['run_id']} (started {marker.get('created', '?')})" if marker else "an earlier run"
    detail = f"{len(ckpts)} checkpoint(s), last {ckpts[-1].split('/')[-1]}" if ckpts else ", ".join(files)
    return f"{out} holds {who}: {detail}"


def inspect_run_folder(
    out_dir: str | os.PathLike[str], *, resume: str | None = None, overwrite: bool = False
) -> RunClaim:
    """Decide whose folder `out_dir` is for a run started with `resume`/`overwrite`, without writing anything.

    Raises :class:`RunFolderError` when the folder holds another run's files and neither flag allows using it."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise RunFolderError(f"run folder {out} is a file, not a folder")
    marker = _read_marker(out)
    files = run_files(out)
    history = tuple(marker.get("history", ())) if marker else ()
    if overwrite:
        if files:
            replaced = marker["run_id"] if marker else None
            return RunClaim(out, new_run_id(), "overwrote", replaced_run=replaced)
        return RunClaim(out, new_run_id(), "new")
    if resume is None:
        if files:
            raise RunFolderError(
                f"{_describe(out, marker, files)}; pass --resume auto to continue it, --overwrite to replace it, or "
                "choose another --out (Python: TrainConfig.resume='auto' / overwrite=True)"
            )
        return RunClaim(out, new_run_id(), "new")
    wanted = None if resume == "auto" else _checkpoint_run_id(Path(resume))
    if marker is not None:
        if wanted is not None and wanted != marker["run_id"]:
            raise RunFolderError(
                f"--resume {resume} continues run {wanted}, but {_describe(out, marker, files)}; "
                "resume into that run's own folder, or pass --overwrite to replace the run here"
            )
        return RunClaim(
            out,
            marker["run_id"],
            "resumed",
            legacy_checkpoints=bool(marker.get("legacy_checkpoints")),
            history=history,
        )
    if files:  # written by an mmadapt without run ids
        warnings.warn(
            f"{out} has no {RUN_FILE} (written by an older mmadapt): adopting its files as this run's",
            stacklevel=3,
        )
        return RunClaim(out, wanted or new_run_id(), "adopted", legacy_checkpoints=True)
    return RunClaim(out, wanted or new_run_id(), "resumed" if wanted else "new")


def _checkpoint_run_id(path: Path) -> str | None:
    try:
        return read_checkpoint_run_id(path)
    except (OSError, ValueError):  # missing or damaged: loading it later gives the named error
        return None


# --- claiming: lock + marker -------------------------------------------------------------------------------------
@dataclass
class _Held:
    claim: RunClaim
    lock: Any
    depth: int = 1


_HELD: dict[Path, _Held] = {}


@contextmanager
def claim_run_folder(
    out_dir: str | os.PathLike[str],
    *,
    resume: str | None = None,
    overwrite: bool = False,
    main: bool = True,
) -> Iterator[RunClaim]:
    """Lock `out_dir`, decide whose it is (:func:`inspect_run_folder`), write ``run.json``; unlock on exit.

    `main=False` (DDP ranks other than 0) neither locks nor writes: it reads the run id rank 0 wrote (call it after a
    barrier that follows rank 0's claim)."""
    out = Path(out_dir).absolute()
    if not main:
        marker = _read_marker(out)
        if marker is None:
            raise RunFolderError(f"{out / RUN_FILE} not found: rank 0 has not claimed the run folder")
        yield RunClaim(out, marker["run_id"], "resumed", bool(marker.get("legacy_checkpoints")))
        return
    held = _HELD.get(out)
    if held is not None:  # this process already holds it (CLI, then trainer)
        held.depth += 1
        try:
            yield held.claim
        finally:
            held.depth -= 1
        return
    created = not out.exists()
    lock = _acquire(out)
    try:
        claim = inspect_run_folder(out, resume=resume, overwrite=overwrite)
        claim = _write_claim(claim)
        _HELD[out] = _Held(claim, lock)
        try:
            yield claim
        finally:
            del _HELD[out]
    finally:
        _release(out, lock, remove_empty=created)


def _acquire(out: Path) -> Any:
    from filelock import FileLock, Timeout

    out.mkdir(parents=True, exist_ok=True)
    lock = FileLock(out / LOCK_FILE, timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise RunFolderInUseError(
            f"run folder {out} is in use by {_holder(out)}; wait for it or choose another --out"
        ) from None
    previous = _read_holder(out)
    if previous is not None and previous.get("pid") != os.getpid():
        logger.info("took over the lock of %s, which no longer holds it", _holder(out))
    write_json(out / HOLDER_FILE, {"pid": os.getpid(), "host": socket.gethostname(), "since": _now()})
    return lock


def _release(out: Path, lock: Any, remove_empty: bool) -> None:
    """Unlock; a folder this claim created and nothing but the claim's own files went into (the run failed before
    writing) is removed again, so a failed start leaves no trace.

    The lock file is unlinked while still locked, so no empty ``.mmadapt.lock`` stays behind: a process that opened
    it meanwhile finds its inode unlinked once it gets the lock, and filelock retries on a fresh file."""
    (out / HOLDER_FILE).unlink(missing_ok=True)
    (out / LOCK_FILE).unlink(missing_ok=True)
    lock.release()
    if remove_empty and {p.name for p in out.iterdir()} <= {RUN_FILE}:
        (out / RUN_FILE).unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # something appeared meanwhile: keep it
            out.rmdir()


def _read_holder(out: Path) -> dict[str, Any] | None:
    try:
        holder = json.loads((out / HOLDER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return holder if isinstance(holder, dict) else None


def _holder(out: Path) -> str:
    holder = _read_holder(out)
    if holder is None:
        return "another training (its pid is not recorded yet)"
    return f"another training (pid {holder.get('pid')} on {holder.get('host')}, since {holder.get('since')})"


def _write_claim(claim: RunClaim) -> RunClaim:
    out = claim.out_dir
    if claim.start == "overwrote":
        removed = _remove_previous_run(out)
        logger.warning(
            "--overwrite: replacing run %s in %s (deleted %s)", claim.replaced_run, out, removed or "nothing"
        )
    event = {"event": claim.start, "time": _now(), "pid": os.getpid(), "host": socket.gethostname()}
    history = (*claim.history, event)
    marker = {
        "format": RUN_FORMAT,
        "run_id": claim.run_id,
        "created": history[0]["time"],
        "legacy_checkpoints": claim.legacy_checkpoints,
        "history": list(history),
    }
    write_json(out / RUN_FILE, marker)
    return replace(claim, history=history)


def _remove_previous_run(out: Path) -> list[str]:
    removed = []
    for _, path in checkpoint_files(out):
        path.unlink(missing_ok=True)
        removed.append(f"checkpoints/{path.name}")
    for name in _DELETED_ON_OVERWRITE:
        if (out / name).is_file():
            (out / name).unlink()
            removed.append(name)
    return removed


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
