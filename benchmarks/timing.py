"""Timing and memory of one step, and interleaved measurement of several workloads.

Workloads are timed in rounds (one step of each per round, the order rotating every round) so that a machine
shared with other jobs slows every workload alike and the ratios stay meaningful. On the CPU each step also
records the process CPU time: it leaves out the time this process waited for a core held by another job, so it
is the clock to compare workloads with on a shared machine (with one torch thread, forward and backward both run
on the calling thread, and CPU time equals wall time on an idle core).
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import torch

try:
    import psutil
except ImportError:  # the GPU machine may lack it; CPU memory falls back to ru_maxrss
    psutil = None

T = TypeVar("T")
Step = Callable[[], None]
MIB = 2**20


def with_threads(threads: int | None, fn: Callable[[], T]) -> T:
    """Run ``fn`` with ``threads`` torch threads (None: leave them), restoring the previous count after."""
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        return fn()
    finally:
        torch.set_num_threads(before)


@dataclass
class Measurement:
    """Step times in milliseconds (wall clock, and process CPU time on the CPU), and the peak memory seen during
    the timed steps."""

    times_ms: list[float]
    peak_mem_mb: float
    mem_kind: str
    cpu_times_ms: list[float] | None = None

    @property
    def ratio_times_ms(self) -> list[float]:
        """The clock ratios are taken on: CPU time where recorded, else wall time."""
        return self.cpu_times_ms if self.cpu_times_ms is not None else self.times_ms

    @property
    def cpu_median_ms(self) -> float | None:
        return statistics.median(self.cpu_times_ms) if self.cpu_times_ms is not None else None

    @property
    def median_ms(self) -> float:
        return statistics.median(self.times_ms)

    @property
    def mean_ms(self) -> float:
        return statistics.fmean(self.times_ms)

    @property
    def min_ms(self) -> float:
        return min(self.times_ms)

    @property
    def spread(self) -> float:
        """(max - min) / median of the step times: how noisy the figure is."""
        return (max(self.times_ms) - min(self.times_ms)) / self.median_ms


class _RssSampler:
    """Peak resident memory of this process while a step runs (a background thread samples it)."""

    def __init__(self, period_s: float = 0.02) -> None:
        self.period_s = period_s
        self.peak = 0
        self._stop = threading.Event()
        self._proc = psutil.Process() if psutil is not None else None

    def _rss(self) -> int:
        if self._proc is not None:
            return self._proc.memory_info().rss
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # peak so far (kB on Linux)

    def _run(self) -> None:
        while not self._stop.wait(self.period_s):
            self.peak = max(self.peak, self._rss())

    def __enter__(self) -> _RssSampler:
        self.peak = self._rss()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())


class StepTimer:
    """CUDA events and ``max_memory_allocated`` on CUDA; ``perf_counter`` and sampled RSS on the CPU."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.mem_kind = "cuda_max_allocated" if device.type == "cuda" else "process_rss_peak"

    def sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def time(self, step: Step) -> tuple[float, float | None, float]:
        """Run ``step`` once: (wall milliseconds, CPU milliseconds or None on CUDA, peak memory in MiB)."""
        if self.device.type == "cuda":
            self.sync()
            torch.cuda.reset_peak_memory_stats(self.device)
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            step()
            end.record()
            end.synchronize()
            return start.elapsed_time(end), None, torch.cuda.max_memory_allocated(self.device) / MIB
        with _RssSampler() as rss:
            c0, t0 = time.process_time(), time.perf_counter()
            step()
            ms, cpu_ms = (time.perf_counter() - t0) * 1e3, (time.process_time() - c0) * 1e3
        return ms, cpu_ms, rss.peak / MIB


def measure(steps: dict[str, Step], warmup: int, iters: int, timer: StepTimer) -> dict[str, Measurement]:
    """Warm every workload up, then time ``iters`` interleaved rounds."""
    if iters < 1:
        raise ValueError(f"iters must be >= 1, got {iters}")
    for step in steps.values():
        for _ in range(warmup):
            step()
        timer.sync()
    names = list(steps)
    times: dict[str, list[float]] = {n: [] for n in names}
    cpu: dict[str, list[float]] = {n: [] for n in names}
    peaks: dict[str, float] = {n: 0.0 for n in names}
    for r in range(iters):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            ms, cpu_ms, peak = timer.time(steps[name])
            times[name].append(ms)
            if cpu_ms is not None:
                cpu[name].append(cpu_ms)
            peaks[name] = max(peaks[name], peak)
    return {n: Measurement(times[n], peaks[n], timer.mem_kind, cpu[n] or None) for n in names}
