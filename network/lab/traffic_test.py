"""iperf3 across one county: the lab's measured link loads against what network.linkload computes.

A known load is offered from a town's LAN (UDP at a fixed rate, iperf3) to a core router, over the lab's
links shaped to their tier rates. The interface counters of every link among the routers on that path give
the measured load per direction; network.linkload's routing of the same demand from the same town toward
the cloud DC gives the computed one. Each direction must agree within the tolerance (±10 % of the computed
load; a direction the model leaves idle must stay under 10 % of the offered load).
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass, field

from network.lab import system
from network.lab.spec import LabSpec, Link, namespace_name
from network.lab.system import LabError

TOLERANCE = 0.10
#: UDP payload per datagram: a 1,500-byte IP packet. The counters see 42 bytes more per datagram (UDP, IP,
#: Ethernet headers): the measured load runs about 2.9 % above the offered payload rate.
DATAGRAM_BYTES = 1458
IPERF_PORT = 5299


@dataclass(frozen=True)
class Direction:
    """One direction of a lab link: from ``tail``'s ``ifname`` towards ``head``."""

    tail: str
    head: str
    ifname: str
    capacity_bit_s: int


@dataclass
class Comparison:
    """Computed against measured load of one direction of a link."""

    direction: Direction
    computed_bit_s: float
    measured_bit_s: float
    offered_bit_s: float
    tolerance: float = TOLERANCE

    @property
    def computed_utilisation(self) -> float:
        return self.computed_bit_s / self.direction.capacity_bit_s

    @property
    def measured_utilisation(self) -> float:
        return self.measured_bit_s / self.direction.capacity_bit_s

    @property
    def deviation(self) -> float:
        """(measured − computed) / computed; for an idle direction, measured / offered."""
        if self.computed_bit_s > 0:
            return (self.measured_bit_s - self.computed_bit_s) / self.computed_bit_s
        return self.measured_bit_s / self.offered_bit_s

    @property
    def ok(self) -> bool:
        return abs(self.deviation) <= self.tolerance


@dataclass
class TrafficTest:
    """What `lab traffic-test` did and found."""

    source: str
    source_address: str
    server: str
    server_address: str
    offered_bit_s: float
    seconds: float
    comparisons: list[Comparison] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.comparisons) and all(c.ok for c in self.comparisons)


def path_routers(spec: LabSpec, town: str, server: str) -> list[str]:
    """The town, its county, its city and ``server``: the routers whose links the test watches."""
    county = _upstream(spec, town)
    city = _upstream(spec, county)
    return [town, county, city, server]


def _upstream(spec: LabSpec, router: str) -> str:
    """The router's primary uplink peer (links are stored upstream end first)."""
    for link in spec.links:
        if link.b.router == router and link.plane == "primary":
            return link.a.router
    raise LabError(f"{router} has no primary uplink in this lab")


def watched_directions(spec: LabSpec, routers: list[str]) -> list[Direction]:
    """Both directions of every lab link between two of ``routers``, sorted."""
    inside = set(routers)
    out = []
    for link in spec.links:
        if link.a.router in inside and link.b.router in inside:
            out += _directions(link)
    return sorted(out, key=lambda d: (d.tail, d.head, d.ifname))


def _directions(link: Link) -> list[Direction]:
    return [
        Direction(link.a.router, link.b.router, link.a.ifname, link.rate_bit_s),
        Direction(link.b.router, link.a.router, link.b.ifname, link.rate_bit_s),
    ]


def computed_loads(site: str, offered_bit_s: float, directions: list[Direction]) -> dict[Direction, float]:
    """What network.linkload routes over each of ``directions`` when ``site`` sends ``offered_bit_s`` to the
    cloud DC (its ECMP fractions included; 0 for a direction it does not use)."""
    from network.linkload import load_capacity_inputs, unit_flow_to_dc
    from network.naming import interface_name

    inputs = load_capacity_inputs()
    graph = inputs.graph
    flow = unit_flow_to_dc(inputs.model, site)
    by_end: dict[tuple[str, str], float] = {}
    for arc_index, fraction in flow.items():
        arc = graph.arcs[arc_index]
        circuit = graph.circuits[arc.circuit]
        if circuit.plane == "attachment":  # the DC's access circuit: a BGP next hop, not a lab link
            continue
        port = circuit.a_port if arc.tail == circuit.a else circuit.b_port
        ifname = interface_name("frr", graph.devices[arc.tail].interface(port))
        by_end[(arc.tail, ifname)] = by_end.get((arc.tail, ifname), 0.0) + fraction * offered_bit_s
    return {d: by_end.get((d.tail, d.ifname), 0.0) for d in directions}


def _tx_bytes(prefix: str, router: str) -> dict[str, int]:
    """Bytes sent so far per interface of ``router`` (its kernel counters)."""
    out = system.run(["ip", "-n", namespace_name(prefix, router), "-s", "-j", "link", "show"]).stdout
    return {i["ifname"]: int(i["stats64"]["tx"]["bytes"]) for i in json.loads(out)}


def _counters(prefix: str, routers: list[str]) -> dict[str, tuple[float, dict[str, int]]]:
    return {r: (time.monotonic(), _tx_bytes(prefix, r)) for r in routers}


def _lan_address(spec: LabSpec, router: str) -> str:
    for stub in spec.routers[router].stub_interfaces:
        for address in stub.addresses:
            if address.version == 4:
                return str(address.ip)
    raise LabError(f"{router} has no LAN address in this lab")


def _loopback(spec: LabSpec, router: str) -> str:
    for address in spec.routers[router].loopbacks:
        if address.version == 4:
            return str(address.ip)
    raise LabError(f"{router} has no IPv4 loopback in this lab")


def measure(
    spec: LabSpec, prefix: str, town: str, server: str, offered_bit_s: float, seconds: float = 8.0
) -> tuple[TrafficTest, dict[Direction, float]]:
    """Offer ``offered_bit_s`` of UDP from ``town``'s LAN address to ``server``'s loopback for ``seconds``
    (plus 2 s of ramp-up left out of the window); the measured bit/s per watched direction."""
    routers = path_routers(spec, town, server)
    directions = watched_directions(spec, routers)
    source, target = _lan_address(spec, town), _loopback(spec, server)
    server_ns, town_ns = namespace_name(prefix, server), namespace_name(prefix, town)
    iperf_server = subprocess.Popen(
        system.in_ns(server_ns, ["iperf3", "-s", "-1", "-B", target, "-p", str(IPERF_PORT)]),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(0.5)
        client_cmd = ["iperf3", "-c", target, "-B", source, "-p", str(IPERF_PORT), "-u", "-J"]
        client_cmd += [
            "-b",
            str(round(offered_bit_s)),
            "-l",
            str(DATAGRAM_BYTES),
            "-t",
            str(round(seconds + 3)),
        ]
        client = subprocess.Popen(
            system.in_ns(town_ns, client_cmd), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        time.sleep(2.0)
        first = _counters(prefix, routers)
        time.sleep(seconds)
        last = _counters(prefix, routers)
        out, err = client.communicate(timeout=seconds + 30)
        if client.returncode != 0:
            raise LabError(f"iperf3 from {town} to {server} failed: {(err or out).strip()[-300:]}")
    finally:
        iperf_server.kill()
        iperf_server.wait()
    measured = {}
    for d in directions:
        (t0, before), (t1, after) = first[d.tail], last[d.tail]
        measured[d] = (after[d.ifname] - before[d.ifname]) * 8 / (t1 - t0)
    test = TrafficTest(town, source, server, target, offered_bit_s, seconds)
    return test, measured


def compare(
    test: TrafficTest, computed: dict[Direction, float], measured: dict[Direction, float]
) -> TrafficTest:
    """``test`` with one comparison per watched direction, in order."""
    test.comparisons = [
        Comparison(d, computed.get(d, 0.0), measured[d], test.offered_bit_s)
        for d in sorted(measured, key=_key)
    ]
    return test


def _key(d: Direction) -> tuple[str, str, str]:
    return (d.tail, d.head, d.ifname)


def run(
    spec: LabSpec, prefix: str, town: str, server: str, offered_bit_s: float, seconds: float = 8.0
) -> TrafficTest:
    """Measure in the lab and compare with network.linkload's routing of the same demand."""
    test, measured = measure(spec, prefix, town, server, offered_bit_s, seconds)
    return compare(test, computed_loads(town, offered_bit_s, list(measured)), measured)


def traffic_test_json(test: TrafficTest) -> dict[str, object]:
    """The JSON document of `egov network lab traffic-test --format json`."""
    return {
        "source": test.source,
        "source_address": test.source_address,
        "server": test.server,
        "server_address": test.server_address,
        "offered_bit_s": round(test.offered_bit_s),
        "seconds": test.seconds,
        "tolerance": TOLERANCE,
        "ok": test.ok,
        "links": [
            {
                "from": c.direction.tail,
                "to": c.direction.head,
                "interface": c.direction.ifname,
                "capacity_bit_s": c.direction.capacity_bit_s,
                "computed_bit_s": round(c.computed_bit_s),
                "measured_bit_s": round(c.measured_bit_s),
                "computed_utilisation": round(c.computed_utilisation, 4),
                "measured_utilisation": round(c.measured_utilisation, 4),
                "deviation": round(c.deviation, 4),
                "ok": c.ok,
            }
            for c in test.comparisons
        ],
    }
