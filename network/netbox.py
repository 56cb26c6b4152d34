"""The backbone as NetBox objects: one set of tables feeds the bulk-import CSV, the JSON export and the push.

Each table is a list of rows in NetBox's CSV import spelling (references by name or slug, custom fields as
``cf_<name>``), in an order where every reference points at a row of an earlier table:

  tenants, regions, sites, rirs, asns, aggregates, route-targets, vrfs, roles, prefixes, vlan-groups, vlans,
  manufacturers, platforms, device-roles, device-types, interface-templates, devices, interfaces,
  ip-addresses, providers, circuit-types, circuits, circuit-terminations

What is modelled how: the division tree (province, cities, counties) becomes nested regions, each router's
division a site under them (isolated-domain routers in a site of their own), with its latitude and longitude
where data/coordinates.csv has them (the province's and the cities' seats; counties and towns have none);
every link of the model is a circuit of its plane's carrier (data/network.yaml: ``circuits.carrier``,
``backup.carrier``) with its committed rate and an A and a Z termination at the two ends' sites (no cables
between sites); the L3VPNs are VRFs with their route targets, one tenant per department owning its VRF and
cloud subnet; addresses sit in their VRF, loopbacks with the ``loopback`` role; everything is ``planned``.
VLANs are the model's dot1q sub-interfaces (the cloud DC port of each access router carries one per
department, in the department's VRF): one VLAN group for the DC ports, a VLAN per department (its VPN id as
the VID, owned by the department's tenant); the DC port is a ``tagged`` trunk of them and each sub-interface
a virtual interface with the port as parent, the VLAN untagged on it (``access``: what that sub-interface
carries), its VRF and addresses. A site LAN's ``Vlanif100`` is only the vendor registry's spelling of a port.
The management plane: each routing domain's management VRF (``MGMT``, ``ISO-MGMT``: VRF-lite, no route
targets), its out-of-band blocks as aggregates (where no other aggregate covers them) and container prefixes,
each router's management port (the vendor registry's name, ``mgmt_only``) with its /31 and /127 in that VRF
as the device's out-of-band address (NetBox's ``oob_ip``), each /31 and /127 a prefix of role management.
Interface types follow the port's speed. The per-vendor hardware facts are in :data:`VENDORS`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator, Mapping
from ipaddress import IPv4Interface, IPv4Network, IPv6Interface, IPv6Network
from typing import Any, NamedTuple

import pint

from network.addressing import AddressPlan
from network.model import Backbone, Device, ManagementPlane
from network.naming import interface_name, lan_name, loopback_name, mbps
from network.params import NetworkParams
from network.routing import DEPARTMENT_VPN_BASE
from network.vendors import HARDWARE_CLASS, VENDORS, get_vendor

STATUS = "planned"  # nothing of the plan is deployed yet
IPAM_STATUS = (
    "reserved"  # NetBox's prefixes and addresses have no 'planned': reserved = allocated, not in use
)

#: NetBox interface type by port speed in Mbit/s (the largest not above the port's speed).
INTERFACE_TYPES: tuple[tuple[float, str], ...] = (
    (100_000, "100gbase-x-qsfp28"),
    (40_000, "40gbase-x-qsfpp"),
    (25_000, "25gbase-x-sfp28"),
    (10_000, "10gbase-x-sfpp"),
    (1_000, "1000base-x-sfp"),
    (0, "100base-tx"),
)

#: The isolated domain's circuits are dedicated fibre leased from the primary carrier.
PLANE_CARRIER = {"primary": "primary", "isolated": "primary", "backup": "backup"}
KNOWN_CARRIER_SLUGS = {"中国电信": "china-telecom", "中国联通": "china-unicom", "中国移动": "china-mobile"}
CIRCUIT_TYPES = {
    "primary": ("主用电路 primary", "backbone-primary"),
    "backup": ("备份电路 backup", "backbone-backup"),
    "isolated": ("物理隔离域电路 isolated", "isolated-domain"),
}

ROLES = {
    "core": "core-router",
    "access": "access-router",
    "city": "city-router",
    "county": "county-router",
    "town": "town-router",
    "isolated-core": "isolated-core-router",
    "isolated": "isolated-router",
}
ROLE_COLOURS = {"core": "f44336", "access": "ff9800", "city": "2196f3", "county": "4caf50", "town": "9e9e9e"}

#: IPAM roles of prefixes.
PREFIX_ROLES = {
    "city-block": "city summary block",
    "link": "point-to-point link",
    "attachment": "customer attachment",
    "lan": "site LAN",
    "cloud-tenant": "cloud tenant subnet",
    "management": "out-of-band management",
}
#: RFC 6598 shared address space, where the backbone's out-of-band block lives (neither private nor global).
SHARED_ADDRESS_SPACE = IPv4Network("100.64.0.0/10")
#: The out-of-band management port: copper GE on every vendor's chassis, management only.
MGMT_INTERFACE_TYPE = "1000base-t"
ISOLATED_VRF = "isolated"
#: The VLAN group of the cloud DC ports' sub-interfaces (their VIDs are the departments' VPN ids).
DC_VLAN_GROUP = {"name": "云数据中心接入 cloud DC", "slug": "gd-cloud-dc"}
#: Custom fields the push and the bulk import fill; a NetBox administrator creates them once (see docs).
CUSTOM_FIELDS = {
    "ospf_cost": ("dcim.interface", "integer"),
    "ospf_area": ("dcim.interface", "integer"),
}
TABLES = (
    "tenants", "regions", "sites", "rirs", "asns", "aggregates", "route-targets", "vrfs", "roles",
    "prefixes", "vlan-groups", "vlans", "manufacturers", "platforms", "device-roles", "device-types",
    "interface-templates", "devices", "interfaces", "ip-addresses", "providers", "circuit-types", "circuits",
    "circuit-terminations",
)  # fmt: skip


def kbps(bandwidth: pint.Quantity) -> int:
    """A bandwidth in kbit/s, NetBox's unit for interface speeds and committed rates."""
    return round(mbps(bandwidth) * 1000)


def interface_type(bandwidth: pint.Quantity) -> str:
    speed = mbps(bandwidth)
    return next(slug for floor, slug in INTERFACE_TYPES if speed >= floor)


def carrier_slug(name: str) -> str:
    """A provider slug: the known carriers by their English name, any other by a stable hash of its name."""
    if name in KNOWN_CARRIER_SLUGS:
        return KNOWN_CARRIER_SLUGS[name]
    ascii_name = "".join(c if c.isascii() and c.isalnum() else "-" for c in name.lower()).strip("-")
    return ascii_name or "carrier-" + hashlib.sha256(name.encode()).hexdigest()[:8]


def region_name(code: str, name: str) -> str:
    return f"{code} {name}"


def site_slug(dev: Device) -> str:
    return f"gd-{dev.division_code}" + ("-iso" if dev.domain == "isolated" else "")


def site_name(dev: Device) -> str:
    return f"{dev.division_code} {dev.name}" + (" 物理隔离域" if dev.domain == "isolated" else "")


def tenant_slug(code: str) -> str:
    return f"dept-{code.lower()}"


def _prefix_row(prefix: IPv4Network | IPv6Network, vrf: str, role: str, description: str, **extra: Any):
    return {
        "prefix": str(prefix),
        "vrf": vrf,
        "tenant": extra.get("tenant", ""),
        "status": extra.get("status", IPAM_STATUS),
        "role": PREFIX_ROLES[role],
        "description": description,
    }


class _Tables:
    """Builds the rows of every table from the model (one pass per concern)."""

    def __init__(
        self,
        backbone: Backbone,
        vendor: str,
        params: NetworkParams,
        department_names: Mapping[str, str],
        coordinates: Mapping[str, tuple[str, float, float]],
    ) -> None:
        if vendor not in VENDORS:
            raise ValueError(f"unknown vendor {vendor!r}; expected one of {', '.join(VENDORS)}")
        # NetBox's facts of a vendor (maker, platform, device type per hardware class): the vendor registry
        self.backbone = backbone
        self.vendor = vendor
        self.facts = get_vendor(vendor).netbox
        self.params = params
        self.plan = AddressPlan(params)
        self.names = department_names
        self.coordinates = coordinates  # division code → (name, longitude, latitude)
        self.out: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}
        self._codes: set[str] = set()

    # -- organisation ------------------------------------------------------------------------------------
    def departments(self) -> dict[str, int]:
        """{department code: VPN id} of the departments attached at the access routers."""
        found: dict[str, int] = {}
        for dev in self.backbone.by_tier("access"):
            for vrf in dev.vrfs:
                if vrf.zone == "private":
                    code = next(a.customer for a in dev.attachments if a.vrf == vrf.name)
                    found[code] = vrf.vpn_id - DEPARTMENT_VPN_BASE
        return dict(sorted(found.items()))

    def tenants(self, departments: dict[str, int]) -> None:
        for code in departments:
            name = self.names.get(code, code)
            self.out["tenants"].append(
                {"name": f"{code} {name}", "slug": tenant_slug(code), "description": name}
            )

    def regions_and_sites(self) -> None:
        divisions: dict[str, str] = {}  # code -> name, of every division that has a router
        for dev in self.backbone.devices.values():
            divisions.setdefault(dev.division_code, dev.name)
        region_of: dict[str, str] = {}
        for code in sorted(c for c in divisions if len(c) == 6):
            parent = "" if code == "440000" else "440000" if code[4:] == "00" else code[:4] + "00"
            region_of[code] = region_name(code, divisions[code])
            self.out["regions"].append(
                {
                    "name": region_of[code],
                    "slug": f"gd-{code}",
                    "parent": region_of.get(parent, ""),
                    "description": divisions[code],
                }
            )
        sites: dict[str, dict[str, Any]] = {}
        for dev in self.backbone.devices.values():
            code = dev.division_code
            region = next((region_of[c] for c in (code[:6], code[:4] + "00", "440000") if c in region_of), "")
            _, longitude, latitude = self.coordinates.get(code, ("", "", ""))
            sites.setdefault(
                site_slug(dev),
                {
                    "name": site_name(dev),
                    "slug": site_slug(dev),
                    "status": STATUS,
                    "region": region,
                    "latitude": latitude,
                    "longitude": longitude,
                    "description": "物理隔离域" if dev.domain == "isolated" else "",
                },
            )
        self.out["sites"] = sorted(sites.values(), key=lambda s: s["slug"])

    # -- IPAM ---------------------------------------------------------------------------------------------
    def ipam(self, departments: dict[str, int]) -> None:
        p = self.params
        rir = {"name": "RFC 1918 / RFC 4193", "slug": "private", "is_private": "true"}
        asn_rir = {"name": "RFC 6996", "slug": "rfc-6996", "is_private": "true"}
        shared = {"name": "RFC 6598", "slug": "rfc-6598", "is_private": "true"}
        self.out["rirs"] += [asn_rir, rir]
        self.out["asns"].append(
            {"asn": self.backbone.asn, "rir": asn_rir["name"], "description": "广东省电子政务外网 iBGP"}
        )
        for prefix, what in (
            (p.ipv4.backbone, "backbone infrastructure"),
            (p.ipv4.cloud_tenants, "cloud tenant networks"),
            (p.isolated.ipv4, "物理隔离域"),
            (p.ipv6.infrastructure, "backbone infrastructure (IPv6 mirror)"),
            (p.ipv6.lan, "site LANs (IPv6)"),
            (p.isolated.ipv6, "物理隔离域 (IPv6)"),
        ):
            self.out["aggregates"].append({"prefix": str(prefix), "rir": rir["name"], "description": what})
        covered = [p.ipv4.backbone, p.ipv4.cloud_tenants, p.isolated.ipv4]
        covered_v6 = [p.ipv6.infrastructure, p.ipv6.lan, p.isolated.ipv6]
        planes = self.management_planes()
        for domain, mgmt in planes.items():
            blocks: tuple[tuple[IPv4Network | IPv6Network, list[Any], str], ...] = (
                (mgmt.oob, covered, ""),
                (mgmt.oob_v6, covered_v6, " (IPv6)"),
            )
            for block, covering, family in blocks:
                # NetBox refuses overlapping aggregates: a block inside one already listed is only a prefix
                if any(block.subnet_of(net) for net in covering):
                    continue
                in_shared = isinstance(block, IPv4Network) and block.subnet_of(SHARED_ADDRESS_SPACE)
                registry = shared if in_shared else rir
                self.out["aggregates"].append(
                    {
                        "prefix": str(block),
                        "rir": registry["name"],
                        "description": f"{domain} out-of-band management{family}",
                    }
                )
                if in_shared and shared not in self.out["rirs"]:
                    self.out["rirs"].append(shared)
        vrfs: dict[str, dict[str, Any]] = {}
        targets: dict[str, str] = {}
        for dev in sorted(self.backbone.devices.values(), key=lambda d: d.hostname):
            for vrf in dev.vrfs:
                for rt in (*vrf.import_rt, *vrf.export_rt):
                    targets.setdefault(rt, f"{vrf.name} ({vrf.description})")
                code = next((c for c in departments if tenant_slug(c) == vrf.name), "")
                vrfs.setdefault(
                    vrf.name,
                    {
                        "name": vrf.name,
                        "tenant": self._tenant(code),
                        "enforce_unique": "true",
                        "import_targets": ",".join(vrf.import_rt),
                        "export_targets": ",".join(vrf.export_rt),
                        # RDs are per PE (router-id:vpn), so NetBox's one-RD-per-VRF stays empty.
                        "description": f"{vrf.description}; RD <router-id>:{vrf.vpn_id}",
                    },
                )
        if any(d.domain == "isolated" for d in self.backbone.devices.values()):
            vrfs[ISOLATED_VRF] = {
                "name": ISOLATED_VRF,
                "tenant": "",
                "enforce_unique": "true",
                "import_targets": "",
                "export_targets": "",
                "description": "物理隔离域: its own routers, circuits and addresses",
            }
        for domain, mgmt in planes.items():
            vrfs[mgmt.vrf] = {
                "name": mgmt.vrf,
                "tenant": "",
                "enforce_unique": "true",
                "import_targets": "",
                "export_targets": "",
                "description": f"{domain} out-of-band management (VRF-lite: AAA, NTP, syslog, SNMP)",
            }
        self.out["route-targets"] = [
            {"name": rt, "description": what} for rt, what in sorted(targets.items(), key=_rt_order)
        ]
        self.out["vrfs"] = sorted(vrfs.values(), key=lambda v: v["name"])
        self.out["roles"] = [{"name": name, "slug": slug} for slug, name in PREFIX_ROLES.items()]
        rows = self.out["prefixes"]
        summarised: set[IPv4Network | IPv6Network] = set()
        for city in sorted(self.backbone.by_tier("city"), key=lambda d: d.hostname):
            for r in city.area_ranges:
                # a city's second router announces the same summaries as its first: one prefix each
                announced: list[IPv4Network | IPv6Network] = [r.prefix, *r.prefixes_v6]
                summaries = [net for net in announced if net not in summarised]
                summarised.update(summaries)
                for net in summaries:
                    rows.append(
                        _prefix_row(net, "", "city-block", f"{city.name} summary", status="container")
                    )
        for link in self.backbone.links:
            in_vrf = ISOLATED_VRF if link.plane == "isolated" else ""
            for net in (link.subnet_v4, link.subnet_v6):
                rows.append(_prefix_row(net, in_vrf, "link", f"{link.plane} {link.a} – {link.b}"))
        for name, dev in sorted(self.backbone.devices.items()):
            in_vrf = ISOLATED_VRF if dev.domain == "isolated" else ""
            for lan in dev.lans:
                for net in (lan.prefix_v4, lan.prefix_v6):
                    rows.append(_prefix_row(net, in_vrf, "lan", f"{name} site LAN"))
            for port in self.attachment_ports(name, dev):
                for net in (port.v4.network, port.v6.network):
                    rows.append(
                        _prefix_row(
                            net, port.vrf, "attachment", port.what, tenant=self._tenant(port.customer)
                        )
                    )
        for code, vpn_id in departments.items():
            rows.append(
                _prefix_row(
                    self.plan.department_cloud_subnet(vpn_id),
                    tenant_slug(code),
                    "cloud-tenant",
                    f"{self.names.get(code, code)} cloud tenant network",
                    tenant=self._tenant(code),
                )
            )
        for domain, mgmt in planes.items():
            for net in (mgmt.oob, mgmt.oob_v6):
                rows.append(
                    _prefix_row(net, mgmt.vrf, "management", f"{domain} out-of-band", status="container")
                )
        for name, dev in sorted(self.backbone.devices.items()):
            if dev.management_port is not None:
                mgmt_vrf = self.backbone.management[dev.domain].vrf
                for net in _management_networks(dev):
                    rows.append(_prefix_row(net, mgmt_vrf, "management", f"{name} management port"))

    def management_planes(self) -> dict[str, ManagementPlane]:
        """{domain: its management plane} of the domains that have routers in this (sub-)model."""
        domains = {d.domain for d in self.backbone.devices.values()}
        return {d: m for d, m in sorted(self.backbone.management.items()) if d in domains}

    def attachment_ports(self, name: str, dev: Device) -> Iterator[_AttachmentPort]:
        """The addressed customer-facing ports of a device: each attachment, then its dot1q sub-interfaces."""
        for a in dev.attachments:
            port = interface_name(self.vendor, a)
            yield _AttachmentPort(port, a.address_v4, a.address_v6, a.vrf, a.customer, f"{name} {a.customer}")
            for v in a.vlans:
                yield _AttachmentPort(
                    f"{port}.{v.vlan}",
                    v.address_v4,
                    v.address_v6,
                    v.vrf,
                    v.customer,
                    f"{name} {a.customer} VLAN {v.vlan} {v.customer}",
                )

    def vlans(self) -> None:
        """The VLANs of the model's sub-interfaces, one per VID (the same department on every DC port)."""
        vlans: dict[int, dict[str, Any]] = {}
        for dev in self.backbone.devices.values():
            for a in dev.attachments:
                for v in a.vlans:
                    vlans.setdefault(
                        v.vlan,
                        {
                            "group": DC_VLAN_GROUP["name"],
                            "vid": v.vlan,
                            "name": v.vrf,
                            "tenant": self._tenant(v.customer),
                            "status": IPAM_STATUS,
                            "description": f"{a.customer} {v.customer} {self.names.get(v.customer, '')}",
                        },
                    )
        if vlans:
            self.out["vlan-groups"].append(
                {**DC_VLAN_GROUP, "description": "dot1q sub-interfaces of the access routers' cloud DC ports"}
            )
        self.out["vlans"] = [vlans[vid] for vid in sorted(vlans)]

    def _tenant(self, code: str) -> str:
        return f"{code} {self.names.get(code, code)}" if code and code in self._codes else ""

    # -- DCIM ---------------------------------------------------------------------------------------------
    def catalogue(self) -> None:
        f = self.facts
        self.out["manufacturers"].append({"name": f.manufacturer, "slug": f.manufacturer_slug})
        self.out["platforms"].append(
            {
                "name": f.platform_name,
                "slug": f.platform_slug,
                "manufacturer": f.platform_manufacturer,
            }
        )
        for tier, role in ROLES.items():
            colour = ROLE_COLOURS[HARDWARE_CLASS[tier]] if not tier.startswith("isolated") else "673ab7"
            self.out["device-roles"].append({"name": role, "slug": role, "color": colour})
        used = sorted({HARDWARE_CLASS[d.tier] for d in self.backbone.devices.values()})
        for hw in used:
            m = f.device_types[hw]
            self.out["device-types"].append(
                {
                    "manufacturer": f.manufacturer,
                    "model": m.model,
                    "slug": m.slug,
                    "part_number": m.part_number,
                    "u_height": m.u_height,
                    "is_full_depth": "true" if m.full_depth else "false",
                }
            )

    def ports(self, dev: Device) -> list[dict[str, Any]]:
        """Every interface of a device, as rows of the interfaces table (without the device column)."""
        v = self.vendor
        vrf_default = ISOLATED_VRF if dev.domain == "isolated" else ""
        rows = [
            _iface(loopback_name(v), "virtual", "loopback", vrf_default),
        ]
        mgmt_port = get_vendor(v).management_port
        if mgmt_port and dev.management_port is not None:
            mgmt_vrf = self.backbone.management[dev.domain].vrf
            rows.append(
                _iface(mgmt_port, MGMT_INTERFACE_TYPE, "out-of-band management", mgmt_vrf, mgmt_only=True)
            )
        for i in dev.interfaces:
            rows.append(
                _iface(
                    interface_name(v, i),
                    interface_type(i.bandwidth),
                    f"{i.plane} to {i.peer}",
                    vrf_default,
                    speed=kbps(i.bandwidth),
                    mtu=i.mtu,
                    ospf_cost=i.ospf_cost,
                    ospf_area=i.ospf_area,
                )
            )
        for a in dev.attachments:
            port = interface_name(v, a)
            rows.append(
                _iface(
                    port,
                    interface_type(a.bandwidth),
                    f"{a.vrf} {a.customer}",
                    a.vrf,
                    speed=kbps(a.bandwidth),
                    mtu=a.mtu,
                    mode="tagged" if a.vlans else "",
                    vlan_group=DC_VLAN_GROUP["name"] if a.vlans else "",
                    tagged_vlans=",".join(str(vid) for vid in sorted(s.vlan for s in a.vlans)),
                )
            )
            for s in a.vlans:
                rows.append(
                    _iface(
                        f"{port}.{s.vlan}",
                        "virtual",
                        f"{s.vrf} {a.customer} {s.customer}",
                        s.vrf,
                        mtu=a.mtu,
                        parent=port,
                        mode="access",
                        vlan_group=DC_VLAN_GROUP["name"],
                        untagged_vlan=s.vlan,
                    )
                )
        for n, lan in enumerate(dev.lans):
            rows.append(
                _iface(
                    lan_name(v) + (str(n) if n else ""),
                    "virtual",
                    "site LAN",
                    vrf_default,
                    ospf_area=lan.ospf_area,
                )
            )
        return rows

    def devices(self) -> None:
        f = self.facts
        per_type: dict[str, list[set[tuple[str, str, str]]]] = {}
        all_ports: dict[str, list[dict[str, Any]]] = {}
        for name, dev in sorted(self.backbone.devices.items()):
            model = f.device_types[HARDWARE_CLASS[dev.tier]].model
            self.out["devices"].append(
                {
                    "name": name,
                    "role": ROLES[dev.tier],
                    "manufacturer": f.manufacturer,
                    "device_type": model,
                    "platform": f.platform_name,
                    "site": site_name(dev),
                    "status": STATUS,
                    "description": f"{dev.tier} {dev.division_code} {dev.name}",
                }
            )
            all_ports[name] = self.ports(dev)
            per_type.setdefault(model, []).append(
                {
                    (r["name"], r["type"], r["mgmt_only"])
                    for r in all_ports[name]
                    if not r["parent"] and not r["mode"]
                }
            )
        # A device type's interface templates: the ports every device of that type has (NetBox creates
        # them with the device; the interfaces table then fills in their speed, MTU, VRF and description).
        # Sub-interfaces are configuration, not hardware: never a template (a template has no parent). Nor
        # is an 802.1Q trunk: the bulk-import page can only create, so its row must create the port to set
        # its mode and tagged VLANs.
        for model, port_sets in sorted(per_type.items()):
            for ifname, kind, mgmt_only in sorted(set.intersection(*port_sets)):
                self.out["interface-templates"].append(
                    {
                        "device_type": model,
                        "manufacturer": f.manufacturer,
                        "name": ifname,
                        "type": kind,
                        "mgmt_only": mgmt_only,
                    }
                )
        for name, rows in all_ports.items():
            for row in rows:
                self.out["interfaces"].append({"device": name, **row})
        self.addresses()

    def addresses(self) -> None:
        v = self.vendor
        rows = self.out["ip-addresses"]
        mgmt_port = get_vendor(v).management_port
        for name, dev in sorted(self.backbone.devices.items()):
            vrf = ISOLATED_VRF if dev.domain == "isolated" else ""
            # (port, address, VRF, role, is the device's primary address, is its out-of-band address)
            entries: list[tuple[str, str, str, str, str, str]] = [
                (loopback_name(v), f"{dev.loopback_v4}/32", vrf, "loopback", "true", "false"),
                (loopback_name(v), str(dev.loopback_v6), vrf, "loopback", "true", "false"),
            ]
            if mgmt_port and dev.management_port is not None:
                mgmt_vrf = self.backbone.management[dev.domain].vrf
                entries.append((mgmt_port, str(dev.management_port), mgmt_vrf, "", "false", "true"))
                if dev.management_port_v6 is not None:
                    entries.append((mgmt_port, str(dev.management_port_v6), mgmt_vrf, "", "false", "false"))
            for i in dev.interfaces:
                entries += [
                    (interface_name(v, i), str(i.address_v4), vrf, "", "false", "false"),
                    (interface_name(v, i), str(i.address_v6), vrf, "", "false", "false"),
                ]
            for port in self.attachment_ports(name, dev):
                entries += [
                    (port.name, str(port.v4), port.vrf, "", "false", "false"),
                    (port.name, str(port.v6), port.vrf, "", "false", "false"),
                ]
            for n, lan in enumerate(dev.lans):
                lan_port = lan_name(v) + (str(n) if n else "")
                entries += [
                    (lan_port, str(lan.gateway_v4), vrf, "", "false", "false"),
                    (lan_port, str(lan.gateway_v6), vrf, "", "false", "false"),
                ]
            for port_name, address, in_vrf, role, primary, oob in entries:
                rows.append(
                    {
                        "address": address,
                        "vrf": in_vrf,
                        "tenant": self._tenant(_dept_of(in_vrf, self._codes)),
                        "status": IPAM_STATUS,
                        "role": role,
                        "device": name,
                        "interface": port_name,
                        "is_primary": primary,
                        "is_oob": oob,
                    }
                )

    # -- circuits -----------------------------------------------------------------------------------------
    def circuits(self) -> None:
        carriers = {"primary": self.params.circuits.carrier, "backup": self.params.backup.carrier}
        used_planes = sorted({link.plane for link in self.backbone.links})
        providers = sorted({carriers[PLANE_CARRIER[p]] for p in used_planes})
        self.out["providers"] = [{"name": c, "slug": carrier_slug(c)} for c in providers]
        self.out["circuit-types"] = [
            {"name": CIRCUIT_TYPES[p][0], "slug": CIRCUIT_TYPES[p][1]} for p in used_planes
        ]
        devices = self.backbone.devices
        for link in self.backbone.links:
            cid = circuit_id(link.plane, link.a, link.a_port, link.b, link.b_port)
            provider = carriers[PLANE_CARRIER[link.plane]]
            self.out["circuits"].append(
                {
                    "cid": cid,
                    "provider": provider,
                    "type": CIRCUIT_TYPES[link.plane][0],
                    "status": STATUS,
                    "commit_rate": kbps(link.bandwidth),
                    "description": f"{link.plane} {link.subnet_v4} {link.subnet_v6}",
                }
            )
            for side, host, port in (("A", link.a, link.a_port), ("Z", link.b, link.b_port)):
                dev = devices[host]
                self.out["circuit-terminations"].append(
                    {
                        "circuit": cid,
                        "provider": provider,
                        "term_side": side,
                        "termination_type": "dcim.site",
                        "site": site_name(dev),
                        "port_speed": kbps(link.bandwidth),
                        "description": f"{host} {interface_name(self.vendor, dev.interface(port))}",
                    }
                )

    def build(self) -> dict[str, list[dict[str, Any]]]:
        departments = self.departments()
        self._codes = set(departments)
        self.tenants(departments)
        self.regions_and_sites()
        self.ipam(departments)
        self.vlans()
        self.catalogue()
        self.devices()
        self.circuits()
        return self.out


class _AttachmentPort(NamedTuple):
    """A customer-facing port with its addresses: an attachment or one of its dot1q sub-interfaces."""

    name: str
    v4: IPv4Interface
    v6: IPv6Interface
    vrf: str
    customer: str  # the department (tenant) code, or the cloud's / Internet's customer name
    what: str  # its prefixes' description


def _management_networks(dev: Device) -> list[IPv4Network | IPv6Network]:
    """The /31 and /127 of a router's out-of-band management port."""
    assert dev.management_port is not None
    nets: list[IPv4Network | IPv6Network] = [dev.management_port.network]
    if dev.management_port_v6 is not None:
        nets.append(dev.management_port_v6.network)
    return nets


def _rt_order(item: tuple[str, str]) -> tuple[int, int]:
    asn, number = item[0].split(":")
    return int(asn), int(number)


def _dept_of(vrf: str, codes: set[str]) -> str:
    return next((c for c in codes if tenant_slug(c) == vrf), "")


def _iface(
    name: str,
    kind: str,
    description: str,
    vrf: str,
    speed: int | str = "",
    mtu: int | str = "",
    ospf_cost: int | str = "",
    ospf_area: int | str = "",
    parent: str = "",
    mode: str = "",
    vlan_group: str = "",
    untagged_vlan: int | str = "",
    tagged_vlans: str = "",
    mgmt_only: bool = False,
) -> dict[str, Any]:
    return {
        "name": name,
        "type": kind,
        "speed": speed,
        "mtu": mtu,
        "vrf": vrf,
        "description": description,
        "cf_ospf_cost": ospf_cost,
        "cf_ospf_area": ospf_area,
        "parent": parent,  # a sub-interface's port (on the same device)
        "mode": mode,  # 802.1Q: "tagged" (the DC port's trunk), "access" (a sub-interface's one VLAN)
        "vlan_group": vlan_group,  # the group the VIDs below are numbered in
        "untagged_vlan": untagged_vlan,
        "tagged_vlans": tagged_vlans,  # VIDs, comma-separated
        "mgmt_only": "true" if mgmt_only else "false",  # the out-of-band management port
    }


def circuit_id(plane: str, a: str, a_port: int, b: str, b_port: int) -> str:
    """The circuit id of a link until the carrier's own is known: plane and both ends (stable, unique)."""
    return f"{plane[:3].upper()} {a}:{a_port} {b}:{b_port}"


def inventory_rows(
    backbone: Backbone,
    vendor: str = "vrp",
    params: NetworkParams | None = None,
    department_names: Mapping[str, str] | None = None,
    coordinates: Mapping[str, tuple[str, float, float]] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """{table: rows} in import order (:data:`TABLES`), names spelled for ``vendor``; deterministic.
    ``coordinates``: {division code: (name, longitude, latitude)}, by default data/coordinates.csv's."""
    if params is None:
        from network.params import load_params

        params = load_params()
    if coordinates is None:
        from network.capacity_present import load_coordinates
        from network.params import DATA_DIR

        coordinates = load_coordinates(DATA_DIR / "coordinates.csv")
    return _Tables(backbone, vendor, params, department_names or {}, coordinates).build()


def to_csv(rows: list[dict[str, Any]]) -> str:
    """One NetBox CSV import file (header from the first row)."""
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return buffer.getvalue()


def import_files(tables: dict[str, list[dict[str, Any]]]) -> dict[str, str]:
    """{file name: text} for NetBox's bulk-import pages, numbered in import order.

    Where the import pages differ from the tables: device types go as one YAML document each with their
    interface templates (the page takes components in YAML only, as in NetBox's devicetype-library); the
    interfaces CSV has no ``vrf`` column (the page names a VRF by its RD, and ours have one RD per PE; the
    addresses keep their VRF, and ``--push`` sets the interface's) and no row for a port the device type's
    templates create with the device (the page can only create; their speed and description come with
    ``--push``); circuit terminations name their site where the page wants its numeric id, so they land with
    ``--push`` only.
    """
    import yaml

    files: dict[str, str] = {}
    templates: dict[str, list[dict[str, Any]]] = {}
    for t in tables["interface-templates"]:
        templates.setdefault(t["device_type"], []).append(
            {
                "name": t["name"],
                "type": t["type"],
                **({"mgmt_only": True} if t["mgmt_only"] == "true" else {}),
            }
        )
    for n, (name, rows) in enumerate(tables.items(), start=1):
        if name == "interface-templates":
            continue
        if name == "device-types":
            docs = [
                {
                    **{k: v for k, v in row.items() if k != "is_full_depth"},
                    "is_full_depth": row["is_full_depth"] == "true",
                    "interfaces": templates.get(row["model"], []),
                }
                for row in rows
            ]
            files[f"{n:02d}-{name}.yaml"] = yaml.safe_dump_all(docs, allow_unicode=True, sort_keys=False)
            continue
        if name == "interfaces":
            model = {d["name"]: d["device_type"] for d in tables["devices"]}
            made = {(t["device_type"], t["name"]) for t in tables["interface-templates"]}
            rows = [
                {k: v for k, v in row.items() if k != "vrf"}
                for row in rows
                if (model[row["device"]], row["name"]) not in made
            ]
        files[f"{n:02d}-{name}.csv"] = to_csv(rows)
    return files


def to_json(tables: dict[str, list[dict[str, Any]]]) -> str:
    """All tables as one JSON document (stable key order, UTF-8 names kept)."""
    return json.dumps(tables, ensure_ascii=False, indent=1, sort_keys=False) + "\n"
