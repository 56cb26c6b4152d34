"""What `pulumi up` may never delete by accident, and the logical names of a department's resources.

The components declare every kind below with ``protect=True``: the engine refuses to delete a protected
resource, whether a department was dropped from the stack config, from data/departments.csv, or the whole
stack is destroyed. Kinds whose deletion would lose data (a Keystone project owns every VM, volume and
object of a department; a network holds its ports; a container its objects) are also ``retain_on_delete``:
even after an operator unprotects them on purpose, Pulumi forgets them instead of deleting them in the
cloud, so a retired department's data is archived and removed by hand, never by a config edit.

The policy pack (stacks/policy) and the import file (stacks/importing.py) read the same names from here.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

DOMAIN_NAME = "departments-domain"

PROJECT = "openstack:identity/project:Project"
GROUP = "openstack:identity/groupV3:GroupV3"
ROLE_ASSIGNMENT = "openstack:identity/roleAssignment:RoleAssignment"
COMPUTE_QUOTA = "openstack:compute/quotaSetV2:QuotaSetV2"
VOLUME_QUOTA = "openstack:blockstorage/quoteSetV3:QuoteSetV3"
NETWORK_QUOTA = "openstack:networking/quotaV2:QuotaV2"
OBJECT_ACCOUNT = "openstack:objectstorage/accountV1:AccountV1"
NETWORK = "openstack:networking/network:Network"
SUBNET = "openstack:networking/subnet:Subnet"
VOLUME_TYPE = "openstack:blockstorage/volumeTypeV3:VolumeTypeV3"
CONTAINER = "openstack:objectstorage/container:Container"
UNIFIED_LIMIT = "openstack:identity/limitV3:LimitV3"
REGISTERED_LIMIT = "openstack:identity/registeredLimitV3:RegisteredLimitV3"

#: Kinds declared ``protect=True`` (type token → what it is, for messages).
PROTECTED_KINDS: dict[str, str] = {
    PROJECT: "Keystone project (and the departments' domain)",
    GROUP: "Keystone group",
    ROLE_ASSIGNMENT: "role assignment",
    COMPUTE_QUOTA: "Nova quota",
    VOLUME_QUOTA: "Cinder quota",
    NETWORK_QUOTA: "Neutron quota",
    OBJECT_ACCOUNT: "Swift account quota",
    NETWORK: "network",
    SUBNET: "subnet",
    VOLUME_TYPE: "volume type",
    CONTAINER: "Swift container",
    UNIFIED_LIMIT: "Keystone unified limit (Nova vGPU quota)",
    # Without the registered default of 0, Nova counts vGPUs of projects without a limit as unlimited.
    REGISTERED_LIMIT: "Keystone registered limit (Nova vGPU default)",
}
#: Kinds also ``retain_on_delete=True``: deleting them in the cloud would lose a department's data.
RETAINED_KINDS = frozenset({PROJECT, GROUP, NETWORK, SUBNET, VOLUME_TYPE, CONTAINER})
#: The quota kinds: a department without them would run unplanned (policy: fully protected).
QUOTA_KINDS = (COMPUTE_QUOTA, VOLUME_QUOTA, NETWORK_QUOTA, OBJECT_ACCOUNT)


def kept(parent: pulumi.Resource, token: str, **extra: object) -> pulumi.ResourceOptions:
    """The options of a resource of kind ``token``: protected, and retained on delete when it holds data."""
    return pulumi.ResourceOptions(
        parent=parent,
        protect=token in PROTECTED_KINDS,
        retain_on_delete=token in RETAINED_KINDS or None,
        **extra,  # type: ignore[arg-type]
    )


@dataclass(frozen=True)
class DepartmentNames:
    """The logical (Pulumi) names of one department's resources: the components name them from here."""

    code: str

    @property
    def project(self) -> str:
        return self.code

    @property
    def group(self) -> str:
        return f"{self.code}-users"

    def group_role(self, role: str) -> str:
        return f"{self.code}-users-{role}"

    def operator_role(self, role: str) -> str:
        return f"{self.code}-operator-{role}"

    @property
    def compute_quota(self) -> str:
        return f"{self.code}-compute"

    @property
    def vgpu_limit(self) -> str:
        return f"{self.code}-vgpu-limit"

    @property
    def volume_quota(self) -> str:
        return f"{self.code}-volume"

    @property
    def network_quota(self) -> str:
        return f"{self.code}-network"

    @property
    def account(self) -> str:
        return f"{self.code}-account"

    @property
    def network(self) -> str:
        return f"{self.code}-net"

    @property
    def subnet(self) -> str:
        return f"{self.code}-subnet"

    @property
    def router(self) -> str:
        return f"{self.code}-router"

    @property
    def security_group(self) -> str:
        return f"{self.code}-baseline"

    @property
    def container(self) -> str:
        return f"{self.code}-container"

    def protected(self) -> list[tuple[str, str]]:
        """(type token, logical name) of the department's protected resources that never depend on config.

        Role assignments are named after the stack's roles, so the policy counts them per department instead.
        """
        return [
            (PROJECT, self.project),
            (GROUP, self.group),
            (COMPUTE_QUOTA, self.compute_quota),
            (VOLUME_QUOTA, self.volume_quota),
            (NETWORK_QUOTA, self.network_quota),
            (OBJECT_ACCOUNT, self.account),
            (NETWORK, self.network),
            (SUBNET, self.subnet),
            (CONTAINER, self.container),
        ]
