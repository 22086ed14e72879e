"""The public board (公告公示栏) of a division: every announcement of every service, one place.

Why the registry hosts it: the board names divisions (精河县, 托里镇 …) and the registry keeps the
division reference data; it is also the service villagers already deal with (建档立卡).

How it is fed (rule 1 — no service reads another's tables): each service's announcement events,
in the shapes of ``shared.announcements.contract``, consumed from its topic like any other event
(the registry's own announcements too, from its own topic). Guarantees:

1. The read model holds only what was published, masked (``domain.mask_person``/``mask_public``):
   no full ID or phone number, no objection text, no objector's contact.
2. Each event is applied once (the consumer's inbox) and in its service's order (its seq), so a
   notice's state is its service's state as of the last event consumed.
3. A draft is kept but never shown; withdrawn and closed notices stay in the archive for good.
4. An objection is found by its receipt number (``contract.objection_receipt`` of its id — the same
   number the filing service gave) and shows only received / answered and the dates.

The rows are rebuilt from the events alone (drop them and replay the topics): they explain nothing
by themselves and append no event of their own.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.board_models import BoardNotice, BoardObjection
from services.registry.models import Division
from services.registry.usecases.reference import name_on
from shared import divisions
from shared.announcements import contract, domain, places
from shared.announcements.domain import ObjectionStatus, Status
from shared.clock import CHINA_TZ
from shared.events.consumer import Handler

RECENT_DAYS = 90  # the board's front page; older ones are in the archive
ARCHIVE_PAGE = 20
EXPORT_BATCH = 500  # notices read at a time into a spreadsheet of the archive


def _when(event: Mapping[str, Any]) -> datetime:
    return datetime.fromisoformat(event["time"])


# -- applying the events -------------------------------------------------------------------------

async def _drafted(session: AsyncSession, event: Mapping[str, Any]) -> None:
    d = event["data"]
    await session.execute(insert(BoardNotice).values(
        id=uuid.UUID(event["subject"]), service=event["source"], subject_type=d["subject_type"], level=d["level"],
        division=d["division"], title=domain.mask_public(d["title"]), content=domain.mask_public(d["content"]),
        people=[domain.mask_person(p) for p in d.get("people") or []], hotline_local=d["hotline_local"],
        status=Status.draft,
    ).on_conflict_do_nothing())


async def _update(session: AsyncSession, event: Mapping[str, Any], **values: Any) -> None:
    await session.execute(sa.update(BoardNotice).where(BoardNotice.id == uuid.UUID(event["subject"])).values(**values))


async def _published(session: AsyncSession, event: Mapping[str, Any]) -> None:
    d = event["data"]
    await _update(session, event, status=Status.published, period=d["period"],
                  period_end=date.fromisoformat(d["period"]["end"]),
                  rendered_text=domain.mask_public(d["rendered_text"]), published_at=_when(event))


async def _withdrawn(session: AsyncSession, event: Mapping[str, Any]) -> None:
    await _update(session, event, status=Status.withdrawn, withdrawn_reason=domain.mask_public(event["data"]["reason"]),
                  closed_at=_when(event))


async def _closed(session: AsyncSession, event: Mapping[str, Any]) -> None:
    await _update(session, event, status=Status.closed, outcome=event["data"]["outcome"], closed_at=_when(event))


async def _objection_filed(session: AsyncSession, event: Mapping[str, Any]) -> None:
    objection_id = event["data"]["objection_id"]
    await session.execute(insert(BoardObjection).values(
        receipt=contract.objection_receipt(objection_id), objection_id=uuid.UUID(objection_id),
        service=event["source"], announcement_id=uuid.UUID(event["subject"]), status=ObjectionStatus.open,
        filed_at=_when(event),
    ).on_conflict_do_nothing())


async def _objection_resolved(session: AsyncSession, event: Mapping[str, Any]) -> None:
    await session.execute(sa.update(BoardObjection).where(
        BoardObjection.objection_id == uuid.UUID(event["data"]["objection_id"])).values(
        status=event["data"]["decision"], resolved_at=_when(event)))


_APPLY = {"announcement.drafted": _drafted, "announcement.published": _published,
          "announcement.withdrawn": _withdrawn, "announcement.closed": _closed,
          "objection.filed": _objection_filed, "objection.resolved": _objection_resolved}

#: {source service: {event type: handler}} — merged into the registry's ``CONSUMES``
CONSUMES: dict[str, dict[str, Handler]] = {
    service: {event_type: _APPLY[kind] for event_type, kind in contract.event_types(service).items()}
    for service in contract.SERVICES
}


# -- reading the board ---------------------------------------------------------------------------

def public_view(row: BoardNotice, counts: Mapping[str, int]) -> dict[str, Any]:
    """The shape of ``shared.announcements.service.public_view``, plus who announced it."""
    return {
        "id": str(row.id), "service": row.service, "service_label": contract.SERVICE_LABELS.get(row.service, row.service),
        "subject_type": row.subject_type, "level": row.level, "level_label": domain.LEVEL_LABELS[row.level],
        "division": row.division, "title": row.title, "content": row.content, "people": row.people,
        "rendered_text": row.rendered_text or "",
        "hotlines": {"supervision": domain.SUPERVISION_HOTLINE, "local": row.hotline_local},
        "period": row.period, "status": row.status, "outcome": row.outcome, "withdrawn_reason": row.withdrawn_reason,
        "published_at": row.published_at.isoformat() if row.published_at else None,
        "closed_at": row.closed_at.isoformat() if row.closed_at else None, "objections": dict(counts),
    }


async def _views(session: AsyncSession, query) -> list[dict[str, Any]]:
    rows = (await session.execute(query)).scalars().all()
    counts = {r.id: {s.value: 0 for s in ObjectionStatus} for r in rows}
    if rows:
        for announcement_id, status, n in await session.execute(
                sa.select(BoardObjection.announcement_id, BoardObjection.status, sa.func.count())
                .where(BoardObjection.announcement_id.in_(list(counts)))
                .group_by(BoardObjection.announcement_id, BoardObjection.status)):
            counts[announcement_id][status] = n
    return [public_view(r, counts[r.id]) for r in rows]


def _under(division: str):
    return sa.and_(BoardNotice.division.startswith(divisions.prefix(division)),
                   BoardNotice.status != Status.draft)


async def front_page(session: AsyncSession, division: str, now: datetime) -> tuple[list[dict], list[dict]]:
    """(published now, newest first by end of period; closed or withdrawn in the last 90 days)."""
    current = await _views(session, sa.select(BoardNotice).where(
        _under(division), BoardNotice.status == Status.published).order_by(BoardNotice.period_end, BoardNotice.id))
    recent = await _views(session, sa.select(BoardNotice).where(
        _under(division), BoardNotice.status.in_([Status.closed, Status.withdrawn]),
        BoardNotice.closed_at >= now - timedelta(days=RECENT_DAYS)).order_by(BoardNotice.closed_at.desc()).limit(50))
    return current, recent


@dataclass(frozen=True)
class Search:
    q: str | None = None
    since: date | None = None  # published on or after (China date)
    until: date | None = None  # published on or before
    service: str | None = None
    status: str | None = None
    page: int = 1


def _china_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=CHINA_TZ)


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _matching(division: str, search: Search) -> list[Any]:
    """The conditions of an archive search (every page of it)."""
    where = [_under(division)]
    if search.q:
        pattern = _like(search.q)
        where.append(sa.or_(BoardNotice.title.ilike(pattern, escape="\\"),
                            BoardNotice.rendered_text.ilike(pattern, escape="\\")))
    if search.since:
        where.append(BoardNotice.published_at >= _china_midnight(search.since))
    if search.until:
        where.append(BoardNotice.published_at < _china_midnight(search.until + timedelta(days=1)))
    if search.service:
        where.append(BoardNotice.service == search.service)
    if search.status:
        where.append(BoardNotice.status == search.status)
    return where


_NEWEST_FIRST = (BoardNotice.published_at.desc(), BoardNotice.id.desc())


async def archive(session: AsyncSession, division: str, search: Search) -> tuple[list[dict[str, Any]], int]:
    """Every notice ever published under the division matching the search, newest first (the
    search's page of them); and the total."""
    where = _matching(division, search)
    total = await session.scalar(sa.select(sa.func.count()).select_from(BoardNotice).where(*where))
    items = await _views(session, sa.select(BoardNotice).where(*where).order_by(*_NEWEST_FIRST)
                         .offset((search.page - 1) * ARCHIVE_PAGE).limit(ARCHIVE_PAGE))
    return items, total or 0


async def archive_batches(session: AsyncSession, division: str, search: Search) -> AsyncIterator[list[dict[str, Any]]]:
    """Every page of the search at once (a spreadsheet of it), newest first, ``EXPORT_BATCH`` notices at a time."""
    query = sa.select(BoardNotice).where(*_matching(division, search)).order_by(*_NEWEST_FIRST)
    offset = 0
    while batch := await _views(session, query.offset(offset).limit(EXPORT_BATCH)):
        yield batch
        offset += EXPORT_BATCH


async def notice(session: AsyncSession, announcement_id: uuid.UUID) -> dict[str, Any] | None:
    found = await _views(session, sa.select(BoardNotice).where(
        BoardNotice.id == announcement_id, BoardNotice.status != Status.draft))
    return found[0] if found else None


async def objection(session: AsyncSession, receipt: str) -> tuple[BoardObjection, dict[str, Any] | None] | None:
    row = await session.get(BoardObjection, receipt)
    if row is None:
        return None
    return row, await notice(session, row.announcement_id)


def objection_view(row: BoardObjection, notice_: Mapping[str, Any] | None) -> dict[str, Any]:
    """What anyone holding the receipt may see: received or answered, and when; the notice it is about."""
    answered = row.status != ObjectionStatus.open
    return {
        "receipt": row.receipt, "status": "answered" if answered else "received",
        "status_label": "已答复" if answered else "已受理，正在核实",
        "decision": row.status if answered else None,
        "decision_label": {"upheld": "异议成立", "dismissed": "经核实异议不成立"}.get(row.status),
        "filed_at": row.filed_at.isoformat(), "answered_at": row.resolved_at.isoformat() if row.resolved_at else None,
        "announcement": None if notice_ is None else {
            "id": notice_["id"], "title": notice_["title"], "service": notice_["service"],
            "service_label": notice_["service_label"], "division": notice_["division"]},
    }


async def division_names(session: AsyncSession, codes: set[str], on: date) -> dict[str, str]:
    """{code: name in force on the date} of the given divisions and every division above them that
    the registry knows."""
    wanted = {a for code in codes for a in divisions.ancestors(code)}
    if not wanted:
        return {}
    rows = (await session.execute(sa.select(Division).where(Division.code.in_(sorted(wanted))))).scalars().all()
    return {row.code: name_on(row, on) for row in rows}


label = places.label  # one way to write a division for people, on every public page
