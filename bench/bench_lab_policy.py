"""`egov network lab policy-test` on the lab slice of 广州 (440100): median wall time of the packet test.

Builds the slice under its own prefix (holding the machine-wide lab lock, like the lab tests), then runs the
whole policy test three times — load the nftables filters on every router, create the endpoint hosts, send
every testable intent's packets, unload — and tears the lab down. Needs root and FRR
(scripts/deps.d/30-lab.sh).
"""

from __future__ import annotations

import fcntl
import json
import sys
import time
from pathlib import Path

from benchkit import median_times

PREFIX = "egw-"
LOCK = Path("/run/egov-lab.tests.lock")
REPEAT = 3


def main() -> int:
    from network.lab import lab
    from network.lab.policytest import compile_for_lab, run_policy_test, start_slice
    from network.lab.system import missing_prerequisites

    problems = missing_prerequisites()
    if problems:
        print("; ".join(problems), file=sys.stderr)
        return 1
    with LOCK.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        lab.down(PREFIX)
        try:
            started = time.monotonic()
            spec = start_slice(PREFIX, ("440100",), 1)
            up_s = time.monotonic() - started
            compiled = compile_for_lab(spec)
            wall, cpu, report = median_times(lambda: run_policy_test(compiled, spec, PREFIX), REPEAT)
        finally:
            lab.down(PREFIX)
    doc = report.as_dict()  # type: ignore[attr-defined]
    tested = [r for r in doc["intents"] if r["testable"]]
    figures = {
        "routers": len(spec.routers),
        "slice_up_s": round(up_s, 1),
        "intents": len(doc["intents"]),
        "intents_tested_with_packets": len(tested),
        "flows_sent": sum(r["flows"] for r in tested),
        "policy_test_median_s": round(wall, 1),
        "policy_test_cpu_s": round(cpu, 1),
        "all_tested_intents_ok": all(r["ok"] for r in tested),
    }
    print(json.dumps(figures, indent=2))
    return 0 if figures["all_tested_intents_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
