"""Reading exports back in tests: the CSV with the csv module, the XLSX with openpyxl."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from openpyxl import load_workbook

BOM = "\ufeff"


def csv_rows(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment; filename*=UTF-8''" in response.headers["content-disposition"]
    text = response.content.decode("utf-8")
    assert text.startswith(BOM) and "\r\n" in text
    return list(csv.DictReader(io.StringIO(text[1:])))


def xlsx_rows(response) -> list[dict[str, object]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    width = len(rows[0])  # a row's trailing empty cells are not read back: pad them
    return [dict(zip(rows[0], (*row, *[None] * (width - len(row))))) for row in rows[1:]]


def yuan(value) -> str:
    """A money cell as JSON writes it: ``"1234.50"``."""
    return f"{Decimal(str(value)):.2f}"


async def both(client, path, params=None, headers=None, refused: int | None = None):
    """(JSON, CSV rows, XLSX rows) of one export: by ?format= for CSV, by Accept for XLSX;
    ``(None, None, None)`` when the JSON is answered ``refused`` (e.g. 403: another role reads it)."""
    params = dict(params or {})
    answer = await client.get(path, params=params, headers=headers)
    if refused is not None and answer.status_code == refused:
        return None, None, None
    assert answer.status_code == 200, answer.text
    as_csv = csv_rows(await client.get(path, params={**params, "format": "csv"}, headers=headers))
    as_xlsx = xlsx_rows(await client.get(path, params=params, headers={
        **(headers or {}), "Accept": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}))
    return answer.json(), as_csv, as_xlsx


def _xlsx_cell(value) -> str:
    """An XLSX cell read back, as text to compare with what the export meant to write."""
    from datetime import datetime

    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, float):
        return f"{Decimal(str(value)).normalize():f}"
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    return str(value)


def _meant(value, kind: str) -> str:
    """What the export's XLSX cell for ``value`` should read back as (see ``export._typed``)."""
    from shared.web.export import _typed

    typed = _typed(value, kind)  # noqa: SLF001 — the one definition of how a cell is typed
    if typed is None:
        return ""
    if hasattr(typed, "isoformat"):
        return typed.isoformat()[:10]
    if isinstance(typed, (Decimal, int)) and not isinstance(typed, bool):
        return f"{Decimal(typed).normalize():f}"
    return str(typed)


def assert_same_figures(export, answer, as_csv, as_xlsx, where: str = "") -> None:
    """CSV and XLSX rows read back hold, cell by cell, what the export's columns take from the JSON
    answer (``answer``: the JSON of the whole list, one page holding every row)."""
    from shared.web.export import _inert, _text

    rows = list(export.rows_of(answer))
    assert len(as_csv) == len(as_xlsx) == len(rows), f"{where}: {len(rows)} rows in JSON, {len(as_csv)} CSV, {len(as_xlsx)} XLSX"
    for index, (row, c, x) in enumerate(zip(rows, as_csv, as_xlsx)):
        assert list(c) == list(x) == list(export.headers), where
        for column in export.columns:
            value = column.value(row)
            assert c[column.header] == _inert(_text(value)), f"{where} row {index} {column.header}: CSV {c[column.header]!r}"
            assert _xlsx_cell(x[column.header]) == _meant(value, column.kind), (
                f"{where} row {index} {column.header}: XLSX {x[column.header]!r}, JSON {value!r}")


def _resolves(row, key: str) -> bool:
    """Whether the dotted ``key`` names a field of ``row`` (a null on the way counts: ``account``
    null answers ``account.bank_name``)."""
    value = row
    for part in key.split("."):
        if value is None:
            return True
        if not isinstance(value, dict) or part not in value:
            return False
        value = value[part]
    return True


def assert_columns_read_the_json(export, answer, where: str = "") -> None:
    """Every column named by a key reads a field the JSON rows have — a key the rows lack would
    write a column empty everywhere, which the cell-by-cell comparison cannot see."""
    rows = list(export.rows_of(answer))
    if not rows:
        return
    unread = [f"{c.header} ({c.key})" for c in export.columns
              if isinstance(c.key, str) and not any(_resolves(row, c.key) for row in rows)]
    assert unread == [], f"{where}: columns reading a field no JSON row has: {unread}"
