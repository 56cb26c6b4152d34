"""The one pint registry of the project, and parsing of quantities from user input.

Every module that handles a unit imports ``ureg`` from here: quantities from two registries cannot be
compared, so a second registry would be a bug.
"""

from __future__ import annotations

from typing import Any

import pint

ureg: pint.UnitRegistry = pint.UnitRegistry()
# Counting units of the cloud. A physical core and a virtual CPU share a dimension so that
# (cores − reserved) × allocation_ratio stays a plain multiplication.
ureg.define("core = [cpu] = _ = cores")
ureg.define("vcpu = core = _ = vCPU = vcpus")
ureg.define("host = [host] = _ = hosts")
ureg.define("disk_unit = [disk] = _ = disk_units")
Q_ = ureg.Quantity


class UnitError(ValueError):
    """A quantity could not be parsed or has the wrong dimension."""


def parse_quantity(value: Any, expected: str, *, default_unit: str | None = None) -> pint.Quantity:
    """Parse ``value`` ("150000 GB", "15 PB", "10 Gbit/s", 42) into a quantity compatible with ``expected``.

    A bare number is taken in ``default_unit`` when one is given, and refused otherwise: a figure without a
    unit is the classic GB/GiB confusion.
    """
    if isinstance(value, pint.Quantity):
        quantity = value
    elif isinstance(value, bool):
        raise UnitError(f"expected a quantity in {expected}, got {value!r}")
    elif isinstance(value, int | float):
        if default_unit is None:
            raise UnitError(f"{value!r} has no unit; write it with one, e.g. '{value} {expected}'")
        quantity = Q_(value, default_unit)
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            raise UnitError(f"empty value; expected a quantity in {expected}")
        try:
            quantity = ureg.Quantity(text)
        except (pint.errors.UndefinedUnitError, pint.errors.DefinitionSyntaxError) as exc:
            raise UnitError(f"unknown unit in {value!r}: {exc}") from None
        except Exception as exc:  # pint raises several parser errors for junk text
            raise UnitError(f"cannot read {value!r} as a quantity: {exc}") from None
        if not isinstance(quantity, pint.Quantity):
            quantity = Q_(quantity, default_unit) if default_unit else quantity
        if isinstance(quantity, int | float):
            if default_unit is None:
                raise UnitError(f"{value!r} has no unit; write it with one, e.g. '{value} {expected}'")
            quantity = Q_(quantity, default_unit)
    else:
        raise UnitError(f"expected a quantity in {expected}, got {type(value).__name__}")
    if quantity.dimensionless and default_unit is not None:
        quantity = Q_(quantity.magnitude, default_unit)
    if not quantity.is_compatible_with(expected):
        raise UnitError(f"{value!r} is not a quantity of {expected} (dimension {quantity.dimensionality})")
    if quantity.magnitude < 0:
        raise UnitError(f"{value!r} is negative")
    return quantity


def magnitude_in(quantity: pint.Quantity, unit: str) -> float:
    """The magnitude of ``quantity`` expressed in ``unit``."""
    return float(quantity.to(unit).magnitude)


def show(quantity: pint.Quantity, unit: str | None = None, digits: int = 0) -> str:
    """A quantity as text with its unit, e.g. '150000 GB' or '12.5 PB'; integral values print without '.0'."""
    q = quantity.to(unit) if unit else quantity
    magnitude = round(float(q.magnitude), digits)
    text = f"{magnitude:.{digits}f}" if digits else f"{int(round(magnitude))}"
    return f"{text} {format(q.units, '~C')}"
