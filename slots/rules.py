"""The rules of admission as objects: one ordered list, read by first-come admission (slots.admission) and by
the re-plan (slots.planner) alike.

A rule answers three questions:
- ``check``: does the week starting on ``monday`` take this request, given what is booked? (a ``Blocked`` with
  the sentence a department reads, or None);
- ``allows``: can the week hold the request alone around the fixed (approved) slots? The re-plan creates no
  variable for a week a rule excludes here;
- ``constrain``: the rule among the movable requests, as constraints of the CP-SAT model.

The order of ``RULES`` is the order a week is checked in; the binding constraint of a refusal is the rule that
blocks the most nearly feasible week, i.e. the one furthest down this list. A new rule is one class here (or
anywhere) and one entry in the list.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

import numpy as np

from capacity.headroom import line_headroom
from capacity.supply import LineKey
from egov.months import month_label
from egov.units import Q_, human
from network.capacity_present import rate_text
from slots.weeks import blackout_of, week_gb, week_label

if TYPE_CHECKING:
    from ortools.sat.python import cp_model

    from slots.admission import Booked, Candidate
    from slots.bandwidth import PathLink
    from slots.planner import PlanModel

#: Integer scale of capacity coefficients in the CP-SAT model (hundredths of a vCPU, MiB, GiB, GB).
SCALE = 100


class Constraint(StrEnum):
    """The names of the built-in rules, in the order a week is checked against them."""

    DUPLICATE = "duplicate"
    BLACKOUT = "blackout"
    DEPENDENCY = "dependency"
    THROUGHPUT = "throughput"
    TRANSFER = "transfer"
    CAPACITY = "capacity"


@dataclass(frozen=True)
class Blocked:
    """Why one week cannot take the request: the rule's name and the sentence to read."""

    week: date
    constraint: str
    message: str


class AdmissionRule(Protocol):
    """One rule of admission (see the module's docstring)."""

    @property
    def constraint(self) -> str:
        """The rule's name, stored as the binding constraint of a refusal."""
        ...

    def check(self, booked: Booked, candidate: Candidate, monday: date) -> Blocked | None: ...

    def allows(self, plan: PlanModel, candidate: Candidate, monday: date) -> bool: ...

    def constrain(self, plan: PlanModel) -> None: ...


class Duplicate:
    """An inventory system holds at most one slot."""

    constraint = Constraint.DUPLICATE

    def check(self, booked: Booked, candidate: Candidate, monday: date) -> Blocked | None:
        for system in candidate.systems:
            slot = booked.slot_of_system.get(system.id)
            if slot is not None:
                week, request_id = slot
                return Blocked(
                    week,
                    self.constraint,
                    f"system {system.id} already holds a slot in {week_label(week)} (request #{request_id})",
                )
        return None

    def allows(self, plan: PlanModel, candidate: Candidate, monday: date) -> bool:
        return self.check(plan.fixed, candidate, monday) is None

    def constrain(self, plan: PlanModel) -> None:
        # An inventory system in two movable requests moves once (ad-hoc ids are the request's own).
        for system_id, rids in plan.owners.items():
            if len(rids) > 1 and system_id in plan.province.by_id:
                plan.model.add(sum(plan.admitted[r] for r in rids) <= 1)


class Blackout:
    """No day of the week (Monday to Sunday) falls in a blackout of the planning calendar."""

    constraint = Constraint.BLACKOUT

    def check(self, booked: Booked, candidate: Candidate, monday: date) -> Blocked | None:
        blackout = blackout_of(candidate.province.planning, monday)
        if blackout is None:
            return None
        return Blocked(
            monday,
            self.constraint,
            f"{week_label(monday)} overlaps the blackout {blackout.name} "
            f"({blackout.start} to {blackout.end})",
        )

    def allows(self, plan: PlanModel, candidate: Candidate, monday: date) -> bool:
        return blackout_of(plan.province.planning, monday) is None

    def constrain(self, plan: PlanModel) -> None:
        """Blacked-out weeks have no variable at all (``allows``)."""


class Dependencies:
    """Every system the request depends on holds a slot in this week or earlier ("before or with")."""

    constraint = Constraint.DEPENDENCY

    def check(self, booked: Booked, candidate: Candidate, monday: date) -> Blocked | None:
        for dependency in candidate.spec.dependencies:
            slot = booked.slot_of_system.get(dependency)
            if slot is None:
                return Blocked(monday, self.constraint, f"dependency {dependency} holds no slot")
            if slot[0] > monday:
                return Blocked(
                    monday,
                    self.constraint,
                    f"dependency {dependency} moves in {week_label(slot[0])}, after {week_label(monday)}",
                )
        return None

    def allows(self, plan: PlanModel, candidate: Candidate, monday: date) -> bool:
        for dependency in candidate.spec.dependencies:
            slot = plan.fixed.slot_of_system.get(dependency)
            if slot is not None and slot[0] > monday:
                return False
            if slot is None and not plan.owners.get(dependency):
                return False
        return True

    def constrain(self, plan: PlanModel) -> None:
        # On another movable request: only if that one moves, and in the same week or later.
        for rid, item in plan.items.items():
            for dependency in item.spec.dependencies:
                if dependency in plan.fixed.slot_of_system:
                    continue  # weeks before the fixed slot have no variable (allows)
                movers = [r for r in plan.owners.get(dependency, []) if r != rid]
                if not movers:
                    plan.model.add(plan.admitted[rid] == 0)
                    continue
                # The dependency is in one movable request (two owners cannot both move: Duplicate).
                plan.model.add(sum(plan.admitted[r] for r in movers) >= 1).only_enforce_if(plan.admitted[rid])
                for r in movers:
                    plan.model.add(plan.week_number(rid) >= plan.week_number(r)).only_enforce_if(
                        [plan.admitted[rid], plan.admitted[r]]
                    )


class Throughput:
    """Systems already booked in the week plus this request's ≤ planning.migration_weekly_capacity."""

    constraint = Constraint.THROUGHPUT

    def check(self, booked: Booked, candidate: Candidate, monday: date) -> Blocked | None:
        weekly = candidate.province.planning.migration_weekly_capacity
        already, count = booked.systems_per_week[monday], len(candidate.systems)
        if already + count <= weekly:
            return None
        return Blocked(
            monday,
            self.constraint,
            f"migration throughput: {week_label(monday)} has {already} of {weekly} systems booked; "
            f"this request adds {count}",
        )

    def allows(self, plan: PlanModel, candidate: Candidate, monday: date) -> bool:
        weekly = plan.province.planning.migration_weekly_capacity
        return len(candidate.systems) + plan.fixed.systems_per_week[monday] <= weekly

    def constrain(self, plan: PlanModel) -> None:
        weekly = plan.province.planning.migration_weekly_capacity
        per_week: dict[date, list[tuple[int, cp_model.IntVar]]] = {}
        for (rid, monday), var in plan.week.items():
            per_week.setdefault(monday, []).append((len(plan.items[rid].systems), var))
        for monday, terms in per_week.items():
            room = weekly - plan.fixed.systems_per_week[monday]
            if sum(c for c, _ in terms) > room:
                plan.model.add(sum(c * v for c, v in terms) <= room)


class Transfer:
    """Every backbone link of the department's routed paths to the cloud DC carries, within the 7 days of the
    week, the data booked on it that week by every department plus this request's share (ECMP), at the link's
    free rate in the week's month (slots.bandwidth: its capacity left under the target utilisation by the
    steady traffic of that month). Departments whose paths share a link (the core ↔ DC attachments, a city
    uplink) share its free capacity; one department alone is bound by its tightest link."""

    constraint = Constraint.TRANSFER

    def check(self, booked: Booked, candidate: Candidate, monday: date) -> Blocked | None:
        over = _overloaded(booked, candidate, monday)
        if over is None:
            return None
        return Blocked(monday, self.constraint, _transfer_refusal(booked, candidate, monday, over))

    def allows(self, plan: PlanModel, candidate: Candidate, monday: date) -> bool:
        return _overloaded(plan.fixed, candidate, monday) is None

    def constrain(self, plan: PlanModel) -> None:
        # One constraint per link and week over every movable request whose path crosses it: fixed GB on the
        # link + Σ share × GB of each request moving that week ≤ the GB its free rate carries in the week.
        # Hundredths of a GB, coefficients rounded up and the limit down: never looser than admission.
        terms: dict[tuple[str, date], list[tuple[int, cp_model.IntVar]]] = {}
        free: dict[tuple[str, date], float] = {}
        for (rid, monday), var in plan.week.items():
            candidate = plan.candidates[rid]
            volume = candidate.data_volume_gb  # converted once per request: pint conversions are slow
            if volume <= 0:
                continue
            for link in plan.province.path_links(candidate.spec.department, monday):
                key = (link.key, monday)
                free[key] = link.free
                gb = math.ceil(volume * link.share * SCALE - 1e-9)
                terms.setdefault(key, []).append((gb, var))
        for key, link_terms in terms.items():
            fixed = sum(plan.fixed.volume_on_link.get(key, {}).values())
            limit = math.floor((week_gb(free[key]) - fixed) * SCALE + 1e-9)
            if sum(c for c, _ in link_terms) > limit:
                plan.add_at_most([v for _, v in link_terms], [c for c, _ in link_terms], limit)


@dataclass(frozen=True)
class _Overload:
    """The link a request's transfer overloads most in a week: what it carries then against what it can."""

    link: PathLink
    carried_gb: float  # booked on the link that week by every department, with this request's share
    capacity_gb: float  # what its free rate carries in the week


def _overloaded(booked: Booked, candidate: Candidate, monday: date) -> _Overload | None:
    """The link of the request's paths most over its week's capacity with the request added, or None when
    every link takes it (a request moving no data never is)."""
    volume = candidate.data_volume_gb
    if volume <= 0:
        return None
    worst: tuple[float, str, _Overload] | None = None
    for link in candidate.province.path_links(candidate.spec.department, monday):
        key = (link.key, monday)
        already = sum(booked.volume_on_link.get(key, {}).values())
        carried, capacity = already + volume * link.share, week_gb(link.free)
        if carried <= capacity * (1 + 1e-12):
            continue
        ratio = carried / capacity if capacity > 0 else math.inf
        if worst is None or (-ratio, link.key) < (-worst[0], worst[1]):
            worst = (ratio, link.key, _Overload(link, carried, capacity))
    return None if worst is None else worst[2]


def _transfer_refusal(booked: Booked, candidate: Candidate, monday: date, over: _Overload) -> str:
    """The sentence of a transfer refusal: the department's own data against its path's free rate, or, when
    other departments' transfers share the link that week, the link, its free capacity and who holds it."""
    department, link = candidate.spec.department, over.link
    month = month_label(candidate.province.month_of(monday))
    key = (link.key, monday)
    on_link = booked.volume_on_link.get(key, {})
    others = {d: gb for d, gb in sorted(on_link.items()) if d != department and gb > 0}
    own = on_link.get(department, 0.0) + candidate.data_volume_gb * link.share
    if others:
        need = f"data transfer: {human(Q_(candidate.data_volume_gb, 'GB'))} for {department}"
        return (
            f"{need} in {week_label(monday)} does not fit {link.name} in {month}, shared with "
            f"{', '.join(others)}: its "
            f"{rate_text(link.free)} free carries {human(Q_(over.capacity_gb, 'GB'))} in the 7-day slot, "
            f"{human(Q_(sum(others.values()), 'GB'))} of it already booked that week by {', '.join(others)}, "
            f"and {department}'s share adds {human(Q_(own, 'GB'))}"
        )
    # the department's whole week on this link, at the rate the link gives the department alone
    volume, rate = own / link.share, link.free / link.share
    need = f"data transfer: {human(Q_(volume, 'GB'))} for {department} in {week_label(monday)}"
    if rate <= 0:
        return (
            f"{need} finds no free capacity on its routed path to the cloud DC in {month}: "
            f"{link.name} is already full"
        )
    days = volume * 1e9 * 8 / rate / 86400
    return (
        f"{need} needs {days:.1f} days at the {rate_text(rate)} free on its routed path to the cloud DC in "
        f"{month}, more than the 7-day slot; bound by {link.name}"
    )


class Capacity:
    """With the request's systems added from the week's month with their growth law, every supply line they
    use keeps planning.headroom_target free in every month of the horizon (capacity.headroom)."""

    constraint = Constraint.CAPACITY

    def check(self, booked: Booked, candidate: Candidate, monday: date) -> Blocked | None:
        # The verdict depends on the month only: computed once per month and booked state.
        month = candidate.province.month_of(monday)
        key = (id(booked), month)
        if key not in candidate.capacity_verdicts:
            candidate.capacity_verdicts[key] = self._verdict(booked, candidate, month)
        verdict = candidate.capacity_verdicts[key]
        return None if verdict is None else Blocked(monday, self.constraint, verdict)

    def _verdict(self, booked: Booked, candidate: Candidate, month: date) -> str | None:
        province = candidate.province
        planning = province.planning
        worst: tuple[int, int, LineKey] | None = None
        for key, added in candidate.demand(month).items():
            line = province.supply.lines.get(key)
            if line is None:
                return f"no {key[0]} supply in {_where(key[1])}"
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
            f"{resource} in {_where(az)} falls below the {planning.headroom_target * 100:g} % target "
            f"in {month_label(planning.month(below))}"
        )

    def allows(self, plan: PlanModel, candidate: Candidate, monday: date) -> bool:
        return True  # a matter of all requests together: see constrain

    def constrain(self, plan: PlanModel) -> None:
        # Per supply line and month: fixed demand + Σ demand of each request from its month ≤ (1 − target) ×
        # usable; coefficients rounded up and the limit down, so the model is never looser than admission.
        planning = plan.province.planning
        terms_by_line: dict[LineKey, list[tuple[np.ndarray, cp_model.IntVar]]] = {}
        for (rid, month), var in plan.month.items():
            for key, series in plan.candidates[rid].demand(month).items():
                coefficients = np.ceil(series * SCALE - 1e-9).astype(np.int64)
                terms_by_line.setdefault(key, []).append((coefficients, var))
        for key, line_terms in terms_by_line.items():
            usable = plan.province.supply.lines[key].usable
            base = plan.fixed.demand.get(key, plan.province.no_demand)
            limit = np.floor(((1.0 - planning.headroom_target) * usable - base) * SCALE + 1e-9).astype(
                np.int64
            )
            matrix = np.stack([c for c, _ in line_terms])
            variables = [v for _, v in line_terms]
            worst = matrix.sum(axis=0)
            for t in range(planning.horizon_months):
                if worst[t] <= limit[t]:
                    continue  # every request together fits this month
                column = matrix[:, t]
                nonzero = np.flatnonzero(column)
                plan.add_at_most(
                    [variables[j] for j in nonzero], [int(column[j]) for j in nonzero], int(limit[t])
                )


#: The rules of admission, in the order a week is checked against them (the binding constraint is the one
#: furthest down this list that blocks a week of the window).
RULES: tuple[AdmissionRule, ...] = (
    Duplicate(),
    Blackout(),
    Dependencies(),
    Throughput(),
    Transfer(),
    Capacity(),
)


def _where(az: str) -> str:
    return "the region" if az == "region" else f"AZ {az}"
