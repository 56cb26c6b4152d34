"""The resource classes egov counts, as data: one table (data/resource_classes.yaml) read into
:class:`ResourceTable`. Host models, flavors, systems, reserved amounts, allocation ratios and quotas are
keyed by a class's name as Placement spells it; a new class is one row of the table (model: Placement's
placement/objects/inventory.py, generic by resource class).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

import pint
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from egov.units import NegativeQuantity, UnitError, magnitude_in, parse_quantity

#: A resource class's name as Placement spells it: VCPU, MEMORY_MB, VGPU, CUSTOM_FPGA, …
ResourceClass = str

#: The embedded Guangdong default data directory.
DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent / "data"
#: The table's file in a data directory.
TABLE_FILE = "resource_classes.yaml"

#: The classes code needs by name: VCPU sizes VMs and quotas, MEMORY_MB is what Nova's RAMWeigher weighs.
VCPU = "VCPU"
MEMORY_MB = "MEMORY_MB"


class Provider(StrEnum):
    """Who offers a class: every compute host whose model has it, or the storage pools of one kind."""

    host = "host"
    block = "block"
    object = "object"


class ResourceClassSpec(BaseModel):
    """One row of the table."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    name: str = Field(pattern=r"^[A-Z][A-Z0-9_]{0,254}$")
    unit: str
    provider: Provider
    aliases: tuple[str, ...] = ()
    allocation_ratio: float = Field(default=1.0, gt=0)
    reserved: pint.Quantity | None = None
    required: bool = False
    sizes_vms: bool = True
    flavor_field: str | None = None
    quota: str | None = None

    @field_validator("unit")
    @classmethod
    def _known_unit(cls, unit: str) -> str:
        parse_quantity(f"1 {unit}", unit)  # a unit the one registry knows
        return unit

    @model_validator(mode="before")
    @classmethod
    def _reserved_in_unit(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("reserved") is not None and "unit" in data:
            unit = str(data["unit"])
            counted = _counted(unit)
            data = {
                **data,
                "reserved": parse_quantity(
                    data["reserved"], unit, default_unit=unit if counted else None, field="reserved"
                ),
            }
        return data

    @property
    def counted(self) -> bool:
        """Whether the class counts whole things (vCPUs, vGPUs), so a bare number means that many."""
        return _counted(self.unit)

    def parse(self, value: Any, field: str | None = None) -> pint.Quantity:
        """``value`` as a quantity of this class ("512 GB", 8): a bare number only for counted classes;
        never negative (:class:`NegativeAmount`), a counted class in whole numbers. Errors name ``field``
        when given and echo the value."""
        prefix = f"{field}: " if field else ""
        expected = self.unit if self.counted else "byte"
        default = self.unit if self.counted else None
        quantity = parse_quantity(value, expected, default_unit=default, field=field)
        amount = self.amount(quantity)
        if amount < 0:
            raise NegativeAmount(f"{prefix}{value!r} is negative")
        if self.counted and amount != int(amount):
            raise UnitError(f"{prefix}not a whole number of {self.unit}: {value!r}")
        return quantity

    def amount(self, quantity: pint.Quantity) -> float:
        """``quantity`` in this class's unit (Placement's integer units, before rounding)."""
        return magnitude_in(quantity, self.unit)


def _reason(exc: Exception) -> PydanticCustomError:
    return PydanticCustomError("value_error", "{reason}", {"reason": str(exc)})


def located(problem: Any, key: Any, value: Any) -> InitErrorDetails:
    """One error of a validation at ``key``: a PydanticCustomError, or (known error type, its context)."""
    if isinstance(problem, tuple):
        return InitErrorDetails(type=problem[0], loc=(str(key),), input=value, ctx=problem[1])
    return InitErrorDetails(type=problem, loc=(str(key),), input=value)


#: An amount of a resource class below zero.
NegativeAmount = NegativeQuantity


@cache
def _counted(unit: str) -> bool:
    try:
        parse_quantity(f"1 {unit}", "byte")
    except UnitError:
        return True
    return False


class _TableFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    resource_classes: list[ResourceClassSpec] = Field(min_length=1)


class ResourceTable:
    """The resource classes in the table's order (the order of every output), with their aliases."""

    def __init__(self, classes: Iterable[ResourceClassSpec]) -> None:
        self.classes: tuple[ResourceClassSpec, ...] = tuple(classes)
        self._by_name = {c.name: c for c in self.classes}
        if len(self._by_name) != len(self.classes):
            raise ValueError("a resource class is listed twice")
        self._alias: dict[str, str] = {}
        for spec in self.classes:
            for alias in (spec.name, *spec.aliases):
                owner = self._alias.setdefault(alias.lower(), spec.name)
                if owner != spec.name:
                    raise ValueError(f"alias {alias!r} names both {owner} and {spec.name}")
        self.names: tuple[str, ...] = tuple(self._by_name)
        #: the classes compute hosts offer, in table order (the rows of the fit simulator's arrays)
        self.host_classes: tuple[str, ...] = tuple(
            c.name for c in self.classes if c.provider is Provider.host
        )

    def __getitem__(self, name: str) -> ResourceClassSpec:
        return self._by_name[name]

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Any:
        return iter(self.classes)

    def __repr__(self) -> str:
        return f"ResourceTable({', '.join(self.names)})"

    def resolve(self, key: str) -> str | None:
        """The class a key or column header names (its name or an alias, any case), or None."""
        return self._alias.get(key.strip().lower())

    def unit(self, name: str) -> str:
        return self._by_name[name].unit

    def index(self, name: str) -> int:
        return self.names.index(name)

    def pool_class(self, kind: str) -> str:
        """The class the storage pools of ``kind`` (block, object) offer."""
        for spec in self.classes:
            if spec.provider.value == kind:
                return spec.name
        raise KeyError(f"no resource class is offered by {kind} storage pools")

    def parse_amounts(self, data: Mapping[str, Any], title: str) -> dict[str, pint.Quantity]:
        """``{class or alias: value}`` as ``{class: quantity}`` in table order. Every unknown key and bad
        value is a pydantic ValidationError located at its key (``flavors.0.vcpus``), echoing the value."""
        out: dict[str, pint.Quantity] = {}
        problems: list[InitErrorDetails] = []
        for key, value in data.items():
            name = self.resolve(str(key))
            problem: Any
            if name is None:
                problem = PydanticCustomError(
                    "value_error", "unknown resource class; known: {known}", {"known": list(self.names)}
                )
            elif name in out:
                problem = PydanticCustomError(
                    "value_error", "resource class {name} given twice", {"name": name}
                )
            else:
                try:
                    out[name] = value if isinstance(value, pint.Quantity) else self[name].parse(value)
                    continue
                except NegativeAmount as exc:
                    # a count below zero is pydantic's "≥ 0" (中文 first); a size names the value it read
                    problem = ("greater_than_equal", {"ge": 0}) if self[name].counted else _reason(exc)
                except UnitError as exc:
                    problem = _reason(exc)
            problems.append(located(problem, key, value))
        if problems:
            raise ValidationError.from_exception_data(title, problems)
        return {n: out[n] for n in self.names if n in out}


def table_from(raw: Any) -> ResourceTable:
    """The table of a parsed resource_classes.yaml; a pydantic ValidationError or ValueError names the row."""
    return ResourceTable(_TableFile.model_validate(raw).resource_classes)


def read_table(path: Path) -> ResourceTable:
    """The table of a YAML file (the standard one; egov.source reads a data directory's, naming errors)."""
    import yaml

    return table_from(yaml.safe_load(path.read_text(encoding="utf-8")))


@cache
def standard_table() -> ResourceTable:
    """The default data's table: what a model built without a data directory's table uses."""
    return read_table(DEFAULT_DATA_DIR / TABLE_FILE)


def table_in(context: Any) -> ResourceTable:
    """The table a pydantic validation runs with: the data directory's (context ``resource_classes``), else
    the standard one."""
    if isinstance(context, dict) and isinstance(context.get("resource_classes"), ResourceTable):
        return context["resource_classes"]
    return standard_table()
