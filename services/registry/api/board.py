"""The public board of a division (公告公示栏): HTTP → ``services.registry.usecases.board`` → HTML or JSON.

HTML for people (Chinese, phone-friendly), JSON for portals and apps: ``?format=json`` or
``Accept: application/json``. No token: everything here is what was published, masked.
"""

from __future__ import annotations

import math
import uuid
from typing import Any, Literal
from urllib.parse import urlencode

from fastapi import Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from services.registry.api.schemas import ArchiveOut, BoardNoticeOut, BoardOut, ObjectionStatusOut
from services.registry.usecases import board
from shared import divisions, receipt_numbers
from shared.announcements import contract, render
from shared.announcements.exports import ARCHIVE
from shared.divisions import DivisionCode
from shared.errors import NotFound, Unprocessable
from shared.fields import Day
from shared.web import Session, router
from shared.web.export import CSV, XLSX, Download

board_router = router(prefix="/public", tags=["public board (公告公示栏)"])

Format = Literal["html", "json"]
_HTML_OR_JSON = {200: {"content": {"text/html": {}, "application/json": {}}}}
_FORMAT = Query(None, description="html (default) or json; or send `Accept: application/json`")


def html_or_json(model: type) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` of a page that answers HTML, or ``model`` as JSON when asked: declare the
    route with ``response_class=Response`` (FastAPI puts a model under the route's own media type)."""
    return {200: {"model": model, "content": {"text/html": {}}}}


def _archive_format(request: Request, format: str | None) -> str:
    """html, json, csv or xlsx: ``format``, else ``Accept`` (a spreadsheet's media type, or JSON), else html."""
    if format is not None:
        return format
    accept = request.headers.get("accept", "")
    for name, media in (("csv", CSV), ("xlsx", XLSX)):
        if media in accept:
            return name
    return "json" if _json(request, None) else "html"


def _json(request: Request, format: str | None) -> bool:
    if format is not None:
        return format == "json"
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def _objection_url(request: Request, services: dict[str, str]):
    settings = request.app.state.settings
    return lambda aid: (f"{settings.peer_url(services[aid]).rstrip('/')}/public/announcements/{aid}/objections"
                        f"?back=board")


async def _names(request: Request, session, division: str, items: list[dict[str, Any]]):
    names = await board.division_names(session, {division, *(a["division"] for a in items)},
                                       request.app.state.clock.today())
    return names, (lambda code: board.label(code, names, below=division))


@board_router.get("/boards/{division}", name="division_board", response_class=Response, responses=html_or_json(BoardOut),
                  summary="The public board of a division: every service's announcements (公告公示栏)")
async def division_board(request: Request, session: Session, division: DivisionCode,
                         filed: str | None = Query(None, max_length=20), format: Format | None = _FORMAT) -> Response:
    """What is published under the division now (with the objection form of each) and what closed in the last 90
    days — household lists, funds and projects alike, named by place; older ones are in the archive."""
    now = request.app.state.clock.now()
    current, recent = await board.front_page(session, division, now)
    names, text = await _names(request, session, division, current + recent)
    title = board.label(division, names)
    if _json(request, format):
        return JSONResponse({"division": divisions.normalize(division), "name": title,
                             "current": current, "recent": recent})
    today = request.app.state.clock.today().isoformat()
    message = None
    if filed and (receipt := receipt_numbers.normalise(filed)):  # only a well-formed number is echoed
        message = (f"异议已提交，回执号 {receipt_numbers.spaced(receipt)}。请记下此号码，可凭它查询处理情况；"
                   f"我们不会公开您的姓名和电话。")
    services = {a["id"]: a["service"] for a in current}
    html = render.board_html(
        division=divisions.normalize(division), division_label=title,
        current=[a for a in current if a["period"]["end"] >= today],
        recent=[a for a in current if a["period"]["end"] < today] + recent,
        objection_url=_objection_url(request, services),
        board_url=str(request.url_for("division_board", division=division)),
        feed_url=str(request.url_for("division_feed", division=division)),
        archive_url=str(request.url_for("board_archive", division=division)),
        receipt_url=str(request.url_for("objection_lookup")), message=message, now=now,
        division_text=text, notice_url=lambda aid: str(request.url_for("public_notice", announcement_id=aid)),
    )
    return HTMLResponse(html)


@board_router.get("/boards/{division}/feed.atom", name="division_feed", response_class=Response,
                  responses={200: {"content": {"application/atom+xml": {}}}},
                  summary="Atom feed of the division's board: every service's announcements, named by place")
async def division_feed(request: Request, session: Session, division: DivisionCode) -> Response:
    """What the board shows (published now, closed in the last 90 days), for county portals, WeChat accounts and
    feed readers that follow one division: one entry per announcement of any service."""
    current, recent = await board.front_page(session, division, request.app.state.clock.now())
    names, _ = await _names(request, session, division, [])
    xml = render.atom_feed(
        division=divisions.normalize(division), division_label=board.label(division, names),
        announcements=current + recent, board_url=str(request.url_for("division_board", division=division)),
        feed_url=str(request.url_for("division_feed", division=division)), updated=request.app.state.clock.now(),
    )
    return Response(xml, media_type="application/atom+xml; charset=utf-8")


@board_router.get("/boards/{division}/archive", name="board_archive", response_class=Response,
                  responses=html_or_json(ArchiveOut), summary="Every announcement ever published under a division, searchable")
async def board_archive(
    request: Request, session: Session, division: DivisionCode,
    q: str | None = Query(None, max_length=100, description="words in the title or the text"),
    since: Day | None = Query(None, alias="from", description="published on or after (YYYY-MM-DD)"),
    until: Day | None = Query(None, alias="to", description="published on or before (YYYY-MM-DD)"),
    service: Literal[contract.SERVICES] | None = Query(None, description="who announced: registry, funds, projects"),  # type: ignore[valid-type]
    status: Literal["published", "closed", "withdrawn"] | None = None,
    page: int = Query(1, ge=1, le=10000),
    format: Literal["html", "json", "csv", "xlsx"] | None = Query(
        None, description="html (default), json, csv (UTF-8 with BOM, 中文表头) or xlsx; or send `Accept: "
        "application/json`, `text/csv` or the XLSX media type"),
) -> Response:
    """The archive: kept for good, newest first, 20 a page; search by words, publication dates, who announced and
    state. As a spreadsheet (csv, xlsx): every page of the search, one row per announcement."""
    if since and until and since > until:
        raise Unprocessable("起始日期晚于截止日期 (from is after to)",
                            errors=[{"field": "from", "reason": f"after to ({until.isoformat()})"}])
    search = board.Search(q=(q or "").strip() or None, since=since, until=until, service=service, status=status,
                          page=page)
    chosen = _archive_format(request, format)
    if chosen in ("csv", "xlsx"):
        download = Download(ARCHIVE, chosen)
        async for batch in board.archive_batches(session, division, search):
            download.write(batch)
        return download.response()
    items, total = await board.archive(session, division, search)
    pages = max(1, math.ceil(total / board.ARCHIVE_PAGE))
    if chosen == "json":
        return JSONResponse({"division": divisions.normalize(division), "total": total, "page": page, "pages": pages,
                             "items": items})
    names, text = await _names(request, session, division, items)
    shown = {"q": search.q or "", "from": since.isoformat() if since else "", "to": until.isoformat() if until else "",
             "service": service or "", "status": status or ""}
    base = str(request.url_for("board_archive", division=division))
    html = render.archive_html(
        items, now=request.app.state.clock.now(), division_label=board.label(division, names),
        board_url=str(request.url_for("division_board", division=division)), search=shown,
        services=contract.SERVICE_LABELS, total=total, page=page, pages=pages,
        page_url=lambda n: f"{base}?{urlencode({k: v for k, v in {**shown, 'page': n}.items() if v})}",
        division_text=text, notice_url=lambda aid: str(request.url_for("public_notice", announcement_id=aid)),
    )
    return HTMLResponse(html)


@board_router.get("/notices/{announcement_id}", name="public_notice", response_class=Response,
                  responses=html_or_json(BoardNoticeOut), summary="One announcement on its own page (HTML or JSON)")
async def public_notice(request: Request, session: Session, announcement_id: uuid.UUID = Path(),
                        format: Format | None = _FORMAT) -> Response:
    """Any service's announcement as published (masked), with its objection form while the period runs."""
    found = await board.notice(session, announcement_id)
    if found is None:
        raise NotFound("公告不存在 (no such announcement)")
    if _json(request, format):
        return JSONResponse(found)
    county = divisions.normalize(found["division"])[:6].ljust(12, "0")
    names, text = await _names(request, session, county, [found])
    html = render.notice_html(
        found, now=request.app.state.clock.now(), division_label=board.label(county, names),
        board_url=str(request.url_for("division_board", division=county)),
        json_url=str(request.url_for("public_notice", announcement_id=announcement_id)) + "?format=json",
        objection_url=_objection_url(request, {found["id"]: found["service"]}), division_text=text,
    )
    return HTMLResponse(html)


@board_router.get("/objections", name="objection_lookup", response_class=HTMLResponse,
                  responses={303: {"description": "a well-formed receipt: to its status page"},
                             422: {"description": "not a well-formed receipt number: the form again, saying so",
                                   "content": {"text/html": {"schema": {"type": "string"}}}}},
                  summary="Look an objection up by its receipt number (form)")
async def objection_lookup(request: Request, receipt: str | None = Query(None, max_length=20)) -> Response:
    """The look-up form; with ``receipt`` it redirects to that receipt's status page."""
    if receipt and (normal := receipt_numbers.normalise(receipt)):
        return RedirectResponse(str(request.url_for("objection_status", receipt=normal)), status_code=303)
    html = render.objection_html(None, receipt="", now=request.app.state.clock.now(),
                                 lookup_url=str(request.url_for("objection_lookup")))
    return HTMLResponse(html, status_code=422 if receipt else 200)


@board_router.get("/objections/{receipt}", name="objection_status", response_class=Response,
                  responses={**html_or_json(ObjectionStatusOut), 404: {"description": "no objection has this receipt number"},
                             422: {"description": "not a well-formed receipt number"}},
                  summary="Where an objection stands, by its receipt number: received or answered")
async def objection_status(request: Request, session: Session, receipt: str = Path(max_length=20),
                           format: Format | None = _FORMAT) -> Response:
    """Anyone holding the 10-character receipt number (Crockford base32 with a check character; hyphens and case
    ignored) sees whether the objection was received or answered, when, and the notice it concerns — never its
    text or who filed it."""
    normal = receipt_numbers.normalise(receipt)
    if normal is None:
        raise Unprocessable("回执号格式不正确 (not a valid receipt number: 10 characters with a check character)",
                            errors=[{"field": "receipt", "reason": "invalid receipt number"}])
    found = await board.objection(session, normal)
    view = board.objection_view(*found) if found else None
    if _json(request, format):
        if view is None:
            raise NotFound("未找到此回执号 (no objection with this receipt number)")
        return JSONResponse(view)
    notice_url = ""
    if view and view["announcement"]:
        notice_url = str(request.url_for("public_notice", announcement_id=view["announcement"]["id"]))
    html = render.objection_html(view and {**view, "receipt_spaced": receipt_numbers.spaced(normal)},
                                 receipt=receipt_numbers.spaced(normal), now=request.app.state.clock.now(),
                                 lookup_url=str(request.url_for("objection_lookup")), notice_url=notice_url)
    return HTMLResponse(html, status_code=200 if view else 404)
