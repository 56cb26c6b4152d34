"""The NetBox export: every reference points at a row imported before it, and what lands is what the model
says (interface types by speed, circuits per carrier, VRFs with route targets, regions from the divisions)."""

from __future__ import annotations

import csv
import io
from collections import Counter
from typing import Any

import pytest

from network.naming import interface_name
from network.netbox import TABLES, VENDORS, import_files, interface_type, inventory_rows, to_csv, to_json
from network.params import NetworkParams


@pytest.fixture(scope="module")
def tables(small, params: NetworkParams) -> dict[str, list[dict[str, Any]]]:
    return inventory_rows(small, "vrp", params, {"GAT": "省公安厅"})


def by(rows: list[dict[str, Any]], *keys: str) -> dict[Any, dict[str, Any]]:
    index = {tuple(r[k] for k in keys) if len(keys) > 1 else r[keys[0]]: r for r in rows}
    assert len(index) == len(rows), f"duplicate {keys}"
    return index


def test_references_resolve_in_import_order(tables) -> None:
    assert tuple(tables) == TABLES
    regions = set()
    for r in tables["regions"]:  # a parent comes before its children
        assert r["parent"] in regions | {""}
        regions.add(r["name"])
    sites = by(tables["sites"], "name")
    assert all(s["region"] in regions for s in sites.values())
    tenants = {t["name"] for t in tables["tenants"]} | {""}
    rts = {t["name"] for t in tables["route-targets"]}
    vrfs = by(tables["vrfs"], "name")
    for v in vrfs.values():
        assert v["tenant"] in tenants
        assert {t for t in v["import_targets"].split(",") if t} <= rts
    assert all(p["vrf"] in vrfs or p["vrf"] == "" for p in tables["prefixes"])
    types = {t["model"] for t in tables["device-types"]}
    roles = {r["slug"] for r in tables["device-roles"]}
    platforms = {p["name"] for p in tables["platforms"]}
    for d in tables["devices"]:
        assert d["site"] in sites and d["device_type"] in types
        assert d["role"] in roles and d["platform"] in platforms
    ports = by(tables["interfaces"], "device", "name")
    assert all((t["device_type"]) in types for t in tables["interface-templates"])
    for a in tables["ip-addresses"]:
        assert (a["device"], a["interface"]) in ports
        assert a["vrf"] == ports[a["device"], a["interface"]]["vrf"]
    circuits = by(tables["circuits"], "cid")
    providers = {p["name"] for p in tables["providers"]}
    ctypes = {t["name"] for t in tables["circuit-types"]}
    assert all(c["provider"] in providers and c["type"] in ctypes for c in circuits.values())
    ends = Counter(t["circuit"] for t in tables["circuit-terminations"])
    assert set(ends) == set(circuits) and set(ends.values()) == {2}
    assert all(t["site"] in sites for t in tables["circuit-terminations"])


def test_interface_types_and_speeds_follow_the_port(tables) -> None:
    ports = by(tables["interfaces"], "device", "name")
    city_up = ports["GD-CITY-440100", "XGigabitEthernet1/0/1"]
    assert (city_up["type"], city_up["speed"], city_up["mtu"]) == (
        "10gbase-x-sfpp",
        10_000_000,
        9000,
    )  # MPLS core MTU
    assert city_up["description"] == "primary to GD-CORE-01"
    core = ports["GD-CORE-01", "100GE1/4/1"]
    assert (core["type"], core["speed"]) == ("100gbase-x-qsfp28", 100_000_000)
    county = ports["GD-CNTY-440103", "GigabitEthernet1/1/1"]
    assert (county["type"], county["speed"]) == ("1000base-x-sfp", 1_000_000)
    town = ports["GD-TOWN-440103001", "GigabitEthernet1/1/1"]
    assert (town["type"], town["speed"]) == ("100base-tx", 100_000)
    assert ports["GD-TOWN-440103001", "LoopBack0"]["type"] == "virtual"
    assert Counter(p["type"] for p in ports.values())["other"] == 0
    assert interface_type(__import__("egov.units").units.ureg.Quantity(40, "Gbit/s")) == "40gbase-x-qsfpp"


def test_circuits_have_carriers_rates_and_both_ends(tables, small, params) -> None:
    circuits = tables["circuits"]
    assert len(circuits) == len(small.links)
    backup = [c for c in circuits if c["type"].startswith("备份")]
    assert backup and {c["provider"] for c in backup} == {params.backup.carrier}
    city_backup = next(c for c in backup if "GD-CITY-440100" in c["cid"])
    assert city_backup["commit_rate"] == 10_000_000 and city_backup["status"] == "planned"
    ends = {
        (t["circuit"], t["term_side"]): t
        for t in tables["circuit-terminations"]
        if t["circuit"] == city_backup["cid"]
    }
    assert ends[city_backup["cid"], "A"]["site"] == "440000 广东省"
    assert ends[city_backup["cid"], "Z"]["site"] == "440100 广州市"
    assert ends[city_backup["cid"], "Z"]["description"] == "GD-CITY-440100 XGigabitEthernet1/0/2"
    town = next(c for c in circuits if "GD-TOWN-440103001" in c["cid"])
    assert town["commit_rate"] == 100_000
    primary = [c for c in circuits if c["type"].startswith("主用")]
    assert primary and {c["provider"] for c in primary} == {"中国电信"}  # data/network.yaml circuits.carrier


def test_the_primary_carrier_is_data(small, params) -> None:
    other = params.model_copy(update={"circuits": params.circuits.model_copy(update={"carrier": "广东广电"})})
    tables = inventory_rows(small, "vrp", other)
    assert {p["name"] for p in tables["providers"]} == {"广东广电", params.backup.carrier}
    isolated = next(c for c in tables["circuits"] if c["cid"].startswith("ISO "))
    assert isolated["provider"] == "广东广电"  # leased from the primary carrier


def test_regions_sites_and_the_isolated_domain(tables) -> None:
    regions = by(tables["regions"], "slug")
    assert regions["gd-440000"]["parent"] == ""
    assert regions["gd-440100"]["parent"] == "440000 广东省"
    assert regions["gd-440103"]["parent"] == "440100 广州市"
    sites = by(tables["sites"], "slug")
    assert sites["gd-440103001"]["region"] == regions["gd-440103"]["name"]  # a town under its county
    assert sites["gd-441900003"]["region"] == regions["gd-441900"]["name"]  # 东莞: towns under the city
    assert sites["gd-440100-iso"]["region"] == regions["gd-440100"]["name"]
    devices = by(tables["devices"], "name")
    assert devices["GD-ISO-440100"]["site"] == sites["gd-440100-iso"]["name"]
    assert devices["GD-CITY-440100"]["site"] == sites["gd-440100"]["name"]
    assert {d["status"] for d in devices.values()} == {"planned"}
    assert {s["status"] for s in sites.values()} == {"planned"}
    # data/coordinates.csv: the seats of the province and the cities; counties and towns have none
    assert (sites["gd-440000"]["latitude"], sites["gd-440000"]["longitude"]) == (23.13, 113.27)
    assert (sites["gd-440100"]["latitude"], sites["gd-440100"]["longitude"]) == (23.13, 113.26)
    assert sites["gd-440100-iso"]["latitude"] == 23.13
    assert (sites["gd-440103001"]["latitude"], sites["gd-440103"]["longitude"]) == ("", "")


def test_coordinates_come_from_the_source(small, params) -> None:
    moved = inventory_rows(small, "vrp", params, coordinates={"441900": ("东莞市", 113.75, 23.02)})
    sites = by(moved["sites"], "slug")
    assert (sites["gd-441900"]["latitude"], sites["gd-441900"]["longitude"]) == (23.02, 113.75)
    assert sites["gd-440100"]["latitude"] == ""


def test_vrfs_route_targets_tenants_and_addresses(tables, params) -> None:
    vrfs = by(tables["vrfs"], "name")
    gat = params.departments["GAT"].vpn_id
    # its own RT and the shared-services RT (VRF public's), never another department's
    assert vrfs["dept-gat"]["import_targets"] == f"{params.bgp.asn}:{1000 + gat},{params.bgp.asn}:1"
    assert vrfs["dept-gat"]["tenant"] == "GAT 省公安厅"
    assert vrfs["public"]["export_targets"] == f"{params.bgp.asn}:1"
    assert "isolated" in vrfs
    assert tables["asns"] == [
        {"asn": params.bgp.asn, "rir": "RFC 6996", "description": "广东省电子政务外网 iBGP"}
    ]
    addresses = tables["ip-addresses"]
    assert len({(a["vrf"], a["address"]) for a in addresses}) == len(addresses)
    loopbacks = [a for a in addresses if a["role"] == "loopback"]
    assert all(a["is_primary"] == "true" and a["interface"] == "LoopBack0" for a in loopbacks)
    assert Counter(a["device"] for a in loopbacks) == Counter({d["name"]: 2 for d in tables["devices"]})
    gat_ports = [a for a in addresses if a["vrf"] == "dept-gat"]
    # 2 PEs × (the department's own port, its VLAN on the cloud DC port) × v4, v6
    assert len(gat_ports) == 8 and {a["tenant"] for a in gat_ports} == {"GAT 省公安厅"}
    iso = [a for a in addresses if a["device"] == "GD-ISO-440100"]
    mgmt_port = VENDORS["vrp"].management_port  # its out-of-band port is in the domain's management VRF
    assert iso and {a["vrf"] for a in iso if a["interface"] != mgmt_port} == {"isolated"}
    prefixes = by(tables["prefixes"], "vrf", "prefix")
    assert prefixes["dept-gat", f"172.16.{gat}.0/24"]["role"] == "cloud tenant subnet"
    assert str(params.ipv4.backbone) in {a["prefix"] for a in tables["aggregates"]}


def test_dc_port_vlans_are_netbox_vlans_and_sub_interfaces(tables, small) -> None:
    """Every dot1q sub-interface of the model: a VLAN (VID, department VRF's name, tenant) in the DC group,
    a virtual interface under its port carrying that VLAN in the department's VRF, with the model's addresses;
    the port a trunk tagging exactly its sub-interfaces' VIDs."""
    vlans = by(tables["vlans"], "group", "vid")
    (group,) = tables["vlan-groups"]
    interfaces = by(tables["interfaces"], "device", "name")
    addresses = {(a["device"], a["interface"], a["vrf"], a["address"]) for a in tables["ip-addresses"]}
    prefixes = by(tables["prefixes"], "vrf", "prefix")
    seen = 0
    for name, dev in small.devices.items():
        for att in dev.attachments:
            port = interfaces[name, interface_name("vrp", att)]
            tagged = [int(v) for v in port["tagged_vlans"].split(",") if v]
            assert tagged == sorted(v.vlan for v in att.vlans)
            assert port["mode"] == ("tagged" if att.vlans else "")
            for v in att.vlans:
                seen += 1
                vlan = vlans[group["name"], v.vlan]
                assert (vlan["name"], vlan["tenant"].split()[0]) == (v.vrf, v.customer)
                sub = interfaces[name, f"{port['name']}.{v.vlan}"]
                assert (sub["parent"], sub["mode"], sub["untagged_vlan"], sub["vrf"], sub["type"]) == (
                    port["name"],
                    "access",
                    v.vlan,
                    v.vrf,
                    "virtual",
                )
                for address in (v.address_v4, v.address_v6):
                    assert (name, sub["name"], v.vrf, str(address)) in addresses
                    assert prefixes[v.vrf, str(address.network)]["role"] == "customer attachment"
    assert seen == 2 * len(vlans) > 0  # both access routers carry every department's VLAN
    sub_names = {i["name"] for i in tables["interfaces"] if i["parent"]}
    assert not sub_names & {t["name"] for t in tables["interface-templates"]}  # configuration, not hardware
    assert '"' in to_csv(tables["interfaces"])  # the VID lists are quoted, as the import page wants


def test_device_types_per_role_with_height_and_templates(tables, small) -> None:
    types = by(tables["device-types"], "model")
    devices = by(tables["devices"], "name")
    assert devices["GD-CORE-01"]["device_type"] != devices["GD-TOWN-440103001"]["device_type"]
    assert all(float(t["u_height"]) >= 1 for t in types.values())
    templates = {(t["device_type"], t["name"]) for t in tables["interface-templates"]}
    town_type = devices["GD-TOWN-440103001"]["device_type"]
    assert {(town_type, "LoopBack0"), (town_type, "GigabitEthernet1/1/1")} <= templates
    for d in devices.values():  # a template is a port every device of the type has
        names = {i["name"] for i in tables["interfaces"] if i["device"] == d["name"]}
        assert {n for t, n in templates if t == d["device_type"]} <= names


def test_frr_is_a_platform_not_a_manufacturer(small, params) -> None:
    tables = inventory_rows(small, "frr", params)
    assert tables["platforms"] == [{"name": "FRRouting", "slug": "frr", "manufacturer": ""}]
    assert "FRRouting" not in {m["name"] for m in tables["manufacturers"]}
    assert set(VENDORS) == {"vrp", "iosxe", "frr"}


def test_same_input_same_bytes(small, params) -> None:
    one = to_json(inventory_rows(small, "iosxe", params))
    assert one == to_json(inventory_rows(small, "iosxe", params))
    assert to_csv(inventory_rows(small, "iosxe", params)["circuits"]).splitlines()[0] == (
        "cid,provider,type,status,commit_rate,description"
    )


def test_import_files_follow_netbox_import_pages(tables) -> None:
    import yaml

    from network.netbox import import_files

    files = import_files(tables)
    assert next(iter(files)) == "01-tenants.csv" and "17-interface-templates.csv" not in files
    assert "GD-TOWN-440103001,LoopBack0," not in files["19-interfaces.csv"]  # made by its device type
    docs = list(yaml.safe_load_all(files["16-device-types.yaml"]))
    town = next(d for d in docs if d["model"] == "AR6121E")
    assert town["u_height"] == 1 and town["manufacturer"] == "Huawei"
    assert {"name": "GigabitEthernet1/1/1", "type": "100base-tx"} in town["interfaces"]
    assert {"name": "GigabitEthernet0/0/0", "type": "1000base-t", "mgmt_only": True} in town["interfaces"]
    header = files["19-interfaces.csv"].splitlines()[0].split(",")
    assert "vrf" not in header and {"device", "name", "type", "speed", "cf_ospf_cost"} <= set(header)


def test_management_vrfs_hold_every_routers_out_of_band_port(tables, small) -> None:
    """Each routing domain's management VRF (VRF-lite: no route target): every router's management port,
    management-only, in it with its /31 and /127 (the /31 the device's out-of-band address), each a management
    prefix under the domain's out-of-band block; the blocks are aggregates unless one already covers them."""
    port_name = VENDORS["vrp"].management_port
    vrfs = by(tables["vrfs"], "name")
    interfaces = by(tables["interfaces"], "device", "name")
    prefixes = by(tables["prefixes"], "vrf", "prefix")
    aggregates = by(tables["aggregates"], "prefix")
    templates = by(tables["interface-templates"], "device_type", "name")
    models = {d["name"]: d["device_type"] for d in tables["devices"]}
    domains = {d.domain for d in small.devices.values()}
    assert domains == {"backbone", "isolated"}
    for domain in domains:
        mgmt = small.management[domain]
        assert (vrfs[mgmt.vrf]["import_targets"], vrfs[mgmt.vrf]["export_targets"]) == ("", "")
        routers = {n: d for n, d in small.devices.items() if d.domain == domain}
        in_vrf = [a for a in tables["ip-addresses"] if a["vrf"] == mgmt.vrf]
        want = {(n, port_name, str(d.management_port)) for n, d in routers.items()}
        want |= {(n, port_name, str(d.management_port_v6)) for n, d in routers.items()}
        assert {(a["device"], a["interface"], a["address"]) for a in in_vrf} == want
        oob = {a["device"]: a["address"] for a in in_vrf if a["is_oob"] == "true"}
        assert oob == {n: str(d.management_port) for n, d in routers.items()}
        for name, dev in routers.items():
            port = interfaces[name, port_name]
            assert (port["vrf"], port["mgmt_only"], port["type"]) == (mgmt.vrf, "true", "1000base-t")
            assert templates[models[name], port_name]["mgmt_only"] == "true"  # every device has one
            for net in (dev.management_port.network, dev.management_port_v6.network):
                assert net.subnet_of(mgmt.oob if net.version == 4 else mgmt.oob_v6)  # type: ignore[arg-type]
                assert prefixes[mgmt.vrf, str(net)]["role"] == "out-of-band management"
        assert prefixes[mgmt.vrf, str(mgmt.oob)]["status"] == "container"
        assert sum(p["vrf"] == mgmt.vrf for p in tables["prefixes"]) == 2 + 2 * len(routers)
    backbone_oob = small.management["backbone"].oob
    assert aggregates[str(backbone_oob)]["rir"] == "RFC 6598"  # 100.64.0.0/10, shared address space
    assert str(small.management["backbone"].oob_v6) in aggregates
    # the isolated domain's blocks lie inside its own aggregates: NetBox refuses overlapping aggregates
    assert str(small.management["isolated"].oob) not in aggregates


def test_the_trunk_port_is_a_row_of_the_import_not_a_template(tables, small) -> None:
    """The bulk-import page only creates: the DC trunk port must come from its row (mode, tagged VLANs),
    so it is no device-type template, while the access routers' other ports are."""
    trunks = {(r["device"], r["name"]) for r in tables["interfaces"] if r["mode"] == "tagged"}
    assert len(trunks) == len(list(small.by_tier("access")))
    models = {d["name"]: d["device_type"] for d in tables["devices"]}
    templated = {(t["device_type"], t["name"]) for t in tables["interface-templates"]}
    assert not {(models[d], n) for d, n in trunks} & templated
    (text,) = (t for n, t in import_files(tables).items() if n.endswith("-interfaces.csv"))
    rows = {(r["device"], r["name"]): r for r in csv.DictReader(io.StringIO(text))}
    for device, name in trunks:
        (dc,) = (a for a in small.devices[device].attachments if a.vlans)
        row = rows[device, name]
        assert (row["mode"], row["vlan_group"]) == ("tagged", "云数据中心接入 cloud DC")
        assert row["tagged_vlans"] == ",".join(str(v.vlan) for v in sorted(dc.vlans, key=lambda v: v.vlan))
        subs = [r for r in rows.values() if r["device"] == device and r["parent"] == name]
        assert sorted(int(r["untagged_vlan"]) for r in subs) == sorted(v.vlan for v in dc.vlans)
