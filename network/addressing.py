"""The address plan: every prefix is a pure function of a division code, so growth never moves anything.

IPv4 layout inside ``ipv4.backbone`` (a /8), 8 + 6 + 6 + 7 + 5 = 32 bits::

    city block  /14  slot = XX of 44XX00            (00 = the province, at most 63)
    county block /20 slot = YY of 44XXYY   (01–47 as is, 81–95 → 48–62; 00 = towns directly under
                                            the city (东莞, 中山); 63 = the city's own block)
    site block  /27  slot = 40·class + serial (town suffix ZZZ = class·100 + serial, class ≤ 2,
                                            serial ≤ 39; slot 0 = the county itself; 120–127 = county LAN)

Inside a site block: the town LAN /28 at +0, the primary uplink /31 at +16 (the upstream end takes the even
address), the backup uplink /31 at +18, the loopback /32 at +20. The city's LAN is the upper /21 of its own
county block; the city's loopback and its two uplinks to the core come from the province block (area 0).

Each city summarises to exactly its /14. The first /27 of every city block (county slot 0, site slot 0) is
never allocated, so no member prefix starts at a range's base address (FRR 8.4 would not announce it).

IPv6 mirrors IPv4: a loopback or link keeps its IPv4 offset inside ``ipv6.infrastructure`` (/128, /127); a LAN
gets the /64 numbered by its IPv4 /28 offset inside ``ipv6.lan``.

Departments: a /28 each in the province block (10.1.0.0/16 by VPN id): its horizontal access /31s at the two
access routers (+0, +2) and its VLAN /31s on the two cloud DC ports (+4, +6). Its own LAN (a /24 of
``ipv4.department_lans``) and its cloud tenant /24 (of ``ipv4.cloud_tenants``) are keyed by the same VPN id;
the cloud's shared services are the tenant /24 of VPN id 0.

Out-of-band management: every router's management port gets a /31 of its domain's ``management.oob`` block
(:meth:`AddressPlan.management_port`), keyed by its site slots; that port is in the management VRF.

Out-of-band management: every router's management port gets a /31 of its domain's ``management.oob`` block
(:meth:`AddressPlan.management_port`), keyed by its site slots; that port is in the management VRF.

Consumers: :func:`department_cloud_subnet` (one tenant /24 per department, outside every backbone pool) and
:func:`backbone_prefixes` (every pool the backbone allocates from).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from ipaddress import IPv4Address, IPv4Interface, IPv4Network, IPv6Interface, IPv6Network

from network.params import NetworkParams, load_params

CITY_BITS, COUNTY_BITS, SITE_BITS, HOST_BITS = 6, 6, 7, 5
CITY_OWN_SLOT = 63
COUNTY_LAN_SLOT = 120
LAN_OFFSET, UPLINK_OFFSET, BACKUP_OFFSET, LOOPBACK_OFFSET = 0, 16, 18, 20

# Province block (city slot 0), offsets from the backbone base.
PROVINCE_LOOPBACKS = 0x0000  # 10.0.0.0/24: cores .1 .2, access .11 .12
PROVINCE_CORE_LINKS = 0x0100  # 10.0.1.0/24: core interconnect and core↔access /31s
PROVINCE_CITY_UPLINKS = 0x0200  # 10.0.2.0/24: city primary at 2·XX, backup at 128 + 2·XX
PROVINCE_CITY_LOOPBACKS = 0x0300  # 10.0.3.0/24: city loopback .XX
PROVINCE_SERVICE_LINKS = 0x0400  # 10.0.4.0/24: DC and internet attachments
PROVINCE_NMS_LAN = 0x0500  # 10.0.5.0/24: management servers (NTP, syslog, AAA, NMS)
PROVINCE_SECOND_CITY_LINKS = 0x0600  # 10.0.6.0/24: second city router's uplink at 2·XX, its link to the first
#                                      city router at 128 + 2·XX (its loopback: 10.0.3.64 + XX)
PROVINCE_DEPARTMENT_LINKS = 0x10000  # 10.1.0.0/16: one /28 per department VPN id


class AddressPlanError(ValueError):
    """A division code that falls outside the plan's slots (the plan must be widened, not bent)."""


def city_slot(code: str) -> int:
    """Block number of a city (44XX00 → XX); the province 440000 is slot 0."""
    slot = int(code[2:4])
    if slot >= 1 << CITY_BITS:
        raise AddressPlanError(f"city {code}: XX={slot} exceeds the plan's {1 << CITY_BITS} city blocks")
    return slot


def county_slot(code: str) -> int:
    """Block number of a county inside its city (YY of 44XXYY; 81–95 fold to 48–62; 00 is the city level)."""
    yy = int(code[4:6])
    if yy <= 47:
        return yy
    if 81 <= yy <= 95:
        return yy - 33
    raise AddressPlanError(f"county {code[:6]}: YY={yy:02d} is outside the plan (01–47, 81–95)")


def town_slot(code: str) -> int:
    """Site number of a town inside its county: 40 × class + serial for suffix class·100 + serial."""
    klass, serial = divmod(int(code[6:9]), 100)
    if klass > 2 or serial > 39 or (klass == 0 and serial == 0):
        raise AddressPlanError(
            f"town {code}: suffix {code[6:]} is outside the plan (001–039, 100–139, 200–239)"
        )
    return 40 * klass + serial


def v6_prefixlen(v4_prefixlen: int) -> int:
    """The mirrored IPv6 prefix length of an infrastructure prefix (/31 → /127, /32 → /128)."""
    return v4_prefixlen + 96


@dataclass(frozen=True)
class AddressPlan:
    """Pure functions from codes to prefixes, over the supernets of data/network.yaml."""

    params: NetworkParams

    # -- raw offsets ------------------------------------------------------------------------------------
    @property
    def _base(self) -> int:
        return int(self.params.ipv4.backbone.network_address)

    def _v4(self, offset: int) -> IPv4Address:
        return IPv4Address(self._base + offset)

    def _iface(self, offset: int, prefixlen: int) -> IPv4Interface:
        return IPv4Interface((self._base + offset, prefixlen))

    def _net(self, offset: int, prefixlen: int) -> IPv4Network:
        return IPv4Network((self._base + offset, prefixlen))

    @staticmethod
    def _city_offset(code: str) -> int:
        return city_slot(code) << (COUNTY_BITS + SITE_BITS + HOST_BITS)

    def _county_offset(self, code6: str) -> int:
        return self._city_offset(code6) + (county_slot(code6) << (SITE_BITS + HOST_BITS))

    def _site_offset(self, code: str) -> int:
        """Offset of the /27 site block of a county (slot 0 of its county block) or a town."""
        if len(code) == 9:
            return self._county_offset(code[:6]) + (town_slot(code) << HOST_BITS)
        if code[4:6] == "00":
            raise AddressPlanError(
                f"{code}: a city has no site block (its addresses are in the province block)"
            )
        return self._county_offset(code)

    # -- blocks -----------------------------------------------------------------------------------------
    def city_block(self, code: str) -> IPv4Network:
        """The /14 a city summarises to (its OSPF area range)."""
        return self._net(self._city_offset(code), 32 - COUNTY_BITS - SITE_BITS - HOST_BITS)

    def city_block_v6(self, code: str) -> tuple[IPv6Network, IPv6Network]:
        """The IPv6 summaries of a city: its /14 mirrored in the infrastructure prefix, and its LAN /64s."""
        infra = self.v6_mirror(IPv4Interface(self.city_block(code))).network
        lan_index = self._city_offset(code) >> 4
        lans = IPv6Network((int(self.params.ipv6.lan.network_address) + (lan_index << 64), 64 - (18 - 4)))
        return infra, lans

    def site_block(self, code: str) -> IPv4Network:
        """The /27 of a county or a town."""
        return self._net(self._site_offset(code), 32 - HOST_BITS)

    # -- loopbacks --------------------------------------------------------------------------------------
    def loopback(self, code: str) -> IPv4Address:
        """Loopback of the router of a city, county or town."""
        if len(code) == 6 and code[4:6] == "00":
            return self._v4(PROVINCE_CITY_LOOPBACKS + city_slot(code))
        return self._v4(self._site_offset(code) + LOOPBACK_OFFSET)

    def second_city_loopback(self, code: str) -> IPv4Address:
        """Loopback of a city's second router (where the backup circuits of its counties end): .64 + XX."""
        return self._v4(PROVINCE_CITY_LOOPBACKS + 64 + city_slot(code))

    def second_city_link(self, code: str, intra: bool = False) -> IPv4Network:
        """The /31 of a city's second router towards core 2 (``intra``: towards the first city router).

        The intra link runs in the city's OSPF area (OSPF prefers intra-area paths whatever their cost, so
        in area 0 the second router would reach its counties over their backup circuits), so its /31 lies
        inside the city's block, summarised with it: the first /31 of the city's own slot, before its LAN."""
        if intra:
            return self._net(self._city_offset(code) + (CITY_OWN_SLOT << (SITE_BITS + HOST_BITS)), 31)
        return self._net(PROVINCE_SECOND_CITY_LINKS + 2 * city_slot(code), 31)

    def province_loopback(self, role: str, index: int) -> IPv4Address:
        """Loopback of a provincial router: role 'core' (.1, .2) or 'access' (.11, .12)."""
        return self._v4(PROVINCE_LOOPBACKS + {"core": 0, "access": 10}[role] + index)

    # -- links (/31: the upstream end gets the even address) --------------------------------------------
    def uplink(self, code: str, backup: bool = False) -> IPv4Network:
        """The /31 of the (primary or backup) uplink of a city, county or town towards its parent."""
        if len(code) == 6 and code[4:6] == "00":
            return self._net(PROVINCE_CITY_UPLINKS + 128 * backup + 2 * city_slot(code), 31)
        return self._net(self._site_offset(code) + (BACKUP_OFFSET if backup else UPLINK_OFFSET), 31)

    def core_link(self, index: int) -> IPv4Network:
        """The /31 of the index-th link between provincial routers (interconnects, core↔access)."""
        return self._net(PROVINCE_CORE_LINKS + 2 * index, 31)

    def service_link(self, index: int) -> IPv4Network:
        """The /31 of a provincial service attachment (0, 1: DC; 2, 3: internet exit)."""
        return self._net(PROVINCE_SERVICE_LINKS + 2 * index, 31)

    def department_link(self, vpn_id: int, index: int) -> IPv4Network:
        """The /31 of a department's horizontal access at access router ``index`` (0, 1)."""
        return self._net(PROVINCE_DEPARTMENT_LINKS + 16 * vpn_id + 2 * index, 31)

    def department_dc_link(self, vpn_id: int, index: int) -> IPv4Network:
        """The /31 of a department's VLAN on the cloud DC port of access router ``index`` (0, 1): the same
        /28 as its horizontal access, after the two access links."""
        return self._net(PROVINCE_DEPARTMENT_LINKS + 16 * vpn_id + 4 + 2 * index, 31)

    # -- LANs sized by tier -----------------------------------------------------------------------------
    def lan(self, code: str) -> IPv4Network:
        """The site LAN: /21 for a city, /24 for a county, /28 for a town."""
        if len(code) == 9:
            return self._net(self._site_offset(code) + LAN_OFFSET, 28)
        if code[4:6] == "00":
            own = self._city_offset(code) + (CITY_OWN_SLOT << (SITE_BITS + HOST_BITS))
            return self._net(own + (1 << 11), 21)
        return self._net(self._county_offset(code) + (COUNTY_LAN_SLOT << HOST_BITS), 24)

    def nms_lan(self) -> IPv4Network:
        """The provincial management LAN (NTP, syslog, AAA, NMS servers)."""
        return self._net(PROVINCE_NMS_LAN, 24)

    # -- out-of-band management ----------------------------------------------------------------------------
    def management_port(self, domain: str, code: str, loopback: IPv4Address) -> IPv4Interface:
        """The /31 of a router's out-of-band management port in its domain's ``oob`` block: the router holds
        the odd address, the out-of-band switch (the gateway of the management VRF) the even one.

        Keyed by site, like every other address, so growth moves nothing. A backbone router: its (city,
        county, site) slots, 19 bits, so the block is a /12 (a city router takes site 0 of its city's own
        county slot, the city's second router site 1; the province's routers sites 1–12 of city slot 0,
        county slot 0: their loopbacks' last octet). An isolated router: its city slot (the core: 0).
        """
        mgmt = self.params.isolated.management if domain == "isolated" else self.params.management
        offset = int(loopback) - self._base
        if domain == "isolated":
            index = 0 if code == "440000" else city_slot(code)
        elif PROVINCE_LOOPBACKS <= offset < PROVINCE_LOOPBACKS + 0x100:
            index = offset - PROVINCE_LOOPBACKS  # cores .1 .2, access .11 .12
        elif PROVINCE_CITY_LOOPBACKS <= offset < PROVINCE_CITY_LOOPBACKS + 0x100:
            second = offset - PROVINCE_CITY_LOOPBACKS >= 64  # a second city router's loopback: .64 + XX
            index = ((self._city_offset(code) >> HOST_BITS) | (CITY_OWN_SLOT << SITE_BITS)) + second
        else:
            index = self._site_offset(code) >> HOST_BITS
        if 2 * index + 1 >= mgmt.oob.num_addresses:
            raise AddressPlanError(
                f"{code}: management slot {index} exceeds the out-of-band block {mgmt.oob}"
            )
        return IPv4Interface((int(mgmt.oob.network_address) + 2 * index + 1, 31))

    def management_port_v6(self, domain: str, port: IPv4Interface) -> IPv6Interface:
        """The IPv6 twin of a management port: its offset in ``oob``, inside ``oob_v6``, as a /127."""
        mgmt = self.params.isolated.management if domain == "isolated" else self.params.management
        offset = int(port.ip) - int(mgmt.oob.network_address)
        length = v6_prefixlen(port.network.prefixlen)
        return IPv6Interface((int(mgmt.oob_v6.network_address) + offset, length))

    # -- IPv6 -------------------------------------------------------------------------------------------
    def v6_mirror(self, address: IPv4Interface) -> IPv6Interface:
        """The IPv6 twin of an infrastructure address: same offset, prefix length + 96."""
        offset = int(address.ip) - self._base
        base = int(self.params.ipv6.infrastructure.network_address)
        return IPv6Interface((base + offset, v6_prefixlen(address.network.prefixlen)))

    def v6_lan(self, lan: IPv4Network) -> IPv6Network:
        """The /64 of a site LAN, numbered by the LAN's /28 offset."""
        index = (int(lan.network_address) - self._base) >> 4
        return IPv6Network((int(self.params.ipv6.lan.network_address) + (index << 64), 64))

    # -- isolated domain --------------------------------------------------------------------------------
    def isolated_loopback(self, code: str) -> IPv4Address:
        """Loopback of the isolated-domain router of a site (the province's is .0.1)."""
        base = int(self.params.isolated.ipv4.network_address)
        return IPv4Address(base + (1 if code == "440000" else 256 + city_slot(code)))

    def isolated_link(self, code: str) -> IPv4Network:
        """The /31 between the isolated-domain core and a city's isolated router."""
        base = int(self.params.isolated.ipv4.network_address)
        return IPv4Network((base + 512 + 2 * city_slot(code), 31))

    def isolated_lan(self, code: str) -> IPv4Network:
        """The /24 LAN of an isolated-domain site."""
        base = int(self.params.isolated.ipv4.network_address)
        return IPv4Network((base + ((128 + city_slot(code)) << 8), 24))

    def isolated_v6_lan(self, lan: IPv4Network) -> IPv6Network:
        """The /64 of an isolated-domain LAN (numbered by its IPv4 /24, after the infrastructure /64)."""
        index = 1 + ((int(lan.network_address) - int(self.params.isolated.ipv4.network_address)) >> 8)
        return IPv6Network((int(self.params.isolated.ipv6.network_address) + (index << 64), 64))

    def isolated_v6(self, address: IPv4Interface) -> IPv6Interface:
        """The IPv6 twin of an isolated-domain address inside ``isolated.ipv6``."""
        offset = int(address.ip) - int(self.params.isolated.ipv4.network_address)
        base = int(self.params.isolated.ipv6.network_address)
        return IPv6Interface((base + offset, v6_prefixlen(address.network.prefixlen)))

    # -- departments ------------------------------------------------------------------------------------
    def department_cloud_subnet(self, vpn_id: int) -> IPv4Network:
        """The cloud tenant /24 of the department with this VPN id."""
        return IPv4Network((int(self.params.ipv4.cloud_tenants.network_address) + (vpn_id << 8), 24))

    def department_lan(self, vpn_id: int) -> IPv4Network:
        """The department's own LAN (/24) behind its router at the horizontal access, keyed by its VPN id."""
        return IPv4Network((int(self.params.ipv4.department_lans.network_address) + (vpn_id << 8), 24))

    def shared_services_subnet(self) -> IPv4Network:
        """The cloud's shared services (公用网络区 in the cloud): the tenant /24 of VPN id 0, which
        :func:`resolve_vpn_ids` never assigns to a department."""
        return self.department_cloud_subnet(0)

    def backbone_prefixes(self) -> list[IPv4Network | IPv6Network]:
        """Every pool the backbone allocates from (primary, backup and isolated planes, IPv4 and IPv6)."""
        p = self.params
        return [p.ipv4.backbone, p.isolated.ipv4, p.ipv6.infrastructure, p.ipv6.lan, p.isolated.ipv6]


def resolve_vpn_ids(params: NetworkParams, codes: list[str]) -> dict[str, int]:
    """VPN id of every department: pinned in data/network.yaml, else the next free id after all pinned."""
    ids = {code: params.departments[code].vpn_id for code in codes if code in params.departments}
    next_id = max([0, *(d.vpn_id for d in params.departments.values())]) + 1
    for code in sorted(set(codes) - set(ids)):
        if next_id > 4095:
            raise AddressPlanError(
                f"department {code}: no VPN id left (4,095 at most); pin ids in network.yaml"
            )
        ids[code] = next_id
        next_id += 1
    return dict(sorted(ids.items()))


# -- the public API for the cloud (Pulumi) and migration-slot engineers ------------------------------------
@cache
def default_plan() -> AddressPlan:
    """The plan over data/network.yaml."""
    return AddressPlan(load_params())


@cache
def _default_vpn_ids() -> dict[str, int]:
    from network.departments import department_codes

    plan = default_plan()
    return resolve_vpn_ids(plan.params, department_codes())


def department_cloud_subnet(code: str) -> IPv4Network:
    """The cloud tenant subnet (/24) of a department, e.g. ``department_cloud_subnet("GDDRC")``.

    Keyed by the department's VPN id; never overlaps any prefix of :func:`backbone_prefixes`.
    """
    ids = _default_vpn_ids()
    if code not in ids:
        raise KeyError(f"unknown department {code!r}")
    return default_plan().department_cloud_subnet(ids[code])


def backbone_prefixes() -> list[IPv4Network | IPv6Network]:
    """Every pool the backbone allocates from; cloud subnets must stay outside all of them."""
    return default_plan().backbone_prefixes()


def is_inside(prefix: IPv4Network | IPv6Network, pools: list[IPv4Network | IPv6Network]) -> bool:
    """True when ``prefix`` lies inside one of ``pools`` of its IP version."""
    return any(
        prefix.version == pool.version and prefix.subnet_of(pool)  # type: ignore[arg-type]
        for pool in pools
    )


__all__ = [
    "AddressPlan",
    "AddressPlanError",
    "backbone_prefixes",
    "city_slot",
    "county_slot",
    "department_cloud_subnet",
    "resolve_vpn_ids",
    "town_slot",
]
