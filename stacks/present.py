"""Presenting a stack review: one JSON object, or rich tables. Presents only (stacks/review.py computes)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from stacks.policy.policies import amount
from stacks.quotas import QUOTA_SOURCES, QuotaKey
from stacks.review import StackReview

if TYPE_CHECKING:
    from pathlib import Path

    from stacks.importing import ImportPlan


def review_json(review: StackReview) -> dict[str, Any]:
    """The review as ONE object: resources per type token, Σ quotas against usable capacity, violations."""
    return {
        "stack": review.stack,
        "departments": review.departments,
        "total_resources": review.total_resources,
        "resources": review.resources,
        "protection": review.protection,
        "quota_totals": {key.value: review.quota_totals[key] for key in QuotaKey},
        "usable": {key.value: math.floor(review.usable[key]) for key in QuotaKey},
        "usable_at": review.usable_at,
        "units": {key.value: QUOTA_SOURCES[key][1] for key in QuotaKey},
        "ratio": {key.value: round(review.ratio(key), 4) for key in QuotaKey},
        # null where the owners agreed no ratio yet (vGPUs): shown, not checked
        "agreed_oversubscription": {key.value: review.agreed.get(key) for key in QuotaKey},
        "within_agreed": {
            key.value: None if key not in review.agreed else review.ratio(key) <= review.agreed[key]
            for key in QuotaKey
        },
        "violations": review.violations,
        "flavors": review.flavors,
    }


def render_review(review: StackReview, console: Console) -> None:
    """Tables: resources per type token, then Σ quotas against usable capacity, then any violation."""
    console.print(
        f"stack [bold]{review.stack}[/]: {review.departments} departments, "
        f"{review.total_resources} resources would be created (Pulumi mocks, no cloud contacted)",
        highlight=False,
    )
    resources = Table(title="Resources by type token (protected: `pulumi up` never deletes them)")
    resources.add_column("type token")
    resources.add_column("count", justify="right")
    resources.add_column("protected", justify="right")
    for token, count in review.resources.items():
        protected = review.protection.get(token, {}).get("protected", 0)
        resources.add_row(token, str(count), str(protected) if protected else "")
    console.print(resources)
    quotas = Table(
        title=f"Σ department quotas against usable capacity in {review.usable_at} (end of horizon)"
    )
    for column in ("quota", "Σ quotas", "usable", "ratio", "agreed", "verdict"):
        quotas.add_column(column, justify="left" if column == "quota" else "right")
    for key in QuotaKey:
        ratio, agreed = review.ratio(key), review.agreed.get(key)
        if agreed is None:
            verdict = "[yellow]no agreed ratio[/]"
        else:
            verdict = "[green]within[/]" if ratio <= agreed else "[red]EXCEEDS[/]"
        quotas.add_row(
            key.value,
            amount(key, review.quota_totals[key]),
            amount(key, review.usable[key]),
            f"{ratio:.2f}",
            "—" if agreed is None else f"{agreed:g}",
            verdict,
        )
    console.print(quotas)
    if review.violations:
        console.print(f"[red]{len(review.violations)} policy violation(s):[/]")
        for message in review.violations:
            console.print(f"  - {message}", highlight=False, markup=False)
    else:
        console.print("[green]every policy of stacks/policy passes[/]")


def import_summary_json(plan: ImportPlan, written: list[Path]) -> dict[str, Any]:
    """What the import files hold and what the cloud lacks, as ONE object."""
    return {
        "stack": plan.stack,
        "files": [str(path) for path in written],
        "found": plan.found,
        "not_found": [{"type": m.type, "name": m.name, "looked_for": m.looked_for} for m in plan.missing],
        "not_looked_up": plan.not_looked_up,
    }


def render_import_summary(plan: ImportPlan, written: list[Path], console: Console) -> None:
    """The files written, then every resource the cloud does not have (``pulumi up`` creates those)."""
    console.print(
        f"stack [bold]{plan.stack}[/]: {plan.found} existing resources to import → "
        + ", ".join(str(path) for path in written),
        highlight=False,
    )
    if plan.missing:
        table = Table(
            title=f"{len(plan.missing)} declared resources not found in the cloud (pulumi up creates them)"
        )
        for column in ("type token", "name", "looked for"):
            table.add_column(column)
        for m in plan.missing:
            table.add_row(m.type, m.name, m.looked_for)
        console.print(table)
    skipped = ", ".join(f"{token} ({n})" for token, n in plan.not_looked_up.items())
    console.print(f"not looked up (created or set by pulumi up): {skipped}", highlight=False, markup=False)
