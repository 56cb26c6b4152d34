"""`make bench` for the zone policy (issue 13): compile for every device × 3 vendors, verify every intent.

Prints medians of repeated runs (wall and CPU time: CPU shows the cost on a busy shared machine):
  * compile: zones from the model, the Aerleon policy, Aerleon's cisco and nftables generators and our
    huawei_vrp plugin, cut into one artefact per device (every device with a zone port) for 3 vendors —
    cold: Aerleon's output cache is cleared before each run;
  * verify: parse every device's rendered text back, evaluate every intent of data/zones.yaml along the
    model's paths, and look for unreachable and shadowed lines;
  * their sum against the 5 s budget. The model itself is built once, outside the timing (bench_network).

Usage: .venv/bin/python bench/bench_policy.py [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchkit import calibration_text, median_times  # noqa: E402

from network.addressing import AddressPlan  # noqa: E402
from network.params import load_params  # noqa: E402
from network.topology import build_backbone  # noqa: E402
from network.zonepolicy.compile import VENDORS, check_policy, compile_policy  # noqa: E402
from network.zonepolicy.render import clear_cache  # noqa: E402

BUDGET_S = 5.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    params = load_params()
    backbone = build_backbone(params=params)
    plan = AddressPlan(params)
    compile_policy(backbone, plan, vendors=("iosxe",))  # import aerleon and its generators once

    def cold_compile():  # type: ignore[no-untyped-def]
        clear_cache()
        return compile_policy(backbone, plan, vendors=VENDORS)

    calibration = calibration_text()
    compile_s, compile_cpu, compiled = median_times(cold_compile, args.repeat)
    check_s, check_cpu, report = median_times(lambda: check_policy(compiled), args.repeat)  # type: ignore[arg-type]
    doc = report.as_dict(compiled.spec)  # type: ignore[attr-defined]
    artefacts = sum(len(r.devices) for r in compiled.rendered.values())  # type: ignore[attr-defined]
    lines = sum(t.count("\n") for r in compiled.rendered.values() for t in r.devices.values())  # type: ignore[attr-defined]
    flows = sum(i["flows"] for i in doc["intents"])
    failed = [i["name"] + "/" + i["vendor"] for i in doc["intents"] if not i["ok"]]
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; medians of {args.repeat} runs")
    print(f"devices in the model              {len(backbone.devices)}")
    print(f"per-device artefacts (3 vendors)  {artefacts}  ({lines:,} lines)")
    print(
        f"intents × vendors                 {len(doc['intents'])}  ({flows:,} flows along the model's paths)"
    )
    print("                                    wall      CPU")
    print(f"compile (Aerleon, cold)           {compile_s:6.2f} s  {compile_cpu:6.2f} s")
    print(f"verify (parse back + evaluate)    {check_s:6.2f} s  {check_cpu:6.2f} s")
    total, total_cpu = compile_s + check_s, compile_cpu + check_cpu
    verdict = "OK" if total < BUDGET_S else "over budget (see CPU time when the machine is busy)"
    print(
        f"compile + verify                  {total:6.2f} s  {total_cpu:6.2f} s   "
        f"budget {BUDGET_S:.0f} s: {verdict}"
    )
    print(f"{calibration} (the machine's speed beside the budget)")
    print(
        f"intents failed {len(failed)}; unreachable lines {doc['unreachable_lines']}; "
        f"shadowed lines {doc['shadowed_lines']}"
    )
    return 1 if failed or doc["unreachable_lines"] or doc["shadowed_lines"] else 0


if __name__ == "__main__":
    sys.exit(main())
