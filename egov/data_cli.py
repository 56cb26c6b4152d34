"""`egov data …`: validate the source of truth."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from egov.clitools import exit_with_errors, load_or_exit

if TYPE_CHECKING:
    from egov.errors import SourceError
    from egov.model import SourceOfTruth

app = typer.Typer(no_args_is_help=True)


@app.command("validate")
def validate(
    directory: Annotated[
        Path | None, typer.Argument(help="Data directory (default: the embedded data/).")
    ] = None,
) -> None:
    """Validate the whole source of truth, and the scenarios in its scenarios/ against it; bad input names the
    file, row and field and exits non-zero."""
    from egov.errors import SourceError, SourceErrors
    from egov.source import DEFAULT_DATA_DIR

    source = load_or_exit(directory)
    scenario_dir = (directory if directory is not None else DEFAULT_DATA_DIR) / "scenarios"
    scenarios = sorted(scenario_dir.glob("*.yaml")) + sorted(scenario_dir.glob("*.yml"))
    errors: list[SourceError] = []
    if scenarios:
        from capacity.scenario import load_scenario

        for path in scenarios:
            try:
                load_scenario(path, source)
            except SourceErrors as exc:
                errors.extend(exc.errors)
            except SourceError as exc:
                errors.append(exc)
    errors.extend(_plan_inputs(directory if directory is not None else DEFAULT_DATA_DIR, source))
    if errors:
        exit_with_errors(SourceErrors(errors))
    physical = source.physical_summary()
    Console().print(
        f"[green]ok[/]: {len(source.departments)} departments, {len(source.systems)} systems, "
        f"{sum(len(az.aggregates) for az in source.cloud.availability_zones)} aggregates in "
        f"{len(source.cloud.availability_zones)} zones, {len(source.cloud.storage_pools)} storage pools, "
        f"{len(source.cloud.flavors)} flavors, {len(scenarios)} scenarios; physical {physical['cores']}, "
        f"{physical['ram']}, {physical['storage_raw']} raw"
    )


def _plan_inputs(root: Path, source: SourceOfTruth) -> list[SourceError]:
    """The errors of building.yaml (and the rack units and power it needs of cloud.yaml) and prices.yaml, when
    the directory has them."""
    from capacity.building import assess_building, load_building_of
    from capacity.prices import load_prices
    from egov.errors import SourceError, SourceErrors

    errors: list[SourceError] = []
    for check in (
        lambda: (b := load_building_of(root)) is None or assess_building(source, b, root / "cloud.yaml"),
        lambda: not (root / "prices.yaml").is_file() or load_prices(root / "prices.yaml", source.cloud),
    ):
        try:
            check()
        except SourceErrors as exc:
            errors.extend(exc.errors)
        except SourceError as exc:
            errors.append(exc)
    return errors
