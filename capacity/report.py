"""The planners' report: an HTML page with PNG charts and an XLSX workbook. Presents an Assessment; computes
nothing (every figure comes from capacity.headroom).

Same input → byte-identical files: PNGs carry no software/date metadata, the workbook's document properties
are fixed to the planning start month and its zip entries carry a fixed timestamp.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from capacity.headroom import Assessment, LineHeadroom, Purchase
from capacity.present import amount, assessment_json, month_text, percent_or_none, risk_json
from egov.atomic import staged_directory
from egov.model import SourceOfTruth
from egov.months import month_label
from egov.units import Q_

if TYPE_CHECKING:
    from capacity.risk import RiskResult

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates" / "report"
#: A zip entry's timestamp in the workbook (the zip format starts at 1980).
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
#: Units the charts and the workbook's display columns use for each resource unit: large numbers in a readable
#: magnitude of the same family (binary stays binary, decimal stays decimal).
DISPLAY_UNITS = {"vcpu": "vcpu", "MiB": "TiB", "GiB": "TiB", "GB": "TB"}


def line_slug(line: LineHeadroom) -> str:
    """A file-name-safe name of a line, e.g. 'memory_mb-gz-1'."""
    return f"{line.resource.value.lower()}-{line.az}"


def display_unit(line: LineHeadroom) -> str:
    return DISPLAY_UNITS.get(line.unit, line.unit)


def _in_display(line: LineHeadroom, values: np.ndarray) -> np.ndarray:
    factor = float(Q_(1.0, line.unit).to(display_unit(line)).magnitude)
    return values * factor


#: CJK fonts used as fallbacks for zone names in Chinese, when one is installed (fonts-noto-cjk,
#: fonts-wqy-zenhei); the labels themselves are English and need only DejaVu Sans, shipped with matplotlib.
CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "WenQuanYi Zen Hei", "Source Han Sans SC")


@contextmanager
def _chart_style() -> Iterator[Any]:
    """Matplotlib with the Agg backend, DejaVu Sans plus any installed CJK font as a per-glyph fallback, and
    a fixed SVG hash salt in case a chart is ever saved as SVG."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    from matplotlib import font_manager

    installed = {font.name for font in font_manager.fontManager.ttflist}
    families = ["DejaVu Sans", *(name for name in CJK_FONTS if name in installed)]
    with matplotlib.rc_context(
        {"font.family": families, "svg.hashsalt": "egov", "figure.dpi": 100, "axes.grid": True}
    ):
        yield plt


def chart_png(assessment: Assessment, line: LineHeadroom) -> bytes:
    """Demand against usable supply of one line over the horizon, with the headroom target, the months below
    target and short marked, and the order-by month."""
    planning = assessment.planning
    months = np.arange(planning.horizon_months)
    usable = _in_display(line, line.usable)
    demand = _in_display(line, line.demand)
    target = usable * (1.0 - planning.headroom_target)  # where the target line is drawn
    with _chart_style() as plt:
        fig, ax = plt.subplots(figsize=(8.0, 3.6))
        try:
            ax.step(months, usable, where="mid", color="#1f5fa8", linewidth=2, label="usable")
            ax.step(
                months,
                target,
                where="mid",
                color="#1f5fa8",
                linestyle="--",
                linewidth=1,
                label=f"keep {planning.headroom_target:.0%} free",
            )
            ax.plot(months, demand, color="#c0392b", linewidth=2, label="demand")
            for where, color in ((line.below_target, "#f1c40f"), (line.short, "#c0392b")):
                ax.fill_between(months, 0, demand, where=where, step="mid", color=color, alpha=0.25)
            for index, text, color in (
                (line.first_below_target, "below target", "#b7950b"),
                (line.first_shortfall, "shortfall", "#c0392b"),
                (line.order_by, "order by", "#000000"),
            ):
                if index is not None and 0 <= index < planning.horizon_months:
                    ax.axvline(index, color=color, linestyle=":", linewidth=1.2)
                    ax.annotate(
                        f"{text} {month_text(assessment, index)}",
                        xy=(index, 0.97),
                        xycoords=("data", "axes fraction"),
                        rotation=90,
                        va="top",
                        ha="right",
                        fontsize=7,
                        color=color,
                    )
            ticks = list(range(0, planning.horizon_months, 6))
            ax.set_xticks(ticks, [month_label(planning.month(i)) for i in ticks], fontsize=7, rotation=45)
            ax.set_xlim(-0.5, planning.horizon_months - 0.5)
            ax.set_ylim(bottom=0)
            ax.set_ylabel(display_unit(line))
            ax.set_title(f"{line.resource.value} in {line.az}", fontsize=10)
            ax.legend(loc="upper left", fontsize=7)
            fig.tight_layout()
            buffer = io.BytesIO()
            # No 'Software' text chunk and no dates: the PNG depends on the figures only.
            fig.savefig(buffer, format="png", metadata={"Software": None})
        finally:
            plt.close(fig)
    return buffer.getvalue()


def _month_cell(assessment: Assessment, index: int | None) -> date | None:
    return None if index is None else assessment.planning.month(index)


def workbook_bytes(source: SourceOfTruth, assessment: Assessment, scenario: str | None = None) -> bytes:
    """The planners' workbook: a summary sheet, one monthly sheet per line, a zones/purchases sheet.
    Numbers are numbers (with a unit column), months are dates formatted YYYY-MM."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    planning = assessment.planning
    fixed = datetime(planning.start_month.year, planning.start_month.month, 1)
    workbook = Workbook()
    workbook.properties.creator = "egov"
    workbook.properties.title = f"{source.cloud.region} five-year capacity check"
    workbook.properties.created = fixed
    workbook.properties.modified = fixed
    bold = Font(bold=True)

    summary = workbook.active
    assert summary is not None
    summary.title = "Summary"
    totals = source.cloud.physical_totals()
    facts: list[tuple[str, Any, str]] = [
        ("region", source.cloud.region, ""),
        ("scenario", scenario or "base", ""),
        ("start month", planning.start_month, ""),
        ("horizon", planning.horizon_months, "months"),
        ("headroom target", planning.headroom_target, "share of usable kept free"),
        ("lead time", planning.lead_time_months, "months"),
        ("physical cores", float(totals["cores"].to("core").magnitude), "core"),
        ("physical RAM", float(totals["ram"].to("GB").magnitude), "GB"),
        ("raw storage", float(totals["storage_raw"].to("PB").magnitude), "PB"),
        ("systems", len(source.systems), ""),
        ("departments", len(source.departments), ""),
    ]
    for row, (label, value, unit) in enumerate(facts, start=1):
        summary.cell(row, 1, label).font = bold
        cell = summary.cell(row, 2, value)
        if isinstance(value, date):
            cell.number_format = "yyyy-mm"
        elif label == "headroom target":
            cell.number_format = "0%"
        summary.cell(row, 3, unit)
    header = [
        "resource",
        "zone",
        "unit",
        "usable (start)",
        "usable (end)",
        "demand (start)",
        "demand (end)",
        "min free %",
        "first below target",
        "first shortfall",
        "order by",
        "monthly sheet",
    ]
    top = len(facts) + 2
    for column, title in enumerate(header, start=1):
        summary.cell(top, column, title).font = bold
    sheets = _sheet_names(assessment)
    for row, line in enumerate(assessment.lines, start=top + 1):
        values: list[Any] = [
            line.resource.value,
            line.az,
            line.unit,
            float(line.usable[0]),
            float(line.usable[-1]),
            float(line.demand[0]),
            float(line.demand[-1]),
            percent_or_none(line.min_percent_free),
            _month_cell(assessment, line.first_below_target),
            _month_cell(assessment, line.first_shortfall),
            _month_cell(assessment, line.order_by),
            sheets[line_slug(line)],
        ]
        for column, value in enumerate(values, start=1):
            cell = summary.cell(row, column, value)
            if isinstance(value, date):
                cell.number_format = "yyyy-mm"
            elif isinstance(value, float) and column < 8:
                cell.number_format = "#,##0"
    summary.freeze_panes = summary.cell(top + 1, 3)

    for line in assessment.lines:
        sheet = workbook.create_sheet(sheets[line_slug(line)])
        titles = ["month", "usable", "demand", "free", "free %", "below target", "short", "unit"]
        for column, title in enumerate(titles, start=1):
            sheet.cell(1, column, title).font = bold
        percent = line.percent_free
        for i in range(planning.horizon_months):
            free = float(line.free[i])
            cells: list[Any] = [
                planning.month(i),
                float(line.usable[i]),
                float(line.demand[i]),
                free,
                round(float(percent[i]), 2) if np.isfinite(percent[i]) else None,
                bool(line.below_target[i]),
                bool(line.short[i]),
                line.unit,
            ]
            for column, value in enumerate(cells, start=1):
                cell = sheet.cell(i + 2, column, value)
                if column == 1:
                    cell.number_format = "yyyy-mm"
                elif column in (2, 3, 4):
                    cell.number_format = "#,##0.0"
        sheet.freeze_panes = "B2"

    zones = workbook.create_sheet("Zones and purchases")
    titles = ["zone", "binding resource", "order by", "buy", "kind", "size", "count"]
    for column, title in enumerate(titles, start=1):
        zones.cell(1, column, title).font = bold
    row = 2
    for zone in assessment.zones:
        purchases: list[Purchase | None] = list(zone.purchases) or [None]
        for purchase in purchases:
            values = [
                zone.az,
                zone.binding.value,
                _month_cell(assessment, zone.order_by),
                None if purchase is None else purchase.unit.name,
                None if purchase is None else purchase.unit.kind,
                None if purchase is None else purchase.unit.size,
                0 if purchase is None else purchase.count,
            ]
            for column, value in enumerate(values, start=1):
                cell = zones.cell(row, column, value)
                if isinstance(value, date):
                    cell.number_format = "yyyy-mm"
            row += 1

    for sheet in workbook.worksheets:
        for column in range(1, sheet.max_column + 1):
            sheet.column_dimensions[get_column_letter(column)].width = 18
    # openpyxl's save_workbook stamps 'modified' with the current time; its ExcelWriter does not.
    from openpyxl.writer.excel import ExcelWriter

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(workbook, archive).save()
    return normalised_zip(buffer.getvalue())


def _sheet_names(assessment: Assessment) -> dict[str, str]:
    """Excel sheet titles (≤ 31 characters, no []:*?/\\) of each line's monthly sheet."""
    names = {}
    for line in assessment.lines:
        title = f"{line.resource.value} {line.az}"
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


def report_html(
    source: SourceOfTruth,
    assessment: Assessment,
    charts: dict[str, str],
    scenario: str | None = None,
    risk: RiskResult | None = None,
) -> str:
    """The report page (templates/report/report.html.j2), with the Monte Carlo section when ``risk`` is
    given."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    environment = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    document = assessment_json(source, assessment, scenario=scenario)
    rows = [
        {
            "line": line,
            "usable": f"{amount(line, line.usable[0])} → {amount(line, line.usable[-1])}",
            "demand": f"{amount(line, line.demand[0])} → {amount(line, line.demand[-1])}",
            "chart": charts[line_slug(line)],
            "json": entry,
        }
        for line, entry in zip(assessment.lines, document["resources"], strict=True)
    ]
    return environment.get_template("report.html.j2").render(
        doc=document,
        rows=rows,
        systems=len(source.systems),
        departments=len(source.departments),
        target_percent=f"{assessment.planning.headroom_target:.0%}",
        risk=None if risk is None else risk_json(source, risk, scenario),
    )


def write_report(
    out: Path,
    source: SourceOfTruth,
    assessment: Assessment,
    scenario: str | None = None,
    step: Callable[[], None] | None = None,
    risk: RiskResult | None = None,
) -> list[Path]:
    """Write index.html, charts/*.png, capacity-check.xlsx and capacity-check.json into ``out`` atomically
    (``out`` is replaced whole, or left as it was on failure). Returns the files written, relative to out."""
    written: list[Path] = []
    with staged_directory(out) as stage:
        # the staging directory is private (mkdtemp); the report is for reading: usual permissions
        umask = os.umask(0)
        os.umask(umask)
        stage.chmod(0o777 & ~umask)
        (stage / "charts").mkdir()
        charts = {}
        for line in assessment.lines:
            name = Path("charts") / f"{line_slug(line)}.png"
            (stage / name).write_bytes(chart_png(assessment, line))
            charts[line_slug(line)] = name.as_posix()
            written.append(name)
            if step is not None:
                step()
        (stage / "capacity-check.xlsx").write_bytes(workbook_bytes(source, assessment, scenario))
        document = assessment_json(source, assessment, scenario=scenario)
        (stage / "capacity-check.json").write_text(
            json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
        if step is not None:
            step()
        html = report_html(source, assessment, charts, scenario, risk)
        (stage / "index.html").write_text(html, encoding="utf-8")
        if step is not None:
            step()
        written += [Path("capacity-check.xlsx"), Path("capacity-check.json"), Path("index.html")]
    return written
