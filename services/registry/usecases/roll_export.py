"""Use case of the roll export (建档立卡花名册): the households on the roll or exited under a
division, one row per active person, in the import's own layout (``imports.LAYOUT``: the same
Chinese headers and labels), so that an export can be read back by the importer and by the
national system's spreadsheets.

Guarantees: only households under the caller's jurisdiction; only the columns the caller may see
(``domain.departments.person_for``: a department gets the basic person columns and its own);
codes written as their Chinese labels; income in yuan; streamed by openpyxl's write-only mode.
"""

from __future__ import annotations

import io
from typing import Any

import openpyxl
from sqlalchemy import text

from services.registry.usecases.households import department_of
from services.registry.domain.departments import person_for
from services.registry.domain.workflow import ON_ROLL
from services.registry.usecases.imports import LAYOUT
from shared import divisions
from shared.auth import Principal
from shared.money import format_fen

#: Columns of person fields (a department sees those ``domain.departments.person_for`` gives it);
#: the others are the household's, which every reader of the roll sees.
PERSON_COLUMNS = ("name", "id_number", "relation", "ethnicity", "education", "school_stage", "health",
                  "labour_capacity")
_QUERY = text("""
    SELECT h.number AS household_number, h.division, p.name, p.id_number, p.relation, p.ethnicity, p.education,
           p.school_stage, p.health, p.labour_capacity, h.poverty_attribute, h.main_cause, h.registered_year,
           EXTRACT(YEAR FROM h.exited_on)::int AS exit_year, i.net_per_capita_fen AS net_income
    FROM households h JOIN persons p ON p.household_id = h.id AND p.active
    LEFT JOIN household_incomes i ON i.household_id = h.id AND i.year = h.registered_year
    WHERE h.division LIKE :prefix AND h.status = ANY(:statuses)
    ORDER BY h.division, h.number, p.relation <> 'head', p.id_number
""")


def _labels() -> dict[str, dict[str, str]]:
    """Per column, code → its first Chinese label."""
    labels: dict[str, dict[str, str]] = {}
    for column in LAYOUT:
        for label, code in (column.codes or {}).items():
            if code and not label.isascii():
                labels.setdefault(column.key, {}).setdefault(code, label)
    return labels


LABELS = _labels()


def _cell(key: str, value: Any) -> Any:
    if value is None:
        return None
    if key == "net_income":
        return format_fen(value)
    return LABELS.get(key, {}).get(value, value)


async def export(session, principal: Principal, division: str) -> bytes:
    seen = set(person_for(dict.fromkeys(PERSON_COLUMNS), department_of(principal)))
    columns = [c for c in LAYOUT if c.key not in PERSON_COLUMNS or c.key in seen]
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("建档立卡花名册")
    sheet.append([c.header for c in columns])
    result = await session.stream(_QUERY, {"prefix": divisions.prefix(division) + "%",
                                           "statuses": sorted(ON_ROLL | {"exited"})})
    async for row in result.mappings():
        sheet.append([_cell(c.key, row[c.key]) for c in columns])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
