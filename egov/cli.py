"""The `egov` command: a thin typer app composing each part's own sub-app.

The sub-apps are loaded on demand: `egov capacity check` imports the capacity part's CLI only, not the
network's, the slots' or the stacks' (with their own heavy imports) — each part's cli module imports only
typer and rich at module level, heavy libraries inside its commands. `egov --help` lists every part, loading
each to show its commands' help.
"""

from __future__ import annotations

import importlib
import os
from functools import cache
from typing import Annotated

# pydantic looks for plugins in every installed distribution's entry points on its first validation
# (importlib.metadata: ≈45 ms of every command's start); egov uses none. pydantic reads the variable then,
# not at import, so setting it here suffices; set it empty to allow plugins.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

import typer
import typer.main
from typer import _click as click  # typer bundles its own click: its groups take these types
from typer.core import TyperGroup

#: name → (module whose ``app`` is the part's typer sub-app, the one-line help `egov --help` shows)
SUB_APPS: dict[str, tuple[str, str]] = {
    "capacity": ("capacity.cli", "Will supply cover demand for five years? When must we buy?"),
    "data": ("egov.data_cli", "Validate and inspect the source of truth (data/)."),
    "network": ("network.cli", "Backbone topology, address plan, router configs, lab, deploy."),
    "slots": ("slots.cli", "Migration slots: requests, admission, re-planning, the service."),
    "stack": ("stacks.cli", "The Pulumi stacks: what `pulumi up` would create, under mocks."),
}


@cache
def sub_command(name: str) -> click.Command:
    """The click group of sub-app ``name``, imported on first use."""
    module, help_text = SUB_APPS[name]
    group = typer.main.get_group(importlib.import_module(module).app)
    group.name, group.help = name, help_text
    return group


class LazyGroup(TyperGroup):
    """egov's top-level group: the SUB_APPS are listed always and imported only when asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*super().list_commands(ctx), *SUB_APPS]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in SUB_APPS:
            return sub_command(cmd_name)
        return super().get_command(ctx, cmd_name)


app = typer.Typer(
    cls=LazyGroup,
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


if __name__ == "__main__":
    app()
