"""Per-VRF route tables computed from the model: what each VRF of each PE holds once MP-BGP has run.

A VRF holds its own ports' prefixes (connected), the prefixes behind them (static routes, redistributed), the
Internet exit's default route, and every route another VRF exports with a route target it imports (on any
PE: the reflectors pass every PE's path, each with its own RD). This is the static proof of VPN separation
the lab cannot give (its kernel has no VRF device and no MPLS forwarding): ``egov network check`` asks it
whether every department reaches its LAN, its cloud subnet and the shared services, and nothing of another.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from ipaddress import IPv4Network

from network.model import Backbone, Device

DEFAULT_V4 = IPv4Network("0.0.0.0/0")


@dataclass(frozen=True, order=True, slots=True)
class VrfRoute:
    """One route of a VRF table: the prefix, where it enters the VPN (PE, VRF, port) and how."""

    prefix: IPv4Network
    origin: str  # hostname of the PE that originates it
    origin_vrf: str
    kind: str  # "connected", "static" or "default"
    via: str  # the port it leaves by at the origin ("port 5", "port 5.17")


def local_routes(device: Device) -> dict[str, list[VrfRoute]]:
    """VRF name → the routes ``device`` originates in it from its own attachments and their VLANs."""
    out: dict[str, list[VrfRoute]] = defaultdict(list)
    for att in device.attachments:
        ports = [(att.vrf, f"port {att.port}", att.address_v4, att.routes)]
        ports += [(v.vrf, f"port {att.port}.{v.vlan}", v.address_v4, v.routes) for v in att.vlans]
        for vrf, via, address, routes in ports:
            out[vrf].append(VrfRoute(address.network, device.hostname, vrf, "connected", via))
            out[vrf] += [VrfRoute(p, device.hostname, vrf, "static", via) for p in routes]
        if att.default_route:
            out[att.vrf].append(VrfRoute(DEFAULT_V4, device.hostname, att.vrf, "default", f"port {att.port}"))
    return dict(out)


def vrf_tables(backbone: Backbone) -> dict[tuple[str, str], list[VrfRoute]]:
    """(hostname, VRF) → its routes, sorted, for every VRF instance of the model.

    Local routes stay in their VRF; a BGP speaker's VRF also takes every route exported (by any BGP
    speaker's VRF, its own other VRFs included) with a route target it imports.
    """
    local = {name: local_routes(dev) for name, dev in backbone.devices.items()}
    by_rt: dict[str, set[VrfRoute]] = defaultdict(set)
    for name, dev in backbone.devices.items():
        if dev.bgp is None:
            continue
        for vrf in dev.vrfs:
            for rt in vrf.export_rt:
                by_rt[rt].update(local[name].get(vrf.name, ()))
    tables = {}
    for name, dev in backbone.devices.items():
        for vrf in dev.vrfs:
            routes = set(local[name].get(vrf.name, ()))
            if dev.bgp is not None:
                for rt in vrf.import_rt:
                    routes |= by_rt.get(rt, set())
            tables[(name, vrf.name)] = sorted(routes)
    return tables
