"""`egov slots …` end to end on the tiny cloud (typer's runner), and the Alembic schema against the models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from egov.cli import app
from egov.source import load_source
from slots.bandwidth import RoutedPaths
from slots.db import Base, make_engine
from slots.ledger import Ledger


@pytest.fixture
def run(tmp_path: Path, tiny_dir: Path):  # type: ignore[no-untyped-def]
    db = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    runner = CliRunner()

    def invoke(*args: str) -> object:
        return runner.invoke(app, ["slots", *args, "--db", db, "--data", str(tiny_dir)])

    invoke.db = db  # type: ignore[attr-defined]
    return invoke


def test_token_is_printed_once_and_authenticates(run, tiny_dir: Path) -> None:  # type: ignore[no-untyped-def]
    result = run("token", "create", "--department", "AAA")
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert len(token) == 43  # 32 random bytes, URL-safe base64
    principal = Ledger(run.db, load_source(tiny_dir), paths=RoutedPaths(tiny_dir)).authenticate(token)
    assert principal is not None and principal.department == "AAA" and not principal.operator
    bad = run("token", "create", "--department", "ZZZ")
    assert bad.exit_code == 2 and "unknown department 'ZZZ'" in bad.stderr


def test_request_list_approve_cancel_plan(run) -> None:  # type: ignore[no-untyped-def]
    window = ["--earliest", "2027-W06", "--latest", "2027-W08"]
    granted = run("request", "--department", "AAA", "--system", "AAA-1", *window, "--key", "k1", "--json")
    assert granted.exit_code == 0, granted.output
    answer = json.loads(granted.stdout)
    assert (answer["status"], answer["granted_week"]) == ("granted", "2027-W07")  # W06 is 春节
    refused = run(
        "request",
        "--department",
        "AAA",
        "--system",
        "AAA-1",
        "--earliest",
        "2027-W08",
        "--latest",
        "2027-W08",
    )
    assert refused.exit_code == 3
    assert "already holds a slot in 2027-W07" in refused.stdout
    bad = run(
        "request",
        "--department",
        "AAA",
        "--system",
        "AAA-2",
        "--earliest",
        "2027-W08",
        "--latest",
        "2027-W08",
        "--data-volume",
        "5 XB",
    )
    assert bad.exit_code == 2 and "data_volume" in bad.stderr and "unknown unit" in bad.stderr
    listed = json.loads(run("list", "--json").stdout)
    assert [(r["id"], r["status"]) for r in listed] == [(1, "granted"), (2, "refused")]
    assert run("approve", "1").stdout.strip() == "request #1: approved 2027-W07"
    assert run("approve", "2").exit_code == 1
    assert run("cancel", "2").stdout.strip() == "request #2: cancelled"
    plan = json.loads(run("plan", "--json").stdout)
    assert plan["status"] == "OPTIMAL" and plan["changes"] == {}


def test_migrations_build_exactly_the_models(tmp_path: Path, tiny_dir: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    url = f"sqlite:///{tmp_path / 'schema.sqlite'}"
    Ledger(url, load_source(tiny_dir), paths=RoutedPaths(tiny_dir)).close()
    engine = make_engine(url)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_adhoc_systems_and_token_revocation(run, tiny_dir: Path) -> None:  # type: ignore[no-untyped-def]
    window = ["--earliest", "2027-W02", "--latest", "2027-W02"]
    big = run("request", "--department", "BBB", "--adhoc", "name=大数据,az=az-1,vcpu=81", *window)
    assert big.exit_code == 3 and "VCPU in AZ az-1 falls below the 20 % target in 2027-01" in big.stdout
    fits = run(
        "request",
        "--department",
        "BBB",
        "--adhoc",
        "name=大数据,az=az-1,vcpu=80,ram=64 GB",
        *window,
        "--json",
    )
    assert fits.exit_code == 0 and json.loads(fits.stdout)["spec"]["adhoc"][0]["ram"] == "64 GB"
    bad = run("request", "--department", "BBB", "--adhoc", "name=x,az=az-1,vcpu=1,ram=64 parsecs", *window)
    assert bad.exit_code == 2 and "adhoc.0.ram" in bad.stderr
    secret = run("token", "create", "--department", "AAA").stdout.strip()
    ledger = Ledger(run.db, load_source(tiny_dir), paths=RoutedPaths(tiny_dir))
    assert ledger.authenticate(secret) is not None
    assert run("token", "revoke", "1").stdout.strip() == "token #1: revoked"
    assert ledger.authenticate(secret) is None
    assert run("token", "revoke", "9").exit_code == 1
    assert "revoked" in run("token", "list").stdout


def test_a_unit_of_the_wrong_dimension_is_named_in_full(run) -> None:  # type: ignore[no-untyped-def]
    """Rich markup must not eat '[length]': the error says what the value is and which field it came in."""
    window = ["--earliest", "2027-W10", "--latest", "2027-W12"]
    bad = run("request", "--department", "AAA", "--system", "AAA-1", *window, "--data-volume", "10 furlongs")
    assert bad.exit_code == 2
    assert "data_volume: '10 furlongs' is not a quantity of byte (dimension [length])" in bad.stderr


def test_an_expression_is_refused_in_time_without_a_traceback(tmp_path: Path, tiny_dir: Path) -> None:
    """'(9**9**9) TB' once froze the process in pint's evaluator; '10**400 TB' raised OverflowError. Run in a
    subprocess so that a hang fails the test instead of the suite."""
    import subprocess

    from slotkit import EGOV

    db = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    common = ["slots", "request", "--department", "AAA", "--system", "AAA-1"]
    window = ["--earliest", "2027-W10", "--latest", "2027-W12", "--db", db, "--data", str(tiny_dir)]
    for value in ("(9**9**9) TB", "10**400 TB", "1" + "0" * 400 + " TB"):
        try:
            done = subprocess.run(
                [EGOV, *common, "--data-volume", value, *window], capture_output=True, text=True, timeout=60
            )
        except subprocess.TimeoutExpired:
            pytest.fail(f"--data-volume {value!r} hung the process")
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr
        assert "data_volume:" in done.stderr and "is not a size" in done.stderr


def test_format_json_and_the_deprecated_json_flag(run) -> None:  # type: ignore[no-untyped-def]
    """`--format json` is the convention of every egov command; `--json` still works and warns."""
    window = ["--earliest", "2027-W10", "--latest", "2027-W12"]
    granted = run("request", "--department", "AAA", "--system", "AAA-1", *window, "--format", "json")
    assert granted.exit_code == 0 and json.loads(granted.stdout)["granted_week"] == "2027-W10"
    assert "deprecated" not in granted.stderr
    new = run("list", "--format", "json")
    old = run("list", "--json")
    assert json.loads(new.stdout) == json.loads(old.stdout) != []
    assert "--json is deprecated; use --format json" in old.stderr
    assert json.loads(run("plan", "--format", "json").stdout)["status"] == "OPTIMAL"
    assert run("list").stdout.lstrip().startswith("1 request(s)")
    assert run("list", "--format", "csv").exit_code == 2
