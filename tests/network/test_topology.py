"""The province's topology: tiers, circuits per tier, the backup plane, the isolated domain, slicing."""

from __future__ import annotations

import pytest

from network.naming import interface_name


def test_device_counts(backbone) -> None:
    assert backbone.counts() == {
        "core": 2,
        "access": 2,
        "city": 21 + 11,  # 11 cities have a second router for their counties' backup circuits
        "county": 122,
        "town": 1610,
        "isolated-core": 1,
        "isolated": 4,
    }
    assert len(backbone.devices) == 1773


def test_bandwidth_per_tier(backbone) -> None:
    def gbit(dev, port):
        return backbone.devices[dev].interface(port).bandwidth.to("Gbit/s").magnitude

    assert gbit("GD-CITY-440100", 1) == pytest.approx(10)  # province ↔ city
    assert gbit("GD-CNTY-440103", 1) == pytest.approx(1)  # city ↔ county
    assert gbit("GD-TOWN-440103001", 1) == pytest.approx(0.1)  # county ↔ town
    assert gbit("GD-TOWN-441900003", 1) == pytest.approx(0.1)  # 东莞: town ↔ city


def test_every_city_is_dual_homed_to_both_cores(backbone) -> None:
    for city in backbone.by_tier("city"):
        uplinks = {(i.peer, i.plane) for i in city.interfaces if i.ospf_area == 0}
        if city.hostname.endswith("-B"):  # second router: core 2 in area 0, the first router in the city's
            first = city.hostname.removesuffix("-B")
            assert uplinks == {("GD-CORE-02", "backup")}, city.hostname
            intra = [i for i in city.interfaces if i.peer == first]
            assert [i.ospf_area for i in intra] == [int(city.division_code)], city.hostname
            continue
        uplinks -= {(f"{city.hostname}-B", "backup")}
        assert uplinks == {("GD-CORE-01", "primary"), ("GD-CORE-02", "backup")}, city.hostname


def test_a_county_backup_ends_on_the_second_city_router(backbone) -> None:
    """Hand-checked: 台山 (440781) hangs under 江门 (440700): primary from GD-CITY-440700 port 10 + 81 − 33,
    backup from GD-CITY-440700-B port 80 + 48, whose loopback is 10.0.3.64 + 7 and uplink 10.0.6.14/31."""
    county = backbone.devices["GD-CNTY-440781"]
    ups = {i.plane: (i.peer, i.peer_port) for i in county.interfaces if i.peer.startswith("GD-CITY")}
    assert ups == {"primary": ("GD-CITY-440700", 58), "backup": ("GD-CITY-440700-B", 128)}
    second = backbone.devices["GD-CITY-440700-B"]
    assert str(second.loopback_v4) == "10.0.3.71"
    assert str(second.interface(1).address_v4) == "10.0.6.15/31" and second.interface(1).peer == "GD-CORE-02"
    # the link to the first city router: the first /31 of 江门's own slot (63) in its /14 10.28.0.0 (slot 7)
    assert str(second.interface(2).address_v4) == "10.31.240.1/31"
    assert second.interface(2).ospf_area == 440700
    first = backbone.devices["GD-CITY-440700"]
    assert [r.prefix for r in second.area_ranges] == [r.prefix for r in first.area_ranges]


def test_county_backup_only_where_the_data_says(backbone, params) -> None:
    for county in backbone.by_tier("county"):
        planes = sorted(i.plane for i in county.interfaces if i.peer.startswith("GD-CITY"))
        expected = ["backup", "primary"] if county.division_code in params.backup.counties else ["primary"]
        assert planes == expected, county.hostname


def test_towns_of_dongguan_and_zhongshan_hang_under_the_city(backbone) -> None:
    for code in ("441900", "442000"):
        towns = [d for d in backbone.by_tier("town") if d.division_code.startswith(code)]
        assert towns
        assert {d.interfaces[0].peer for d in towns} == {f"GD-CITY-{code}"}


def test_ospf_hierarchy_and_summaries(backbone) -> None:
    gz = backbone.devices["GD-CITY-440100"]
    assert gz.ospf_areas == [0, 440100]
    assert [str(r.prefix) for r in gz.area_ranges] == ["10.4.0.0/14"]
    # OSPFv3: the /14 mirrored (offset 0x40000 → /110) and the city's LAN /64s (index 0x4000 → /50)
    assert [str(p) for p in gz.area_ranges[0].prefixes_v6] == ["fd00:4400::4:0/110", "fd00:4500:0:4000::/50"]
    town = backbone.devices["GD-TOWN-440103001"]
    assert town.ospf_areas == [440100]
    assert backbone.devices["GD-CORE-01"].ospf_areas == [0]


def test_timers_fast_where_there_is_an_alternative(backbone) -> None:
    city = backbone.devices["GD-CITY-440200"]
    assert (city.interface(1).hello, city.interface(1).dead) == (1, 3)
    town = backbone.devices["GD-TOWN-440103001"]
    assert (town.interface(1).hello, town.interface(1).dead) == (10, 40)
    # backup circuits cost more: primary preferred
    assert city.interface(2).ospf_cost == 10 * city.interface(1).ospf_cost


def test_bgp_reflectors_and_clients(backbone) -> None:
    assert backbone.bgp_speakers() == sorted(
        ["GD-CORE-01", "GD-CORE-02", "GD-ACC-01", "GD-ACC-02"]
        # the second city routers are ABRs only (no BGP): they carry the counties' backups
        + [d.hostname for d in backbone.by_tier("city") if not d.hostname.endswith("-B")]
    )
    sessions = backbone.expected_bgp_sessions()
    assert ("GD-CITY-440100", "GD-CORE-01") in sessions and ("GD-CORE-02", "GD-CITY-440100") in sessions
    assert ("GD-CORE-01", "GD-CORE-02") in sessions
    assert not any("CNTY" in a or "TOWN" in a for a, _ in sessions)
    # 2 reflectors ↔ each other + 23 clients each, both directions
    assert len(sessions) == 2 * (1 + 2 * 23)


def test_vrfs_on_pes(backbone) -> None:
    acc = backbone.devices["GD-ACC-01"]
    names = [v.name for v in acc.vrfs]
    assert names[:2] == ["public", "internet"] and "dept-fgw" in names and len(names) == 124
    fgw = next(v for v in acc.vrfs if v.name == "dept-fgw")
    assert fgw.export_rt == ("65044:1001",) and fgw.rd == "10.0.0.11:1001"
    zwfw = next(a for a in acc.attachments if a.customer == "ZWFW")
    assert zwfw.bandwidth.to("Gbit/s").magnitude == pytest.approx(40)
    assert backbone.devices["GD-CNTY-440103"].vrfs == []


def test_isolated_domain_is_separate(backbone, params) -> None:
    iso = [d for d in backbone.devices.values() if d.domain == "isolated"]
    assert sorted(d.hostname for d in iso) == [
        "GD-ISO-440100",
        "GD-ISO-440300",
        "GD-ISO-440600",
        "GD-ISO-441900",
        "GD-ISO-CORE",
    ]
    for dev in iso:
        assert dev.loopback_v4 in params.isolated.ipv4
        assert all(i.peer.startswith("GD-ISO") and i.plane == "isolated" for i in dev.interfaces)


def test_interface_names_per_vendor(backbone) -> None:
    city = backbone.devices["GD-CITY-440100"]
    assert interface_name("vrp", city.interface(1)) == "XGigabitEthernet1/0/1"
    assert interface_name("iosxe", city.interface(1)) == "TenGigabitEthernet1/0/1"
    assert interface_name("frr", city.interface(1)) == "eth1"
    town_link = backbone.devices["GD-TOWN-440103001"].interface(1)
    assert interface_name("vrp", town_link) == "GigabitEthernet1/1/1"
    longest = max(len(interface_name("frr", i)) for d in backbone.devices.values() for i in d.interfaces)
    assert longest <= 15


def test_slice_keeps_only_consistent_interfaces(backbone) -> None:
    part = backbone.slice(["440100"], towns_per_county=2)
    gz_counties = [d for d in backbone.by_tier("county") if d.city_code == "440100"]
    assert len(part.by_tier("county")) == len(gz_counties) == 11
    towns = part.by_tier("town")
    assert max(sum(1 for t in towns if t.division_code[:6] == c.division_code) for c in gz_counties) == 2
    assert {d.tier for d in part.devices.values()} >= {"core", "access", "city", "county", "town"}
    for dev in part.devices.values():
        for iface in dev.interfaces:
            assert iface.peer in part.devices, (dev.hostname, iface.peer)
        if dev.bgp:
            assert set(dev.bgp.neighbors) <= set(part.devices)
    assert {a for a, _ in part.expected_ospf_adjacencies()} <= set(part.devices)
    assert ("GD-CORE-01", "GD-CITY-440300") not in part.expected_bgp_sessions()
    assert part.devices["GD-CORE-01"].bgp.neighbors == (
        "GD-ACC-01",
        "GD-ACC-02",
        "GD-CITY-440100",
        "GD-CORE-02",
    )
    # the full model is untouched
    assert len(backbone.devices["GD-CORE-01"].bgp.neighbors) == 24


def test_slice_of_dongguan_counts_towns_per_city(backbone) -> None:
    part = backbone.slice(["441900"], towns_per_county=3)
    assert len(part.by_tier("town")) == 3
    with pytest.raises(KeyError, match="449900"):
        backbone.slice(["449900"])
