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
under-buy, and the naive one-shot purchase of the check (sized on the sums, of the model that lifts the
lines with the fewest hosts) may be cheaper and still leave VMs without a host.

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
from capacity.fit import FitReport, Fleet, Weigher, cloud_resources, hosts_from_cloud, simulate, vm_counts
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
TRIM_MAX_PROOFS = 120


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
    naive_cost: float | None  # the check's one-shot purchase, priced from the same list
    confidence: float | None
    rounds: int
    assessment: Assessment  # the check of the applied plan
    fit: FitReport  # the fit of the applied plan: the proof
    building: BuildingReport | None
    failures: list[str] = field(default_factory=list)
    #: months in which the fit leaves VMs without a host with the naive purchase bought instead (None: no
    #: naive purchase to test)
    naive_unplaced_months: int | None = None
    #: why no plan could be solved at all: "budget", "building" or "prices" (None: a candidate was solved)
    blocked_by: str | None = None
    #: the trim pass after the first proven plan (None: no proven plan to trim, or the trimmed plan failed the
    #: whole proof and the untrimmed one was kept)
    trim: Trim | None = None

    @property
    def total_cost(self) -> float:
        return sum(t.cost for t in self.tranches)

    @property
    def present_value(self) -> float:
        return sum(t.cost * _discount(self.prices, t.order_by) for t in self.tranches)

    @property
    def proven(self) -> bool:
        return not self.failures

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


def naive_cost(source: SourceOfTruth, prices: Prices, assessment: Assessment | None = None) -> float | None:
    """The check's one-shot, sum-based purchase priced from the list; None when a unit has no price."""
    assessment = assessment or assess(source)
    total = 0.0
    for zone in assessment.zones:
        for purchase in zone.purchases:
            if purchase.unit.kind == "host":
                _, agg = source.cloud.aggregate(purchase.unit.name)
                price = prices.hosts.get(agg.host_model)
            else:
                price = prices.disks.get(purchase.unit.name)
            if price is None:
                return None
            total += purchase.count * price.cny
    return total


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
    trimmed = None
    if not failures and tranches:
        need = {key: demand.get(key, zero) / target for key in supply.lines}
        prover = _Prover(source, prices, need, building, base_building, weigher, max_trim_proofs)
        cost_before = sum(t.cost for t in tranches)
        candidate = trim(tranches, prover, prices, horizon)
        # the whole proof once more, as the rounds ran it: the trimmed plan is kept only if it passes
        trial = apply_tranches(source, candidate)
        trial_check, trial_fit = assess(trial), simulate(trial, weigher)
        trial_report = None if building is None else assess_building(trial, building)
        trial_failures = _line_cuts(trial_check, problem, target) if confidence is None else []
        trial_failures += _fit_cuts(trial_fit, vm_demand, dict(factor), planning)
        if trial_report is not None and building is not None:
            trial_failures += _building_cuts(trial_report, base_building, building, problem, planning)
        if not trial_failures:
            tranches, applied, checked, fit, report = candidate, trial, trial_check, trial_fit, trial_report
            trimmed = Trim(cost_before, prover.proofs, prover.exhausted)
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
        naive_cost=naive_cost(source, prices),
        naive_unplaced_months=naive_unplaced_months(source, weigher),
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
        planning = applied.planning
        ha_reserve = {az.name: az.ha_reserve_hosts for az in applied.cloud.availability_zones}
        fleet = Fleet(hosts_from_cloud(applied.cloud, planning.start_month), None, ha_reserve)
        mine = [vms for vms in self.vms if vms.group == group]
        placed: list[list[int]] = [[] for _ in mine]
        for m in range(planning.horizon_months):
            fleet.open_month(m)
            for stack, vms in zip(placed, mine, strict=True):
                target = int(vms.counts[m])
                while len(stack) > target:
                    fleet.release(stack.pop(), vms.request)
                while len(stack) < target:
                    pick = fleet.schedule(vms.group, vms.request, self.weigher)
                    if pick is None:
                        return False
                    stack.append(pick)
        return True


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


def naive_unplaced_months(source: SourceOfTruth, weigher: Weigher = Weigher.spread) -> int | None:
    """The check's one-shot purchase bought as it says (in service from each zone's first month below
    target), put through the fit: how many months leave VMs without a host. None when it buys nothing."""
    assessment = assess(source)
    extra = []
    for zone in assessment.zones:
        if zone.order_by is None or not zone.purchases:
            continue
        month = month_label(source.planning.month(max(zone.order_by + source.planning.lead_time_months, 0)))
        for purchase in zone.purchases:
            if purchase.unit.kind == "host":
                extra.append({"month": month, "aggregate": purchase.unit.name, "hosts": purchase.count})
            else:
                pool = next(p for p in source.cloud.storage_pools if p.name == purchase.unit.name)
                raw = purchase.count * magnitude_in(pool.disk_unit, "GB")
                extra.append({"month": month, "pool": pool.name, "raw": f"{raw:.12g} GB"})
    if not extra:
        return None
    expansions = [*source.cloud.expansions, *(Expansion.model_validate(e) for e in extra)]
    bought = source.model_copy(update={"cloud": source.cloud.model_copy(update={"expansions": expansions})})
    return sum(any(m.vms_unplaced.values()) for m in simulate(bought, weigher).months)
