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
    Aggregate,
    Cloud,
    HostModel,
    Planning,
    ResourceClass,
    SourceOfTruth,
    StoragePool,
)
from egov.months import months_between
from egov.resources import MEMORY_MB, VCPU, ResourceTable
from egov.units import Q_

LineKey = tuple[ResourceClass, str]


def host_inventories(cloud: Cloud, aggregate: Aggregate) -> dict[ResourceClass, Inventory]:
    """Placement inventories of one host of ``aggregate``: one per resource class its host model offers, in
    the class's unit (MEMORY_MB in MiB, DISK_GB in GiB, VGPU in vGPUs), reserved and ratio as configured."""
    table = cloud.resource_classes
    totals = host_totals(table, cloud.host_models[aggregate.host_model])
    inventories = {}
    for rc, total in totals.items():
        reserved = cloud.reserved(aggregate, rc)
        inventories[rc] = Inventory(
            total=total,
            reserved=0 if reserved is None else int(table[rc].amount(reserved)),
            allocation_ratio=cloud.ratio(aggregate, rc),
        )
    return inventories


def host_totals(table: ResourceTable, model: HostModel) -> dict[ResourceClass, int]:
    """A host model's totals in Placement units, rounded down as the virt driver reports them."""
    return {rc: int(table[rc].amount(q)) for rc, q in model.resources.items() if rc in table.host_classes}


def host_size(table: ResourceTable, name: str, model: HostModel) -> str:
    """'general-64c (64 core, 512 GB)'; a class beyond cores, RAM and disk is named too (', 8 vgpu')."""
    extra = "".join(
        f", {table[rc].amount(q):g} {table[rc].unit}"
        for rc, q in model.resources.items()
        if rc not in (VCPU, MEMORY_MB, "DISK_GB") and rc in table.host_classes
    )
    return (
        f"{name} ({int(model.resources[VCPU].to('core').magnitude)} core, "
        f"{model.resources[MEMORY_MB].to('GB').magnitude:g} GB{extra})"
    )


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
    usable: np.ndarray  # per month, in ``unit``
    unit: str  # the resource class's (egov.resources)


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
    table = cloud.resource_classes
    months = planning.horizon_months
    lines: dict[LineKey, SupplyLine] = {}
    units: dict[str, list[ExpansionUnit]] = {}
    classes: dict[ClassKey, dict[ResourceClass, np.ndarray]] = {}
    for az in cloud.availability_zones:
        # the classes some host of the zone offers (a zone without GPU hosts has no VGPU line)
        offered = tuple(
            rc
            for rc in table.host_classes
            if any(rc in cloud.host_models[a.host_model].resources for a in az.aggregates)
        )
        usable = {rc: np.zeros(months) for rc in offered}
        members: dict[str, dict[ResourceClass, list[tuple[np.ndarray, float]]]] = {}
        az_units: dict[str, ExpansionUnit] = {}
        for agg in az.aggregates:
            inventories = host_inventories(cloud, agg)
            per_host = {rc: inventories[rc].capacity if rc in inventories else 0.0 for rc in offered}
            hosts = np.full(months, float(agg.hosts))
            for exp in cloud.expansions:
                if exp.aggregate == agg.name and exp.hosts:
                    hosts += exp.hosts * _from_month(
                        planning, months_between(planning.start_month, exp.month)
                    )
            klass_name = agg.metadata.get("class", "general")
            klass = members.setdefault(klass_name, {rc: [] for rc in offered})
            for rc in offered:
                usable[rc] += hosts * per_host[rc]
                klass[rc].append((hosts, per_host[rc]))
            model = cloud.host_models[agg.host_model]
            az_units.setdefault(
                agg.name,
                ExpansionUnit(
                    name=agg.name,
                    kind="host",
                    size=host_size(table, agg.host_model, model),
                    adds=per_host,
                ),
            )
        reserve = {rc: np.zeros(months) for rc in offered}
        for name, by_resource in members.items():
            net: dict[ResourceClass, np.ndarray] = {}
            for rc in offered:
                kept = ha_reserve(by_resource[rc], az.ha_reserve_hosts)
                reserve[rc] += kept
                gross = np.sum([hosts * capacity for hosts, capacity in by_resource[rc]], axis=0)
                net[rc] = np.maximum(gross - kept, 0.0)
            classes[(az.name, name)] = net
        for rc in offered:
            lines[(rc, az.name)] = SupplyLine(
                rc, az.name, np.maximum(usable[rc] - reserve[rc], 0.0), table.unit(rc)
            )
        units[az.name] = list(az_units.values())
    for pool in cloud.storage_pools:
        raw_gb = np.full(months, float(pool.raw.to("GB").magnitude))
        for exp in cloud.expansions:
            if exp.pool == pool.name and exp.raw is not None:
                start = months_between(planning.start_month, exp.month)
                raw_gb += float(exp.raw.to("GB").magnitude) * _from_month(planning, start)
        resource = table.pool_class(pool.kind.value)
        key = (resource, pool.az)
        previous = lines[key].usable if key in lines else np.zeros(months)
        per_gb = table[resource].amount(Q_(1.0, "GB"))  # 1.0 for the standard classes, counted in GB
        usable = previous + per_gb * pool_usable_gb(pool, raw_gb)
        lines[key] = SupplyLine(resource, pool.az, usable, table.unit(resource))
        disk_gb = float(pool.disk_unit.to("GB").magnitude)
        units.setdefault(pool.az, []).append(
            ExpansionUnit(
                name=pool.name,
                kind="disk",
                size=f"{pool.disk_unit.to('TB').magnitude:g} TB",
                adds={resource: per_gb * pool_usable_gb(pool, disk_gb)},
            )
        )
    return Supply(
        lines=dict(sorted(lines.items(), key=lambda kv: (kv[0][1], table.index(kv[0][0])))),
        expansion_units=units,
        classes=classes,
    )
