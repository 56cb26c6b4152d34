"""`egov slots …`: the migration-slot service and its ledger from the command line.

Thin: open the ledger (slots.ledger), act, present (slots.present). Heavy imports stay inside commands.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from egov.clitools import (
    DataOption,
    TableOrJson,
    err_console,
    exit_with_errors,
    load_or_exit,
    print_error,
    print_warning,
)
from egov.errors import SourceError, SourceErrors
from slots.states import RequestStatus

if TYPE_CHECKING:
    from pathlib import Path

    from slots.ledger import Ledger, Principal

app = typer.Typer(no_args_is_help=True)
token_app = typer.Typer(no_args_is_help=True)
app.add_typer(token_app, name="token", help="API tokens of departments and operators.")

DbOption = Annotated[
    str,
    typer.Option(
        "--db",
        envvar="EGOV_SLOTS_DB",
        help="Ledger database URL: sqlite:///file (default sqlite:///slots.sqlite) or postgresql://…",
    ),
]
DEFAULT_DB = "sqlite:///slots.sqlite"
FormatOption = Annotated[TableOrJson, typer.Option("--format", help="table or json.")]
#: The flag before --format; kept so that scripts keep working, hidden from the help, warns when used.
JsonOption = Annotated[bool, typer.Option("--json", hidden=True, help="Deprecated: --format json.")]


def _output(output_format: TableOrJson, as_json: bool) -> TableOrJson:
    """The output asked for: ``--json`` still means ``--format json``, with a warning on stderr."""
    if as_json:
        print_warning("--json is deprecated; use --format json")
        return TableOrJson.json
    return output_format


def _ledger(db: str, data: Path | None) -> Ledger:
    from sqlalchemy.exc import SQLAlchemyError

    from slots.bandwidth import RoutedPaths
    from slots.ledger import Ledger

    source = load_or_exit(data)
    try:
        # the transfer rule reads the backbone of the same data directory (loaded when first needed)
        return Ledger(db, source, paths=RoutedPaths(data))
    except (SQLAlchemyError, ValueError) as exc:
        err_console.print(
            f"[red]error:[/] cannot open the ledger {_redact(db)}: {exc.__class__.__name__}: {exc}"
        )
        raise typer.Exit(2) from None


def _redact(url: str) -> str:
    """The URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparsable URL>"


def _cli_principal() -> Principal:
    import getpass

    from slots.ledger import Principal

    return Principal(actor=f"cli:{getpass.getuser()}", operator=True)


def _fail(exc: Exception) -> typer.Exit:
    print_error(str(exc))
    return typer.Exit(1)


@app.command("serve")
def serve(
    db: DbOption = DEFAULT_DB,
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="TCP port.")] = 8070,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    data: DataOption = None,
) -> None:
    """Run the slots API and web page (migrates the ledger schema first)."""
    import uvicorn

    from slots.api import create_app

    ledger = _ledger(db, data)
    try:
        ledger.province.paths.load()  # bad backbone data stops the server now, not its first request
    except (SourceError, SourceErrors) as exc:
        exit_with_errors(exc)
    err_console.print(f"ledger {_redact(db)}; serving http://{host}:{port}/ (API docs at /docs)")
    uvicorn.run(create_app(ledger), host=host, port=port, log_level="warning", access_log=False)


@token_app.command("create")
def token_create(
    department: Annotated[
        str | None, typer.Option("--department", help="Department code the token acts for.")
    ] = None,
    operator: Annotated[
        bool, typer.Option("--operator", help="An operator token (sees and decides all).")
    ] = False,
    label: Annotated[str, typer.Option("--label", help="Free text: who holds the token.")] = "",
    db: DbOption = DEFAULT_DB,
    data: DataOption = None,
) -> None:
    """Create an API token and print it ONCE (only its sha256 is stored)."""
    if department is None and not operator:
        print_error("give --department CODE, or --operator")
        raise typer.Exit(2)
    ledger = _ledger(db, data)
    try:
        token = ledger.create_token(department, operator=operator, label=label)
    except KeyError:
        print_error(f"--department: unknown department {department!r}")
        raise typer.Exit(2) from None
    err_console.print("The token is shown once; store it now:")
    typer.echo(token)


@token_app.command("list")
def token_list(db: DbOption = DEFAULT_DB, data: DataOption = None) -> None:
    """List tokens (holders and labels; the tokens themselves are not stored)."""
    from rich.table import Table

    table = Table(title="API tokens")
    for column in ("#", "department", "operator", "label", "created", "revoked"):
        table.add_column(column)
    for t in _ledger(db, data).list_tokens():
        table.add_row(
            str(t["id"]), t["department"] or "", "yes" if t["operator"] else "", t["label"], t["created_at"],
            "[red]revoked[/]" if t["revoked"] else "",
        )  # fmt: skip
    Console(width=160).print(table)


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[int, typer.Argument(help="Token number (egov slots token list).")],
    db: DbOption = DEFAULT_DB,
    data: DataOption = None,
) -> None:
    """Revoke a token: it no longer authenticates."""
    from slots.ledger import LedgerError

    try:
        _ledger(db, data).revoke_token(_cli_principal(), token_id)
    except LedgerError as exc:
        raise _fail(exc) from None
    typer.echo(f"token #{token_id}: revoked")


def _adhoc(texts: list[str]) -> list[dict[str, str | int]]:
    """'name=视频解析,az=gz-1,vcpu=64,ram=256 GB' → {'name': '视频解析', 'az': 'gz-1', 'vcpu': 64, …}.

    vCPUs are a strict integer in the request schema: a plain count of digits is read as one here."""
    systems = []
    for n, text in enumerate(texts):
        fields: dict[str, str | int] = {}
        for part in text.split(","):
            key, sep, value = part.partition("=")
            if not sep or not key.strip():
                err_console.print(
                    f"[red]error:[/] --adhoc #{n + 1}: {part!r} is not key=value", highlight=False
                )
                raise typer.Exit(2)
            fields[key.strip()] = value.strip()
        vcpu = fields.get("vcpu")
        if isinstance(vcpu, str) and vcpu.isascii() and vcpu.isdigit() and len(vcpu) <= 9:
            fields["vcpu"] = int(vcpu)
        systems.append(fields)
    return systems


@app.command("request")
def request(
    department: Annotated[str, typer.Option("--department", help="Department code.")],
    earliest: Annotated[str, typer.Option("--earliest", help="Earliest acceptable ISO week, e.g. 2027-W14.")],
    latest: Annotated[str, typer.Option("--latest", help="Latest acceptable ISO week, e.g. 2027-W20.")],
    system: Annotated[
        list[str] | None, typer.Option("--system", help="Inventory system id (repeat).")
    ] = None,
    adhoc: Annotated[
        list[str] | None,
        typer.Option(
            "--adhoc",
            help="A system not in the inventory (repeat): 'name=…,az=gz-1,vcpu=64,ram=256 GB,disk=400 GiB,"
            "block_storage=20 TB,object_storage=0 TB,annual_growth=25%'.",
        ),
    ] = None,
    data_volume: Annotated[
        str, typer.Option("--data-volume", help="Data to transfer, e.g. '40 TB'.")
    ] = "0 TB",
    depends_on: Annotated[
        list[str] | None,
        typer.Option("--depends-on", help="System that must move before or with it (repeat)."),
    ] = None,
    weight: Annotated[int, typer.Option("--weight", min=1, max=100, help="Priority in re-planning.")] = 1,
    key: Annotated[
        str | None, typer.Option("--key", help="Idempotency key: a retry is never booked twice.")
    ] = None,
    db: DbOption = DEFAULT_DB,
    data: DataOption = None,
    output_format: FormatOption = TableOrJson.table,
    as_json: JsonOption = False,
) -> None:
    """Request a slot for systems (inventory ids or ad hoc); prints the granted week or the refusal."""
    output = _output(output_format, as_json)
    from pydantic import ValidationError

    from slots.ledger import LedgerError
    from slots.present import requests_table
    from slots.request import RequestSpec, SpecError

    try:
        spec = RequestSpec(
            department=department,
            systems=system or [],
            adhoc=_adhoc(adhoc or []),  # type: ignore[arg-type]
            earliest_week=earliest,  # type: ignore[arg-type]
            latest_week=latest,  # type: ignore[arg-type]
            data_volume=data_volume,  # type: ignore[arg-type]
            dependencies=depends_on or [],
            weight=weight,
        )
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"]) or "request"
            err_console.print(
                f"[red]error:[/] {where}: {escape(error['msg'].removeprefix('Value error, '))}",
                highlight=False,
            )
        raise typer.Exit(2) from None
    ledger = _ledger(db, data)
    try:
        view, created = ledger.submit(_cli_principal(), spec, key)
    except SpecError as exc:
        print_error(str(exc))
        raise typer.Exit(2) from None
    except LedgerError as exc:
        raise _fail(exc) from None
    except (SourceError, SourceErrors) as exc:  # the backbone of --data, read by the transfer rule
        exit_with_errors(exc)
    if output is TableOrJson.json:
        typer.echo(json.dumps(view.__dict__, ensure_ascii=False, indent=2))
    else:
        if not created:
            err_console.print(f"idempotency key {key!r}: request #{view.id} already exists, not booked again")
        requests_table(Console(width=160), [view])
    raise typer.Exit(0 if view.status.holds_slot else 3)


@app.command("list")
def list_requests(
    status: Annotated[
        RequestStatus | None, typer.Option("--status", help="Only requests in this state.")
    ] = None,
    department: Annotated[str | None, typer.Option("--department", help="Only this department.")] = None,
    db: DbOption = DEFAULT_DB,
    data: DataOption = None,
    output_format: FormatOption = TableOrJson.table,
    as_json: JsonOption = False,
) -> None:
    """List requests and their answers."""
    output = _output(output_format, as_json)
    from slots.present import requests_table

    views = _ledger(db, data).list_requests(_cli_principal(), status)
    if department is not None:
        views = [v for v in views if v.department == department]
    if output is TableOrJson.json:
        typer.echo(json.dumps([v.__dict__ for v in views], ensure_ascii=False, indent=2))
    else:
        requests_table(Console(width=160), views)


@app.command("cancel")
def cancel(
    request_id: Annotated[int, typer.Argument(help="Request number.")],
    db: DbOption = DEFAULT_DB,
    data: DataOption = None,
) -> None:
    """Cancel a request and free its slot."""
    from slots.ledger import LedgerError

    try:
        view = _ledger(db, data).cancel(_cli_principal(), request_id)
    except LedgerError as exc:
        raise _fail(exc) from None
    typer.echo(f"request #{view.id}: {view.status}")


@app.command("approve")
def approve(
    request_id: Annotated[int, typer.Argument(help="Request number.")],
    db: DbOption = DEFAULT_DB,
    data: DataOption = None,
) -> None:
    """Approve a granted slot: re-planning will not move it."""
    from slots.ledger import LedgerError

    try:
        view = _ledger(db, data).approve(_cli_principal(), request_id)
    except LedgerError as exc:
        raise _fail(exc) from None
    typer.echo(f"request #{view.id}: {view.status} {view.granted_week}")


@app.command("plan")
def plan(
    apply: Annotated[bool, typer.Option("--apply", help="Write the new weeks to the ledger.")] = False,
    time_limit: Annotated[
        float, typer.Option("--time-limit", min=0.1, max=120, help="CP-SAT deterministic time limit.")
    ] = 10.0,
    db: DbOption = DEFAULT_DB,
    data: DataOption = None,
    output_format: FormatOption = TableOrJson.table,
    as_json: JsonOption = False,
) -> None:
    """Re-plan all granted and refused requests optimally (CP-SAT), against first come, first served."""
    output = _output(output_format, as_json)
    from slots.ledger import LedgerError
    from slots.present import plan_summary

    ledger = _ledger(db, data)
    try:
        with err_console.status("solving with CP-SAT…"):
            result = ledger.plan(_cli_principal(), apply=apply, time_limit=time_limit)
    except LedgerError as exc:
        raise _fail(exc) from None
    except (SourceError, SourceErrors) as exc:  # the backbone of --data, read by the transfer rule
        exit_with_errors(exc)
    if output is TableOrJson.json:
        typer.echo(json.dumps(result.as_json(), ensure_ascii=False, indent=2))
    else:
        plan_summary(Console(width=160), result, apply)
