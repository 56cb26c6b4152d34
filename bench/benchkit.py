"""What the benchmarks share: medians of wall and CPU time over repeated runs."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_times(fn: Callable[[], object], repeat: int) -> tuple[float, float, object]:
    """Median wall and CPU seconds of ``repeat`` calls of ``fn``, and the last call's result."""
    wall, cpu = [], []
    result: object = None
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu), result


def _reference_loop() -> int:
    """A fixed pure-Python loop: 10^7 integer additions, no allocation beyond the ints, no library."""
    total = 0
    for i in range(10_000_000):
        total += i
    return total


def calibration_s(repeat: int = 3) -> tuple[float, float]:
    """Median wall and CPU seconds of the reference loop in this process: the machine's Python speed at this
    moment (CPU), and how much of the machine this process got (wall ≫ CPU: other load shares the cores).

    Printed beside every budget so a reader can tell a slower machine from slower code; budgets are never
    scaled by it."""
    wall, cpu, _ = median_times(_reference_loop, repeat)
    return wall, cpu


def calibration_text(repeat: int = 3) -> str:
    """The calibration as printed beside a budget."""
    wall, cpu = calibration_s(repeat)
    return f"calibration: 10^7 Python additions {wall:.2f} s wall, {cpu:.2f} s CPU (median of {repeat})"


def calibration_line(repeat: int = 3) -> str:
    """One line for a benchmark's output: the reference loop's medians and the load average."""
    import os

    return f"{calibration_text(repeat)}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
