"""Parse rendered configs back (ttp) and compare each device's interfaces and addresses with the model.

This does not trust the templates: it reads the text a router would read and checks that every interface the
model has is there with exactly the model's IPv4 and IPv6 addresses, and that nothing else carries an address.
"""

from __future__ import annotations

import re
from ipaddress import IPv4Address, IPv4Interface, IPv4Network, IPv6Interface
from typing import Any

from ttp import ttp

from network.model import Attachment, Backbone, Device, Interface
from network.naming import interface_name, lan_name, loopback_name, mbps
from network.vendors import Vendor, get_vendor
from network.views import rate

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
            name = interface_name(vendor, att)
            out[name] = (str(att.address_v4), str(att.address_v6))
            for v in att.vlans:
                out[f"{name}.{v.vlan}"] = (str(v.address_v4), str(v.address_v6))
    for i, lan in enumerate(device.lans):
        out[lan_name(vendor, i)] = (str(lan.gateway_v4), str(lan.gateway_v6))
    record = get_vendor(vendor)
    if record.supports("mgmt-vrf") and device.management_port is not None:
        v6 = device.management_port_v6
        out[record.management_port] = (str(device.management_port), str(v6) if v6 is not None else None)
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


# -- what the rendered text says about each port, against the model (issue 13) ------------------------------
DEFAULT_ROUTE = re.compile(
    r"^\s*(ip(v6)? route(-static)?( vpn-instance| vrf)? .*?(0\.0\.0\.0 0\.0\.0\.0|::/0|:: 0) "
    r"|network (0\.0\.0\.0( 0)?|::/0|:: 0)$|ip route 0\.0\.0\.0/0)",
    re.M,
)
_SECRET = re.compile(r"%SECRET:([a-z0-9_]+)%")
_IPV4 = re.compile(r"(?<![\d.])(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})(?![\d.])")


def compare_ports(backbone: Backbone, device: Device, vendor: str, text: str) -> list[tuple[str, str, str]]:
    """(check, interface, problem) for each rendered port whose name, shaper, MTU, BFD or OSPF key disagrees
    with the model's port of the same address: the name must spell the line card of the circuit's speed, the
    shaper the circuit's rate, and every backbone link must carry the model's MTU, BFD and an OSPF key where
    the platform has them."""
    record = get_vendor(vendor)
    ports: dict[str, tuple[Interface | Attachment, bool]] = {
        str(i.address_v4): (i, True) for i in device.interfaces
    }
    if record.supports("vrf"):
        ports.update({str(a.address_v4): (a, False) for a in device.attachments})
    out = []
    for got in parse_interfaces(text, vendor):
        address = _v4_of(got)
        if address not in ports:
            continue  # loopback and LANs; a stray address is the address comparison's finding
        port, is_link = ports[address]
        name = got["name"]
        out += _port_problems(record, port, name, got)
        if is_link:
            assert isinstance(port, Interface)
            if record.supports("bfd") and bool(got.get("bfd")) != bool(port.bfd_ms):
                state = "on" if got.get("bfd") else "off"
                out.append(("bfd", name, f"BFD {state} but the model says {'on' if port.bfd_ms else 'off'}"))
            if record.supports("ospf-auth") and not got.get("ospf_key"):
                out.append(("auth", name, "OSPF without authentication"))
    return out


def _v4_of(group: dict[str, Any]) -> str | None:
    if "cidr" in group:
        return str(IPv4Interface(group["cidr"]))
    if "ip" in group:
        return str(IPv4Interface(f"{group['ip']}/{group['mask']}"))
    return None


def _port_problems(record: Vendor, port: Interface | Attachment, name: str, got: dict[str, Any]) -> list:
    """Name ↔ speed ↔ shaper ↔ MTU of one rendered port."""
    out = []
    want_mbps = mbps(port.bandwidth)
    bps, label = rate(port.bandwidth)
    if not record.linux_port:
        spelled = record.speed_of_name(name)
        if spelled != record.family(want_mbps).speed_mbps:
            out.append(
                ("speed", name, f"named as a {spelled} Mbit/s port for a {want_mbps:g} Mbit/s circuit")
            )
        if got.get("mtu") != port.mtu:
            out.append(("mtu", name, f"MTU {got.get('mtu')} but the model says {port.mtu}"))
    if record.supports("qos"):
        shaped = got.get("shape_kbps")
        if ("shape" in got and got["shape"] != label) or (shaped is not None and int(shaped) * 1000 != bps):
            out.append(("speed", name, f"shaped to {got.get('shape', shaped)} but the circuit is {label}"))
        if "shape" not in got and shaped is None:
            out.append(("speed", name, f"no shaper (the circuit is {label})"))
    return out


def compare_references(backbone: Backbone, device: Device, text: str) -> list[tuple[str, str, str]]:
    """(check, where, problem): a default route anywhere but at the Internet exit, a secret of another domain,
    or an address of another domain's pools in the config of an isolated-domain router."""
    out = []
    routes = [m.group(0).strip() for m in DEFAULT_ROUTE.finditer(text)]
    exit_here = any(a.default_route for a in device.attachments)
    if routes and not exit_here:
        out.append(("default-route", "", f"{routes[0]!r}: only the provincial Internet exit originates 0/0"))
    own = set(backbone.management[device.domain].secrets.values())
    for name in sorted(set(_SECRET.findall(text)) - own):
        out.append(("isolated", "", f"secret {name} belongs to another routing domain"))
    if device.domain == "isolated":
        foreign = [p for d, m in backbone.management.items() if d != "isolated" for p in (*m.acl_v4, m.oob)]
        foreign += [
            IPv4Network(f"{a}/32")
            for d, m in backbone.management.items()
            if d != "isolated"
            for a in (*m.ntp, *m.syslog, *m.aaa)
        ]
        foreign += [
            IPv4Network(f"{d.loopback_v4}/32") for d in backbone.devices.values() if d.domain != "isolated"
        ]
        for literal in sorted(set(_IPV4.findall(text))):
            address = IPv4Address(literal)
            if any(address in net for net in foreign):
                out.append(("isolated", "", f"{literal} is an address of the backbone"))
    return out
