"""ISO weeks as the slot grid: 'YYYY-Www' outside, a Monday date inside.

A slot is one ISO week. It counts for capacity from the month of its Monday (the earliest day a cut-over can
happen, so growth is never under-counted), and it is blacked out when any of its seven days falls in a
blackout of the planning calendar.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta

from egov.model import Blackout, Planning
from egov.months import add_months, months_between

_WEEK = re.compile(r"^\s*(\d{4})-?W(\d{1,2})\s*$", re.IGNORECASE)
ONE_WEEK = timedelta(days=7)
#: Seconds in a slot: a department's data transfer must finish inside its slot's week.
WEEK_SECONDS = 7 * 24 * 3600


def week_gb(rate: float) -> float:
    """GB (10⁹ bytes) a rate in bit/s carries within one slot week."""
    return rate * WEEK_SECONDS / 8 / 1e9


def parse_week(text: str | date) -> date:
    """'2027-W14' (or any date in that week) → the Monday of that ISO week; ValueError names the text."""
    if isinstance(text, date):
        return text - timedelta(days=text.weekday())
    match = _WEEK.match(str(text))
    if not match:
        raise ValueError(f"{text!r} is not an ISO week; write YYYY-Www, e.g. 2027-W14")
    year, week = int(match.group(1)), int(match.group(2))
    try:
        return date.fromisocalendar(year, week, 1)
    except ValueError:
        raise ValueError(f"{text!r}: year {year} has no ISO week {week}") from None


def week_label(monday: date) -> str:
    """The 'YYYY-Www' label of the ISO week starting on ``monday``."""
    year, week, _ = monday.isocalendar()
    return f"{year:04d}-W{week:02d}"


def weeks(first: date, last: date) -> Iterator[date]:
    """Mondays from ``first`` to ``last`` inclusive."""
    monday = parse_week(first)
    while monday <= last:
        yield monday
        monday += ONE_WEEK


def month_index(planning: Planning, monday: date) -> int:
    """Index in the planning horizon of the month a slot counts from (its Monday's month)."""
    return months_between(planning.start_month, monday.replace(day=1))


def horizon_weeks(planning: Planning) -> tuple[date, date]:
    """First and last Monday whose month lies inside the planning horizon."""
    first = parse_week(planning.start_month)
    if first < planning.start_month:
        first += ONE_WEEK
    last = parse_week(add_months(planning.end_month, 1) - timedelta(days=1))
    return first, last


def blackout_of(planning: Planning, monday: date) -> Blackout | None:
    """The first blackout that overlaps the week starting on ``monday``, or None."""
    sunday = monday + timedelta(days=6)
    for blackout in planning.blackouts:
        if blackout.start <= sunday and monday <= blackout.end:
            return blackout
    return None
