"""Use cases of duplicate screening (查重): flag on proposal and on import, the county's report of
open candidates, the review.

Guarantees:

1. Screening never changes a person: it only records candidate pairs (``duplicate_candidates``,
   status ``open``) with the event ``registry.duplicates.flagged``, in the transaction of the
   proposal or import that brought the new persons in.
2. A pair is flagged once (unique ``(person_id, other_id)``).
3. Only a review changes anything: ``not_duplicate`` closes the pair; ``confirmed`` names the
   record that stays, and the other person is made inactive (``details.duplicate_of`` = the kept
   person's id) — each with the event ``registry.duplicate.reviewed``.
"""

from __future__ import annotations

import uuid
from typing import Any, Iterable

import uuid6
from sqlalchemy import or_, select, text
from sqlalchemy.dialects.postgresql import insert

from services.registry.county_models import DuplicateCandidate
from services.registry.domain import duplicates as screening
from services.registry.usecases.imports import EVENT_IMPORTED, households_of
from services.registry.models import Household, Person
from shared import divisions, idcard
from shared.auth import Principal
from shared.errors import Conflict, NotFound, Unprocessable
from shared.events import NewEvent, append

FLAGGED, REVIEWED = "registry.duplicates.flagged", "registry.duplicate.reviewed"


def _key(person_id, id_number: str, name: str, village: str) -> screening.PersonKey:
    return screening.PersonKey.of(str(person_id), id_number, name, village)


async def _registered_near(session, new: list[screening.PersonKey]) -> list[screening.PersonKey]:
    """Active persons sharing a birth date, or a name spelling within the county, with a new one
    (both indexed). The region-and-sequence blocks of ``domain.duplicates`` are left to the
    screening of imports, which reads the whole county: at proposal time a typo in the birth date
    is found only under the same name (in any of its spellings)."""
    births = sorted({idcard.parse(k.id_number).birth_date for k in new})
    names = sorted({v for k in new for v in screening.name_variants(k.name)})
    counties = sorted({k.village[:6] for k in new})
    rows = (await session.execute(
        select(Person.id, Person.id_number, Person.name, Household.division)
        .join(Household, Household.id == Person.household_id)
        .where(Person.active, or_(Person.birth_date.in_(births),
                                  Person.name.in_(names) & or_(*(Household.division.startswith(c) for c in counties)))))
    ).all()
    return [_key(*row) for row in rows]


async def _record(session, candidates: Iterable[screening.Candidate], *, found_by: str, subject: str,
                  actor: dict[str, Any], clock) -> list[dict[str, Any]]:
    pairs = []
    for c in candidates:
        row = {"id": uuid6.uuid7(), "person_id": uuid.UUID(c.person.id), "other_id": uuid.UUID(c.other.id),
               "division": c.person.village, "score": c.score, "reasons": list(c.reasons), "found_by": found_by,
               "status": "open", "created_at": clock.now()}
        inserted = await session.scalar(insert(DuplicateCandidate).values(**row).on_conflict_do_nothing()
                                        .returning(DuplicateCandidate.id))
        if inserted is not None:
            pairs.append({"candidate_id": str(row["id"]), "person_id": c.person.id, "other_id": c.other.id,
                          "score": c.score, "reasons": list(c.reasons)})
    if pairs:
        await append(session, [NewEvent(FLAGGED, subject, {"found_by": found_by, "pairs": pairs}, actor)])
    return pairs


async def flag_proposal(session, persons: list[Person], village: str, household_id: str, *, actor, clock) -> int:
    """Screen a proposed household's members against the active persons; record the candidates."""
    new = [_key(p.id, p.id_number, p.name, village) for p in persons]
    index = screening.Index(k for k in await _registered_near(session, new) if k.id not in {n.id for n in new})
    found = [c for person in new for c in index.screen(person)]
    return len(await _record(session, found, found_by="proposal", subject=household_id, actor=actor, clock=clock))


async def flag_import(session, import_id: str, *, actor, clock) -> int:
    """Screen an import's persons against the active persons of its counties and each other."""
    new = []
    for (data,) in (await session.execute(text(
            "SELECT data FROM events WHERE subject = :id AND type = :type ORDER BY seq"),
            {"id": import_id, "type": EVENT_IMPORTED})).all():
        for household in households_of(data):
            new += [_key(m["id"], m["id_number"], m["name"], household["division"]) for m in household["members"]]
    if not new:
        return 0
    imported = {k.id for k in new}
    counties = sorted({k.village[:6] for k in new})
    rows = (await session.execute(
        select(Person.id, Person.id_number, Person.name, Household.division)
        .join(Household, Household.id == Person.household_id)
        .where(Person.active, or_(*(Household.division.startswith(c) for c in counties))))).all()
    registered = (k for k in (_key(*row) for row in rows) if k.id not in imported)
    found = screening.screen(new, registered)
    return len(await _record(session, found, found_by=f"import:{import_id}", subject=import_id, actor=actor,
                             clock=clock))


async def open_report(session, scope: str) -> list[dict[str, Any]]:
    """Open candidates under a division, highest score first, both persons shown with masked IDs."""
    new, other = Person.__table__.alias("new"), Person.__table__.alias("other")
    new_h, other_h = Household.__table__.alias("new_h"), Household.__table__.alias("other_h")
    rows = (await session.execute(
        select(DuplicateCandidate, new.c.id_number, new.c.name, new_h.c.number, new_h.c.division,
               other.c.id_number.label("o_id"), other.c.name.label("o_name"), other_h.c.number.label("o_number"),
               other_h.c.division.label("o_division"))
        .join(new, new.c.id == DuplicateCandidate.person_id).join(new_h, new_h.c.id == new.c.household_id)
        .join(other, other.c.id == DuplicateCandidate.other_id).join(other_h, other_h.c.id == other.c.household_id)
        .where(DuplicateCandidate.status == "open", DuplicateCandidate.division.startswith(divisions.prefix(scope)))
        .order_by(DuplicateCandidate.score.desc(), DuplicateCandidate.created_at))).all()
    return [{"id": str(r[0].id), "score": r[0].score, "reasons": r[0].reasons, "found_by": r[0].found_by,
             "person": {"id": str(r[0].person_id), "id_number": idcard.mask(r[1]), "name": r[2], "household": r[3],
                        "division": r[4]},
             "other": {"id": str(r[0].other_id), "id_number": idcard.mask(r.o_id), "name": r.o_name,
                       "household": r.o_number, "division": r.o_division}} for r in rows]


async def review(session, principal: Principal, candidate_id: uuid.UUID, *, outcome: str, keep: uuid.UUID | None,
                 reason: str, clock) -> DuplicateCandidate:
    row = await session.get(DuplicateCandidate, candidate_id, with_for_update=True)
    if row is None or not principal.covers(row.division):
        raise NotFound(f"无此疑似重复记录 (no duplicate candidate {candidate_id} in your jurisdiction)")
    if row.status != "open":
        raise Conflict(f"已审核 (already reviewed: {row.status})")
    data: dict[str, Any] = {"candidate_id": str(row.id), "person_id": str(row.person_id),
                            "other_id": str(row.other_id), "outcome": outcome, "reason": reason}
    if outcome == "confirmed":
        if keep not in (row.person_id, row.other_id):
            raise Unprocessable("须指明保留哪一条记录 (keep must be one of the two persons)",
                                errors=[{"field": "keep", "reason": "one of person_id, other_id"}])
        dropped = await session.get(Person, row.other_id if keep == row.person_id else row.person_id,
                                    with_for_update=True)
        dropped.active = False
        dropped.details = {**dropped.details, "duplicate_of": str(keep)}
        row.kept_id = keep
        data.update(kept_id=str(keep), dropped_id=str(dropped.id))
    row.status, row.decided_by, row.decided_at = outcome, principal.actor(), clock.now()
    await append(session, [NewEvent(REVIEWED, str(row.id), data, principal.actor())])
    return row
