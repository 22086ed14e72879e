"""Reference data over HTTP: load administrative divisions (CSV or JSON) and read them as of a date."""

from __future__ import annotations

import datetime as _dt
import json
from datetime import date
from typing import Any, Literal

from fastapi import Path, Query, Request
from pydantic import BaseModel, Field

from services.registry.usecases import reference
from shared.auth import Caller, Role, Writer
from shared.divisions import DivisionCode
from shared.errors import Problem, Unprocessable
from shared.web import Paging, Session, router as make_router

router = make_router(prefix="/divisions", tags=["reference data"])

_LEVELS = Literal["province", "city", "county", "township", "village"]
_MAX_BODY = 50 * 1024 * 1024


class AsOf(BaseModel):
    day: _dt.date = Field(alias="date")
    name: str = Field(description="the name in force on the date (an alias before a rename)")
    flags: list[dict[str, Any]] = Field(description="the flags in force on the date")
    existed: bool = Field(description="whether the date is within valid_from–valid_to")


class DivisionOut(BaseModel):
    code: str
    name: str
    level: _LEVELS
    parent: str | None
    valid_from: date | None
    valid_to: date | None
    aliases: list[dict[str, Any]] = Field(description="[{name, from, to, note?}] — former or other names; `to` inclusive")
    flags: list[dict[str, Any]] = Field(description="[{flag, from, to, class?, area?, year?, note?}]; flag one of "
                                        + ", ".join(reference.FLAGS))
    rural_population: int | None
    population_year: int | None
    synthetic: bool = Field(description="the code (or data) was made up where the real one was not at hand")
    as_of: AsOf | None = None


class DivisionPage(BaseModel):
    items: list[DivisionOut]
    next_cursor: str | None


class LoadOut(BaseModel):
    created: int
    updated: int
    unchanged: int
    events: int = Field(description="registry.divisions.loaded events written (0 when nothing changed)")


_CSV_EXAMPLE = (
    "code,name,level,parent,valid_from,valid_to,aliases,flags,rural_population,population_year,synthetic\n"
    "652722103000,托托镇,township,,,,\"[{\"\"name\"\":\"\"托托乡\"\",\"\"from\"\":null,\"\"to\"\":\"\"2015-12-31\"\"}]\",[],,,true\n"
)


def _problem(exc: reference.DivisionDataError) -> Unprocessable:
    errors = [
        {"field": (f"line {e['line']}: " if "line" in e else f"item {e['item']}: " if "item" in e else "") + e["field"],
         "reason": e["reason"]}
        for e in exc.errors
    ]
    return Unprocessable(f"区划数据无效 (division data invalid: {len(errors)} error(s))", errors=errors)


@router.put(
    "",
    response_model=LoadOut,
    summary="Load divisions (导入区划参考数据)",
    description=(
        "Upsert administrative divisions. The body is either a CSV file sent raw as `text/csv` "
        "(columns `code,name,level,parent,valid_from,valid_to,aliases,flags,rural_population,population_year,synthetic`; "
        "lines starting with `#` are comments; aliases/flags cells hold JSON) or a JSON array of objects with the same keys. "
        "Everything is validated first: any bad line (bad code, level not matching the code, unknown flag, bad JSON, "
        "negative population, …) refuses the whole load with 422 listing every error by line. A record identical to the "
        "stored one is not rewritten; changed and new records are written with one `registry.divisions.loaded` event "
        "(split into parts of ≤500 records). Admins and province offices, within their jurisdiction; needs an Idempotency-Key."
    ),
    openapi_extra={"requestBody": {"required": True, "content": {
        "text/csv": {"schema": {"type": "string"}, "example": _CSV_EXAMPLE},
        "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
    }}},
)
async def load(request: Request, principal: Writer(Role.province_office),
               session: Session) -> dict[str, Any]:
    body = await request.body()
    if len(body) > _MAX_BODY:
        problem = Problem("文件过大 (body larger than 50 MB)", title="Payload too large", slug="too-large")
        problem.status = 413
        raise problem
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if media in ("text/csv", "text/plain", "application/csv"):
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                raise Unprocessable("CSV须为UTF-8编码 (the CSV must be UTF-8)",
                                    errors=[{"field": "body", "reason": "not UTF-8"}]) from None
            records = reference.parse_divisions_csv(text)
        elif media == "application/json":
            try:
                items = json.loads(body)
            except ValueError as exc:
                raise Unprocessable("JSON无效 (invalid JSON body)", errors=[{"field": "body", "reason": str(exc)}]) from None
            records = reference.parse_division_items(items)
        else:
            problem = Problem(f"不支持的内容类型 (unsupported Content-Type {media or 'none'!r}; "
                              "send text/csv or application/json)",
                              title="Unsupported media type", slug="unsupported-media-type")
            problem.status = 415
            raise problem
        result = await reference.load_within(session, principal, records)
    except reference.DivisionDataError as exc:
        raise _problem(exc) from None
    return result.as_dict()


@router.get(
    "",
    response_model=DivisionPage,
    summary="List divisions (查询区划)",
    description=(
        "Divisions ordered by code, cursor-paginated. Filters: `parent` (the direct children of a division; "
        "`000000000000` lists provinces), `level`, and `q` — a code prefix (digits) or part of the name or of any "
        "alias (e.g. `托托乡` finds 托托镇). With `on`, each item also has `as_of`: its name and flags in force on "
        "that date. Any authenticated role."
    ),
)
async def list_divisions(
    parent: DivisionCode | None = Query(None, description="only the direct children of this division"),
    level: _LEVELS | None = Query(None),
    q: str | None = Query(None, min_length=1, max_length=50, description="code prefix, or part of a name or alias"),
    on: date | None = Query(None, description="also report name and flags in force on this date (YYYY-MM-DD)"),
    *, _: Caller,
    params: Paging,
    session: Session,
) -> dict[str, Any]:
    return await reference.list_divisions(session, params, parent=parent, level=level, q=q, on=on)


@router.get(
    "/{code}",
    response_model=DivisionOut,
    summary="One division as of a date (区划详情)",
    description=(
        "The stored record with `as_of`: the name in force on `on` (an alias before a rename — 托托乡 before 2016, "
        "托托镇 after), the flags in force (贫困县, 片区, 贫困村 class, 摘帽/出列 year, …) and whether the unit existed. "
        "`on` defaults to today. The code may be given as a 2/4/6/9-digit prefix (`652722`). Any authenticated role."
    ),
)
async def read_division(
    request: Request,
    code: DivisionCode = Path(description="12-digit division code or its prefix form"),
    on: date | None = Query(None, description="YYYY-MM-DD; default today"),
    *, _: Caller,
    session: Session,
) -> dict[str, Any]:
    return await reference.read_division(session, code, on or request.app.state.clock.today())
