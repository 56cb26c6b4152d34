"""The planners' report: an HTML page with PNG charts and an XLSX workbook, in Chinese by default (English
with ``lang="en"``). Presents an Assessment and a fit simulation; computes nothing (every figure comes from
capacity.headroom and capacity.fit).

The page and the workbook open with the decision — what to order, where, by when, at what cost — built by
:func:`decision` from the procurement plan's tranches (capacity.plan, one :class:`PurchaseLine` and one
order-by per tranche, priced from data/prices.yaml). Without a plan a planner can sign (no price list, a
budget cap or a building that cannot take the purchases) the decision says so first, naming the cause, and
gives each zone's facts (binding resource, first month below target) — never a second, sum-based order-by.

Same input → byte-identical files: PNGs carry no software/date metadata, the workbook's document properties
are fixed to the planning start month and its zip entries carry a fixed timestamp.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from capacity.headroom import Assessment, LineHeadroom
from capacity.present import (
    amount,
    assessment_json,
    cores_text,
    month_text,
    percent_or_none,
    risk_json,
    zone_first_month,
)
from egov.atomic import staged_directory
from egov.i18n import HTML_LANG, language, resource_name, translations
from egov.model import SourceOfTruth
from egov.months import month_label
from egov.units import Q_, magnitude_in

if TYPE_CHECKING:
    from capacity.fit import FitReport
    from capacity.plan import Plan
    from capacity.risk import RiskResult

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates" / "report"
#: A zip entry's timestamp in the workbook (the zip format starts at 1980).
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
#: Units the charts and the workbook's display columns use for each resource unit: large numbers in a readable
#: magnitude of the same family (binary stays binary, decimal stays decimal).
DISPLAY_UNITS = {"vcpu": "vcpu", "vgpu": "vgpu", "MiB": "TiB", "GiB": "TiB", "GB": "TB"}
#: The CJK font every chart uses (Debian fonts-noto-cjk); the Latin glyphs come from it too.
CJK_FONT_FAMILIES = ("Noto Sans CJK SC", "Noto Sans CJK JP")
FONT_INSTALL = "sudo apt-get install -y fonts-noto-cjk   (or: bash scripts/deps.d/45-fonts.sh)"
#: Colours shared by the charts, the page and the workbook.
SHORT_RED, BELOW_YELLOW, SUPPLY_BLUE, PLANNED_GREEN = "#c0392b", "#f1c40f", "#1f5fa8", "#1e8449"


class MissingFont(RuntimeError):
    """No CJK font: the Chinese texts of the charts would render as boxes."""


def line_slug(line: LineHeadroom) -> str:
    """A file-name-safe name of a line, e.g. 'memory_mb-gz-1'."""
    return f"{line.resource.lower()}-{line.az}"


def display_unit(line: LineHeadroom) -> str:
    return DISPLAY_UNITS.get(line.unit, line.unit)


def _display_factor(line: LineHeadroom) -> float:
    return float(Q_(1.0, line.unit).to(display_unit(line)).magnitude)


def _in_display(line: LineHeadroom, values: np.ndarray) -> np.ndarray:
    return values * _display_factor(line)


# --- the decision ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PurchaseLine:
    """One tranche of the procurement plan as the report shows it: how many of what, into which aggregate or
    pool of which zone, ordered by and delivered in which month, at what cost (CNY, from data/prices.yaml)."""

    az: str
    item: str  # the host model or disk unit, e.g. "general-64c" or "16 TB disk"
    kind: str  # "host" or "disk"
    target: str  # the aggregate or pool it goes into
    count: int
    order_by: int  # month index; negative: before the start month (overdue)
    deliver: int  # month index of the delivery
    cost: float  # CNY
    racks: tuple[str, ...] = ()  # "room/row/rack" the units stand in


def purchase_lines(plan: Plan) -> list[PurchaseLine]:
    """The plan's tranches, one line each (one order-by per tranche), in the plan's order."""
    return [
        PurchaseLine(
            az=t.option.zone,
            item=t.option.model,
            kind=t.option.kind,
            target=t.option.target,
            count=t.count,
            order_by=t.order_by,
            deliver=t.deliver,
            cost=t.cost,
            racks=t.racks,
        )
        for t in plan.tranches
    ]


def no_plan_cause(plan: Plan, lang: str | None = None) -> str | None:
    """Why ``plan`` is no plan a planner can sign, in ``lang``; None when it is proven."""
    _ = translations(language(lang)).gettext
    if plan.proven:
        return None
    if plan.blocked_by == "budget" and plan.prices.yearly_budget is not None:
        cap = f"{round(magnitude_in(plan.prices.yearly_budget, 'CNY')):,}"
        return _("the yearly budget cap of %(cap)s CNY is too small for the purchases needed") % {"cap": cap}
    if plan.blocked_by == "building":
        return _("the building's free rack units, power, feeds or cooling cannot take the purchases needed")
    if plan.blocked_by == "prices":
        return _("no priced host model or disk unit can cover every requirement (see data/prices.yaml)")
    return _("no candidate passed the check, the fit and the building in %(rounds)s rounds: %(failure)s") % {
        "rounds": plan.rounds,
        "failure": "; ".join(plan.failures[:3]),
    }


def money(value: float, lang: str | None = None) -> str:
    """A cost in whole yuan with thousands separators: '1,850,000 元' (zh_CN), '1,850,000 CNY' (en)."""
    return translations(language(lang)).gettext("%(amount)s CNY") % {"amount": f"{round(value):,}"}


def zone_facts(
    assessment: Assessment, lang: str | None = None, fit: FitReport | None = None
) -> list[dict[str, Any]]:
    """Per zone that falls below the target or (with ``fit``) leaves VMs without a host: what binds and the
    zone's one date — the check's (capacity.present.zone_first_month), so the report, the workbook and
    `egov capacity check` never show two dates for one zone. What to buy is the plan's."""
    _ = translations(language(lang)).gettext
    facts = []
    for zone in assessment.zones:
        month, flavor = zone_first_month(zone, fit)
        if month is None:
            continue
        binding = (
            resource_name(zone.binding, lang, placement=True)
            if flavor is None
            else _("the fit: %(flavor)s VMs find no host") % {"flavor": flavor}
        )
        facts.append({"az": zone.az, "binding": binding, "first_month": month_text(assessment, month)})
    return facts


def decision(
    assessment: Assessment,
    lines: list[PurchaseLine] | None,
    lang: str | None = None,
    no_plan: str | None = None,
    fit: FitReport | None = None,
) -> dict[str, Any]:
    """The report's first screen, in ``lang``: a headline sentence and one row per tranche of the plan.

    ``lines`` None means there is no plan: ``no_plan`` names the cause (the report), or, when None, the
    headline points to `egov capacity plan` (the check, which does not plan). Either way the zones' facts
    (binding resource, first month below target) follow, never a second order-by date."""
    _ = translations(language(lang)).gettext
    target = f"{assessment.planning.headroom_target:.0%}"
    facts = zone_facts(assessment, lang, fit)
    if lines is None:
        if no_plan is not None:
            headline = _("No procurement plan: %(cause)s.") % {"cause": no_plan}
            status = "short"
        elif assessment.keeps_target:
            headline = _("Nothing to order: every zone keeps %(target)s free for the whole plan.") % {
                "target": target
            }
            status = "ok"
        else:
            headline = _(
                "What to buy, when and where: `egov capacity plan` (the check does not plan purchases)."
            )
            status = "short" if not assessment.carries_horizon else "below"
        return {"headline": headline, "status": status, "rows": [], "facts": facts, "total": None}
    if not lines:
        return {
            "headline": _("Nothing to order: every zone keeps %(target)s free for the whole plan.")
            % {"target": target},
            "status": "ok",
            "rows": [],
            "facts": facts,
            "total": money(0, lang),
        }
    rows = []
    for line in lines:
        overdue = line.order_by < 0
        rows.append(
            {
                "az": line.az,
                "what": f"{line.count} × {line.item}",
                "kind": _("host") if line.kind == "host" else _("disk") if line.kind == "disk" else line.kind,
                "item": line.item,
                "target": line.target,
                "count": line.count,
                "order_by": month_text(assessment, line.order_by),
                "overdue": overdue,
                "deliver": month_text(assessment, line.deliver),
                "cost": money(line.cost, lang),
                "racks": ", ".join(line.racks),
            }
        )
    first = rows[0]
    values = {"what": first["what"], "zone": first["az"], "month": first["order_by"]}
    if first["overdue"]:
        headline = _("Order %(what)s for %(zone)s now: it was due by %(month)s.") % values
    else:
        headline = _("Order %(what)s for %(zone)s by %(month)s.") % values
    more = len(rows) - 1
    if more:
        below = translations(language(lang)).ngettext(
            "%(num)s more purchase below.", "%(num)s more purchases below.", more
        ) % {"num": more}
        headline = _("%(first)s %(more)s") % {"first": headline, "more": below}
    total = money(sum(line.cost for line in lines), lang)
    headline = _("%(headline)s The plan costs %(total)s in all.") % {"headline": headline, "total": total}
    return {
        "headline": headline,
        "status": "short" if not assessment.carries_horizon or first["overdue"] else "below",
        "rows": rows,
        "facts": facts,
        "total": total,
    }


# --- charts --------------------------------------------------------------------------------------------
def cjk_font() -> str:
    """The installed CJK font family the charts use; MissingFont (with the install command) when none is.

    Matplotlib keeps its list of fonts in a per-user cache; a font installed after that cache was written is
    not in it, so the system's CJK font files are added once before giving up."""
    from matplotlib import font_manager

    manager = font_manager.fontManager
    for attempt in range(2):
        installed = {font.name for font in manager.ttflist}
        for family in CJK_FONT_FAMILIES:
            if family in installed:
                return family
        if attempt == 0:
            for path in sorted(font_manager.findSystemFonts(fontext="ttf")):
                if "CJK" in Path(path).name:
                    manager.addfont(path)
    families = " or ".join(CJK_FONT_FAMILIES)
    raise MissingFont(f"no CJK font for the report's charts ({families}); {FONT_INSTALL}")


@contextmanager
def _chart_style() -> Iterator[Any]:
    """Matplotlib with the Agg backend, the CJK font for every text, and a fixed SVG hash salt."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    with matplotlib.rc_context(
        {
            "font.family": [cjk_font()],
            "axes.unicode_minus": False,  # the CJK font's hyphen, not U+2212 it may lack
            "svg.hashsalt": "egov",
            "figure.dpi": 100,
            "axes.grid": True,
            "grid.color": "#dddddd",
            "font.size": 11,
        }
    ):
        yield plt


def chart_png(
    assessment: Assessment,
    line: LineHeadroom,
    lang: str | None = None,
    orders: Sequence[int] = (),
    planned: LineHeadroom | None = None,
) -> bytes:
    """Demand against usable supply of one line over the horizon, 1600 × 500 px: the headroom target, the
    months below target (yellow) and the shortfall (red, between demand and supply), the months that
    matter in the legend beside the plot (no label crosses the grid), and ``orders``: the order-by months of
    the plan's tranches that lift this line (the only order-by dates the report shows), and ``planned``: the
    same line with the plan bought (its usable supply, green)."""
    from matplotlib.ticker import StrMethodFormatter

    _ = translations(language(lang)).gettext
    planning = assessment.planning
    months = np.arange(planning.horizon_months)
    usable = _in_display(line, line.usable)
    demand = _in_display(line, line.demand)
    target = usable * (1.0 - planning.headroom_target)  # the most demand may reach and keep the target
    unit = display_unit(line)
    with _chart_style() as plt:
        fig, ax = plt.subplots(figsize=(16.0, 5.0))
        try:
            ax.step(months, usable, where="mid", color=SUPPLY_BLUE, linewidth=2.2, label=_("usable supply"))
            ax.step(
                months,
                target,
                where="mid",
                color=SUPPLY_BLUE,
                linestyle="--",
                linewidth=1.2,
                label=_("most demand that keeps %(target)s free")
                % {"target": f"{planning.headroom_target:.0%}"},
            )
            if planned is not None:
                ax.step(
                    months, _in_display(line, planned.usable), where="mid", color=PLANNED_GREEN,
                    linewidth=2.2, label=_("usable supply with the plan bought"),
                )  # fmt: skip
            ax.plot(months, demand, color="#222222", linewidth=2.2, label=_("demand"))
            below = line.below_target & ~line.short
            if below.any():
                ax.fill_between(
                    months, target, demand, where=line.below_target, step="mid", color=BELOW_YELLOW,
                    alpha=0.45, label=_("below the target"),
                )  # fmt: skip
            if line.short.any():
                ax.fill_between(
                    months, usable, demand, where=line.short, step="mid", color=SHORT_RED, alpha=0.75,
                    label=_("shortfall: demand above supply"),
                )  # fmt: skip
            for index, text, color, style in (
                (line.first_below_target, _("first below target"), "#b7950b", ":"),
                (line.first_shortfall, _("first shortfall"), SHORT_RED, "-"),
            ):
                if index is not None and 0 <= index < planning.horizon_months:
                    ax.axvline(
                        index, color=color, linestyle=style, linewidth=1.5,
                        label=f"{text}: {month_text(assessment, index)}",
                    )  # fmt: skip
            shown = sorted({max(month, 0) for month in orders})
            for n, month in enumerate(shown):
                ax.axvline(
                    month, color="#000000", linestyle="--", linewidth=1.2,
                    label=_("the plan's order-by months (%(num)s)") % {"num": len(shown)} if n == 0 else None,
                )  # fmt: skip
            ticks = list(range(0, planning.horizon_months, 6))
            ax.set_xticks(ticks, [month_label(planning.month(i)) for i in ticks])
            ax.set_axisbelow(True)
            ax.set_xlim(-0.5, planning.horizon_months - 0.5)
            ax.set_ylim(bottom=0)
            ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.6g}"))  # 1,200 and 1.5, never 1e+03
            ax.set_xlabel(_("month"))
            ax.set_ylabel(f"{resource_name(line.resource, lang)} ({unit})")
            ax.set_title(
                _("%(resource)s in %(zone)s: demand against usable supply")
                % {"resource": resource_name(line.resource, lang, placement=True), "zone": line.az},
                fontsize=14,
            )
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=10, frameon=False)
            fig.subplots_adjust(left=0.06, right=0.79, top=0.9, bottom=0.12)
            buffer = io.BytesIO()
            # No 'Software' text chunk and no dates: the PNG depends on the figures only.
            fig.savefig(buffer, format="png", metadata={"Software": None})
        finally:
            plt.close(fig)
    return buffer.getvalue()


# --- the workbook --------------------------------------------------------------------------------------
def _month_cell(assessment: Assessment, index: int | None) -> date | None:
    return None if index is None else assessment.planning.month(index)


def _month_cell_text(month: str | None) -> date | None:
    """A 'YYYY-MM' month as the first day of that month (a workbook cell formatted yyyy-mm)."""
    return None if month is None else date.fromisoformat(month + "-01")


def _shown(value: float, factor: float) -> float:
    """A figure in its display unit, rounded to what a planner reads (0.001 TiB ≈ 1 GiB)."""
    return round(float(value) * factor, 3)


def _number_format(unit: str) -> str:
    """An Excel number format that shows the unit beside a number, e.g. '#,##0.0" TiB"'."""
    return '#,##0" vCPU"' if unit == "vcpu" else f'#,##0.0" {unit}"'


def workbook_bytes(
    source: SourceOfTruth,
    assessment: Assessment,
    scenario: str | None = None,
    lang: str | None = None,
    fit: FitReport | None = None,
    purchases: list[PurchaseLine] | None = None,
    no_plan: str | None = None,
) -> bytes:
    """The planners' workbook: the decision, an overview per resource and zone, the free share per month with
    one chart per zone, one monthly sheet per line, and the fit when given. Numbers are numbers in readable
    units (TiB, TB) with the unit in the number format; shares are percent-formatted; months are dates
    formatted YYYY-MM; every table has a frozen header, a filter and colours for months below target."""
    from openpyxl import Workbook
    from openpyxl.chart import LineChart, Reference
    from openpyxl.formatting.rule import FormulaRule
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.worksheet import Worksheet

    _ = translations(language(lang)).gettext
    planning = assessment.planning
    fixed = datetime(planning.start_month.year, planning.start_month.month, 1)
    workbook = Workbook()
    workbook.properties.creator = "egov"
    workbook.properties.title = _("%(region)s five-year capacity check") % {"region": source.cloud.region}
    workbook.properties.language = HTML_LANG[language(lang)]
    workbook.properties.created = fixed
    workbook.properties.modified = fixed
    bold = Font(bold=True)
    red = PatternFill("solid", start_color="F5B7B1", end_color="F5B7B1")
    yellow = PatternFill("solid", start_color="FCF3CF", end_color="FCF3CF")
    header_fill = PatternFill("solid", start_color="D6EAF8", end_color="D6EAF8")
    target = planning.headroom_target

    def table(
        sheet: Worksheet, top: int, titles: list[str], rows: list[list[Any]], formats: Sequence[str | None]
    ) -> None:
        """A table with a bold, filled, frozen header row and a filter over it."""
        for column, title in enumerate(titles, start=1):
            cell = sheet.cell(top, column, title)
            cell.font, cell.fill = bold, header_fill
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        for offset, values in enumerate(rows, start=1):
            for column, value in enumerate(values, start=1):
                cell = sheet.cell(top + offset, column, value)
                number_format = formats[column - 1]
                if number_format:
                    cell.number_format = number_format
        sheet.freeze_panes = sheet.cell(top + 1, 1)
        last = f"{get_column_letter(len(titles))}{top + max(len(rows), 1)}"
        sheet.auto_filter.ref = f"A{top}:{last}"

    def shade(sheet: Worksheet, cells: str, share: str) -> None:
        """Red where the free share (column ``share``) is negative (short), yellow where below target."""
        sheet.conditional_formatting.add(
            cells, FormulaRule(formula=[f"{share}<0"], fill=red, stopIfTrue=True)
        )
        sheet.conditional_formatting.add(cells, FormulaRule(formula=[f"{share}<{target!r}"], fill=yellow))

    # 1. The decision: the plan's tranches — what to order, where, by when, at what cost — or why there is
    # no plan; then the zones' facts.
    verdict = decision(assessment, purchases, lang, no_plan, fit)
    first = workbook.active
    assert first is not None
    first.title = _("Decision")
    first.cell(1, 1, verdict["headline"]).font = Font(bold=True, size=14)
    currency = _("CNY")
    money_format = f'#,##0" {currency}"'
    if purchases:
        decision_rows: list[list[Any]] = [
            [
                line.az,
                line.item,
                row["kind"],
                line.target,
                line.count,
                _month_cell(assessment, line.order_by),
                _month_cell(assessment, line.deliver),
                round(line.cost),
                row["racks"],
            ]
            for row, line in zip(verdict["rows"], purchases, strict=True)
        ]
        decision_rows.append(
            [_("total"), None, None, None, None, None, None, round(sum(p.cost for p in purchases)), None]
        )
        table(
            first,
            3,
            [
                _("zone"),
                _("order"),
                _("kind"),
                _("into"),
                _("count"),
                _("order by"),
                _("delivery"),
                _("cost"),
                _("racks"),
            ],
            decision_rows,
            [None, None, None, None, "#,##0", "yyyy-mm", "yyyy-mm", money_format, None],
        )
        for row_number, row in enumerate(verdict["rows"], start=4):
            if row["overdue"]:
                first.cell(row_number, 6).fill = red
        first.cell(4 + len(verdict["rows"]), 1).font = bold
    else:
        decision_rows = [
            [fact["az"], fact["binding"], _month_cell_text(fact["first_month"])] for fact in verdict["facts"]
        ]
        table(
            first,
            3,
            [_("zone"), _("binding resource"), _("first month below target or without a host")],
            decision_rows,
            [None, None, "yyyy-mm"],
        )
    facts_top = 5 + len(decision_rows)
    totals = source.cloud.physical_totals()
    facts: list[tuple[str, Any, str | None]] = [
        (_("region"), source.cloud.region, None),
        (_("scenario"), scenario or _("base"), None),
        (_("start month"), planning.start_month, "yyyy-mm"),
        (_("horizon (months)"), planning.horizon_months, "0"),
        (_("headroom target (share kept free)"), target, "0%"),
        (_("procurement lead time (months)"), planning.lead_time_months, "0"),
        (_("physical cores"), float(totals["cores"].to("core").magnitude), '#,##0" core"'),
        (_("physical RAM"), float(totals["ram"].to("GB").magnitude), '#,##0" GB"'),
        (_("raw storage"), float(totals["storage_raw"].to("PB").magnitude), '#,##0.0" PB"'),
        (_("systems"), len(source.systems), "#,##0"),
        (_("departments"), len(source.departments), "#,##0"),
    ]
    for row_number, (label, value, number_format) in enumerate(facts, start=facts_top):
        first.cell(row_number, 1, label).font = bold
        cell = first.cell(row_number, 2, value)
        if number_format:
            cell.number_format = number_format

    # 2. Overview: one row per resource and zone.
    overview = workbook.create_sheet(_("Overview"))
    sheets = _sheet_names(assessment, lang)
    overview_rows = []
    for line in assessment.lines:
        factor = _display_factor(line)
        share = percent_or_none(line.min_percent_free)
        overview_rows.append(
            [
                resource_name(line.resource, lang),
                line.resource,
                line.az,
                _shown(line.usable[0], factor),
                _shown(line.usable[-1], factor),
                _shown(line.demand[0], factor),
                _shown(line.demand[-1], factor),
                None if share is None else share / 100.0,
                _month_cell(assessment, line.first_below_target),
                _month_cell(assessment, line.first_shortfall),
                sheets[line_slug(line)],
            ]
        )
    table(
        overview,
        1,
        [
            _("resource"),
            _("Placement class"),
            _("zone"),
            _("usable (start)"),
            _("usable (end)"),
            _("demand (start)"),
            _("demand (end)"),
            _("lowest free share"),
            _("first below target"),
            _("first shortfall"),
            _("monthly sheet"),
        ],
        overview_rows,
        [None, None, None, None, None, None, None, "0.0%", "yyyy-mm", "yyyy-mm", None],
    )
    for row_number, line in enumerate(assessment.lines, start=2):
        for column in range(4, 8):  # each row in its own unit
            overview.cell(row_number, column).number_format = _number_format(display_unit(line))
    shade(overview, f"A2:K{len(assessment.lines) + 1}", "$H2")

    # 3. The free share per month, and one chart per zone.
    shares = workbook.create_sheet(_("Free share"))
    share_titles = [_("month")] + [
        f"{resource_name(line.resource, lang)} {line.az}" for line in assessment.lines
    ]
    share_rows = []
    for i in range(planning.horizon_months):
        cells: list[Any] = [planning.month(i)]
        for line in assessment.lines:
            value = float(line.percent_free[i])
            cells.append(round(value / 100.0, 4) if np.isfinite(value) else None)
        share_rows.append(cells)
    table(shares, 1, share_titles, share_rows, ["yyyy-mm"] + ["0.0%"] * len(assessment.lines))
    last_row = planning.horizon_months + 1
    for column in range(2, len(assessment.lines) + 2):
        letter = get_column_letter(column)
        shade(shares, f"{letter}2:{letter}{last_row}", f"{letter}2")
    zones = list(dict.fromkeys(line.az for line in assessment.lines))
    anchor_column = get_column_letter(len(assessment.lines) + 3)
    for n, az in enumerate(zones):
        chart = LineChart()
        chart.title = _("Free share in %(zone)s (target: keep %(target)s free)") % {
            "zone": az,
            "target": f"{target:.0%}",
        }
        chart.y_axis.title = _("free share")
        chart.y_axis.number_format = "0%"
        chart.x_axis.title = _("month")
        chart.x_axis.number_format = "yyyy-mm"
        chart.height, chart.width = 9, 24
        for column, line in enumerate(assessment.lines, start=2):
            if line.az == az:
                chart.add_data(
                    Reference(shares, min_col=column, min_row=1, max_row=last_row), titles_from_data=True
                )
        chart.set_categories(Reference(shares, min_col=1, min_row=2, max_row=last_row))
        shares.add_chart(chart, f"{anchor_column}{2 + n * 20}")

    # 4. One monthly sheet per resource and zone, in readable units.
    for line in assessment.lines:
        sheet = workbook.create_sheet(sheets[line_slug(line)])
        unit = display_unit(line)
        factor = _display_factor(line)
        percent = line.percent_free
        rows = []
        for i in range(planning.horizon_months):
            state = _("shortfall") if line.short[i] else _("below target") if line.below_target[i] else ""
            rows.append(
                [
                    planning.month(i),
                    _shown(line.usable[i], factor),
                    _shown(line.demand[i], factor),
                    _shown(line.free[i], factor),
                    round(float(percent[i]) / 100.0, 4) if np.isfinite(percent[i]) else None,
                    state,
                ]
            )
        table(
            sheet,
            1,
            [
                _("month"),
                _("usable (%(unit)s)") % {"unit": unit},
                _("demand (%(unit)s)") % {"unit": unit},
                _("free (%(unit)s)") % {"unit": unit},
                _("free share"),
                _("state"),
            ],
            rows,
            ["yyyy-mm", *[_number_format(unit)] * 3, "0.0%", None],
        )
        shade(sheet, f"A2:F{last_row}", "$E2")

    # 5. The fit: how many more VMs of each flavor fit, host by host, against what the sums promise.
    if fit is not None:
        from capacity.fit_present import fit_rows

        sheet = workbook.create_sheet(_("Fit"))
        body = fit_rows(planning, fit)[1:]
        fit_table = [
            [date.fromisoformat(month + "-01"), az, flavor, int(fits), int(sums), int(loss)]
            for month, az, flavor, fits, sums, loss in body
        ]
        table(
            sheet,
            1,
            [
                _("month"),
                _("zone"),
                _("flavor"),
                _("VMs that fit"),
                _("VMs the sums promise"),
                _("lost to fragmentation"),
            ],
            fit_table,
            ["yyyy-mm", None, None, "#,##0", "#,##0", "#,##0"],
        )
        end = len(fit_table) + 1
        sheet.conditional_formatting.add(
            f"A2:F{end}", FormulaRule(formula=["$D2=0"], fill=red, stopIfTrue=True)
        )
        sheet.conditional_formatting.add(f"A2:F{end}", FormulaRule(formula=["$F2>0"], fill=yellow))

    for sheet in workbook.worksheets:
        for column in range(1, sheet.max_column + 1):
            sheet.column_dimensions[get_column_letter(column)].width = 16
    workbook.worksheets[0].column_dimensions["A"].width = 30
    # openpyxl's save_workbook stamps 'modified' with the current time; its ExcelWriter does not.
    from openpyxl.writer.excel import ExcelWriter

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(workbook, archive).save()
    return normalised_zip(buffer.getvalue())


def _sheet_names(assessment: Assessment, lang: str | None = None) -> dict[str, str]:
    """Excel sheet titles (≤ 31 characters, no []:*?/\\) of each line's monthly sheet, e.g. '内存 gz-1'."""
    names = {}
    for line in assessment.lines:
        title = f"{resource_name(line.resource, lang)} {line.az}"
        for bad in "[]:*?/\\":
            title = title.replace(bad, "-")
        names[line_slug(line)] = title[:31]
    return names


def normalised_zip(data: bytes) -> bytes:
    """The same zip archive with every entry's timestamp fixed, so identical content gives identical bytes
    (zipfile stamps entries with the current time)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            target.writestr(fixed, source.read(info.filename))
    return out.getvalue()


# --- the page ------------------------------------------------------------------------------------------
def fit_section(assessment: Assessment, fit: FitReport, lang: str | None = None) -> dict[str, Any]:
    """The fit as the report shows it (from capacity.fit_present's document): per zone the first month a VM
    finds no host against the sums' first month below target, and yearly snapshots of how many VMs of each
    flavor fit against what the sums promise."""
    from capacity.fit_present import fit_json

    planning = assessment.planning
    document = fit_json(planning, fit)
    last = len(document["months"]) - 1
    shown = sorted({*range(0, last + 1, 12), last})
    zones = []
    for zone in document["zones"]:
        below = [
            line.first_below_target
            for line in assessment.lines
            if line.az == zone["az"] and line.first_below_target is not None
        ]
        unplaced, sums = zone["first_month_unplaced"], month_text(assessment, min(below)) if below else None
        zones.append(
            {
                "az": zone["az"],
                "first_month_unplaced": unplaced,
                # the sums' month is in the decision table: a second date here would read as a second answer
                "earlier_than_sums": unplaced is not None and (sums is None or unplaced < sums),
                "flavors": [
                    {
                        "flavor": flavor["flavor"],
                        "cells": [
                            {"fits": flavor["fits"][i], "sums": flavor["sums"][i], "loss": flavor["loss"][i]}
                            for i in shown
                        ],
                    }
                    for flavor in zone["flavors"]
                ],
            }
        )
    return {
        "weigher": document["weigher"],
        "months": [document["months"][i] for i in shown],
        "zones": zones,
        "unplaced_systems": len(document["unplaced"]),
    }


def report_html(
    source: SourceOfTruth,
    assessment: Assessment,
    charts: dict[str, str],
    scenario: str | None = None,
    risk: RiskResult | None = None,
    lang: str | None = None,
    fit: FitReport | None = None,
    purchases: list[PurchaseLine] | None = None,
    no_plan: str | None = None,
) -> str:
    """The report page (templates/report/report.html.j2) in ``lang``: the decision first, then the fit, the
    table by resource and zone, the Monte Carlo section when ``risk`` is given, and the charts."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    code = language(lang)
    environment = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.i18n"],
    )
    environment.install_gettext_translations(translations(code), newstyle=True)  # type: ignore[attr-defined]
    document = assessment_json(source, assessment, scenario=scenario, fit=fit)
    rows = [
        {
            "line": line,
            "name": resource_name(line.resource, code),
            "usable": f"{amount(line, line.usable[0])} → {amount(line, line.usable[-1])}",
            "demand": f"{amount(line, line.demand[0])} → {amount(line, line.demand[-1])}",
            "chart": charts[line_slug(line)],
            "json": entry,
        }
        for line, entry in zip(assessment.lines, document["resources"], strict=True)
    ]
    return environment.get_template("report.html.j2").render(
        html_lang=HTML_LANG[code],
        doc=document,
        rows=rows,
        decision=decision(assessment, purchases, code, no_plan, fit),
        fit=None if fit is None else fit_section(assessment, fit, code),
        cores=cores_text(source, code),
        systems=len(source.systems),
        departments=len(source.departments),
        target_percent=f"{assessment.planning.headroom_target:.0%}",
        risk=None if risk is None else risk_json(source, risk, scenario),
        risk_names={line.resource: resource_name(line.resource, code) for line in assessment.lines},
    )


def write_report(
    out: Path,
    source: SourceOfTruth,
    assessment: Assessment,
    scenario: str | None = None,
    step: Callable[[], None] | None = None,
    risk: RiskResult | None = None,
    lang: str | None = None,
    fit: FitReport | None = None,
    plan: Plan | None = None,
    no_plan: str | None = None,
) -> list[Path]:
    """Write index.html, charts/*.png, capacity-check.xlsx and capacity-check.json into ``out`` atomically
    (``out`` is replaced whole, or left as it was on failure). Returns the files written, relative to out."""
    cjk_font()  # fail before writing anything when the charts' font is missing
    if plan is not None and no_plan is None:
        no_plan = no_plan_cause(plan, lang)
    purchases = None if plan is None or no_plan is not None else purchase_lines(plan)
    written: list[Path] = []
    with staged_directory(out) as stage:
        # the staging directory is private (mkdtemp); the report is for reading: usual permissions
        umask = os.umask(0)
        os.umask(umask)
        stage.chmod(0o777 & ~umask)
        (stage / "charts").mkdir()
        charts = {}
        hosted = source.cloud.resource_classes.host_classes
        for line in assessment.lines:
            name = Path("charts") / f"{line_slug(line)}.png"
            orders = [
                p.order_by
                for p in purchases or []
                if p.az == line.az and (p.kind == "host") == (line.resource in hosted)
            ]
            planned = (
                None if purchases is None or plan is None else plan.assessment.line(line.resource, line.az)
            )
            (stage / name).write_bytes(chart_png(assessment, line, lang, orders, planned))
            charts[line_slug(line)] = name.as_posix()
            written.append(name)
            if step is not None:
                step()
        (stage / "capacity-check.xlsx").write_bytes(
            workbook_bytes(
                source, assessment, scenario, lang=lang, fit=fit, purchases=purchases, no_plan=no_plan
            )
        )
        document = assessment_json(source, assessment, scenario=scenario, fit=fit)
        (stage / "capacity-check.json").write_text(
            json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
        if step is not None:
            step()
        html = report_html(
            source,
            assessment,
            charts,
            scenario,
            risk,
            lang=lang,
            fit=fit,
            purchases=purchases,
            no_plan=no_plan,
        )
        (stage / "index.html").write_text(html, encoding="utf-8")
        if step is not None:
            step()
        written += [Path("capacity-check.xlsx"), Path("capacity-check.json"), Path("index.html")]
    return written
