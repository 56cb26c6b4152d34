"""Compute: host aggregates with zones and metadata, the flavor catalogue, per-department Nova quotas.

Nova's legacy quotas (QuotaSetV2) have no vGPU. The vGPU quota is a Keystone unified limit of service
``nova`` on resource ``class:VGPU``: a registered (default) limit of 0 for every project, and a project limit
for each department whose systems use vGPUs. Nova enforces them only with unified limits enabled
(``[quota] driver = nova.quota.UnifiedLimitsDriver``, Nova ≥ 28.0.0, 2023.2); see docs/operators.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi
import pulumi_openstack as openstack

from egov.model import Cloud
from stacks.catalogue import flavor_extra_specs
from stacks.protection import COMPUTE_QUOTA, REGISTERED_LIMIT, UNIFIED_LIMIT, DepartmentNames, kept
from stacks.quotas import DepartmentQuota

#: Nova's service name in the Keystone catalogue and its unified-limit resource for vGPUs (class:<RC>).
NOVA_SERVICE = "nova"
VGPU_LIMIT = "class:VGPU"


class Compute(pulumi.ComponentResource):
    """Aggregates (``compute.AggregateV2``), flavors tied to them, and ``compute.QuotaSetV2`` per department.

    A flavor's ``aggregate_instance_extra_specs:class`` must equal an aggregate's metadata ``class``: that is
    how Nova's AggregateInstanceExtraSpecsFilter keeps high-memory flavors on high-memory hosts.
    """

    aggregates: dict[str, openstack.compute.AggregateV2]
    flavors: dict[str, openstack.compute.Flavor]
    quotas: dict[str, openstack.compute.QuotaSetV2]
    vgpu_default: openstack.identity.RegisteredLimitV3
    vgpu_limits: dict[str, openstack.identity.LimitV3]

    def __init__(
        self,
        name: str,
        *,
        cloud: Cloud,
        hosts: Mapping[str, list[str]],
        quotas: Sequence[DepartmentQuota],
        projects: Mapping[str, openstack.identity.Project],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("egov:stacks:Compute", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.aggregates = {}
        for az in cloud.availability_zones:
            for agg in az.aggregates:
                self.aggregates[agg.name] = openstack.compute.AggregateV2(
                    agg.name,
                    name=agg.name,
                    zone=az.name,
                    metadata={**agg.metadata, "host_model": agg.host_model},
                    hosts=hosts[agg.name],
                    opts=child,
                )
        self.flavors = {
            flavor.name: openstack.compute.Flavor(
                flavor.name,
                name=flavor.name,
                vcpus=flavor.vcpus,
                ram=flavor.ram_mib,
                disk=flavor.disk_gib,
                is_public=True,
                description=flavor.description or None,
                extra_specs=flavor_extra_specs(cloud, flavor),
                opts=child,
            )
            for flavor in cloud.flavors
        }
        self.quotas = {
            q.code: openstack.compute.QuotaSetV2(
                DepartmentNames(q.code).compute_quota,
                project_id=projects[q.code].id,
                cores=q.cores,
                ram=q.ram_mib,
                instances=q.instances,
                opts=kept(self, COMPUTE_QUOTA),
            )
            for q in quotas
        }
        nova = openstack.identity.get_service_output(name=NOVA_SERVICE)
        # Projects without a limit of their own get no vGPU (unset, Nova would count them unlimited).
        self.vgpu_default = openstack.identity.RegisteredLimitV3(
            "nova-vgpu-default",
            service_id=nova.id,
            resource_name_=VGPU_LIMIT,
            default_limit=0,
            description="egov: no vGPU unless a department's AI systems are planned (egov stack)",
            opts=kept(self, REGISTERED_LIMIT),
        )
        self.vgpu_limits = {
            q.code: openstack.identity.LimitV3(
                DepartmentNames(q.code).vgpu_limit,
                project_id=projects[q.code].id,
                service_id=nova.id,
                resource_name_=VGPU_LIMIT,
                resource_limit=q.vgpus,
                description=f"egov: vGPU quota of {q.code} (five-year peak × {q.factor:g})",
                opts=kept(self, UNIFIED_LIMIT, depends_on=[self.vgpu_default]),
            )
            for q in quotas
            if q.vgpus > 0
        }
        self.register_outputs(
            {
                "aggregate_ids": {name: agg.id for name, agg in self.aggregates.items()},
                "flavor_ids": {name: flavor.id for name, flavor in self.flavors.items()},
            }
        )
