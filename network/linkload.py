"""Link loads and utilisation, month by month, intact and under every single failure or shared risk.

Routing (network.paths) gives, per failure, the fraction of each flow on each arc (a circuit in one
direction); the demand (network.traffic) is users × per-user curves, so every city area's load is
``w_up ⊗ up(m) + w_down ⊗ down(m)`` and area 0's a handful of such outer products: each failure is routed
once and its loads over all months are matrix products. A failure changes the routing of the areas it
touches only (see network.paths), so the rest keeps its intact loads. A town's circuit or router
(a leaf: never a transit) is exact without routing: its own flows disappear, nothing else moves.

A city area meets area 0 at its ABRs (the city router; in 11 cities a second one where the counties' backup
circuits end): its traffic leaves through the ABR at least (distance + that ABR's cost to the access
routers) and enters through the ABR at least (distance + summary cost), so a failure anywhere can move where
a city's traffic crosses — the first city router's failure sends the backed-up counties' traffic over the
second router's uplink. A failure inside a city routes area 0 again when traffic crosses at other ABRs;
when it only cuts sites off, area 0 keeps its intact loads (the cut-off sites' traffic is not subtracted
there): an upper bound, never an understatement. A router failure takes down every circuit at it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pint
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from threadpoolctl import threadpool_limits

from egov.errors import SourceError
from egov.months import add_months, month_label, months_between
from egov.source import read_yaml
from egov.units import Q_
from network.params import DATA_DIR
from network.paths import (
    BACKBONE_AREA,
    EPS,
    NO_FAILURE,
    Area,
    Failure,
    RoutingGraph,
    distances,
    split_from,
    split_toward,
    summary_costs,
)
from network.traffic import DC, Demand, TrafficParams, yaml_line

SRLG_FILE = "srlg.yaml"


# -- shared-risk link groups ------------------------------------------------------------------------------
class _Srlg(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    note: str = ""
    circuits: list[tuple[str, str]] = Field(min_length=1)


class _SrlgFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    srlgs: list[_Srlg] = Field(default_factory=list)


def load_srlgs(graph: RoutingGraph, path: Path | None = None) -> list[Failure]:
    """data/srlg.yaml as failures: every circuit of a group fails together. A circuit is named by its two
    routers (``[GD-CORE-01, GD-CITY-440500]``, either order; parallel circuits between them all belong); an
    unknown one is an error naming the file, the line and the field."""
    path = path or DATA_DIR / SRLG_FILE
    raw = read_yaml(path)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise SourceError(path, "expected a mapping with 'srlgs:' at the top level")
    try:
        parsed = _SrlgFile.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        raise SourceError(
            path, err["msg"], row=yaml_line(path, loc), field=".".join(str(p) for p in loc)
        ) from None
    out = []
    seen: set[str] = set()
    for g, group in enumerate(parsed.srlgs):
        if group.name in seen:
            raise SourceError(
                path,
                f"duplicate SRLG name {group.name!r}",
                row=yaml_line(path, ("srlgs", g, "name")),
                field=f"srlgs.{g}.name",
            )
        seen.add(group.name)
        circuits: set[int] = set()
        for c, (a, b) in enumerate(group.circuits):
            found = graph.circuit_index(a, b)
            if not found:
                raise SourceError(
                    path,
                    f"no circuit between {a!r} and {b!r} in the backbone",
                    row=yaml_line(path, ("srlgs", g, "circuits", c)),
                    field=f"srlgs.{g}.circuits.{c}",
                )
            circuits.update(found)
        out.append(Failure(f"srlg {group.name}", frozenset(circuits)))
    return out


def single_failures(graph: RoutingGraph) -> list[Failure]:
    """Every circuit (backbone and attachments) and every router of the backbone, one at a time."""
    twins: dict[tuple[str, str, str], int] = {}  # circuits per pair and plane
    planes: dict[tuple[str, str], set[str]] = {}
    for c in graph.circuits:
        twins[(c.a, c.b, c.plane)] = twins.get((c.a, c.b, c.plane), 0) + 1
        planes.setdefault((c.a, c.b), set()).add(c.plane)
    out = []
    for c in graph.circuits:
        # parallel circuits are told apart by plane (primary/backup twins) or by port (core interconnects)
        name = f"{c.a}:{c.a_port}–{c.b}" if twins[(c.a, c.b, c.plane)] > 1 else c.name
        if len(planes[(c.a, c.b)]) > 1:
            name += f" ({c.plane})"
        out.append(Failure(f"circuit {name}", frozenset({c.index})))
    out.extend(Failure(f"router {name}", routers=frozenset({name})) for name in sorted(graph.devices))
    return out


# -- loads ------------------------------------------------------------------------------------------------
@dataclass
class _AreaRouting:
    """A city area's routing as weights: per arc of the area, the users whose traffic crosses it upstream
    and downstream (ECMP fractions included, downstream for the context's entry shares); the users leaving
    the area at each ABR and the users it reaches; per site, its column of that sum (for a leaf's
    failure)."""

    w_up: np.ndarray
    w_down: np.ndarray
    exits: dict[str, float]
    served: float  # the users it reaches
    columns: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]  # site -> (arc positions, up, down)


@dataclass
class _Context:
    """Where a failure's traffic crosses between area 0 and the city areas (network.paths' ABR choice).

    ``offsets``: every live ABR's area-0 distance to the nearest live access router, what it announces into
    its city for the hubs (the hubs hang at the same access routers in the model's design; with hubs at
    different ones this takes the nearest of all). ``entries``: per live access router and city area, the
    fraction of its downstream traffic entering the area at each ABR (the ABRs at least distance + summary
    cost, equal ties split equally at the access router). ``shares``: per city area, those fractions
    weighted by what each access router sends."""

    offsets: dict[str, float]
    entries: dict[str, dict[int, dict[str, float]]]
    shares: dict[int, dict[str, float]]

    def area_view(self, area: Area) -> tuple[tuple[tuple[str, float], ...], tuple[tuple[str, float], ...]]:
        """What a city area's routing depends on: its ABRs' offsets relative to the least; entry shares."""
        live = {a: self.offsets[a] for a in area.abrs if a in self.offsets}
        least = min(live.values(), default=0.0)
        return (
            tuple(sorted((a, o - least) for a, o in live.items())),
            tuple(sorted(self.shares.get(area.area, {}).items())),
        )


def _dense(arcs: dict[int, dict[int, float]], pos: dict[int, int], width: int) -> np.ndarray:
    """{arc: {column: fraction}} as a dense (arcs of ``pos``) × ``width`` matrix."""
    out = np.zeros((len(pos), width))
    for arc, by in arcs.items():
        row = pos[arc]
        for col, f in by.items():
            out[row, col] += f
    return out


class LoadModel:
    """Loads in bit/s per arc (rows: arc index of the RoutingGraph) and month."""

    def __init__(self, graph: RoutingGraph, demand: Demand):
        self.graph = graph
        self.demand = demand
        self.months = len(demand.months)
        users = dict(zip(demand.sites, demand.users, strict=True))
        self.users = users
        self.up_total = demand.up.sum(axis=0)
        self.down_total = demand.down.sum(axis=0)
        self.hub_index = {h: i for i, h in enumerate(demand.hubs)}
        self.city_areas = [a for _, a in sorted(graph.areas.items()) if a.abrs]
        #: every ABR (city routers, first and second)
        self.abrs = sorted(abr for a in self.city_areas for abr in a.abrs)
        self.area_users = {a.area: float(sum(users.get(n, 0.0) for n in a.nodes)) for a in self.city_areas}
        self.leaves = {area.area: self._leaves(area) for area in graph.areas.values()}
        area0 = graph.areas[BACKBONE_AREA]
        att_arcs = [2 * c.index + d for c in graph.circuits if c.plane == "attachment" for d in (0, 1)]
        self.backbone_arcs = np.array(list(area0.arcs) + att_arcs, dtype=int)
        self.backbone_pos = {int(a): k for k, a in enumerate(self.backbone_arcs)}
        self._summaries = {a.area: summary_costs(a, NO_FAILURE) for a in self.city_areas if len(a.abrs) > 1}
        self._hub_volume = {h: float(demand.down[i].sum()) for h, i in self.hub_index.items()}
        self._weights: dict[str, float] = {}
        self._from_pes: dict[str, dict[str, float]] = {}
        self.context = self._context(NO_FAILURE, set())
        self._intact: dict[int, _AreaRouting] = {}
        self.nominal = self.loads(NO_FAILURE)

    @staticmethod
    def _leaves(area: Area) -> set[str]:
        """Routers of a city area with one circuit only: never a transit, so their failure moves nothing."""
        return (
            {n for n in area.nodes if n not in area.abrs and area.graph.out_degree(n) == 1}
            if area.abrs
            else set()
        )

    # -- where traffic crosses between the areas -------------------------------------------------------------
    def _pe_weights(self, failure: Failure) -> dict[str, float]:
        """Per live access router, the fraction of all downstream traffic (over the horizon) it sends: each
        hub sends equally over its live attachments."""
        sent: dict[str, float] = {}
        total = 0.0
        for hub in self.demand.hubs:
            atts = [
                pe
                for pe, c in self.graph.attachments.get(hub, [])
                if c not in failure.circuits and pe not in failure.routers
            ]
            volume = self._hub_volume[hub]
            for pe in atts:
                sent[pe] = sent.get(pe, 0.0) + volume / len(atts)
                total += volume / len(atts)
        return {pe: v / total for pe, v in sorted(sent.items())} if total else {}

    def _context(self, failure: Failure, touched: set[int]) -> _Context:
        """The ABR offsets and entry shares under ``failure``; the intact ones when it touches neither area 0
        nor a city with two ABRs."""
        if failure is not NO_FAILURE and not any(
            a == BACKBONE_AREA or len(self.graph.areas[a].abrs) > 1 for a in touched
        ):
            return self.context
        graph = self.graph
        area0 = graph.areas[BACKBONE_AREA]
        pes = [pe for pe in graph.pes if pe not in failure.routers]
        intact = failure is NO_FAILURE or BACKBONE_AREA not in touched
        if intact and failure is not NO_FAILURE:
            offsets, weights, from_pes = self.context.offsets, self._weights, self._from_pes
        else:
            to_pe = distances(area0, pes, failure, toward=True)
            offsets = {abr: to_pe[abr] for abr in self.abrs if abr in to_pe}
            weights = self._pe_weights(failure)
            from_pes = {pe: distances(area0, [pe], failure, toward=False) for pe in pes}
        summaries = {
            a.area: summary_costs(a, failure) if a.area in touched else self._summaries[a.area]
            for a in self.city_areas
            if len(a.abrs) > 1
        }
        entries: dict[str, dict[int, dict[str, float]]] = {}
        shares: dict[int, dict[str, float]] = {}
        for pe in pes:
            from_pe = from_pes[pe]
            by_area = entries.setdefault(pe, {})
            for area in self.city_areas:
                if len(area.abrs) == 1:
                    chosen = [a for a in area.abrs if a in from_pe]
                else:
                    cost = {a: from_pe[a] + s for a, s in summaries[area.area].items() if a in from_pe}
                    least = min(cost.values(), default=0.0)
                    chosen = [a for a in sorted(cost) if cost[a] - least < EPS]
                if not chosen:
                    continue
                by_area[area.area] = {a: 1 / len(chosen) for a in chosen}
                into = shares.setdefault(area.area, {})
                for a in chosen:
                    into[a] = into.get(a, 0.0) + weights.get(pe, 0.0) / len(chosen)
        for area_id, into in shares.items():  # normalised: one entry ABR's share is exactly 1
            total = sum(into.values())
            shares[area_id] = {a: v / total for a, v in into.items()} if total else {}
        if failure is NO_FAILURE:
            self._weights, self._from_pes = weights, from_pes
        return _Context(offsets, entries, shares)

    # -- a city area ------------------------------------------------------------------------------------
    def _route_city(self, area: Area, failure: Failure, context: _Context | None = None) -> _AreaRouting:
        """Upstream toward the ABR at least (distance + its offset), each ABR forwarding in area 0 what
        reaches it; downstream from each ABR as much as enters there."""
        context = context or self.context
        sites = [n for n in area.nodes if n in self.users]
        pos = {a: k for k, a in enumerate(area.arcs)}
        live = [a for a in area.abrs if a not in failure.routers]
        offsets = (
            None if len(area.abrs) == 1 else {a: context.offsets[a] for a in live if a in context.offsets}
        )
        up_arcs, arrived = split_toward(area, live, sites, failure, offsets)
        users = np.array([self.users[s] for s in sites])
        reach = np.zeros(len(sites), dtype=bool)
        down = np.zeros((len(area.arcs), len(sites)))
        for abr, share in context.shares.get(area.area, {}).items():
            if share > 0 and abr not in failure.routers:
                from_abr = _dense(split_from(area, abr, sites, failure), pos, len(sites))
                down += share * from_abr if share != 1.0 else from_abr
                reach |= from_abr.any(axis=0) | np.array([s == abr for s in sites])
        up = _dense(up_arcs, pos, len(sites))
        reach &= up.any(axis=0) | np.array([s in live for s in sites])
        reach &= np.array([s not in failure.routers for s in sites])
        users = np.where(reach, users, 0.0)
        # the users leaving at each ABR (summed in the area's order: the intact sum is area_users' exactly)
        exits = {
            abr: float(sum(users[i] * f for i, f in sorted(by.items())))
            for abr, by in sorted(arrived.items())
        }
        served = float(sum(users[i] for i in range(len(sites)) if reach[i]))
        columns = {}
        if failure is NO_FAILURE:
            for i, site in enumerate(sites):
                rows = np.nonzero(up[:, i] + down[:, i])[0]
                columns[site] = (rows, up[rows, i] * users[i], down[rows, i] * users[i])
        return _AreaRouting(up @ users, down @ users, exits, served, columns)

    def _intact_city(self, area: Area) -> _AreaRouting:
        intact = self._intact.get(area.area)
        if intact is None:
            intact = self._intact[area.area] = self._route_city(area, NO_FAILURE)
        return intact

    def _city_loads(
        self, area: Area, failure: Failure, context: _Context
    ) -> tuple[np.ndarray, dict[str, float], float]:
        """Loads on the area's arcs (in ``area.arcs`` order) × months, the users leaving at each ABR and the
        users area 0 serves downstream. A leaf's failure keeps the intact ones (area 0 is not routed again:
        an upper bound)."""
        intact = self._intact_city(area)
        leaves = None if failure is NO_FAILURE else self._leaf_only(area, failure)
        exits, served = intact.exits, self.area_users[area.area]
        if failure is NO_FAILURE or (
            leaves is not None and context.area_view(area) == self.context.area_view(area)
        ):
            w_up, w_down = intact.w_up, intact.w_down
            if leaves:
                w_up, w_down = w_up.copy(), w_down.copy()
                for leaf in leaves:
                    if leaf not in intact.columns:
                        continue  # a router without users (a city's second router): its loss moves no demand
                    rows, up, down = intact.columns[leaf]
                    w_up[rows] -= up
                    w_down[rows] -= down
        elif all(a in failure.routers for a in area.abrs):
            return np.zeros((len(area.arcs), self.months)), {}, 0.0
        else:
            routing = self._route_city(area, failure, context)
            w_up, w_down, exits, served = routing.w_up, routing.w_down, routing.exits, routing.served
        if not area.arcs:
            return np.zeros((0, self.months)), exits, served
        return np.outer(w_up, self.up_total) + np.outer(w_down, self.down_total), exits, served

    def _leaf_only(self, area: Area, failure: Failure) -> set[str] | None:
        """The leaf routers a failure cuts off, when that is all it does in this area (else None)."""
        cut: set[str] = set()
        nodes = set(area.nodes)
        for r in failure.routers & nodes:
            if r not in self.leaves[area.area]:
                return None
            cut.add(r)
        for c in failure.circuits:
            circuit = self.graph.circuits[c]
            if circuit.area != area.area or circuit.plane == "attachment":
                continue
            leaf = circuit.b if circuit.b in self.leaves[area.area] else None
            if leaf is None:
                return None
            cut.add(leaf)
        return cut

    # -- area 0 and the hubs -------------------------------------------------------------------------------
    def _backbone_loads(
        self,
        failure: Failure,
        context: _Context | None = None,
        exits: dict[str, float] | None = None,
        served: dict[int, float] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(arc indexes, loads) for area 0's arcs and every attachment arc; ``exits``: the users leaving the
        city areas at each ABR, ``served``: the users of each city area downstream traffic goes to, through
        the ABRs the context has it enter at (the intact network's by default)."""
        graph, demand = self.graph, self.demand
        context = context or self.context
        if exits is None:
            exits = {}
            for city in self.city_areas:
                exits.update(self._intact_city(city).exits)
        served = served or self.area_users
        area = graph.areas[BACKBONE_AREA]
        arcs, pos = self.backbone_arcs, self.backbone_pos
        loads = np.zeros((len(arcs), self.months))
        cities = [c for c in sorted(exits) if c not in failure.routers]
        users = np.array([exits[c] for c in cities])
        pes = list(graph.pes)
        sources = cities + pes
        n_cities = len(cities)
        hi = self.hub_index
        live: dict[str, list[tuple[str, int]]] = {}
        for hub, atts in graph.attachments.items():
            live[hub] = [(pe, c) for pe, c in atts if c not in failure.circuits and pe not in failure.routers]
        classes: dict[tuple[str, ...], list[str]] = {}
        for hub in demand.hubs:
            if live.get(hub):
                classes.setdefault(tuple(pe for pe, _ in live[hub]), []).append(hub)
        # hub-to-hub transfers enter at the sender's live access routers, equally
        entering: dict[str, np.ndarray] = {}  # destination hub -> (access routers × months)
        for src, dst, series in demand.transfers:
            if not live.get(src) or not live.get(dst):
                continue
            into = entering.setdefault(dst, np.zeros((len(pes), self.months)))
            for pe, circuit in live[src]:
                part = series / len(live[src])
                loads[pos[2 * circuit + 1]] += part  # hub → access router
                into[pes.index(pe)] += part
        # upstream: every city's sites toward each class of hubs (same live access routers), then the hub
        for roots, hubs in classes.items():
            on_arcs, arrived = split_toward(area, roots, sources, failure)
            matrix = _dense(on_arcs, pos, len(sources))
            at_pe = np.zeros((len(pes), len(sources)))
            for pe, by in arrived.items():
                for i, f in by.items():
                    at_pe[pes.index(pe), i] += f
            hub_rows = [hi[h] for h in hubs]
            loads += np.outer(matrix[:, :n_cities] @ users, demand.up[hub_rows].sum(axis=0))
            city_at_pe = at_pe[:, :n_cities] @ users  # users arriving at each access router
            rows, coef, curves = [], [], []
            for hub in hubs:
                for pe, circuit in live[hub]:
                    rows.append(pos[2 * circuit])
                    coef.append(city_at_pe[pes.index(pe)])
                    curves.append(hi[hub])
                if hub in entering:
                    loads += matrix[:, n_cities:] @ entering[hub]
                    arriving = at_pe[:, n_cities:] @ entering[hub]
                    for pe, circuit in live[hub]:
                        loads[pos[2 * circuit]] += arriving[pes.index(pe)]
            loads[rows] += np.array(coef)[:, None] * demand.up[curves]
        # downstream: every hub sends equally over its live attachments, then toward each city's entry ABRs
        rows, share, curves, via = [], [], [], []
        for hub in demand.hubs:
            atts = live.get(hub, [])
            for pe, circuit in atts:
                rows.append(pos[2 * circuit + 1])
                share.append(1 / len(atts))
                curves.append(hi[hub])
                via.append(pes.index(pe))
        sent = np.array(share)[:, None] * demand.down[curves]
        # the city areas some access router reaches
        reaching = sorted({a for entry in context.entries.values() for a in entry})
        loads[rows] += float(np.array([served.get(a, 0.0) for a in reaching]).sum()) * sent
        per_pe = np.zeros((len(pes), self.months))
        np.add.at(per_pe, via, sent)
        weights = np.zeros((len(arcs), len(pes)))
        for k, pe in enumerate(pes):
            if pe in failure.routers:
                continue
            entering_users: dict[str, float] = {}
            for area_id, entry in context.entries.get(pe, {}).items():
                for abr, f in entry.items():
                    entering_users[abr] = entering_users.get(abr, 0.0) + served.get(area_id, 0.0) * f
            targets = sorted(entering_users)
            matrix = _dense(split_from(area, pe, targets, failure), pos, len(targets))
            weights[:, k] = matrix @ np.array([entering_users[t] for t in targets])
        loads += weights @ per_pe
        return arcs, loads

    # -- one failure ------------------------------------------------------------------------------------
    def touched_areas(self, failure: Failure) -> set[int]:
        """The areas whose routing a failure can change."""
        areas: set[int] = set()
        for c in failure.circuits:
            areas.add(self.graph.circuits[c].area)
        for r in failure.routers:
            dev = self.graph.devices[r]
            if dev.tier in ("core", "access"):
                areas.add(BACKBONE_AREA)
            elif dev.tier == "city":
                areas.update((BACKBONE_AREA, int(dev.division_code)))
            else:
                areas.add(int(dev.city_code))
        return areas

    def changed(self, failure: Failure) -> list[tuple[np.ndarray, np.ndarray]]:
        """(arc indexes, loads × months) for every area whose loads the failure changes: the city areas it
        touches or whose ABRs' offsets or entry shares it moves, and area 0 when it touches area 0 or moves
        where a city's traffic crosses into it."""
        touched = self.touched_areas(failure)
        context = self._context(failure, touched)
        out = []
        exits: dict[str, float] = {}
        served: dict[int, float] = {}
        moved = context.entries != self.context.entries
        for area in self.city_areas:
            intact = self._intact_city(area)
            if area.area in touched or (
                len(area.abrs) > 1 and context.area_view(area) != self.context.area_view(area)
            ):
                values, leaving, served[area.area] = self._city_loads(area, failure, context)
                if area.arcs:
                    out.append((np.array(area.arcs, dtype=int), values))
                # area 0 is routed again when traffic crosses at other ABRs; cut-off sites alone leave it
                # its intact loads (an upper bound)
                moved |= leaving.keys() != intact.exits.keys()
                exits.update(leaving)
            else:
                exits.update(intact.exits)
                served[area.area] = self.area_users[area.area]
        if BACKBONE_AREA in touched or moved:
            out.insert(0, self._backbone_loads(failure, context, exits, served))
        return out

    def loads(self, failure: Failure) -> np.ndarray:
        """Loads of every arc × month under ``failure`` (the intact network for NO_FAILURE)."""
        if failure is NO_FAILURE:
            total = np.zeros((len(self.graph.arcs), self.months))
            exits: dict[str, float] = {}
            for area in self.city_areas:
                values, leaving, _ = self._city_loads(area, failure, self.context)
                if area.arcs:
                    total[np.array(area.arcs)] = values
                exits.update(leaving)
            arcs, values = self._backbone_loads(failure, self.context, exits)
            total[arcs] = values
            return total
        total = self.nominal.copy()
        for arcs, values in self.changed(failure):
            total[arcs] = values
        return total

    def loads_from_scratch(self, failure: Failure) -> np.ndarray:
        """Every area routed again under ``failure``, no shortcut: what ``loads`` must equal."""
        context = self._context(failure, set(self.graph.areas))
        total = np.zeros((len(self.graph.arcs), self.months))
        exits: dict[str, float] = {}
        served: dict[int, float] = {}
        for area in self.city_areas:
            if all(a in failure.routers for a in area.abrs):
                continue
            routing = self._route_city(area, failure, context)
            if area.arcs:
                values = np.outer(routing.w_up, self.up_total) + np.outer(routing.w_down, self.down_total)
                total[np.array(area.arcs)] = values
            exits.update(routing.exits)
            served[area.area] = routing.served
        arcs, values = self._backbone_loads(failure, context, exits, served)
        total[arcs] = values
        return total


# -- worst case over failures ------------------------------------------------------------------------------
@dataclass
class Evaluation:
    """Per arc and month: intact load, worst load over the failures and which failure (−1: none is worse)."""

    model: LoadModel
    failures: list[Failure]
    worst: np.ndarray
    worst_by: np.ndarray

    @property
    def nominal(self) -> np.ndarray:
        return self.model.nominal


def evaluate(model: LoadModel, failures: Iterable[Failure]) -> Evaluation:
    """Route every failure once; keep, per arc and month, the worst load and the failure causing it."""
    chosen = list(failures)
    with threadpool_limits(limits=1, user_api="blas"):
        return _evaluate(model, chosen)


def _evaluate(model: LoadModel, chosen: list[Failure]) -> Evaluation:
    # the products are small: one BLAS thread; more only wake threads that spin on a shared machine
    worst = model.nominal.copy()
    worst_by = np.full(worst.shape, -1, dtype=np.int32)
    for k, failure in enumerate(chosen):
        for arcs, values in model.changed(failure):
            current = worst[arcs]
            higher = values > current * (1 + 1e-9) + 1e-6
            if higher.any():
                worst[arcs] = np.where(higher, values, current)
                worst_by[arcs] = np.where(higher, k, worst_by[arcs])
    return Evaluation(model, chosen, worst, worst_by)


# -- the report ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LinkResult:
    a: str
    b: str
    tier: str
    capacity: float  # bit/s
    peak_utilisation: float
    worst_utilisation: float
    worst_failure: str | None
    first_over_target: date | None


@dataclass(frozen=True)
class Upgrade:
    a: str
    b: str
    tier: str
    capacity: float
    to: float | None  # None: no tier of the ladder is enough
    first_over_target: date
    order_by: date
    overdue: bool
    worst_utilisation: float
    utilisation_after: float | None


@dataclass(frozen=True)
class SiteResult:
    site: str
    demand_peak: float  # bit/s, the hose bound: the most the site sends or receives in any month
    uplink: float  # bit/s, its primary uplink


@dataclass(frozen=True)
class Isolation:
    """A failure that cuts sites off the provincial access routers (their traffic vanishes, loading
    nothing: the worst-case utilisation cannot show it)."""

    failure: str
    sites: int
    users: float


@dataclass
class CapacityReport:
    months: list[date]
    month: date | None
    target: float
    links: list[LinkResult]
    sites: list[SiteResult]
    upgrades: list[Upgrade]
    failures_evaluated: int
    isolations: list[Isolation] = field(default_factory=list)


def capacity_report(
    evaluation: Evaluation, params: TrafficParams, month: date | None = None
) -> CapacityReport:
    """Per circuit: utilisation intact and worst case, the failure causing it, the first month over the
    target, and the upgrade to order (smallest tier of the ladder that keeps the worst case under target,
    ordered the lead time before that month). ``month`` narrows peak and worst to one month; the first
    month over the target and the upgrades always look at the whole horizon."""
    model = evaluation.model
    graph, months = model.graph, model.demand.months
    target = params.target_utilisation
    capacity = np.array([graph.circuits[a.circuit].capacity for a in graph.arcs])
    nominal = evaluation.nominal / capacity[:, None]
    worst = evaluation.worst / capacity[:, None]
    if month is not None:
        m = months_between(months[0], month)
        if not 0 <= m < len(months):
            raise ValueError(
                f"month {month_label(month)} is outside the horizon "
                f"{month_label(months[0])}–{month_label(months[-1])}"
            )
        columns = slice(m, m + 1)
    else:
        columns = slice(0, len(months))
    tiers = sorted(float(q.to("bit/s").magnitude) for q in params.circuit_tiers)
    # per arc, then per circuit (its two directions): the heavier direction decides
    peak_arc = nominal[:, columns].max(axis=1)
    window = worst[:, columns]
    at = window.argmax(axis=1)
    worst_arc = window[np.arange(len(at)), at]
    by_arc = evaluation.worst_by[np.arange(len(at)), columns.start + at]
    over = worst > target + 1e-12
    over_circuit = over[0::2] | over[1::2]
    first_index = np.where(over_circuit.any(axis=1), over_circuit.argmax(axis=1), -1)
    whole_worst = evaluation.worst.max(axis=1)
    links, upgrades = [], []
    for circuit in graph.circuits:
        down, up = 2 * circuit.index, 2 * circuit.index + 1
        heavier = down if worst_arc[down] >= worst_arc[up] else up
        by = int(by_arc[heavier])
        first = months[int(first_index[circuit.index])] if first_index[circuit.index] >= 0 else None
        links.append(
            LinkResult(
                circuit.a,
                circuit.b,
                circuit.tier,
                circuit.capacity,
                float(max(peak_arc[down], peak_arc[up])),
                float(worst_arc[heavier]),
                evaluation.failures[by].name if by >= 0 else None,
                first,
            )
        )
        if first is not None:
            most = float(max(whole_worst[down], whole_worst[up]))
            to = next((t for t in tiers if t >= most / target and t > circuit.capacity), None)
            order_by = add_months(first, -params.circuit_lead_time_months)
            upgrades.append(
                Upgrade(
                    circuit.a,
                    circuit.b,
                    circuit.tier,
                    circuit.capacity,
                    to,
                    first,
                    order_by,
                    order_by < months[0],
                    most / circuit.capacity,
                    most / to if to else None,
                )
            )
    upgrades.sort(key=lambda u: (u.order_by, u.a, u.b))
    hose = model.demand.hose()
    uplink = {c.b: c.capacity for c in graph.circuits if c.plane == "primary"}
    sites = [
        SiteResult(s, float(h), uplink.get(s, 0.0)) for s, h in zip(model.demand.sites, hose, strict=True)
    ]
    return CapacityReport(
        months,
        month,
        target,
        links,
        sites,
        upgrades,
        len(evaluation.failures),
        isolations(model, evaluation.failures),
    )


def cut_off(model: LoadModel, failure: Failure) -> list[str]:
    """The sites (routers with users) a failure separates from every live provincial access router: in area 0
    from every live access router, in a city area from every live ABR area 0 still connects."""
    graph = model.graph
    dead_routers, dead_circuits = failure.routers, failure.circuits
    touched = model.touched_areas(failure)

    def reached(area: Area, roots: list[str]) -> set[str]:
        view = nx.subgraph_view(
            area.graph,
            filter_node=lambda n: n not in dead_routers,
            filter_edge=lambda u, v, k: k // 2 not in dead_circuits,
        )
        out = {r for r in roots if r in view}
        for root in sorted(out):
            out |= nx.descendants(view, root)
        return out

    area0 = graph.areas[BACKBONE_AREA]
    in_area0 = (
        reached(area0, [pe for pe in graph.pes if pe not in dead_routers])
        if BACKBONE_AREA in touched
        else set(area0.nodes)
    )
    out: list[str] = []
    for area in model.city_areas:
        exits = [a for a in area.abrs if a in in_area0 and a not in dead_routers]
        if area.area not in touched and len(exits) == len(area.abrs):
            continue
        inside = reached(area, exits)
        out.extend(n for n in area.nodes if n not in inside)
    return sorted({n for n in out if n in model.users})


def isolations(model: LoadModel, failures: list[Failure]) -> list[Isolation]:
    """Every failure that cuts off more than its own router, the most users first. (A town's own circuit or
    router cuts off that town only, 1,610 times over: those are left out.)"""
    out = []
    for failure in failures:
        if failure.routers and not failure.circuits and len(failure.routers) == 1:
            (router,) = failure.routers
            if graph_leaf(model, router):
                continue
        if len(failure.circuits) == 1 and not failure.routers:
            circuit = model.graph.circuits[next(iter(failure.circuits))]
            if circuit.plane == "attachment" or graph_leaf(model, circuit.b):
                continue
        sites = cut_off(model, failure)
        if sites and not (len(sites) == 1 and sites[0] in failure.routers):
            out.append(Isolation(failure.name, len(sites), float(sum(model.users[s] for s in sites))))
    return sorted(out, key=lambda i: (-i.users, i.failure))


def graph_leaf(model: LoadModel, router: str) -> bool:
    area = model.graph.area_of_site.get(router)
    return area is not None and router in model.leaves.get(area, set())


# -- for the slot admission ------------------------------------------------------------------------------
def unit_flow_to_dc(model: LoadModel, site: str, failure: Failure = NO_FAILURE) -> dict[int, float]:
    """{arc: fraction} of one unit of traffic from ``site`` (a department code or a router hostname) to the
    cloud DC, as routed."""
    graph = model.graph
    area0 = graph.areas[BACKBONE_AREA]
    dc = [
        (pe, c)
        for pe, c in graph.attachments.get(DC, [])
        if c not in failure.circuits and pe not in failure.routers
    ]
    roots = [pe for pe, _ in dc]
    flow: dict[int, float] = {}
    entries: dict[str, float] = {}
    if site in graph.attachments:
        live = [
            (pe, c)
            for pe, c in graph.attachments[site]
            if c not in failure.circuits and pe not in failure.routers
        ]
        for pe, c in live:
            flow[2 * c + 1] = flow.get(2 * c + 1, 0.0) + 1 / len(live)
            entries[pe] = entries.get(pe, 0.0) + 1 / len(live)
    elif site in graph.devices:
        area_id = graph.area_of_site[site]
        if area_id != BACKBONE_AREA:
            area = graph.areas[area_id]
            # out of the city through the ABR at least (distance + its own cost to the DC's access routers)
            to_dc = distances(area0, roots, failure, toward=True)
            offsets = {a: to_dc[a] for a in area.abrs if a in to_dc}
            arcs, arrived = split_toward(area, list(offsets), [site], failure, offsets)
            for arc, by in arcs.items():
                flow[arc] = by.get(0, 0.0)
            for abr, by in arrived.items():
                entries[abr] = by.get(0, 0.0)
        else:
            entries[site] = 1.0
    else:
        raise KeyError(f"no site or department {site!r} in the backbone")
    starts = sorted(entries)
    arcs, arrived = split_toward(area0, roots, starts, failure)
    for arc, by in arcs.items():
        flow[arc] = flow.get(arc, 0.0) + sum(f * entries[starts[i]] for i, f in by.items())
    for pe, c in dc:
        got = sum(f * entries[starts[i]] for i, f in arrived.get(pe, {}).items())
        if got:
            flow[2 * c] = flow.get(2 * c, 0.0) + got
    return flow


def free_capacity_to_dc(model: LoadModel, target: float, site: str) -> tuple[np.ndarray, np.ndarray]:
    """Per month of the horizon: the largest extra rate (bit/s) ``site`` (a department code or a router
    hostname) can send to the cloud DC over its routed paths, ECMP shares included, with every arc it crosses
    staying within ``target`` utilisation (0 when one is already over); and the arc that binds it (-1 when
    the site reaches no arc). KeyError for a site the backbone does not know."""
    flow = unit_flow_to_dc(model, site)
    arcs = np.array(sorted(a for a, f in flow.items() if f > 0), dtype=int)
    if not len(arcs):
        return np.zeros(model.months), np.full(model.months, -1, dtype=int)
    share = np.array([flow[int(a)] for a in arcs])
    room = free_rate_on_arcs(model, target, arcs) / share[:, None]  # arcs × months
    binding = room.argmin(axis=0)
    return room[binding, np.arange(model.months)], arcs[binding]


def free_rate_on_arcs(model: LoadModel, target: float, arcs: np.ndarray) -> np.ndarray:
    """Per arc of ``arcs`` and month: the rate (bit/s) the arc carries on top of the intact steady load
    before it passes ``target`` utilisation (0 when it already has)."""
    graph = model.graph
    capacity = np.array([graph.circuits[graph.arcs[int(a)].circuit].capacity for a in arcs])
    return np.maximum(target * capacity[:, None] - model.nominal[arcs], 0.0)


def free_capacity_on_path(site: str, month: date, inputs: CapacityInputs | None = None) -> pint.Quantity:
    """The free capacity of ``site``'s routed paths to the cloud DC in ``month`` (free_capacity_to_dc) at
    the target utilisation of data/traffic.yaml. For the slot admission's WAN rule: a department's transfer
    fits if its rate ≤ this. ``inputs`` default to data/ (loaded once)."""
    inputs = inputs or _default_inputs()
    model, params = inputs.model, inputs.params
    months = model.demand.months
    m = months_between(months[0], month)
    if not 0 <= m < len(months):
        raise ValueError(f"month {month_label(month)} is outside the horizon")
    free, _ = free_capacity_to_dc(model, params.target_utilisation, site)
    return Q_(float(free[m]), "bit/s")


@lru_cache(maxsize=1)
def _default_inputs() -> CapacityInputs:
    return load_capacity_inputs()


def report_json(report: CapacityReport) -> dict[str, Any]:
    """The JSON document of `egov network capacity` (issue 14's contract, field names exactly)."""
    from network.capacity_present import rate_text

    return {
        "links": [
            {
                "a": link.a,
                "b": link.b,
                "tier": link.tier,
                "capacity": rate_text(link.capacity),
                "peak_utilisation": round(link.peak_utilisation, 4),
                "worst_utilisation": round(link.worst_utilisation, 4),
                "worst_failure": link.worst_failure,
                "first_over_target": month_label(link.first_over_target) if link.first_over_target else None,
            }
            for link in report.links
        ],
        "sites": [{"site": s.site, "demand_peak": rate_text(s.demand_peak)} for s in report.sites],
        "upgrades": [
            {
                "a": u.a,
                "b": u.b,
                "tier": u.tier,
                "from": rate_text(u.capacity),
                "to": rate_text(u.to) if u.to is not None else None,
                "first_over_target": month_label(u.first_over_target),
                "order_by": month_label(u.order_by),
                "overdue": u.overdue,
                "worst_utilisation": round(u.worst_utilisation, 4),
                "utilisation_after": round(u.utilisation_after, 4)
                if u.utilisation_after is not None
                else None,
            }
            for u in report.upgrades
        ],
        "failures_evaluated": report.failures_evaluated,
    }


# -- the whole province from a data directory ---------------------------------------------------------------
FAILURE_MODES = ("none", "single", "srlg")


@dataclass
class CapacityInputs:
    """Everything the capacity check reads, loaded once from a data directory."""

    data_dir: Path
    params: TrafficParams
    model: LoadModel

    @property
    def graph(self) -> RoutingGraph:
        return self.model.graph


def load_capacity_inputs(data_dir: Path | None = None, ledger: str | None = None) -> CapacityInputs:
    """The source of truth, the backbone, data/traffic.yaml and the routed intact loads; with ``ledger`` (a
    slot-ledger database URL) the booked migrations instead of the plan for what is booked. Bad input
    raises SourceError / SourceErrors naming the file, row and field."""
    from egov.source import load_source
    from network.divisions import load_divisions
    from network.params import load_params
    from network.topology import build_backbone
    from network.traffic import build_demand, load_booked, load_traffic_params

    root = data_dir or DATA_DIR
    source = load_source(root)
    divisions = load_divisions(root / "divisions.csv")
    backbone = build_backbone(
        source, data_dir=root, params=load_params(root / "network.yaml"), divisions=divisions
    )
    params = load_traffic_params(root / "traffic.yaml", divisions)
    booked = load_booked(ledger, source) if ledger is not None else None
    model = LoadModel(RoutingGraph(backbone), build_demand(source, backbone, params, booked))
    return CapacityInputs(root, params, model)


def failures_for(inputs: CapacityInputs, mode: str) -> list[Failure]:
    """The failures a mode evaluates: none; every single circuit and router; those plus data/srlg.yaml."""
    if mode not in FAILURE_MODES:
        raise ValueError(f"failures must be one of {', '.join(FAILURE_MODES)}, not {mode!r}")
    if mode == "none":
        return []
    singles = single_failures(inputs.graph)
    if mode == "single":
        return singles
    return singles + load_srlgs(inputs.graph, inputs.data_dir / SRLG_FILE)


def backbone_capacity(
    data_dir: Path | None = None,
    month: date | None = None,
    failures: str = "single",
    ledger: str | None = None,
) -> tuple[CapacityInputs, CapacityReport]:
    """`egov network capacity`: the inputs, every failure of ``failures`` routed, and the report."""
    inputs = load_capacity_inputs(data_dir, ledger)
    evaluation = evaluate(inputs.model, failures_for(inputs, failures))
    return inputs, capacity_report(evaluation, inputs.params, month)
