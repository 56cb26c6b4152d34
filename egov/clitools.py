"""Shared CLI plumbing: loading the source of truth with readable errors, output formats."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

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
        errors = exc.errors if isinstance(exc, SourceErrors) else [exc]
        for error in errors:
            err_console.print(f"[red]error:[/] {error}", markup=True, highlight=False, soft_wrap=True)
        err_console.print(f"[red]{len(errors)} error(s); nothing was written.[/]")
        raise typer.Exit(2) from None
