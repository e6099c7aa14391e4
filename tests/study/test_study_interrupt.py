"""An interrupt stops a ``--workers`` study at once: the running cells end, the queued ones never start, no result
is written for them (before: Ctrl-C waited while the pool trained every queued cell, and left no report); and each
cell is reported as it ends (before: none until all had ended, so the progress bar stood still)."""

from __future__ import annotations

import time

import pytest

from mmadapt.study import runner
from mmadapt.study.cell import CellTask
from mmadapt.study.grid import Cell

from ._slow_cells import SLEEP_S, sleepy_cell


@pytest.mark.parametrize("interrupt", ["throw", "close"])
def test_an_interrupt_ends_the_workers_at_once(tmp_path, monkeypatch, interrupt):
    monkeypatch.setattr(runner, "run_cell", sleepy_cell)
    tasks = [CellTask(Cell(p, s), str(tmp_path), "unused.yaml", 1, 1) for s in (0, 1, 2) for p in ("a", "b")]
    cells = runner._run_pool(tasks, workers=2)
    spawned = time.perf_counter()
    first = next(cells)
    assert first.cell.seed == 0 and time.perf_counter() - spawned < SLEEP_S / 3  # yielded as it ends, not at the end
    started = time.perf_counter()
    if interrupt == "throw":  # Ctrl-C while the parent waits on its workers
        with pytest.raises(KeyboardInterrupt):
            cells.throw(KeyboardInterrupt)
    else:  # the caller leaves the loop (an exception in its own code)
        cells.close()
    assert time.perf_counter() - started < SLEEP_S / 3
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.json"))
    assert all(name.endswith("seed_0.json") for name in written) and f"cells/{first.cell.preset}/seed_0.json" in written
