"""`check` finds each kind of fault it claims to find, naming device and interface; the real plan is clean."""

from __future__ import annotations

import copy
from dataclasses import replace
from ipaddress import IPv4Interface

import pytest

from egov.units import Q_
from network.model import Link
from network.verify import (
    check_area_ranges,
    check_isolated,
    check_link_ends,
    check_model,
    check_no_overlap,
    check_reachability,
    check_survives_single_link_loss,
)


@pytest.fixture
def model(small):
    return copy.deepcopy(small)


def _set_iface(model, hostname: str, port: int, **changes) -> None:
    dev = model.devices[hostname]
    dev.interfaces = [replace(i, **changes) if i.port == port else i for i in dev.interfaces]


def test_the_real_plan_passes(backbone, params) -> None:
    assert check_model(backbone, params) == []


def test_mtu_mismatch_names_the_link(model) -> None:
    _set_iface(model, "GD-CNTY-440103", 1, mtu=9000)
    found = check_link_ends(model)
    assert [(v.check, v.device, v.interface) for v in found] == [("link-ends", "GD-CITY-440100", "port 13")]
    assert "MTU 1500 ≠ 9000" in found[0].message


def test_bandwidth_mismatch(model) -> None:
    _set_iface(model, "GD-TOWN-440103001", 1, bandwidth=Q_(1, "Gbit/s"))
    assert any("bandwidth" in v.message for v in check_link_ends(model))


def test_address_outside_the_link_subnet(model) -> None:
    _set_iface(model, "GD-TOWN-440103001", 1, address_v4=IPv4Interface("10.4.48.99/31"))
    found = check_link_ends(model)
    assert ("GD-TOWN-440103001", "port 1") in {(v.device, v.interface) for v in found}


def test_duplicate_address_is_found(model) -> None:
    victim = model.devices["GD-TOWN-440103002"]
    victim.loopback_v4 = model.devices["GD-TOWN-440103001"].loopback_v4
    found = check_no_overlap(model)
    assert found and {v.device for v in found} <= {"GD-TOWN-440103001", "GD-TOWN-440103002"}


def test_a_site_without_uplink_does_not_reach_the_core(model) -> None:
    model.links = [link for link in model.links if link.b != "GD-TOWN-440103001"]
    model.devices["GD-CNTY-440103"].interfaces = [
        i for i in model.devices["GD-CNTY-440103"].interfaces if i.peer != "GD-TOWN-440103001"
    ]
    model.devices["GD-TOWN-440103001"].interfaces = []
    assert [v.device for v in check_reachability(model)] == ["GD-TOWN-440103001"]


def test_a_city_without_its_backup_circuit_fails_single_link_loss(model, params) -> None:
    assert check_survives_single_link_loss(model, params.backup.counties) == []
    model.links = [
        link for link in model.links if not (link.b == "GD-CITY-440100" and link.plane == "backup")
    ]
    found = check_survives_single_link_loss(model, params.backup.counties)
    assert [v.device for v in found] == ["GD-CITY-440100"]


def test_an_isolated_router_linked_to_the_backbone_is_caught(model) -> None:
    iso = model.devices["GD-ISO-440100"]
    link = Link(
        "GD-CITY-440100",
        300,
        iso.hostname,
        9,
        iso.interfaces[0].subnet_v4,
        iso.interfaces[0].address_v6.network,
        Q_(1, "Gbit/s"),
        1500,
        "isolated",
        0,
    )
    model.links.append(link)
    found = check_isolated(model)
    assert ("GD-CITY-440100", "port 300") in {(v.device, v.interface) for v in found}
    assert all(v.device for v in found)  # every violation names a device


def test_a_range_base_in_use_is_caught(model) -> None:
    gz = model.devices["GD-CITY-440100"]
    gz.loopback_v4 = gz.area_ranges[0].prefix.network_address
    assert [v.device for v in check_area_ranges(model)] == ["GD-CITY-440100"]


def test_a_port_used_twice_is_caught(model) -> None:
    city = model.devices["GD-CITY-440100"]
    city.interfaces.append(replace(city.interfaces[-1], peer="GD-CORE-01"))
    found = check_link_ends(model)
    assert ("GD-CITY-440100", f"port {city.interfaces[-1].port}", "port used twice") in {
        (v.device, v.interface, v.message) for v in found
    }


def test_a_prefix_outside_its_city_summary_is_caught(model) -> None:
    _set_iface(model, "GD-TOWN-440103001", 1, ospf_area=441900)  # a Guangzhou town claiming 东莞's area
    found = {(v.check, v.device, v.interface) for v in check_area_ranges(model)}
    assert ("area-ranges", "GD-TOWN-440103001", "port 1") in found


def test_a_backup_on_the_primary_router_is_caught(backbone, params) -> None:
    from network.verify import check_backup_router

    model = copy.deepcopy(backbone)
    _set_iface(model, "GD-CNTY-440781", 2, peer="GD-CITY-440700")  # the backup back on the first router
    found = check_backup_router(model, params.backup.counties)
    assert [(v.device, v.interface) for v in found] == [("GD-CNTY-440781", "port 2")]
    assert "the router of the primary" in found[0].message


def test_a_second_city_router_without_its_own_uplink_is_caught(backbone, params) -> None:
    """Without its uplink to core 2 the second router hangs off the first: the first's failure cuts off
    every county of the city that has a backup."""
    from network.verify import check_backup_router

    model = backbone.subset(n for n in backbone.devices)
    model.links = [k for k in model.links if {k.a, k.b} != {"GD-CORE-02", "GD-CITY-440700-B"}]
    found = check_backup_router(model, params.backup.counties)
    cut = {v.device for v in found if "fails" in v.message}
    assert cut == {"GD-CNTY-440781", "GD-CNTY-440783", "GD-CNTY-440784", "GD-CNTY-440785"}
    assert all("GD-CITY-440700 fails" in v.message for v in found)
