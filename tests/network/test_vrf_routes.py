"""Department VRFs that route (issue 13, Build 1): the per-VRF route tables computed from the model, the
invariants `egov network check` draws from them, and how the two vendors spell the routes.

Hand-computed figures: FGW has VPN id 1, so its /28 of department links is 10.1.0.16/28 (horizontal access
/31s at +0 and +2, its VLAN on the DC ports at +4 and +6), its LAN 100.64.1.0/24 (ipv4.department_lans
100.64.0.0/12 + 1·256), its cloud subnet 172.16.1.0/24 and the shared services 172.16.0.0/24 (VPN id 0).
"""

from __future__ import annotations

import copy
from dataclasses import replace
from ipaddress import IPv4Network

import pytest

from network.addressing import department_cloud_subnet
from network.render import render_device
from network.verify import check_default_route, check_model, check_vrf_instances, check_vrf_routes
from network.vrftables import vrf_tables

FGW_LAN, FGW_CLOUD, SHARED = (
    IPv4Network("100.64.1.0/24"),
    IPv4Network("172.16.1.0/24"),
    IPv4Network("172.16.0.0/24"),
)
JXW_LAN, JXW_CLOUD = IPv4Network("100.64.2.0/24"), IPv4Network("172.16.2.0/24")


@pytest.fixture
def model(small):
    return copy.deepcopy(small)


def _vrf(model, hostname: str, name: str):
    return next(v for v in model.devices[hostname].vrfs if v.name == name)


def _set_vrf(model, hostname: str, name: str, **changes) -> None:
    dev = model.devices[hostname]
    dev.vrfs = [replace(v, **changes) if v.name == name else v for v in dev.vrfs]


def _set_attachment(model, hostname: str, port: int, **changes) -> None:
    dev = model.devices[hostname]
    dev.attachments = [replace(a, **changes) if a.port == port else a for a in dev.attachments]


def _messages(found) -> list[str]:
    return [f"{v.device} {v.interface}: {v.message}" for v in found]


def test_a_department_vrf_holds_its_lan_its_cloud_and_the_shared_services_only(small) -> None:
    table = vrf_tables(small)[("GD-ACC-01", "dept-fgw")]
    by_prefix = {(r.prefix, r.origin): r for r in table}
    lan = by_prefix[(FGW_LAN, "GD-ACC-01")]
    assert (lan.kind, lan.via, lan.origin_vrf) == ("static", "port 101", "dept-fgw")
    cloud = by_prefix[(FGW_CLOUD, "GD-ACC-02")]  # learnt over MP-BGP from the other access router
    assert (cloud.kind, cloud.via) == ("static", "port 5.1")
    assert by_prefix[(SHARED, "GD-ACC-01")].origin_vrf == "public"
    # both access routers' ports: the horizontal access and the DC VLAN /31s, the two static routes, the
    # shared services and the DC ports of VRF public — nothing else
    assert {r.prefix for r in table} == {
        IPv4Network("10.1.0.16/31"),
        IPv4Network("10.1.0.18/31"),
        IPv4Network("10.1.0.20/31"),
        IPv4Network("10.1.0.22/31"),
        IPv4Network("10.0.4.0/31"),
        IPv4Network("10.0.4.2/31"),
        FGW_LAN,
        FGW_CLOUD,
        SHARED,
    }
    # the shared services' VRF takes every department back (hub and spoke)
    public = {r.prefix for r in vrf_tables(small)[("GD-ACC-02", "public")]}
    assert {FGW_LAN, FGW_CLOUD, JXW_LAN, JXW_CLOUD} <= public


def test_the_cloud_subnet_in_the_vrf_is_the_one_stacks_create(small) -> None:
    routes = {r.prefix for r in vrf_tables(small)[("GD-ACC-01", "dept-fgw")] if r.via == "port 5.1"}
    assert department_cloud_subnet("FGW") in routes


def test_city_routers_carry_no_vrf_instance(backbone) -> None:
    assert all(not d.vrfs for d in backbone.by_tier("city"))
    assert sum(len(d.vrfs) for d in backbone.devices.values()) == 2 * (2 + 122)
    assert check_vrf_instances(backbone) == []


def test_small_model_passes(small, params) -> None:
    assert check_model(small, params) == []


def test_importing_another_department_is_caught(model, params) -> None:
    fgw = _vrf(model, "GD-ACC-01", "dept-fgw")
    _set_vrf(model, "GD-ACC-01", "dept-fgw", import_rt=(*fgw.import_rt, "65044:1002"))  # JXW's RT
    found = _messages(check_vrf_routes(model, params))
    assert any(m.startswith("GD-ACC-01 dept-fgw: 100.64.2.0/24 of dept-jxw") for m in found), found
    assert all(m.startswith("GD-ACC-01 dept-fgw:") for m in found), found


def test_a_department_exporting_the_shared_rt_is_caught(model, params) -> None:
    """A department that exports the shared-services RT leaks into every other department."""
    fgw = _vrf(model, "GD-ACC-01", "dept-fgw")
    _set_vrf(model, "GD-ACC-01", "dept-fgw", export_rt=(*fgw.export_rt, "65044:1"))
    found = _messages(check_vrf_routes(model, params))
    assert any(m.startswith("GD-ACC-02 dept-jxw: 100.64.1.0/24 of dept-fgw") for m in found), found


def test_a_missing_lan_route_is_caught(model, params) -> None:
    for pe in ("GD-ACC-01", "GD-ACC-02"):
        _set_attachment(model, pe, 101, routes=())
    found = _messages(check_vrf_routes(model, params))
    assert "GD-ACC-01 dept-fgw: no route to its LAN 100.64.1.0/24" in found


def test_a_dc_vlan_in_the_wrong_vrf_is_caught(model, params) -> None:
    """FGW's VLAN on the DC ports put in VRF public: its cloud subnet is shared with every department."""
    for pe in ("GD-ACC-01", "GD-ACC-02"):
        dc = next(a for a in model.devices[pe].attachments if a.port == 5)
        vlans = tuple(replace(v, vrf="public") if v.vlan == 1 else v for v in dc.vlans)
        _set_attachment(model, pe, 5, vlans=vlans)
    found = _messages(check_vrf_routes(model, params))
    leak = "GD-ACC-02 dept-jxw: 172.16.1.0/24 of dept-fgw (from GD-ACC-01 public"
    assert any(m.startswith(leak) for m in found), found


def test_a_static_route_to_another_departments_cloud_is_caught(model, params) -> None:
    _set_attachment(model, "GD-ACC-01", 101, routes=(FGW_LAN, JXW_CLOUD))
    found = _messages(check_vrf_routes(model, params))
    assert any(m.startswith("GD-ACC-01 dept-fgw: 172.16.2.0/24 of dept-jxw") for m in found), found


def test_a_default_route_into_a_department_is_caught(model, params) -> None:
    _set_attachment(model, "GD-ACC-01", 101, default_route=True)
    found = _messages(check_vrf_routes(model, params))
    assert any(m.startswith("GD-ACC-02 dept-fgw: 0.0.0.0/0 from GD-ACC-01 dept-fgw") for m in found), found
    assert any(v.device == "GD-ACC-01" for v in check_default_route(model))


def test_an_empty_vrf_instance_is_caught(model) -> None:
    model.devices["GD-CITY-440100"].vrfs = [_vrf(model, "GD-ACC-01", "dept-fgw")]
    assert _messages(check_vrf_instances(model)) == [
        "GD-CITY-440100 dept-fgw: VRF instance without a port in it"
    ]


def test_vrp_spells_the_routes_in_each_vrf(small) -> None:
    text = render_device(small, "GD-ACC-01", "vrp")
    lines = set(text.splitlines())
    assert "ip route-static vpn-instance dept-fgw 100.64.1.0 255.255.255.0 10.1.0.17 description FGW" in lines
    assert (
        "ip route-static vpn-instance dept-fgw 172.16.1.0 255.255.255.0 10.1.0.21 description cloud-dc-FGW"
        in lines
    )
    shared = "ip route-static vpn-instance public 172.16.0.0 255.255.255.0 10.0.4.1 description cloud-dc"
    assert shared in lines
    sub = text.split("interface XGigabitEthernet1/0/5.1\n", 1)[1].split("#\n", 1)[0]
    assert " dot1q termination vid 1\n ip binding vpn-instance dept-fgw\n" in sub
    assert " ip address 10.1.0.20 255.255.255.254\n" in sub
    bgp = text.split(" ipv4-family vpn-instance dept-fgw\n", 1)[1].split(" #\n", 1)[0]
    assert "  import-route direct\n  import-route static\n" in bgp
    internet = text.split(" ipv4-family vpn-instance internet\n", 1)[1].split(" #\n", 1)[0]
    assert "import-route static" not in internet  # its only static route is the default, by `network`


def test_iosxe_spells_the_routes_in_each_vrf(small) -> None:
    text = render_device(small, "GD-ACC-02", "iosxe")
    assert "ip route vrf dept-fgw 100.64.1.0 255.255.255.0 10.1.0.19 name FGW\n" in text
    assert "ip route vrf dept-fgw 172.16.1.0 255.255.255.0 10.1.0.23 name cloud-dc-FGW\n" in text
    af = text.split(" address-family ipv4 vrf dept-fgw\n", 1)[1].split(" exit-address-family", 1)[0]
    assert "  redistribute connected\n  redistribute static\n" in af
