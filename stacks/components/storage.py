"""Storage: volume types per tier with QoS; per department Cinder quota, Swift account quota, container."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi
import pulumi_openstack as openstack

from stacks.auth import CloudUser, project_scoped_provider
from stacks.protection import CONTAINER, OBJECT_ACCOUNT, VOLUME_QUOTA, VOLUME_TYPE, DepartmentNames, kept
from stacks.quotas import DepartmentQuota
from stacks.settings import VolumeTier

#: Swift account metadata key of the account quota (the account_quotas middleware; reseller admin only).
QUOTA_BYTES = "Quota-Bytes"


class Storage(pulumi.ComponentResource):
    """Volume types (``blockstorage.VolumeTypeV3``) with QoS specs; per department ``blockstorage.QuoteSetV3``
    (the provider's real class name), the Swift account quota and one container.

    Swift creates a container in the account of the token's project, so each department's container goes
    through a provider scoped to that project by id alone (stacks.auth: the clouds.yaml entry's user, never
    its project name).
    """

    volume_types: dict[str, openstack.blockstorage.VolumeTypeV3]
    quotas: dict[str, openstack.blockstorage.QuoteSetV3]
    containers: dict[str, openstack.objectstorage.Container]

    def __init__(
        self,
        name: str,
        *,
        tiers: Mapping[str, VolumeTier],
        quotas: Sequence[DepartmentQuota],
        projects: Mapping[str, openstack.identity.Project],
        cloud_user: CloudUser,
        password: pulumi.Output[str] | None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("egov:stacks:Storage", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.volume_types = {}
        for tier, spec in tiers.items():
            volume_type = openstack.blockstorage.VolumeTypeV3(
                f"tier-{tier}",
                name=tier,
                description=spec.description,
                is_public=True,
                extra_specs={"volume_backend_name": spec.backend},
                opts=kept(self, VOLUME_TYPE),
            )
            if spec.qos:
                qos = openstack.blockstorage.QosV3(
                    f"tier-{tier}-qos",
                    name=f"{tier}-qos",
                    consumer="front-end",
                    specs={key: str(value) for key, value in spec.qos.items()},
                    opts=child,
                )
                openstack.blockstorage.QosAssociationV3(
                    f"tier-{tier}-qos-association", qos_id=qos.id, volume_type_id=volume_type.id, opts=child
                )
            self.volume_types[tier] = volume_type
        self.quotas, self.containers = {}, {}
        for quota in quotas:
            code = quota.code
            names = DepartmentNames(code)
            project_id = projects[code].id
            self.quotas[code] = openstack.blockstorage.QuoteSetV3(
                names.volume_quota,
                project_id=project_id,
                gigabytes=quota.volume_gib,
                volumes=quota.volumes,
                snapshots=quota.volumes,
                opts=kept(self, VOLUME_QUOTA),
            )
            openstack.objectstorage.AccountV1(
                names.account,
                project_id=project_id,
                metadata={QUOTA_BYTES: str(quota.object_bytes), "Department": code},
                opts=kept(self, OBJECT_ACCOUNT),
            )
            scoped = project_scoped_provider(f"{code}-scoped", cloud_user, project_id, password, opts=child)
            self.containers[code] = openstack.objectstorage.Container(
                names.container,
                name=f"{code.lower()}-data",
                metadata={"department": code},
                opts=kept(self, CONTAINER, provider=scoped),
            )
        self.register_outputs(
            {
                "volume_type_ids": {tier: vt.id for tier, vt in self.volume_types.items()},
                "container_names": {code: c.name for code, c in self.containers.items()},
            }
        )
