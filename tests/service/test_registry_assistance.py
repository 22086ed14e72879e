"""Assistance, monitoring, return to poverty, the annual review and the departments' updates."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import asyncpg

from shared.config import libpq_url
from tests.service.registry_support import COUNTY, VILLAGE, exit_household, family, identify


async def test_measures_and_the_micro_credit_limits(registry):
    r = registry
    hid = await identify(r, family(21))
    ok = await r.client.post(f"/households/{hid}/measures", headers=r.headers("village", VILLAGE), json={
        "pathway": "finance", "description": "扶贫小额信贷发展养殖", "year": 2016,
        "loan": {"amount": "50000.00", "term_months": 36, "collateral": False}})
    assert ok.status_code == 201, ok.text
    too_much = await r.client.post(f"/households/{hid}/measures", headers=r.headers("village", VILLAGE), json={
        "pathway": "finance", "description": "贷款", "year": 2016,
        "loan": {"amount": "60000.00", "term_months": 48, "collateral": True}})
    assert too_much.status_code == 422
    reasons = " ".join(e["reason"] for e in too_much.json()["errors"])
    assert "amount_exceeds_limit" in reasons and "term_exceeds_limit" in reasons and "collateral_required" in reasons


async def test_the_report_lists_households_without_helper_or_measure(registry):
    r = registry
    a, b = await identify(r, family(22)), await identify(r, family(23))
    county = r.token("county_office", COUNTY)
    report = (await r.client.get("/reports/missing-assistance", headers=county)).json()
    numbers = {h: (await r.get(h))["number"] for h in (a, b)}
    assert set(report["without_helper"]) == set(numbers.values()) == set(report["without_measure"])
    await r.client.put(f"/households/{a}/helper", json={"name": "李干部", "unit": "县财政局"},
                       headers=r.headers("village", VILLAGE))
    await r.client.post(f"/households/{a}/measures", headers=r.headers("village", VILLAGE),
                        json={"pathway": "industry", "description": "枸杞种植", "year": 2016})
    report = (await r.client.get("/reports/missing-assistance", headers=county)).json()
    assert report["without_helper"] == [numbers[b]] and report["without_measure"] == [numbers[b]]


async def test_routing_proposes_pathways_from_the_household(registry):
    r = registry
    hid = (await r.propose(family(24))).json()["id"]  # two with labour, main cause illness
    proposals = (await r.client.get(f"/households/{hid}/routing", params={"has_land": True},
                                    headers=r.token("village", VILLAGE))).json()
    pathways = [p["pathway"] for p in proposals]
    assert "industry" in pathways and "health" in pathways and "social_security" not in pathways


async def test_monitoring_classifies_against_the_line_and_return_to_poverty(registry):
    from tests.conftest import bearer

    r = registry
    hid = await identify(r, family(25))
    r.clock.set(datetime(2021, 6, 1, 2, tzinfo=timezone.utc))

    async def monitor(headers, **body):
        return await r.client.post(f"/households/{hid}/monitoring", headers=headers,
                                   json={"route": "cadre_visit", "year": 2021, **body})

    on_roll = await monitor(r.headers("village", VILLAGE), per_capita_income="5000.00", sudden_hardship=True)
    assert on_roll.status_code == 200 and on_roll.json()["line"] == "6000.00"
    assert on_roll.json()["category"] is None  # on the roll: covered by 建档立卡, not a monitoring object
    not_exited = await r.client.post(f"/households/{hid}/return", json={"cause": "illness"},
                                     headers=r.headers("county_office", COUNTY))
    assert not_exited.status_code == 409

    await exit_household(r, hid)
    r.clock.set(datetime(2021, 6, 1, 2, tzinfo=timezone.utc))
    assert (await monitor(r.headers("village", VILLAGE), per_capita_income="6000.00")).json()["category"] is None
    below = await monitor(r.headers("village", VILLAGE), per_capita_income="5999.99")
    assert below.json()["category"] == "unstable_exited"
    hardship = await monitor(r.headers("village", VILLAGE), per_capita_income="9000.00", sudden_hardship=True)
    assert hardship.json()["category"] == "sudden_hardship"
    civil = {**bearer(r.settings, "department", COUNTY, dept="civil_affairs"), "Idempotency-Key": "m-dept"}
    assert (await monitor(civil, per_capita_income="1.00")).status_code == 403  # departments report department_data
    from_data = await r.client.post(f"/households/{hid}/monitoring", headers={**civil, "Idempotency-Key": "m-dept-2"},
                                    json={"route": "department_data", "year": 2021, "per_capita_income": "1000.00"})
    assert from_data.json()["category"] == "unstable_exited"

    no_line = await monitor(r.headers("village", VILLAGE), year=2013, per_capita_income="100.00")
    assert no_line.status_code == 422 and no_line.json()["type"].endswith("/no-policy-rule")  # no line before 2021

    returned = await r.client.post(f"/households/{hid}/return", json={"cause": "illness", "note": "重病"},
                                   headers=r.headers("county_office", COUNTY))
    assert returned.status_code == 200 and returned.json()["status"] == "registered"
    assert (await r.get(hid))["status"] == "registered"


async def test_departments_write_only_their_own_fields(registry):
    from tests.conftest import bearer

    r = registry
    members = family(26)
    hid = (await r.propose(members)).json()["id"]
    person = members[2]["id_number"]

    def dept(name, n):
        return {**bearer(r.settings, "department", COUNTY, dept=name), "Idempotency-Key": f"d-{name}-{n}"}

    ok = await r.client.put(f"/persons/{person}/departments/civil_affairs", json={"dibao": True, "tekun": False},
                            headers=dept("civil_affairs", 1))
    assert ok.status_code == 200 and ok.json()["dibao"] is True
    other = await r.client.put(f"/persons/{person}/departments/civil_affairs", json={"dibao": False, "tekun": False},
                               headers=dept("education", 2))
    assert other.status_code == 403
    bad = await r.client.put(f"/persons/{person}/departments/education", json={"school_stage": "kindergarten"},
                             headers=dept("education", 3))
    assert bad.status_code == 422
    await r.client.put(f"/persons/{person}/departments/health", json={"major_illness": True, "illness": "尿毒症"},
                       headers=dept("health", 4))
    house = await r.client.put(f"/households/{hid}/housing", json={"dangerous_grade": "D"}, headers=dept("housing", 5))
    assert house.status_code == 200 and house.json()["checks"]["housing_safety"] is False
    household = await r.get(hid)
    member = next(m for m in household["members"] if m["id_number"] == person)
    assert member["details"]["civil_affairs"] == {"dibao": True, "tekun": False} and member["health"] == "major_illness"
    conn = await asyncpg.connect(libpq_url(r.settings.database_url, r.settings.database_name))
    try:
        actors = [json.loads(row["actor"]) for row in await conn.fetch(
            "SELECT actor::text FROM events WHERE type LIKE 'registry.person.%' ORDER BY seq")]
    finally:
        await conn.close()
    assert actors[0]["dept"] == "civil_affairs" and actors[-1]["dept"] == "health"


async def test_departments_read_the_basic_fields_and_their_own_only(registry):
    """A civil-affairs token never reads the health department's fields — single, list and
    lookup; the health department reads its own; offices read everything."""
    from tests.conftest import bearer

    r = registry
    members = family(29)
    hid = (await r.propose(members)).json()["id"]
    person = members[2]["id_number"]
    writes = {"civil_affairs": {"dibao": True, "tekun": False}, "health": {"major_illness": True, "illness": "尿毒症"},
              "education": {"school_stage": "junior"}, "disabled_persons": {"disability_grade": 2}}
    for name, body in writes.items():
        written = await r.client.put(f"/persons/{person}/departments/{name}", json=body, headers={
            **bearer(r.settings, "department", COUNTY, dept=name), "Idempotency-Key": f"w-{name}"})
        assert written.status_code == 200, written.text
    await r.client.put(f"/households/{hid}/housing", json={"dangerous_grade": "D"},
                       headers={**bearer(r.settings, "department", COUNTY, dept="housing"), "Idempotency-Key": "w-h"})

    async def as_seen_by(headers):
        single = (await r.client.get(f"/households/{hid}", headers=headers)).json()
        [listed] = (await r.client.get("/households", params={"id_number": person}, headers=headers)).json()["items"]
        looked_up = (await r.client.get(f"/persons/{person}", headers=headers)).json()
        for household in (single, listed):
            assert household == single
        return single, next(m for m in single["members"] if m["id_number"] == person), looked_up

    household, member, looked_up = await as_seen_by(bearer(r.settings, "department", COUNTY, dept="civil_affairs"))
    assert member["details"] == {"civil_affairs": {"dibao": True, "tekun": False}}
    assert not {"health", "school_stage", "disability_grade"} & set(member) and "尿毒症" not in str(household)
    assert "housing" not in household and member["name"] == looked_up["name"] and member["birth_date"]
    _, member, _ = await as_seen_by(bearer(r.settings, "department", COUNTY, dept="health"))
    assert member["health"] == "major_illness" and member["details"] == {"health": {
        "major_illness": True, "illness": "尿毒症", "insurance": {}}} and "dibao" not in str(member)
    household, member, _ = await as_seen_by(bearer(r.settings, "county_office", COUNTY))
    assert set(member["details"]) == set(writes) and member["disability_grade"] == 2 and household["housing"]


async def test_the_annual_review_removes_households_after_its_announcement_passes(registry):
    r = registry
    keep, wrong = await identify(r, family(27)), await identify(r, family(28))
    start = r.clock.today()
    announced = await r.client.post("/reviews", headers=r.headers("county_office", COUNTY), json={
        "county": COUNTY, "year": 2016, "period_start": start.isoformat(),
        "period_end": (start + timedelta(days=9)).isoformat(), "hotline_local": "0909-5322222",
        "removals": [{"household_id": wrong, "reason": "wrongly_included", "note": "家有商铺"}]})
    assert announced.status_code == 201, announced.text
    review = announced.json()
    assert set(review["additions"]) == {keep, wrong}
    early = await r.client.post(f"/reviews/{review['announcement_id']}/apply", headers=r.headers("county_office", COUNTY))
    assert early.status_code == 409
    await r.pass_period()
    applied = await r.client.post(f"/reviews/{review['announcement_id']}/apply", headers=r.headers("county_office", COUNTY))
    assert applied.status_code == 200 and len(applied.json()["removed"]) == 1
    assert (await r.get(wrong))["status"] == "removed" and (await r.get(keep))["status"] == "registered"
    # the removed household's members may be proposed again
    assert (await r.propose(family(28))).status_code == 201


async def test_statistics_and_evaluations_follow_the_households(registry):
    r = registry
    stay, leave = await identify(r, family(31, 4)), await identify(r, family(32, 2))
    await exit_household(r, leave)
    county = r.token("county_office", COUNTY)
    conn = await asyncpg.connect(libpq_url(r.settings.database_url, r.settings.database_name))
    try:
        await conn.execute("INSERT INTO divisions (code, name, level, rural_population, aliases, flags, synthetic) "
                           "VALUES ($1, '测试村', 'village', 300, '[]', '[]', true)", VILLAGE)
    finally:
        await conn.close()
    y2016 = (await r.client.get("/statistics", params={"division": "652722", "year": 2016}, headers=county)).json()
    assert y2016["registered"] == {"households": 2, "persons": 6} and y2016["remaining"] == {"households": 2, "persons": 6}
    y2017 = (await r.client.get("/statistics", params={"division": "652722", "year": 2017}, headers=county)).json()
    assert y2017["exits"]["2017"] == {"households": 1, "persons": 2}
    assert y2017["remaining"] == {"households": 1, "persons": 4} and y2017["poverty_rate_percent"] == "1.33"
    village = (await r.client.get(f"/evaluations/{VILLAGE}", params={"year": 2017}, headers=county)).json()
    assert village["eligible"] is True and village["threshold_percent"] == "3.00"  # 新疆: western threshold
    assert village["poverty_rate_percent"] == "1.33"
    township = await r.client.get("/evaluations/652722102000", params={"year": 2017}, headers=county)
    assert township.status_code == 422
    other = await r.client.get("/statistics", params={"division": "652701", "year": 2017},
                               headers=r.token("county_office", COUNTY))
    assert other.status_code == 403
    assert (await r.get(stay))["status"] == "registered"


async def test_benefits_from_projects_and_funds_events_are_recorded_once_and_announced(registry, databases):
    from shared.db import make_engine, make_sessionmaker
    from shared.events import NewEvent, append
    from shared.events.consumer import Consumer
    from services.registry.handlers import CONSUMES

    r = registry
    hid = await identify(r, family(41))
    # the projects and funds services' logs (their own databases, as in production)
    sources = {}
    for service in ("projects", "funds"):
        settings = await databases.new(service)
        engine = make_engine(settings.sqlalchemy_url, pool_size=1)
        async with make_sessionmaker(engine, service)() as session, session.begin():
            actor = {"sub": "x", "roles": ["county_finance"], "division": COUNTY}
            if service == "projects":
                stored = await append(session, [NewEvent("projects.benefit.recorded", "P-2016-001", {
                    "household_id": hid, "project_code": "P-2016-001", "kind": "wages", "amount": "1200.00",
                    "on": "2016-08-01"}, actor)])
            else:
                stored = await append(session, [
                    NewEvent("funds.disbursement.posted", "line-1", {"payee": {"kind": "household", "household_id": hid},
                             "amount": "800.50", "on": "2016-09-01", "reference": "精财农〔2016〕12号"}, actor),
                    NewEvent("funds.disbursement.posted", "line-2", {"payee": {"kind": "contractor", "name": "某公司"},
                             "amount": "99999.00", "on": "2016-09-01", "reference": "x"}, actor)])
        await engine.dispose()
        sources[service] = stored
    engine = make_engine(r.settings.sqlalchemy_url, pool_size=2)
    consumer = Consumer(r.settings, make_sessionmaker(engine, "registry"), CONSUMES)
    await consumer.load_positions()
    for event in [*sources["projects"], *sources["funds"], *sources["funds"]]:  # funds delivered twice
        await consumer.apply(event)
    await consumer.http.aclose()
    await engine.dispose()
    conn = await asyncpg.connect(libpq_url(r.settings.database_url, r.settings.database_name))
    try:
        recorded = await conn.fetch("SELECT causation_id FROM events WHERE type = 'registry.benefit.recorded' ORDER BY seq")
    finally:
        await conn.close()
    assert [row["causation_id"] for row in recorded] == [sources["projects"][0]["id"], sources["funds"][0]["id"]]
    got = (await r.client.get(f"/households/{hid}/benefits", headers=r.token("village", VILLAGE))).json()
    assert got["by_kind"] == {"payment": "800.50", "wages": "1200.00"} and got["total"] == "2000.50"
    r.clock.set(datetime(2017, 1, 5, 2, tzinfo=timezone.utc))
    start = r.clock.today()
    notice = await r.client.post("/benefit-notices", headers=r.headers("village", VILLAGE), json={
        "village": VILLAGE, "year": 2016, "period_start": start.isoformat(),
        "period_end": (start + timedelta(days=9)).isoformat(), "hotline_local": "0909-5322222"})
    assert notice.status_code == 201 and notice.json()["rows"] == 2
    public = (await r.client.get(f"/public/announcements/{notice.json()['announcement_id']}")).json()
    assert ["户编号", "类别", "项目/来源", "金额（元）"] == public["content"]["table"]["columns"]
    assert any(row[3] == "1200.00" for row in public["content"]["table"]["rows"])


async def test_a_body_that_is_not_json_is_a_422_problem(registry):
    from tests.conftest import bearer

    r = registry
    members = family(90)
    await r.propose(members)
    headers = {**bearer(r.settings, "department", COUNTY, dept="health"), "Idempotency-Key": "bad-json",
               "content-type": "application/json"}
    response = await r.client.put(f"/persons/{members[0]['id_number']}/departments/health", content=b"{not json",
                                  headers=headers)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "body"
