"""Presenting a procurement plan: the JSON document (contract of issue 12), the table, the workbook and the
scenario file of its tranches. Every figure comes from capacity.plan."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any

import yaml
from rich.console import Console
from rich.table import Table

from capacity.building_present import building_json
from capacity.plan import Plan, Tranche, Trim, expansions_of
from egov.i18n import language, translations
from egov.months import month_label


def cny(value: float) -> str:
    """A cost as a unit string, whole yuan: '1850000 CNY'."""
    return f"{round(value)} CNY"


def _month(plan: Plan, index: int) -> str:
    return month_label(plan.source.planning.month(index))


def tranche_json(plan: Plan, tranche: Tranche) -> dict[str, Any]:
    return {
        "order_by": _month(plan, tranche.order_by),
        "overdue": tranche.order_by < 0,
        "deliver": _month(plan, tranche.deliver),
        "kind": tranche.option.kind,
        "model": tranche.option.model,
        "count": tranche.count,
        "target": tranche.option.target,
        "zone": tranche.option.zone,
        "cost": cny(tranche.cost),
        "power_kw": round(tranche.power_kw, 3),
        "rack_units": tranche.rack_units,
        "racks": list(tranche.racks),
    }


def plan_json(plan: Plan, scenario: str | None = None) -> dict[str, Any]:
    """The plan as one JSON object: tranches, total_cost, naive_cost, confidence, building, and the proof."""
    planning = plan.source.planning
    return {
        "region": plan.source.cloud.region,
        "scenario": scenario,
        "start_month": month_label(planning.start_month),
        "horizon_months": planning.horizon_months,
        "headroom_target_percent": round(planning.headroom_target * 100, 3),
        "weigher": plan.fit.weigher.value,
        "confidence": plan.confidence,
        "proven": plan.proven,
        "failures": plan.failures,
        "rounds": plan.rounds,
        "tranches": [tranche_json(plan, t) for t in plan.tranches],
        "total_cost": cny(plan.total_cost),
        "present_value": cny(plan.present_value),
        "discount_rate": plan.prices.discount_rate,
        # the naive baseline (capacity.plan.OneShot): the sum-based purchase per aggregate class bought in one
        # go; naive_cost prices it as grown until the fit places every VM — what the plan must not exceed
        "naive_cost": None if plan.naive_cost is None else cny(plan.naive_cost),
        "naive_sums_cost": None if plan.naive is None else cny(plan.naive.sums_cost),
        "naive_feasible": None if plan.naive is None else plan.naive.feasible,
        "naive_unplaced_months": None if plan.naive is None else plan.naive.unplaced_months,
        "naive_proven": None if plan.naive is None else plan.naive.proven,
        "naive_failures": [] if plan.naive is None else plan.naive.failures,
        "naive_tranches": [] if plan.naive is None else [tranche_json(plan, t) for t in plan.naive.tranches],
        "from_one_shot": plan.from_one_shot,
        # the trim pass (capacity.plan.trim): the cost before it, proofs spent, whether its cap cut it short
        "trim": None
        if plan.trim is None
        else {
            "cost_before": cny(plan.trim.cost_before),
            "proofs": plan.trim.proofs,
            "capped": plan.trim.capped,
        },
        "proof": {
            "lines_below_target": sum(line.first_below_target is not None for line in plan.assessment.lines),
            "vms_unplaced_months": sum(any(m.vms_unplaced.values()) for m in plan.fit.months),
            "building_limits_crossed": 0
            if plan.building is None
            else sum(v is not None for room in plan.building.rooms for v in room.first_exhausted.values()),
        },
        "building": [] if plan.building is None else building_json(plan.building, plan.applied),
    }


def trim_json(trim: Trim) -> dict[str, Any]:
    return {"cost_before": cny(trim.cost_before), "proofs": trim.proofs, "capped": trim.capped}


def render_plan(plan: Plan, console: Console, lang: str | None = None) -> None:
    """The tranches as a table, then the totals and the proof, in ``lang`` (zh-CN by default)."""
    _ = translations(language(lang)).gettext
    planning = plan.source.planning
    sized = (
        _("the sums")
        if plan.confidence is None
        else _("the %(share)s Monte Carlo demand") % {"share": f"{plan.confidence:.0%}"}
    )
    console.print(
        f"[bold]{plan.source.cloud.region}[/]"
        + _(
            ": procurement plan for %(start)s → %(end)s, sized on %(sized)s, proven by the fit (%(weigher)s) "
            "in %(rounds)s round(s)"
        )
        % {
            "start": month_label(planning.start_month),
            "end": month_label(planning.end_month),
            "sized": sized,
            "weigher": plan.fit.weigher.value,
            "rounds": plan.rounds,
        }
    )
    table = Table(title=_("Tranches (one order-by per tranche)"))
    for title, right in (
        (_("order by"), False),
        (_("delivery"), False),
        (_("kind"), False),
        (_("model"), False),
        (_("count"), True),
        (_("into"), False),
        (_("cost"), True),
        ("kW", True),
        ("U", True),
        (_("racks"), False),
    ):
        table.add_column(title, justify="right" if right else "left")
    for t in plan.tranches:
        order = _month(plan, t.order_by)
        racks = ", ".join(t.racks[:3]) + (f" … (+{len(t.racks) - 3})" if len(t.racks) > 3 else "")
        table.add_row(
            f"[bold red]{order} ({_('overdue')})[/]" if t.order_by < 0 else order,
            _month(plan, t.deliver),
            _("host") if t.option.kind == "host" else _("disk"),
            t.option.model,
            str(t.count),
            t.option.target,
            cny(t.cost),
            f"{t.power_kw:.1f}",
            str(t.rack_units),
            racks,
        )
    console.print(table)
    console.print(
        _("Total %(total)s (present value at %(rate)s a year: %(value)s)")
        % {
            "total": cny(plan.total_cost),
            "rate": f"{plan.prices.discount_rate:.0%}",
            "value": cny(plan.present_value),
        }
    )
    console.print(naive_sentence(plan, _))
    if plan.proven:
        console.print(
            "[green]"
            + _(
                "Proven: with these tranches every resource line keeps the target in every month, every VM "
                "finds a host in the fit, and no room crosses a limit."
            )
            + "[/]"
        )
    else:
        console.print("[bold red]" + _("Not proven:") + "[/] " + "; ".join(plan.failures[:8]))


def naive_sentence(plan: Plan, _: Callable[[str], str]) -> str:
    """The naive baseline beside the plan: the one-shot per class on the sums, whether the fit places every
    VM with it, what it costs grown until the fit does, and how the plan compares."""
    naive = plan.naive
    if naive is None:
        return _("One-shot purchase: no price for every unit it needs.")
    if not naive.tranches:
        return _("One-shot purchase: nothing to buy.")
    order = _month(plan, max(t.order_by for t in naive.tranches))
    text = _(
        "One-shot purchase per aggregate class on the sums, ordered in one go by %(order)s: %(sums)s"
    ) % {"order": order, "sums": cny(naive.sums_cost)}
    if naive.feasible:
        text += _("; the fit places every VM with it.")
    else:
        text += _(
            "; it leaves VMs without a host in %(months)s months of the fit, grown until the fit places "
            "every VM: %(cost)s."
        ) % {"months": naive.unplaced_months, "cost": cny(naive.cost)}
    if not naive.proven:
        text += " " + _("It is no plan: %(why)s.") % {"why": "; ".join(naive.failures[:4])}
    elif plan.proven and plan.total_cost <= naive.cost:
        text += " " + _("The staged plan costs %(difference)s less.") % {
            "difference": cny(naive.cost - plan.total_cost)
        }
    elif plan.proven:
        text += " " + _("The staged plan costs %(difference)s more.") % {
            "difference": cny(plan.total_cost - naive.cost)
        }
    return text


def scenario_text(plan: Plan, name: str = "plan", base: dict[str, Any] | None = None) -> str:
    """The tranches as a scenario file (planned expansions) that `egov capacity check --scenario` accepts;
    with ``base`` (the scenario the plan was made on, as read from its YAML) its overrides are kept and the
    tranches added to its expansions, so the file describes the same cloud the plan was proven on."""
    document: dict[str, Any] = {
        key: value for key, value in (base or {}).items() if key not in ("name", "description")
    }
    document = {
        "name": name,
        "description": f"the procurement plan's {len(plan.tranches)} tranches, {cny(plan.total_cost)}",
        **document,
        "expansions": [*document.get("expansions", []), *expansions_of(plan.source, plan.tranches)],
    }
    return "# Written by `egov capacity plan --scenario-out`.\n" + yaml.safe_dump(
        document, allow_unicode=True, sort_keys=False
    )


def _tranche_rows(plan: Plan, tranches: Sequence[Tranche], _: Callable[[str], str]) -> list[list[Any]]:
    """The header and one row per tranche, as the workbook's 'Plan' and 'One-shot' sheets both show them:
    months as YYYY-MM text, cost in whole yuan, power in kW, rack units."""
    rows: list[list[Any]] = [
        [
            _("order by"),
            _("delivery"),
            _("kind"),
            _("model"),
            _("count"),
            _("into"),
            _("cost (CNY)"),
            _("power (kW)"),
            _("rack units (U)"),
        ]
    ]
    for t in tranches:
        rows.append(
            [
                _month(plan, t.order_by),
                _month(plan, t.deliver),
                _("host") if t.option.kind == "host" else _("disk"),
                t.option.model,
                t.count,
                t.option.target,
                round(t.cost),
                round(t.power_kw, 3),
                t.rack_units,
            ]
        )
    return rows


def plan_workbook(plan: Plan, lang: str | None = None) -> bytes:
    """The plan as a workbook in ``lang`` (zh-CN by default): 'Plan' (one row per tranche, then the totals),
    'One-shot' (the naive baseline's tranches, same columns) and 'Building' (one row per room and month);
    byte-identical for the same plan (fixed timestamps, normalised zip)."""
    import zipfile
    from datetime import datetime

    from openpyxl import Workbook
    from openpyxl.writer.excel import ExcelWriter

    from capacity.report import normalised_zip

    _ = translations(language(lang)).gettext
    book = Workbook()
    fixed = datetime.combine(plan.source.planning.start_month, datetime.min.time())
    book.properties.created = fixed
    book.properties.modified = fixed
    sheet = book.active
    assert sheet is not None
    sheet.title = _("Plan")
    for row in _tranche_rows(plan, plan.tranches, _):
        sheet.append(row)
    blank = [""] * 5  # the label in the first column, the figure under the cost column
    sheet.append([])
    sheet.append([_("total"), *blank, round(plan.total_cost)])
    naive_cost = None if plan.naive_cost is None else round(plan.naive_cost)
    sheet.append([_("one-shot purchase"), *blank, naive_cost])
    if plan.naive is not None:
        sheet.append([_("one-shot purchase on the sums"), *blank, round(plan.naive.sums_cost)])
        sheet.append([_("months with VMs without a host"), *blank, plan.naive.unplaced_months])
        naive = book.create_sheet(_("One-shot"))
        for row in _tranche_rows(plan, plan.naive.tranches, _):
            naive.append(row)
    if plan.building is not None:
        rooms = book.create_sheet(_("Building"))
        rooms.append(
            [
                _("room"),
                _("month"),
                _("rack units used"),
                _("rack units in all"),
                _("IT load (kW)"),
                _("cooling (kW)"),
                "PUE",
            ]
        )
        for room in plan.building.rooms:
            for index, pue in enumerate(room.pue):
                rooms.append(
                    [
                        room.room.name,
                        _month(plan, index),
                        int(room.rack_units_used[index]),
                        room.rack_units_total,
                        round(float(room.it_kw[index]), 3),
                        room.room.cooling_kw,
                        pue,
                    ]
                )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(book, archive).save()
    return normalised_zip(buffer.getvalue())
