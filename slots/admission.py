"""Admission of a migration request: the first week of its window that keeps every rule, or a refusal that
names the binding constraint.

Rules for a candidate week (ISO week, counted from its Monday's month):
- blackout: no day of the week falls in a blackout of the planning calendar;
- dependencies: every system the request depends on holds a slot in this week or earlier;
- throughput: systems already booked in the week + this request's ≤ planning.migration_weekly_capacity;
- transfer: the department's data booked in the week + this request's, over its access link ×
  planning.transfer_efficiency, finishes within the week;
- capacity: with the request's systems added from the week's month with their growth law, every supply line
  the request uses keeps planning.headroom_target free in every month of the horizon (capacity.headroom).

The baseline is what the ledger has booked (granted or approved requests), never the planned inventory.
This module computes only; the ledger calls it inside its lock.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

import numpy as np
import pint

from capacity.demand import demand_lines
from capacity.headroom import line_headroom
from capacity.supply import LineKey, Supply, build_supply
from egov.model import SourceOfTruth, System
from egov.months import month_label
from egov.units import Q_, human, show
from slots.bandwidth import access_bandwidth
from slots.request import RequestSpec
from slots.weeks import ONE_WEEK, WEEK_SECONDS, blackout_of, horizon_weeks, month_index, week_label, weeks


class Constraint(StrEnum):
    """The rules of admission, in the order a week is checked against them."""

    DUPLICATE = "duplicate"
    BLACKOUT = "blackout"
    DEPENDENCY = "dependency"
    THROUGHPUT = "throughput"
    TRANSFER = "transfer"
    CAPACITY = "capacity"


_RANK = {c: i for i, c in enumerate(Constraint)}


@dataclass(frozen=True)
class Blocked:
    """Why one week cannot take the request."""

    week: date
    constraint: Constraint
    message: str


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
        self, source: SourceOfTruth, bandwidth: Callable[[str], pint.Quantity] = access_bandwidth
    ) -> None:
        self.source = source
        self.planning = source.planning
        self.supply: Supply = build_supply(source)
        self.by_id: dict[str, System] = {s.id: s for s in source.systems}
        self.first_week, self.last_week = horizon_weeks(source.planning)
        self._bandwidth = bandwidth
        self.no_demand = np.zeros(source.planning.horizon_months)
        self._transfer_gb: dict[str, float] = {}
        self.line_order = {key: n for n, key in enumerate(self.supply.lines)}

    def access(self, department: str) -> pint.Quantity:
        return self._bandwidth(department)

    def transfer_capacity_gb(self, department: str) -> float:
        """GB a department can move within one slot week over its access link at the transfer efficiency."""
        if department not in self._transfer_gb:
            rate = float(self.access(department).to("bit/s").magnitude) * self.planning.transfer_efficiency
            self._transfer_gb[department] = rate * WEEK_SECONDS / 8 / 1e9
        return self._transfer_gb[department]

    def month_of(self, monday: date) -> date:
        return self.planning.month(month_index(self.planning, monday))

    def demand_from(self, systems: Sequence[System], month: date) -> dict[LineKey, np.ndarray]:
        """Demand of ``systems`` when they move in ``month``, per supply line and month of the horizon."""
        moved = [s.model_copy(update={"migration_month": month}) for s in systems]
        return demand_lines(self.source, moved)


@dataclass
class Booked:
    """What the ledger has booked: demand per line, systems per week, data per department and week."""

    demand: dict[LineKey, np.ndarray] = field(default_factory=dict)
    systems_per_week: Counter[date] = field(default_factory=Counter)
    volume_per_week: defaultdict[tuple[str, date], float] = field(default_factory=lambda: defaultdict(float))
    slot_of_system: dict[str, tuple[date, int]] = field(default_factory=dict)

    @classmethod
    def of(cls, province: Province, bookings: Iterable[Booking]) -> Booked:
        """The booked state of ``bookings`` (demand computed once for all of them, month by month)."""
        booked = cls()
        by_month: dict[date, list[System]] = {}
        for booking in bookings:
            booked._count(booking)
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
        self._count(booking)
        for key, series in province.demand_from(booking.systems, province.month_of(booking.week)).items():
            self.demand[key] = self.demand.get(key, 0) + series

    def _count(self, booking: Booking) -> None:
        self.systems_per_week[booking.week] += len(booking.systems)
        self.volume_per_week[(booking.department, booking.week)] += booking.data_volume_gb
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
        #: capacity verdict per month against one booked state (see capacity_blocked)
        self.capacity_verdicts: dict[tuple[int, date], tuple[Constraint, str] | None] = {}

    def demand(self, month: date) -> dict[LineKey, np.ndarray]:
        if month not in self._demand:
            self._demand[month] = self.province.demand_from(self.systems, month)
        return self._demand[month]


def duplicate(booked: Booked, candidate: Candidate) -> Blocked | None:
    """An inventory system of the request that already holds a slot."""
    for system in candidate.systems:
        slot = booked.slot_of_system.get(system.id)
        if slot is not None:
            week, request_id = slot
            return Blocked(
                week,
                Constraint.DUPLICATE,
                f"system {system.id} already holds a slot in {week_label(week)} (request #{request_id})",
            )
    return None


def check_week(booked: Booked, candidate: Candidate, monday: date) -> Blocked | None:
    """The first rule the week starting on ``monday`` breaks for ``candidate``, or None when it fits."""
    province, spec, planning = candidate.province, candidate.spec, candidate.province.planning
    label = week_label(monday)
    blackout = blackout_of(planning, monday)
    if blackout is not None:
        return Blocked(
            monday,
            Constraint.BLACKOUT,
            f"{label} overlaps the blackout {blackout.name} ({blackout.start} to {blackout.end})",
        )
    for dependency in spec.dependencies:
        slot = booked.slot_of_system.get(dependency)
        if slot is None:
            return Blocked(monday, Constraint.DEPENDENCY, f"dependency {dependency} holds no slot")
        if slot[0] > monday:
            return Blocked(
                monday,
                Constraint.DEPENDENCY,
                f"dependency {dependency} moves in {week_label(slot[0])}, after {label}",
            )
    already = booked.systems_per_week[monday]
    count = len(candidate.systems)
    if already + count > planning.migration_weekly_capacity:
        return Blocked(
            monday,
            Constraint.THROUGHPUT,
            f"migration throughput: {label} has {already} of {planning.migration_weekly_capacity} systems "
            f"booked; this request adds {count}",
        )
    volume = booked.volume_per_week[(spec.department, monday)] + candidate.data_volume_gb
    if volume > 0 and volume > province.transfer_capacity_gb(spec.department) * (1 + 1e-12):
        link = province.access(spec.department)
        rate = float(link.to("bit/s").magnitude) * planning.transfer_efficiency
        days = volume * 1e9 * 8 / rate / 86400
        return Blocked(
            monday,
            Constraint.TRANSFER,
            f"data transfer: {human(_gb(volume))} for {spec.department} in {label} needs {days:.1f} days "
            f"over {show(link, 'Gbit/s', digits=_digits(link))} × {planning.transfer_efficiency * 100:g} %, "
            f"more than the 7-day slot",
        )
    return capacity_blocked(booked, candidate, monday)


def capacity_blocked(booked: Booked, candidate: Candidate, monday: date) -> Blocked | None:
    """The line whose headroom falls below target first when the request moves in ``monday``'s month.

    The verdict depends on the month only, so it is computed once per month and booked state."""
    month = candidate.province.month_of(monday)
    key = (id(booked), month)
    if key not in candidate.capacity_verdicts:
        candidate.capacity_verdicts[key] = _capacity_verdict(booked, candidate, month)
    verdict = candidate.capacity_verdicts[key]
    return None if verdict is None else Blocked(monday, *verdict)


def _capacity_verdict(booked: Booked, candidate: Candidate, month: date) -> tuple[Constraint, str] | None:
    province = candidate.province
    planning = province.planning
    worst: tuple[int, int, LineKey] | None = None
    for key, added in candidate.demand(month).items():
        line = province.supply.lines.get(key)
        if line is None:
            return Constraint.CAPACITY, f"no {key[0]} supply in {_where(key[1])}"
        total = booked.demand.get(key, province.no_demand) + added
        below = line_headroom(planning, key, line.usable, total).first_below_target
        if below is not None:
            order = province.line_order[key]
            if worst is None or (below, order) < worst[:2]:
                worst = (below, order, key)
    if worst is None:
        return None
    below, _, (resource, az) = worst
    return (
        Constraint.CAPACITY,
        f"{resource} in {_where(az)} falls below the {planning.headroom_target * 100:g} % target "
        f"in {month_label(planning.month(below))}",
    )


def admit(province: Province, booked: Booked, spec: RequestSpec, systems: Sequence[System]) -> Decision:
    """The first week of the request's window that keeps every rule; otherwise the binding constraint and
    the earliest feasible week after the window (None when no week of the horizon fits)."""
    candidate = Candidate(province, spec, systems)
    dup = duplicate(booked, candidate)
    if dup is not None:
        return Decision(granted_week=None, binding=dup)
    binding: Blocked | None = None
    for monday in weeks(spec.earliest_week, spec.latest_week):
        blocked = check_week(booked, candidate, monday)
        if blocked is None:
            return Decision(granted_week=monday)
        if binding is None or _RANK[blocked.constraint] > _RANK[binding.constraint]:
            binding = blocked
    assert binding is not None
    later = None
    for monday in weeks(spec.latest_week + ONE_WEEK, province.last_week):
        if check_week(booked, candidate, monday) is None:
            later = monday
            break
    return Decision(granted_week=None, earliest_feasible_week=later, binding=binding)


def _where(az: str) -> str:
    return "the region" if az == "region" else f"AZ {az}"


def _gb(value: float) -> pint.Quantity:
    return Q_(value, "GB")


def _digits(q: pint.Quantity) -> int:
    value = float(q.to("Gbit/s").magnitude)
    return 0 if value == round(value) else 1
