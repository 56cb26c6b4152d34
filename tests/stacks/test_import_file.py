"""`egov stack import-file`: Pulumi's bulk import format, ids looked up in a (fake) cloud by name.

The fake answers the openstacksdk proxy calls the import makes (find_* with the scoping filters, aggregates(),
connect_as_project().object_store.get_container_metadata) and refuses a call without the filter a real
service needs to tell two departments' ``baseline`` groups apart. tests/keystone runs the identity part
against a real Keystone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from openstack import exceptions
from typer.testing import CliRunner

from stacks.importing import import_file_problems, stack_import_plan, write_import_files
from stacks.settings import PROJECT_DIR

pytestmark = pytest.mark.xdist_group("pulumi")


@dataclass(frozen=True)
class Found:
    id: str
    name: str


class FakeCloud:
    """A cloud holding named things per scope: ``{(kind, name, scope): id}``; scope None = unscoped."""

    def __init__(self, things: dict[tuple[str, str, str | None], str] | None = None) -> None:
        self.things = things  # None: everything the program declares exists (id "real-<kind>-<name>")
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.identity = self.compute = self.network = self.block_storage = self

    def _find(self, kind: str, name: str, scope: str | None, query: dict[str, Any]) -> Found | None:
        self.calls.append((kind, name, query))
        if self.things is None:
            return Found(f"real-{kind}-{name}-{scope or ''}".rstrip("-"), name)
        resource_id = self.things.get((kind, name, scope))
        return Found(resource_id, name) if resource_id else None

    def find_domain(self, name: str, ignore_missing: bool = True) -> Found | None:
        return self._find("domain", name, None, {})

    def find_project(self, name: str, ignore_missing: bool = True, **query: Any) -> Found | None:
        return self._find("project", name, query["domain_id"], query)

    def find_group(self, name: str, ignore_missing: bool = True, **query: Any) -> Found | None:
        return self._find("group", name, query["domain_id"], query)

    def find_flavor(self, name: str, ignore_missing: bool = True, **query: Any) -> Found | None:
        return self._find("flavor", name, None, query)

    def aggregates(self, **query: Any) -> list[Found]:
        from egov.source import default_source

        zones = default_source().cloud.availability_zones
        names = [agg.name for az in zones for agg in az.aggregates] + ["unrelated"]
        return [f for n in names if (f := self._find("aggregate", n, None, query))]

    def find_network(self, name: str, ignore_missing: bool = True, **query: Any) -> Found | None:
        return self._find("network", name, query.get("project_id"), query)

    def find_subnet(self, name: str, ignore_missing: bool = True, **query: Any) -> Found | None:
        return self._find("subnet", name, query["network_id"], query)

    def find_router(self, name: str, ignore_missing: bool = True, **query: Any) -> Found | None:
        return self._find("router", name, query["project_id"], query)

    def find_security_group(self, name: str, ignore_missing: bool = True, **query: Any) -> Found | None:
        return self._find("security group", name, query["project_id"], query)

    def find_type(self, name: str, ignore_missing: bool = True) -> Found | None:
        return self._find("volume type", name, None, {})

    def connect_as_project(self, project: str) -> Any:
        cloud = self

        class Store:
            def get_container_metadata(self, container: str) -> Found:
                if cloud._find("container", container, project, {}) is None:
                    raise exceptions.NotFoundException(f"container {container}")
                return Found(container, container)

        return type("Scoped", (), {"object_store": Store()})()


# The province as the fake holds it: the domain, GAT complete, JYT's project only; FGW's project exists in
# another domain (must not be adopted); two flavors, one aggregate, the public zone, the ssd tier.
HALF_ADOPTED = {
    ("domain", "gd-departments", None): "d-1",
    ("project", "GAT", "d-1"): "p-gat",
    ("project", "JYT", "d-1"): "p-jyt",
    ("project", "FGW", "default"): "p-fgw-elsewhere",
    ("group", "GAT-users", "d-1"): "g-gat",
    ("flavor", "m1.small", None): "f-small",
    ("flavor", "r1.4xlarge", None): "f-r4xl",
    ("aggregate", "gz-1-general", None): "7",
    ("network", "公用网络区", None): "n-public",
    ("network", "gat-net", "p-gat"): "n-gat",
    ("subnet", "gat-subnet", "n-gat"): "s-gat",
    ("router", "gat-router", "p-gat"): "r-gat",
    ("security group", "baseline", "p-gat"): "sg-gat",
    ("security group", "baseline", "p-jyt"): "sg-jyt",
    ("volume type", "ssd", None): "vt-ssd",
    ("container", "gat-data", "p-gat"): "gat-data",
}


@pytest.fixture(scope="module")
def half() -> Any:
    return stack_import_plan("prod", None, PROJECT_DIR, connect=lambda _name: FakeCloud(HALF_ADOPTED))


def _entries(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["type"], r["name"]): r for r in document["resources"]}


def test_found_resources_land_at_the_programs_urns(half: Any) -> None:
    entries = _entries(half.main)
    project = "openstack:identity/project:Project"
    assert entries[project, "departments-domain"] == {
        "type": project,
        "name": "departments-domain",
        "id": "d-1",
        "parent": "identity",
    }
    assert entries[project, "GAT"]["id"] == "p-gat" and entries[project, "JYT"]["id"] == "p-jyt"
    assert (project, "FGW") not in entries  # same name in another domain is not the department's project
    assert entries["openstack:identity/groupV3:GroupV3", "GAT-users"]["id"] == "g-gat"
    assert entries["openstack:compute/aggregateV2:AggregateV2", "gz-1-general"]["id"] == "7"
    assert entries["openstack:networking/network:Network", "zone-public"]["id"] == "n-public"
    assert entries["openstack:networking/subnet:Subnet", "GAT-subnet"]["id"] == "s-gat"
    assert entries["openstack:networking/secGroup:SecGroup", "JYT-baseline"]["id"] == "sg-jyt"
    assert entries["openstack:blockstorage/volumeTypeV3:VolumeTypeV3", "tier-ssd"]["id"] == "vt-ssd"
    # The parents are created empty by the import itself (component: true), children name them.
    components = [r for r in half.main["resources"] if r.get("component")]
    assert components == [
        {"type": "egov:stacks:Compute", "name": "compute", "component": True},
        {"type": "egov:stacks:Identity", "name": "identity", "component": True},
        {"type": "egov:stacks:Network", "name": "network", "component": True},
        {"type": "egov:stacks:Storage", "name": "storage", "component": True},
    ]
    assert import_file_problems(half.main) == []


def test_containers_go_through_their_scoped_provider(half: Any) -> None:
    assert half.containers == {
        "nameTable": {
            "storage": "urn:pulumi:prod::egov-cloud::egov:stacks:Storage::storage",
            "GAT-scoped": "urn:pulumi:prod::egov-cloud::egov:stacks:Storage$pulumi:providers:openstack"
            "::GAT-scoped",
        },
        "resources": [
            {
                "type": "openstack:objectstorage/container:Container",
                "name": "GAT-container",
                "id": "gat-data",
                "parent": "storage",
                "provider": "GAT-scoped",
            }
        ],
    }
    assert import_file_problems(half.containers) == []


def test_what_the_cloud_lacks_is_listed_with_what_was_looked_for(half: Any) -> None:
    missing = {(m.type, m.name): m.looked_for for m in half.missing}
    assert missing["openstack:identity/project:Project", "FGW"] == "project FGW in domain d-1"
    assert missing["openstack:networking/network:Network", "JYT-net"] == "network jyt-net of project p-jyt"
    assert missing["openstack:networking/subnet:Subnet", "JYT-subnet"] == (
        "subnet jyt-subnet (its network is not there)"
    )
    assert missing["openstack:networking/network:Network", "FGW-net"] == (
        "network fgw-net (its project is not there)"
    )
    assert missing["openstack:objectstorage/container:Container", "JYT-container"] == (
        "container jyt-data in the account of project p-jyt"
    )
    # 123 projects + 122 groups + 17 flavors + 8 aggregates + 124 networks + 124 subnets + 122 routers
    # + 122 groups + 2 tiers + 122 containers looked up; found: domain, 2 projects, 1 group, 2 flavors,
    # 1 aggregate, 2 networks, 1 subnet, 1 router, 2 security groups, 1 tier, 1 container = 15.
    assert half.found == 15
    assert len(half.missing) == 123 + 122 + 17 + 8 + 124 + 124 + 122 + 122 + 2 + 122 - 15
    assert half.not_looked_up["openstack:compute/quotaSetV2:QuotaSetV2"] == 122


def test_the_prod_import_file_validates_when_everything_exists(tmp_path: Path) -> None:
    plan = stack_import_plan("prod", None, PROJECT_DIR, connect=lambda _name: FakeCloud())
    assert plan.missing == []
    written = write_import_files(plan, tmp_path / "import.json")
    assert [p.name for p in written] == ["import.json", "import-containers.json"]
    main, containers = (json.loads(p.read_text(encoding="utf-8")) for p in written)
    assert import_file_problems(main) == [] and import_file_problems(containers) == []
    assert len(main["resources"]) == 4 + 123 + 122 + 17 + 8 + 124 + 124 + 122 + 122 + 2
    assert len(containers["resources"]) == 122 and len(containers["nameTable"]) == 123
    # Same input, byte-identical files.
    again = write_import_files(
        stack_import_plan("prod", None, PROJECT_DIR, connect=lambda _name: FakeCloud()), tmp_path / "b.json"
    )
    assert written[0].read_bytes() == again[0].read_bytes()


def test_the_schema_refuses_what_pulumi_import_would() -> None:
    good = {"resources": [{"type": "egov:stacks:Identity", "name": "identity", "component": True}]}
    assert import_file_problems(good) == []
    bad = {
        "nameTable": {"p": "not-a-urn"},
        "resources": [{"type": "openstack:identity/project:Project", "name": "GAT"}],
    }
    problems = import_file_problems(bad)
    assert any(p.startswith("nameTable/p:") for p in problems), problems
    assert any(p.startswith("resources/0:") and "'id' is a required property" in p for p in problems)
    dangling = {
        "resources": [
            {"type": "openstack:identity/project:Project", "name": "GAT", "id": "x", "parent": "identity"},
            {"type": "openstack:identity/project:Project", "name": "GAT", "id": "y"},
        ]
    }
    assert import_file_problems(dangling) == [
        "resource name GAT appears twice",
        "GAT: parent identity is neither in the nameTable nor a component of the file",
    ]


def test_cli_writes_the_files_and_lists_what_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import openstack

    from egov.cli import app

    asked: list[str] = []

    def connect(cloud: str) -> FakeCloud:
        asked.append(cloud)
        return FakeCloud(HALF_ADOPTED)

    monkeypatch.setattr(openstack, "connect", connect)
    out = tmp_path / "adopt.json"
    result = CliRunner().invoke(
        app, ["stack", "import-file", "--stack", "staging", "--out", str(out), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert asked == ["gd-egov-staging-admin"]  # the stack's openstack:cloud
    assert summary["files"] == [str(out), str(tmp_path / "adopt-containers.json")]
    # staging's domain is gd-departments-staging: the fake holds none of it, so no project is found.
    assert {
        "type": "openstack:identity/project:Project",
        "name": "GAT",
        "looked_for": ("project GAT (its domain is not there)"),
    } in summary["not_found"]
    assert json.loads(out.read_text(encoding="utf-8"))["resources"][0]["component"] is True
