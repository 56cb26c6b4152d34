"""Static verification of the model (and of rendered configs) that trusts neither the builder nor templates.

Each check returns :class:`Violation` s naming the device and the interface; an empty list means it holds.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Network
from typing import NamedTuple

import networkx as nx

from network.model import Backbone, Link
from network.params import NetworkParams


@dataclass(frozen=True, order=True)
class Violation:
    """One broken invariant: which check, on which device and interface, and what is wrong."""

    check: str
    device: str
    interface: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def check_link_ends(backbone: Backbone) -> list[Violation]:
    """Both ends of every link exist, point at each other and agree on subnet, bandwidth, MTU and area."""
    out = []
    seen: set[tuple[str, int]] = set()
    for link in backbone.links:
        ends = []
        for name, port, peer, peer_port in (
            (link.a, link.a_port, link.b, link.b_port),
            (link.b, link.b_port, link.a, link.a_port),
        ):
            dev = backbone.devices.get(name)
            iface = next((i for i in dev.interfaces if i.port == port), None) if dev else None
            if iface is None:
                out.append(
                    Violation("link-ends", name, f"port {port}", f"no interface for the link to {peer}")
                )
                continue
            seen.add((name, port))
            if (iface.peer, iface.peer_port) != (peer, peer_port):
                out.append(
                    Violation(
                        "link-ends", name, f"port {port}", f"points at {iface.peer} port {iface.peer_port}"
                    )
                )
            if iface.address_v4.network != link.subnet_v4 or iface.address_v6.network != link.subnet_v6:
                out.append(
                    Violation(
                        "link-ends", name, f"port {port}", f"{iface.address_v4} is not in {link.subnet_v4}"
                    )
                )
            ends.append(iface)
        if len(ends) == 2:
            a, b = ends
            for what, x, y in (
                ("bandwidth", a.bandwidth, b.bandwidth),
                ("MTU", a.mtu, b.mtu),
                ("OSPF area", a.ospf_area, b.ospf_area),
                ("OSPF hello/dead", (a.hello, a.dead), (b.hello, b.dead)),
                ("plane", a.plane, b.plane),
            ):
                if x != y:
                    out.append(
                        Violation("link-ends", link.a, f"port {link.a_port}", f"{what} {x} ≠ {y} at {link.b}")
                    )
            if a.address_v4 == b.address_v4:
                out.append(
                    Violation("link-ends", link.a, f"port {link.a_port}", "both ends have the same address")
                )
    for name, dev in backbone.devices.items():
        ports = [i.port for i in dev.interfaces] + [a.port for a in dev.attachments]
        for port in sorted({p for p in ports if ports.count(p) > 1}):
            out.append(Violation("link-ends", name, f"port {port}", "port used twice"))
        for iface in dev.interfaces:
            if (name, iface.port) not in seen:
                out.append(
                    Violation("link-ends", name, f"port {iface.port}", f"no link towards {iface.peer}")
                )
    return out


def _owned_prefixes(backbone: Backbone) -> list[tuple[IPv4Network | IPv6Network, str, str]]:
    """Every prefix the model assigns, with its owner (device, interface); a link's subnet is listed once."""
    out: list[tuple[IPv4Network | IPv6Network, str, str]] = []
    for link in backbone.links:
        out.append((link.subnet_v4, link.a, f"port {link.a_port}"))
        out.append((link.subnet_v6, link.a, f"port {link.a_port}"))
    for name, dev in backbone.devices.items():
        out.append((IPv4Network(dev.loopback_v4), name, "loopback"))
        out.append((dev.loopback_v6.network, name, "loopback"))
        for lan in dev.lans:
            out.append((lan.prefix_v4, name, "lan"))
            out.append((lan.prefix_v6, name, "lan"))
        for att in dev.attachments:
            out.append((att.address_v4.network, name, f"port {att.port}"))
            out.append((att.address_v6.network, name, f"port {att.port}"))
            for v in att.vlans:
                out.append((v.address_v4.network, name, f"port {att.port}.{v.vlan}"))
                out.append((v.address_v6.network, name, f"port {att.port}.{v.vlan}"))
        if dev.management_port is not None:
            out.append((dev.management_port.network, name, "management"))
        if dev.management_port_v6 is not None:
            out.append((dev.management_port_v6.network, name, "management"))
    return out


def check_no_overlap(backbone: Backbone) -> list[Violation]:
    """No address or prefix is assigned twice and no two prefixes overlap (one sweep over sorted prefixes)."""
    out = []
    for version in (4, 6):
        items = sorted(
            (p for p in _owned_prefixes(backbone) if p[0].version == version),
            key=lambda t: (int(t[0].network_address), -t[0].prefixlen),
        )
        last_end, last = -1, None
        for prefix, dev, where in items:
            if int(prefix.network_address) <= last_end and last is not None:
                out.append(
                    Violation("no-overlap", dev, where, f"{prefix} overlaps {last[0]} of {last[1]} {last[2]}")
                )
            if int(prefix.broadcast_address) > last_end:
                last_end, last = int(prefix.broadcast_address), (prefix, dev, where)
    return out


def check_pools(backbone: Backbone, params: NetworkParams) -> list[Violation]:
    """Every backbone prefix lies in a backbone pool and every isolated prefix in the isolated pools."""
    pools = {
        "backbone": (params.ipv4.backbone, params.ipv6.infrastructure, params.ipv6.lan),
        "isolated": (params.isolated.ipv4, params.isolated.ipv6),
    }
    out = []
    for prefix, name, where in _owned_prefixes(backbone):
        domain = backbone.devices[name].domain
        if where == "management":
            continue  # the out-of-band block: check_management_addresses
        if not any(prefix.version == p.version and prefix.subnet_of(p) for p in pools[domain]):  # type: ignore[arg-type]
            out.append(Violation("pools", name, where, f"{prefix} is outside the {domain} pools"))
    return out


def check_reachability(backbone: Backbone) -> list[Violation]:
    """Every backbone site has a path to a core router; every isolated site to the isolated core."""
    graph = backbone.graph
    out = []
    for domain, tiers in (("backbone", ("core",)), ("isolated", ("isolated-core",))):
        roots = [n for n, d in backbone.devices.items() if d.tier in tiers]
        reach: set[str] = set()
        for root in roots:
            reach |= nx.node_connected_component(graph, root)
        for name, dev in backbone.devices.items():
            if dev.domain == domain and name not in reach:
                out.append(
                    Violation("reaches-core", name, "", f"no path to {' or '.join(roots) or 'a core'}")
                )
    return out


def two_edge_components(backbone: Backbone) -> dict[str, int]:
    """Component number of each device once every bridge (a link whose loss splits the graph) is removed.

    Two devices stay connected after the loss of any single link exactly when they share a component.
    """
    simple = nx.Graph()
    simple.add_nodes_from(backbone.devices)
    multiplicity: dict[frozenset[str], int] = defaultdict(int)
    for link in backbone.links:
        multiplicity[frozenset((link.a, link.b))] += 1
        simple.add_edge(link.a, link.b)
    bridges = {frozenset(e) for e in nx.bridges(simple) if multiplicity[frozenset(e)] == 1}
    simple.remove_edges_from([tuple(b) for b in bridges])
    return {n: i for i, comp in enumerate(nx.connected_components(simple)) for n in comp}


def check_survives_single_link_loss(
    backbone: Backbone, backed_counties: Iterable[str] = ()
) -> list[Violation]:
    """Every city (and every county with a backup circuit) still reaches the core after any one link fails."""
    component = two_edge_components(backbone)
    cores = {component[d.hostname] for d in backbone.by_tier("core")}
    backed = set(backed_counties)
    out = []
    for dev in backbone.devices.values():
        needs_two = dev.tier == "city" or (dev.tier == "county" and dev.division_code in backed)
        if needs_two and component[dev.hostname] not in cores:
            out.append(
                Violation("single-link-loss", dev.hostname, "", "one link failure cuts it off from the core")
            )
    return out


def check_backup_router(backbone: Backbone, backed_counties: Iterable[str] = ()) -> list[Violation]:
    """A county's backup circuit ends on a different city router than its primary, so one router failure
    cuts no county off: with either of its upstream routers down, every county with a backup still reaches a
    core router."""
    graph = backbone.graph
    cores = [d.hostname for d in backbone.by_tier("core")]
    backed = set(backed_counties)
    out = []
    for dev in backbone.by_tier("county"):
        # its uplinks: the circuits towards its city (the others go down to its towns)
        ups = {i.plane: i for i in dev.interfaces if backbone.devices[i.peer].tier == "city"}
        if "backup" not in ups:
            if dev.division_code in backed:
                out.append(Violation("backup-router", dev.hostname, "", "in backup.counties, no backup"))
            continue
        primary, backup = ups["primary"], ups["backup"]
        if primary.peer == backup.peer:
            out.append(
                Violation(
                    "backup-router",
                    dev.hostname,
                    f"port {backup.port}",
                    f"backup circuit ends on {backup.peer}, the router of the primary",
                )
            )
            continue
        for down in (primary.peer, backup.peer):
            alive = graph.subgraph(n for n in graph if n != down)
            if not any(nx.has_path(alive, dev.hostname, core) for core in cores):
                out.append(
                    Violation("backup-router", dev.hostname, "", f"cut off from the core when {down} fails")
                )
    return out


def check_isolated(backbone: Backbone) -> list[Violation]:
    """The isolated domain shares no link, device or address with the rest."""
    out = []
    iso = {n for n, d in backbone.devices.items() if d.domain == "isolated"}
    for link in backbone.links:
        if (link.a in iso) != (link.b in iso):
            out.append(
                Violation("isolated", link.a, f"port {link.a_port}", f"links the isolated domain to {link.b}")
            )
    for version in (4, 6):
        ours = sorted(
            (
                (int(p.network_address), int(p.broadcast_address), p, n, w)
                for p, n, w in _owned_prefixes(backbone)
                if p.version == version and backbone.devices[n].domain == "backbone"
            ),
            key=lambda t: t[:2],
        )
        starts = [t[0] for t in ours]
        for p, name, where in _owned_prefixes(backbone):
            if p.version != version or backbone.devices[name].domain != "isolated":
                continue
            lo, hi = int(p.network_address), int(p.broadcast_address)
            # backbone prefixes starting inside p, and the one starting just before it (they do not nest)
            first = bisect_left(starts, lo)
            hits = ours[max(0, first - 1) : bisect_right(starts, hi)]
            for start, end, q, other, other_where in hits:
                if start <= hi and end >= lo:
                    out.append(
                        Violation("isolated", name, where, f"{p} overlaps {q} of {other} {other_where}")
                    )
    return out


def check_area_ranges(backbone: Backbone) -> list[Violation]:
    """Each city ABR summarises its area, every prefix of the area lies in the summary, and no allocated
    prefix starts at a range's base (FRR 8.4 would not announce the range)."""
    starts = {int(p.network_address): (p, n, w) for p, n, w in _owned_prefixes(backbone) if p.version == 4}
    out = []
    ranges: dict[int, list[IPv4Network | IPv6Network]] = {
        r.area: [r.prefix, *r.prefixes_v6] for d in backbone.by_tier("city") for r in d.area_ranges
    }
    for name, dev in backbone.devices.items():
        if dev.domain != "backbone":
            continue
        members: list[tuple[str, int, IPv4Network | IPv6Network]] = []
        for i in dev.interfaces:
            members += [(f"port {i.port}", i.ospf_area, i.address_v4.network)]
            members += [(f"port {i.port}", i.ospf_area, i.address_v6.network)]
        for lan in dev.lans:
            members += [("lan", lan.ospf_area, lan.prefix_v4), ("lan", lan.ospf_area, lan.prefix_v6)]
        members += [("loopback", dev.loopback_area, IPv4Network(dev.loopback_v4))]
        members += [("loopback", dev.loopback_area, dev.loopback_v6.network)]
        for where, area, prefix in members:
            summaries = ranges.get(area, [])
            inside = any(prefix.version == r.version and prefix.subnet_of(r) for r in summaries)  # type: ignore[arg-type]
            if area != 0 and not inside:
                out.append(
                    Violation("area-ranges", name, where, f"{prefix} in area {area} is outside its summary")
                )
    for dev in backbone.by_tier("city"):
        if not dev.area_ranges:
            out.append(Violation("area-ranges", dev.hostname, "", "a city ABR without an area range"))
        for r in dev.area_ranges:
            if int(r.prefix.network_address) in starts:
                p, n, w = starts[int(r.prefix.network_address)]
                out.append(
                    Violation(
                        "area-ranges", dev.hostname, "", f"range {r.prefix} base is allocated ({p} {n} {w})"
                    )
                )
    return out


def check_core_mtu(backbone: Backbone, params: NetworkParams) -> list[Violation]:
    """Every MPLS link runs the core MTU (a full customer packet plus labels fits)."""
    return [
        Violation(
            "mtu",
            link.a,
            f"port {link.a_port}",
            f"MPLS link to {link.b} at MTU {link.mtu}, not {params.mpls.mtu}",
        )
        for link in backbone.links
        if link.mtu != params.mpls.mtu and _is_mpls(backbone, link)
    ]


def _is_mpls(backbone: Backbone, link: Link) -> bool:
    return backbone.devices[link.a].interface(link.a_port).mpls


def check_bfd(backbone: Backbone) -> list[Violation]:
    """BFD on both ends of every link that has an alternative path (no bridge of the graph): there a fast
    detection moves traffic; a single-homed town's uplink has nowhere to go."""
    component = two_edge_components(backbone)
    out = []
    for link in backbone.links:
        if component[link.a] != component[link.b]:
            continue  # a bridge
        for name, port in link.ends:
            if not backbone.devices[name].interface(port).bfd_ms:
                out.append(
                    Violation(
                        "bfd", name, f"port {port}", f"no BFD towards {link.b if name == link.a else link.a}"
                    )
                )
    return out


def check_default_route(backbone: Backbone) -> list[Violation]:
    """A default route is originated at the provincial Internet exit (VRF internet of the access routers)
    and nowhere else."""
    out = []
    exits = 0
    for name, dev in backbone.devices.items():
        for att in dev.attachments:
            if not att.default_route:
                continue
            exits += 1
            if dev.tier != "access" or att.vrf != "internet":
                out.append(
                    Violation(
                        "default-route",
                        name,
                        f"port {att.port}",
                        f"default route in VRF {att.vrf} at a {dev.tier} router",
                    )
                )
    if exits == 0 and backbone.by_tier("access"):
        out.append(Violation("default-route", "", "", "no Internet exit originates a default route"))
    return out


def check_vrf_instances(backbone: Backbone) -> list[Violation]:
    """No empty VRF instance: every VRF of a device has a port (an attachment or a VLAN of one) in it."""
    out = []
    for name, dev in backbone.devices.items():
        used = {a.vrf for a in dev.attachments} | {v.vrf for a in dev.attachments for v in a.vlans}
        out += [
            Violation("vrf-empty", name, v.name, "VRF instance without a port in it")
            for v in dev.vrfs
            if v.name not in used
        ]
    return out


def check_vrf_routes(backbone: Backbone, params: NetworkParams) -> list[Violation]:
    """From the per-VRF route tables computed from the model (network/vrftables.py): every department VRF
    holds its own LAN, its cloud tenant subnet and the shared services, and nothing of another department
    (no route another department's VRF originates, no prefix of another department's plan); 0.0.0.0/0 is
    only in a table as originated by the Internet exit, and never in a department's."""
    from network.addressing import AddressPlan
    from network.routing import DEPARTMENT_VPN_BASE
    from network.vrftables import DEFAULT_V4, vrf_tables

    plan = AddressPlan(params)
    shared = plan.shared_services_subnet()
    ids = {
        v.name: v.vpn_id - DEPARTMENT_VPN_BASE
        for dev in backbone.devices.values()
        for v in dev.vrfs
        if v.zone == "private"
    }
    owned = {
        p: vrf
        for vrf, vpn_id in ids.items()
        for p in (plan.department_lan(vpn_id), plan.department_cloud_subnet(vpn_id))
    }
    sites = {vrf: plan.department_link(vpn_id, 0).supernet(new_prefix=28) for vrf, vpn_id in ids.items()}
    exits = {
        (name, a.vrf) for name, dev in backbone.devices.items() for a in dev.attachments if a.default_route
    }
    out = []
    for (name, vrf), routes in vrf_tables(backbone).items():
        prefixes = {r.prefix for r in routes}
        for r in routes:
            if r.prefix == DEFAULT_V4 and ((r.origin, r.origin_vrf) not in exits or vrf in ids):
                out.append(
                    Violation("vrf-routes", name, vrf, f"0.0.0.0/0 from {r.origin} {r.origin_vrf} {r.via}")
                )
        if vrf not in ids:
            continue
        vpn_id = ids[vrf]
        for what, want in (
            ("its LAN", plan.department_lan(vpn_id)),
            ("its cloud tenant subnet", plan.department_cloud_subnet(vpn_id)),
            ("the shared services", shared),
        ):
            if want not in prefixes:
                out.append(Violation("vrf-routes", name, vrf, f"no route to {what} {want}"))
        for r in routes:
            # whose is it: the department whose plan holds the prefix, else the VRF that originates it
            other = owned.get(r.prefix) or next(
                (o for o, block in sites.items() if r.prefix.subnet_of(block)),
                r.origin_vrf if r.origin_vrf in ids else None,
            )
            if other is not None and other != vrf:
                out.append(
                    Violation(
                        "vrf-routes",
                        name,
                        vrf,
                        f"{r.prefix} of {other} (from {r.origin} {r.origin_vrf} {r.via}) leaks in",
                    )
                )
    return out


def check_exit_nat(backbone: Backbone, params: NetworkParams) -> list[Violation]:
    """The Internet exit translates: every attachment that originates 0/0 has a source NAT whose pool lies in
    the carrier's pool of the data and overlaps no other exit's, and the internet VRF of that router holds a
    route back to every inside prefix it translates (the reply, once untranslated, must find the inside)."""
    from network.vrftables import vrf_tables

    tables = vrf_tables(backbone)
    out = []
    pools: list[tuple[IPv4Network, str]] = []
    for name, dev in backbone.devices.items():
        for att in dev.attachments:
            if not att.default_route:
                continue
            where = f"port {att.port}"
            if att.nat is None:
                out.append(Violation("exit-nat", name, where, "Internet exit without source NAT"))
                continue
            data_pool = params.internet_exit.nat_pool
            if not att.nat.pool.subnet_of(data_pool):
                message = f"NAT pool {att.nat.pool} outside internet_exit.nat_pool {data_pool}"
                out.append(Violation("exit-nat", name, where, message))
            out += [
                Violation("exit-nat", name, where, f"NAT pool {att.nat.pool} overlaps {other}'s {pool}")
                for pool, other in pools
                if pool.overlaps(att.nat.pool)
            ]
            pools.append((att.nat.pool, name))
            back = {r.prefix for r in tables.get((name, att.vrf), [])}
            out += [
                Violation("exit-nat", name, where, f"no route back to the inside {p} in VRF {att.vrf}")
                for p in att.nat.inside
                if p not in back
            ]
    return out


def check_management_addresses(backbone: Backbone) -> list[Violation]:
    """Every router has an out-of-band management port, a /31 of its own domain's block and its /127 twin in
    the domain's IPv6 block; no other address of the model lies in an out-of-band block (so management and
    the routed network never share a prefix)."""
    oob: dict[str, dict[int, tuple[IPv4Network | IPv6Network, int]]] = {
        domain: {4: (mgmt.oob, 31), 6: (mgmt.oob_v6, 127)} for domain, mgmt in backbone.management.items()
    }
    out = []
    for prefix, name, where in _owned_prefixes(backbone):
        domain = backbone.devices[name].domain
        if where == "management":
            block, length = oob[domain][prefix.version]
            if prefix.prefixlen != length or not prefix.subnet_of(block):  # type: ignore[arg-type]
                out.append(
                    Violation(
                        "mgmt-vrf",
                        name,
                        where,
                        f"management port {prefix} is not a /{length} of the {domain} out-of-band block "
                        f"{block}",
                    )
                )
            continue
        out += [
            Violation("mgmt-vrf", name, where, f"{prefix} lies in the {other} out-of-band block {block}")
            for other, blocks in sorted(oob.items())
            for block, _ in blocks.values()
            if prefix.version == block.version and prefix.overlaps(block)  # type: ignore[arg-type]
        ]
    out += [
        Violation("mgmt-vrf", name, "management", "no out-of-band management port")
        for name, dev in backbone.devices.items()
        if dev.management_port is None or dev.management_port_v6 is None
    ]
    return out


def check_management_domains(backbone: Backbone, params: NetworkParams) -> list[Violation]:
    """Each routing domain's management servers and login prefixes lie in its own pools, and no secret name
    is shared between domains: the isolated domain is manageable and still isolated."""
    pools: dict[str, tuple[IPv4Network | IPv6Network, ...]] = {
        "backbone": (params.ipv4.backbone, params.ipv6.infrastructure, params.ipv6.lan),
        "isolated": (params.isolated.ipv4, params.isolated.ipv6),
    }
    out = []
    seen: dict[str, str] = {}
    vrfs: dict[str, str] = {}
    for domain, mgmt in sorted(backbone.management.items()):
        where = f"management of the {domain} domain"
        if mgmt.vrf in vrfs:
            out.append(
                Violation("isolated", "", where, f"VRF {mgmt.vrf} is also the {vrfs[mgmt.vrf]} domain's")
            )
        vrfs[mgmt.vrf] = domain
        # the management VRF routes only the management LANs: every server must be in one of them
        out += [
            Violation(
                "mgmt-vrf",
                "",
                where,
                f"{what} server {a} is in no management LAN {list(map(str, mgmt.acl_v4))}",
            )
            for what, addresses in (("NTP", mgmt.ntp), ("syslog", mgmt.syslog), ("AAA", mgmt.aaa))
            for a in addresses
            if not any(a in lan for lan in mgmt.acl_v4)
        ]
        # the out-of-band block: inside the domain's pools for the isolated domain (it has nothing else),
        # outside every pool of the other domain and every backbone pool for the backbone
        others = [
            params.ipv4.backbone,
            params.ipv4.cloud_tenants,
            params.ipv4.department_lans,
            params.internet_exit.nat_pool,
            *(m.oob for d, m in backbone.management.items() if d != domain),
        ]
        others_v6 = [
            params.ipv6.infrastructure,
            params.ipv6.lan,
            *(m.oob_v6 for d, m in backbone.management.items() if d != domain),
        ]
        if domain != "isolated":
            others.append(params.isolated.ipv4)
            others_v6.append(params.isolated.ipv6)
        out += [
            Violation("mgmt-vrf", "", where, f"out-of-band block {mgmt.oob} overlaps {other}")
            for other in others
            if mgmt.oob.overlaps(other)
        ]
        out += [
            Violation("mgmt-vrf", "", where, f"out-of-band block {mgmt.oob_v6} overlaps {other}")
            for other in others_v6
            if mgmt.oob_v6.overlaps(other)
        ]
        items: list[tuple[str, IPv4Network | IPv6Network]] = [
            *(("NTP server", IPv4Network(a)) for a in mgmt.ntp),
            *(("syslog server", IPv4Network(a)) for a in mgmt.syslog),
            *(("AAA server", IPv4Network(a)) for a in mgmt.aaa),
            *(("login prefix", n) for n in mgmt.acl_v4),
            *(("login prefix", n) for n in mgmt.acl_v6),
        ]
        for what, value in items:
            if not any(value.version == p.version and value.subnet_of(p) for p in pools[domain]):  # type: ignore[arg-type]
                out.append(Violation("isolated", "", where, f"{what} {value} is outside the {domain} pools"))
        for purpose, secret in sorted(mgmt.secrets.items()):
            if secret in seen and seen[secret] != domain:
                out.append(
                    Violation(
                        "isolated",
                        "",
                        where,
                        f"secret {secret} ({purpose}) is also the {seen[secret]} domain's",
                    )
                )
            seen[secret] = domain
    return out


MODEL_CHECKS: dict[str, Callable[..., list[Violation]]] = {
    "link-ends": check_link_ends,
    "no-overlap": check_no_overlap,
    "reaches-core": check_reachability,
    "isolated": check_isolated,
    "area-ranges": check_area_ranges,
    "bfd": check_bfd,
    "default-route": check_default_route,
}


def check_model(backbone: Backbone, params: NetworkParams) -> list[Violation]:
    """All model checks (not the parse-back of rendered configs)."""
    out = [v for check in MODEL_CHECKS.values() for v in check(backbone)]
    out += check_pools(backbone, params)
    out += check_survives_single_link_loss(backbone, params.backup.counties)
    out += check_backup_router(backbone, params.backup.counties)
    out += check_core_mtu(backbone, params)
    out += check_management_domains(backbone, params)
    out += check_management_addresses(backbone)
    out += check_vrf_instances(backbone)
    out += check_vrf_routes(backbone, params)
    out += check_exit_nat(backbone, params)
    return sorted(out)


#: how each vendor's rendered config defines and binds the infrastructure ACL (IPv4, IPv6) and applies CoPP
IACL_SPELLING = {
    "vrp": (
        ("acl name GD-IACL advance", "acl ipv6 name GD-IACL6 advance"),
        (" traffic-filter inbound acl name GD-IACL", " traffic-filter inbound ipv6 acl name GD-IACL6"),
    ),
    "iosxe": (
        ("ip access-list extended GD-IACL", "ipv6 access-list GD-IACL6"),
        (" ip access-group GD-IACL in", " ipv6 traffic-filter GD-IACL6 in"),
    ),
}
COPP_SPELLING = {
    "vrp": ("cpu-defend policy GD-COPP", "cpu-defend-policy GD-COPP global"),
    "iosxe": ("policy-map GD-COPP", "control-plane\n service-policy input GD-COPP\n"),
}


def _stanzas(text: str) -> dict[str, list[str]]:
    """Interface name → the lines of its ``interface`` stanza (all stanzas of that name together)."""
    out: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith("interface "):
            current = out.setdefault(line.split(maxsplit=1)[1], [])
        elif line in ("#", "!", "exit") or not line.startswith(" "):
            current = None
        elif current is not None:
            current.append(line)
    return out


def check_protection(backbone: Backbone, vendor: str, hostname: str, text: str) -> list[Violation]:
    """Every backbone-facing port binds the infrastructure ACL, IPv4 and IPv6, both defined; CoPP is defined
    and applied on every device of a vendor with the capability."""
    from network.naming import interface_name
    from network.vendors import get_vendor

    record = get_vendor(vendor)
    device = backbone.devices[hostname]
    lines = set(text.splitlines())
    out = []
    if record.supports("iacl"):
        if vendor not in IACL_SPELLING:
            return [Violation("iacl", hostname, "", f"no infrastructure ACL spelling known for {vendor}")]
        definitions, bindings = IACL_SPELLING[vendor]
        out += [
            Violation("iacl", hostname, "", f"infrastructure ACL not defined: {d!r} missing")
            for d in definitions
            if d not in lines
        ]
        stanzas = _stanzas(text)
        for iface in device.interfaces:
            name = interface_name(vendor, iface)
            got = set(stanzas.get(name, []))
            out += [
                Violation("iacl", hostname, name, f"backbone-facing port without {b.strip()!r}")
                for b in bindings
                if b not in got
            ]
    if record.supports("copp"):
        if vendor not in COPP_SPELLING:
            return [*out, Violation("copp", hostname, "", f"no CoPP spelling known for {vendor}")]
        out += [
            Violation("copp", hostname, "", f"control-plane policing missing: {c.strip()!r}")
            for c in COPP_SPELLING[vendor]
            if c not in text
        ]
    return out


_ADDR = r"(?P<addr>\d{1,3}(?:\.\d{1,3}){3})"


class MgmtVrfSpelling(NamedTuple):
    """How a vendor spells the management VRF's services. ``servers``: (service, pattern) where the pattern
    captures the server's address and, when the line itself names it, the VRF (``vrf``: None when the
    line names none, i.e. the global table); ``bound``: lines that must be present, which put the services
    in the VRF and source them from the out-of-band port ({port}, {ip}: its name and address; {vrf};
    {net} {mask} {gw}: one route per management LAN, in ``routes``)."""

    servers: tuple[tuple[str, re.Pattern[str]], ...]
    vrf_from_group: tuple[str, ...]  # services whose VRF is the one of a group line (IOS-XE's tacacs group)
    bound: tuple[str, ...]
    routes: str
    acl: str  # one login rule per management LAN in the VRF ({net} {wildcard} {vrf}), "" when not needed
    routes_v6: str  # one per management LAN's IPv6 twin ({vrf} {net} {len} {cidr} {gw})
    acl_v6: str  # ({cidr} {vrf}), "" when not needed


MGMT_VRF_SPELLING = {
    "vrp": MgmtVrfSpelling(
        servers=(
            ("syslog", re.compile(rf"^info-center loghost {_ADDR}(?: vpn-instance (?P<vrf>\S+))?$", re.M)),
            (
                "ntp",
                re.compile(rf"^ntp-service unicast-server {_ADDR}(?: vpn-instance (?P<vrf>\S+))?\b", re.M),
            ),
            (
                "aaa",
                re.compile(
                    rf"^ hwtacacs-server (?:authentication|authorization|accounting) {_ADDR} 49"
                    r"(?: vpn-instance (?P<vrf>\S+))?\b",
                    re.M,
                ),
            ),
        ),
        vrf_from_group=(),
        bound=(
            "interface {port}\n description out-of-band management\n ip binding vpn-instance {vrf}\n",
            "info-center loghost source {port}\n",
            "ntp-service source-interface {port}\n",
            " hwtacacs-server source-ip {ip}\n",
            "snmp-agent trap source {port}\n",
            "snmp-agent vpn-instance {vrf}\n",
            "ssh server-source -i {port}\n",
        ),
        routes="ip route-static vpn-instance {vrf} {net} {mask} {gw} description management-lan\n",
        # SSH and SNMP arriving in the VRF: a rule without vpn-instance matches the public network only
        acl=" permit source {net} {wildcard} vpn-instance {vrf}\n",
        routes_v6="ipv6 route-static vpn-instance {vrf} {net} {len} {gw} description management-lan\n",
        acl_v6=" permit source {cidr} vpn-instance {vrf}\n",
    ),
    "iosxe": MgmtVrfSpelling(
        servers=(
            ("syslog", re.compile(rf"^logging host {_ADDR}(?: vrf (?P<vrf>\S+))?$", re.M)),
            ("ntp", re.compile(rf"^ntp server (?:vrf (?P<vrf>\S+) )?{_ADDR}\b", re.M)),
            ("aaa", re.compile(rf"^ address ipv4 {_ADDR}$", re.M)),
        ),
        vrf_from_group=("aaa",),
        bound=(
            "interface {port}\n description out-of-band management\n vrf forwarding {vrf}\n",
            "aaa group server tacacs+ GD-AAA\n",
            " ip vrf forwarding {vrf}\n ip tacacs source-interface {port}\n",
            "ntp source {port}\n",
            "logging source-interface {port} vrf {vrf}\n",
            "snmp-server trap-source {port}\n",
            " access-class MGMT in vrf-also\n",
        ),
        routes="ip route vrf {vrf} {net} {mask} {gw} name management-lan\n",
        acl="",  # IOS-XE: the standard ACL matches any VRF once the VTYs say vrf-also (in ``bound``)
        routes_v6="ipv6 route vrf {vrf} {cidr} {gw} name management-lan\n",
        acl_v6="",
    ),
}


def check_management_vrf(backbone: Backbone, vendor: str, hostname: str, text: str) -> list[Violation]:
    """Read back from the rendered text: the out-of-band port is in the domain's management VRF with an
    address of the domain's out-of-band block; every AAA, NTP and syslog server line names the management
    VRF (none the global table) and a server of the device's own domain, and every server of the domain is
    there; the services leave from the out-of-band port; the VRF routes each management LAN to the
    out-of-band switch."""
    from network.vendors import get_vendor

    record = get_vendor(vendor)
    device = backbone.devices[hostname]
    mgmt = backbone.management[device.domain]
    spelling = MGMT_VRF_SPELLING.get(vendor)
    port = record.management_port
    vrf_name = record.management_vrf(mgmt.vrf)  # IOS-XE's out-of-band port is fixed in Mgmt-intf
    if spelling is None:
        return [Violation("mgmt-vrf", hostname, "", f"no management-VRF spelling known for {vendor}")]
    if device.management_port is None:
        return [Violation("mgmt-vrf", hostname, port, "the model gives no out-of-band management port")]
    out = []
    if device.management_port not in mgmt.oob or device.management_port.network.prefixlen != 31:
        out.append(
            Violation(
                "mgmt-vrf",
                hostname,
                port,
                f"management address {device.management_port} is not a /31 of the {device.domain} "
                f"domain's out-of-band block {mgmt.oob}",
            )
        )
    gateway = device.management_port.network.network_address
    fields = {"port": port, "ip": device.management_port.ip, "vrf": vrf_name}
    for line in spelling.bound:
        want = line.format(**fields)
        if want not in text:
            out.append(Violation("mgmt-vrf", hostname, port, f"{want.strip()!r} missing"))
    for lan in mgmt.acl_v4:
        want = spelling.routes.format(vrf=vrf_name, net=lan.network_address, mask=lan.netmask, gw=gateway)
        if want not in text:
            out.append(Violation("mgmt-vrf", hostname, port, f"no route to {lan}: {want.strip()!r} missing"))
        login = spelling.acl.format(net=lan.network_address, wildcard=lan.hostmask, vrf=vrf_name)
        if login and login not in text:
            out.append(Violation("mgmt-vrf", hostname, port, f"no login from {lan} in VRF {vrf_name}"))
    gateway_v6 = device.management_port_v6.network.network_address if device.management_port_v6 else None
    for lan6 in mgmt.acl_v6:
        want = spelling.routes_v6.format(
            vrf=vrf_name, net=lan6.network_address, len=lan6.prefixlen, cidr=lan6, gw=gateway_v6
        )
        if want not in text:
            out.append(Violation("mgmt-vrf", hostname, port, f"no route to {lan6}: {want.strip()!r} missing"))
        login = spelling.acl_v6.format(cidr=lan6, vrf=vrf_name)
        if login and login not in text:
            out.append(Violation("mgmt-vrf", hostname, port, f"no login from {lan6} in VRF {vrf_name}"))
    servers = {"syslog": set(mgmt.syslog), "ntp": set(mgmt.ntp), "aaa": set(mgmt.aaa)}
    for service, pattern in spelling.servers:
        found = set()
        for match in pattern.finditer(text):
            address = IPv4Address(match["addr"])
            found.add(address)
            vrf = vrf_name if service in spelling.vrf_from_group else match["vrf"]
            if vrf != vrf_name:
                table = f"VRF {vrf}" if vrf else "the global table"
                out.append(
                    Violation(
                        "mgmt-vrf",
                        hostname,
                        service,
                        f"{match.group(0).strip()!r}: {service} server {address} in {table}, "
                        f"not the management VRF {vrf_name}",
                    )
                )
            if address not in servers[service]:
                out.append(
                    Violation(
                        "mgmt-vrf",
                        hostname,
                        service,
                        f"{service} server {address} is not a {service} server of the {device.domain} domain",
                    )
                )
        out += [
            Violation(
                "mgmt-vrf", hostname, service, f"{service} server {a} of the {device.domain} domain missing"
            )
            for a in sorted(servers[service] - found)
        ]
    return out


def check_rendered(backbone: Backbone, vendor: str, hostname: str, text: str) -> list[Violation]:
    """Parse-back of one rendered config against the model: addresses; port names, shapers, MTU, BFD and
    OSPF keys; default routes and references across routing domains; infrastructure protection; the
    management VRF."""
    from network.parseback import compare, compare_ports, compare_references
    from network.vendors import get_vendor

    device = backbone.devices[hostname]
    out = [
        Violation(f"parse-back-{vendor}", hostname, iface, problem)
        for iface, problem in compare(device, vendor, text)
    ]
    out += [
        Violation(f"{check}-{vendor}", hostname, iface, problem)
        for check, iface, problem in compare_ports(backbone, device, vendor, text)
        + compare_references(backbone, device, text)
    ]
    out += check_protection(backbone, vendor, hostname, text)
    if get_vendor(vendor).supports("mgmt-vrf"):
        out += check_management_vrf(backbone, vendor, hostname, text)
    return out
