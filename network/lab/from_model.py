"""The lab spec of a backbone (sub-)model: every device becomes a router running its rendered frr.conf."""

from __future__ import annotations

import re
from ipaddress import IPv4Interface, IPv6Interface
from typing import Any

from network.lab.engine import LabTimers
from network.lab.spec import Adjacency, BgpSession, Endpoint, LabSpec, Link, Router
from network.model import Backbone, Device
from network.naming import interface_name

CORE_TIERS = {"backbone": "core", "isolated": "isolated-core"}
#: Towns-per-county of the default lab: the upper tiers whole plus a sample of towns.
DEFAULT_TOWNS_PER_COUNTY = 1
_INTERFACE = re.compile(r"^interface (\S+)\s*$", re.M)


def daemons_for(config: str) -> tuple[str, ...]:
    """The FRR daemons a rendered config needs (zebra always; others by the sections it contains)."""
    needed = ["zebra"]
    if re.search(r"^(ip|ipv6) route ", config, re.M):
        needed.append("staticd")
    if re.search(r"^bfd\b|^ *bfd\b", config, re.M):
        needed.append("bfdd")
    if re.search(r"^router ospf\b(?!6)", config, re.M):
        needed.append("ospfd")
    if re.search(r"^router ospf6\b", config, re.M):
        needed.append("ospf6d")
    if re.search(r"^router bgp\b", config, re.M):
        needed.append("bgpd")
    return tuple(needed)


_BFD_INTERVAL = re.compile(r"^(  (?:transmit|receive)-interval )\d+$", re.M)


_OSPF_ROUTER = re.compile(r"^(router ospf6?)$", re.M)


_OSPF_INTERVAL = re.compile(r"^( ip ospf| ipv6 ospf6) (hello|dead)-interval (\d+)$", re.M)


def with_lab_timers(config: str, timers: LabTimers) -> str:
    """``config`` with the lab's timers in place of the rendered ones (BFD profile intervals, SPF throttle
    of ospfd and ospf6d, hello and dead intervals below the lab's shortest)."""
    config = _BFD_INTERVAL.sub(lambda m: f"{m.group(1)}{timers.bfd_interval_ms}", config)
    if timers.min_hello_dead_s:
        shortest = dict(zip(("hello", "dead"), timers.min_hello_dead_s, strict=True))

        def raised(m: re.Match[str]) -> str:
            return f"{m.group(1)} {m.group(2)}-interval {max(int(m.group(3)), shortest[m.group(2)])}"

        config = _OSPF_INTERVAL.sub(raised, config)
    if timers.spf_throttle_ms:
        throttle = " timers throttle spf " + " ".join(map(str, timers.spf_throttle_ms))
        config = _OSPF_ROUTER.sub(lambda m: f"{m.group(1)}\n{throttle}", config)
    return config


def _bit_s(quantity: Any) -> int:
    return round(float(quantity.to("bit/s").magnitude))


def _stubs(device: Device, config: str, link_ifnames: set[str]) -> tuple[Endpoint, ...]:
    """Interfaces the config names that no link provides (site LANs): dummies with the LAN gateway address."""
    names = [n for n in _INTERFACE.findall(config) if n != "lo" and n not in link_ifnames]
    lans = list(device.lans)
    stubs = []
    for index, name in enumerate(names):
        addresses: tuple[IPv4Interface | IPv6Interface, ...] = ()
        if index < len(lans):
            addresses = (lans[index].gateway_v4, lans[index].gateway_v6)
        stubs.append(Endpoint(device.hostname, name, addresses))
    return tuple(stubs)


def core_loopbacks(backbone: Backbone) -> dict[str, list[str]]:
    """Per routing domain ('backbone', 'isolated'), the loopbacks of its core routers."""
    result: dict[str, list[str]] = {}
    for device in sorted(backbone.devices.values(), key=lambda d: d.hostname):
        if device.tier == CORE_TIERS.get(device.domain):
            result.setdefault(device.domain, []).append(str(device.loopback_v4))
    return result


def lab_spec(backbone: Backbone, configs: dict[str, str]) -> LabSpec:
    """The lab for ``backbone``, each router running ``configs[hostname]`` (the rendered frr.conf)."""
    cores = core_loopbacks(backbone)
    links = []
    ifnames: dict[str, set[str]] = {name: set() for name in backbone.devices}
    for link in backbone.links:
        a_dev, b_dev = backbone.devices[link.a], backbone.devices[link.b]
        a_if, b_if = a_dev.interface(link.a_port), b_dev.interface(link.b_port)
        a_name, b_name = interface_name("frr", a_if), interface_name("frr", b_if)
        ifnames[link.a].add(a_name)
        ifnames[link.b].add(b_name)
        links.append(
            Link(
                Endpoint(link.a, a_name, (a_if.address_v4, a_if.address_v6)),
                Endpoint(link.b, b_name, (b_if.address_v4, b_if.address_v6)),
                rate_bit_s=_bit_s(link.bandwidth),
                mtu=link.mtu,
                plane=link.plane,
            )
        )
    routers = {}
    for name, device in backbone.devices.items():
        config = configs[name]
        routers[name] = Router(
            hostname=name,
            config=config,
            daemons=daemons_for(config),
            loopbacks=(IPv4Interface(f"{device.loopback_v4}/32"), device.loopback_v6),
            tier=device.tier,
            city=device.city_code,
            stub_interfaces=_stubs(device, config, ifnames[name]),
            ping_targets=tuple(a for a in cores.get(device.domain, []) if a != str(device.loopback_v4)),
        )
    adjacencies = [Adjacency(link.a.router, link.a.ifname, link.b.router) for link in links] + [
        Adjacency(link.b.router, link.b.ifname, link.a.router) for link in links
    ]
    loopback = {name: str(dev.loopback_v4) for name, dev in backbone.devices.items()}
    sessions = [BgpSession(r, loopback[p], p) for r, p in sorted(backbone.expected_bgp_sessions())]
    pings = [(name, t) for name, r in sorted(routers.items()) if r.tier == "town" for t in r.ping_targets]
    return LabSpec(routers, links, adjacencies, sessions, pings)


def range_pitfalls(backbone: Backbone) -> list[str]:
    """Area ranges whose base address is a member prefix's own address: FRR 8.4 does not announce them."""
    problems = []
    members: dict[int, set[str]] = {}
    for device in backbone.devices.values():
        for iface in device.interfaces:
            members.setdefault(iface.ospf_area, set()).add(str(iface.subnet_v4.network_address))
        for lan in device.lans:
            members.setdefault(lan.ospf_area, set()).add(str(lan.prefix_v4.network_address))
    for device in backbone.devices.values():
        for rng in device.area_ranges:
            if str(rng.prefix.network_address) in members.get(rng.area, set()):
                problems.append(
                    f"{device.hostname}: area {rng.area} range {rng.prefix} starts on a member prefix"
                )
    return problems
