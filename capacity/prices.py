"""The price list of the procurement plan (data/prices.yaml): CNY per host of a model and per disk unit of a
pool, with lead times, an optional yearly discount rate, yearly budget cap and tender window.

Every name is checked against the cloud: a price for an unknown host model or pool is an error naming the
file and field, as is a negative price or a price without its currency.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pint
from pydantic import BeforeValidator, Field, ValidationError, ValidationInfo, field_validator

from egov.errors import SourceError
from egov.model import _AS_TEXT, Cloud, Fraction, Strict
from egov.units import parse_quantity

Money = Annotated[pint.Quantity, BeforeValidator(lambda v: parse_quantity(v, "CNY")), _AS_TEXT]


class Price(Strict):
    price: Money
    lead_time_months: int | None = Field(default=None, ge=0, le=60, description="planning.yaml's if omitted")

    @property
    def cny(self) -> float:
        return float(self.price.to("CNY").magnitude)


def _known(names: set[str], what: str, value: dict[str, Price]) -> dict[str, Price]:
    unknown = sorted(set(value) - names)
    if unknown:
        raise ValueError(f"price for unknown {what} {unknown[0]!r}; known: {sorted(names)}")
    return value


class Prices(Strict):
    discount_rate: Fraction = Field(default=0.0, ge=0, le=0.5)
    yearly_budget: Money | None = None
    order_window_months: int = Field(default=6, ge=1, le=24)
    hosts: dict[str, Price] = Field(default_factory=dict)
    disks: dict[str, Price] = Field(default_factory=dict)

    @field_validator("hosts")
    @classmethod
    def _known_models(cls, value: dict[str, Price], info: ValidationInfo) -> dict[str, Price]:
        cloud = (info.context or {}).get("cloud")
        return _known(set(cloud.host_models), "host model", value) if isinstance(cloud, Cloud) else value

    @field_validator("disks")
    @classmethod
    def _known_pools(cls, value: dict[str, Price], info: ValidationInfo) -> dict[str, Price]:
        cloud = (info.context or {}).get("cloud")
        pools = {p.name for p in cloud.storage_pools} if isinstance(cloud, Cloud) else None
        return value if pools is None else _known(pools, "storage pool", value)


def load_prices(path: Path, cloud: Cloud) -> Prices:
    """Read and validate prices.yaml against ``cloud``; raises SourceErrors naming file and field."""
    from egov.source import read_yaml, validation_errors

    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise SourceError(path, "expected a mapping at the top level")
    try:
        return Prices.model_validate(raw, context={"cloud": cloud})
    except ValidationError as exc:
        raise validation_errors(path, exc) from None
