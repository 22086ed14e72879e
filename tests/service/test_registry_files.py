"""The files counties have, through the real API on real PostgreSQL: a GBK CSV and an .xls
imported, the same upload retried with another multipart boundary replays, the same content
uploaded again is not imported twice, every upload (refused ones too) is in the history, and the
template is a file the importer reads."""

from __future__ import annotations

import csv
import io
from datetime import date

import openpyxl
import xlwt

from shared.idcard import make_id
from shared.web.upload_digest import canonical_body
from tests.conftest import fetch
from tests.service.county_support import seed_divisions, upload
from tests.service.registry_support import COUNTY, VILLAGE
from tests.service.test_registry_import import HEADER, person


def rows(base: int, n: int = 2) -> list[list[str]]:
    return [person(f"{VILLAGE}-{base + k}", make_id("652722", date(1975, 1 + k, 10), base + k), name=f"测试{k}",
                   division=VILLAGE) for k in range(n)]


def gbk_csv(data: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows(data)
    return out.getvalue().encode("gbk")


def xls(data: list[list[str]]) -> bytes:
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("建档立卡")
    for r, row in enumerate([HEADER, *data]):
        for c, value in enumerate(row):
            sheet.write(r, c, int(value) if value.isdigit() and len(value) <= 4 else value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def persons(settings) -> int:
    return (await fetch(settings, "SELECT count(*) AS n FROM persons"))[0]["n"]


async def test_a_gbk_csv_and_an_xls_are_imported(registry):
    r = registry
    await seed_divisions(r.settings)
    gbk = await upload(r, "/imports", "户籍.csv", gbk_csv(rows(100)))
    assert gbk.status_code == 201, gbk.text
    assert gbk.json()["persons"] == 2 and gbk.json()["replayed"] is False
    old = await upload(r, "/imports", "roll.xls", xls(rows(200, 3)))
    assert old.status_code == 201, old.text
    assert old.json()["persons"] == 3
    names = {row["name"] for row in await fetch(r.settings, "SELECT name FROM persons")}
    assert {"测试0", "测试1", "测试2"} <= names
    history = (await r.client.get("/imports", headers=r.token("county_office", COUNTY))).json()["items"]
    assert [(h["filename"], h["status"], h["encoding"]) for h in history] == [
        ("roll.xls", "imported", None), ("户籍.csv", "imported", "gb18030")]


async def test_the_same_upload_retried_replays_and_the_same_content_is_not_imported_twice(registry):
    r = registry
    await seed_divisions(r.settings)
    data = gbk_csv(rows(300))
    first = await upload(r, "/imports", "list.csv", data, key="upload-1")
    assert first.status_code == 201, first.text
    # the client's retry draws another multipart boundary: the same key replays the first answer
    retried = await upload(r, "/imports", "list.csv", data, key="upload-1")
    assert retried.status_code == 201 and retried.headers.get("Idempotent-Replayed") == "true"
    assert retried.json() == first.json()
    other_file = await upload(r, "/imports", "list.csv", gbk_csv(rows(400)), key="upload-1")
    assert other_file.status_code == 422  # the key belongs to another request
    # another key, same content: the first import's result, nothing imported again
    again = await upload(r, "/imports", "copy.csv", data, key="upload-2")
    assert again.json()["replayed"] is True and again.json()["import_id"] == first.json()["import_id"]
    assert await persons(r.settings) == 2


def test_the_request_hash_of_an_upload_ignores_the_boundary():
    def body(boundary: bytes, content: bytes) -> bytes:
        return (b"--" + boundary + b"\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n"
                b"Content-Type: text/csv\r\n\r\n" + content + b"\r\n--" + boundary + b"--\r\n")

    one = canonical_body("multipart/form-data; boundary=aaa", body(b"aaa", b"x,y\n1,2\n"))
    two = canonical_body("multipart/form-data; boundary=bbbb", body(b"bbbb", b"x,y\n1,2\n"))
    other = canonical_body("multipart/form-data; boundary=aaa", body(b"aaa", b"x,y\n1,3\n"))
    assert one == two != other
    assert canonical_body("application/json", b"{}") == b"{}"


async def test_a_refused_upload_is_in_the_history_with_its_errors(registry):
    r = registry
    await seed_divisions(r.settings)
    bad = rows(500)
    bad[1][3] = bad[1][3][:17] + ("0" if bad[1][3][17] != "0" else "1")  # a wrong check digit
    refused = await upload(r, "/imports", "bad.csv", gbk_csv(bad))
    assert refused.status_code == 422 and refused.json()["errors"][0]["row"] == 3
    assert await persons(r.settings) == 0
    [entry] = (await r.client.get("/imports", headers=r.token("county_office", COUNTY))).json()["items"]
    assert entry["status"] == "refused" and entry["result"]["total_errors"] == 1
    assert entry["result"]["errors"][0]["field"] == "id_number" and bad[1][3] not in str(entry)


async def test_the_template_is_read_by_the_importer(registry):
    r = registry
    await seed_divisions(r.settings)
    template = await r.client.get("/imports/template", headers=r.token("county_office", COUNTY))
    assert template.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(template.content))
    sheet = book.worksheets[0]
    header = [c.value for c in sheet[1]]
    assert header[:4] == ["户编号", "行政区划代码", "姓名", "证件号码"] and "填写说明" in book.sheetnames
    for row in rows(600):
        sheet.append([row[HEADER.index(h)] if h in HEADER else None for h in header])
    filled = io.BytesIO()
    book.save(filled)
    imported = await upload(r, "/imports", "filled.xlsx", filled.getvalue())
    assert imported.status_code == 201, imported.text
    csv_template = await r.client.get("/imports/template", params={"format": "csv"})
    assert csv_template.content.startswith(b"\xef\xbb\xbf\xe6\x88\xb7\xe7\xbc\x96\xe5\x8f\xb7")  # BOM, 户编号
