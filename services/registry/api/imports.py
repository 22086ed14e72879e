"""``POST /imports``: bulk import of a 建档立卡 spreadsheet (.csv / .xlsx), all or nothing.

The work is :func:`services.registry.usecases.imports.run_import`; this router only authenticates, reads
the upload and hands over the request's transaction (owned by the idempotent route).
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import File, Query, Request, Response, UploadFile

from services.registry import files
from services.registry.api import exports
from services.registry.api.schemas import ImportsOut, RollImportedOut
from services.registry.usecases import uploads
from services.registry.usecases.imports import LAYOUT, MAX_ERRORS, layout_markdown
from shared.auth import Reader, Role, Writer
from shared.errors import Problem, Unprocessable
from shared.web import Session, router as make_router
from shared.web.export import exportable

router = make_router(prefix="/imports", tags=["imports (批量导入)"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

#: Uploads above this size are refused (use ``fupin registry import`` for bigger files).
MAX_UPLOAD_BYTES = 200 * 1024 * 1024

_DESCRIPTION = f"""
Upload a 建档立卡 spreadsheet — `.xlsx` or `.xls` (first sheet) or `.csv` (UTF-8 with or without BOM,
GBK or GB18030: the encoding is detected) — with **one row per person** and the household number on
every row, as multipart field `file`. The template is at `GET /imports/template`.

Idempotent by content: a retry with the same `Idempotency-Key` and the same file replays the first
answer (whatever the multipart boundary); the same file uploaded again after it was imported returns
that import's result with `replayed: true` and imports nothing. Every upload, imported or refused, is
in `GET /imports`. Persons who may already be registered under a mistyped ID number or another
spelling of their name are flagged for review (`duplicate_candidates`, see `GET /reports/duplicates`).

The whole file is validated before anything is written; if any row is bad, **nothing is imported**
and the answer is a 422 problem whose `errors` list every bad row as `{{row, field, reason}}` (row
numbers as in the file, `field` the column key; at most {MAX_ERRORS}, `total_errors` counts all).
A person who already belongs to an active household is reported on their row; the other household's
number is given in `household` only when your jurisdiction covers it. Full ID numbers never appear in
errors.

When the file is valid, households (status `registered`, or `exited` with a 脱贫年度), persons,
incomes and the status history are written in one transaction together with one
`registry.households.imported` event per 200 households (plus `registry.households.exits_imported`
for chunks with exited households). Every village must be in the divisions table and in your
jurisdiction. Roles: `county_office` (and `admin`).

Columns (Chinese header or English key; other columns are ignored; household-level columns must
agree across the rows of a household):

{layout_markdown()}
"""


@router.post(
    "", status_code=201,
    summary="Import households and persons from a spreadsheet (批量导入建档立卡数据)",
    description=_DESCRIPTION,
    responses={
        201: {"description": "imported", "model": RollImportedOut,
              "content": {"application/json": {"example": {
                  "import_id": "0192f2c4-8a1b-7000-8000-00000000abcd", "households": 1767, "persons": 4340,
                  "duplicate_candidates": 3, "replayed": False}}}},
        422: {"description": "the file is invalid: nothing was imported; `errors` lists every bad row"},
    },
)
async def import_file(
    request: Request,
    file: UploadFile = File(description=".xlsx, .xls or .csv in the 建档立卡 layout (one row per person)"),
    *, principal: Writer(Role.county_office),
    session: Session,
) -> dict[str, Any]:
    data = await file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        problem = Problem(f"文件过大，上限{MAX_UPLOAD_BYTES // 2**20} MiB (file larger than "
                          f"{MAX_UPLOAD_BYTES // 2**20} MiB; use `fupin registry import`)",
                          title="Payload too large", slug="too-large")
        problem.status = 413
        raise problem
    if not data:
        raise Unprocessable("上传的文件为空 (the uploaded file is empty)",
                            errors=[{"row": 0, "field": "file", "reason": "empty"}], total_errors=1)
    return await uploads.import_roll(session, request.app.state.sessionmaker, principal,
                                     filename=file.filename or "upload.csv", data=data, clock=request.app.state.clock)


@router.get("", summary="Import history (导入记录)",
            description="Every upload under your jurisdiction, newest first: kind (`roll`, `department:<dept>`), "
            "file name, SHA-256 of its content, the encoding read (CSV), `imported` or `refused`, and the result "
            "(counts, or the number of errors and the first 50 of them).", responses={200: {"model": ImportsOut}})
@exportable(exports.IMPORTS)
async def history(kind: str | None = Query(None, max_length=40), limit: int = Query(100, ge=1, le=1000),
                  *, principal: Reader(Role.county_office, Role.department),
                  session: Session) -> dict[str, Any]:
    return {"items": await uploads.history(session, principal.division, kind=kind, limit=limit)}


@router.get("/template", summary="Download the import template (导入模板)",
            description="The 建档立卡 layout as an `.xlsx` (header row, and a sheet explaining each column) or a UTF-8 "
            "CSV with the header row.", response_class=Response,
            responses={200: {"content": {XLSX: {}, "text/csv": {}}}})
async def template(format: Literal["xlsx", "csv"] = "xlsx") -> Response:
    headers = [c.header for c in LAYOUT]
    if format == "csv":
        return Response(files.template_csv(headers), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="roll-template.csv"'})
    notes = [(c.header, "是" if c.required else "否", c.description) for c in LAYOUT]
    return Response(files.template_xlsx(headers, notes), media_type=XLSX,
                    headers={"Content-Disposition": 'attachment; filename="roll-template.xlsx"'})


__all__ = ["router"]
