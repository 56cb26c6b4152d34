"""Presenting the building: the ``building`` list of the check and plan JSON, and the table under the check.
Every figure comes from capacity.building."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.table import Table

from capacity.building import LIMITS, BuildingReport
from egov.building import gb40879_grade
from egov.i18n import N_, language, translations
from egov.model import SourceOfTruth


def building_json(report: BuildingReport, source: SourceOfTruth) -> list[dict[str, Any]]:
    """The ``building`` list of the check and plan JSON (contract of issue 12): per room the first month each
    limit is crossed and 60 monthly PUE values, plus the figures behind them."""
    planning = source.planning

    def label(index: int | None) -> str | None:
        return None if index is None else planning.month(index).strftime("%Y-%m")

    out = []
    for room in report.rooms:
        mean = None if room.pue_mean is None else round(room.pue_mean, 4)
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


#: the limits as the table names them (msgids; translated where shown)
LIMIT_NAMES = {
    "rack_units": N_("rack units"),
    "power": N_("rack power"),
    "feed": N_("feed"),
    "cooling": N_("cooling"),
}


def _pue_text(mean: float | None, target: float, _: Callable[[str], str]) -> str:
    """The mean PUE with its GB 40879 grade, flagged when above the planning target (a target, not a limit:
    the room still runs, the first-crossed column does not count it)."""
    if mean is None:
        return "—"
    text = _("%(mean)s (GB 40879 grade %(grade)s)") % {
        "mean": f"{mean:.2f}",
        "grade": gb40879_grade(mean) or _("none: above 1.50"),
    }
    if mean > target:
        return "[yellow]" + _("%(pue)s, above the target") % {"pue": text} + "[/]"
    return text


def render_building(
    report: BuildingReport, source: SourceOfTruth, console: Console, lang: str | None = None
) -> None:
    """One row per room, in ``lang`` (zh-CN by default): U, IT load, the worst feed, cooling, mean PUE and
    grade, the first month each limit is crossed."""
    _ = translations(language(lang)).gettext
    planning = source.planning
    table = Table(
        title=_("%(building)s: rooms over the horizon (end of horizon figures)")
        % {"building": report.building.name},
        # the limits column's own title is short: the table is wide and a long title was cut off
        caption=_("%(column)s: rack units, power or cooling; the PUE target is not a limit")
        % {"column": _("first crossed")},
    )
    for title in (
        _("room"),
        _("zones"),
        _("rack units"),
        _("IT load"),
        _("worst feed (after losing the other)"),
        _("cooling"),
        _("PUE (target %(target)s)") % {"target": f"{report.target_pue:g}"},
        _("first crossed"),
    ):
        table.add_column(title)
    for room in report.rooms:
        worst = max(room.room.rows, key=lambda row: float(room.feed_load_kw[row.name][-1]) / row.feed_kw)
        crossed = [
            f"{_(LIMIT_NAMES[limit])} {planning.month(month).strftime('%Y-%m')}"
            for limit in LIMITS
            if (month := room.first_exhausted.get(limit)) is not None
        ]
        table.add_row(
            room.room.name,
            ", ".join(room.room.zones),
            _("%(used)s of %(total)s U")
            % {"used": int(room.rack_units_used[-1]), "total": room.rack_units_total},
            f"{room.it_kw[-1]:.1f} kW",
            _("row %(row)s: %(load)s of %(limit)s kW")
            % {
                "row": worst.name,
                "load": f"{room.feed_load_kw[worst.name][-1]:.1f}",
                "limit": f"{worst.feed_kw:.1f}",
            },
            _("%(load)s of %(limit)s kW")
            % {"load": f"{room.it_kw[-1]:.1f}", "limit": f"{room.room.cooling_kw:g}"},
            _pue_text(room.pue_mean, report.target_pue, _),
            "[red]" + "; ".join(crossed) + "[/]" if crossed else "[green]" + _("none") + "[/]",
        )
    console.print(table)
