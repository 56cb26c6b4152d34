"""Helpers of the lab tests: the prerequisites check (fail, never skip), prefixes, measured figures."""

from __future__ import annotations

import fcntl
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
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


def used_mib() -> int:
    info = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
    total = int(info["MemTotal"].split()[0])
    available = int(info["MemAvailable"].split()[0])
    return (total - available) // 1024


LOCK = Path("/run/egov-lab.tests.lock")


@contextmanager
def exclusive_lab_host(timeout_s: float = 1800) -> Iterator[None]:
    """Hold the machine-wide lab-test lock: two test runs on one machine must not build labs at once."""
    LOCK.parent.mkdir(parents=True, exist_ok=True)
    with LOCK.open("w") as handle:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    pytest.fail(f"another test run has held {LOCK} for {timeout_s:.0f} s")
                time.sleep(2)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
