"""Usable supply per availability zone and resource class, month by month.

Compute: Σ hosts × per-host capacity (capacity.inventory) minus the HA reserve. Storage: raw ÷ redundancy
overhead × full ratio. Planned expansions count from their month.

The HA reserve (N+k) is kept **per aggregate class** of a zone, not per zone: Nova evacuates a failed host's
VMs only onto hosts that pass the same filters, so a failed highmem host needs highmem room; general hosts
cannot take its VMs. In each month and for each resource, the reserve of a class is the capacity of the k
hosts holding the most of that resource among the class's hosts present that month (installed, plus
expansions due by then). The fit simulator holds out the same k hosts (capacity.fit).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from capacity.inventory import Inventory
from egov.model import (
    HOST_RESOURCES,
    RESOURCE_UNITS,
    Aggregate,
    Cloud,
    HostModel,
    Planning,
    ResourceClass,
    SourceOfTruth,
    StoragePool,
)
from egov.months import months_between

LineKey = tuple[ResourceClass, str]


def host_inventories(cloud: Cloud, aggregate: Aggregate) -> dict[ResourceClass, Inventory]:
    """Placement inventories of one host of ``aggregate`` (VCPU, MEMORY_MB in MiB, DISK_GB in GiB)."""
    model = cloud.host_models[aggregate.host_model]
    ratios = cloud.ratios_for(aggregate)
    reserved = cloud.reserved_for(aggregate)
    totals = host_totals(model)
    reserved_units = {
        ResourceClass.VCPU: int(reserved.VCPU.to("core").magnitude),
        ResourceClass.MEMORY_MB: int(reserved.MEMORY_MB.to("MiB").magnitude),
        ResourceClass.DISK_GB: int(reserved.DISK_GB.to("GiB").magnitude),
    }
    return {
        rc: Inventory(total=totals[rc], reserved=reserved_units[rc], allocation_ratio=ratios.get(rc))
        for rc in HOST_RESOURCES
    }


def host_totals(model: HostModel) -> dict[ResourceClass, int]:
    """A host model's totals in Placement units, rounded down as the virt driver reports them."""
    return {
        ResourceClass.VCPU: int(model.cores.to("core").magnitude),
        ResourceClass.MEMORY_MB: int(model.ram.to("MiB").magnitude),
        ResourceClass.DISK_GB: int(model.local_disk.to("GiB").magnitude),
    }


def pool_usable_gb(pool: StoragePool, raw_gb: Any) -> Any:
    """Usable GB of ``raw_gb`` raw in ``pool``: raw ÷ redundancy overhead × full ratio."""
    return raw_gb / pool.redundancy.overhead * pool.full_ratio


@dataclass(frozen=True)
class ExpansionUnit:
    """One unit a planner can buy for a line: a host of a model, or a disk of a pool."""

    name: str  # "general-64c" or "gz-1-rbd"
    kind: str  # "host" or "disk"
    size: str  # "64 core, 512 GB" or "16 TB"
    adds: dict[ResourceClass, float]  # usable capacity one unit adds, per resource class


@dataclass(frozen=True)
class SupplyLine:
    resource: ResourceClass
    az: str
    usable: np.ndarray  # per month, in RESOURCE_UNITS[resource]

    @property
    def unit(self) -> str:
        return RESOURCE_UNITS[self.resource]


ClassKey = tuple[str, str]  # (availability zone, aggregate class)


@dataclass(frozen=True)
class Supply:
    lines: dict[LineKey, SupplyLine]
    #: per AZ (or "region"), the units one could buy, with what each adds
    expansion_units: dict[str, list[ExpansionUnit]]
    #: per (AZ, aggregate class), per host resource: usable capacity net of the class's HA reserve, per month
    classes: dict[ClassKey, dict[ResourceClass, np.ndarray]] = field(default_factory=dict)


def ha_reserve(members: list[tuple[np.ndarray, float]], k: int) -> np.ndarray:
    """The capacity of the k hosts holding the most of one resource, month by month.

    ``members`` are (hosts present per month, capacity of one such host) of one aggregate class. The k
    largest present hosts are taken greedily from the largest capacity down; with fewer than k hosts
    present, all of them are reserved."""
    if not members:
        return np.zeros(0)
    months = len(members[0][0])
    remaining = np.full(months, float(k))
    reserve = np.zeros(months)
    for hosts, capacity in sorted(members, key=lambda m: -m[1]):
        take = np.minimum(remaining, hosts)
        reserve += take * capacity
        remaining -= take
    return reserve


def _from_month(planning: Planning, month_index: int) -> np.ndarray:
    """1 from ``month_index`` on (clamped to the horizon), 0 before."""
    mask = np.zeros(planning.horizon_months)
    mask[max(0, month_index) :] = 1.0
    return mask


def build_supply(source: SourceOfTruth) -> Supply:
    """Usable supply of every (resource class, AZ) line over the horizon, and the units that expand it."""
    cloud, planning = source.cloud, source.planning
    months = planning.horizon_months
    lines: dict[LineKey, SupplyLine] = {}
    units: dict[str, list[ExpansionUnit]] = {}
    classes: dict[ClassKey, dict[ResourceClass, np.ndarray]] = {}
    for az in cloud.availability_zones:
        usable = {rc: np.zeros(months) for rc in HOST_RESOURCES}
        members: dict[str, dict[ResourceClass, list[tuple[np.ndarray, float]]]] = {}
        az_units: dict[str, ExpansionUnit] = {}
        for agg in az.aggregates:
            per_host = {rc: inv.capacity for rc, inv in host_inventories(cloud, agg).items()}
            hosts = np.full(months, float(agg.hosts))
            for exp in cloud.expansions:
                if exp.aggregate == agg.name and exp.hosts:
                    hosts += exp.hosts * _from_month(
                        planning, months_between(planning.start_month, exp.month)
                    )
            klass_name = agg.metadata.get("class", "general")
            klass = members.setdefault(klass_name, {rc: [] for rc in HOST_RESOURCES})
            for rc in HOST_RESOURCES:
                usable[rc] += hosts * per_host[rc]
                klass[rc].append((hosts, per_host[rc]))
            model = cloud.host_models[agg.host_model]
            az_units.setdefault(
                agg.name,
                ExpansionUnit(
                    name=agg.name,
                    kind="host",
                    size=f"{agg.host_model} ({int(model.cores.to('core').magnitude)} core, "
                    f"{model.ram.to('GB').magnitude:g} GB)",
                    adds=per_host,
                ),
            )
        reserve = {rc: np.zeros(months) for rc in HOST_RESOURCES}
        for name, by_resource in members.items():
            net: dict[ResourceClass, np.ndarray] = {}
            for rc in HOST_RESOURCES:
                kept = ha_reserve(by_resource[rc], az.ha_reserve_hosts)
                reserve[rc] += kept
                gross = np.sum([hosts * capacity for hosts, capacity in by_resource[rc]], axis=0)
                net[rc] = np.maximum(gross - kept, 0.0)
            classes[(az.name, name)] = net
        for rc in HOST_RESOURCES:
            lines[(rc, az.name)] = SupplyLine(rc, az.name, np.maximum(usable[rc] - reserve[rc], 0.0))
        units[az.name] = list(az_units.values())
    for pool in cloud.storage_pools:
        raw_gb = np.full(months, float(pool.raw.to("GB").magnitude))
        for exp in cloud.expansions:
            if exp.pool == pool.name and exp.raw is not None:
                start = months_between(planning.start_month, exp.month)
                raw_gb += float(exp.raw.to("GB").magnitude) * _from_month(planning, start)
        key = (pool.resource, pool.az)
        previous = lines[key].usable if key in lines else np.zeros(months)
        lines[key] = SupplyLine(pool.resource, pool.az, previous + pool_usable_gb(pool, raw_gb))
        disk_gb = float(pool.disk_unit.to("GB").magnitude)
        units.setdefault(pool.az, []).append(
            ExpansionUnit(
                name=pool.name,
                kind="disk",
                size=f"{pool.disk_unit.to('TB').magnitude:g} TB",
                adds={pool.resource: pool_usable_gb(pool, disk_gb)},
            )
        )
    return Supply(
        lines=dict(sorted(lines.items(), key=lambda kv: (kv[0][1], list(ResourceClass).index(kv[0][0])))),
        expansion_units=units,
        classes=classes,
    )
