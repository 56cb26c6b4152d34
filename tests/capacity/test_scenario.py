"""Scenarios: each override changes exactly what it names, checked by hand on the small cloud."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from cloudkit import system, write_data

from capacity.headroom import assess
from capacity.scenario import (
    apply_scenario,
    compare,
    load_scenario,
    resolve_scenario_path,
)
from capacity.supply import build_supply
from egov.errors import SourceErrors
from egov.model import SourceOfTruth
from egov.source import DEFAULT_DATA_DIR, default_source, load_source

VCPU, RAM, BLOCK = "VCPU", "MEMORY_MB", "BLOCK_STORAGE"


def _scenario(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _apply(source: SourceOfTruth, tmp_path: Path, text: str) -> SourceOfTruth:
    return apply_scenario(source, load_scenario(_scenario(tmp_path, text), source))


def test_name_defaults_to_file_stem(small: SourceOfTruth, tmp_path: Path) -> None:
    assert load_scenario(_scenario(tmp_path, "{}\n", "quiet-year.yaml"), small).name == "quiet-year"


def test_global_ratio_applies_to_every_aggregate(tmp_path: Path) -> None:
    data = write_data(tmp_path / "data")
    source = load_source(data)
    changed = _apply(source, tmp_path, "allocation_ratios:\n  - {VCPU: 3.0}\n")
    # (56 − 8) × 3.0 × 3 hosts
    assert build_supply(changed).lines[(VCPU, "az-a")].usable[0] == 432
    # the base is untouched: a scenario builds a new source of truth
    assert build_supply(source).lines[(VCPU, "az-a")].usable[0] == 576


def test_aggregate_ratio_overrides_after_global(small: SourceOfTruth, tmp_path: Path) -> None:
    text = "allocation_ratios:\n  - {VCPU: 3.0}\n  - {aggregate: agg-a, VCPU: 2.0, MEMORY_MB: 1.5}\n"
    supply = build_supply(_apply(small, tmp_path, text))
    assert supply.lines[(VCPU, "az-a")].usable[0] == 48 * 2.0 * 3
    assert supply.lines[(RAM, "az-a")].usable[0] == 524288 * 1.5 * 3


def test_growth_multiplier(tmp_path: Path) -> None:
    source = load_source(write_data(tmp_path / "data", systems=[system(vcpu=100, annual_growth="20%")]))
    changed = _apply(source, tmp_path, "growth_multiplier: 1.5\n")
    line = assess(changed).line(VCPU, "az-a")
    assert line.demand[12] == pytest.approx(130.0)  # 20 %/year × 1.5 = 30 %/year
    assert source.systems[0].growth.annual_rate == pytest.approx(0.2)


def test_migration_delay_moves_only_that_department(tmp_path: Path) -> None:
    rows = [system(id="AAA-0001"), system(id="BBB-0001", department="BBB", migration_month="2027-03")]
    source = load_source(write_data(tmp_path / "data", systems=rows))
    changed = _apply(source, tmp_path, "migration_delays:\n  - {department: AAA, months: 12}\n")
    months = {s.id: s.migration_month for s in changed.systems}
    assert months == {"AAA-0001": date(2028, 1, 1), "BBB-0001": date(2027, 3, 1)}


def test_extra_expansion_and_planning_overrides(small: SourceOfTruth, tmp_path: Path) -> None:
    text = (
        "expansions:\n  - {month: 2028-01, aggregate: agg-a, hosts: 1}\n"
        "  - {month: 2027-07, pool: rbd-a, raw: 30 TB}\n"
        "planning: {headroom_target: 35%, lead_time_months: 9}\n"
    )
    changed = _apply(small, tmp_path, text)
    supply = build_supply(changed)
    assert supply.lines[(VCPU, "az-a")].usable[11:13].tolist() == [576, 768]
    assert supply.lines[(BLOCK, "az-a")].usable[6] == pytest.approx(85_000 + 8_500)
    assert (changed.planning.headroom_target, changed.planning.lead_time_months) == (0.35, 9)
    assert len(small.cloud.expansions) == 0


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        ("migration_delays:\n  - {department: ZZZ, months: 3}\n", "migration_delays.0.department", "ZZZ"),
        ("allocation_ratios:\n  - {aggregate: nope, VCPU: 2}\n", "allocation_ratios.0.aggregate", "nope"),
        ("allocation_ratios:\n  - {aggregate: agg-a}\n", "allocation_ratios.0", "at least one"),
        ("allocation_ratios:\n  - {VCPU: 0}\n", "allocation_ratios.0.VCPU", "greater than 0"),
        ("expansions:\n  - {month: 2028-01, pool: nope, raw: 1 PB}\n", "expansions.0.pool", "nope"),
        ("expansions:\n  - {month: 2028-01, pool: rbd-a, raw: 1000}\n", "expansions.0.raw", "no unit"),
        ("growth_multiplier: 0\n", "growth_multiplier", "greater than 0"),
        ("planning: {headroom_target: 120%}\n", "planning.headroom_target", "less than 1"),
        ("growth_multipler: 1.5\n", "growth_multipler", "Extra inputs"),
        (
            "migration_delays:\n  - {department: AAA, months: 1}\n  - {department: AAA, months: 2}\n",
            "migration_delays",
            "delayed twice",
        ),
    ],
)
def test_bad_scenario_names_file_and_field(
    small: SourceOfTruth, tmp_path: Path, text: str, field: str, message: str
) -> None:
    path = _scenario(tmp_path, text, "bad.yaml")
    with pytest.raises(SourceErrors) as caught:
        load_scenario(path, small)
    assert any(
        e.path == str(path) and e.field == field and message in e.message for e in caught.value.errors
    ), [str(e) for e in caught.value.errors]


def test_invalid_yaml_scenario_names_the_line(small: SourceOfTruth, tmp_path: Path) -> None:
    path = _scenario(tmp_path, "growth_multiplier: 1.5\nplanning: {lead_time_months: 3\n")
    with pytest.raises(Exception, match=r"s\.yaml, row 3: invalid YAML"):
        load_scenario(path, small)


def test_shipped_scenarios_load_against_the_default() -> None:
    source = default_source()
    paths = sorted((DEFAULT_DATA_DIR / "scenarios").glob("*.yaml"))
    assert {p.stem for p in paths} >= {"growth-x1.5", "vcpu-ratio-3", "gat-delay-12m"}
    runs = compare(source, paths)
    base = runs[0].assessment.line(RAM, "gz-1")
    by_name = {run.name: run for run in runs}
    # faster growth brings the RAM shortfall earlier; the GAT delay and bought storage push block later
    assert by_name["growth-x1.5"].assessment.line(RAM, "gz-1").first_shortfall < base.first_shortfall
    delayed = by_name["gat-delay-12m"].assessment.line(BLOCK, "gz-1")
    assert (
        delayed.first_shortfall is None
        or delayed.first_shortfall > runs[0].assessment.line(BLOCK, "gz-1").first_shortfall
    )
    # less CPU overcommit: less usable VCPU, so less of it free
    lower_ratio = by_name["vcpu-ratio-3"].assessment.line(VCPU, "gz-1")
    assert lower_ratio.usable[0] < runs[0].assessment.line(VCPU, "gz-1").usable[0]
    assert lower_ratio.min_percent_free < runs[0].assessment.line(VCPU, "gz-1").min_percent_free


def test_resolve_by_name_and_by_path(tmp_path: Path) -> None:
    assert resolve_scenario_path("growth-x1.5").name == "growth-x1.5.yaml"
    path = _scenario(tmp_path, "{}\n", "mine.yaml")
    assert resolve_scenario_path(str(path)) == path
    with pytest.raises(Exception, match="no such scenario file"):
        resolve_scenario_path("does-not-exist")


def test_department_overrides_grow_and_delay_only_that_department(tmp_path: Path) -> None:
    rows = [
        system(id="AAA-0001", department="AAA", vcpu=100, annual_growth="20%"),
        system(id="BBB-0001", department="BBB", vcpu=100, annual_growth="20%"),
    ]
    source = load_source(write_data(tmp_path / "data", systems=rows))
    text = "growth_multiplier: 1.5\ndepartments:\n  AAA: {growth_multiplier: 2.0, delay_months: 6}\n"
    changed = {s.id: s for s in _apply(source, tmp_path, text).systems}
    # AAA: 20 %/year × 1.5 × 2.0 = 60 %/year, six months late; BBB: × 1.5 only, on time
    assert changed["AAA-0001"].growth.annual_rate == pytest.approx(0.6)
    assert changed["AAA-0001"].migration_month == date(2027, 7, 1)
    assert changed["BBB-0001"].growth.annual_rate == pytest.approx(0.3)
    assert changed["BBB-0001"].migration_month == date(2027, 1, 1)


def test_unknown_department_code_suggests_the_closest(small: SourceOfTruth, tmp_path: Path) -> None:
    path = _scenario(tmp_path, "departments:\n  AAB: {growth_multiplier: 2.0}\n")
    with pytest.raises(SourceErrors) as caught:
        load_scenario(path, small)
    error = caught.value.errors[0]
    assert error.field == "departments" and error.path == str(path)
    assert "unknown department code 'AAB'" in error.message and "did you mean 'AAA'" in error.message


def test_a_delay_past_the_horizon_is_said_in_the_json_and_on_stderr(tmp_path: Path) -> None:
    """AAA's system moved 60 months later migrates in 2032-01, after the 60-month horizon from 2027-01: the
    check cannot count it, and says so (JSON `warnings`, stderr) rather than answer as if it did not exist."""
    import json

    from typer.testing import CliRunner

    from capacity.cli import app

    rows = [system(id="AAA-0001"), system(id="BBB-0001", department="BBB", migration_month="2027-03")]
    data = write_data(tmp_path / "data", systems=rows)
    scenario = _scenario(tmp_path, "migration_delays:\n  - {department: AAA, months: 60}\n", "late.yaml")
    result = CliRunner().invoke(
        app, ["check", "--data", str(data), "--scenario", str(scenario), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    (warning,) = doc["warnings"]
    assert "after the horizon (2031-12)" in warning and "AAA-0001" in warning and "BBB-0001" not in warning
    assert "warning: scenario 'late'" in result.stderr

    on_time = _scenario(tmp_path, "migration_delays:\n  - {department: AAA, months: 59}\n", "on-time.yaml")
    result = CliRunner().invoke(
        app, ["check", "--data", str(data), "--scenario", str(on_time), "--format", "json"]
    )
    assert json.loads(result.stdout)["warnings"] == []
