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

from egov.clitools import TableOrJson, err_console, print_error

app = typer.Typer(no_args_is_help=True)


class StackName(StrEnum):
    prod = "prod"
    staging = "staging"


#: The options every stack command takes, spelled once.
StackOption = Annotated[StackName, typer.Option("--stack", help="Stack file Pulumi.<stack>.yaml.")]
ProjectDirOption = Annotated[
    Path | None,
    typer.Option(
        "--project-dir", help="Pulumi project holding the stack files (default: stacks/egov-cloud)."
    ),
]


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
    stack: StackOption = StackName.prod,
    output_format: Annotated[
        TableOrJson, typer.Option("--format", help="table or json.")
    ] = TableOrJson.table,
    project_dir: ProjectDirOption = None,
) -> None:
    """What `pulumi up` would create, under Pulumi's mocks (see PLAN_HELP)."""
    from egov.clitools import progress_bar
    from egov.errors import SourceError, SourceErrors
    from stacks.present import render_review, review_json
    from stacks.review import review_stack
    from stacks.settings import PROJECT_DIR

    try:
        with progress_bar() as bar:
            # The total is unknown until the program has declared everything: the bar counts registrations.
            task = bar.add_task("registering resources under Pulumi mocks", total=None)

            def progress(count: int) -> None:
                if count % 25 == 0:
                    bar.update(task, completed=count)

            review = review_stack(stack.value, project_dir or PROJECT_DIR, on_register=progress)
    except (SourceError, SourceErrors, KeyError, ValueError) as exc:
        print_error(str(exc))
        raise typer.Exit(2) from None
    if output_format is TableOrJson.json:
        sys.stdout.write(json.dumps(review_json(review), ensure_ascii=False, indent=2) + "\n")
    else:
        render_review(review, Console(width=140))
    if review.violations:
        raise typer.Exit(1)


IMPORT_HELP = (
    "A Pulumi bulk import file (`pulumi import --file`) of what already exists in the cloud.\n\n"
    "Runs the stack's program under Pulumi's mocks, looks each resource up by its OpenStack name through "
    "openstacksdk (clouds.yaml entry --from-cloud, default the stack's openstack:cloud) and writes FILE and "
    "FILE-containers.json (Swift containers need their department's scoped provider first, see "
    "docs/operators.md). "
    "Lists what the cloud does not have. Exit 2 on an invalid stack file or an unreachable cloud."
)


@app.command("import-file", help=IMPORT_HELP)
def import_file(
    stack: StackOption = StackName.prod,
    from_cloud: Annotated[
        str | None,
        typer.Option(
            "--from-cloud", help="clouds.yaml entry to look in (default: the stack's openstack:cloud)."
        ),
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="The import file to write.")] = Path("import.json"),
    output_format: Annotated[
        TableOrJson, typer.Option("--format", help="Summary as a table or json.")
    ] = TableOrJson.table,
    project_dir: ProjectDirOption = None,
) -> None:
    """Write the import files of a stack (see IMPORT_HELP)."""
    from egov.clitools import progress_bar
    from egov.errors import SourceError, SourceErrors
    from stacks.importing import stack_import_plan, write_import_files
    from stacks.present import import_summary_json, render_import_summary
    from stacks.settings import PROJECT_DIR

    try:
        with progress_bar() as bar:
            task = bar.add_task("looking resources up in the cloud", total=None)

            def advance(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            plan = stack_import_plan(stack.value, from_cloud, project_dir or PROJECT_DIR, on_lookup=advance)
        written = write_import_files(plan, out)
    except (SourceError, SourceErrors, KeyError, ValueError, OSError) as exc:
        print_error(str(exc))
        raise typer.Exit(2) from None
    except Exception as exc:  # openstacksdk / keystoneauth: an unreachable or refusing cloud
        if type(exc).__module__.split(".")[0] not in ("openstack", "keystoneauth1"):
            raise
        err_console.print(f"[red]error: the cloud answered:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
    if output_format is TableOrJson.json:
        sys.stdout.write(json.dumps(import_summary_json(plan, written), ensure_ascii=False, indent=2) + "\n")
    else:
        render_import_summary(plan, written, Console(width=140))
