"""Unit round-trips through the one pint registry: GB ≠ GiB, PB ≠ PiB, MEMORY_MB counts MiB."""

from __future__ import annotations

from pathlib import Path

import pint
import pytest

from egov import units
from egov.units import UnitError, human, magnitude_in, parse_quantity, show


@pytest.mark.parametrize(
    ("text", "unit", "expected"),
    [
        ("512 GiB", "MiB", 524288),
        ("512 GB", "MiB", 488281.25),
        ("1 PiB", "byte", 1125899906842624),
        ("15 PB", "byte", 15 * 10**15),
        ("15 PB", "GB", 15_000_000),
        ("150000 GB", "PB", 0.15),
        ("1 TiB", "GiB", 1024),
        ("1 TB", "GiB", 1e12 / 2**30),
    ],
)
def test_byte_units(text: str, unit: str, expected: float) -> None:
    assert magnitude_in(parse_quantity(text, "byte"), unit) == pytest.approx(expected, rel=1e-12)


def test_round_trip_gib_mib_gib() -> None:
    q = parse_quantity("48 GiB", "byte")
    assert parse_quantity(f"{magnitude_in(q, 'MiB')} MiB", "byte").to("GiB").magnitude == pytest.approx(48)


def test_cached_conversion_agrees_with_pint() -> None:
    for text in ("3.5 TB", "7 PiB", "123 MiB", "9 kB"):
        q = parse_quantity(text, "byte")
        for unit in ("MiB", "GiB", "GB", "PB"):
            assert magnitude_in(q, unit) == pytest.approx(q.to(unit).magnitude, rel=1e-12)


def test_cores_and_bandwidth() -> None:
    assert parse_quantity(64, "core", default_unit="core").to("vcpu").magnitude == 64
    assert parse_quantity("10 Gbit/s", "bit/s").to("Mbit/s").magnitude == 10_000


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (512, "has no unit"),
        ("512", "has no unit"),
        ("512 gigs", "unknown unit"),
        ("-5 GB", "negative"),
        ("5 GHz", "not a quantity of byte"),
        ("50 %", "cannot read"),  # a percentage is no size (and "%" is no unit of the grammar)
        ("", "empty"),
        ("lots", "no number"),
        (True, "expected a quantity"),
    ],
)
def test_bad_quantities_are_refused(value: object, message: str) -> None:
    with pytest.raises(UnitError, match=message):
        parse_quantity(value, "byte")


def test_show_and_human_keep_the_family() -> None:
    assert show(parse_quantity("150000 GB", "byte"), "GB") == "150000 GB"
    assert show(parse_quantity("15 PB", "byte"), "PB") == "15 PB"
    assert human(parse_quantity("78531957 MiB", "byte")) == "74.9 TiB"
    assert human(parse_quantity("2030168 GB", "byte")) == "2.0 PB"


def test_pint_cache_is_keyed_by_the_installation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a cache parsed by another virtualenv's pint names files that may be gone: each installation its own
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    a = units.cache_folder(Path("/venv-a/site-packages/pint"))
    b = units.cache_folder(Path("/venv-b/site-packages/pint"))
    assert a != b and a.parent == b.parent == tmp_path / "egov"
    assert units.cache_folder(Path("/venv-a/site-packages/pint")) == a


def test_registry_reads_its_own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    units._registry()  # the first start parses and writes the cache
    folder = units.cache_folder(Path(pint.__file__).resolve().parent)
    assert folder.is_dir()
    calls: list[object] = []
    real = pint.UnitRegistry

    def spy(*args: object, **kwargs: object) -> pint.UnitRegistry:
        calls.append(kwargs.get("cache_folder"))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pint, "UnitRegistry", spy)
    units._registry()
    assert calls == [folder]  # read from the cache; no uncached fallback
