"""The event feed every service serves: ``GET /events?after=&limit=`` and ``GET /events/verify``.

Consumers backfill gaps from the feed and auditors replay it. The log is one chain, so the feed
is served whole and only to national-level readers (services, national auditors, admins);
``/events/verify`` reveals no content and is open to every auditor.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from shared import divisions
from shared.auth import Principal, Role, require
from shared.db import raw_connection
from shared.errors import Forbidden, Unprocessable
from shared.events import store
from shared.fields import Seq
from shared.web.idempotency import Session

router = APIRouter(tags=["events"])


class EventEnvelope(BaseModel):
    seq: int
    id: str
    source: str
    type: str
    subject: str
    time: str = Field(description="recorded time, UTC, RFC 3339 with microseconds")
    actor: dict[str, Any]
    correlation_id: str
    causation_id: str | None
    data: dict[str, Any]
    prev_hash: str
    hash: str


class EventPage(BaseModel):
    events: list[EventEnvelope]
    last_seq: int = Field(description="the newest seq in the log when the page was read")
    next_after: int | None = Field(description="pass as ?after= for the next page; null when caught up")


class ChainVerification(BaseModel):
    service: str
    ok: bool
    checked: int
    first_seq: int | None
    last_seq: int | None
    last_hash: str | None
    first_bad_seq: int | None = Field(description="the first seq that is missing or does not verify")
    reason: str | None


#: a service or an auditor (anyone else is refused the event log)
ServiceOrAuditor = Annotated[Principal, Depends(require(Role.service, Role.auditor))]


def _national_reader(principal: ServiceOrAuditor) -> Principal:
    if principal.division != divisions.NATIONAL and Role.service not in principal.roles:
        raise Forbidden("完整事件日志仅限全国级审计 (the whole event log is served to national-level auditors only)")
    return principal


NationalReader = Annotated[Principal, Depends(_national_reader)]


@router.get(
    "/events",
    response_model=EventPage,
    summary="The service's event log, in seq order",
    description="Events with seq > `after`, at most `limit`. Gapless and hash-chained: "
    "`hash = sha256(prev_hash || JCS(event without hash))`.",
)
async def list_events(
    request: Request,
    _: NationalReader,
    session: Session,
    after: Annotated[Seq, Query(description="return events after this seq")] = 0,
    limit: int = Query(500, ge=1, le=5000),
) -> dict:
    async with raw_connection(session) as conn:
        events = await store.read_after(conn, after, limit)
        newest = await store.last_seq(conn)
    last_returned = events[-1]["seq"] if events else after
    return {"events": events, "last_seq": newest, "next_after": last_returned if last_returned < newest else None}


@router.get(
    "/events/verify",
    response_model=ChainVerification,
    summary="Re-compute the hash chain and name the first bad seq",
    description="Checks that seqs `from_seq..to_seq` are gapless and every hash matches its row.",
)
async def verify_events(
    request: Request,
    _: ServiceOrAuditor,
    session: Session,
    from_seq: Annotated[Seq, Query(ge=1, description="the first seq to check")] = 1,
    to_seq: Annotated[Seq | None, Query(ge=1, description="the last seq to check (default: the newest)")] = None,
) -> dict:
    if to_seq is not None and to_seq < from_seq:  # a range to refuse, not a broken chain to report
        raise Unprocessable("范围无效 (to_seq is before from_seq)",
                            errors=[{"field": "query.to_seq", "reason": f"must be ≥ from_seq ({from_seq})"}])
    async with raw_connection(session) as conn:
        report = await store.verify(conn, from_seq, to_seq)
    return {"service": request.app.state.settings.service, **report.as_dict()}
