"""Names: device hostnames from division codes, and each vendor's spelling of a platform-neutral port."""

from __future__ import annotations

from functools import lru_cache
from typing import Protocol

import pint

from egov.units import ureg

VENDORS = ("vrp", "iosxe", "frr")


def core_hostname(index: int) -> str:
    return f"GD-CORE-{index:02d}"


def access_hostname(index: int) -> str:
    return f"GD-ACC-{index:02d}"


def site_hostname(tier: str, code: str) -> str:
    """GD-CITY-440100, GD-CNTY-440103, GD-TOWN-440103001."""
    return f"GD-{ {'city': 'CITY', 'county': 'CNTY', 'town': 'TOWN'}[tier] }-{code}"


def isolated_hostname(code: str) -> str:
    """GD-ISO-CORE for the province, GD-ISO-440100 for a city."""
    return "GD-ISO-CORE" if code == "440000" else f"GD-ISO-{code}"


class _Port(Protocol):
    @property
    def port(self) -> int: ...

    @property
    def bandwidth(self) -> pint.Quantity: ...


_VRP = {100_000: "100GE0/0/{}", 10_000: "XGigabitEthernet0/0/{}", 1_000: "GigabitEthernet0/0/{}"}
_IOSXE = {100_000: "HundredGigE1/0/{}", 10_000: "TenGigabitEthernet1/0/{}", 1_000: "GigabitEthernet1/0/{}"}


@lru_cache(maxsize=256)
def _mbps_of(magnitude: float, units: pint.Unit) -> float:
    return float(ureg.Quantity(magnitude, units).to("Mbit/s").magnitude)


def mbps(bandwidth: pint.Quantity) -> float:
    """A bandwidth in Mbit/s (cached: every port of the province has one of a handful of speeds)."""
    return _mbps_of(float(bandwidth.magnitude), bandwidth.units)


def _by_speed(table: dict[int, str], mbps: float, port: int) -> str:
    for speed in sorted(table, reverse=True):
        if mbps >= speed:
            return table[speed].format(port)
    return table[min(table)].format(port)  # 100M circuits ride gigabit ports, shaped to the circuit


def interface_name(vendor: str, interface: _Port) -> str:
    """The vendor's name of an interface (or attachment) port.

    VRP: ``XGigabitEthernet0/0/N`` (10G), ``GigabitEthernet0/0/N`` (1G, 100M), ``100GE0/0/N``; IOS-XE:
    ``TenGigabitEthernet1/0/N``, ``GigabitEthernet1/0/N``, ``HundredGigE1/0/N``; FRR: the Linux name
    ``ethN`` (at most 15 characters, the name the lab gives the veth).
    """
    if vendor == "frr":
        return f"eth{interface.port}"
    speed = mbps(interface.bandwidth)
    if vendor == "vrp":
        return _by_speed(_VRP, speed, interface.port)
    if vendor == "iosxe":
        return _by_speed(_IOSXE, speed, interface.port)
    raise ValueError(f"unknown vendor {vendor!r}; expected one of {', '.join(VENDORS)}")


def loopback_name(vendor: str) -> str:
    return {"vrp": "LoopBack0", "iosxe": "Loopback0", "frr": "lo"}[vendor]


def lan_name(vendor: str) -> str:
    """The LAN-side interface (FRR: a dummy device ``lan0`` the lab may create; VRP/IOS-XE: a VLANIF)."""
    return {"vrp": "Vlanif100", "iosxe": "Vlan100", "frr": "lan0"}[vendor]
