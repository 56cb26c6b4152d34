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
from ipaddress import IPv4Address, IPv4Interface, IPv4Network, IPv6Interface, IPv6Network
from pathlib import Path

import numpy as np
import pytest

from egov.units import Q_
from network.linkload import CapacityInputs, LoadModel, evaluate, free_capacity_on_path, single_failures
from network.model import Attachment, Backbone, Device, Interface, Link
from network.paths import NO_FAILURE, Failure, RoutingGraph
from network.traffic import Demand

M = 1e6  # bit/s per Mbit/s
CITY_AREA = 440100


def _device(name: str, tier: str, city: str = "") -> Device:
    return Device(
        hostname=name,
        tier=tier,
        division_code=city or "440000",
        name=name,
        loopback_v4=IPv4Address("10.0.0.1"),
        loopback_v6=IPv6Interface("fd00::1/128"),
        city_code=city,
    )


def _link(
    devices: dict[str, Device],
    links: list[Link],
    a: str,
    b: str,
    gbit: float,
    cost: int,
    area: int,
    plane: str = "primary",
) -> None:
    port_a = len(devices[a].interfaces) + 1
    port_b = len(devices[b].interfaces) + 1
    bandwidth = Q_(gbit, "Gbit/s")
    common = dict(bandwidth=bandwidth, mtu=1500, plane=plane, ospf_area=area, ospf_cost=cost, hello=1, dead=3)
    addr = IPv4Interface("10.1.0.0/31")
    addr6 = IPv6Interface("fd00::/127")
    devices[a].interfaces.append(Interface(port_a, b, port_b, addr, addr6, **common))  # type: ignore[arg-type]
    devices[b].interfaces.append(Interface(port_b, a, port_a, addr, addr6, **common))  # type: ignore[arg-type]
    links.append(
        Link(
            a,
            port_a,
            b,
            port_b,
            IPv4Network("10.1.0.0/31"),
            IPv6Network("fd00::/127"),
            bandwidth,
            1500,
            plane,
            area,
        )
    )


def hand_backbone() -> Backbone:
    devices = {
        "C1": _device("C1", "core"),
        "C2": _device("C2", "core"),
        "A1": _device("A1", "access"),
        "A2": _device("A2", "access"),
        "X": _device("X", "city", "440100"),
        "K": _device("K", "county", "440100"),
        "T": _device("T", "town", "440100"),
    }
    devices["X"].division_code = "440100"
    links: list[Link] = []
    _link(devices, links, "C1", "C2", 100, 1, 0)
    _link(devices, links, "C1", "C2", 100, 1, 0)
    for core in ("C1", "C2"):
        for acc in ("A1", "A2"):
            _link(devices, links, core, acc, 100, 1, 0)
    _link(devices, links, "C1", "X", 10, 10, 0)
    _link(devices, links, "C2", "X", 10, 100, 0, "backup")
    _link(devices, links, "X", "K", 1, 100, CITY_AREA)
    _link(devices, links, "X", "K", 1, 1000, CITY_AREA, "backup")
    _link(devices, links, "K", "T", 0.1, 1000, CITY_AREA)
    for acc in ("A1", "A2"):
        devices[acc].attachments.append(
            Attachment(
                5,
                "public",
                "cloud-dc",
                IPv4Interface("10.0.4.0/31"),
                IPv6Interface("fd00::/127"),
                Q_(10, "Gbit/s"),
                1500,
            )
        )
    return Backbone(devices=devices, links=links, asn=65044)


def hand_demand() -> Demand:
    return Demand(
        months=[date(2027, 1, 1)],
        sites=["K", "T", "X"],
        users=np.array([20.0, 10.0, 30.0]),
        hubs=["cloud-dc"],
        down=np.array([[1 * M]]),
        up=np.array([[0.25 * M]]),
        transfers=[],
    )


@pytest.fixture
def model() -> LoadModel:
    return LoadModel(RoutingGraph(hand_backbone()), hand_demand())


def loads_of(model: LoadModel, failure: Failure = NO_FAILURE) -> dict[tuple[str, str, str], float]:
    """{(from, to, plane): Mbit/s} for every arc carrying traffic (parallel circuits summed per plane and
    kept apart as plane:port)."""
    values = model.loads(failure)[:, 0]
    out: dict[tuple[str, str, str], float] = {}
    for arc in model.graph.arcs:
        if values[arc.index] > 0:
            c = model.graph.circuits[arc.circuit]
            key = (arc.tail, arc.head, f"{c.plane}:{c.a_port}" if c.tier == "core_interconnect" else c.plane)
            out[key] = out.get(key, 0.0) + values[arc.index] / M
    return {k: round(v, 9) for k, v in out.items()}


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
