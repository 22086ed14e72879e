"""The rows an import writes with COPY, built by the parse loop as it meets households and persons
(``validation.py``), in batches that ``writing.py`` copies while the rest of the file is still being
parsed. Pure: no database.

The tuples follow the column lists below (the order of ``copy_records_to_table``'s ``columns``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Callable, Iterator

from shared.bulk import uuid7s

HOUSEHOLD_COLUMNS = ("id", "number", "division", "status", "poverty_attribute", "main_cause",
                     "registered_year", "registered_on", "exited_on", "created_at", "updated_at")
PERSON_COLUMNS = ("id", "household_id", "id_number", "name", "relation", "sex", "birth_date", "ethnicity",
                  "education", "school_stage", "health", "labour_capacity", "active")
INCOME_COLUMNS = ("household_id", "year", "net_per_capita_fen")
STATUS_COLUMNS = ("household_id", "seq", "status", "effective_on")


@dataclass
class Batch:
    """The COPY rows of the households and persons first met in one stretch of the file. A person's
    household is in this batch or an earlier one (a household's rows need not be adjacent)."""

    households: list[tuple] = field(default_factory=list)
    persons: list[tuple] = field(default_factory=list)
    incomes: list[tuple] = field(default_factory=list)


def ids(block: int = 4096) -> Callable[[], str]:
    """``next_id()`` of new UUIDv7 strings, taken from :func:`shared.bulk.uuid7s` a block at a time
    (increasing, as each table's B-tree likes them)."""
    def run() -> Iterator[str]:
        while True:
            yield from uuid7s(block)
    return run().__next__


class Dec31:
    """12-31 of a year as a date and as ISO text, cached (a household is registered on 12-31 of its
    识别年度 and exited on 12-31 of its 脱贫年度)."""

    def __init__(self) -> None:
        self.cache: dict[int, tuple[date, str]] = {}

    def __call__(self, year: int) -> tuple[date, str]:
        found = self.cache.get(year)
        if found is None:
            found = self.cache[year] = (date(year, 12, 31), f"{year}-12-31")
        return found


def household_row(hid: str, number: str, division: str, poverty_attribute: str | None, main_cause: str | None,
                  registered_year: int, exit_year: int | None, dec31: Dec31, now: datetime) -> tuple:
    """The ``households`` row of a household whose household-level cells are valid."""
    registered_on = dec31(registered_year)[0]
    exited_on = None if exit_year is None else dec31(exit_year)[0]
    return (hid, number, division, "registered" if exited_on is None else "exited", poverty_attribute, main_cause,
            registered_year, registered_on, exited_on, now, now)
