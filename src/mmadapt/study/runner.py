"""Run a study: claim or resume its folder, prepare backbones and data once, train the unfinished cells (in this
process or in ``workers`` spawned processes), then write the reports.

Study folder::

    study_config.json           the study (its presence makes the folder a study; a rerun resumes it)
    experiment.yaml             backbones, data and training of every cell (see :mod:`.synthetic`)
    backbones/, data/           synthetic studies only
    cells/<preset>/seed_<k>.json, cells/<preset>/seed_<k>/   each cell's result and training run folder
    study.json, study.md, study.png

Resuming: cells whose result file exists are not trained again; more presets or seeds extend the grid. The
settings that decide the numbers (source, epochs, demo sizes: :meth:`StudyConfig.fingerprint`) must match the
folder's, or the study is refused: its cells would not be comparable.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from .cell import CellTask, run_cell
from .config import StudyConfig
from .grid import CELLS_DIR, Cell, grid, load_result
from .report import summarize, write_report
from .synthetic import EXPERIMENT_FILE, SCENES, prepare_synthetic

if TYPE_CHECKING:
    from ..recipe.experiment import ExperimentConfig

__all__ = ["STUDY_FILE", "StudyResult", "open_study_folder", "run_study", "source_experiment"]

logger = logging.getLogger(__name__)

STUDY_FILE = "study_config.json"
"""The file that makes a folder a study folder."""
_OWN = (STUDY_FILE, EXPERIMENT_FILE, CELLS_DIR, "backbones", "data", "study.json", "study.md", "study.png")
"""What ``overwrite`` removes from a folder: the study's own entries, nothing else."""


@dataclass
class StudyResult:
    out_dir: Path
    summary: dict[str, Any]
    """What ``study.json`` holds (:func:`mmadapt.study.report.summarize`)."""
    trained: list[Cell]
    """Cells trained by this call (the others were finished before)."""
    files: dict[str, Path]


def open_study_folder(
    study: StudyConfig,
    overwrite: bool = False,
    restart_changed: bool = False,
    experiment: ExperimentConfig | None = None,
) -> bool:
    """Make ``out_dir`` this study's folder; returns True when it resumes an earlier run of the same study.

    A folder with other files is refused unless ``overwrite`` (which removes only a study's own entries), and so
    is a study folder whose numbers were made under other settings, unless ``restart_changed`` starts it afresh.
    ``experiment`` (a real-data study's, :func:`source_experiment`) must then equal the one the folder holds.
    """
    from .._io import write_json

    out = Path(study.out_dir)
    marker = out / STUDY_FILE
    saved = StudyConfig.from_dict(json.loads(marker.read_text(encoding="utf-8"))) if marker.is_file() else None
    changed = [] if saved is None else saved.changed_settings(study)
    if experiment is not None and saved is not None and _saved_experiment(out) not in (None, _compared(experiment)):
        changed.append("the experiment")
    if overwrite or (restart_changed and changed):
        for name in _OWN:
            path = out / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
    elif saved is not None:
        if changed:
            raise ConfigError(
                f"{out} holds a study made with other settings ({', '.join(changed)}); "
                "resume it with the same ones, or pass --overwrite / another --out"
            )
        write_json(marker, study.to_dict())  # the grid may have grown
        return True
    elif out.is_dir() and any(out.iterdir()):
        raise ConfigError(f"{out} is not empty and holds no study ({STUDY_FILE}): pass --overwrite or another --out")
    write_json(marker, study.to_dict())
    return False


def _compared(experiment: ExperimentConfig) -> dict[str, Any]:
    """What must match for a study to resume: all but ``train.out_dir``, which every cell replaces by its own (a
    relative default would otherwise differ between two working folders)."""
    d = experiment.to_dict()
    d["train"].pop("out_dir")
    return d


def _saved_experiment(out: Path) -> dict[str, Any] | None:
    from ..recipe.experiment import ExperimentConfig

    path = out / EXPERIMENT_FILE
    return _compared(ExperimentConfig.load(path).with_absolute_paths()) if path.is_file() else None


def source_experiment(study: StudyConfig) -> ExperimentConfig | None:
    """Check where backbones and data come from before the folder is touched, so that a typo writes nothing: the
    synthetic scene must be registered (returns None); a given experiment must load and name existing training
    and validation files (returned with ``--data`` as its training manifest and its paths absolute)."""
    if study.synthetic is not None:
        SCENES.get(study.synthetic)  # raises, naming the registered scenes
        return None
    from ..recipe.experiment import ExperimentConfig

    cfg = ExperimentConfig.load(study.experiment)
    if study.data is not None:
        cfg = cfg.replace(data=cfg.data.replace(source=cfg.data.source.replace(train=study.data)))
    cfg = cfg.with_absolute_paths()
    for split in ("train", "val"):
        path = getattr(cfg.data.source, split)
        if path is None:
            raise ConfigError(f"{study.experiment}: a study needs data.source.train and data.source.val")
        if "{" not in path and not Path(path).is_file():
            what = "--data" if split == "train" and study.data is not None else f"data.source.{split}"
            raise ConfigError(f"{study.experiment}: {what} {path} not found")
    return cfg


def _prepare_experiment(study: StudyConfig, experiment: ExperimentConfig | None) -> Path:
    """The study's experiment file: the synthetic scene's, or the given one (:func:`source_experiment`), which
    :func:`open_study_folder` has checked against the folder's."""
    if experiment is None:
        return prepare_synthetic(study)
    path = Path(study.out_dir) / EXPERIMENT_FILE
    if not path.is_file():
        experiment.save(path)
    return path


def _threads(study: StudyConfig) -> int:
    if study.threads is not None:
        return study.threads
    affinity = getattr(os, "sched_getaffinity", None)
    cpus = len(affinity(0)) if affinity is not None else (os.cpu_count() or 1)
    return max(1, cpus // study.workers)


def _run_serial(tasks: list[CellTask]) -> Iterator[CellTask]:
    for task in tasks:
        run_cell(task)
        yield task


PARENT_POLL_S = 1.0
"""How often a worker checks that the study's process still lives."""


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_S)
    os._exit(1)


def _init_worker(root_level: int, levels: dict[str, int], formatter: logging.Formatter | None) -> None:
    """A worker logs as the parent does: same levels, same line format (the parent's handlers do not travel); and
    it ends when the parent does, killed or terminated (measured: orphans trained their queued cells, then waited
    forever)."""
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    handler = logging.StreamHandler()
    if formatter is not None:
        handler.setFormatter(formatter)
    logging.basicConfig(level=root_level, handlers=[handler], force=True)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def _picklable(obj: object) -> bool:
    if obj is None:
        return False
    try:
        pickle.dumps(obj)
    except Exception:  # a formatter holding a terminal (pytest's) stays behind
        return False
    return True


def _run_pool(tasks: list[CellTask], workers: int) -> Iterator[CellTask]:
    """Cells in spawned processes (a fresh interpreter each: no forked torch threads or CUDA state); the first
    failure cancels the cells not yet started and is raised once the running ones end. An interrupt (Ctrl-C in
    this process or a worker, or the caller leaving the loop) stops the running cells at once: they are trained
    again from scratch on the next run, as in one process (without this the pool ran every queued cell first)."""
    root = logging.getLogger()
    formatter = next((h.formatter for h in root.handlers if _picklable(h.formatter)), None)
    levels = {
        name: logger.level
        for name, logger in logging.root.manager.loggerDict.items()
        if isinstance(logger, logging.Logger) and logger.level and name.split(".")[0] == "mmadapt"
    }
    context = get_context("spawn")
    initargs = (root.level, levels, formatter)
    pool = ProcessPoolExecutor(workers, context, initializer=_init_worker, initargs=initargs)
    try:
        futures = {pool.submit(run_cell, task): task for task in tasks}
        remaining = set(futures)
        while remaining:
            done, remaining = wait(remaining, return_when=FIRST_COMPLETED)  # each cell as it ends
            for future in done:
                error = future.exception()
                if error is not None and not isinstance(error, KeyboardInterrupt):
                    for other in remaining:
                        other.cancel()
                    pool.shutdown(wait=True)  # the running cells end
                    raise error
                if error is not None:
                    raise error
                yield futures[future]
    except BaseException:
        _terminate(pool)
        raise
    pool.shutdown(wait=True)


def _terminate(pool: ProcessPoolExecutor) -> None:
    """Cancel the queued cells and end the workers (a cell's result file is written atomically: none is half)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # the executor has no public handle
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join()


def run_study(
    study: StudyConfig,
    *,
    overwrite: bool = False,
    progress: bool = True,
    on_cell: Callable[[Cell], None] | None = None,
    restart_changed: bool = False,
) -> StudyResult:
    """Train every unfinished cell of ``study`` and write ``study.json``/``.md``/``.png``; ``on_cell`` is called
    after each cell this call trains; ``restart_changed``: see :func:`open_study_folder`."""
    import torch

    from ..recipe.callbacks.progress import progress_enabled

    source = source_experiment(study)
    resumed = open_study_folder(study, overwrite, restart_changed, experiment=source)
    threads = _threads(study)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)  # the synthetic pretraining too: torch's default oversubscribes a shared CPU
    try:
        experiment = _prepare_experiment(study, source)
    finally:
        torch.set_num_threads(before)
    cells = grid(study)
    todo = [cell for cell in cells if load_result(cell, study.out_dir) is None]
    if resumed:
        logger.info("resuming %s: %d of %d cells finished", study.out_dir, len(cells) - len(todo), len(cells))
    tasks = [CellTask(cell, study.out_dir, str(experiment), study.epochs, threads) for cell in todo]
    bar = None
    if progress_enabled(progress):
        from tqdm.auto import tqdm

        bar = tqdm(total=len(cells), initial=len(cells) - len(todo), desc="study", unit="cell")
    workers = min(study.workers, len(tasks))
    try:
        for task in _run_pool(tasks, workers) if workers > 1 else _run_serial(tasks):
            if bar is not None:
                bar.set_postfix_str(f"{task.cell.preset} seed {task.cell.seed}")
                bar.update(1)
            if on_cell is not None:
                on_cell(task.cell)
    finally:
        if bar is not None:
            bar.close()
    records = {cell: load_result(cell, study.out_dir) for cell in cells}
    missing = [c for c, r in records.items() if r is None]
    if missing:
        raise ConfigError(f"cells without a result after training: {missing}")
    summary = summarize(study, records)  # type: ignore[arg-type]
    if not isinstance(summary["backbones"], dict):
        raise ConfigError(f"the cells of {study.out_dir} saw different backbones: {summary['backbones']}")
    files = write_report(study.out_dir, summary)
    return StudyResult(Path(study.out_dir), summary, [t.cell for t in tasks], files)
