"""Reading the files counties have: CSV in UTF-8 (with or without BOM) or GBK/GB18030 as Excel
saves it on Chinese Windows, ``.xls`` (Excel 97–2003) and ``.xlsx``.

1. **Encodings.** A UTF-8 BOM means UTF-8; otherwise strict UTF-8 is tried first (it rarely
   decodes anything else by accident); otherwise ``charset-normalizer`` chooses among the Chinese
   encodings, read as GB18030 when it says GB2312/GBK (GB18030 is their superset, so no character
   is lost). A file none of them decodes is refused with the reason, never guessed.
2. **Spreadsheets.** ``.xls`` and ``.xlsx`` are read with ``python-calamine`` (Rust; the first
   sheet, values only); cells come back as str, int, float, bool, date or datetime.
3. **The template** of a layout is an ``.xlsx`` with the header row and a sheet explaining each
   column, or a UTF-8 (BOM) CSV with the header row.
"""

from __future__ import annotations

import codecs
import csv
import io
from typing import Any, Iterable, Iterator

from charset_normalizer import from_bytes

from shared.errors import Unprocessable

#: Encodings a county's CSV may be in (charset-normalizer's names).
CANDIDATES = ("utf_8", "gb18030", "gbk", "gb2312", "big5")
_AS_GB18030 = {"gb2312", "gbk", "gb18030"}


def _refused(reason: str) -> Unprocessable:
    return Unprocessable(
        "无法识别CSV文件的编码，请另存为“CSV UTF-8”或GBK (the CSV's encoding is not UTF-8, GBK or GB18030)",
        errors=[{"row": 0, "field": "file", "reason": reason}], total_errors=1)


def decode_csv(data: bytes) -> tuple[str, str]:
    """(text, encoding) of a CSV file's bytes."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8):].decode("utf-8", errors="strict"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    best = from_bytes(data, cp_isolation=list(CANDIDATES)).best()
    if best is None:
        raise _refused("no candidate encoding decodes the file")
    encoding = "gb18030" if best.encoding in _AS_GB18030 else best.encoding
    try:
        return data.decode(encoding), encoding
    except UnicodeDecodeError as exc:
        raise _refused(f"invalid {encoding} ({exc.reason})") from None


def csv_rows(data: bytes) -> tuple[Iterator[list[str]], str]:
    text, encoding = decode_csv(data)
    return csv.reader(io.StringIO(text, newline="")), encoding


#: An .xlsx is a zip: what it may expand to, in all and per part (a "zip bomb" of a few kilobytes
#: would otherwise be inflated in full by the reader). 1,000,000 rows of a registry import stay far below.
MAX_EXPANDED_BYTES = 512 * 1024 * 1024
MAX_EXPANSION_RATIO = 200


def check_expansion(data: bytes) -> None:
    """Refuse (422 naming ``file``) a zip-based spreadsheet whose parts would expand beyond
    :data:`MAX_EXPANDED_BYTES` in all or :data:`MAX_EXPANSION_RATIO` times their compressed size;
    anything that is not a zip (``.xls``, CSV) passes through to its own reader."""
    import zipfile

    if not data.startswith(b"PK"):
        return
    try:
        parts = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # the spreadsheet reader names the broken file itself
    total = sum(part.file_size for part in parts)
    ratio = max((part.file_size / max(part.compress_size, 1) for part in parts if part.file_size > 1 << 20), default=0)
    if total > MAX_EXPANDED_BYTES or ratio > MAX_EXPANSION_RATIO:
        raise Unprocessable("文件解压后过大，疑为压缩炸弹 (the spreadsheet expands too far: a zip bomb?)",
                            errors=[{"row": 0, "field": "file", "reason": f"expands to {total} bytes"}],
                            total_errors=1)


def sheet_rows(data: bytes) -> tuple[list[list[Any]], int]:
    """The first sheet of an ``.xls`` or ``.xlsx`` file as rows of cell values."""
    from python_calamine import CalamineWorkbook

    check_expansion(data)
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        rows = book.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except Exception as exc:  # calamine raises its own error types for every kind of bad file
        raise Unprocessable("无法读取Excel文件 (the spreadsheet cannot be read)",
                            errors=[{"row": 0, "field": "file", "reason": f"{type(exc).__name__}: {exc}"[:200]}],
                            total_errors=1) from None
    return [[None if cell == "" else cell for cell in row] for row in rows], len(rows)


def template_xlsx(headers: Iterable[str], notes: Iterable[tuple[str, str, str]]) -> bytes:
    """An ``.xlsx`` with the header row on the first sheet and (header, required, content) notes."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "数据"
    sheet.append(list(headers))
    explained = book.create_sheet("填写说明")
    explained.append(["列", "必填", "内容"])
    for note in notes:
        explained.append(list(note))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def template_csv(headers: Iterable[str]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerow(list(headers))
    return codecs.BOM_UTF8 + out.getvalue().encode("utf-8")
