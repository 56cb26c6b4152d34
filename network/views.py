"""What a template sees: one device of the model, spelled for one vendor as plain strings and numbers.

Every decision is already in the model; this module only spells it (interface names, masks, rates), so the
same context renders through our jinja2 environment and through Ansible's ``template`` module alike.
"""

from __future__ import annotations

from functools import lru_cache
from ipaddress import IPv4Address, IPv4Interface, IPv4Network, IPv6Network
from typing import Any, NamedTuple

import pint

from egov.units import ureg
from network.model import Attachment, Backbone, Device, ManagementPlane, Vrf
from network.naming import interface_name, lan_name, mbps
from network.params import NetworkParams
from network.vendors import get_vendor
from network.zonepolicy.render import Rendered, binding_line


class _Port(NamedTuple):
    port: int
    bandwidth: pint.Quantity


def secret_ref(name: str) -> str:
    """How a secret appears in a rendered config: by name, for deploy to fill in from the vault."""
    return f"%SECRET:{name}%"


@lru_cache(maxsize=64)
def _rate(magnitude: float, units: pint.Unit) -> tuple[int, str]:
    bps = round(float(ureg.Quantity(magnitude, units).to("bit/s").magnitude))
    for factor, suffix in ((10**9, "G"), (10**6, "M"), (10**3, "K")):
        if bps >= factor and bps % factor == 0:
            return bps, f"{bps // factor}{suffix}"
    return bps, str(bps)


def rate(bandwidth: pint.Quantity) -> tuple[int, str]:
    """(bits per second, short label such as '10G' or '100M')."""
    return _rate(float(bandwidth.magnitude), bandwidth.units)


def _v4(address: IPv4Interface) -> dict[str, Any]:
    return {
        "ip": str(address.ip),
        "mask": str(address.netmask),
        "len": address.network.prefixlen,
        "cidr": str(address),
    }


def _net(prefix: IPv4Network) -> dict[str, Any]:
    return {
        "net": str(prefix.network_address),
        "mask": str(prefix.netmask),
        "wildcard": str(prefix.hostmask),
        "len": prefix.prefixlen,
        "cidr": str(prefix),
    }


def device_view(
    backbone: Backbone,
    device: Device,
    vendor: str,
    params: NetworkParams,
    zone: Rendered | None = None,
) -> dict[str, Any]:
    """The template context of ``device`` for ``vendor`` (a name of the vendor registry).

    What a platform cannot do (its record's capabilities) is left out here, so a template never asks.
    ``zone`` is the zone policy rendered for ``vendor`` (network/zonepolicy): its ACL text for this device
    goes in verbatim (``zone_acls``), its bindings into the ``filters`` of the interfaces they name.
    """
    record = get_vendor(vendor)
    mgmt = backbone.management[device.domain]
    shapes: dict[str, int] = {}
    interfaces = _interfaces(device, vendor, shapes, mgmt)
    attachments = _attachments(device, vendor, shapes) if record.supports("vrf") else []
    static_routes = _static_routes(device) if record.supports("vrf") else []
    lans = _lans(device, vendor)
    zone_acls = _bind_zone_filters(device.hostname, vendor, zone, [*interfaces, *attachments, *lans])
    loop = IPv4Interface((device.loopback_v4, 32))
    bfd = [i for i in device.interfaces if i.bfd_ms]
    return {
        "hostname": device.hostname,
        "tier": device.tier,
        "division_code": device.division_code,
        "site_name": device.name,
        "router_id": str(device.router_id),
        "loopback": {
            "name": record.loopback,
            "v4": _v4(loop),
            "v6": str(device.loopback_v6),
            "area": device.loopback_area,
            "area_id": area_id(device.loopback_area),
        },
        "interfaces": interfaces,
        "attachments": attachments,
        "default_routes": [_default_route(a) for a in device.attachments if a.default_route]
        if record.supports("vrf")
        else [],
        "static_routes": static_routes,
        "nat": _nat(device) if record.supports("vrf") else None,
        "lans": lans,
        "zone_acls": zone_acls,
        "ospf": _ospf(device, params, mgmt, record.supports("ospf-auth")),
        "bgp": _bgp(
            backbone, device, mgmt, record.supports("bgp-auth"), bool(bfd) and record.supports("bfd")
        ),
        "vrfs": [_vrf(v, {r["vrf"] for r in static_routes}) for v in device.vrfs]
        if record.supports("vrf")
        else [],
        "mpls": any(i.mpls for i in device.interfaces) and record.supports("mpls"),
        "ldp_sync": any(i.mpls for i in device.interfaces) and record.supports("ldp-sync"),
        "bfd": {"ms": bfd[0].bfd_ms, "multiplier": bfd[0].bfd_multiplier}
        if bfd and record.supports("bfd")
        else None,
        "shapes": [
            {"label": k, "bps": v, "kbps": v // 1000} for k, v in sorted(shapes.items(), key=lambda kv: kv[1])
        ],
        "qos_classes": _qos_classes(params) if record.supports("qos") else [],
        "mgmt": _management(mgmt),
        "mgmt_vrf": _management_vrf(device, mgmt, record.management_port, record.management_vrf(mgmt.vrf))
        if record.supports("mgmt-vrf")
        else None,
        "iacl": _iacl(backbone, device, params) if record.supports("iacl") else None,
        "copp": _copp(params) if record.supports("copp") else None,
    }


def _bind_zone_filters(hostname: str, vendor: str, zone: Rendered | None, ports: list[dict[str, Any]]) -> str:
    """Give every port its zone-filter binding lines (``filters``); the device's ACL text.

    A binding naming a port this device's config does not have is an error, never a silently lost filter.
    """
    for port in ports:
        port["filters"] = []
    if zone is None or not zone.bindings.get(hostname):
        return ""
    if zone.vendor != vendor:
        raise ValueError(f"zone policy rendered for {zone.vendor}, device config for {vendor}")
    by_name = {p["name"]: p for p in ports}
    for ifname, direction, name in zone.bindings[hostname]:
        if ifname not in by_name:
            raise ValueError(f"{hostname}: zone filter {name} is bound to {ifname}, which its config lacks")
        by_name[ifname]["filters"].append(binding_line(vendor, direction, name))
    return zone.acls[hostname]


def area_id(area: int) -> str:
    """An OSPF area in dotted form, as VRP displays it (440100 → 0.6.183.36)."""
    return str(IPv4Address(area))


def _shaped(bandwidth: pint.Quantity, shapes: dict[str, int]) -> dict[str, Any]:
    """The shaper of a port (recorded in ``shapes``: one policy per rate on IOS-XE)."""
    bps, label = rate(bandwidth)
    shapes[label] = bps
    return {"shape": label, "shape_bps": bps, "shape_kbps": bps // 1000}


def _interfaces(
    device: Device, vendor: str, shapes: dict[str, int], mgmt: ManagementPlane
) -> list[dict[str, Any]]:
    """Backbone links: names, addresses, MTU, OSPF per port (authenticated), BFD, the circuit's shaper."""
    record = get_vendor(vendor)
    ospf_key = secret_ref(mgmt.secrets["ospf_key"]) if record.supports("ospf-auth") else ""
    out = []
    for iface in device.interfaces:
        shaped = _shaped(iface.bandwidth, shapes)
        peer_name = interface_name(vendor, _Port(iface.peer_port, iface.bandwidth))
        out.append(
            {
                "name": interface_name(vendor, iface),
                "description": f"to {iface.peer} {peer_name} {iface.plane} {shaped['shape']}",
                "v4": _v4(iface.address_v4),
                "v6": str(iface.address_v6),
                "mtu": iface.mtu,
                "area": iface.ospf_area,
                "area_id": area_id(iface.ospf_area),
                "cost": iface.ospf_cost,
                "hello": iface.hello,
                "dead": iface.dead,
                "mpls": iface.mpls and record.supports("mpls"),
                "plane": iface.plane,
                "bfd": bool(iface.bfd_ms) and record.supports("bfd"),
                "ospf_key": ospf_key,
                **shaped,
            }
        )
    return out


def _attachments(device: Device, vendor: str, shapes: dict[str, int]) -> list[dict[str, Any]]:
    """Customer ports in VRFs (departments, the cloud DC, the internet exit), each with its dot1q VLANs
    (the DC port: one per department, in the department's VRF)."""
    out = []
    for att in device.attachments:
        shaped = _shaped(att.bandwidth, shapes)
        name = interface_name(vendor, att)
        out.append(
            {
                "name": name,
                "port": att.port,
                "description": f"{att.vrf} {att.customer} {shaped['shape']}",
                "vrf": att.vrf,
                "v4": _v4(att.address_v4),
                "v6": str(att.address_v6),
                "mtu": att.mtu,
                "vlans": [
                    {
                        "name": f"{name}.{v.vlan}",
                        "vlan": v.vlan,
                        "description": f"{v.vrf} {att.customer} {v.customer}",
                        "vrf": v.vrf,
                        "v4": _v4(v.address_v4),
                        "v6": str(v.address_v6),
                    }
                    for v in att.vlans
                ],
                **shaped,
            }
        )
    return out


def _nat(device: Device) -> dict[str, Any] | None:
    """The exit's source NAT: its pool (first and last address), the inside prefixes and their VRF, the
    outside port (the exit) and the inside ports (those in the inside VRF)."""
    exits = [a for a in device.attachments if a.nat is not None]
    if not exits:
        return None
    att = exits[0]
    nat = att.nat
    assert nat is not None
    return {
        "pool": {
            "first": str(nat.pool.network_address),
            "last": str(nat.pool.broadcast_address),
            "len": nat.pool.prefixlen,
        },
        "inside": [_net(p) for p in nat.inside],
        "inside_vrf": nat.inside_vrf,
        "outside_port": att.port,
        "inside_ports": [a.port for a in device.attachments if a.vrf == nat.inside_vrf],
    }


def _static_routes(device: Device) -> list[dict[str, Any]]:
    """The routes towards what lies behind a customer port, per VRF (a department's LAN, its cloud tenant
    subnet, the shared services), in port order."""
    out = []
    for att in device.attachments:
        ports = [(att.vrf, att.customer, att.peer_v4, att.routes)]
        ports += [(v.vrf, f"{att.customer}-{v.customer}", v.peer_v4, v.routes) for v in att.vlans]
        for vrf, customer, peer, routes in ports:
            out += [{"vrf": vrf, "customer": customer, "next_hop_v4": str(peer), **_net(p)} for p in routes]
    return out


def _default_route(att: Attachment) -> dict[str, Any]:
    """The Internet exit's default route, towards the carrier's end of the attachment's /31 and /127."""
    return {
        "vrf": att.vrf,
        "customer": att.customer,
        "next_hop_v4": str(att.peer_v4),
        "next_hop_v6": str(att.peer_v6),
    }


def _lans(device: Device, vendor: str) -> list[dict[str, Any]]:
    return [
        {
            "name": lan_name(vendor, i),
            "v4": _v4(lan.gateway_v4),
            "v6": str(lan.gateway_v6),
            "area": lan.ospf_area,
            "area_id": area_id(lan.ospf_area),
            "prefix": _net(lan.prefix_v4),
        }
        for i, lan in enumerate(device.lans)
    ]


def _ospf(device: Device, params: NetworkParams, mgmt: ManagementPlane, auth: bool) -> dict[str, Any]:
    """OSPFv2 areas with their summaries, and OSPFv3 areas each listed once with all their summaries."""
    v6: dict[int, list[dict[str, Any]]] = {}
    for r in device.area_ranges:
        for p in r.prefixes_v6:
            v6.setdefault(r.area, []).append(
                {"cidr": str(p), "net": str(p.network_address), "len": p.prefixlen}
            )
    return {
        "process": 1,
        "reference_mbps": int(mbps(params.ospf.reference_bandwidth)),
        "areas": [{"area": a, "id": area_id(a)} for a in device.ospf_areas],
        "ranges": [
            {"area": r.area, "area_id": area_id(r.area), **_net(r.prefix)} for r in device.area_ranges
        ],
        "ranges_v6": [
            {"area": area, **prefix} for area, prefixes in sorted(v6.items()) for prefix in prefixes
        ],
        "areas_v6": [
            {"area": area, "id": area_id(area), "ranges": prefixes} for area, prefixes in sorted(v6.items())
        ],
        "key": secret_ref(mgmt.secrets["ospf_key"]) if auth else "",
    }


def _bgp(
    backbone: Backbone, device: Device, mgmt: ManagementPlane, auth: bool, bfd: bool
) -> dict[str, Any] | None:
    """iBGP between loopbacks (authenticated; registered with BFD where the device runs BFD)."""
    if device.bgp is None:
        return None
    reflector = device.bgp.role == "route-reflector"
    return {
        "asn": device.bgp.asn,
        "reflector": reflector,
        "cluster_id": str(device.bgp.cluster_id) if device.bgp.cluster_id else "",
        "neighbors": [
            {
                "hostname": peer,
                "address": str(backbone.devices[peer].loopback_v4),
                "client": reflector and backbone.devices[peer].tier != "core",
            }
            for peer in device.bgp.neighbors
        ],
        "aggregates": [_net(p) for p in device.bgp.aggregates],
        "key": secret_ref(mgmt.secrets["bgp_key"]) if auth else "",
        "bfd": bfd,
    }


def _qos_classes(params: NetworkParams) -> list[dict[str, Any]]:
    """The DSCP classes under every shaper, then the default class with what is left."""
    classes = [
        {"name": c.name, "dscp": list(c.dscp), "percent": c.percent, "priority": c.priority}
        for c in params.qos.classes
    ]
    rest = 100 - sum(c.percent for c in params.qos.classes)
    return [*classes, {"name": "DEFAULT", "dscp": [], "percent": rest, "priority": False}]


def _management(mgmt: ManagementPlane) -> dict[str, Any]:
    """The device's own routing domain's management: the isolated domain never sees the backbone's."""
    refs = {purpose: secret_ref(name) for purpose, name in mgmt.secrets.items()}
    return {
        "domain": mgmt.dns_domain,
        "ntp": [str(a) for a in mgmt.ntp],
        "syslog": [str(a) for a in mgmt.syslog],
        "aaa": [str(a) for a in mgmt.aaa],
        "snmp_users": list(mgmt.snmp_users),
        "snmp_auth": refs["snmp_auth"],
        "snmp_priv": refs["snmp_priv"],
        "aaa_key": refs["aaa_key"],
        "ntp_key": refs["ntp_key"],
        "local_user": mgmt.local_user,
        "local_password": refs["local_password"],
        "ssh_allowed": [_net(n) for n in mgmt.acl_v4],
        "ssh_allowed_v6": [
            {"cidr": str(n), "net": str(n.network_address), "len": n.prefixlen} for n in mgmt.acl_v6
        ],
    }


def _management_vrf(
    device: Device, mgmt: ManagementPlane, port_name: str, vrf_name: str
) -> dict[str, Any] | None:
    """The management VRF of the device's domain (named as the vendor record names it: IOS-XE's is fixed):
    its out-of-band port (name, address), and the routes to the management LANs through the out-of-band
    switch (the other end of the port's /31)."""
    port, port_v6 = device.management_port, device.management_port_v6
    if port is None or port_v6 is None:
        return None
    return {
        "name": vrf_name,
        "port": {"name": port_name, **_v4(port), "v6": str(port_v6)},
        # the out-of-band switch: the even end of the /31, the first of the /127
        "gateway": str(port.network.network_address),
        "gateway_v6": str(port_v6.network.network_address),
        "routes": [_net(n) for n in mgmt.acl_v4],
        "routes_v6": [
            {"cidr": str(n), "net": str(n.network_address), "len": n.prefixlen} for n in mgmt.acl_v6
        ],
    }


def _prefix(net: IPv4Network | IPv6Network | None) -> dict[str, Any] | None:
    if net is None:
        return None
    if net.version == 4:
        return {**_net(net), "host": net.prefixlen == 32}  # type: ignore[arg-type]
    return {
        "cidr": str(net),
        "net": str(net.network_address),
        "len": net.prefixlen,
        "host": net.prefixlen == 128,
    }


def _iacl(backbone: Backbone, device: Device, params: NetworkParams) -> dict[str, Any]:
    """The infrastructure ACL (network/protection.py) of the backbone-facing ports, IPv4 and IPv6."""
    from network.protection import iacl

    def spell(version: int) -> list[dict[str, Any]]:
        return [
            {
                "permit": r.permit,
                "protocol": r.protocol,
                "source": _prefix(r.source),
                "destination": _prefix(r.destination),
                "port": r.port,
                "source_port": r.source_port,
            }
            for r in iacl(backbone, device, params, version)
        ]

    return {"name": "GD-IACL", "name_v6": "GD-IACL6", "v4": spell(4), "v6": spell(6)}


def _copp(params: NetworkParams) -> dict[str, Any]:
    """Control-plane policing: one class per protected protocol at its rate, the rest at the default rate."""
    return {
        "name": "GD-COPP",
        "classes": [
            {
                "name": p.name,
                "protocol": p.protocol,
                "port": p.port,
                "bps": rate(p.rate)[0],
                "kbps": rate(p.rate)[0] // 1000,
            }
            for p in params.protection.protocols
        ],
        "default_bps": rate(params.protection.default_rate)[0],
        "default_kbps": rate(params.protection.default_rate)[0] // 1000,
    }


def _vrf(vrf: Vrf, with_static: set[str]) -> dict[str, Any]:
    return {
        "name": vrf.name,
        "static": vrf.name in with_static,  # redistribute its static routes into BGP
        "description": vrf.description,
        "rd": vrf.rd,
        "import_rt": list(vrf.import_rt),
        "export_rt": list(vrf.export_rt),
    }
