"""The procurement plan: what to buy, when, and where it stands — at the least cost, proven by the fit.

Options: a host of an aggregate's model into that aggregate, or a disk unit into a pool, for every model and
pool with a price (capacity.prices). Orders are placed in tender windows (every ``order_window_months`` from
the start month) and deliver after the option's lead time; an order that would have had to be placed before
the start delivers in the first month and is flagged overdue.

1. **Solve on per-class sums** (OR-Tools CP-SAT, integer counts per option and window) at the least present
   value of the orders (``discount_rate`` a year), within the yearly budget cap and the building's free rack
   units, rack power, feed and cooling, such that in every month:
   - every resource line keeps the headroom target: usable + bought ≥ demand ÷ (1 − target) — with
     ``confidence``, on the demand that share of the Monte Carlo draws of `egov capacity risk` stay under;
   - every aggregate class of a zone can hold its VMs: class usable (net of its HA reserve) + bought ≥
     Σ VMs × flavor size (capacity.fit's VM counts), plus the cuts below.
2. **Prove** the candidate: apply it as planned expansions and run the check (every line at the target),
   the fit (every VM finds a host, host by host, as Placement decides) and the building (no limit crossed).
3. **Cut** where the proof fails — a class whose VMs do not all place is sized on its VMs × a factor that
   grows by what the VMs without a host asked for (× CUT_MARGIN, as a share of the class's demand in its worst
   month) plus 2 %; a line below target must rise by its deficit; a room group over a limit gets 10 % less of
   that limit — and solve again.

Under Nova's default spread weigher a class must keep about one largest flavor's RAM free on every host for
that flavor to start, so the fit's factor for the general class of the default ends well above 1: the sums
under-buy.

The baseline (``one_shot``, priced as ``naive_cost``): the check's sum-based purchase made per aggregate class
and bought in one go at the first order month, grown where the fit leaves VMs without a host. A one-shot the
proofs pass is itself a plan, so when the rounds' cuts end dearer than it (or find no plan), the plan is that
one-shot, trimmed: the plan never costs more than a proven one-shot.

4. **Trim** the first candidate that passes every proof (``trim``): the cuts over-shoot to save rounds, so
   each tranche, largest cost first, is cut to the fewest units that still pass the proof, then ordered as
   late as the proof allows; every step is proven (lines, building, budget cap, and the fit of the class a
   host tranche goes to) and undone when it fails, at most ``TRIM_MAX_PROOFS`` proofs. The trimmed plan
   passes the whole proof once more, or the untrimmed one is kept.

After ``max_rounds`` without a proven candidate the last candidate is returned with its failures listed
(``Plan.proven`` is False).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from capacity.building import BuildingReport, assess_building
from capacity.demand import demand_lines
from capacity.fit import (
    FitReport,
    Fleet,
    SystemVms,
    Weigher,
    cloud_resources,
    hosts_from_cloud,
    simulate,
    vm_counts,
)
from capacity.headroom import Assessment, assess
from capacity.prices import Prices
from capacity.supply import LineKey, build_supply, host_inventories, pool_usable_gb
from egov.building import Building
from egov.model import Expansion, Planning, ResourceClass, SourceOfTruth
from egov.months import month_label
from egov.units import magnitude_in

ClassKey = tuple[str, str]
#: How much more than the VMs without a host asked for a fit cut demands: host-by-host placement strands some
#: of any capacity added (spread weigher), so asking for exactly the missing amount takes many more rounds.
CUT_MARGIN = 1.5

#: The trim pass's bound: at most this many proofs (each a check of the lines, the building and, for a host
#: tranche, the fit of its class) — the plan then keeps what was trimmed so far and says the cap was hit.
#: The default (its AI pool's GPU tranches included) needs 129.
TRIM_MAX_PROOFS = 160


@dataclass(frozen=True)
class Option:
    """One thing that can be bought: a host into an aggregate, or a disk unit into a pool."""

    kind: str  # "host" or "disk"
    model: str  # host model, or the disk unit's size ("16 TB disk")
    target: str  # aggregate or pool
    zone: str  # availability zone, or "region"
    klass: str | None  # the aggregate class of a host
    line_adds: dict[LineKey, float]  # usable capacity one unit adds to each line
    price: float  # CNY per unit
    lead: int  # months from order to delivery
    rack_units: float  # per unit (a disk: its share of an enclosure)
    typical_kw: float
    max_kw: float
    raw_gb: float = 0.0  # a disk unit's raw size


@dataclass(frozen=True)
class Tranche:
    order_by: int  # month index; negative: overdue (should have been ordered before the start)
    deliver: int
    option: Option
    count: int
    racks: tuple[str, ...] = ()  # "room/row/rack" the units stand in

    @property
    def cost(self) -> float:
        return self.count * self.option.price

    @property
    def power_kw(self) -> float:
        return self.count * self.option.typical_kw

    @property
    def rack_units(self) -> int:
        return math.ceil(self.count * self.option.rack_units - 1e-9)


@dataclass(frozen=True)
class Plan:
    source: SourceOfTruth  # the base the plan was made for
    applied: SourceOfTruth  # the base with the tranches as planned expansions
    prices: Prices
    tranches: list[Tranche]
    naive: OneShot | None  # the class-aware one-shot purchase, priced from the same list (None: no price)
    confidence: float | None
    rounds: int
    assessment: Assessment  # the check of the applied plan
    fit: FitReport  # the fit of the applied plan: the proof
    building: BuildingReport | None
    failures: list[str] = field(default_factory=list)
    #: why no plan could be solved at all: "budget", "building" or "prices" (None: a candidate was solved)
    blocked_by: str | None = None
    #: the trim pass after the first proven plan (None: no proven plan to trim, or the trimmed plan failed the
    #: whole proof and the untrimmed one was kept)
    trim: Trim | None = None
    #: the plan is the proven one-shot purchase, trimmed: the rounds found none as cheap (see make_plan)
    from_one_shot: bool = False

    @property
    def total_cost(self) -> float:
        return sum(t.cost for t in self.tranches)

    @property
    def present_value(self) -> float:
        return sum(t.cost * _discount(self.prices, t.order_by) for t in self.tranches)

    @property
    def proven(self) -> bool:
        return not self.failures

    @property
    def naive_cost(self) -> float | None:
        """The one-shot the fit proves (OneShot.tranches), priced: what the plan must not exceed."""
        return None if self.naive is None else self.naive.cost

    def zone_tranches(self, zone: str) -> list[Tranche]:
        """The tranches into ``zone`` (or "region"), in order: what the check's and the report's zone lines
        should show, one order-by per tranche."""
        return [t for t in self.tranches if t.option.zone == zone]


def _kw_or_zero(power: Any) -> float:
    return 0.0 if power is None else magnitude_in(power, "kW")


def _discount(prices: Prices, order_month: int) -> float:
    """Present value at the start of one CNY paid in ``order_month`` (overdue orders are paid now)."""
    return float((1.0 + prices.discount_rate) ** (-max(order_month, 0) / 12.0))


def options_of(source: SourceOfTruth, prices: Prices) -> list[Option]:
    """Every priced host model (into each aggregate of that model) and every priced pool's disk unit."""
    cloud, planning = source.cloud, source.planning
    options = []
    for az in cloud.availability_zones:
        for agg in az.aggregates:
            price = prices.hosts.get(agg.host_model)
            if price is None:
                continue
            model = cloud.host_models[agg.host_model]
            per_host = {rc: inv.capacity for rc, inv in host_inventories(cloud, agg).items()}
            options.append(
                Option(
                    kind="host",
                    model=agg.host_model,
                    target=agg.name,
                    zone=az.name,
                    klass=agg.metadata.get("class", "general"),
                    line_adds={(rc, az.name): adds for rc, adds in per_host.items()},
                    price=price.cny,
                    lead=planning.lead_time_months
                    if price.lead_time_months is None
                    else price.lead_time_months,
                    rack_units=float(model.rack_units or 0),
                    typical_kw=0.0
                    if model.power_typical is None
                    else magnitude_in(model.power_typical, "kW"),
                    max_kw=0.0 if model.power_max is None else magnitude_in(model.power_max, "kW"),
                )
            )
    for pool in cloud.storage_pools:
        price = prices.disks.get(pool.name)
        if price is None:
            continue
        disk_gb = magnitude_in(pool.disk_unit, "GB")
        enclosure = pool.enclosure
        share = 0.0 if enclosure is None else 1.0 / enclosure.disks
        options.append(
            Option(
                kind="disk",
                model=f"{pool.disk_unit.to('TB').magnitude:g} TB disk",
                target=pool.name,
                zone=pool.az,
                klass=None,
                line_adds={
                    (cloud.resource_classes.pool_class(pool.kind.value), pool.az): pool_usable_gb(
                        pool, disk_gb
                    )
                },
                price=price.cny,
                lead=planning.lead_time_months if price.lead_time_months is None else price.lead_time_months,
                rack_units=0.0 if enclosure is None else enclosure.rack_units * share,
                typical_kw=0.0 if enclosure is None else magnitude_in(enclosure.power_typical, "kW") * share,
                max_kw=0.0 if enclosure is None else magnitude_in(enclosure.power_max, "kW") * share,
                raw_gb=disk_gb,
            )
        )
    return options


def order_windows(option: Option, prices: Prices, horizon: int) -> list[int]:
    """Order months of ``option``: an overdue order delivering in month 0, then every tender window whose
    delivery falls within the horizon."""
    windows = [-option.lead] if option.lead > 0 else []
    month = 0
    while month + option.lead < horizon:
        windows.append(month)
        month += prices.order_window_months
    return windows


def class_demand(source: SourceOfTruth) -> dict[ClassKey, dict[ResourceClass, np.ndarray]]:
    """Per (zone, aggregate class), per host resource: Σ VMs × flavor size each month (the fit's VMs)."""
    out: dict[ClassKey, dict[ResourceClass, np.ndarray]] = {}
    hosted = cloud_resources(source.cloud)  # the rows of the VMs' requests
    for vms in vm_counts(source):
        group = out.setdefault(vms.group, {rc: np.zeros(len(vms.counts)) for rc in hosted})
        for row, rc in enumerate(hosted):
            group[rc] = group[rc] + vms.counts * vms.request[row]
    return out


@dataclass
class _Problem:
    """The requirements the solver must meet; the cuts of each round only raise them."""

    lines: dict[LineKey, np.ndarray]  # extra usable needed per month, beyond today's and planned supply
    classes: dict[ClassKey, dict[ResourceClass, np.ndarray]]  # extra class capacity needed per month
    room_budget: dict[str, float]  # per room group and limit ("301|U"): what purchases may still use


def _room_groups(building: Building) -> dict[str, list[int]]:
    """Rooms that share a zone form one group (their purchases can stand in any of them)."""
    groups: list[set[int]] = []
    for r, room in enumerate(building.rooms):
        joined = {r}
        for group in [g for g in groups if any(set(building.rooms[i].zones) & set(room.zones) for i in g)]:
            joined |= group
            groups.remove(group)
        groups.append(joined)
    return {"+".join(building.rooms[i].name for i in sorted(g)): sorted(g) for g in groups}


def _room_budget(report: BuildingReport, building: Building) -> dict[str, float]:
    """Per room group, what is left at the end of the horizon of U, rack power, feed and cooling."""
    budget = {}
    for name, rooms in _room_groups(building).items():
        u = kw = feed = cooling = 0.0
        for r in rooms:
            room = report.rooms[r]
            u += room.rack_units_total - float(room.rack_units_used[-1])
            kw += sum(row.racks * row.rack_kw for row in room.room.rows) - float(room.it_kw[-1])
            feed += sum(row.feed_kw - float(room.feed_load_kw[row.name][-1]) for row in room.room.rows)
            cooling += room.room.cooling_kw - float(room.it_kw[-1])
        budget[f"{name}|rack_units"] = max(u, 0.0)
        budget[f"{name}|power"] = max(min(kw, cooling), 0.0)
        budget[f"{name}|cooling"] = max(cooling, 0.0)
        budget[f"{name}|feed"] = max(feed, 0.0)
    return budget


def _solve(
    source: SourceOfTruth,
    prices: Prices,
    options: list[Option],
    problem: _Problem,
    building: Building | None,
    time_limit_s: float,
) -> list[tuple[Option, int, int]] | None:
    """The cheapest (option, order month, count) purchases meeting ``problem``; None when infeasible."""
    from ortools.sat.python import cp_model

    horizon = source.planning.horizon_months
    model = cp_model.CpModel()
    bought: list[tuple[Option, int, int, Any]] = []  # option, order month, delivery month, variable
    for o, option in enumerate(options):
        for order in order_windows(option, prices, horizon):
            deliver = max(order + option.lead, 0)
            var = model.new_int_var(0, 20_000, f"x{o}_{order}")
            bought.append((option, order, deliver, var))

    def covered(adds: dict[int, float], need: np.ndarray) -> None:
        """Σ over purchases delivered by month t of adds × count ≥ need[t], for every month t with a need."""
        for t in np.flatnonzero(need > 1e-9):
            terms = [
                (math.floor(adds[i]), var)
                for i, (_, _, deliver, var) in enumerate(bought)
                if deliver <= t and adds.get(i, 0) >= 1
            ]
            if not terms:
                model.add_bool_or([])  # nothing can cover it: infeasible
                return
            model.add(sum(c * v for c, v in terms) >= math.ceil(float(need[t])))

    for key, need in problem.lines.items():
        adds = {i: b[0].line_adds.get(key, 0.0) for i, b in enumerate(bought)}
        covered(adds, need)
    for (zone, klass), needs in problem.classes.items():
        for rc, need in needs.items():
            adds = {
                i: b[0].line_adds.get((rc, zone), 0.0)
                for i, b in enumerate(bought)
                if b[0].kind == "host" and b[0].klass == klass
            }
            covered(adds, need)
    if building is not None:
        groups = _room_groups(building)
        for name, rooms in groups.items():
            zones = {z for r in rooms for z in building.rooms[r].zones}
            mine = [b for b in bought if b[0].zone in zones]
            for limit, per_unit in (
                ("rack_units", lambda o: o.rack_units),
                ("power", lambda o: o.typical_kw),
                ("feed", lambda o: o.max_kw),
            ):
                # hundredths of a U / kW keep the coefficients whole
                terms = [(round(per_unit(b[0]) * 100), b[3]) for b in mine if per_unit(b[0]) > 0]
                if terms:
                    cap = math.floor(problem.room_budget[f"{name}|{limit}"] * 100)
                    model.add(sum(c * v for c, v in terms) <= cap)
    if prices.yearly_budget is not None:
        cap = int(magnitude_in(prices.yearly_budget, "CNY"))
        years: dict[int, list[Any]] = {}
        for option, order, _, var in bought:
            year = source.planning.month(max(order, 0)).year
            years.setdefault(year, []).append((round(option.price), var))
        for year in sorted(years):
            model.add(sum(c * v for c, v in years[year]) <= cap)
    # Objective: present value in CNY; among equals, the later delivery (fewer months of idle hardware).
    model.minimize(
        sum(
            (round(option.price * _discount(prices, order) * 100) * 1000 + (horizon - deliver)) * var
            for option, order, deliver, var in bought
        )
    )
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1  # deterministic: same input, same plan
    solver.parameters.max_deterministic_time = time_limit_s
    solver.parameters.random_seed = 0
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    return [(o, order, int(solver.value(v))) for o, order, _, v in bought if solver.value(v) > 0]


def apply_tranches(source: SourceOfTruth, tranches: list[Tranche]) -> SourceOfTruth:
    """``source`` with the tranches as planned expansions (what `--scenario-out` writes)."""
    cloud = source.cloud
    extra = [Expansion.model_validate(e) for e in expansions_of(source, tranches)]
    return source.model_copy(
        update={"cloud": cloud.model_copy(update={"expansions": [*cloud.expansions, *extra]})}
    )


def expansions_of(source: SourceOfTruth, tranches: list[Tranche]) -> list[dict[str, Any]]:
    """The tranches as scenario expansions: {month, aggregate, hosts} or {month, pool, raw}, with a note."""
    out: list[dict[str, Any]] = []
    for tranche in tranches:
        month = month_label(source.planning.month(tranche.deliver))
        note = f"plan: order by {month_label(source.planning.month(tranche.order_by))}"
        if tranche.option.kind == "host":
            out.append(
                {"month": month, "aggregate": tranche.option.target, "hosts": tranche.count, "note": note}
            )
        else:
            raw = tranche.count * tranche.option.raw_gb
            out.append({"month": month, "pool": tranche.option.target, "raw": f"{raw:.12g} GB", "note": note})
    return out


def _positions(report: BuildingReport | None, source: SourceOfTruth, tranche: Tranche) -> tuple[str, ...]:
    """The racks a tranche's units stand in, from the building's placement of the applied plan."""
    if report is None:
        return ()
    spots = {
        f"{p.room}/{p.row}/{p.rack:02d}"
        for p in report.positions
        if p.room is not None
        and p.rack is not None
        and p.equipment.month == tranche.deliver
        and p.equipment.name.startswith(f"{tranche.option.target}-")
    }
    return tuple(sorted(spots))


def make_plan(
    source: SourceOfTruth,
    prices: Prices,
    building: Building | None = None,
    confidence: float | None = None,
    draws: int = 10_000,
    seed: int = 0,
    max_rounds: int = 15,
    weigher: Weigher = Weigher.spread,
    time_limit_s: float = 20.0,
    max_trim_proofs: int = TRIM_MAX_PROOFS,
) -> Plan:
    """The least-cost staged purchase plan for ``source`` (module docstring), proven by check, fit and
    building."""
    planning = source.planning
    horizon = planning.horizon_months
    supply = build_supply(source)
    demand = demand_lines(source)
    if confidence is not None:
        from capacity.risk import demand_quantile

        drawn = demand_quantile(source, confidence, draws=draws, seed=seed)
        demand = {key: np.maximum(drawn.get(key, demand[key]), demand[key]) for key in demand}
    zero = np.zeros(horizon)
    target = 1.0 - planning.headroom_target
    lines = {
        key: np.maximum(demand.get(key, zero) / target - line.usable, 0.0)
        for key, line in supply.lines.items()
    }
    # Per class: the fit's VMs (scaled by the zone line's confidence factor when sized on the draws), times
    # the class's fragmentation factor, which the fit's cuts raise.
    nominal = demand_lines(source) if confidence is not None else demand
    vm_demand = class_demand(source)
    factor: dict[ClassKey, float] = {}

    def class_needs(group: ClassKey) -> dict[ResourceClass, np.ndarray]:
        zone = group[0]
        usable = supply.classes.get(group, {rc: zero for rc in source.cloud.resource_classes.host_classes})
        needs = {}
        for rc, need in vm_demand[group].items():
            line, drawn = nominal.get((rc, zone), zero), demand.get((rc, zone), zero)
            scale = np.divide(drawn, line, out=np.ones(horizon), where=line > 0)
            needs[rc] = np.maximum(need * scale * factor.get(group, 1.0) - usable[rc], 0.0)
        return needs

    classes = {group: class_needs(group) for group in vm_demand}
    base_building = None if building is None else assess_building(source, building)
    problem = _Problem(
        lines=lines,
        classes=classes,
        room_budget={}
        if building is None or base_building is None
        else _room_budget(base_building, building),
    )
    options = options_of(source, prices)
    failures: list[str] = ["no candidate"]
    tranches: list[Tranche] = []
    applied, checked, fit, report = source, assess(source), None, base_building
    rounds = 0
    blocked_by = None
    for number in range(1, max_rounds + 1):
        rounds = number
        solution = _solve(source, prices, options, problem, building, time_limit_s)
        if solution is None:
            blocked_by, why = _why_infeasible(source, prices, options, problem, building, time_limit_s)
            failures = [why]
            break
        tranches = [
            Tranche(order_by=order, deliver=max(order + option.lead, 0), option=option, count=count)
            for option, order, count in solution
        ]
        applied = apply_tranches(source, tranches)
        checked = assess(applied)
        fit = simulate(applied, weigher)
        report = None if building is None else assess_building(applied, building)
        failures = _line_cuts(checked, problem, target) if confidence is None else []
        failures += _fit_cuts(fit, vm_demand, factor, planning)
        for group in {g for g in factor if g in vm_demand}:
            problem.classes[group] = class_needs(group)
        if report is not None and building is not None:
            failures += _building_cuts(report, base_building, building, problem, planning)
        if not failures:
            break
    need = {key: demand.get(key, zero) / target for key in supply.lines}

    def trimmed_and_proven(
        start: list[Tranche],
    ) -> (
        tuple[list[Tranche], tuple[SourceOfTruth, Assessment, FitReport, BuildingReport | None], Trim] | None
    ):
        """``start`` trimmed, then the whole proof once more as the rounds ran it: the trimmed tranches with
        their (applied, check, fit, building report), or None when they fail it."""
        prover = _Prover(source, prices, need, building, base_building, weigher, max_trim_proofs)
        candidate = trim(start, prover, prices, horizon)
        trial = apply_tranches(source, candidate)
        trial_check, trial_fit = assess(trial), simulate(trial, weigher)
        trial_report = None if building is None else assess_building(trial, building)
        trial_failures = _line_cuts(trial_check, problem, target) if confidence is None else []
        trial_failures += _fit_cuts(trial_fit, vm_demand, dict(factor), planning)
        if trial_report is not None and building is not None:
            trial_failures += _building_cuts(trial_report, base_building, building, problem, planning)
        if trial_failures:
            return None
        cost_before = sum(t.cost for t in start)
        return (
            candidate,
            (trial, trial_check, trial_fit, trial_report),
            Trim(cost_before, prover.proofs, prover.exhausted),
        )

    trimmed = None
    if not failures and tranches:
        proven = trimmed_and_proven(tranches)
        if proven is not None:
            tranches, (applied, checked, fit, report), trimmed = proven
    naive = one_shot(source, prices, building, weigher)
    from_one_shot = False
    if (
        confidence is None
        and naive is not None
        and naive.proven
        and naive.tranches
        and (bool(failures) or sum(t.cost for t in tranches) > naive.cost)
    ):
        # A one-shot purchase the proofs pass is itself a plan, so the plan must not cost more; when the
        # rounds' cuts over-shot past it (or found no plan), the one-shot, trimmed, is the plan.
        proven = trimmed_and_proven(naive.tranches)
        if proven is not None:
            tranches, (applied, checked, fit, report), trimmed = proven
            failures, blocked_by, from_one_shot = [], None, True
    if fit is None:
        fit = simulate(applied, weigher)
    tranches = sorted(
        (Tranche(t.order_by, t.deliver, t.option, t.count, _positions(report, source, t)) for t in tranches),
        key=lambda t: (t.order_by, t.option.zone, t.option.kind, t.option.target),
    )
    return Plan(
        source=source,
        applied=applied,
        prices=prices,
        tranches=tranches,
        naive=naive,
        from_one_shot=from_one_shot,
        confidence=confidence,
        rounds=rounds,
        assessment=checked,
        fit=fit,
        building=report,
        failures=failures,
        blocked_by=blocked_by,
        trim=trimmed,
    )


@dataclass(frozen=True)
class Trim:
    """What the trim pass did: the cost before it, how many proofs it spent, whether it hit the cap."""

    cost_before: float
    proofs: int
    capped: bool


class _Prover:
    """The proof of a candidate set of tranches, as the solve's rounds use it, made cheap enough to run once
    per trim step: every line keeps the target on ``need`` (the demand the plan was sized on ÷ (1 − target)),
    no building limit is crossed that the base had not crossed, the yearly budget cap holds, and — when a
    host tranche changed — every VM of that (zone, class) finds a host, month by month, in the same Fleet
    (same N+k hold-out, same weigher) as capacity.fit.simulate. Classes do not share hosts, so the fit of the
    other classes cannot change."""

    def __init__(
        self,
        source: SourceOfTruth,
        prices: Prices,
        need: dict[LineKey, np.ndarray],
        building: Building | None,
        base_building: BuildingReport | None,
        weigher: Weigher,
        max_proofs: int,
    ) -> None:
        self.source, self.prices, self.need = source, prices, need
        self.building, self.base_building, self.weigher = building, base_building, weigher
        self.vms = vm_counts(source)
        self.proofs, self.max_proofs = 0, max_proofs

    @property
    def exhausted(self) -> bool:
        return self.proofs >= self.max_proofs

    def holds(self, tranches: list[Tranche], changed: Tranche) -> bool:
        self.proofs += 1
        applied = apply_tranches(self.source, tranches)
        usable = build_supply(applied).lines
        for key, need in self.need.items():
            if (need > usable[key].usable + 1e-6).any():
                return False
        if not self._within_budget(tranches):
            return False
        if self.building is not None:
            report = assess_building(applied, self.building)
            for r, room in enumerate(report.rooms):
                for limit, month in room.first_exhausted.items():
                    base = None if self.base_building is None else self.base_building.rooms[r]
                    if month is not None and (base is None or base.first_exhausted.get(limit) is None):
                        return False
        option = changed.option
        return option.kind != "host" or self._places_every_vm(applied, (option.zone, option.klass or ""))

    def _within_budget(self, tranches: list[Tranche]) -> bool:
        if self.prices.yearly_budget is None:
            return True
        cap = magnitude_in(self.prices.yearly_budget, "CNY")
        years: dict[int, float] = {}
        for t in tranches:
            year = self.source.planning.month(max(t.order_by, 0)).year
            years[year] = years.get(year, 0.0) + t.cost
        return all(spent <= cap + 1e-6 for spent in years.values())

    def _places_every_vm(self, applied: SourceOfTruth, group: ClassKey) -> bool:
        return places_every_vm(applied, self.vms, group, self.weigher)


def trim(tranches: list[Tranche], prover: _Prover, prices: Prices, horizon: int) -> list[Tranche]:
    """Take out what a proven plan does not need: tranche by tranche, largest cost first, the fewest units
    that still pass the proof (one unit less; if that holds, twice as many less, then halving the gap); then
    each tranche, again largest cost first, ordered one tender window later while the proof holds and it
    still delivers within the horizon. Only changes that pass the proof are kept, so the result is as proven
    as the input; at most ``prover.max_proofs`` proofs."""
    plan = list(tranches)

    def by_cost(items: list[Tranche]) -> list[Tranche]:
        return sorted(items, key=lambda t: (-t.cost, t.order_by, t.option.zone, t.option.target))

    def replace(old: Tranche, new: Tranche | None) -> list[Tranche]:
        i = plan.index(old)
        return plan[:i] + ([] if new is None else [new]) + plan[i + 1 :]

    for tranche in by_cost(plan):
        # the fewest units: ``ok`` a count known to hold, ``bad`` one known to fail
        current: Tranche | None = tranche
        ok, bad, step = tranche.count, None, 1
        while ok > 0 and current is not None and not prover.exhausted:
            if bad is not None and ok - bad <= 1:
                break
            lower = max(ok - step, 0) if bad is None else (ok + bad) // 2
            fewer = None if lower == 0 else Tranche(tranche.order_by, tranche.deliver, tranche.option, lower)
            candidate = replace(current, fewer)
            if prover.holds(candidate, tranche):
                plan, ok, current, step = candidate, lower, fewer, step * 2
            else:
                bad = lower
    for tranche in by_cost(plan):
        current = tranche
        while not prover.exhausted:
            later = current.order_by + prices.order_window_months
            if current.order_by < 0:  # an overdue order moves to the first window
                later = 0
            if later + current.option.lead >= horizon:
                break
            moved = Tranche(later, later + current.option.lead, current.option, current.count)
            candidate = replace(current, moved)
            if not prover.holds(candidate, moved):
                break
            plan, current = candidate, moved
    return _merged(plan)


def _merged(tranches: list[Tranche]) -> list[Tranche]:
    """One tranche per option and order month."""
    merged: dict[tuple[str, str, str, int], Tranche] = {}
    for t in tranches:
        key = (t.option.kind, t.option.target, t.option.model, t.order_by)
        was = merged.get(key)
        merged[key] = t if was is None else Tranche(t.order_by, t.deliver, t.option, was.count + t.count)
    return list(merged.values())


def _line_cuts(checked: Assessment, problem: _Problem, target: float) -> list[str]:
    """A line still below target (a purchase changed an HA reserve) must rise by its deficit."""
    failures = []
    for line in checked.lines:
        if line.first_below_target is None:
            continue
        month = month_label(checked.planning.month(line.first_below_target))
        failures.append(f"{line.resource} {line.az}: below target from {month}")
        key = (line.resource, line.az)
        problem.lines[key] = problem.lines[key] + np.maximum(line.demand / target - line.usable, 0.0)
    return failures


def _fit_cuts(
    fit: FitReport,
    vm_demand: dict[ClassKey, dict[ResourceClass, np.ndarray]],
    factor: dict[ClassKey, float],
    planning: Planning,
) -> list[str]:
    """Raise the factor of every class whose VMs did not all find a host (module docstring)."""
    worst: dict[ClassKey, float] = {}
    first: dict[ClassKey, int] = {}
    for m, month in enumerate(fit.months):
        for group, missing in month.missing.items():
            first.setdefault(group, m)
            for row, rc in enumerate(fit.resources):
                asked = float(vm_demand[group][rc][m]) if group in vm_demand else 0.0
                if missing[row] > 0 and asked > 0:
                    worst[group] = max(worst.get(group, 0.0), missing[row] * CUT_MARGIN / asked)
    for group, share in worst.items():
        factor[group] = factor.get(group, 1.0) * (1.0 + share) + 0.02
    return [
        f"{zone} {klass}: VMs without a host from {month_label(planning.month(m))}"
        for (zone, klass), m in sorted(first.items())
    ]


def _building_cuts(
    report: BuildingReport,
    base: BuildingReport | None,
    building: Building,
    problem: _Problem,
    planning: Planning,
) -> list[str]:
    """A room group over a limit the base did not already cross gets 10 % less of that limit."""
    failures = []
    for name, rooms in _room_groups(building).items():
        for r in rooms:
            for limit, month in report.rooms[r].first_exhausted.items():
                if month is None or (
                    base is not None and base.rooms[r].first_exhausted.get(limit) is not None
                ):
                    continue
                when = month_label(planning.month(month))
                failures.append(f"room {report.rooms[r].room.name}: {limit} crossed in {when}")
                key = f"{name}|{'power' if limit == 'cooling' else limit}"
                problem.room_budget[key] = problem.room_budget.get(key, 0.0) * 0.9
    return failures


def _why_infeasible(
    source: SourceOfTruth,
    prices: Prices,
    options: list[Option],
    problem: _Problem,
    building: Building | None,
    time_limit_s: float,
) -> tuple[str, str]:
    """Which constraint makes the requirements unreachable: the yearly budget cap, the building, or neither
    (then the priced models cannot cover a line or class at all, e.g. one without a priced model): its kind
    ("budget", "building", "prices") and the sentence."""
    if prices.yearly_budget is not None:
        uncapped = prices.model_copy(update={"yearly_budget": None})
        if _solve(source, uncapped, options, problem, building, time_limit_s) is not None:
            cap = f"{prices.yearly_budget:~}"
            return "budget", f"the yearly budget cap ({cap}) is too small for the requirements"
    if building is not None and _solve(source, prices, options, problem, None, time_limit_s) is not None:
        return "building", (
            "the building's free rack units, power, feeds or cooling cannot take the purchases needed"
        )
    return "prices", (
        "no priced model or pool can cover every requirement (a line or class without a priced option?)"
    )


def _first(mask: np.ndarray) -> int | None:
    hits = np.flatnonzero(mask)
    return int(hits[0]) if hits.size else None


def unplaced_months(
    applied: SourceOfTruth,
    vms: list[SystemVms],
    weigher: Weigher,
    groups: set[ClassKey] | None = None,
    first_only: bool = False,
) -> dict[ClassKey, list[int]]:
    """Per (zone, aggregate class) of ``groups`` (None: all), the months in which some of its VMs find no
    host in ``applied`` — placed as capacity.fit.simulate places them (same Fleet, N+k hold-out, weigher;
    VMs without a host are asked for again the next month) but without its per-month snapshots. Classes do
    not share hosts, so the other classes need not be placed. ``first_only``: stop at the first such month."""
    planning = applied.planning
    ha_reserve = {az.name: az.ha_reserve_hosts for az in applied.cloud.availability_zones}
    hosts = hosts_from_cloud(applied.cloud, planning.start_month)
    fleet = Fleet(hosts, None, ha_reserve, cloud_resources(applied.cloud))  # the rows of the VMs' requests
    mine = [v for v in vms if groups is None or v.group in groups]
    placed: list[list[int]] = [[] for _ in mine]
    months: dict[ClassKey, list[int]] = {}
    for m in range(planning.horizon_months):
        fleet.open_month(m)
        for stack, system_vms in zip(placed, mine, strict=True):
            target = int(system_vms.counts[m])
            while len(stack) > target:
                fleet.release(stack.pop(), system_vms.request)
            while len(stack) < target:
                pick = fleet.schedule(system_vms.group, system_vms.request, weigher)
                if pick is None:
                    failed = months.setdefault(system_vms.group, [])
                    if not failed or failed[-1] != m:
                        failed.append(m)
                    if first_only:
                        return months
                    break
                stack.append(pick)
    return months


def places_every_vm(applied: SourceOfTruth, vms: list[SystemVms], group: ClassKey, weigher: Weigher) -> bool:
    """Whether every VM of ``group`` (zone, aggregate class) finds a host in every month of ``applied``."""
    return not unplaced_months(applied, vms, weigher, {group}, first_only=True)


#: The largest count the one-shot grows one option to while looking for what the fit proves (the solver's
#: own bound on a count).
ONE_SHOT_MAX_UNITS = 20_000


@dataclass(frozen=True)
class OneShot:
    """The naive baseline: the check's sum-based purchase made class-aware and bought in one go.

    Per (zone, aggregate class): hosts of the class's own priced model (the cheapest way, then the fewest)
    that keep the class's VMs (Σ VMs × flavor size) at the headroom target; then per resource line still
    below target the cheapest unit lifting it (disks for storage). Everything is ordered in one tender window:
    the last whose deliveries (at the longest lead time of the list) arrive by the first month anything is
    needed (a line or class below target, or a VM without a host in the fit of today's cloud), or overdue.
    ``sums`` is that purchase; where the fit still leaves VMs of a class without a host, that class's tranche
    (or, when the sums bought none, its cheapest model) is grown to the fewest hosts the fit proves
    (bisection: that more hosts never place fewer VMs under the same weigher is assumed, not proven) —
    ``tranches``, priced as ``naive_cost``."""

    sums: list[Tranche]
    tranches: list[Tranche]
    #: months in which the fit leaves VMs without a host with ``sums`` bought
    unplaced_months: int
    #: what ``tranches`` still fails: a line, a class the fit cannot prove, a building limit, the budget cap
    failures: list[str]

    @property
    def sums_cost(self) -> float:
        return sum(t.cost for t in self.sums)

    @property
    def cost(self) -> float:
        return sum(t.cost for t in self.tranches)

    @property
    def feasible(self) -> bool:
        """Whether the sum-based one-shot places every VM in the fit."""
        return self.unplaced_months == 0

    @property
    def proven(self) -> bool:
        """Whether the grown one-shot is itself a plan: every proof of make_plan passes."""
        return not self.failures


def one_shot(
    source: SourceOfTruth,
    prices: Prices,
    building: Building | None = None,
    weigher: Weigher = Weigher.spread,
) -> OneShot | None:
    """The class-aware one-shot purchase (OneShot), or None when something it must buy has no price."""
    planning = source.planning
    target = 1.0 - planning.headroom_target
    options = options_of(source, prices)
    supply = build_supply(source)
    demand = demand_lines(source)
    zero = np.zeros(planning.horizon_months)
    counts: dict[int, int] = {}  # option index → units

    def cheapest(candidates: list[int], need: dict[LineKey, np.ndarray]) -> tuple[int, int] | None:
        """(option index, units) lifting every ``need`` at the least cost, then with the fewest units."""
        best: tuple[int, float, int] | None = None
        for o in candidates:
            adds = options[o].line_adds
            if any(adds.get(key, 0.0) <= 0 for key, n in need.items() if n.max() > 1e-9):
                continue
            units = max(
                (math.ceil(float(n.max()) / adds[key] - 1e-9) for key, n in need.items() if n.max() > 1e-9),
                default=0,
            )
            if best is None or (units * options[o].price, units) < best[1:]:
                best = (o, units * options[o].price, units)
        return None if best is None else (best[0], best[2])

    first_need = planning.horizon_months
    vm_demand = class_demand(source)
    for (zone, klass), by_resource in sorted(vm_demand.items()):
        usable = supply.classes.get((zone, klass), {})
        need = {(rc, zone): by_resource[rc] / target - usable.get(rc, zero) for rc in by_resource}
        if max(float(n.max()) for n in need.values()) <= 1e-9:
            continue
        first_need = min(first_need, *(m for n in need.values() if (m := _first(n > 1e-9)) is not None))
        mine = [
            o
            for o, opt in enumerate(options)
            if opt.kind == "host" and (opt.zone, opt.klass) == (zone, klass)
        ]
        pick = cheapest(mine, need)
        if pick is None:
            return None
        counts[pick[0]] = counts.get(pick[0], 0) + pick[1]
    for key, line in supply.lines.items():
        first = _first(demand.get(key, zero) / target - line.usable > 1e-9)
        if first is not None:
            first_need = min(first_need, first)
    for _ in range(len(supply.lines) + 1):  # each pass closes at least one line, or stops
        bought = _one_go(source, options, counts, 0, prices)
        after = build_supply(apply_tranches(source, bought)).lines
        short = {
            key: demand.get(key, zero) / target - line.usable
            for key, line in after.items()
            if (demand.get(key, zero) / target - line.usable).max() > 1e-9
        }
        if not short:
            break
        line_key, line_need = next(iter(short.items()))
        lifting = [o for o, opt in enumerate(options) if opt.line_adds.get(line_key, 0) > 0]
        pick = cheapest(lifting, {line_key: line_need})
        if pick is None:
            return None
        counts[pick[0]] = counts.get(pick[0], 0) + pick[1]
    vms = vm_counts(source)
    for failed in unplaced_months(source, vms, weigher, first_only=True).values():
        first_need = min(first_need, failed[0])
    lead = max((option.lead for option in options), default=0)
    windows = [
        w for w in range(0, planning.horizon_months, prices.order_window_months) if w + lead <= first_need
    ]
    order = windows[-1] if windows else None
    sums = _one_go(source, options, counts, order, prices)
    unplaced = unplaced_months(apply_tranches(source, sums), vms, weigher)
    failures: list[str] = []
    for group in sorted(unplaced):
        mine = [o for o, opt in enumerate(options) if opt.kind == "host" and (opt.zone, opt.klass) == group]
        if not mine:
            failures.append(f"{group[0]} {group[1]}: VMs without a host and no priced model to grow")
            continue
        o = min(mine, key=lambda i: (counts.get(i, 0) == 0, options[i].price))  # grow what was bought
        ok, bad = None, counts.get(o, 0)

        def proves(units: int, o: int = o, group: ClassKey = group) -> bool:
            trial = _one_go(source, options, {**counts, o: units}, order, prices)
            return places_every_vm(apply_tranches(source, trial), vms, group, weigher)

        step = max(1, bad // 8)
        while ok is None:
            if bad + step > ONE_SHOT_MAX_UNITS:
                break
            if proves(bad + step):
                ok = bad + step
            else:
                bad, step = bad + step, step * 2
        if ok is None:
            failures.append(f"{group[0]} {group[1]}: VMs without a host even with {ONE_SHOT_MAX_UNITS} hosts")
            continue
        while ok - bad > 1:
            mid = (ok + bad) // 2
            ok, bad = (mid, bad) if proves(mid) else (ok, mid)
        counts[o] = ok
    grown = _one_go(source, options, counts, order, prices)
    failures += _plan_failures(source, grown, prices, building, vms, weigher)
    months = len({m for failed in unplaced.values() for m in failed})
    return OneShot(sums=sums, tranches=grown, unplaced_months=months, failures=failures)


def _one_go(
    source: SourceOfTruth, options: list[Option], counts: dict[int, int], order: int | None, prices: Prices
) -> list[Tranche]:
    """``counts`` as tranches ordered together in window ``order`` (None: overdue, delivered in month 0)."""
    tranches = []
    for o, units in sorted(counts.items()):
        if units <= 0:
            continue
        option = options[o]
        when = -option.lead if order is None else order
        tranches.append(Tranche(when, max(when + option.lead, 0), option, units))
    return tranches


def _plan_failures(
    source: SourceOfTruth,
    tranches: list[Tranche],
    prices: Prices,
    building: Building | None,
    vms: list[SystemVms],
    weigher: Weigher,
) -> list[str]:
    """What keeps ``tranches`` from being a plan make_plan could return: a line below target, a month with
    VMs without a host, a building limit crossed that today's cloud does not cross, the yearly budget cap."""
    applied = apply_tranches(source, tranches)
    failures = [
        f"{line.resource} {line.az}: below target"
        for line in assess(applied).lines
        if line.first_below_target is not None
    ]
    for (zone, klass), months in sorted(unplaced_months(applied, vms, weigher).items()):
        failures.append(
            f"{zone} {klass}: VMs without a host from {month_label(source.planning.month(months[0]))}"
        )
    if building is not None:
        base, report = assess_building(source, building), assess_building(applied, building)
        for r, room in enumerate(report.rooms):
            for limit, month in room.first_exhausted.items():
                if month is not None and base.rooms[r].first_exhausted.get(limit) is None:
                    failures.append(f"room {room.room.name}: {limit} crossed")
    if prices.yearly_budget is not None:
        cap = magnitude_in(prices.yearly_budget, "CNY")
        years: dict[int, float] = {}
        for t in tranches:
            year = source.planning.month(max(t.order_by, 0)).year
            years[year] = years.get(year, 0.0) + t.cost
        over = sorted(year for year, spent in years.items() if spent > cap + 1e-6)
        if over:
            failures.append(f"over the yearly budget cap in {over[0]}")
    return failures
