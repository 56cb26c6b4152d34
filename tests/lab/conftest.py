"""Lab fixtures: the prerequisites check (fail, never skip) and the default-slice lab, always torn down."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from network.lab.system import missing_prerequisites

#: Namespace prefixes of the test labs; distinct from the CLI's default (egl-) so a user's lab is untouched.
SLICE_PREFIX = "egt-"
TINY_PREFIX = "egu-"
REPORT = Path(__file__).resolve().parents[2] / "reports" / "lab.json"


def require_lab_host() -> None:
    """Fail (not skip) with the exact fix when this machine cannot run the lab."""
    problems = missing_prerequisites()
    if problems:
        pytest.fail("router lab unavailable: " + "; ".join(problems) + " (or: bash scripts/deps.d/30-lab.sh)")


def record(key: str, value: object) -> None:
    """Add one measured figure to reports/lab.json (the lab tests' measurements)."""
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(REPORT.read_text()) if REPORT.exists() else {}
    data[key] = value
    REPORT.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


@dataclass
class RunningLab:
    """The default-slice lab the module's tests share."""

    prefix: str
    spec: object
    converge_s: float
    build_s: float
    report: object


def _used_mib() -> int:
    info = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
    total = int(info["MemTotal"].split()[0])
    available = int(info["MemAvailable"].split()[0])
    return (total - available) // 1024


@pytest.fixture(scope="module")
def default_lab() -> Iterator[RunningLab]:
    """Both cores, all cities and counties, one town per county: built, converged, then torn down."""
    require_lab_host()
    from network.lab import lab
    from network.lab.from_model import DEFAULT_TOWNS_PER_COUNTY, lab_spec
    from network.render import render_device
    from network.topology import build_backbone

    backbone = build_backbone().slice(towns_per_county=DEFAULT_TOWNS_PER_COUNTY)
    spec = lab_spec(backbone, {n: render_device(backbone, n, "frr") for n in backbone.devices})
    lab.down(SLICE_PREFIX)
    before = _used_mib()
    started = time.monotonic()
    try:
        lab.up(spec, SLICE_PREFIX)
        build_s = time.monotonic() - started
        _waited, report = lab.wait_converged(spec, SLICE_PREFIX, timeout=600)
        converge_s = time.monotonic() - started
        record("default_slice_routers", len(spec.routers))
        record("default_slice_build_s", round(build_s, 1))
        record("default_slice_converged_s", round(converge_s, 1))
        record("default_slice_memory_mib", _used_mib() - before)
        record("cpus", os.cpu_count())
        yield RunningLab(SLICE_PREFIX, spec, converge_s, build_s, report)
    finally:
        lab.down(SLICE_PREFIX)
