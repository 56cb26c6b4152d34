"""Differential test: the next hops the capacity model routes over (network.paths) are the next hops real FRR
chooses, on every router of the default lab slice, for every router's loopback (issue 14)."""

from __future__ import annotations

import ipaddress
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from lab_support import RunningLab, record

from network.lab import system
from network.lab.spec import namespace_name
from network.naming import interface_name
from network.paths import RoutingGraph, next_hop_ports
from network.topology import build_backbone

pytestmark = [pytest.mark.lab, pytest.mark.xdist_group("lab")]


def _rib(prefix: str, router: str) -> dict[ipaddress.IPv4Network, set[str]]:
    """The router's selected IPv4 routes: prefix → the interfaces of their active next hops."""
    doc = json.loads(system.vtysh(namespace_name(prefix, router), "show ip route json"))
    out: dict[ipaddress.IPv4Network, set[str]] = {}
    for text, routes in doc.items():
        for route in routes:
            if route.get("selected"):
                hops = {
                    h["interfaceName"]
                    for h in route.get("nexthops", [])
                    if h.get("active") and "interfaceName" in h
                }
                out[ipaddress.IPv4Network(text)] = hops
    return out


def _lookup(rib: dict[ipaddress.IPv4Network, set[str]], address: ipaddress.IPv4Address) -> set[str] | None:
    best = None
    for network, hops in rib.items():
        if address in network and (best is None or network.prefixlen > best[0].prefixlen):
            best = (network, hops)
    return None if best is None else best[1]


def test_computed_next_hops_equal_frr_rib(default_lab: RunningLab) -> None:
    from network.lab.from_model import DEFAULT_TOWNS_PER_COUNTY

    backbone = build_backbone().slice(towns_per_county=DEFAULT_TOWNS_PER_COUNTY)
    graph = RoutingGraph(backbone)
    routers = sorted(graph.devices)
    assert set(routers) <= set(default_lab.spec.routers)  # type: ignore[attr-defined]
    with ThreadPoolExecutor(max_workers=8) as pool:
        ribs = dict(zip(routers, pool.map(lambda r: _rib(default_lab.prefix, r), routers), strict=True))
    compared, differences = 0, []
    for router in routers:
        device = backbone.devices[router]
        for destination in routers:
            if destination == router:
                continue
            expected = {
                interface_name("frr", device.interface(p)) for p in next_hop_ports(graph, router, destination)
            }
            actual = _lookup(ribs[router], backbone.devices[destination].loopback_v4)
            compared += 1
            if actual != expected:
                differences.append(
                    f"{router} → {destination}: model {sorted(expected)}, FRR {sorted(actual or [])}"
                )
    record("rib_differential_pairs", compared)
    record("rib_differential_mismatches", len(differences))
    assert compared == len(routers) * (len(routers) - 1)
    assert not differences, f"{len(differences)} of {compared} differ:\n" + "\n".join(differences[:40])
