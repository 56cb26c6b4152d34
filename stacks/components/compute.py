"""Compute: host aggregates with zones and metadata, the flavor catalogue, per-department Nova quotas."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi
import pulumi_openstack as openstack

from egov.model import Cloud
from stacks.catalogue import flavor_extra_specs
from stacks.protection import COMPUTE_QUOTA, DepartmentNames, kept
from stacks.quotas import DepartmentQuota


class Compute(pulumi.ComponentResource):
    """Aggregates (``compute.AggregateV2``), flavors tied to them, and ``compute.QuotaSetV2`` per department.

    A flavor's ``aggregate_instance_extra_specs:class`` must equal an aggregate's metadata ``class``: that is
    how Nova's AggregateInstanceExtraSpecsFilter keeps high-memory flavors on high-memory hosts.
    """

    aggregates: dict[str, openstack.compute.AggregateV2]
    flavors: dict[str, openstack.compute.Flavor]
    quotas: dict[str, openstack.compute.QuotaSetV2]

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
        self.register_outputs(
            {
                "aggregate_ids": {name: agg.id for name, agg in self.aggregates.items()},
                "flavor_ids": {name: flavor.id for name, flavor in self.flavors.items()},
            }
        )
