"""The security zones of the backbone, read off the model: their prefixes, their endpoints, and the places
where two zones meet (the attach points of the filters).

Zones (GB/T 22239-2019 8.1.2.1 network architecture: 划分不同的网络区域):

* ``public`` 公用网络区 — the site LANs of every city, county and town router; summarised in filters by the
  cities' OSPF area ranges (one /14 per city, the model's ``AreaRange``).
* ``dept-<code>`` 专用网络区, one per department (the department's VRF name) — its sites behind its horizontal
  access at the provincial access routers (the department's /28 of access links) and its systems in the cloud
  (its tenant /24, the subnet stacks/ creates).
* ``cloud-dc`` 云数据中心 — the shared services of the cloud: the cloud-tenant /24 of VPN id 0, which no
  department ever gets (VPN ids start at 1), reached through the DC ports.
* ``internet`` 互联网接入区 — everything outside, through the provincial Internet exit's ports.
* ``management`` 管理区 — the provincial management LAN (AAA, NTP, syslog, NMS).
* ``isolated`` 物理隔离域 — the isolated domain's own address block and LANs.

Every prefix comes from :mod:`network.addressing` or from the model built on it; nothing here keeps a copy.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network

from network.addressing import AddressPlan
from network.model import Backbone
from network.routing import department_vrf

#: Stands for any Internet host in the static check (RFC 5737 TEST-NET-3: never routed, never ours).
INTERNET_SAMPLE_HOST = IPv4Address("203.0.113.10")

#: The tiers whose site LANs form 公用网络区.
PUBLIC_TIERS = ("city", "county", "town")

ZONE_TITLES = {
    "public": ("公用网络区", "public network zone"),
    "internet": ("互联网接入区", "Internet access zone"),
    "cloud-dc": ("云数据中心", "cloud data centre (shared services)"),
    "management": ("管理区", "management zone"),
    "isolated": ("物理隔离域", "physically isolated domain"),
}
DEPARTMENT_TITLE = ("专用网络区", "private network zone")


@dataclass(frozen=True, slots=True)
class Port:
    """Where an endpoint or a filter sits: a device and one of its ports — a LAN (by its index in
    ``Device.lans``) or an attachment (by its neutral port number)."""

    device: str
    kind: str  # "lan" or "attachment"
    index: int  # LAN index, or the attachment's neutral port number


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A host standing for its zone in the static check: its address and the port it is behind."""

    zone: str
    address: IPv4Address
    port: Port


@dataclass(frozen=True, slots=True)
class Zone:
    name: str
    title_zh: str
    title_en: str
    #: The prefixes the filters use for the zone (summaries where the model has them).
    prefixes: tuple[IPv4Network, ...]
    #: Hosts that traffic of this zone starts from, and hosts that its services live on.
    sources: tuple[Endpoint, ...]
    destinations: tuple[Endpoint, ...]


@dataclass(frozen=True, slots=True)
class Attach:
    """A filter applied on a port in one direction ('in': traffic entering the router from the zone;
    'out': traffic leaving the router towards the zone). The lead includes these in device configs."""

    port: Port
    direction: str
    filter: str


def host(prefix: IPv4Network, offset: int = 10) -> IPv4Address:
    """A host address inside ``prefix`` (the 10th, or the last usable one of a small prefix)."""
    return IPv4Address(int(prefix.network_address) + min(offset, max(1, prefix.num_addresses - 2)))


def shared_services_subnet(plan: AddressPlan) -> IPv4Network:
    """The cloud's shared services: the tenant /24 of VPN id 0, which ``resolve_vpn_ids`` never assigns."""
    return plan.department_cloud_subnet(0)


def department_sites(plan: AddressPlan, vpn_id: int) -> IPv4Network:
    """A department's access links at both access routers: its /28 of the department link block."""
    return plan.department_link(vpn_id, 0).supernet(new_prefix=28)


def department_link_block(plan: AddressPlan) -> IPv4Network:
    """Every department's access links (the /16 the /28s are cut from)."""
    return plan.department_link(0, 0).supernet(new_prefix=16)


@dataclass(frozen=True)
class ZoneModel:
    zones: dict[str, Zone]
    attaches: tuple[Attach, ...]
    #: Named prefixes the filters use beyond the zones (the aerleon definitions).
    networks: dict[str, tuple[IPv4Network, ...]]
    #: department code → zone name, in code order
    departments: dict[str, str]

    def attached(self, device: str) -> list[Attach]:
        return [a for a in self.attaches if a.port.device == device]


def department_filter(code: str) -> str:
    return f"GD-DEPT-{code.upper()}-IN"


def build_zones(backbone: Backbone, plan: AddressPlan) -> ZoneModel:
    """Zones, their endpoints and the filters' attach points, from the model and the address plan."""
    devices = backbone.devices
    zones: dict[str, Zone] = {}
    attaches: list[Attach] = []

    def add(name: str, title: tuple[str, str], prefixes: Iterable[IPv4Network], src: list, dst: list) -> None:
        zones[name] = Zone(name, title[0], title[1], tuple(prefixes), tuple(src), tuple(dst))

    # 公用网络区: site LANs, filtered as they enter the backbone
    public_eps = []
    for name, dev in devices.items():
        if dev.tier in PUBLIC_TIERS:
            for i, lan in enumerate(dev.lans):
                port = Port(name, "lan", i)
                public_eps.append(Endpoint("public", host(lan.prefix_v4), port))
                attaches.append(Attach(port, "in", "GD-PUBLIC-IN"))
    # both ABRs of a city with a second router summarise the same /14: each block once
    city_blocks = sorted({r.prefix for d in devices.values() if d.tier == "city" for r in d.area_ranges})
    add("public", ZONE_TITLES["public"], city_blocks, public_eps, public_eps)

    access = [d for d in devices.values() if d.tier == "access"]
    shared = shared_services_subnet(plan)
    dc_eps, internet_eps = [], []
    dept_ports: dict[str, list[Port]] = {}
    for dev in access:
        for att in dev.attachments:
            port = Port(dev.hostname, "attachment", att.port)
            if att.customer == "cloud-dc":
                dc_eps.append(Endpoint("cloud-dc", host(shared), port))
                attaches += [Attach(port, "in", "GD-DC-IN"), Attach(port, "out", "GD-DC-OUT")]
            elif att.default_route:
                internet_eps.append(Endpoint("internet", INTERNET_SAMPLE_HOST, port))
                attaches += [Attach(port, "in", "GD-INTERNET-IN"), Attach(port, "out", "GD-INTERNET-OUT")]
            elif att.vrf.startswith("dept-"):
                dept_ports.setdefault(att.customer, []).append(port)
                attaches.append(Attach(port, "in", department_filter(att.customer)))
    add("cloud-dc", ZONE_TITLES["cloud-dc"], [shared], dc_eps, dc_eps)
    add("internet", ZONE_TITLES["internet"], [IPv4Network("0.0.0.0/0")], internet_eps, internet_eps)

    # 专用网络区: one per department, its sites at the access routers, its systems in the cloud
    departments = {}
    for code in sorted(dept_ports):
        vpn_id = _vpn_id_of(backbone, code)
        zone = department_vrf(code)
        sites, cloud = department_sites(plan, vpn_id), plan.department_cloud_subnet(vpn_id)
        src = [Endpoint(zone, host(sites, 1), p) for p in dept_ports[code]]
        dst = [Endpoint(zone, host(cloud), e.port) for e in dc_eps]
        add(zone, DEPARTMENT_TITLE, [sites, cloud], src, dst)
        departments[code] = zone

    # 管理区: the management LAN of the backbone domain (the LAN its ssh_allowed names)
    mgmt = backbone.management["backbone"]
    mgmt_eps, mgmt_prefixes = [], []
    for name, dev in devices.items():
        if dev.domain != "backbone" or dev.tier in PUBLIC_TIERS:
            continue
        for i, lan in enumerate(dev.lans):
            if lan.prefix_v4 in mgmt.acl_v4:
                port = Port(name, "lan", i)
                mgmt_prefixes.append(lan.prefix_v4)
                for server in (*mgmt.aaa, *mgmt.ntp, *mgmt.syslog):
                    if server in lan.prefix_v4:
                        mgmt_eps.append(Endpoint("management", server, port))
                attaches.append(Attach(port, "out", "GD-MGMT-OUT"))
    add("management", ZONE_TITLES["management"], mgmt_prefixes, mgmt_eps, mgmt_eps)

    # 物理隔离域: its own block; every LAN filtered both ways
    iso_eps = []
    for name, dev in devices.items():
        if dev.domain == "isolated":
            for i, lan in enumerate(dev.lans):
                port = Port(name, "lan", i)
                iso_eps.append(Endpoint("isolated", host(lan.prefix_v4), port))
                attaches += [Attach(port, "in", "GD-ISOLATED-IN"), Attach(port, "out", "GD-ISOLATED-OUT")]
    add("isolated", ZONE_TITLES["isolated"], [plan.params.isolated.ipv4], iso_eps, iso_eps)

    networks: dict[str, tuple[IPv4Network, ...]] = {
        "PUBLIC": zones["public"].prefixes,
        "SHARED_SERVICES": (shared,),
        "MANAGEMENT": zones["management"].prefixes,
        "ISOLATED": zones["isolated"].prefixes,
        "BACKBONE": (plan.params.ipv4.backbone,),
        "CLOUD_TENANTS": (plan.params.ipv4.cloud_tenants,),
        # the departments' access links and, behind them, their own LANs (the static routes of their VRFs)
        "DEPARTMENT_LINKS": (department_link_block(plan), plan.params.ipv4.department_lans),
        # our own space: never a source arriving from the Internet (anti-spoofing)
        "OWN_SPACE": (
            plan.params.ipv4.backbone,
            plan.params.ipv4.cloud_tenants,
            plan.params.ipv4.department_lans,
            plan.params.isolated.ipv4,
        ),
    }
    for code, zone in departments.items():
        sites, cloud = zones[zone].prefixes
        # its sites: its access links and its own LAN behind them
        networks[f"{code.upper()}_SITES"] = (sites, plan.department_lan(_vpn_id_of(backbone, code)))
        networks[f"{code.upper()}_CLOUD"] = (cloud,)
    attaches.sort(key=lambda a: (a.port.device, a.port.kind, a.port.index, a.direction))
    return ZoneModel(zones, tuple(attaches), networks, departments)


def _vpn_id_of(backbone: Backbone, code: str) -> int:
    """A department's VPN id, as the model numbered it (its VRF's vpn_id minus the department base)."""
    from network.routing import DEPARTMENT_VPN_BASE

    vrf = department_vrf(code)
    for dev in backbone.devices.values():
        for v in dev.vrfs:
            if v.name == vrf:
                return v.vpn_id - DEPARTMENT_VPN_BASE
    raise KeyError(f"department {code}: no VRF {vrf} in the model")
