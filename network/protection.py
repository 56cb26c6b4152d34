"""Infrastructure protection decided from the model: the iACL of a router's backbone-facing ports, and the
rates of its control-plane policing (data/network.yaml ``protection``). Templates only spell these rules.

The iACL, in order: each protected protocol from the routing domain's infrastructure prefixes (TCP both ways:
to its port, and the replies from it for the sessions this router opened; OSPFv3 also from link-local
fe80::/10, where its hellos come from); anything from the domain's management LANs (SSH, SNMP, and the
replies of NTP, TACACS+ and syslog servers); nothing else addressed to one of the router's own backbone
addresses (loopback, backbone links); transit passes untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_network

from network.model import Backbone, Device
from network.params import NetworkParams

#: where OSPFv3 hellos come from
LINK_LOCAL = IPv6Network("fe80::/10")


@dataclass(frozen=True, slots=True)
class AclRule:
    """One line of the iACL: ``source``/``destination`` None means any; ``port`` a destination port."""

    permit: bool
    protocol: str  # ospf, tcp, udp or ip (any)
    source: IPv4Network | IPv6Network | None
    destination: IPv4Network | IPv6Network | None
    port: int | None = None
    #: a source port instead (the replies of TCP sessions this router opened: BGP, LDP)
    source_port: int | None = None


def infrastructure_prefixes(params: NetworkParams, domain: str) -> tuple[IPv4Network, IPv6Network]:
    """The pools a routing domain's loopbacks and links come from (IPv4, IPv6)."""
    if domain == "isolated":
        return params.isolated.ipv4, params.isolated.ipv6
    return params.ipv4.backbone, params.ipv6.infrastructure


def own_addresses(device: Device, version: int) -> list[IPv4Network | IPv6Network]:
    """The router's own addresses on the backbone (loopback and backbone links), as host prefixes."""
    if version == 4:
        return [ip_network(h) for h in (device.loopback_v4, *(i.address_v4.ip for i in device.interfaces))]
    return [ip_network(h) for h in (device.loopback_v6.ip, *(i.address_v6.ip for i in device.interfaces))]


def iacl(backbone: Backbone, device: Device, params: NetworkParams, version: int) -> list[AclRule]:
    """The infrastructure ACL of ``device`` for IP ``version`` (4 or 6)."""
    v4, v6 = infrastructure_prefixes(params, device.domain)
    infra = v4 if version == 4 else v6
    mgmt = backbone.management[device.domain]
    rules = []
    for p in params.protection.protocols:
        rules.append(AclRule(True, p.protocol, infra, None, p.port))
        if p.protocol == "tcp":
            rules.append(AclRule(True, p.protocol, infra, None, source_port=p.port))
        if version == 6 and p.protocol == "ospf":
            rules.append(AclRule(True, p.protocol, LINK_LOCAL, None, p.port))
    rules += [AclRule(True, "ip", net, None) for net in (mgmt.acl_v4 if version == 4 else mgmt.acl_v6)]
    rules += [AclRule(False, "ip", None, host) for host in own_addresses(device, version)]
    rules.append(AclRule(True, "ip", None, None))
    return rules
