"""The zone policy proven with real packets (issue 13, Build 3 and 4): the rendered nftables filters loaded on
the routers of a one-city lab slice, every intent sent as ping / TCP / UDP — those of the VRF attachment ports
(cloud DC, Internet exit, departments) at their enforcement point, the access routers; a planted wrong rule
makes exactly its intent fail; the route tables hold the default-route and isolation rules.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator

import pytest
from lab_support import record, require_lab_host

from network.lab import lab, system
from network.lab.policytest import Compiled, compile_for_lab, run_policy_test, start_slice
from network.lab.routecheck import route_table_failures
from network.lab.spec import LabSpec, namespace_name

pytestmark = [pytest.mark.lab, pytest.mark.xdist_group("lab")]
PREFIX = "egv-"


@pytest.fixture(scope="module")
def policy_lab(lab_host: None) -> Iterator[tuple[LabSpec, Compiled]]:
    """The lab slice of 广州 (440100), converged; torn down after the module."""
    require_lab_host()
    lab.down(PREFIX)
    started = time.monotonic()
    try:
        spec = start_slice(PREFIX, ("440100",), 1)
        record("policy_lab_routers", len(spec.routers))
        record("policy_lab_up_s", round(time.monotonic() - started, 1))
        yield spec, compile_for_lab(spec)
    finally:
        lab.down(PREFIX)


def test_every_intent_passes_with_packets(policy_lab: tuple[LabSpec, Compiled]) -> None:
    spec, compiled = policy_lab
    report = run_policy_test(compiled, spec, PREFIX)
    record("policy_test_s", round(report.seconds, 1))
    record("policy_test_flows", sum(r.flows for r in report.results))
    doc = report.as_dict()
    intents = {r["name"]: r for r in doc["intents"]}
    # no intent dropped, none left untested
    assert list(intents) == [i.name for i in compiled.spec.intents] and len(intents) == 28
    assert doc["not_testable"] == {}
    failed = [r for r in intents.values() if r["ok"] is not True]
    assert failed == []
    assert all(r["testable"] and r["reason"] and r["tested_at"] for r in intents.values())
    # hand-counted flows: 23 site LANs × 5 management servers; 23 site LANs × the DC port of both access
    # routers; a department's port and the DC port on the same access router, twice (the 2 pairs across the
    # two routers ride a VRF over the MPLS core: static proof only)
    assert intents["public-to-management-aaa"]["flows"] == 23 * 5
    assert intents["town-lan-to-cloud-https"]["flows"] == 23 * 2
    dept = intents["dept-a-to-dept-b"]
    assert (dept["flows"], dept["static_only_pairs"], dept["verdict"]) == (2, 2, "deny")
    assert "GD-ACC-01 eth101 (VRF dept-fgw)" in dept["tested_at"]
    assert "never import each other" in dept["reason"] and "egov network check" in dept["reason"]
    assert intents["isolated-to-isolated"]["verdict"] == "allow"
    assert intents["internet-to-published-portal"]["verdict"] == "allow"
    assert doc["unreachable_lines"] == 0 and doc["shadowed_lines"] == 0 and report.ok
    # the nft counters: the denials were the filters' lines, not a missing route
    assert report.hits[("GD-TOWN-440103001", "gd-public-in-lan0-public-deny-management")] > 0
    assert report.hits[("GD-ISO-CORE", "gd-isolated-in-lan0-isolated-only")] > 0
    assert report.hits[("GD-ACC-01", "gd-dept-fgw-in-eth101-deny-all")] > 0  # department A → B
    assert report.hits[("GD-ACC-02", "gd-internet-in-eth6-deny-all")] > 0  # the exit's deny
    assert report.hits[("GD-ACC-01", "gd-internet-in-eth6-internet-published")] > 0  # the portal
    assert "gd-public-in-lan0-public-shared-services" not in doc["terms_not_hit"]  # the cloud is reached
    assert doc["lines_hit"] > 0
    assert len(report.filters_loaded) == sum(1 for r in compiled.rendered["frr"].devices if r in spec.routers)
    # the test leaves the lab as it found it: no filters, no host namespaces, no attachment port, no route
    acc = namespace_name(PREFIX, "GD-ACC-01")
    tables = system.run(system.in_ns(acc, ["nft", "list", "tables"])).stdout
    assert "filtering_policies" not in tables
    assert not [ns for ns in system.namespaces() if ns.startswith(f"{PREFIX}host")]
    assert "eth5" not in system.run(["ip", "-n", acc, "-br", "link"]).stdout
    town = namespace_name(PREFIX, "GD-TOWN-440103001")
    assert "172.16.0.0/24" not in system.run(["ip", "-n", town, "route"]).stdout


#: (router, [(a line of its rendered ruleset, what it becomes)], the one intent that must then fail)
PLANTS = {
    # GD-PUBLIC-IN's "no way into the management LAN", turned into an accept on one town router: tacacs, which
    # the management LAN takes from the backbone's address space, now arrives from that town's LAN (only);
    # ssh still meets the management LAN's own filter
    "public-deny-management": (
        "GD-TOWN-440103001",
        [('iifname "lan0" ip daddr 10.0.5.0/24 drop', 'iifname "lan0" ip daddr 10.0.5.0/24 accept')],
        "public-to-management-aaa",
    ),
    # GD-ISOLATED-OUT's accept on the isolated core's LAN, turned into a drop: the isolated domain's own
    # traffic towards that LAN is cut, the other direction still flows
    "isolated-only": (
        "GD-ISO-CORE",
        [
            (
                'oifname "lan0" ip saddr 192.168.0.0/16 ip daddr 192.168.0.0/16 ct state new accept',
                'oifname "lan0" ip saddr 192.168.0.0/16 ip daddr 192.168.0.0/16 ct state new drop',
            )
        ],
        "isolated-to-isolated",
    ),
    # department A → department B allowed on one access router: FGW's ingress filter and the DC port's
    # egress filter both let FGW's sites into GAT's cloud (one of them alone is still caught by the other)
    "department-to-department": (
        "GD-ACC-01",
        [
            (
                'iifname "eth101" ip saddr { 10.1.0.16/28, 100.64.1.0/24 } ip daddr 172.16.1.0/24 ct state',
                'iifname "eth101" ip saddr { 10.1.0.16/28, 100.64.1.0/24 } ip daddr 172.16.0.0/19 ct state',
            ),
            (
                'oifname "eth5" ip saddr { 10.1.0.96/28, 100.64.6.0/24 } ip daddr 172.16.6.0/24 ct state',
                'oifname "eth5" ip saddr { 10.1.0.0/24, 100.64.6.0/24 } ip daddr 172.16.6.0/24 ct state',
            ),
        ],
        "dept-a-to-dept-b",
    ),
    # the exit's final deny dropped on one exit router: the Internet reaches the site LANs (which filter only
    # what they send); the cloud, the management LAN and the departments keep their own filters
    "exit-deny": (
        "GD-ACC-01",
        [('iifname "eth6" drop', 'iifname "eth6" accept')],
        "internet-to-public",
    ),
}


@pytest.mark.parametrize("plant", sorted(PLANTS))
def test_a_planted_wrong_rule_fails_exactly_its_intent(
    policy_lab: tuple[LabSpec, Compiled], plant: str
) -> None:
    spec, compiled = policy_lab
    router, edits, intent = PLANTS[plant]
    rendered = compiled.rendered["frr"]
    text = rendered.devices[router]
    for line, planted_line in edits:
        assert text.count(line) == 1, line
        text = text.replace(line, planted_line)
    planted = dataclasses.replace(rendered, devices={**rendered.devices, router: text})
    report = run_policy_test(dataclasses.replace(compiled, rendered={"frr": planted}), spec, PREFIX)
    failed = {r.intent.name: r for r in report.results if r.ok is False}
    assert set(failed) == {intent}
    assert failed[intent].verdict == "partial"
    assert router in failed[intent].counterexample


def test_route_tables_default_only_from_the_exit_and_isolated_closed(
    policy_lab: tuple[LabSpec, Compiled],
) -> None:
    spec, _compiled = policy_lab
    assert route_table_failures(spec, PREFIX) == []
    # a default route planted on one town router (as a careless static route would) is caught
    town = sorted(n for n, r in spec.routers.items() if r.tier == "town")[0]
    link = next(k for k in spec.links if k.b.router == town)
    via = str(link.a.addresses[0].ip)
    ns = namespace_name(PREFIX, town)
    system.run(["ip", "-n", ns, "route", "add", "default", "via", via])
    try:
        deadline = time.monotonic() + 10
        while (failures := route_table_failures(spec, PREFIX)) == [] and time.monotonic() < deadline:
            time.sleep(0.5)
        assert len(failures) == 1 and failures[0].startswith(f"{town}: default route 0.0.0.0/0 (kernel"), (
            failures
        )
    finally:
        system.run(["ip", "-n", ns, "route", "del", "default", "via", via], check=False)
