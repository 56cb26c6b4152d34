"""Convergence of the default router lab: both cores, all 21 cities and 122 counties, one town per county.

Builds the lab under its own prefix, times start-up and convergence (every adjacency Full, every iBGP session
Established, every town pinging both core loopbacks), reads the memory it takes, measures a silent failover
of one city's primary uplink, and tears everything down. Needs root and FRR (scripts/deps.d/30-lab.sh).
"""

from __future__ import annotations

import json
import sys
import time

PREFIX = "egb-"


def main() -> int:
    from network.lab import failover, lab
    from network.lab.from_model import DEFAULT_TOWNS_PER_COUNTY, lab_spec
    from network.lab.system import missing_prerequisites
    from network.render import render_device
    from network.topology import build_backbone

    problems = missing_prerequisites()
    if problems:
        print("; ".join(problems), file=sys.stderr)
        return 1
    backbone = build_backbone().slice(towns_per_county=DEFAULT_TOWNS_PER_COUNTY)
    spec = lab_spec(backbone, {n: render_device(backbone, n, "frr") for n in backbone.devices})
    lab.down(PREFIX)
    before = lab.free_memory_mib()
    started = time.monotonic()
    try:
        lab.up(spec, PREFIX)
        built = time.monotonic() - started
        _waited, report = lab.wait_converged(spec, PREFIX, timeout=900)
        converged = time.monotonic() - started
        memory = before - lab.free_memory_mib()
        pss = lab.daemon_memory_mib(spec, PREFIX)
        cut = failover.measure(spec, PREFIX, "GD-CITY-440100", "silent")
    finally:
        lab.down(PREFIX)
    figures = {
        "routers": len(spec.routers),
        "links": len(spec.links),
        "started_s": round(built, 1),
        "converged_s": round(converged, 1),
        "all_checks_pass": report.ok,
        "memory_mib": memory,
        "memory_per_router_mib": round(memory / len(spec.routers), 1),
        "daemon_pss_mib": round(pss),
        "daemon_pss_per_router_mib": round(pss / len(spec.routers), 1),
        "failover_silent_s": round(cut.outage_s, 2),
    }
    print(json.dumps(figures, indent=2))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
