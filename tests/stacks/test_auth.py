"""Provider authentication: project-scoped providers carry a project id and never a project name."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from stacks.auth import PROJECT_NAME_ARGUMENTS, cloud_user
from stacks.mocks import MOCK_CLOUDS, RecordingMocks

pytestmark = pytest.mark.xdist_group("pulumi")


def test_no_provider_carries_a_project_id_and_a_project_name(prod_mocks: RecordingMocks) -> None:
    # The clouds.yaml of the run carries project_name (as every real admin entry does): the test means it.
    entry = yaml.safe_load(MOCK_CLOUDS.read_text(encoding="utf-8"))["clouds"]["gd-egov-admin"]
    assert entry["auth"]["project_name"] == "admin"
    providers = prod_mocks.of_type("pulumi:providers:openstack")
    assert len(providers) == 122
    for provider in providers:
        inputs = provider.inputs
        assert inputs["tenantId"] == f"{provider.name.removesuffix('-scoped')}-id", provider.name
        assert PROJECT_NAME_ARGUMENTS.isdisjoint(inputs), (provider.name, sorted(inputs))
        # The user half of the entry, so the provider can authenticate at all.
        assert inputs["authUrl"] == "https://keystone.gd-egov.example:5000/v3"
        assert (inputs["userName"], inputs["userDomainName"]) == ("pulumi-admin", "Default")
        assert (inputs["region"], inputs["endpointType"]) == ("gd-egov", "public")
        assert "password" not in inputs  # none in clouds.yaml, no stack secret under the mocks


def _clouds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, entry: dict[str, object]) -> None:
    path = tmp_path / "clouds.yaml"
    path.write_text(yaml.safe_dump({"clouds": {"ops": entry}}), encoding="utf-8")
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(path))


def test_cloud_user_keeps_the_user_and_drops_the_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _clouds(
        tmp_path,
        monkeypatch,
        {
            "auth": {
                "auth_url": "https://k:5000/v3",
                "username": "ops",
                "password": "s3cret",
                "project_name": "admin",
                "project_domain_name": "Default",
                "user_domain_id": "default",
            },
            "region_name": "r1",
            "verify": False,
        },
    )
    user = cloud_user("ops")
    assert (user.auth_url, user.user_name, user.user_domain_id) == ("https://k:5000/v3", "ops", "default")
    assert user.password == "s3cret" and user.region == "r1" and user.insecure is True
    assert not any("project" in field for field in vars(user))


def test_cloud_user_names_a_missing_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _clouds(tmp_path, monkeypatch, {"auth": {"auth_url": "https://k:5000/v3"}})
    with pytest.raises(ValueError, match=r"clouds\.yaml has no usable entry 'gd-egov-admin'"):
        cloud_user("gd-egov-admin")
    with pytest.raises(ValueError, match="openstack:cloud is not set"):
        cloud_user(None)
    _clouds(tmp_path, monkeypatch, {"auth": {"username": "ops"}})
    with pytest.raises(ValueError, match=r"entry 'ops' is incomplete: .*auth_url"):
        cloud_user("ops")
