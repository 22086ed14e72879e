"""Bulk exchange with other departments (部门数据比对与交换): lookup of a list of ID numbers,
department list uploads, the roll export — HTTP → one use case each."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import File, Path, Request, Response, UploadFile
from pydantic import BaseModel, Field

from services.registry import files
from services.registry.api.schemas import DepartmentListOut, LookupOut
from services.registry.usecases import department_lists, lookup as bulk, roll_export
from services.registry.api.imports import MAX_UPLOAD_BYTES, XLSX
from shared.auth import Reader, Role, Writer, ensure_jurisdiction
from shared.divisions import DivisionCode
from shared.errors import Forbidden, Unprocessable
from shared.web import Session, router

exchange = router(tags=["exchange (部门数据交换)"])

READERS = (Role.village, Role.township, Role.county_office, Role.city_office, Role.province_office,
           Role.county_finance, Role.department)


class LookupIn(BaseModel):
    id_numbers: list[str] = Field(min_length=1, max_length=bulk.MAX_IDS,
                                  description=f"up to {bulk.MAX_IDS} 18-character ID numbers")


@exchange.post(
    "/persons/lookup", summary="Look up a list of ID numbers (批量比对)",
    # read-only: outside the group commit, whose members run holding the log's append lock
    openapi_extra={"x-idempotency": "optional", "x-group-commit": False},
    description=f"Up to {bulk.MAX_IDS:,} ID numbers in one request → for each, in the order sent: `found`, and when "
    "found in your jurisdiction the person's registry status (`status`, `on_roll`, household number, village, "
    "poverty attribute, main cause) and the person's fields your role may read — offices everything; a department "
    "the basic fields and its own (教育 school stage, 卫健 health, 残联 disability grade, and its `details`), as on "
    "every person read. A "
    "number registered outside your jurisdiction answers `found: false`. Every malformed number is named in one "
    "422 (`id_numbers[i]`). Read-only: no Idempotency-Key needed.", responses={200: {"model": LookupOut}})
async def lookup(body: LookupIn, request: Request, principal: Reader(*READERS),
                 session: Session) -> Response:
    items = await bulk.lookup(session, principal, body.id_numbers, request.app.state.clock.today())
    # 10,000 plain dicts of JSON types: serialised directly (FastAPI's encoder walks each value)
    return Response(orjson.dumps({"count": len(items), "found": sum(i["found"] for i in items), "items": items}),
                    media_type="application/json")


Dept = Path(description="civil_affairs | education | health | human_resources | disabled_persons",
            pattern="^(" + "|".join(department_lists.HEADERS) + ")$")


@exchange.post(
    "/departments/{dept}/lists", status_code=201, summary="Upload a department's list (部门名单导入)",
    description="A department's `.xlsx`, `.xls` or `.csv` (UTF-8 or GBK) with one row per person: 证件号码 and the "
    "department's own columns (template: `GET /departments/{dept}/lists/template`). Every row is validated first "
    "— a well-formed ID number of an active person in your jurisdiction, listed once, valid values — and every bad "
    "row is named; one bad row and nothing is written. The same file again returns the first result "
    "(`replayed: true`). Each upload is in `GET /imports` (kind `department:<dept>`). Only that department's token.",
    responses={201: {"model": DepartmentListOut}})
async def department_list(request: Request, dept: str = Dept,
                          file: UploadFile = File(description=".xlsx, .xls or .csv"),
                          *, principal: Writer(Role.department),
                          session: Session) -> dict[str, Any]:
    if Role.admin not in principal.roles and principal.dept != dept:
        raise Forbidden(f"只能导入本部门名单 (a {principal.dept} token may not upload {dept} lists)")
    data = await file.read(MAX_UPLOAD_BYTES + 1)
    if not data or len(data) > MAX_UPLOAD_BYTES:
        raise Unprocessable("文件为空或过大 (the file is empty or too large)",
                            errors=[{"row": 0, "field": "file", "reason": "empty or too large"}], total_errors=1)
    return await department_lists.import_list(session, request.app.state.sessionmaker, principal, dept,
                                              filename=file.filename or "list.csv", data=data,
                                              clock=request.app.state.clock)


@exchange.get("/departments/{dept}/lists/template", summary="A department list's template",
              description="An `.xlsx` with the header row (证件号码 and the department's columns).",
              response_class=Response, responses={200: {"content": {XLSX: {}}}})
async def department_template(dept: str = Dept) -> Response:
    headers = department_lists.template_headers(dept)
    return Response(files.template_xlsx(headers, [(h, "是" if h == "证件号码" else "否", "") for h in headers]),
                    media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{dept}-template.xlsx"'})


@exchange.get("/exports/roll", summary="Export the roll in the 建档立卡 layout (花名册导出, .xlsx)",
              description="Households on the roll or exited under the division (default: yours), one row per active "
              "person, in the import layout (the same Chinese headers and labels, so the file can be imported "
              "again). A department gets the basic person columns and its own only.",
              response_class=Response, responses={200: {"content": {XLSX: {}}}})
async def export_roll(division: DivisionCode | None = None,
                      *, principal: Reader(*READERS),
                      session: Session) -> Response:
    scope = division or principal.division
    ensure_jurisdiction(principal, scope)
    data = await roll_export.export(session, principal, scope)
    return Response(data, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="roll-{scope}.xlsx"'})
