"""Calendar arithmetic for policy periods: calendar days and China's working days (with public
holidays and the weekend make-up workdays, 调休, of the State Council's yearly notices).

The holiday data itself is policy (rule ``calendar.holidays`` in ``rules.yaml``, one rule per
year); ``holidays_for`` collects it from a :class:`~shared.policy.table.PolicyTable`.
"""

from __future__ import annotations

import calendar as _stdcal
from datetime import date, timedelta
from typing import Literal

from .table import NoRuleError, PolicyTable

__all__ = ["HOLIDAYS_RULE", "add_days", "add_months", "deadline", "holidays_for", "is_working_day"]

HOLIDAYS_RULE = "calendar.holidays"

Unit = Literal["calendar", "working"]
_ONE_DAY = timedelta(days=1)


def is_working_day(
    day: date, holidays: frozenset[date] = frozenset(), workdays: frozenset[date] = frozenset()
) -> bool:
    """Monday–Friday unless a holiday; a Saturday/Sunday only if it is a make-up workday."""
    if day in workdays:
        return True
    if day in holidays:
        return False
    return day.weekday() < 5


def add_days(
    start: date,
    days: int,
    unit: Unit = "calendar",
    holidays: frozenset[date] = frozenset(),
    workdays: frozenset[date] = frozenset(),
) -> date:
    """The date on which a period of ``days`` days beginning on ``start`` ends.

    ``start`` is day 1 when it is a counting day: ``add_days(d, 10)`` is ``d + 9 days``; for
    ``unit="working"`` counting begins on the first working day on or after ``start`` and skips
    Saturdays, Sundays and ``holidays`` but counts weekend days listed in ``workdays``.
    (Periods "within N days of receipt" that by law begin the day after receipt: pass
    ``start = receipt + 1 day``.)
    """
    if isinstance(days, bool) or not isinstance(days, int):
        raise TypeError(f"days must be an int, got {days!r}")
    if days < 1:
        raise ValueError(f"a period has at least 1 day, got {days}")
    if unit == "calendar":
        return start + timedelta(days=days - 1)
    if unit != "working":
        raise ValueError(f"unit must be 'calendar' or 'working', got {unit!r}")
    day, counted = start, 0
    while True:
        if is_working_day(day, holidays, workdays):
            counted += 1
            if counted == days:
                return day
        day += _ONE_DAY


def add_months(start: date, months: int) -> date:
    """Same day ``months`` later, clamped to the month's end (31 Jan + 1 month = 28/29 Feb)."""
    index = start.year * 12 + (start.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(start.day, _stdcal.monthrange(year, month)[1]))


def holidays_for(
    table: PolicyTable, start: date, end: date, division: str = ""
) -> tuple[frozenset[date], frozenset[date]]:
    """(holidays, make-up workdays) of every year from ``start.year`` to ``end.year``.

    Each year's ``calendar.holidays`` rule is looked up for ``division`` (most specific wins, so
    a provincial rule replaces the national list for that year). A year without a rule
    contributes nothing: working days then skip weekends only.
    """
    if end < start:
        start, end = end, start
    holidays: set[date] = set()
    workdays: set[date] = set()
    for year in range(start.year, end.year + 1):
        value = None
        for probe in (date(year, 1, 1), date(year, 12, 31)):
            try:
                value = table.value(HOLIDAYS_RULE, division, probe)
                break
            except NoRuleError:
                continue
        if not value:
            continue
        holidays.update(value.get("holidays") or ())
        workdays.update(value.get("workdays") or ())
    return frozenset(holidays), frozenset(workdays)


def deadline(table: PolicyTable, start: date, days: int, unit: Unit = "calendar", division: str = "") -> date:
    """``add_days`` with the holidays of the table for the years the period can span."""
    if unit == "calendar":
        return add_days(start, days, "calendar")
    # a working-day period never spans more than ~2x its length plus a Golden Week
    horizon = start + timedelta(days=2 * days + 30)
    holidays, workdays = holidays_for(table, start, horizon, division)
    return add_days(start, days, "working", holidays, workdays)
