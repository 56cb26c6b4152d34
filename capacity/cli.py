"""`egov capacity …`: the planners' commands. Thin: load, compute (capacity.*), present (capacity.present,
capacity.report). Heavy libraries are imported inside the commands so that `egov` starts fast."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from egov.clitools import (
    DataOption,
    Format,
    err_console,
    exit_with_errors,
    load_or_exit,
    print_error,
    print_warning,
    progress_bar,
    require_table_or_json,
)

if TYPE_CHECKING:
    from capacity.building import BuildingReport
    from capacity.fit import FitReport
    from capacity.placement_source import LiveCloud
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
            run = base_run(source)
        else:
            run = scenario_run(source, resolve_scenario_path(scenario, data))
    except (SourceError, SourceErrors) as exc:
        exit_with_errors(exc)
    for warning in run.source.warnings[len(source.warnings) :]:  # what the scenario left out (also in JSON)
        print_warning(warning)
    return run


LangOption = Annotated[
    str | None,
    typer.Option(
        "--lang",
        metavar="zh-CN|en",
        help="Language of the output (else egov --lang, EGOV_LANG, the locale, zh-CN).",
    ),
]


FromPlacementOption = Annotated[
    str | None,
    typer.Option(
        "--from-placement",
        metavar="CLOUD",
        help="Start from what a live cloud holds: CLOUD is a cloud of clouds.yaml (OS_CLIENT_CONFIG_FILE "
        "honoured); hosts, inventories and usage are read from its Placement.",
    ),
]


AggregateMapOption = Annotated[
    Path | None,
    typer.Option(
        "--aggregate-map",
        metavar="FILE",
        help="With --from-placement: a YAML file of host-name pattern → aggregate, for compute providers in "
        "no aggregate egov knows (without it such providers make the command refuse, naming them).",
    ),
]


def _connect_or_exit(cloud: str) -> Any:
    """An openstacksdk connection to ``cloud`` of clouds.yaml; an unknown cloud exits 2 naming it."""
    from capacity.placement_source import connect

    try:
        return connect(cloud)
    except Exception as exc:  # openstacksdk: unknown cloud, bad clouds.yaml
        print_error(f"cloud {cloud!r}: {type(exc).__name__}: {exc}")
        raise typer.Exit(2) from None


def _live_or_exit(
    cloud: str, source: SourceOfTruth, conn: Any = None, aggregate_map: Path | None = None
) -> LiveCloud:
    """Read the live cloud, with a progress bar; a missing cloud, a Placement error or compute providers in no
    known aggregate exit 2 naming them; what was guessed is printed (and is in the JSON's warnings)."""
    from rich.progress import Progress

    from capacity.placement_source import PlacementError, load_aggregate_map, read_live
    from egov.errors import SourceError, SourceErrors

    try:
        rules = None if aggregate_map is None else load_aggregate_map(aggregate_map, source.cloud)
    except (SourceError, SourceErrors) as exc:
        exit_with_errors(exc)
    conn = conn if conn is not None else _connect_or_exit(cloud)
    try:
        with Progress(console=err_console, transient=True) as progress:
            task = progress.add_task(f"reading Placement of {cloud}", total=None)
            live = read_live(
                conn,
                source,
                lambda done, total: progress.update(task, completed=done, total=total),
                aggregate_map=rules,
            )
    except PlacementError as exc:
        message = f"[red]error:[/] Placement of cloud {cloud!r}: {escape(str(exc))}"
        err_console.print(message, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    except Exception as exc:  # openstacksdk: unreachable endpoint, bad credentials
        print_error(f"cloud {cloud!r}: {type(exc).__name__}: {exc}")
        raise typer.Exit(2) from None
    for warning in live.source.warnings[len(source.warnings) :]:
        print_warning(warning)
    return live


def _fit_report(source: SourceOfTruth, live: LiveCloud | None, weigher: str = "spread") -> FitReport:
    from capacity.fit import Weigher, simulate

    if live is None:
        return simulate(source, Weigher(weigher))
    return simulate(source, Weigher(weigher), hosts=live.hosts, used=live.used)


def _building_or_exit(source: SourceOfTruth, data: Path | None) -> BuildingReport | None:
    """The building of the data directory with ``source``'s equipment in it, or None without building.yaml;
    bad input exits 2 naming file, row and field."""
    from capacity.building import assess_building, load_building_of
    from egov.errors import SourceError, SourceErrors
    from egov.source import DEFAULT_DATA_DIR

    try:
        building = load_building_of(data)
        if building is None:
            return None
        return assess_building(source, building, (data or DEFAULT_DATA_DIR) / "cloud.yaml")
    except (SourceError, SourceErrors) as exc:
        exit_with_errors(exc)


def _language_or_exit(lang: str | None) -> str:
    """The catalog code of ``--lang``, else of the CLI's language (``egov --lang``, EGOV_LANG, the locale,
    zh-CN); an unknown language exits 2 naming it and the languages there are."""
    from egov.i18n import UnknownLanguage, cli_language, language

    if lang is None:
        return cli_language()
    try:
        return language(lang)
    except UnknownLanguage as exc:
        err_console.print(f"--lang {lang}: {exc}", highlight=False)
        raise typer.Exit(2) from None


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
    from_placement: FromPlacementOption = None,
    aggregate_map: AggregateMapOption = None,
    lang: LangOption = None,
) -> None:
    """Will supply cover demand month by month for the whole horizon? What runs out first; when to order.
    The fit section places every system's VMs host by host, as Nova and Placement would (docs/fit.md)."""
    import dataclasses

    from capacity.fit_present import fit_csv, fit_json, render_fit_table
    from capacity.present import assessment_json, monthly_csv, render_table

    if output_format is Format.xlsx and out is None:
        err_console.print("[red]--format xlsx writes a workbook: give --out DIR[/]")
        raise typer.Exit(2)
    code = _language_or_exit(lang)
    base = load_or_exit(data)
    live = (
        None if from_placement is None else _live_or_exit(from_placement, base, aggregate_map=aggregate_map)
    )
    run = _scenario_or_exit(base if live is None else live.source, scenario, data)
    if live is not None:
        from capacity.placement_source import live_assessment

        run = dataclasses.replace(run, assessment=live_assessment(run.source, live))
    fit = _fit_report(run.source, live)
    # A live cloud's host models are read from Placement, which knows neither rack units nor power draw.
    building = None if live is not None else _building_or_exit(run.source, data)
    planning = run.source.planning
    name = None if scenario is None else run.name
    if output_format is Format.table:
        console = Console(width=160) if out is None else Console(record=True, width=160, file=io.StringIO())
        render_table(run.source, run.assessment, console, scenario=name, lang=code, fit=fit)
        render_fit_table(planning, fit, console, lang=code)
        if building is not None:
            from capacity.building_present import render_building

            render_building(building, run.source, console, lang=code)
        if out is not None:
            _emit(console.export_text(), out, "capacity-check.txt")
    elif output_format is Format.json:
        from capacity.building_present import building_json

        document = assessment_json(run.source, run.assessment, scenario=name, fit=fit)
        document["fit"] = fit_json(planning, fit)
        document["building"] = [] if building is None else building_json(building, run.source)
        _emit(json.dumps(document, ensure_ascii=False, indent=2) + "\n", out, "capacity-check.json")
    elif output_format is Format.csv:
        if out is None:  # one stream: the fit block follows the monthly block after a blank line
            _emit(monthly_csv(run.assessment) + "\n" + fit_csv(planning, fit), None, "")
        else:
            _emit(monthly_csv(run.assessment), out, "capacity-check.csv")
            _emit(fit_csv(planning, fit), out, "capacity-fit.csv")
    else:
        from capacity.report import workbook_bytes
        from egov.atomic import write_bytes

        assert out is not None
        # the report's workbook, with the fit: its decision gives each zone the check's one date
        workbook = workbook_bytes(run.source, run.assessment, scenario=name, lang=code, fit=fit)
        write_bytes(out / "capacity-check.xlsx", workbook)
        err_console.print(f"wrote {out / 'capacity-check.xlsx'}")


@app.command("fit")
def fit_command(
    data: DataOption = None,
    flavor: Annotated[
        str | None, typer.Option("--flavor", help="Only this flavor of the catalogue, e.g. m1.xlarge.")
    ] = None,
    output_format: Annotated[Format, typer.Option("--format", help="table or json.")] = Format.table,
    month: Annotated[
        str | None, typer.Option("--month", metavar="YYYY-MM", help="One month of the horizon only.")
    ] = None,
    weigher: Annotated[
        str, typer.Option("--weigher", help="spread (most free RAM first, Nova's default) or pack.")
    ] = "spread",
    from_placement: FromPlacementOption = None,
    aggregate_map: AggregateMapOption = None,
) -> None:
    """How many more VMs of each flavor fit, per zone and month, host by host as Placement decides; stranded
    capacity; hosts used against the lower bound; systems whose VMs find no host."""
    from capacity.fit_present import fit_json, render_fit_table
    from egov.months import month_label, months_between, parse_month

    require_table_or_json(output_format, "fit")
    if weigher not in ("spread", "pack"):
        err_console.print(f"[red]--weigher: {weigher!r} is neither 'spread' nor 'pack'[/]", highlight=False)
        raise typer.Exit(2)
    source = load_or_exit(data)
    names = [f.name for f in source.cloud.flavors]
    if flavor is not None and flavor not in names:
        err_console.print(
            f"[red]--flavor: {flavor!r} is not in the catalogue; flavors: {', '.join(names)}[/]",
            highlight=False,
        )
        raise typer.Exit(2)
    index = None
    if month is not None:
        planning = source.planning
        try:
            index = months_between(planning.start_month, parse_month(month))
        except ValueError as exc:
            err_console.print(f"[red]--month: {exc}[/]", highlight=False)
            raise typer.Exit(2) from None
        if not 0 <= index < planning.horizon_months:
            err_console.print(
                f"[red]--month: {month} is outside the horizon {month_label(planning.start_month)} → "
                f"{month_label(planning.end_month)}[/]",
                highlight=False,
            )
            raise typer.Exit(2)
    live = (
        None if from_placement is None else _live_or_exit(from_placement, source, aggregate_map=aggregate_map)
    )
    if live is not None:
        source = live.source
    report = _fit_report(source, live, weigher)
    if output_format is Format.json:
        document = fit_json(source.planning, report, flavor=flavor, month=index)
        sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
    else:
        from egov.i18n import cli_language

        render_fit_table(
            source.planning, report, Console(width=160), flavor=flavor, month=index, lang=cli_language()
        )


@app.command("hold")
def hold(
    system: Annotated[str, typer.Argument(help="The system whose migration is confirmed, e.g. GAT-0001.")],
    cloud: Annotated[str, typer.Option("--cloud", help="The cloud of clouds.yaml whose Placement holds it.")],
    release: Annotated[
        bool, typer.Option("--release", help="Release the hold (cut-over done, or migration cancelled).")
    ] = False,
    data: DataOption = None,
    aggregate_map: AggregateMapOption = None,
) -> None:
    """Hold capacity for a confirmed migration in Placement (consumer type MIGRATION), or release it.
    Idempotent; never touches another consumer (docs/fit.md)."""
    from capacity.holds import place_hold, plan_hold, release_hold
    from capacity.placement_source import PlacementError

    source = load_or_exit(data)
    if system not in {s.id for s in source.systems}:
        print_error(f"system {system!r} is not in the source of truth")
        raise typer.Exit(2)
    conn = _connect_or_exit(cloud)
    region = source.cloud.region
    try:
        if release:
            released = release_hold(conn, region, system)
            Console().print(f"{system}: hold released" if released else f"{system}: no hold to release")
            return
        live = _live_or_exit(cloud, source, conn, aggregate_map)
        held = place_hold(conn, region, system, plan_hold(live, system))
    except (PlacementError, KeyError) as exc:
        print_error(str(exc))
        raise typer.Exit(1) from None
    totals: dict[str, int] = {}
    for resources in held.allocations.values():
        for rc, amount in resources.items():
            totals[rc] = totals.get(rc, 0) + amount
    amounts = ", ".join(f"{rc} {n}" for rc, n in sorted(totals.items()))
    Console().print(
        f"{system}: held on {len(held.allocations)} hosts ({amounts}); consumer {held.consumer}, "
        f"generation {held.generation}"
    )


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

    require_table_or_json(output_format, "compare")
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
    fit_draws: Annotated[
        int,
        typer.Option(
            "--fit-draws",
            min=0,
            max=1000,
            help="Also run the first N draws through the fit: P(a flavor finds no host) by month.",
        ),
    ] = 0,
) -> None:
    """Monte Carlo over growth and migration dates: P50/P90 shortfall month per line, P(five-year mandate)."""
    from rich.progress import Progress

    from capacity.present import render_risk, risk_json
    from capacity.risk import UncertaintyModel, simulate

    require_table_or_json(output_format, "risk")
    base = load_or_exit(data)
    run = _scenario_or_exit(base, scenario, data)
    model = UncertaintyModel(growth_sigma_common, growth_sigma_system, slip_probability, max_slip_months)
    with Progress(console=err_console, transient=True, disable=draws < 5_000) as progress:
        task = progress.add_task("drawing", total=draws)
        result = simulate(
            run.source, draws, seed, model, progress=lambda done: progress.update(task, completed=done)
        )
    name = None if scenario is None else run.name
    on_fit = None
    if fit_draws:
        from capacity.fit_risk import fit_risk

        if fit_draws > draws:
            err_console.print(f"[red]--fit-draws: {fit_draws} is more than --draws {draws}[/]")
            raise typer.Exit(2)
        with progress_bar() as progress:
            progress.add_task(f"fit of {fit_draws} draws", total=None)
            on_fit = fit_risk(run.source, fit_draws, draws, seed, model)
    if output_format is Format.json:
        document = risk_json(run.source, result, name)
        if on_fit is not None:
            from capacity.fit_present import fit_risk_json

            document["fit"] = fit_risk_json(run.source.planning, on_fit)
        sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
    else:
        render_risk(run.source, result, Console(width=160))
        if on_fit is not None:
            from capacity.fit_present import render_fit_risk

            render_fit_risk(run.source.planning, on_fit, Console(width=160))


@app.command("plan")
def plan_command(
    data: DataOption = None,
    scenario: ScenarioOption = None,
    confidence: Annotated[
        float | None,
        typer.Option(
            "--confidence",
            min=0.5,
            max=0.999,
            help="Size the plan so that this share of the Monte Carlo draws (the same as `risk`) keeps the "
            "target, e.g. 0.9.",
        ),
    ] = None,
    draws: Annotated[int, typer.Option("--draws", min=100, max=100_000, help="Monte Carlo draws.")] = 10_000,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of the Monte Carlo draws.")] = 0,
    output_format: Annotated[
        Format, typer.Option("--format", help="table, json or xlsx (xlsx needs --out).")
    ] = Format.table,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the output file into this directory.")
    ] = None,
    scenario_out: Annotated[
        Path | None,
        typer.Option("--scenario-out", help="Write the tranches as a scenario file for `check --scenario`."),
    ] = None,
    lang: LangOption = None,
) -> None:
    """A staged, least-cost purchase plan: what to order by when, delivered when, into which aggregate or pool
    and which racks — proven by the check, the fit and the building (docs/planners.md)."""
    from capacity.building import load_building_of
    from capacity.plan import make_plan
    from capacity.plan_present import plan_json, plan_workbook, render_plan, scenario_text
    from capacity.prices import load_prices
    from egov.atomic import write_bytes, write_text
    from egov.errors import SourceError, SourceErrors
    from egov.source import DEFAULT_DATA_DIR

    if output_format is Format.csv:
        err_console.print("[red]--format: plan prints a table, json or xlsx[/]")
        raise typer.Exit(2)
    if output_format is Format.xlsx and out is None:
        err_console.print("[red]--format xlsx writes a workbook: give --out DIR[/]")
        raise typer.Exit(2)
    code = _language_or_exit(lang)
    base = load_or_exit(data)
    run = _scenario_or_exit(base, scenario, data)
    try:
        prices = load_prices((data or DEFAULT_DATA_DIR) / "prices.yaml", run.source.cloud)
        building = load_building_of(data)
    except (SourceError, SourceErrors) as exc:
        exit_with_errors(exc)
    _building_or_exit(run.source, data)  # missing rack units or power: located errors before solving
    with progress_bar() as progress:
        progress.add_task("planning: solve, prove by the fit, cut", total=None)
        plan = make_plan(run.source, prices, building, confidence=confidence, draws=draws, seed=seed)
    name = None if scenario is None else run.name
    if output_format is Format.json:
        _emit(
            json.dumps(plan_json(plan, name), ensure_ascii=False, indent=2) + "\n", out, "capacity-plan.json"
        )
    elif output_format is Format.xlsx:
        assert out is not None
        write_bytes(out / "capacity-plan.xlsx", plan_workbook(plan, code))
        err_console.print(f"wrote {out / 'capacity-plan.xlsx'}")
    else:
        console = Console(width=160) if out is None else Console(record=True, width=160, file=io.StringIO())
        render_plan(plan, console, lang=code)
        if out is not None:
            _emit(console.export_text(), out, "capacity-plan.txt")
    if scenario_out is not None:
        from capacity.scenario import resolve_scenario_path
        from egov.source import read_yaml

        made_on = None if scenario is None else read_yaml(resolve_scenario_path(scenario, data))
        write_text(scenario_out, scenario_text(plan, base=made_on if isinstance(made_on, dict) else None))
        err_console.print(f"wrote {scenario_out}: egov capacity check --scenario {scenario_out}")
    if not plan.proven:
        raise typer.Exit(1)


@app.command("report")
def report(
    out: Annotated[Path, typer.Option("--out", help="Directory to write the report into (replaced whole).")],
    data: DataOption = None,
    scenario: ScenarioOption = None,
    risk_draws: Annotated[
        int, typer.Option("--risk-draws", min=0, max=1_000_000, help="Add a Monte Carlo section (0: none).")
    ] = 0,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of the Monte Carlo section.")] = 0,
    lang: LangOption = None,
) -> None:
    """An HTML report with PNG charts (demand vs usable per resource and zone) and an XLSX workbook, the
    decision first — the procurement plan's tranches (what to order, where, by when, at what cost), or why
    there is no plan — and the fit host by host."""
    from rich.progress import Progress

    from capacity.building import load_building_of
    from capacity.plan import make_plan
    from capacity.prices import load_prices
    from capacity.report import MissingFont, cjk_font, write_report
    from egov.errors import SourceError, SourceErrors
    from egov.i18n import translations
    from egov.source import DEFAULT_DATA_DIR

    code = _language_or_exit(lang)
    try:
        cjk_font()
    except MissingFont as exc:
        err_console.print(str(exc))
        raise typer.Exit(2) from None
    base = load_or_exit(data)
    run = _scenario_or_exit(base, scenario, data)
    name = None if scenario is None else run.name
    prices_file = (data or DEFAULT_DATA_DIR) / "prices.yaml"
    prices, building = None, None
    try:
        if prices_file.exists():
            prices = load_prices(prices_file, run.source.cloud)
        building = load_building_of(data)
    except (SourceError, SourceErrors) as exc:
        exit_with_errors(exc)
    _building_or_exit(run.source, data)  # missing rack units or power: located errors before solving
    no_plan = None
    if prices is None:
        no_plan = translations(code).gettext("there is no price list (%(file)s)") % {"file": prices_file}
    with Progress(console=err_console, transient=True) as progress:
        plan = None
        if prices is not None:
            progress.add_task("planning: solve, prove by the fit, cut", total=None)
            plan = make_plan(run.source, prices, building)
        result = None
        if risk_draws:
            from capacity.risk import simulate

            drawing = progress.add_task("drawing", total=risk_draws)
            result = simulate(
                run.source, risk_draws, seed, progress=lambda done: progress.update(drawing, completed=done)
            )
        fit = _fit_report(run.source, None)
        task = progress.add_task("charts", total=len(run.assessment.lines) + 2)
        files = write_report(
            out,
            run.source,
            run.assessment,
            scenario=name,
            step=lambda: progress.advance(task),
            risk=result,
            lang=code,
            fit=fit,
            plan=plan,
            no_plan=no_plan,
        )
    err_console.print(f"wrote {len(files)} files into {out}: open {out / 'index.html'}")
