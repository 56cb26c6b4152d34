"""Calendar months as the planning grid: 'YYYY-MM' text outside, an integer index inside."""

from __future__ import annotations

import re
from datetime import date

_MONTH = re.compile(r"^\s*(\d{4})-(\d{1,2})\s*$")


def parse_month(text: str | date) -> date:
    """'2027-03' (or a date) → the first day of that month; raises ValueError naming the text."""
    if isinstance(text, date):
        return date(text.year, text.month, 1)
    match = _MONTH.match(str(text))
    if not match:
        raise ValueError(f"{text!r} is not a month; write YYYY-MM, e.g. 2027-03")
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12:
        raise ValueError(f"{text!r} has month {month}, outside 1..12")
    return date(year, month, 1)


def month_label(month: date) -> str:
    """The 'YYYY-MM' label of a month."""
    return f"{month.year:04d}-{month.month:02d}"


def months_between(start: date, month: date) -> int:
    """Whole months from ``start`` to ``month`` (negative when ``month`` is earlier)."""
    return (month.year - start.year) * 12 + (month.month - start.month)


def add_months(start: date, months: int) -> date:
    """The month ``months`` after ``start`` (before it when negative)."""
    index = start.year * 12 + (start.month - 1) + months
    return date(index // 12, index % 12 + 1, 1)
