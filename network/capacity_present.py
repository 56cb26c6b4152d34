"""Presenting a backbone capacity report: rates as unit strings, a table, JSON, an XLSX workbook, a map.

Computes nothing: every figure comes from network.linkload.CapacityReport. Text is zh-CN by default,
English on request (``lang="en"``).
"""

from __future__ import annotations

import io
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from egov.months import month_label
from egov.units import Q_

_RATE_UNITS = ("Tbit/s", "Gbit/s", "Mbit/s", "kbit/s", "bit/s")


@lru_cache(maxsize=1)
def _rate_factors() -> tuple[tuple[str, float], ...]:
    """bit/s per unit, asked of pint once (a pint conversion per row would dominate a report)."""
    return tuple((unit, float(Q_(1, unit).to("bit/s").magnitude)) for unit in _RATE_UNITS)


def rate_text(bits_per_second: float) -> str:
    """A rate as a unit string in the largest unit that keeps it ≥ 1: '10 Gbit/s', '850 Mbit/s',
    '1.25 Gbit/s' (three significant figures at most, trailing zeros dropped)."""
    for unit, factor in _rate_factors():
        value = bits_per_second / factor
        if abs(value) >= 1 or unit == "bit/s":
            digits = 0 if abs(value) >= 100 else 1 if abs(value) >= 10 else 2
            text = f"{value:.{digits}f}"
            if "." in text:
                text = text.rstrip("0").rstrip(".")
            return f"{text} {unit}"
    raise AssertionError("unreachable")


def report_language(flag: str | None) -> str:
    """The LABELS key of the report's language: ``--lang`` when given (zh-CN, zh, en, en-US …), else the
    CLI language (``egov --lang``, EGOV_LANG, the POSIX locale, zh-CN: egov.i18n.cli_language). An unknown
    language raises egov.i18n.UnknownLanguage naming it."""
    from egov.i18n import cli_language, language

    code = language(flag) if flag is not None else cli_language()
    return "zh" if code == "zh_CN" else code


LABELS = {
    "zh": {
        "title": "骨干网容量",
        "link": "链路",
        "tier": "电路类型",
        "capacity": "带宽",
        "peak": "正常峰值利用率",
        "worst": "最坏利用率",
        "failure": "最坏故障",
        "first_over": "首次超过目标",
        "upgrades": "扩容建议",
        "to": "升级到",
        "order_by": "最晚下单",
        "overdue": "已逾期",
        "failures": "已评估故障",
        "none": "无",
        "no_tier": "无足够档位",
        "legend": "最坏情况利用率",
        "map_title": "广东省电子政务外网骨干 · 最坏情况链路利用率",
        "map_note": "城市位置为地级市政府驻地的近似经纬度；区县与乡镇按所属城市示意排布",
        "target": "目标",
        "sites": "站点",
        "isolations": "使站点失联的故障",
        "cut_sites": "失联站点",
        "cut_users": "失联用户",
        "end_a": "端点 A",
        "end_b": "端点 B",
        "demand_peak": "峰值需求",
        "sheet_links": "链路",
        "sheet_upgrades": "扩容建议",
        "sheet_sites": "站点",
        "sheet_isolations": "失联故障",
        "sheet_summary": "汇总",
    },
    "en": {
        "title": "Backbone capacity",
        "link": "link",
        "tier": "tier",
        "capacity": "capacity",
        "peak": "peak util.",
        "worst": "worst util.",
        "failure": "worst failure",
        "first_over": "first over target",
        "upgrades": "Upgrades",
        "to": "to",
        "order_by": "order by",
        "overdue": "overdue",
        "failures": "failures evaluated",
        "none": "none",
        "no_tier": "no tier large enough",
        "legend": "worst-case utilisation",
        "map_title": "Guangdong e-government backbone · worst-case link utilisation",
        "map_note": "Cities at the approximate coordinates of their seats; counties and towns schematic",
        "target": "target",
        "sites": "sites",
        "isolations": "failures that cut sites off",
        "cut_sites": "sites cut off",
        "cut_users": "users cut off",
        "end_a": "a",
        "end_b": "b",
        "demand_peak": "demand_peak",
        "sheet_links": "links",
        "sheet_upgrades": "upgrades",
        "sheet_sites": "sites",
        "sheet_isolations": "isolations",
        "sheet_summary": "summary",
    },
}


def to_json_text(doc: dict) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def percent(value: float, digits: int = 1) -> str:
    return f"{value * 100:.{digits}f} %"


#: a link's utilisations in the table: the JSON document's precision (4 decimals of a fraction), never
#: rounded twice
LINK_PERCENT_DIGITS = 2


def link_headers(t: dict[str, str], *, sheet: bool) -> list[str]:
    """The columns of a link, in the table (both ends in one column) and in the workbook (one each)."""
    ends = [t["end_a"], t["end_b"]] if sheet else [t["link"]]
    return [*ends, t["tier"], t["capacity"], t["peak"], t["worst"], t["failure"], t["first_over"]]


def link_cells(row: dict[str, Any], t: dict[str, str], *, sheet: bool) -> list[Any]:
    """One link of the JSON document (report_json's ``links`` row) under link_headers: the workbook keeps the
    utilisations as numbers (fractions), the table prints them as percentages."""
    if sheet:
        return [
            row["a"],
            row["b"],
            row["tier"],
            row["capacity"],
            row["peak_utilisation"],
            row["worst_utilisation"],
            row["worst_failure"] or "",
            row["first_over_target"] or "",
        ]
    return [
        f"{row['a']} – {row['b']}",
        row["tier"],
        row["capacity"],
        percent(row["peak_utilisation"], LINK_PERCENT_DIGITS),
        percent(row["worst_utilisation"], LINK_PERCENT_DIGITS),
        row["worst_failure"] or t["none"],
        row["first_over_target"] or "",
    ]


def render_table(report, doc: dict[str, Any], lang: str = "zh", limit: int = 30):  # type: ignore[no-untyped-def]
    """Rich renderables: the most loaded links (worst case first), the upgrades, the failures that cut sites
    off. ``doc`` is the report's JSON document (report_json), whose rows the workbook writes too."""
    from rich.table import Table

    t = LABELS[lang]
    links = sorted(doc["links"], key=lambda row: (-row["worst_utilisation"], row["a"], row["b"]))[:limit]
    when = f" · {month_label(report.month)}" if report.month else ""
    table = Table(
        *link_headers(t, sheet=False),
        title=f"{t['title']}{when} · {t['target']} {percent(report.target)} · "
        f"{t['failures']} {report.failures_evaluated}",
    )
    for row in links:
        table.add_row(*link_cells(row, t, sheet=False))
    upgrades = Table(
        t["link"],
        t["tier"],
        t["capacity"],
        t["to"],
        t["first_over"],
        t["order_by"],
        t["worst"],
        title=f"{t['upgrades']} ({len(report.upgrades)})",
    )
    for u in report.upgrades[:limit]:
        upgrades.add_row(
            f"{u.a} – {u.b}",
            u.tier,
            rate_text(u.capacity),
            rate_text(u.to) if u.to is not None else t["no_tier"],
            month_label(u.first_over_target),
            month_label(u.order_by) + (f" ({t['overdue']})" if u.overdue else ""),
            percent(u.worst_utilisation),
        )
    cut = Table(
        t["failure"], t["cut_sites"], t["cut_users"], title=f"{t['isolations']} ({len(report.isolations)})"
    )
    for isolation in report.isolations[:10]:
        cut.add_row(isolation.failure, str(isolation.sites), f"{isolation.users:,.0f}")
    return [table, upgrades, cut]


def write_xlsx(report, doc: dict, out: Path, lang: str = "zh") -> None:  # type: ignore[no-untyped-def]
    """One workbook: links, upgrades, sites, isolations, summary (the JSON document's rows), sheet names and
    headers in ``lang`` (zh-CN by default)."""
    from openpyxl import Workbook

    from egov.atomic import write_bytes

    t = LABELS[lang]
    book = Workbook()
    sheet = book.active
    sheet.title = t["sheet_links"]
    sheet.append(link_headers(t, sheet=True))
    for row in doc["links"]:
        sheet.append(link_cells(row, t, sheet=True))
    ups = book.create_sheet(t["sheet_upgrades"])
    ups.append(
        [
            t["end_a"],
            t["end_b"],
            t["tier"],
            t["capacity"],
            t["to"],
            t["first_over"],
            t["order_by"],
            t["overdue"],
        ]
    )
    for row in doc["upgrades"]:
        ups.append(
            [
                row["a"],
                row["b"],
                row["tier"],
                row["from"],
                row["to"] or t["no_tier"],
                row["first_over_target"],
                row["order_by"],
                "✓" if row["overdue"] else "",
            ]
        )
    sites = book.create_sheet(t["sheet_sites"])
    sites.append([t["sites"], t["demand_peak"]])
    for row in doc["sites"]:
        sites.append([row["site"], row["demand_peak"]])
    cut = book.create_sheet(t["sheet_isolations"])
    cut.append([t["failure"], t["cut_sites"], t["cut_users"]])
    for isolation in report.isolations:
        cut.append([isolation.failure, isolation.sites, isolation.users])
    meta = book.create_sheet(t["sheet_summary"])
    meta.append([t["failures"], doc["failures_evaluated"]])
    meta.append([t["target"], report.target])
    buffer = io.BytesIO()
    book.save(buffer)
    write_bytes(out, _fixed_zip_times(buffer.getvalue()))


def _fixed_zip_times(data: bytes) -> bytes:
    """openpyxl stamps the current time into the archive and docProps; rewrite both so the same report gives
    the same bytes."""
    import re
    import zipfile

    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", b"2000-01-01T00:00:00Z", body)
            fixed = zipfile.ZipInfo(info.filename, date_time=(2000, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(fixed, body)
    return out.getvalue()


# -- the map ----------------------------------------------------------------------------------------------
CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "WenQuanYi Zen Hei", "Source Han Sans SC")
_CJK_FILES = ("NotoSansCJK", "NotoSansSC", "wqy-zenhei", "SourceHanSans")


class MissingFont(RuntimeError):
    """No CJK font: the map's zh-CN labels would print as empty boxes."""


def cjk_font() -> str:
    """The family name of an installed CJK font (fonts installed after matplotlib built its cache are
    added); MissingFont with the install command otherwise."""
    from matplotlib import font_manager

    installed = {font.name for font in font_manager.fontManager.ttflist}
    for name in CJK_FONTS:
        if name in installed:
            return name
    for path in sorted(font_manager.findSystemFonts()):
        if any(key in Path(path).name for key in _CJK_FILES):
            font_manager.fontManager.addfont(path)
    installed = {font.name for font in font_manager.fontManager.ttflist}
    for name in CJK_FONTS:
        if name in installed:
            return name
    raise MissingFont(
        "no CJK font for the map's Chinese labels; install one: sudo apt-get install -y fonts-noto-cjk"
    )


def load_coordinates(path: Path) -> dict[str, tuple[str, float, float]]:
    """data/coordinates.csv: {division code: (name, longitude, latitude)}; errors name file, row, field."""
    import csv

    from egov.errors import SourceError

    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise SourceError(path, "file not found") from None
    out = {}
    for row_no, row in enumerate(csv.DictReader(text.splitlines()), start=2):
        values = []
        for field, low, high in (("longitude", 109.0, 118.0), ("latitude", 20.0, 26.0)):
            raw = (row.get(field) or "").strip()
            try:
                value = float(raw)
            except ValueError:
                raise SourceError(path, f"{raw!r} is not a number", row=row_no, field=field) from None
            if not low <= value <= high:
                raise SourceError(
                    path, f"{value} is outside Guangdong ({low}–{high})", row=row_no, field=field
                )
            values.append(value)
        out[(row.get("code") or "").strip()] = ((row.get("name") or "").strip(), values[0], values[1])
    return out


def _layout(graph, coordinates: dict[str, tuple[str, float, float]]) -> dict[str, tuple[float, float]]:  # type: ignore[no-untyped-def]
    """Map positions: cities at their seats, the province's routers and hubs around Guangzhou's seat,
    counties on a ring around their city and towns on a small ring around their county (schematic)."""
    import math

    province = coordinates.get("440000", ("", 113.27, 23.13))
    pos: dict[str, tuple[float, float]] = {}
    around: dict[str, list[str]] = {}
    for name, dev in sorted(graph.devices.items()):
        if dev.tier == "city":
            _, lon, lat = coordinates.get(dev.division_code, province)
            pos[name] = (lon, lat)
        elif dev.tier == "county":
            around.setdefault(f"GD-CITY-{dev.city_code}", []).append(name)
        elif dev.tier == "town":
            parent = next(i.peer for i in dev.interfaces if i.plane == "primary")
            around.setdefault(parent, []).append(name)
    # the provincial routers sit in Guangzhou; drawn apart, in the empty north-west of the map, so the
    # 10G uplinks of every city stay visible
    centre = (111.0, 24.7)
    for k, name in enumerate(sorted(n for n, d in graph.devices.items() if d.tier in ("core", "access"))):
        pos[name] = (centre[0] + 0.3 * (k % 2), centre[1] + 0.25 * (k // 2))
    departments = sorted(h for h in graph.attachments if h not in ("cloud-dc", "internet-exit"))
    pos["cloud-dc"] = (centre[0] + 0.15, centre[1] + 0.7)
    pos["internet-exit"] = (centre[0] - 0.45, centre[1] + 0.5)
    for k, hub in enumerate(departments):
        angle = math.pi * (0.9 + 0.8 * k / max(len(departments) - 1, 1))
        pos[hub] = (centre[0] + 0.15 + 0.55 * math.cos(angle), centre[1] + 0.12 + 0.45 * math.sin(angle))

    def ring(parent: str, radius: float) -> None:
        children = around.get(parent, [])
        for k, child in enumerate(children):
            angle = 2 * math.pi * k / len(children)
            px, py = pos[parent]
            pos[child] = (px + radius * math.cos(angle), py + radius * math.sin(angle))

    for city in [n for n, d in graph.devices.items() if d.tier == "city"]:
        ring(city, 0.22)
    for county in [n for n, d in graph.devices.items() if d.tier == "county"]:
        ring(county, 0.06)
    return pos


def write_png(
    report, graph, coordinates: dict[str, tuple[str, float, float]], out: Path, lang: str = "zh"
) -> None:  # type: ignore[no-untyped-def]
    """The backbone drawn over the province: every circuit coloured by its worst-case utilisation (green
    below the target, red above), cities at their seats with their Chinese names. Same report → same bytes."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import colormaps, colors
    from matplotlib import pyplot as plt
    from matplotlib.collections import LineCollection

    from egov.atomic import write_bytes

    t = LABELS[lang]
    font = cjk_font()
    pos = _layout(graph, coordinates)
    by_pair = {(link.a, link.b): link for link in report.links}
    norm = colors.TwoSlopeNorm(vmin=0.0, vcenter=report.target, vmax=max(1.0, report.target + 0.01))
    cmap = colormaps["RdYlGn_r"]
    widths = {
        "county_town": 0.3,
        "city_town": 0.3,
        "city_county": 0.8,
        "backup.county_uplink": 0.8,
        "department_access": 0.3,
    }
    segments, shades, sizes, styles = [], [], [], []
    for circuit in sorted(graph.circuits, key=lambda c: by_pair[(c.a, c.b)].worst_utilisation):
        link = by_pair[(circuit.a, circuit.b)]
        segments.append([pos[circuit.a], pos[circuit.b]])
        shades.append(cmap(norm(min(link.worst_utilisation, norm.vmax))))
        sizes.append(widths.get(circuit.tier, 1.8))
        styles.append("dashed" if circuit.plane == "backup" else "solid")
    with plt.rc_context({"font.family": [font, "DejaVu Sans"], "svg.hashsalt": "egov"}):
        fig, ax = plt.subplots(figsize=(13, 9), dpi=110)
        ax.add_collection(LineCollection(segments, colors=shades, linewidths=sizes, linestyles=styles))
        for name, dev in sorted(graph.devices.items()):
            if dev.tier == "city":
                x, y = pos[name]
                ax.plot([x], [y], "o", color="#1f3b73", markersize=5, zorder=3)
                label = coordinates.get(dev.division_code, (dev.name, 0, 0))[0] or dev.name
                ax.annotate(label, (x, y), xytext=(4, 4), textcoords="offset points", fontsize=10, zorder=4)
        province = [pos[n] for n, d in graph.devices.items() if d.tier in ("core", "access")]
        ax.plot([p[0] for p in province], [p[1] for p in province], "s", color="black", markersize=5)
        ax.annotate(
            "省核心/接入 (广州)" if lang == "zh" else "provincial core/access (Guangzhou)",
            province[0],
            xytext=(-30, -16),
            textcoords="offset points",
            fontsize=9,
        )
        for hub, label in (
            ("cloud-dc", "政务云" if lang == "zh" else "cloud DC"),
            ("internet-exit", "互联网出口" if lang == "zh" else "internet exit"),
        ):
            if hub in pos:
                ax.annotate(label, pos[hub], xytext=(4, 4), textcoords="offset points", fontsize=9)
        ax.set_xlim(109.6, 117.4)
        ax.set_ylim(20.8, 25.7)
        ax.set_aspect(1 / 0.92)  # a degree of longitude is ≈ 0.92 of a degree of latitude at 23° N
        ax.set_xlabel("经度 °E" if lang == "zh" else "longitude °E")
        ax.set_ylabel("纬度 °N" if lang == "zh" else "latitude °N")
        when = f" · {month_label(report.month)}" if report.month else ""
        ax.set_title(f"{t['map_title']}{when}")
        bar = fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, shrink=0.7)
        bar.set_label(f"{t['legend']} ({t['target']} {percent(report.target)})")
        fig.text(0.01, 0.01, f"{t['map_note']} · {t['failures']} {report.failures_evaluated}", fontsize=8)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", metadata={"Software": None})
        plt.close(fig)
    write_bytes(out, buffer.getvalue())
