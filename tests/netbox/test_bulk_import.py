"""The export's import files land through NetBox's own bulk-import pages (logged in as a user, CSRF and all):
a city's regions, sites, catalogue, device types with their templates, devices and interfaces."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from network.netbox import import_files, inventory_rows
from network.params import load_params

pytestmark = [pytest.mark.netbox, pytest.mark.xdist_group("netbox")]

CITY = "441500"  # 汕尾 (the push tests use another city and vendor, so nothing collides)
PAGES = {
    "regions": ("/dcim/regions/import/", "slug"),
    "sites": ("/dcim/sites/import/", "slug"),
    "manufacturers": ("/dcim/manufacturers/import/", "slug"),
    "platforms": ("/dcim/platforms/import/", "slug"),
    "device-roles": ("/dcim/device-roles/import/", "slug"),
    "device-types": ("/dcim/device-types/import/", None),
    "devices": ("/dcim/devices/import/", None),
    "interfaces": ("/dcim/interfaces/import/", None),
}


@pytest.fixture(scope="module")
def city_tables(api) -> dict[str, list[dict[str, Any]]]:
    from network.topology import build_backbone

    backbone = build_backbone()
    keep = [n for n, d in backbone.devices.items() if d.city_code == CITY and d.domain == "backbone"]
    return inventory_rows(backbone.subset(keep[:12]), "iosxe", load_params())


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


def test_the_import_files_land_through_the_import_pages(netbox, api, city_tables) -> None:
    files = import_files(city_tables)
    client = login(netbox)
    said: dict[str, str] = {}
    for table, (page, key) in PAGES.items():
        name = next(n for n in files if n[3:].rsplit(".", 1)[0] == table)
        text = files[name]
        if key is not None:  # shared rows another test may have pushed already: import only the missing
            endpoint = {
                "regions": api.dcim.regions,
                "sites": api.dcim.sites,
                "manufacturers": api.dcim.manufacturers,
                "platforms": api.dcim.platforms,
                "device-roles": api.dcim.device_roles,
            }[table]
            have = {getattr(o, key) for o in endpoint.all()}
            lines = text.splitlines()
            header = lines[0].split(",")
            kept = [line for line in lines[1:] if line.split(",")[header.index(key)] not in have]
            if not kept:
                continue
            text = "\n".join([lines[0], *kept]) + "\n"
        said[table] = import_page(client, page, text, "yaml" if name.endswith(".yaml") else "csv")
    for row in city_tables["devices"]:
        device = api.dcim.devices.get(name=row["name"])
        assert device is not None, (row["name"], {t: s for t, s in said.items() if s})
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
