"""The national assessment's error rates (国家考核评估: 错退率、漏评率 < 2%, rule
``evaluation.error_rate_max``) and the review interval (``household.review.interval``).

From the registry's own outcomes for a division and year:

* **错退率** (wrongful exits): households that exited in the year about which an ``exit``
  grievance was answered substantiated (fully or partly) — then or since — over the households
  that exited in the year.
* **漏评率** (missed identification): substantiated ``identification`` grievances answered in the
  year — a poor household left out — counted once per household linked (once per grievance when
  none is linked), over the households on the roll at the end of the year plus those missed.

A rate is within the rule when it is *below* the maximum (“均须低于2%”). Percentages are decimal
strings with two places, rounded half up; never floats. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

SUBSTANTIATED = frozenset({"substantiated", "partly_substantiated"})


@dataclass(frozen=True)
class Rate:
    count: int
    base: int
    max_percent: int

    @property
    def percent(self) -> str:
        if self.base == 0:
            return "0.00"
        return str((Decimal(100 * self.count) / Decimal(self.base)).quantize(Decimal("0.01"), ROUND_HALF_UP))

    @property
    def within(self) -> bool:
        return 100 * self.count < self.max_percent * self.base or self.base == 0

    def as_dict(self) -> dict:
        return {"count": self.count, "base": self.base, "percent": self.percent, "max_percent": self.max_percent,
                "within": self.within}


def wrongful_exit_rate(exited: int, wrongly_exited: int, max_percent: int) -> Rate:
    return Rate(wrongly_exited, exited, max_percent)


def missed_rate(on_roll: int, missed: int, max_percent: int) -> Rate:
    return Rate(missed, on_roll + missed, max_percent)


def review_schedule(last_review_year: int | None, interval_years: int, year: int) -> dict:
    """When the next review is due after the last one announced and applied (一年一调整; 山西 three years)."""
    due = None if last_review_year is None else last_review_year + interval_years
    return {"last_review_year": last_review_year, "interval_years": interval_years, "next_review_year": due,
            "overdue": due is not None and year > due}
