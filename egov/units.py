"""The one pint registry of the project, and parsing of quantities from user input.

Every module that handles a unit imports ``ureg`` from here: quantities from two registries cannot be
compared, so a second registry would be a bug.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

import pint


def _registry() -> pint.UnitRegistry:
    """pint's default registry, its parsed definitions cached on disk: parsing them is a large part of the
    start-up of `egov capacity check` (≈ 0.2 s of a 1 s budget).

    pint writes its cache files in place, so two processes starting at once could see a half-written file.
    The cache is therefore built in a private temporary directory and renamed into place whole
    (~/.cache/egov/pint-<version>); afterwards pint only reads it. Any trouble: parse without a cache."""
    try:
        import platformdirs

        folder = platformdirs.user_cache_path("egov", appauthor=False) / f"pint-{pint.__version__}"
        if folder.is_dir():
            return pint.UnitRegistry(cache_folder=folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".pint.", dir=folder.parent))
        try:
            registry: pint.UnitRegistry = pint.UnitRegistry(cache_folder=staging)
            os.rename(staging, folder)  # fails harmlessly when another process was first
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
            registry = pint.UnitRegistry()
        return registry
    except Exception:  # a missing, unwritable or damaged cache must never stop the CLI
        return pint.UnitRegistry()


ureg: pint.UnitRegistry = _registry()
# Counting units of the cloud. A physical core and a virtual CPU share a dimension so that
# (cores − reserved) × allocation_ratio stays a plain multiplication.
ureg.define("core = [cpu] = _ = cores")
ureg.define("vcpu = core = _ = vCPU = vcpus")
ureg.define("host = [host] = _ = hosts")
ureg.define("disk_unit = [disk] = _ = disk_units")
# Money: prices and plan costs are quantities in yuan, never bare numbers.
ureg.define("CNY = [currency] = _ = yuan")
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
            raise UnitError(f"{value!r} has no unit; write it with one, e.g. {_example(value, expected)}")
        quantity = Q_(value, default_unit)
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            raise UnitError(f"empty value; expected a quantity in {expected}")
        if not any(c.isdigit() for c in text):
            raise UnitError(f"{value!r} has no number; expected a quantity in {expected}")
        simple = _SIMPLE.match(text)
        try:
            if simple and simple.group("unit"):
                # "<number> <unit>" skips pint's expression parser: inventories have thousands.
                number = simple.group("number")
                magnitude = float(number) if any(c in number for c in ".eE") else int(number)
                quantity = Q_(magnitude, _unit(simple.group("unit")))
            else:
                quantity = ureg.Quantity(text)
        except (pint.errors.UndefinedUnitError, pint.errors.DefinitionSyntaxError) as exc:
            raise UnitError(f"unknown unit in {value!r}: {exc}") from None
        except Exception as exc:  # pint raises several parser errors for junk text
            raise UnitError(f"cannot read {value!r} as a quantity: {exc}") from None
        if not isinstance(quantity, pint.Quantity):
            quantity = Q_(quantity, default_unit) if default_unit else quantity
        if isinstance(quantity, int | float):
            if default_unit is None:
                raise UnitError(f"{value!r} has no unit; write it with one, e.g. {_example(value, expected)}")
            quantity = Q_(quantity, default_unit)
    else:
        raise UnitError(f"expected a quantity in {expected}, got {type(value).__name__}")
    dimensionless, compatible = _unit_facts(quantity.units, expected)
    if dimensionless and default_unit is not None:
        quantity = Q_(quantity.magnitude, default_unit)
        compatible = _unit_facts(quantity.units, expected)[1]
    elif dimensionless:
        # a plain number is the GB/GiB trap: refuse it rather than guess
        raise UnitError(f"{value!r} has no unit; write it with one, e.g. {_example(value, expected)}")
    if not compatible:
        raise UnitError(f"{value!r} is not a quantity of {expected} (dimension {quantity.dimensionality})")
    if quantity.magnitude < 0:
        raise UnitError(f"{value!r} is negative")
    return quantity


def _example(value: Any, expected: str) -> str:
    if expected == "byte":
        return f"'{value} GiB' or '{value} GB' (they differ by 7 %)"
    return f"'{value} {expected}'"


_SIMPLE = re.compile(r"^(?P<number>[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?)\s*(?P<unit>[A-Za-z_][\w/]*)?$")


@lru_cache(maxsize=256)
def _unit_facts(unit: pint.Unit, expected: str) -> tuple[bool, bool]:
    """(no unit at all, same root units as ``expected``) of a unit; cached because pint reduces to root
    units each time it is asked, and an inventory asks thousands of times about the same few units.

    Root units, not pint's dimensionality: pint defines the bit as dimensionless, so by dimensionality a
    plain number or a percentage would pass for bytes."""
    probe = Q_(1, unit)
    unitless = probe.units == ureg.dimensionless
    root = probe.to_root_units().units
    return unitless, root == Q_(1, expected).to_root_units().units


@lru_cache(maxsize=256)
def _unit(text: str) -> pint.Unit:
    return ureg.Unit(text)


def magnitude_in(quantity: pint.Quantity, unit: str) -> float:
    """The magnitude of ``quantity`` expressed in ``unit`` (same as ``quantity.to(unit).magnitude``, with the
    conversion factor cached: inventories convert thousands of sizes between the same few units)."""
    return float(quantity.magnitude) * _factor(quantity.units, unit)


@lru_cache(maxsize=256)
def _factor(source: pint.Unit, target: str) -> float:
    return float(Q_(1.0, source).to(target).magnitude)


def show(quantity: pint.Quantity, unit: str | None = None, digits: int = 0) -> str:
    """A quantity as text with its unit, e.g. '150000 GB' or '12.5 PB'; integral values print without '.0'."""
    q = quantity.to(unit) if unit else quantity
    magnitude = round(float(q.magnitude), digits)
    text = f"{magnitude:.{digits}f}" if digits else f"{round(magnitude)}"
    return f"{text} {format(q.units, '~C')}"


_BINARY = ("MiB", "GiB", "TiB", "PiB")
_DECIMAL = ("GB", "TB", "PB")


def human(quantity: pint.Quantity, digits: int = 1) -> str:
    """A byte quantity in the largest unit of its own family (binary stays binary, GB stays decimal) that
    keeps the magnitude ≥ 1, e.g. 78531957 MiB → '74.9 TiB', 2030168 GB → '2.0 PB'; other quantities as is."""
    if not quantity.is_compatible_with("byte"):
        return show(quantity, digits=0)
    family = _BINARY if str(format(quantity.units, "~")).endswith("iB") else _DECIMAL
    chosen = family[0]
    for unit in family:
        if abs(quantity.to(unit).magnitude) >= 1:
            chosen = unit
    return show(quantity, chosen, digits=digits)
