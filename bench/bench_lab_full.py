"""The whole province in the lab: every router of the model (`egov network lab up --full`).

Builds all routers under its own prefix, times start-up and convergence (every adjacency Full, every iBGP
session Established, every town pinging both core loopbacks), reads the memory per daemon and tier once KSM
has merged the daemons' identical pages, and tears everything down. Needs root, FRR
(scripts/deps.d/30-lab.sh) and about 22 GiB of free memory; takes about 15 minutes (measured: converged at
458 s, then the per-tier measurements and the teardown).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from network.lab import lab

PREFIX = "egf-"


def _ksmd_cpu_s() -> float:
    """CPU seconds ksmd has used so far (the price of sharing the daemons' pages)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().split(") ", 1)
        except OSError:
            continue
        if fields[0].endswith("(ksmd"):
            rest = fields[1].split()
            return (int(rest[11]) + int(rest[12])) / 100
    return 0.0


def _progress(started: float):  # type: ignore[no-untyped-def]
    """Every 100 routers started: elapsed time and available memory, on stderr."""
    count = [0]

    def tick(stage: str, n: int) -> None:
        count[0] += n if stage == "routers" else 0
        if stage != "routers" or count[0] % 100 == 0:
            print(
                f"{time.monotonic() - started:6.0f} s {stage} {count[0]}, available "
                f"{lab.free_memory_mib()} MiB",
                file=sys.stderr,
                flush=True,
            )

    return tick


def main() -> int:
    # About 15 minutes and the whole machine (2 cores, ~22 GiB): run it on purpose, on a quiet machine.
    if os.environ.get("EGOV_BENCH_FULL_LAB") != "1":
        print("not run: the full-province lab is opt-in (EGOV_BENCH_FULL_LAB=1 make bench); see docs/lab.md")
        return 0
    from network.lab.engine import FULL_LAB_TIMERS
    from network.lab.from_model import lab_spec, with_lab_timers
    from network.lab.system import missing_prerequisites
    from network.render import render_device
    from network.topology import build_backbone

    problems = missing_prerequisites()
    if problems:
        print("; ".join(problems), file=sys.stderr)
        return 1
    backbone = build_backbone()
    # the configs `lab up --full` runs: the rendered ones with the lab's timers (docs/lab.md)
    rendered = {name: render_device(backbone, name, "frr") for name in backbone.devices}
    configs = {name: with_lab_timers(config, FULL_LAB_TIMERS) for name, config in rendered.items()}
    spec = lab_spec(backbone, configs)
    need, free = lab.memory_needed_mib(spec, shared=True), lab.free_memory_mib()
    if need > free:
        print(
            f"{len(spec.routers)} routers need about {need} MiB; only {free} MiB is available",
            file=sys.stderr,
        )
        return 1
    lab.down(PREFIX)
    before = lab.free_memory_mib()
    ksmd_before = _ksmd_cpu_s()
    started = time.monotonic()
    try:
        lab.up(spec, PREFIX, _progress(started), share_pages=True)
        built = time.monotonic() - started
        _waited, report = lab.wait_converged(spec, PREFIX, timeout=1200)
        converged = time.monotonic() - started
        memory = before - lab.free_memory_mib()
        pss = lab.daemon_memory_mib(spec, PREFIX)
        by_tier = lab.daemon_memory_by_tier(spec, PREFIX)
        cpu_by_tier = lab.daemon_cpu_by_tier(spec, PREFIX, 30)
        load = os.getloadavg()
    finally:
        teardown = lab.down(PREFIX)
    n = len(spec.routers)
    figures = {
        "routers": n,
        "links": len(spec.links),
        "estimated_mib": need,
        "started_s": round(built, 1),
        "converged_s": round(converged, 1),
        "all_checks_pass": report.ok,
        "adjacencies": report.adjacencies_checked,
        "sessions": report.sessions_checked,
        "pings": report.pings_checked,
        "failures": (report.adjacency_failures + report.session_failures + report.ping_failures)[:10],
        "host_memory_mib": memory,
        "host_memory_per_router_mib": round(memory / n, 1),
        "daemon_pss_mib": round(pss),
        "daemon_pss_per_router_mib": round(pss / n, 1),
        "daemon_pss_by_tier_mib": by_tier,
        "ksmd_cpu_s": round(_ksmd_cpu_s() - ksmd_before, 1),
        "daemon_cpu_share_by_tier": cpu_by_tier,
        "load_converged": [round(x, 1) for x in load],
        "teardown_s": teardown.seconds,
        "teardown_clean": teardown.clean,
    }
    print(json.dumps(figures, indent=2))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
