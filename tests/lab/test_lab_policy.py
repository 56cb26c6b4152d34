"""The zone policy proven with real packets (issue 13, Build 3 and 4): the rendered nftables filters loaded on
the routers of a one-city lab slice, every intent the lab has endpoints for sent as ping / TCP / UDP; a
flipped filter line makes exactly its intent fail; the route tables hold the default-route and isolation
rules.
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
#: The intents whose zones have hosts in the lab (site LANs, the management LAN, the isolated domain's LANs);
#: the others touch the DC, Internet or department ports, which sit in VRFs the lab has no device for.
TESTABLE = {
    "public-to-management-aaa",
    "public-to-management-ssh",
    "management-to-management-aaa",
    "isolated-to-public",
    "public-to-isolated",
    "management-to-isolated",
    "isolated-to-isolated",
}


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


def test_every_testable_intent_passes_with_packets(policy_lab: tuple[LabSpec, Compiled]) -> None:
    spec, compiled = policy_lab
    report = run_policy_test(compiled, spec, PREFIX)
    record("policy_test_s", round(report.seconds, 1))
    doc = report.as_dict()
    tested = {r["name"]: r for r in doc["intents"] if r["testable"]}
    assert set(tested) == TESTABLE
    assert all(r["ok"] for r in tested.values()), [r for r in tested.values() if not r["ok"]]
    assert tested["public-to-management-aaa"]["flows"] == 23 * 5  # 23 site LANs × 5 management servers
    assert tested["isolated-to-isolated"]["verdict"] == "allow"
    # never silently dropped: every other intent is listed with the zone that has no port in the lab
    untested = [r for r in doc["intents"] if not r["testable"]]
    assert len(untested) == len(compiled.spec.intents) - len(TESTABLE)
    assert all(r["ok"] is None and r["reason"] for r in untested)
    assert set(doc["not_testable"]) >= {"cloud-dc", "internet", "dept-fgw", "dept-gat"}
    assert "VRF internet" in doc["not_testable"]["internet"]
    assert doc["unreachable_lines"] == 0 and doc["shadowed_lines"] == 0 and report.ok
    # the nft counters: the denials were the filter's lines, not a missing route
    assert report.hits[("GD-TOWN-440103001", "gd-public-in-lan0-public-deny-management")] > 0
    assert report.hits[("GD-ISO-CORE", "gd-isolated-in-lan0-isolated-only")] > 0
    assert "gd-public-in-lan0-public-shared-services" in doc["terms_not_hit"]  # the cloud is not in the lab
    assert doc["lines_hit"] > 0 and doc["lines_not_hit"] > 0
    assert len(report.filters_loaded) == sum(1 for r in compiled.rendered["frr"].devices if r in spec.routers)
    # the test leaves the lab as it found it: no filters, no host namespaces
    tables = system.run(system.in_ns(namespace_name(PREFIX, "GD-ACC-01"), ["nft", "list", "tables"])).stdout
    assert "filtering_policies" not in tables
    assert not [ns for ns in system.namespaces() if ns.startswith(f"{PREFIX}host")]


#: (router, a line of its rendered ruleset, what it is flipped to, the one intent that must then fail)
PLANTS = {
    # GD-PUBLIC-IN's "no way into the management LAN", turned into an accept on one town router: tacacs, which
    # the management LAN takes from the backbone's address space, now arrives from that town's LAN (only);
    # ssh still meets the management LAN's own filter
    "public-deny-management": (
        "GD-TOWN-440103001",
        'iifname "lan0" ip daddr 10.0.5.0/24 drop',
        'iifname "lan0" ip daddr 10.0.5.0/24 accept',
        "public-to-management-aaa",
    ),
    # GD-ISOLATED-OUT's accept on the isolated core's LAN, turned into a drop: the isolated domain's own
    # traffic towards that LAN is cut, the other direction still flows
    "isolated-only": (
        "GD-ISO-CORE",
        'oifname "lan0" ip saddr 192.168.0.0/16 ip daddr 192.168.0.0/16 ct state new accept',
        'oifname "lan0" ip saddr 192.168.0.0/16 ip daddr 192.168.0.0/16 ct state new drop',
        "isolated-to-isolated",
    ),
}


@pytest.mark.parametrize("plant", sorted(PLANTS))
def test_a_flipped_filter_line_fails_exactly_its_intent(
    policy_lab: tuple[LabSpec, Compiled], plant: str
) -> None:
    spec, compiled = policy_lab
    router, line, flipped, intent = PLANTS[plant]
    rendered = compiled.rendered["frr"]
    text = rendered.devices[router]
    assert text.count(line) == 1, text[:2000]
    planted = dataclasses.replace(rendered, devices={**rendered.devices, router: text.replace(line, flipped)})
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
