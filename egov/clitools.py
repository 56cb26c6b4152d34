"""Shared CLI plumbing: loading the source of truth with readable errors, output formats.

The CLI's own framing of a message — "错误：" / "error:", "警告：" / "warning:", "N 个错误；未写入任何文件。"
— is in the CLI language (egov.i18n.cli_language: `egov --lang`, EGOV_LANG, the POSIX locale, zh-CN); what
an error says about the user's data (file, row, column, value) is printed as it is."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from rich.progress import Progress

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


class TableOrJson(StrEnum):
    """The two outputs of commands that print a report for a person or a program."""

    table = "table"
    json = "json"


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    xlsx = "xlsx"


def load_or_exit(data: Path | None) -> SourceOfTruth:
    """Load the source of truth; on bad input print every located error and exit with status 2. What loading
    ignored (its warnings) goes to stderr; commands with a JSON output carry it there too."""
    from egov.errors import SourceError, SourceErrors
    from egov.source import load_source

    try:
        source = load_source(data)
    except (SourceErrors, SourceError) as exc:
        exit_with_errors(exc)
    for warning in source.warnings:
        print_warning(warning)
    return source


def _(message: str) -> str:
    """``message`` in the CLI language (egov.i18n is imported here, not at module level: it loads the model,
    and each part's cli module must import only typer and rich to start fast)."""
    from egov.i18n import cli_gettext

    return cli_gettext(message)


def _framed(style: str, prefix: str, message: str) -> str:
    # a full-width colon (错误：) already spaces the text; an ASCII one (error:) needs a blank after it
    gap = "" if prefix.endswith("：") else " "
    return f"[{style}]{escape(prefix)}[/]{gap}{escape(message)}"


def print_error(message: str) -> None:
    """One error on stderr, framed in the CLI language: '错误：…' / 'error: …' (``message`` as it is)."""
    err_console.print(_framed("red", _("error:"), message), highlight=False, soft_wrap=True)


def print_warning(message: str) -> None:
    """One warning on stderr, framed in the CLI language: '警告：…' / 'warning: …'."""
    err_console.print(_framed("yellow", _("warning:"), message), highlight=False, soft_wrap=True)


def exit_with_errors(exc: Exception) -> NoReturn:
    """Print every located error of a SourceError / SourceErrors and exit with status 2."""
    errors = getattr(exc, "errors", None) or [exc]
    for error in errors:
        print_error(str(error))
    summary = _("%(count)d error(s); nothing was written.") % {"count": len(errors)}
    err_console.print(summary, style="red", highlight=False)
    raise typer.Exit(2)


def require_table_or_json(output_format: Format, command: str) -> None:
    """Exit with status 2 unless a command that prints only a table or json was asked for one of those."""
    if output_format not in (Format.table, Format.json):
        message = _("--format: %(command)s prints a table or json") % {"command": command}
        err_console.print(f"[red]{escape(message)}[/]", highlight=False)
        raise typer.Exit(2)


def progress_bar(console: Console | None = None) -> Progress:
    """The progress bar of long commands (spinner, description, bar, done/total, elapsed), on stderr."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console or err_console,
        transient=True,
    )
