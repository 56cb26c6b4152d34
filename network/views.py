"""What a template sees: one device of the model, spelled for one vendor as plain strings and numbers.

Every decision is already in the model; this module only spells it (interface names, masks, rates), so the
same context renders through our jinja2 environment and through Ansible's ``template`` module alike.
"""

from __future__ import annotations

from functools import lru_cache
from ipaddress import IPv4Interface, IPv4Network
from typing import Any, NamedTuple

import pint

from egov.units import ureg
from network.model import Backbone, Device, Vrf
from network.naming import interface_name, lan_name, mbps
from network.params import NetworkParams
from network.vendors import get_vendor


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


def device_view(backbone: Backbone, device: Device, vendor: str, params: NetworkParams) -> dict[str, Any]:
    """The template context of ``device`` for ``vendor`` (a name of the vendor registry)."""
    record = get_vendor(vendor)
    shapes: dict[str, int] = {}
    interfaces = _interfaces(device, vendor, shapes)
    attachments = _attachments(device, vendor, shapes) if record.supports("vrf") else []
    loop = IPv4Interface((device.loopback_v4, 32))
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
        },
        "interfaces": interfaces,
        "attachments": attachments,
        "lans": _lans(device, vendor),
        "ospf": _ospf(device, params),
        "bgp": _bgp(backbone, device),
        "vrfs": [_vrf(v) for v in device.vrfs] if record.supports("vrf") else [],
        "mpls": any(i.mpls for i in device.interfaces),
        "shapes": [
            {"label": k, "bps": v, "kbps": v // 1000} for k, v in sorted(shapes.items(), key=lambda kv: kv[1])
        ],
        "mgmt": _management(params),
    }


def _shaped(bandwidth: pint.Quantity, shapes: dict[str, int]) -> dict[str, Any]:
    """The shaper of a port (recorded in ``shapes``: one policy per rate on IOS-XE)."""
    bps, label = rate(bandwidth)
    shapes[label] = bps
    return {"shape": label, "shape_bps": bps, "shape_kbps": bps // 1000}


def _interfaces(device: Device, vendor: str, shapes: dict[str, int]) -> list[dict[str, Any]]:
    """Backbone links: names, addresses, OSPF per port, the circuit's shaper."""
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
                "cost": iface.ospf_cost,
                "hello": iface.hello,
                "dead": iface.dead,
                "mpls": iface.mpls,
                "plane": iface.plane,
                **shaped,
            }
        )
    return out


def _attachments(device: Device, vendor: str, shapes: dict[str, int]) -> list[dict[str, Any]]:
    """Customer ports in VRFs (departments, the cloud DC, the internet exit)."""
    out = []
    for att in device.attachments:
        shaped = _shaped(att.bandwidth, shapes)
        out.append(
            {
                "name": interface_name(vendor, att),
                "description": f"{att.vrf} {att.customer} {shaped['shape']}",
                "vrf": att.vrf,
                "v4": _v4(att.address_v4),
                "v6": str(att.address_v6),
                "mtu": att.mtu,
                **shaped,
            }
        )
    return out


def _lans(device: Device, vendor: str) -> list[dict[str, Any]]:
    return [
        {
            "name": lan_name(vendor, i),
            "v4": _v4(lan.gateway_v4),
            "v6": str(lan.gateway_v6),
            "area": lan.ospf_area,
            "prefix": _net(lan.prefix_v4),
        }
        for i, lan in enumerate(device.lans)
    ]


def _ospf(device: Device, params: NetworkParams) -> dict[str, Any]:
    return {
        "process": 1,
        "reference_mbps": int(mbps(params.ospf.reference_bandwidth)),
        "areas": device.ospf_areas,
        "ranges": [{"area": r.area, **_net(r.prefix)} for r in device.area_ranges],
        "ranges_v6": [
            {"area": r.area, "cidr": str(p), "net": str(p.network_address), "len": p.prefixlen}
            for r in device.area_ranges
            for p in r.prefixes_v6
        ],
    }


def _bgp(backbone: Backbone, device: Device) -> dict[str, Any] | None:
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
    }


def _management(params: NetworkParams) -> dict[str, Any]:
    mgmt = params.management
    return {
        "domain": mgmt.domain,
        "ntp": [str(a) for a in mgmt.ntp_servers],
        "syslog": [str(a) for a in mgmt.syslog_servers],
        "aaa": [str(a) for a in mgmt.aaa_servers],
        "snmp_users": list(mgmt.snmp_users),
        "snmp_auth": secret_ref(mgmt.snmp_auth_secret),
        "snmp_priv": secret_ref(mgmt.snmp_priv_secret),
        "aaa_key": secret_ref(mgmt.aaa_key_secret),
        "ssh_allowed": [_net(n) for n in mgmt.ssh_allowed],
    }


def _vrf(vrf: Vrf) -> dict[str, Any]:
    return {
        "name": vrf.name,
        "description": vrf.description,
        "rd": vrf.rd,
        "import_rt": list(vrf.import_rt),
        "export_rt": list(vrf.export_rt),
    }
