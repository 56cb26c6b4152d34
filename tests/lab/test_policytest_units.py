"""Pure parts of the packet policy test and the route-table check (no root, no lab): where each endpoint is
placed in the lab (site LAN, or attachment port at its enforcement point) with which routes, which flows each
intent sends and what they cover, the probes of a service, the RIB rules of issue 13 Build 4."""

from __future__ import annotations

from ipaddress import ip_network

import pytest

from network.lab.from_model import lab_spec
from network.lab.policytest import (
    _sample,
    _tables,
    attachment_port,
    coverage,
    enforcement_route,
    flow_router,
    lab_port,
    plan_flows,
    same_host,
    service_probes,
    term_chains,
    term_hits,
)
from network.lab.routecheck import RouteFacts, rib_failures
from network.render import render_device
from network.topology import build_backbone


@pytest.fixture(scope="module")
def slice_440100():  # type: ignore[no-untyped-def]
    from network.lab.policytest import compile_for_lab

    backbone = build_backbone().slice(cities=["440100"], towns_per_county=1)
    spec = lab_spec(backbone, {n: render_device(backbone, n, "frr") for n in backbone.devices})
    return spec, compile_for_lab(spec)


def test_lan_endpoints_sit_on_the_routers_lans(slice_440100) -> None:  # type: ignore[no-untyped-def]
    spec, compiled = slice_440100
    zones = compiled.zones.zones
    town = next(e for e in zones["public"].sources if e.port.device.startswith("GD-TOWN-"))
    ifname, gateway = lab_port(spec, town)  # type: ignore[misc]
    assert ifname == "lan0" and town.address in gateway.network and gateway.ip != town.address
    assert all(lab_port(spec, e) for e in zones["management"].destinations)
    assert not any(lab_port(spec, e) for e in zones["cloud-dc"].destinations)  # those are attachments
    assert attachment_port(compiled, spec, town) is None


def _endpoint(compiled, zone: str, side: str, router: str):  # type: ignore[no-untyped-def]
    eps = getattr(compiled.zones.zones[zone], side)
    return next(e for e in eps if e.port.device == router)


def test_attachment_endpoints_at_their_enforcement_point(slice_440100) -> None:  # type: ignore[no-untyped-def]
    """By hand from data/ (network.yaml's access routers; the address plan): the DC port is port 5 (eth5,
    10.0.4.0/31 on GD-ACC-01), the Internet exit port 6 (eth6, 10.0.4.4/31), FGW's port 101 (eth101,
    10.1.0.16/31 on GD-ACC-01, 10.1.0.18/31 on GD-ACC-02); FGW's sites are its /28 10.1.0.16/28, its cloud the
    tenant /24 of VPN id 1, the shared services that of VPN id 0."""
    spec, compiled = slice_440100
    dc = _endpoint(compiled, "cloud-dc", "destinations", "GD-ACC-01")
    port = attachment_port(compiled, spec, dc)
    assert port is not None
    assert (port.router, port.ifname, port.vrf) == ("GD-ACC-01", "eth5", "public")
    assert (str(port.gateway), str(port.peer)) == ("10.0.4.0/31", "10.0.4.1")
    assert (str(dc.address), str(enforcement_route(compiled, dc))) == ("172.16.0.10", "172.16.0.0/24")

    exit_ = _endpoint(compiled, "internet", "sources", "GD-ACC-01")
    port = attachment_port(compiled, spec, exit_)
    assert port is not None and (port.ifname, port.vrf, str(port.gateway)) == (
        "eth6",
        "internet",
        "10.0.4.4/31",
    )
    # the Internet's prefix is the default route: the lab routes only its sample host
    assert str(enforcement_route(compiled, exit_)) == "203.0.113.10/32"

    fgw_site = _endpoint(compiled, "dept-fgw", "sources", "GD-ACC-02")
    port = attachment_port(compiled, spec, fgw_site)
    assert port is not None and (port.ifname, port.vrf) == ("eth101", "dept-fgw")
    assert (str(port.gateway), str(port.peer), str(fgw_site.address)) == (
        "10.1.0.18/31",
        "10.1.0.19",
        "10.1.0.17",
    )
    assert str(enforcement_route(compiled, fgw_site)) == "10.1.0.16/28"
    # a department's cloud: on the DC port's VLAN, in the department's VRF, behind the port the filter binds
    fgw_cloud = _endpoint(compiled, "dept-fgw", "destinations", "GD-ACC-01")
    port = attachment_port(compiled, spec, fgw_cloud)
    assert port is not None and (port.ifname, port.vrf) == ("eth5", "dept-fgw")
    assert str(enforcement_route(compiled, fgw_cloud)) == "172.16.1.0/24"


def test_flows_meet_at_one_enforcement_point(slice_440100) -> None:  # type: ignore[no-untyped-def]
    _spec, compiled = slice_440100
    zones = compiled.zones.zones
    site1 = _endpoint(compiled, "dept-fgw", "sources", "GD-ACC-01")
    site2 = _endpoint(compiled, "dept-fgw", "sources", "GD-ACC-02")
    cloud1 = _endpoint(compiled, "cloud-dc", "destinations", "GD-ACC-01")
    town = next(e for e in zones["public"].sources if e.port.device.startswith("GD-TOWN-"))
    mgmt = zones["management"].destinations
    assert flow_router(site1, cloud1) == "GD-ACC-01"
    assert flow_router(site2, cloud1) is None  # across the MPLS core: static proof
    assert flow_router(town, cloud1) == "GD-ACC-01"
    assert flow_router(town, mgmt[0]) == ""
    assert same_host(mgmt[0], mgmt[0]) and not same_host(mgmt[0], mgmt[1])  # two servers of one LAN
    dc_shared, dc_fgw = cloud1, _endpoint(compiled, "dept-fgw", "destinations", "GD-ACC-01")
    assert same_host(dc_shared, dc_fgw)  # both behind eth5: one host namespace


def test_every_intent_has_flows_and_says_what_they_cover(slice_440100) -> None:  # type: ignore[no-untyped-def]
    spec, compiled = slice_440100
    by_name = {i.name: i for i in compiled.spec.intents}
    for intent in compiled.spec.intents:
        flows, _static_only, missing = plan_flows(compiled, spec, intent, 200)
        assert flows and not missing, intent.name
    # department A → B: FGW's port and the DC port on each access router (2 flows); the 2 pairs across the two
    # routers are left to the static proof
    flows, static_only, _ = plan_flows(compiled, spec, by_name["dept-a-to-dept-b"], 200)
    assert [(s.port.device, s.port.index, d.port.index, r) for s, d, r in flows] == [
        ("GD-ACC-01", 101, 5, "GD-ACC-01"),
        ("GD-ACC-02", 101, 5, "GD-ACC-02"),
    ]
    assert static_only == 2
    tested_at, reason = coverage(compiled, spec, by_name["dept-a-to-dept-b"], flows, static_only)
    assert tested_at == [
        "GD-ACC-01 eth101 (VRF dept-fgw)",
        "GD-ACC-01 eth5 (VRF dept-gat)",
        "GD-ACC-02 eth101 (VRF dept-fgw)",
        "GD-ACC-02 eth5 (VRF dept-gat)",
    ]
    assert "never import each other" in reason and "egov network check" in reason and "2 pairs" in reason
    # 23 site LANs (11 counties, 11 towns, the city) × the DC port of both access routers
    flows, static_only, _ = plan_flows(compiled, spec, by_name["town-lan-to-cloud-https"], 200)
    assert (len(flows), static_only) == (46, 0)
    flows, _, _ = plan_flows(compiled, spec, by_name["public-to-management-aaa"], 200)
    tested_at, reason = coverage(compiled, spec, by_name["public-to-management-aaa"], flows, 0)
    assert tested_at == ["site LANs of 24 routers"] and reason.startswith("site LANs")
    assert len(plan_flows(compiled, spec, by_name["public-to-management-aaa"], 7)[0]) == 7  # bounded


def test_probes_per_service(slice_440100) -> None:  # type: ignore[no-untyped-def]
    _spec, compiled = slice_440100
    assert service_probes(compiled, "tacacs") == [("tcp", 49)]
    assert service_probes(compiled, "ntp") == [("udp", 123)]
    assert service_probes(compiled, "any") == [("icmp", None), ("tcp", 9), ("udp", 9)]


def test_rendered_rulesets_name_their_tables(slice_440100) -> None:  # type: ignore[no-untyped-def]
    _spec, compiled = slice_440100
    text = compiled.rendered["frr"].devices["GD-ACC-01"]
    assert _tables(text) == ["table ip filtering_policies"]


def test_term_chains_are_the_chains_without_a_hook(slice_440100) -> None:  # type: ignore[no-untyped-def]
    _spec, compiled = slice_440100
    chains = term_chains(compiled.rendered["frr"].devices["GD-ISO-CORE"])
    assert chains == [
        ("ip filtering_policies", "gd-isolated-in-lan0-isolated-only"),
        ("ip filtering_policies", "gd-isolated-in-lan0-deny-all"),
        ("ip filtering_policies", "gd-isolated-out-lan0-isolated-only"),
        ("ip filtering_policies", "gd-isolated-out-lan0-deny-all"),
    ]


def test_term_hits_are_packets_in_minus_packets_through() -> None:
    def counter(chain: str, packets: int) -> dict:  # type: ignore[type-arg]
        return {"rule": {"chain": chain, "expr": [{"counter": {"packets": packets, "bytes": 0}}]}}

    term = {"rule": {"chain": "a", "expr": [{"match": {}}, {"drop": None}]}}
    rules = [counter("a", 7), term, counter("a", 3), counter("b", 4), counter("b", 4)]
    doc = {"nftables": [{"metainfo": {}}, *rules]}
    assert term_hits(doc) == {"a": 4, "b": 0}


def test_sample_is_even_and_bounded() -> None:
    assert _sample(list(range(10)), 20) == list(range(10))
    assert _sample(list(range(10)), 5) == [0, 2, 4, 6, 8]


FACTS = RouteFacts(
    exits=frozenset({"ACC"}),
    exit_loopbacks=frozenset({"10.0.0.11"}),
    isolated=frozenset({"ISO"}),
    isolated_blocks=(ip_network("192.168.0.0/16"), ip_network("fd00:4600::/32")),
)


def _route(prefix: str, protocol: str, *hops: str):  # type: ignore[no-untyped-def]
    return ip_network(prefix), {"protocol": protocol, "selected": True, "nexthops": [{"ip": h} for h in hops]}


def test_default_route_only_from_the_exit() -> None:
    assert rib_failures("ACC", [_route("0.0.0.0/0", "static", "203.0.113.1")], FACTS) == []
    assert rib_failures("TOWN", [_route("0.0.0.0/0", "bgp", "10.0.0.11")], FACTS) == []
    bad = rib_failures("TOWN", [_route("0.0.0.0/0", "static", "10.4.0.1")], FACTS)
    assert len(bad) == 1 and "not originated by the Internet exit" in bad[0]
    assert rib_failures("TOWN", [_route("::/0", "ospf6", "fe80::1")], FACTS)
    assert rib_failures("TOWN", [_route("0.0.0.0/0", "bgp", "10.0.0.3")], FACTS)  # from a core, not the exit


def test_isolated_domain_routes_stay_inside() -> None:
    inside = [_route("192.168.128.0/24", "ospf"), _route("fe80::/64", "connected")]
    assert rib_failures("ISO", inside, FACTS) == []
    leak = rib_failures("ISO", [_route("10.0.5.0/24", "ospf")], FACTS)
    assert leak == ["ISO (isolated domain): route to 10.0.5.0/24 outside it (ospf)"]
    into = rib_failures("CITY", [_route("192.168.129.0/24", "bgp")], FACTS)
    assert into == ["CITY: route into the isolated domain 192.168.129.0/24 (bgp)"]


def _intent_row(name: str, tested_at: list[str], ok: bool | None) -> dict:  # type: ignore[type-arg]
    return {
        "name": name,
        "src": "dept-fgw",
        "dst": "dept-gat",
        "service": "any",
        "expect": "deny",
        "verdict": "deny" if ok else "allow",
        "ok": ok,
        "testable": ok is not None,
        "tested_at": tested_at,
        "reason": "",
        "flows": 2,
        "static_only_pairs": 2,
        "counterexample": "icmp 10.1.0.17 (GD-ACC-01 eth101) → 172.16.6.10 (GD-ACC-01 eth5) arrived",
    }


@pytest.mark.parametrize(
    ("lang", "header", "note"), [("zh", "验证位置", "静态证明"), ("en", "tested at", "statically")]
)
def test_the_table_says_where_each_intent_was_tested(lang: str, header: str, note: str) -> None:
    from network.lab import cli

    rows = [
        _intent_row(
            "dept-a-to-dept-b", ["GD-ACC-01 eth101 (VRF dept-fgw)", "GD-ACC-01 eth5 (VRF dept-gat)"], True
        ),
        _intent_row("planted", ["GD-ACC-02 eth101 (VRF dept-fgw)"], False),
    ]
    doc = {"intents": rows, "not_testable": {}, "unreachable_lines": 0, "shadowed_lines": 0}
    with cli.console.capture() as captured:
        cli._print_policy_test(doc, lang, 3.0)
    out = captured.get()
    assert header in out and "GD-ACC-01 eth101 (VRF dept-fgw)" in out and note in out
    assert ("失败" if lang == "zh" else "FAIL") in out and "172.16.6.10" in out  # the failing one, why
