"""The transfer rule reads the free capacity of the department's routed path to the cloud DC, month by month,
and the re-plan reads the same figure. Every figure by hand (one slot week = 604 800 s):

* a stub path: AAA has 200 Mbit/s free in 2027-01 and 1 Gbit/s from 2027-02 → 200e6 × 604 800 / 8 = 15.12 TB
  a week in January, 75.6 TB a week in February;
* the routed backbone of the data directory (the province's network.yaml and divisions.csv next to the tiny
  cloud), with no steady traffic (per-user rates 0): AAA reaches GD-ACC-01 and GD-ACC-02 over two 10 Gbit/s
  access links, half its traffic on each (ECMP), and each access router hands its half to its own 10 Gbit/s
  attachment of the cloud DC. At the 70 % target every arc takes 7 Gbit/s more, AAA 2 × 7 = 14 Gbit/s →
  1 058.4 TB a week. The same directory's network.yaml giving AAA 1 Gbit/s access links: 2 × 0.7 = 1.4 Gbit/s
  → 105.84 TB a week.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from egov.cli import app
from egov.source import load_source
from slots.admission import Booked, Constraint, Decision, Province, admit
from slots.bandwidth import PathLink, RoutedPaths
from slots.planner import PlanItem, replan
from slots.request import RequestSpec, resolve
from slots.weeks import parse_week

JANUARY = date(2027, 1, 1)


class ByMonth:
    """AAA's path: one link, 200 Mbit/s free in January 2027, 1 Gbit/s in any other month."""

    def links(self, department: str, month: date) -> tuple[PathLink, ...]:
        rate = 200e6 if month == JANUARY else 1e9
        name = f"the link {department} → ACC (test) at the 70 % target"
        return (PathLink(f"{department} → ACC", 1.0, rate, name),)

    def load(self) -> None:
        """Nothing to read."""


def spec(system: str, volume: str, earliest: str = "2027-W02", latest: str = "2027-W03") -> RequestSpec:
    return RequestSpec.model_validate(
        {
            "department": "AAA",
            "systems": [system],
            "earliest_week": earliest,
            "latest_week": latest,
            "data_volume": volume,
        }
    )


def ask(p: Province, request: RequestSpec) -> Decision:
    return admit(p, Booked(), request, resolve(p.source, request, 1, p.by_id))


def test_a_week_carries_what_the_path_has_free_in_its_month(tiny) -> None:  # type: ignore[no-untyped-def]
    p = Province(tiny, paths=ByMonth())
    assert p.transfer_capacity_gb("AAA", parse_week("2027-W02")) == pytest.approx(15_120)
    assert p.transfer_capacity_gb("AAA", parse_week("2027-W05")) == pytest.approx(75_600)  # Mon 2027-02-01
    # 20 TB in January needs 20e12 × 8 / 200e6 s = 9.26 days; W05 (February) carries it.
    refused = ask(p, spec("AAA-1", "20 TB"))
    assert refused.binding is not None and refused.binding.constraint is Constraint.TRANSFER
    assert refused.explain() == (
        "refused: data transfer: 20.0 TB for AAA in 2027-W02 needs 9.3 days at the 200 Mbit/s free on its "
        "routed path to the cloud DC in 2027-01, more than the 7-day slot; bound by the link AAA → ACC "
        "(test) at the 70 % target; earliest feasible week: 2027-W05"
    )
    assert ask(p, spec("AAA-1", "15 TB")).granted_week == parse_week("2027-W02")
    assert ask(p, spec("AAA-1", "20 TB", latest="2027-W05")).granted_week == parse_week("2027-W05")


def test_the_replan_reads_the_same_free_capacity(tiny) -> None:  # type: ignore[no-untyped-def]
    p = Province(tiny, paths=ByMonth())
    requests = [
        spec("AAA-1", "20 TB"),
        spec("AAA-2", "15 TB"),
        spec("AAA-3", "16 TB", latest="2027-W05"),
        RequestSpec.model_validate(
            {
                "department": "AAA",
                "adhoc": [{"name": "archive", "az": "az-1", "vcpu": 1}],
                "earliest_week": "2027-W05",
                "latest_week": "2027-W07",
                "data_volume": "60 TB",
            }
        ),
    ]
    items = [
        PlanItem(n, r, tuple(resolve(p.source, r, n, p.by_id)), None) for n, r in enumerate(requests, start=1)
    ]
    plan = replan(p, [], items)
    # 20 TB fits no January week; 15 TB fits W02; 16 TB fits no January week, so W05 (Monday 2027-02-01);
    # 16 + 60 TB > 75.6 TB in W05, W06 is 春节: the 60 TB go in W07.
    assert plan.status == "OPTIMAL"
    assert plan.optimal.weeks == {
        1: None,
        2: parse_week("2027-W02"),
        3: parse_week("2027-W05"),
        4: parse_week("2027-W07"),
    }
    assert plan.fcfs.weeks == plan.optimal.weeks


def backbone_dir(tiny_dir: Path, access: str | None = None) -> Path:
    """The tiny cloud with the province's backbone and no steady traffic; ``access`` overrides AAA's link."""
    traffic = (tiny_dir / "traffic.yaml").read_text()
    for kind in ("cloud: 20 kbit/s", "internet: 10 kbit/s"):
        assert kind in traffic
        traffic = traffic.replace(kind, kind.split(":")[0] + ": 0 kbit/s")
    (tiny_dir / "traffic.yaml").write_text(traffic)
    if access is not None:
        network = (tiny_dir / "network.yaml").read_text()
        pinned = "departments:\n"
        assert pinned in network
        network = network.replace(pinned, pinned + f"  AAA: {{vpn_id: 900, access_bandwidth: {access}}}\n", 1)
        (tiny_dir / "network.yaml").write_text(network)
    return tiny_dir


def test_the_routed_path_of_the_data_directory(tiny_dir: Path) -> None:
    data = backbone_dir(tiny_dir)
    p = Province(load_source(data), paths=RoutedPaths(data))
    assert p.transfer_capacity_gb("AAA", parse_week("2027-W02")) == pytest.approx(1_058_400)
    assert ask(p, spec("AAA-1", "1000 TB")).granted_week == parse_week("2027-W02")
    refused = ask(p, spec("AAA-1", "1100 TB", latest="2027-W02"))
    assert refused.binding is not None and refused.binding.constraint is Constraint.TRANSFER
    assert "needs 7.3 days at the 14 Gbit/s free on its routed path to the cloud DC in 2027-01" in (
        refused.binding.message
    )


def test_the_cli_reads_the_backbone_of_its_data_directory(tmp_path: Path, tiny_dir: Path) -> None:
    data = backbone_dir(tiny_dir, access="1 Gbit/s")
    run = CliRunner()
    db = f"sqlite:///{tmp_path / 'wan.sqlite'}"
    base = ["slots", "request", "--department", "AAA", "--earliest", "2027-W02", "--latest", "2027-W02"]
    tail = ["--db", db, "--data", str(data), "--format", "json"]
    # 110 TB over 1.4 Gbit/s: 110e12 × 8 / 1.4e9 s = 7.28 days
    refused = run.invoke(app, [*base, "--system", "AAA-1", "--data-volume", "110 TB", *tail])
    assert refused.exit_code == 3, refused.output
    answer = json.loads(refused.stdout)
    assert (answer["status"], answer["binding"]) == ("refused", "transfer")
    assert answer["reason"] == (
        "refused: data transfer: 110.0 TB for AAA in 2027-W02 needs 7.3 days at the 1.4 Gbit/s free on its "
        "routed path to the cloud DC in 2027-01, more than the 7-day slot; bound by the link AAA → GD-ACC-01 "
        "(department_access, 1 Gbit/s) at the 70 % target"
    )
    granted = run.invoke(app, [*base, "--system", "AAA-2", "--data-volume", "100 TB", *tail])
    assert granted.exit_code == 0, granted.output
    assert json.loads(granted.stdout)["granted_week"] == "2027-W02"


def test_a_data_directory_without_a_backbone_is_a_clear_error(tmp_path: Path, tiny_dir: Path) -> None:
    (tiny_dir / "divisions.csv").unlink()
    run = CliRunner()
    args = ["slots", "request", "--department", "AAA", "--system", "AAA-1", "--earliest", "2027-W02"]
    args += ["--latest", "2027-W02", "--data-volume", "1 TB", "--db", f"sqlite:///{tmp_path / 'x.sqlite'}"]
    result = run.invoke(app, [*args, "--data", str(tiny_dir)])
    assert result.exit_code == 2
    assert f"{tiny_dir / 'divisions.csv'}: file not found" in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)
    listed = run.invoke(app, ["slots", "list", "--format", "json", *args[-2:], "--data", str(tiny_dir)])
    assert listed.exit_code == 0 and json.loads(listed.stdout) == []  # nothing half-written
