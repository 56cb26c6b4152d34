"""Presenting a fit simulation: the JSON document, the rich tables and the CSV rows. No arithmetic here
beyond differences and unit display; every figure comes from capacity.fit."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from capacity.fit import FitReport, MonthFit
from egov.i18n import language, resource_name, translations
from egov.model import Planning, ResourceClass
from egov.months import month_label
from egov.units import Q_, human

if TYPE_CHECKING:
    from capacity.fit_risk import FitRisk


def resource_text(resource: ResourceClass, value: float, unit: str) -> str:
    """A free or stranded amount with its unit ('412 vcpu', '1.3 TiB', '8 vgpu')."""
    if resource == "VCPU":
        return f"{round(value)} vcpu"
    return human(Q_(value, unit))


def _months(planning: Planning, report: FitReport, month: int | None) -> list[int]:
    return list(range(len(report.months))) if month is None else [month]


def _flavor_names(report: FitReport, flavor: str | None) -> list[str]:
    return [f.name for f in report.flavors if flavor is None or f.name == flavor]


def fit_json(
    planning: Planning, report: FitReport, flavor: str | None = None, month: int | None = None
) -> dict[str, Any]:
    """The machine-readable fit report: per zone, month series of hosts, VMs, free/stranded and flavors."""
    chosen = _months(planning, report, month)
    series = [report.months[i] for i in chosen]
    zones = []
    for az in report.zones:
        first = report.first_unplaced_month(az)
        zones.append(
            {
                "az": az,
                "first_month_unplaced": None if first is None else month_label(planning.month(first)),
                "hosts_enabled": [m.hosts_enabled[az] for m in series],
                "hosts_used": [m.hosts_used[az] for m in series],
                "hosts_lower_bound": [m.hosts_lower_bound[az] for m in series],
                "vms_placed": [m.vms_placed.get(az, 0) for m in series],
                "vms_unplaced": [m.vms_unplaced.get(az, 0) for m in series],
                "resources": [
                    {
                        "resource": rc,
                        "unit": report.unit(rc),
                        "free": [round(m.free[(az, rc)], 3) for m in series],
                        "stranded": [round(m.stranded[(az, rc)], 3) for m in series],
                    }
                    for rc in report.resources_of(az)
                ],
                "flavors": [
                    {
                        "flavor": name,
                        "fits": [m.flavor_fits[(az, name)] for m in series],
                        "sums": [m.flavor_sums[(az, name)] for m in series],
                        "loss": [m.flavor_sums[(az, name)] - m.flavor_fits[(az, name)] for m in series],
                    }
                    for name in _flavor_names(report, flavor)
                ],
            }
        )
    return {
        "weigher": report.weigher.value,
        "months": [month_label(planning.month(i)) for i in chosen],
        "zones": zones,
        "unplaced": [
            {
                "system": u.system_id,
                "az": u.az,
                "flavor": u.flavor,
                "first_month": month_label(planning.month(u.month)),
                "vms_missing": u.missing,
            }
            for u in report.unplaced
        ],
    }


def fit_rows(planning: Planning, report: FitReport, flavor: str | None = None) -> list[list[str]]:
    """One CSV row per month, zone and flavor: how many more fit (Placement), what the sums promise, loss."""
    rows = [["month", "az", "flavor", "fits", "sums", "loss"]]
    for i, m in enumerate(report.months):
        label = month_label(planning.month(i))
        for az in report.zones:
            for name in _flavor_names(report, flavor):
                fits, sums = m.flavor_fits[(az, name)], m.flavor_sums[(az, name)]
                rows.append([label, az, name, str(fits), str(sums), str(sums - fits)])
    return rows


def _snapshot_months(report: FitReport) -> list[int]:
    """The months a table shows: the first of each year of the horizon and the last."""
    last = len(report.months) - 1
    return sorted({*range(0, last + 1, 12), last})


def render_fit_table(
    planning: Planning,
    report: FitReport,
    console: Console,
    flavor: str | None = None,
    month: int | None = None,
    lang: str | None = None,
) -> None:
    """The operators' view, in ``lang`` (zh-CN by default): how many more VMs of each flavor fit per zone,
    against what the sums promise; then per zone stranded capacity, hosts used against the lower bound, and
    VMs without a host."""
    _ = translations(language(lang)).gettext
    shown = _snapshot_months(report) if month is None else [month]
    table = Table(
        title=_("Fit (%(weigher)s): how many more VMs of each flavor fit, host by host")
        % {"weigher": report.weigher.value}
        + " [dim]("
        + _("sums promise")
        + ")[/]"
    )
    table.add_column(_("zone"))
    table.add_column(_("flavor"))
    for i in shown:
        table.add_column(month_label(planning.month(i)), justify="right")
    for az in report.zones:
        for name in _flavor_names(report, flavor):
            cells = []
            for i in shown:
                m = report.months[i]
                fits, sums = m.flavor_fits[(az, name)], m.flavor_sums[(az, name)]
                style = "red" if fits == 0 else "yellow" if fits < sums else ""
                text = f"{fits}" if fits == sums else f"{fits} [dim]({sums})[/]"
                cells.append(f"[{style}]{text}[/]" if style else text)
            table.add_row(az, name, *cells)
    console.print(table)
    _render_zones(planning, report, console, shown[-1], lang)


def _render_zones(
    planning: Planning, report: FitReport, console: Console, index: int, lang: str | None = None
) -> None:
    _ = translations(language(lang)).gettext
    m: MonthFit = report.months[index]
    label = month_label(planning.month(index))
    table = Table(
        title=_("Zones in %(month)s: stranded capacity (free but no flavor can use it), hosts")
        % {"month": label}
    )
    for title, left in (
        (_("zone"), True),
        (_("resource"), True),
        (_("free"), False),
        (_("stranded"), False),
        (_("hosts used"), False),
        (_("lower bound"), False),
        (_("VMs"), False),
        (_("no host"), False),
    ):
        table.add_column(title, justify="left" if left else "right")
    for az in report.zones:
        for k, rc in enumerate(report.resources_of(az)):
            first = k == 0
            unplaced = m.vms_unplaced.get(az, 0)
            table.add_row(
                az if first else "",
                resource_name(rc, lang, placement=True),
                resource_text(rc, m.free[(az, rc)], report.unit(rc)),
                resource_text(rc, m.stranded[(az, rc)], report.unit(rc)),
                _("%(used)s of %(enabled)s") % {"used": m.hosts_used[az], "enabled": m.hosts_enabled[az]}
                if first
                else "",
                str(m.hosts_lower_bound[az]) if first else "",
                str(m.vms_placed.get(az, 0)) if first else "",
                (f"[red]{unplaced}[/]" if unplaced else "0") if first else "",
            )
    console.print(table)
    for az in report.zones:
        first_month = report.first_unplaced_month(az)
        if first_month is None:
            console.print(
                "[green]" + _("%(zone)s: every VM finds a host in every month.") % {"zone": az} + "[/]"
            )
            continue
        systems = [u for u in report.unplaced if u.az == az]
        names = ", ".join(f"{u.system_id} ({u.flavor})" for u in systems[:5])
        more = _(" and %(count)s more") % {"count": len(systems) - 5} if len(systems) > 5 else ""
        console.print(
            "[bold red]"
            + _("%(zone)s: from %(month)s some VMs find no host")
            % {"zone": az, "month": month_label(planning.month(first_month))}
            + "[/] — "
            + _("%(count)s systems: %(names)s%(more)s")
            % {"count": len(systems), "names": names, "more": more}
        )


def fit_csv(planning: Planning, report: FitReport, flavor: str | None = None) -> str:
    """:func:`fit_rows` as CSV text."""
    import csv
    import io

    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(fit_rows(planning, report, flavor))
    return buffer.getvalue()


def fit_risk_json(planning: Planning, risk: FitRisk) -> dict[str, object]:
    """The ``fit`` object of `egov capacity risk --fit-draws N --format json`."""
    return {
        "draws": risk.draws,
        "of_draws": risk.risk_draws,
        "seed": risk.seed,
        "weigher": risk.weigher.value,
        "flavors": [
            {
                "az": f.az,
                "flavor": f.flavor,
                "probability_no_host_by_end": round(float(f.no_host_by_month[-1]), 6),
                "p50_no_host": None if f.p50_no_host is None else month_label(planning.month(f.p50_no_host)),
                "no_host_by_month": [round(float(v), 6) for v in f.no_host_by_month],
            }
            for f in risk.flavors
        ],
    }


def render_fit_risk(planning: Planning, risk: FitRisk, console: Console) -> None:
    """Per zone and flavor: the share of draws in which it has found no host by the end of each year."""
    years = [m for m in range(11, planning.horizon_months, 12)] or [planning.horizon_months - 1]
    table = Table(
        title=f"Fit risk: P(a new VM of the flavor finds no host) by month, first {risk.draws} of "
        f"{risk.risk_draws} draws (seed {risk.seed}, {risk.weigher.value}; ± about {1 / risk.draws**0.5:.0%})"
    )
    table.add_column("zone")
    table.add_column("flavor")
    for m in years:
        table.add_column(f"by {month_label(planning.month(m))}", justify="right")
    table.add_column("P50 no host")
    for f in risk.flavors:
        p50 = None if f.p50_no_host is None else month_label(planning.month(f.p50_no_host))
        table.add_row(
            f.az,
            f.flavor,
            *(f"{f.no_host_by_month[m]:.0%}" for m in years),
            p50 or "[green]beyond horizon[/]",
        )
    console.print(table)
