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
from tests.conftest import bearer

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
    assert "school_stage" in found and "labour_capacity" not in found and "relation" not in found
    assert items[5000 + REGISTERED] == {"id_number": outside, "found": False}  # outside 652722: not even a hint

    office = bearer(r.settings, "county_office", COUNTY)
    full = (await r.client.post("/persons/lookup", json={"id_numbers": registered[:3]}, headers=office)).json()
    assert {"labour_capacity", "relation", "school_stage", "details"} <= set(full["items"][0])


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
