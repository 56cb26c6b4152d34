"""`egov stack plan`: what `pulumi up` would create, under mocks, as a table or ONE JSON object."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from egov.cli import app
from stacks.settings import PROJECT_DIR

pytestmark = pytest.mark.xdist_group("pulumi")
runner = CliRunner()


def test_plan_staging_json_is_one_object() -> None:
    result = runner.invoke(app, ["stack", "plan", "--stack", "staging", "--format", "json"])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert plan["stack"] == "staging" and plan["departments"] == 5
    assert plan["resources"]["openstack:identity/project:Project"] == 6
    assert plan["resources"]["openstack:compute/quotaSetV2:QuotaSetV2"] == 5
    assert (
        set(plan["quota_totals"])
        == set(plan["usable"])
        == {"cores", "ram_mib", "volume_gib", "object_bytes", "vgpus"}
    )
    # N+2 kept per aggregate class (see test_quotas)
    assert plan["usable"]["cores"] == 56088 and plan["usable_at"] == "2031-12"
    assert plan["total_resources"] == sum(plan["resources"].values())
    # the flavors as declared: a GPU flavor asks for its vGPUs in its extra specs, a general one does not
    assert plan["flavors"]["g1.4xlarge"] == {
        "vcpus": 32,
        "ram_mib": 192 * 1024,
        "disk_gib": 400,
        "extra_specs": {"aggregate_instance_extra_specs:class": "gpu", "resources:VGPU": "4"},
    }
    assert plan["flavors"]["m1.small"]["extra_specs"] == {"aggregate_instance_extra_specs:class": "general"}
    assert len(plan["flavors"]) == plan["resources"]["openstack:compute/flavor:Flavor"]
    # Project (domain + 5), Domain and quota types fully protected; nothing protected outside the kinds.
    assert plan["protection"]["openstack:identity/project:Project"] == {"resources": 6, "protected": 6}
    for token in (
        "openstack:compute/quotaSetV2:QuotaSetV2",
        "openstack:blockstorage/quoteSetV3:QuoteSetV3",
        "openstack:networking/quotaV2:QuotaV2",
        "openstack:objectstorage/accountV1:AccountV1",
    ):
        assert plan["protection"][token] == {"resources": 5, "protected": 5}, token
    assert plan["protection"]["openstack:networking/secGroupRule:SecGroupRule"]["protected"] == 0
    # vGPUs have no agreed oversubscription yet: shown (GAT's limit against the AI pool), not judged
    assert plan["violations"] == [] and plan["within_agreed"] == {
        "cores": True,
        "ram_mib": True,
        "volume_gib": True,
        "object_bytes": True,
        "vgpus": None,
    }
    assert plan["agreed_oversubscription"]["vgpus"] is None and plan["usable"]["vgpus"] == 96
    assert plan["resources"]["openstack:identity/limitV3:LimitV3"] == 1  # GAT's vGPU limit


def test_plan_table_and_json_agree_and_repeat_byte_identically() -> None:
    first = runner.invoke(app, ["stack", "plan", "--stack", "staging", "--format", "json"])
    second = runner.invoke(app, ["stack", "plan", "--stack", "staging", "--format", "json"])
    assert first.stdout == second.stdout
    table = runner.invoke(app, ["stack", "plan", "--stack", "staging"])
    assert table.exit_code == 0, table.output
    assert "openstack:networking/secGroupRule:SecGroupRule" in table.stdout
    assert "every policy of stacks/policy passes" in table.stdout


def _project_copy(tmp_path: Path, edit: str, replacement: str) -> Path:
    project = tmp_path / "egov-cloud"
    shutil.copytree(PROJECT_DIR, project)
    stack = project / "Pulumi.staging.yaml"
    text = stack.read_text(encoding="utf-8")
    assert edit in text
    stack.write_text(text.replace(edit, replacement), encoding="utf-8")
    return project


def test_plan_exits_1_and_names_the_violation(tmp_path: Path) -> None:
    # A factor of 10 on GAT and its neighbours pushes Σ cores past the usable capacity.
    project = _project_copy(tmp_path, "egov:quotaFactor: 1.1", "egov:quotaFactor: 10")
    result = runner.invoke(
        app, ["stack", "plan", "--stack", "staging", "--format", "json", "--project-dir", str(project)]
    )
    assert result.exit_code == 1, result.output
    plan = json.loads(result.stdout)
    assert plan["within_agreed"]["cores"] is False
    assert any(v.startswith("Σ cores quotas") for v in plan["violations"])


def test_plan_bad_config_exits_2_naming_file_and_key(tmp_path: Path) -> None:
    project = _project_copy(tmp_path, "egov:quotaFactor: 1.1", "egov:quotaFactor: lots")
    result = runner.invoke(app, ["stack", "plan", "--stack", "staging", "--project-dir", str(project)])
    assert result.exit_code == 2
    assert "Pulumi.staging.yaml" in result.output and "egov:quotaFactor" in result.output
