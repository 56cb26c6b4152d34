"""Pure parts of the whole-province lab and the traffic test: daemons per tier, the memory estimate, how the
daemons are started, and the comparison of measured with computed link loads (no root)."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from functools import cache

import pytest

from network.lab import engine, lab
from network.lab.from_model import daemons_for, lab_spec, with_lab_timers
from network.lab.spec import LabSpec, Router
from network.lab.traffic_test import (
    Comparison,
    Direction,
    computed_loads,
    path_routers,
    watched_directions,
)
from network.render import render_device
from network.topology import build_backbone

TOWN = "GD-TOWN-440103001"


@cache
def _city_lab() -> LabSpec:
    """One city (440100) with one town per county: the routers of the traffic test."""
    backbone = build_backbone().slice(cities=["440100"], towns_per_county=1)
    return lab_spec(backbone, {n: render_device(backbone, n, "frr") for n in backbone.devices})


def test_a_town_runs_zebra_and_ospf_only() -> None:
    backbone = build_backbone()
    town = next(d for d in backbone.devices.values() if d.tier == "town")
    assert daemons_for(render_device(backbone, town.hostname, "frr")) == ("zebra", "ospfd", "ospf6d")


def test_memory_estimate_uses_the_tier_figures_with_shared_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lab, "SHARED_DAEMON_MEMORY_MIB", {"town": {"zebra": 2.0, "ospfd": 3.0}})
    monkeypatch.setattr(lab, "DAEMON_MEMORY_MIB", {"zebra": 6.0, "ospfd": 5.0, "bgpd": 11.0})
    monkeypatch.setattr(lab, "ROUTER_KERNEL_MIB", 1.0)
    routers = {
        "t": Router("t", "", ("zebra", "ospfd"), tier="town"),  # 2 + 3 + 1 shared, 6 + 5 + 1 not
        "c": Router("c", "", ("zebra", "ospfd", "bgpd"), tier="city"),  # 6 + 5 + 11 + 1 (no city figures)
        "x": Router("x", "", ("zebra", "bgpd"), tier="town"),  # 2 + 11 (bgpd not measured in a town) + 1
    }
    assert lab.router_memory_mib("town", ("zebra", "ospfd"), shared=True) == 6.0
    assert lab.router_memory_mib("town", ("zebra", "ospfd")) == 12.0
    assert lab.router_memory_mib("city", ("zebra", "ospfd", "bgpd"), shared=True) == 23.0
    spec = LabSpec(routers, [])
    assert lab.memory_needed_mib(spec, shared=True) == 6 + 23 + 14 + 1024
    assert lab.memory_needed_mib(spec) == 12 + 23 + 18 + 1024


def test_the_whole_province_passes_its_own_memory_check_on_24_gib() -> None:
    """The estimate `up --full` checks against MemAvailable: under 22,500 MiB (this 24 GiB machine shows
    23,496 MiB available when idle) and above what the province took (host memory use grew by 20,440 and
    20,977 MiB in two measured runs)."""
    backbone = build_backbone()
    spec = lab_spec(backbone, {n: render_device(backbone, n, "frr") for n in backbone.devices})
    assert len(spec.routers) == len(backbone.devices)
    assert 20_977 < lab.memory_needed_mib(spec, shared=True) < 22_500
    assert lab.memory_needed_mib(spec) > 24 * 1024  # why --full shares pages


def test_shared_daemons_start_with_few_fds() -> None:
    router = _city_lab().routers[TOWN]
    assert engine._daemon_script("egx-" + TOWN, router).count(f"--limit-fds {engine.FD_LIMIT}") == 3
    script = engine._daemon_script("egx-" + TOWN, router, engine.SHARED_FD_LIMIT)
    assert script.count(f"--limit-fds {engine.SHARED_FD_LIMIT}") == 3
    assert "bgpd" not in script and "staticd" not in script


def test_the_model_loads_the_towns_path_and_nothing_else() -> None:
    """30 Mbit/s from a town to the DC: its uplink, its county's and its city's carry all of it (one
    path, no ECMP below the core); the way back and the other town's links carry nothing."""
    spec = _city_lab()
    routers = path_routers(spec, TOWN, "GD-CORE-01")
    assert routers == [TOWN, "GD-CNTY-440103", "GD-CITY-440100", "GD-CORE-01"]
    directions = watched_directions(spec, routers)
    loads = computed_loads(TOWN, 30e6, directions)
    loaded = {(d.tail, d.head): round(v) for d, v in loads.items() if v}
    assert loaded == {
        (TOWN, "GD-CNTY-440103"): 30_000_000,
        ("GD-CNTY-440103", "GD-CITY-440100"): 30_000_000,
        ("GD-CITY-440100", "GD-CORE-01"): 30_000_000,
    }
    assert len(directions) > len(loaded)


def test_a_direction_agrees_within_ten_percent() -> None:
    uplink = Direction("t", "c", "eth1", 100_000_000)
    assert Comparison(uplink, 30e6, 32.9e6, 30e6).ok  # +9.7 %
    assert not Comparison(uplink, 30e6, 33.1e6, 30e6).ok  # +10.3 %
    assert not Comparison(uplink, 30e6, 15e6, 30e6).ok  # a shaper at 15 Mbit/s
    too_slow = Comparison(uplink, 30e6, 26.9e6, 30e6)
    assert round(too_slow.deviation, 3) == -0.103 and not too_slow.ok
    assert Comparison(uplink, 30e6, 30e6, 30e6).measured_utilisation == 0.3


def test_an_idle_direction_must_stay_idle() -> None:
    back = Direction("c", "t", "eth11", 100_000_000)
    assert Comparison(back, 0.0, 0.2e6, 30e6).ok  # OSPF hellos and iperf3's control connection
    assert not Comparison(back, 0.0, 30e6, 30e6).ok  # the load took a path the model does not


# ---------------------------------------------------------------- the start pipeline, teardown, the poll

PIPE = engine.StartPipeline(workers=1, max_load_per_cpu=3.0, reserve_mib=1024, wait_s=0.3, load_wait_s=0.3)


def test_a_router_starts_only_with_memory_and_a_moderate_load() -> None:
    assert engine.start_refusal(PIPE, load_per_cpu=3.0, available_mib=1024) is None
    low = engine.start_refusal(PIPE, load_per_cpu=0.1, available_mib=1023)
    assert low is not None and "1023 MiB" in low
    busy = engine.start_refusal(PIPE, load_per_cpu=3.1, available_mib=20_000)
    assert busy is not None and "load 3.1 per CPU" in busy
    assert engine.start_refusal(engine.DEFAULT_PIPELINE, load_per_cpu=400.0, available_mib=20_000) is None


def test_short_memory_fails_the_start_naming_the_router(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine.system, "mem_available_mib", lambda: 900)
    monkeypatch.setattr(engine, "_load_per_cpu", lambda: 0.5)
    with pytest.raises(engine.LabError, match=r"GD-TOWN-1: only 900 MiB available .* after waiting 0 s"):
        engine._wait_for_room("GD-TOWN-1", PIPE, threading.Event())


def test_a_high_load_delays_a_router_but_does_not_fail_the_build(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine.system, "mem_available_mib", lambda: 20_000)
    monkeypatch.setattr(engine, "_load_per_cpu", lambda: 9.0)
    started = time.monotonic()
    assert engine._wait_for_room("GD-TOWN-1", PIPE, threading.Event()) is True
    assert 0.3 <= time.monotonic() - started < 2  # waited load_wait_s, then started all the same


def test_a_stopped_build_stops_waiting_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine.system, "mem_available_mib", lambda: 20_000)
    monkeypatch.setattr(engine, "_load_per_cpu", lambda: 9.0)
    stop = threading.Event()
    stop.set()
    slow = replace(PIPE, wait_s=60, load_wait_s=60)
    started = time.monotonic()
    assert engine._wait_for_room("GD-TOWN-1", slow, stop) is False  # a stopped build stops waiting at once
    assert time.monotonic() - started < 2


def test_routers_start_from_the_top_tier_down() -> None:
    routers = {
        n: Router(n, "", tier=t)
        for n, t in [("a-town", "town"), ("b-core", "core"), ("c-county", "county"), ("a-city", "city")]
    }
    assert engine.start_order(LabSpec(routers, [])) == ["b-core", "a-city", "c-county", "a-town"]


def _fake_build(monkeypatch: pytest.MonkeyPatch, fail_at: str) -> tuple[list[str], list[str]]:
    """engine.build with the system calls replaced: which routers were configured, which labs torn down."""
    configured: list[str] = []
    torn_down: list[str] = []

    def configure(prefix: str, router: Router, *_args: object) -> None:
        stop = _args[-1]
        assert isinstance(stop, threading.Event)
        if stop.is_set():
            return
        configured.append(router.hostname)
        if router.hostname == fail_at:
            raise engine.LabError(f"{router.hostname}: planted")

    monkeypatch.setattr(engine, "_configure_router", configure)
    monkeypatch.setattr(engine.system, "ip_batch", lambda *_a, **_k: None)
    monkeypatch.setattr(engine, "teardown", lambda prefix, *_a, **_k: torn_down.append(prefix))
    return configured, torn_down


def test_a_failed_router_stops_the_routers_still_queued(monkeypatch: pytest.MonkeyPatch) -> None:
    configured, torn_down = _fake_build(monkeypatch, fail_at="r02")
    spec = LabSpec({f"r{i:02}": Router(f"r{i:02}", "", tier="town") for i in range(40)}, [])
    with pytest.raises(engine.LabError, match="r02: planted"):
        engine.build(spec, "egz-", pipeline=PIPE)
    assert configured == ["r00", "r01", "r02"]  # one worker: nothing after the failure started
    assert torn_down == ["egz-", "egz-"]  # the stale lab before, the partial lab after


def test_teardown_kills_what_ignores_sigterm_in_bounded_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """A daemon of the lab (found by its `-N <prefix>` argument alone: no namespace, no pid file) that
    ignores SIGTERM is gone after teardown, and the teardown says so."""
    monkeypatch.setattr(engine.system, "stop_page_sharing", lambda: None)
    monkeypatch.setattr(engine.system, "run", lambda *_a, **_k: None)
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print(1, flush=True); "
    code += "time.sleep(60)"
    daemon = subprocess.Popen(
        [sys.executable, "-c", code, "-N", "egz-teardown-x"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert daemon.stdout is not None and daemon.stdout.readline() == "1\n"
        result = engine.teardown("egz-teardown-", wait_s=5)
        assert daemon.wait(timeout=5) == -signal.SIGKILL
    finally:
        daemon.kill()
    assert result.processes_killed == 1 and result.clean
    assert result.seconds < 5


def test_teardown_reports_what_it_could_not_remove(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine.system, "stop_page_sharing", lambda: None)
    monkeypatch.setattr(engine.system, "run", lambda *_a, **_k: None)
    monkeypatch.setattr(engine, "_kill", lambda pids, sig: None)  # a process that survives SIGKILL (D state)
    daemon = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "-N", "egz-stuck-x"])
    try:
        time.sleep(0.3)
        result = engine.teardown("egz-stuck-", wait_s=0.5)
    finally:
        daemon.kill()
        daemon.wait()
    assert result.processes_left == (daemon.pid,) and not result.clean
    assert result.seconds < 3


def test_the_convergence_poll_asks_only_the_routers_not_yet_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """Three routers in a line; the first poll sees r1's adjacency up, so the second asks r2 and r3 only."""
    from network.lab.check import RouterState
    from network.lab.spec import Adjacency

    spec = LabSpec(
        {n: Router(n, "", ("zebra", "ospfd")) for n in ("r1", "r2", "r3")},
        [],
        [
            Adjacency("r1", "e1", "r2"),
            Adjacency("r2", "e1", "r1"),
            Adjacency("r2", "e2", "r3"),
            Adjacency("r3", "e1", "r2"),
        ],
    )
    polls = [
        {"r1": RouterState({"e1": "2"}), "r2": RouterState({"e1": "1"}), "r3": RouterState()},
        {"r2": RouterState({"e1": "1", "e2": "3"}), "r3": RouterState({"e1": "2"})},
    ]
    asked: list[set[str]] = []

    def routing_state(prefix: str, spec: LabSpec, workers: int, routers: set[str]) -> dict[str, RouterState]:
        asked.append(set(routers))
        return polls[len(asked) - 1]

    monkeypatch.setattr(lab, "routing_state", routing_state)
    monkeypatch.setattr(lab, "run_check", lambda spec, prefix: lab.CheckReport())
    _seconds, report = lab.wait_converged(spec, "egz-", timeout=60, poll=0)
    assert report.ok
    assert asked == [{"r1", "r2", "r3"}, {"r2", "r3"}]


def test_the_full_lab_changes_only_the_bfd_intervals() -> None:
    """The lab deviation of `up --full`: the BFD profile's intervals, every other line as rendered."""
    city = _city_lab().routers["GD-CITY-440100"].config
    slow = with_lab_timers(city, engine.LabTimers(bfd_interval_ms=1000))
    changed = [(a, b) for a, b in zip(city.splitlines(), slow.splitlines(), strict=True) if a != b]
    assert changed == [
        ("  transmit-interval 200", "  transmit-interval 1000"),
        ("  receive-interval 200", "  receive-interval 1000"),
    ]
    town = _city_lab().routers[TOWN].config
    assert with_lab_timers(town, engine.LabTimers(bfd_interval_ms=1000)) == town  # no BFD in a town
    throttled = with_lab_timers(town, engine.LabTimers(1000, (1000, 5000, 20000))).splitlines()
    for router in ("router ospf", "router ospf6"):
        assert throttled[throttled.index(router) + 1] == " timers throttle spf 1000 5000 20000"
    assert len(throttled) == len(town.splitlines()) + 2


def test_the_full_lab_raises_only_the_fast_hellos() -> None:
    """`min_hello_dead_s` raises the 1 s / 3 s hellos of links with an alternative path to 10 / 40 s and
    leaves the ones already at 10 / 40 s (and every other line) as rendered."""
    city = _city_lab().routers["GD-CITY-440100"].config
    slow = with_lab_timers(city, engine.LabTimers(bfd_interval_ms=200, min_hello_dead_s=(10, 40)))
    changed = [(a, b) for a, b in zip(city.splitlines(), slow.splitlines(), strict=True) if a != b]
    fast = [line for line in city.splitlines() if line.endswith(("hello-interval 1", "dead-interval 3"))]
    assert len(fast) == 8  # two uplinks (primary, backup) × hello, dead × OSPF, OSPFv3
    assert changed == [
        (line, line[: line.rindex(" ")] + (" 10" if "hello" in line else " 40")) for line in fast
    ]
    town = _city_lab().routers[TOWN].config  # 10 / 40 s already
    assert with_lab_timers(town, engine.LabTimers(bfd_interval_ms=200, min_hello_dead_s=(10, 40))) == town
    full = with_lab_timers(city, engine.FULL_LAB_TIMERS)
    assert " ip ospf hello-interval 1\n" not in full and "  transmit-interval 10000\n" in full


def test_the_neighbour_tables_are_sized_to_the_lab() -> None:
    """The machine-wide ARP / ND tables (1,024 entries by default, shared by every namespace) hold the
    whole province: 4 entries per link end and LAN."""
    backbone = build_backbone()
    spec = lab_spec(backbone, {n: render_device(backbone, n, "frr") for n in backbone.devices})
    ends = 2 * len(spec.links) + sum(len(r.stub_interfaces) for r in spec.routers.values())
    assert ends > 3 * 1024  # the province's routers alone would overflow the default table
    assert engine.neighbour_entries(spec) == 1024 + 4 * ends
