"""`egov capacity …`: the planners' commands. Thin: load, compute (capacity.*), present (capacity.present,
capacity.report). Heavy libraries are imported inside the commands so that `egov` starts fast."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from egov.clitools import DataOption, Format, err_console, exit_with_errors, load_or_exit

if TYPE_CHECKING:
    from capacity.scenario import ScenarioRun
    from egov.model import SourceOfTruth

app = typer.Typer(no_args_is_help=True)

ScenarioOption = Annotated[
    str | None,
    typer.Option(
        "--scenario",
        help="A scenario YAML file of overrides, or the name of one in data/scenarios/ (e.g. growth-x1.5).",
    ),
]


def _scenario_or_exit(source: SourceOfTruth, scenario: str | None, data: Path | None) -> ScenarioRun:
    """The base run, or the named scenario applied to it; bad scenario input exits 2 naming file and field."""
    from capacity.scenario import base_run, resolve_scenario_path, scenario_run
    from egov.errors import SourceError, SourceErrors

    try:
        if scenario is None:
            return base_run(source)
        return scenario_run(source, resolve_scenario_path(scenario, data))
    except (SourceError, SourceErrors) as exc:
        exit_with_errors(exc)


def _emit(text: str, out: Path | None, name: str) -> None:
    from egov.atomic import write_text

    if out is None:
        sys.stdout.write(text)
    else:
        write_text(out / name, text)
        err_console.print(f"wrote {out / name}")


@app.command("check")
def check(
    data: DataOption = None,
    scenario: ScenarioOption = None,
    output_format: Annotated[
        Format, typer.Option("--format", help="table, json, csv or xlsx (xlsx needs --out).")
    ] = Format.table,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the output file(s) into this directory.")
    ] = None,
) -> None:
    """Will supply cover demand month by month for the whole horizon? What runs out first; when to order."""
    from capacity.present import assessment_json, monthly_csv, render_table

    if output_format is Format.xlsx and out is None:
        err_console.print("[red]--format xlsx writes a workbook: give --out DIR[/]")
        raise typer.Exit(2)
    base = load_or_exit(data)
    run = _scenario_or_exit(base, scenario, data)
    name = None if scenario is None else run.name
    if output_format is Format.table:
        console = Console(width=160) if out is None else Console(record=True, width=160, file=io.StringIO())
        render_table(run.source, run.assessment, console, scenario=name)
        if out is not None:
            _emit(console.export_text(), out, "capacity-check.txt")
    elif output_format is Format.json:
        document = assessment_json(run.source, run.assessment, scenario=name)
        _emit(json.dumps(document, ensure_ascii=False, indent=2) + "\n", out, "capacity-check.json")
    elif output_format is Format.csv:
        _emit(monthly_csv(run.assessment), out, "capacity-check.csv")
    else:
        from capacity.report import workbook_bytes
        from egov.atomic import write_bytes

        assert out is not None
        write_bytes(out / "capacity-check.xlsx", workbook_bytes(run.source, run.assessment, scenario=name))
        err_console.print(f"wrote {out / 'capacity-check.xlsx'}")


@app.command("compare")
def compare(
    scenarios: Annotated[
        list[str], typer.Argument(help="Scenario YAML files or names in data/scenarios/, one or more.")
    ],
    data: DataOption = None,
    output_format: Annotated[Format, typer.Option("--format", help="table or json.")] = Format.table,
) -> None:
    """Scenarios side by side with the base: first below target, shortfall, order-by, lowest free share."""
    from capacity.present import comparison_json, render_comparison
    from capacity.scenario import compare as compare_runs
    from capacity.scenario import resolve_scenario_path
    from egov.errors import SourceError, SourceErrors

    if output_format not in (Format.table, Format.json):
        err_console.print("[red]compare prints a table or json[/]")
        raise typer.Exit(2)
    source = load_or_exit(data)
    try:
        runs = compare_runs(source, [resolve_scenario_path(s, data) for s in scenarios])
    except (SourceError, SourceErrors) as exc:
        exit_with_errors(exc)
    if output_format is Format.json:
        sys.stdout.write(json.dumps(comparison_json(runs), ensure_ascii=False, indent=2) + "\n")
    else:
        render_comparison(runs, Console(width=160))


@app.command("risk")
def risk(
    draws: Annotated[int, typer.Option("--draws", min=1, max=1_000_000, help="Monte Carlo draws.")] = 10_000,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Same seed, same output.")] = 0,
    data: DataOption = None,
    scenario: ScenarioOption = None,
    growth_sigma_common: Annotated[
        float, typer.Option(min=0, max=3, help="σ of the province-wide log growth factor per draw.")
    ] = 0.25,
    growth_sigma_system: Annotated[
        float, typer.Option(min=0, max=3, help="σ of each system's own log growth factor per draw.")
    ] = 0.35,
    slip_probability: Annotated[
        float, typer.Option(min=0, max=1, help="Chance a department migrates late.")
    ] = 0.4,
    max_slip_months: Annotated[
        int, typer.Option(min=1, max=60, help="A late department slips 1..this many months.")
    ] = 12,
    output_format: Annotated[Format, typer.Option("--format", help="table or json.")] = Format.table,
) -> None:
    """Monte Carlo over growth and migration dates: P50/P90 shortfall month per line, P(five-year mandate)."""
    from rich.progress import Progress

    from capacity.present import render_risk, risk_json
    from capacity.risk import UncertaintyModel, simulate

    if output_format not in (Format.table, Format.json):
        err_console.print("[red]risk prints a table or json[/]")
        raise typer.Exit(2)
    base = load_or_exit(data)
    run = _scenario_or_exit(base, scenario, data)
    model = UncertaintyModel(growth_sigma_common, growth_sigma_system, slip_probability, max_slip_months)
    with Progress(console=err_console, transient=True, disable=draws < 20_000) as progress:
        task = progress.add_task("drawing", total=draws)
        result = simulate(
            run.source, draws, seed, model, progress=lambda done: progress.update(task, completed=done)
        )
    name = None if scenario is None else run.name
    if output_format is Format.json:
        sys.stdout.write(json.dumps(risk_json(run.source, result, name), ensure_ascii=False, indent=2) + "\n")
    else:
        render_risk(run.source, result, Console(width=160))


@app.command("report")
def report(
    out: Annotated[Path, typer.Option("--out", help="Directory to write the report into (replaced whole).")],
    data: DataOption = None,
    scenario: ScenarioOption = None,
) -> None:
    """An HTML report with PNG charts (demand vs usable per resource and zone) and an XLSX workbook."""
    from rich.progress import Progress

    from capacity.report import write_report

    base = load_or_exit(data)
    run = _scenario_or_exit(base, scenario, data)
    name = None if scenario is None else run.name
    with Progress(console=err_console, transient=True) as progress:
        task = progress.add_task("charts", total=len(run.assessment.lines) + 2)
        files = write_report(
            out, run.source, run.assessment, scenario=name, step=lambda: progress.advance(task)
        )
    err_console.print(f"wrote {len(files)} files into {out}: open {out / 'index.html'}")
