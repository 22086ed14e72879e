"""shared.web.export: choosing the format, the CSV and XLSX files, the receipt numbers' reading."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from starlette.requests import Request

from shared import receipt_numbers
from shared.web.export import CSV, XLSX, Column, Download, Export, NotAcceptable, csv_text, labels, negotiate

SAMPLE = Export("样表", rows="items", columns=(
    Column("name", "名称"), Column("money", "金额（元）", "yuan"), Column("n", "数量", "int"),
    Column("on", "日期", "date"), Column("where.code", "区划"), Column(lambda r: r["n"] * 2, "两倍", "int"),
    Column("kind", "类别", label=labels({"a": "甲类"})),
))
ROWS = [{"name": "张三,\"引号\"", "money": "1234.50", "n": 3, "on": "2017-03-01", "where": {"code": "652722"},
         "kind": "a"},
        {"name": "李四", "money": None, "n": 0, "on": None, "where": None, "kind": "b"}]


def request(accept: str | None) -> Request:
    headers = [(b"accept", accept.encode())] if accept is not None else []
    return Request({"type": "http", "method": "GET", "path": "/", "headers": headers, "query_string": b""})


@pytest.mark.parametrize(("accept", "chosen"), [
    (None, "json"), ("application/json", "json"), ("*/*", "json"), (CSV, "csv"), (XLSX, "xlsx"),
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "json"),
    (f"{CSV};q=0.5, {XLSX}", "xlsx"), ("text/csv; charset=utf-8", "csv"),
])
def test_the_accept_header_chooses(accept, chosen):
    assert negotiate(request(accept), None) == chosen


def test_the_format_parameter_wins_and_an_unacceptable_accept_is_refused():
    assert negotiate(request("application/json"), "xlsx") == "xlsx"
    with pytest.raises(NotAcceptable):
        negotiate(request("application/pdf"), None)
    with pytest.raises(NotAcceptable):
        negotiate(request(f"{CSV};q=0"), None)


def test_csv_has_a_bom_chinese_headers_crlf_and_quotes():
    text = csv_text(SAMPLE, ROWS)
    assert text.startswith("\ufeff名称,金额（元）,数量,日期,区划,两倍,类别\r\n")
    rows = list(csv.DictReader(io.StringIO(text[1:])))
    assert rows[0] == {"名称": "张三,\"引号\"", "金额（元）": "1234.50", "数量": "3", "日期": "2017-03-01",
                       "区划": "652722", "两倍": "6", "类别": "甲类"}
    assert rows[1]["金额（元）"] == "" and rows[1]["类别"] == "b"


def test_xlsx_cells_are_typed():
    download = Download(SAMPLE, "xlsx")
    download.write(ROWS)
    download.file.close()
    download.spool.seek(0)
    sheet = load_workbook(io.BytesIO(download.spool.read())).worksheets[0]
    assert sheet.title == "样表" and sheet["A1"].value == "名称" and sheet["A1"].font.bold
    assert Decimal(str(sheet["B2"].value)) == Decimal("1234.50") and sheet["B2"].number_format == "#,##0.00"
    assert sheet["C2"].value == 3 and sheet["D2"].value.date() == date(2017, 3, 1)
    assert sheet["B3"].value is None and sheet["G3"].value == "b"


def test_derived_receipts_are_stable_well_formed_and_catch_typos():
    receipt = receipt_numbers.derived("01a23c0b-4dff-733c-9097-a3b6ddc2d28f")
    assert receipt == receipt_numbers.derived("01a23c0b-4dff-733c-9097-a3b6ddc2d28f") and len(receipt) == 10
    assert receipt_numbers.normalise(receipt_numbers.spaced(receipt).lower()) == receipt
    for i in range(9):
        swapped = receipt[:i] + receipt[i + 1] + receipt[i] + receipt[i + 2:]
        if swapped != receipt:
            assert receipt_numbers.normalise(swapped) is None
    assert len({receipt_numbers.derived(str(n)) for n in range(2000)}) == 2000


HOSTILE_CELLS = ["=HYPERLINK(\"http://evil.example\",\"点我\")", "+1+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0",
                 "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1"]


@pytest.mark.parametrize("cell", HOSTILE_CELLS)
def test_a_text_cell_that_starts_a_formula_is_written_inert(cell):
    rows = [{**ROWS[0], "name": cell, "money": "-12.50"}]
    row = next(csv.DictReader(io.StringIO(csv_text(SAMPLE, rows)[1:])))
    assert row["名称"] == "'" + cell and row["金额（元）"] == "-12.50"  # a negative amount stays a number
    download = Download(SAMPLE, "xlsx")
    download.write(rows)
    download.file.close()
    download.spool.seek(0)
    sheet = load_workbook(io.BytesIO(download.spool.read())).worksheets[0]
    assert sheet["A2"].value == cell and sheet["A2"].data_type == "s"
    assert sheet["B2"].value == Decimal("-12.50") or Decimal(str(sheet["B2"].value)) == Decimal("-12.50")
