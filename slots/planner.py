"""Re-planning: every movable request at once, optimally, with OR-Tools CP-SAT — and the same requests
first-come-first-served for comparison.

Movable requests are the granted (not yet approved) and the refused ones; approved slots are fixed. ``replan``
reads as its steps:
- variables: per movable request a boolean per candidate week of its window — a week any rule's ``allows``
  excludes around the fixed slots (blackouts, fixed dependencies, weeks it alone cannot fit) gets none — and a
  boolean per candidate month (the sum of its weeks); a request takes at most one week;
- constraints: each rule of ``Province.rules`` (slots.rules) adds its own — the same ordered list first-come
  admission checks, so a new rule is honoured by both;
- objective: first admit as many requests as possible (granted ones before refused ones), then minimise the
  weighted delay Σ weight × (granted week − earliest week) in weeks;
- solve: one worker under a deterministic time limit (the same ledger gives the same plan); the plan is then
  replayed through admission before it is returned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import TYPE_CHECKING

from capacity.headroom import line_headroom
from egov.model import System
from slots.admission import Booked, Booking, Candidate, Province, admit, check_week
from slots.request import RequestSpec
from slots.weeks import week_label, weeks

if TYPE_CHECKING:
    from ortools.sat.python import cp_model
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
        blocked = check_week(booked, Candidate(province, item.spec, item.systems), week)
        if blocked is not None:
            return f"request #{item.request_id} in {week_label(week)}: {blocked.message}"
        booked.add(province, _booking(item, week))
    # Growth of requests booked later in the replay can push an earlier line below target: check it all.
    final = Booked.of(province, [*fixed, *(_booking(i, w) for w, _, i in order)])
    for key, series in final.demand.items():
        line = line_headroom(province.planning, key, province.supply.lines[key].usable, series)
        if line.first_below_target is not None:
            return f"{key[0]} in {key[1]} falls below target in month {line.first_below_target}"
    return None


@dataclass
class PlanModel:
    """The CP-SAT model of one re-plan: its variables, and what the rules read to add their constraints."""

    model: cp_model.CpModel
    province: Province
    fixed: Booked
    items: dict[int, PlanItem]
    candidates: dict[int, Candidate]
    #: system id → the movable requests that move it
    owners: dict[str, list[int]]
    #: (request, Monday) → the request moves in that week
    week: dict[tuple[int, date], cp_model.IntVar] = field(default_factory=dict)
    #: (request, first of month) → the request moves in a week of that month
    month: dict[tuple[int, date], cp_model.IntVar] = field(default_factory=dict)
    #: request → it moves at all
    admitted: dict[int, cp_model.IntVar] = field(default_factory=dict)
    _week_numbers: dict[int, cp_model.LinearExprT] = field(default_factory=dict)

    @cached_property
    def week_index(self) -> dict[date, int]:
        return {
            monday: n for n, monday in enumerate(weeks(self.province.first_week, self.province.last_week))
        }

    def week_number(self, rid: int) -> cp_model.LinearExprT:
        """The index of the week request ``rid`` moves in (0 when it does not move); call once all week
        variables exist."""
        from ortools.sat.python import cp_model

        if not self._week_numbers:
            terms: dict[int, tuple[list[cp_model.IntVar], list[int]]] = {r: ([], []) for r in self.admitted}
            for (r, monday), var in self.week.items():
                terms[r][0].append(var)
                terms[r][1].append(self.week_index[monday])
            for r, (variables, numbers) in terms.items():
                self._week_numbers[r] = cp_model.LinearExpr.weighted_sum(variables, numbers)
        return self._week_numbers[rid]

    def add_at_most(
        self, variables: Sequence[cp_model.IntVar], coefficients: Sequence[int], limit: int
    ) -> None:
        """Σ coefficient × variable ≤ limit."""
        from ortools.sat.python import cp_model

        self.model.add(cp_model.LinearExpr.weighted_sum(list(variables), list(coefficients)) <= limit)

    @property
    def size(self) -> int:
        return len(self.week) + len(self.month) + len(self.admitted)


def replan(
    province: Province, fixed: Sequence[Booking], items: Sequence[PlanItem], *, time_limit: float = 10.0
) -> Plan:
    """The optimal schedule of ``items`` around the ``fixed`` bookings, with the FCFS comparison."""
    if not 0 < time_limit <= MAX_TIME_LIMIT:
        raise ValueError(f"time limit {time_limit!r} is not within (0, {MAX_TIME_LIMIT:g}]")
    current = score(items, {i.request_id: i.current_week for i in items})
    fcfs = first_come_first_served(province, fixed, items)
    plan = variables(province, fixed, items)
    for rule in province.rules:
        rule.constrain(plan)
    objective(plan)
    status, chosen = solve(plan, time_limit)
    # A granted request is dropped only when no week of its window can hold it any more (its dependency was
    # cancelled, say): the plan shows it as unscheduled and applying it refuses the request.
    problem = verify(province, fixed, items, chosen)
    if problem is not None:
        raise RuntimeError(f"the CP-SAT plan fails admission: {problem}")
    return Plan(
        status=status,
        optimal=score(items, chosen),
        fcfs=fcfs,
        current=current,
        changes={rid: w for rid, w in chosen.items() if w != plan.items[rid].current_week},
        variables=plan.size,
        time_limit=time_limit,
        time_limit_reached=status != "OPTIMAL",
    )


def variables(province: Province, fixed: Sequence[Booking], items: Sequence[PlanItem]) -> PlanModel:
    """The model's booleans: per request, its admission, the weeks every rule allows, and their months."""
    from ortools.sat.python import cp_model

    owners: dict[str, list[int]] = {}
    for item in items:
        for system in item.systems:
            owners.setdefault(system.id, []).append(item.request_id)
    plan = PlanModel(
        model=cp_model.CpModel(),
        province=province,
        fixed=Booked.of(province, fixed),
        items={i.request_id: i for i in items},
        candidates={i.request_id: Candidate(province, i.spec, i.systems) for i in items},
        owners=owners,
    )
    model = plan.model
    for rid, item in plan.items.items():
        candidate = plan.candidates[rid]
        allowed = [
            monday
            for monday in weeks(item.spec.earliest_week, item.spec.latest_week)
            if all(rule.allows(plan, candidate, monday) for rule in province.rules)
        ]
        if len(plan.week) + len(allowed) > MAX_WEEK_VARIABLES:
            raise ValueError(f"re-planning model too large: more than {MAX_WEEK_VARIABLES} request-weeks")
        plan.admitted[rid] = model.new_bool_var(f"admit_{rid}")
        for monday in allowed:
            plan.week[(rid, monday)] = model.new_bool_var(f"x_{rid}_{week_label(monday)}")
        model.add(sum(plan.week[(rid, w)] for w in allowed) == plan.admitted[rid])
        by_month: dict[date, list[date]] = {}
        for monday in allowed:
            by_month.setdefault(province.month_of(monday), []).append(monday)
        for month, mondays in by_month.items():
            plan.month[(rid, month)] = model.new_bool_var(f"m_{rid}_{month}")
            model.add(sum(plan.week[(rid, w)] for w in mondays) == plan.month[(rid, month)])
        if item.current_week is not None and (rid, item.current_week) in plan.week:
            model.add_hint(plan.week[(rid, item.current_week)], 1)
    return plan


def objective(plan: PlanModel) -> None:
    """Admit first — a granted request is never dropped for a refused one — then the least weighted delay."""
    from ortools.sat.python import cp_model

    items = plan.items
    max_delay = sum(
        item.spec.weight * ((item.spec.latest_week - item.spec.earliest_week).days // 7)
        for item in items.values()
    )
    refused_penalty = max_delay + 1
    granted_penalty = refused_penalty * (len(items) + 1)
    variables: list[cp_model.IntVar] = []
    coefficients: list[int] = []
    for (rid, monday), var in plan.week.items():
        variables.append(var)
        coefficients.append(items[rid].spec.weight * ((monday - items[rid].spec.earliest_week).days // 7))
    # Σ penalty × (1 − admitted) is a constant minus Σ penalty × admitted; the constant does not move the
    # optimum and is left out. One weighted sum: OR-Tools cannot add a sum of zero-coefficient terms (a
    # constant expression) to another sum.
    for rid, var in plan.admitted.items():
        variables.append(var)
        coefficients.append(-(granted_penalty if items[rid].current_week is not None else refused_penalty))
    plan.model.minimize(cp_model.LinearExpr.weighted_sum(variables, coefficients))


def solve(plan: PlanModel, time_limit: float) -> tuple[str, dict[int, date | None]]:
    """CP-SAT's status (OPTIMAL or FEASIBLE) and the chosen week per request (None: not admitted)."""
    from ortools.sat.python import cp_model

    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1  # deterministic: the same ledger gives the same plan
    solver.parameters.max_deterministic_time = time_limit
    solver.parameters.max_time_in_seconds = time_limit * WALL_CLOCK_FACTOR + WALL_CLOCK_SLACK
    status = solver.solve(plan.model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        raise PlanNotFound(
            f"CP-SAT found no plan within a deterministic time of {time_limit:g} "
            f"({solver.status_name(status)}); raise the time limit"
        )
    chosen: dict[int, date | None] = {rid: None for rid in plan.admitted}
    for (rid, monday), var in plan.week.items():
        if solver.value(var):
            chosen[rid] = monday
    return solver.status_name(status), chosen
