"""The vendor registry: one frozen record per router platform, read by every module that spells the model.

Modelled on aerleon's ``plugin_supervisor.BUILTIN_GENERATORS``: a table of built-in records, and
:func:`register_vendor` for more (a test registers a fake one). Adding a vendor = one :class:`Vendor` record
plus its template directory under ``templates/<name>/``; nothing else switches on a vendor's name.

Port numbering (issue 13): the model gives every port a platform-neutral index N. A vendor spells it on a
line card of the port's speed: ``slot = first_slot + N // ports_per_card`` and ``port = first_port + N %
ports_per_card`` on the card's sub-card position. Each speed has its own sub-card position, so ports of two
speeds never share a card, and no port number exceeds what a card of that speed has: the next N spills to the
next slot. The index stays the identity (FRR and the lab spell it ``ethN``), so a slice of the model, or a new
county elsewhere, never renames a port.

NetBox: ``manufacturer`` and ``device_types`` are the hardware; ``platform_manufacturer`` is who makes the
software. FRR is software on a generic x86 server, so its hardware manufacturer is "Generic" (NetBox's usual
name for white boxes) and FRRouting appears only as the platform's manufacturer.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

import pint

from egov.units import ureg

TEMPLATE_ROOT = Path(__file__).resolve().parents[1] / "templates"

#: The port speeds a line card offers, in Mbit/s (1G, 10G, 25G, 40G, 100G).
SPEEDS_MBPS = (1_000, 10_000, 25_000, 40_000, 100_000)

#: What a platform can be asked to do; templates and checks test membership, never the vendor's name.
CAPABILITIES = frozenset(
    {
        "vrf",  # L3VPN instances, attachments in VRFs
        "mpls",  # LDP on core links
        "ldp-sync",  # LDP-IGP synchronisation
        "bfd",  # BFD on backbone links, registered by OSPF and BGP
        "ospf-auth",  # OSPF (v2 and v3) authentication by key name
        "bgp-auth",  # BGP TCP-MD5/TCP-AO password by key name
        "ntp-auth",  # authenticated NTP
        "aaa",  # TACACS+/HWTACACS with a local fallback user
        "snmp",  # SNMPv3
        "qos",  # shapers and DSCP classes
        "mgmt-acl",  # vty and SNMP ACLs (IPv4 and IPv6)
        "iacl",  # infrastructure ACL (IPv4 and IPv6) on backbone-facing ports
        "copp",  # control-plane policing
        "mgmt-vrf",  # an out-of-band management port in the management VRF; AAA, NTP, syslog, SNMP in it
    }
)


class VendorError(ValueError):
    """An unknown vendor name, or a registry record that contradicts itself or another."""


@dataclass(frozen=True, slots=True)
class PortFamily:
    """The line card of one speed: the interface name prefix and how the vendor numbers its ports."""

    speed_mbps: int
    prefix: str  # "XGigabitEthernet", "TenGigabitEthernet", …
    subcard: int  # the card position inside a slot that holds ports of this speed
    ports_per_card: int
    first_port: int = 0  # VRP and IOS-XE number ports from 0

    def position(self, index: int, first_slot: int) -> tuple[int, int, int]:
        """(slot, card, port) of the neutral port ``index`` on cards of this family."""
        slot, port = divmod(index, self.ports_per_card)
        return first_slot + slot, self.subcard, self.first_port + port


@dataclass(frozen=True, slots=True)
class DeviceModel:
    """A NetBox device type: the maker's model name, part number and rack height (NetBox's devicetype-library
    where it has the model)."""

    model: str
    slug: str
    part_number: str
    u_height: float
    full_depth: bool


@dataclass(frozen=True, slots=True)
class NetBoxPlatform:
    """What NetBox needs to know about a vendor: who makes the boxes, what they run, which box per class."""

    platform_slug: str
    platform_name: str
    platform_manufacturer: str  # who makes the software; "" when that is no hardware maker (FRRouting)
    manufacturer: str  # who makes the hardware the device types are of
    manufacturer_slug: str
    device_types: Mapping[str, DeviceModel]  # hardware class (core, access, city, county, town) → model


@dataclass(frozen=True, slots=True)
class AnsibleTarget:
    """How Ansible reaches the platform; ``family`` picks the playbooks' task files (tasks/<family>_*.yml)."""

    connection: str
    network_os: str | None
    family: str


@dataclass(frozen=True, slots=True)
class Vendor:
    """One router platform: how it spells the model, what it supports, and how tools reach it."""

    name: str
    title: str
    template: str  # file name inside templates/<name>/
    suffix: str  # rendered file suffix
    ports: tuple[PortFamily, ...]  # one per speed, for chassis platforms; empty for Linux ports
    loopback: str
    lan: str  # the first LAN interface; further LANs append their index
    capabilities: frozenset[str]
    netbox: NetBoxPlatform
    ansible: AnsibleTarget
    parseback: str  # a ttp template reading interfaces, addresses and shapers back
    first_slot: int = 1
    linux_port: str = ""  # "eth{port}": the name is the neutral index (the lab's veths), any speed
    template_dir: Path = field(default=TEMPLATE_ROOT)
    management_port: str = ""  # the out-of-band management port's name (with the "mgmt-vrf" capability)
    #: The VRF the platform hard-wires its management port into, whatever the model calls the management VRF
    #: ("" = the port takes the model's name, ``management.vrf`` of data/network.yaml).
    management_port_vrf: str = ""

    def management_vrf(self, model_vrf: str) -> str:
        """The name this platform's out-of-band port's VRF has, given the model's management VRF name."""
        return self.management_port_vrf or model_vrf

    def __post_init__(self) -> None:
        unknown = self.capabilities - CAPABILITIES
        if unknown:
            raise VendorError(f"vendor {self.name!r}: unknown capabilities {sorted(unknown)}")
        if ("mgmt-vrf" in self.capabilities) != bool(self.management_port):
            raise VendorError(f"vendor {self.name!r}: the mgmt-vrf capability needs a management_port name")
        if self.management_port_vrf and not self.management_port:
            raise VendorError(f"vendor {self.name!r}: management_port_vrf without a management_port")
        if not self.linux_port:
            speeds = [f.speed_mbps for f in self.ports]
            if sorted(speeds) != sorted(SPEEDS_MBPS):
                raise VendorError(f"vendor {self.name!r}: needs one port family per speed {SPEEDS_MBPS}")
            cards = [f.subcard for f in self.ports]
            if len(set(cards)) != len(cards):
                raise VendorError(f"vendor {self.name!r}: two speeds share a card position")

    def supports(self, capability: str) -> bool:
        if capability not in CAPABILITIES:
            raise VendorError(f"unknown capability {capability!r}")
        return capability in self.capabilities

    @property
    def template_path(self) -> Path:
        return self.template_dir / self.name

    def family(self, speed_mbps: float) -> PortFamily:
        """The line card a circuit of ``speed_mbps`` rides: the slowest port at least that fast (a 100M
        circuit takes a gigabit port, shaped to the circuit)."""
        for fam in sorted(self.ports, key=lambda f: f.speed_mbps):
            if fam.speed_mbps >= speed_mbps:
                return fam
        raise VendorError(f"vendor {self.name!r} has no port for {speed_mbps:g} Mbit/s")

    def port_name(self, index: int, speed_mbps: float) -> str:
        """The interface name of neutral port ``index`` carrying a circuit of ``speed_mbps``."""
        if self.linux_port:
            return self.linux_port.format(port=index)
        fam = self.family(speed_mbps)
        slot, card, port = fam.position(index, self.first_slot)
        return f"{fam.prefix}{slot}/{card}/{port}"

    def speed_of_name(self, name: str) -> int | None:
        """The port speed (Mbit/s) an interface name spells, or None (loopback, LAN, Linux ports)."""
        for fam in sorted(self.ports, key=lambda f: -len(f.prefix)):
            if name.startswith(fam.prefix) and name[len(fam.prefix) : len(fam.prefix) + 1].isdigit():
                return fam.speed_mbps
        return None

    def lan_name(self, index: int) -> str:
        return self.lan if index == 0 else f"{self.lan}{index}"

    def ansible_host_vars(self) -> dict[str, str]:
        """The host variables the playbooks read to pick the connection and the task files."""
        out = {
            "egov_family": self.ansible.family,
            "egov_config_suffix": self.suffix,
            "ansible_connection": self.ansible.connection,
        }
        if self.ansible.network_os:
            out["ansible_network_os"] = self.ansible.network_os
        return out


# -- the built-in vendors ------------------------------------------------------------------------------------
#: The hardware class a tier runs on, one device type per class (the isolated domain: city and county boxes).
HARDWARE_CLASS = MappingProxyType(
    {
        "core": "core",
        "access": "access",
        "city": "city",
        "county": "county",
        "town": "town",
        "isolated-core": "city",
        "isolated": "county",
    }
)
HARDWARE_CLASSES = ("core", "access", "city", "county", "town")

# Parse-back templates read what a router would read: addresses, MTU, shaper, OSPF key and BFD per interface.
_VRP_TTP = """
<group name="interfaces">
interface {{ name }}
 ip binding vpn-instance {{ vrf }}
 mtu {{ mtu | to_int }}
 ip address {{ ip }} {{ mask }}
 ipv6 address {{ ipv6 }}
 ospf authentication-mode hmac-sha256 1 cipher {{ ospf_key }}
 ospf bfd enable {{ bfd | set(True) }}
 qos lr cir {{ shape_kbps | to_int }} outbound
</group>
"""

_IOSXE_TTP = """
<group name="interfaces">
interface {{ name }}
 vrf forwarding {{ vrf }}
 mtu {{ mtu | to_int }}
 ip address {{ ip }} {{ mask }}
 ipv6 address {{ ipv6 }}
 ip ospf authentication key-chain {{ ospf_key }}
 ip ospf bfd {{ bfd | set(True) }}
 service-policy output SHAPE-{{ shape }}
</group>
"""

_FRR_TTP = """
<group name="interfaces">
interface {{ name }}
 ip address {{ cidr }}
 ipv6 address {{ ipv6 }}
 ip ospf bfd {{ bfd | set(True) }}
</group>
"""

# fmt: off
#                     speed    prefix                  card ports/card
_VRP_PORTS = (
    PortFamily(10_000,  "XGigabitEthernet",      0,   24),
    PortFamily(1_000,   "GigabitEthernet",       1,   48),
    PortFamily(25_000,  "25GE",                  2,   24),
    PortFamily(40_000,  "40GE",                  3,   8),
    PortFamily(100_000, "100GE",                 4,   4),
)
_IOSXE_PORTS = (
    PortFamily(10_000,  "TenGigabitEthernet",    0,   10),
    PortFamily(1_000,   "GigabitEthernet",       1,   18),
    PortFamily(25_000,  "TwentyFiveGigE",        2,   8),
    PortFamily(40_000,  "FortyGigabitEthernet",  3,   2),
    PortFamily(100_000, "HundredGigE",           4,   2),
)
# fmt: on

_CHASSIS = frozenset(CAPABILITIES)
# The lab's FRR runs the routing and BFD; keys stay out of it (a lab key would be a placeholder, and kernel
# TCP-MD5 for BGP is not a given in the lab's namespaces), so authentication is proven on VRP and IOS-XE.
_FRR = frozenset({"bfd"})

BUILTIN_VENDORS: tuple[Vendor, ...] = (
    Vendor(
        name="vrp",
        title="Huawei VRP (NetEngine 40E/8000)",
        template="device.cfg.j2",
        suffix=".cfg",
        ports=_VRP_PORTS,
        loopback="LoopBack0",
        lan="Vlanif100",
        management_port="GigabitEthernet0/0/0",  # the NE40E/NE8000 management Ethernet port (ETH)
        capabilities=_CHASSIS,
        netbox=NetBoxPlatform(
            platform_slug="huawei-vrp",
            platform_name="Huawei VRP",
            platform_manufacturer="Huawei",
            manufacturer="Huawei",
            manufacturer_slug="huawei",
            device_types=MappingProxyType(
                {
                    "core": DeviceModel("NE8000-X8", "huawei-ne8000-x8", "02351930", 16, True),
                    "access": DeviceModel("NE8000 M14 DC", "huawei-ne8000-m14-dc", "02353ABJ", 5, False),
                    "city": DeviceModel("NE8000 M8 DC", "huawei-ne8000-m8-dc", "02353ANP", 3, False),
                    "county": DeviceModel("NE40E-M2K-B", "huawei-ne40e-m2k-b", "", 2, False),
                    "town": DeviceModel("AR6121E", "huawei-ar6121e", "02353TBH", 1, False),
                }
            ),
        ),
        ansible=AnsibleTarget("ansible.netcommon.network_cli", "community.network.ce", "cli"),
        parseback=_VRP_TTP,
    ),
    Vendor(
        name="iosxe",
        title="Cisco IOS-XE (ASR 1000)",
        template="device.cfg.j2",
        suffix=".cfg",
        ports=_IOSXE_PORTS,
        loopback="Loopback0",
        lan="Vlan100",
        management_port="GigabitEthernet0",  # the ASR 1000/Catalyst 8500 management Ethernet port
        # IOS-XE binds GigabitEthernet0 to the VRF Mgmt-intf, created by the platform; it cannot be moved to
        # another VRF, so the model's management VRF (MGMT, ISO-MGMT) is spelt Mgmt-intf on these boxes. The
        # name is local to the box: the isolated domain's routers share no route, address or server with the
        # backbone's through it.
        management_port_vrf="Mgmt-intf",
        capabilities=_CHASSIS,
        netbox=NetBoxPlatform(
            platform_slug="cisco-ios-xe",
            platform_name="Cisco IOS-XE",
            platform_manufacturer="Cisco",
            manufacturer="Cisco",
            manufacturer_slug="cisco",
            device_types=MappingProxyType(
                {
                    "core": DeviceModel("ASR1006-X", "cisco-asr1006-x", "ASR1006-X", 6, True),
                    "access": DeviceModel("C8500-12X4QC", "cisco-c8500-12x4qc", "C8500-12X4QC", 1, True),
                    "city": DeviceModel("C8500-12X", "cisco-c8500-12x", "C8500-12X", 1, True),
                    "county": DeviceModel(
                        "C8300-2N2S-4T2X", "cisco-c8300-2n2s-4t2x", "C8300-2N2S-4T2X", 2, False
                    ),
                    "town": DeviceModel("C8200-1N-4T", "cisco-c8200-1n-4t", "C8200-1N-4T", 1, False),
                }
            ),
        ),
        ansible=AnsibleTarget("ansible.netcommon.network_cli", "cisco.ios.ios", "cli"),
        parseback=_IOSXE_TTP,
    ),
    Vendor(
        name="frr",
        title="FRRouting 8.4 on Linux",
        template="frr.conf.j2",
        suffix=".conf",
        ports=(),
        loopback="lo",
        lan="lan0",  # a dummy device the lab creates
        capabilities=_FRR,
        netbox=NetBoxPlatform(
            platform_slug="frr",
            platform_name="FRRouting",
            platform_manufacturer="",  # FRRouting makes software, not the boxes: no manufacturer in NetBox
            manufacturer="Generic",
            manufacturer_slug="generic",
            device_types=MappingProxyType(
                {
                    tier: DeviceModel(f"x86 server ({tier})", f"generic-x86-{tier}", "", 1, True)
                    for tier in HARDWARE_CLASSES
                }
            ),
        ),
        ansible=AnsibleTarget("ssh", None, "frr"),
        parseback=_FRR_TTP,
        linux_port="eth{port}",  # at most 15 characters: the lab's veth names
    ),
)


class _Registry(Mapping[str, Vendor]):
    """Vendors by name, in registration order; refuses a second record under a taken name."""

    def __init__(self, vendors: tuple[Vendor, ...]) -> None:
        self._vendors: dict[str, Vendor] = {}
        for vendor in vendors:
            self.add(vendor)

    def add(self, vendor: Vendor) -> None:
        if vendor.name in self._vendors:
            raise VendorError(f"vendor {vendor.name!r} is already registered")
        self._vendors[vendor.name] = vendor

    def remove(self, name: str) -> None:
        del self._vendors[name]

    def __getitem__(self, name: str) -> Vendor:
        try:
            return self._vendors[name]
        except KeyError:
            raise VendorError(f"unknown vendor {name!r}; expected one of {', '.join(self)}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._vendors

    def __iter__(self) -> Iterator[str]:
        return iter(self._vendors)

    def __len__(self) -> int:
        return len(self._vendors)


VENDORS = _Registry(BUILTIN_VENDORS)


def register_vendor(vendor: Vendor) -> Vendor:
    """Add ``vendor`` to :data:`VENDORS` (a name already taken is an error, as in aerleon's supervisor)."""
    VENDORS.add(vendor)
    return vendor


def unregister_vendor(name: str) -> None:
    """Remove a vendor added by :func:`register_vendor` (tests clean up after themselves)."""
    if any(v.name == name for v in BUILTIN_VENDORS):
        raise VendorError(f"vendor {name!r} is built in")
    VENDORS.remove(name)


def get_vendor(name: str) -> Vendor:
    """The record of ``name``; an unknown name is a :class:`VendorError` listing the known ones."""
    return VENDORS[name]


@lru_cache(maxsize=256)
def _mbps_of(magnitude: float, units: pint.Unit) -> float:
    return float(ureg.Quantity(magnitude, units).to("Mbit/s").magnitude)


def mbps(bandwidth: pint.Quantity) -> float:
    """A bandwidth in Mbit/s (cached: every port of the province has one of a handful of speeds)."""
    return _mbps_of(float(bandwidth.magnitude), bandwidth.units)
