"""Headroom per month, AZ and resource: free, percent free, when the target and the supply run out,
by when to order, and the smallest purchase that keeps the whole horizon above the target."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from capacity.demand import demand_lines
from capacity.supply import ExpansionUnit, LineKey, Supply, build_supply
from egov.model import Planning, ResourceClass, SourceOfTruth


@dataclass(frozen=True)
class Purchase:
    """The smallest whole number of one unit that keeps a zone above the headroom target all horizon."""

    unit: ExpansionUnit
    count: int


@dataclass(frozen=True)
class LineHeadroom:
    resource: ResourceClass
    az: str
    usable: np.ndarray
    demand: np.ndarray
    first_below_target: int | None  # month index
    first_shortfall: int | None
    order_by: int | None  # month index; negative means earlier than the start month (overdue)
    headroom_target: float = 0.0  # share of usable to keep free
    unit: str = ""  # the resource class's (egov.resources)

    @property
    def below_target(self) -> np.ndarray:
        """Per month: free < target × usable, i.e. demand > (1 − target) × usable."""
        return self.demand > (1.0 - self.headroom_target) * self.usable + 1e-9

    @property
    def short(self) -> np.ndarray:
        """Per month: demand exceeds usable supply."""
        return self.demand > self.usable + 1e-9

    @property
    def free(self) -> np.ndarray:
        return self.usable - self.demand

    @property
    def percent_free(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return np.where(self.usable > 0, 100.0 * self.free / self.usable, -np.inf)

    @property
    def min_percent_free(self) -> float:
        return float(np.min(self.percent_free))


@dataclass(frozen=True)
class ZoneVerdict:
    """Per availability zone (or 'region'): the binding resource and the purchase that fixes the zone."""

    az: str
    binding: ResourceClass
    purchases: list[Purchase]  # empty when the zone keeps the target all horizon
    order_by: int | None  # month index to order them: first month below target − lead time
    #: the binding resource's first month below the target (None: the zone keeps it all horizon). What the
    #: check shows of the zone; the purchases and their order-by are the naive plan's (capacity.plan).
    first_below_target: int | None = None


@dataclass(frozen=True)
class Assessment:
    planning: Planning
    lines: list[LineHeadroom]
    zones: list[ZoneVerdict] = field(default_factory=list)

    @property
    def carries_horizon(self) -> bool:
        """True when no line runs short in any month of the horizon."""
        return all(line.first_shortfall is None for line in self.lines)

    @property
    def keeps_target(self) -> bool:
        return all(line.first_below_target is None for line in self.lines)

    def line(self, resource: ResourceClass, az: str) -> LineHeadroom:
        for line in self.lines:
            if line.resource == resource and line.az == az:
                return line
        raise KeyError((resource, az))


def first_month(condition: np.ndarray) -> int | None:
    """Index of the first True, or None."""
    hits = np.flatnonzero(condition)
    return int(hits[0]) if hits.size else None


def line_headroom(
    planning: Planning, key: LineKey, usable: np.ndarray, demand: np.ndarray, unit: str = ""
) -> LineHeadroom:
    """Headroom figures of one (resource, AZ) line, counted in ``unit``."""
    line = LineHeadroom(key[0], key[1], usable, demand, None, None, None, planning.headroom_target, unit)
    first_short = first_month(line.short)
    return replace(
        line,
        first_below_target=first_month(line.below_target),
        first_shortfall=first_short,
        order_by=None if first_short is None else first_short - planning.lead_time_months,
    )


def units_needed(planning: Planning, line: LineHeadroom, adds: float) -> int:
    """Whole units of ``adds`` usable each that keep ``line`` at or above the target every month."""
    if adds <= 0:
        raise ValueError(f"a unit adding nothing cannot lift {line.resource} in {line.az}")
    required = line.demand / (1.0 - planning.headroom_target) - line.usable
    worst = float(np.max(required))
    return 0 if worst <= 1e-9 else math.ceil(worst / adds - 1e-9)


def smallest_purchase(
    planning: Planning, lines: list[LineHeadroom], units: list[ExpansionUnit]
) -> Purchase | None:
    """Among ``units`` that add to every one of ``lines``, the one that lifts them all to the target with the
    fewest units; None when no unit can."""
    best: Purchase | None = None
    for unit in units:
        if not lines or any(ln.resource not in unit.adds or unit.adds[ln.resource] <= 0 for ln in lines):
            continue
        count = max(units_needed(planning, ln, unit.adds[ln.resource]) for ln in lines)
        if count > 0 and (best is None or count < best.count):
            best = Purchase(unit=unit, count=count)
    return best


def zone_verdicts(
    planning: Planning, lines: list[LineHeadroom], supply: Supply, hosted: tuple[ResourceClass, ...]
) -> list[ZoneVerdict]:
    """For each zone: the binding resource and the smallest purchases that keep the whole horizon above the
    target — hosts for the compute lines (``hosted`` classes: a host adds to all of them at once), disks for
    each storage line."""
    verdicts = []
    for az in dict.fromkeys(line.az for line in lines):
        zone_lines = [ln for ln in lines if ln.az == az]
        binding = min(
            zone_lines,
            key=lambda ln: (
                ln.first_below_target if ln.first_below_target is not None else planning.horizon_months,
                ln.min_percent_free,
            ),
        )
        units = supply.expansion_units.get(az, [])
        purchases = []
        compute = [ln for ln in zone_lines if ln.resource in hosted and ln.first_below_target is not None]
        if compute:
            hosts = smallest_purchase(planning, compute, [u for u in units if u.kind == "host"])
            if hosts is not None:
                purchases.append(hosts)
        for ln in zone_lines:
            if ln.resource not in hosted and ln.first_below_target is not None:
                disks = smallest_purchase(planning, [ln], [u for u in units if u.kind == "disk"])
                if disks is not None:
                    purchases.append(disks)
        order_by = None
        if binding.first_below_target is not None:
            order_by = binding.first_below_target - planning.lead_time_months
        verdicts.append(
            ZoneVerdict(
                az=az,
                binding=binding.resource,
                purchases=purchases,
                order_by=order_by,
                first_below_target=binding.first_below_target,
            )
        )
    return verdicts


def assess(
    source: SourceOfTruth, supply: Supply | None = None, demand: dict[LineKey, np.ndarray] | None = None
) -> Assessment:
    """The five-year headroom assessment of ``source``."""
    supply = supply or build_supply(source)
    demand = demand if demand is not None else demand_lines(source)
    planning = source.planning
    zero = np.zeros(planning.horizon_months)
    lines = []
    for key, line in supply.lines.items():
        lines.append(line_headroom(planning, key, line.usable, demand.get(key, zero), line.unit))
    missing = set(demand) - set(supply.lines)
    if missing:
        raise ValueError(f"demand on lines with no supply: {sorted(missing)}")
    hosted = source.cloud.resource_classes.host_classes
    return Assessment(planning=planning, lines=lines, zones=zone_verdicts(planning, lines, supply, hosted))
