"""A city with two ABRs (the city router X and its second router X2, where the county's backup circuit ends):
routing as OSPF does it — out of the area through the ABR at least (distance + its cost in area 0), into it
through the ABR at least (distance + its summary's cost, the farthest router of the area), every figure by
hand.

Topology: the hand-made backbone of test_traffic_routing (built by tests/network/hand_backbone.py) without
X's own backup to K, plus::

      C1 ======== C2
       | 10G (10)  |  backup 10G (100)      (C2–X backup 10G (100) as before)
       X --------- X2     X–X2: backup 10G (100), in the city's area
       | 1G (100)  |  backup 1G (1000)
        \\         /
            K              county, 20 users
            | 100M (1000)
            T              town, 10 users

Users: X 30, K 20, T 10. Per user: 1 Mbit/s down from the DC, 0.25 Mbit/s up to it.
"""

from __future__ import annotations

import numpy as np
import pytest
from hand_backbone import CITY_AREA, hand_backbone, hand_demand, loads_of

from network.linkload import LoadModel, cut_off, evaluate, single_failures
from network.model import Backbone
from network.paths import NO_FAILURE, Failure, RoutingGraph, next_hop_ports, summary_costs


def two_abr_backbone() -> Backbone:
    return hand_backbone(
        {"X": "city", "X2": "city", "K": "county", "T": "town"},
        [
            ("C1", "X", 10, 10, 0, "primary"),
            ("C2", "X", 10, 100, 0, "backup"),
            ("C2", "X2", 10, 100, 0, "backup"),
            ("X", "X2", 10, 100, CITY_AREA, "backup"),
            ("X", "K", 1, 100, CITY_AREA, "primary"),
            ("X2", "K", 1, 1000, CITY_AREA, "backup"),
            ("K", "T", 0.1, 1000, CITY_AREA, "primary"),
        ],
    )


@pytest.fixture
def model() -> LoadModel:
    return LoadModel(RoutingGraph(two_abr_backbone()), hand_demand())


def _circuit(model: LoadModel, a: str, b: str) -> Failure:
    return Failure(f"circuit {a}–{b}", frozenset(model.graph.circuit_index(a, b)))


def test_the_area_has_both_abrs_and_their_summary_costs(model: LoadModel) -> None:
    area = model.graph.areas[CITY_AREA]
    assert area.abrs == ("X", "X2")
    # X: K 100, T 1100; X2: K min(1000, 100 + 100) = 200, T 1200
    assert summary_costs(area, NO_FAILURE) == {"X": 1100, "X2": 1200}
    # K–X down: X reaches K only through X2 (100 + 1000), T 2100; X2: K 1000, T 2000
    assert summary_costs(area, _circuit(model, "X", "K")) == {"X": 2100, "X2": 2000}


def test_intact_network_leaves_the_second_router_idle(model: LoadModel) -> None:
    # out: K via X 100 + 11 (X–C1–A) = 111 < via X2 200 + 101; in: A via X 11 + 1100 < via X2 101 + 1200.
    # The same loads as the city with one ABR (test_traffic_routing's intact case), nothing at X2.
    loads = loads_of(model)
    assert loads[("C1", "X", "primary")] == 60.0 and loads[("X", "C1", "primary")] == 15.0
    assert loads[("X", "K", "primary")] == 30.0 and loads[("K", "X", "primary")] == 7.5
    assert not [k for k in loads if "X2" in k[:2]]


def test_first_city_router_fails_the_second_carries_the_city(model: LoadModel) -> None:
    # X down (its 30 users with it): K and T (30 users) reach only X2, over K's backup circuit.
    # down: the DC sends 30 × 1 = 30 Mbit/s, 15 per attachment; A→C2→X2 (1 + 100) beats A→C1→C2→X2 (102).
    # up: 30 × 0.25 = 7.5 Mbit/s leave at X2; C2 splits it equally toward A1 and A2 (cost 1 each).
    assert loads_of(model, Failure("router X", routers=frozenset({"X"}))) == {
        ("cloud-dc", "A1", "attachment"): 15.0,
        ("cloud-dc", "A2", "attachment"): 15.0,
        ("A1", "C2", "primary"): 15.0,
        ("A2", "C2", "primary"): 15.0,
        ("C2", "X2", "backup"): 30.0,
        ("X2", "K", "backup"): 30.0,
        ("K", "T", "primary"): 10.0,
        ("T", "K", "primary"): 2.5,
        ("K", "X2", "backup"): 7.5,
        ("X2", "C2", "backup"): 7.5,
        ("C2", "A1", "primary"): 3.75,
        ("C2", "A2", "primary"): 3.75,
        ("A1", "cloud-dc", "attachment"): 3.75,
        ("A2", "cloud-dc", "attachment"): 3.75,
    }


def test_county_primary_fails_traffic_crosses_at_the_second_router(model: LoadModel) -> None:
    # K–X down. Up: K leaves at X2 (1000 + 101 = 1101 < K→X2→X 1000 + 100 + 11), 30 users × 0.25 = 7.5;
    # X's own 30 users leave at X (7.5). Down: X2's summary (101 + 2000) now beats X's (11 + 2100), so all 60
    # users' traffic enters at X2: X's 30 Mbit/s go on over X2–X, K's and T's 30 over the backup to K.
    loads = loads_of(model, _circuit(model, "X", "K"))
    assert loads[("C2", "X2", "backup")] == 60.0
    assert loads[("X2", "X", "backup")] == 30.0 and loads[("X2", "K", "backup")] == 30.0
    assert loads[("K", "X2", "backup")] == 7.5 and loads[("X2", "C2", "backup")] == 7.5
    assert loads[("X", "C1", "primary")] == 7.5
    assert ("C1", "X", "primary") not in loads and ("X", "X2", "backup") not in loads
    assert loads[("A1", "C2", "primary")] == 30.0 and loads[("A2", "C2", "primary")] == 30.0


def test_worst_case_and_cut_off_see_the_second_router(model: LoadModel) -> None:
    failures = single_failures(model.graph)
    ev = evaluate(model, failures)
    uplink = next(c for c in model.graph.circuits if (c.a, c.b) == ("C2", "X2"))
    assert ev.worst[2 * uplink.index, 0] == pytest.approx(60e6)
    assert ev.failures[ev.worst_by[2 * uplink.index, 0]].name == "circuit X–K"
    # X's failure cuts off X's own users only: K and T stay reachable through X2
    assert cut_off(model, Failure("router X", routers=frozenset({"X"}))) == ["X"]
    assert cut_off(model, Failure("routers X, X2", routers=frozenset({"X", "X2"}))) == ["K", "T", "X"]


def test_from_scratch_equals_the_shortcuts(model: LoadModel) -> None:
    """The city's loads equal routing everything again; area 0's too, except where sites are only cut off
    (a town, K's router): then area 0 keeps their traffic, an upper bound."""
    city = np.array(model.graph.areas[CITY_AREA].arcs)
    bounded = set()
    for failure in single_failures(model.graph):
        loads, scratch = model.loads(failure), model.loads_from_scratch(failure)
        assert loads[city] == pytest.approx(scratch[city], abs=1e-3), failure.name
        assert (loads >= scratch - 1e-3).all(), failure.name
        if (loads != scratch).any():
            bounded.add(failure.name)
    assert bounded == {"circuit K–T", "router T", "router K"}


def test_next_hops_with_two_abrs(model: LoadModel) -> None:
    graph = model.graph
    port = {
        (i.peer, i.plane): i.port for d in graph.devices.values() for i in d.interfaces if d.hostname == "K"
    }
    # K → A1: via X (100 + 11) rather than X2 (200 + 101): the primary
    assert next_hop_ports(graph, "K", "A1") == {port[("X", "primary")]}
    # K → X2's loopback (area 0): X2's own summary costs 0, so intra-area to X2 (K–X–X2 200 < backup 1000)
    assert next_hop_ports(graph, "K", "X2") == {port[("X", "primary")]}
    # X2 → T: an ABR of T's area routes intra-area (X2–X–K–T 1200 < X2–K–T 2000)
    x2 = {(i.peer, i.plane): i.port for i in graph.devices["X2"].interfaces}
    assert next_hop_ports(graph, "X2", "T") == {x2[("X", "backup")]}
    # C2 → T: the summaries: via X (C2–C1–X 11 + 1100) rather than X2 (100 + 1200)
    assert next_hop_ports(graph, "C2", "T") == {1, 2}
