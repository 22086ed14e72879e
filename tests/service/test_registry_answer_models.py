"""The registry's answers are instances of the models its OpenAPI document names (closed: no
undocumented field), with labels beside the codes a person reads (issue 14): households, persons and
search; assistance, monitoring, the departments' data and the annual review; grievances, change
requests, duplicates, look-ups and uploads; statistics and evaluations; the public board as JSON."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from shared.idcard import make_id
from tests.conftest import bearer, fetch
from tests.service.answer_models import assert_documented
from tests.service.county_support import seed_divisions, upload
from tests.service.registry_support import (
    COUNTY, TOWNSHIP, VILLAGE, exit_household, family, identify,
)
from tests.service.test_public_board import JINGHE, stack, three_services  # noqa: F401 (stack: a fixture)
from tests.service.test_receipts import record_benefit
from tests.service.test_registry_exchange import civil_affairs, civil_affairs_list, roll

BORN = date(1977, 7, 7)


async def test_household_person_and_search_answers_match_their_models(registry):
    r = registry
    spec = (await r.client.get("/openapi.json")).json()
    members = family(41, size=4)
    hid = await identify(r, members)
    await exit_household(r, hid)  # incomes, exit checks, post_exit: the fullest record
    county = r.token("county_office", COUNTY)

    household = await r.client.get(f"/households/{hid}", params={"as_of": "2016-06-30"}, headers=county)
    assert household.status_code == 200, household.text
    body = household.json()
    assert_documented(spec, "/households/{household_id}", body, model="HouseholdOut")
    assert (body["main_cause"], body["main_cause_label"], body["poverty_attribute_label"]) == (
        "illness", "因病", "一般贫困户")
    assert body["incomes"] and body["post_exit"] and body["status_as_of"]
    assert [(m["relation"], m["relation_label"]) for m in body["members"]][:2] == [("head", "户主"), ("spouse", "配偶")]

    page = await r.client.get("/households", params={"id_number": members[1]["id_number"]}, headers=county)
    assert page.status_code == 200 and [h["id"] for h in page.json()["items"]] == [hid]
    assert_documented(spec, "/households", page.json(), model="HouseholdPage")

    person = await r.client.get(f"/persons/{members[2]['id_number']}", headers=county)
    assert person.status_code == 200, person.text
    assert_documented(spec, "/persons/{id_number}", person.json(), model="PersonOut")
    assert (person.json()["relation_label"], person.json()["household"]["status_label"]) == ("子女", "已脱贫")

    # a department reads fewer fields: still the same model, the relation's label among its basic fields
    health = bearer(r.settings, "department", COUNTY, dept="health")
    seen = (await r.client.get(f"/households/{hid}", headers=health)).json()
    assert_documented(spec, "/households/{household_id}", seen)
    assert "housing" not in seen and seen["members"][0]["relation_label"] == "户主"
    assert_documented(spec, "/persons/{id_number}", (await r.client.get(
        f"/persons/{members[2]['id_number']}", headers=health)).json())


async def test_the_writes_on_a_household_answer_the_household_model(registry):
    from datetime import date

    from shared.idcard import make_id
    from tests.service.registry_support import VILLAGE

    r = registry
    spec = (await r.client.get("/openapi.json")).json()
    proposed = await r.propose(family(43), secondary_cause="lack_skills")
    assert proposed.status_code == 201, proposed.text
    assert_documented(spec, "/households", proposed.json(), method="post", status="201", model="ProposedOut")
    assert proposed.json()["secondary_cause_label"] == "缺技术"
    hid = proposed.json()["id"]
    steps = "/households/{household_id}/steps/{action}"
    appraised = await r.step(hid, "appraise", "village", VILLAGE)
    assert appraised.status_code == 200, appraised.text
    assert_documented(spec, steps, appraised.json(), method="post", model="HouseholdOut")
    baby = {"id_number": make_id("652722", date(2016, 2, 1), 431), "name": "新生儿", "relation": "grandchild",
            "labour_capacity": "no_labour"}
    writes = [
        ("post", "/households/{household_id}/members", f"/households/{hid}/members", baby, "201"),
        ("post", "/households/{household_id}/members/{id_number}/leave",
         f"/households/{hid}/members/{baby['id_number']}/leave", {"reason": "deceased", "on": "2016-02-20"}, "200"),
        ("put", "/households/{household_id}/helper", f"/households/{hid}/helper", {"name": "王干部", "unit": "县扶贫办"},
         "200"),
        ("put", "/households/{household_id}/incomes/{year}", f"/households/{hid}/incomes/2015",
         {"year": 2015, "net_per_capita": "2100.00", "components": {"wage": "1000.00"}}, "200"),
    ]
    for method, template, path, body, status in writes:
        answer = await r.client.request(method.upper(), path, json=body, headers=r.headers("village", VILLAGE))
        assert answer.status_code == int(status), (path, answer.text)
        assert_documented(spec, template, answer.json(), method=method, status=status, model="HouseholdOut")


async def test_a_model_that_does_not_describe_the_answer_fails(registry):
    """Closed: a field the model does not name, a code outside its enum, a required field missing."""
    r = registry
    spec = (await r.client.get("/openapi.json")).json()
    proposed = (await r.propose(family(45))).json()
    assert_documented(spec, "/households", proposed, method="post", status="201")
    for wrong in ({**proposed, "surprise": 1}, {**proposed, "main_cause": "bad_luck"},
                  {k: v for k, v in proposed.items() if k != "status_label"}):
        with pytest.raises(AssertionError, match="outside its model"):
            assert_documented(spec, "/households", wrong, method="post", status="201")


async def test_assistance_monitoring_return_and_the_departments_answer_their_models(registry):
    r = registry
    spec = (await r.client.get("/openapi.json")).json()
    hid = await identify(r, family(46, 4))
    measure = await r.client.post(f"/households/{hid}/measures", headers=r.headers("village", VILLAGE), json={
        "pathway": "finance", "description": "扶贫小额信贷发展养殖", "year": 2016,
        "loan": {"amount": "50000.00", "term_months": 36}})
    assert measure.status_code == 201, measure.text
    assert_documented(spec, "/households/{household_id}/measures", measure.json(), method="post", status="201",
                      model="MeasureOut")
    assert measure.json()["loan"]["amount"] == "50000.00"
    routing = await r.client.get(f"/households/{hid}/routing", params={"has_land": True},
                                 headers=r.token("village", VILLAGE))
    assert routing.status_code == 200 and routing.json(), routing.text
    assert_documented(spec, "/households/{household_id}/routing", routing.json(), model="PathwayProposalOut")

    housing = await r.client.put(f"/households/{hid}/housing", json={"dangerous_grade": "C"},
                                 headers={**bearer(r.settings, "department", COUNTY, dept="housing"),
                                          "Idempotency-Key": "housing-1"})
    assert housing.status_code == 200, housing.text
    assert_documented(spec, "/households/{household_id}/housing", housing.json(), method="put", model="HouseholdOut")
    member = family(46, 4)[0]["id_number"]
    dept = "/persons/{id_number}/departments/{dept}"
    for name, body in (("health", {"major_illness": True, "illness": "尿毒症", "insurance": {"critical_illness": True}}),
                       ("human_resources", {"employed": True, "place": "乌鲁木齐", "months": 6})):
        updated = await r.client.put(f"/persons/{member}/departments/{name}", json=body, headers={
            **bearer(r.settings, "department", COUNTY, dept=name), "Idempotency-Key": f"dept-{name}"})
        assert updated.status_code == 200, updated.text
        assert_documented(spec, dept, updated.json(), method="put", model="DepartmentDataOut")

    await exit_household(r, hid)
    r.clock.set(datetime(2021, 3, 1, 2, tzinfo=timezone.utc))
    monitored = await r.client.post(f"/households/{hid}/monitoring", headers=r.headers("village", VILLAGE), json={
        "route": "cadre_visit", "year": 2021, "per_capita_income": "1000.00"})
    assert monitored.status_code == 200 and monitored.json()["category"] == "unstable_exited", monitored.text
    assert_documented(spec, "/households/{household_id}/monitoring", monitored.json(), method="post",
                      model="MonitoringOut")
    returned = await r.client.post(f"/households/{hid}/return", headers=r.headers("county_office", COUNTY),
                                   json={"cause": "disaster"})
    assert returned.status_code == 200 and returned.json()["status"] == "registered", returned.text
    assert_documented(spec, "/households/{household_id}/return", returned.json(), method="post", model="HouseholdOut")


async def test_notices_benefit_notices_and_the_annual_review_answer_their_models(registry):
    r = registry
    spec = (await r.client.get("/openapi.json")).json()
    keep, wrong = await identify(r, family(48)), await identify(r, family(49))
    proposed = (await r.propose(family(50))).json()["id"]
    assert (await r.step(proposed, "appraise", "village", VILLAGE)).status_code == 200
    posted = await r.notice("identification.village", VILLAGE, [proposed], "village")
    assert posted.status_code == 201, posted.text
    assert_documented(spec, "/notices", posted.json(), method="post", status="201", model="NoticePostedOut")
    assert posted.json()["status"] == "village_notice"
    draft = await r.client.post("/announcements", headers=r.headers("village", VILLAGE), json={
        "subject_type": "notice", "subject_id": "n-1", "level": "village", "division": VILLAGE, "title": "村务公示",
        "content": {"body": "公示内容"}, "hotline_local": "0909-5322222"})
    assert draft.status_code == 201 and draft.json()["rendered_text"] is None, draft.text  # a draft is not yet rendered
    assert_documented(spec, "/announcements", draft.json(), method="post", status="201", model="AnnouncementOut")
    objected = await r.client.post(f"/public/announcements/{posted.json()['announcement_id']}/objections",
                                   json={"text": "该户家有商铺，不符合条件。", "name": "张三", "phone": "13912345678"})
    assert objected.status_code == 201, objected.text
    official = await r.client.get(f"/announcements/{posted.json()['announcement_id']}",
                                  headers=r.token("village", VILLAGE))
    assert official.json()["objections"][0]["contact_phone"] == "13912345678", official.text  # officials only
    assert_documented(spec, "/announcements/{announcement_id}", official.json(), model="AnnouncementOut")

    await record_benefit(r.settings, keep)
    start = r.clock.today()
    period = {"period_start": start.isoformat(), "period_end": (start + timedelta(days=9)).isoformat(),
              "hotline_local": "0909-5322222"}
    benefits = await r.client.post("/benefit-notices", headers=r.headers("village", VILLAGE),
                                   json={"village": VILLAGE, "year": 2016, **period})
    assert benefits.status_code == 201, benefits.text
    assert_documented(spec, "/benefit-notices", benefits.json(), method="post", status="201", model="BenefitNoticeOut")

    announced = await r.client.post("/reviews", headers=r.headers("county_office", COUNTY), json={
        "county": COUNTY, "year": 2016, **period,
        "removals": [{"household_id": wrong, "reason": "wrongly_included", "note": "家有商铺"}]})
    assert announced.status_code == 201, announced.text
    assert_documented(spec, "/reviews", announced.json(), method="post", status="201", model="ReviewOut")
    await r.pass_period()
    applied = await r.client.post(f"/reviews/{announced.json()['announcement_id']}/apply",
                                  headers=r.headers("county_office", COUNTY))
    assert applied.status_code == 200, applied.text
    assert_documented(spec, "/reviews/{announcement_id}/apply", applied.json(), method="post",
                      model="ReviewAppliedOut")


async def test_grievances_and_change_requests_answer_their_models(registry):
    r = registry
    spec = (await r.client.get("/openapi.json")).json()
    hid = await identify(r, family(51))
    received = await r.client.post("/grievances", headers=r.headers("village", VILLAGE), json={
        "channel": "12317", "division": VILLAGE, "summary": "反映某户帮扶措施未落实",
        "complainant": {"name": "李四", "phone": "13812345678"}, "links": [{"kind": "household", "ref": hid}]})
    assert received.status_code == 201, received.text
    assert_documented(spec, "/grievances", received.json(), method="post", status="201", model="GrievanceOut")
    gid, receipt = received.json()["id"], received.json()["receipt"]
    steps = "/grievances/{grievance_id}/steps/{action}"
    for action, body, role, division in (("classify", {"category": "assistance"}, "county_office", COUNTY),
                                         ("assign", {"assigned_to": TOWNSHIP}, "county_office", COUNTY),
                                         ("investigate", {}, "township", TOWNSHIP),
                                         ("answer", {"outcome": "substantiated", "answer": "已督促落实"}, "township",
                                          TOWNSHIP)):
        taken = await r.client.post(f"/grievances/{gid}/steps/{action}", json=body, headers=r.headers(role, division))
        assert taken.status_code == 200, (action, taken.text)
        assert_documented(spec, steps, taken.json(), method="post", model="GrievanceOut")
    read = await r.client.get(f"/grievances/{gid}", headers=r.token("county_office", COUNTY))
    assert read.status_code == 200 and read.json()["outcome_label"] == "属实", read.text
    assert_documented(spec, "/grievances/{grievance_id}", read.json(), model="GrievanceOut")
    public = await r.client.get(f"/public/grievances/{receipt}")
    assert public.status_code == 200, public.text
    assert_documented(spec, "/public/grievances/{receipt}", public.json(), model="GrievanceStatusOut")

    person = family(51)[1]["id_number"]
    proposed = await r.client.post("/change-requests", headers=r.headers("village", VILLAGE), json={
        "target": "person", "id_number": person, "changes": {"name": "更正名"}, "reason": "户口簿核对姓名录入错误"})
    assert proposed.status_code == 201, proposed.text
    assert_documented(spec, "/change-requests", proposed.json(), method="post", status="201", model="ChangeRequestOut")
    decided = await r.client.post(f"/change-requests/{proposed.json()['id']}/decision",
                                  headers=r.headers("county_office", COUNTY), json={"decision": "approve", "reason": "核实"})
    assert decided.status_code == 200 and decided.json()["status"] == "approved", decided.text
    assert_documented(spec, "/change-requests/{request_id}/decision", decided.json(), method="post",
                      model="ChangeRequestOut")


async def test_uploads_look_ups_and_duplicate_reviews_answer_their_models(registry):
    r = registry
    spec = (await r.client.get("/openapi.json")).json()
    await seed_divisions(r.settings)
    imported = await upload(r, "/imports", "roll.csv", roll(4))
    assert imported.status_code == 201, imported.text
    assert_documented(spec, "/imports", imported.json(), method="post", status="201", model="RollImportedOut")
    first = make_id("652722", date(1960, 1, 1), 0)
    listed = await r.client.post("/departments/civil_affairs/lists", headers=civil_affairs(r),
                                 files={"file": ("低保.csv", civil_affairs_list([["1", first, "是", "否"]]), "text/csv")})
    assert listed.status_code == 201, listed.text
    assert_documented(spec, "/departments/{dept}/lists", listed.json(), method="post", status="201",
                      model="DepartmentListOut")
    for token in (r.token("county_office", COUNTY), bearer(r.settings, "department", COUNTY, dept="civil_affairs")):
        found = await r.client.post("/persons/lookup", json={"id_numbers": [first, make_id("652722", BORN, 9)]},
                                    headers=token)
        assert found.status_code == 200 and found.json()["found"] == 1, found.text
        assert_documented(spec, "/persons/lookup", found.json(), method="post", model="LookupOut")

    twin = await r.propose([{"id_number": make_id("652722", date(1960, 1, 1), 8), "name": "人0", "relation": "head",
                             "labour_capacity": "normal_labour"}])
    assert twin.status_code == 201 and twin.json()["duplicate_candidates"] == 1, twin.text
    [candidate] = (await r.client.get("/reports/duplicates", headers=r.token("county_office", COUNTY))).json()["items"]
    reviewed = await r.client.post(f"/duplicates/{candidate['id']}/review", headers=r.headers("county_office", COUNTY),
                                   json={"outcome": "not_duplicate", "reason": "入户核实为两人"})
    assert reviewed.status_code == 200, reviewed.text
    assert_documented(spec, "/duplicates/{candidate_id}/review", reviewed.json(), method="post",
                      model="DuplicateReviewedOut")


async def test_statistics_and_evaluations_answer_their_models(registry):
    r = registry
    spec = (await r.client.get("/openapi.json")).json()
    await seed_divisions(r.settings)
    await fetch(r.settings, "UPDATE divisions SET rural_population = 300 WHERE code = $1", VILLAGE)
    hid = await identify(r, family(52))
    await exit_household(r, hid)
    county = r.token("county_office", COUNTY)
    figures = await r.client.get("/statistics", params={"division": "652722", "year": 2017}, headers=county)
    assert figures.status_code == 200 and figures.json()["by_township"], figures.text
    assert_documented(spec, "/statistics", figures.json(), model="StatisticsOut")
    evaluated = await r.client.get(f"/evaluations/{VILLAGE}", params={"year": 2017}, headers=county)
    assert evaluated.status_code == 200, evaluated.text
    assert_documented(spec, "/evaluations/{division}", evaluated.json(), model="EvaluationOut")
    rates = await r.client.get(f"/evaluations/{COUNTY}/error-rates", params={"year": 2017}, headers=county)
    assert rates.status_code == 200, rates.text
    assert_documented(spec, "/evaluations/{division}/error-rates", rates.json(), model="ErrorRatesOut")


async def test_the_public_board_as_json_answers_its_models(stack):  # noqa: F811 (the fixture)
    ids = await three_services(stack)
    _, funds = stack.apps["funds"]
    filed = await funds.post(f"/public/announcements/{ids['funds']}/objections",
                             json={"text": "分配给我村的资金与实际不符。", "name": "张三", "phone": "13912345678"})
    assert filed.status_code == 201, filed.text
    await stack.feed_board()
    _, registry = stack.apps["registry"]
    spec = (await registry.get("/openapi.json")).json()
    board = await registry.get(f"/public/boards/{JINGHE}", params={"format": "json"})
    assert board.status_code == 200 and {a["service"] for a in board.json()["current"]} == set(ids), board.text
    assert_documented(spec, "/public/boards/{division}", board.json(), model="BoardOut")
    for aid in ids.values():
        one = await registry.get(f"/public/notices/{aid}", headers={"Accept": "application/json"})
        assert one.status_code == 200, one.text
        assert_documented(spec, "/public/notices/{announcement_id}", one.json(), model="BoardNoticeOut")
    receipt = filed.json()["receipt"]
    received = await registry.get(f"/public/objections/{receipt}", params={"format": "json"})
    assert received.status_code == 200 and received.json()["decision"] is None, received.text
    assert_documented(spec, "/public/objections/{receipt}", received.json(), model="ObjectionStatusOut")
    resolved = await funds.post(f"/announcements/{ids['funds']}/objections/{filed.json()['id']}/resolve",
                                json={"decision": "dismissed", "reason": "经核实，分配与文件一致"},
                                headers=stack.headers("funds", "county_finance", JINGHE))
    assert resolved.status_code == 200, resolved.text
    await stack.feed_board()
    answered = (await registry.get(f"/public/objections/{receipt}", params={"format": "json"})).json()
    assert (answered["status"], answered["decision"]) == ("answered", "dismissed")
    assert_documented(spec, "/public/objections/{receipt}", answered, model="ObjectionStatusOut")
