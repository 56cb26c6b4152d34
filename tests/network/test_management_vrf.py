"""Issue 13, build 1: the management VRF. Every router's out-of-band port sits in its domain's management VRF
with a /31 of the domain's out-of-band block (data/network.yaml ``management.oob``); AAA, NTP, syslog and SNMP
run in that VRF from that port; the isolated domain has its own VRF, block and servers. Addresses are
computed by hand below; every check is shown to catch a planted fault."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import replace
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path

import pytest
import yaml

from egov.errors import SourceError
from network.addressing import AddressPlan
from network.model import Backbone
from network.params import DATA_DIR, PARAMS_FILE, NetworkParams, load_params
from network.render import render_device
from network.vendors import VendorError, get_vendor
from network.verify import check_management_addresses, check_management_domains, check_rendered

COUNTY = "GD-CNTY-440103"  # Guangzhou (city slot 1), county slot 3, site 0
ISO = "GD-ISO-440100"


@pytest.mark.parametrize(
    ("domain", "code", "loopback", "want"),
    [
        # (1 << 13 | 3 << 7) = 8,576 → 2 · 8,576 + 1 = 17,153 = 67 · 256 + 1
        ("backbone", "440103", "10.4.48.20", "100.80.67.1/31"),
        # its first town: site slot 1 → 8,577 → 17,155
        ("backbone", "440103001", "10.4.48.52", "100.80.67.3/31"),
        # the city: site 0 of its own county slot 63: 1 << 13 | 63 << 7 = 16,256 → 32,513 = 127 · 256 + 1
        ("backbone", "440100", "10.0.3.1", "100.80.127.1/31"),
        # its second router: site 1 → 32,515
        ("backbone", "440100", "10.0.3.65", "100.80.127.3/31"),
        # the province's access router 1: its loopback's last octet (11) → 23
        ("backbone", "440000", "10.0.0.11", "100.80.0.23/31"),
        # the isolated domain: city slot 1 → 3; its core slot 0 → 1
        ("isolated", "440100", "192.168.1.1", "192.168.64.3/31"),
        ("isolated", "440000", "192.168.0.1", "192.168.64.1/31"),
    ],
)
def test_management_port_addresses_by_hand(
    params: NetworkParams, domain: str, code: str, loopback: str, want: str
) -> None:
    assert AddressPlan(params).management_port(domain, code, IPv4Address(loopback)) == IPv4Interface(want)


@pytest.mark.parametrize(
    ("domain", "port", "want"),
    [
        # the offset in the IPv4 block, 17,153 = 0x4301, in the IPv6 block, /31 → /127
        ("backbone", "100.80.67.1/31", "fd00:4700::4301/127"),
        ("isolated", "192.168.64.3/31", "fd00:4600:0:ffff::3/127"),
    ],
)
def test_management_port_ipv6_twins_by_hand(params: NetworkParams, domain: str, port: str, want: str) -> None:
    plan = AddressPlan(params)
    assert plan.management_port_v6(domain, IPv4Interface(port)) == ipaddress.IPv6Interface(want)


def test_every_router_has_its_own_port_in_its_domains_block(backbone: Backbone) -> None:
    ports = [d.management_port for d in backbone.devices.values()]
    assert None not in ports and len(set(ports)) == len(backbone.devices)
    ports_v6 = [d.management_port_v6 for d in backbone.devices.values()]
    assert None not in ports_v6 and len(set(ports_v6)) == len(backbone.devices)
    assert backbone.devices[COUNTY].management_port == IPv4Interface("100.80.67.1/31")
    for dev in backbone.devices.values():
        assert dev.management_port in backbone.management[dev.domain].oob, dev.hostname
    assert check_management_addresses(backbone) == []


#: the county's management, by hand, as each vendor spells it
COUNTY_LINES = {
    "vrp": [
        "ip vpn-instance MGMT\n description out-of-band management\n ipv4-family\n ipv6-family\n",
        "interface GigabitEthernet0/0/0\n description out-of-band management\n"
        " ip binding vpn-instance MGMT\n ip address 100.80.67.1 255.255.255.254\n"
        " ipv6 enable\n ipv6 address fd00:4700::4301/127\n",
        "ip route-static vpn-instance MGMT 10.0.5.0 255.255.255.0 100.80.67.0 description management-lan\n"
        "ipv6 route-static vpn-instance MGMT fd00:4500:0:50:: 64 fd00:4700::4300"
        " description management-lan\n",
        "info-center loghost source GigabitEthernet0/0/0\ninfo-center loghost 10.0.5.21 vpn-instance MGMT\n",
        "ntp-service source-interface GigabitEthernet0/0/0\n"
        "ntp-service unicast-server 10.0.5.11 vpn-instance MGMT authentication-keyid 1\n"
        "ntp-service unicast-server 10.0.5.12 vpn-instance MGMT authentication-keyid 1\n",
        " hwtacacs-server authentication 10.0.5.31 49 vpn-instance MGMT\n",
        " hwtacacs-server accounting 10.0.5.32 49 vpn-instance MGMT secondary\n",
        " hwtacacs-server source-ip 100.80.67.1\n",
        "snmp-agent trap source GigabitEthernet0/0/0\nsnmp-agent vpn-instance MGMT\n",
        # SSH and SNMP from the management LAN, in-band and in the VRF
        " rule 5 permit source 10.0.5.0 0.0.0.255\n"
        " rule 105 permit source 10.0.5.0 0.0.0.255 vpn-instance MGMT\n",
        " rule 5 permit source fd00:4500:0:50::/64\n"
        " rule 105 permit source fd00:4500:0:50::/64 vpn-instance MGMT\n",
        "ssh server-source -i GigabitEthernet0/0/0\nssh ipv6 server-source -i GigabitEthernet0/0/0\n",
    ],
    # IOS-XE: GigabitEthernet0 lives in the platform's own VRF Mgmt-intf (it cannot be moved), so the model's
    # management VRF is spelt Mgmt-intf there
    "iosxe": [
        "vrf definition Mgmt-intf\n description out-of-band management\n"
        " address-family ipv4\n exit-address-family\n address-family ipv6\n exit-address-family\n",
        "interface GigabitEthernet0\n description out-of-band management\n vrf forwarding Mgmt-intf\n"
        " ip address 100.80.67.1 255.255.255.254\n ipv6 address fd00:4700::4301/127\n no shutdown\n",
        "ip route vrf Mgmt-intf 10.0.5.0 255.255.255.0 100.80.67.0 name management-lan\n"
        "ipv6 route vrf Mgmt-intf fd00:4500:0:50::/64 fd00:4700::4300 name management-lan\n",
        "aaa group server tacacs+ GD-AAA\n server name GD-AAA-1\n server name GD-AAA-2\n"
        " ip vrf forwarding Mgmt-intf\n ip tacacs source-interface GigabitEthernet0\n",
        "ntp source GigabitEthernet0\n"
        "ntp server vrf Mgmt-intf 10.0.5.11 key 1\nntp server vrf Mgmt-intf 10.0.5.12 key 1\n",
        "logging source-interface GigabitEthernet0 vrf Mgmt-intf\nlogging host 10.0.5.21 vrf Mgmt-intf\n",
        "snmp-server trap-source GigabitEthernet0\n",
        "line vty 0 4\n access-class MGMT in vrf-also\n",
    ],
}


@pytest.mark.parametrize("vendor", ["vrp", "iosxe"])
def test_aaa_ntp_syslog_snmp_run_in_the_management_vrf(small: Backbone, vendor: str) -> None:
    text = render_device(small, COUNTY, vendor)
    for block in COUNTY_LINES[vendor]:
        assert block in text, block
    assert check_rendered(small, vendor, COUNTY, text) == []


#: (vendor, line as rendered, the same line leaking into the global table or elsewhere)
LEAKS = [
    ("vrp", "info-center loghost 10.0.5.21 vpn-instance MGMT\n", "info-center loghost 10.0.5.21\n"),
    (
        "vrp",
        "ntp-service unicast-server 10.0.5.12 vpn-instance MGMT authentication-keyid 1\n",
        "ntp-service unicast-server 10.0.5.12 authentication-keyid 1\n",
    ),
    (
        "vrp",
        " hwtacacs-server authentication 10.0.5.31 49 vpn-instance MGMT\n",
        " hwtacacs-server authentication 10.0.5.31 49\n",
    ),
    (
        "vrp",
        "ntp-service source-interface GigabitEthernet0/0/0\n",
        "ntp-service source-interface LoopBack0\n",
    ),
    ("vrp", "snmp-agent vpn-instance MGMT\n", ""),
    (
        "vrp",
        " ip binding vpn-instance MGMT\n ip address 100.80.67.1",
        " ip address 100.80.67.1",
    ),
    ("vrp", " rule 105 permit source 10.0.5.0 0.0.0.255 vpn-instance MGMT\n", ""),
    ("vrp", " rule 105 permit source fd00:4500:0:50::/64 vpn-instance MGMT\n", ""),
    (
        "vrp",
        "ipv6 route-static vpn-instance MGMT fd00:4500:0:50:: 64",
        "ipv6 route-static fd00:4500:0:50:: 64",
    ),
    ("iosxe", "ipv6 route vrf Mgmt-intf fd00:4500:0:50::/64", "ipv6 route fd00:4500:0:50::/64"),
    ("iosxe", "logging host 10.0.5.21 vrf Mgmt-intf\n", "logging host 10.0.5.21\n"),
    ("iosxe", "ntp server vrf Mgmt-intf 10.0.5.11 key 1\n", "ntp server 10.0.5.11 key 1\n"),
    # the model's name where the platform has its own: IOS-XE would create a second, empty VRF
    ("iosxe", "ntp server vrf Mgmt-intf 10.0.5.11 key 1\n", "ntp server vrf MGMT 10.0.5.11 key 1\n"),
    (
        "iosxe",
        " vrf forwarding Mgmt-intf\n ip address 100.80.67.1",
        " vrf forwarding MGMT\n ip address 100.80.67.1",
    ),
    ("iosxe", " ip vrf forwarding Mgmt-intf\n ip tacacs", " ip tacacs"),
    (
        "iosxe",
        "ip route vrf Mgmt-intf 10.0.5.0 255.255.255.0 100.80.67.0",
        "ip route 10.0.5.0 255.255.255.0 100.80.67.0",
    ),
    ("iosxe", " access-class MGMT in vrf-also\n", " access-class MGMT in\n"),
    ("iosxe", "snmp-server trap-source GigabitEthernet0\n", "snmp-server trap-source Loopback0\n"),
    # a server that is not the domain's
    ("iosxe", "logging host 10.0.5.21 vrf Mgmt-intf\n", "logging host 10.0.5.99 vrf Mgmt-intf\n"),
]


@pytest.mark.parametrize(("vendor", "line", "leak"), LEAKS)
def test_a_management_line_leaking_out_of_the_vrf_is_caught(
    small: Backbone, vendor: str, line: str, leak: str
) -> None:
    text = render_device(small, COUNTY, vendor)
    assert line in text
    planted = text.replace(line, leak, 1)
    assert {v.check for v in check_rendered(small, vendor, COUNTY, planted)} == {"mgmt-vrf"}


@pytest.mark.parametrize("vendor", ["vrp", "iosxe"])
def test_the_isolated_domain_has_its_own_management_vrf_and_block(
    small: Backbone, params: NetworkParams, vendor: str
) -> None:
    text = render_device(small, ISO, vendor)
    assert check_rendered(small, vendor, ISO, text) == []
    assert "192.168.64.3 255.255.255.254" in text
    vrfs = re.findall(r"^(?:ip vpn-instance|vrf definition) (\S+)$", text, flags=re.M)
    # the isolated domain's own VRF name (IOS-XE: the platform's Mgmt-intf, local to the box)
    assert vrfs == [get_vendor(vendor).management_vrf("ISO-MGMT")]
    assert vrfs == (["Mgmt-intf"] if vendor == "iosxe" else ["ISO-MGMT"])
    # nothing of the backbone's management: no server, LAN or out-of-band address, no VRF name
    backbone_mgmt = small.management["backbone"]
    for literal in re.findall(r"\b\d+\.\d+\.\d+\.\d+\b", text):
        address = IPv4Address(literal)
        assert address not in backbone_mgmt.oob and not any(address in n for n in backbone_mgmt.acl_v4)
    assert not re.search(rf"\b(vpn-instance|vrf) {params.management.vrf}\b", text)
    # a planted backbone out-of-band gateway in the isolated router's VRF route is caught
    planted = text.replace("192.168.64.2", "100.80.0.2")
    checks = {v.check for v in check_rendered(small, vendor, ISO, planted)}
    assert checks == {f"isolated-{vendor}", "mgmt-vrf"}


def test_model_faults_in_management_addressing_are_caught(backbone: Backbone) -> None:
    sub = backbone.subset([COUNTY, ISO, "GD-CORE-01"])
    assert check_management_addresses(sub) == []
    county, iso = sub.devices[COUNTY], sub.devices[ISO]
    # the isolated router numbered from the backbone's block
    iso.management_port = IPv4Interface("100.80.0.5/31")
    iso.management_port_v6 = ipaddress.IPv6Interface("fd00:4700::5/127")
    # a routed prefix inside the out-of-band block
    # (a new list: the subset shares its devices' lists with the session's backbone)
    lan = replace(county.lans[0], prefix_v4=IPv4Network("100.80.1.0/24"))
    sub.devices[COUNTY] = county = replace(county, lans=[lan, *county.lans[1:]])
    messages = [v.message for v in check_management_addresses(sub)]
    want = "management port 100.80.0.4/31 is not a /31 of the isolated out-of-band block 192.168.64.0/24"
    assert want in messages
    want = "management port fd00:4700::4/127 is not a /127 of the isolated out-of-band block "
    want += "fd00:4600:0:ffff::/120"
    assert want in messages
    assert "100.80.1.0/24 lies in the backbone out-of-band block 100.80.0.0/12" in messages
    county.management_port = None
    assert "no out-of-band management port" in [v.message for v in check_management_addresses(sub)]


def test_management_plane_faults_are_caught(backbone: Backbone, params: NetworkParams) -> None:
    model = Backbone(devices={}, links=[], asn=backbone.asn, management=dict(backbone.management))
    assert check_management_domains(model, params) == []
    iso, bb = model.management["isolated"], model.management["backbone"]
    model.management["isolated"] = replace(
        iso, vrf=bb.vrf, oob=IPv4Network("100.64.0.0/24"), oob_v6=ipaddress.IPv6Network("fd00:4700::/120")
    )
    model.management["backbone"] = replace(bb, syslog=(IPv4Address("10.0.6.21"),))
    messages = [v.message for v in check_management_domains(model, params)]
    assert "VRF MGMT is also the backbone domain's" in messages
    assert "syslog server 10.0.6.21 is in no management LAN ['10.0.5.0/24']" in messages
    assert "out-of-band block 100.64.0.0/24 overlaps 100.64.0.0/12" in messages
    assert "out-of-band block fd00:4700::/120 overlaps fd00:4700::/108" in messages


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (
            lambda raw: raw["management"].update(oob="100.64.0.0/16"),
            r"ipv4\.department_lans.*overlaps management\.oob 100\.64\.0\.0/16",
        ),
        (
            lambda raw: raw["isolated"]["management"].update(oob="10.200.0.0/24"),
            r"isolated\.management\.oob.*10\.200\.0\.0/24 is outside isolated\.ipv4",
        ),
        (
            lambda raw: raw["isolated"]["management"].update(oob_v6="fd00:4700:1::/120"),
            r"isolated\.management\.oob_v6.*fd00:4700:1::/120 is outside isolated\.ipv6",
        ),
        (
            lambda raw: raw["management"].update(oob_v6="fd00:4500:1::/108"),
            r"ipv6\.lan.*overlaps management\.oob_v6 fd00:4500:1::/108",
        ),
        (
            lambda raw: raw["management"].update(oob_v6="fd00:4700::/112"),
            r"management\.oob_v6.*fd00:4700::/112 is smaller than oob 100\.80\.0\.0/12",
        ),
        (
            lambda raw: raw["isolated"]["management"].update(vrf="MGMT"),
            r"isolated\.management\.vrf.*MGMT is also the backbone's",
        ),
        (lambda raw: raw["management"].update(vrf="mgmt vrf"), r"management\.vrf.*mgmt vrf"),
    ],
)
def test_bad_management_data_names_file_and_field(tmp_path: Path, edit, match: str) -> None:  # type: ignore[no-untyped-def]
    raw = yaml.safe_load((DATA_DIR / PARAMS_FILE).read_text("utf-8"))
    edit(raw)
    path = tmp_path / "network.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(SourceError, match=match) as caught:
        load_params(path)
    assert str(path) in str(caught.value)


def test_the_vendor_record_names_the_out_of_band_vrf() -> None:
    """IOS-XE's GigabitEthernet0 is fixed in the platform's VRF Mgmt-intf; VRP binds its port to the
    model's VRF. A platform VRF without a management port is a contradiction the registry refuses."""
    iosxe, vrp = get_vendor("iosxe"), get_vendor("vrp")
    assert (iosxe.management_port, iosxe.management_vrf("MGMT")) == ("GigabitEthernet0", "Mgmt-intf")
    assert iosxe.management_vrf("ISO-MGMT") == "Mgmt-intf"
    assert vrp.management_vrf("MGMT") == "MGMT"
    with pytest.raises(VendorError, match="management_port_vrf without a management_port"):
        replace(iosxe, capabilities=iosxe.capabilities - {"mgmt-vrf"}, management_port="")
