"""An interrupt stops a ``--workers`` study at once: the running cells end, the queued ones never start, no result
is written for them (before: Ctrl-C waited while the pool trained every queued cell, and left no report); and each
cell is reported as it ends (before: none until all had ended, so the progress bar stood still); and the workers
of a killed or terminated study end with it (before: they trained on, then waited forever)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

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


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status  # a zombie (no reaper in a container) has ended


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_the_workers_end_with_a_killed_study(tmp_path, sig):
    root = Path(__file__).resolve().parents[2]
    code = f"from tests.study._slow_cells import run_pool_of_pid_cells; run_pool_of_pid_cells({str(tmp_path)!r})"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "src"), str(root)])}
    study = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=root)
    try:
        deadline = time.monotonic() + SLEEP_S / 2
        while len(list((tmp_path / "pids").glob("*"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        pids = [int(p.name) for p in (tmp_path / "pids").glob("*")]
        assert len(pids) == 2
    finally:
        study.send_signal(sig)
        study.wait()
    deadline = time.monotonic() + 5 * runner.PARENT_POLL_S + 5
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    alive = [pid for pid in pids if _alive(pid)]
    for pid in alive:  # before the fix they trained on, then waited forever: end them for the next test
        os.kill(pid, signal.SIGKILL)
    assert not alive
