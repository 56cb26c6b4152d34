"""Pure parts of the whole-province lab and the traffic test: daemons per tier, the memory estimate, how the
daemons are started, and the comparison of measured with computed link loads (no root)."""

from __future__ import annotations

from functools import cache

import pytest

from network.lab import engine, lab
from network.lab.from_model import daemons_for, lab_spec
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
    """The estimate `up --full` checks against MemAvailable: under 21 GiB (a 24 GiB machine, booted)."""
    backbone = build_backbone()
    spec = lab_spec(backbone, {n: render_device(backbone, n, "frr") for n in backbone.devices})
    assert len(spec.routers) == len(backbone.devices)
    assert lab.memory_needed_mib(spec, shared=True) < 21 * 1024
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
