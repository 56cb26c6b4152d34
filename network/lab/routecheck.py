"""The route-table check of issue 13 (Build 4) on a running lab: a default route exists only where the
provincial Internet exit originates it, and the isolated domain has no route to anything outside it (nor
the backbone one into it).

The facts come from the model (which routers hold the exit, which belong to the isolated domain, its address
blocks); the routes from each router's RIB (``show ip route json``, ``show ipv6 route json``).
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Any

from network.lab import system
from network.lab.spec import LabSpec, namespace_name
from network.lab.system import LabError

Net = IPv4Network | IPv6Network
DEFAULTS = (ip_network("0.0.0.0/0"), ip_network("::/0"))
#: Link-local and multicast routes every IPv6 interface has: not routes "to" anything.
_LINK_SCOPE = (ip_network("fe80::/10"), ip_network("ff00::/8"))


@dataclass(frozen=True)
class RouteFacts:
    """What the model says about the lab's routers."""

    exits: frozenset[str]  # routers holding the provincial Internet exit (a default_route attachment)
    exit_loopbacks: frozenset[str]
    isolated: frozenset[str]  # routers of the isolated domain
    isolated_blocks: tuple[Net, ...]


def route_facts(spec: LabSpec) -> RouteFacts:
    """The exit and isolated-domain facts for the lab's routers, from the model."""
    from network.params import DATA_DIR, load_params
    from network.topology import build_backbone

    params = load_params(DATA_DIR / "network.yaml")
    backbone = build_backbone(params=params).subset(spec.routers)
    exits = {n for n, d in backbone.devices.items() if any(a.default_route for a in d.attachments)}
    return RouteFacts(
        exits=frozenset(exits),
        exit_loopbacks=frozenset(str(backbone.devices[n].loopback_v4) for n in exits),
        isolated=frozenset(n for n, d in backbone.devices.items() if d.domain == "isolated"),
        isolated_blocks=(params.isolated.ipv4, params.isolated.ipv6),
    )


def selected_routes(doc: Any) -> list[tuple[Net, dict[str, Any]]]:
    """(prefix, route) of every selected route in a ``show ip[v6] route json`` document."""
    out = []
    for text, routes in (doc or {}).items():
        for route in routes:
            if route.get("selected"):
                out.append((ip_network(text), route))
    return out


def rib_failures(router: str, routes: list[tuple[Net, dict[str, Any]]], facts: RouteFacts) -> list[str]:
    """What is wrong with one router's selected routes (human-readable lines, empty when fine)."""
    failures = []
    inside = router in facts.isolated
    for prefix, route in routes:
        protocol = route.get("protocol", "?")
        if prefix in DEFAULTS and router not in facts.exits:
            hops = {h.get("ip") for h in route.get("nexthops", []) if h.get("ip")}
            if not (protocol == "bgp" and hops and hops <= facts.exit_loopbacks):
                failures.append(
                    f"{router}: default route {prefix} ({protocol} via {', '.join(sorted(hops)) or '-'}) "
                    "not originated by the Internet exit"
                )
        if any(prefix.version == b.version and prefix.subnet_of(b) for b in _LINK_SCOPE):  # type: ignore[arg-type]
            continue
        in_block = any(
            prefix.version == b.version and prefix.subnet_of(b)  # type: ignore[arg-type]
            for b in facts.isolated_blocks
        )
        if inside and not in_block:
            failures.append(f"{router} (isolated domain): route to {prefix} outside it ({protocol})")
        # a default route covers every block: it is judged above, not as a route into the isolated domain
        if (
            not inside
            and prefix not in DEFAULTS
            and any(
                prefix.version == b.version and prefix.overlaps(b)  # type: ignore[arg-type]
                for b in facts.isolated_blocks
            )
        ):
            failures.append(f"{router}: route into the isolated domain {prefix} ({protocol})")
    return failures


def router_routes(prefix: str, router: str) -> list[tuple[Net, dict[str, Any]]]:
    ns = namespace_name(prefix, router)
    routes = []
    for command in ("show ip route json", "show ipv6 route json"):
        try:
            routes += selected_routes(json.loads(system.vtysh(ns, command)))
        except (LabError, json.JSONDecodeError) as exc:
            raise LabError(f"{router}: `{command}` gave no routing table: {exc}") from None
    return routes


def route_table_failures(spec: LabSpec, prefix: str, facts: RouteFacts | None = None) -> list[str]:
    """Every router's RIB against the default-route and isolation rules."""
    facts = facts or route_facts(spec)
    names = sorted(spec.routers)
    with ThreadPoolExecutor(max_workers=8) as pool:
        tables = list(pool.map(lambda r: router_routes(prefix, r), names))
    return [
        line for name, routes in zip(names, tables, strict=True) for line in rib_failures(name, routes, facts)
    ]
