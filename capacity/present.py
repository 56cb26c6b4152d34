"""Presenting an assessment: the JSON document, the rich table, the monthly CSV rows. No arithmetic here
beyond unit display; every figure comes from capacity.headroom."""

from __future__ import annotations

import csv
import io
import math
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from capacity.headroom import Assessment, LineHeadroom, ZoneVerdict
from capacity.scenario import ScenarioRun, month_shift
from egov.i18n import language, resource_name, translations
from egov.model import Planning, SourceOfTruth
from egov.months import month_label
from egov.units import Q_, human, magnitude_in

if TYPE_CHECKING:
    from capacity.fit import FitReport
    from capacity.risk import RiskResult


#: Where the check points for what to buy, when and where: the procurement plan.
PLAN_COMMAND = "egov capacity plan"


def month_text(assessment: Assessment, index: int | None) -> str | None:
    """'YYYY-MM' of a month index (None stays None); indexes before the start are real past months."""
    return None if index is None else month_label(assessment.planning.month(index))


def percent_or_none(value: float) -> float | None:
    """A percentage rounded for output; None when there is no usable capacity to take a share of (JSON has no
    infinity)."""
    return round(value, 2) if math.isfinite(value) else None


def amount(line: LineHeadroom, value: float) -> str:
    """A line's figure with its unit, in a readable magnitude."""
    return human(Q_(value, line.unit)) if line.unit != "vcpu" else f"{round(value)} vcpu"


def zone_first_month(zone: ZoneVerdict, fit: FitReport | None) -> tuple[int | None, str | None]:
    """A zone's one date: the earlier of its first month below target (the sums) and its first month with a
    VM without a host (the fit), with the flavor that finds no host when the fit comes first (else None)."""
    unplaced = [] if fit is None else [u for u in fit.unplaced if u.az == zone.az]
    first = min(unplaced, key=lambda u: u.month, default=None)
    if first is not None and (zone.first_below_target is None or first.month < zone.first_below_target):
        return first.month, first.flavor
    return zone.first_below_target, None


def assessment_json(
    source: SourceOfTruth, assessment: Assessment, scenario: str | None = None, fit: FitReport | None = None
) -> dict[str, Any]:
    """The machine-readable check: one JSON object (see docs/planners.md for the fields)."""
    planning = assessment.planning
    firsts = {zone.az: zone_first_month(zone, fit) for zone in assessment.zones}
    return {
        "region": source.cloud.region,
        "scenario": scenario,
        "start_month": month_label(planning.start_month),
        "end_month": month_label(planning.end_month),
        "horizon_months": planning.horizon_months,
        "headroom_target_percent": round(planning.headroom_target * 100, 3),
        "lead_time_months": planning.lead_time_months,
        "physical": source.physical_summary(),
        "carries_horizon": assessment.carries_horizon,
        "keeps_target": assessment.keeps_target,
        "warnings": list(source.warnings),  # what loading ignored or guessed: never a silent partial answer
        "resources": [
            {
                "resource": line.resource,
                "az": line.az,
                "unit": line.unit,
                "usable": round(float(line.usable[0]), 3),
                "usable_end": round(float(line.usable[-1]), 3),
                "demand_start": round(float(line.demand[0]), 3),
                "demand_end": round(float(line.demand[-1]), 3),
                "min_percent_free": percent_or_none(line.min_percent_free),
                "first_below_target": month_text(assessment, line.first_below_target),
                "first_shortfall": month_text(assessment, line.first_shortfall),
                "order_by": month_text(assessment, line.order_by),
            }
            for line in assessment.lines
        ],
        # What to buy, when and where is the plan's alone (one order-by per tranche): a zone states its facts.
        "zones": [
            {
                "az": zone.az,
                "binding_resource": zone.binding,
                "first_below_target": month_text(assessment, zone.first_below_target),
                # the zone's one date (with the fit): the earlier of the sums' and the fit's, and what binds
                "first_month": month_text(assessment, firsts[zone.az][0]),
                "binds": None
                if firsts[zone.az][0] is None
                else ("fit" if firsts[zone.az][1] is not None else "headroom"),
                "binding_flavor": firsts[zone.az][1],
                "what_to_buy": PLAN_COMMAND if firsts[zone.az][0] is not None else None,
            }
            for zone in assessment.zones
        ],
    }


def monthly_rows(assessment: Assessment) -> list[list[str]]:
    """One row per line and month: month, resource, az, unit, usable, demand, free, percent_free."""
    rows = [["month", "resource", "az", "unit", "usable", "demand", "free", "percent_free"]]
    for line in assessment.lines:
        pct = line.percent_free
        for i in range(assessment.planning.horizon_months):
            rows.append(
                [
                    month_label(assessment.planning.month(i)),
                    line.resource,
                    line.az,
                    line.unit,
                    f"{line.usable[i]:.3f}",
                    f"{line.demand[i]:.3f}",
                    f"{line.free[i]:.3f}",
                    f"{pct[i]:.2f}",
                ]
            )
    return rows


def monthly_csv(assessment: Assessment) -> str:
    """The monthly rows as CSV text ('\n' line ends, so the bytes do not depend on the platform)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(monthly_rows(assessment))
    return buffer.getvalue()


def _flag(assessment: Assessment, index: int | None, style: str, lang: str | None = None) -> str:
    text = month_text(assessment, index)
    if text is None:
        return "[green]—[/]"
    if index is not None and index < 0:
        overdue = translations(language(lang)).gettext("overdue")
        return f"[bold red]{text} ({overdue})[/]"
    return f"[{style}]{text}[/]"


def cores_text(source: SourceOfTruth, lang: str | None = None) -> str:
    """The cloud's physical cores as a count with its word ("15000 核" / "15000 cores"), not pint's symbol."""
    _ = translations(language(lang)).gettext
    return _("%(count)s cores") % {
        "count": f"{magnitude_in(source.cloud.physical_totals()['cores'], 'core'):g}"
    }


def render_table(
    source: SourceOfTruth,
    assessment: Assessment,
    console: Console,
    scenario: str | None = None,
    lang: str | None = None,
    fit: FitReport | None = None,
) -> None:
    """The planners' view, in ``lang``: one row per resource and zone, then per zone that falls below the
    target or (with ``fit``) leaves VMs without a host its one date — the earlier of both — and what binds,
    and where to find what to buy (the plan)."""
    _ = translations(language(lang)).gettext
    planning = assessment.planning
    physical = source.physical_summary()
    target = f"{planning.headroom_target:.0%}"
    values = {
        "region": source.cloud.region,
        "cores": cores_text(source, lang),
        "ram": physical["ram"],
        "storage": physical["storage_raw"],
        "systems": len(source.systems),
        "departments": len(source.departments),
        "start": month_label(planning.start_month),
        "end": month_label(planning.end_month),
        "months": planning.horizon_months,
        "target": target,
        "lead": planning.lead_time_months,
    }
    title = f"[bold]{source.cloud.region}[/]"
    if scenario:
        title += " " + _("(scenario %(name)s)") % {"name": scenario}
    console.print(
        title
        + _(
            ": %(cores)s, %(ram)s RAM, %(storage)s raw; %(systems)s systems of %(departments)s departments; "
            "%(start)s → %(end)s (%(months)s months), keep %(target)s free, lead time %(lead)s months"
        )
        % values
    )
    table = Table(title=_("Five-year headroom by resource and availability zone"), show_lines=False)
    for heading, right in (
        (_("resource"), False),
        (_("zone"), False),
        (_("usable (start → end)"), True),
        (_("demand (start → end)"), True),
        (_("min free"), True),
        (_("below %(target)s") % {"target": target}, False),
        (_("shortfall"), False),
    ):
        table.add_column(heading, justify="right" if right else "left")
    for line in assessment.lines:
        low = line.min_percent_free
        free_style = "red" if low < 0 else "yellow" if low < planning.headroom_target * 100 else "green"
        table.add_row(
            resource_name(line.resource, lang, placement=True),
            line.az,
            f"{amount(line, line.usable[0])} → {amount(line, line.usable[-1])}",
            f"{amount(line, line.demand[0])} → {amount(line, line.demand[-1])}",
            f"[{free_style}]{low:.1f} %[/]",
            _flag(assessment, line.first_below_target, "yellow", lang),
            _flag(assessment, line.first_shortfall, "red", lang),
        )
    console.print(table)
    firsts = [(zone, *zone_first_month(zone, fit)) for zone in assessment.zones]
    if all(month is None for _zone, month, _flavor in firsts):
        console.print(
            "[green]"
            + _("The cloud keeps %(target)s free in every zone for all %(months)s months: nothing to order.")
            % values
            + "[/]"
        )
        return
    if assessment.keeps_target:
        console.print("[yellow]" + _("Headroom keeps the target, but VMs find no host in the fit.") + "[/]")
    elif assessment.carries_horizon:
        console.print("[yellow]" + _("Supply covers demand, but headroom falls below the target.") + "[/]")
    else:
        console.print("[bold red]" + _("Supply does not cover demand for the whole horizon.") + "[/]")
    for zone, month, flavor in firsts:
        if month is None:
            continue
        if flavor is not None:
            text = _("%(zone)s: binding the fit; %(flavor)s VMs find no host from %(month)s")
        else:
            text = _("%(zone)s: binding %(resource)s; below the %(target)s target from %(month)s")
        console.print(
            "  "
            + text
            % {
                "zone": zone.az,
                "flavor": flavor,
                "resource": resource_name(zone.binding, lang, placement=True),
                "target": f"{planning.headroom_target:.0%}",
                "month": _flag(assessment, month, "yellow", lang),
            }
        )
    console.print(
        _(
            "What to buy, when and where — one order-by per tranche, at the least cost, proven by the fit "
            "and the building: %(command)s"
        )
        % {"command": f"[bold]{PLAN_COMMAND}[/]"}
    )


def _month_or_none(planning: Planning, index: int | None) -> str | None:
    return None if index is None else month_label(planning.month(index))


def comparison_json(runs: list[ScenarioRun]) -> dict[str, Any]:
    """Base and scenarios side by side, per (resource, zone) line: the months and the lowest free share."""
    base = runs[0].assessment
    return {
        "runs": [
            {
                "name": run.name,
                "description": run.description,
                "file": None if run.path is None else str(run.path),
                "headroom_target_percent": round(run.assessment.planning.headroom_target * 100, 3),
                "lead_time_months": run.assessment.planning.lead_time_months,
                "carries_horizon": run.assessment.carries_horizon,
                "keeps_target": run.assessment.keeps_target,
            }
            for run in runs
        ],
        "lines": [
            {
                "resource": line.resource,
                "az": line.az,
                "unit": line.unit,
                "runs": [_compared_line(run, line) for run in runs],
            }
            for line in base.lines
        ],
    }


def _compared_line(run: ScenarioRun, base_line: LineHeadroom) -> dict[str, Any]:
    line = run.assessment.line(base_line.resource, base_line.az)
    planning = run.assessment.planning
    return {
        "name": run.name,
        "first_below_target": _month_or_none(planning, line.first_below_target),
        "first_shortfall": _month_or_none(planning, line.first_shortfall),
        "order_by": _month_or_none(planning, line.order_by),
        "min_percent_free": percent_or_none(line.min_percent_free),
        "shortfall_shift_months": month_shift(base_line.first_shortfall, line.first_shortfall),
    }


def render_comparison(runs: list[ScenarioRun], console: Console) -> None:
    """One block per (resource, zone) line, one row per run: base first, then each scenario."""
    base = runs[0].assessment
    for run in runs[1:]:
        console.print(f"[bold]{run.name}[/]: {run.description or '(no description)'}  [dim]{run.path}[/]")
    table = Table(title="Scenarios against the base", show_lines=False)
    for title in ("resource", "zone", "run", "below target", "shortfall", "vs base", "order by", "min free"):
        table.add_column(title, justify="right" if title in ("min free", "vs base") else "left")
    for index, base_line in enumerate(base.lines):
        for position, run in enumerate(runs):
            line = run.assessment.line(base_line.resource, base_line.az)
            shift = month_shift(base_line.first_shortfall, line.first_shortfall)
            moved = _moved(base_line.first_shortfall, line.first_shortfall, shift) if position else ""
            low = line.min_percent_free
            target = run.assessment.planning.headroom_target * 100
            free_style = "red" if low < 0 else "yellow" if low < target else "green"
            table.add_row(
                base_line.resource if position == 0 else "",
                base_line.az if position == 0 else "",
                run.name,
                _flag(run.assessment, line.first_below_target, "yellow", "en"),
                _flag(run.assessment, line.first_shortfall, "red", "en"),
                moved,
                _flag(run.assessment, line.order_by, "bold", "en"),
                f"[{free_style}]{low:.1f} %[/]",
                end_section=position == len(runs) - 1 and index < len(base.lines) - 1,
            )
    console.print(table)


def _moved(base: int | None, other: int | None, shift: int | None) -> str:
    """How a scenario moves the first shortfall against the base, in words."""
    if shift is not None:
        return f"{shift:+d} months" if shift else "same"
    if base is None and other is None:
        return ""
    return "no shortfall now" if other is None else "new shortfall"


def risk_json(source: SourceOfTruth, result: RiskResult, scenario: str | None = None) -> dict[str, Any]:
    """The Monte Carlo result: the model, per line the shortfall probability and P50/P90 months."""
    planning = result.planning
    return {
        "region": source.cloud.region,
        "scenario": scenario,
        "start_month": month_label(planning.start_month),
        "horizon_months": planning.horizon_months,
        "draws": result.draws,
        "seed": result.seed,
        "model": {
            "growth_sigma_common": result.model.growth_sigma_common,
            "growth_sigma_system": result.model.growth_sigma_system,
            "slip_probability": result.model.slip_probability,
            "max_slip_months": result.model.max_slip_months,
        },
        "probability_mandate": round(result.probability_mandate, 6),
        "resources": [
            {
                "resource": line.resource,
                "az": line.az,
                "unit": line.unit,
                "probability_short": round(line.probability_short, 6),
                "p50_shortfall": _month_or_none(planning, line.p50_shortfall),
                "p90_shortfall": _month_or_none(planning, line.p90_shortfall),
            }
            for line in result.lines
        ],
    }


def render_risk(source: SourceOfTruth, result: RiskResult, console: Console) -> None:
    planning = result.planning
    model = result.model
    console.print(
        f"[bold]{source.cloud.region}[/]: {result.draws} draws (seed {result.seed}) over "
        f"{month_label(planning.start_month)} → {month_label(planning.end_month)}; growth ×exp(N(0, "
        f"{model.growth_sigma_common}²) common + N(0, {model.growth_sigma_system}²) per system); "
        f"a department is late with p = {model.slip_probability} by 1..{model.max_slip_months} months"
    )
    table = Table(title="Shortfall risk by resource and availability zone")
    for title in ("resource", "zone", "P(shortfall)", "P50 shortfall", "P90 shortfall (plan for)"):
        table.add_column(title, justify="right" if title.startswith("P(") else "left")
    for line in result.lines:
        p50 = _month_or_none(planning, line.p50_shortfall)
        p90 = _month_or_none(planning, line.p90_shortfall)
        chance = line.probability_short
        style = "red" if chance >= 0.5 else "yellow" if chance > 0 else "green"
        table.add_row(
            line.resource,
            line.az,
            f"[{style}]{line.probability_short:.1%}[/]",
            p50 or "[green]beyond horizon[/]",
            p90 or "[green]beyond horizon[/]",
        )
    console.print(table)
    style = "green" if result.probability_mandate >= 0.9 else "red"
    console.print(
        f"Probability of carrying demand for all {planning.horizon_months} months with no shortfall "
        f"anywhere (the five-year mandate): [{style}]{result.probability_mandate:.1%}[/]"
    )
