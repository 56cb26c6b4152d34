"""Routing and link loads on a hand-made backbone, every figure computed by hand.

Topology (OSPF costs as the model sets them: 100G = 1, 10G = 10, 1G = 100, 100M = 1000, backup × 10)::

      cloud-dc (hub, attached to both access routers)
       /    \\
     A1      A2          access routers; each has a 100G circuit (cost 1) to both cores
      | \\  / |
     C1 ==== C2          cores: two parallel 100G interconnects (cost 1 each)
      |       :
      | 10G   : backup 10G (cost 100)
      |  (10) :
       \\     /
        X                city router (ABR of area 440100)
        |  1G (100), backup 1G (1000)
        K                county
        | 100M (1000)
        T                town

Users: X 30, K 20, T 10. Per user in the month: 1 Mbit/s down from the DC, 0.25 Mbit/s up to it.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hand_backbone import CITY_AREA, M, hand_backbone, hand_demand, loads_of

from network.linkload import CapacityInputs, LoadModel, evaluate, free_capacity_on_path, single_failures
from network.model import Backbone
from network.paths import Failure, RoutingGraph


def city_backbone() -> Backbone:
    """The topology above: city X, county K (a primary and a backup 1G to X), town T."""
    return hand_backbone(
        {"X": "city", "K": "county", "T": "town"},
        [
            ("C1", "X", 10, 10, 0, "primary"),
            ("C2", "X", 10, 100, 0, "backup"),
            ("X", "K", 1, 100, CITY_AREA, "primary"),
            ("X", "K", 1, 1000, CITY_AREA, "backup"),
            ("K", "T", 0.1, 1000, CITY_AREA, "primary"),
        ],
    )


@pytest.fixture
def model() -> LoadModel:
    return LoadModel(RoutingGraph(city_backbone()), hand_demand())


def _failure(model: LoadModel, a: str, b: str, plane: str = "primary") -> Failure:
    found = [i for i in model.graph.circuit_index(a, b) if model.graph.circuits[i].plane == plane]
    return Failure(f"circuit {a}–{b}", frozenset(found[:1]))


def test_intact_network_loads_by_hand(model: LoadModel) -> None:
    # downstream: the DC sends 60 users × 1 Mbit/s equally over its two attachments; each access router's
    # cheapest way to X is via C1 (1 + 10); X passes 30 Mbit/s (K and T) to K, K 10 to T.
    # upstream: 0.25 × the same; C1 splits toward the two access routers (equal cost 1): the ECMP split.
    assert loads_of(model) == {
        ("cloud-dc", "A1", "attachment"): 30.0,
        ("cloud-dc", "A2", "attachment"): 30.0,
        ("A1", "C1", "primary"): 30.0,
        ("A2", "C1", "primary"): 30.0,
        ("C1", "X", "primary"): 60.0,
        ("X", "K", "primary"): 30.0,
        ("K", "T", "primary"): 10.0,
        ("T", "K", "primary"): 2.5,
        ("K", "X", "primary"): 7.5,
        ("X", "C1", "primary"): 15.0,
        ("C1", "A1", "primary"): 7.5,
        ("C1", "A2", "primary"): 7.5,
        ("A1", "cloud-dc", "attachment"): 7.5,
        ("A2", "cloud-dc", "attachment"): 7.5,
    }


def test_city_primary_failure_reroutes_over_the_backup_plane(model: LoadModel) -> None:
    # C1–X down: X is reached only over its backup circuit to C2 (cost 100); each access router goes
    # A→C2→X (1 + 100) rather than A→C1→C2→X (102); upstream C2 splits equally toward A1 and A2.
    assert loads_of(model, _failure(model, "C1", "X")) == {
        ("cloud-dc", "A1", "attachment"): 30.0,
        ("cloud-dc", "A2", "attachment"): 30.0,
        ("A1", "C2", "primary"): 30.0,
        ("A2", "C2", "primary"): 30.0,
        ("C2", "X", "backup"): 60.0,
        ("X", "K", "primary"): 30.0,
        ("K", "T", "primary"): 10.0,
        ("T", "K", "primary"): 2.5,
        ("K", "X", "primary"): 7.5,
        ("X", "C2", "backup"): 15.0,
        ("C2", "A1", "primary"): 7.5,
        ("C2", "A2", "primary"): 7.5,
        ("A1", "cloud-dc", "attachment"): 7.5,
        ("A2", "cloud-dc", "attachment"): 7.5,
    }


def test_parallel_core_circuits_share_equally(model: LoadModel) -> None:
    # A1–C1 down: A1 reaches X via C2 then C1 (1 + 1 + 10 = 12 < 1 + 100), over both C2–C1 interconnects
    # equally (15 Mbit/s each); upstream, C1 reaches A1 only via C2 (2), A2 directly (1): no split at C1.
    loads = loads_of(model, _failure(model, "C1", "A1"))
    assert loads[("A1", "C2", "primary")] == 30.0
    assert loads[("C2", "C1", "primary:1")] == 15.0
    assert loads[("C2", "C1", "primary:2")] == 15.0
    assert loads[("C1", "X", "primary")] == 60.0
    assert loads[("C1", "A2", "primary")] == 15.0
    assert loads[("A2", "cloud-dc", "attachment")] == 15.0
    assert ("A1", "cloud-dc", "attachment") not in loads


def test_county_backup_and_lost_attachment(model: LoadModel) -> None:
    backup = loads_of(model, _failure(model, "X", "K"))
    assert backup[("X", "K", "backup")] == 30.0 and backup[("K", "X", "backup")] == 7.5
    assert ("X", "K", "primary") not in backup
    # the DC's attachment at A1 down: everything to and from the DC goes through A2
    lost = loads_of(
        model, Failure("circuit A1–cloud-dc", frozenset(model.graph.circuit_index("A1", "cloud-dc")))
    )
    assert lost[("cloud-dc", "A2", "attachment")] == 60.0
    assert lost[("A2", "C1", "primary")] == 60.0
    assert lost[("C1", "A2", "primary")] == 15.0 and ("C1", "A1", "primary") not in lost


def test_a_cut_off_town_takes_its_traffic_with_it(model: LoadModel) -> None:
    loads = loads_of(model, Failure("router T", routers=frozenset({"T"})))
    assert loads[("X", "K", "primary")] == 20.0
    assert ("K", "T", "primary") not in loads
    # a leaf's failure is computed without routing; it must equal routing from scratch
    routed = model._route_city(model.graph.areas[CITY_AREA], Failure("router T", routers=frozenset({"T"})))
    assert routed.w_down.sum() == pytest.approx(20.0 + 0.0)


def test_worst_case_names_the_failure(model: LoadModel) -> None:
    ev = evaluate(model, single_failures(model.graph))
    graph = model.graph
    backup = next(c for c in graph.circuits if c.a == "C2" and c.b == "X")
    arc = 2 * backup.index  # C2 → X
    assert ev.worst[arc, 0] == pytest.approx(60 * M)
    assert ev.failures[ev.worst_by[arc, 0]].name in {"circuit C1–X", "router C1"}
    primary = next(c for c in graph.circuits if c.a == "C1" and c.b == "X")
    assert ev.worst_by[2 * primary.index, 0] == -1  # nothing is worse than the intact network


def test_free_capacity_on_the_routed_path(model: LoadModel) -> None:
    from network.traffic import load_traffic_params

    params = load_traffic_params()
    inputs = CapacityInputs(Path("."), params, model)
    # T → DC: the binding arc is T→K (100 Mbit/s × target − 2.5 Mbit/s carried, all of T's flow on it)
    free = free_capacity_on_path("T", date(2027, 1, 1), inputs)
    assert free.to("bit/s").magnitude == pytest.approx(100 * M * params.target_utilisation - 2.5 * M)
    # the DC itself is two attachments of 10 Gbit/s, ECMP: a department gets twice the free share of one
    dc_free = 10e3 * M * params.target_utilisation - 7.5 * M
    assert free_capacity_on_path("X", date(2027, 1, 1), inputs).to("bit/s").magnitude == pytest.approx(
        min(10e3 * M * params.target_utilisation - 15 * M, 2 * dc_free)
    )


def test_next_hops_follow_areas_summaries_and_ecmp(model: LoadModel) -> None:
    from network.paths import next_hop_ports

    graph = model.graph
    # C2 → X: C2–X is backup (100); C2→C1→X costs 11 over either interconnect (C2's ports 1 and 2)
    assert next_hop_ports(graph, "C2", "X") == {1, 2}
    # C2 → T (inside X's area): the summary leads to the ABR X, so the same two ports
    assert next_hop_ports(graph, "C2", "T") == {1, 2}
    # T → A1: out of the area through the ABR; K forwards on its primary (port 1, cost 100 < 1000)
    assert next_hop_ports(graph, "T", "A1") == {1}
    assert next_hop_ports(graph, "K", "A1") == {1}
    # the ABR reaches its own town intra-area over the primary to K
    x_to_k = next(i.port for i in graph.devices["X"].interfaces if i.peer == "K" and i.plane == "primary")
    assert next_hop_ports(graph, "X", "T") == {x_to_k}
    assert next_hop_ports(graph, "A1", "A1") == set()
