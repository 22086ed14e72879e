"""Use cases of grievances (监督举报, 12317): receive, take a step, list, report overdue, look up
by receipt.

Guarantees:

1. Every change to a grievance is written with its event in the same transaction (rule 2);
   events carry no personal data of the complainant (the record keeps it, for officials only).
2. Deadlines are fixed at receipt from the rule ``grievance.handling`` in force for the
   grievance's division on the day received; the rule's id and citation travel with it.
3. A step is taken only from the status the procedure (``domain.grievance.STEPS``) names, by the
   office of its level within its jurisdiction: county steps by a county office (or above)
   covering the grievance's division; local steps by an office covering the division it was
   assigned to.
4. The public status by receipt number shows the status, the dates and the due dates only.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import uuid6
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from services.registry.contract import GRIEVANCE_RECEIVED, GRIEVANCE_STEP_EVENTS
from services.registry.county_models import Grievance
from services.registry.domain import grievance as procedure
from services.registry.models import Household
from shared import divisions
from shared.announcements.models import Announcement
from shared.auth import Principal, Role, ensure_jurisdiction
from shared.errors import Conflict, Forbidden, NotFound, Unprocessable
from shared.events import NewEvent, append
from shared.policy import deadline

RULE = "grievance.handling"
COUNTY_ROLES = frozenset({Role.county_office, Role.city_office, Role.province_office, Role.admin})


def due_dates(policy, division: str, received_on: date) -> tuple[procedure.Due, dict[str, str]]:
    rule = policy.lookup(RULE, division, received_on)
    unit = rule.value.get("unit", "calendar")
    due = procedure.Due(deadline(policy, received_on, int(rule.value["accept_days"]), unit, division),
                        deadline(policy, received_on, int(rule.value["answer_days"]), unit, division))
    return due, {"id": rule.id, "citation": rule.citation}


async def _check_links(session, principal: Principal, links: list[dict[str, str]], channel: str) -> None:
    """Households and announcements named must exist here (and households be in the caller's
    jurisdiction); payments and projects live in other services and are kept as given."""
    for index, link in enumerate(links):
        field = f"links[{index}].ref"
        if link["kind"] == "household":
            query = select(Household.division).where(
                Household.id == uuid.UUID(link["ref"]) if _is_uuid(link["ref"]) else Household.number == link["ref"])
            division = await session.scalar(query)
            if division is None or not principal.covers(division):
                raise Unprocessable("关联的户不存在或不在管辖范围内 (no such household in your jurisdiction)",
                                    errors=[{"field": field, "reason": "no such household in your jurisdiction"}])
        elif link["kind"] == "announcement":
            if not _is_uuid(link["ref"]) or await session.get(Announcement, uuid.UUID(link["ref"])) is None:
                raise Unprocessable("关联的公告不存在 (no such announcement)",
                                    errors=[{"field": field, "reason": "no such announcement"}])
    if channel == "board_objection" and not any(link["kind"] == "announcement" for link in links):
        raise Unprocessable("公示异议转办须关联公告 (an escalated objection links its announcement)",
                            errors=[{"field": "links", "reason": "an announcement link is required"}])


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


async def receive(session, principal: Principal, *, clock, policy, channel: str, division: str, summary: str,
                  complainant: dict[str, Any] | None, links: list[dict[str, str]],
                  received_on: date | None) -> Grievance:
    ensure_jurisdiction(principal, division)
    today = clock.today()
    received_on = received_on or today
    if received_on > today:
        raise Unprocessable("登记日期不能晚于今天 (received_on is after today)",
                            errors=[{"field": "received_on", "reason": "after today"}])
    await _check_links(session, principal, links, channel)
    due, rule = due_dates(policy, division, received_on)
    row = Grievance(id=uuid6.uuid7(), receipt=procedure.new_receipt(), channel=channel, division=division,
                    summary=summary, complainant=complainant, links=links, status="received",
                    received_on=received_on, accept_by=due.accept_by, answer_by=due.answer_by, rule=rule,
                    created_at=clock.now(), updated_at=clock.now())
    session.add(row)
    try:
        await session.flush()
    except IntegrityError:  # a receipt drawn twice (1 in 3·10¹³): the client retries
        raise Conflict("回执号冲突，请重试 (receipt number collision, retry)") from None
    await append(session, [NewEvent(GRIEVANCE_RECEIVED, str(row.id), {
        **_event_core(row), "channel": channel, "received_on": received_on.isoformat(),
        "accept_by": due.accept_by.isoformat(), "answer_by": due.answer_by.isoformat(), "rule": rule,
        "links": links}, principal.actor())])
    return row


def _event_core(row: Grievance) -> dict[str, Any]:
    return {"receipt": row.receipt, "division": row.division, "status": row.status}


async def load(session, principal: Principal, grievance_id: uuid.UUID, *, lock: bool = False) -> Grievance:
    query = select(Grievance).where(Grievance.id == grievance_id)
    row = (await session.execute(query.with_for_update() if lock else query)).scalar_one_or_none()
    if row is None or not principal.covers(row.division) and not (
            row.assigned_to and principal.covers(row.assigned_to)):
        raise NotFound(f"无此举报 (no grievance {grievance_id} in your jurisdiction)")
    return row


def _may_take(principal: Principal, step: procedure.Step, row: Grievance) -> None:
    if step.level == "county":
        if not principal.has_any(COUNTY_ROLES) or not principal.covers(row.division):
            raise Forbidden(f"{step.label}由县级扶贫部门办理 (the county office takes step {step.action})")
    elif not principal.covers(row.assigned_to or row.division):
        raise Forbidden(f"{step.label}由承办单位办理 (step {step.action} is taken by the office it was assigned to, "
                        f"{row.assigned_to})")


async def take_step(session, principal: Principal, grievance_id: uuid.UUID, action: str, *, clock,
                    fields: dict[str, Any]) -> Grievance:
    row = await load(session, principal, grievance_id, lock=True)
    try:
        step = procedure.take(action, row.status)
    except procedure.GrievanceError as exc:
        raise Conflict(str(exc), grievance={"id": str(row.id), "status": row.status}) from None
    _may_take(principal, step, row)
    on = fields.pop("on", None) or clock.today()
    if on > clock.today() or on < row.received_on:
        raise Unprocessable("日期须在登记日与今天之间 (on must lie between the day received and today)",
                            errors=[{"field": "on", "reason": f"between {row.received_on} and {clock.today()}"}])
    _apply(step, row, fields, on)
    row.status, row.updated_at = step.to_status, clock.now()
    note = fields.pop("note", "")
    await append(session, [NewEvent(GRIEVANCE_STEP_EVENTS[action], str(row.id), {
        **_event_core(row), "on": on.isoformat(), "note": note, **fields}, principal.actor())])
    return row


_NEEDS = {"classify": ("category",), "assign": ("assigned_to",), "answer": ("outcome", "answer")}


def _apply(step: procedure.Step, row: Grievance, fields: dict[str, Any], on: date) -> None:
    missing = [name for name in _NEEDS.get(step.action, ()) if not fields.get(name)]
    if missing:
        raise Unprocessable(f"{step.label}须填写{'、'.join(missing)} ({step.action} needs {', '.join(missing)})",
                            errors=[{"field": name, "reason": f"required for {step.action}"} for name in missing])
    for name in [k for k in fields if k not in _NEEDS.get(step.action, ()) and k != "note"]:
        fields.pop(name)  # fields of other steps are not this step's business
    if step.action == "classify":
        row.category = fields["category"]
    elif step.action == "assign":
        county = row.division[:6] + "000000"
        if not divisions.within(fields["assigned_to"], county):
            raise Unprocessable("承办单位须在本县内 (assigned_to must be an office of the grievance's county)",
                                errors=[{"field": "assigned_to", "reason": f"not under {county}"}])
        row.assigned_to = fields["assigned_to"]
    elif step.action == "answer":
        row.outcome, row.answer, row.answered_on = fields["outcome"], fields["answer"], on
        fields.pop("answer")  # the answer's text may name people: the record keeps it, not the event
    elif step.action == "close":
        row.closed_on = on


async def search(session, scope: str, *, status: str | None, overdue_on: date | None, limit: int) -> list[Grievance]:
    query = select(Grievance).where(Grievance.division.startswith(divisions.prefix(scope)))
    if status:
        query = query.where(Grievance.status == status)
    if overdue_on is not None:
        query = query.where(
            ((Grievance.status == "received") & (Grievance.accept_by < overdue_on))
            | (Grievance.status.in_(procedure.UNANSWERED) & (Grievance.answer_by < overdue_on)))
    return list((await session.execute(query.order_by(Grievance.received_on, Grievance.receipt).limit(limit))).scalars())


def view(row: Grievance, today: date) -> dict[str, Any]:
    return {**public_view(row, today), "id": str(row.id), "channel": row.channel, "division": row.division,
            "summary": row.summary, "complainant": row.complainant, "links": row.links, "category": row.category,
            "assigned_to": row.assigned_to, "outcome": row.outcome, "answer": row.answer, "rule": row.rule}


def public_view(row: Grievance, today: date) -> dict[str, Any]:
    """What anyone holding the receipt may see: no names, no text, no links."""
    return {"receipt": row.receipt, "status": row.status, "status_label": procedure.STATUS_LABELS[row.status],
            "channel_label": procedure.CHANNELS[row.channel],
            "received_on": row.received_on.isoformat(), "accept_by": row.accept_by.isoformat(),
            "answer_by": row.answer_by.isoformat(),
            "answered_on": row.answered_on and row.answered_on.isoformat(),
            "closed_on": row.closed_on and row.closed_on.isoformat(),
            "outcome_label": procedure.OUTCOMES.get(row.outcome or ""),
            "overdue": procedure.overdue(row.status, procedure.Due(row.accept_by, row.answer_by), today),
            "citation": row.rule.get("citation")}


async def by_receipt(session, receipt: str) -> Grievance:
    normal = procedure.normalise_receipt(receipt)
    if normal is None:
        raise Unprocessable("回执号格式不正确 (not a valid receipt number: 10 characters with a check character)",
                            errors=[{"field": "receipt", "reason": "invalid receipt number"}])
    row = (await session.execute(select(Grievance).where(Grievance.receipt == normal))).scalar_one_or_none()
    if row is None:
        raise NotFound("未找到此回执号 (no grievance with this receipt number)")
    return row
