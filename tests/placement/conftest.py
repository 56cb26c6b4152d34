"""A real OpenStack Placement for the tests: gunicorn (one worker) on 127.0.0.1, SQLite, noauth2.

Started once per session by the fixture itself, after ``placement-manage db sync``; openstacksdk talks to it
with ``auth_type="admin_token"``. Missing openstack-placement makes the tests FAIL with the install command.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from egov.model import SourceOfTruth


@pytest.fixture(scope="session")
def placement_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a fresh Placement server, stopped at the end of the session."""
    from placement_server import PlacementUnavailable, running_placement

    try:
        with running_placement(tmp_path_factory.mktemp("placement")) as endpoint:
            yield endpoint
    except PlacementUnavailable as exc:
        pytest.fail(str(exc))


@pytest.fixture
def placement(placement_endpoint: str) -> Iterator[Any]:
    """An openstacksdk connection to an empty Placement; everything the test wrote is deleted after it."""
    from placement_server import connect

    conn = connect(placement_endpoint)
    wipe(conn)
    yield conn
    wipe(conn)


def wipe(conn: Any) -> None:
    """Delete every allocation and resource provider (the test Placement only)."""
    from capacity.placement_source import call

    providers = call(conn, "GET", "/resource_providers").json()["resource_providers"]
    consumers: set[str] = set()
    for rp in providers:
        consumers |= set(
            call(conn, "GET", f"/resource_providers/{rp['uuid']}/allocations").json()["allocations"]
        )
    for consumer in sorted(consumers):
        call(conn, "DELETE", f"/allocations/{consumer}")
    # Leaves first: Placement refuses to delete a provider that still has children (nested vGPU providers).
    while providers:
        parents = {rp["parent_provider_uuid"] for rp in providers}
        for rp in providers:
            if rp["uuid"] not in parents:
                call(conn, "DELETE", f"/resource_providers/{rp['uuid']}")
        providers = [rp for rp in providers if rp["uuid"] in parents]


def _scaled(source: SourceOfTruth, fraction: float) -> SourceOfTruth:
    """The source of truth with every aggregate cut to ``fraction`` of its hosts (at least 3)."""
    zones = [
        az.model_copy(
            update={
                "aggregates": [
                    a.model_copy(update={"hosts": max(3, round(a.hosts * fraction))}) for a in az.aggregates
                ]
            }
        )
        for az in source.cloud.availability_zones
    ]
    return source.model_copy(update={"cloud": source.cloud.model_copy(update={"availability_zones": zones})})


@pytest.fixture
def scaled() -> Callable[[SourceOfTruth, float], SourceOfTruth]:
    """scaled(source, fraction): the source with its aggregates cut to a fraction of their hosts."""
    return _scaled


@pytest.fixture
def small_data(tmp_path: Path) -> Path:
    """A copy of data/ whose aggregates have 3 hosts each (the cloud of ``scaled(source, 0.0)``)."""
    data = tmp_path / "data"
    shutil.copytree(Path(__file__).resolve().parents[2] / "data", data)
    text = (data / "cloud.yaml").read_text()
    # Every aggregate's host count (the line after its host_model, not the expansions'), as _scaled does:
    # max(3, 0) = 3, so the AI pool's empty GPU aggregates get 3 hosts too.
    text, count = re.subn(r"(host_model: \S+\n\s+hosts: )\d+", r"\g<1>3", text)
    assert count == 8, f"expected 8 aggregates in data/cloud.yaml, rewrote {count}"
    (data / "cloud.yaml").write_text(text)
    return data


@pytest.fixture
def clouds_yaml(placement_endpoint: str, tmp_path: Path) -> dict[str, str]:
    """The environment for the CLI: OS_CLIENT_CONFIG_FILE naming a clouds.yaml with cloud 'lab'."""
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(
        "clouds:\n  lab:\n    auth_type: admin_token\n    auth:\n      token: admin\n"
        f"      endpoint: {placement_endpoint}\n"
    )
    return {"OS_CLIENT_CONFIG_FILE": str(clouds)}
