"""The identity part of `egov stack import-file` against a REAL Keystone: the projects, groups and domain the
test creates are found by name, with Keystone's ids, at the URNs the program gives them."""

from __future__ import annotations

from typing import Any

import pytest

from stacks.importing import IDENTITY_KINDS, import_file_problems, import_plan
from stacks.mocks import RecordingMocks, run_program
from stacks.settings import load_stack_settings

pytestmark = [pytest.mark.keystone, pytest.mark.xdist_group("keystone")]


@pytest.fixture(scope="module")
def staging_program() -> RecordingMocks:
    config, _ = load_stack_settings("staging")
    return run_program("staging", config)


def test_the_import_file_finds_the_projects_keystone_holds(
    keystone_admin: Any, staging_program: RecordingMocks
) -> None:
    identity = keystone_admin.identity
    domain = identity.create_domain(name="gd-departments-staging", description="test")
    created = {
        code: identity.create_project(name=code, domain_id=domain.id).id for code in ("GAT", "JYT", "WJW")
    }
    group = identity.create_group(name="GAT-users", domain_id=domain.id)
    # Decoys: the same names outside the departments' domain must not be adopted.
    identity.create_project(name="FGW", domain_id="default")
    identity.create_group(name="JYT-users", domain_id="default")

    plan = import_plan("staging", staging_program.registrations, keystone_admin, kinds=IDENTITY_KINDS)

    entries = {(r["type"], r["name"]): r for r in plan.main["resources"]}
    project = "openstack:identity/project:Project"
    assert entries[project, "departments-domain"] == {
        "type": project,
        "name": "departments-domain",
        "id": domain.id,
        "parent": "identity",
    }
    for code, project_id in created.items():
        assert entries[project, code] == {
            "type": project,
            "name": code,
            "id": project_id,
            "parent": "identity",
        }
    assert entries["openstack:identity/groupV3:GroupV3", "GAT-users"]["id"] == group.id
    missing = {(m.type, m.name): m.looked_for for m in plan.missing}
    assert missing == {
        (project, "FGW"): f"project FGW in domain {domain.id}",
        (project, "RST"): f"project RST in domain {domain.id}",
        **{
            (
                "openstack:identity/groupV3:GroupV3",
                f"{code}-users",
            ): f"group {code}-users in domain {domain.id}"
            for code in ("FGW", "JYT", "RST", "WJW")
        },
    }
    assert [r for r in plan.main["resources"] if r.get("component")] == [
        {"type": "egov:stacks:Identity", "name": "identity", "component": True}
    ]
    assert plan.not_looked_up["openstack:networking/network:Network"] == 6  # only identity was asked for
    assert import_file_problems(plan.main) == []
