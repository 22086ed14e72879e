"""Registry reference data on real PostgreSQL: loading divisions with their event, idempotent reloads,
updates of single records, and the /divisions endpoints with their permissions."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

import asyncpg
import pytest

from services.registry.app import create_app
from services.registry.usecases.reference import (
    EVENT_TYPE,
    JINGHE_CSV,
    DivisionDataError,
    jinghe_reference,
    load_divisions,
    parse_division_items,
    parse_divisions_csv,
)
from shared.config import libpq_url
from shared.db import make_engine, make_sessionmaker
from tests.conftest import bearer, serving

ACTOR = {"sub": "test-loader", "roles": ["admin"], "division": "000000000000"}
TOTO = "652722103000"
JINGHE = "652722000000"
SHIPPED_ROWS = len(parse_divisions_csv(JINGHE_CSV.read_text(encoding="utf-8")))


def build(settings):
    return create_app(settings, run_background=False)


@pytest.fixture
async def db(databases):
    settings = await databases.new("registry")
    engine = make_engine(settings.sqlalchemy_url, pool_size=2)
    try:
        yield settings, make_sessionmaker(engine, "registry")
    finally:
        await engine.dispose()


@pytest.fixture
async def app(databases):
    settings = await databases.new("registry")
    async with serving(build(settings)) as client:
        yield settings, client


async def fetch(settings, sql: str, *args):
    conn = await asyncpg.connect(libpq_url(settings.database_url, settings.database_name))
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def loaded_events(settings) -> list[dict]:
    rows = await fetch(settings, "SELECT subject, actor, data FROM events WHERE type = $1 ORDER BY seq", EVENT_TYPE)
    return [{"subject": r["subject"], "actor": json.loads(r["actor"]), "data": json.loads(r["data"])} for r in rows]


# -- load_divisions --------------------------------------------------------------------------------

async def test_load_creates_rows_and_one_event_then_reload_changes_nothing(db):
    settings, sessions = db
    async with sessions() as session:
        result = await jinghe_reference(session, ACTOR)
        await session.commit()
    assert (result.created, result.updated, result.unchanged, result.events) == (SHIPPED_ROWS, 0, 0, 1)
    rows = await fetch(settings, "SELECT code, name, parent, aliases, rural_population, synthetic FROM divisions ORDER BY code")
    assert len(rows) == SHIPPED_ROWS
    toto = next(r for r in rows if r["code"] == TOTO)
    assert toto["name"] == "托托镇" and toto["parent"] == JINGHE and toto["synthetic"] is True
    assert json.loads(toto["aliases"]) == [{"name": "托托乡", "from": None, "to": "2015-12-31"}]
    assert sum(r["rural_population"] or 0 for r in rows) == 67_000
    [event] = await loaded_events(settings)
    assert event["subject"] == "650000000000"  # the lowest division covering every record
    assert event["actor"] == ACTOR
    assert event["data"]["created"] == SHIPPED_ROWS and event["data"]["parts"] == 1
    assert len(event["data"]["records"]) == SHIPPED_ROWS
    assert {r["change"] for r in event["data"]["records"]} == {"created"}

    async with sessions() as session:
        again = await jinghe_reference(session, ACTOR)
        await session.commit()
    assert (again.created, again.updated, again.unchanged, again.events) == (0, 0, SHIPPED_ROWS, 0)
    assert len(await loaded_events(settings)) == 1


async def test_an_update_writes_only_the_changed_record(db):
    settings, sessions = db
    records = parse_divisions_csv(JINGHE_CSV.read_text(encoding="utf-8"))
    async with sessions() as session:
        await load_divisions(session, records, actor=ACTOR)
        await session.commit()
    village = next(r for r in records if r.code == "652722103201")
    changed = replace(village, rural_population=2350,
                      flags=[{"flag": "poor_village", "class": "二类", "from": "2014-01-01", "to": None}])
    records = [changed if r.code == village.code else r for r in records]
    async with sessions() as session:
        result = await load_divisions(session, records, actor=ACTOR)
        await session.commit()
    assert (result.created, result.updated, result.unchanged, result.events) == (0, 1, SHIPPED_ROWS - 1, 1)
    events = await loaded_events(settings)
    assert len(events) == 2
    [record] = events[1]["data"]["records"]
    assert record["code"] == "652722103201" and record["change"] == "updated" and record["rural_population"] == 2350
    assert events[1]["subject"] == "652722103201"
    [row] = await fetch(settings, "SELECT rural_population, flags FROM divisions WHERE code = $1", village.code)
    assert row["rural_population"] == 2350 and json.loads(row["flags"])[0]["class"] == "二类"


async def test_big_loads_are_split_into_parts_of_500(db):
    settings, sessions = db
    items = [{"code": "650000000000", "name": "新疆维吾尔自治区"}, {"code": "652700000000", "name": "博尔塔拉蒙古自治州"},
             {"code": JINGHE, "name": "精河县"}, {"code": "652722101000", "name": "大河沿子镇"}]
    items += [{"code": f"652722101{n:03d}", "name": f"村{n}", "rural_population": 100, "population_year": 2014,
               "synthetic": True} for n in range(1, 700)]
    async with sessions() as session:
        result = await load_divisions(session, parse_division_items(items), actor=ACTOR)
        await session.commit()
    assert result.created == 703 and result.events == 2
    events = await loaded_events(settings)
    assert [len(e["data"]["records"]) for e in events] == [500, 203]
    assert [(e["data"]["part"], e["data"]["parts"]) for e in events] == [(1, 2), (2, 2)]


async def test_a_record_without_its_parent_is_refused_and_nothing_is_written(db):
    settings, sessions = db
    async with sessions() as session:
        with pytest.raises(DivisionDataError) as caught:
            await load_divisions(session, parse_division_items([{"code": "652722101201", "name": "孤村"}]), actor=ACTOR)
        await session.rollback()
    assert "652722101000" in str(caught.value)
    assert await fetch(settings, "SELECT code FROM divisions") == []
    assert await loaded_events(settings) == []


# -- HTTP ------------------------------------------------------------------------------------------

def admin(settings):
    return bearer(settings, "admin")


def writer(headers, key):
    return {**headers, "Idempotency-Key": key}


async def put_csv(client, headers, text: str, key: str):
    return await client.put("/divisions", content=text.encode("utf-8"),
                            headers={**writer(headers, key), "Content-Type": "text/csv"})


async def test_put_csv_then_get_list_and_one_as_of_dates(app):
    settings, client = app
    text = JINGHE_CSV.read_text(encoding="utf-8")
    province = bearer(settings, "province_office", "650000000000")
    response = await put_csv(client, province, text, "load-1")
    assert response.status_code == 200, response.text
    assert response.json() == {"created": SHIPPED_ROWS, "updated": 0, "unchanged": 0, "events": 1}
    again = await put_csv(client, province, text, "load-2")
    assert again.json() == {"created": 0, "updated": 0, "unchanged": SHIPPED_ROWS, "events": 0}
    assert len(await loaded_events(settings)) == 1

    auditor = bearer(settings, "auditor", JINGHE)
    listing = await client.get("/divisions", params={"parent": "652722", "level": "township"}, headers=auditor)
    assert listing.status_code == 200, listing.text
    assert [d["name"] for d in listing.json()["items"]] == ["精河镇", "大河沿子镇", "托里镇", "托托镇", "茫丁乡", "八家户农场"]

    first = await client.get("/divisions", params={"parent": "652722101000", "limit": 3}, headers=auditor)
    body = first.json()
    assert [d["code"] for d in body["items"]] == ["652722101201", "652722101202", "652722101203"]
    rest = await client.get("/divisions", params={"parent": "652722101000", "limit": 3, "cursor": body["next_cursor"]},
                            headers=auditor)
    assert [d["code"] for d in rest.json()["items"]] == ["652722101204"] and rest.json()["next_cursor"] is None

    by_alias = await client.get("/divisions", params={"q": "托托乡"}, headers=auditor)
    assert [d["code"] for d in by_alias.json()["items"]] == [TOTO]
    by_prefix = await client.get("/divisions", params={"q": "6527224", "on": "2014-06-01"}, headers=auditor)
    items = by_prefix.json()["items"]
    assert [d["code"] for d in items][:1] == ["652722400000"] and len(items) == 4
    assert items[0]["as_of"]["name"] == "八家户农场"

    before = await client.get(f"/divisions/{TOTO}", params={"on": "2015-06-01"}, headers=auditor)
    assert before.status_code == 200, before.text
    assert before.json()["name"] == "托托镇" and before.json()["as_of"]["name"] == "托托乡"
    after = await client.get(f"/divisions/{TOTO}", params={"on": "2016-06-01"}, headers=auditor)
    assert after.json()["as_of"] == {"date": "2016-06-01", "name": "托托镇", "flags": [], "existed": True}
    xinjiang = await client.get("/divisions/65", params={"on": "2016-06-01"}, headers=auditor)
    assert xinjiang.json()["as_of"]["flags"] == [{"flag": "ethnic_area", "from": None, "to": None}]
    assert (await client.get("/divisions/652722999000", headers=auditor)).status_code == 404
    assert (await client.get("/divisions/6527", headers=auditor)).json()["name"] == "博尔塔拉蒙古自治州"


async def test_put_json_updates_flags_and_get_reports_them_by_date(app):
    settings, client = app
    assert (await put_csv(client, admin(settings), JINGHE_CSV.read_text(encoding="utf-8"), "k1")).status_code == 200
    body = [{"code": "652722103201", "name": "托托一村", "rural_population": 2300, "population_year": 2014, "synthetic": True,
             "flags": [{"flag": "贫困村", "class": "一类", "from": "2014-01-01", "to": "2016-12-31"},
                       {"flag": "出列", "year": 2016, "from": "2016-12-31"}]}]
    response = await client.put("/divisions", json=body, headers=writer(admin(settings), "k2"))
    assert response.status_code == 200, response.text
    assert response.json() == {"created": 0, "updated": 1, "unchanged": 0, "events": 1}
    county = bearer(settings, "county_office", JINGHE)
    in_2015 = (await client.get("/divisions/652722103201", params={"on": "2015-01-01"}, headers=county)).json()
    assert [f["flag"] for f in in_2015["as_of"]["flags"]] == ["poor_village"]
    assert in_2015["as_of"]["flags"][0]["class"] == "一类"
    in_2017 = (await client.get("/divisions/652722103201", params={"on": "2017-01-01"}, headers=county)).json()
    assert in_2017["as_of"]["flags"] == [{"flag": "exited", "year": 2016, "from": "2016-12-31", "to": None}]


async def test_put_refuses_bad_lines_with_their_numbers_and_writes_nothing(app):
    settings, client = app
    text = ("# test\ncode,name,level\n650000000000,新疆维吾尔自治区,province\n"
            "65272200000,短码,county\n652722101000,大河沿子镇,village\n")
    response = await put_csv(client, admin(settings), text, "bad-1")
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    fields = [e["field"] for e in response.json()["errors"]]
    assert fields == ["line 4: code", "line 5: level"]
    assert await fetch(settings, "SELECT code FROM divisions") == []
    orphan = await client.put("/divisions", json=[{"code": "652722101201", "name": "孤村"}],
                              headers=writer(admin(settings), "bad-2"))
    assert orphan.status_code == 422 and "652722101000" in orphan.text
    wrong_type = await client.put("/divisions", content=b"<x/>", headers={**writer(admin(settings), "bad-3"),
                                                                        "Content-Type": "application/xml"})
    assert wrong_type.status_code == 415


async def test_permissions(app):
    settings, client = app
    text = JINGHE_CSV.read_text(encoding="utf-8")
    county = bearer(settings, "county_office", JINGHE)
    assert (await put_csv(client, county, text, "p1")).status_code == 403
    assert (await put_csv(client, bearer(settings, "auditor", JINGHE), text, "p2")).status_code == 403
    other_province = bearer(settings, "province_office", "520000000000")  # 贵州 may not load 新疆
    assert (await put_csv(client, other_province, text, "p3")).status_code == 403
    assert (await client.put("/divisions", content=text.encode(), headers={"Content-Type": "text/csv",
                                                                           "Idempotency-Key": "p4"})).status_code == 401
    missing_key = await client.put("/divisions", content=text.encode(), headers={**admin(settings), "Content-Type": "text/csv"})
    assert missing_key.status_code == 422
    assert await fetch(settings, "SELECT code FROM divisions") == []

    assert (await put_csv(client, admin(settings), text, "p5")).status_code == 200
    assert (await client.get("/divisions")).status_code == 401
    assert (await client.get(f"/divisions/{TOTO}")).status_code == 401
    for role, division in (("auditor", JINGHE), ("village", "652722103201"), ("department", JINGHE)):
        extra = {"dept": "civil_affairs"} if role == "department" else {}
        headers = bearer(settings, role, division, **extra)
        assert (await client.get("/divisions", headers=headers)).status_code == 200, role
        assert (await client.get(f"/divisions/{TOTO}", headers=headers)).status_code == 200, role


async def test_openapi_documents_the_endpoints(app):
    settings, client = app
    spec = (await client.get("/openapi.json")).json()
    put = spec["paths"]["/divisions"]["put"]
    assert put["summary"] and put["description"] and "text/csv" in put["requestBody"]["content"]
    assert spec["paths"]["/divisions"]["get"]["summary"]
    assert spec["paths"]["/divisions/{code}"]["get"]["description"]
    assert date.fromisoformat("2016-01-01")  # the rename date used above
