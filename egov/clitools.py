"""Shared CLI plumbing: loading the source of truth with readable errors, output formats."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress

if TYPE_CHECKING:
    from egov.model import SourceOfTruth

err_console = Console(stderr=True)

DataOption = Annotated[
    Path | None,
    typer.Option(
        "--data",
        help="Source-of-truth directory (default: the embedded Guangdong data/).",
        envvar="EGOV_DATA",
    ),
]


class TableOrJson(StrEnum):
    """The two outputs of commands that print a report for a person or a program."""

    table = "table"
    json = "json"


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    xlsx = "xlsx"


def load_or_exit(data: Path | None) -> SourceOfTruth:
    """Load the source of truth; on bad input print every located error and exit with status 2. What loading
    ignored (its warnings) goes to stderr; commands with a JSON output carry it there too."""
    from egov.errors import SourceError, SourceErrors
    from egov.source import load_source

    try:
        source = load_source(data)
    except (SourceErrors, SourceError) as exc:
        exit_with_errors(exc)
    for warning in source.warnings:
        err_console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False, soft_wrap=True)
    return source


def exit_with_errors(exc: Exception) -> NoReturn:
    """Print every located error of a SourceError / SourceErrors and exit with status 2."""
    errors = getattr(exc, "errors", None) or [exc]
    for error in errors:
        err_console.print(f"[red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True)
    err_console.print(f"{len(errors)} error(s); nothing was written.", style="red")
    raise typer.Exit(2)


def require_table_or_json(output_format: Format, command: str) -> None:
    """Exit with status 2 unless a command that prints only a table or json was asked for one of those."""
    if output_format not in (Format.table, Format.json):
        err_console.print(f"[red]--format: {command} prints a table or json[/]")
        raise typer.Exit(2)


def progress_bar(console: Console | None = None) -> Progress:
    """The progress bar of long commands (spinner, description, bar, done/total, elapsed), on stderr."""
    from rich.progress import BarColumn, MofNCompleteColumn, SpinnerColumn, TextColumn, TimeElapsedColumn

    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console or err_console,
        transient=True,
    )
