"""Use case of the bulk lookup (批量比对): up to :data:`MAX_IDS` ID numbers → each one's registry
status and the fields the caller may see.

Guarantees:

1. All-or-nothing validation: every malformed ID number is named (``id_numbers[i]``) in one 422.
2. A number that is not registered, or whose household lies outside the caller's jurisdiction,
   answers ``found: false`` alike (no hint that it exists elsewhere).
3. A department gets the person's basic fields and its own only (``domain.departments.person_for``,
   as on every person read); the household's number, village, status and causes go to every caller.
4. One query (``= ANY($1)`` on the ID-number index, straight through asyncpg) whatever the list's length; the person's
   active household first.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import orjson

from services.registry.usecases.households import department_of
from services.registry.domain.departments import person_for
from services.registry.domain.workflow import ON_ROLL
from shared import idcard
from shared.auth import Principal
from shared.db import raw_connection
from shared.errors import Unprocessable

MAX_IDS = 10_000
PERSON_COLUMNS = ("id_number", "name", "sex", "active", "relation", "ethnicity", "education", "school_stage", "health",
                  "disability_grade", "labour_capacity", "labour_skill")
_QUERY = """
    SELECT DISTINCT ON (p.id_number) p.id_number, p.name, p.sex, p.birth_date, p.active, p.relation, p.ethnicity,
           p.education, p.school_stage, p.health, p.disability_grade, p.labour_capacity, p.labour_skill,
           p.details::text AS details,
           h.number AS household, h.division, h.status, h.poverty_attribute, h.main_cause
    FROM persons p JOIN households h ON h.id = p.household_id
    WHERE p.id_number = ANY($1::char(18)[]) AND h.division LIKE $2
    ORDER BY p.id_number, p.active DESC, h.updated_at DESC
"""


def normalised(id_numbers: list[str], today: date) -> list[str]:
    numbers, errors = [], []
    for index, number in enumerate(id_numbers):
        try:
            numbers.append(idcard.parse(number, today).number)
        except ValueError as exc:
            errors.append({"field": f"id_numbers[{index}]", "reason": str(exc)})
    if errors:
        raise Unprocessable(f"{len(errors)}个身份证号无效 ({len(errors)} invalid ID number(s); nothing was looked up)",
                            errors=errors[:1000], total_errors=len(errors))
    return numbers


async def lookup(session, principal: Principal, id_numbers: list[str], today: date) -> list[dict[str, Any]]:
    numbers = normalised(id_numbers, today)
    dept = department_of(principal)
    async with raw_connection(session) as conn:  # asyncpg directly: 10,000 rows without a result layer
        rows = await conn.fetch(_QUERY, sorted(set(numbers)), principal.jurisdiction + "%")
    found = {row["id_number"]: row for row in rows}
    answers = []
    for number in numbers:
        row = found.get(number)
        if row is None:
            answers.append({"id_number": number, "found": False})
            continue
        person = {k: row[k] for k in PERSON_COLUMNS}
        person.update(birth_date=row["birth_date"].isoformat(), details=orjson.loads(row["details"]))
        answers.append({"found": True, **person_for(person, dept), "household": row["household"],
                        "division": row["division"], "status": row["status"], "on_roll": row["status"] in ON_ROLL,
                        "poverty_attribute": row["poverty_attribute"], "main_cause": row["main_cause"]})
    return answers
