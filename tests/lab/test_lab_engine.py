"""The lab engine on a hand-written 3-router triangle: build, converge, shaping, hostnames, teardown."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from lab_support import TINY_PREFIX, record, require_lab_host
from lab_tiny import tiny_spec

from network.lab import engine, lab, system
from network.lab.check import check
from network.lab.spec import namespace_name
from network.lab.system import LabError

#: personality(2) flag that `setarch -R` sets: no address randomisation.
ADDR_NO_RANDOMIZE = 0x0040000
pytestmark = [pytest.mark.lab, pytest.mark.xdist_group("lab"), pytest.mark.usefixtures("lab_host")]


def _leftovers(prefix: str) -> list[str]:
    """Everything of a lab that teardown must remove."""
    found = [f"netns {ns}" for ns in system.namespaces() if ns.startswith(prefix)]
    found += [str(p) for base in (Path("/etc/frr"), Path("/var/run/frr")) for p in base.glob(f"{prefix}*")]
    for comm in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if f"-N {prefix}" in comm.read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                found.append(f"process {comm.parent.name}")
        except OSError:
            continue
    if engine.state_dir(prefix).exists():
        found.append(str(engine.state_dir(prefix)))
    return found


def test_tiny_lab_converges_shapes_and_tears_down() -> None:
    require_lab_host()
    spec = tiny_spec()
    try:
        lab.up(spec, TINY_PREFIX)
        _waited, report = lab.wait_converged(spec, TINY_PREFIX, timeout=90, poll=1)
        assert report.ok, report
        assert report.adjacencies_checked == 6 and report.sessions_checked == 2

        # hostname: each router has its own UTS namespace, so FRR reports the configured name
        running = system.vtysh(namespace_name(TINY_PREFIX, "tcounty"), "show running-config")
        assert "hostname tcounty" in running

        # the daemons share the host's mount namespace (no copy of every /run/netns mount per router, which
        # makes starting and deleting N namespaces cost N²) and live in their router's network namespace
        city = namespace_name(TINY_PREFIX, "tcity")
        zebra = (Path("/var/run/frr") / city / "zebra.pid").read_text().strip()
        assert Path(f"/proc/{zebra}/ns/mnt").readlink() == Path("/proc/self/ns/mnt").readlink()
        netns = Path("/run/netns") / city
        assert Path(f"/proc/{zebra}/ns/net").stat().st_ino == netns.stat().st_ino

        # the configs are the files given, byte for byte, in FRR's own pathspace directory
        conf = Path("/etc/frr") / namespace_name(TINY_PREFIX, "tcity") / "frr.conf"
        assert conf.read_text() == spec.routers["tcity"].config

        # tc shaping: the county–core link is 100M; iperf3 over it stays at the shaped rate
        core, county = namespace_name(TINY_PREFIX, "tcore"), namespace_name(TINY_PREFIX, "tcounty")
        server = subprocess.Popen(system.in_ns(core, ["iperf3", "-s", "-1", "-B", "10.0.0.10"]))
        try:
            time.sleep(0.5)
            out = system.run(
                system.in_ns(county, ["iperf3", "-c", "10.0.0.10", "-t", "2", "-J"]), timeout=30
            ).stdout
        finally:
            server.wait(timeout=10)
        rate = json.loads(out)["end"]["sum_received"]["bits_per_second"]
        record("tiny_100M_link_iperf_mbit_s", round(rate / 1e6, 1))
        assert 50e6 < rate < 110e6, f"100M link measured {rate / 1e6:.1f} Mbit/s"
    finally:
        lab.down(TINY_PREFIX)
    assert _leftovers(TINY_PREFIX) == []


def test_failed_build_leaves_nothing_behind() -> None:
    require_lab_host()
    spec = tiny_spec()
    broken = replace(spec.routers["tcounty"], config=spec.routers["tcounty"].config + "this is not frr\n")
    spec.routers["tcounty"] = broken
    with pytest.raises(LabError):
        lab.up(spec, TINY_PREFIX)
    assert _leftovers(TINY_PREFIX) == []


def test_check_reports_a_missing_adjacency() -> None:
    require_lab_host()
    spec = tiny_spec()
    try:
        lab.up(spec, TINY_PREFIX)
        _waited, report = lab.wait_converged(spec, TINY_PREFIX, timeout=90, poll=1)
        assert report.ok, report
        county = namespace_name(TINY_PREFIX, "tcounty")
        system.run(["ip", "-n", county, "link", "set", "dev", "to-core", "down"])
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            report = check(spec, TINY_PREFIX)
            if report.adjacency_failures and not report.ping_failures:
                break
            time.sleep(1)
        assert any("tcounty to-core" in f for f in report.adjacency_failures)
        assert not report.ping_failures  # rerouted: still reaches the core through the city
    finally:
        lab.down(TINY_PREFIX)


def test_shared_pages_lab_daemons_run_unrandomised_mergeable_with_timer_slack() -> None:
    """The whole province's settings (`up --full`: share_pages) on the triangle: every daemon runs without
    address randomisation, KSM-mergeable and with the lab's timer slack (inherited from the start shell),
    and the lab still converges. Built in a child process: the builder marks itself mergeable (prctl), which
    must not stay on this test worker."""
    require_lab_host()
    spec = tiny_spec()
    build = (
        "import sys; sys.path[:0] = [sys.argv[1], sys.argv[2]]\n"
        "from lab_tiny import tiny_spec\nfrom network.lab import lab\n"
        "lab.up(tiny_spec(), sys.argv[3], share_pages=True)\n"
    )
    root = Path(__file__).resolve().parents[2]
    try:
        subprocess.run(
            [sys.executable, "-c", build, str(root), str(Path(__file__).parent), TINY_PREFIX],
            check=True,
            timeout=180,
        )
        _waited, report = lab.wait_converged(spec, TINY_PREFIX, timeout=90, poll=1)
        assert report.ok, report
        daemons = 0
        for name, router in spec.routers.items():
            for daemon in router.daemons:
                pidfile = Path("/var/run/frr") / namespace_name(TINY_PREFIX, name) / f"{daemon}.pid"
                proc, where = Path("/proc") / pidfile.read_text().strip(), (name, daemon)
                assert int((proc / "timerslack_ns").read_text()) == engine.SHARED_TIMER_SLACK_NS, where
                assert int((proc / "personality").read_text(), 16) & ADDR_NO_RANDOMIZE, where
                assert "ksm_merge_any: yes" in (proc / "ksm_stat").read_text(), where
                daemons += 1
        assert daemons == sum(len(r.daemons) for r in spec.routers.values()) == 8
        limits = system.neighbour_table_limits()  # machine-wide: sized by every build, never lowered
        assert min(limits[f"{f}.gc_thresh1"] for f in ("ipv4", "ipv6")) >= engine.neighbour_entries(spec)
    finally:
        lab.down(TINY_PREFIX)
    assert _leftovers(TINY_PREFIX) == []
    # the default lab keeps the kernel's timers: its failover times are measured
    assert "timerslack" not in engine._daemon_script("egu-tcity", spec.routers["tcity"])
