"""Results in the projects service on real PostgreSQL: 百企千村 enterprises and pairings (the
report's targets, actuals, gaps and the persons behind them) and the performance evaluation of
accepted projects (each target against its actual, rated by the policy's rule, announced)."""

from __future__ import annotations

import json
from datetime import timedelta

from tests.service.test_projects import COUNTY, OTHER_VILLAGE, VILLAGE, projects  # noqa: F401  (the fixture)

CREDIT_CODE = "91652722MA7788990X"  # check character X computed by GB 32100
ENTERPRISE = {"credit_code": CREDIT_CODE, "name": "精河县枸杞产业有限公司", "type": "private"}


async def funded_project(p, households, **overrides) -> str:
    proposed = await p.propose(**overrides)
    assert proposed.status_code == 201, proposed.text
    code = proposed.json()["code"]
    added = await p.post(f"/projects/{code}/beneficiaries", VILLAGE, household_ids=households, mechanism="employment")
    assert added.status_code == 201, added.text
    await p.into_library(code)
    assert (await p.step(code, "plan", year=2018)).status_code == 200
    await p.posting("commit", code, 100_000_000)
    return code


async def accepted_project(p, households) -> str:
    code = await funded_project(p, households)
    p.clock.advance(timedelta(days=30))
    assert (await p.post(f"/projects/{code}/progress", VILLAGE, percent=100, photos=["files/a.jpg"])).status_code == 201
    assert (await p.step(code, "complete")).json()["stage"] == "completed"
    accepted = await p.post(f"/projects/{code}/acceptance", COUNTY, team=[{"name": "李工", "unit": "县扶贫办"}],
                            result="passed", issues=[])
    assert accepted.status_code == 201, accepted.text
    return code


async def test_an_enterprise_needs_a_valid_unified_social_credit_code(projects):
    p = projects
    before = await p.event_count()
    wrong = await p.post("/enterprises", COUNTY, **{**ENTERPRISE, "credit_code": "91652722MA77889901"})
    assert wrong.status_code == 422 and wrong.headers["content-type"] == "application/problem+json"
    [error] = wrong.json()["errors"]
    assert error["field"] == "credit_code" and "check character of 91652722MA7788990 is X" in error["reason"]
    assert await p.event_count() == before and await p.db("SELECT * FROM enterprises") == []
    made = await p.post("/enterprises", COUNTY, **ENTERPRISE)
    assert made.status_code == 201 and made.json()["type_label"] == "民营企业", made.text
    again = await p.post("/enterprises", COUNTY, **ENTERPRISE)
    assert again.status_code == 409
    assert [e["credit_code"] for e in (await p.get("/enterprises")).json()["items"]] == [CREDIT_CODE]


async def test_a_pairing_that_hired_fewer_labourers_than_committed_shows_the_gap_and_names_the_persons(projects):
    p = projects
    h1, h2, h3 = [await p.household() for _ in range(3)]
    elsewhere = await p.household(division=OTHER_VILLAGE)
    code = await funded_project(p, [h1, h2, h3])
    assert (await p.post("/enterprises", COUNTY, **ENTERPRISE)).status_code == 201
    paired = await p.post("/pairings", COUNTY, credit_code=CREDIT_CODE, division=COUNTY, villages=[VILLAGE],
                          first_year=2018, last_year=2018, projects=[code], commitments=[{
                              "year": 2018, "villages": 1, "households": 5, "labourers": 3, "income": "5000.00",
                              "investment": "8000.00"}])
    assert paired.status_code == 201, paired.text
    pairing = paired.json()["id"]
    # wages to two households, a dividend to the third; the money disbursed to the project
    wages = await p.post(f"/projects/{code}/benefits", VILLAGE, items=[
        {"household_id": h1, "kind": "wages", "amount": "1500.00"}, {"household_id": h2, "kind": "wages", "amount": "1200.00"},
        {"household_id": h3, "kind": "dividend", "amount": "300.00"}])
    assert wages.status_code == 201, wages.text
    await p.posting("disburse", code, 600_000, payee={"kind": "enterprise", "name": ENTERPRISE["name"]})

    before = await p.event_count()
    outside = await p.post(f"/pairings/{pairing}/labourers", COUNTY, items=[
        {"household_id": h1, "name": "成员0", "hired_on": "2018-03-01"},
        {"household_id": elsewhere, "name": "成员0", "hired_on": "2018-03-01"}])
    assert outside.status_code == 422 and outside.json()["errors"][0]["field"] == "items.1.household_id"
    assert await p.event_count() == before
    roster = await p.post(f"/pairings/{pairing}/labourers", COUNTY, items=[
        {"household_id": h1, "name": "成员0", "hired_on": "2018-03-01"},
        {"household_id": h2, "name": "成员1", "hired_on": "2018-03-10"},
        {"household_id": h3, "name": "成员2", "hired_on": "2018-03-20"}])
    assert roster.status_code == 201, roster.text

    report = await p.get(f"/pairings/{pairing}/report", year=2018)
    assert report.status_code == 200, report.text
    lines = {line["commitment"]: line for line in report.json()["lines"]}
    labour = lines["labourers"]
    assert (labour["target"], labour["actual"], labour["gap"], labour["met"]) == (3, 2, 1, False)
    assert [(x["name"], x["household_id"]) for x in labour["behind"]] == [("成员0", h1), ("成员1", h2)]
    assert [(x["name"], x["household_id"]) for x in labour["not_counted"]] == [("成员2", h3)]
    assert (lines["households"]["actual"], lines["households"]["gap"]) == (3, 2)
    assert {x["household_id"] for x in lines["households"]["behind"]} == {h1, h2, h3}
    assert (lines["villages"]["actual"], lines["villages"]["gap"], lines["villages"]["met"]) == (1, 0, True)
    assert (lines["income"]["target"], lines["income"]["actual"], lines["income"]["gap"]) == ("5000.00", "3000.00", "2000.00")
    assert (lines["investment"]["actual"], lines["investment"]["gap"]) == ("6000.00", "2000.00")
    types = [r["type"] for r in await p.db("SELECT type FROM events WHERE type LIKE 'projects.%pairing%' "
                                           "OR type = 'projects.enterprise.registered' ORDER BY seq")]
    assert types == ["projects.enterprise.registered", "projects.pairing.agreed", "projects.pairing.labourers_reported"]

    exported = await p.get(f"/pairings/{pairing}/report", year=2018, format="csv")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    text = exported.content.decode("utf-8")
    assert text.startswith("\ufeff企业名称,统一社会信用代码,年度,量化任务")
    assert "吸纳贫困劳动力就业,人,3,2,1,否,成员0" in text and "成员2" in text

    outside_years = await p.get(f"/pairings/{pairing}/report", year=2019)
    assert outside_years.status_code == 422 and outside_years.json()["errors"][0]["field"] == "year"


async def test_a_pairing_is_refused_outside_its_county_and_without_a_commitment_per_year(projects):
    p = projects
    assert (await p.post("/enterprises", COUNTY, **ENTERPRISE)).status_code == 201
    body = {"credit_code": CREDIT_CODE, "division": COUNTY, "villages": [VILLAGE], "first_year": 2018, "last_year": 2019,
            "commitments": [{"year": 2018, "villages": 1, "households": 5, "labourers": 3, "income": "1.00",
                             "investment": "1.00"}]}
    missing_year = await p.post("/pairings", COUNTY, **body)
    assert missing_year.status_code == 422 and missing_year.json()["errors"][0]["field"] == "commitments"
    foreign = await p.post("/pairings", COUNTY, **{**body, "last_year": 2018, "villages": ["652701101201"]})
    assert foreign.status_code == 422 and foreign.json()["errors"][0]["field"] == "villages.0"
    assert await p.db("SELECT * FROM pairings") == []


async def test_an_evaluation_compares_each_target_with_its_actual_and_rates_by_the_rule(projects):
    p = projects
    households = [await p.household() for _ in range(2)]
    code = await funded_project(p, households)
    early = await p.post(f"/projects/{code}/evaluation", COUNTY, actuals=[{"indicator": "新建枸杞种植面积", "actual": "500"}])
    assert early.status_code == 409  # not accepted yet
    code = await accepted_project(p, households)

    before = await p.event_count()
    missing = await p.post(f"/projects/{code}/evaluation", COUNTY, actuals=[{"indicator": "新建枸杞种植面积", "actual": "450"}])
    assert missing.status_code == 422 and "带动贫困户户均增收" in missing.json()["errors"][0]["reason"]
    words = await p.post(f"/projects/{code}/evaluation", COUNTY, actuals=[
        {"indicator": "新建枸杞种植面积", "actual": "很多"}, {"indicator": "带动贫困户户均增收", "actual": "1800"}])
    assert words.status_code == 422 and words.json()["errors"][0]["field"] == "actuals"
    assert await p.event_count() == before

    # 450/500 = 90% → 45 points; 1800/2000 = 90% → 45 points; 90.00 is 优 (≥ 90)
    rated = await p.post(f"/projects/{code}/evaluation", COUNTY, actuals=[
        {"indicator": "新建枸杞种植面积", "actual": "450"}, {"indicator": "带动贫困户户均增收", "actual": "1800"}])
    assert rated.status_code == 201, rated.text
    body = rated.json()
    assert [(i["indicator"], i["target"], i["actual"], i["completion_percent"], i["points"], i["met"])
            for i in body["indicators"]] == [("新建枸杞种植面积", "500", "450", "90.00", "45.00", False),
                                             ("带动贫困户户均增收", "2000", "1800", "90.00", "45.00", False)]
    assert (body["score"], body["rating"], body["rating_label"]) == ("90.00", "excellent", "优")
    assert "财农〔2017〕115号" in body["citation"]
    assert body["system_figures"]["beneficiary_households"] == 2

    # 350/500 = 70% → 35; 2100/2000 capped at 100% → 50; 85.00 is 良
    again = await p.post(f"/projects/{code}/evaluation", COUNTY, actuals=[
        {"indicator": "新建枸杞种植面积", "actual": "350"}, {"indicator": "带动贫困户户均增收", "actual": "2100"}])
    assert (again.json()["score"], again.json()["rating_label"]) == ("85.00", "良")
    assert (await p.get(f"/projects/{code}/evaluation")).json()["score"] == "85.00"
    [event] = await p.db("SELECT data FROM events WHERE type = 'projects.evaluation.recorded' ORDER BY seq DESC LIMIT 1")
    assert json.loads(event["data"])["rating_label"] == "良"

    announced = await p.post(f"/projects/{code}/results-announcement", VILLAGE, **p.period())
    assert announced.status_code == 201, announced.text
    [notice] = await p.db("SELECT content FROM announcements WHERE subject_type = 'project_results'")
    content = json.loads(notice["content"])
    assert "绩效评价综合得分85.00分，等级为“良”" in content["body"]
    assert content["evaluation"]["indicators"][0] == ["新建枸杞种植面积", "500亩", "350亩", "70.00%"]

    unevaluated = await accepted_project(p, households)
    report = await p.get("/evaluations", year=2018, division=COUNTY)
    assert report.status_code == 200, report.text
    assert (report.json()["accepted"], report.json()["evaluated"], report.json()["by_rating"]) == (2, 1, {"良": 1})
    assert [(i["code"], i["rating_label"]) for i in report.json()["items"]] == [(code, "良"), (unevaluated, None)]
    exported = (await p.get("/evaluations", year=2018, division=COUNTY, format="csv")).content.decode("utf-8")
    assert exported.startswith("\ufeff项目编号,项目名称,地点,绩效指标")
    assert f"{unevaluated}," in exported and "未评价" in exported
    from tests.exports import csv_rows, xlsx_rows
    as_csv = csv_rows(await p.get("/evaluations", year=2018, division=COUNTY, format="csv"))
    as_xlsx = xlsx_rows(await p.get("/evaluations", year=2018, division=COUNTY, format="xlsx"))
    assert [list(r.values()) for r in as_csv] == [["" if v is None else str(v) for v in r.values()] for r in as_xlsx]
