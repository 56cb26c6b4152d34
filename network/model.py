"""The platform-neutral backbone model: devices, interfaces, links, routing intent. Vendors only spell it.

For the router lab (issue 6): ``Backbone.devices`` keyed by hostname; each :class:`Interface` is one end of a
:class:`Link` between two devices of the model (``peer`` is always a hostname of ``devices``); customer-facing
ports (departments, the DC, the internet exit) are :class:`Attachment` s, and site LANs are :class:`Lan` s,
neither of which has a peer device.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from ipaddress import (
    IPv4Address,
    IPv4Interface,
    IPv4Network,
    IPv6Address,
    IPv6Interface,
    IPv6Network,
)

import networkx as nx
import pint

TIERS = ("core", "access", "city", "county", "town", "isolated-core", "isolated")


@dataclass(frozen=True, slots=True)
class Interface:
    """One end of a backbone link, on a platform-neutral port index (vendors spell the name)."""

    port: int
    peer: str
    peer_port: int
    address_v4: IPv4Interface
    address_v6: IPv6Interface
    bandwidth: pint.Quantity
    mtu: int
    plane: str
    ospf_area: int
    ospf_cost: int
    hello: int
    dead: int
    mpls: bool = False  # LDP on the links between PEs, reflectors and cores (L3VPN transport)
    bfd_ms: int = 0  # BFD transmit/receive interval (0: no BFD); OSPF registers with it
    bfd_multiplier: int = 3

    @property
    def subnet_v4(self) -> IPv4Network:
        return self.address_v4.network


@dataclass(frozen=True, slots=True)
class Vlan:
    """A dot1q sub-interface of an attachment in a VRF of its own: the cloud DC port carries one per
    department, so each department's tenant subnet arrives in that department's VRF and nowhere else."""

    vlan: int
    vrf: str
    customer: str
    address_v4: IPv4Interface
    address_v6: IPv6Interface
    #: prefixes behind the far end (static routes towards ``peer_v4``, redistributed into the VRF's BGP)
    routes: tuple[IPv4Network, ...] = ()

    @property
    def peer_v4(self) -> IPv4Address:
        return self.address_v4.network.broadcast_address


@dataclass(frozen=True, slots=True)
class Nat:
    """Source NAT at the Internet exit: packets from ``inside`` (arriving in VRF ``inside_vrf``) leave with an
    address of ``pool``, the carrier's public addresses of this exit."""

    pool: IPv4Network
    inside: tuple[IPv4Network, ...]
    inside_vrf: str


@dataclass(frozen=True, slots=True)
class Attachment:
    """A customer-facing port in a VRF: a department, the cloud DC or the internet exit (no peer device)."""

    port: int
    vrf: str
    customer: str
    address_v4: IPv4Interface
    address_v6: IPv6Interface
    bandwidth: pint.Quantity
    mtu: int
    #: The provincial Internet exit: a default route towards the carrier (the other end of the /31), in the
    #: attachment's VRF, originated into BGP there and nowhere else.
    default_route: bool = False
    #: prefixes behind the customer's router (static routes towards ``peer_v4``, redistributed into BGP):
    #: a department's own LAN, the cloud's shared services
    routes: tuple[IPv4Network, ...] = ()
    #: dot1q sub-interfaces, each in its own VRF (the DC port: one per department)
    vlans: tuple[Vlan, ...] = ()
    #: the Internet exit's source NAT (the exit router's own NAT; its filter is the zone policy's
    #: GD-INTERNET-IN/OUT on this port)
    nat: Nat | None = None

    @property
    def peer_v4(self) -> IPv4Address:
        return self.address_v4.network.broadcast_address

    @property
    def peer_v6(self) -> IPv6Address:
        return self.address_v6.network.broadcast_address


@dataclass(frozen=True, slots=True)
class ManagementPlane:
    """The management of one routing domain ('backbone' or 'isolated'): servers, who may log in (IPv4 and
    IPv6), SNMP users, the local fallback user and the NAMES of its secrets (never values)."""

    dns_domain: str
    ntp: tuple[IPv4Address, ...]
    syslog: tuple[IPv4Address, ...]
    aaa: tuple[IPv4Address, ...]
    snmp_users: tuple[str, ...]
    local_user: str
    acl_v4: tuple[IPv4Network, ...]
    acl_v6: tuple[IPv6Network, ...]
    secrets: Mapping[str, str]  # purpose (aaa_key, ospf_key, …) → secret name
    #: the management VRF (every router's out-of-band port, AAA, NTP, syslog and SNMP) and its /31s' block
    vrf: str
    oob: IPv4Network
    oob_v6: IPv6Network


@dataclass(frozen=True, slots=True)
class Lan:
    """A site LAN: the router holds the first address; announced in OSPF as a passive interface."""

    prefix_v4: IPv4Network
    prefix_v6: IPv6Network
    ospf_area: int

    @property
    def gateway_v4(self) -> IPv4Interface:
        return IPv4Interface((int(self.prefix_v4.network_address) + 1, self.prefix_v4.prefixlen))

    @property
    def gateway_v6(self) -> IPv6Interface:
        return IPv6Interface((int(self.prefix_v6.network_address) + 1, self.prefix_v6.prefixlen))


@dataclass(frozen=True, slots=True)
class Vrf:
    """An L3VPN instance: 公用网络区 (public), 互联网接入区 (internet) or a department's private VPN."""

    name: str
    zone: str
    vpn_id: int
    rd: str
    import_rt: tuple[str, ...]
    export_rt: tuple[str, ...]
    description: str


@dataclass(frozen=True, slots=True)
class AreaRange:
    """An OSPF summary announced by an area border router for one non-backbone area (OSPFv2 ``prefix``,
    OSPFv3 ``prefixes_v6``: the infrastructure mirror and the LAN /64s of the same city)."""

    area: int
    prefix: IPv4Network
    prefixes_v6: tuple[IPv6Network, ...] = ()


@dataclass(frozen=True, slots=True)
class Bgp:
    """A device's iBGP role: 'route-reflector' (the cores) or 'client' (the PEs), and its neighbours."""

    asn: int
    role: str
    neighbors: tuple[str, ...]  # hostnames; sessions run between loopbacks
    cluster_id: IPv4Address | None
    aggregates: tuple[IPv4Network, ...]  # originated (with a discard route) into iBGP


@dataclass(slots=True)
class Device:
    """A router of the backbone or of the isolated domain."""

    hostname: str
    tier: str
    division_code: str
    name: str
    loopback_v4: IPv4Address
    loopback_v6: IPv6Interface
    interfaces: list[Interface] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    lans: list[Lan] = field(default_factory=list)
    area_ranges: list[AreaRange] = field(default_factory=list)
    vrfs: list[Vrf] = field(default_factory=list)
    bgp: Bgp | None = None
    city_code: str = ""
    loopback_area: int = 0
    #: the out-of-band management port (in the domain's management VRF): the router's end of its /31, whose
    #: other end is the out-of-band switch, the VRF's gateway towards the management LANs
    management_port: IPv4Interface | None = None
    management_port_v6: IPv6Interface | None = None  # its /127 twin in the domain's ``oob_v6``

    @property
    def router_id(self) -> IPv4Address:
        return self.loopback_v4

    @property
    def domain(self) -> str:
        """'isolated' for the physically isolated domain, 'backbone' otherwise."""
        return "isolated" if self.tier.startswith("isolated") else "backbone"

    @property
    def ospf_areas(self) -> list[int]:
        return sorted(
            {i.ospf_area for i in self.interfaces}
            | {lan.ospf_area for lan in self.lans}
            | {self.loopback_area}
        )

    def interface(self, port: int) -> Interface:
        for iface in self.interfaces:
            if iface.port == port:
                return iface
        raise KeyError(f"{self.hostname} has no port {port}")


@dataclass(frozen=True, slots=True)
class Link:
    """A circuit between two device ports; ``a`` is the upstream end (nearer the core)."""

    a: str
    a_port: int
    b: str
    b_port: int
    subnet_v4: IPv4Network
    subnet_v6: IPv6Network
    bandwidth: pint.Quantity
    mtu: int
    plane: str
    ospf_area: int

    @property
    def ends(self) -> tuple[tuple[str, int], tuple[str, int]]:
        return (self.a, self.a_port), (self.b, self.b_port)


@dataclass
class Backbone:
    """The whole model: devices by hostname, links, and the graph underneath (one node per device)."""

    devices: dict[str, Device]
    links: list[Link]
    asn: int
    management: dict[str, ManagementPlane] = field(default_factory=dict)  # by Device.domain

    @property
    def graph(self) -> nx.MultiGraph:
        """A networkx MultiGraph: nodes are hostnames (tier, domain), edges are links (plane, bandwidth)."""
        graph = nx.MultiGraph()
        for name, dev in self.devices.items():
            graph.add_node(name, tier=dev.tier, domain=dev.domain, division_code=dev.division_code)
        for link in self.links:
            graph.add_edge(
                link.a,
                link.b,
                key=(link.a_port, link.b_port),
                plane=link.plane,
                bandwidth=link.bandwidth,
                subnet=link.subnet_v4,
            )
        return graph

    def by_tier(self, tier: str) -> list[Device]:
        return [d for d in self.devices.values() if d.tier == tier]

    def counts(self) -> dict[str, int]:
        """Number of devices per tier, in tier order."""
        return {t: n for t in TIERS if (n := sum(1 for d in self.devices.values() if d.tier == t))}

    # -- what the lab compares reality against -------------------------------------------------------------
    def expected_ospf_adjacencies(self) -> set[tuple[str, str]]:
        """(hostname, neighbour hostname) for every OSPF adjacency, both directions (one per device pair).

        OSPFv2 and OSPFv3 run on the same links, so the same pairs hold for both.
        """
        pairs = set()
        for link in self.links:
            pairs.add((link.a, link.b))
            pairs.add((link.b, link.a))
        return pairs

    def bgp_speakers(self) -> list[str]:
        """Hostnames of the devices that run bgpd (route reflectors and PEs), sorted."""
        return sorted(name for name, dev in self.devices.items() if dev.bgp is not None)

    def expected_bgp_sessions(self) -> set[tuple[str, str]]:
        """(hostname, neighbour hostname) for every iBGP session (between loopbacks), both directions."""
        sessions = set()
        for name, dev in self.devices.items():
            if dev.bgp is not None:
                for peer in dev.bgp.neighbors:
                    sessions.add((name, peer))
        return sessions

    # -- sub-models --------------------------------------------------------------------------------------
    def slice(self, cities: list[str] | None = None, towns_per_county: int | None = None) -> Backbone:
        """The sub-network of ``cities`` (all if None): both cores, the access routers, those cities, all
        their counties, at most ``towns_per_county`` towns per county (lowest codes first; 东莞/中山: per
        city), and the isolated-domain routers of those cities. Interfaces and iBGP sessions towards absent
        devices are dropped, so the sub-model renders consistent configs.
        """
        wanted = set(cities) if cities is not None else None
        unknown = (wanted or set()) - {d.division_code for d in self.devices.values() if d.tier == "city"}
        if unknown:
            raise KeyError(f"no city {', '.join(sorted(unknown))} in the backbone")
        keep: set[str] = set()
        towns: dict[str, list[str]] = {}
        for name, dev in sorted(self.devices.items()):
            if dev.tier in ("core", "access", "isolated-core"):
                keep.add(name)
            elif wanted is not None and dev.city_code not in wanted:
                continue
            elif dev.tier == "town":
                towns.setdefault(dev.division_code[:6], []).append(name)
            else:
                keep.add(name)
        for names in towns.values():
            ordered = sorted(names, key=lambda n: self.devices[n].division_code)
            keep.update(ordered if towns_per_county is None else ordered[:towns_per_county])
        return self.subset(keep)

    def subset(self, keep: Iterable[str]) -> Backbone:
        """The model induced by the hostnames ``keep`` (links and interfaces to other devices dropped)."""
        kept = set(keep)
        devices = {}
        for name in sorted(kept):
            dev = self.devices[name]
            copy = replace(dev, interfaces=[i for i in dev.interfaces if i.peer in kept])
            if dev.bgp is not None:
                copy.bgp = replace(dev.bgp, neighbors=tuple(p for p in dev.bgp.neighbors if p in kept))
            devices[name] = copy
        links = [link for link in self.links if link.a in kept and link.b in kept]
        return Backbone(devices=devices, links=links, asn=self.asn, management=self.management)
