"""Pure parts of the packet policy test and the route-table check (no root, no lab): which intents the lab
can test and why not, the probes of a service, the RIB rules of issue 13 Build 4."""

from __future__ import annotations

from ipaddress import ip_network

import pytest

from network.lab.from_model import lab_spec
from network.lab.policytest import (
    _sample,
    _tables,
    absent_reason,
    lab_port,
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


def test_lan_endpoints_are_in_the_lab_and_vrf_attachments_are_not(slice_440100) -> None:  # type: ignore[no-untyped-def]
    spec, compiled = slice_440100
    zones = compiled.zones.zones
    town = next(e for e in zones["public"].sources if e.port.device.startswith("GD-TOWN-"))
    ifname, gateway = lab_port(spec, town)  # type: ignore[misc]
    assert ifname == "lan0" and town.address in gateway.network and gateway.ip != town.address
    assert all(lab_port(spec, e) for e in zones["management"].destinations)
    assert not any(lab_port(spec, e) for e in zones["cloud-dc"].destinations)
    reason = absent_reason(compiled, spec, "dept-fgw")
    assert "VRF dept-fgw" in reason and "no VRF device" in reason
    assert "VRF internet" in absent_reason(compiled, spec, "internet")


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
