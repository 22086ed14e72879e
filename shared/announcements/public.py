"""Public endpoints (no token) on every service: the announcements as JSON, an HTML notice board
and an Atom feed per division, and objections (异议) from anyone.

Nothing here ever shows a full ID number or an objector's contact details: every response is
built from :func:`service.public_view`, which masks people and text.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any, Literal
from urllib.parse import urlencode

from fastapi import Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import or_, select, text
from sqlmodel import col

from shared import divisions, receipt_numbers
from shared.announcements import contract, exports, places, render, service
from shared.announcements.api import ObjectionFiledOut, PublicAnnouncementOut, PublicAnnouncementsOut
from shared.announcements.domain import Status
from shared.announcements.models import Announcement
from shared.db import raw_connection
from shared.divisions import DivisionCode
from shared.errors import NotFound, Problem
from shared.events import checkpoints
from shared.web import Paging, Session, router
from shared.web.export import exportable
from shared.web.idempotency import client_digest
from shared.web.problems import json_body, validate_body, validation_errors
from shared.fields import Text
from shared.witness import receipts

public = router(prefix="/public", tags=["public announcements (公告公示)"])

PUBLIC_STATUSES = (Status.published, Status.closed, Status.withdrawn)
RECENT_DAYS = 90


class ObjectionIn(BaseModel):
    text: Text = Field(min_length=5, max_length=2000, description="异议内容，5–2000字")
    name: str | None = Field(None, max_length=50, description="姓名（选填，不公开）")
    phone: str | None = Field(None, pattern=r"^[0-9+\- ]{5,20}$", description="电话（选填，不公开）")

    @field_validator("text", mode="before")
    @classmethod
    def _strip_text(cls, value):
        return value.strip() if isinstance(value, str) else value

    @field_validator("name", "phone", mode="before")
    @classmethod
    def _blank_is_none(cls, value):
        return (value.strip() or None) if isinstance(value, str) else value


class TooManyObjections(Problem):
    status, title, slug = 429, "Too many requests", "rate-limited"


async def place_names(request: Request, session, codes) -> dict[str, str]:
    """{code: name} of the divisions and those above them, from the lookup the service configured
    (``routes.names_from``: the registry's divisions, or the ``places`` read model of the others);
    none configured: no names, and every division reads as its level and code."""
    lookup = getattr(request.app.state, "division_names", None)
    if lookup is None:
        return {}
    return await lookup(session, set(codes), request.app.state.clock.today())


async def _public_rows(session, query) -> list[dict[str, Any]]:
    rows = (await session.execute(query)).scalars().all()
    counts = await service.objection_counts(session, [r.id for r in rows])
    return [service.public_view(r, counts[r.id]) for r in rows]


def _visible():
    return col(Announcement.status).in_([s.value for s in PUBLIC_STATUSES])


@public.get("/announcements", summary="Published and closed announcements (paginated)",
            responses={200: {"model": PublicAnnouncementsOut}})
@exportable(exports.PUBLIC)
async def list_announcements(
    params: Paging,
    session: Session,
    division: DivisionCode | None = Query(None, description="this division and everything under it"),
    status: Literal["published", "closed", "withdrawn"] | None = None,
    level: Literal["village", "township", "county", "city", "province"] | None = None,
) -> dict[str, Any]:
    """Published and closed announcements for anyone, with ID numbers masked; filter by division and state; cursor-
    paginated."""
    query = select(Announcement).where(_visible())
    if division:
        query = query.where(col(Announcement.division).startswith(divisions.prefix(division)))
    if status:
        query = query.where(col(Announcement.status) == status)
    if level:
        query = query.where(col(Announcement.level) == level)
    if (after := params.after(lambda key: uuid.UUID(str(key)))) is not None:
        query = query.where(col(Announcement.id) < after)
    items = await _public_rows(session, query.order_by(col(Announcement.id).desc()).limit(params.limit + 1))
    page = params.page(items, key_of=lambda item: [item["id"]])
    return page.model_dump()


async def _published(session, announcement_id: str) -> Announcement:
    row = await service.get(session, announcement_id)
    if row.status == Status.draft:
        raise NotFound("公告不存在 (no such announcement)")
    return row


@public.get("/announcements/{announcement_id}", summary="One announcement as published",
            responses={200: {"model": PublicAnnouncementOut}})
async def read_announcement(session: Session, announcement_id: str = Path()) -> dict[str, Any]:
    """One published or closed announcement as the public sees it: masked, with the supervision hotline 12317 and the
    local number."""
    row = await _published(session, announcement_id)
    counts = await service.objection_counts(session, [row.id])
    return service.public_view(row, counts[row.id])


@public.get("/announcements/{announcement_id}/receipt", response_class=Response,
            summary="A receipt of the announcement's publication: the event, its inclusion proof, the signed checkpoint",
            description="Public: the publication event holds only the masked text. Keep it, and verify it offline "
            "with `fupin verify-receipt FILE --key …` — it proves what was published and when, whatever the "
            "service's database says later.",
            responses=receipts.ANSWERS)
async def announcement_receipt(request: Request, session: Session, announcement_id: str = Path()) -> Response:
    row = await _published(session, announcement_id)
    seq = await receipts.event_seq(session, subject=str(row.id),
                                   type=f"{request.app.state.settings.service}.announcement.published")
    return await receipts.issue(request, session, seq)


async def _board_sections(request: Request, session, division: str):
    today = request.app.state.clock.today()
    under = col(Announcement.division).startswith(divisions.prefix(division))
    current = await _public_rows(session, select(Announcement).where(
        under, col(Announcement.status) == Status.published).order_by(col(Announcement.period_end), col(Announcement.id)))
    since = request.app.state.clock.now() - timedelta(days=RECENT_DAYS)
    recent = await _public_rows(session, select(Announcement).where(
        under, or_(col(Announcement.status) == Status.closed, col(Announcement.status) == Status.withdrawn),
        col(Announcement.closed_at) >= since).order_by(col(Announcement.closed_at).desc()).limit(50))
    # a published announcement whose period ended is awaiting the scheduler: no form for it
    return [a for a in current if a["period"]["end"] >= today.isoformat()], \
        [a for a in current if a["period"]["end"] < today.isoformat()] + recent


async def _board_html(request: Request, session, division: str, current, recent, **extra) -> str:
    names = await place_names(request, session, [division, *(a["division"] for a in current + recent)])
    return render.board_html(
        division=division, division_label=places.label(division, names), current=current, recent=recent,
        division_text=lambda code: places.label(code, names, below=division),
        objection_url=lambda i: str(request.url_for("file_objection", announcement_id=i)),
        board_url=str(request.url_for("board", division=division)),
        feed_url=str(request.url_for("board_feed", division=division)),
        now=request.app.state.clock.now(), hub_url=hub_url(request, division), notice_url=lambda aid: notice_url(request, aid),
        **extra,
    )


def notice_url(request: Request, announcement_id: str) -> str:
    """An announcement's one page (HTML to share or print), on the division's board (the registry's)."""
    return f"{request.app.state.settings.peer_url('registry').rstrip('/')}/public/notices/{announcement_id}"


def hub_url(request: Request, division: str) -> str:
    """The division's one board of every service's announcements (the registry's)."""
    return f"{request.app.state.settings.peer_url('registry').rstrip('/')}/public/boards/{division}"


@public.get("/board/{division}", response_class=HTMLResponse, name="board",
            summary="The notice board of a division (HTML, 公告公示栏)")
async def board(request: Request, division: DivisionCode, session: Session, filed: str | None = Query(None)) -> HTMLResponse:
    """The notice board of a division as an HTML page (Chinese, readable on a phone): what is published there now and
    what closed recently, masked, with the hotlines and the objection form."""
    current, recent = await _board_sections(request, session, division)
    message = None
    if filed and await service.objection_exists(session, filed, under=division):  # never echo arbitrary text
        receipt = receipt_numbers.spaced(contract.objection_receipt(filed))
        message = f"异议已受理，回执号 {receipt}，可凭它查询处理情况。我们不会公开您的姓名和电话。"
    return HTMLResponse(await _board_html(request, session, division, current, recent, message=message))


@public.get("/board/{division}/feed.atom", name="board_feed", summary="Atom feed of a division's announcements",
            response_class=Response, responses={200: {"content": {"application/atom+xml": {}}}})
async def board_feed(request: Request, division: DivisionCode, session: Session) -> Response:
    """The same board as an Atom feed, for portals and readers that follow a division's announcements."""
    current, recent = await _board_sections(request, session, division)
    names = await place_names(request, session, [division])
    async with raw_connection(session) as conn:
        checkpoint = await checkpoints.latest(conn)
    xml = render.atom_feed(
        division=division, division_label=places.label(division, names), announcements=current + recent,
        board_url=str(request.url_for("board", division=division)),
        feed_url=str(request.url_for("board_feed", division=division)), updated=request.app.state.clock.now(),
        checkpoint=checkpoint, checkpoint_url=str(request.url_for("latest_checkpoint")) + "?format=note",
    )
    return Response(xml, media_type="application/atom+xml; charset=utf-8")


@public.post(
    "/announcements/{announcement_id}/objections", status_code=201, name="file_objection",
    summary="File an objection (异议) during the period — no account needed",
    description="JSON or an HTML form (`application/x-www-form-urlencoded`, from the notice board, which is "
    "answered with a redirect back to the board). Name and phone are optional and never published. "
    "The answer carries the objection's `receipt` number (10 characters, Crockford base32 with a check "
    "character) whose status anyone may look up on the registry's `GET /public/objections/{receipt}`. "
    "Refused after the period; rate-limited per client address (the TCP peer, or the address a trusted reverse "
    "proxy reports, `FUPIN_FORWARDED_ALLOW_IPS`).",
    responses={201: {"model": ObjectionFiledOut}, 303: {"description": "a form: back to the board, with the receipt"}},
    openapi_extra={
        "x-idempotency": "optional",
        "requestBody": {"content": {
            "application/json": {"schema": ObjectionIn.model_json_schema()},
            "application/x-www-form-urlencoded": {"schema": ObjectionIn.model_json_schema()},
        }, "required": True},
    },
)
async def file_objection(request: Request, session: Session, announcement_id: str = Path()) -> Response:
    settings = request.app.state.settings
    is_form = request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data"))
    raw = dict(await request.form()) if is_form else await json_body(request)
    row = await _published(session, announcement_id)
    try:
        body = validate_body(ObjectionIn, raw)
    except RequestValidationError as exc:
        if not is_form:
            raise
        errors = {e["field"]: e["reason"] for e in validation_errors(exc)}
        current, recent = await _board_sections(request, session, row.division)
        html = await _board_html(request, session, row.division, current, recent, errors=errors,
                           form_values={"announcement_id": str(row.id), **{k: str(v) for k, v in raw.items()}})
        return HTMLResponse(html, status_code=422)
    clock = request.app.state.clock
    digest = client_digest(request)
    # one client's objections are counted one at a time, so parallel requests cannot slip past the limit
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:digest))"), {"digest": digest})
    window = timedelta(seconds=settings.objection_rate_window_seconds)
    if await service.recent_objections_from(session, digest, clock.now() - window) >= settings.objection_rate_limit:
        raise TooManyObjections(
            f"提交过于频繁，请稍后再试 (at most {settings.objection_rate_limit} objections per "
            f"{settings.objection_rate_window_seconds // 60} minutes from one address)",
            headers={"Retry-After": str(settings.objection_rate_window_seconds)},
        )
    objection = await service.file_objection(session, announcement_id, clock=clock, text=body.text,
                                             name=body.name, phone=body.phone, client_digest=digest)
    receipt = contract.objection_receipt(objection.id)
    if is_form:
        if request.query_params.get("back") == "board":  # filed from the division's board of all services
            return RedirectResponse(f"{hub_url(request, row.division)}?{urlencode({'filed': receipt})}#a-{row.id}",
                                    status_code=303)
        url = str(request.url_for("board", division=row.division))
        return RedirectResponse(f"{url}?{urlencode({'filed': str(objection.id)})}#a-{row.id}", status_code=303)
    return JSONResponse({"id": str(objection.id), "receipt": receipt, "announcement_id": str(row.id),
                         "status": objection.status, "filed_at": clock.now().isoformat()}, status_code=201)

