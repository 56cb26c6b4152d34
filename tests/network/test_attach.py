"""Zone filters inside the device configs (issue 13 item 1): one source, the zone policy's per-device
artefacts, placed in the configs — ACLs in the ACL section, bindings in the interfaces' own stanzas."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from network.addressing import AddressPlan
from network.model import Backbone
from network.params import NetworkParams
from network.render import NFT_SUFFIX, render_all, render_device
from network.verify import check_rendered
from network.zonepolicy.compile import Compiled, compile_policy
from network.zonepolicy.parse import parse_cisco, parse_cisco_bindings, parse_vrp, parse_vrp_bindings
from network.zonepolicy.render import Rendered

PARSERS = {"vrp": (parse_vrp, parse_vrp_bindings), "iosxe": (parse_cisco, parse_cisco_bindings)}


@pytest.fixture(scope="module")
def compiled(small: Backbone, params: NetworkParams) -> Compiled:
    return compile_policy(small, AddressPlan(params))


@pytest.fixture(scope="module")
def configs(small: Backbone, params: NetworkParams, compiled: Compiled) -> dict[str, dict[str, str]]:
    """Every device's full config per vendor, rendered with its zone filters."""
    return {
        vendor: {
            name: render_device(small, name, vendor, params, compiled.rendered[vendor])
            for name in small.devices
        }
        for vendor in ("vrp", "iosxe")
    }


def _rules(filters):  # type: ignore[no-untyped-def]
    return {name: [(r.line, r.text) for r in f.rules] for name, f in filters.items()}


@pytest.mark.parametrize("vendor", ["vrp", "iosxe"])
def test_filters_in_the_full_config_equal_the_policy_artefact(
    compiled: Compiled, configs: dict[str, dict[str, str]], vendor: str
) -> None:
    parse, bindings = PARSERS[vendor]
    rendered = compiled.rendered[vendor]
    assert rendered.devices, "the slice has zone ports"
    for name, artefact in rendered.devices.items():
        full = configs[vendor][name]
        zone_names = set(parse(artefact))
        assert _rules(parse(full, zone_names)) == _rules(parse(artefact)), name
        bound = {k: v for k, v in bindings(full).items() if v in zone_names}
        assert bound == bindings(artefact), name
    every_zone_filter = {f for text in rendered.devices.values() for f in parse(text)}
    for name in set(configs[vendor]) - set(rendered.devices):  # devices without zone ports carry none
        assert set(bindings(configs[vendor][name]).values()) & every_zone_filter == set()


@pytest.mark.parametrize("vendor", ["vrp", "iosxe"])
def test_parse_back_still_passes_with_the_filters(
    small: Backbone, configs: dict[str, dict[str, str]], vendor: str
) -> None:
    for name, text in configs[vendor].items():
        assert check_rendered(small, vendor, name, text) == []


def test_hand_written_fragments(configs: dict[str, dict[str, str]]) -> None:
    """The access router's cloud-DC port: both filters bound inside its own stanza, the ACL defined once."""
    vrp = configs["vrp"]["GD-ACC-01"]
    assert (
        " traffic-policy GD-CLASSES outbound\n"
        " traffic-filter inbound acl name GD-DC-IN\n"
        " traffic-filter outbound acl name GD-DC-OUT\n#\n"
    ) in vrp
    assert vrp.count("\nacl name GD-DC-IN advance\n") == 1
    assert vrp.index("acl name GD-DC-IN advance") < vrp.index("interface XGigabitEthernet1/0/5")
    ios = configs["iosxe"]["GD-ACC-01"]
    assert (
        " service-policy output SHAPE-10G\n ip access-group GD-DC-IN in\n ip access-group GD-DC-OUT out\n"
        " no shutdown\n!\n"
    ) in ios
    assert ios.count("\nip access-list extended GD-DC-IN\n") == 1
    assert ios.index("ip access-list extended GD-DC-IN") < ios.index("interface TenGigabitEthernet1/0/5")
    # the site LAN's management filter, bound outbound on the LAN interface
    assert " ipv6 address fd" in ios and " ip access-group GD-MGMT-OUT out\n no shutdown\n!\n" in ios


def test_a_binding_to_a_missing_port_is_an_error(
    small: Backbone, params: NetworkParams, compiled: Compiled
) -> None:
    rendered = compiled.rendered["vrp"]
    broken = replace(rendered, bindings={"GD-ACC-01": [("XGigabitEthernet99/0/99", "in", "GD-DC-IN")]})
    with pytest.raises(ValueError, match="XGigabitEthernet99/0/99"):
        render_device(small, "GD-ACC-01", "vrp", params, broken)


def test_frr_gets_its_ruleset_as_a_companion_file(
    small: Backbone, params: NetworkParams, compiled: Compiled, tmp_path: Path
) -> None:
    zone: Rendered = compiled.rendered["frr"]
    written = render_all(small, "frr", tmp_path / "frr", params, zone=zone)
    rulesets = {
        p.name.removesuffix(NFT_SUFFIX): p.read_text("utf-8") for p in written if p.suffix == NFT_SUFFIX
    }
    assert rulesets == zone.devices
    assert next(iter(rulesets.values())).startswith("table ip filtering_policies {")
