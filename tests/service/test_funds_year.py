"""A year of money for 精河县 (issue 5): central appropriation → 新疆 → 博州 → 精河县 with 文号 and
a factor sheet, integration of three channels, commitments to three projects, a batch
disbursement, one project cancelled → stranded → returned → re-allocated; after every step the
ledger is zero-sum with no negative balance; deadlines met and missed as the clock moves; refusals
write nothing; the reports tell the year back."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from services.funds.app import create_app
from services.funds.usecases.deadlines import DeadlineScheduler
from shared.clock import SettableClock
from shared.db import make_engine, make_sessionmaker
from tests.conftest import bearer, serving
from tests.service.funds_support import BOZHOU, CENTRAL, JINGHE, XINJIANG, Funds

GANSU, GUIZHOU, HOTAN = "620000000000", "520000000000", "653200000000"
PLAN = "精河县2017年统筹整合使用财政涉农资金实施方案"
FARMLAND, WATER_CH = "agri_integrated_farmland", "agri_integrated_drinking_water"
#: 因素法: 50,000,000.00 yuan of central special funds among three provinces (weights 6:2:2)
SHEET = {"total": "50000000.00", "weights": {"poor_population": 6, "farmer_income_inv": 2, "performance": 2},
         "recipients": {XINJIANG: {"poor_population": 2610000, "farmer_income_inv": "1.12", "performance": 92},
                        GANSU: {"poor_population": 2890000, "farmer_income_inv": "1.25", "performance": 88},
                        GUIZHOU: {"poor_population": 3730000, "farmer_income_inv": "1.18", "performance": 90}}}
PARTS = {XINJIANG: "15045543.92", GANSU: "16173668.79", GUIZHOU: "18780787.29"}  # sum: 50,000,000.00 exactly


def at(f: Funds, day: str) -> None:
    f.clock.set(datetime.fromisoformat(f"{day}T10:00:00+08:00"))


async def counts(f: Funds) -> tuple[int, int]:
    [row] = await f.db("SELECT (SELECT count(*) FROM events) AS e, (SELECT count(*) FROM postings) AS p")
    return row["e"], row["p"]


@pytest.fixture
async def year(databases):
    settings = await databases.new("funds")
    clock = SettableClock(datetime(2017, 3, 1, 2, tzinfo=timezone.utc))
    async with serving(create_app(settings, clock=clock, run_background=False)) as client:
        f = Funds(settings, client, databases, clock)
        engine = make_engine(settings.sqlalchemy_url, pool_size=1)
        f.scheduler = DeadlineScheduler(make_sessionmaker(engine, "funds", clock), clock, 1)
        try:
            yield f
        finally:
            await engine.dispose()


async def ok(f: Funds, path: str, division: str, **body) -> dict:
    response = await f.post(path, division, **body)
    assert response.status_code == 201, response.text
    await f.zero_sum_and_no_negative()
    return response.json()


async def test_a_year_of_money_for_jinghe(year):
    f = year
    county = bearer(f.settings, "county_finance", JINGHE)

    # -- 2017-03-01 the centre appropriates three channels and allocates by factors -----------------
    for channel, amount in (("central_special", "50000000.00"), (FARMLAND, "3000000.00"), (WATER_CH, "2000000.00")):
        await ok(f, "/appropriations", CENTRAL, channel=channel, amount=amount, document_no="财预〔2017〕12号")
    wrong = await f.post("/allocations", CENTRAL, amount="15045543.93", to_division=XINJIANG, factor_sheet=SHEET,
                         document_no="财农〔2017〕10号")
    assert wrong.status_code == 422 and wrong.json()["expected"] == "15045543.92"
    assert wrong.json()["errors"] == [{"field": "amount", "reason": "factor sheet gives 15045543.92"}]
    for province, part in PARTS.items():
        event = await ok(f, "/allocations", CENTRAL, amount=part, to_division=province, factor_sheet=SHEET,
                         document_no="财农〔2017〕10号")
        assert event["factor_sheet"]["parts"] == PARTS
    for channel, amount in ((FARMLAND, "1000000.00"), (WATER_CH, "800000.00")):
        await ok(f, "/allocations", CENTRAL, channel=channel, amount=amount, to_division=XINJIANG, document_no="财农〔2017〕11号")

    # -- 新疆 passes everything on within 30 days; 博州 passes the farmland money on late ------------
    at(f, "2017-03-25")
    for channel, amount, to in (("central_special", "3000000.00", BOZHOU), ("central_special", "12045543.92", HOTAN),
                                (FARMLAND, "1000000.00", BOZHOU), (WATER_CH, "800000.00", BOZHOU)):
        await ok(f, "/allocations", XINJIANG, channel=channel, amount=amount, to_division=to,
                 document_no="新财农〔2017〕21号", document_date="2017-03-25")
    at(f, "2017-04-05")
    for channel, amount in (("central_special", "3000000.00"), (WATER_CH, "800000.00")):
        await ok(f, "/allocations", BOZHOU, channel=channel, amount=amount, to_division=JINGHE,
                 document_no="博州财农〔2017〕5号", document_date="2017-04-05")
    at(f, "2017-04-30")  # 博州's farmland deadline (received 03-25 + 30 days) has passed
    changed = {c["state"] for c in await f.scheduler.tick()}
    assert changed == {"met", "missed"}
    at(f, "2017-05-10")
    await ok(f, "/allocations", BOZHOU, channel=FARMLAND, amount="1000000.00", to_division=JINGHE,
             document_no="博州财农〔2017〕9号", document_date="2017-05-10")
    await f.scheduler.tick()
    missed = (await f.client.get("/deadlines", params={"division": BOZHOU, "state": "missed"},
                                 headers=bearer(f.settings, "city_finance", BOZHOU))).json()["items"]
    assert [(d["channel"], d["kind"], d["due"], d["settled_on"]) for d in missed] == [
        (FARMLAND, "onward_allocation", "2017-04-24", "2017-05-10")]
    late = await f.db("SELECT data FROM events WHERE type = 'funds.deadline.settled_late'")
    assert len(late) == 1 and json.loads(late[0]["data"])["days_overdue"] == 16
    met = (await f.client.get("/deadlines", params={"division": XINJIANG, "state": "met"},
                              headers=bearer(f.settings, "province_finance", XINJIANG))).json()["items"]
    assert sorted(d["channel"] for d in met if d["kind"] == "onward_allocation" and d["receiver"] == XINJIANG) == sorted(
        ["central_special", FARMLAND, WATER_CH])

    # -- 精河县 integrates three channels under its plan and commits to its projects -------------------
    for channel, amount in (("central_special", "2800000.00"), (FARMLAND, "1000000.00"), (WATER_CH, "800000.00")):
        await ok(f, "/integrations", JINGHE, channel=channel, amount=amount, plan=PLAN, document_no="精政办发〔2017〕12号",
                 document_date="2017-05-12")
    await f.in_library("JH-2017-GOUQI", "JH-2017-WATER", "JH-2017-SOLAR", "JH-2017-ROAD")
    for code, channel, amount in (("JH-2017-GOUQI", "central_special", "1200000.00"),
                                  ("JH-2017-SOLAR", "central_special", "900000.00"),
                                  ("JH-2017-WATER", WATER_CH, "800000.00"), ("JH-2017-WATER", FARMLAND, "300000.00"),
                                  ("JH-2017-ROAD", FARMLAND, "600000.00")):
        await ok(f, "/commitments", JINGHE, channel=channel, amount=amount, project_code=code, source="pool", plan=PLAN,
                 document_date="2017-05-15")
    pool = (await f.client.get("/balances", params={"division": JINGHE, "kind": "pool"}, headers=county)).json()["items"]
    assert {b["channel"]: b["balance"] for b in pool} == {"central_special": "700000.00", FARMLAND: "100000.00", WATER_CH: "0.00"}

    # -- a batch from the county finance bureau: envelope checked, lines idempotent --------------------
    at(f, "2017-06-20")
    households = [f"0192f0a4-0000-7000-8000-0000000000{n:02d}" for n in range(1, 4)]
    await f.registered(*households)  # 建档立卡 households of 精河县 (from the registry's events)
    lines = [{"line_ref": f"精财拨〔2017〕30号-{i + 1}", "project_code": "JH-2017-GOUQI", "channel": "central_special",
              "fiscal_year": 2017, "payee": {"kind": "household", "name": f"农户{i + 1}", "household_id": h},
              "amount": "3000.00", "purpose": "industry_development"} for i, h in enumerate(households)]
    lines += [{"line_ref": "精财拨〔2017〕30号-4", "project_code": "JH-2017-GOUQI", "channel": "central_special",
               "fiscal_year": 2017, "payee": {"kind": "cooperative", "name": "精河县枸杞种植专业合作社"}, "amount": "400000.00"},
              {"line_ref": "精财拨〔2017〕30号-5", "project_code": "JH-2017-WATER", "channel": WATER_CH, "fiscal_year": 2017,
               "payee": {"kind": "contractor", "name": "精河县水利工程公司"}, "amount": "500000.00"},
              {"line_ref": "精财拨〔2017〕30号-6", "project_code": "JH-2017-SOLAR", "channel": "central_special",
               "fiscal_year": 2017, "payee": {"kind": "contractor", "name": "博州光伏工程公司"}, "amount": "600000.00"}]
    envelope = {"batch_ref": "精财拨〔2017〕30号", "schedule_date": "2017-06-20", "document_no": "精财拨〔2017〕30号",
                "count": 6, "total": "1509000.00", "lines": lines}

    async def send(body: dict):
        return await f.client.post("/disbursement-batches", json=body, headers=f.headers(JINGHE))

    before = await counts(f)
    mismatched = await send({**envelope, "total": "1509000.01"})
    assert mismatched.status_code == 422 and mismatched.json()["errors"][0]["field"] == "total"
    assert await counts(f) == before
    settled = await send(envelope)
    assert settled.status_code == 201 and settled.json()["settled"] and settled.json()["posted"] == 6
    await f.zero_sum_and_no_negative()
    after = await counts(f)
    retried = await send(envelope)  # the same lines again (a new request): nothing is paid twice
    assert retried.status_code == 201 and retried.json()["posted"] == 0 and retried.json()["already_posted"] == list(range(6))
    assert await counts(f) == after

    # -- over-disbursement refused, nothing written ---------------------------------------------------
    over = await f.post("/disbursements", JINGHE, amount="300000.01", project_code="JH-2017-SOLAR",
                        payee={"kind": "contractor", "name": "博州光伏工程公司"}, document_date="2017-06-21")
    assert over.status_code == 422
    assert await counts(f) == after

    # -- the road cannot be built: cancelled → stranded → returned → re-allocated -------------------------
    at(f, "2017-08-01")
    await f.project_event("projects.project.cancelled", code="JH-2017-ROAD", reason="线路与国道改线冲突，无法实施")
    await f.zero_sum_and_no_negative()
    stranded = (await f.client.get("/reports/stranded", params={"division": JINGHE}, headers=county)).json()
    [road] = stranded["items"]
    assert (road["project_code"], road["channel"], road["stranded"], road["held"], road["due"]) == (
        "JH-2017-ROAD", FARMLAND, "600000.00", "600000.00", "2018-12-31")
    assert road["days_remaining"] == 517 and road["rule_id"] == "funds.stranded.return"
    assert "DOMAIN" not in road["citation"] and "seed" not in road["citation"]  # a document a person can find
    await ok(f, "/returns", JINGHE, channel=FARMLAND, amount="600000.00", project_code="JH-2017-ROAD",
             document_no="精财〔2017〕41号", document_date="2017-08-10")
    await ok(f, "/reallocations", XINJIANG, channel=FARMLAND, amount="600000.00", to_division=JINGHE,
             document_no="新财农〔2017〕60号", document_date="2017-08-20")
    stranded = (await f.client.get("/reports/stranded", params={"division": JINGHE}, headers=county)).json()
    assert (stranded["held"], stranded["items"][0]["returned"], stranded["overdue"]) == ("0.00", "600000.00", 0)

    # -- the year told back -------------------------------------------------------------------------
    at(f, "2017-12-31")
    await f.scheduler.tick()
    spending = (await f.client.get("/reports/spending", params={"fiscal_year": 2017}, headers=county)).json()
    assert (spending["received"], spending["committed"], spending["disbursed"], spending["stranded"], spending["returned"]) == (
        "5400000.00", "3800000.00", "1509000.00", "600000.00", "600000.00")
    assert spending["disbursed_percent"] == "27.94"
    compliance = (await f.client.get("/reports/deadline-compliance", params={"division": "650000"},
                                     headers=bearer(f.settings, "province_finance", XINJIANG))).json()
    onward = {(g["receiver"], g["kind"]): g for g in compliance["groups"] if g["kind"] == "onward_allocation"}
    assert (onward[(XINJIANG, "onward_allocation")]["met"], onward[(XINJIANG, "onward_allocation")]["missed"]) == (3, 0)
    assert (onward[(BOZHOU, "onward_allocation")]["met"], onward[(BOZHOU, "onward_allocation")]["missed"]) == (2, 1)
    assert onward[(BOZHOU, "onward_allocation")]["days_to_settle"] == {"min": 11, "median": 11, "max": 46}
    trace = (await f.client.get("/trace", params={"payee": f"household:{households[0]}"}, headers=county)).json()
    assert [(p["operation"], p["document_no"]) for p in trace["postings"]][:4] == [
        ("appropriate", "财预〔2017〕12号"), ("allocate", "财农〔2017〕10号"), ("allocate", "新财农〔2017〕21号"),
        ("allocate", "博州财农〔2017〕5号")]
    assert [p["operation"] for p in trace["postings"]][-3:] == ["integrate", "commit", "disburse"]
    project = (await f.client.get("/trace", params={"project": "JH-2017-ROAD"}, headers=county)).json()
    assert [p["operation"] for p in project["postings"]][-2:] == ["commit", "strand"]
    assert {a["kind"] for a in project["accounts"]} == {"committed", "stranded"}
    outside = await f.client.get("/trace", params={"project": "JH-2017-ROAD"},
                                 headers=bearer(f.settings, "county_finance", "652701000000"))
    assert outside.status_code == 403
    both = await f.client.get("/trace", params={"project": "JH-2017-ROAD", "payee": "x:y"}, headers=county)
    assert both.status_code == 422 and both.headers["content-type"] == "application/problem+json"
    assert (await f.client.get("/trace", params={"project": "JH-NONE"}, headers=county)).status_code == 404


async def test_each_level_appropriates_its_own_channels_only(year):
    f = year
    own = await f.post("/appropriations", XINJIANG, channel="provincial_special", amount="500000.00",
                       document_no="新财预〔2017〕3号")
    assert own.status_code == 201 and own.json()["to"]["division"] == XINJIANG
    before = await counts(f)
    central_money = await f.post("/appropriations", XINJIANG, channel="central_special", amount="1.00",
                                 document_no="新财预〔2017〕4号")
    assert central_money.status_code == 422 and central_money.json()["code"] == "appropriate_wrong_level"
    office = await f.post("/appropriations", XINJIANG, role="province_office", channel="provincial_special", amount="1.00",
                          document_no="新财预〔2017〕5号")
    assert office.status_code == 403
    assert await counts(f) == before


@pytest.mark.parametrize("sheet,field", [
    ({**SHEET, "recipients": {GANSU: SHEET["recipients"][GANSU], GUIZHOU: SHEET["recipients"][GUIZHOU]}},
     "factor_sheet.recipients"),
    ({**SHEET, "weights": {"poor_population": 1}}, None),  # recipients carry factors without a weight
    ({**SHEET, "weights": {"poor_population": 0.6, "farmer_income_inv": 2, "performance": 2}},
     "factor_sheet.weights.poor_population"),
    ({**SHEET, "recipients": {**SHEET["recipients"], "140000000000": SHEET["recipients"][GANSU]}}, None),
])
async def test_a_bad_factor_sheet_is_refused_and_nothing_is_written(year, sheet, field):
    f = year
    assert (await f.post("/appropriations", CENTRAL, amount="50000000.00", document_no="财预〔2017〕12号")).status_code == 201
    before = await counts(f)
    response = await f.post("/allocations", CENTRAL, amount=PARTS[XINJIANG], to_division=XINJIANG, factor_sheet=sheet,
                            document_no="财农〔2017〕10号")
    assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json", response.text
    if field:
        assert field in {e["field"] for e in response.json()["errors"]}
    assert await counts(f) == before
