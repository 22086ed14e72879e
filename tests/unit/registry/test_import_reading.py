"""Reading an uploaded roll: an .xlsx whose XML parts are broken or hostile (truncated, an entity
bomb) is a 422 naming the file — on opening or on any row (read-only mode reads lazily) — never
an exception the service answers with a 500."""

from __future__ import annotations

import io
import zipfile

import pytest
from openpyxl import Workbook

from services.registry.usecases.imports.reading import open_rows
from shared.errors import Unprocessable

LAUGHS = ('<!DOCTYPE worksheet [<!ENTITY a "lollollol">'
          + "".join(f'<!ENTITY {chr(98 + n)} "' + f"&{chr(97 + n)};" * 10 + '">' for n in range(8)) + "]>")


def _xlsx(part: str, spoil) -> bytes:
    book = Workbook()
    for row in range(1, 50):
        book.active.append([f"户{row}", "65272219800101001X"])
    raw = io.BytesIO()
    book.save(raw)
    source, out = zipfile.ZipFile(io.BytesIO(raw.getvalue())), io.BytesIO()
    with zipfile.ZipFile(out, "w") as spoiled:
        for name in source.namelist():
            data = source.read(name)
            spoiled.writestr(name, spoil(data) if name == part else data)
    return out.getvalue()


@pytest.mark.parametrize(("part", "spoil"), [
    ("xl/worksheets/sheet1.xml", lambda d: d[: len(d) * 2 // 3]),  # broken in the rows: met while reading them
    ("xl/workbook.xml", lambda d: d[: len(d) // 2]),
    ("xl/worksheets/sheet1.xml", lambda d: d.replace(b"<worksheet", LAUGHS.encode() + b"<worksheet", 1)
     .replace(b"<sheetData>", b"<sheetData><row r=\"100\"><c r=\"A100\" t=\"inlineStr\"><is><t>&i;</t></is></c></row>", 1)),
])
def test_a_broken_or_hostile_xlsx_is_a_problem_naming_the_file(part, spoil):
    with pytest.raises(Unprocessable) as refused:
        rows, _, close, _ = open_rows(_xlsx(part, spoil), "花名册.xlsx")
        try:
            list(rows)
        finally:
            close()
    assert refused.value.extensions["errors"][0]["field"] == "file"


def _zip_bomb() -> bytes:
    """A valid-looking .xlsx of a few hundred kilobytes whose sheet expands to 600 MB of zeros."""
    book = Workbook()
    book.active.append(["户主", "65272219800101001X"])
    raw = io.BytesIO()
    book.save(raw)
    source, out = zipfile.ZipFile(io.BytesIO(raw.getvalue())), io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as bomb:
        for name in source.namelist():
            bomb.writestr(name, source.read(name))
        with bomb.open("xl/worksheets/padding.xml", "w", force_zip64=True) as padding:
            chunk = b"0" * (1 << 20)
            for _ in range(600):
                padding.write(chunk)
    return out.getvalue()


def test_a_zip_bomb_is_refused_before_it_is_inflated():
    from services.registry.files import sheet_rows

    bomb = _zip_bomb()
    assert len(bomb) < 2_000_000
    with pytest.raises(Unprocessable) as refused:
        open_rows(bomb, "roll.xlsx")
    assert refused.value.extensions["errors"][0]["field"] == "file"
    with pytest.raises(Unprocessable):  # the console's and the .xls reader's path
        sheet_rows(bomb)
