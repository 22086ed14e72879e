"""Duplicate screening on real PostgreSQL: planted duplicates (a mistyped ID digit, two swapped
digits, a name in traditional characters) are flagged on proposal and on import, a different
person is not, nothing is merged until a review, and the review's outcome is an event."""

from __future__ import annotations

from datetime import date

from services.registry.domain.duplicates import PersonKey, compare
from shared.idcard import make_id
from tests.conftest import fetch
from tests.service.county_support import seed_divisions
from tests.service.registry_support import COUNTY, VILLAGE
from tests.service.test_registry_import import csv_bytes, person

BORN = date(1968, 4, 12)


def member(id_number, name, relation="head"):
    return {"id_number": id_number, "name": name, "relation": relation, "labour_capacity": "normal_labour"}


async def test_planted_duplicates_are_flagged_and_a_different_person_is_not(registry):
    r = registry
    zhang, li = make_id("652722", BORN, 123), make_id("652722", date(1971, 9, 3), 456)
    first = (await r.propose([member(zhang, "张伟"), member(li, "李秀英", "spouse")])).json()
    assert first["duplicate_candidates"] == 0

    mistyped = make_id("652722", BORN, 128)  # one digit of the sequence wrong (the check digit follows it)
    swapped = make_id("652722", date(1971, 9, 3), 465)  # two neighbouring digits swapped
    stranger = make_id("652722", BORN, 771)  # same birth date, another person
    second = await r.propose([member(mistyped, "張偉"), member(swapped, "李秀英", "spouse"),
                              member(stranger, "马建国", "sibling")])
    assert second.status_code == 201, second.text
    assert second.json()["duplicate_candidates"] == 2

    report = (await r.client.get("/reports/duplicates", headers=r.token("county_office", COUNTY))).json()
    pairs = {(i["person"]["name"], i["other"]["name"]) for i in report["items"]}
    assert pairs == {("張偉", "张伟"), ("李秀英", "李秀英")}
    by_name = {i["person"]["name"]: i for i in report["items"]}
    assert "id_number_one_edit" in by_name["張偉"]["reasons"] and by_name["張偉"]["score"] >= 80
    assert zhang not in str(report) and mistyped not in str(report)  # ID numbers masked
    # flagged, not merged: every person still active
    assert all(row["active"] for row in await fetch(r.settings, "SELECT active FROM persons"))

    not_dup = await r.client.post(f"/duplicates/{by_name['李秀英']['id']}/review", headers=r.headers(
        "county_office", COUNTY), json={"outcome": "not_duplicate", "reason": "入户核实为两人"})
    assert not_dup.status_code == 200 and not_dup.json()["status"] == "not_duplicate"
    keep = by_name["張偉"]["other"]["id"]
    missing_keep = await r.client.post(f"/duplicates/{by_name['張偉']['id']}/review",
                                       headers=r.headers("county_office", COUNTY),
                                       json={"outcome": "confirmed", "reason": "同一人"})
    assert missing_keep.status_code == 422 and "keep" in missing_keep.json()["errors"][0]["reason"]
    confirmed = await r.client.post(f"/duplicates/{by_name['張偉']['id']}/review", headers=r.headers(
        "county_office", COUNTY), json={"outcome": "confirmed", "keep": keep, "reason": "身份证号录入错误，同一人"})
    assert confirmed.status_code == 200 and confirmed.json()["kept_id"] == keep
    active = {row["id_number"]: row["active"] for row in await fetch(r.settings, "SELECT id_number, active FROM persons")}
    assert active[zhang] is True and active[mistyped] is False and active[swapped] is True
    assert (await r.client.get("/reports/duplicates", headers=r.token("county_office", COUNTY))).json()["count"] == 0
    kinds = [row["type"] for row in await fetch(r.settings, "SELECT type FROM events WHERE type LIKE '%duplicate%' "
                                                             "ORDER BY seq")]
    assert kinds == ["registry.duplicates.flagged", "registry.duplicate.reviewed", "registry.duplicate.reviewed"]


async def test_an_import_is_screened_against_the_roll_and_itself(registry):
    r = registry
    wang = make_id("652722", BORN, 311)
    await r.propose([member(wang, "王芳")])
    twice = make_id("652722", date(1980, 1, 2), 222)
    rows = [person("652722102201-9001", make_id("652722", BORN, 313), name="王芳", division=VILLAGE),
            person("652722102201-9002", twice, name="刘洋", division=VILLAGE),
            person("652722102201-9003", make_id("652722", date(1980, 1, 2), 227), name="劉洋", division=VILLAGE),
            person("652722102201-9004", make_id("652722", date(1990, 6, 6), 100), name="陈静", division=VILLAGE)]
    await seed_divisions(r.settings)
    answer = await r.client.post("/imports", files={"file": ("roll.csv", csv_bytes(rows), "text/csv")},
                                 headers=r.headers("county_office", COUNTY))
    assert answer.status_code == 201, answer.text
    assert answer.json()["duplicate_candidates"] == 2
    report = (await r.client.get("/reports/duplicates", headers=r.token("county_office", COUNTY))).json()
    assert sorted((i["person"]["name"], i["other"]["name"]) for i in report["items"]) == [
        ("劉洋", "刘洋"), ("王芳", "王芳")]


def test_distinct_people_with_one_digit_apart_ids_and_different_names_are_not_candidates():
    a = PersonKey.of("1", make_id("652722", BORN, 123), "张伟", VILLAGE)
    b = PersonKey.of("2", make_id("652722", BORN, 124), "欧阳娜娜", VILLAGE)
    assert compare(b, a) is None
    same_name_other_county = PersonKey.of("3", make_id("652701", BORN, 901), "张伟", "652701101201")
    assert compare(same_name_other_county, a) is None
