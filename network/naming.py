"""Names: device hostnames from division codes, and each vendor's spelling of a platform-neutral port.

How a vendor spells a port is its record's business (network/vendors.py); this module only asks it.
"""

from __future__ import annotations

from typing import Protocol

import pint

from network.vendors import get_vendor, mbps

__all__ = [
    "access_hostname",
    "core_hostname",
    "interface_name",
    "isolated_hostname",
    "lan_name",
    "loopback_name",
    "mbps",
    "second_city_hostname",
    "site_hostname",
]


def core_hostname(index: int) -> str:
    return f"GD-CORE-{index:02d}"


def access_hostname(index: int) -> str:
    return f"GD-ACC-{index:02d}"


def site_hostname(tier: str, code: str) -> str:
    """GD-CITY-440100, GD-CNTY-440103, GD-TOWN-440103001."""
    return f"GD-{ {'city': 'CITY', 'county': 'CNTY', 'town': 'TOWN'}[tier] }-{code}"


def second_city_hostname(code: str) -> str:
    """The city's second router, where the backup circuits of its counties end: GD-CITY-440200-B."""
    return f"{site_hostname('city', code)}-B"


def isolated_hostname(code: str) -> str:
    """GD-ISO-CORE for the province, GD-ISO-440100 for a city."""
    return "GD-ISO-CORE" if code == "440000" else f"GD-ISO-{code}"


class _Port(Protocol):
    @property
    def port(self) -> int: ...

    @property
    def bandwidth(self) -> pint.Quantity: ...


def interface_name(vendor: str, interface: _Port) -> str:
    """The vendor's name of an interface (or attachment) port, e.g. VRP ``XGigabitEthernet1/3/1`` for a 10G
    port 1, IOS-XE ``TenGigabitEthernet0/3/1``, FRR ``eth1`` (the name the lab gives the veth)."""
    return get_vendor(vendor).port_name(interface.port, mbps(interface.bandwidth))


def loopback_name(vendor: str) -> str:
    return get_vendor(vendor).loopback


def lan_name(vendor: str, index: int = 0) -> str:
    """The LAN-side interface (FRR: a dummy device ``lan0`` the lab may create; VRP/IOS-XE: a VLANIF)."""
    return get_vendor(vendor).lan_name(index)
