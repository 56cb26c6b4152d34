"""`make bench` for backbone capacity: every single failure × 60 months over the whole province.

Prints medians of repeated runs (wall and CPU: CPU is the cost on an idle machine, wall what a busy shared
machine gives) of
  * loading the inputs and routing the intact network (source of truth, 1,762-router backbone, demand);
  * evaluating every single circuit and router failure (3,838) over the 60-month horizon: the worst load
    per arc and month and the failure causing it — budget 10 s;
  * the same with the SRLGs of data/srlg.yaml added, and building the report.

Usage: .venv/bin/python bench/bench_traffic.py [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchkit import median_times  # noqa: E402

from network.linkload import (  # noqa: E402
    capacity_report,
    evaluate,
    failures_for,
    load_capacity_inputs,
)

BUDGET_S = 10.0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    wall_in, cpu_in, _ = median_times(load_capacity_inputs, args.repeat)
    inputs = load_capacity_inputs()
    singles = failures_for(inputs, "single")
    srlg = failures_for(inputs, "srlg")
    model = inputs.model
    months = len(model.demand.months)
    wall_single, cpu_single, _ = median_times(lambda: evaluate(model, singles), args.repeat)
    wall_srlg, cpu_srlg, _ = median_times(
        lambda: capacity_report(evaluate(model, srlg), inputs.params), args.repeat
    )
    print(
        f"load average {load:.1f}; {len(model.graph.devices)} routers, {len(model.graph.circuits)} circuits"
    )
    print(f"{'step':<58} {'wall':>8} {'CPU':>8}")
    print(f"{'inputs + intact routing':<58} {wall_in:>7.2f}s {cpu_in:>7.2f}s")
    label = f"every single failure ({len(singles)}) × {months} months"
    print(f"{label:<58} {wall_single:>7.2f}s {cpu_single:>7.2f}s   budget {BUDGET_S:.0f} s")
    label = f"singles + SRLGs ({len(srlg)}) and the report"
    print(f"{label:<58} {wall_srlg:>7.2f}s {cpu_srlg:>7.2f}s")
    if cpu_single > BUDGET_S:
        print(f"over budget: {cpu_single:.2f} s CPU > {BUDGET_S} s")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
