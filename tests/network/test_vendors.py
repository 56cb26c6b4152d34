"""The vendor registry: every record renders and parses back; ports are numbered on real line cards; a new
vendor is one record plus a template directory."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import NamedTuple

import pint
import pytest

from egov.units import Q_
from network.naming import interface_name
from network.render import filename, render_device
from network.vendors import (
    HARDWARE_CLASS,
    HARDWARE_CLASSES,
    SPEEDS_MBPS,
    VENDORS,
    AnsibleTarget,
    NetBoxPlatform,
    PortFamily,
    Vendor,
    VendorError,
    get_vendor,
    mbps,
    register_vendor,
    unregister_vendor,
)
from network.verify import check_rendered

CHASSIS = [name for name, v in VENDORS.items() if not v.linux_port]


class _Port(NamedTuple):
    port: int
    bandwidth: pint.Quantity


def _port(index: int, gbit: float) -> _Port:
    return _Port(index, Q_(gbit, "Gbit/s"))


@pytest.mark.parametrize(
    ("vendor", "index", "gbit", "name"),
    [
        ("vrp", 1, 10, "XGigabitEthernet1/0/1"),
        ("vrp", 23, 10, "XGigabitEthernet1/0/23"),
        ("vrp", 24, 10, "XGigabitEthernet2/0/0"),  # a 24-port card is full: the next port spills a slot
        ("vrp", 1, 0.1, "GigabitEthernet1/1/1"),  # 100M rides a gigabit port
        ("vrp", 48, 1, "GigabitEthernet2/1/0"),
        ("vrp", 222, 40, "40GE28/3/6"),
        ("vrp", 3, 25, "25GE1/2/3"),
        ("vrp", 4, 100, "100GE2/4/0"),
        ("iosxe", 1, 10, "TenGigabitEthernet1/0/1"),
        ("iosxe", 13, 10, "TenGigabitEthernet2/0/3"),
        ("iosxe", 222, 40, "FortyGigabitEthernet112/3/0"),
        ("iosxe", 5, 25, "TwentyFiveGigE1/2/5"),
        ("frr", 222, 40, "eth222"),
    ],
)
def test_port_names_by_hand(vendor: str, index: int, gbit: float, name: str) -> None:
    assert interface_name(vendor, _port(index, gbit)) == name


@pytest.mark.parametrize("vendor", CHASSIS)
def test_every_port_of_the_province_is_on_a_card_that_has_it(backbone, vendor: str) -> None:
    record = get_vendor(vendor)
    for dev in backbone.devices.values():
        names = []
        for port in [*dev.interfaces, *dev.attachments]:
            name = interface_name(vendor, port)
            family = record.family(mbps(port.bandwidth))
            slot, card, number = (int(x) for x in name[len(family.prefix) :].split("/"))
            assert family.first_port <= number < family.first_port + family.ports_per_card, name
            assert card == family.subcard and slot >= record.first_slot, name
            assert record.speed_of_name(name) == family.speed_mbps >= mbps(port.bandwidth), name
            names.append(name)
        assert len(names) == len(set(names)), dev.hostname  # no two ports share a name


def test_the_40g_department_port_is_a_40g_port(backbone) -> None:
    acc = backbone.devices["GD-ACC-01"]
    zwfw = next(a for a in acc.attachments if a.customer == "ZWFW")
    assert mbps(zwfw.bandwidth) == 40_000
    for vendor in CHASSIS:
        name = interface_name(vendor, zwfw)
        assert get_vendor(vendor).speed_of_name(name) == 40_000, name


@pytest.mark.parametrize("vendor", list(VENDORS))
def test_every_record_is_complete(vendor: str) -> None:
    record = get_vendor(vendor)
    assert (record.template_path / record.template).is_file()
    assert filename("GD-CORE-01", vendor) == "GD-CORE-01" + record.suffix
    assert set(record.netbox.device_types) == set(HARDWARE_CLASSES)
    assert set(HARDWARE_CLASS.values()) <= set(HARDWARE_CLASSES)
    assert record.ansible.family in {"cli", "frr"}
    tasks = Path(__file__).parents[2] / "playbooks" / "tasks"
    assert (tasks / f"{record.ansible.family}_apply.yml").is_file()
    if not record.linux_port:
        assert sorted(f.speed_mbps for f in record.ports) == sorted(SPEEDS_MBPS)


def test_frr_hardware_is_not_frrouting() -> None:
    frr = get_vendor("frr").netbox
    assert frr.manufacturer == "Generic" and frr.platform_name == "FRRouting"
    assert frr.platform_manufacturer == ""  # FRRouting makes no hardware: NetBox gets no manufacturer for it


@pytest.mark.parametrize("vendor", list(VENDORS))
def test_every_vendor_renders_and_parses_back_every_tier(small, vendor: str) -> None:
    for name in ("GD-CORE-01", "GD-ACC-01", "GD-CITY-440100", "GD-CNTY-440103", "GD-TOWN-440103001"):
        text = render_device(small, name, vendor)
        assert check_rendered(small, vendor, name, text) == [], name


def test_unknown_vendor_names_the_known_ones() -> None:
    with pytest.raises(VendorError, match=r"junos.*vrp, iosxe, frr"):
        get_vendor("junos")


def test_the_cli_refuses_an_unknown_vendor_by_name(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from network.cli import app

    result = CliRunner().invoke(app, ["render", "--vendor", "junos", "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "'junos' is not one of vrp, iosxe, frr" in result.output
    assert "junos" not in VENDORS and not (tmp_path / "out").exists()


def test_a_record_with_two_speeds_on_one_card_is_refused() -> None:
    vrp = get_vendor("vrp")
    clash = tuple(replace(f, subcard=0) for f in vrp.ports)
    with pytest.raises(VendorError, match="share a card"):
        replace(vrp, name="clash", ports=clash)


def test_a_taken_name_is_refused() -> None:
    with pytest.raises(VendorError, match="already registered"):
        register_vendor(get_vendor("vrp"))


FAKE_TEMPLATE = """\
# {{ hostname }}
{% for i in interfaces %}
port {{ i.name }}
 mtu {{ i.mtu }}
 addr {{ i.v4.cidr }}
 addr6 {{ i.v6 }}
{% endfor %}
port {{ loopback.name }}
 addr {{ loopback.v4.cidr }}
 addr6 {{ loopback.v6 }}
{% for l in lans %}
port {{ l.name }}
 addr {{ l.v4.cidr }}
 addr6 {{ l.v6 }}
{% endfor %}
"""

FAKE_TTP = """
<group name="interfaces">
port {{ name }}
 mtu {{ mtu | to_int }}
 addr {{ cidr }}
 addr6 {{ ipv6 }}
</group>
"""


@pytest.fixture
def fake_vendor(tmp_path: Path):
    (tmp_path / "toy").mkdir()
    (tmp_path / "toy" / "toy.j2").write_text(FAKE_TEMPLATE, encoding="utf-8")
    record = Vendor(
        name="toy",
        title="Toy OS",
        template="toy.j2",
        suffix=".toy",
        ports=tuple(PortFamily(s, f"Toy{s // 1000}G-", n, 2) for n, s in enumerate(SPEEDS_MBPS)),
        loopback="lo0",
        lan="lan",
        capabilities=frozenset(),
        netbox=NetBoxPlatform("toy", "Toy OS", "Toy", "Toy", "toy", MappingProxyType({})),
        ansible=AnsibleTarget("ssh", None, "frr"),
        parseback=FAKE_TTP,
        template_dir=tmp_path,
    )
    register_vendor(record)
    yield record
    unregister_vendor("toy")


def test_a_new_vendor_is_one_record_and_a_template(small, fake_vendor, tmp_path: Path) -> None:
    text = render_device(small, "GD-CNTY-440103", "toy")
    assert text.startswith("# GD-CNTY-440103\nport Toy1G-1/0/1\n mtu 1500\n addr 10.4.48.17/31\n")
    # 1G cards of two ports: town port 11 is on slot 1 + 11 // 2, port 11 % 2
    assert "port Toy1G-6/0/1\n" in text
    assert check_rendered(small, "toy", "GD-CNTY-440103", text) == []
    assert filename("GD-CNTY-440103", "toy") == "GD-CNTY-440103.toy"
    assert "toy" in VENDORS


def test_builtin_vendors_cannot_be_unregistered() -> None:
    with pytest.raises(VendorError, match="built in"):
        unregister_vendor("vrp")
