"""Re-planning: every movable request at once, optimally, with OR-Tools CP-SAT — and the same requests
first-come-first-served for comparison.

Movable requests are the granted (not yet approved) and the refused ones; approved slots are fixed. Each
movable request gets a boolean per candidate week of its window (blackouts, fixed dependencies and weeks its
transfer cannot fit in are left out beforehand) and a boolean per candidate month. Constraints:
- a request takes at most one week; the month boolean is the sum of its weeks;
- throughput: systems per week ≤ planning.migration_weekly_capacity − approved systems of that week;
- transfer: a department's data per week ≤ its access link × efficiency × 7 days − approved data;
- dependencies: on another movable request, the request moves in the same week or later and only if that
  one moves; an inventory system in two requests moves once;
- capacity: for every supply line and month of the horizon, the demand of the approved slots plus the
  demand of each request from its month with its growth law ≤ (1 − headroom target) × usable — coefficients
  rounded up and the right side down, so the model is never looser than admission; each plan is then checked
  again with slots.admission (capacity.headroom) before it is returned.
Objective: first admit as many requests as possible (granted ones before refused ones), then minimise the
weighted delay Σ weight × (granted week − earliest week) in weeks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from capacity.supply import LineKey
from egov.model import System
from slots.admission import Booked, Booking, Candidate, Province, admit, check_week, duplicate
from slots.request import RequestSpec
from slots.weeks import blackout_of, week_label, weeks

#: Integer scale of capacity coefficients (hundredths of a vCPU, MiB, GiB, GB).
SCALE = 100
#: Upper bound of the model: boolean week variables over all requests.
MAX_WEEK_VARIABLES = 50_000
#: Largest deterministic time limit a caller may give one CP-SAT solve.
MAX_TIME_LIMIT = 120.0
#: Wall-clock guard of a solve: 3 × its deterministic limit + 10 s. Deterministic time keeps plans
#: reproducible; the guard only stops a solve the machine slows far beyond it: none holds a worker unbounded.
WALL_CLOCK_FACTOR, WALL_CLOCK_SLACK = 3.0, 10.0


class PlanNotFound(RuntimeError):
    """The solver stopped before finding any schedule (time limit too small)."""


@dataclass(frozen=True)
class PlanItem:
    """A movable request: its id (submission order), spec, resolved systems and current week (if granted)."""

    request_id: int
    spec: RequestSpec
    systems: tuple[System, ...]
    current_week: date | None


@dataclass(frozen=True)
class Schedule:
    """Weeks per request (None: not admitted) and its scores."""

    weeks: dict[int, date | None]
    weighted_delay: int
    admitted: int


@dataclass(frozen=True)
class Plan:
    """The optimal schedule, first-come-first-served's, and what changes against the ledger."""

    status: str  # CP-SAT status: OPTIMAL or FEASIBLE
    optimal: Schedule
    fcfs: Schedule
    current: Schedule
    changes: dict[int, date | None] = field(default_factory=dict)
    variables: int = 0
    time_limit: float = 0.0
    #: the solver stopped at its time limit: the plan is feasible but not proven optimal
    time_limit_reached: bool = False

    @property
    def delay_gain(self) -> int:
        """Weeks × weight of delay the optimal plan saves over first-come-first-served."""
        return self.fcfs.weighted_delay - self.optimal.weighted_delay

    def as_json(self) -> dict[str, object]:
        def sched(s: Schedule) -> dict[str, object]:
            return {
                "admitted": s.admitted,
                "weighted_delay_weeks": s.weighted_delay,
                "weeks": {str(k): (None if v is None else week_label(v)) for k, v in sorted(s.weeks.items())},
            }

        return {
            "status": self.status,
            "variables": self.variables,
            "time_limit": self.time_limit,
            "time_limit_reached": self.time_limit_reached,
            "optimal": sched(self.optimal),
            "first_come_first_served": sched(self.fcfs),
            "current": sched(self.current),
            "gain": {
                "weighted_delay_weeks": self.delay_gain,
                "admitted": self.optimal.admitted - self.fcfs.admitted,
            },
            "changes": {
                str(k): (None if v is None else week_label(v)) for k, v in sorted(self.changes.items())
            },
        }


def score(items: Sequence[PlanItem], chosen: dict[int, date | None]) -> Schedule:
    delay = 0
    for item in items:
        week = chosen.get(item.request_id)
        if week is not None:
            delay += item.spec.weight * ((week - item.spec.earliest_week).days // 7)
    return Schedule(dict(chosen), delay, sum(1 for w in chosen.values() if w is not None))


def first_come_first_served(
    province: Province, fixed: Sequence[Booking], items: Sequence[PlanItem]
) -> Schedule:
    """Admit the items one by one in submission order, each at the first feasible week of its window."""
    booked = Booked.of(province, fixed)
    chosen: dict[int, date | None] = {}
    for item in sorted(items, key=lambda i: i.request_id):
        decision = admit(province, booked, item.spec, item.systems)
        chosen[item.request_id] = decision.granted_week
        if decision.granted_week is not None:
            booked.add(province, _booking(item, decision.granted_week))
    return score(items, chosen)


def _booking(item: PlanItem, week: date) -> Booking:
    return Booking(item.request_id, item.spec.department, week, item.systems, item.spec.data_volume_gb)


def verify(
    province: Province, fixed: Sequence[Booking], items: Sequence[PlanItem], chosen: dict[int, date | None]
) -> str | None:
    """Replay a schedule through admission in week order; the first broken rule, or None when all hold."""
    booked = Booked.of(province, fixed)
    order = sorted((w, i.request_id, i) for i in items if (w := chosen.get(i.request_id)) is not None)
    for week, _, item in order:
        candidate = Candidate(province, item.spec, item.systems)
        blocked = duplicate(booked, candidate) or check_week(booked, candidate, week)
        if blocked is not None:
            return f"request #{item.request_id} in {week_label(week)}: {blocked.message}"
        booked.add(province, _booking(item, week))
    # Growth of requests booked later in the replay can push an earlier line below target: check it all.
    final = Booked.of(province, [*fixed, *(_booking(i, w) for w, _, i in order)])
    from capacity.headroom import line_headroom

    for key, series in final.demand.items():
        line = line_headroom(province.planning, key, province.supply.lines[key].usable, series)
        if line.first_below_target is not None:
            return f"{key[0]} in {key[1]} falls below target in month {line.first_below_target}"
    return None


def replan(
    province: Province, fixed: Sequence[Booking], items: Sequence[PlanItem], *, time_limit: float = 10.0
) -> Plan:
    """The optimal schedule of ``items`` around the ``fixed`` bookings, with the FCFS comparison."""
    from ortools.sat.python import cp_model

    planning = province.planning
    fixed_state = Booked.of(province, fixed)
    current = score(items, {i.request_id: i.current_week for i in items})
    fcfs = first_come_first_served(province, fixed, items)
    model = cp_model.CpModel()
    x: dict[tuple[int, date], cp_model.IntVar] = {}
    admitted: dict[int, cp_model.IntVar] = {}
    months: dict[tuple[int, date], cp_model.IntVar] = {}
    week_index: dict[date, int] = {}
    for n, monday in enumerate(weeks(province.first_week, province.last_week)):
        week_index[monday] = n
    owners: dict[str, list[int]] = {}
    for item in items:
        for system in item.systems:
            owners.setdefault(system.id, []).append(item.request_id)
    count = 0
    for item in items:
        rid = item.request_id
        admitted[rid] = model.new_bool_var(f"admit_{rid}")
        candidate = Candidate(province, item.spec, item.systems)
        allowed = []
        if duplicate(fixed_state, candidate) is None:
            for monday in weeks(item.spec.earliest_week, item.spec.latest_week):
                if _static_ok(province, fixed_state, item, monday, owners):
                    allowed.append(monday)
        count += len(allowed)
        if count > MAX_WEEK_VARIABLES:
            raise ValueError(f"re-planning model too large: more than {MAX_WEEK_VARIABLES} request-weeks")
        for monday in allowed:
            x[(rid, monday)] = model.new_bool_var(f"x_{rid}_{week_label(monday)}")
        model.add(sum(x[(rid, w)] for w in allowed) == admitted[rid])
        by_month: dict[date, list[date]] = {}
        for monday in allowed:
            by_month.setdefault(province.month_of(monday), []).append(monday)
        for month, mondays in by_month.items():
            months[(rid, month)] = model.new_bool_var(f"m_{rid}_{month}")
            model.add(sum(x[(rid, w)] for w in mondays) == months[(rid, month)])
        if item.current_week is not None and (rid, item.current_week) in x:
            model.add_hint(x[(rid, item.current_week)], 1)
    items_by_id = {i.request_id: i for i in items}
    # Throughput and transfer per week.
    per_week: dict[date, list[tuple[int, cp_model.IntVar]]] = {}
    per_dept_week: dict[tuple[str, date], list[tuple[int, cp_model.IntVar]]] = {}
    for (rid, monday), var in x.items():
        item = items_by_id[rid]
        per_week.setdefault(monday, []).append((len(item.systems), var))
        if item.spec.data_volume_gb > 0:
            gb = math.ceil(item.spec.data_volume_gb)
            per_dept_week.setdefault((item.spec.department, monday), []).append((gb, var))
    for monday, terms in per_week.items():
        room = planning.migration_weekly_capacity - fixed_state.systems_per_week[monday]
        if sum(c for c, _ in terms) > room:
            model.add(sum(c * v for c, v in terms) <= room)
    for (department, monday), terms in per_dept_week.items():
        room_gb = math.floor(
            province.transfer_capacity_gb(department) - fixed_state.volume_per_week[(department, monday)]
        )
        if sum(c for c, _ in terms) > room_gb:
            model.add(sum(c * v for c, v in terms) <= room_gb)
    # Dependencies and systems shared by two requests.
    week_of: dict[int, cp_model.LinearExprT] = {
        rid: cp_model.LinearExpr.weighted_sum(
            [v for (r, _), v in x.items() if r == rid], [week_index[w] for (r, w) in x if r == rid]
        )
        for rid in admitted
    }
    for item in items:
        rid = item.request_id
        for dependency in item.spec.dependencies:
            if dependency in fixed_state.slot_of_system:
                continue  # weeks before the fixed slot were left out
            movers = [r for r in owners.get(dependency, []) if r != rid]
            if not movers:
                model.add(admitted[rid] == 0)
                continue
            # The dependency is in one movable request (two owners cannot both move, see below).
            model.add(sum(admitted[r] for r in movers) >= 1).only_enforce_if(admitted[rid])
            for r in movers:
                model.add(week_of[rid] >= week_of[r]).only_enforce_if([admitted[rid], admitted[r]])
    for system_id, rids in owners.items():
        if len(rids) > 1 and system_id in province.by_id:
            model.add(sum(admitted[r] for r in rids) <= 1)
    # Capacity: per supply line and month.
    target = planning.headroom_target
    terms_by_line: dict[LineKey, list[tuple[np.ndarray, cp_model.IntVar]]] = {}
    candidates = {i.request_id: Candidate(province, i.spec, i.systems) for i in items}
    for (rid, month), var in months.items():
        for key, series in candidates[rid].demand(month).items():
            terms_by_line.setdefault(key, []).append((np.ceil(series * SCALE - 1e-9).astype(np.int64), var))
    for key, line_terms in terms_by_line.items():
        usable = province.supply.lines[key].usable
        base = fixed_state.demand.get(key, np.zeros(planning.horizon_months))
        limit = np.floor(((1.0 - target) * usable - base) * SCALE + 1e-9).astype(np.int64)
        matrix = np.stack([c for c, _ in line_terms])
        variables = [v for _, v in line_terms]
        worst = matrix.sum(axis=0)
        for t in range(planning.horizon_months):
            if worst[t] <= limit[t]:
                continue  # every request together fits this month
            column = matrix[:, t]
            nonzero = np.flatnonzero(column)
            model.add(
                cp_model.LinearExpr.weighted_sum(
                    [variables[j] for j in nonzero], [int(column[j]) for j in nonzero]
                )
                <= int(limit[t])
            )
    # Objective: admit first (granted before refused), then the weighted delay.
    max_delay = sum(
        item.spec.weight * ((item.spec.latest_week - item.spec.earliest_week).days // 7) for item in items
    )
    refused_penalty = max_delay + 1
    granted_penalty = refused_penalty * (len(items) + 1)
    delay = sum(
        items_by_id[rid].spec.weight * ((monday - items_by_id[rid].spec.earliest_week).days // 7) * var
        for (rid, monday), var in x.items()
    )
    penalty = sum(
        (granted_penalty if items_by_id[rid].current_week is not None else refused_penalty) * (1 - var)
        for rid, var in admitted.items()
    )
    model.minimize(delay + penalty)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1  # deterministic: the same ledger gives the same plan
    if not 0 < time_limit <= MAX_TIME_LIMIT:
        raise ValueError(f"time limit {time_limit!r} is not within (0, {MAX_TIME_LIMIT:g}]")
    solver.parameters.max_deterministic_time = time_limit
    solver.parameters.max_time_in_seconds = time_limit * WALL_CLOCK_FACTOR + WALL_CLOCK_SLACK
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        raise PlanNotFound(
            f"CP-SAT found no plan within a deterministic time of {time_limit:g} "
            f"({solver.status_name(status)}); raise the time limit"
        )
    chosen: dict[int, date | None] = {rid: None for rid in admitted}
    for (rid, monday), var in x.items():
        if solver.value(var):
            chosen[rid] = monday
    # A granted request is dropped only when no week of its window can hold it any more (its dependency was
    # cancelled, say): the plan shows it as unscheduled and applying it refuses the request.
    problem = verify(province, fixed, items, chosen)
    if problem is not None:
        raise RuntimeError(f"the CP-SAT plan fails admission: {problem}")
    optimal = score(items, chosen)
    changes = {rid: w for rid, w in chosen.items() if w != items_by_id[rid].current_week}
    return Plan(
        status=solver.status_name(status),
        optimal=optimal,
        fcfs=fcfs,
        current=current,
        changes=changes,
        variables=len(x) + len(months) + len(admitted),
        time_limit=time_limit,
        time_limit_reached=status != cp_model.OPTIMAL,
    )


def _static_ok(
    province: Province, fixed: Booked, item: PlanItem, monday: date, owners: dict[str, list[int]]
) -> bool:
    """Whether ``monday`` can hold ``item`` alone: blackouts, fixed dependencies, throughput, transfer."""
    if blackout_of(province.planning, monday) is not None:
        return False
    for dependency in item.spec.dependencies:
        slot = fixed.slot_of_system.get(dependency)
        if slot is not None and slot[0] > monday:
            return False
        if slot is None and not owners.get(dependency):
            return False
    if len(item.systems) + fixed.systems_per_week[monday] > province.planning.migration_weekly_capacity:
        return False
    volume = fixed.volume_per_week[(item.spec.department, monday)] + item.spec.data_volume_gb
    return not (volume > 0 and volume > province.transfer_capacity_gb(item.spec.department))
