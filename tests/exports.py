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
    return [dict(zip(rows[0], row)) for row in rows[1:]]


def yuan(value) -> str:
    """A money cell as JSON writes it: ``"1234.50"``."""
    return f"{Decimal(str(value)):.2f}"


async def both(client, path, params=None, headers=None):
    """(JSON, CSV rows, XLSX rows) of one export: by ?format= for CSV, by Accept for XLSX."""
    params = dict(params or {})
    answer = await client.get(path, params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    as_csv = csv_rows(await client.get(path, params={**params, "format": "csv"}, headers=headers))
    as_xlsx = xlsx_rows(await client.get(path, params=params, headers={
        **(headers or {}), "Accept": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}))
    return answer.json(), as_csv, as_xlsx
