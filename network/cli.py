"""The `egov network` commands."""

import typer

from network.lab.cli import deploy, lab_app

app = typer.Typer(no_args_is_help=True)
app.add_typer(lab_app, name="lab")
app.command("deploy")(deploy)
