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


def _remember_language(context: typer.Context, value: str | None) -> str | None:
    """Resolve the CLI language once per invocation — ``--lang``, else EGOV_LANG, else the POSIX locale
    (LC_ALL, LC_MESSAGES, LANG), else zh-CN — and keep it for egov.clitools' messages; an unknown --lang or
    EGOV_LANG is a usage error naming the languages there are."""
    from egov.i18n import CHOSEN_CLI_LANGUAGE, UnknownLanguage, language, language_from_environment

    try:
        chosen = language(value) if value is not None else language_from_environment()
    except UnknownLanguage as exc:
        raise typer.BadParameter(str(exc)) from None  # names EGOV_LANG when that was the bad value
    token = CHOSEN_CLI_LANGUAGE.set(chosen)
    context.call_on_close(lambda: CHOSEN_CLI_LANGUAGE.reset(token))
    return value


@app.callback()
def main(
    lang: Annotated[
        str | None,
        typer.Option(
            "--lang",
            callback=_remember_language,
            is_eager=True,
            metavar="zh-CN|en",
            help="Language of egov's messages (else EGOV_LANG, then LC_ALL/LC_MESSAGES/LANG, then zh-CN).",
        ),
    ] = None,
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
