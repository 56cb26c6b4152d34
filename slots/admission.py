"""Admission of a migration request: the first week of its window that keeps every rule, or a refusal that
names the binding constraint.

The rules are objects (slots.rules: duplicate, blackout, dependencies, throughput, transfer, capacity), one
ordered list that the re-plan (slots.planner) uses too; ``Province.rules`` is that list. The baseline is what
the ledger has booked (granted or approved requests), never the planned inventory. This module computes only;
the ledger calls it inside its lock.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from capacity.demand import demand_lines
from capacity.supply import LineKey, Supply, build_supply
from egov.model import SourceOfTruth, System
from slots.bandwidth import FreePath, PathCapacity, PathLink
from slots.request import RequestSpec
from slots.rules import RULES, AdmissionRule, Blocked, Constraint
from slots.weeks import ONE_WEEK, horizon_weeks, month_index, week_gb, week_label, weeks

__all__ = ["Blocked", "Booked", "Booking", "Candidate", "Constraint", "Decision", "Province", "admit"]


@dataclass(frozen=True)
class Decision:
    """The answer to a request: a granted week, or the earliest feasible week past the window and the
    binding constraint inside the window."""

    granted_week: date | None
    earliest_feasible_week: date | None = None
    binding: Blocked | None = None

    @property
    def granted(self) -> bool:
        return self.granted_week is not None

    def explain(self) -> str:
        """One sentence a department can act on."""
        if self.granted_week is not None:
            return f"granted {week_label(self.granted_week)}"
        assert self.binding is not None
        text = f"refused: {self.binding.message}"
        if self.earliest_feasible_week is not None:
            text += f"; earliest feasible week: {week_label(self.earliest_feasible_week)}"
        return text


@dataclass(frozen=True)
class Booking:
    """A request holding a slot (granted or approved), with its systems resolved."""

    request_id: int
    department: str
    week: date
    systems: tuple[System, ...]
    data_volume_gb: float


class Province:
    """The unchanging side of admission: the source of truth, its supply and its inventory index."""

    def __init__(
        self,
        source: SourceOfTruth,
        paths: PathCapacity,
        rules: Sequence[AdmissionRule] = RULES,
    ) -> None:
        self.source = source
        #: the rules of admission, in the order a week is checked (first-come admission and re-plan alike)
        self.rules = tuple(rules)
        self._rank = {rule.constraint: n for n, rule in enumerate(self.rules)}
        self.planning = source.planning
        self.supply: Supply = build_supply(source)
        self.by_id: dict[str, System] = {s.id: s for s in source.systems}
        self.first_week, self.last_week = horizon_weeks(source.planning)
        #: the links of each department's routed paths to the cloud DC, month by month (slots.bandwidth):
        #: RoutedPaths(the source of truth's own data directory), never a default that could be another's
        self.paths = paths
        self.no_demand = np.zeros(source.planning.horizon_months)
        self.line_order = {key: n for n, key in enumerate(self.supply.lines)}

    def rank(self, blocked: Blocked) -> int:
        """How far down the list of rules a week got before ``blocked`` stopped it."""
        return self._rank[blocked.constraint]

    def path_links(self, department: str, monday: date) -> tuple[PathLink, ...]:
        """The links the department's transfer crosses to the cloud DC in the month of ``monday``."""
        return self.paths.links(department, self.month_of(monday))

    def free_path(self, department: str, monday: date) -> FreePath:
        """The free rate of the department's routed paths to the cloud DC in the month of ``monday``, were it
        alone on them."""
        return FreePath.of(self.path_links(department, monday))

    def transfer_capacity_gb(self, department: str, monday: date) -> float:
        """GB a department alone can move within the slot week of ``monday`` at its paths' free rate."""
        return week_gb(self.free_path(department, monday).rate)

    def month_of(self, monday: date) -> date:
        return self.planning.month(month_index(self.planning, monday))

    def demand_from(self, systems: Sequence[System], month: date) -> dict[LineKey, np.ndarray]:
        """Demand of ``systems`` when they move in ``month``, per supply line and month of the horizon."""
        moved = [s.model_copy(update={"migration_month": month}) for s in systems]
        return demand_lines(self.source, moved)


@dataclass
class Booked:
    """What the ledger has booked: demand per line, systems per week, and per backbone link and week the GB
    each department's transfers put on it (its share of them under ECMP)."""

    demand: dict[LineKey, np.ndarray] = field(default_factory=dict)
    systems_per_week: Counter[date] = field(default_factory=Counter)
    volume_on_link: defaultdict[tuple[str, date], dict[str, float]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    slot_of_system: dict[str, tuple[date, int]] = field(default_factory=dict)

    @classmethod
    def of(cls, province: Province, bookings: Iterable[Booking]) -> Booked:
        """The booked state of ``bookings`` (demand computed once for all of them, month by month)."""
        booked = cls()
        by_month: dict[date, list[System]] = {}
        for booking in bookings:
            booked._count(province, booking)
            by_month.setdefault(province.month_of(booking.week), []).extend(booking.systems)
        moved = [
            s.model_copy(update={"migration_month": month})
            for month, systems in by_month.items()
            for s in systems
        ]
        if moved:
            booked.demand = demand_lines(province.source, moved)
        return booked

    def add(self, province: Province, booking: Booking) -> None:
        """Book one more request into this state."""
        self._count(province, booking)
        for key, series in province.demand_from(booking.systems, province.month_of(booking.week)).items():
            self.demand[key] = self.demand.get(key, 0) + series

    def _count(self, province: Province, booking: Booking) -> None:
        self.systems_per_week[booking.week] += len(booking.systems)
        if booking.data_volume_gb > 0:
            for link in province.path_links(booking.department, booking.week):
                on_link = self.volume_on_link[(link.key, booking.week)]
                gb = booking.data_volume_gb * link.share
                on_link[booking.department] = on_link.get(booking.department, 0.0) + gb
        for system in booking.systems:
            self.slot_of_system[system.id] = (booking.week, booking.request_id)


class Candidate:
    """One request being admitted: its systems, and its demand per candidate month computed once."""

    def __init__(self, province: Province, spec: RequestSpec, systems: Sequence[System]) -> None:
        self.province = province
        self.spec = spec
        self.systems = tuple(systems)
        self.data_volume_gb = spec.data_volume_gb  # converted once: pint conversions are slow
        self._demand: dict[date, dict[LineKey, np.ndarray]] = {}
        #: capacity verdict per month against one booked state (see slots.rules.Capacity)
        self.capacity_verdicts: dict[tuple[int, date], str | None] = {}

    def demand(self, month: date) -> dict[LineKey, np.ndarray]:
        if month not in self._demand:
            self._demand[month] = self.province.demand_from(self.systems, month)
        return self._demand[month]


def check_week(booked: Booked, candidate: Candidate, monday: date) -> Blocked | None:
    """The first rule the week starting on ``monday`` breaks for ``candidate``, or None when it fits."""
    for rule in candidate.province.rules:
        blocked = rule.check(booked, candidate, monday)
        if blocked is not None:
            return blocked
    return None


def admit(province: Province, booked: Booked, spec: RequestSpec, systems: Sequence[System]) -> Decision:
    """The first week of the request's window that keeps every rule; otherwise the binding constraint and
    the earliest feasible week after the window (None when no week of the horizon fits)."""
    candidate = Candidate(province, spec, systems)
    binding: Blocked | None = None
    for monday in weeks(spec.earliest_week, spec.latest_week):
        blocked = check_week(booked, candidate, monday)
        if blocked is None:
            return Decision(granted_week=monday)
        if binding is None or province.rank(blocked) > province.rank(binding):
            binding = blocked
    assert binding is not None
    later = None
    for monday in weeks(spec.latest_week + ONE_WEEK, province.last_week):
        if check_week(booked, candidate, monday) is None:
            later = monday
            break
    return Decision(granted_week=None, earliest_feasible_week=later, binding=binding)
