"""The one quantity grammar: hostile text costs nothing and fails with a UnitError naming the field and
echoing the value; well-formed text reads as its hand-computed value. Hypothesis runs bounded (a deadline and
a fixed number of examples), so the fuzzing is part of every test run."""

from __future__ import annotations

import contextlib
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from egov.units import MAX_TEXT, UnitError, magnitude_in, parse_fraction, parse_number, parse_quantity

FUZZ = settings(max_examples=300, deadline=200, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("(9**9**9) TB", "cannot read"),  # pint's evaluator would compute the power and hang
        ("9**9**9 TB", "cannot read"),
        ("10**400 TB", "cannot read"),
        ("2**10 GB", "cannot read"),
        ("1e999 GB", "out of range"),
        ("1e30 GB", "out of range"),
        ("2 ZB", "out of range"),
        ("nan GB", "no number"),
        ("inf GB", "no number"),
        (float("nan"), "out of range"),
        (float("inf"), "out of range"),
        (10**400, "out of range"),
        ("-1 GB", "negative"),
        ("1,2 GB", "cannot read"),  # a decimal comma is ambiguous: refused, not guessed
        ("12,00 GB", "cannot read"),
        ("5 GB GB", "cannot read"),
        ("5 GB*s", "cannot read"),
        ("5 exp(GB)", "cannot read"),
        ("5 __import__", "unknown unit"),
        ("1" * 100 + " GB", "longer than"),
        ("50 percent", "not a quantity of byte"),
    ],
)
def test_hostile_quantities_are_refused_quickly(value: object, message: str) -> None:
    began = time.perf_counter()
    with pytest.raises(UnitError, match=message) as caught:
        parse_quantity(value, "byte", default_unit="GB" if not isinstance(value, str) else None, field="ram")
    assert time.perf_counter() - began < 0.05
    assert str(caught.value).startswith("ram: ")
    assert repr(value)[:20] in str(caught.value)  # the value is echoed


@pytest.mark.parametrize(
    ("text", "expected", "unit", "magnitude"),
    [
        ("1,200 GB", "byte", "GB", 1200),
        ("1,234,567 MiB", "byte", "MiB", 1234567),
        ("1.5e3 GiB", "byte", "GiB", 1500),
        ("2E+2 TB", "byte", "GB", 200000),
        (".5 TiB", "byte", "GiB", 512),
        ("1,000.5 GB", "byte", "GB", 1000.5),
        ("512GiB", "byte", "MiB", 524288),
        ("10 Gbit/s", "bit/s", "Mbit/s", 10000),
        ("10 Gbit / s", "bit/s", "Mbit/s", 10000),
        ("1 EB", "byte", "PB", 1000),
        ("64 vCPU", "core", "core", 64),
    ],
)
def test_grammar_reads_hand_computed_values(text: str, expected: str, unit: str, magnitude: float) -> None:
    assert magnitude_in(parse_quantity(text, expected), unit) == pytest.approx(magnitude, rel=1e-12)


def test_bounds_are_per_dimension() -> None:
    parse_quantity("900 PB", "byte")
    with pytest.raises(UnitError, match="at most 1 EB"):
        parse_quantity("1001 PB", "byte")
    with pytest.raises(UnitError, match="at most 1 Pbit/s"):
        parse_quantity("2000 Tbit/s", "bit/s")
    with pytest.raises(UnitError, match="at most 10000000 core"):
        parse_quantity("20000000 core", "core")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1,200", 1200), ("42", 42), (" 7 ", 7), ("1.2e3", 1200), (3, 3)],
)
def test_whole_numbers(value: object, expected: int) -> None:
    assert parse_number(value, integer=True) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [(True, "expected a number"), ("4.5", "not a whole number"), ("nan", "not a number"), ("1e99", "range")],
)
def test_bad_whole_numbers(value: object, message: str) -> None:
    with pytest.raises(UnitError, match=message):
        parse_number(value, integer=True, field="vcpu")


def test_fractions() -> None:
    assert parse_fraction("20%") == pytest.approx(0.2)
    assert parse_fraction("20 %") == pytest.approx(0.2)
    assert parse_fraction("0.2") == pytest.approx(0.2)
    with pytest.raises(UnitError, match="not a number"):
        parse_fraction("nan%")


# --- fuzzing ------------------------------------------------------------------------------------------

UNITS = ["B", "kB", "MB", "GB", "TB", "PB", "MiB", "GiB", "TiB", "PiB", "byte"]
FACTOR = {"B": 1, "byte": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12, "PB": 1e15}
FACTOR |= {"MiB": 2**20, "GiB": 2**30, "TiB": 2**40, "PiB": 2**50}


def _grouped(n: int) -> str:
    return f"{n:,}"


@FUZZ
@given(
    whole=st.integers(min_value=0, max_value=10**9),
    grouped=st.booleans(),
    unit=st.sampled_from(UNITS),
    space=st.sampled_from(["", " ", "  "]),
)
def test_every_sentence_of_the_grammar_reads_as_its_value(
    whole: int, grouped: bool, unit: str, space: str
) -> None:
    text = f"{_grouped(whole) if grouped else whole}{space}{unit}"
    if whole * FACTOR[unit] > 1e18:
        with pytest.raises(UnitError, match="out of range"):
            parse_quantity(text, "byte")
    else:
        assert magnitude_in(parse_quantity(text, "byte"), "byte") == pytest.approx(whole * FACTOR[unit])


@FUZZ
@given(
    mantissa=st.floats(min_value=0, max_value=1e6, allow_nan=False),
    exponent=st.integers(min_value=-999, max_value=999),
    unit=st.sampled_from(UNITS),
)
def test_scientific_notation_is_bounded(mantissa: float, exponent: int, unit: str) -> None:
    text = f"{mantissa:.6f}e{exponent} {unit}"
    try:
        quantity = parse_quantity(text, "byte")
    except UnitError as exc:
        assert "out of range" in str(exc)
    else:
        assert magnitude_in(quantity, "byte") <= 1e18


HOSTILE = st.lists(
    st.sampled_from(
        [*"0123456789.,eE+-*/()^ _abcGBiMkTPs%#\\'\"\t\n\u00a0年内存", "**", "nan", "inf", "GiB"]
    ),
    max_size=40,
).map("".join)


@FUZZ
@given(text=HOSTILE | st.text(max_size=80))
def test_any_text_is_a_quantity_or_a_unit_error(text: str) -> None:
    began = time.perf_counter()
    try:
        quantity = parse_quantity(text, "byte", field="disk")
    except UnitError as exc:
        assert str(exc).startswith("disk: ")
    else:
        assert 0 <= magnitude_in(quantity, "byte") <= 1e18
    assert time.perf_counter() - began < 0.05


@FUZZ
@given(
    value=st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        st.lists(st.integers(), max_size=3),
        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    )
)
def test_any_yaml_scalar_is_a_quantity_or_a_unit_error(value: object) -> None:
    with contextlib.suppress(UnitError):
        parse_quantity(value, "core", default_unit="core")


def test_text_is_bounded_before_reading() -> None:
    with pytest.raises(UnitError, match="longer than"):
        parse_quantity("1" * (MAX_TEXT + 1), "byte", default_unit="GB")
