"""Announcement operations on a service's database: each writes its rows and its event in the
caller's transaction (the session is the unit of work; the caller commits).

Events are the owning service's: ``<service>.announcement.drafted | published | withdrawn |
closed`` and ``<service>.objection.filed | resolved``. An objector's name and phone are stored
for the officials but never published and never put in an event: the event carries a SHA-256
digest of them, so an auditor can still tell the row was not altered.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, datetime
from typing import Any, Mapping

import uuid6
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from shared import divisions
from shared.announcements import domain
from shared.announcements.domain import ObjectionStatus, Outcome, Status
from shared.announcements.models import Announcement, Objection
from shared.auth import SYSTEM
from shared.clock import Clock
from shared.errors import Conflict, NotFound
from shared.events import NewEvent, append
from shared.events.store import format_time
from shared.policy import PolicyTable


def _event(session: AsyncSession, kind: str, subject: str, data: dict[str, Any], actor: Mapping[str, Any]) -> NewEvent:
    return NewEvent(type=f"{session.info['service']}.{kind}", subject=subject, data=data, actor=actor)


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _uuid(value: uuid.UUID | str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise NotFound(f"{what}不存在 (no such {'announcement' if what == '公告' else 'objection'})") from None


async def get(session: AsyncSession, announcement_id: uuid.UUID | str, *, lock: bool = False) -> Announcement:
    query = select(Announcement).where(col(Announcement.id) == _uuid(announcement_id, "公告"))
    if lock:
        query = query.with_for_update()
    found = (await session.execute(query)).scalar_one_or_none()
    if found is None:
        raise NotFound("公告不存在 (no such announcement)")
    return found


async def draft(
    session: AsyncSession, *, actor: Mapping[str, Any], clock: Clock, subject_type: str, subject_id: str,
    level: str, division: str, title: str, content: dict[str, Any], people: list[dict[str, Any]],
    hotline_local: str,
) -> Announcement:
    domain.check_level(level, division)
    row = Announcement(
        id=uuid6.uuid7(), service=session.info["service"], subject_type=subject_type, subject_id=subject_id,
        level=level, division=division, title=title, content=content, people=people,
        hotline_local=hotline_local, status=Status.draft, created_by=dict(actor), created_at=clock.now(),
    )
    session.add(row)
    await append(session, [_event(session, "announcement.drafted", str(row.id), {
        "subject_type": subject_type, "subject_id": subject_id, "level": level, "division": division,
        "title": title, "content": content, "people": people, "hotline_local": hotline_local,
    }, actor)])
    return row


async def publish(
    session: AsyncSession, announcement_id: str, *, actor: Mapping[str, Any], clock: Clock, policy: PolicyTable,
    start: date, end: date,
) -> Announcement:
    row = await get(session, announcement_id, lock=True)
    domain.require_status(str(row.id), row.status, Status.draft)
    period = domain.check_period(policy, row.division, start, end, clock.today())
    hotlines = {"supervision": domain.SUPERVISION_HOTLINE, "local": row.hotline_local}
    row.rendered_text = domain.render_text(
        title=row.title, level=row.level, division=row.division, content=row.content, people=row.people,
        period=period, hotlines=hotlines,
    )
    row.period_start, row.period_end, row.period = start, end, period.as_dict()
    row.status, row.published_at = Status.published, clock.now()
    await append(session, [_event(session, "announcement.published", str(row.id), {
        "period": period.as_dict(), "rendered_text": row.rendered_text, "division": row.division,
    }, actor)])
    return row


async def announce(
    session: AsyncSession, *, actor: Mapping[str, Any], clock: Clock, policy: PolicyTable, start: date, end: date,
    **draft_fields: Any,
) -> Announcement:
    """Draft and publish in one step: what a workflow does when it posts a notice of its own."""
    row = await draft(session, actor=actor, clock=clock, **draft_fields)
    return await publish(session, str(row.id), actor=actor, clock=clock, policy=policy, start=start, end=end)


async def withdraw(session: AsyncSession, announcement_id: str, *, actor: Mapping[str, Any], clock: Clock,
                   reason: str) -> Announcement:
    row = await get(session, announcement_id, lock=True)
    domain.require_status(str(row.id), row.status, Status.published)
    row.status, row.withdrawn_reason, row.closed_at = Status.withdrawn, reason, clock.now()
    await append(session, [_event(session, "announcement.withdrawn", str(row.id), {"reason": reason}, actor)])
    return row


def contact_digest(name: str | None, phone: str | None) -> str | None:
    if not name and not phone:
        return None
    return hashlib.sha256(f"{name or ''}\x1f{phone or ''}".encode()).hexdigest()


async def file_objection(
    session: AsyncSession, announcement_id: str, *, clock: Clock, text: str, name: str | None,
    phone: str | None, client_digest: str,
) -> Objection:
    row = await get(session, announcement_id, lock=True)
    if row.status == Status.draft:
        raise NotFound("公告不存在 (no such announcement)")
    if not domain.is_open_for_objections(row.status, row.period_start, row.period_end, clock.today()):
        raise Conflict(
            f"不在公示期内，不受理异议 (announcement {row.id} is not in its period; it is {row.status}, "
            f"period {_day(row.period_start)}–{_day(row.period_end)})",
            announcement={"id": str(row.id), "status": row.status, "period_end": _day(row.period_end)},
        )
    objection = Objection(
        id=uuid6.uuid7(), announcement_id=row.id, text=text, contact_name=name, contact_phone=phone,
        client_digest=client_digest, filed_at=clock.now(), status=ObjectionStatus.open,
    )
    session.add(objection)
    await append(session, [_event(session, "objection.filed", str(row.id), {
        "objection_id": str(objection.id), "text": text, "contact_digest": contact_digest(name, phone),
    }, {"sub": "public", "roles": ["public"], "division": row.division})])
    return objection


async def resolve_objection(
    session: AsyncSession, announcement_id: str, objection_id: str, *, actor: Mapping[str, Any], clock: Clock,
    decision: ObjectionStatus, reason: str,
) -> Objection:
    row = await get(session, announcement_id, lock=True)
    # after the period an objection may still be resolved (and must be, DOMAIN §6); the outcome,
    # fixed at the end of the period, does not change
    domain.require_status(str(row.id), row.status, Status.published, Status.closed)
    objection = (await session.execute(select(Objection).where(
        col(Objection.id) == _uuid(objection_id, "异议"), col(Objection.announcement_id) == row.id).with_for_update())
    ).scalar_one_or_none()
    if objection is None:
        raise NotFound(f"异议不存在 (no objection {objection_id} on announcement {row.id})")
    if objection.status != ObjectionStatus.open:
        raise Conflict(f"异议已处理 (objection {objection_id} is already {objection.status})")
    objection.status, objection.resolution_reason = decision, reason
    objection.resolved_by, objection.resolved_at = dict(actor), clock.now()
    await append(session, [_event(session, "objection.resolved", str(row.id), {
        "objection_id": objection_id, "decision": decision.value, "reason": reason,
    }, actor)])
    return objection


async def objection_states(session: AsyncSession, announcement_id: uuid.UUID) -> list[tuple[str, datetime | None]]:
    return [(status, resolved_at) for status, resolved_at in (await session.execute(
        select(col(Objection.status), col(Objection.resolved_at))
        .where(col(Objection.announcement_id) == announcement_id))).all()]


async def close_due(session: AsyncSession, *, clock: Clock) -> list[Announcement]:
    """Close every published announcement whose period is over: passed or failed (the scheduler)."""
    due = (await session.execute(
        select(Announcement)
        .where(col(Announcement.status) == Status.published, col(Announcement.period_end) < clock.today())
        .order_by(col(Announcement.period_end), col(Announcement.id))
        .with_for_update(skip_locked=True)  # several schedulers (replicas) never close one twice
    )).scalars().all()
    for row in due:
        states = await objection_states(session, row.id)
        assert row.period_end is not None  # selected by its period_end
        row.outcome = domain.outcome_of(states, domain.period_cutoff(row.period_end))
        row.status, row.closed_at = Status.closed, clock.now()
        statuses = [status for status, _ in states]
        await append(session, [_event(session, "announcement.closed", str(row.id), {
            "outcome": row.outcome.value, "period_end": _day(row.period_end),
            "objections": {s.value: statuses.count(s.value) for s in ObjectionStatus},
        }, SYSTEM.actor())])
    return list(due)


async def require_passed(session: AsyncSession, announcement_id: str, *, subject_type: str | None = None) -> Announcement:
    """The workflow hook: a step that needs "announcement X passed" calls this first (and names
    the kind of announcement it expects, so a passed notice about something else does not do)."""
    row = await get(session, announcement_id)
    if subject_type is not None and row.subject_type != subject_type:
        raise Conflict(f"公告类型不符 (announcement {row.id} is about {row.subject_type}, not {subject_type})",
                       slug="announcement-not-passed",
                       announcement={"id": str(row.id), "subject_type": row.subject_type})
    if not (row.status == Status.closed and row.outcome == Outcome.passed):
        state = row.outcome if row.status == Status.closed else row.status
        raise Conflict(
            f"公告未通过公示，不能进行下一步 (announcement {row.id} has not passed: it is {state})",
            slug="announcement-not-passed",
            announcement={"id": str(row.id), "title": row.title, "status": row.status, "outcome": row.outcome,
                          "period_end": _day(row.period_end)},
        )
    return row


async def objection_counts(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, int]]:
    counts = {i: {s.value: 0 for s in ObjectionStatus} for i in ids}
    if ids:
        rows = await session.execute(
            select(col(Objection.announcement_id), col(Objection.status), func.count())
            .where(col(Objection.announcement_id).in_(ids)).group_by(col(Objection.announcement_id), col(Objection.status)))
        for announcement_id, status, n in rows:
            counts[announcement_id][status] = n
    return counts


async def objection_exists(session: AsyncSession, objection_id: str, *, under: str) -> bool:
    try:
        key = uuid.UUID(objection_id)
    except ValueError:
        return False
    found = await session.scalar(select(func.count()).select_from(Objection).join(Announcement).where(
        col(Objection.id) == key, col(Announcement.division).startswith(divisions.prefix(under))))
    return bool(found)


async def recent_objections_from(session: AsyncSession, client_digest: str, since: datetime) -> int:
    return await session.scalar(select(func.count()).select_from(Objection).where(
        col(Objection.client_digest) == client_digest, col(Objection.filed_at) >= since)) or 0


def _time(value: datetime | None) -> str | None:
    return format_time(value) if value else None


def public_view(row: Announcement, counts: dict[str, int]) -> dict[str, Any]:
    """What anyone may see: masked people and text, no objector details."""
    return domain.mask_public({
        "id": str(row.id), "service": row.service, "subject_type": row.subject_type, "subject_id": row.subject_id,
        "level": row.level, "level_label": domain.LEVEL_LABELS[row.level], "division": row.division,
        "title": row.title, "content": row.content,
        "people": [domain.mask_person(p) for p in row.people],
        "rendered_text": row.rendered_text or "",
        "hotlines": {"supervision": domain.SUPERVISION_HOTLINE, "local": row.hotline_local},
        "period": row.period, "status": row.status, "outcome": row.outcome,
        "withdrawn_reason": row.withdrawn_reason, "published_at": _time(row.published_at),
        "closed_at": _time(row.closed_at), "objections": counts,
    })


def official_view(row: Announcement, objections: list[Objection], *, contacts: bool = False) -> dict[str, Any]:
    """What the responsible officials see: the full record with objections; the objectors'
    contacts only when asked (a GET), never in a write's response, which is kept with its
    idempotency key."""
    return {
        "id": str(row.id), "service": row.service, "subject_type": row.subject_type, "subject_id": row.subject_id,
        "level": row.level, "division": row.division, "title": row.title, "content": row.content,
        "people": row.people, "hotline_local": row.hotline_local, "rendered_text": row.rendered_text,
        "period": row.period, "status": row.status, "outcome": row.outcome, "withdrawn_reason": row.withdrawn_reason,
        "created_by": row.created_by, "created_at": _time(row.created_at), "published_at": _time(row.published_at),
        "closed_at": _time(row.closed_at),
        "objections": [{
            "id": str(o.id), "text": o.text,
            **({"contact_name": o.contact_name, "contact_phone": o.contact_phone} if contacts else {}),
            "filed_at": _time(o.filed_at), "status": o.status, "resolution_reason": o.resolution_reason,
            "resolved_by": o.resolved_by, "resolved_at": _time(o.resolved_at),
        } for o in objections],
    }
