"""A stand-in for ``run_cell`` that a spawned worker can import: seed 0 finishes at once, the others sleep."""

from __future__ import annotations

import time

from mmadapt._io import write_json

SLEEP_S = 30.0


def sleepy_cell(task) -> dict:
    if task.cell.seed != 0:
        time.sleep(SLEEP_S)
    record = {"preset": task.cell.preset, "seed": task.cell.seed}
    write_json(task.cell.result_file(task.out_dir), record)
    return record


def pid_cell(task) -> dict:
    """Records the worker's pid in ``<out>/pids/``, then sleeps: the cell a killed study leaves running."""
    import os
    from pathlib import Path

    pids = Path(task.out_dir) / "pids"
    pids.mkdir(exist_ok=True)
    (pids / str(os.getpid())).write_text("")
    time.sleep(SLEEP_S)
    return {}


def run_pool_of_pid_cells(out: str) -> None:
    """The study's process of the kill test: two workers, four sleeping cells."""
    from mmadapt.study import runner
    from mmadapt.study.cell import CellTask
    from mmadapt.study.grid import Cell

    runner.run_cell = pid_cell
    tasks = [CellTask(Cell("a", s), out, "unused.yaml", 1, 1) for s in range(4)]
    for _ in runner._run_pool(tasks, workers=2):
        pass
