"""Storage: volume types per tier with QoS; per department Cinder quota, Swift account quota, container."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi
import pulumi_openstack as openstack

from stacks.quotas import DepartmentQuota
from stacks.settings import VolumeTier

#: Swift account metadata key of the account quota (the account_quotas middleware; reseller admin only).
QUOTA_BYTES = "Quota-Bytes"


class Storage(pulumi.ComponentResource):
    """Volume types (``blockstorage.VolumeTypeV3``) with QoS specs; per department ``blockstorage.QuoteSetV3``
    (the provider's real class name), the Swift account quota and one container.

    Swift creates a container in the account of the token's project, so each department's container goes
    through a provider scoped to that project (same clouds.yaml entry, ``tenant_id`` overridden).
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
        cloud: str | None,
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
                opts=child,
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
            project_id = projects[code].id
            self.quotas[code] = openstack.blockstorage.QuoteSetV3(
                f"{code}-volume",
                project_id=project_id,
                gigabytes=quota.volume_gib,
                volumes=quota.volumes,
                snapshots=quota.volumes,
                opts=child,
            )
            openstack.objectstorage.AccountV1(
                f"{code}-account",
                project_id=project_id,
                metadata={QUOTA_BYTES: str(quota.object_bytes), "Department": code},
                opts=child,
            )
            scoped = openstack.Provider(
                f"{code}-scoped",
                cloud=cloud,
                tenant_id=project_id,
                password=password,
                opts=child,
            )
            self.containers[code] = openstack.objectstorage.Container(
                f"{code}-container",
                name=f"{code.lower()}-data",
                metadata={"department": code},
                opts=pulumi.ResourceOptions(parent=self, provider=scoped),
            )
        self.register_outputs({})
