"""`egov network lab up|check|down` and `egov network deploy` (being built)."""

import typer

lab_app = typer.Typer(no_args_is_help=True, help="The FRR router lab in network namespaces.")


def deploy() -> None:
    """Push rendered configs with the Ansible playbooks through ansible-runner."""
    raise typer.Exit(2)
