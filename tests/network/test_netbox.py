"""The NetBox export is internally consistent: every reference points at a row imported before it."""

from __future__ import annotations

from collections import Counter

from network.netbox import inventory_rows, to_csv


def test_references_resolve_in_import_order(small) -> None:
    tables = inventory_rows(small, "iosxe")
    assert list(tables) == [
        "manufacturers", "platforms", "device-roles", "device-types",
        "sites", "devices", "interfaces", "ip-addresses", "cables",
    ]  # fmt: skip
    roles = {r["slug"] for r in tables["device-roles"]}
    sites = {s["name"] for s in tables["sites"]}
    assert all(d["role"] in roles and d["site"] in sites for d in tables["devices"])
    ports = {(i["device"], i["name"]) for i in tables["interfaces"]}
    assert all((a["device"], a["interface"]) in ports for a in tables["ip-addresses"])
    for c in tables["cables"]:
        assert (c["side_a_device"], c["side_a_name"]) in ports and (
            c["side_b_device"],
            c["side_b_name"],
        ) in ports
    assert len(tables["cables"]) == len(small.links)
    primaries = Counter(a["device"] for a in tables["ip-addresses"] if a["is_primary"] == "true")
    assert set(primaries.values()) == {2}  # the loopback's IPv4 and IPv6
    assert ("GD-CITY-440100", "TenGigabitEthernet1/0/1") in ports


def test_csv_has_the_netbox_headers(small) -> None:
    text = to_csv(inventory_rows(small)["cables"])
    assert text.splitlines()[0] == (
        "side_a_device,side_a_type,side_a_name,side_b_device,side_b_type,side_b_name,type,status,label"
    )
