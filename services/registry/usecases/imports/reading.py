"""Reading an import file into rows of cells: CSV in UTF-8 (with or without BOM), GBK or GB18030
and ``.xls`` through ``services.registry.files``, the first sheet of an ``.xlsx`` with openpyxl in
read-only mode. No validation here (``validation.py``) and no database."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from services.registry import files
from shared.errors import Unprocessable

ID_FLOAT = "\x00FLOAT"  # an ID number stored in a number cell (digits lost)


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _xlsx_rows(source: bytes | Path) -> tuple[Iterator[tuple], int | None, Callable[[], None]]:
    import openpyxl
    from zipfile import BadZipFile

    # SyntaxError: xml.etree's ParseError of a broken or hostile XML part, met on opening or (read-only
    # mode reads the sheet lazily) on any row
    unreadable = (BadZipFile, KeyError, OSError, ValueError, SyntaxError)

    def refused(exc: Exception) -> Unprocessable:
        return Unprocessable("无法读取xlsx文件 (the .xlsx file cannot be read)",
                             errors=[{"row": 0, "field": "file", "reason": type(exc).__name__}], total_errors=1)

    if isinstance(source, bytes):
        files.check_expansion(source)
    try:
        book = openpyxl.load_workbook(io.BytesIO(source) if isinstance(source, bytes) else source,
                                      read_only=True, data_only=True)
        sheet = book.worksheets[0]
    except unreadable as exc:
        raise refused(exc) from None

    def rows() -> Iterator[tuple]:
        try:
            yield from sheet.iter_rows(min_row=1, values_only=True)
        except unreadable as exc:
            raise refused(exc) from None

    return rows(), sheet.max_row, book.close


def open_rows(data: bytes, filename: str) -> tuple[Iterable[Iterable[Any]], int | None, Callable[[], None], bool]:
    """``(rows, total or None, close, typed)`` of the file by its suffix; ``typed``: the cells are
    values of a spreadsheet (numbers, dates), not text. Refuses (422) any other file type."""
    suffix = Path(filename).suffix.lower()
    close: Callable[[], None] = lambda: None  # noqa: E731
    if suffix == ".csv":
        rows: Iterable[Iterable[Any]] = files.csv_rows(data)[0]  # UTF-8 (BOM or not), GBK, GB18030
        total: int | None = data.count(b"\n") + 1
    elif suffix == ".xlsx":
        rows, total, close = _xlsx_rows(data)
    elif suffix == ".xls":
        rows, total = files.sheet_rows(data)
    else:
        raise Unprocessable(
            f"不支持的文件类型 {suffix or '(none)'}，应为 .csv、.xls 或 .xlsx (unsupported file type; use .csv, .xls "
            "or .xlsx)", errors=[{"row": 0, "field": "file", "reason": "expected .csv, .xls or .xlsx"}], total_errors=1,
        )
    return rows, total, close, suffix != ".csv"
