"""Departments' transfers share the backbone: every link of a request's routed paths carries, within the slot
week, what every department booked on it that week plus the request's share — in first-come admission and in
the re-plan alike. Every figure by hand (one slot week = 604 800 s; 1 Mbit/s for a week = 75.6 GB):

* stub paths: AAA and BBB each have a 1 Gbit/s access link of their own and split their transfer evenly (ECMP)
  over two core → DC links with 200 Mbit/s free each (15.12 TB a week). Alone, a department is bound by
  200 / 0.5 = 400 Mbit/s (30.24 TB a week): 20 TB fits (10 TB on each core → DC link). Two 20 TB transfers in
  one week put 20 TB on each core → DC link: more than 15.12 TB, so the second is refused. On disjoint paths
  (BBB with core → DC links of its own) both are granted.
* the routed backbone of the data directory (no steady traffic): AAA and BBB reach GD-ACC-01 and GD-ACC-02
  over access links of their own, half their traffic on each, and share the two 10 Gbit/s attachments of the
  cloud DC: 7 Gbit/s free each at the 70 % target = 529.2 TB a week. 600 TB from AAA (300 TB on each) fits;
  600 TB more from BBB would put 600 TB on each.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from test_slots_wan import backbone_dir

from egov.model import SourceOfTruth
from egov.source import load_source
from slots.admission import Booked, Booking, Constraint, Decision, Province, admit
from slots.bandwidth import PathLink, RoutedPaths
from slots.planner import PlanItem, replan
from slots.request import RequestSpec, resolve
from slots.weeks import parse_week

W02, W03 = parse_week("2027-W02"), parse_week("2027-W03")


class CoreToDc:
    """Each department: its own 1 Gbit/s access link, then half its transfer on each of two core → DC links
    with 200 Mbit/s free; ``shared`` gives both departments the same two core → DC links."""

    def __init__(self, shared: bool) -> None:
        self.shared = shared

    def links(self, department: str, month: date) -> tuple[PathLink, ...]:
        core = "core" if self.shared else f"core of {department}"
        return (
            PathLink(f"{department} access", 1.0, 1e9, f"the access link of {department}"),
            PathLink(f"{core} → DC 1", 0.5, 200e6, f"the link {core} → DC 1"),
            PathLink(f"{core} → DC 2", 0.5, 200e6, f"the link {core} → DC 2"),
        )

    def load(self) -> None:
        """Nothing to read."""


def spec(department: str, system: str, volume: str, latest: str = "2027-W02") -> RequestSpec:
    return RequestSpec.model_validate(
        {
            "department": department,
            "systems": [system],
            "earliest_week": "2027-W02",
            "latest_week": latest,
            "data_volume": volume,
        }
    )


def booking(p: Province, request_id: int, request: RequestSpec, week: date) -> Booking:
    systems = tuple(resolve(p.source, request, request_id, p.by_id))
    return Booking(request_id, request.department, week, systems, request.data_volume_gb)


def ask(p: Province, booked: Booked, request: RequestSpec) -> Decision:
    return admit(p, booked, request, resolve(p.source, request, 2, p.by_id))


def test_two_transfers_that_fit_alone_do_not_fit_together_on_a_shared_link(tiny: SourceOfTruth) -> None:
    p = Province(tiny, paths=CoreToDc(shared=True))
    assert p.transfer_capacity_gb("AAA", W02) == pytest.approx(30_240)  # 400 Mbit/s alone
    aaa, bbb = spec("AAA", "AAA-1", "20 TB"), spec("BBB", "BBB-1", "20 TB", latest="2027-W03")
    assert ask(p, Booked(), bbb).granted_week == W02  # alone, BBB fits W02
    booked = Booked.of(p, [booking(p, 1, aaa, W02)])
    assert dict(booked.volume_on_link[("core → DC 1", W02)]) == {"AAA": pytest.approx(10_000)}
    decision = ask(p, booked, bbb)
    assert decision.granted_week == W03  # W02's core → DC links hold 10 TB of AAA's; 10 + 10 > 15.12 TB
    refused = ask(p, booked, spec("BBB", "BBB-1", "20 TB"))
    assert refused.binding is not None and refused.binding.constraint is Constraint.TRANSFER
    assert refused.explain() == (
        "refused: data transfer: 20.0 TB for BBB in 2027-W02 does not fit the link core → DC 1 in 2027-01, "
        "shared with AAA: its 200 Mbit/s free carries 15.1 TB in the 7-day slot, 10.0 TB of it already "
        "booked that week by AAA, and BBB's share adds 10.0 TB; earliest feasible week: 2027-W03"
    )
    # 10.24 TB more fits W02 beside AAA's 20 TB: 10 + 5.12 = 15.12 TB on each core → DC link
    assert ask(p, booked, spec("BBB", "BBB-1", "10.24 TB")).granted_week == W02
    assert ask(p, booked, spec("BBB", "BBB-1", "10.25 TB")).granted_week is None


def test_two_transfers_on_disjoint_paths_are_both_granted(tiny: SourceOfTruth) -> None:
    p = Province(tiny, paths=CoreToDc(shared=False))
    booked = Booked.of(p, [booking(p, 1, spec("AAA", "AAA-1", "20 TB"), W02)])
    assert ask(p, booked, spec("BBB", "BBB-1", "20 TB")).granted_week == W02
    # the department's own booked data still counts: AAA's second 20 TB would put 20 TB on each link
    refused = ask(p, booked, spec("AAA", "AAA-2", "20 TB"))
    assert refused.binding is not None
    assert refused.binding.message == (
        "data transfer: 40.0 TB for AAA in 2027-W02 needs 9.3 days at the 400 Mbit/s free on its routed path "
        "to the cloud DC in 2027-01, more than the 7-day slot; bound by the link core of AAA → DC 1"
    )


def plan_items(p: Province, requests: list[RequestSpec]) -> list[PlanItem]:
    return [
        PlanItem(n, r, tuple(resolve(p.source, r, n, p.by_id)), None) for n, r in enumerate(requests, start=1)
    ]


@pytest.mark.parametrize(("shared", "weeks"), [(True, {1: W02, 2: W03}), (False, {1: W02, 2: W02})])
def test_the_replan_shares_the_link_too(tiny: SourceOfTruth, shared: bool, weeks: dict[int, date]) -> None:
    p = Province(tiny, paths=CoreToDc(shared=shared))
    items = plan_items(
        p, [spec("AAA", "AAA-1", "20 TB", "2027-W03"), spec("BBB", "BBB-1", "20 TB", "2027-W03")]
    )
    plan = replan(p, [], items)
    assert plan.status == "OPTIMAL"
    assert plan.optimal.weeks == weeks
    assert plan.optimal.weighted_delay == (1 if shared else 0)


def test_the_replan_counts_a_fixed_slot_on_the_shared_link(tiny: SourceOfTruth) -> None:
    p = Province(tiny, paths=CoreToDc(shared=True))
    fixed = [booking(p, 9, spec("AAA", "AAA-1", "20 TB"), W02)]
    # 10 TB of AAA's on each core → DC link in W02 leaves 5.12 TB: BBB's 10.24 TB (5.12 on each) fits, 12 TB
    # (6 on each) must wait for W03, 40 TB (20 on each) fits no week.
    requests = [
        spec("BBB", "BBB-1", "12 TB", "2027-W03"),
        spec("BBB", "BBB-2", "10.24 TB"),
        spec("AAA", "AAA-2", "40 TB", "2027-W03"),
    ]
    plan = replan(p, fixed, plan_items(p, requests))
    assert plan.optimal.weeks == {1: W03, 2: W02, 3: None}


def test_two_departments_share_the_cloud_dc_attachments_of_the_routed_backbone(tiny_dir: Path) -> None:
    data = backbone_dir(tiny_dir)
    p = Province(load_source(data), paths=RoutedPaths(data))
    shared = {link.key for link in p.path_links("AAA", W02)} & {link.key for link in p.path_links("BBB", W02)}
    names = sorted(link.name for link in p.path_links("AAA", W02) if link.key in shared)
    assert len(names) == 2 and all(" at the 70 % target" in n and "10 Gbit/s" in n for n in names)
    assert p.transfer_capacity_gb("BBB", W02) == pytest.approx(1_058_400)  # alone: 2 × 7 Gbit/s
    booked = Booked.of(p, [booking(p, 1, spec("AAA", "AAA-1", "600 TB"), W02)])
    assert ask(p, Booked(), spec("BBB", "BBB-1", "600 TB")).granted_week == W02
    refused = ask(p, booked, spec("BBB", "BBB-1", "600 TB"))
    assert refused.binding is not None and refused.binding.constraint is Constraint.TRANSFER
    assert (
        f"600.0 TB for BBB in 2027-W02 does not fit {names[0]} in 2027-01, shared with AAA: its 7 Gbit/s "
        "free carries 529.2 TB in the 7-day slot, 300.0 TB of it already booked that week by AAA, and BBB's "
        "share adds 300.0 TB"
    ) in refused.binding.message
    # 529.2 − 300 = 229.2 TB left on each attachment: BBB may send 458.4 TB
    assert ask(p, booked, spec("BBB", "BBB-1", "458.4 TB")).granted_week == W02
    assert ask(p, booked, spec("BBB", "BBB-1", "458.5 TB")).granted_week is None
