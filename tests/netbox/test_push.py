"""`egov network inventory --push` into a real NetBox: the slice lands, reads back as the model says, a second
push changes nothing, a changed rate is updated in place, and every failure is a clear error."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from conftest import SLICE_CITY, create_custom_fields
from typer.testing import CliRunner

from network.cli import app
from network.naming import interface_name
from network.netbox import inventory_rows
from network.netbox_sync import NetBoxError, connect, push
from network.params import load_params
from network.vendors import get_vendor

pytestmark = [pytest.mark.netbox, pytest.mark.xdist_group("netbox")]


@pytest.fixture(scope="module")
def tables(slice_backbone) -> dict[str, list[dict[str, Any]]]:
    from network.departments import load_department_names

    return inventory_rows(slice_backbone, "vrp", load_params(), load_department_names())


@pytest.fixture(scope="module")
def first_push(netbox, api) -> dict[str, Any]:
    """The slice pushed through the CLI, as a user would (token from the environment)."""
    result = CliRunner().invoke(
        app,
        ["inventory", "--push", netbox.url, "--city", SLICE_CITY, "--format", "json"],
        env={"EGOV_NETBOX_TOKEN": netbox.token},
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_the_slice_lands_with_every_row(first_push, tables) -> None:
    assert first_push["error"] is None
    for table, rows in tables.items():
        landed = sum(first_push[k].get(table, 0) for k in ("created", "updated", "unchanged"))
        assert landed >= len(rows), (table, landed, len(rows))
    # the ports the device types' templates made with each device are filled in, not created again
    templated = sum(
        1
        for t in tables["interface-templates"]
        for d in tables["devices"]
        if d["device_type"] == t["device_type"]
    )
    assert first_push["created"]["interfaces"] == len(tables["interfaces"]) - templated


def test_reads_back_as_the_model_says(first_push, api, tables, slice_backbone) -> None:
    params = load_params()
    gat = api.ipam.vrfs.get(name="dept-gat")
    # its own route target and the shared services' (VRF public), never another department's
    assert sorted(rt.name for rt in gat.import_targets) == sorted(
        {f"{params.bgp.asn}:1", f"{params.bgp.asn}:{1000 + params.departments['GAT'].vpn_id}"}
    )
    assert gat.tenant.name.startswith("GAT ")
    assert api.ipam.prefixes.count() == len(tables["prefixes"])
    cloud = api.ipam.prefixes.get(prefix=f"172.16.{params.departments['GAT'].vpn_id}.0/24", vrf_id=gat.id)
    assert cloud.role.name == "cloud tenant subnet" and cloud.tenant.id == gat.tenant.id
    assert api.circuits.circuits.count() == len(slice_backbone.links)
    backup = api.circuits.circuits.get(cid=f"BAC GD-CORE-02:{10 + 53} GD-CITY-{SLICE_CITY}:2")
    assert backup.provider.name == params.backup.carrier and backup.commit_rate == 10_000_000
    ends = {t.term_side: t for t in api.circuits.circuit_terminations.filter(circuit_id=backup.id)}
    assert set(ends) == {"A", "Z"}
    assert ends["Z"].termination_type == "dcim.site" and ends["Z"].termination.name.startswith(SLICE_CITY)
    city_region = api.dcim.regions.get(slug=f"gd-{SLICE_CITY}")
    assert city_region.parent.slug == "gd-440000"
    county = api.dcim.regions.get(slug="gd-445302")
    assert county.parent.id == city_region.id
    assert api.dcim.sites.get(slug="gd-445302").region.id == county.id
    uplink = api.dcim.interfaces.get(device="GD-CITY-445300", name="XGigabitEthernet1/0/1")
    assert (uplink.type.value, uplink.speed, uplink.custom_fields["ospf_area"]) == (
        "10gbase-x-sfpp",
        10_000_000,
        0,
    )
    town = next(d for d in slice_backbone.by_tier("town"))
    town_up = api.dcim.interfaces.get(device=town.hostname, name="GigabitEthernet1/1/1")
    assert (town_up.type.value, town_up.speed) == ("100base-tx", 100_000)
    device = api.dcim.devices.get(name="GD-CITY-445300")
    assert device.status.value == "planned" and device.device_type.model == "NE8000 M8 DC"
    assert device.primary_ip4.address == f"{slice_backbone.devices['GD-CITY-445300'].loopback_v4}/32"
    loopback = api.ipam.ip_addresses.get(id=device.primary_ip4.id)
    assert loopback.role.value == "loopback" and loopback.assigned_object.name == "LoopBack0"
    in_gat = api.ipam.ip_addresses.filter(vrf_id=gat.id)
    # two access routers × (the department's own port, its VLAN on the cloud DC port) × IPv4, IPv6
    assert len(list(in_gat)) == 8


def test_dc_port_vlans_read_back(first_push, api, tables, slice_backbone) -> None:
    """The cloud DC port is a trunk of every department's VLAN; each VLAN a sub-interface under it in the
    department's VRF with the model's addresses."""
    params = load_params()
    vid = params.departments["GAT"].vpn_id
    vlan = api.ipam.vlans.get(vid=vid, group="gd-cloud-dc")
    assert (vlan.name, vlan.tenant.name.split()[0], vlan.group.slug) == ("dept-gat", "GAT", "gd-cloud-dc")
    assert api.ipam.vlans.count(group="gd-cloud-dc") == len(tables["vlans"])
    access = next(iter(slice_backbone.by_tier("access")))
    (dc,) = (a for a in access.attachments if a.vlans)
    port_name = interface_name("vrp", dc)
    port = api.dcim.interfaces.get(device=access.hostname, name=port_name)
    assert port.mode.value == "tagged" and sorted(v.vid for v in port.tagged_vlans) == sorted(
        v.vlan for v in dc.vlans
    )
    sub = api.dcim.interfaces.get(device=access.hostname, name=f"{port_name}.{vid}")
    assert (sub.parent.id, sub.mode.value, sub.untagged_vlan.id, sub.vrf.name, sub.type.value) == (
        port.id,
        "access",
        vlan.id,
        "dept-gat",
        "virtual",
    )
    (model_vlan,) = (v for v in dc.vlans if v.vlan == vid)
    assert sorted(a.address for a in api.ipam.ip_addresses.filter(interface_id=sub.id)) == sorted(
        [str(model_vlan.address_v4), str(model_vlan.address_v6)]
    )


def test_management_vrfs_read_back(first_push, api, slice_backbone) -> None:
    """Each domain's management VRF, read back: every router of the slice (cores, access, the city's, the
    isolated core) has its management port, management-only, in the VRF, its /31 and /127 there as the
    model says, the /31 its out-of-band address; each /31 and /127 a management prefix in the VRF."""
    port_name = get_vendor("vrp").management_port
    oob_ips = {d.name: d.oob_ip.address for d in api.dcim.devices.filter(has_oob_ip=True)}
    domains = sorted({d.domain for d in slice_backbone.devices.values()})
    assert domains == ["backbone", "isolated"]  # the slice holds the isolated core
    for domain in domains:
        mgmt = slice_backbone.management[domain]
        routers = {n: d for n, d in slice_backbone.devices.items() if d.domain == domain}
        vrf = api.ipam.vrfs.get(name=mgmt.vrf)
        assert vrf is not None and list(vrf.import_targets) == [] and list(vrf.export_targets) == []
        have = {  # the bulk-import test's city shares the VRF: the slice's routers only
            (a.assigned_object.device.name, a.assigned_object.name, a.address)
            for a in api.ipam.ip_addresses.filter(vrf_id=vrf.id)
            if a.assigned_object.device.name in slice_backbone.devices
        }
        want = {(n, port_name, str(d.management_port)) for n, d in routers.items()}
        want |= {(n, port_name, str(d.management_port_v6)) for n, d in routers.items()}
        assert have == want, (domain, sorted(have ^ want)[:4])
        ports = {i.device.name: i for i in api.dcim.interfaces.filter(name=port_name, vrf_id=vrf.id)}
        assert set(ports) == set(routers)
        assert all(i.mgmt_only and i.type.value == "1000base-t" for i in ports.values())
        assert {n: oob_ips[n] for n in routers} == {n: str(d.management_port) for n, d in routers.items()}
        prefixes = {p.prefix: p for p in api.ipam.prefixes.filter(vrf_id=vrf.id)}
        for dev in routers.values():
            for net in (dev.management_port.network, dev.management_port_v6.network):
                assert prefixes[str(net)].role.slug == "management"
        assert prefixes[str(mgmt.oob)].status.value == "container"
        assert len(prefixes) == 2 + 2 * len(routers)
    aggregate = api.ipam.aggregates.get(prefix=str(slice_backbone.management["backbone"].oob))
    assert aggregate is not None and aggregate.rir.name == "RFC 6598"


def test_second_push_changes_nothing_and_a_rate_changes_in_place(first_push, api, tables) -> None:
    again = push(api, tables)
    assert again.error is None and again.total_changes == 0, again.changes[:5]
    changed = copy.deepcopy(tables)
    circuit = next(c for c in changed["circuits"] if c["cid"].startswith("PRI GD-CORE-01"))
    before = api.circuits.circuits.get(cid=circuit["cid"])
    circuit["commit_rate"] = 20_000_000
    report = push(api, changed)
    assert report.error is None and report.updated == {"circuits": 1} and report.created == {}
    after = api.circuits.circuits.get(cid=circuit["cid"])
    assert after.id == before.id and after.commit_rate == 20_000_000
    assert push(api, tables).updated == {"circuits": 1}  # and back


def test_what_only_netbox_has_is_reported_and_kept_unless_pruned(first_push, api, tables) -> None:
    extra = api.dcim.sites.create(name="not in the model", slug="not-in-the-model", status="active")
    report = push(api, tables)
    assert "not-in-the-model" in report.only_in_netbox["sites"] and report.total_changes == 0
    assert api.dcim.sites.get(extra.id) is not None
    pruned = push(api, tables, prune=True)  # also whatever other tests left (the bulk-import city)
    assert pruned.error is None and pruned.deleted["sites"] >= 1 and api.dcim.sites.get(extra.id) is None
    after = push(api, tables)
    assert after.only_in_netbox == {} and after.total_changes == 0


def test_unreachable_netbox_is_a_clear_error() -> None:
    from slots.localpg import free_port

    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(NetBoxError, match=f"cannot reach NetBox at {url}"):
        connect(url, "nbt_x.y")


def test_a_bad_token_is_a_clear_error(netbox, tmp_path) -> None:
    with pytest.raises(NetBoxError, match="refused the token"):
        connect(netbox.url, "nbt_nosuchkey.nosuchtoken")
    token_file = tmp_path / "token"
    token_file.write_text("nbt_nosuchkey.nosuchtoken\n")
    result = CliRunner().invoke(
        app, ["inventory", "--push", netbox.url, "--city", SLICE_CITY, "--token-file", str(token_file)]
    )
    assert result.exit_code == 1 and "refused the token" in result.output
    result = CliRunner().invoke(app, ["inventory", "--push", netbox.url], env={"EGOV_NETBOX_TOKEN": ""})
    assert result.exit_code == 2 and "EGOV_NETBOX_TOKEN" in result.output


def test_a_missing_custom_field_stops_before_anything_is_pushed(first_push, netbox, api, tables) -> None:
    api.extras.custom_fields.get(name="ospf_cost").delete()
    try:
        with pytest.raises(NetBoxError, match=r"lacks the custom field\(s\) the push fills: ospf_cost"):
            connect(netbox.url, netbox.token)
    finally:
        create_custom_fields(api)
    # deleting the field dropped its values from every interface; the next push puts back exactly those
    again = push(api, tables)
    with_cost = sum(1 for row in tables["interfaces"] if row["cf_ospf_cost"] != "")
    assert again.error is None and again.updated == {"interfaces": with_cost}, again.changes[:3]


def test_a_refused_object_stops_the_push_and_the_report_says_what_was_done(first_push, api, tables) -> None:
    broken = copy.deepcopy(tables)
    broken["sites"].append({**broken["sites"][0], "name": "new site", "slug": "egov-new-site"})
    broken["interfaces"][0] = {**broken["interfaces"][0], "type": "no-such-type"}
    report = push(api, broken)
    assert report.created == {"sites": 1}
    assert (
        report.error is not None
        and "NetBox refused interfaces" in report.error
        and "no-such-type" in report.error
    )
    assert "ip-addresses" not in report.unchanged  # stopped there
    # what it did not get to: the refused port (alone in its list: nothing else differs), the sub-interfaces
    # (pushed after their ports), and every row of the tables after it
    sub_interfaces = sum(1 for row in tables["interfaces"] if row["parent"])
    assert report.not_pushed["interfaces"] == 1 + sub_interfaces
    assert report.not_pushed["ip-addresses"] == len(tables["ip-addresses"])
    assert report.not_pushed["circuit-terminations"] == len(tables["circuit-terminations"])
    assert "sites" not in report.not_pushed and "devices" not in report.not_pushed
    api.dcim.sites.get(slug="egov-new-site").delete()
