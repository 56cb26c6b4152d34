"""`egov network policy …`: render the zone filters per vendor, check every intent statically, MLPS evidence.

Each command parses its flags and calls one function of the package. Tables are in Chinese by default
(``--lang en`` for English); JSON field names are the contract of issue 13 and never translated.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from egov.clitools import TableOrJson, print_error

policy_app = typer.Typer(no_args_is_help=True, help="Zone policy (安全区域策略): render, check, evidence.")
console = Console(emoji=False, highlight=False)
errors = Console(stderr=True, emoji=False, highlight=False)


class Lang(StrEnum):
    zh = "zh"
    en = "en"


TEXT = {
    "zh": {
        "intent": "意图",
        "vendor": "厂商",
        "flow": "流",
        "service": "服务",
        "expect": "期望",
        "verdict": "结论",
        "ok": "通过",
        "bad": "失败",
        "summary": "{n} 条意图 × {v} 个厂商：{bad} 条失败；不可达行 {u}，被遮蔽行 {s}",
        "findings": "过滤规则问题",
        "written": "{n} 个 {vendor} 过滤文件 → {out}",
        "control": "控制点",
        "clause": "条款",
        "lines": "生成的规则",
        "tests": "证明的测试",
    },
    "en": {
        "intent": "intent",
        "vendor": "vendor",
        "flow": "flow",
        "service": "service",
        "expect": "expect",
        "verdict": "verdict",
        "ok": "ok",
        "bad": "FAIL",
        "summary": "{n} intents × {v} vendors: {bad} failed; {u} unreachable lines, {s} shadowed lines",
        "findings": "filter line findings",
        "written": "{n} {vendor} filter files → {out}",
        "control": "control point",
        "clause": "clause",
        "lines": "generated lines",
        "tests": "proving tests",
    },
}

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data", "--data-dir", help="Source-of-truth directory (default: data/).", envvar="EGOV_DATA"
    ),
]
LangOption = Annotated[Lang, typer.Option("--lang", help="zh (default) or en.")]


def _vendor_names(value: list[str] | None) -> list[str] | None:
    from network.zonepolicy.compile import VENDORS

    for name in value or []:
        if name not in VENDORS:
            raise typer.BadParameter(f"{name!r} is not one of {', '.join(VENDORS)}")
    return value


def _compile(data_dir: Path | None, vendors: tuple[str, ...]):  # type: ignore[no-untyped-def]
    """The backbone, its zones and the rendered filters; bad input stops with its location (status 2)."""
    from egov.errors import SourceError, SourceErrors
    from network.addressing import AddressPlan, AddressPlanError
    from network.params import DATA_DIR, load_params
    from network.topology import build_backbone
    from network.zonepolicy.compile import compile_policy
    from network.zonepolicy.intents import ZONES_FILE

    root = data_dir or DATA_DIR
    try:
        params = load_params(root / "network.yaml")
        backbone = build_backbone(data_dir=data_dir, params=params)
        return compile_policy(backbone, AddressPlan(params), vendors=vendors, zones_file=root / ZONES_FILE)
    except (SourceError, SourceErrors, AddressPlanError) as exc:
        print_error(str(exc))
        raise typer.Exit(2) from None


@policy_app.command()
def render(
    vendor: Annotated[str, typer.Option("--vendor", help="vrp, iosxe or frr (nftables).")],
    out: Annotated[Path, typer.Option("--out", help="Directory to write; replaced whole, atomically.")],
    lang: LangOption = Lang.zh,
    data_dir: DataDir = None,
) -> None:
    """Write each device's zone filters and their bindings, the Aerleon policy and definitions, and
    attachments.json (device, interface, direction, filter) for inclusion in the device configs."""
    from network.zonepolicy.render import write_policy

    _vendor_names([vendor])
    compiled = _compile(data_dir, (vendor,))
    written = write_policy(compiled, vendor, out)
    console.print(TEXT[lang]["written"].format(n=len(written), vendor=vendor, out=out))


@policy_app.command()
def check(
    fmt: Annotated[TableOrJson, typer.Option("--format", help="table or json.")] = TableOrJson.table,
    vendors: Annotated[
        list[str] | None,
        typer.Option("--vendor", callback=_vendor_names, help="Only these vendors (repeatable)."),
    ] = None,
    lang: LangOption = Lang.zh,
    data_dir: DataDir = None,
) -> None:
    """Every intent of data/zones.yaml against the filters as rendered (parsed back) for each vendor, along
    the model's paths; unreachable and shadowed filter lines. Exits 1 when anything fails."""
    from network.zonepolicy.compile import VENDORS, check_policy

    compiled = _compile(data_dir, tuple(vendors or VENDORS))
    report = check_policy(compiled)
    doc = report.as_dict(compiled.spec)
    if fmt is TableOrJson.json:
        console.print_json(json.dumps(doc, ensure_ascii=False))
    else:
        t = TEXT[lang]
        if not console.is_terminal:
            console.width = max(console.width, 160)
        table = Table(t["intent"], t["vendor"], t["flow"], t["service"], t["expect"], t["verdict"], "")
        for r in doc["intents"]:
            table.add_row(
                r["name"],
                r["vendor"],
                f"{r['src']} → {r['dst']}",
                r["service"],
                r["expect"],
                r["verdict"],
                t["ok"] if r["ok"] else f"[red]{t['bad']}[/] {escape(r['counterexample'])}",
            )
        console.print(table)
        if doc["findings"]:
            found = Table("vendor", "kind", "filter", "line", "text", "by", title=t["findings"])
            for f in doc["findings"]:
                found.add_row(
                    f["vendor"],
                    f["kind"],
                    f["filter"],
                    str(f["line"]),
                    f["text"],
                    f"{f['by_line']}: {f['by_text']}",
                )
            console.print(found)
        bad = sum(1 for r in doc["intents"] if not r["ok"])
        console.print(
            t["summary"].format(
                n=len(compiled.spec.intents),
                v=len(compiled.rendered),
                bad=bad,
                u=doc["unreachable_lines"],
                s=doc["shadowed_lines"],
            )
        )
    if not report.ok:
        raise typer.Exit(1)


@policy_app.command()
def evidence(
    fmt: Annotated[TableOrJson, typer.Option("--format", help="table or json.")] = TableOrJson.table,
    lang: LangOption = Lang.zh,
    data_dir: DataDir = None,
) -> None:
    """MLPS 2.0 (GB/T 22239-2019) evidence: per control point, the generated filter lines and the tests."""
    from network.zonepolicy.evidence import evidence as build

    compiled = _compile(data_dir, ())
    rows = build(compiled.filters)
    if fmt is TableOrJson.json:
        console.print_json(json.dumps({"controls": rows}, ensure_ascii=False))
        return
    t = TEXT[lang]
    if not console.is_terminal:
        console.width = max(console.width, 200)  # piped: keep whole term and test names
    table = Table(t["control"], t["clause"], t["lines"], t["tests"], show_lines=True)
    for row in rows:
        title = row["title_zh"] if lang is Lang.zh else row["title_en"]
        table.add_row(
            f"{row['control']}\n{title}", row["clause"], "\n".join(row["lines"]), "\n".join(row["tests"])
        )
    console.print(table)
