"""The export's import files land through NetBox's own bulk-import pages (logged in as a user, CSRF and all):
a city's regions, sites, catalogue, device types with their templates, devices and interfaces, with an access
router whose cloud DC port is a trunk of every department's VLAN, one dot1q sub-interface per VLAN; the
tenants, VRFs (departments' and management), VLANs and addresses they need."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from network.model import Backbone
from network.naming import interface_name
from network.netbox import DC_VLAN_GROUP, import_files, inventory_rows
from network.params import load_params
from network.vendors import get_vendor

pytestmark = [pytest.mark.netbox, pytest.mark.xdist_group("netbox")]

CITY = "441500"  # 汕尾 (the push tests use another city and vendor, so nothing collides)
VENDOR = "iosxe"
#: page, and the key of rows another test may have pushed already (None: rows only this test makes)
PAGES = {
    "tenants": ("/tenancy/tenants/import/", "slug"),
    "regions": ("/dcim/regions/import/", "slug"),
    "sites": ("/dcim/sites/import/", "slug"),
    "route-targets": ("/ipam/route-targets/import/", "name"),
    "vrfs": ("/ipam/vrfs/import/", "name"),
    "vlan-groups": ("/ipam/vlan-groups/import/", "slug"),
    "vlans": ("/ipam/vlans/import/", "vid"),
    "manufacturers": ("/dcim/manufacturers/import/", "slug"),
    "platforms": ("/dcim/platforms/import/", "slug"),
    "device-roles": ("/dcim/device-roles/import/", "slug"),
    "device-types": ("/dcim/device-types/import/", None),
    "devices": ("/dcim/devices/import/", None),
    "interfaces": ("/dcim/interfaces/import/", None),
    "ip-addresses": ("/ipam/ip-addresses/import/", None),
}


@pytest.fixture(scope="module")
def city_backbone() -> Backbone:
    """Twelve routers of the city and the first access router (the one with its cloud DC port's VLANs)."""
    from network.topology import build_backbone

    backbone = build_backbone()
    keep = [n for n, d in backbone.devices.items() if d.city_code == CITY and d.domain == "backbone"]
    access = sorted(d.hostname for d in backbone.by_tier("access"))[0]
    return backbone.subset([*keep[:12], access])


@pytest.fixture(scope="module")
def city_tables(api, city_backbone) -> Iterator[dict[str, list[dict[str, Any]]]]:
    from network.departments import load_department_names

    tables = inventory_rows(city_backbone, VENDOR, load_params(), load_department_names())
    yield tables
    # The push tests' slice has the same access router: leave it to them (its ports and addresses go with it)
    for dev in city_backbone.by_tier("access"):
        if (found := api.dcim.devices.get(name=dev.hostname)) is not None:
            found.delete()


def login(netbox) -> httpx.Client:
    client = httpx.Client(base_url=netbox.url, follow_redirects=True, timeout=120)
    client.get("/login/")
    response = client.post(
        "/login/",
        data={
            "username": netbox.admin,
            "password": netbox.password,
            "csrfmiddlewaretoken": client.cookies["csrftoken"],
        },
        headers={"Referer": netbox.url + "/login/"},
    )
    assert response.status_code == 200 and "sessionid" in client.cookies, response.text[-500:]
    return client


def import_page(client: httpx.Client, page: str, text: str, fmt: str) -> str:
    """POST ``text`` to an import page as its form does; returns what the page said (errors, if any)."""
    client.get(page)
    response = client.post(
        page,
        data={
            "csrfmiddlewaretoken": client.cookies["csrftoken"],
            "import_method": "direct",
            "data": text,
            "format": fmt,
            "csv_delimiter": ",",
        },
        headers={"Referer": str(client.base_url) + page},
    )
    assert response.status_code == 200, response.text[-1500:]
    return _errors(response.text)


def _errors(html: str) -> str:
    at = max(html.find("alert-danger"), html.find("is-invalid"), html.find("errorlist"))
    return "" if at < 0 else html[max(0, at - 200) : at + 1500]


@pytest.fixture(scope="module")
def imported(netbox, api, city_tables) -> dict[str, str]:
    """The import files posted page by page, as a user would; {table: what its page said, if an error}."""
    files = import_files(city_tables)
    client = login(netbox)
    said: dict[str, str] = {}
    for table, (page, key) in PAGES.items():
        name = next(n for n in files if n[3:].rsplit(".", 1)[0] == table)
        text = files[name]
        if key is not None:  # shared rows another test may have pushed already: import only the missing
            endpoint = {
                "tenants": api.tenancy.tenants,
                "regions": api.dcim.regions,
                "sites": api.dcim.sites,
                "route-targets": api.ipam.route_targets,
                "vrfs": api.ipam.vrfs,
                "vlan-groups": api.ipam.vlan_groups,
                "vlans": api.ipam.vlans,
                "manufacturers": api.dcim.manufacturers,
                "platforms": api.dcim.platforms,
                "device-roles": api.dcim.device_roles,
            }[table]
            have = {str(getattr(o, key)) for o in endpoint.all()}
            rows = list(csv.DictReader(io.StringIO(text)))
            kept = [row for row in rows if row[key] not in have]
            if not kept:
                continue
            buffer = io.StringIO()
            writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(kept)
            text = buffer.getvalue()
        said[table] = import_page(client, page, text, "yaml" if name.endswith(".yaml") else "csv")
    return {t: s for t, s in said.items() if s}


def test_the_import_files_land_through_the_import_pages(imported, api, city_tables) -> None:
    for row in city_tables["devices"]:
        device = api.dcim.devices.get(name=row["name"])
        assert device is not None, (row["name"], imported)
        assert (device.device_type.model, device.status.value, device.site.name) == (
            row["device_type"],
            "planned",
            row["site"],
        )
        want = {(i["name"], i["type"]) for i in city_tables["interfaces"] if i["device"] == row["name"]}
        have = {(i.name, i.type.value) for i in api.dcim.interfaces.filter(device_id=device.id)}
        assert have == want, row["name"]
    county = next(r for r in city_tables["devices"] if r["role"] == "county-router")
    (port,) = (  # the county's 1G uplink to its city, named as the vendor registry numbers it
        i["name"]
        for i in city_tables["interfaces"]
        if i["device"] == county["name"] and i["description"].startswith("primary to GD-CITY-")
    )
    uplink = api.dcim.interfaces.get(device=county["name"], name=port)
    assert uplink is not None and uplink.type.value == "1000base-x-sfp", port


def test_the_dc_port_and_its_sub_interfaces_land_through_the_import_page(
    imported, api, city_backbone
) -> None:
    """The access router's cloud DC port, imported by its CSV row: a tagged trunk of the departments' VLANs;
    each sub-interface under it carrying its VLAN untagged, its addresses in the department's VRF. (The
    page names an interface's own VRF by its RD, which the departments' VRFs have one of per PE, not per
    VRF: the interface's VRF comes with ``--push``, the addresses' VRF with the import.)"""
    (access,) = city_backbone.by_tier("access")
    (dc,) = (a for a in access.attachments if a.vlans)
    port_name = interface_name(VENDOR, dc)
    port = api.dcim.interfaces.get(device=access.hostname, name=port_name)
    assert port is not None and port.mode.value == "tagged", imported
    assert sorted(v.vid for v in port.tagged_vlans) == sorted(v.vlan for v in dc.vlans)
    assert {v.group.slug for v in port.tagged_vlans} == {DC_VLAN_GROUP["slug"]}
    subs = {i.name: i for i in api.dcim.interfaces.filter(device_id=port.device.id, parent_id=port.id)}
    assert sorted(subs) == sorted(f"{port_name}.{v.vlan}" for v in dc.vlans)
    for v in dc.vlans:
        sub = subs[f"{port_name}.{v.vlan}"]
        assert (sub.mode.value, sub.untagged_vlan.vid, sub.untagged_vlan.name) == ("access", v.vlan, v.vrf)
        addresses = {
            (a.vrf.name if a.vrf else "", a.address)
            for a in api.ipam.ip_addresses.filter(interface_id=sub.id)
        }
        assert addresses == {(v.vrf, str(v.address_v4)), (v.vrf, str(v.address_v6))}


def test_management_addresses_land_through_the_import_page(imported, api, city_backbone) -> None:
    """Every imported router: its management port (from the device type's template, management-only), its
    /31 and /127 in the management VRF, the /31 its out-of-band address."""
    port_name = get_vendor(VENDOR).management_port
    mgmt = city_backbone.management["backbone"]
    for name, dev in city_backbone.devices.items():
        device = api.dcim.devices.get(name=name)
        assert device is not None, name
        port = api.dcim.interfaces.get(device_id=device.id, name=port_name)
        assert port.mgmt_only, name
        addresses = {
            (a.vrf.name if a.vrf else "", a.address)
            for a in api.ipam.ip_addresses.filter(interface_id=port.id)
        }
        assert addresses == {(mgmt.vrf, str(dev.management_port)), (mgmt.vrf, str(dev.management_port_v6))}, (
            name,
            imported,
        )
        assert device.oob_ip.address == str(dev.management_port), name
