"""Credentials of the project-scoped providers: the operator's clouds.yaml entry, scoped by project id alone.

Swift creates a container in the account of the token's project, so each department's container goes through
a provider scoped to that project. Such a provider must NOT be ``cloud: gd-egov-admin`` plus ``tenant_id``:
the clouds.yaml entry carries ``project_name: admin`` and the OpenStack Go SDK behind the provider refuses a
scope with both a project id and a project name. So the entry is read here (openstacksdk's own loader, the
same files and precedence as the ``openstack`` CLI) and only the *user* part of it is handed on: auth URL,
user and user domain, region, interface, TLS settings; the scope is the project id alone. The password is the
stack's secret ``openstack:password`` when set, else the entry's password, marked secret either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

#: Provider arguments that name a project scope: a scoped provider carries tenant_id and none of these.
PROJECT_NAME_ARGUMENTS = frozenset(
    {"tenantName", "projectDomainName", "projectDomainId", "cloud", "domainName", "domainId"}
)


@dataclass(frozen=True)
class CloudUser:
    """The user half of a clouds.yaml entry: who authenticates, where, over which interface."""

    cloud: str
    auth_url: str
    user_name: str | None
    user_id: str | None
    user_domain_name: str | None
    user_domain_id: str | None
    password: str | None
    region: str | None
    endpoint_type: str | None
    cacert_file: str | None
    insecure: bool | None


def cloud_user(cloud: str | None) -> CloudUser:
    """The clouds.yaml entry ``cloud`` (OS_CLIENT_CONFIG_FILE, ~/.config/openstack, /etc/openstack).

    Raises ValueError naming the entry when it is missing or has no auth_url: the program cannot scope a
    provider without it, and a provider that later fails mid-``up`` is worse than a clear stop now.
    """
    import openstack.config
    from openstack import exceptions

    if not cloud:
        raise ValueError("openstack:cloud is not set: name the clouds.yaml entry the stack uses")
    from keystoneauth1 import exceptions as auth_exceptions

    try:
        region = openstack.config.OpenStackConfig().get_one(cloud=cloud)
    except exceptions.ConfigException as exc:
        raise ValueError(f"openstack:cloud: clouds.yaml has no usable entry {cloud!r}: {exc}") from None
    except auth_exceptions.ClientException as exc:
        raise ValueError(f"openstack:cloud: the clouds.yaml entry {cloud!r} is incomplete: {exc}") from None
    config: dict[str, Any] = dict(region.config)
    auth: dict[str, Any] = dict(config.get("auth") or {})
    if not auth.get("auth_url"):
        raise ValueError(f"openstack:cloud: the clouds.yaml entry {cloud!r} has no auth.auth_url")
    verify = config.get("verify")
    return CloudUser(
        cloud=cloud,
        auth_url=str(auth["auth_url"]),
        user_name=auth.get("username") or None,
        user_id=auth.get("user_id") or None,
        user_domain_name=auth.get("user_domain_name") or None,
        user_domain_id=auth.get("user_domain_id") or None,
        password=auth.get("password") or None,
        region=config.get("region_name") or None,
        endpoint_type=config.get("interface") or None,
        cacert_file=config.get("cacert") or None,
        insecure=(not verify) if isinstance(verify, bool) else None,
    )


def project_scoped_provider(
    name: str,
    user: CloudUser,
    project_id: pulumi.Input[str],
    password: pulumi.Output[str] | None,
    opts: pulumi.ResourceOptions,
) -> pulumi.ProviderResource:
    """A provider for ``user`` scoped to the project ``project_id`` alone (no project name, no cloud)."""
    import pulumi_openstack as openstack

    secret = password
    if secret is None and user.password:
        secret = pulumi.Output.secret(user.password)
    return openstack.Provider(
        name,
        auth_url=user.auth_url,
        user_name=user.user_name,
        user_id=user.user_id,
        user_domain_name=user.user_domain_name,
        user_domain_id=user.user_domain_id,
        tenant_id=project_id,
        password=secret,
        region=user.region,
        endpoint_type=user.endpoint_type,
        cacert_file=user.cacert_file,
        insecure=user.insecure,
        opts=opts,
    )
