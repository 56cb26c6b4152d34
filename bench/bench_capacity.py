"""Capacity benchmarks against the budgets of issue 2:

- the default check, `egov capacity check --format json`, < 1 s wall including interpreter start-up
  (median of repeated subprocess runs);
- the 10,000-draw Monte Carlo (`capacity.risk.simulate`) < 3 s and < 1 GiB: wall time (median of repeated
  runs, each in a fresh process), the process's peak RSS (resource.getrusage) and the peak of
  Python-tracked allocations (tracemalloc, which numpy reports its arrays to).

    .venv/bin/python bench/bench_capacity.py [--runs 7] [--draws 10000]

Prints medians and the ratio to each budget; exits 1 when a median is over its budget.
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
sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchkit import calibration_text  # noqa: E402

EGOV = ROOT / ".venv" / "bin" / "egov"
CHECK_BUDGET_S = 1.0
RISK_BUDGET_S = 3.0
RISK_BUDGET_BYTES = 1 << 30

_RISK_PROBE = """
import json, resource, sys, time, tracemalloc
t0 = time.perf_counter()
from egov.source import default_source
from capacity.risk import simulate
source = default_source()
t1 = time.perf_counter()
draws, seed, traced = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1"
if traced:
    tracemalloc.start()
start, cpu = time.perf_counter(), time.process_time()
result = simulate(source, draws, seed)
elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
peak = tracemalloc.get_traced_memory()[1] if traced else None
print(json.dumps({
    "setup_s": t1 - t0,
    "simulate_s": elapsed,
    "simulate_cpu_s": cpu,
    "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    "traced_peak_bytes": peak,
    "mandate": result.probability_mandate,
}))
"""

_CHECK_PROBE = """
import json, time
t0 = time.perf_counter()
import egov.cli  # noqa: F401  the CLI as `egov` imports it
t1 = time.perf_counter()
from capacity.headroom import assess
from capacity.present import assessment_json
t2 = time.perf_counter()
from egov.source import load_source
source = load_source()
t3 = time.perf_counter()
document = assessment_json(source, assess(source))
t4 = time.perf_counter()
from capacity.fit import simulate  # the check's fit section (docs/fit.md)
simulate(source)
t5 = time.perf_counter()
print(json.dumps({"import_cli_s": t1 - t0, "import_compute_s": t2 - t1, "load_s": t3 - t2,
                  "assess_s": t4 - t3, "fit_section_s": t5 - t4}))
"""


def _median_wall(command: list[str], runs: int) -> tuple[float, list[float], float]:
    """Median wall time of ``command``, every run's wall time, and the median CPU time (user + system) of the
    child: on a shared machine the CPU time shows the work when other load stretches the wall time."""
    times, cpu = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
        times.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(times), times, statistics.median(cpu)


def _probe(code: str, *args: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", code, *args], check=True, capture_output=True, text=True, cwd=ROOT
    )
    return json.loads(out.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--draws", type=int, default=10_000)
    args = parser.parse_args()
    over = []
    machine = calibration_text()

    subprocess.run([str(EGOV), "capacity", "check", "--format", "json"], check=True, capture_output=True)
    command = [str(EGOV), "capacity", "check", "--format", "json"]
    check_median, check_times, check_cpu = _median_wall(command, args.runs)
    parts = [_probe(_CHECK_PROBE) for _ in range(3)]
    breakdown = {key: statistics.median(p[key] for p in parts) for key in parts[0]}
    print(f"default check (`egov capacity check --format json`, {args.runs} runs, wall incl. start-up)")
    print(
        f"  median {check_median:.3f} s  (min {min(check_times):.3f}, max {max(check_times):.3f}); "
        f"median CPU time {check_cpu:.3f} s; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    print(f"  budget {CHECK_BUDGET_S:.1f} s → {check_median / CHECK_BUDGET_S:.2f}× of budget; {machine}")
    print("  in-process medians: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in breakdown.items()))
    if check_median > CHECK_BUDGET_S:
        over.append("check")

    runs = max(3, args.runs // 2)
    timed = [_probe(_RISK_PROBE, str(args.draws), "0", "0") for _ in range(runs)]
    traced = _probe(_RISK_PROBE, str(args.draws), "0", "1")
    risk_median = statistics.median(t["simulate_s"] for t in timed)
    rss = max(t["peak_rss_bytes"] for t in [*timed, traced])
    print(f"\nMonte Carlo, {args.draws} draws, seed 0 ({runs} runs, each in a fresh process)")
    print(
        f"  median {risk_median:.3f} s  (min {min(t['simulate_s'] for t in timed):.3f}, "
        f"max {max(t['simulate_s'] for t in timed):.3f}); setup (imports + load) "
        f"{statistics.median(t['setup_s'] for t in timed):.3f} s"
    )
    print(
        f"  median CPU time {statistics.median(t['simulate_cpu_s'] for t in timed):.3f} s; "
        f"budget {RISK_BUDGET_S:.1f} s → {risk_median / RISK_BUDGET_S:.2f}× of budget (wall); {machine}"
    )
    print(
        f"  peak RSS {rss / 2**20:.0f} MiB, tracemalloc peak {traced['traced_peak_bytes'] / 2**20:.0f} MiB; "
        f"budget 1024 MiB → {rss / RISK_BUDGET_BYTES:.2f}× of budget"
    )
    print(f"  P(five-year mandate) = {timed[0]['mandate']:.4f}")
    if risk_median > RISK_BUDGET_S:
        over.append("risk time")
    if rss > RISK_BUDGET_BYTES:
        over.append("risk memory")

    if over:
        print(f"\nOVER BUDGET: {', '.join(over)}")
        return 1
    print("\nall within budget")
    return 0


if __name__ == "__main__":
    sys.exit(main())
