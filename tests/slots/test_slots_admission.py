"""Admission rules on the tiny cloud, one hand-computed case per rule, each the binding one.

Tiny cloud (conftest): 80 vCPU and 80 000 GB of block storage may be used at the 20 % target; 2 systems a
week; 500 Mbit/s free on every path × 7 days = 37.8 TB of transfer per department and week; 春节 blacks out
2027-W06 (Mon 2027-02-08 … Sun 02-14). ISO weeks of 2027: W01 starts Mon 01-04, W02 01-11, W03 01-18,
W05 02-01.
"""

from __future__ import annotations

from datetime import date

import pytest
from slotkit import TINY_PATHS, write_tiny

from egov.model import SourceOfTruth
from slots.admission import Booked, Booking, Constraint, Decision, Province, admit
from slots.request import AdHocSystem, RequestSpec, SpecError, resolve
from slots.weeks import parse_week, week_label


def province(source: SourceOfTruth) -> Province:
    return Province(source, paths=TINY_PATHS)


def ask(p: Province, booked: Booked, **fields: object) -> Decision:
    spec = RequestSpec.model_validate({"department": "AAA", **fields})
    return admit(p, booked, spec, resolve(p.source, spec, by_id=p.by_id))


def book(
    p: Province, request_id: int, week: str, *ids: str, volume_gb: float = 0, dept: str = "AAA"
) -> Booking:
    systems = tuple(p.by_id[i] for i in ids)
    return Booking(request_id, dept, parse_week(week), systems, volume_gb)


def test_capacity_counts_five_years_of_growth_not_cutover_day(tiny: SourceOfTruth) -> None:
    # AAA-G: 60 vCPU growing 50 %/year; the line may carry 80 vCPU. 60 × 1.5^(t/12) > 80 from t = 9 months
    # (t > 12·ln(4/3)/ln 1.5 = 8.51). Moving in 2027-01 it breaks the target in 2027-10; the horizon ends in
    # 2028-12 (month 23), so the earliest month that keeps it is 23 − 8 = month 15 = 2028-04, whose first
    # Monday is 2028-04-03 (2028-W14). On cut-over day 60 ≤ 80: a cut-over check would have said yes.
    p = province(tiny)
    decision = ask(p, Booked(), systems=["AAA-G"], earliest_week="2027-W02", latest_week="2027-W04")
    assert not decision.granted
    assert decision.binding is not None and decision.binding.constraint is Constraint.CAPACITY
    assert decision.binding.message == "VCPU in AZ az-1 falls below the 20 % target in 2027-10"
    assert decision.earliest_feasible_week == date(2028, 4, 3)
    assert week_label(date(2028, 4, 3)) == "2028-W14"
    # The week of 2028-03-27 counts from March (its Monday): still one month too early.
    assert ask(
        p, Booked(), systems=["AAA-G"], earliest_week="2028-W13", latest_week="2028-W14"
    ).granted_week == (date(2028, 4, 3))


def test_capacity_includes_what_is_booked(tiny: SourceOfTruth) -> None:
    # 50 vCPU ad hoc booked; another 40 makes 90 > 80 in the very first month.
    p = province(tiny)
    first = AdHocSystem(name="x", az="az-1", vcpu=50)
    spec = RequestSpec(department="BBB", adhoc=[first], earliest_week="2027-W02", latest_week="2027-W02")  # type: ignore[arg-type]
    systems = resolve(p.source, spec, 1, by_id=p.by_id)
    booked = Booked.of(p, [Booking(1, "BBB", parse_week("2027-W02"), tuple(systems), 0)])
    decision = ask(
        p,
        booked,
        adhoc=[{"name": "y", "az": "az-1", "vcpu": 40}],
        earliest_week="2027-W03",
        latest_week="2027-W03",
    )
    assert decision.binding is not None
    assert decision.binding.message == "VCPU in AZ az-1 falls below the 20 % target in 2027-01"
    assert decision.earliest_feasible_week is None  # no later week helps: growth is zero
    assert ask(
        p,
        booked,
        adhoc=[{"name": "y", "az": "az-1", "vcpu": 30}],
        earliest_week="2027-W03",
        latest_week="2027-W03",
    ).granted


def test_capacity_of_a_storage_line(tiny: SourceOfTruth) -> None:
    # Block storage: 80 000 GB may be used; 81 TB is 81 000 GB.
    p = province(tiny)
    decision = ask(
        p,
        Booked(),
        adhoc=[{"name": "archive", "az": "az-1", "vcpu": 1, "block_storage": "81 TB"}],
        earliest_week="2027-W02",
        latest_week="2027-W02",
    )
    assert decision.binding is not None
    assert decision.binding.message == "BLOCK_STORAGE in AZ az-1 falls below the 20 % target in 2027-01"
    assert ask(
        p,
        Booked(),
        adhoc=[{"name": "archive", "az": "az-1", "vcpu": 1, "block_storage": "80 TB"}],
        earliest_week="2027-W02",
        latest_week="2027-W02",
    ).granted


def test_capacity_counts_planned_expansions(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # 10 more hosts from 2027-07 double usable VCPU to 200 (160 at target): 120 vCPU fit from July on only.
    # 2027-07-01 is a Thursday; the first Monday in July is 07-05 = 2027-W27.
    from egov.source import load_source

    root = write_tiny(
        tmp_path / "d", extra_cloud="expansions:\n  - {month: 2027-07, aggregate: az-1-gen, hosts: 10}\n"
    )
    p = province(load_source(root))
    decision = ask(
        p,
        Booked(),
        adhoc=[{"name": "big", "az": "az-1", "vcpu": 120}],
        earliest_week="2027-W10",
        latest_week="2027-W40",
    )
    assert decision.granted_week == date(2027, 7, 5)


def test_throughput(tiny: SourceOfTruth) -> None:
    # Two systems a week; W03 already has AAA-1 and AAA-2.
    p = province(tiny)
    booked = Booked.of(p, [book(p, 1, "2027-W03", "AAA-1", "AAA-2")])
    assert ask(
        p, booked, systems=["AAA-3"], earliest_week="2027-W03", latest_week="2027-W04"
    ).granted_week == parse_week("2027-W04")
    refused = ask(p, booked, systems=["AAA-3"], earliest_week="2027-W03", latest_week="2027-W03")
    assert refused.binding is not None and refused.binding.constraint is Constraint.THROUGHPUT
    assert (
        refused.binding.message
        == "migration throughput: 2027-W03 has 2 of 2 systems booked; this request adds 1"
    )
    assert refused.earliest_feasible_week == parse_week("2027-W04")


def test_transfer(tiny: SourceOfTruth) -> None:
    # 500 Mbit/s free = 62.5 MB/s → 37.8 TB a week. 40 TB needs 40e12 × 8 / 0.5e9 s = 7.41 days.
    p = province(tiny)
    assert p.transfer_capacity_gb("AAA", parse_week("2027-W02")) == pytest.approx(37_800)
    refused = ask(
        p, Booked(), systems=["AAA-1"], earliest_week="2027-W02", latest_week="2027-W02", data_volume="40 TB"
    )
    assert refused.binding is not None and refused.binding.constraint is Constraint.TRANSFER
    assert refused.binding.message == (
        "data transfer: 40.0 TB for AAA in 2027-W02 needs 7.4 days at the 500 Mbit/s free on its routed "
        "path to the cloud DC in 2027-01, more than the 7-day slot; bound by the test link"
    )
    assert refused.earliest_feasible_week is None  # no week carries 40 TB over this link
    # The link is the department's: 30 TB booked by AAA in W02 leaves 7.8 TB; BBB's link is its own.
    booked = Booked.of(p, [book(p, 1, "2027-W02", "AAA-1", volume_gb=30_000)])
    assert ask(
        p, booked, systems=["AAA-2"], earliest_week="2027-W02", latest_week="2027-W03", data_volume="10 TB"
    ).granted_week == (parse_week("2027-W03"))
    assert ask(
        p, booked, systems=["AAA-2"], earliest_week="2027-W02", latest_week="2027-W03", data_volume="7 TB"
    ).granted_week == (parse_week("2027-W02"))
    spec = RequestSpec(
        department="BBB",
        systems=["BBB-1"],
        earliest_week="2027-W02",
        latest_week="2027-W02",
        data_volume="30 TB",
    )  # type: ignore[arg-type]
    assert admit(p, booked, spec, resolve(tiny, spec, by_id=p.by_id)).granted


def test_blackout(tiny: SourceOfTruth) -> None:
    p = province(tiny)
    refused = ask(p, Booked(), systems=["AAA-1"], earliest_week="2027-W06", latest_week="2027-W06")
    assert refused.binding is not None and refused.binding.constraint is Constraint.BLACKOUT
    assert refused.binding.message == "2027-W06 overlaps the blackout 春节 (2027-02-08 to 2027-02-14)"
    assert refused.earliest_feasible_week == parse_week("2027-W07")
    assert ask(
        p, Booked(), systems=["AAA-1"], earliest_week="2027-W06", latest_week="2027-W07"
    ).granted_week == (parse_week("2027-W07"))


def test_dependencies(tiny: SourceOfTruth) -> None:
    p = province(tiny)
    refused = ask(
        p,
        Booked(),
        systems=["AAA-2"],
        dependencies=["AAA-1"],
        earliest_week="2027-W02",
        latest_week="2027-W08",
    )
    assert refused.binding is not None and refused.binding.constraint is Constraint.DEPENDENCY
    assert refused.binding.message == "dependency AAA-1 holds no slot"
    booked = Booked.of(p, [book(p, 1, "2027-W05", "AAA-1")])
    # Before or with: W05 itself is fine, W02–W04 are not.
    granted = ask(
        p, booked, systems=["AAA-2"], dependencies=["AAA-1"], earliest_week="2027-W02", latest_week="2027-W08"
    )
    assert granted.granted_week == parse_week("2027-W05")
    early = ask(
        p, booked, systems=["AAA-2"], dependencies=["AAA-1"], earliest_week="2027-W02", latest_week="2027-W04"
    )
    assert early.binding is not None
    assert early.binding.message == "dependency AAA-1 moves in 2027-W05, after 2027-W02"
    assert early.earliest_feasible_week == parse_week("2027-W05")


def test_a_system_is_booked_once(tiny: SourceOfTruth) -> None:
    p = province(tiny)
    booked = Booked.of(p, [book(p, 7, "2027-W05", "AAA-1")])
    refused = ask(p, booked, systems=["AAA-1"], earliest_week="2027-W02", latest_week="2027-W08")
    assert refused.binding is not None and refused.binding.constraint is Constraint.DUPLICATE
    assert refused.binding.message == "system AAA-1 already holds a slot in 2027-W05 (request #7)"


def test_binding_is_the_constraint_of_the_most_nearly_feasible_week(tiny: SourceOfTruth) -> None:
    # W05 is full (throughput), W06 is blacked out: the binding constraint is throughput, not the blackout.
    p = province(tiny)
    booked = Booked.of(p, [book(p, 1, "2027-W05", "BBB-1", "BBB-2", dept="BBB")])
    refused = ask(p, booked, systems=["AAA-1"], earliest_week="2027-W05", latest_week="2027-W06")
    assert refused.binding is not None and refused.binding.constraint is Constraint.THROUGHPUT
    assert refused.earliest_feasible_week == parse_week("2027-W07")
    assert refused.explain().endswith("earliest feasible week: 2027-W07")


def test_bad_requests_name_the_field(tiny: SourceOfTruth) -> None:
    p = province(tiny)
    with pytest.raises(SpecError, match="systems: system 'BBB-1' belongs to BBB, not AAA"):
        ask(p, Booked(), systems=["BBB-1"], earliest_week="2027-W02", latest_week="2027-W02")
    with pytest.raises(SpecError, match="no system 'NOPE'"):
        ask(p, Booked(), systems=["NOPE"], earliest_week="2027-W02", latest_week="2027-W02")
    with pytest.raises(SpecError, match=r"adhoc\[0\].az: unknown availability zone 'gz-9'"):
        ask(
            p,
            Booked(),
            adhoc=[{"name": "x", "az": "gz-9", "vcpu": 1}],
            earliest_week="2027-W02",
            latest_week="2027-W02",
        )
    with pytest.raises(SpecError, match="latest_week: the window must lie within the planning horizon"):
        ask(p, Booked(), systems=["AAA-1"], earliest_week="2027-W02", latest_week="2029-W02")
    with pytest.raises(ValueError, match="not an ISO week"):
        RequestSpec(department="AAA", systems=["AAA-1"], earliest_week="March", latest_week="2027-W02")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown unit"):
        RequestSpec(
            department="AAA",
            systems=["AAA-1"],
            earliest_week="2027-W02",
            latest_week="2027-W02",
            data_volume="4 XB",
        )  # type: ignore[arg-type]
