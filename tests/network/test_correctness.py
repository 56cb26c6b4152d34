"""Issue 13, config correctness: the model decides, each vendor spells it; hand-written expected fragments per
vendor, and every new invariant of `check` catches a planted fault."""

from __future__ import annotations

import copy
import re
from dataclasses import replace

import pytest

from network.parseback import DEFAULT_ROUTE
from network.render import render_device
from network.vendors import VENDORS
from network.verify import (
    check_bfd,
    check_core_mtu,
    check_default_route,
    check_management_domains,
    check_model,
    check_rendered,
)


def _block(text: str, header: str, end: str) -> str:
    """The lines of ``text`` from ``header`` up to the next ``end`` line."""
    return text.split(header + "\n", 1)[1].split("\n" + end + "\n", 1)[0]


@pytest.fixture(scope="module")
def city_vrp(small) -> str:
    return render_device(small, "GD-CITY-440100", "vrp")


@pytest.fixture(scope="module")
def city_iosxe(small) -> str:
    return render_device(small, "GD-CITY-440100", "iosxe")


@pytest.fixture(scope="module")
def city_frr(small) -> str:
    return render_device(small, "GD-CITY-440100", "frr")


# -- spelling, by hand ---------------------------------------------------------------------------------------
def test_vrp_areas_are_dotted_and_the_ospfv3_area_block_is_emitted_once(city_vrp: str) -> None:
    assert "ospfv3 1 area 0.6.183.36\n" in city_vrp  # 440100, as VRP displays it
    ospfv3 = _block(city_vrp, "ospfv3 1", "#")
    assert ospfv3.count(" area 0.6.183.36\n") == 1
    assert " area 0.6.183.36\n  abr-summary fd00:4400::4:0 110\n  abr-summary fd00:4500:0:4000:: 50" in ospfv3
    ospf = _block(city_vrp, "ospf 1 router-id 10.0.3.1", "#")
    assert " area 0.0.0.0\n" in ospf and " area 0.6.183.36\n  abr-summary 10.4.0.0 255.252.0.0\n" in ospf
    assert not re.search(r"area \d+\n", city_vrp)  # no decimal area anywhere


def test_40g_department_port_is_a_40ge_port_with_a_40g_shaper(small) -> None:
    vrp = render_device(small, "GD-ACC-01", "vrp")
    block = _block(vrp, "interface 40GE28/3/6", "#")
    assert " description dept-zwfw ZWFW 40G\n" in block and " qos lr cir 40000000 outbound" in block
    ios = render_device(small, "GD-ACC-01", "iosxe")
    block = _block(ios, "interface FortyGigabitEthernet112/3/0", "!")
    assert " service-policy output SHAPE-40G" in block
    assert "policy-map SHAPE-40G\n class class-default\n  shape average 40000000000\n" in ios


def test_iosxe_routed_ports_say_no_switchport(small) -> None:
    text = render_device(small, "GD-ACC-01", "iosxe")
    blocks = re.findall(r"^interface (\S+)\n(.*?)^!", text, flags=re.M | re.S)
    # not the loopback, the LANs, nor the out-of-band management port (a routed port by make)
    ports = [(name, body) for name, body in blocks if not name.startswith(("Loopback", "Vlan"))]
    ports = [(name, body) for name, body in ports if name != "GigabitEthernet0"]
    routed = [(name, body) for name, body in ports if "." not in name]
    assert len(routed) == 2 + 2 + 122  # to both cores, DC and internet exit, 122 departments
    for name, body in routed:
        assert body.startswith(" description ") and " no switchport\n" in body, name
    # the DC port's sub-interfaces, one per department: a VLAN tag and the department's VRF (they take no
    # switchport command: the parent is routed)
    subs = [(name, body) for name, body in ports if "." in name]
    assert len(subs) == 122
    for name, body in subs:
        vlan = name.rsplit(".", 1)[1]
        assert f" encapsulation dot1Q {vlan}\n" in body and " vrf forwarding dept-" in body, name
        assert "switchport" not in body, name


def test_mpls_core_links_run_mtu_9000_and_others_1500(city_vrp: str, city_iosxe: str) -> None:
    assert " mtu 9000\n" in _block(city_vrp, "interface XGigabitEthernet1/0/1", "#")  # to the core, MPLS
    assert " mtu 1500\n" in _block(city_vrp, "interface GigabitEthernet1/1/13", "#")  # to a county
    assert " mtu 9000\n" in _block(city_iosxe, "interface TenGigabitEthernet1/0/2", "!")  # backup, MPLS


def test_bfd_on_links_with_an_alternative_and_registered_by_ospf_and_bgp(small, city_frr: str) -> None:
    assert (
        "bfd\n profile backbone\n  transmit-interval 200\n  receive-interval 200\n  detect-multiplier 3\n"
        in (city_frr)
    )
    uplink = _block(city_frr, "interface eth1", "exit")
    assert " ip ospf bfd profile backbone\n" in uplink and " ipv6 ospf6 bfd profile backbone" in uplink
    assert " neighbor 10.0.0.1 bfd profile backbone\n" in city_frr
    county_link = _block(city_frr, "interface eth13", "exit")  # 440103 has no backup: a bridge
    assert "bfd" not in county_link
    town = render_device(small, "GD-TOWN-440103001", "frr")
    assert "bfd" not in town  # nothing to fail over to
    vrp = render_device(small, "GD-CITY-440100", "vrp")
    assert " peer 10.0.0.1 bfd enable\n" in vrp and " ospf bfd enable\n" in vrp
    ios = render_device(small, "GD-CITY-440100", "iosxe")
    assert " neighbor 10.0.0.1 fall-over bfd multi-hop\n" in ios
    assert " bfd interval 200 min_rx 200 multiplier 3\n ip ospf bfd\n ospfv3 bfd\n" in ios


def test_ldp_igp_sync(city_vrp: str, city_iosxe: str) -> None:
    assert " mpls ldp\n ospf ldp-sync\n" in _block(city_vrp, "interface XGigabitEthernet1/0/1", "#")
    assert " mpls ldp sync\n" in _block(city_iosxe, "router ospf 1", "!")


def test_ospf_bgp_ntp_authentication_by_secret_name(city_vrp: str, city_iosxe: str) -> None:
    uplink = _block(city_vrp, "interface XGigabitEthernet1/0/1", "#")
    assert " ospf authentication-mode hmac-sha256 1 cipher %SECRET:ospf_auth_key%\n" in uplink
    assert " ospfv3 authentication-mode hmac-sha256 key-id 1 cipher %SECRET:ospf_auth_key%\n" in uplink
    assert " peer 10.0.0.1 password cipher %SECRET:bgp_auth_key%\n" in city_vrp
    assert "ntp-service unicast-server 10.0.5.11 vpn-instance MGMT authentication-keyid 1\n" in city_vrp
    assert "key chain GD-OSPF\n key 1\n  key-string 6 %SECRET:ospf_auth_key%\n" in city_iosxe
    assert " ip ospf authentication key-chain GD-OSPF\n" in city_iosxe
    assert " neighbor 10.0.0.1 password 6 %SECRET:bgp_auth_key%\n" in city_iosxe
    assert "ntp authenticate\n" in city_iosxe and "ntp server vrf Mgmt-intf 10.0.5.11 key 1\n" in city_iosxe


def test_aaa_has_a_local_fallback_user_and_no_type_0_key(city_vrp: str, city_iosxe: str) -> None:
    assert " local-user gd-local password irreversible-cipher %SECRET:local_admin_password%\n" in city_vrp
    assert "  authentication-mode hwtacacs local\n" in city_vrp
    assert "username gd-local privilege 15 secret 9 %SECRET:local_admin_password%\n" in city_iosxe
    assert " key 6 %SECRET:tacacs_shared_key%\n" in city_iosxe
    assert not re.search(r"^ key (0 )?%SECRET", city_iosxe, flags=re.M)


def test_vty_and_snmp_acls_cover_ipv6(city_vrp: str, city_iosxe: str) -> None:
    nms_v6 = "fd00:4500:0:50::/64"  # the management LAN 10.0.5.0/24's /64 in the model
    assert (
        "acl ipv6 number 2000\n description SSH and SNMP from the management LAN only\n"
        f" rule 5 permit source {nms_v6}\n" in city_vrp
    )
    assert " acl 2000 inbound\n acl ipv6 2000 inbound\n" in city_vrp
    assert "read-view iso-view acl 2000 acl ipv6 2000\n" in city_vrp
    assert "ssh server-source -i GigabitEthernet0/0/0\n" in city_vrp and "all-interface" not in city_vrp
    assert f"ipv6 access-list MGMT6\n permit ipv6 {nms_v6} any\n" in city_iosxe
    assert " ipv6 access-class MGMT6 in\n" in city_iosxe and "access ipv6 MGMT6 MGMT\n" in city_iosxe


def test_dscp_classes_under_every_shaper(city_vrp: str, city_iosxe: str) -> None:
    assert "class-map match-any REALTIME\n match dscp ef af41\n" in city_iosxe
    assert (
        "policy-map GD-CLASSES\n class REALTIME\n  priority percent 20\n"
        " class BUSINESS\n  bandwidth percent 50\n class class-default\n  fair-queue\n" in city_iosxe
    )
    assert (
        "policy-map SHAPE-10G\n class class-default\n  shape average 10000000000\n"
        "  service-policy GD-CLASSES\n" in city_iosxe
    )
    assert "traffic classifier REALTIME operator or\n if-match dscp ef af41\n" in city_vrp
    assert "traffic behavior REALTIME\n queue ef bandwidth pct 20\n" in city_vrp
    assert " classifier default-class behavior DEFAULT\n" in city_vrp
    uplink = _block(city_vrp, "interface XGigabitEthernet1/0/1", "#")
    assert " qos lr cir 10000000 outbound\n traffic-policy GD-CLASSES outbound" in uplink


@pytest.mark.parametrize("vendor", list(VENDORS))
def test_default_route_only_at_the_internet_exit(small, vendor: str) -> None:
    originating = {name for name in small.devices if DEFAULT_ROUTE.search(render_device(small, name, vendor))}
    assert originating == ({"GD-ACC-01", "GD-ACC-02"} if VENDORS[vendor].supports("vrf") else set())
    if vendor == "vrp":
        text = render_device(small, "GD-ACC-01", "vrp")
        assert (
            "ip route-static vpn-instance internet 0.0.0.0 0.0.0.0 10.0.4.5 description internet-exit\n"
            in text
        )
        assert " ipv4-family vpn-instance internet\n  import-route direct\n  network 0.0.0.0 0\n" in text


@pytest.mark.parametrize("vendor", ["vrp", "iosxe"])
def test_the_isolated_domain_has_its_own_management(small, params, vendor: str) -> None:
    text = render_device(small, "GD-ISO-440100", vendor)
    assert "192.168.128.11" in text and "%SECRET:iso_tacacs_shared_key%" in text and "iso-local" in text
    assert not re.search(r"(?<![\d.])10\.\d+\.\d+\.\d+", text)  # nothing of the backbone's 10/8
    backbone_secrets = set(params.management.secret_names().values())
    assert not backbone_secrets & set(re.findall(r"%SECRET:([a-z0-9_]+)%", text))


# -- every new check catches its fault -----------------------------------------------------------------------
@pytest.fixture
def model(small):
    return copy.deepcopy(small)


def _set_iface(model, hostname: str, port: int, **changes) -> None:
    dev = model.devices[hostname]
    dev.interfaces = [replace(i, **changes) if i.port == port else i for i in dev.interfaces]


def test_the_real_model_passes_the_new_checks(backbone, params) -> None:
    assert check_model(backbone, params) == []


def test_an_mpls_link_at_1500_is_caught(model, params) -> None:
    model.links = [
        replace(k, mtu=1500) if k.b == "GD-CITY-440100" and k.plane == "primary" else k for k in model.links
    ]
    found = check_core_mtu(model, params)
    assert [(v.check, v.device, v.interface) for v in found] == [("mtu", "GD-CORE-01", "port 11")]


def test_a_link_without_bfd_is_caught(model) -> None:
    _set_iface(model, "GD-CITY-440100", 2, bfd_ms=0)
    assert [(v.check, v.device, v.interface) for v in check_bfd(model)] == [
        ("bfd", "GD-CITY-440100", "port 2")
    ]


def test_a_default_route_outside_the_exit_is_caught(model) -> None:
    acc = model.devices["GD-ACC-01"]
    acc.attachments = [replace(a, default_route=a.customer == "FGW") for a in acc.attachments]
    found = check_default_route(model)
    assert [(v.check, v.device, v.interface) for v in found] == [("default-route", "GD-ACC-01", "port 101")]


def test_isolated_management_pointing_at_the_backbone_is_caught(model, params) -> None:
    iso = model.management["isolated"]
    backbone = model.management["backbone"]
    model.management["isolated"] = replace(
        iso, ntp=backbone.ntp, secrets={**iso.secrets, "aaa_key": backbone.secrets["aaa_key"]}
    )
    messages = [v.message for v in check_management_domains(model, params)]
    assert any("NTP server 10.0.5.11/32 is outside the isolated pools" in m for m in messages)
    assert any("secret tacacs_shared_key (aaa_key)" in m for m in messages)


@pytest.mark.parametrize(
    ("vendor", "host", "old", "new", "check"),
    [
        ("iosxe", "GD-ACC-01", "output SHAPE-40G", "output SHAPE-10G", "speed"),
        ("vrp", "GD-ACC-01", "interface 40GE28/3/6", "interface XGigabitEthernet28/0/6", "speed"),
        ("vrp", "GD-CITY-440100", "qos lr cir 10000000 outbound", "qos lr cir 1000000 outbound", "speed"),
        ("vrp", "GD-CITY-440100", " mtu 9000\n", " mtu 1500\n", "mtu"),
        ("vrp", "GD-CITY-440100", " ospf bfd enable\n", "", "bfd"),
        ("iosxe", "GD-CITY-440100", " ip ospf authentication key-chain GD-OSPF\n", "", "auth"),
        ("frr", "GD-CITY-440100", " ip ospf bfd\n", "", "bfd"),
        (
            "vrp",
            "GD-CITY-440100",
            "#\nsnmp-agent\n",
            "#\nip route-static 0.0.0.0 0.0.0.0 10.0.2.2\nsnmp-agent\n",
            "default-route",
        ),
        (
            "vrp",
            "GD-ISO-440100",
            "info-center loghost 192.168.128.21",
            "info-center loghost 10.0.5.21",
            "isolated",
        ),
        ("vrp", "GD-ISO-440100", "%SECRET:iso_tacacs_shared_key%", "%SECRET:tacacs_shared_key%", "isolated"),
    ],
)
def test_a_planted_fault_in_the_rendered_text_is_caught(small, vendor, host, old, new, check) -> None:
    text = render_device(small, host, vendor)
    assert check_rendered(small, vendor, host, text) == []
    broken = text.replace(old, new, 1)
    assert broken != text
    found = {v.check for v in check_rendered(small, vendor, host, broken)}
    assert f"{check}-{vendor}" in found, found
