"""Shared CLI plumbing: loading the source of truth with readable errors, output formats."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

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


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    xlsx = "xlsx"


def load_or_exit(data: Path | None) -> SourceOfTruth:
    """Load the source of truth; on bad input print every located error and exit with status 2."""
    from egov.errors import SourceError, SourceErrors
    from egov.source import load_source

    try:
        return load_source(data)
    except (SourceErrors, SourceError) as exc:
        exit_with_errors(exc)


def exit_with_errors(exc: Exception) -> NoReturn:
    """Print every located error of a SourceError / SourceErrors and exit with status 2."""
    errors = getattr(exc, "errors", None) or [exc]
    for error in errors:
        err_console.print(f"[red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True)
    err_console.print(f"{len(errors)} error(s); nothing was written.", style="red")
    raise typer.Exit(2)
