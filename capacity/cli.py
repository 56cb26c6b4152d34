"""`egov capacity …`: the planners' commands. Thin: load, compute (capacity.*), present (capacity.present)."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from egov.clitools import DataOption, Format, err_console, load_or_exit

app = typer.Typer(no_args_is_help=True)


@app.command("check")
def check(
    data: DataOption = None,
    output_format: Annotated[
        Format, typer.Option("--format", help="table, json, csv or xlsx.")
    ] = Format.table,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the output file(s) into this directory.")
    ] = None,
) -> None:
    """Will supply cover demand month by month for the whole horizon? What runs out first; when to order."""
    from capacity.headroom import assess
    from capacity.present import assessment_json, monthly_rows, render_table
    from egov.atomic import write_text

    source = load_or_exit(data)
    assessment = assess(source)
    if output_format is Format.table:
        render_table(
            source, assessment, Console(width=160) if out is None else Console(record=True, width=160)
        )
        return
    if output_format is Format.json:
        text = json.dumps(assessment_json(source, assessment), ensure_ascii=False, indent=2) + "\n"
        name = "capacity-check.json"
    elif output_format is Format.csv:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(monthly_rows(assessment))
        text, name = buffer.getvalue(), "capacity-check.csv"
    else:
        err_console.print("[red]--format xlsx needs --out DIR[/]" if out is None else "[red]xlsx: not yet[/]")
        raise typer.Exit(2)
    if out is None:
        sys.stdout.write(text)
    else:
        write_text(out / name, text)
        err_console.print(f"wrote {out / name}")
