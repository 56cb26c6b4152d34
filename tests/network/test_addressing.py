"""The address plan: hand-computed assignments, and hypothesis properties (no overlap, in pool, stable)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Interface, IPv4Network, IPv6Address

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from network.addressing import (
    AddressPlan,
    AddressPlanError,
    backbone_prefixes,
    city_slot,
    county_slot,
    department_cloud_subnet,
    is_inside,
    resolve_vpn_ids,
    town_slot,
)
from network.departments import access_bandwidth
from network.topology import build_backbone
from network.verify import check_no_overlap, check_pools


def test_slots_follow_the_code_digits() -> None:
    assert city_slot("440100") == 1
    assert city_slot("445300") == 53
    assert county_slot("440103") == 3
    assert county_slot("440281") == 48  # county-level cities fold 81..95 onto 48..62
    assert county_slot("441900") == 0  # towns directly under 东莞
    assert town_slot("440103001") == 1
    assert town_slot("441900129") == 40 + 29
    assert town_slot("440103204") == 80 + 4


@pytest.mark.parametrize("code", ["440148", "440180", "440196"])
def test_county_outside_the_plan_is_refused(code: str) -> None:
    with pytest.raises(AddressPlanError, match=code):
        county_slot(code)


@pytest.mark.parametrize("code", ["440103000", "440103040", "440103140", "440103301"])
def test_town_outside_the_plan_is_refused(code: str) -> None:
    with pytest.raises(AddressPlanError, match=code):
        town_slot(code)


def test_hand_computed_assignments(params) -> None:
    plan = AddressPlan(params)
    # 越秀区 440104 / town 001: 10.0.0.0 + 1<<18 (广州) + 4<<12 + 1<<5, loopback at +20
    assert plan.loopback("440104001") == IPv4Address("10.4.64.52")
    assert plan.lan("440104001") == IPv4Network("10.4.64.32/28")
    assert plan.uplink("440104001") == IPv4Network("10.4.64.48/31")
    assert plan.uplink("440104") == IPv4Network("10.4.64.16/31")
    assert plan.uplink("440104", backup=True) == IPv4Network("10.4.64.18/31")
    assert plan.lan("440104") == IPv4Network("10.4.79.0/24")  # site slots 120-127 of the county
    assert plan.city_block("440100") == IPv4Network("10.4.0.0/14")
    assert plan.city_block("445300") == IPv4Network("10.212.0.0/14")
    assert plan.lan("440100") == IPv4Network("10.7.248.0/21")  # upper half of the city's own /20
    assert plan.loopback("440100") == IPv4Address("10.0.3.1")  # city loopbacks live in area 0
    assert plan.uplink("440100") == IPv4Network("10.0.2.2/31")
    assert plan.uplink("440100", backup=True) == IPv4Network("10.0.2.130/31")
    assert plan.v6_mirror(IPv4Interface("10.0.3.1/32")).ip == IPv6Address("fd00:4400::301")
    assert plan.v6_mirror(IPv4Interface("10.4.64.49/31")).network.prefixlen == 127
    assert plan.department_cloud_subnet(1) == IPv4Network("172.16.1.0/24")


def test_department_api(params) -> None:
    ids = resolve_vpn_ids(params, ["FGW", "ZWFW"])
    assert ids == {"FGW": 1, "ZWFW": 122}
    assert department_cloud_subnet("FGW") == IPv4Network("172.16.1.0/24")
    assert department_cloud_subnet("ZWFW") == IPv4Network("172.16.122.0/24")
    assert not is_inside(department_cloud_subnet("FGW"), backbone_prefixes())
    assert all(not department_cloud_subnet("FGW").overlaps(p) for p in backbone_prefixes() if p.version == 4)
    assert access_bandwidth("ZWFW").to("Gbit/s").magnitude == pytest.approx(40)
    assert access_bandwidth("FGW").to("Gbit/s").magnitude == pytest.approx(10)
    with pytest.raises(KeyError):
        department_cloud_subnet("NOPE")


def test_unpinned_departments_follow_the_pinned_ones(params) -> None:
    ids = resolve_vpn_ids(params, ["FGW", "AAA-NEW", "ZZZ-NEW"])
    assert ids["FGW"] == 1
    assert ids["AAA-NEW"] == 123 and ids["ZZZ-NEW"] == 124


# -- properties over generated division trees ----------------------------------------------------------------
CITY_XX = st.sampled_from(["01", "02", "05", "19", "20", "51", "53"])
COUNTY_YY = st.sampled_from(["02", "03", "21", "33", "47", "81", "95"])
TOWN_ZZZ = st.sampled_from(["001", "002", "039", "100", "101", "139", "200", "239"])


@st.composite
def division_codes(draw) -> list[str]:
    cities = draw(st.sets(CITY_XX, min_size=1, max_size=3))
    codes = []
    for xx in sorted(cities):
        city = f"44{xx}00"
        codes.append(city)
        for yy in sorted(draw(st.sets(COUNTY_YY, max_size=3))):
            codes.append(f"44{xx}{yy}")
            codes += [f"44{xx}{yy}{z}" for z in sorted(draw(st.sets(TOWN_ZZZ, max_size=3)))]
        codes += [f"{city}{z}" for z in sorted(draw(st.sets(TOWN_ZZZ, max_size=2)))]  # 东莞-style towns
    return codes


def _addresses(backbone) -> dict[tuple[str, str], str]:
    out = {}
    for name, dev in backbone.devices.items():
        out[(name, "loopback")] = str(dev.loopback_v4)
        for i in dev.interfaces:
            out[(name, f"{i.peer}:{i.port}")] = f"{i.address_v4} {i.address_v6}"
        for n, lan in enumerate(dev.lans):
            out[(name, f"lan{n}")] = f"{lan.prefix_v4} {lan.prefix_v6}"
    return out


SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(codes=division_codes())
def test_no_overlap_and_every_prefix_in_its_pool(
    params, bare_params, make_tree, fake_source, codes: list[str]
) -> None:
    model = build_backbone(fake_source("FGW", "JYT"), params=bare_params, divisions=make_tree(*codes))
    assert check_no_overlap(model) == []
    assert check_pools(model, params) == []
    # the FRR 8.4 rule: no allocated prefix starts at a city's summary base
    bases = {int(params.ipv4.backbone.network_address) + (city_slot(c) << 18) for c in codes if len(c) == 6}
    for (_, _), text in _addresses(model).items():
        for token in text.split():
            if "." in token:
                assert int(IPv4Interface(token).network.network_address) not in bases


@SETTINGS
@given(before=division_codes(), extra=division_codes())
def test_additions_never_move_an_existing_assignment(
    bare_params, make_tree, fake_source, before: list[str], extra: list[str]
) -> None:
    small = build_backbone(fake_source("FGW"), params=bare_params, divisions=make_tree(*before))
    grown = build_backbone(
        fake_source("FGW"), params=bare_params, divisions=make_tree(*sorted(set(before) | set(extra)))
    )
    old, new = _addresses(small), _addresses(grown)
    assert {key: new[key] for key in old} == old
