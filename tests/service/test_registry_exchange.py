"""Bulk exchange on real PostgreSQL: a lookup of 10,000 ID numbers scoped to the caller's
jurisdiction and department; malformed numbers named."""

from __future__ import annotations

import csv
import io
from datetime import date

from shared.idcard import make_id
from tests.service.county_support import seed_divisions, upload
from tests.service.registry_support import COUNTY, ELSEWHERE, VILLAGE
from tests.service.test_registry_import import HEADER, person
from tests.conftest import bearer, fetch

REGISTERED = 150


def roll(n: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for k in range(n):
        row = person(f"{VILLAGE}-{k:04d}", make_id("652722", date(1960 + k % 40, 1 + k % 12, 1 + k % 28), k),
                     name=f"人{k}", division=VILLAGE, school="小学" if k % 2 else "非在校生")
        writer.writerow(row)
    return out.getvalue().encode("utf-8")


async def test_a_lookup_of_ten_thousand_ids_is_scoped_to_jurisdiction_and_department(registry):
    r = registry
    await seed_divisions(r.settings)
    assert (await upload(r, "/imports", "roll.csv", roll(REGISTERED))).status_code == 201
    outside = make_id("652701", date(1980, 5, 5), 9)
    await r.propose([{"id_number": outside, "name": "外县人", "relation": "head", "labour_capacity": "normal_labour"}],
                    division=ELSEWHERE)
    registered = [make_id("652722", date(1960 + k % 40, 1 + k % 12, 1 + k % 28), k) for k in range(REGISTERED)]
    unknown = [make_id("652722", date(2001, 1, 1 + k // 1000), k % 1000) for k in range(10_000 - REGISTERED - 1)]
    ids = [*unknown[:5000], *registered, outside, *unknown[5000:]]
    assert len(ids) == 10_000

    education = bearer(r.settings, "department", COUNTY, dept="education")
    answer = await r.client.post("/persons/lookup", json={"id_numbers": ids}, headers=education)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["count"] == 10_000 and body["found"] == REGISTERED
    items = body["items"]
    assert [i["id_number"] for i in items] == ids  # in the order sent
    found = items[5000]
    assert found["found"] and found["on_roll"] and found["status"] == "registered" and found["name"] == "人0"
    # education's own field and the basic ones; not health's or 残联's
    assert "school_stage" in found and "relation" in found and "health" not in found and "disability_grade" not in found
    assert found["details"] == {}
    assert items[5000 + REGISTERED] == {"id_number": outside, "found": False}  # outside 652722: not even a hint

    office = bearer(r.settings, "county_office", COUNTY)
    full = (await r.client.post("/persons/lookup", json={"id_numbers": registered[:3]}, headers=office)).json()
    assert {"labour_capacity", "relation", "school_stage", "health", "disability_grade", "details"} <= set(
        full["items"][0])


async def test_malformed_numbers_are_named_and_a_list_too_long_refused(registry):
    r = registry
    office = bearer(r.settings, "county_office", COUNTY)
    good = make_id("652722", date(1970, 1, 1), 1)
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    answer = await r.client.post("/persons/lookup", json={"id_numbers": [good, bad, "12345"]}, headers=office)
    assert answer.status_code == 422
    assert [e["field"] for e in answer.json()["errors"]] == ["id_numbers[1]", "id_numbers[2]"]
    too_many = await r.client.post("/persons/lookup", json={"id_numbers": [good] * 10_001}, headers=office)
    assert too_many.status_code == 422
    finance = bearer(r.settings, "auditor")
    assert (await r.client.post("/persons/lookup", json={"id_numbers": [good]}, headers=finance)).status_code == 200


def civil_affairs_list(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["序号", "证件号码", "低保", "特困"])
    writer.writerows(rows)
    return out.getvalue().encode("gbk")


def civil_affairs(r):
    r.n += 1
    return {**bearer(r.settings, "department", COUNTY, dept="civil_affairs"), "Idempotency-Key": f"ca-{r.n}"}


async def test_a_department_list_is_validated_whole_and_applied_once(registry):
    r = registry
    await seed_divisions(r.settings)
    assert (await upload(r, "/imports", "roll.csv", roll(6))).status_code == 201
    ids = [make_id("652722", date(1960 + k % 40, 1 + k % 12, 1 + k % 28), k) for k in range(6)]
    stranger = make_id("652722", date(1999, 9, 9), 9)
    bad = civil_affairs_list([["1", ids[0], "是", "否"], ["2", ids[1], "也许", "否"], ["3", stranger, "是", "否"],
                              ["4", ids[0], "否", "否"], ["5", ids[2][:17] + "X", "是", "否"]])
    refused = await r.client.post("/departments/civil_affairs/lists", headers=civil_affairs(r),
                                  files={"file": ("低保.csv", bad, "text/csv")})
    assert refused.status_code == 422
    named = {(e["row"], e["field"]) for e in refused.json()["errors"]}
    assert named == {(3, "dibao"), (4, "id_number"), (5, "id_number"), (6, "id_number")}
    assert stranger not in refused.text
    details = await fetch_details(r)
    assert not any("civil_affairs" in d for d in details)

    good = civil_affairs_list([["1", ids[0], "是", "否"], ["2", ids[1], "否", "是"]])
    done = await r.client.post("/departments/civil_affairs/lists", headers=civil_affairs(r),
                               files={"file": ("低保.csv", good, "text/csv")})
    assert done.status_code == 201, done.text
    assert done.json()["persons"] == 2 and done.json()["replayed"] is False
    again = await r.client.post("/departments/civil_affairs/lists", headers=civil_affairs(r),
                                files={"file": ("低保-副本.csv", good, "text/csv")})
    assert again.json()["replayed"] is True and again.json()["import_id"] == done.json()["import_id"]
    events = await fetch(r.settings, "SELECT count(*) AS n FROM events WHERE type = 'registry.department_list.imported'")
    assert events[0]["n"] == 1
    history = (await r.client.get("/imports", params={"kind": "department:civil_affairs"},
                                  headers=bearer(r.settings, "department", COUNTY, dept="civil_affairs"))).json()
    assert [h["status"] for h in history["items"]] == ["imported", "refused"]
    education = {**bearer(r.settings, "department", COUNTY, dept="education"), "Idempotency-Key": "edu-1"}
    other = await r.client.post("/departments/civil_affairs/lists", headers=education,
                                files={"file": ("低保.csv", good, "text/csv")})
    assert other.status_code == 403


async def fetch_details(r) -> list[str]:
    return [row["d"] for row in await fetch(r.settings, "SELECT details::text AS d FROM persons")]


async def test_the_roll_export_is_in_the_import_layout_and_scoped(registry):
    import openpyxl

    from services.registry.usecases.imports import parse_file

    r = registry
    await seed_divisions(r.settings)
    assert (await upload(r, "/imports", "roll.csv", roll(4))).status_code == 201
    office = await r.client.get("/exports/roll", headers=r.token("county_office", COUNTY))
    assert office.status_code == 200
    parsed = parse_file(office.content, filename="roll.xlsx", jurisdiction=COUNTY, today=date(2016, 3, 1))
    assert len(parsed.errors) == 0 and sum(len(h.members) for h in parsed.households.values()) == 4
    sheet = openpyxl.load_workbook(io.BytesIO(office.content)).worksheets[0]
    rows = list(sheet.values)
    assert rows[0][:4] == ("户编号", "行政区划代码", "姓名", "证件号码") and rows[1][4] == "户主"

    health = await r.client.get("/exports/roll", headers=bearer(r.settings, "department", COUNTY, dept="health"))
    header = list(openpyxl.load_workbook(io.BytesIO(health.content)).worksheets[0].values)[0]
    assert "健康状况" in header and "在校生状况" not in header and "与户主关系" in header
    outside = await r.client.get("/exports/roll", params={"division": "652701000000"},
                                 headers=r.token("county_office", COUNTY))
    assert outside.status_code == 403
