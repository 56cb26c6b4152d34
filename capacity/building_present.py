"""Presenting the building: the ``building`` list of the check and plan JSON, and the table under the check.
Every figure comes from capacity.building."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from capacity.building import LIMITS, BuildingReport
from egov.building import gb40879_grade
from egov.model import SourceOfTruth


def building_json(report: BuildingReport, source: SourceOfTruth) -> list[dict[str, Any]]:
    """The ``building`` list of the check and plan JSON (contract of issue 12): per room the first month each
    limit is crossed and 60 monthly PUE values, plus the figures behind them."""
    planning = source.planning

    def label(index: int | None) -> str | None:
        return None if index is None else planning.month(index).strftime("%Y-%m")

    out = []
    for room in report.rooms:
        valid = [v for v in room.pue if v is not None]
        mean = round(sum(valid) / len(valid), 4) if valid else None
        out.append(
            {
                "room": room.room.name,
                "zones": list(room.room.zones),
                "first_exhausted": {limit: label(room.first_exhausted.get(limit)) for limit in LIMITS},
                "pue": room.pue,
                "pue_mean": mean,
                "pue_target": report.target_pue,
                "gb40879_grade": None if mean is None else gb40879_grade(mean),
                "rack_units_total": room.rack_units_total,
                "rack_units_used": [int(v) for v in room.rack_units_used],
                "it_kw": [round(float(v), 3) for v in room.it_kw],
                "cooling_kw": room.room.cooling_kw,
                "feeds": [
                    {
                        "row": row.name,
                        "capacity_kw": round(row.feed_kw, 3),
                        "load_after_loss_kw": [round(float(v), 3) for v in room.feed_load_kw[row.name]],
                    }
                    for row in room.room.rows
                ],
            }
        )
    return out


def render_building(report: BuildingReport, source: SourceOfTruth, console: Console) -> None:
    """One row per room: U, IT load, the worst feed, cooling, mean PUE and grade, the first month each limit
    is crossed."""
    planning = source.planning
    table = Table(title=f"{report.building.name}: rooms over the horizon (end of horizon figures)")
    for title in (
        "room",
        "zones",
        "rack units",
        "IT load",
        "worst feed (after losing the other)",
        "cooling",
        f"PUE (target {report.target_pue:g})",
        "first crossed",
    ):
        table.add_column(title)
    for room in report.rooms:
        valid = [v for v in room.pue if v is not None]
        mean = sum(valid) / len(valid) if valid else None
        grade = None if mean is None else gb40879_grade(mean)
        worst = max(room.room.rows, key=lambda row: float(room.feed_load_kw[row.name][-1]) / row.feed_kw)
        crossed = [
            f"{limit} {planning.month(month).strftime('%Y-%m')}"
            for limit in LIMITS
            if (month := room.first_exhausted.get(limit)) is not None
        ]
        table.add_row(
            room.room.name,
            ", ".join(room.room.zones),
            f"{int(room.rack_units_used[-1])} of {room.rack_units_total} U",
            f"{room.it_kw[-1]:.1f} kW",
            f"row {worst.name}: {room.feed_load_kw[worst.name][-1]:.1f} of {worst.feed_kw:.1f} kW",
            f"{room.it_kw[-1]:.1f} of {room.room.cooling_kw:g} kW",
            "—" if mean is None else f"{mean:.2f} (GB 40879 grade {grade or 'none: above 1.50'})",
            "[red]" + "; ".join(crossed) + "[/]" if crossed else "[green]none[/]",
        )
    console.print(table)
