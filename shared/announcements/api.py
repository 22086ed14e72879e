"""The officials' announcement endpoints (token required), on every service.

Who may act on an announcement: the office of its level whose jurisdiction covers its division —
a village for village notices, a township for township notices, the county office or finance
bureau for county announcements, and so on up; admins anywhere. Auditors read, never write.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlmodel import col

from shared.announcements import domain, exports, service
from shared.announcements.domain import LEVELS, ObjectionStatus, Outcome, Status
from shared.announcements.models import Announcement, Objection
from shared.auth import Principal, Role, ensure_jurisdiction, query_scope, require
from shared.divisions import DivisionCode, prefix
from shared.errors import Forbidden
from shared.idcard import IdNumber
from shared.web import Paging, Session, router
from shared.web.export import exportable
from shared.fields import Name, Text

LEVEL_ROLES: dict[str, set[Role]] = {
    "village": {Role.village},
    "township": {Role.township},
    "county": {Role.county_office, Role.county_finance},
    "city": {Role.city_office, Role.city_finance},
    "province": {Role.province_office, Role.province_finance},
}
OFFICIALS = sorted({r.value for roles in LEVEL_ROLES.values() for r in roles})

official = router(prefix="/announcements", tags=["announcements (officials)"])


class Table(BaseModel):
    columns: list[str] = Field(min_length=1, max_length=20)
    rows: list[list[str]] = Field(max_length=5000)


class Content(BaseModel):
    body: str = Field("", max_length=20000, description="the notice's text; paragraphs separated by blank lines")
    table: Table | None = Field(None, description="a table shown under the text (e.g. a per-project table)")


class Person(BaseModel):
    name: Name = Field(max_length=50)
    id_number: IdNumber | None = Field(None, description="published masked, e.g. 652722********1234")
    phone: str | None = Field(None, pattern=r"^[0-9+\- ]{5,20}$", description="published masked")
    note: str | None = Field(None, max_length=200)


class DraftIn(BaseModel):
    subject_type: str = Field(min_length=1, max_length=50, examples=["household_list"],
                              description="what the announcement is about: household_list, project, allocation, village_exit …")
    subject_id: str = Field(min_length=1, max_length=100)
    level: Literal["village", "township", "county", "city", "province"]
    division: DivisionCode
    title: Name = Field(min_length=2, max_length=200)
    content: Content
    people: list[Person] = Field(default_factory=list, max_length=5000)
    hotline_local: Name = Field(min_length=3, max_length=40, description="the local supervision number shown beside 12317")


class PeriodOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    start: date
    end: date
    days: int = Field(description="the rule's minimum length")
    unit: Literal["calendar", "working"]
    rule: str
    citation: str


class ObjectionOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    text: str
    contact_name: str | None = Field(None, description="the objector's name: on a GET to officials only, never "
                                     "in a write's answer")
    contact_phone: str | None = Field(None, description="the objector's phone: on a GET to officials only")
    filed_at: str
    status: Literal[tuple(v.value for v in ObjectionStatus)]  # type: ignore[valid-type]
    resolution_reason: str | None = None
    resolved_by: dict[str, Any] | None = None
    resolved_at: str | None = None


class AnnouncementOut(BaseModel):
    """An announcement as its officials see it (``service.official_view``)."""

    model_config = ConfigDict(extra="allow")
    id: str
    service: str
    subject_type: str
    subject_id: str
    level: Literal[LEVELS]  # type: ignore[valid-type]
    division: str
    title: str
    content: dict[str, Any] = Field(description="`body` text and an optional `table` of `columns` and `rows`")
    people: list[dict[str, Any]]
    hotline_local: str
    rendered_text: str | None = Field(description="the announcement as printed, with the 12317 supervision hotline; "
                                      "null while a draft")
    period: PeriodOut | None = None
    status: Literal[tuple(v.value for v in Status)]  # type: ignore[valid-type]
    outcome: Literal[tuple(v.value for v in Outcome)] | None = None  # type: ignore[valid-type]
    withdrawn_reason: str | None = None
    created_by: dict[str, Any]
    created_at: str
    published_at: str | None = None
    closed_at: str | None = None
    objections: list[ObjectionOut]


class AnnouncementsOut(BaseModel):
    items: list[AnnouncementOut]
    next_cursor: str | None = None


class HotlinesOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    supervision: str = Field(description="12317, the national poverty-alleviation supervision hotline")
    local: str


class PublishedOut(BaseModel):
    """What anyone sees of an announcement: people and numbers masked, the objections only counted
    (the service's own ``PublicAnnouncementOut``, the registry's board of every service)."""

    model_config = ConfigDict(extra="allow")
    id: str
    service: str
    subject_type: str
    level: Literal[LEVELS]  # type: ignore[valid-type]
    level_label: str
    division: str
    title: str
    content: dict[str, Any] = Field(description="`body` text and an optional `table` of `columns` and `rows`, masked")
    people: list[dict[str, Any]] = Field(description="the people listed, ID numbers and phones masked")
    rendered_text: str
    hotlines: HotlinesOut
    period: PeriodOut | None = None
    status: Literal[tuple(v.value for v in Status)]  # type: ignore[valid-type]
    outcome: Literal[tuple(v.value for v in Outcome)] | None = None  # type: ignore[valid-type]
    withdrawn_reason: str | None = None
    published_at: str | None = None
    closed_at: str | None = None
    objections: dict[str, int] = Field(description="how many objections are open, upheld, dismissed")


class PublicAnnouncementOut(PublishedOut):
    """An announcement as anyone sees it (``service.public_view``)."""

    subject_id: str


class PublicAnnouncementsOut(BaseModel):
    items: list[PublicAnnouncementOut]
    next_cursor: str | None = None


class ObjectionFiledOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    receipt: str = Field(description="10 characters (Crockford base32 + check character): look it up on the "
                         "registry's GET /public/objections/{receipt}")
    announcement_id: str
    status: Literal[tuple(v.value for v in ObjectionStatus)]  # type: ignore[valid-type]
    filed_at: str


class PublishIn(BaseModel):
    period_start: date
    period_end: date


class WithdrawIn(BaseModel):
    reason: Text = Field(min_length=2, max_length=500)


class ResolveIn(BaseModel):
    decision: Literal["upheld", "dismissed"] = Field(description="upheld: the objection stands (the announcement fails)")
    reason: Text = Field(min_length=2, max_length=1000)


def ensure_may_act(principal: Principal, level: str, division: str) -> None:
    """The office of the announcement's level, within its jurisdiction (or an admin)."""
    if Role.admin not in principal.roles and not principal.has_any(LEVEL_ROLES[level]):
        raise Forbidden(f"只有{domain.LEVEL_LABELS[level]}级可办理此公告 "
                        f"(only the {level} office may act on a {level} announcement)")
    ensure_jurisdiction(principal, division)


#: an official of any level reading; one writing (the level is checked per announcement: ensure_may_act)
Official = Annotated[Principal, Depends(require(*OFFICIALS))]
OfficialWriter = Annotated[Principal, Depends(require(*OFFICIALS, write=True))]


@official.post("", status_code=201, summary="Draft an announcement (公告草稿)", responses={201: {"model": AnnouncementOut}})
async def create(body: DraftIn, request: Request, principal: OfficialWriter,
                 session: Session) -> dict[str, Any]:
    """A draft with subject, level, division, title, content (text and a table), the people listed (ID numbers are
    masked when published) and the local hotline; nothing is public yet."""
    ensure_may_act(principal, body.level, body.division)
    row = await service.draft(
        session, actor=principal.actor(), clock=request.app.state.clock, subject_type=body.subject_type,
        subject_id=body.subject_id, level=body.level, division=body.division, title=body.title,
        content=body.content.model_dump(), people=[p.model_dump(exclude_none=True) for p in body.people],
        hotline_local=body.hotline_local,
    )
    return service.official_view(row, [])


@official.post("/{announcement_id}/publish", summary="Publish for the period (发布公示)",
               responses={200: {"model": AnnouncementOut}},
               description="The period must be at least the minimum of the policy rule "
               "`announcement.min_period` in force for the division; a shorter one is refused with the rule's citation.")
async def publish(body: PublishIn, request: Request, principal: OfficialWriter, session: Session,
                  announcement_id: uuid.UUID = Path()) -> dict[str, Any]:
    row = await service.get(session, announcement_id)
    ensure_may_act(principal, row.level, row.division)
    row = await service.publish(session, str(announcement_id), actor=principal.actor(), clock=request.app.state.clock,
                                policy=request.app.state.policy, start=body.period_start, end=body.period_end)
    return service.official_view(row, [])


@official.post("/{announcement_id}/withdraw", summary="Withdraw a published announcement (撤回)",
               responses={200: {"model": AnnouncementOut}})
async def withdraw(body: WithdrawIn, request: Request, principal: OfficialWriter, session: Session,
                   announcement_id: uuid.UUID = Path()) -> dict[str, Any]:
    """Withdraws a published announcement with a reason; its subject's next step stays blocked until a new announcement
    passes."""
    row = await service.get(session, announcement_id)
    ensure_may_act(principal, row.level, row.division)
    row = await service.withdraw(session, str(announcement_id), actor=principal.actor(), clock=request.app.state.clock,
                                 reason=body.reason)
    return service.official_view(row, await _objections(session, row))


@official.post("/{announcement_id}/objections/{objection_id}/resolve", summary="Resolve an objection (异议处理)",
               responses={200: {"model": AnnouncementOut}})
async def resolve(body: ResolveIn, request: Request, principal: OfficialWriter, session: Session,
                  announcement_id: uuid.UUID = Path(), objection_id: uuid.UUID = Path()) -> dict[str, Any]:
    """Upholds or dismisses an objection with a reason; an upheld objection makes the announcement fail at the end of
    its period."""
    row = await service.get(session, announcement_id)
    ensure_may_act(principal, row.level, row.division)
    await service.resolve_objection(session, str(announcement_id), str(objection_id), actor=principal.actor(),
                                    clock=request.app.state.clock, decision=ObjectionStatus(body.decision),
                                    reason=body.reason)
    return service.official_view(row, await _objections(session, row))


async def _objections(session, row: Announcement) -> list[Objection]:
    return list((await session.execute(
        select(Objection).where(col(Objection.announcement_id) == row.id).order_by(col(Objection.filed_at)))).scalars())


@official.get("/{announcement_id}", summary="An announcement with its objections and the objectors' contacts",
              responses={200: {"model": AnnouncementOut}})
async def read(principal: Official, session: Session, announcement_id: uuid.UUID = Path()) -> dict[str, Any]:
    """The full record for officials: content, period, state, outcome, objections with the objectors' contacts (never
    public)."""
    row = await service.get(session, announcement_id)
    ensure_jurisdiction(principal, row.division)
    return service.official_view(row, await _objections(session, row), contacts=True)


@official.get("", summary="Announcements in your jurisdiction, newest first", responses={200: {"model": AnnouncementsOut}})
@exportable(exports.OFFICIAL)
async def list_(
    principal: Official,
    params: Paging,
    session: Session,
    division: DivisionCode | None = Query(None, description="default: your own division"),
    status: Literal["draft", "published", "closed", "withdrawn"] | None = None,
    subject_type: str | None = None,
    subject_id: str | None = None,
) -> dict[str, Any]:
    """Announcements under the caller's division, newest first, filterable by state, subject type and level; cursor-
    paginated."""
    division = query_scope(principal, division)
    query = select(Announcement).where(col(Announcement.division).startswith(prefix(division)))
    if status:
        query = query.where(col(Announcement.status) == status)
    if subject_type:
        query = query.where(col(Announcement.subject_type) == subject_type)
    if subject_id:
        query = query.where(col(Announcement.subject_id) == subject_id)
    if (after := params.after(lambda key: uuid.UUID(str(key)))) is not None:
        query = query.where(col(Announcement.id) < after)
    rows = (await session.execute(query.order_by(col(Announcement.id).desc()).limit(params.limit + 1))).scalars().all()
    page = params.page(rows, key_of=lambda r: [str(r.id)])
    return {"items": [service.official_view(r, []) for r in page.items], "next_cursor": page.next_cursor}

