"""Money down the levels through the funds API, on real PostgreSQL: central → 新疆 → 博州 → 精河县,
integration, commitment, disbursement; refusals write nothing; the ledger stays zero-sum."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from services.funds.app import create_app
from shared.clock import SettableClock
from tests.conftest import bearer, serving
from tests.service.funds_support import BOZHOU, CENTRAL, JINGHE, XINJIANG, Funds, committed_project, down_to_jinghe


async def test_money_flows_down_and_out_with_events(funds):
    f = funds
    await down_to_jinghe(f)
    await f.in_library("P-2017-GOUQI")
    integrated = await f.post("/integrations", JINGHE, amount="600000.00", plan="精河县2017年整合方案",
                              document_no="精政发〔2017〕3号")
    assert integrated.status_code == 201, integrated.text
    committed = await f.post("/commitments", JINGHE, amount="200000.00", project_code="P-2017-GOUQI",
                             source="pool", plan="精河县2017年整合方案")
    assert committed.status_code == 201, committed.text
    paid = await f.post("/disbursements", JINGHE, amount="50000.00", project_code="P-2017-GOUQI",
                        payee={"kind": "cooperative", "name": "精河县枸杞合作社"}, purpose="industry_development")
    assert paid.status_code == 201, paid.text
    assert paid.json()["event_type"] == "funds.disbursement.posted" and paid.json()["amount"] == "50000.00"
    await f.zero_sum_and_no_negative()
    balances = (await f.client.get("/balances", params={"division": JINGHE},
                                   headers=bearer(f.settings, "county_finance", JINGHE))).json()
    by_kind = {(b["kind"], b["reference"]): b["balance"] for b in balances["items"]}
    assert by_kind[("available", None)] == "400000.00"
    assert by_kind[("pool", "精河县2017年整合方案")] == "400000.00"
    assert by_kind[("committed", "P-2017-GOUQI")] == "150000.00"
    assert by_kind[("disbursed", "cooperative:精河县枸杞合作社")] == "50000.00"
    types = [r["type"] for r in await f.db("SELECT type FROM events WHERE type NOT LIKE 'funds.deadline.%' ORDER BY seq")]
    assert types == ["funds.appropriation.posted", "funds.allocation.issued", "funds.allocation.issued",
                     "funds.allocation.issued", "funds.integration.posted", "funds.commitment.posted",
                     "funds.disbursement.posted"]
    trace = (await f.client.get("/trace", params={"payee": "cooperative:精河县枸杞合作社"},
                                headers=bearer(f.settings, "county_finance", JINGHE))).json()
    assert [p["operation"] for p in trace["postings"]] == ["appropriate", "allocate", "allocate", "allocate",
                                                           "integrate", "commit", "disburse"]


async def test_over_disbursement_is_refused_and_nothing_is_written(funds):
    f = funds
    await committed_project(f, "500.00", down="1000.00")
    before = await f.db("SELECT count(*) AS n FROM events")
    over = await f.post("/disbursements", JINGHE, amount="500.01", project_code="P-1",
                        payee={"kind": "contractor", "name": "某建筑公司"})
    assert over.status_code == 422 and over.headers["content-type"] == "application/problem+json"
    assert await f.db("SELECT count(*) AS n FROM events") == before
    assert (await f.db("SELECT count(*) AS n FROM postings WHERE operation = 'disburse'"))[0]["n"] == 0
    await f.zero_sum_and_no_negative()


async def test_negative_list_purposes_are_refused_with_the_citation(funds):
    f = funds
    await committed_project(f, "500.00", down="1000.00")
    refused = await f.post("/disbursements", JINGHE, amount="100.00", project_code="P-1", purpose="vehicles_telecom_equipment",
                           payee={"kind": "enterprise", "name": "汽车销售公司"})
    assert refused.status_code == 422 and "财农〔2017〕8号" in refused.text


@pytest.mark.parametrize("purpose", ["交通工具及通讯设备", "Vehicles_Telecom_Equipment", "vehicles-telecom-equipment",
                                     "rural_roads", "产业发展", ""])
async def test_a_purpose_outside_the_code_list_is_refused_on_every_write_that_takes_one(funds, purpose):
    """The negative list's own label, another spelling, an unknown code: refused with the valid
    codes — single disbursements, commitments, allocations and batch lines alike; nothing written."""
    f = funds
    await committed_project(f, "500.00", down="1000.00")
    before = await f.db("SELECT count(*) AS n FROM events")
    writes = [("/disbursements", JINGHE,
               dict(amount="100.00", project_code="P-1", payee={"kind": "enterprise", "name": "某公司"})),
              ("/commitments", JINGHE, dict(amount="100.00", project_code="P-1", source="available")),
              ("/allocations", BOZHOU, dict(amount="1.00", to_division=JINGHE))]
    for path, division, body in writes:
        refused = await f.post(path, division, purpose=purpose, **body)
        assert refused.status_code == 422, (path, refused.text)
        [error] = [e for e in refused.json()["errors"] if e["field"] == "purpose"]
        assert "industry_development" in error["reason"] and "vehicles_telecom_equipment" in error["reason"]
    lines = await f.client.post("/disbursement-batches", json=batch([line("a", "1.00"), line("b", "1.00", purpose=purpose)]),
                                headers=f.headers(JINGHE))
    assert lines.status_code == 422
    assert [(r["index"], r["code"]) for r in lines.json()["refused"]] == [(1, "unknown_purpose")]
    assert await f.db("SELECT count(*) AS n FROM events") == before


async def test_the_purpose_list_is_served_with_labels_and_the_negative_list(funds):
    listed = await funds.client.get("/purposes", params={"on": "2017-06-01"},
                                    headers=bearer(funds.settings, "county_finance", JINGHE))
    assert listed.status_code == 200
    items = {i["code"]: i for i in listed.json()["items"]}
    assert items["industry_development"] == {"code": "industry_development", "label_zh": "产业发展", "forbidden": False}
    assert items["vehicles_telecom_equipment"]["forbidden"]
    assert items["vehicles_telecom_equipment"]["label_zh"] == "交通工具及通讯设备"


async def test_openapi_shows_the_purpose_codes():
    schema = create_app().openapi()
    purpose = schema["components"]["schemas"]["DisbursementIn"]["properties"]["purpose"]["anyOf"][0]
    assert "industry_development" in purpose["enum"] and "产业发展" in purpose["description"]
    assert "交通工具及通讯设备" not in purpose["enum"]


@pytest.mark.parametrize("path,division,role,body", [
    ("/appropriations", XINJIANG, "province_office", {"amount": "1.00"}),
    ("/allocations", XINJIANG, "province_office", {"amount": "1.00", "to_division": BOZHOU}),
    ("/allocations", BOZHOU, "city_finance", {"amount": "1.00", "to_division": "140000000000",  # not under it
                                              "document_no": "博州财农〔2017〕5号"}),
    ("/disbursements", JINGHE, "auditor", {"amount": "1.00", "project_code": "P-1", "payee": {"kind": "household", "name": "x"}}),
])
async def test_operations_are_refused_to_the_wrong_role_or_jurisdiction(funds, path, division, role, body):
    f = funds
    response = await f.post(path, division, role=role, **body)
    assert response.status_code == 403
    assert (await f.db("SELECT count(*) AS n FROM events"))[0]["n"] == 0


async def test_a_disbursement_to_a_household_carries_the_registry_contract(funds):
    f = funds
    await down_to_jinghe(f, "1000.00")
    await f.registered("0192f0a4-0000-7000-8000-000000000001")  # a 建档立卡 household of the county
    await f.in_library("P-1")
    await f.post("/commitments", JINGHE, amount="1000.00", project_code="P-1", source="available")
    paid = await f.post("/disbursements", JINGHE, amount="300.00", project_code="P-1",
                        payee={"kind": "household", "name": "王某", "household_id": "0192f0a4-0000-7000-8000-000000000001"},
                        line_ref="batch-1/line-7")
    data = paid.json()
    assert data["payee"] == {"kind": "household", "name": "王某", "household_id": "0192f0a4-0000-7000-8000-000000000001"}
    assert (data["amount"], data["on"], data["reference"]) == ("300.00", "2017-03-01", "batch-1/line-7")
    again = await f.post("/disbursements", JINGHE, amount="300.00", project_code="P-1",
                         payee={"kind": "household", "name": "王某", "household_id": "0192f0a4-0000-7000-8000-000000000001"},
                         line_ref="batch-1/line-7")
    assert again.status_code == 409  # the line reference is unique: the same line is never paid twice


async def test_a_stranded_commitment_goes_back_to_the_province_and_out_again(funds):
    f = funds
    await down_to_jinghe(f, "1000.00")
    await f.in_library("P-CANCELLED")
    await f.post("/commitments", JINGHE, amount="800.00", project_code="P-CANCELLED", source="available")
    await f.post("/disbursements", JINGHE, amount="300.00", project_code="P-CANCELLED",
                 payee={"kind": "contractor", "name": "某公司"})
    stranded = await f.post("/strandings", JINGHE, project_code="P-CANCELLED", reason="项目无法实施")
    assert stranded.status_code == 201 and stranded.json()["amount"] == "500.00"  # what was still committed
    wrong = await f.client.post("/returns", headers=f.headers(JINGHE), json={
        "channel": "central_special", "fiscal_year": 2017, "amount": "500.01", "document_no": "精财〔2017〕9号",
        "document_date": "2017-09-01", "project_code": "P-CANCELLED"})
    assert wrong.status_code == 422
    returned = await f.post("/returns", JINGHE, amount="500.00", project_code="P-CANCELLED", document_no="精财〔2017〕9号")
    assert returned.status_code == 201, returned.text
    again = await f.post("/reallocations", XINJIANG, amount="500.00", to_division=JINGHE, document_no="新财农〔2017〕40号")
    assert again.status_code == 201, again.text
    await f.zero_sum_and_no_negative()
    balances = (await f.client.get("/balances", params={"division": "650000"},
                                   headers=bearer(f.settings, "province_finance", XINJIANG))).json()
    by_key = {(b["division"], b["kind"], b["reference"]): b["balance"] for b in balances["items"]}
    assert by_key[(XINJIANG, "returned", None)] == "0.00"
    assert by_key[(JINGHE, "available", None)] == "700.00"  # 200 never committed + 500 re-allocated
    assert by_key[(JINGHE, "stranded", "P-CANCELLED")] == "0.00"


async def test_a_deadline_met_and_one_missed_as_the_clock_moves(databases):
    from datetime import timedelta

    from services.funds.usecases.deadlines import DeadlineScheduler
    from shared.db import make_engine, make_sessionmaker

    settings = await databases.new("funds")
    clock = SettableClock(datetime(2017, 3, 1, 2, tzinfo=timezone.utc))
    async with serving(create_app(settings, clock=clock, run_background=False)) as client:
        f = Funds(settings, client, clock=clock)
        await f.post("/appropriations", CENTRAL, amount="1000.00", document_no="财农〔2017〕8号")
        received = await f.post("/allocations", CENTRAL, amount="1000.00", to_division=XINJIANG, document_no="财农〔2017〕10号")
        [province_deadline] = received.json()["deadlines"]
        assert province_deadline["kind"] == "onward_allocation" and province_deadline["due"] == "2017-03-31"
        assert "第五十二条" in province_deadline["citation"] or "预算法" in province_deadline["citation"]
        clock.set(datetime(2017, 3, 10, 2, tzinfo=timezone.utc))
        passed_on = await f.post("/allocations", XINJIANG, amount="1000.00", to_division=BOZHOU,
                                 document_no="新财农〔2017〕21号", document_date="2017-03-10")
        [city_deadline] = [d for d in passed_on.json()["deadlines"] if d["kind"] == "onward_allocation"]
        engine = make_engine(settings.sqlalchemy_url, pool_size=1)
        scheduler = DeadlineScheduler(make_sessionmaker(engine, "funds", clock), clock, 1)
        try:
            changed = await scheduler.tick()
            assert changed == [{"id": province_deadline["id"], "state": "met"}]  # passed on within 30 days
            clock.set(datetime(2017, 4, 9, 2, tzinfo=timezone.utc))
            assert await scheduler.tick() == []  # the city's deadline is still open on its last day
            open_now = (await client.get("/deadlines", params={"division": BOZHOU, "state": "open"},
                                         headers=bearer(settings, "city_finance", BOZHOU))).json()["items"]
            assert [(d["id"], d["days_remaining"]) for d in open_now if d["kind"] == "onward_allocation"] == [
                (city_deadline["id"], 0)]
            assert [d["due"] for d in open_now if d["kind"] == "stranded_return"] == ["2018-12-31"]
            clock.advance(timedelta(days=6))
            assert await scheduler.tick() == [{"id": city_deadline["id"], "state": "missed"}]
        finally:
            await engine.dispose()
        missed = (await client.get("/deadlines", params={"division": BOZHOU, "state": "missed"},
                                   headers=bearer(settings, "city_finance", BOZHOU))).json()["items"]
        assert missed[0]["days_overdue"] == 6
        types = [r["type"] for r in await f.db("SELECT type FROM events WHERE type LIKE 'funds.deadline.%' ORDER BY seq")]
        assert types.count("funds.deadline.met") == 1 and types.count("funds.deadline.missed") == 1


def batch(lines, **envelope):
    total = sum(int(line["amount"].replace(".", "")) for line in lines)
    body = {"batch_ref": "精财拨〔2017〕1批", "schedule_date": "2017-06-01", "count": len(lines),
            "total": f"{total // 100}.{total % 100:02d}", "lines": lines}
    body.update(envelope)
    return body


def line(ref, amount, project="P-1", purpose=None):
    return {"line_ref": ref, "project_code": project, "channel": "central_special", "fiscal_year": 2017, "amount": amount,
            "payee": {"kind": "cooperative", "name": f"合作社{ref}"}, "purpose": purpose}


async def test_disbursement_batches(funds):
    f = funds
    await committed_project(f, "600.00", down="1000.00")

    async def send(body):
        return await f.client.post("/disbursement-batches", json=body, headers=f.headers(JINGHE))

    def postings():
        return f.db("SELECT count(*) AS n FROM postings WHERE operation = 'disburse'")

    wrong_total = await send(batch([line("a", "100.00"), line("b", "50.00")], total="150.01"))
    assert wrong_total.status_code == 422 and wrong_total.json()["errors"][0]["field"] == "total"
    wrong_count = await send(batch([line("a", "100.00")], count=2))
    assert wrong_count.status_code == 422 and wrong_count.json()["errors"][0]["field"] == "count"
    bad_lines = [line("a", "100.00"), line("b", "9999.00"), line("c", "10.00", purpose="buildings_staff_housing")]
    refused = await send(batch(bad_lines))
    assert refused.status_code == 422
    assert [r["index"] for r in refused.json()["refused"]] == [1, 2]
    await f.project_event("projects.project.cancelled", code="P-GONE", reason="无法实施")
    elsewhere = await send(batch([line("a", "100.00"), line("x", "1.00", project="P-NOWHERE"),
                                  line("y", "1.00", project="P-GONE")]))
    assert elsewhere.status_code == 422
    assert [(r["index"], r["code"]) for r in elsewhere.json()["refused"]] == [(1, "unknown_project"), (2, "project_cancelled")]
    assert "P-NOWHERE" in elsewhere.json()["refused"][0]["reason"]
    assert (await postings())[0]["n"] == 0  # nothing posted
    partial = await send(batch(bad_lines, partial=True))
    assert partial.status_code == 201 and partial.json()["posted"] == 1 and not partial.json()["settled"]
    assert [r["index"] for r in partial.json()["refused"]] == [1, 2]
    retry = await send(batch([line("a", "100.00"), line("d", "200.00")]))  # line a again: skipped, not paid twice
    assert retry.status_code == 201 and retry.json()["already_posted"] == [0]
    assert retry.json()["posted"] == 1 and retry.json()["settled"] is True
    assert (await postings())[0]["n"] == 2
    await f.zero_sum_and_no_negative()


async def test_the_projects_gate_and_a_cancellation_that_strands_the_money(funds):
    f = funds
    await down_to_jinghe(f, "1000.00")

    async def commit(code, amount="400.00"):
        return await f.post("/commitments", JINGHE, amount=amount, project_code=code, source="available")

    unknown = await commit("P-UNKNOWN")
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "project_code"
    await f.project_event("projects.project.entered_library", code="P-PENDING", publicity_passed=False)
    assert (await commit("P-PENDING")).status_code == 422  # publicity not passed
    await f.in_library("P-WATER")
    assert (await commit("P-WATER")).status_code == 201
    await f.post("/disbursements", JINGHE, amount="150.00", project_code="P-WATER",
                 payee={"kind": "contractor", "name": "水利公司"})
    await f.project_event("projects.project.cancelled", code="P-WATER", reason="水源地调整，无法实施")
    balances = (await f.client.get("/balances", params={"division": JINGHE},
                                   headers=bearer(f.settings, "county_finance", JINGHE))).json()
    by_key = {(b["kind"], b["reference"]): b["balance"] for b in balances["items"]}
    assert by_key[("committed", "P-WATER")] == "0.00" and by_key[("stranded", "P-WATER")] == "250.00"
    assert (await commit("P-WATER", "1.00")).status_code == 422  # cancelled: no more money
    seen = (await f.client.get("/projects/P-WATER", headers=bearer(f.settings, "county_finance", JINGHE))).json()
    # committed = paid + remaining + stranded + returned: each figure on its own (issue #14)
    assert (seen["fundable"], seen["cancelled"], seen["committed"], seen["paid"], seen["remaining"], seen["stranded"],
            seen["returned"]) == (False, True, "400.00", "150.00", "0.00", "250.00", "0.00")
    pending = (await f.client.get("/projects/P-PENDING", headers=bearer(f.settings, "county_finance", JINGHE))).json()
    assert (pending["in_library"], pending["publicity_passed"], pending["fundable"]) == (True, False, False)
    assert (await f.client.get("/projects/P-UNKNOWN", headers=bearer(f.settings, "county_finance", JINGHE))).status_code == 404
    assert (await f.client.get("/projects/P-WATER",
                               headers=bearer(f.settings, "county_finance", "652701000000"))).status_code == 403
    stranding = await f.db("SELECT causation_id FROM events WHERE type = 'funds.stranding.posted'")
    assert len(stranding) == 1 and stranding[0]["causation_id"] is not None
    await f.zero_sum_and_no_negative()



async def test_one_projects_gate_for_commitments_single_disbursements_and_batch_lines(funds):
    """The same rule and the same reason on the three ways money goes to a project: not in the
    county's library, in it with its publicity not passed, cancelled. Nothing is written."""
    f = funds
    await down_to_jinghe(f, "1000.00")
    await f.in_library("P-1", "P-WATER")
    await f.post("/commitments", JINGHE, amount="300.00", project_code="P-1", source="available")
    await f.post("/commitments", JINGHE, amount="300.00", project_code="P-WATER", source="available")
    await f.project_event("projects.project.entered_library", code="P-PENDING", publicity_passed=False)
    await f.project_event("projects.project.cancelled", code="P-WATER", reason="水源地调整，无法实施")
    before = await f.db("SELECT count(*) AS n FROM events")
    for project, code in (("P-NOWHERE", "unknown_project"), ("P-PENDING", "project_not_in_library"),
                          ("P-WATER", "project_cancelled")):
        committed = await f.post("/commitments", JINGHE, amount="1.00", project_code=project, source="available")
        paid = await f.post("/disbursements", JINGHE, amount="1.00", project_code=project,
                            payee={"kind": "contractor", "name": "某建筑公司"})
        for refused in (committed, paid):
            assert refused.status_code == 422 and refused.headers["content-type"] == "application/problem+json"
            assert refused.json()["code"] == code and refused.json()["errors"][0]["field"] == "project_code"
            assert project in refused.json()["detail"]
        assert committed.json()["errors"] == paid.json()["errors"]
        lines = await f.client.post("/disbursement-batches", headers=f.headers(JINGHE), json=batch(
            [line("ok", "1.00"), line("gated", "1.00", project=project)]))
        assert lines.status_code == 422
        assert [(r["index"], r["code"]) for r in lines.json()["refused"]] == [(1, code)]
        assert project in lines.json()["refused"][0]["reason"]
    assert await f.db("SELECT count(*) AS n FROM events") == before
    fine = await f.post("/disbursements", JINGHE, amount="1.00", project_code="P-1",
                        payee={"kind": "contractor", "name": "某建筑公司"})
    assert fine.status_code == 201, fine.text
    await f.zero_sum_and_no_negative()

async def test_the_management_fee_is_capped_at_one_percent_and_spending_is_reported(funds):
    f = funds
    await down_to_jinghe(f, "100000.00")
    await f.in_library("P-1")
    fee = dict(project_code="P-1", source="available", purpose="project_management_fee")
    first = await f.post("/commitments", JINGHE, amount="600.00", **fee)
    assert first.status_code == 201, first.text
    over = await f.post("/commitments", JINGHE, amount="400.01", **fee)  # 1% of 100,000 = 1,000
    assert over.status_code == 422 and "1000.00" in over.json()["detail"]
    assert (await f.post("/commitments", JINGHE, amount="400.00", **fee)).status_code == 201
    await f.post("/commitments", JINGHE, amount="20000.00", project_code="P-1", source="available")
    await f.post("/disbursements", JINGHE, amount="5250.00", project_code="P-1", payee={"kind": "cooperative", "name": "合作社"})
    report = (await f.client.get("/reports/spending", params={"fiscal_year": 2017},
                                 headers=bearer(f.settings, "county_finance", JINGHE))).json()
    assert (report["received"], report["committed"], report["disbursed"]) == ("100000.00", "21000.00", "5250.00")
    assert report["disbursed_percent"] == "5.25"


async def test_the_county_announces_its_funds_results(funds):
    f = funds
    await down_to_jinghe(f, "1000.00")
    await f.project_event("projects.project.entered_library", v=2, code="P-1", division="652722102201", publicity_passed=True,
                          name="永集湖村枸杞种植基地", type="industry.planting", type_label="种植业",
                          content="新建枸杞种植基地500亩；配套滴灌设施", implementing_unit="托里镇人民政府")
    await f.in_library("P-2")  # version 1: no details
    await f.post("/commitments", JINGHE, amount="100.00", project_code="P-2", source="available")
    await f.post("/integrations", JINGHE, amount="600.00", plan="整合方案", document_no="精政发〔2017〕3号")
    await f.post("/commitments", JINGHE, amount="500.00", project_code="P-1", source="pool", plan="整合方案")
    notice = await f.client.post("/results-notices", headers=f.headers(JINGHE), json={
        "fiscal_year": 2017, "period_start": "2017-03-01", "period_end": "2017-03-10", "hotline_local": "0909-5322222"})
    assert notice.status_code == 201, notice.text
    public = (await f.client.get(f"/public/announcements/{notice.json()['announcement_id']}")).json()
    rows = public["content"]["table"]["rows"]
    assert public["content"]["table"]["columns"][3:7] == ["方案/项目", "建设地点", "建设内容", "实施单位"]
    assert ["收到资金", "市", "中央财政专项扶贫资金", "", "", "", "", "1000.00"] in rows  # from 博州 (a city), central money
    assert ["统筹整合", "", "中央财政专项扶贫资金", "整合方案", "", "", "", "600.00"] in rows
    assert ["安排项目", "", "中央财政专项扶贫资金", "永集湖村枸杞种植基地", "652722102201", "新建枸杞种植基地500亩；配套滴灌设施",
            "托里镇人民政府", "500.00"] in rows
    assert ["安排项目", "", "中央财政专项扶贫资金", "P-2", JINGHE, "", "", "100.00"] in rows  # version 1: place only
    assert public["hotlines"]["supervision"] == "12317" and public["level"] == "county"
