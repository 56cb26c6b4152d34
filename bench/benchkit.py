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
