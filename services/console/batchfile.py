"""A disbursement batch (拨付批次) from a spreadsheet: one row per line, read with the registry's
file readers (CSV in UTF-8/GBK/GB18030, .xls, .xlsx), turned into the body of the funds service's
``POST /disbursement-batches``. The count and total of the envelope are those of the file; every
row that cannot become a line is named (row, column, reason) and nothing is sent."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from services.registry.contract import csv_rows, sheet_rows
from shared.errors import Unprocessable
from shared.money import MoneyError, format_fen, parse_yuan

#: (key, Chinese header, required)
COLUMNS: tuple[tuple[str, str, bool], ...] = (
    ("line_ref", "行号", True),
    ("project_code", "项目编号", True),
    ("channel", "资金渠道", True),
    ("fiscal_year", "资金年度", True),
    ("payee_kind", "收款人类型", True),
    ("payee_name", "收款人", True),
    ("household_id", "户ID", False),
    ("amount", "金额（元）", True),
    ("purpose", "用途", False),
)
PAYEE_KINDS = {"household": "household", "农户": "household", "enterprise": "enterprise", "企业": "enterprise",
               "cooperative": "cooperative", "合作社": "cooperative", "contractor": "contractor",
               "施工单位": "contractor"}


def template_csv() -> bytes:
    return ("\ufeff" + ",".join(header for _, header, _ in COLUMNS) + "\r\n").encode("utf-8")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value).strip()


def read_rows(filename: str, data: bytes) -> list[list[Any]]:
    if filename.lower().endswith((".xlsx", ".xls")):
        rows, _ = sheet_rows(data)
        return rows
    reader, _ = csv_rows(data)
    return list(reader)


def parse(filename: str, data: bytes) -> tuple[list[dict[str, Any]], str, int]:
    """(lines, total in yuan, count) — or a 422 naming every bad row."""
    rows = [row for row in read_rows(filename, data) if any(_text(cell) for cell in row)]
    if not rows:
        raise Unprocessable("文件为空 (the file is empty)", errors=[{"row": 0, "field": "file", "reason": "empty"}])
    header = [_text(cell) for cell in rows[0]]
    where: dict[str, int] = {}
    for index, name in enumerate(header):
        for key, chinese, _ in COLUMNS:
            if name in (key, chinese):
                where[key] = index
    errors: list[dict[str, Any]] = [{"row": 1, "field": chinese, "reason": f"缺少列“{chinese}” (missing column {key})"}
                                    for key, chinese, required in COLUMNS if required and key not in where]
    if errors:
        raise Unprocessable("表头不完整 (the header row lacks columns)", errors=errors)
    lines, total_fen = [], 0
    for number, row in enumerate(rows[1:], start=2):
        cell = {key: _text(row[i]) if i < len(row) else "" for key, i in where.items()}
        bad = [{"row": number, "field": chinese, "reason": "必填 (required)"}
               for key, chinese, required in COLUMNS if required and not cell.get(key)]
        amount, fen = cell.get("amount", ""), 0
        if amount:
            try:
                fen = parse_yuan(amount)
            except MoneyError as exc:
                bad.append({"row": number, "field": "金额（元）", "reason": f"{exc} ({amount!r})"})
        kind = PAYEE_KINDS.get(cell.get("payee_kind", ""))
        if cell.get("payee_kind") and kind is None:
            bad.append({"row": number, "field": "收款人类型", "reason": f"未知类型 (unknown payee kind {cell['payee_kind']!r}; "
                        f"one of {sorted(set(PAYEE_KINDS))})"})
        year = cell.get("fiscal_year", "")
        if year and not (year.isdigit() and 2000 <= int(year) <= 2100):
            bad.append({"row": number, "field": "资金年度", "reason": f"年度无效 (fiscal year {year!r})"})
        if bad:
            errors.extend(bad)
            continue
        total_fen += fen
        payee: dict[str, Any] = {"kind": kind, "name": cell["payee_name"]}
        if cell.get("household_id"):
            payee["household_id"] = cell["household_id"]
        line = {"line_ref": cell["line_ref"], "project_code": cell["project_code"], "channel": cell["channel"],
                "fiscal_year": int(year), "payee": payee, "amount": amount}
        if cell.get("purpose"):
            line["purpose"] = cell["purpose"]
        lines.append(line)
    if errors:
        raise Unprocessable(f"{len(errors)}处错误，未提交 (the file has {len(errors)} errors; nothing was sent)",
                            errors=errors)
    if not lines:
        raise Unprocessable("文件没有数据行 (the file has no lines)", errors=[{"row": 2, "field": "file", "reason": "no lines"}])
    return lines, format_fen(total_fen), len(lines)
