"""The `egov` command: a thin typer app composing each part's own sub-app.

Each part's cli module imports only typer and rich at module level (heavy libraries are imported inside
commands) so that `egov capacity check` starts fast.
"""

from __future__ import annotations

from typing import Annotated

import typer

from capacity.cli import app as capacity_app
from egov.data_cli import app as data_app
from network.cli import app as network_app
from slots.cli import app as slots_app
from stacks.cli import app as stack_app

app = typer.Typer(
    name="egov",
    help="Capacity planning and ops automation for the Guangdong provincial e-government cloud.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"egov {version('egov')}")
        raise typer.Exit()


@app.callback()
def main(
    show_version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print egov's version and exit."),
    ] = False,
) -> None:
    """Capacity planning and ops automation for the Guangdong provincial e-government cloud."""


app.add_typer(
    capacity_app, name="capacity", help="Will supply cover demand for five years? When must we buy?"
)
app.add_typer(data_app, name="data", help="Validate and inspect the source of truth (data/).")
app.add_typer(
    network_app, name="network", help="Backbone topology, address plan, router configs, lab, deploy."
)
app.add_typer(slots_app, name="slots", help="Migration slots: requests, admission, re-planning, the service.")
app.add_typer(stack_app, name="stack", help="The Pulumi stacks: what `pulumi up` would create, under mocks.")


if __name__ == "__main__":
    app()
