"""The provincial Internet exit (issue 13, Build 1): the exit routers' own source NAT of the shared services
to the carrier's pool, the default route there alone, and nothing of it in a department's VRF.

Hand-computed: internet_exit.nat_pool 198.51.100.0/28 splits into 198.51.100.0/29 (GD-ACC-01) and
198.51.100.8/29 (GD-ACC-02); the inside is the shared services' 172.16.0.0/24 in VRF public.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from ipaddress import IPv4Network

import pytest

from network.params import load_params
from network.render import render_device
from network.verify import check_exit_nat, check_vrf_routes
from network.vrftables import DEFAULT_V4, vrf_tables


@pytest.fixture
def model(small):
    return copy.deepcopy(small)


def _exit(model, hostname: str):
    return next(a for a in model.devices[hostname].attachments if a.default_route)


def _set_exit(model, hostname: str, **changes) -> None:
    dev = model.devices[hostname]
    dev.attachments = [replace(a, **changes) if a.default_route else a for a in dev.attachments]


def test_each_exit_translates_the_shared_services_to_its_half_of_the_pool(small) -> None:
    for hostname, pool in (("GD-ACC-01", "198.51.100.0/29"), ("GD-ACC-02", "198.51.100.8/29")):
        nat = _exit(small, hostname).nat
        assert nat is not None
        assert (nat.pool, nat.inside, nat.inside_vrf) == (
            IPv4Network(pool),
            (IPv4Network("172.16.0.0/24"),),
            "public",
        )


def test_the_default_route_reaches_public_and_no_department(small) -> None:
    tables = vrf_tables(small)
    with_default = sorted(k for k, routes in tables.items() if any(r.prefix == DEFAULT_V4 for r in routes))
    assert with_default == [
        ("GD-ACC-01", "internet"),
        ("GD-ACC-01", "public"),
        ("GD-ACC-02", "internet"),
        ("GD-ACC-02", "public"),
    ]


def test_small_model_exit_is_clean(small, params) -> None:
    assert check_exit_nat(small, params) == []


def test_an_exit_without_nat_is_caught(model, params) -> None:
    _set_exit(model, "GD-ACC-02", nat=None)
    found = check_exit_nat(model, params)
    assert [(v.device, v.interface, v.message) for v in found] == [
        ("GD-ACC-02", "port 6", "Internet exit without source NAT")
    ]


def test_overlapping_pools_and_a_pool_outside_the_data_are_caught(model, params) -> None:
    nat = _exit(model, "GD-ACC-01").nat
    _set_exit(model, "GD-ACC-02", nat=replace(nat, pool=IPv4Network("198.51.100.0/28")))
    found = [v.message for v in check_exit_nat(model, params)]
    assert found == ["NAT pool 198.51.100.0/28 overlaps GD-ACC-01's 198.51.100.0/29"]
    _set_exit(model, "GD-ACC-02", nat=replace(nat, pool=IPv4Network("203.0.113.0/29")))
    found = [v.message for v in check_exit_nat(model, params)]
    assert found == ["NAT pool 203.0.113.0/29 outside internet_exit.nat_pool 198.51.100.0/28"]


def test_an_exit_that_cannot_route_the_reply_back_is_caught(model, params) -> None:
    """The internet VRF stops importing public's RT: the untranslated reply has no way to the inside."""
    for pe in ("GD-ACC-01", "GD-ACC-02"):
        dev = model.devices[pe]
        dev.vrfs = [replace(v, import_rt=("65044:2",)) if v.name == "internet" else v for v in dev.vrfs]
    found = [(v.device, v.message) for v in check_exit_nat(model, params)]
    assert ("GD-ACC-01", "no route back to the inside 172.16.0.0/24 in VRF internet") in found


def test_a_department_importing_the_internet_is_caught(model, params) -> None:
    dev = model.devices["GD-ACC-01"]
    dev.vrfs = [
        replace(v, import_rt=(*v.import_rt, "65044:2")) if v.name == "dept-fgw" else v for v in dev.vrfs
    ]
    found = [f"{v.device} {v.interface}: {v.message}" for v in check_vrf_routes(model, params)]
    assert "GD-ACC-01 dept-fgw: 0.0.0.0/0 from GD-ACC-02 internet port 6" in found


def test_the_pool_must_be_public(tmp_path) -> None:
    from egov.errors import SourceError
    from network.params import DATA_DIR

    text = (DATA_DIR / "network.yaml").read_text(encoding="utf-8")
    path = tmp_path / "network.yaml"
    path.write_text(text.replace("nat_pool: 198.51.100.0/28", "nat_pool: 10.9.0.0/28"), encoding="utf-8")
    with pytest.raises(SourceError, match=r"internet_exit\.nat_pool.*10\.9\.0\.0/28 is private"):
        load_params(path)


def test_vrp_and_iosxe_spell_the_nat(small) -> None:
    vrp = render_device(small, "GD-ACC-02", "vrp")
    assert "nat address-group 1 198.51.100.8 198.51.100.15\n" in vrp
    acl = vrp.split("acl number 3900\n", 1)[1].split("#\n", 1)[0]
    assert " rule 5 permit ip vpn-instance public source 172.16.0.0 0.0.0.255\n" in acl
    port = vrp.split("interface XGigabitEthernet1/0/6\n", 1)[1].split("#\n", 1)[0]
    assert " nat outbound 3900 address-group 1\n" in port
    ios = render_device(small, "GD-ACC-01", "iosxe")
    assert "ip nat pool GD-NAT 198.51.100.0 198.51.100.7 prefix-length 29\n" in ios
    assert "ip nat inside source list GD-NAT-INSIDE pool GD-NAT vrf public overload\n" in ios
    assert "ip access-list standard GD-NAT-INSIDE\n permit 172.16.0.0 0.0.0.255\n" in ios
    exit_port = ios.split("interface TenGigabitEthernet1/0/6\n", 1)[1].split("!\n", 1)[0]
    assert " ip nat outside\n" in exit_port
    dc_port = ios.split("interface TenGigabitEthernet1/0/5\n", 1)[1].split("!\n", 1)[0]
    assert " ip nat inside\n" in dc_port
