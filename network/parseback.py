"""Parse rendered configs back (ttp) and compare each device's interfaces and addresses with the model.

This does not trust the templates: it reads the text a router would read and checks that every interface the
model has is there with exactly the model's IPv4 and IPv6 addresses, and that nothing else carries an address.
"""

from __future__ import annotations

from ipaddress import IPv4Interface, IPv6Interface
from typing import Any

from ttp import ttp

from network.model import Device
from network.naming import interface_name, lan_name, loopback_name
from network.vendors import get_vendor

Addresses = dict[str, tuple[str | None, str | None]]


def parse_interfaces(text: str, vendor: str) -> list[dict[str, str]]:
    """Every ``interface`` block of a rendered config, read by the vendor's parse-back template (ttp)."""
    parser = ttp(data=text, template=get_vendor(vendor).parseback)
    parser.parse()
    result: Any = parser.result()[0][0]
    groups = result.get("interfaces", []) if isinstance(result, dict) else []
    return [groups] if isinstance(groups, dict) else list(groups)


def parse_addresses(text: str, vendor: str) -> Addresses:
    """{interface name: (IPv4 interface, IPv6 interface)} as written in a rendered config (ttp)."""
    out: Addresses = {}
    for group in parse_interfaces(text, vendor):
        v4 = None
        if "cidr" in group:
            v4 = str(IPv4Interface(group["cidr"]))
        elif "ip" in group:
            v4 = str(IPv4Interface(f"{group['ip']}/{group['mask']}"))
        v6 = str(IPv6Interface(group["ipv6"])) if "ipv6" in group else None
        out[group["name"]] = (v4, v6)
    return out


def expected_addresses(device: Device, vendor: str) -> Addresses:
    """What the model says each interface of ``device`` carries, spelled with ``vendor``'s names."""
    out: Addresses = {
        loopback_name(vendor): (str(IPv4Interface((device.loopback_v4, 32))), str(device.loopback_v6))
    }
    for iface in device.interfaces:
        out[interface_name(vendor, iface)] = (str(iface.address_v4), str(iface.address_v6))
    if get_vendor(vendor).supports("vrf"):
        for att in device.attachments:
            out[interface_name(vendor, att)] = (str(att.address_v4), str(att.address_v6))
    for i, lan in enumerate(device.lans):
        out[lan_name(vendor, i)] = (str(lan.gateway_v4), str(lan.gateway_v6))
    return out


def compare(device: Device, vendor: str, text: str) -> list[tuple[str, str]]:
    """(interface, problem) for every difference between the rendered text and the model."""
    found = parse_addresses(text, vendor)
    want = expected_addresses(device, vendor)
    problems = []
    for name in sorted(set(want) | set(found)):
        if name not in found:
            problems.append((name, f"missing from the rendered config (model: {want[name][0]})"))
        elif name not in want:
            problems.append((name, f"rendered with {found[name][0]} but not in the model"))
        elif found[name] != want[name]:
            problems.append((name, f"rendered {found[name]} but the model says {want[name]}"))
    return problems
