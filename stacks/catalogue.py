"""Hosts and flavors as the stack and its policies see them. Computes only.

A flavor must fit an empty host of the cloud (vCPUs ≤ the host's cores, RAM and disk ≤ what the host offers
after its reservation), and must name an aggregate class some aggregate carries in its metadata, otherwise
Nova's AggregateInstanceExtraSpecsFilter finds no host for it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from capacity.inventory import Inventory
from capacity.supply import host_inventories
from egov.model import Cloud, Flavor, ResourceClass

#: The flavor extra spec Nova's AggregateInstanceExtraSpecsFilter matches against aggregate metadata.
CLASS_SPEC = "aggregate_instance_extra_specs:class"
#: The aggregate metadata key that spec is matched with.
CLASS_KEY = "class"


@dataclass(frozen=True, order=True)
class HostSize:
    """What one empty host of an aggregate offers a single instance (no CPU overcommit inside one VM)."""

    aggregate: str
    vcpus: int
    ram_mib: int
    disk_gib: int

    def fits(self, vcpus: int, ram_mib: int, disk_gib: int) -> bool:
        return vcpus <= self.vcpus and ram_mib <= self.ram_mib and disk_gib <= self.disk_gib


def host_sizes(cloud: Cloud) -> list[HostSize]:
    """One entry per aggregate: its host's totals less the reservation, at allocation ratio 1."""
    sizes = []
    for az in cloud.availability_zones:
        for agg in az.aggregates:
            inv = host_inventories(cloud, agg)

            def single(rc: ResourceClass, inv: dict[ResourceClass, Inventory] = inv) -> int:
                # A single VM cannot use more than the physical resource, whatever the overcommit ratio.
                return int(Inventory(total=inv[rc].total, reserved=inv[rc].reserved).capacity)

            sizes.append(
                HostSize(
                    aggregate=agg.name,
                    vcpus=single("VCPU"),
                    ram_mib=single("MEMORY_MB"),
                    disk_gib=single("DISK_GB"),
                )
            )
    return sizes


def flavor_extra_specs(cloud: Cloud, flavor: Flavor) -> dict[str, str]:
    """A flavor's extra specs: its aggregate class, and every class it asks for beyond Nova's own fields
    (vcpus, ram, disk) as ``resources:<class>=<amount>`` (e.g. ``resources:VGPU=1``), as Nova requests it."""
    table = cloud.resource_classes
    specs = {CLASS_SPEC: flavor.aggregate_class}
    for rc, amount in flavor.request(table).items():
        if table[rc].flavor_field is None:
            specs[f"resources:{rc}"] = str(amount)
    return specs


def aggregate_classes(cloud: Cloud) -> set[str]:
    """The aggregate classes present in the cloud's aggregate metadata."""
    return {
        agg.metadata[CLASS_KEY]
        for az in cloud.availability_zones
        for agg in az.aggregates
        if CLASS_KEY in agg.metadata
    }


def orphan_flavors(cloud: Cloud) -> list[str]:
    """Flavors whose aggregate class no aggregate carries: they could never be scheduled."""
    classes = aggregate_classes(cloud)
    return [f.name for f in cloud.flavors if f.aggregate_class not in classes]


def hostnames(pattern: str, az: str, aggregate: str, count: int) -> list[str]:
    """The compute hosts of an aggregate by the site's naming pattern (index from 1)."""
    return [pattern.format(aggregate=aggregate, az=az, index=i) for i in range(1, count + 1)]


def aggregate_hosts(cloud: Cloud, named: Mapping[str, Sequence[str]], pattern: str) -> dict[str, list[str]]:
    """The compute hosts of every aggregate: by name where the stack lists them (``egov:hosts``), else by the
    numbering pattern (``egov:hostnamePattern``, for clouds whose hosts really are numbered in sequence).

    A listed aggregate must hold as many hosts as cloud.yaml counts installed (the capacity plan counts
    those), and no host may sit in two aggregates. Raises ValueError naming ``egov:hosts.<aggregate>``.
    """
    known = {agg.name: (az.name, agg.hosts) for az in cloud.availability_zones for agg in az.aggregates}
    unknown = sorted(set(named) - set(known))
    if unknown:
        raise ValueError(f"egov:hosts: no aggregate {', '.join(unknown)} in cloud.yaml ({', '.join(known)})")
    hosts: dict[str, list[str]] = {}
    owner: dict[str, str] = {}
    for aggregate, (az, count) in known.items():
        if aggregate in named:
            names = list(named[aggregate])
            if len(names) != count:
                raise ValueError(
                    f"egov:hosts.{aggregate}: {len(names)} hosts listed, cloud.yaml counts {count} installed"
                )
        else:
            names = hostnames(pattern, az, aggregate, count)
        for name in names:
            if name in owner:
                where = "twice" if owner[name] == aggregate else f"also in {owner[name]}"
                raise ValueError(f"egov:hosts.{aggregate}: host {name!r} is listed {where}")
            owner[name] = aggregate
        hosts[aggregate] = names
    return hosts
