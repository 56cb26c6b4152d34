"""The procurement plan's budget (issue 12): the default plan, with its fit proof, under 30 s wall including
start-up (`egov capacity plan --format json`, median of repeated runs).

    .venv/bin/python bench/bench_plan.py [--runs 3]

Prints the median, the CPU time, the plan's rounds, tranches, total and naive cost; exits 1 when the median is
over budget or the plan is not proven.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EGOV = ROOT / ".venv" / "bin" / "egov"
PLAN_BUDGET_S = 30.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    command = [str(EGOV), "capacity", "plan", "--format", "json"]
    walls, cpus, documents = [], [], []
    for _ in range(args.runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        out = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        documents.append(json.loads(out.stdout))
    plan = documents[0]
    median = statistics.median(walls)
    print(f"default plan (`egov capacity plan --format json`, {args.runs} runs, wall incl. start-up)")
    print(
        f"  median {median:.2f} s (min {min(walls):.2f}, max {max(walls):.2f}); median CPU time "
        f"{statistics.median(cpus):.2f} s; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    print(f"  budget {PLAN_BUDGET_S:.0f} s → {median / PLAN_BUDGET_S:.2f}× of budget")
    print(
        f"  proven {plan['proven']} in {plan['rounds']} rounds; {len(plan['tranches'])} tranches; "
        f"total {plan['total_cost']} (present value {plan['present_value']}); naive {plan['naive_cost']}"
    )
    print(
        f"  naive one-shot on the sums {plan['naive_sums_cost']}, VMs without a host in "
        f"{plan['naive_unplaced_months']} months; grown one-shot proven {plan['naive_proven']}"
    )
    cost = {key: int(plan[key].split()[0]) for key in ("total_cost", "naive_cost") if plan[key] is not None}
    within_naive = (
        plan["naive_cost"] is None or not plan["naive_proven"] or cost["total_cost"] <= cost["naive_cost"]
    )
    print(f"  plan costs no more than the proven one-shot: {within_naive}")
    same = all(json.dumps(d, sort_keys=True) == json.dumps(plan, sort_keys=True) for d in documents)
    print(f"  same output every run: {same}")
    if median > PLAN_BUDGET_S or not plan["proven"] or not same or not within_naive:
        print("\nOVER BUDGET or NOT PROVEN")
        return 1
    print("\nwithin budget")
    return 0


if __name__ == "__main__":
    sys.exit(main())
