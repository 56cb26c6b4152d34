"""The `egov network` commands: render, check, show, inventory (and the lab's `lab` and `deploy`).

Only typer and rich are imported at module level; the model is imported inside each command.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from egov.clitools import TableOrJson, print_error, progress_bar
from network.lab.cli import deploy, lab_app
from network.vendors import VENDORS
from network.zonepolicy.cli import policy_app

app = typer.Typer(no_args_is_help=True)
app.add_typer(lab_app, name="lab")
app.add_typer(policy_app, name="policy")
app.command("deploy")(deploy)

console = Console(emoji=False, highlight=False)
errors = Console(stderr=True, emoji=False, highlight=False)


DEFAULT_VENDOR = next(iter(VENDORS))


def _known_vendors(value: str | list[str] | None) -> str | list[str] | None:
    """--vendor takes any name of the vendor registry (also vendors registered after import)."""
    for name in [value] if isinstance(value, str) else value or []:
        if name not in VENDORS:
            raise typer.BadParameter(f"{name!r} is not one of {', '.join(VENDORS)}")
    return value


class InventoryFormat(StrEnum):
    csv = "csv"
    json = "json"


def _progress() -> Progress:
    return progress_bar(errors)


def _load(data_dir: Path | None):  # type: ignore[no-untyped-def]
    """The backbone and its parameters; a bad input file stops with its location, exit status 2."""
    from egov.errors import SourceError, SourceErrors
    from network.addressing import AddressPlanError
    from network.params import DATA_DIR, load_params
    from network.topology import build_backbone

    try:
        params = load_params((data_dir or DATA_DIR) / "network.yaml")
        return build_backbone(data_dir=data_dir, params=params), params
    except (SourceError, SourceErrors, AddressPlanError) as exc:
        print_error(str(exc))
        raise typer.Exit(2) from None


def _zone_filters(backbone, vendor: str, params, data_dir: Path | None):  # type: ignore[no-untyped-def]
    """The zone policy rendered for ``vendor``; a bad data/zones.yaml stops with its location (status 2)."""
    from egov.errors import SourceError, SourceErrors
    from network.params import DATA_DIR
    from network.render import zone_filters
    from network.zonepolicy.intents import ZONES_FILE

    try:
        return zone_filters(backbone, vendor, params, (data_dir or DATA_DIR) / ZONES_FILE)
    except (SourceError, SourceErrors) as exc:
        print_error(str(exc))
        raise typer.Exit(2) from None


DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data", "--data-dir", help="Source-of-truth directory (default: data/).", envvar="EGOV_DATA"
    ),
]
VendorOption = Annotated[
    str,
    typer.Option(
        "--vendor", callback=_known_vendors, help=f"{', '.join(VENDORS)} (default: {DEFAULT_VENDOR})."
    ),
]


@app.command()
def render(
    out: Annotated[Path, typer.Option("--out", help="Directory to write; replaced whole, atomically.")],
    vendor: VendorOption = DEFAULT_VENDOR,
    only: Annotated[
        str | None, typer.Option("--only", help="Only the devices of this city code, e.g. 440100.")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Render every router's config into OUT, one file per device named by hostname, with its zone filters
    (data/zones.yaml) bound on its ports; for FRR the filters are each device's nftables file HOSTNAME.nft."""
    from network.render import render_all

    backbone, params = _load(data_dir)
    zone = _zone_filters(backbone, vendor, params, data_dir)
    names = sorted(backbone.devices)
    if only is not None:
        names = [n for n in names if backbone.devices[n].city_code == only]
        if not names:
            print_error(f"no device in city {only!r}")
            raise typer.Exit(2)
    with _progress() as progress:
        task = progress.add_task(f"render {vendor}", total=len(names))
        render_all(backbone, vendor, out, params, lambda _: progress.advance(task), names, zone)
    console.print(f"{len(names)} {vendor} configs in {out}")


@app.command()
def check(
    fmt: Annotated[TableOrJson, typer.Option("--format", help="table or json.")] = TableOrJson.table,
    vendors: Annotated[
        list[str] | None,
        typer.Option("--vendor", callback=_known_vendors, help="Parse back only these vendors (repeatable)."),
    ] = None,
    parse_back: Annotated[bool, typer.Option(help="Render and parse back every config (ttp).")] = True,
    data_dir: DataDir = None,
) -> None:
    """Static verification: link ends agree, no duplicate address, every site reaches the core, every city
    survives any single link loss, the isolated domain shares nothing, rendered configs equal the model.
    Exits 1 on any violation."""
    from network.render import render_device
    from network.verify import check_model, check_rendered

    backbone, params = _load(data_dir)
    violations = check_model(backbone, params)
    if parse_back:
        names = sorted(backbone.devices)
        with _progress() as progress:
            for vendor in vendors or list(VENDORS):
                zone = _zone_filters(backbone, vendor, params, data_dir)
                task = progress.add_task(f"parse-back {vendor}", total=len(names))
                for name in names:
                    text = render_device(backbone, name, vendor, params, zone)
                    violations += check_rendered(backbone, vendor, name, text)
                    progress.advance(task)
    unpinned = sorted(set(_department_ids(backbone)) - set(params.departments))
    if fmt is TableOrJson.json:
        doc = {
            "devices": len(backbone.devices),
            "links": len(backbone.links),
            "violations": [v.as_dict() for v in violations],
            "unpinned_departments": unpinned,
        }
        console.print_json(json.dumps(doc, ensure_ascii=False))
    else:
        counts = ", ".join(f"{n} {t}" for t, n in backbone.counts().items())
        console.print(f"{len(backbone.devices)} devices ({counts}), {len(backbone.links)} links")
        if unpinned:
            console.print(f"[yellow]note:[/] VPN ids not pinned in network.yaml for {', '.join(unpinned)}")
        if violations:
            table = Table("check", "device", "interface", "problem", title=f"{len(violations)} violations")
            for v in violations:
                table.add_row(v.check, v.device, v.interface, v.message)
            console.print(table)
        else:
            console.print("[green]all checks pass[/]")
    if violations:
        raise typer.Exit(1)


def _department_ids(backbone) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(
        {a.customer for d in backbone.by_tier("access") for a in d.attachments if a.vrf.startswith("dept-")}
    )


@app.command()
def show(
    device: Annotated[str, typer.Argument(help="Hostname, e.g. GD-CITY-440100.")],
    vendor: VendorOption = DEFAULT_VENDOR,
    config: Annotated[bool, typer.Option("--config", help="Print the rendered config instead.")] = False,
    data_dir: DataDir = None,
) -> None:
    """One device: role, addresses, interfaces, LANs, OSPF areas, iBGP neighbours (or its config)."""
    from network.naming import interface_name
    from network.render import render_device

    backbone, params = _load(data_dir)
    dev = backbone.devices.get(device)
    if dev is None:
        close = [n for n in backbone.devices if device.upper() in n][:5]
        errors.print(
            f"[red]error:[/] no device {device!r}" + (f"; did you mean {', '.join(close)}?" if close else "")
        )
        raise typer.Exit(2)
    if config:
        zone = _zone_filters(backbone, vendor, params, data_dir)
        typer.echo(render_device(backbone, device, vendor, params, zone), nl=False)
        return
    if not console.is_terminal:
        console.width = max(console.width, 160)  # piped: keep whole names and addresses
    console.print(f"[bold]{dev.hostname}[/]  {dev.tier}  {dev.division_code} {dev.name}")
    console.print(
        f"loopback {dev.loopback_v4} {dev.loopback_v6.ip}   OSPF areas {', '.join(map(str, dev.ospf_areas))}"
    )
    if dev.management_port is not None:
        vrf = backbone.management[dev.domain].vrf
        mgmt_v6 = f" {dev.management_port_v6}" if dev.management_port_v6 is not None else ""
        console.print(f"management VRF {vrf} {dev.management_port}{mgmt_v6} (out-of-band)")
    table = Table("port", "name", "peer", "IPv4", "IPv6", "bandwidth", "plane", "area", "cost", "hello/dead")
    for i in dev.interfaces:
        table.add_row(
            str(i.port),
            interface_name(vendor, i),
            f"{i.peer} ({i.peer_port})",
            str(i.address_v4),
            str(i.address_v6),
            f"{i.bandwidth:~P}",
            i.plane,
            str(i.ospf_area),
            str(i.ospf_cost),
            f"{i.hello}/{i.dead}",
        )
    console.print(table)
    for lan in dev.lans:
        console.print(f"LAN {lan.prefix_v4} {lan.prefix_v6} (area {lan.ospf_area})")
    for r in dev.area_ranges:
        console.print(f"area {r.area} range {r.prefix}")
    if dev.bgp is not None:
        console.print(f"iBGP AS {dev.bgp.asn} {dev.bgp.role}: {', '.join(dev.bgp.neighbors)}")
    if dev.vrfs:
        names = ", ".join(v.name for v in dev.vrfs[:6])
        console.print(f"{len(dev.vrfs)} VRFs: {names}{' …' if len(dev.vrfs) > 6 else ''}")
    if dev.attachments:
        console.print(f"{len(dev.attachments)} attachments (departments, DC, internet exit)")


@app.command()
def inventory(
    out: Annotated[
        Path | None, typer.Option("--out", help="A .json file, or a directory of NetBox CSV files.")
    ] = None,
    fmt: Annotated[
        InventoryFormat, typer.Option("--format", help="csv (a directory) or json; with --push: the report.")
    ] = InventoryFormat.csv,
    vendor: VendorOption = DEFAULT_VENDOR,
    cities: Annotated[
        list[str] | None,
        typer.Option("--city", help="Only this city (repeatable), with the core, access and exit routers."),
    ] = None,
    push_url: Annotated[
        str | None, typer.Option("--push", help="Sync into the NetBox at this URL through its REST API.")
    ] = None,
    token_file: Annotated[
        Path | None,
        typer.Option("--token-file", help="File holding the NetBox API token (else $EGOV_NETBOX_TOKEN)."),
    ] = None,
    prune: Annotated[
        bool, typer.Option("--prune", help="With --push: delete what exists only in NetBox.")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Export the backbone for NetBox's bulk import: regions, sites, device types, devices, interfaces,
    VRFs, prefixes, addresses, providers and circuits (one CSV per object type, in import order); or, with
    --push URL, sync it into a running NetBox (create what is missing, update what differs, report what
    exists only in NetBox). Exits 1 if the push stopped on an error (the report says what was done)."""
    from egov.atomic import staged_directory, write_text
    from network.departments import load_department_names
    from network.netbox import import_files, inventory_rows, to_json

    if out is None and push_url is None:
        print_error("give --out PATH (export) or --push URL (sync into NetBox)")
        raise typer.Exit(2)
    token = _netbox_token(token_file) if push_url is not None else ""
    backbone, params = _load(data_dir)
    if cities:
        try:
            backbone = backbone.slice(cities)
        except KeyError as exc:
            print_error(f"--city: {exc.args[0]}")
            raise typer.Exit(2) from None
    tables = inventory_rows(backbone, vendor, params, load_department_names(data_dir), _coordinates(data_dir))
    if out is not None:
        if fmt is InventoryFormat.json and push_url is None:
            write_text(out, to_json(tables))
        else:
            with staged_directory(out) as stage:
                for name, text in import_files(tables).items():
                    (stage / name).write_text(text, encoding="utf-8")
        console.print(", ".join(f"{len(rows)} {name}" for name, rows in tables.items()) + f" → {out}")
    if push_url is not None:
        _push(push_url, token, tables, prune, fmt is InventoryFormat.json)


def _coordinates(data_dir: Path | None) -> dict[str, tuple[str, float, float]]:
    """data/coordinates.csv of ``data_dir`` (the sites' latitude and longitude); a bad file exits 2."""
    from egov.errors import SourceError
    from network.capacity_present import load_coordinates
    from network.params import DATA_DIR

    try:
        return load_coordinates((data_dir or DATA_DIR) / "coordinates.csv")
    except SourceError as exc:
        print_error(str(exc))
        raise typer.Exit(2) from None


def _netbox_token(token_file: Path | None) -> str:
    import os

    if token_file is not None:
        try:
            token = token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            errors.print(
                f"[red]error:[/] --token-file {escape(str(token_file))}: {escape(exc.strerror or '')}"
            )
            raise typer.Exit(2) from None
        where = str(token_file)
    else:
        token, where = os.environ.get("EGOV_NETBOX_TOKEN", "").strip(), "EGOV_NETBOX_TOKEN"
    if not token:
        errors.print(
            f"[red]error:[/] no NetBox token: set EGOV_NETBOX_TOKEN or give --token-file ({where} is empty)"
        )
        raise typer.Exit(2)
    return token


def _push(url: str, token: str, tables, prune: bool, as_json: bool) -> None:  # type: ignore[no-untyped-def]
    from network.netbox_sync import NetBoxError, connect, push

    try:
        api = connect(url, token)
    except NetBoxError as exc:
        print_error(str(exc))
        raise typer.Exit(1) from None
    with _progress() as progress:
        task = progress.add_task("push", total=len(tables))
        report = push(api, tables, prune, lambda _: progress.advance(task))
    if as_json:
        console.print_json(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        columns = ["table", "created", "updated", "unchanged", "only in NetBox"]
        table = Table(*columns, *(["not pushed"] if report.not_pushed else []), title=f"push to {url}")
        for name in tables:
            if name in report.unchanged or name in report.created or name in report.not_pushed:
                table.add_row(
                    name,
                    str(report.created.get(name, 0)),
                    str(report.updated.get(name, 0)),
                    str(report.unchanged.get(name, 0)),
                    str(len(report.only_in_netbox.get(name, []))),
                    *([str(report.not_pushed.get(name, 0))] if report.not_pushed else []),
                )
        console.print(table)
        for change in report.changes[:50]:
            console.print(f"  {escape(change)}")
        console.print(
            f"{report.total_changes} change(s)"
            + (f", {sum(report.deleted.values())} deleted" if prune else "")
        )
    if report.error is not None:
        print_error(f"push stopped: {report.error}")
        raise typer.Exit(1)


class CapacityFormat(StrEnum):
    table = "table"
    json = "json"
    xlsx = "xlsx"
    png = "png"


class FailureMode(StrEnum):
    none = "none"
    single = "single"
    srlg = "srlg"


@app.command()
def capacity(
    month: Annotated[
        str | None, typer.Option("--month", help="YYYY-MM: utilisation in this month (default: the peak).")
    ] = None,
    failures: Annotated[
        FailureMode, typer.Option("--failures", help="none, single (every circuit and router) or srlg.")
    ] = FailureMode.single,
    fmt: Annotated[CapacityFormat, typer.Option("--format", help="table, json, xlsx or png.")] = (
        CapacityFormat.table
    ),
    out: Annotated[Path | None, typer.Option("--out", help="File to write (xlsx and png need one).")] = None,
    lang: Annotated[
        str | None,
        typer.Option(
            "--lang",
            metavar="zh-CN|en",
            help="Language of the table, workbook and map (else egov --lang, EGOV_LANG, the locale, zh-CN).",
        ),
    ] = None,
    ledger: Annotated[
        str | None,
        typer.Option("--ledger", help="Slot-ledger database URL: booked migrations instead of the plan."),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Backbone capacity: link utilisation per month from the migration calendar, the worst single failure
    or shared risk per link, and the circuit upgrades to order (and by when)."""
    from egov.clitools import exit_with_errors
    from egov.errors import SourceError, SourceErrors
    from egov.i18n import UnknownLanguage
    from egov.months import parse_month
    from network import capacity_present as present
    from network.linkload import backbone_capacity, report_json

    try:
        language = present.report_language(lang)
    except UnknownLanguage as exc:
        print_error(f"--lang: {exc}")
        raise typer.Exit(2) from None
    if fmt in (CapacityFormat.xlsx, CapacityFormat.png) and out is None:
        print_error(f"--format {fmt.value} needs --out FILE")
        raise typer.Exit(2)
    try:
        chosen = parse_month(month) if month is not None else None
        inputs, report = backbone_capacity(data_dir, chosen, failures.value, ledger)
        coordinates = (
            present.load_coordinates(inputs.data_dir / "coordinates.csv") if fmt is CapacityFormat.png else {}
        )
    except (SourceError, SourceErrors) as exc:
        exit_with_errors(exc)
    except ValueError as exc:
        print_error(str(exc))
        raise typer.Exit(2) from None
    doc = report_json(report)
    if fmt is CapacityFormat.json:
        if out is None:
            typer.echo(present.to_json_text(doc), nl=False)
        else:
            from egov.atomic import write_text

            write_text(out, present.to_json_text(doc))
    elif fmt is CapacityFormat.xlsx:
        assert out is not None
        present.write_xlsx(report, doc, out, language)
    elif fmt is CapacityFormat.png:
        assert out is not None
        try:
            present.write_png(report, inputs.graph, coordinates, out, language)
        except present.MissingFont as exc:
            print_error(str(exc))
            raise typer.Exit(2) from None
    else:
        if not console.is_terminal:
            console.width = max(console.width, 180)
        for renderable in present.render_table(report, doc, language):
            console.print(renderable)
    if out is not None:
        errors.print(f"{fmt.value} → {out}")
