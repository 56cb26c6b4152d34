"""Infrastructure protection (issue 13 item 2): the iACL on backbone-facing ports and control-plane policing,
decided in the model (network/protection.py, rates from data/network.yaml), spelt by the templates, checked by
`egov network check` (network/verify.check_protection)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from egov.errors import SourceError
from network.model import Backbone
from network.params import DATA_DIR, PARAMS_FILE, NetworkParams, load_params
from network.render import render_device
from network.verify import check_rendered

COUNTY = "GD-CNTY-440103"  # 10.4.48.20 loopback; links .17 (to the city), .48 and .80 (to its towns)


def _block(text: str, start: str, end: str) -> str:
    i = text.index(start)
    return text[i : text.index(end, i) + len(end)]


def test_vrp_iacl_by_hand(small: Backbone) -> None:
    text = render_device(small, COUNTY, "vrp")
    assert _block(text, "acl name GD-IACL advance", "\n#\n") == (
        "acl name GD-IACL advance\n"
        " description infrastructure ACL: routing from the infrastructure prefixes,"
        " management from its LANs\n"
        " rule 5 permit ospf source 10.0.0.0 0.255.255.255\n"
        " rule 10 permit tcp source 10.0.0.0 0.255.255.255 destination-port eq 179\n"
        " rule 15 permit tcp source 10.0.0.0 0.255.255.255 source-port eq 179\n"
        " rule 20 permit tcp source 10.0.0.0 0.255.255.255 destination-port eq 646\n"
        " rule 25 permit tcp source 10.0.0.0 0.255.255.255 source-port eq 646\n"
        " rule 30 permit udp source 10.0.0.0 0.255.255.255 destination-port eq 646\n"
        " rule 35 permit udp source 10.0.0.0 0.255.255.255 destination-port eq 3784\n"
        " rule 40 permit udp source 10.0.0.0 0.255.255.255 destination-port eq 4784\n"
        " rule 45 permit ip source 10.0.5.0 0.0.0.255\n"
        " rule 50 deny ip destination 10.4.48.20 0.0.0.0\n"
        " rule 55 deny ip destination 10.4.48.17 0.0.0.0\n"
        " rule 60 deny ip destination 10.4.48.48 0.0.0.0\n"
        " rule 65 deny ip destination 10.4.48.80 0.0.0.0\n"
        " rule 70 permit ip\n#\n"
    )
    v6 = _block(text, "acl ipv6 name GD-IACL6 advance", "\n#\n")
    assert " rule 5 permit ospf source fd00:4400::/96\n rule 10 permit ospf source fe80::/10\n" in v6
    assert " deny ipv6 destination fd00:4400::4:3014/128\n" in v6  # the loopback
    assert v6.endswith(" permit ipv6\n#\n")
    uplink = _block(text, "interface GigabitEthernet1/1/1\n", "\n#\n")
    assert uplink.endswith(
        " traffic-filter inbound acl name GD-IACL\n traffic-filter inbound ipv6 acl name GD-IACL6\n#\n"
    )


def test_iosxe_iacl_and_copp_by_hand(small: Backbone) -> None:
    text = render_device(small, COUNTY, "iosxe")
    v4 = _block(text, "ip access-list extended GD-IACL\n", "\nexit\n")
    assert (
        " permit tcp 10.0.0.0 0.255.255.255 any eq 179\n permit tcp 10.0.0.0 0.255.255.255 eq 179 any\n" in v4
    )
    assert " deny ip any host 10.4.48.17\n" in v4 and v4.endswith(" permit ip any any\nexit\n")
    v6 = _block(text, "ipv6 access-list GD-IACL6\n", "\nexit\n")
    assert " permit ospf fe80::/10 any\n" in v6 and " deny ipv6 any host fd00:4400::4:3011\n" in v6
    uplink = _block(text, "interface GigabitEthernet1/1/1\n", "\n!\n")
    assert " ip access-group GD-IACL in\n ipv6 traffic-filter GD-IACL6 in\n no shutdown\n!\n" in uplink
    # CoPP: BGP at 4 Mbit/s and the rest at 1 Mbit/s (data/network.yaml protection)
    policy = _block(text, "policy-map GD-COPP\n", "\n!\n")
    assert " class GD-COPP-BGP\n  police cir 4000000 conform-action transmit exceed-action drop\n" in policy
    assert (
        " class class-default\n  police cir 1000000 conform-action transmit exceed-action drop\n!\n" in policy
    )
    assert "control-plane\n service-policy input GD-COPP\n!\n" in text
    # each class matches the protocol over IPv4 and IPv6
    assert (
        "ipv6 access-list GD-COPP-BGP6\n permit tcp any any eq 179\nexit\n"
        "class-map match-any GD-COPP-BGP\n match access-group name GD-COPP-BGP\n"
        " match access-group name GD-COPP-BGP6\n!\n"
    ) in text


def test_vrp_copp_rates_from_data(small: Backbone, params: NetworkParams) -> None:
    text = render_device(small, COUNTY, "vrp")
    policy = _block(text, "cpu-defend policy GD-COPP\n", "\n#\n")
    for p in params.protection.protocols:
        kbps = round(p.rate.to("kbit/s").magnitude)
        assert f" car packet-type {p.name.lower()} cir {kbps}\n" in policy
    assert " car packet-type ldp-hello cir 512\n" in policy  # 512 kbit/s, by hand
    assert "cpu-defend-policy GD-COPP global\n" in text


def test_frr_has_neither(small: Backbone) -> None:
    text = render_device(small, COUNTY, "frr")
    assert "GD-IACL" not in text and "COPP" not in text
    assert check_rendered(small, "frr", COUNTY, text) == []


@pytest.mark.parametrize(
    ("vendor", "drop"),
    [
        ("vrp", " traffic-filter inbound ipv6 acl name GD-IACL6\n"),
        ("vrp", " traffic-filter inbound acl name GD-IACL\n"),
        ("iosxe", " ipv6 traffic-filter GD-IACL6 in\n"),
        ("iosxe", " ip access-group GD-IACL in\n"),
    ],
)
def test_check_catches_a_port_without_its_iacl(small: Backbone, vendor: str, drop: str) -> None:
    text = render_device(small, COUNTY, vendor)
    assert check_rendered(small, vendor, COUNTY, text) == []
    planted = text.replace(drop, "", 1)
    found = [(v.check, v.interface) for v in check_rendered(small, vendor, COUNTY, planted)]
    assert found == [("iacl", "GigabitEthernet1/1/1")]


@pytest.mark.parametrize(
    ("vendor", "cut"),
    [
        ("vrp", "acl ipv6 name GD-IACL6 advance\n"),
        ("iosxe", "ipv6 access-list GD-IACL6\n"),
        ("vrp", "cpu-defend-policy GD-COPP global\n"),
        ("iosxe", "control-plane\n service-policy input GD-COPP\n"),
    ],
)
def test_check_catches_a_missing_definition_or_copp(small: Backbone, vendor: str, cut: str) -> None:
    planted = render_device(small, COUNTY, vendor).replace(cut, "", 1)
    assert [v.check for v in check_rendered(small, vendor, COUNTY, planted)] in (["iacl"], ["copp"])


def test_bad_protection_data_names_file_and_field(tmp_path: Path) -> None:
    raw = yaml.safe_load((DATA_DIR / PARAMS_FILE).read_text("utf-8"))
    raw["protection"]["protocols"][1] = {"name": "BGP", "protocol": "tcp", "rate": "4 Mbit/s"}
    path = tmp_path / "network.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(SourceError, match=r"protection\.protocols\.1.*tcp and udp need a port") as caught:
        load_params(path)
    assert str(path) in str(caught.value)
