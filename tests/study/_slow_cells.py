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
