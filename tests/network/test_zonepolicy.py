"""Zone policy (issue 13 items 2-3): Aerleon-rendered filters for three vendors, proven on the rendered text.

Most tests run on a slice of the province (Guangzhou and 东莞, two towns per county: every zone and every
kind of zone port is in it); the whole province is compiled and checked in bench/bench_policy.py.
"""

from __future__ import annotations

import re
from dataclasses import replace
from ipaddress import IPv4Network
from pathlib import Path

import pytest

from egov.errors import SourceError
from network.addressing import AddressPlan
from network.model import Backbone
from network.params import NetworkParams
from network.zonepolicy import evaluate
from network.zonepolicy.compile import VENDORS, Compiled, check_policy, compile_policy
from network.zonepolicy.evaluate import Checker, IntentTooLarge, Paths, apply_filter, parse_rendered
from network.zonepolicy.intents import load_zone_policy
from network.zonepolicy.parse import ANY_PORT, ParseError, parse_cisco, parse_vrp
from network.zonepolicy.render import port_name, render_vendor
from network.zonepolicy.zones import department_sites, shared_services_subnet


@pytest.fixture(scope="module")
def compiled(small: Backbone, params: NetworkParams) -> Compiled:
    return compile_policy(small, AddressPlan(params))


def _with_text(compiled: Compiled, vendor: str, edit) -> Compiled:  # type: ignore[no-untyped-def]
    """The compiled policy with one vendor's rendered device texts edited (a planted fault)."""
    rendered = compiled.rendered[vendor]
    devices = {name: edit(text) for name, text in rendered.devices.items()}
    changed = replace(rendered, devices=devices)
    assert devices != rendered.devices, "the planted edit must change the text"
    return replace(compiled, rendered={vendor: changed})


def _result(report, name: str, vendor: str):  # type: ignore[no-untyped-def]
    return next(r for r in report.results if r.intent.name == name and r.vendor == vendor)


# -- the proof --------------------------------------------------------------------------------------------
def test_every_intent_holds_for_every_vendor(compiled: Compiled) -> None:
    report = check_policy(compiled)
    failed = [r.as_dict(r.intent.service) for r in report.results if not r.ok]
    assert failed == []
    assert {r.vendor for r in report.results} == set(VENDORS)
    assert len(report.results) == len(compiled.spec.intents) * len(VENDORS)
    # the flows are real: every town LAN of the slice is a source of the town → cloud intent
    towns = sum(1 for d in compiled.backbone.devices.values() if d.tier in ("city", "county", "town"))
    first = _result(report, "town-lan-to-cloud-https", "vrp")
    assert first.flows == towns * 2  # two DC ports


def test_no_unreachable_or_shadowed_line(compiled: Compiled) -> None:
    doc = check_policy(compiled).as_dict(compiled.spec)
    assert (doc["unreachable_lines"], doc["shadowed_lines"]) == (0, 0), doc["findings"]


def _plant_permit_above_management_deny(vendor: str, mgmt: IPv4Network):  # type: ignore[no-untyped-def]
    """An allow for the management LAN inserted above GD-PUBLIC-IN's deny of it."""
    net, wild = mgmt.network_address, mgmt.hostmask
    if vendor == "iosxe":
        deny = f" deny ip any {net} {wild}\n"
        return lambda text: text.replace(deny, f" permit ip any {net} {wild}\n" + deny, 1)
    if vendor == "vrp":

        def edit(text: str) -> str:
            # GD-PUBLIC-IN's rule 10 is the management deny; rule 7 comes before it in VRP's order
            return re.sub(
                rf"( rule 10 deny ip destination {net} {wild}\n)",
                rf" rule 7 permit ip destination {net} {wild}\n\1",
                text,
                count=1,
            )

        return edit
    drop = f'iifname "lan0" ip daddr {mgmt} drop'
    return lambda text: text.replace(drop, f'iifname "lan0" ip daddr {mgmt} accept\n        ' + drop, 1)


@pytest.mark.parametrize("vendor", VENDORS)
def test_planted_allow_above_deny_fails_the_check(compiled: Compiled, vendor: str) -> None:
    (mgmt,) = compiled.zones.networks["MANAGEMENT"]
    planted = _with_text(compiled, vendor, _plant_permit_above_management_deny(vendor, mgmt))
    report = check_policy(planted)
    assert not report.ok
    aaa = _result(report, "public-to-management-aaa", vendor)
    assert (aaa.ok, aaa.verdict) == (False, "allow")
    assert "→ 10.0.5." in aaa.counterexample
    shadowed = [f for f in report.findings if f["kind"] == "shadowed"]
    assert any(str(mgmt.network_address) in f["text"] and f["filter"] for f in shadowed), report.findings
    # the fault is confined: every intent that does not go to management still holds
    assert all(r.ok for r in report.results if r.intent.dst != "management")


def test_vrp_default_permit_is_modelled_iosxe_implicit_deny_too(compiled: Compiled) -> None:
    """Without their final deny, a VRP traffic-filter lets unmatched packets through (VRP's default), an
    IOS ACL still drops them: dropping the last line of GD-DEPT-FGW-IN and GD-DC-OUT breaks department
    separation on VRP only."""

    def drop_final(pattern: str):  # type: ignore[no-untyped-def]
        def edit(text: str) -> str:
            for acl in ("GD-DEPT-FGW-IN", "GD-DC-OUT"):
                text = re.sub(rf"(acl name {acl} advance\n(?: .*\n)*?){pattern}", r"\1", text)
                text = re.sub(rf"(ip access-list extended {acl}\n(?:.*\n)*?){pattern}", r"\1", text)
            return text

        return edit

    vrp = check_policy(_with_text(compiled, "vrp", drop_final(r" rule \d+ deny ip\n#")))
    assert _result(vrp, "dept-a-to-dept-b", "vrp").verdict == "allow"
    ios = check_policy(_with_text(compiled, "iosxe", drop_final(r" deny ip any any\n")))
    assert _result(ios, "dept-a-to-dept-b", "iosxe").ok


@pytest.mark.parametrize("vendor", VENDORS)
def test_every_zone_port_has_its_filter_bound(compiled: Compiled, vendor: str) -> None:
    parsed = parse_rendered(compiled.rendered[vendor])
    for a in compiled.zones.attaches:
        ifname = port_name(compiled.backbone, vendor, a.port)
        if vendor == "frr":
            guard = "iif" if a.direction == "in" else "oif"
            rules = [r for f in parsed.chains[a.port.device] for r in f.rules if getattr(r, guard) == ifname]
            assert rules and not rules[-1].permit, (a, "the port's last line must be its deny-all")
        else:
            (f,) = parsed.bindings[a.port.device][(ifname, a.direction)]
            assert f.name == a.filter


def test_isolated_domain_has_no_path_and_its_filters_deny(compiled: Compiled) -> None:
    paths = Paths(compiled.backbone)
    iso = [n for n, d in compiled.backbone.devices.items() if d.domain == "isolated"]
    rest = [n for n, d in compiled.backbone.devices.items() if d.domain == "backbone"]
    assert iso and all(paths.path(i, r) is None for i in iso for r in rest[:50])
    # and even if a path appeared, the isolated LAN's inbound filter drops a public source
    parsed = parse_rendered(compiled.rendered["iosxe"])
    device = iso[0]
    (f,) = parsed.bindings[device][("Vlan100", "in")]
    town = next(iter(compiled.zones.zones["public"].sources)).address
    lan = compiled.backbone.devices[device].lans[0].prefix_v4
    box = ((6, 6), (int(town), int(town)), (int(lan[10]), int(lan[10])), (443, 443))
    assert apply_filter(f, [box], "Vlan100", None) == []


# -- rendering ----------------------------------------------------------------------------------------------
def test_aerleon_finds_our_vrp_generator_through_the_entry_point() -> None:
    from aerleon.lib import plugin_supervisor

    from network.zonepolicy.vrp import HuaweiVrp

    plugin_supervisor.PluginSupervisor.Start()
    assert plugin_supervisor.PluginSupervisor.generators["huawei_vrp"] is HuaweiVrp


def test_vrp_lines_by_hand(compiled: Compiled) -> None:
    """GD-PUBLIC-IN as VRP spells it: isolated block 192.168.0.0/16 → wildcard 0.0.255.255; the first city
    block 10.4.0.0/14 (广州 440100: XX=01 → 1 << 18) → 0.3.255.255; numbered in steps of 5."""
    text = next(t for n, t in compiled.rendered["vrp"].devices.items() if n.startswith("GD-TOWN-"))
    lines = text.splitlines()
    start = lines.index("acl name GD-PUBLIC-IN advance")
    assert lines[start + 2] == " rule 5 deny ip destination 192.168.0.0 0.0.255.255"
    assert lines[start + 3] == " rule 10 deny ip destination 10.0.5.0 0.0.0.255"
    assert lines[start + 4] == (
        " rule 15 permit tcp source 10.4.0.0 0.3.255.255"
        " destination 172.16.0.0 0.0.0.255 destination-port eq 443"
    )
    assert text.rstrip().endswith("interface Vlanif100\n traffic-filter inbound acl name GD-PUBLIC-IN\n#")
    fw = compiled.rendered["vrp"].extra["GD-EXIT-FW.cfg"]
    assert (
        " rule name GD-INTERNET-IN-internet-published\n  source-zone untrust\n  destination-zone trust\n"
        in fw
    )


def test_same_input_same_bytes(compiled: Compiled, small: Backbone) -> None:
    from network.zonepolicy.render import clear_cache

    clear_cache()
    for vendor in VENDORS:
        again = render_vendor(
            small, compiled.zones, compiled.spec, compiled.filters, compiled.definitions, vendor
        )
        assert again.files() == compiled.rendered[vendor].files()


def test_write_policy_files(compiled: Compiled, tmp_path: Path) -> None:
    import json

    from network.zonepolicy.render import write_policy

    written = write_policy(compiled, "frr", tmp_path / "out")
    names = {p.name for p in written}
    assert {"attachments.json", "gd-zones.yaml", "definitions.yaml"} <= names
    rows = json.loads((tmp_path / "out" / "attachments.json").read_text())
    assert {"device", "interface", "direction", "filter"} == set(rows[0])
    assert len(rows) == len(compiled.zones.attaches)


# -- one source of truth ------------------------------------------------------------------------------------
def test_zone_prefixes_come_from_the_address_plan(compiled: Compiled, params: NetworkParams) -> None:
    plan = AddressPlan(params)
    assert compiled.zones.networks["SHARED_SERVICES"] == (shared_services_subnet(plan),)
    assert shared_services_subnet(plan) == plan.department_cloud_subnet(0)
    assert all(d.vpn_id >= 1 for d in params.departments.values())  # VPN id 0 is nobody's
    fgw = compiled.zones.zones["dept-fgw"]
    assert fgw.prefixes == (department_sites(plan, 1), plan.department_cloud_subnet(1))
    assert plan.department_link(1, 0).subnet_of(fgw.prefixes[0])
    assert plan.department_link(1, 1).subnet_of(fgw.prefixes[0])


# -- bad input ----------------------------------------------------------------------------------------------
def test_bad_intent_names_file_field_and_value(
    tmp_path: Path, small: Backbone, params: NetworkParams
) -> None:
    good = Path(__file__).resolve().parents[2] / "data" / "zones.yaml"
    text = good.read_text(encoding="utf-8")
    bad = tmp_path / "zones.yaml"
    bad.write_text(text.replace("service: https, expect: allow}", "service: htps, expect: allow}", 1))
    with pytest.raises(SourceError) as err:
        load_zone_policy(bad)
    assert (
        "zones.yaml" in str(err.value)
        and "'htps'" in str(err.value)
        and "intents.0.service" in str(err.value)
    )
    bad.write_text(text.replace("dst: dept-gat", "dst: dept-nosuch", 1))
    with pytest.raises(SourceError) as err:
        compile_policy(small, AddressPlan(params), vendors=(), zones_file=bad)
    assert "intents.6.dst" in str(err.value) and "'dept-nosuch'" in str(err.value)


def test_parse_refuses_what_it_does_not_understand() -> None:
    with pytest.raises(ParseError, match=r"X line 1: 'permit tcp any any established'"):
        parse_cisco("ip access-list extended X\n permit tcp any any established\nexit\n")
    with pytest.raises(ParseError, match="rule 5 appears twice"):
        parse_vrp("acl name Y advance\n rule 5 deny ip\n rule 5 permit ip\n#\n")
    (empty,) = parse_vrp("acl name Y advance\n#\n").values()
    assert empty.default_permit  # VRP: no rule matched → permitted
    box = ((6, 6), (1, 1), (2, 2), ANY_PORT)
    assert apply_filter(empty, [box], None, None) == [box]


def test_an_intent_too_large_is_refused(compiled: Compiled, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(evaluate, "MAX_FLOWS_PER_INTENT", 10)
    checker = Checker(compiled.backbone, compiled.zones, compiled.spec)
    parsed = parse_rendered(compiled.rendered["iosxe"])
    with pytest.raises(IntentTooLarge, match="town-lan-to-cloud-https"):
        checker.check_intent(parsed, compiled.spec.intents[0])


# -- MLPS evidence ----------------------------------------------------------------------------------------
def test_evidence_names_generated_lines_and_tests_that_exist(compiled: Compiled) -> None:
    from network.zonepolicy.evidence import CONTROLS, evidence

    rows = evidence(compiled.filters)
    assert [r["control"] for r in rows] == list(CONTROLS)
    here = Path(__file__).read_text(encoding="utf-8")
    for row in rows:
        assert row["lines"], f"{row['control']}: no generated line evidences it"
        for test in row["tests"]:
            path, name = test.split("::")
            assert path == "tests/network/test_zonepolicy.py" and f"def {name}(" in here, test
    terms = {f"{f.name} {t.name}" for f in compiled.filters for t in f.terms}
    for row in rows:
        assert all(line in terms or line.startswith("GD-DEPT-<CODE>-IN") for line in row["lines"])


# -- real parts --
def test_real_nft_accepts_every_rendered_ruleset(compiled: Compiled, tmp_path: Path) -> None:
    """The lab's Linux routers load these rulesets: the real nft (--check: parsed and validated by the
    kernel's nf_tables, nothing applied) accepts every distinct one, and refuses a broken one."""
    import shutil
    import subprocess

    nft = shutil.which("nft") or "/usr/sbin/nft"
    assert Path(nft).exists(), "nft missing: sudo apt-get install -y nftables (scripts/deps.d/50-policy.sh)"
    texts = sorted(set(compiled.rendered["frr"].devices.values()))
    assert len(texts) >= 3  # site LANs, access routers, isolated LANs
    for n, text in enumerate([*texts, texts[0].replace(" drop\n", " dorp\n", 1)]):
        path = tmp_path / f"{n}.nft"
        path.write_text(text, encoding="utf-8")
        result = subprocess.run([nft, "--check", "-f", str(path)], capture_output=True, text=True)
        assert (result.returncode == 0) == (n < len(texts)), (n, result.stderr)


# -- the command --
def test_cli_check_prints_the_contract_fields(small: Backbone, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from typer.testing import CliRunner

    import network.topology
    from egov.cli import app

    monkeypatch.setattr(network.topology, "build_backbone", lambda **_: small)
    result = CliRunner().invoke(app, ["network", "policy", "check", "--format", "json", "--vendor", "iosxe"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert {"intents", "unreachable_lines", "shadowed_lines"} <= set(doc)
    assert {"name", "src", "dst", "service", "expect", "verdict", "ok"} <= set(doc["intents"][0])
    assert (doc["unreachable_lines"], doc["shadowed_lines"]) == (0, 0)
    bad = CliRunner().invoke(app, ["network", "policy", "check", "--vendor", "junos"])
    assert bad.exit_code == 2 and "junos" in bad.output


def test_a_duplicated_line_is_reported_unreachable(compiled: Compiled) -> None:
    """A line repeated right below itself can never decide a packet: unreachable (same action), not
    shadowed."""
    (isolated,) = compiled.zones.networks["ISOLATED"]
    line = f" deny ip any {isolated.network_address} {isolated.hostmask}\n"
    block = re.compile(r"(ip access-list extended GD-PUBLIC-IN\n(?:.*\n)*?)" + re.escape(line))
    planted = _with_text(compiled, "iosxe", lambda text: block.sub(lambda m: m.group(0) + line, text, 1))
    doc = check_policy(planted).as_dict(planted.spec)
    assert (doc["unreachable_lines"], doc["shadowed_lines"]) == (1, 0)
    (finding,) = doc["findings"]
    assert (finding["filter"], finding["by_line"], finding["line"]) == ("GD-PUBLIC-IN", 1, 2)


def test_aerleons_own_aclgen_regenerates_our_vrp_text(compiled: Compiled, tmp_path: Path) -> None:
    """The written Aerleon policy and definitions are Aerleon's format: its own `aclgen` command, which
    finds our generator through the entry point, writes the same VRP ACLs we render."""
    import subprocess
    import sys

    from network.zonepolicy.render import write_policy

    out = tmp_path / "vrp"
    write_policy(compiled, "vrp", out)
    (tmp_path / "def").mkdir()
    (out / "aerleon" / "definitions.yaml").rename(tmp_path / "def" / "definitions.yaml")
    aclgen = Path(sys.executable).parent / "aclgen"
    args = ["--base_directory", str(out / "aerleon"), "--definitions_directory", str(tmp_path / "def")]
    args += [
        "--output_directory",
        str(tmp_path / "gen"),
        "--policy_file",
        str(out / "aerleon" / "gd-zones.yaml"),
    ]
    result = subprocess.run([str(aclgen), *args], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    generated = (tmp_path / "gen" / "gd-zones.vrp").read_text(encoding="utf-8")
    town = next(t for n, t in compiled.rendered["vrp"].devices.items() if n.startswith("GD-TOWN-"))
    acl = town[: town.index("interface ")]
    assert acl.startswith("acl name GD-PUBLIC-IN advance\n") and acl in generated


def test_box_arithmetic_by_hand_and_exhaustively() -> None:
    """The proof's box arithmetic (unrolled for speed): the intersection, and the difference as disjoint
    boxes whose union with the intersection is the box — by hand, then every pair of small boxes point by
    point."""
    import itertools

    from network.zonepolicy.evaluate import _intersect, _subtract, covered

    a = ((6, 6), (10, 19), (0, 9), (443, 443))
    b = ((0, 255), (15, 30), (5, 5), (0, 65535))
    assert _intersect(a, b) == ((6, 6), (15, 19), (5, 5), (443, 443))
    assert _subtract(a, b) == [
        ((6, 6), (10, 14), (0, 9), (443, 443)),
        ((6, 6), (15, 19), (0, 4), (443, 443)),
        ((6, 6), (15, 19), (6, 9), (443, 443)),
    ]
    assert _intersect(a, ((17, 17), (0, 99), (0, 99), (0, 65535))) is None
    assert covered(a, [((0, 255), (10, 14), (0, 9), (0, 65535)), ((6, 6), (15, 19), (0, 9), (400, 500))])
    assert not covered(a, [((0, 255), (10, 14), (0, 9), (0, 65535)), ((6, 6), (15, 18), (0, 9), (0, 65535))])

    spans = [(lo, hi) for lo in range(3) for hi in range(lo, 3)]
    boxes = [(p, s, (1, 1), q) for p in spans[:4] for s in spans for q in spans[:4]]

    def points(box):  # type: ignore[no-untyped-def]
        return set(itertools.product(*(range(lo, hi + 1) for lo, hi in box)))

    for x, y in itertools.product(boxes[::3], boxes[::2]):
        inter, pieces = _intersect(x, y), _subtract(x, y)
        assert (points(inter) if inter else set()) == points(x) & points(y)
        parts = [points(p) for p in pieces]
        assert set().union(*parts) == points(x) - points(y)
        assert sum(len(p) for p in parts) == len(points(x) - points(y))  # disjoint
