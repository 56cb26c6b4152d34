"""Build the backbone from the official divisions and data/network.yaml: devices, links, addresses, routing.

Devices: 2 core routers (also the iBGP route reflectors), 2 provincial access routers (horizontal access of
departments, the cloud DC and the internet exit; PEs), 21 city routers (ABRs and PEs), a second router in the
11 cities whose counties have backup circuits (ABRs; the backups end there), 122 county routers and 1,610 town
routers (东莞/中山 towns hang under their city), plus the isolated domain (one core and one router
per listed site, on its own circuits and addresses).
"""

from __future__ import annotations

from ipaddress import IPv4Interface, IPv4Network
from pathlib import Path
from typing import Any

from egov.errors import SourceError
from network.addressing import AddressPlan, county_slot, resolve_vpn_ids, town_slot
from network.departments import department_access_bandwidth, load_department_names
from network.divisions import Division, load_divisions
from network.model import (
    AreaRange,
    Attachment,
    Backbone,
    Device,
    Interface,
    Lan,
    Link,
    ManagementPlane,
    Nat,
    Vlan,
)
from network.naming import (
    access_hostname,
    core_hostname,
    isolated_hostname,
    second_city_hostname,
    site_hostname,
)
from network.params import DATA_DIR, Circuit, NetworkParams, load_params
from network.routing import (
    BACKBONE_AREA,
    SHARED_VRF,
    bfd_interval_ms,
    city_area,
    department_vrf,
    link_mtu,
    ospf_cost,
    ospf_timers,
    route_reflector,
    rr_client,
    vrfs_for,
)

PROVINCE = "440000"
CORE_PORTS = (1, 2)  # core interconnects
CITY_PORT_BASE = 10  # core port 10 + XX; city port 10 + county slot
CITY_BACKUP_PORT_BASE = 80  # city port 80 + county slot for a county's backup circuit
CITY_TOWN_PORT_BASE = 200  # 东莞/中山: city port 200 + town slot
SECOND_CITY_CORE_PORT_BASE = 80  # core 2 port 80 + XX towards a city's second router
SECOND_CITY_UPLINK, SECOND_CITY_INTRA = 1, 2  # second city router: to core 2, to the first city router
CITY_INTRA_PORT = 3  # first city router: to the second one
COUNTY_TOWN_PORT_BASE = 10  # county port 10 + town slot
DC_PORT, INTERNET_PORT, DEPARTMENT_PORT_BASE = 5, 6, 100


class _Builder:
    def __init__(self, params: NetworkParams, divisions: dict[str, Division], departments: dict[str, str]):
        self.params = params
        self.plan = AddressPlan(params)
        self.divisions = divisions
        self.departments = departments
        self.vpn_ids = resolve_vpn_ids(params, sorted(departments))
        self.devices: dict[str, Device] = {}
        self.links: list[Link] = []

    # -- primitives --------------------------------------------------------------------------------------
    def device(self, hostname: str, tier: str, div: Division, loopback: Any, city_code: str = "") -> Device:
        mirror = self.plan.isolated_v6 if tier.startswith("isolated") else self.plan.v6_mirror
        dev = Device(
            hostname=hostname,
            tier=tier,
            division_code=div.code,
            name=div.name,
            loopback_v4=loopback,
            loopback_v6=mirror(IPv4Interface((loopback, 32))),
            city_code=city_code,
            loopback_area=city_area(city_code) if tier in ("county", "town") else BACKBONE_AREA,
        )
        self.devices[hostname] = dev
        return dev

    def link(
        self,
        a: Device,
        a_port: int,
        b: Device,
        b_port: int,
        subnet: IPv4Network,
        circuit: Circuit,
        plane: str,
        area: int,
        fast: bool,
        mpls: bool = False,
    ) -> None:
        mirror = self.plan.isolated_v6 if plane == "isolated" else self.plan.v6_mirror
        a_addr = IPv4Interface((subnet.network_address, 31))
        b_addr = IPv4Interface((int(subnet.network_address) + 1, 31))
        hello, dead = ospf_timers(self.params, fast)
        cost = ospf_cost(self.params, circuit.bandwidth, plane)
        mtu = link_mtu(self.params, circuit, mpls)
        common = dict(
            bandwidth=circuit.bandwidth,
            mtu=mtu,
            plane=plane,
            ospf_area=area,
            ospf_cost=cost,
            hello=hello,
            dead=dead,
            mpls=mpls,
            # BFD where there is somewhere to fail over to: the same links as the fast hellos
            bfd_ms=bfd_interval_ms(self.params) if fast else 0,
            bfd_multiplier=self.params.bfd.multiplier,
        )
        a.interfaces.append(Interface(a_port, b.hostname, b_port, a_addr, mirror(a_addr), **common))  # type: ignore[arg-type]
        b.interfaces.append(Interface(b_port, a.hostname, a_port, b_addr, mirror(b_addr), **common))  # type: ignore[arg-type]
        self.links.append(
            Link(
                a.hostname,
                a_port,
                b.hostname,
                b_port,
                subnet,
                mirror(a_addr).network,
                circuit.bandwidth,
                mtu,
                plane,
                area,
            )
        )

    def lan(self, dev: Device, prefix: IPv4Network, area: int) -> None:
        dev.lans.append(Lan(prefix, self.plan.v6_lan(prefix), area))

    # -- tiers -------------------------------------------------------------------------------------------
    def province(self) -> tuple[list[Device], list[Device]]:
        prov = self.divisions[PROVINCE]
        c = self.params.circuits
        cores = [
            self.device(core_hostname(i), "core", prov, self.plan.province_loopback("core", i))
            for i in (1, 2)
        ]
        access = [
            self.device(access_hostname(i), "access", prov, self.plan.province_loopback("access", i))
            for i in (1, 2)
        ]
        for n, port in enumerate(CORE_PORTS):
            self.link(
                cores[0],
                port,
                cores[1],
                port,
                self.plan.core_link(n),
                c.core_interconnect,
                "primary",
                BACKBONE_AREA,
                True,
                mpls=True,
            )
        index = len(CORE_PORTS)
        for ci, core in enumerate(cores):
            for ai, acc in enumerate(access):
                self.link(
                    core,
                    3 + ai,
                    acc,
                    1 + ci,
                    self.plan.core_link(index),
                    c.core_access,
                    "primary",
                    BACKBONE_AREA,
                    True,
                    mpls=True,
                )
                index += 1
        self.lan(access[0], self.plan.nms_lan(), BACKBONE_AREA)
        return cores, access

    def attachments(self, access: list[Device]) -> None:
        """The horizontal access of each access router: the cloud DC port (the shared services in VRF public,
        and one VLAN per department in its own VRF towards its tenant subnet), the Internet exit, and each
        department's port towards its own router, with a static route to the department's LAN."""
        c = self.params.circuits
        for i, acc in enumerate(access):
            dc_vlans = tuple(
                Vlan(
                    vpn_id,
                    department_vrf(code),
                    code,
                    (addr := IPv4Interface((self.plan.department_dc_link(vpn_id, i).network_address, 31))),
                    self.plan.v6_mirror(addr),
                    (self.plan.department_cloud_subnet(vpn_id),),
                )
                for code, vpn_id in self.vpn_ids.items()
            )
            for port, vrf, customer, subnet, circuit, routes, vlans in (
                (
                    DC_PORT,
                    SHARED_VRF,
                    "cloud-dc",
                    self.plan.service_link(i),
                    c.dc_access,
                    (self.plan.shared_services_subnet(),),
                    dc_vlans,
                ),
                (
                    INTERNET_PORT,
                    "internet",
                    "internet-exit",
                    self.plan.service_link(2 + i),
                    c.internet_access,
                    (),
                    (),
                ),
            ):
                # the exit's own source NAT: the shared services, to this exit's half of the carrier's pool
                nat = Nat(
                    list(self.params.internet_exit.nat_pool.subnets(prefixlen_diff=1))[i],
                    (self.plan.shared_services_subnet(),),
                    SHARED_VRF,
                )
                addr = IPv4Interface((subnet.network_address, 31))
                acc.attachments.append(
                    Attachment(
                        port,
                        vrf,
                        customer,
                        addr,
                        self.plan.v6_mirror(addr),
                        circuit.bandwidth,
                        link_mtu(self.params, circuit, False),
                        default_route=port == INTERNET_PORT,  # the provincial Internet exit, alone
                        routes=routes,
                        vlans=vlans,
                        nat=nat if port == INTERNET_PORT else None,
                    )
                )
            for code, vpn_id in self.vpn_ids.items():
                addr = IPv4Interface((self.plan.department_link(vpn_id, i).network_address, 31))
                acc.attachments.append(
                    Attachment(
                        DEPARTMENT_PORT_BASE + vpn_id,
                        department_vrf(code),
                        code,
                        addr,
                        self.plan.v6_mirror(addr),
                        department_access_bandwidth(self.params, code),
                        1500,
                        routes=(self.plan.department_lan(vpn_id),),
                    )
                )
            acc.attachments.sort(key=lambda a: a.port)

    def cities(self, cores: list[Device]) -> dict[str, Device]:
        c, b = self.params.circuits, self.params.backup
        out = {}
        for div in sorted((d for d in self.divisions.values() if d.tier == "city"), key=lambda d: d.code):
            city = self.device(
                site_hostname("city", div.code), "city", div, self.plan.loopback(div.code), div.code
            )
            port = CITY_PORT_BASE + int(div.code[2:4])
            self.link(
                cores[0],
                port,
                city,
                1,
                self.plan.uplink(div.code),
                c.province_city,
                "primary",
                BACKBONE_AREA,
                True,
                mpls=True,
            )
            self.link(
                cores[1],
                port,
                city,
                2,
                self.plan.uplink(div.code, backup=True),
                b.city_uplink,
                "backup",
                BACKBONE_AREA,
                True,
                mpls=True,
            )
            area = city_area(div.code)
            self.lan(city, self.plan.lan(div.code), area)
            city.area_ranges.append(
                AreaRange(area, self.plan.city_block(div.code), self.plan.city_block_v6(div.code))
            )
            out[div.code] = city
        return out

    def second_cities(self, cores: list[Device], cities: dict[str, Device]) -> dict[str, Device]:
        """A second router in every city with a county on a backup circuit: the backup ends there, not on the
        first city router, so one router failure cuts no county off. It reaches the core on its own uplink
        (core 2, backup carrier) and through the first city router; both are ABRs of the city's area."""
        b = self.params.backup
        codes = sorted({code[:4] + "00" for code in b.counties})
        out = {}
        for code in codes:
            first = cities[code]
            div = self.divisions[code]
            second = self.device(
                second_city_hostname(code), "city", div, self.plan.second_city_loopback(code), code
            )
            self.link(
                cores[1],
                SECOND_CITY_CORE_PORT_BASE + int(code[2:4]),
                second,
                SECOND_CITY_UPLINK,
                self.plan.second_city_link(code),
                b.city_uplink,
                "backup",
                BACKBONE_AREA,
                True,
            )
            self.link(
                first,
                CITY_INTRA_PORT,
                second,
                SECOND_CITY_INTRA,
                self.plan.second_city_link(code, intra=True),
                b.city_uplink,
                "backup",
                # in the city's area, not area 0: OSPF prefers intra-area paths whatever their cost, so in
                # area 0 the second router would reach its counties over their backup circuits instead
                city_area(code),
                True,
            )
            second.area_ranges = list(first.area_ranges)
            out[code] = second
        return out

    def counties(self, cities: dict[str, Device], seconds: dict[str, Device]) -> dict[str, Device]:
        c, b = self.params.circuits, self.params.backup
        backed = set(b.counties)
        out = {}
        for div in sorted((d for d in self.divisions.values() if d.tier == "county"), key=lambda d: d.code):
            city = cities[div.parent or ""]
            county = self.device(
                site_hostname("county", div.code),
                "county",
                div,
                self.plan.loopback(div.code),
                city.division_code,
            )
            area = city_area(city.division_code)
            slot = county_slot(div.code)
            has_backup = div.code in backed
            self.link(
                city,
                CITY_PORT_BASE + slot,
                county,
                1,
                self.plan.uplink(div.code),
                c.city_county,
                "primary",
                area,
                has_backup,
            )
            if has_backup:
                self.link(
                    seconds[city.division_code],
                    CITY_BACKUP_PORT_BASE + slot,
                    county,
                    2,
                    self.plan.uplink(div.code, backup=True),
                    b.county_uplink,
                    "backup",
                    area,
                    True,
                )
            self.lan(county, self.plan.lan(div.code), area)
            out[div.code] = county
        return out

    def towns(self, cities: dict[str, Device], counties: dict[str, Device]) -> None:
        c = self.params.circuits
        for div in sorted((d for d in self.divisions.values() if d.tier == "town"), key=lambda d: d.code):
            parent_code = div.parent or ""
            direct = parent_code in cities
            parent = cities[parent_code] if direct else counties[parent_code]
            city_code = parent_code if direct else parent.city_code
            town = self.device(
                site_hostname("town", div.code), "town", div, self.plan.loopback(div.code), city_code
            )
            area = city_area(city_code)
            port = (CITY_TOWN_PORT_BASE if direct else COUNTY_TOWN_PORT_BASE) + town_slot(div.code)
            self.link(
                parent,
                port,
                town,
                1,
                self.plan.uplink(div.code),
                c.city_town if direct else c.county_town,
                "primary",
                area,
                False,
            )
            self.lan(town, self.plan.lan(div.code), area)

    def isolated(self) -> None:
        iso = self.params.isolated
        sites = [self.divisions[code] for code in iso.sites]
        core_div = self.divisions[PROVINCE]
        core = self.device(
            isolated_hostname(PROVINCE), "isolated-core", core_div, self.plan.isolated_loopback(PROVINCE), ""
        )
        core.lans.append(self._iso_lan(PROVINCE))
        for div in sites:
            if div.code == PROVINCE:
                continue
            dev = self.device(
                isolated_hostname(div.code), "isolated", div, self.plan.isolated_loopback(div.code), div.code
            )
            self.link(
                core,
                CITY_PORT_BASE + int(div.code[2:4]),
                dev,
                1,
                self.plan.isolated_link(div.code),
                iso.circuit,
                "isolated",
                BACKBONE_AREA,
                False,
            )
            dev.lans.append(self._iso_lan(div.code))

    def _iso_lan(self, code: str) -> Lan:
        prefix = self.plan.isolated_lan(code)
        return Lan(prefix, self.plan.isolated_v6_lan(prefix), BACKBONE_AREA)

    def routing(self, cores: list[Device], access: list[Device], cities: dict[str, Device]) -> None:
        asn = self.params.bgp.asn
        core_names = [d.hostname for d in cores]
        pes = access + [cities[code] for code in sorted(cities)]
        for core in cores:
            others = [n for n in core_names if n != core.hostname] + [pe.hostname for pe in pes]
            core.bgp = route_reflector(asn, others, core.loopback_v4)
        names = {code: self.departments[code] for code in self.vpn_ids}
        for pe in pes:
            aggregates = tuple(r.prefix for r in pe.area_ranges)
            pe.bgp = rr_client(asn, core_names, aggregates)
            # a VRF instance only where a port of the PE is in it (no empty instances on the city routers)
            used = {a.vrf for a in pe.attachments} | {v.vrf for a in pe.attachments for v in a.vlans}
            pe.vrfs = [v for v in vrfs_for(asn, pe.loopback_v4, self.vpn_ids, names) if v.name in used]

    def check_references(self, path: Path) -> None:
        """Codes named in network.yaml must be divisions of the right tier."""
        for field, codes, tiers in (
            ("backup.counties", self.params.backup.counties, ("county",)),
            ("isolated.sites", self.params.isolated.sites, ("province", "city")),
        ):
            for code in codes:
                div = self.divisions.get(code)
                if div is None or div.tier not in tiers:
                    what = "not a division" if div is None else f"a {div.tier}, not a {' or '.join(tiers)}"
                    raise SourceError(path, f"{code} is {what}", field=field)

    def management(self, path: Path) -> dict[str, ManagementPlane]:
        """The management plane of each routing domain; the IPv6 twin of each prefix allowed to log in is
        the model's LAN of that prefix, in the same domain."""
        out = {}
        for domain, mgmt, field in (
            ("backbone", self.params.management, "management.ssh_allowed"),
            ("isolated", self.params.isolated.management, "isolated.management.ssh_allowed"),
        ):
            lans = {
                lan.prefix_v4: lan.prefix_v6
                for dev in self.devices.values()
                if dev.domain == domain
                for lan in dev.lans
            }
            missing = [str(n) for n in mgmt.ssh_allowed if n not in lans]
            if missing:
                raise SourceError(
                    path, f"{', '.join(missing)} is not a LAN of the {domain} domain's routers", field=field
                )
            out[domain] = ManagementPlane(
                dns_domain=mgmt.domain,
                ntp=mgmt.ntp_servers,
                syslog=mgmt.syslog_servers,
                aaa=mgmt.aaa_servers,
                snmp_users=mgmt.snmp_users,
                local_user=mgmt.local_user,
                acl_v4=mgmt.ssh_allowed,
                acl_v6=tuple(lans[n] for n in mgmt.ssh_allowed),
                secrets=mgmt.secret_names(),
                vrf=mgmt.vrf,
                oob=mgmt.oob,
                oob_v6=mgmt.oob_v6,
            )
        return out

    def build(self, path: Path) -> Backbone:
        cores, access = self.province()
        self.attachments(access)
        cities = self.cities(cores)
        seconds = self.second_cities(cores, cities)
        counties = self.counties(cities, seconds)
        self.towns(cities, counties)
        self.routing(cores, access, cities)
        self.isolated()
        for dev in self.devices.values():
            dev.interfaces.sort(key=lambda i: i.port)
            dev.management_port = self.plan.management_port(dev.domain, dev.division_code, dev.loopback_v4)
            dev.management_port_v6 = self.plan.management_port_v6(dev.domain, dev.management_port)
        devices = {name: self.devices[name] for name in sorted(self.devices)}
        return Backbone(
            devices=devices, links=self.links, asn=self.params.bgp.asn, management=self.management(path)
        )


def _departments(source: Any, data_dir: Path | None) -> dict[str, str]:
    if source is not None:
        return {d.code: d.name for d in source.departments}
    return load_department_names(data_dir)


def build_backbone(
    source: Any = None,
    *,
    data_dir: Path | None = None,
    params: NetworkParams | None = None,
    divisions: dict[str, Division] | None = None,
) -> Backbone:
    """The whole province: primary plane, backup plane and isolated domain, with routing decided.

    ``source`` is a loaded ``SourceOfTruth`` (for the departments); by default it is loaded from ``data_dir``
    (data/). ``params`` and ``divisions`` default to data/network.yaml and data/divisions.csv.
    """
    data = data_dir or DATA_DIR
    params = params or load_params(data / "network.yaml")
    divisions = divisions or load_divisions(data / "divisions.csv")
    builder = _Builder(params, divisions, _departments(source, data_dir))
    builder.check_references(data / "network.yaml")
    return builder.build(data / "network.yaml")
