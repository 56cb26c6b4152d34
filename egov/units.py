"""The one pint registry of the project, and parsing of quantities from user input.

Every module that handles a unit imports ``ureg`` from here: quantities from two registries cannot be
compared, so a second registry would be a bug.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

import pint
from pint.util import UnitsContainer


def cache_folder(pint_dir: Path) -> Path:
    """Where the parsed definitions of the pint installed at ``pint_dir`` are cached.

    The cache records the path of the definition files it was parsed from, so a cache written by another
    installation (another virtualenv, since removed) fails to load, and every start would parse again: the
    folder is therefore keyed by the installation's path as well as pint's version."""
    import hashlib

    import platformdirs

    where = hashlib.sha256(str(pint_dir).encode()).hexdigest()[:12]
    return platformdirs.user_cache_path("egov", appauthor=False) / f"pint-{pint.__version__}-{where}"


def _registry() -> pint.UnitRegistry:
    """pint's default registry, its parsed definitions cached on disk: parsing them is a large part of the
    start-up of `egov capacity check` (≈ 0.2 s of a 1 s budget).

    pint writes its cache files in place, so two processes starting at once could see a half-written file.
    The cache is therefore built in a private temporary directory and renamed into place whole
    (~/.cache/egov/pint-<version>); afterwards pint only reads it. Any trouble: parse without a cache."""
    try:
        folder = cache_folder(Path(pint.__file__).resolve().parent)
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
# Accelerators: a virtual GPU (Placement's VGPU), and a device of a custom class (CUSTOM_FPGA, …).
ureg.define("vgpu = [vgpu] = _ = vGPU = vgpus")
ureg.define("device = [device] = _ = devices")
ureg.define("disk_unit = [disk] = _ = disk_units")
# Money: prices and plan costs are quantities in yuan, never bare numbers.
ureg.define("CNY = [currency] = _ = yuan")
Q_ = ureg.Quantity


class UnitError(ValueError):
    """A quantity could not be parsed, has the wrong dimension or lies out of bounds."""


class NegativeQuantity(UnitError):
    """A quantity below zero where only zero or more makes sense (a size, a count)."""


# The one quantity grammar of every input (CSV cells, YAML values, API payloads, CLI flags):
#
#     quantity = number [unit]          "150000 GB", "1,200 GiB", "1.5e3 TB", "10 Gbit/s", "42"
#     number   = [+|-] digits [. digits] [e|E [+|-] 1-3 digits]     digits may group by thousands: 1,200
#     unit     = name [/ name]          each name one unit of the registry (GB, GiB, core, Gbit, s, …)
#
# It is read with one regular expression and registry look-ups of single unit names: pint's expression
# evaluator (which would compute "(9**9**9) TB") is never called. Text longer than MAX_TEXT is refused
# unread, and each dimension has a largest magnitude, so no input costs more than a few microseconds.
MAX_TEXT = 64
_NUMBER = r"(?P<number>[+-]?(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,3})?)"
_UNIT_NAME = r"[A-Za-zµμ_][A-Za-zµμ_]*"
_QUANTITY = re.compile(rf"^{_NUMBER}\s*(?P<unit>{_UNIT_NAME}(?:\s*/\s*{_UNIT_NAME})?)?$")
_PLAIN_NUMBER = re.compile(rf"^{_NUMBER}$")

#: The largest accepted magnitude per expected unit, with its text for the message. Far beyond any real
#: figure (the whole cloud is 15 PB), far below where float arithmetic loses meaning.
_LIMITS: dict[str, tuple[float, str]] = {
    "byte": (1e18, "1 EB"),
    "core": (1e7, "10000000 core"),
    "bit/s": (1e15, "1 Pbit/s"),
}
_DEFAULT_LIMIT = 1e15
#: The largest plain number (counts, rates, factors) accepted by parse_number.
MAX_NUMBER = 1e15


def _where(field: str | None) -> str:
    return f"{field}: " if field else ""


def parse_number(value: Any, *, field: str | None = None, integer: bool = False) -> int | float:
    """A plain number by the quantity grammar ("1,200", "1.5e3", 42): finite, |value| ≤ MAX_NUMBER, whole when
    ``integer``; a bool, NaN, infinity or anything else is a UnitError naming ``field`` and echoing it."""
    where = _where(field)
    if isinstance(value, bool):
        raise UnitError(f"{where}expected a number, got {value!r}")
    if isinstance(value, int):
        number: int | float = value
    elif isinstance(value, float):
        number = value
    elif isinstance(value, str):
        text = value.strip()
        if len(text) > MAX_TEXT:
            raise UnitError(f"{where}{value[:MAX_TEXT]!r}… is longer than {MAX_TEXT} characters")
        match = _PLAIN_NUMBER.match(text)
        if not match:
            raise UnitError(f"{where}{value!r} is not a number (e.g. 1200, 1,200 or 1.2e3)")
        number = _number(match.group("number"))
    else:
        raise UnitError(f"{where}expected a number, got {type(value).__name__}")
    if not _finite_within(number, MAX_NUMBER):
        raise UnitError(f"{where}{value!r} is out of range (at most {MAX_NUMBER:g} in size)")
    if integer:
        if number != int(number):
            raise UnitError(f"{where}{value!r} is not a whole number")
        return int(number)
    return number


def is_plain_number(text: str) -> bool:
    """Whether ``text`` is a number of the grammar with no unit ("512", "1,200", "1.5e3")."""
    return len(text) <= MAX_TEXT and _PLAIN_NUMBER.match(text.strip()) is not None


def parse_fraction(value: Any, *, field: str | None = None) -> float:
    """A share as a fraction: '20%', '20 %', '0.2', 0.2 → 0.2 (bounds are the caller's)."""
    if isinstance(value, str) and value.strip().endswith("%"):
        return float(parse_number(value.strip()[:-1], field=field)) / 100.0
    return float(parse_number(value, field=field))


def _number(text: str) -> int | float:
    digits = text.replace(",", "")
    if any(c in digits for c in ".eE"):
        return float(digits)
    return int(digits)


def _finite_within(number: int | float, limit: float) -> bool:
    if isinstance(number, int):
        return number.bit_length() <= 64 and abs(number) <= limit
    return math.isfinite(number) and abs(number) <= limit


def parse_quantity(
    value: Any, expected: str, *, default_unit: str | None = None, field: str | None = None
) -> pint.Quantity:
    """Parse ``value`` ("150000 GB", "1,200 GiB", "10 Gbit/s", 42) by the quantity grammar into a quantity
    compatible with ``expected``, within that dimension's bound; errors name ``field`` and echo the value.

    A bare number is taken in ``default_unit`` when one is given, and refused otherwise: a figure without a
    unit is the classic GB/GiB confusion.
    """
    try:
        if isinstance(value, str) and len(value) <= MAX_TEXT:
            return _parse_text(value, expected, default_unit)
        return _parse(value, expected, default_unit)
    except UnitError as exc:
        if field:
            raise UnitError(f"{field}: {exc}") from None
        raise


@lru_cache(maxsize=4096)
def _parse_text(value: str, expected: str, default_unit: str | None) -> pint.Quantity:
    """A text's quantity, remembered: an inventory repeats the same few sizes ("32 GiB") thousands of times,
    and building a pint quantity is most of a parse. Callers never modify a quantity in place."""
    return _parse(value, expected, default_unit)


def _parse(value: Any, expected: str, default_unit: str | None) -> pint.Quantity:
    where = ""  # parse_quantity names the field
    if isinstance(value, pint.Quantity):
        quantity = value
    elif isinstance(value, bool):
        raise UnitError(f"{where}expected a quantity in {expected}, got {value!r}")
    elif isinstance(value, int | float):
        if default_unit is None:
            raise UnitError(
                f"{where}{value!r} has no unit; write it with one, e.g. {_example(value, expected)}"
            )
        quantity = Q_(_checked_magnitude(value, where), default_unit)
    elif isinstance(value, str):
        quantity = _read_text(value, expected, default_unit, where)
    else:
        raise UnitError(f"{where}expected a quantity in {expected}, got {type(value).__name__}")
    _, compatible = _unit_facts(quantity.units, expected)
    if not compatible:
        raise UnitError(
            f"{where}{value!r} is not a quantity of {expected} (dimension {quantity.dimensionality})"
        )
    magnitude = _checked_magnitude(quantity.magnitude, where, value)
    if magnitude < 0:
        raise NegativeQuantity(f"{where}{value!r} is negative")
    limit, limit_text = _LIMITS.get(expected, (_DEFAULT_LIMIT, f"{_DEFAULT_LIMIT:g} {expected}"))
    if float(magnitude) * _factor(quantity._units, expected) > limit:
        raise UnitError(f"{where}{value!r} is out of range: at most {limit_text}")
    return quantity


def _checked_magnitude(magnitude: Any, where: str, shown: Any = None) -> int | float:
    """A finite int or float magnitude small enough to convert without overflow."""
    shown = magnitude if shown is None else shown
    if isinstance(magnitude, bool) or not isinstance(magnitude, int | float):
        raise UnitError(f"{where}{shown!r}: expected a plain number with the unit")
    if not _finite_within(magnitude, 1e30):
        raise UnitError(f"{where}{shown!r} is out of range")
    return magnitude


def _read_text(value: str, expected: str, default_unit: str | None, where: str) -> pint.Quantity:
    text = value.strip()
    if not text:
        raise UnitError(f"{where}empty value; expected a quantity in {expected}")
    if len(text) > MAX_TEXT:
        raise UnitError(f"{where}{value[:MAX_TEXT]!r}… is longer than {MAX_TEXT} characters")
    if not any(c.isdigit() for c in text):
        raise UnitError(f"{where}{value!r} has no number; expected a quantity in {expected}")
    match = _QUANTITY.match(text)
    if not match:
        raise UnitError(
            f"{where}cannot read {value!r} as a quantity: write a number and a unit, e.g. "
            f"{_example(1200, expected)}; no expressions"
        )
    magnitude = _number(match.group("number"))
    unit_text = match.group("unit")
    if unit_text is None:
        if default_unit is None:
            raise UnitError(
                f"{where}{value!r} has no unit; write it with one, e.g. {_example(value, expected)}"
            )
        return Q_(_checked_magnitude(magnitude, where, value), default_unit)
    try:
        unit = _unit("/".join(part.strip() for part in unit_text.split("/")))
    except KeyError as exc:
        raise UnitError(f"{where}unknown unit {exc.args[0]!r} in {value!r}") from None
    if _unit_facts(unit, expected)[0]:
        # a dimensionless "unit" (percent, dozen) is the GB/GiB trap again: refuse it rather than guess
        raise UnitError(f"{where}{value!r} is not a quantity of {expected} (no unit of {expected})")
    return Q_(_checked_magnitude(magnitude, where, value), unit)


def _example(value: Any, expected: str) -> str:
    if expected == "byte":
        return f"'{value} GiB' or '{value} GB' (they differ by 7 %)"
    return f"'{value} {expected}'"


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
    """A unit of the grammar ("GB", "Gbit/s"): each name looked up in the registry on its own (KeyError naming
    an unknown one); names only, so pint's expression evaluator has nothing to evaluate."""
    unit: pint.Unit | None = None
    for part in text.split("/"):
        if not ureg.parse_unit_name(part):
            raise KeyError(part)
        named = ureg.Unit(ureg.get_name(part))
        unit = named if unit is None else unit / named
    assert unit is not None
    return unit


def magnitude_in(quantity: pint.Quantity, unit: str) -> float:
    """The magnitude of ``quantity`` expressed in ``unit`` (same as ``quantity.to(unit).magnitude``, with the
    conversion factor cached: inventories convert thousands of sizes between the same few units)."""
    # Keyed by the quantity's UnitsContainer, not by ``quantity.units``: that property builds a new pint.Unit
    # on every call and a Unit's __eq__ goes through the registry, which cost the check ≈0.3 s per run.
    return float(quantity.magnitude) * _factor(quantity._units, unit)


@lru_cache(maxsize=256)
def _factor(source: UnitsContainer, target: str) -> float:
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
