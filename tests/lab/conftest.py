"""The default-slice lab shared by a module's tests: built, converged, and always torn down."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
from lab_support import SLICE_PREFIX, RunningLab, exclusive_lab_host, record, require_lab_host, used_mib


@pytest.fixture(scope="session")
def lab_host() -> Iterator[None]:
    """The machine's labs are this session's alone (another test run waits)."""
    require_lab_host()
    with exclusive_lab_host():
        yield


@pytest.fixture(scope="module")
def default_lab(lab_host: None) -> Iterator[RunningLab]:
    """Both cores, all cities and counties, one town per county: built, converged, then torn down."""
    require_lab_host()
    from network.lab import lab
    from network.lab.from_model import DEFAULT_TOWNS_PER_COUNTY, lab_spec
    from network.render import render_device
    from network.topology import build_backbone

    backbone = build_backbone().slice(towns_per_county=DEFAULT_TOWNS_PER_COUNTY)
    spec = lab_spec(backbone, {n: render_device(backbone, n, "frr") for n in backbone.devices})
    lab.down(SLICE_PREFIX)
    before = used_mib()
    started = time.monotonic()
    try:
        lab.up(spec, SLICE_PREFIX)
        build_s = time.monotonic() - started
        _waited, report = lab.wait_converged(spec, SLICE_PREFIX, timeout=600)
        converge_s = time.monotonic() - started
        record("default_slice_routers", len(spec.routers))
        record("default_slice_build_s", round(build_s, 1))
        record("default_slice_converged_s", round(converge_s, 1))
        record("default_slice_memory_mib", used_mib() - before)
        record("default_slice_daemon_pss_mib", round(lab.daemon_memory_mib(spec, SLICE_PREFIX)))
        record("cpus", os.cpu_count())
        yield RunningLab(SLICE_PREFIX, spec, converge_s, build_s, report)
    finally:
        lab.down(SLICE_PREFIX)
