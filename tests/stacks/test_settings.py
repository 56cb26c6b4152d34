"""Stack files and settings: every error names the file and the key; no credential in plain text."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from egov.errors import SourceError
from stacks.settings import (
    PROJECT_DIR,
    SECRET_KEYS,
    load_stack_settings,
    parse_settings,
    read_stack_config,
    settings_from_runtime,
)

ZONE = {
    "name": "公用网络区",
    "physicalNetwork": "physnet-egov",
    "networkType": "vlan",
    "segmentationId": 1001,
    "cidr": "59.255.44.0/22",
    "gateway": "59.255.44.1",
    "poolStart": "59.255.44.16",
    "poolEnd": "59.255.47.254",
}
MINIMAL = {"zones": {"public": ZONE}, "volumeTiers": {"ssd": {"backend": "ceph-ssd", "description": "SSD"}}}


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_committed_stacks_parse_and_hold_no_plain_credential(stack: str) -> None:
    config, settings = load_stack_settings(stack)
    assert settings.cloud and settings.zones["public"].name.startswith("公用网络区")
    text = (PROJECT_DIR / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8")
    for key in SECRET_KEYS:
        assert key not in config  # none committed, not even as ciphertext
        assert f"{key}:" not in text.replace(f"# {key}", "")


def test_prod_manages_every_department_and_staging_a_handful() -> None:
    _, prod = load_stack_settings("prod")
    _, staging = load_stack_settings("staging")
    assert prod.departments == "all"
    assert isinstance(staging.departments, list) and 1 < len(staging.departments) <= 10
    assert prod.factor_of("GAT") == 1.2 and prod.factor_of("FGW") == prod.quota_factor == 1.1


def test_every_config_key_is_documented() -> None:
    """Each key of the model appears in docs/operators.md and in a comment or key of Pulumi.prod.yaml."""
    from stacks.settings import StackSettings

    docs = (Path(__file__).resolve().parents[2] / "docs" / "operators.md").read_text(encoding="utf-8")
    prod = (PROJECT_DIR / "Pulumi.prod.yaml").read_text(encoding="utf-8")
    for name, field in StackSettings.model_fields.items():
        key = "openstack:cloud" if name == "cloud" else f"egov:{field.alias}"
        assert f"`{key}`" in docs, key
        assert key in prod, key


def test_plain_password_is_refused(tmp_path: Path) -> None:
    stack = tmp_path / "Pulumi.prod.yaml"
    stack.write_text("config:\n  openstack:cloud: x\n  openstack:password: hunter2\n", encoding="utf-8")
    with pytest.raises(SourceError) as err:
        read_stack_config(stack)
    assert str(stack) in str(err.value) and "openstack:password" in str(err.value)
    assert "pulumi config set --secret openstack:password" in str(err.value)
    assert "hunter2" not in str(err.value)


def test_secret_stays_ciphertext(tmp_path: Path) -> None:
    stack = tmp_path / "Pulumi.prod.yaml"
    stack.write_text("config:\n  openstack:password:\n    secure: AAABAJ2x\n", encoding="utf-8")
    assert read_stack_config(stack) == {"openstack:password": "[secret]"}


@pytest.mark.parametrize(
    ("override", "field", "fragment"),
    [
        ({"quotaFactor": -1}, "egov:quotaFactor", "greater than 0"),
        ({"quotaFactr": 1.2}, "egov:quotaFactr", "Extra inputs are not permitted"),
        ({"quotaFactors": {"GAT": 0}}, "egov:quotaFactors", "factor of GAT"),
        (
            {"zones": {"public": {**ZONE, "gateway": "10.0.0.1"}}},
            "egov:zones.public",
            "gateway 10.0.0.1 is outside",
        ),
        (
            {"zones": {"public": {**ZONE, "poolStart": "59.255.44.1"}}},
            "egov:zones.public",
            "inside the allocation",
        ),
        ({"zones": {"internet": ZONE}}, "egov:zones", "public zone"),
        ({"zones": {"public": ZONE, "dmz": ZONE}}, "egov:zones", "not ['dmz']"),
        ({"zones": {"public": {**ZONE, "networkType": "flat"}}}, "egov:zones.public", "flat network"),
        ({"hostnamePattern": "{host}-{index}"}, "egov:hostnamePattern", "may use"),
        ({"managementPrefixes": ["10.0.5.1/24"]}, "egov:managementPrefixes.0", "not a valid IPv4 network"),
    ],
)
def test_bad_settings_name_the_key(override: dict, field: str, fragment: str) -> None:
    with pytest.raises(SourceError) as err:
        parse_settings({**MINIMAL, **override}, "Pulumi.test.yaml")
    assert err.value.path == "Pulumi.test.yaml"
    assert err.value.field == field
    assert fragment in err.value.message


def test_runtime_config_reads_json_values_like_the_engine_passes_them() -> None:
    import json

    config = {
        "egov:zones": json.dumps({"public": ZONE}),
        "egov:volumeTiers": json.dumps(MINIMAL["volumeTiers"]),
        "egov:quotaFactor": "1.3",
        "egov:departments": "all",
        "egov:domain": "gd",
        "openstack:cloud": "gd-egov-admin",
        "other:key": "ignored",
    }
    settings = settings_from_runtime(config)
    assert (
        settings.quota_factor == 1.3 and settings.departments == "all" and settings.cloud == "gd-egov-admin"
    )
    assert str(settings.zones["public"].cidr) == "59.255.44.0/22"


def test_unknown_department_is_named(tmp_path: Path) -> None:
    from stacks.program import plan

    settings = parse_settings({**MINIMAL, "departments": ["GAT", "NOPE"]}, "x")
    with pytest.raises(KeyError, match="NOPE"):
        plan(settings)


@pytest.mark.parametrize(
    ("cidr", "clash"),
    [("10.20.0.0/16", "backbone prefix 10.0.0.0/8"), ("172.16.21.0/25", "department subnet 172.16.21.0/24")],
)
def test_zone_network_overlapping_backbone_or_departments_is_refused(cidr: str, clash: str) -> None:
    import ipaddress

    from stacks.program import plan

    net = ipaddress.ip_network(cidr)
    hosts = list(net.hosts())
    zone = {
        **ZONE,
        "cidr": cidr,
        "gateway": str(hosts[0]),
        "poolStart": str(hosts[4]),
        "poolEnd": str(hosts[-1]),
    }
    settings = parse_settings({**MINIMAL, "zones": {"public": zone}}, "x")
    with pytest.raises(ValueError, match=f"egov:zones.public: {cidr} overlaps the {clash}"):
        plan(settings)


def test_relative_data_path_is_relative_to_the_project(tmp_path: Path) -> None:
    project = tmp_path / "egov-cloud"
    project.mkdir()
    stack = {"config": {"egov:data": "../data", **{f"egov:{k}": v for k, v in MINIMAL.items()}}}
    (project / "Pulumi.prod.yaml").write_text(yaml.safe_dump(stack, allow_unicode=True), encoding="utf-8")
    config, settings = load_stack_settings("prod", project)
    assert settings.data == (tmp_path / "data").resolve()
    assert config["egov:data"] == str((tmp_path / "data").resolve())


@pytest.mark.xdist_group("pulumi")  # the runtime's config is process-global state
@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_the_program_reads_the_same_settings_through_pulumi_config(stack: str) -> None:
    """pulumi.Config (get / get_object) in the program, the stack file in `egov stack plan`: same settings."""
    import pulumi

    from stacks.mocks import RecordingMocks, reset_runtime
    from stacks.program import runtime_settings

    config, from_file = load_stack_settings(stack)
    reset_runtime(stack, config, RecordingMocks())
    assert runtime_settings() == from_file
    assert pulumi.Config("egov").require_object("zones")["public"]["physicalNetwork"] == "physnet-egov"
