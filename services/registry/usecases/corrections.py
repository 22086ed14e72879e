"""Use cases of change requests (信息更正): propose, decide, list.

Guarantees:

1. Nothing is corrected without a second official: a change request is applied only by a
   decision of someone other than its proposer, of the level ``registry.correction.approval``
   requires for its kind (``domain.corrections.approver_refusal``).
2. The old values are kept: each request stores ``{field: {old, new}}`` as they were when it was
   proposed, and its events carry them; an approval refuses (409) when the data changed since.
3. A new ID number is checked against every *active* person on proposal and again on approval
   (the unique index ``persons_one_active_household`` is the last word under
   concurrency): the same number on another active person is a 409, with the number masked.
4. Proposal, approval and refusal are each an event in the same transaction as the rows.
"""

from __future__ import annotations

import uuid
from typing import Any

import uuid6
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from services.registry.contract import CORRECTION_APPROVED
from services.registry.county_models import ChangeRequest
from services.registry.domain import corrections as rules
from services.registry.models import Household, Person
from shared import divisions, idcard
from shared.auth import Principal
from shared.errors import Conflict, Forbidden, NotFound, Unprocessable
from shared.events import NewEvent, append

PROPOSED, APPROVED, REJECTED = "registry.change_request.proposed", CORRECTION_APPROVED, \
    "registry.change_request.rejected"
PERSON_COLUMNS = tuple(rules.IDENTITY_FIELDS) + tuple(rules.PERSON_FIELDS)


async def _person(session, principal: Principal, id_number: str) -> tuple[Person, Household]:
    found = (await session.execute(select(Person, Household).join(Household, Household.id == Person.household_id)
                                   .where(Person.id_number == id_number.upper(), Person.active)
                                   .with_for_update(of=Person))).first()
    if found is None or not principal.covers(found[1].division):
        raise NotFound(f"未找到此人 (no active person {idcard.mask(id_number)} in your jurisdiction)")
    return found[0], found[1]


async def _household(session, principal: Principal, household_id: uuid.UUID) -> Household:
    row = await session.get(Household, household_id, with_for_update=True)
    if row is None or not principal.covers(row.division):
        raise NotFound(f"户不存在 (no household {household_id} in your jurisdiction)")
    return row


def current_values(target: str, person: Person | None, household: Household, dept: str | None) -> dict[str, Any]:
    if target == "household":
        return {field: getattr(household, field) for field in rules.HOUSEHOLD_FIELDS}
    if target == "department":
        return dict(person.details.get(dept, {}))
    return {field: getattr(person, field) for field in PERSON_COLUMNS}


async def ensure_id_free(session, principal: Principal, id_number: str, person_id: uuid.UUID) -> None:
    other = (await session.execute(select(Household.number, Household.division)
                                   .join(Person, Person.household_id == Household.id)
                                   .where(Person.active, Person.id_number == id_number, Person.id != person_id))).first()
    if other is not None:
        where = other.number if principal.covers(other.division) else "(outside your jurisdiction)"
        raise Conflict(f"新身份证号已属于另一在册人员 (the new ID number {idcard.mask(id_number)} belongs to an active "
                       f"person in household {where})", slug="duplicate-person",
                       errors=[{"field": "changes.id_number", "reason": "belongs to another active person"}])


async def propose(session, principal: Principal, *, clock, policy, target: str, id_number: str | None,
                  household_id: uuid.UUID | None, dept: str | None, changes: dict[str, Any], reason: str,
                  document: str | None, department_fields) -> ChangeRequest:
    person = None
    if target == "household":
        household = await _household(session, principal, household_id)
    else:
        person, household = await _person(session, principal, id_number)
    if target == "department" and "admin" not in principal.roles and principal.dept != dept:
        raise Forbidden(f"只能更正本部门数据 (a {principal.dept} token may not correct {dept} data)")
    old = current_values(target, person, household, dept)
    try:
        clean = rules.validate(target, changes, lambda c: department_fields(dept, old, c))
    except rules.CorrectionError as exc:
        raise Unprocessable(f"更正内容不正确 (invalid correction: {exc.reason})",
                            errors=[{"field": exc.field, "reason": exc.reason}]) from None
    changed = rules.diff(old, clean)
    if not changed:
        raise Unprocessable("更正内容与现有数据相同 (the values are already the current ones)",
                            errors=[{"field": "changes", "reason": "no value differs from the current one"}])
    if "id_number" in changed:
        await ensure_id_free(session, principal, changed["id_number"]["new"], person.id)
    kind = rules.kind_of(target, changed)
    level = policy.lookup(rules.RULE, household.division, clock.today()).value[kind]
    row = ChangeRequest(id=uuid6.uuid7(), kind=kind, household_id=household.id, person_id=person and person.id,
                        division=household.division, changes={"dept": dept, "fields": _jsonable(changed)} if dept
                        else {"fields": _jsonable(changed)}, reason=reason, document=document, level=level,
                        status="proposed", proposed_by=principal.actor(), created_at=clock.now())
    session.add(row)
    await append(session, [NewEvent(PROPOSED, str(household.id), _event(row), principal.actor())])
    return row


def _jsonable(changed: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {f: {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in pair.items()}
            for f, pair in changed.items()}


def _event(row: ChangeRequest) -> dict[str, Any]:
    return {"change_request_id": str(row.id), "kind": row.kind, "household_id": str(row.household_id),
            "person_id": row.person_id and str(row.person_id), "changes": row.changes, "reason": row.reason,
            "document": row.document, "level": row.level, "status": row.status}


async def load(session, principal: Principal, request_id: uuid.UUID, *, lock: bool = False) -> ChangeRequest:
    row = await session.get(ChangeRequest, request_id, with_for_update=lock)
    if row is None or not principal.covers(row.division):
        raise NotFound(f"无此更正申请 (no change request {request_id} in your jurisdiction)")
    return row


async def decide(session, principal: Principal, request_id: uuid.UUID, *, clock, approve: bool,
                 reason: str) -> ChangeRequest:
    row = await load(session, principal, request_id, lock=True)
    if row.status != "proposed":
        raise Conflict(f"更正申请已{row.status} (the change request is already {row.status})")
    refusal = rules.approver_refusal(
        proposer=row.proposed_by["sub"], approver=principal.sub, approver_roles=principal.roles,
        approver_division=principal.division, level=row.level, dept=row.changes.get("dept"),
        approver_dept=principal.dept)
    if refusal:
        raise Forbidden(refusal)
    if approve:
        await _apply(session, principal, row)
    row.status, row.decided_by, row.decision_reason = ("approved" if approve else "rejected"), principal.actor(), reason
    row.decided_at = clock.now()
    await append(session, [NewEvent(APPROVED if approve else REJECTED, str(row.household_id),
                                    {**_event(row), "decision_reason": reason}, principal.actor())])
    return row


async def _apply(session, principal: Principal, row: ChangeRequest) -> None:
    household = await session.get(Household, row.household_id, with_for_update=True)
    person = row.person_id and await session.get(Person, row.person_id, with_for_update=True)
    dept = row.changes.get("dept")
    target = "household" if row.kind == "household" else "department" if dept else "person"
    now = current_values(target, person, household, dept)
    fields = row.changes["fields"]
    stale = [f for f, pair in fields.items() if _jsonable({f: {"v": now.get(f)}})[f]["v"] != pair["old"]]
    if stale or (person is not None and not person.active):
        raise Conflict("数据在申请后已被修改，请重新提出 (the data changed since the request was proposed; propose again)",
                       errors=[{"field": f"changes.{f}", "reason": "changed since proposed"} for f in stale])
    new = {f: pair["new"] for f, pair in fields.items()}
    if target == "department":
        person.details = {**person.details, dept: {**now, **new}}
        return
    if "id_number" in new:
        await ensure_id_free(session, principal, new["id_number"], person.id)
        card = idcard.parse(new["id_number"])
        person.sex, person.birth_date = card.sex, card.birth_date
    for field, value in new.items():
        setattr(household if target == "household" else person, field, value)
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict("新身份证号刚被另一人占用 (the new ID number was just taken by another active person)",
                       slug="duplicate-person") from None


async def search(session, scope: str, *, status: str | None, household_id: uuid.UUID | None) -> list[ChangeRequest]:
    query = select(ChangeRequest).where(ChangeRequest.division.startswith(divisions.prefix(scope)))
    if status:
        query = query.where(ChangeRequest.status == status)
    if household_id:
        query = query.where(ChangeRequest.household_id == household_id)
    return list((await session.execute(query.order_by(ChangeRequest.created_at).limit(1000))).scalars())


def view(row: ChangeRequest) -> dict[str, Any]:
    """The request for officials, ID numbers masked in the old and new values."""
    fields = {f: {k: idcard.mask(v) if f == "id_number" and v else v for k, v in pair.items()}
              for f, pair in row.changes["fields"].items()}
    return {"id": str(row.id), "kind": row.kind, "household_id": str(row.household_id), "division": row.division,
            "dept": row.changes.get("dept"), "changes": fields, "reason": row.reason, "document": row.document,
            "level": row.level, "status": row.status, "proposed_by": row.proposed_by["sub"],
            "decided_by": row.decided_by and row.decided_by["sub"], "decision_reason": row.decision_reason,
            "created_at": row.created_at.isoformat(), "decided_at": row.decided_at and row.decided_at.isoformat()}
