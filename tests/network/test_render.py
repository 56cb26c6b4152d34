"""Rendering: the FRR lab contract, secrets by name only, byte-identical reruns, atomic output, parse-back."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from network import render as render_module
from network.render import render_all, render_device
from network.vendors import VENDORS
from network.verify import check_rendered


def test_frr_config_is_lab_ready(small) -> None:
    text = render_device(small, "GD-CITY-440100", "frr")
    assert text.startswith("frr version 8.4\nfrr defaults traditional\nhostname GD-CITY-440100\n")
    for word in ("snmp", "aaa", "tacacs", "vrf", "ntp", "SECRET", "qos", "mpls"):
        assert word not in text.lower(), word
    assert " area 440100 range 10.4.0.0/14\n" in text
    assert "router ospf6\n" in text and " area 440100 range fd00:4400::4:0/110\n" in text
    assert "router bgp 65044\n" in text and " neighbor 10.0.0.1 remote-as 65044\n" in text
    names = re.findall(r"^interface (\S+)$", text, flags=re.M)
    assert all(len(n) <= 15 for n in names)
    assert "eth1" in names and "lo" in names


def test_bgp_only_where_the_model_says(small) -> None:
    for name, dev in small.devices.items():
        text = render_device(small, name, "frr")
        assert ("router bgp" in text) == (dev.bgp is not None), name
    rr = render_device(small, "GD-CORE-01", "frr")
    assert " neighbor 10.0.3.1 route-reflector-client\n" in rr  # GD-CITY-440100
    assert " neighbor 10.0.0.2 route-reflector-client\n" not in rr  # the other reflector is not a client


def test_backup_links_fail_over_fast_in_frr(small) -> None:
    text = render_device(small, "GD-CITY-440100", "frr")
    block = text.split("interface eth2\n", 1)[1].split("exit\n", 1)[0]
    assert " ip ospf hello-interval 1\n ip ospf dead-interval 3\n" in block
    assert "backup" in block


def test_secrets_are_referenced_by_name_only(small, params) -> None:
    for vendor in ("vrp", "iosxe"):
        text = render_device(small, "GD-CITY-440100", vendor)
        assert f"%SECRET:{params.management.aaa_key_secret}%" in text
        assert f"%SECRET:{params.management.snmp_auth_secret}%" in text
        # every credential-bearing line carries a reference, never a literal (lines that only name a key by
        # number or key chain carry none)
        key_by_id = re.compile(
            r"key chain \S+$|^ key \d+$|key-chain \S+$|key \d+$|keyid \d+$|^password encryption aes$"
        )
        for line in text.splitlines():
            if re.search(r"\b(cipher|key|key-string|secret|password|auth sha|priv aes)\b", line):
                assert "%SECRET:" in line or key_by_id.search(line), line


def test_vrp_spells_vrfs_qos_and_summaries(small) -> None:
    text = render_device(small, "GD-CITY-440100", "vrp")
    pe = render_device(small, "GD-ACC-01", "vrp")
    assert "ip vpn-instance dept-fgw\n" in pe and "  vpn-target 65044:1001 export-extcommunity\n" in pe
    # the shared-services RT (VRF public's) is imported, another department's never
    assert "  vpn-target 65044:1 import-extcommunity\n" in pe.split("ip vpn-instance dept-fgw\n")[1]
    # no department or service VRF on a city router (none of its ports is in one): only the management VRF
    assert re.findall(r"^ip vpn-instance (\S+)$", text, flags=re.M) == ["MGMT"]
    # IPv6 on a VRF port needs the VRF's IPv6 family (6VPE), in both vendors
    assert " ipv6-family vpn-instance dept-fgw\n" in pe
    acc = render_device(small, "GD-ACC-01", "iosxe")
    fgw = acc.split("vrf definition dept-fgw\n", 1)[1].split("!\n", 1)[0]
    assert " address-family ipv6\n  route-target export 65044:1001\n" in fgw
    assert " address-family ipv6 vrf dept-fgw\n" in acc
    assert "interface XGigabitEthernet1/0/1\n" in text and " qos lr cir 10000000 outbound\n" in text
    assert "  abr-summary 10.4.0.0 255.252.0.0\n" in text
    assert "ip route-static 10.4.0.0 255.252.0.0 NULL0" in text
    town = render_device(small, "GD-TOWN-440103001", "iosxe")
    assert "policy-map SHAPE-100M\n class class-default\n  shape average 100000000\n" in town
    assert "router bgp" not in town


@pytest.mark.parametrize("vendor", list(VENDORS))
def test_parse_back_equals_the_model(small, vendor: str) -> None:
    for name in small.devices:
        assert check_rendered(small, vendor, name, render_device(small, name, vendor)) == []


def test_parse_back_catches_a_wrong_address(small) -> None:
    text = render_device(small, "GD-CNTY-440103", "vrp")
    broken = text.replace("ip address 10.4.48.17 255.255.255.254", "ip address 10.4.48.19 255.255.255.254")
    assert broken != text
    problems = check_rendered(small, "vrp", "GD-CNTY-440103", broken)
    assert [(p.device, p.interface) for p in problems] == [("GD-CNTY-440103", "GigabitEthernet1/1/1")]


def test_parse_back_catches_a_missing_interface(small) -> None:
    text = render_device(small, "GD-TOWN-440103001", "frr")
    broken = text.replace("interface eth1\n", "interface eth9\n")
    interfaces = {p.interface for p in check_rendered(small, "frr", "GD-TOWN-440103001", broken)}
    assert interfaces == {"eth1", "eth9"}


def test_two_runs_are_byte_identical(small, tmp_path: Path) -> None:
    one = render_all(small, "vrp", tmp_path / "a")
    two = render_all(small, "vrp", tmp_path / "b")
    assert [p.name for p in one] == [p.name for p in two] == sorted(f"{n}.cfg" for n in small.devices)
    for a, b in zip(one, two, strict=True):
        assert a.read_bytes() == b.read_bytes()


def test_failed_render_leaves_the_directory_as_it_was(small, tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "configs"
    render_all(small, "frr", out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    calls = {"n": 0}
    real = render_module.render_device

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 5:
            raise RuntimeError("disk full")
        return real(*args, **kwargs).replace("frr version", "CHANGED")

    monkeypatch.setattr(render_module, "render_device", flaky)
    with pytest.raises(RuntimeError):
        render_all(small, "frr", out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["configs"]  # no staging left behind


def test_unknown_vendor_is_refused(small) -> None:
    with pytest.raises(ValueError, match="junos"):
        render_device(small, "GD-CORE-01", "junos")


def test_frr_accepts_the_configs(small, tmp_path: Path) -> None:
    """`vtysh -C` (dry run, FRR 8.4) accepts one config of every kind; it does reject a bad line."""
    if shutil.which("vtysh") is None:
        pytest.fail("FRR's vtysh is missing: apt-get install -y frr (make test installs it when run as root)")
    bad = tmp_path / "bad.conf"
    bad.write_text("hostname x\ninterface eth1\n ip ospf bogus 3\nexit\n", encoding="utf-8")
    assert subprocess.run(["vtysh", "-C", "-f", str(bad)], capture_output=True).returncode != 0
    for name in (
        "GD-CORE-01",
        "GD-ACC-01",
        "GD-CITY-440100",
        "GD-CNTY-440103",
        "GD-TOWN-440103001",
        "GD-ISO-CORE",
    ):
        path = tmp_path / f"{name}.conf"
        path.write_text(render_device(small, name, "frr"), encoding="utf-8")
        result = subprocess.run(["vtysh", "-C", "-f", str(path)], capture_output=True, text=True)
        assert result.returncode == 0, (name, result.stdout, result.stderr)


def test_identical_across_processes_and_hash_seeds(tmp_path: Path) -> None:
    """Same input → byte-identical output, even with a different string-hash seed (set/dict order)."""
    egov = Path(sys.executable).parent / "egov"
    digests = []
    for seed in ("1", "2"):
        out = tmp_path / seed
        env = dict(os.environ, PYTHONHASHSEED=seed)
        cmd = [str(egov), "network", "render", "--vendor", "vrp", "--only", "445300", "--out", str(out)]
        subprocess.run(cmd, check=True, env=env, capture_output=True)
        digests.append({p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in out.iterdir()})
    assert digests[0] == digests[1] and len(digests[0]) == 70  # with 云浮's second city router


@pytest.mark.parametrize("vendor", list(VENDORS))
def test_parse_back_with_a_second_city_router(backbone, vendor: str) -> None:
    """江门 has counties with backup circuits: its second router and those backups parse back too."""
    jiangmen = backbone.slice(["440700"], towns_per_county=1)
    assert "GD-CITY-440700-B" in jiangmen.devices
    for name in jiangmen.devices:
        assert check_rendered(jiangmen, vendor, name, render_device(jiangmen, name, vendor)) == []
