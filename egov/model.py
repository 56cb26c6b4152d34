"""The source of truth as pydantic models: cloud, flavors, departments, systems, planning parameters.

Everything downstream (capacity, network, stacks, slots) reads these objects and never the files.
"""

from __future__ import annotations

import math
from datetime import date
from enum import StrEnum
from typing import Annotated, Any

import pint
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from egov.months import add_months, month_label, parse_month
from egov.resources import MEMORY_MB, VCPU, ResourceClass, ResourceTable, located, standard_table, table_in
from egov.units import magnitude_in, parse_fraction, parse_number, parse_quantity, show


def _quantity_text(q: pint.Quantity) -> str:
    return f"{q.magnitude:g} {format(q.units, '~C')}"


_AS_TEXT = PlainSerializer(_quantity_text, return_type=str)
#: Annotated pint quantity fields: they accept '150000 GB' and serialise back to text.
Bytes = Annotated[pint.Quantity, BeforeValidator(lambda v: parse_quantity(v, "byte")), _AS_TEXT]
Cores = Annotated[
    pint.Quantity, BeforeValidator(lambda v: parse_quantity(v, "core", default_unit="core")), _AS_TEXT
]
Bandwidth = Annotated[pint.Quantity, BeforeValidator(lambda v: parse_quantity(v, "bit/s")), _AS_TEXT]
Power = Annotated[pint.Quantity, BeforeValidator(lambda v: parse_quantity(v, "W")), _AS_TEXT]


def _as_month(value: Any) -> date:
    return parse_month(value)


Month = Annotated[
    date, BeforeValidator(_as_month), PlainSerializer(lambda d: month_label(d), return_type=str)
]


#: A share: '20%', '20 %', 0.2 → 0.2, by the quantity grammar's numbers (no NaN, no bool).
Fraction = Annotated[float, BeforeValidator(lambda v: parse_fraction(v))]
#: A whole count: 48, '1,200'; a bool (YAML's `true`) or '4.5' is refused, not read as 1 or 4.
Count = Annotated[int, BeforeValidator(lambda v: parse_number(v, integer=True))]
#: A plain number by the same grammar: no bool, no NaN or infinity.
Number = Annotated[float, BeforeValidator(lambda v: parse_number(v))]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, frozen=True)


#: Amounts keyed by resource class (egov.resources: the table in data/resource_classes.yaml), in table order.
Amounts = Annotated[
    dict[str, pint.Quantity],
    PlainSerializer(lambda d: {k: _quantity_text(q) for k, q in d.items()}, return_type=dict),
]
#: Allocation ratios keyed by resource class.
Ratios = dict[str, float]


def _fold_amounts(data: Any, info: ValidationInfo, named: frozenset[str], where: str) -> Any:
    """A host model's, flavor's or system's mapping with its resource keys (a class's name or alias:
    ``cores``, ``ram``, ``VGPU``) gathered into ``resources``, each parsed in its class's unit; other keys
    stay (an unknown one is refused as an extra field)."""
    if not isinstance(data, dict):
        return data
    table = table_in(info.context)
    amounts: dict[str, Any] = dict(data.get("resources") or {})
    rest: dict[str, Any] = {}
    for key, value in data.items():
        if key == "resources":
            continue
        if key in named or table.resolve(str(key)) is None:
            rest[key] = value
        else:
            amounts[key] = value
    rest["resources"] = table.parse_amounts(amounts, where)
    return rest


def _check_amounts(
    resources: dict[str, pint.Quantity], info: ValidationInfo, required: tuple[str, ...]
) -> None:
    """The ``required`` classes given (each amount was checked as it was parsed: ResourceClassSpec.parse)."""
    table = table_in(info.context)
    for name in required:
        if name not in resources:
            raise ValueError(f"{name} is missing (a key named one of {[name, *table[name].aliases]})")


def parse_ratios(
    value: dict[str, Any],
    table: ResourceTable,
    classes: tuple[str, ...] | None = None,
    maximum: float = math.inf,
) -> dict[str, float]:
    """``{class or alias: ratio}`` as ``{class: ratio}``, each a number in (0, maximum] by the quantity
    grammar, the classes among ``classes`` (default: all the table's); every error is located at its key."""
    allowed = table.names if classes is None else classes
    out: dict[str, float] = {}
    problems: list[InitErrorDetails] = []
    for key, ratio in value.items():
        name = table.resolve(str(key))
        problem: Any = None
        if name is None or name not in allowed:
            problem = PydanticCustomError(
                "value_error", "unknown resource class; known: {known}", {"known": list(allowed)}
            )
        else:
            try:
                number = float(parse_number(ratio))
            except ValueError as exc:
                problem = PydanticCustomError("value_error", "{reason}", {"reason": str(exc)})
            else:
                if number <= 0:
                    problem = ("greater_than", {"gt": 0})
                elif number > maximum:
                    problem = ("less_than_equal", {"le": maximum})
                else:
                    out[name] = number
        if problem is not None:
            problems.append(located(problem, key, ratio))
    if problems:
        raise ValidationError.from_exception_data("allocation_ratios", problems)
    return out


def _ratios(cls: type, value: Any, info: ValidationInfo) -> Any:
    return parse_ratios(value, table_in(info.context)) if isinstance(value, dict) else value


def _reserved(cls: type, value: Any, info: ValidationInfo) -> Any:
    if not isinstance(value, dict):
        return value
    return table_in(info.context).parse_amounts(value, "reserved")


HOST_MODEL_FIELDS = frozenset({"description", "rack_units", "power_typical", "power_max"})


class HostModel(Strict):
    """A server model bought for the cloud: what each host offers, keyed by resource class
    (``cores``/``ram``/``local_disk`` are the aliases of VCPU, MEMORY_MB, DISK_GB; a GPU host adds VGPU)."""

    resources: Amounts
    description: str = ""
    # What the building needs to know (capacity.building): height and power draw, typical and nameplate.
    rack_units: int | None = Field(default=None, gt=0, le=10)
    power_typical: Power | None = None
    power_max: Power | None = None

    @model_validator(mode="before")
    @classmethod
    def _by_class(cls, data: Any, info: ValidationInfo) -> Any:
        return _fold_amounts(data, info, HOST_MODEL_FIELDS, "host model")

    @model_validator(mode="after")
    def _checks(self, info: ValidationInfo) -> HostModel:
        _typical_below_max(self.power_typical, self.power_max)
        _check_amounts(self.resources, info, (VCPU, MEMORY_MB))
        if self.resources[VCPU].magnitude <= 0:
            raise ValueError("cores must be a positive whole number")
        return self


class Aggregate(Strict):
    """A host aggregate: identical hosts of one model in one availability zone."""

    name: str
    host_model: str
    hosts: Count = Field(ge=0)
    metadata: dict[str, str] = Field(default_factory=dict)
    #: overrides of the cloud's, per resource class
    allocation_ratios: Ratios | None = None
    reserved: Amounts | None = None

    _ratios = field_validator("allocation_ratios", mode="before")(_ratios)
    _reserved = field_validator("reserved", mode="before")(_reserved)


class AvailabilityZone(Strict):
    name: str
    ha_reserve_hosts: Count = Field(default=1, ge=0, description="k of N+k: hosts kept free for failover")
    aggregates: list[Aggregate]


class Redundancy(Strict):
    """Either a replica count or k+m erasure coding."""

    replicas: Count | None = Field(default=None, ge=1)
    ec_data: Count | None = Field(default=None, ge=1, alias="k")
    ec_parity: Count | None = Field(default=None, ge=0, alias="m")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _one_scheme(self) -> Redundancy:
        has_ec = self.ec_data is not None or self.ec_parity is not None
        if (self.replicas is None) == (not has_ec):
            raise ValueError("give either 'replicas' or both 'k' and 'm' (erasure coding)")
        if has_ec and (self.ec_data is None or self.ec_parity is None):
            raise ValueError("erasure coding needs both 'k' and 'm'")
        return self

    @property
    def overhead(self) -> float:
        """Raw bytes stored per byte of data."""
        if self.replicas is not None:
            return float(self.replicas)
        assert self.ec_data is not None and self.ec_parity is not None
        return (self.ec_data + self.ec_parity) / self.ec_data


class StorageKind(StrEnum):
    block = "block"
    object = "object"


def _typical_below_max(typical: pint.Quantity | None, maximum: pint.Quantity | None) -> None:
    if (typical is None) != (maximum is None):
        raise ValueError("give both power_typical and power_max, or neither")
    if typical is not None and maximum is not None and typical > maximum:
        raise ValueError(f"power_typical {typical:~} exceeds power_max {maximum:~}")


class StorageEnclosure(Strict):
    """The chassis a pool's disks are bought in: disks per enclosure, height and power draw."""

    disks: int = Field(gt=0, le=200)
    rack_units: int = Field(gt=0, le=10)
    power_typical: Power
    power_max: Power

    @model_validator(mode="after")
    def _power_order(self) -> StorageEnclosure:
        _typical_below_max(self.power_typical, self.power_max)
        return self


class StoragePool(Strict):
    """A Ceph or Swift pool. ``az`` is an availability zone or 'region' for a region-wide service."""

    name: str
    kind: StorageKind
    az: str
    raw: Bytes
    redundancy: Redundancy
    full_ratio: Fraction = Field(default=0.85, gt=0, le=1)
    disk_unit: Bytes = Field(description="raw size of one disk bought to expand the pool")
    enclosure: StorageEnclosure | None = None


class Expansion(Strict):
    """A planned purchase that becomes usable from ``month``: hosts into an aggregate or raw into a pool."""

    month: Month
    aggregate: str | None = None
    hosts: Count | None = Field(default=None, gt=0)
    pool: str | None = None
    raw: Bytes | None = None
    note: str = ""

    @model_validator(mode="after")
    def _one_target(self) -> Expansion:
        if (self.aggregate is None) == (self.pool is None):
            raise ValueError(
                "an expansion names either an 'aggregate' (with 'hosts') or a 'pool' (with 'raw')"
            )
        if self.aggregate is not None and self.hosts is None:
            raise ValueError(f"expansion of aggregate {self.aggregate!r} needs 'hosts'")
        if self.pool is not None and self.raw is None:
            raise ValueError(f"expansion of pool {self.pool!r} needs 'raw'")
        return self


class Flavor(Strict):
    """A Nova flavor of the catalogue, what one VM of it claims keyed by resource class (``vcpus``/``ram``/
    ``disk`` are aliases of VCPU, MEMORY_MB, DISK_GB; a GPU flavor adds VGPU). ``aggregate_class`` ties it
    to aggregates whose metadata match."""

    name: str
    resources: Amounts
    aggregate_class: str = "general"
    description: str = ""

    @model_validator(mode="before")
    @classmethod
    def _by_class(cls, data: Any, info: ValidationInfo) -> Any:
        return _fold_amounts(data, info, frozenset({"name", "aggregate_class", "description"}), "flavor")

    @model_validator(mode="after")
    def _checks(self, info: ValidationInfo) -> Flavor:
        _check_amounts(self.resources, info, (VCPU, MEMORY_MB))
        if self.resources[VCPU].magnitude <= 0:
            raise ValueError(f"flavor {self.name!r}: vcpus must be greater than 0")
        return self

    def request(self, table: ResourceTable) -> dict[str, int]:
        """What one VM claims, in Placement's integer units, per resource class (as Nova's request spec)."""
        return {rc: round(table[rc].amount(q)) for rc, q in self.resources.items() if table[rc].amount(q) > 0}

    @property
    def vcpus(self) -> int:
        return round(magnitude_in(self.resources[VCPU], "vcpu"))

    @property
    def ram_mib(self) -> int:
        return round(magnitude_in(self.resources[MEMORY_MB], "MiB"))

    @property
    def disk_gib(self) -> int:
        disk = self.resources.get("DISK_GB")
        return 0 if disk is None else round(magnitude_in(disk, "GiB"))


class Cloud(Strict):
    region: str
    #: the resource classes (egov.resources), from the data directory or the standard table
    resource_classes: ResourceTable = Field(default_factory=standard_table, exclude=True)
    host_models: dict[str, HostModel]
    #: Placement defaults per resource class; a class not named takes the table's
    allocation_ratios: Ratios = Field(default_factory=dict)
    reserved_per_host: Amounts = Field(default_factory=dict)
    availability_zones: list[AvailabilityZone]
    storage_pools: list[StoragePool]
    expansions: list[Expansion] = Field(default_factory=list)
    flavors: list[Flavor] = Field(default_factory=list)

    _ratios = field_validator("allocation_ratios", mode="before")(_ratios)
    _reserved = field_validator("reserved_per_host", mode="before")(_reserved)

    @model_validator(mode="before")
    @classmethod
    def _table(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, dict) and "resource_classes" not in data:
            return {**data, "resource_classes": table_in(info.context)}
        return data

    @model_validator(mode="after")
    def _references(self) -> Cloud:
        az_names = [az.name for az in self.availability_zones]
        _unique(az_names, "availability zone")
        aggregates = [agg for az in self.availability_zones for agg in az.aggregates]
        _unique([a.name for a in aggregates], "aggregate")
        _unique([p.name for p in self.storage_pools], "storage pool")
        _unique([f.name for f in self.flavors], "flavor")
        for agg in aggregates:
            if agg.host_model not in self.host_models:
                raise ValueError(f"aggregate {agg.name!r} uses unknown host model {agg.host_model!r}")
        for pool in self.storage_pools:
            if pool.az != "region" and pool.az not in az_names:
                raise ValueError(f"storage pool {pool.name!r} is in unknown availability zone {pool.az!r}")
        pool_names = {p.name for p in self.storage_pools}
        aggregate_names = {a.name for a in aggregates}
        for exp in self.expansions:
            if exp.aggregate is not None and exp.aggregate not in aggregate_names:
                raise ValueError(
                    f"expansion in {month_label(exp.month)} names unknown aggregate {exp.aggregate!r}"
                )
            if exp.pool is not None and exp.pool not in pool_names:
                raise ValueError(f"expansion in {month_label(exp.month)} names unknown pool {exp.pool!r}")
        return self

    def aggregate(self, name: str) -> tuple[AvailabilityZone, Aggregate]:
        for az in self.availability_zones:
            for agg in az.aggregates:
                if agg.name == name:
                    return az, agg
        raise KeyError(name)

    def ratio(self, aggregate: Aggregate, rc: ResourceClass) -> float:
        """The allocation ratio of ``rc`` on ``aggregate``'s hosts: the aggregate's, else the cloud's, else
        the table's."""
        for ratios in (aggregate.allocation_ratios or {}, self.allocation_ratios):
            if rc in ratios:
                return ratios[rc]
        return self.resource_classes[rc].allocation_ratio

    def reserved(self, aggregate: Aggregate, rc: ResourceClass) -> pint.Quantity | None:
        """What each of ``aggregate``'s hosts reserves of ``rc``: the aggregate's, else the cloud's, else
        the table's."""
        for reserved in (aggregate.reserved or {}, self.reserved_per_host):
            if rc in reserved:
                return reserved[rc]
        return self.resource_classes[rc].reserved

    def physical_totals(self) -> dict[str, pint.Quantity]:
        """Installed cores, RAM and raw storage at the start (expansions excluded)."""

        def installed(rc: ResourceClass, zero: pint.Quantity) -> pint.Quantity:
            return sum(
                (
                    self.host_models[a.host_model].resources.get(rc, zero) * a.hosts
                    for az in self.availability_zones
                    for a in az.aggregates
                ),
                start=zero,
            )

        cores = installed(VCPU, parse_quantity(0, "core", default_unit="core"))
        ram = installed(MEMORY_MB, parse_quantity("0 GB", "byte"))
        raw = sum((p.raw for p in self.storage_pools), start=parse_quantity("0 PB", "byte"))
        return {"cores": cores, "ram": ram, "storage_raw": raw}


def _unique(names: list[str], what: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"duplicate {what} {name!r}")
        seen.add(name)


class Department(Strict):
    """A provincial department (省直部门) with its stable code."""

    code: str = Field(pattern=r"^[A-Z][A-Z0-9-]{1,15}$")
    name: str = Field(min_length=1)
    name_en: str = ""


class Growth(Strict):
    """A system's growth law: a compound annual rate, or explicit factors for each year after migration."""

    annual_rate: Number | None = Field(default=None, ge=-0.5, le=10)
    yearly_factors: tuple[Number, ...] | None = None

    @model_validator(mode="after")
    def _one_law(self) -> Growth:
        if (self.annual_rate is None) == (self.yearly_factors is None):
            raise ValueError("give either an annual growth rate or yearly factors, not both")
        if self.yearly_factors is not None and (
            not self.yearly_factors or any(f <= 0 for f in self.yearly_factors)
        ):
            raise ValueError("yearly factors must be positive numbers, e.g. 1;1.3;1.7")
        return self


class System(Strict):
    """A department's business system (业务信息系统) to migrate into the cloud: its size at migration keyed by
    resource class (``vcpu``, ``ram``, ``block_storage`` … are aliases, as in systems.csv's headers)."""

    id: str = Field(min_length=1)
    department: str
    name: str
    az: str
    resources: Amounts
    migration_month: Month
    growth: Growth
    flavor: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _by_class(cls, data: Any, info: ValidationInfo) -> Any:
        return _fold_amounts(data, info, SYSTEM_FIELDS, "system")

    @model_validator(mode="after")
    def _checks(self, info: ValidationInfo) -> System:
        table = table_in(info.context)
        _check_amounts(self.resources, info, tuple(c.name for c in table if c.required))
        return self

    def size(self, rc: ResourceClass, unit: str) -> float:
        """The system's ``rc`` at migration in ``unit`` (0 when it has none)."""
        quantity = self.resources.get(rc)
        return 0.0 if quantity is None else magnitude_in(quantity, unit)

    @property
    def vcpu(self) -> int:
        return round(self.size(VCPU, "vcpu"))

    @property
    def ram(self) -> pint.Quantity:
        return self.resources[MEMORY_MB]

    def bytes_of(self, rc: ResourceClass) -> pint.Quantity:
        """The system's ``rc`` in bytes (0 GB when it has none): for callers that add sizes up."""
        return self.resources.get(rc, _ZERO_BYTES)

    @property
    def disk(self) -> pint.Quantity:
        return self.bytes_of("DISK_GB")

    @property
    def block_storage(self) -> pint.Quantity:
        return self.bytes_of("BLOCK_STORAGE")

    @property
    def object_storage(self) -> pint.Quantity:
        return self.bytes_of("OBJECT_STORAGE")


_ZERO_BYTES = parse_quantity("0 GB", "byte")
SYSTEM_FIELDS = frozenset({"id", "department", "name", "az", "migration_month", "growth", "flavor"})


class Blackout(Strict):
    """A period when no migration cuts over (Spring Festival, National Day week, 两会, …)."""

    name: str
    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> Blackout:
        if self.end < self.start:
            raise ValueError(f"blackout {self.name!r} ends before it starts")
        return self


class Planning(Strict):
    start_month: Month
    horizon_months: Count = Field(default=60, ge=1, le=240)
    headroom_target: Fraction = Field(default=0.2, ge=0, lt=1)
    lead_time_months: Count = Field(default=6, ge=0, le=60)
    blackouts: list[Blackout] = Field(default_factory=list)
    migration_weekly_capacity: Count = Field(
        default=12, gt=0, description="systems the migration team can cut over per week"
    )
    target_pue: float = Field(
        default=1.25, ge=1.0, le=3.0, description="the building's PUE target (Guangdong's national hub: 1.25)"
    )

    def month(self, index: int) -> date:
        return add_months(self.start_month, index)

    @property
    def end_month(self) -> date:
        return add_months(self.start_month, self.horizon_months - 1)


class SourceOfTruth(Strict):
    """Everything loaded from data/: the one input to every other part."""

    cloud: Cloud
    departments: list[Department]
    systems: list[System]
    planning: Planning
    #: What loading ignored (e.g. columns egov does not read), one line each: every output shows them.
    warnings: tuple[str, ...] = ()

    def department(self, code: str) -> Department:
        for dept in self.departments:
            if dept.code == code:
                return dept
        raise KeyError(code)

    def physical_summary(self) -> dict[str, str]:
        totals = self.cloud.physical_totals()
        return {
            "cores": show(totals["cores"], "core"),
            "ram": show(totals["ram"], "GB"),
            "storage_raw": show(
                totals["storage_raw"], "PB", digits=0 if _whole(totals["storage_raw"], "PB") else 3
            ),
        }


def _whole(q: pint.Quantity, unit: str) -> bool:
    value = float(q.to(unit).magnitude)
    return abs(value - round(value)) < 1e-9
