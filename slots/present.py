"""Presenting slots to people: rich tables of requests and of a re-plan (computes nothing)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from slots.ledger import RequestView
from slots.planner import Plan
from slots.weeks import week_label


def requests_table(console: Console, views: Sequence[RequestView]) -> None:
    table = Table(title=f"{len(views)} request(s)")
    for column in ("#", "dept", "systems", "window", "status", "week", "reason"):
        table.add_column(column, overflow="fold")
    for v in views:
        systems = ", ".join(v.spec.get("systems", []))
        if v.spec.get("adhoc"):
            systems += f" +{len(v.spec['adhoc'])} ad hoc"
        week = v.granted_week or (f"earliest feasible {v.suggested_week}" if v.suggested_week else "")
        style = {"granted": "green", "approved": "bold green", "refused": "red", "cancelled": "dim"}[v.status]
        table.add_row(
            str(v.id),
            v.department,
            systems,
            f"{v.earliest_week}–{v.latest_week}",
            f"[{style}]{v.status}[/]",
            week,
            v.reason or "",
        )
    console.print(table)


def plan_summary(console: Console, plan: Plan, applied: bool) -> None:
    table = Table(title=f"Re-plan ({plan.status}, {plan.variables} variables)")
    table.add_column("schedule")
    table.add_column("admitted", justify="right")
    table.add_column("weighted delay (weeks)", justify="right")
    for name, schedule in (
        ("ledger now", plan.current),
        ("first come, first served", plan.fcfs),
        ("optimal (CP-SAT)", plan.optimal),
    ):
        table.add_row(name, str(schedule.admitted), str(schedule.weighted_delay))
    console.print(table)
    if plan.time_limit_reached:
        console.print(
            f"[yellow]the solver stopped at its time limit of {plan.time_limit:g}: the plan is feasible, not "
            f"proven optimal (raise --time-limit)[/]"
        )
    console.print(
        f"gain over first come, first served: {plan.optimal.admitted - plan.fcfs.admitted:+d} admitted, "
        f"{plan.delay_gain:+d} weeks of weighted delay saved"
    )
    if not plan.changes:
        console.print("no request moves")
        return
    moves = ", ".join(
        f"#{rid} → {week_label(week) if week else 'unscheduled'}"
        for rid, week in sorted(plan.changes.items())
    )
    console.print(("applied: " if applied else "would move (use --apply): ") + moves)
