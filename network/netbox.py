"""Inventory rows for NetBox's bulk import: the catalogue, sites, devices, interfaces, IP addresses, cables.

Column names are NetBox's CSV import headers (DCIM/IPAM), so each list imports as-is, in this order:
manufacturers, platforms, device-roles, device-types, sites, devices, interfaces, ip-addresses (the loopback
is marked ``is_primary``, which sets the device's primary IPv4/IPv6), cables.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pint

from network.model import Backbone
from network.naming import interface_name, lan_name, loopback_name

ROLES = {
    "core": "core-router",
    "access": "access-router",
    "city": "city-router",
    "county": "county-router",
    "town": "town-router",
    "isolated-core": "isolated-core-router",
    "isolated": "isolated-router",
}
PLATFORMS = {"vrp": "huawei-vrp", "iosxe": "cisco-ios-xe", "frr": "frr"}
MANUFACTURERS = {"vrp": "Huawei", "iosxe": "Cisco", "frr": "FRRouting"}
ROLE_COLOURS = {"core": "f44336", "access": "ff9800", "city": "2196f3", "county": "4caf50", "town": "9e9e9e"}


def _catalogue(vendor: str) -> dict[str, list[dict[str, Any]]]:
    maker = MANUFACTURERS[vendor]
    maker_slug = maker.lower()
    return {
        "manufacturers": [{"name": maker, "slug": maker_slug}],
        "platforms": [{"name": PLATFORMS[vendor], "slug": PLATFORMS[vendor], "manufacturer": maker}],
        "device-roles": [
            {"name": role, "slug": role, "color": ROLE_COLOURS.get(tier.removeprefix("isolated-"), "000000")}
            for tier, role in ROLES.items()
        ],
        "device-types": [
            {
                "manufacturer": maker,
                "model": f"{PLATFORMS[vendor]}-router",
                "slug": f"{PLATFORMS[vendor]}-router",
            }
        ],
    }


def _kbps(bandwidth: pint.Quantity) -> int:
    return int(bandwidth.to("kbit/s").magnitude)


def _site(code: str) -> str:
    return f"gd-{code}"


def inventory_rows(backbone: Backbone, vendor: str = "vrp") -> dict[str, list[dict[str, Any]]]:
    """{object type: rows}, interface names spelled for ``vendor``; rows are sorted and deterministic."""
    sites: dict[str, dict[str, Any]] = {}
    devices, interfaces, addresses, cables = [], [], [], []
    for name, dev in sorted(backbone.devices.items()):
        sites.setdefault(
            dev.division_code,
            {"name": f"{dev.division_code} {dev.name}", "slug": _site(dev.division_code), "status": "active"},
        )
        devices.append(
            {
                "name": name,
                "role": ROLES[dev.tier],
                "device_type": f"{PLATFORMS[vendor]}-router",
                "manufacturer": MANUFACTURERS[vendor],
                "platform": PLATFORMS[vendor],
                "site": sites[dev.division_code]["name"],
                "status": "active",
            }
        )
        ifaces: list[tuple[str, str, str, str, str, int | str]] = [
            (loopback_name(vendor), "virtual", "loopback", f"{dev.loopback_v4}/32", str(dev.loopback_v6), "")
        ]
        for i in dev.interfaces:
            ifaces.append(
                (
                    interface_name(vendor, i),
                    "other",
                    f"{i.plane} to {i.peer}",
                    str(i.address_v4),
                    str(i.address_v6),
                    _kbps(i.bandwidth),
                )
            )
        for a in dev.attachments:
            ifaces.append(
                (
                    interface_name(vendor, a),
                    "other",
                    f"{a.vrf} {a.customer}",
                    str(a.address_v4),
                    str(a.address_v6),
                    _kbps(a.bandwidth),
                )
            )
        for n, lan in enumerate(dev.lans):
            ifaces.append(
                (
                    lan_name(vendor) + (str(n) if n else ""),
                    "virtual",
                    "site LAN",
                    str(lan.gateway_v4),
                    str(lan.gateway_v6),
                    "",
                )
            )
        for ifname, kind, desc, v4, v6, speed in ifaces:
            interfaces.append(
                {"device": name, "name": ifname, "type": kind, "description": desc, "speed": speed}
            )
            primary = "true" if kind == "virtual" and desc == "loopback" else "false"
            for addr in (v4, v6):
                addresses.append(
                    {
                        "address": addr,
                        "status": "active",
                        "device": name,
                        "interface": ifname,
                        "is_primary": primary,
                    }
                )
    for link in backbone.links:
        end_a = backbone.devices[link.a].interface(link.a_port)
        end_b = backbone.devices[link.b].interface(link.b_port)
        cables.append(
            {
                "side_a_device": link.a,
                "side_a_type": "dcim.interface",
                "side_a_name": interface_name(vendor, end_a),
                "side_b_device": link.b,
                "side_b_type": "dcim.interface",
                "side_b_name": interface_name(vendor, end_b),
                "type": "smf",
                "status": "connected",
                "label": f"{link.plane} {link.subnet_v4}",
            }
        )
    return {
        **_catalogue(vendor),
        "sites": sorted(sites.values(), key=lambda s: s["slug"]),
        "devices": devices,
        "interfaces": interfaces,
        "ip-addresses": addresses,
        "cables": cables,
    }


def to_csv(rows: list[dict[str, Any]]) -> str:
    """One NetBox CSV import file (header from the first row)."""
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return buffer.getvalue()


def to_json(tables: dict[str, list[dict[str, Any]]]) -> str:
    """All tables as one JSON document (stable key order, UTF-8 names kept)."""
    return json.dumps(tables, ensure_ascii=False, indent=1, sort_keys=False) + "\n"
