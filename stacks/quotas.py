"""Department quotas from the five-year demand, and their totals against usable capacity. Computes only.

A department's quota is its highest monthly demand over the planning horizon (capacity.demand) times a
factor from the stack config, rounded up to the unit the OpenStack service counts in:

- Nova ``cores`` (vCPU) and ``ram`` (MiB, as Nova counts it); ``instances`` = cores ÷ vcpusPerInstance;
- Cinder ``gigabytes``: Cinder's "GB" is GiB, while the capacity model counts block storage in decimal GB;
- Swift account ``Quota-Bytes`` in bytes (object storage is counted in decimal GB by the capacity model);
- Keystone unified limit ``class:VGPU`` of service ``nova`` in vGPUs: Nova's legacy quotas have no vGPU, so
  this one needs Nova with ``[quota] driver = nova.quota.UnifiedLimitsDriver``.

Usable capacity is the supply (capacity.supply) at the end of the horizon, planned expansions included:
the same five years the quotas are sized for, summed over availability zones because quotas are regional.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from capacity.demand import department_peak_demand
from capacity.supply import build_supply
from egov.model import ResourceClass, SourceOfTruth
from egov.resources import ResourceTable, standard_table
from egov.units import Q_


class QuotaKey(StrEnum):
    """A regional quota summed over departments, named with the unit it is counted in."""

    cores = "cores"
    ram_mib = "ram_mib"
    volume_gib = "volume_gib"
    object_bytes = "object_bytes"
    vgpus = "vgpus"


#: The capacity model's resource class behind each quota, and the unit the quota counts in.
QUOTA_SOURCES: dict[QuotaKey, tuple[ResourceClass, str]] = {
    QuotaKey.cores: ("VCPU", "vcpu"),
    QuotaKey.ram_mib: ("MEMORY_MB", "MiB"),
    QuotaKey.volume_gib: ("BLOCK_STORAGE", "GiB"),
    QuotaKey.object_bytes: ("OBJECT_STORAGE", "B"),
    QuotaKey.vgpus: ("VGPU", "vgpu"),
}


@dataclass(frozen=True)
class DepartmentQuota:
    """What one department may consume, in the units the services count."""

    code: str
    factor: float
    cores: int
    ram_mib: int
    instances: int
    volume_gib: int
    volumes: int
    object_bytes: int
    vgpus: int = 0

    def total(self, key: QuotaKey) -> int:
        return int(getattr(self, key.value))


def round_up(value: float) -> int:
    """Ceil, ignoring float noise below a millionth (1200 × 1.1 must give 1320, not 1321)."""
    return math.ceil(round(value, 6))


def to_quota_unit(
    resource: ResourceClass, amount: float, unit: str, table: ResourceTable | None = None
) -> float:
    """Convert an amount of the capacity model's unit (the resource class's, egov.resources) to a quota's
    unit through the one pint registry."""
    return float(Q_(amount, (table or standard_table()).unit(resource)).to(unit).magnitude)


def department_quota(
    source: SourceOfTruth, code: str, factor: float, vcpus_per_instance: int, volumes_per_instance: int
) -> DepartmentQuota:
    """The quota of department ``code``: five-year peak demand × ``factor``, rounded up per service unit."""
    peak = department_peak_demand(source, code)
    table = source.cloud.resource_classes
    amounts = {
        key: round_up(to_quota_unit(rc, peak[rc] * factor, unit, table))
        for key, (rc, unit) in QUOTA_SOURCES.items()
    }
    instances = math.ceil(amounts[QuotaKey.cores] / vcpus_per_instance)
    return DepartmentQuota(
        code=code,
        factor=factor,
        cores=amounts[QuotaKey.cores],
        ram_mib=amounts[QuotaKey.ram_mib],
        instances=instances,
        volume_gib=amounts[QuotaKey.volume_gib],
        volumes=instances * volumes_per_instance,
        object_bytes=amounts[QuotaKey.object_bytes],
        vgpus=amounts[QuotaKey.vgpus],
    )


def quota_totals(quotas: list[DepartmentQuota]) -> dict[QuotaKey, int]:
    """Sum of every department's quota per regional quota."""
    return {key: sum(q.total(key) for q in quotas) for key in QuotaKey}


def usable_totals(source: SourceOfTruth) -> dict[QuotaKey, float]:
    """Usable capacity at the end of the horizon, all zones, in each quota's unit."""
    supply = build_supply(source)
    totals: dict[QuotaKey, float] = {}
    for key, (rc, unit) in QUOTA_SOURCES.items():
        amount = sum(
            float(line.usable[-1]) for (resource, _az), line in supply.lines.items() if resource == rc
        )
        totals[key] = to_quota_unit(rc, amount, unit, source.cloud.resource_classes)
    return totals


def select_departments(source: SourceOfTruth, wanted: str | list[str]) -> list[str]:
    """Department codes a stack manages, in the source's order; unknown codes raise KeyError naming them."""
    known = [d.code for d in source.departments]
    if wanted == "all":
        return known
    unknown = [code for code in wanted if code not in known]
    if unknown:
        raise KeyError(f"unknown department code(s): {', '.join(unknown)}")
    if len(set(wanted)) != len(wanted):
        raise KeyError("a department is listed twice")
    chosen = set(wanted)
    return [code for code in known if code in chosen]
