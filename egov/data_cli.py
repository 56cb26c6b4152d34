"""`egov data …`: validate the source of truth."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from egov.clitools import load_or_exit

app = typer.Typer(no_args_is_help=True)


@app.command("validate")
def validate(
    directory: Annotated[
        Path | None, typer.Argument(help="Data directory (default: the embedded data/).")
    ] = None,
) -> None:
    """Validate the whole source of truth; bad input names the file, row and field and exits non-zero."""
    source = load_or_exit(directory)
    physical = source.physical_summary()
    Console().print(
        f"[green]ok[/]: {len(source.departments)} departments, {len(source.systems)} systems, "
        f"{sum(len(az.aggregates) for az in source.cloud.availability_zones)} aggregates in "
        f"{len(source.cloud.availability_zones)} zones, {len(source.cloud.storage_pools)} storage pools, "
        f"{len(source.cloud.flavors)} flavors; physical {physical['cores']}, {physical['ram']}, "
        f"{physical['storage_raw']} raw"
    )
