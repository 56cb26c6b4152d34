"""Routing as the backbone routes: OSPF costs from the model, ECMP, area summaries, the backup plane.

The forwarding the model configures, reduced to what decides where traffic flows:

* **Costs** are the interfaces' ``ospf_cost`` (reference bandwidth / circuit, × 10 on the backup plane), so
  the backup plane carries traffic only when the primary path is gone.
* **Areas and summaries.** Each city is one area below its ABRs: the city router, and in a city whose
  counties have backup circuits a second city router too. Every ABR announces one summary for the whole city
  into area 0, at the cost of its farthest router in the area (RFC 2328's range cost, FRR's default), and
  every route of area 0 into the city at its own cost. So a router outside the city forwards traffic for any
  site of the city toward the ABR at least (distance + summary cost), and a router inside the city forwards
  traffic leaving it toward the ABR at least (intra-area distance + that ABR's cost in area 0) — ECMP over
  equal ones; an ABR itself always routes area-0 destinations in area 0 and its own area's intra-area (OSPF
  prefers an intra-area path whatever its cost). So routing splits into area 0 (cores, access routers, city
  routers, with the hubs behind the access routers) and one small problem per city area, coupled only through
  the ABRs' costs — and a failure inside a city changes only that city's routing and where its traffic
  enters area 0.
* **ECMP**: every router splits traffic for a destination equally over all its equal-cost next hops
  (parallel circuits included), destination-based, as FRR, VRP and IOS-XE do.
* **Hubs** (the DC, the internet exit, departments) are VRF attachments at the provincial access routers,
  reached over iBGP with the access routers as next hops; with equal IGP cost to both (the model's design)
  BGP multipath splits equally. A hub sends equally over its live attachments (its own border routers'
  ECMP). A hub is never a transit.

Graphs are networkx MultiDiGraphs (one arc per link and direction, parallel circuits kept apart); shortest
distances come from networkx's Dijkstra with failed arcs hidden, and the equal-cost split is done here.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar, cast

import networkx as nx

from egov.units import magnitude_in
from network.model import Backbone

BACKBONE_AREA = 0
T = TypeVar("T")
EPS = 1e-9


@dataclass(frozen=True, slots=True)
class Circuit:
    """A link of the capacity report: a backbone circuit or a hub's attachment; ``a`` is the upstream end."""

    index: int
    a: str
    b: str
    a_port: int
    b_port: int
    tier: str  # the circuit class of network.yaml: province_city, city_county, dc_access, …
    capacity: float  # bit/s
    area: int
    plane: str
    cost: int  # OSPF cost (0 for an attachment: it is a BGP next hop, not an OSPF link)

    @property
    def name(self) -> str:
        return f"{self.a}–{self.b}"


@dataclass(frozen=True, slots=True)
class Arc:
    """One direction of a circuit: ``direction`` 0 is a→b (downstream, away from the core), 1 is b→a."""

    index: int
    tail: str
    head: str
    cost: int
    circuit: int
    direction: int


@dataclass
class Area:
    """One OSPF area's routers and arcs; ``abrs`` are a city area's area border routers, the first city router
    first (empty for area 0)."""

    area: int
    abrs: tuple[str, ...]
    nodes: list[str]
    arcs: list[int]
    graph: nx.MultiDiGraph = field(repr=False)
    reverse: nx.MultiDiGraph = field(repr=False)
    #: router -> [(arc index, far-end router, cost)] of its outgoing arcs, sorted
    out: dict[str, list[tuple[int, str, int]]] = field(default_factory=dict, repr=False)
    #: router -> [(arc index, near-end router, cost)] of its incoming arcs, sorted
    into: dict[str, list[tuple[int, str, int]]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not self.out:
            for node in self.graph.nodes:
                self.out[node] = sorted(
                    (key, head, data["cost"])
                    for _, head, key, data in self.graph.out_edges(node, keys=True, data=True)
                )
                self.into[node] = sorted(
                    (key, tail, data["cost"])
                    for tail, _, key, data in self.graph.in_edges(node, keys=True, data=True)
                )


def circuit_tier(tiers: tuple[str, str], plane: str) -> str:
    """The network.yaml circuit class of a link between devices of ``tiers`` (upstream first)."""
    if plane == "backup":
        return "backup.city_uplink" if tiers[1] == "city" else "backup.county_uplink"
    return {
        ("core", "core"): "core_interconnect",
        ("core", "access"): "core_access",
        ("core", "city"): "province_city",
        ("city", "county"): "city_county",
        ("county", "town"): "county_town",
        ("city", "town"): "city_town",
    }.get(tiers, f"{tiers[0]}_{tiers[1]}")


ATTACHMENT_TIERS = {"cloud-dc": "dc_access", "internet-exit": "internet_access"}


class RoutingGraph:
    """The backbone (isolated domain excluded: it carries none of this traffic) as routing sees it."""

    def __init__(self, backbone: Backbone):
        self.devices = {n: d for n, d in backbone.devices.items() if d.domain == "backbone"}
        self.circuits: list[Circuit] = []
        self.arcs: list[Arc] = []
        for link in backbone.links:
            if link.plane == "isolated" or link.a not in self.devices:
                continue
            a, b = self.devices[link.a], self.devices[link.b]
            cost = a.interface(link.a_port).ospf_cost
            cost_back = b.interface(link.b_port).ospf_cost
            tier = circuit_tier((a.tier, b.tier), link.plane)
            self._add(
                link.a,
                link.b,
                link.a_port,
                link.b_port,
                tier,
                magnitude_in(link.bandwidth, "bit/s"),
                link.ospf_area,
                link.plane,
                cost,
                cost_back,
            )
        self.pes = sorted(n for n, d in self.devices.items() if d.tier == "access")
        #: hub -> [(access router, circuit index)]
        self.attachments: dict[str, list[tuple[str, int]]] = {}
        for pe in self.pes:
            for att in self.devices[pe].attachments:
                tier = ATTACHMENT_TIERS.get(att.customer, "department_access")
                index = self._add(
                    pe,
                    att.customer,
                    att.port,
                    0,
                    tier,
                    magnitude_in(att.bandwidth, "bit/s"),
                    BACKBONE_AREA,
                    "attachment",
                    0,
                    0,
                )
                self.attachments.setdefault(att.customer, []).append((pe, index))
        self.areas: dict[int, Area] = {}
        self._cache: dict[tuple[str, object], object] = {}
        self._build_areas()
        self.area_of_site = {
            n: (int(d.city_code) if d.tier in ("county", "town") else BACKBONE_AREA)
            for n, d in self.devices.items()
        }

    def _add(
        self,
        a: str,
        b: str,
        a_port: int,
        b_port: int,
        tier: str,
        capacity: float,
        area: int,
        plane: str,
        cost: int,
        cost_back: int,
    ) -> int:
        index = len(self.circuits)
        self.circuits.append(Circuit(index, a, b, a_port, b_port, tier, capacity, area, plane, cost))
        self.arcs.append(Arc(2 * index, a, b, cost, index, 0))
        self.arcs.append(Arc(2 * index + 1, b, a, cost_back, index, 1))
        return index

    def _build_areas(self) -> None:
        members: dict[int, set[str]] = {}
        arcs: dict[int, list[int]] = {}
        for circuit in self.circuits:
            if circuit.plane == "attachment":
                continue
            members.setdefault(circuit.area, set()).update((circuit.a, circuit.b))
            arcs.setdefault(circuit.area, []).extend((2 * circuit.index, 2 * circuit.index + 1))
        for area, nodes in sorted(members.items()):
            graph = nx.MultiDiGraph()
            graph.add_nodes_from(sorted(nodes))
            for i in arcs[area]:
                arc = self.arcs[i]
                graph.add_edge(arc.tail, arc.head, key=i, cost=arc.cost)
            # a city area's ABRs: its city routers (the second one's hostname sorts after the first's)
            abrs = (
                ()
                if area == BACKBONE_AREA
                else tuple(n for n in sorted(nodes) if self.devices[n].tier == "city")
            )
            self.areas[area] = Area(area, abrs, sorted(nodes), arcs[area], graph, graph.reverse(copy=True))
        # a city router with no counties still has its own (empty) area: its users enter area 0 directly
        for name, dev in self.devices.items():
            if dev.tier == "city" and int(dev.division_code) not in self.areas:
                graph = nx.MultiDiGraph()
                graph.add_node(name)
                self.areas[int(dev.division_code)] = Area(
                    int(dev.division_code), (name,), [name], [], graph, graph.reverse()
                )

    def cached(self, key: tuple[str, object], compute: Callable[[], T]) -> T:
        """An intact-network figure computed once per graph (distances, summary costs)."""
        if key not in self._cache:
            self._cache[key] = compute()
        return cast(T, self._cache[key])

    def circuit_index(self, a: str, b: str) -> list[int]:
        """Every circuit between two devices (either order)."""
        pair = {a, b}
        return [c.index for c in self.circuits if {c.a, c.b} == pair]


@dataclass(frozen=True)
class Failure:
    """What is down: circuits and routers. ``name`` says it in the report ('none' for the intact network)."""

    name: str
    circuits: frozenset[int] = frozenset()
    routers: frozenset[str] = frozenset()


NO_FAILURE = Failure("none")


def distances(
    area: Area,
    roots: Iterable[str],
    failure: Failure,
    *,
    toward: bool,
    offsets: Mapping[str, float] | None = None,
) -> dict[str, float]:
    """Shortest OSPF distance from every live router of ``area`` to the nearest of ``roots`` (``toward``)
    or from it (not ``toward``), failed circuits and routers hidden. ``offsets`` start each root at its own
    cost (an ABR's cost beyond the area); a root without one is unreachable beyond and left out."""
    dead_circuits, dead_routers = failure.circuits, failure.routers
    adjacent = area.into if toward else area.out
    heap = [
        (offsets[r] if offsets is not None else 0.0, r)
        for r in roots
        if r not in dead_routers and r in adjacent and (offsets is None or r in offsets)
    ]
    heapq.heapify(heap)
    dist: dict[str, float] = {}
    while heap:
        d, node = heapq.heappop(heap)
        if node in dist:
            continue
        dist[node] = d
        for arc, other, cost in adjacent[node]:
            if other not in dist and other not in dead_routers and arc // 2 not in dead_circuits:
                heapq.heappush(heap, (d + cost, other))
    return dist


def summary_costs(area: Area, failure: Failure) -> dict[str, float]:
    """The cost at which each live ABR of a city area announces the area's summary into area 0: its distance
    to the farthest router of the area it reaches (RFC 2328 § 12.4.3: the largest component cost; the links
    and LANs of the range lie as far or a LAN's cost farther, the same for every ABR in this design)."""
    out = {}
    for abr in area.abrs:
        if abr in failure.routers or abr not in area.out:
            continue
        dist = distances(area, [abr], failure, toward=False)
        out[abr] = max((d for n, d in dist.items() if n not in area.abrs), default=0.0)
    return out


def _next_arcs(
    area: Area, node: str, dist: dict[str, float], failure: Failure, *, toward: bool
) -> list[tuple[int, str]]:
    """The equal-cost next arcs of ``node``: toward the roots (``dist`` to them) or away (``dist`` from them).
    Each arc is (arc index, the router at its far end)."""
    out = []
    dead_circuits, dead_routers = failure.circuits, failure.routers
    here = dist[node]
    for arc, head, cost in area.out[node]:
        if arc // 2 in dead_circuits or head in dead_routers or head not in dist:
            continue
        if toward:
            if abs(dist[head] + cost - here) < EPS:
                out.append((arc, head))
        elif abs(here + cost - dist[head]) < EPS:
            out.append((arc, head))
    return out


def split_toward(
    area: Area,
    roots: Collection[str],
    sources: list[str],
    failure: Failure,
    offsets: Mapping[str, float] | None = None,
) -> tuple[dict[int, dict[int, float]], dict[str, dict[int, float]]]:
    """ECMP of traffic from ``sources`` to the nearest of ``roots`` (each at its ``offsets`` cost, see
    distances), each router splitting equally over its equal-cost next hops. Traffic reaching a root stays
    there: a hub's access router delivers it, an ABR forwards it in area 0 (as OSPF does, even where a path
    through the area to another ABR looked cheaper to the routers behind it). Returns ({arc: {source position:
    fraction}}, {root: {source position: fraction arriving there}}); an unreachable source appears nowhere."""
    dist = distances(area, roots, failure, toward=True, offsets=offsets)
    share: dict[str, dict[int, float]] = {}
    for i, s in enumerate(sources):
        if s in dist:
            share.setdefault(s, {})
            share[s][i] = share[s].get(i, 0.0) + 1.0
    arcs: dict[int, dict[int, float]] = {}
    arrived: dict[str, dict[int, float]] = {}
    # farthest first: every share a router forwards has fully arrived (costs are positive)
    heap = [(-dist[n], n) for n in share]
    heapq.heapify(heap)
    while heap:
        _, node = heapq.heappop(heap)
        fractions = share.pop(node, None)
        if fractions is None:
            continue
        if node in roots:
            arrived[node] = fractions
            continue
        hops = _next_arcs(area, node, dist, failure, toward=True)
        for arc, head in hops:
            on_arc = arcs.setdefault(arc, {})
            if head not in share:
                share[head] = {}
                heapq.heappush(heap, (-dist[head], head))
            into = share[head]
            for i, f in fractions.items():
                part = f / len(hops)
                on_arc[i] = on_arc.get(i, 0.0) + part
                into[i] = into.get(i, 0.0) + part
    return arcs, arrived


def split_from(
    area: Area, root: str, destinations: list[str], failure: Failure
) -> dict[int, dict[int, float]]:
    """ECMP of traffic from ``root`` to each of ``destinations`` (destination-based at every hop). Returns
    {arc: {destination position: fraction}}; an unreachable destination appears nowhere.

    With a single shortest path (the usual case in a city area) the path is followed back from the
    destination; with several, the split is propagated over the shortest-path DAG restricted to the routers
    that lead to the destination."""
    if root in failure.routers:
        return {}
    dist = distances(area, [root], failure, toward=False)
    preds: dict[str, list[tuple[int, str]]] = {}
    paths = {root: 1}
    for node in sorted(dist, key=lambda n: dist[n]):
        for arc, head in _next_arcs(area, node, dist, failure, toward=False):
            preds.setdefault(head, []).append((arc, node))
    for node in sorted(dist, key=lambda n: dist[n]):
        if node != root:
            paths[node] = sum(paths[p] for _, p in preds.get(node, []))
    arcs: dict[int, dict[int, float]] = {}
    for i, dest in enumerate(destinations):
        if dest not in dist or dest == root:
            continue
        if paths[dest] == 1:
            node = dest
            while node != root:
                arc, node = preds[node][0]
                arcs.setdefault(arc, {})[i] = 1.0
            continue
        ancestors = nx.ancestors(area.graph, dest) & set(dist)  # a superset; filtered by the DAG below
        upstream = {dest}
        for node in sorted(ancestors | {dest}, key=lambda n: -dist[n]):
            if node in upstream:
                upstream.update(p for _, p in preds.get(node, []))
        at = {root: 1.0}
        for node in sorted(upstream, key=lambda n: dist[n]):
            if node == dest or node not in at:
                continue
            hops = [
                (arc, head)
                for arc, head in _next_arcs(area, node, dist, failure, toward=False)
                if head in upstream
            ]
            for arc, head in hops:
                part = at[node] / len(hops)
                arcs.setdefault(arc, {})[i] = arcs.get(arc, {}).get(i, 0.0) + part
                at[head] = at.get(head, 0.0) + part
    return arcs


def abr_cost(graph: RoutingGraph, abr: str, destination: str) -> float | None:
    """What an ABR (a router of area 0) pays to reach ``destination`` in the intact network, the cost it
    announces into its city: intra-area in area 0, or via the destination city's summaries (None:
    unreached)."""
    area0 = graph.areas[BACKBONE_AREA]
    dist = graph.cached(("from", abr), lambda: distances(area0, [abr], NO_FAILURE, toward=False))
    there = graph.area_of_site[destination]
    if there == BACKBONE_AREA:
        return dist.get(destination)
    summaries = graph.cached(("summary", there), lambda: summary_costs(graph.areas[there], NO_FAILURE))
    costs = [dist[b] + s for b, s in summaries.items() if b in dist]
    return min(costs) if costs else None


def next_hop_ports(graph: RoutingGraph, router: str, destination: str) -> set[int]:
    """The ports over which ``router`` forwards traffic for ``destination``'s loopback, as OSPF with the
    model's areas and summaries decides (every equal-cost port). What the differential test holds against
    the FRR lab's RIB.

    A county or town reaches its own city intra-area, and everything else through the ABR at least
    (distance + the ABR's own cost to it); a router of area 0 reaches a city's counties and towns through the
    city's summaries, i.e. the ABR at least (distance + summary cost), except an ABR of that city, which
    routes intra-area. ABRs' loopbacks are in area 0."""
    if router == destination:
        return set()
    here, there = graph.area_of_site[router], graph.area_of_site[destination]
    area, roots, offsets = graph.areas[BACKBONE_AREA], [destination], None
    if here != BACKBONE_AREA:
        area = graph.areas[here]
        if there != here:
            roots = list(area.abrs)
            offsets = {}
            for abr in area.abrs:
                cost = abr_cost(graph, abr, destination)
                if cost is not None:
                    offsets[abr] = cost
    elif there != BACKBONE_AREA:
        city = graph.areas[there]
        if router in city.nodes:
            area = city  # an ABR of the destination's area: OSPF prefers the intra-area path
        else:
            roots = list(city.abrs)
            offsets = graph.cached(("summary", there), lambda: summary_costs(city, NO_FAILURE))
    dist = distances(area, roots, NO_FAILURE, toward=True, offsets=offsets)
    if router not in dist:
        return set()
    ports = set()
    for arc, _ in _next_arcs(area, router, dist, NO_FAILURE, toward=True):
        circuit = graph.circuits[arc // 2]
        ports.add(circuit.a_port if arc % 2 == 0 else circuit.b_port)
    return ports
