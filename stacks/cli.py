"""`egov stack …`: the cloud operators' commands. Thin: review (stacks.review), present (stacks.present)."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from egov.clitools import TableOrJson, err_console

app = typer.Typer(no_args_is_help=True)


class StackName(StrEnum):
    prod = "prod"
    staging = "staging"


@app.callback()
def stack() -> None:
    """The Pulumi stacks of stacks/egov-cloud."""


PLAN_HELP = (
    "What `pulumi up` would create, under Pulumi's mocks: no credentials, no cloud contacted.\n\n"
    "Prints resources per type token, Σ department quotas against usable capacity and every policy of "
    "stacks/policy applied to them. Exit 1 on a policy violation, 2 on an invalid stack file or data."
)


@app.command("plan", help=PLAN_HELP)
def plan(
    stack: Annotated[
        StackName, typer.Option("--stack", help="Stack file Pulumi.<stack>.yaml.")
    ] = StackName.prod,
    output_format: Annotated[
        TableOrJson, typer.Option("--format", help="table or json.")
    ] = TableOrJson.table,
    project_dir: Annotated[
        Path | None,
        typer.Option(
            "--project-dir", help="Pulumi project holding the stack files (default: stacks/egov-cloud)."
        ),
    ] = None,
) -> None:
    """What `pulumi up` would create, under Pulumi's mocks (see PLAN_HELP)."""
    from egov.errors import SourceError, SourceErrors
    from stacks.present import render_review, review_json
    from stacks.review import review_stack
    from stacks.settings import PROJECT_DIR

    try:
        with err_console.status("running the program under Pulumi mocks…") as status:

            def progress(count: int) -> None:
                if count % 50 == 0:
                    status.update(f"running the program under Pulumi mocks… {count} resources registered")

            review = review_stack(stack.value, project_dir or PROJECT_DIR, on_register=progress)
    except (SourceError, SourceErrors, KeyError, ValueError) as exc:
        err_console.print(f"[red]error:[/] {escape(str(exc))}", highlight=False, markup=True, soft_wrap=True)
        raise typer.Exit(2) from None
    if output_format is TableOrJson.json:
        sys.stdout.write(json.dumps(review_json(review), ensure_ascii=False, indent=2) + "\n")
    else:
        render_review(review, Console(width=140))
    if review.violations:
        raise typer.Exit(1)
