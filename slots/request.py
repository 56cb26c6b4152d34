"""What a department asks for: systems to move, a window of ISO weeks, data to transfer, dependencies.

A request names systems of the inventory by id, or describes ad-hoc systems with their resource figures
(with units). ``resolve`` turns it into inventory ``System`` objects checked against the source of truth.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any

import pint
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, model_validator

from egov.model import Bytes, Fraction, Growth, SourceOfTruth, System
from egov.units import Q_, parse_quantity
from slots.weeks import horizon_weeks, parse_week, week_label


def _as_week(value: Any) -> date:
    return parse_week(value)


#: An ISO week: accepts '2027-W14', serialises back to it (as a date inside, the week's Monday).
Week = Annotated[date, BeforeValidator(_as_week), PlainSerializer(week_label, return_type=str)]


class SpecError(ValueError):
    """A request that contradicts the source of truth; ``field`` names the offending field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class AdHocSystem(BaseModel):
    """A system not (yet) in the inventory, described by its resources at migration and its growth."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    name: str = Field(min_length=1, max_length=200)
    az: str = Field(min_length=1, max_length=64)
    vcpu: int = Field(ge=0, le=100_000)
    ram: Bytes = Field(default_factory=lambda: parse_quantity("0 GB", "byte"))
    disk: Bytes = Field(default_factory=lambda: parse_quantity("0 GiB", "byte"))
    block_storage: Bytes = Field(default_factory=lambda: parse_quantity("0 GB", "byte"))
    object_storage: Bytes = Field(default_factory=lambda: parse_quantity("0 GB", "byte"))
    annual_growth: Fraction = Field(default=0.0, ge=-0.5, le=10)

    @model_validator(mode="after")
    def _bounded(self) -> AdHocSystem:
        for name in ("ram", "disk", "block_storage", "object_storage"):
            _bounded_bytes(name, getattr(self, name))
        return self


class RequestSpec(BaseModel):
    """A department's migration request, as submitted (the ledger stores it verbatim as JSON)."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    department: str = Field(min_length=1, max_length=16)
    systems: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(default_factory=list)
    adhoc: list[AdHocSystem] = Field(default_factory=list, max_length=100)
    earliest_week: Week
    latest_week: Week
    data_volume: Bytes = Field(default_factory=lambda: parse_quantity("0 TB", "byte"))
    dependencies: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(default_factory=list)
    weight: int = Field(default=1, ge=1, le=100, description="priority: delay cost per week in re-planning")

    @model_validator(mode="after")
    def _sane(self) -> RequestSpec:
        if not self.systems and not self.adhoc:
            raise ValueError("a request moves at least one system: give 'systems' or 'adhoc'")
        if self.latest_week < self.earliest_week:
            raise ValueError("latest_week is before earliest_week")
        if len(set(self.systems)) != len(self.systems):
            raise ValueError("a system is listed twice in 'systems'")
        if len(self.systems) > 500:
            raise ValueError("at most 500 systems per request")
        _bounded_bytes("data_volume", self.data_volume)
        return self

    @property
    def system_count(self) -> int:
        """Systems the migration team cuts over for this request."""
        return len(self.systems) + len(self.adhoc)

    @property
    def data_volume_gb(self) -> float:
        return float(self.data_volume.to("GB").magnitude)

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


#: Larger figures are typing mistakes, not requests (the whole cloud holds 15 PB raw).
MAX_BYTES = Q_(1, "EB")


def _bounded_bytes(name: str, quantity: pint.Quantity) -> None:
    value = float(quantity.to("byte").magnitude)
    if not math.isfinite(value) or quantity > MAX_BYTES:
        raise ValueError(f"{name} must be a finite size below 1 EB")


def adhoc_id(request_id: int | str, index: int) -> str:
    """The system id an ad-hoc system gets in the ledger."""
    return f"adhoc-{request_id}-{index + 1}"


def resolve(
    source: SourceOfTruth,
    spec: RequestSpec,
    request_id: int | str = "new",
    by_id: Mapping[str, System] | None = None,
) -> list[System]:
    """The request's systems as inventory ``System`` objects (migration month still the inventory's).

    ``by_id`` is the inventory indexed by id, when the caller keeps one."""
    try:
        source.department(spec.department)
    except KeyError:
        raise SpecError("department", f"unknown department {spec.department!r}") from None
    if by_id is None:
        by_id = {s.id: s for s in source.systems}
    zones = {az.name for az in source.cloud.availability_zones}
    systems: list[System] = []
    for system_id in spec.systems:
        system = by_id.get(system_id)
        if system is None:
            raise SpecError("systems", f"no system {system_id!r} in the inventory")
        if system.department != spec.department:
            raise SpecError(
                "systems", f"system {system_id!r} belongs to {system.department}, not {spec.department}"
            )
        systems.append(system)
    for index, adhoc in enumerate(spec.adhoc):
        if adhoc.az not in zones:
            raise SpecError(f"adhoc[{index}].az", f"unknown availability zone {adhoc.az!r}")
        systems.append(
            System(
                id=adhoc_id(request_id, index),
                department=spec.department,
                name=adhoc.name,
                az=adhoc.az,
                vcpu=adhoc.vcpu,
                ram=adhoc.ram,
                disk=adhoc.disk,
                block_storage=adhoc.block_storage,
                object_storage=adhoc.object_storage,
                migration_month=source.planning.start_month,
                growth=Growth(annual_rate=adhoc.annual_growth),
            )
        )
    first, last = horizon_weeks(source.planning)
    if spec.earliest_week < first or spec.latest_week > last:
        raise SpecError(
            "earliest_week" if spec.earliest_week < first else "latest_week",
            f"the window must lie within the planning horizon, {week_label(first)} to {week_label(last)}",
        )
    own = {s.id for s in systems}
    for dep in spec.dependencies:
        if dep in own:
            raise SpecError("dependencies", f"{dep!r} is one of the request's own systems")
    return systems
