"""Presenting an assessment: the JSON document, the rich table, the monthly CSV rows. No arithmetic here
beyond unit display; every figure comes from capacity.headroom."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from capacity.headroom import Assessment, LineHeadroom
from egov.model import SourceOfTruth
from egov.months import month_label
from egov.units import Q_, human


def month_text(assessment: Assessment, index: int | None) -> str | None:
    """'YYYY-MM' of a month index (None stays None); indexes before the start are real past months."""
    return None if index is None else month_label(assessment.planning.month(index))


def amount(line: LineHeadroom, value: float) -> str:
    """A line's figure with its unit, in a readable magnitude."""
    return human(Q_(value, line.unit)) if line.unit != "vcpu" else f"{round(value)} vcpu"


def assessment_json(source: SourceOfTruth, assessment: Assessment) -> dict[str, Any]:
    """The machine-readable check: one JSON object (see README for the fields)."""
    planning = assessment.planning
    return {
        "region": source.cloud.region,
        "start_month": month_label(planning.start_month),
        "end_month": month_label(planning.end_month),
        "horizon_months": planning.horizon_months,
        "headroom_target_percent": round(planning.headroom_target * 100, 3),
        "lead_time_months": planning.lead_time_months,
        "physical": source.physical_summary(),
        "carries_horizon": assessment.carries_horizon,
        "keeps_target": assessment.keeps_target,
        "resources": [
            {
                "resource": line.resource.value,
                "az": line.az,
                "unit": line.unit,
                "usable": round(float(line.usable[0]), 3),
                "usable_end": round(float(line.usable[-1]), 3),
                "demand_start": round(float(line.demand[0]), 3),
                "demand_end": round(float(line.demand[-1]), 3),
                "min_percent_free": round(line.min_percent_free, 2),
                "first_below_target": month_text(assessment, line.first_below_target),
                "first_shortfall": month_text(assessment, line.first_shortfall),
                "order_by": month_text(assessment, line.order_by),
            }
            for line in assessment.lines
        ],
        "zones": [
            {
                "az": zone.az,
                "binding_resource": zone.binding.value,
                "order_by": month_text(assessment, zone.order_by),
                "purchases": [
                    {"unit": p.unit.name, "kind": p.unit.kind, "size": p.unit.size, "count": p.count}
                    for p in zone.purchases
                ],
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
                    line.resource.value,
                    line.az,
                    line.unit,
                    f"{line.usable[i]:.3f}",
                    f"{line.demand[i]:.3f}",
                    f"{line.free[i]:.3f}",
                    f"{pct[i]:.2f}",
                ]
            )
    return rows


def _flag(assessment: Assessment, index: int | None, style: str) -> str:
    text = month_text(assessment, index)
    if text is None:
        return "[green]—[/]"
    if index is not None and index < 0:
        return f"[bold red]{text} (overdue)[/]"
    return f"[{style}]{text}[/]"


def render_table(source: SourceOfTruth, assessment: Assessment, console: Console) -> None:
    """The planners' view: one row per resource and zone, then per zone what to buy and by when."""
    planning = assessment.planning
    physical = source.physical_summary()
    console.print(
        f"[bold]{source.cloud.region}[/]: {physical['cores']}, {physical['ram']} RAM, "
        f"{physical['storage_raw']} raw; "
        f"{len(source.systems)} systems of {len(source.departments)} departments; "
        f"{month_label(planning.start_month)} → {month_label(planning.end_month)} "
        f"({planning.horizon_months} months), "
        f"keep {planning.headroom_target:.0%} free, lead time {planning.lead_time_months} months"
    )
    table = Table(title="Five-year headroom by resource and availability zone", show_lines=False)
    for title in (
        "resource",
        "zone",
        "usable (start → end)",
        "demand (start → end)",
        "min free",
        f"below {planning.headroom_target:.0%}",
        "shortfall",
        "order by",
    ):
        table.add_column(title, justify="right" if title.startswith(("usable", "demand", "min")) else "left")
    for line in assessment.lines:
        low = line.min_percent_free
        free_style = "red" if low < 0 else "yellow" if low < planning.headroom_target * 100 else "green"
        table.add_row(
            line.resource.value,
            line.az,
            f"{amount(line, line.usable[0])} → {amount(line, line.usable[-1])}",
            f"{amount(line, line.demand[0])} → {amount(line, line.demand[-1])}",
            f"[{free_style}]{low:.1f} %[/]",
            _flag(assessment, line.first_below_target, "yellow"),
            _flag(assessment, line.first_shortfall, "red"),
            _flag(assessment, line.order_by, "bold"),
        )
    console.print(table)
    if assessment.keeps_target:
        console.print(
            f"[green]The cloud keeps {planning.headroom_target:.0%} free in every zone for all "
            f"{planning.horizon_months} months: nothing to order.[/]"
        )
        return
    verdict = (
        "[yellow]Supply covers demand, but headroom falls below target.[/]"
        if assessment.carries_horizon
        else "[bold red]Supply does NOT cover demand for the whole horizon.[/]"
    )
    console.print(verdict)
    for zone in assessment.zones:
        if not zone.purchases:
            continue
        buys = "; ".join(
            f"{p.count} × {p.unit.kind} {p.unit.size} into {p.unit.name}" for p in zone.purchases
        )
        when = _flag(assessment, zone.order_by, "bold")
        console.print(f"  {zone.az}: binding {zone.binding.value}; order by {when}: {buys}")
