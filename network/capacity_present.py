"""Presenting a backbone capacity report: rates as unit strings, a table, JSON, an XLSX workbook, a map.

Computes nothing: every figure comes from network.linkload.CapacityReport. Text is zh-CN by default,
English on request (``lang="en"``).
"""

from __future__ import annotations

import io
import json
from functools import lru_cache
from pathlib import Path

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
    },
}


def to_json_text(doc: dict) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def percent(value: float) -> str:
    return f"{value * 100:.1f} %"


def render_table(report, lang: str = "zh", limit: int = 30):  # type: ignore[no-untyped-def]
    """Rich renderables: the most loaded links (worst case first) and the upgrades."""
    from rich.table import Table

    t = LABELS[lang]
    links = sorted(report.links, key=lambda link: (-link.worst_utilisation, link.a, link.b))[:limit]
    when = f" · {month_label(report.month)}" if report.month else ""
    table = Table(
        t["link"],
        t["tier"],
        t["capacity"],
        t["peak"],
        t["worst"],
        t["failure"],
        t["first_over"],
        title=f"{t['title']}{when} · {t['target']} {percent(report.target)} · "
        f"{t['failures']} {report.failures_evaluated}",
    )
    for link in links:
        table.add_row(
            f"{link.a} – {link.b}",
            link.tier,
            rate_text(link.capacity),
            percent(link.peak_utilisation),
            percent(link.worst_utilisation),
            link.worst_failure or t["none"],
            month_label(link.first_over_target) if link.first_over_target else "",
        )
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
    return [table, upgrades]


def write_xlsx(report, doc: dict, out: Path, lang: str = "zh") -> None:  # type: ignore[no-untyped-def]
    """One workbook: links, upgrades, sites (the JSON document's rows, with translated headers)."""
    from openpyxl import Workbook

    from egov.atomic import write_bytes

    t = LABELS[lang]
    book = Workbook()
    sheet = book.active
    sheet.title = "links"
    sheet.append(["a", "b", t["tier"], t["capacity"], t["peak"], t["worst"], t["failure"], t["first_over"]])
    for row in doc["links"]:
        sheet.append(
            [
                row["a"],
                row["b"],
                row["tier"],
                row["capacity"],
                row["peak_utilisation"],
                row["worst_utilisation"],
                row["worst_failure"] or "",
                row["first_over_target"] or "",
            ]
        )
    ups = book.create_sheet("upgrades")
    ups.append(["a", "b", t["tier"], t["capacity"], t["to"], t["first_over"], t["order_by"], t["overdue"]])
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
    sites = book.create_sheet("sites")
    sites.append([t["sites"], "demand_peak"])
    for row in doc["sites"]:
        sites.append([row["site"], row["demand_peak"]])
    meta = book.create_sheet("summary")
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
