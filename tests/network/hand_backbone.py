"""The hand-made backbones of the traffic tests, from one builder: both cores (two parallel 100G circuits),
both access routers (each with a 100G circuit to each core and the cloud DC attached), plus the city that a
test describes as its routers and its circuits. The demand and the loads helper are shared too."""

from __future__ import annotations

from datetime import date
from ipaddress import IPv4Address, IPv4Interface, IPv4Network, IPv6Interface, IPv6Network

import numpy as np

from egov.units import Q_
from network.linkload import LoadModel
from network.model import Attachment, Backbone, Device, Interface, Link
from network.paths import NO_FAILURE, Failure
from network.traffic import Demand

M = 1e6  # bit/s per Mbit/s
CITY_AREA = 440100
CITY = "440100"
#: (a, b, Gbit/s, OSPF cost, area, plane) of one circuit.
Circuit = tuple[str, str, float, int, int, str]
_CORE: list[Circuit] = [
    ("C1", "C2", 100, 1, 0, "primary"),
    ("C1", "C2", 100, 1, 0, "primary"),
    *[(core, acc, 100, 1, 0, "primary") for core in ("C1", "C2") for acc in ("A1", "A2")],
]


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


def _link(devices: dict[str, Device], links: list[Link], circuit: Circuit) -> None:
    a, b, gbit, cost, area, plane = circuit
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


def hand_backbone(city_routers: dict[str, str], city_circuits: list[Circuit]) -> Backbone:
    """Cores and access routers with the cloud DC, plus ``city_routers`` (hostname → tier, all in city
    440100; a city router's division is the city) wired by ``city_circuits``."""
    devices = {name: _device(name, tier) for name, tier in (("C1", "core"), ("C2", "core"))}
    devices |= {name: _device(name, "access") for name in ("A1", "A2")}
    for name, tier in city_routers.items():
        devices[name] = _device(name, tier, CITY)
        if tier == "city":
            devices[name].division_code = CITY
    links: list[Link] = []
    for circuit in [*_CORE, *city_circuits]:
        _link(devices, links, circuit)
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
    """Users: X 30, K 20, T 10. Per user in the month: 1 Mbit/s down from the DC, 0.25 Mbit/s up to it."""
    return Demand(
        months=[date(2027, 1, 1)],
        sites=["K", "T", "X"],
        users=np.array([20.0, 10.0, 30.0]),
        hubs=["cloud-dc"],
        down=np.array([[1 * M]]),
        up=np.array([[0.25 * M]]),
        transfers=[],
    )


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
