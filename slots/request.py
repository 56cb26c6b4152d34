"""What a department asks for: systems to move, a window of ISO weeks, data to transfer, dependencies.

A request names systems of the inventory by id, or describes ad-hoc systems with their resource figures
(with units). ``resolve`` turns it into inventory ``System`` objects checked against the source of truth.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Annotated, Any, Self

import pint
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    Strict,
    WithJsonSchema,
    model_validator,
)

from egov.model import Growth, SourceOfTruth, System
from egov.units import parse_quantity
from slots.weeks import horizon_weeks, parse_week, week_label


def _as_week(value: Any) -> date:
    if not isinstance(value, str | date) or isinstance(value, datetime):
        raise ValueError(f"{value!r} is not an ISO week; write YYYY-Www, e.g. 2027-W14")
    return parse_week(value)


WEEK_PATTERN = r"^\d{4}-W\d{2}$"

#: An ISO week: accepts '2027-W14', serialises back to it (as a date inside, the week's Monday).
Week = Annotated[
    date,
    BeforeValidator(_as_week),
    PlainSerializer(week_label, return_type=str),
    WithJsonSchema({"type": "string", "pattern": WEEK_PATTERN, "examples": ["2027-W14"]}),
]

#: A size as a request may spell it: a plain number and a unit, nothing else. Checked before the text reaches
#: the quantity parser, so no expression ('(9**9**9) TB', '10**400 TB') is ever evaluated and no number is
#: longer than a size can be.
SIZE_PATTERN = r"^\s*\d{1,18}(\.\d{1,18})?([eE][+-]?\d{1,3})?\s*[A-Za-z]{1,16}\s*$"
_SIZE = re.compile(SIZE_PATTERN)


def _as_size(value: Any) -> pint.Quantity:
    """'40 TB' → a byte quantity within the quantity parser's bound for bytes (1 EB: larger figures are typing
    mistakes, the whole cloud holds 15 PB raw); anything else is a ValueError echoing the value."""
    if isinstance(value, str) and not _SIZE.match(value):
        raise ValueError(f"{value[:60]!r} is not a size; write a number and a unit, e.g. '40 TB'")
    if not isinstance(value, str | pint.Quantity):
        raise ValueError(f"{value!r} is not a size; write a number and a unit, e.g. '40 TB'")
    return parse_quantity(value, "byte")


#: A size in bytes from a request, '40 TB' (GB ≠ GiB); serialised back as text.
Size = Annotated[
    pint.Quantity,
    BeforeValidator(_as_size),
    PlainSerializer(lambda q: f"{q.magnitude:g} {format(q.units, '~C')}", return_type=str),
    WithJsonSchema({"type": "string", "pattern": SIZE_PATTERN, "maxLength": 40, "examples": ["40 TB"]}),
]

_RATE = re.compile(r"^\s*[+-]?\d{1,6}(\.\d{1,6})?\s*%?\s*$")


def _as_rate(value: Any) -> float:
    """'25%', '25 %', 0.25 → 0.25; a bool or an expression is refused."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"{value!r} is not a growth rate; write e.g. '25%' or 0.25")
    if isinstance(value, str):
        if not _RATE.match(value):
            raise ValueError(f"{value[:60]!r} is not a growth rate; write e.g. '25%' or 0.25")
        text = value.strip()
        return float(text.rstrip("%")) / 100.0 if text.endswith("%") else float(text)
    return float(value)


#: An annual growth rate: '25%' or 0.25.
Rate = Annotated[
    float,
    BeforeValidator(_as_rate),
    WithJsonSchema(
        {"anyOf": [{"type": "string", "pattern": _RATE.pattern}, {"type": "number"}], "examples": ["25%"]}
    ),
]

SystemId = Annotated[str, Strict(), Field(min_length=1, max_length=64)]


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
    az: str = Field(min_length=1, max_length=64, examples=["gz-1"])
    vcpu: Annotated[int, Strict()] = Field(ge=0, le=100_000)
    ram: Size = Field(default_factory=lambda: parse_quantity("0 GB", "byte"))
    disk: Size = Field(default_factory=lambda: parse_quantity("0 GiB", "byte"))
    block_storage: Size = Field(default_factory=lambda: parse_quantity("0 GB", "byte"))
    object_storage: Size = Field(default_factory=lambda: parse_quantity("0 GB", "byte"))
    annual_growth: Rate = Field(default=0.0, ge=-0.5, le=10)


class RequestFields(BaseModel):
    """What a migration request asks for, whoever submits it: the one schema of the API body and the ledger
    (``RequestSpec`` adds the department, which the API takes from the token when the body omits it)."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    systems: list[SystemId] = Field(default_factory=list, max_length=500)
    adhoc: list[AdHocSystem] = Field(default_factory=list, max_length=100)
    earliest_week: Week
    latest_week: Week
    data_volume: Size = Field(default_factory=lambda: parse_quantity("0 TB", "byte"))
    dependencies: list[SystemId] = Field(default_factory=list, max_length=500)
    weight: Annotated[int, Strict()] = Field(
        default=1, ge=1, le=100, description="priority: delay cost per week in re-planning"
    )

    @model_validator(mode="after")
    def _sane(self) -> Self:
        if not self.systems and not self.adhoc:
            raise ValueError("a request moves at least one system: give 'systems' or 'adhoc'")
        if self.latest_week < self.earliest_week:
            raise ValueError("latest_week is before earliest_week")
        if len(set(self.systems)) != len(self.systems):
            raise ValueError("a system is listed twice in 'systems'")
        return self


class RequestSpec(RequestFields):
    """A department's migration request, as submitted (the ledger stores it verbatim as JSON)."""

    department: str = Field(min_length=1, max_length=16)

    @property
    def system_count(self) -> int:
        """Systems the migration team cuts over for this request."""
        return len(self.systems) + len(self.adhoc)

    @property
    def data_volume_gb(self) -> float:
        return float(self.data_volume.to("GB").magnitude)

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def adhoc_id(request_id: int | str, index: int) -> str:
    """The system id an ad-hoc system gets in the ledger."""
    return f"adhoc-{request_id}-{index + 1}"


def resolve(
    source: SourceOfTruth,
    spec: RequestSpec,
    request_id: int | str = "new",
    by_id: Mapping[str, System] | None = None,
    may_see: Callable[[str], bool] | None = None,
) -> list[System]:
    """The request's systems as inventory ``System`` objects (migration month still the inventory's).

    ``by_id`` is the inventory indexed by id, when the caller keeps one. ``may_see(department)`` is the
    submitter's view: given, every dependency must be an inventory system of a department it may see — one of
    another department gets the same answer as one that does not exist (its booking week is not theirs to
    know)."""
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
            System.model_validate(
                {
                    "id": adhoc_id(request_id, index),
                    "department": spec.department,
                    "name": adhoc.name,
                    "az": adhoc.az,
                    # sizes keyed by resource class (egov.resources)
                    "resources": {
                        "VCPU": adhoc.vcpu,
                        "MEMORY_MB": adhoc.ram,
                        "DISK_GB": adhoc.disk,
                        "BLOCK_STORAGE": adhoc.block_storage,
                        "OBJECT_STORAGE": adhoc.object_storage,
                    },
                    "migration_month": source.planning.start_month,
                    "growth": Growth(annual_rate=adhoc.annual_growth),
                },
                context={"resource_classes": source.cloud.resource_classes},
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
        if may_see is not None:
            system = by_id.get(dep)
            if system is None or not may_see(system.department):
                raise SpecError("dependencies", f"no system {dep!r} in the inventory")
    return systems
