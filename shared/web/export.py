"""Spreadsheet exports of lists and reports: the JSON an endpoint answers, also as CSV or XLSX.

A read endpoint is made exportable with :func:`exportable` and an :class:`Export` naming its rows
and its columns — (key, 中文 header, kind) — and nothing else changes in it:

    @reports.get("/balances", ...)
    @exportable(Export("余额", rows="items", columns=(Column("division", "区划代码"), ...)))
    async def balances(...) -> dict: ...

Guarantees:

1. **One source of figures.** An export is rendered from the very dict the endpoint answers as
   JSON, so it shows the same figures, and the same masking: a role that sees a masked ID, mobile
   or account number in JSON sees it masked in the file, and one who may read it in full (a county
   office its households' ID numbers) finds it in full — nothing is looser or stricter than JSON;
   and the same citations: a text cell that mentions an internal reference names the document
   instead, as the JSON answer does (:mod:`shared.web.citations`).
2. **Choosing a format.** ``?format=json|csv|xlsx`` wins; otherwise ``Accept``: ``text/csv`` →
   CSV, the XLSX media type → XLSX, ``application/json``, ``*/*`` or none → JSON. Any other
   ``format`` is a 422 problem naming the field; an ``Accept`` that admits none of the three is a
   406 problem listing them.
3. **The files.** CSV: UTF-8 with a BOM (Excel on a Chinese Windows reads it as UTF-8, not GBK),
   Chinese headers, CRLF, one header row. XLSX: one sheet, the same header, money as numbers with
   two decimals, counts as integers, dates as dates (openpyxl's write-only mode). Both are
   downloads named in Chinese (RFC 6266 ``filename*``).
4. **Large exports stream.** Rows are written one by one into a spooled temporary file (memory up
   to 8 MiB, disk beyond) — across every page of a paginated list (:attr:`Export.paginated`:
   the endpoint is called again with each ``next_cursor``) — and the file is sent in chunks.
5. **Documented.** Every exportable operation lists ``text/csv`` and the XLSX media type beside
   ``application/json`` in OpenAPI, and its ``format`` parameter (see :func:`document`).
"""

from __future__ import annotations

import codecs
import csv
import functools
import inspect
import io
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal, get_args, get_origin, get_type_hints
from urllib.parse import quote

from fastapi import Query, Request
from fastapi.responses import Response, StreamingResponse

from shared.errors import Problem
from shared.web.citations import public_string
from shared.web.pagination import PageParams, decode_cursor

CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
JSON = "application/json"
MEDIA_TYPES = {"csv": CSV, "xlsx": XLSX, "json": JSON}
BOM = "\ufeff"
EXPORT_ATTR = "__fupin_export__"
PAGE_LIMIT = 500  # rows fetched per page of a paginated list
_SPOOL_BYTES = 8 << 20
_CHUNK = 64 << 10

#: an internal reference in a text cell (shared.web.citations: a sheet cites documents as JSON does)
_INTERNAL = re.compile(r"seed 0|DOMAIN|ARCHITECTURE")
ExportFormat = Literal["json", "csv", "xlsx"]
FORMAT_DESCRIPTION = ("json (default), csv (UTF-8 with BOM, 中文表头) or xlsx; "
                      "or send `Accept: text/csv` / the XLSX media type")
Kind = Literal["text", "yuan", "int", "percent", "date"]


class NotAcceptable(Problem):
    status, title, slug = 406, "Not acceptable", "not-acceptable"


@dataclass(frozen=True)
class Column:
    """One column: ``key`` — a dotted path into a row (``period.end``) or a function of the row;
    ``header`` — what the sheet calls it (中文); ``kind`` — how XLSX types it; ``label`` — maps a
    code to its label (a code list's Chinese name) before it is written."""

    key: str | Callable[[Mapping[str, Any]], Any]
    header: str
    kind: Kind = "text"
    label: Callable[[Any], Any] | None = None

    def value(self, row: Mapping[str, Any]) -> Any:
        value: Any = row
        if callable(self.key):
            value = self.key(row)
        else:
            for part in self.key.split("."):
                value = value.get(part) if isinstance(value, Mapping) else None
        if self.label is not None and value is not None:
            value = self.label(value)
        return public_string(value) if isinstance(value, str) and _INTERNAL.search(value) else value


@dataclass(frozen=True)
class Export:
    """What a spreadsheet of the endpoint holds: ``name`` (the file and sheet name, 中文), the
    ``rows`` (the key of the answer's list, or a function of the answer: ``whole`` for a one-row
    report), the ``columns``; ``paginated``: the endpoint takes ``params: PageParams`` and answers
    ``next_cursor`` — the export holds every page."""

    name: str
    columns: tuple[Column, ...]
    rows: str | Callable[[Mapping[str, Any]], Iterable[Mapping[str, Any]]] = "items"
    paginated: bool = False
    headers: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "headers", tuple(c.header for c in self.columns))

    def rows_of(self, answer: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
        return self.rows(answer) if callable(self.rows) else answer.get(self.rows) or []


def labels(table: Mapping[str, str]) -> Callable[[Any], Any]:
    """A code's label from a code list (the code itself when the list does not have it)."""
    return lambda code: table.get(code, code)


def whole(answer: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """A report that is one row: the answer itself."""
    return [answer]


# -- choosing the format ---------------------------------------------------------------------------

def _accepted(accept: str) -> list[tuple[float, str]]:
    ranges = []
    for part in accept.split(","):
        media, *params = [p.strip() for p in part.split(";")]
        q = 1.0
        for p in params:
            if p.startswith("q="):
                try:
                    q = float(p[2:])
                except ValueError:
                    q = 0.0
        if media:
            ranges.append((q, media.lower()))
    return sorted(ranges, key=lambda r: -r[0])


def negotiate(request: Request, format: str | None) -> str:
    """json, csv or xlsx: the ``format`` query parameter, else the ``Accept`` header (guarantee 2)."""
    if format is not None:
        return format
    accept = request.headers.get("accept")
    if not accept:
        return "json"
    for q, media in _accepted(accept):
        if q <= 0:
            continue
        for name, media_type in (("csv", CSV), ("xlsx", XLSX), ("json", JSON)):
            if media == media_type:
                return name
        if media in ("*/*", "application/*", "text/html", "application/xhtml+xml", "application/problem+json"):
            return "json"  # a browser or a generic client: JSON as ever
        if media == "text/*":
            return "csv"
    raise NotAcceptable(
        f"无法提供所要求的格式 (none of the formats this endpoint answers is acceptable: {JSON}, {CSV}, {XLSX}; "
        f"or use ?format=json|csv|xlsx)", acceptable=[JSON, CSV, XLSX])


# -- writing ---------------------------------------------------------------------------------------

#: What a spreadsheet reads as the start of a formula (OWASP "CSV injection"): a text cell starting
#: with one of these is written inert — in CSV behind an apostrophe, in XLSX as a string cell.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _formula_like(text: str) -> bool:
    """Text a spreadsheet would run as a formula — a plain number (``-12.50``) is not."""
    if not text.startswith(FORMULA_START):
        return False
    try:
        Decimal(text)
    except InvalidOperation:
        return True
    return not Decimal(text).is_finite()


def _inert(text: str) -> str:
    """A CSV cell that no spreadsheet runs as a formula."""
    return "'" + text if _formula_like(text) else text


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (list, tuple)):
        return "、".join(_text(v) for v in value)
    if isinstance(value, Mapping):
        return "；".join(f"{k}：{_text(v)}" for k, v in value.items())
    return str(value)


def _typed(value: Any, kind: Kind) -> Any:
    """The XLSX cell value: numbers and dates typed, anything else text."""
    if value is None or value == "":
        return None
    try:
        if kind in ("yuan", "percent"):
            return Decimal(str(value))
        if kind == "int":
            return int(value)
        if kind == "date":
            return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    except (InvalidOperation, ValueError, TypeError):
        pass
    return _text(value)


class _CsvFile:
    """CSV bytes (UTF-8 with a BOM, CRLF) into the binary file ``out``, row by row."""

    def __init__(self, export: Export, out) -> None:
        self.export = export
        text = codecs.getwriter("utf-8")(out)
        text.write(BOM)
        self.writer = csv.writer(text, lineterminator="\r\n")
        self.writer.writerow(export.headers)

    def write(self, rows: Iterable[Mapping[str, Any]]) -> None:
        self.writer.writerows([_inert(_text(c.value(row))) for c in self.export.columns] for row in rows)

    def close(self) -> None:
        pass


_FORMATS = {"yuan": "#,##0.00", "percent": "0.00", "int": "0", "date": "yyyy-mm-dd"}


class _XlsxFile:
    """One sheet, header row first, typed cells (openpyxl write-only mode: each row is written out
    as it is appended) into ``out``."""

    def __init__(self, export: Export, out) -> None:
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Font

        self.export, self.out, self.cell = export, out, WriteOnlyCell
        self.book = Workbook(write_only=True)
        self.sheet = self.book.create_sheet(title=export.name[:31])
        bold = Font(bold=True)
        header = []
        for h in export.headers:
            cell = WriteOnlyCell(self.sheet, value=h)
            cell.font = bold
            header.append(cell)
        self.sheet.append(header)

    def write(self, rows: Iterable[Mapping[str, Any]]) -> None:
        for row in rows:
            cells = []
            for column in self.export.columns:
                value = _typed(column.value(row), column.kind)
                if column.kind in _FORMATS and value is not None and not isinstance(value, str):
                    cell = self.cell(self.sheet, value=value)  # a styled cell only where a number format is due
                    cell.number_format = _FORMATS[column.kind]
                    value = cell
                elif isinstance(value, str) and value.startswith("="):  # openpyxl would take it for a formula
                    cell = self.cell(self.sheet, value=value)
                    cell.data_type = "s"
                    value = cell
                cells.append(value)
            self.sheet.append(cells)

    def close(self) -> None:
        self.book.save(self.out)


def _chunks(spool) -> Iterator[bytes]:
    spool.seek(0)
    try:
        while chunk := spool.read(_CHUNK):
            yield chunk
    finally:
        spool.close()


class Download:
    """A CSV or XLSX file being written (guarantees 3 and 4): :meth:`write` rows, then
    :meth:`response`."""

    def __init__(self, export: Export, format: str, filename: str | None = None) -> None:
        self.export, self.format = export, format
        self.filename = f"{filename or export.name}.{format}"
        self.spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115 (closed by _chunks)
        self.file = (_CsvFile if format == "csv" else _XlsxFile)(export, self.spool)

    def write(self, rows: Iterable[Mapping[str, Any]]) -> None:
        self.file.write(rows)

    def response(self) -> Response:
        self.file.close()
        media = f"{CSV}; charset=utf-8" if self.format == "csv" else XLSX
        return StreamingResponse(_chunks(self.spool), media_type=media, headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(self.filename)}"})


def csv_text(export: Export, rows: Iterable[Mapping[str, Any]]) -> str:
    """The rows as CSV text (starting with the BOM), e.g. for a file written by a command."""
    out = io.BytesIO()
    _CsvFile(export, out).write(rows)
    return out.getvalue().decode("utf-8")


def file_response(export: Export, format: str, rows: Iterable[Mapping[str, Any]], filename: str | None = None) -> Response:
    """The rows as a CSV or XLSX download."""
    download = Download(export, format, filename)
    download.write(rows)
    return download.response()


# -- making an endpoint exportable -----------------------------------------------------------------

_FORMAT_PARAMETER = "format"
_REQUEST_PARAMETER = "export_request"


def exportable(export: Export) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give the endpoint a ``format`` parameter (json, csv, xlsx; or ``Accept``) and answer its
    dict as a file when asked. The endpoint must not have a ``format`` parameter of its own."""

    def decorate(endpoint: Callable[..., Any]) -> Callable[..., Any]:
        hints = get_type_hints(endpoint, include_extras=True)
        signature = inspect.signature(endpoint)
        if _FORMAT_PARAMETER in signature.parameters:
            raise TypeError(f"{endpoint.__name__} already has a format parameter")
        parameters = [p.replace(annotation=hints.get(name, p.annotation)) for name, p in signature.parameters.items()]
        parameters += [
            inspect.Parameter(_FORMAT_PARAMETER, inspect.Parameter.KEYWORD_ONLY, annotation=ExportFormat | None,
                              default=Query(None, description=FORMAT_DESCRIPTION)),
        ]
        # FastAPI hands the request to one parameter only: the endpoint's own, else one added here
        request_parameter = next((name for name in signature.parameters if _bare(hints.get(name)) is Request), None)
        if request_parameter is None:
            request_parameter = _REQUEST_PARAMETER
            parameters.append(inspect.Parameter(_REQUEST_PARAMETER, inspect.Parameter.KEYWORD_ONLY, annotation=Request))
        own_request = request_parameter != _REQUEST_PARAMETER
        page_parameter = next((name for name in signature.parameters if _bare(hints.get(name)) is PageParams), None)
        if export.paginated and page_parameter is None:
            raise TypeError(f"{endpoint.__name__} is paginated but takes no PageParams")

        @functools.wraps(endpoint)
        async def answer(*args: Any, **kwargs: Any) -> Any:
            format = kwargs.pop(_FORMAT_PARAMETER)
            request = kwargs[request_parameter] if own_request else kwargs.pop(_REQUEST_PARAMETER)
            chosen = negotiate(request, format)
            if chosen == "json":
                return await endpoint(*args, **kwargs)
            if not export.paginated:
                return file_response(export, chosen, export.rows_of(await endpoint(*args, **kwargs)))
            download = Download(export, chosen)
            params = PageParams(None, PAGE_LIMIT)
            while True:  # every page, written out as it comes
                kwargs[str(page_parameter)] = params
                page = await endpoint(*args, **kwargs)
                download.write(export.rows_of(page))
                if not page.get("next_cursor"):
                    return download.response()
                params = PageParams(decode_cursor(page["next_cursor"]), PAGE_LIMIT)

        answer.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=_ordered(parameters), return_annotation=hints.get("return", signature.return_annotation))
        setattr(answer, EXPORT_ATTR, export)
        return answer

    return decorate


def _bare(hint: Any) -> Any:
    """``X`` of ``Annotated[X, …]`` (the shared ``Paging``, ``Session`` aliases), else the hint."""
    return get_args(hint)[0] if get_origin(hint) is Annotated else hint


def _ordered(parameters: list[inspect.Parameter]) -> list[inspect.Parameter]:
    return sorted(parameters, key=lambda p: p.kind)  # stable: keyword-only ones go last


def document(operation: dict[str, Any], export: Export) -> None:
    """OpenAPI: the 200 answer's CSV and XLSX media types, and the 406 answer (guarantee 5)."""
    ok = operation.setdefault("responses", {}).setdefault("200", {"description": "Successful Response"})
    content = ok.setdefault("content", {})
    content.setdefault(JSON, {"schema": {}})
    content[CSV] = {"schema": {"type": "string", "description": f"{export.name}：UTF-8 with BOM, headers "
                                                                  f"{'、'.join(export.headers)}"}}
    content[XLSX] = {"schema": {"type": "string", "format": "binary"}}
    operation["responses"]["406"] = {
        "description": "none of application/json, text/csv, the XLSX media type is acceptable",
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
