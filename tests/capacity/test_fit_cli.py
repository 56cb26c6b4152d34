"""`egov capacity fit` and the fit section of `egov capacity check`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from egov.cli import app

runner = CliRunner()


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_fit_json_for_one_flavor_and_month() -> None:
    code, out, _ = run("capacity", "fit", "--flavor", "m1.xlarge", "--month", "2028-01", "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert doc["months"] == ["2028-01"] and doc["weigher"] == "spread"
    for zone in doc["zones"]:
        assert [f["flavor"] for f in zone["flavors"]] == ["m1.xlarge"]
        flavor = zone["flavors"][0]
        assert 0 < flavor["fits"][0] <= flavor["sums"][0]
        assert flavor["loss"][0] == flavor["sums"][0] - flavor["fits"][0]
        assert zone["hosts_lower_bound"][0] <= zone["hosts_used"][0] <= zone["hosts_enabled"][0]
        for resource in zone["resources"]:
            assert 0 <= resource["stranded"][0] <= resource["free"][0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--flavor", "m9.huge"), "'m9.huge' is not in the catalogue"),
        (("--month", "2040-01"), "outside the horizon"),
        (("--month", "2028-13"), "outside 1..12"),
        (("--weigher", "random"), "neither 'spread' nor 'pack'"),
        (("--format", "csv"), "table or json"),
    ],
)
def test_fit_bad_flags_name_the_flag(args: tuple[str, ...], message: str) -> None:
    code, _, err = run("capacity", "fit", *args)
    assert code == 2 and message in " ".join(err.split())


@pytest.mark.usefixtures("chinese_by_default")
def test_check_has_a_fit_section_in_every_format(tmp_path: Path) -> None:
    code, out, _ = run("capacity", "check", "--format", "json")
    assert code == 0
    zones = json.loads(out)["zones"]
    fit = json.loads(out)["fit"]
    assert fit["weigher"] == "spread" and len(fit["months"]) == 60
    code, csv_text, _ = run("capacity", "check", "--format", "csv")
    assert code == 0 and "\nmonth,az,flavor,fits,sums,loss\n2027-01,gz-1,m1.small," in csv_text
    code, table, _ = run("capacity", "check", "--lang", "en")  # the check's tables default to zh-CN
    assert code == 0 and "how many more VMs of each flavor fit" in table and "stranded" in table
    code, _, _ = run("capacity", "check", "--format", "xlsx", "--out", str(tmp_path))
    assert code == 0
    from openpyxl import load_workbook

    book = load_workbook(tmp_path / "capacity-check.xlsx")
    sheet = book["装箱"]  # the report's fit sheet, zh-CN by default
    assert [c.value for c in sheet[1]][:3] == ["月份", "可用区", "规格"]
    assert isinstance(sheet.cell(2, 4).value, int)
    # the decision sheet gives each zone the check's one date (the earlier of the sums' and the fit's)
    decision = book.worksheets[0]
    dated = [z for z in zones if z["first_month"] is not None]
    shown = decision.iter_rows(min_row=4, max_row=3 + len(dated), max_col=3, values_only=True)
    assert [(az, month.strftime("%Y-%m")) for az, _binding, month in shown] == [
        (z["az"], z["first_month"]) for z in dated
    ]
    first = (tmp_path / "capacity-check.xlsx").read_bytes()
    run("capacity", "check", "--format", "xlsx", "--out", str(tmp_path))
    assert (tmp_path / "capacity-check.xlsx").read_bytes() == first  # same input, same bytes


def test_from_placement_with_an_unknown_cloud_names_it(tmp_path: Path) -> None:
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(
        "clouds:\n  other:\n    auth_type: admin_token\n    auth: {token: x, endpoint: http://127.0.0.1:9}\n"
    )
    code, _, err = run(
        "capacity", "check", "--from-placement", "nope", env={"OS_CLIENT_CONFIG_FILE": str(clouds)}
    )
    assert code == 2 and "cloud 'nope'" in err
