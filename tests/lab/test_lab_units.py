"""Pure parts of the lab: parsing FRR JSON, daemons from a config, ping gaps, inventory groups (no root)."""

from __future__ import annotations

from lab_tiny import tiny_spec

from network.inventory import InventoryHost, inventory
from network.lab.check import (
    bfd_interfaces,
    bfd_up_interfaces,
    established_peers,
    full_interfaces,
    full_interfaces_v6,
    json_documents,
)
from network.lab.engine import tbf_burst
from network.lab.failover import longest_gap
from network.lab.from_model import daemons_for
from network.lab.spec import spec_from_dict, spec_to_dict


def test_two_vtysh_json_documents_are_split() -> None:
    text = '{"neighbors":{"10.0.0.1":[{"nbrState":"Full/-","ifaceName":"eth1:10.0.2.3"}]}}\n{"10.0.0.1":{}}\n'
    ospf, bgp = json_documents(text)
    assert full_interfaces(ospf) == {"eth1": "10.0.0.1"}
    assert established_peers(bgp) == set()


def test_only_full_neighbours_count() -> None:
    data = {
        "neighbors": {
            "1.1.1.1": [{"nbrState": "Full/-", "ifaceName": "eth1:10.0.0.1"}],
            "2.2.2.2": [{"nbrState": "ExStart/-", "ifaceName": "eth2:10.0.0.5"}],
        }
    }
    assert full_interfaces(data) == {"eth1": "1.1.1.1"}
    peers = {"10.0.0.1": {"bgpState": "Established"}, "10.0.0.2": {"bgpState": "Active"}}
    assert established_peers(peers) == {"10.0.0.1"}


def test_bfd_is_expected_where_the_config_registers_ospf_and_counted_when_up() -> None:
    conf = (
        "bfd\n profile backbone\n exit\nexit\n"
        "interface eth1\n ip ospf area 0\n ip ospf bfd\n ip ospf bfd profile backbone\nexit\n"
        "interface eth2\n ip ospf area 0\nexit\ninterface eth3\n ip ospf bfd\nexit\n"
    )
    assert bfd_interfaces(conf) == {"eth1", "eth3"}
    assert daemons_for(conf) == ("zebra", "bfdd")
    peers = [
        {"multihop": False, "peer": "10.0.2.2", "interface": "eth1", "status": "up"},
        {"multihop": False, "peer": "10.0.2.130", "interface": "eth3", "status": "down"},
        {"multihop": True, "peer": "10.0.0.1", "local": "10.0.3.1", "status": "up"},
    ]
    assert bfd_up_interfaces(peers) == {"eth1"}


def test_daemons_follow_the_config() -> None:
    assert daemons_for("router ospf\n") == ("zebra", "ospfd")
    conf = "ip route 10.4.0.0/14 blackhole\nrouter ospf\nexit\nrouter bgp 65044\n"
    assert daemons_for(conf) == ("zebra", "staticd", "ospfd", "bgpd")


def test_longest_gap_after_the_cut() -> None:
    reply = "[{:.6f}] 64 bytes from 10.0.0.1: icmp_seq={} ttl=63 time=0.1 ms"
    lines = [reply.format(100 + i * 0.01, i) for i in range(50)]
    lines += [reply.format(103 + i * 0.01, 300 + i) for i in range(5)]
    gap, lost = longest_gap(lines, after=100.3)
    assert abs(gap - (103 - 100.49)) < 1e-6
    assert lost == 300 - 49 - 1


def test_burst_covers_ten_ms_and_a_minimum() -> None:
    assert tbf_burst(10_000_000_000) == 12_500_000
    assert tbf_burst(100_000_000) == 125_000
    assert tbf_burst(1_000_000) == 32 * 1514


def test_spec_survives_json() -> None:
    spec = tiny_spec()
    configs = {n: r.config for n, r in spec.routers.items()}
    again = spec_from_dict(spec_to_dict(spec), configs)
    assert again == spec
    assert spec.validate() == []


def test_inventory_groups_by_tier_city_and_vendor() -> None:
    hosts = [
        InventoryHost("GD-CITY-440100", "frr", "city", "440100", ospf_interfaces=["eth1"]),
        InventoryHost("GD-CNTY-440103", "vrp", "county", "440100", ansible_host="10.0.4.3"),
    ]
    inv = inventory(hosts)["all"]
    assert set(inv["children"]) == {"tier_city", "tier_county", "vendor_frr", "vendor_vrp", "city_440100"}
    assert set(inv["children"]["city_440100"]["hosts"]) == {"GD-CITY-440100", "GD-CNTY-440103"}
    vrp = inv["hosts"]["GD-CNTY-440103"]
    assert vrp["ansible_network_os"] == "community.network.ce"
    assert vrp["ansible_connection"] == "ansible.netcommon.network_cli"
    assert inv["hosts"]["GD-CITY-440100"]["egov_ospf_interfaces"] == ["eth1"]


def test_production_inventory_from_the_model() -> None:
    from network.inventory import production_hosts
    from network.topology import build_backbone

    backbone = build_backbone().slice(cities=["440300"], towns_per_county=1)
    hosts = {h.name: h for h in production_hosts(backbone, "iosxe")}
    assert set(hosts) == set(backbone.devices)
    city = hosts["GD-CITY-440300"]
    device = backbone.devices["GD-CITY-440300"]
    assert len(city.ospf_neighbors) == len(device.interfaces)
    assert city.ansible_host == str(device.loopback_v4)
    assert all(name.startswith(("TenGigabitEthernet", "GigabitEthernet")) for name in city.ospf_interfaces)
    assert sorted(city.ping_targets) == sorted(str(d.loopback_v4) for d in backbone.by_tier("core"))
    groups = inventory(hosts.values())["all"]["children"]
    assert "GD-CITY-440300" in groups["city_440300"]["hosts"] and "tier_core" in groups


def test_ospf6_full_neighbours() -> None:
    data = {
        "neighbors": [
            {"neighborId": "10.0.3.3", "state": "Full", "interfaceName": "eth1"},
            {"neighborId": "10.0.3.4", "state": "Loading", "interfaceName": "eth2"},
        ]
    }
    assert full_interfaces_v6(data) == {"eth1"}
