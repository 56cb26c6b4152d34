"""The planners' CLI: exit codes, the JSON fields the issue requires, nothing written on error, same bytes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from cloudkit import system, write_data
from typer.testing import CliRunner

from capacity.cli import app as capacity_app
from egov.cli import app as egov_app

runner = CliRunner()
MONTH = re.compile(r"^\d{4}-\d{2}$")


def _short_cloud(tmp_path: Path) -> Path:
    return write_data(tmp_path / "data", systems=[system(vcpu=500, annual_growth="20%")])


def test_data_validate_ok(small_dir: Path) -> None:
    result = runner.invoke(egov_app, ["data", "validate", str(small_dir)])
    assert result.exit_code == 0, result.output
    assert "ok: 2 departments, 1 systems" in result.stdout


def test_data_validate_bad_input_exits_2_naming_file_row_field(tmp_path: Path) -> None:
    root = write_data(tmp_path / "data", systems=[system(ram="512"), system(id="AAA-0002", department="ZZZ")])
    result = runner.invoke(egov_app, ["data", "validate", str(root)])
    assert result.exit_code == 2
    # a bare number under a header without a unit is one error of the header, not one per row
    assert "systems.csv, row 1, column 'ram': 1 行只有数字（如第 2 行 '512'）" in result.stderr
    assert "systems.csv, row 3, column 'department': unknown department 'ZZZ'" in result.stderr
    assert "nothing was written" in result.stderr


def test_check_json_has_the_required_fields(tmp_path: Path) -> None:
    result = runner.invoke(capacity_app, ["check", "--data", str(_short_cloud(tmp_path)), "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["horizon_months"] == 60
    assert document["physical"] == {"cores": "168 core", "ram": "1649 GB", "storage_raw": "0.410 PB"}
    keys = {"resource", "az", "unit", "usable", "demand_start", "demand_end", "first_shortfall", "order_by"}
    lines = {(r["resource"], r["az"]): r for r in document["resources"]}
    assert all(keys <= set(r) for r in document["resources"])
    vcpu = lines[("VCPU", "az-a")]
    assert (vcpu["unit"], vcpu["usable"], vcpu["demand_start"]) == ("vcpu", 576.0, 500.0)
    # 500 × 1.2^(t/12) > 576 from t = 10 (1.2^(10/12) = 1.164 > 1.152): short in 2027-11, order by 2027-05
    assert (vcpu["first_shortfall"], vcpu["order_by"]) == ("2027-11", "2027-05")
    assert lines[("DISK_GB", "az-a")]["first_shortfall"] is None
    assert all(
        r["first_shortfall"] is None or MONTH.match(r["first_shortfall"]) for r in document["resources"]
    )


def test_an_ignored_column_is_a_warning_in_the_check_json_and_on_stderr(tmp_path: Path) -> None:
    from cloudkit import SYSTEM_HEADER, systems_csv

    keys = [*SYSTEM_HEADER, "备注"]
    text = systems_csv([system(备注="先迁移数据库")], header=keys, keys=keys)
    root = write_data(tmp_path / "data", systems_text=text)
    result = runner.invoke(capacity_app, ["check", "--data", str(root), "--format", "json"])
    assert result.exit_code == 0, result.output
    (warning,) = json.loads(result.stdout)["warnings"]
    assert "'备注'" in warning and "'备注'" in result.stderr
    clean = runner.invoke(capacity_app, ["check", "--data", str(_short_cloud(tmp_path)), "--format", "json"])
    assert json.loads(clean.stdout)["warnings"] == []


def test_check_json_of_the_default_states_the_plan_totals() -> None:
    result = runner.invoke(capacity_app, ["check", "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["physical"] == {"cores": "15000 core", "ram": "150000 GB", "storage_raw": "15 PB"}
    short = {r["resource"] for r in document["resources"] if r["first_shortfall"]}
    # the default is interesting: RAM, block and object storage run out within the five years
    assert {"MEMORY_MB", "BLOCK_STORAGE", "OBJECT_STORAGE"} <= short


def test_check_on_bad_data_writes_nothing(tmp_path: Path) -> None:
    root = write_data(tmp_path / "data", systems=[system(block_storage="-3 TB")])
    out = tmp_path / "out"
    for output_format in ("json", "csv", "xlsx", "table"):
        result = runner.invoke(
            capacity_app, ["check", "--data", str(root), "--format", output_format, "--out", str(out)]
        )
        assert result.exit_code == 2
        assert "column 'block_storage'" in result.stderr
    assert not out.exists()


def test_xlsx_needs_out(small_dir: Path) -> None:
    result = runner.invoke(capacity_app, ["check", "--data", str(small_dir), "--format", "xlsx"])
    assert result.exit_code == 2 and "--out" in result.stderr


def test_unknown_format_is_a_usage_error(small_dir: Path) -> None:
    result = runner.invoke(capacity_app, ["check", "--data", str(small_dir), "--format", "pdf"])
    assert result.exit_code == 2


@pytest.mark.parametrize("output_format", ["json", "csv", "xlsx", "table"])
def test_outputs_are_byte_identical_across_runs(small_dir: Path, tmp_path: Path, output_format: str) -> None:
    produced = []
    for run in ("a", "b"):
        out = tmp_path / run
        result = runner.invoke(
            capacity_app, ["check", "--data", str(small_dir), "--format", output_format, "--out", str(out)]
        )
        assert result.exit_code == 0, result.output
        produced.append({p.name: p.read_bytes() for p in sorted(out.iterdir())})
    assert f"capacity-check.{'txt' if output_format == 'table' else output_format}" in produced[0]
    assert produced[0] == produced[1]


def test_csv_rows_are_monthly_per_line(small_dir: Path) -> None:
    result = runner.invoke(capacity_app, ["check", "--data", str(small_dir), "--format", "csv"])
    rows = result.stdout.split("\n\n")[0].splitlines()  # the monthly block (a fit block may follow)
    assert rows[0] == "month,resource,az,unit,usable,demand,free,percent_free"
    assert len(rows) == 1 + 5 * 60  # five lines (3 compute, block, object) × 60 months
    assert rows[1] == "2027-01,VCPU,az-a,vcpu,576.000,10.000,566.000,98.26"


def test_scenario_with_unknown_department_names_file_and_field(small_dir: Path, tmp_path: Path) -> None:
    scenario = tmp_path / "late.yaml"
    scenario.write_text("migration_delays:\n  - {department: ZZZ, months: 6}\n")
    out = tmp_path / "out"
    result = runner.invoke(
        capacity_app,
        [
            "check",
            "--data",
            str(small_dir),
            "--scenario",
            str(scenario),
            "--format",
            "json",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 2
    assert "late.yaml, field 'migration_delays.0.department': unknown department code 'ZZZ'" in result.stderr
    assert not out.exists()


def test_missing_scenario_lists_the_shipped_ones(small_dir: Path) -> None:
    result = runner.invoke(capacity_app, ["check", "--data", str(small_dir), "--scenario", "no-such"])
    assert result.exit_code == 2
    assert "no such scenario file" in result.stderr and "growth-x1.5" in result.stderr


def test_check_with_scenario_reports_its_name(small_dir: Path, tmp_path: Path) -> None:
    scenario = tmp_path / "fast.yaml"
    scenario.write_text("growth_multiplier: 2\n")
    result = runner.invoke(
        capacity_app, ["check", "--data", str(small_dir), "--scenario", str(scenario), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["scenario"] == "fast"


def test_compare_json(small_dir: Path, tmp_path: Path) -> None:
    ratio = tmp_path / "ratio.yaml"
    ratio.write_text("name: ratio-2\nallocation_ratios:\n  - {VCPU: 2.0}\n")
    result = runner.invoke(
        capacity_app, ["compare", str(ratio), "--data", str(small_dir), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert [r["name"] for r in document["runs"]] == ["base", "ratio-2"]
    vcpu = next(line for line in document["lines"] if line["resource"] == "VCPU")
    base, halved = vcpu["runs"]
    # 10 vCPU of 576 usable → 98.26 % free; at ratio 2.0: 10 of 288 → 96.53 %
    assert (base["min_percent_free"], halved["min_percent_free"]) == (98.26, 96.53)


def test_compare_reports_every_bad_scenario(small_dir: Path, tmp_path: Path) -> None:
    first = tmp_path / "a.yaml"
    first.write_text("allocation_ratios:\n  - {aggregate: agg-z, VCPU: 2}\n")
    second = tmp_path / "b.yaml"
    second.write_text("growth_multiplier: -1\n")
    result = runner.invoke(capacity_app, ["compare", str(first), str(second), "--data", str(small_dir)])
    assert result.exit_code == 2
    assert "a.yaml, field 'allocation_ratios.0.aggregate': unknown aggregate 'agg-z'" in result.stderr
    assert "b.yaml, field 'growth_multiplier'" in result.stderr


def test_risk_json_is_seeded(small_dir: Path) -> None:
    args = ["risk", "--data", str(small_dir), "--draws", "300", "--format", "json"]
    first = runner.invoke(capacity_app, [*args, "--seed", "5"])
    again = runner.invoke(capacity_app, [*args, "--seed", "5"])
    assert first.exit_code == 0, first.output
    assert first.stdout == again.stdout
    document = json.loads(first.stdout)
    assert document["draws"] == 300 and document["seed"] == 5
    assert 0.0 <= document["probability_mandate"] <= 1.0
    assert {r["resource"] for r in document["resources"]} >= {"VCPU", "MEMORY_MB", "BLOCK_STORAGE"}


def test_risk_rejects_zero_draws(small_dir: Path) -> None:
    result = runner.invoke(capacity_app, ["risk", "--data", str(small_dir), "--draws", "0"])
    assert result.exit_code == 2


def test_a_zone_with_no_usable_capacity_gives_valid_json(tmp_path: Path) -> None:
    from cloudkit import cloud

    data = cloud()
    data["availability_zones"][0]["ha_reserve_hosts"] = 3  # every host kept for HA: nothing usable
    root = write_data(tmp_path / "data", cloud_data=data)
    result = runner.invoke(capacity_app, ["check", "--data", str(root), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert "Infinity" not in result.stdout
    vcpu = next(r for r in json.loads(result.stdout)["resources"] if r["resource"] == "VCPU")
    assert (vcpu["usable"], vcpu["min_percent_free"], vcpu["first_shortfall"]) == (0.0, None, "2027-01")


def test_data_validate_checks_the_scenarios_of_the_directory(small_dir: Path) -> None:
    (small_dir / "scenarios").mkdir()
    (small_dir / "scenarios" / "fine.yaml").write_text("growth_multiplier: 1.2\n")
    ok = runner.invoke(egov_app, ["data", "validate", str(small_dir)])
    assert ok.exit_code == 0 and "1 scenarios" in ok.stdout
    (small_dir / "scenarios" / "typo.yaml").write_text(
        "expansions:\n  - {month: 2028-01, pool: rbd-b, raw: 1 PB}\n"
    )
    bad = runner.invoke(egov_app, ["data", "validate", str(small_dir)])
    assert bad.exit_code == 2
    assert "typo.yaml, field 'expansions.0.pool': unknown storage pool 'rbd-b'" in bad.stderr


def test_data_validate_the_default_and_its_scenarios() -> None:
    result = runner.invoke(egov_app, ["data", "validate"])
    assert result.exit_code == 0, result.output
    assert "122 departments, 1054 systems" in result.stdout and "3 scenarios" in result.stdout


def test_version() -> None:
    from importlib.metadata import version

    result = runner.invoke(egov_app, ["--version"])
    assert result.exit_code == 0 and result.stdout == f"egov {version('egov')}\n"
