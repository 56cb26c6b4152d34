"""Demand month by month: each system counts from its migration month and grows by its growth law."""

from __future__ import annotations

import numpy as np

from capacity.supply import LineKey
from egov.model import Growth, Planning, ResourceClass, SourceOfTruth, System
from egov.months import months_between
from egov.resources import Provider, ResourceTable
from egov.units import magnitude_in


def growth_curve(growth: Growth, months_since_migration: np.ndarray) -> np.ndarray:
    """The growth multiplier of a system ``t`` months after its migration (1.0 at t = 0, 0 before).

    An annual rate compounds monthly, (1 + r)^(t/12); yearly factors hold for each whole year after migration
    and the last factor holds beyond the list.
    """
    t = months_since_migration
    live = t >= 0
    if growth.annual_rate is not None:
        factor = np.power(1.0 + growth.annual_rate, np.maximum(t, 0) / 12.0)
    else:
        assert growth.yearly_factors is not None
        factors = np.asarray(growth.yearly_factors, dtype=float)
        factor = factors[np.minimum(np.maximum(t, 0) // 12, len(factors) - 1)]
    return np.where(live, factor, 0.0)


def scaled_growth(growth: Growth, multiplier: float) -> Growth:
    """``growth`` made ``multiplier`` times as fast: an annual rate r becomes r × multiplier (20 %/year ×1.5 →
    30 %/year); yearly factors f become 1 + (f − 1) × multiplier (1.4 ×1.5 → 1.6). Shrinking stays above
    −90 %/year so the law keeps a meaning."""
    if growth.annual_rate is not None:
        return growth.model_copy(update={"annual_rate": max(growth.annual_rate * multiplier, -0.9)})
    assert growth.yearly_factors is not None
    factors = tuple(max(1.0 + (f - 1.0) * multiplier, 0.01) for f in growth.yearly_factors)
    return growth.model_copy(update={"yearly_factors": factors})


def system_base(table: ResourceTable, system: System) -> dict[ResourceClass, float]:
    """A system's size at migration, in each resource class's unit."""
    return {rc: magnitude_in(q, table.unit(rc)) for rc, q in system.resources.items()}


def line_of(source: SourceOfTruth, system: System, resource: ResourceClass) -> LineKey:
    """The supply line a system's resource lands on: its AZ, or the region for a region-wide storage pool."""
    provider = source.cloud.resource_classes[resource].provider
    if provider is not Provider.host:
        zones = {p.az for p in source.cloud.storage_pools if p.kind.value == provider.value}
        if system.az in zones:
            return (resource, system.az)
        if "region" in zones:
            return (resource, "region")
        raise ValueError(f"no {provider.value} storage pool serves availability zone {system.az!r}")
    return (resource, system.az)


def system_curves(planning: Planning, systems: list[System]) -> np.ndarray:
    """Growth multipliers, one row per system, one column per month of the horizon."""
    months = np.arange(planning.horizon_months)
    curves = np.zeros((len(systems), planning.horizon_months))
    for i, system in enumerate(systems):
        t = months - months_between(planning.start_month, system.migration_month)
        curves[i] = growth_curve(system.growth, t)
    return curves


def system_matrix(source: SourceOfTruth, systems: list[System]) -> tuple[list[LineKey], np.ndarray]:
    """The supply lines ``systems`` land on and their sizes at migration: a (systems × lines) matrix in each
    line's unit. Demand of month t is Σ_s matrix[s, line] × growth multiplier of s at t."""
    keys: dict[LineKey, int] = {}
    rows: list[tuple[int, int, float]] = []
    for i, system in enumerate(systems):
        for resource, amount in system_base(source.cloud.resource_classes, system).items():
            if amount == 0:
                continue
            key = line_of(source, system, resource)
            keys.setdefault(key, len(keys))
            rows.append((i, keys[key], amount))
    base = np.zeros((len(systems), len(keys)))
    for i, k, amount in rows:
        base[i, k] += amount
    return list(keys), base


def demand_lines(source: SourceOfTruth, systems: list[System] | None = None) -> dict[LineKey, np.ndarray]:
    """Total demand of ``systems`` (default: all) per supply line and month."""
    chosen = source.systems if systems is None else systems
    curves = system_curves(source.planning, chosen)
    keys, base = system_matrix(source, chosen)
    # einsum, not @: the product is tiny, and a BLAS call wakes OpenBLAS's threads, which then spin for
    # a while; on a shared machine that costs more wall time than the whole product.
    totals = np.einsum("sl,sm->lm", base, curves)
    return {key: totals[k] for k, key in enumerate(keys)}


def department_peak_demand(source: SourceOfTruth, department: str) -> dict[ResourceClass, float]:
    """A department's highest monthly demand over the horizon per resource class, summed over zones."""
    systems = [s for s in source.systems if s.department == department]
    peak: dict[ResourceClass, float] = dict.fromkeys(source.cloud.resource_classes.names, 0.0)
    if not systems:
        return peak
    total: dict[ResourceClass, np.ndarray] = {}
    for (resource, _zone), series in demand_lines(source, systems).items():
        total[resource] = total.get(resource, 0) + series
    for resource, series in total.items():
        peak[resource] = float(np.max(series))
    return peak
