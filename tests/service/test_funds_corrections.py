"""Corrections through the funds API on real PostgreSQL (issue #15): reversal (冲正), de-commitment,
year-end close and carry-forward (结转结余, seed 004 L27), balances and trace as of an instant; the
audit's rebuild agrees with the ledger after all of them."""

from __future__ import annotations

import json

from services.audit.rebuild.funds import FundsRebuild
from shared.policy.citations import public_citation
from tests.conftest import bearer
from tests.service.answer_models import assert_documented
from tests.service.funds_support import BOZHOU, JINGHE, XINJIANG, committed_project, down_to_jinghe

PLAN = "精河县2017年整合方案"


async def _balances(f, division=JINGHE, **params):
    response = await f.client.get("/balances", params={"division": division, **params},
                                  headers=bearer(f.settings, "county_finance", JINGHE))
    assert response.status_code == 200, response.text
    return {(b["channel"], b["fiscal_year"], b["kind"], b["reference"]): b["balance"] for b in response.json()["items"]}


async def test_reversal_cites_the_original_once_and_never_after_the_money_moved(funds):
    f = funds
    committed = await committed_project(f, "600.00", down="1000.00")
    wrong = committed.json()["posting_id"]
    reversed_ = await f.post(f"/postings/{wrong}/reversal", JINGHE, document_no="精财冲〔2017〕1号", reason="项目编号错误")
    assert reversed_.status_code == 201, reversed_.text
    body = reversed_.json()
    assert body["event_type"] == "funds.reversal.posted" and body["operation"] == "reverse"
    assert body["reference"] == wrong == body["reverses"] and body["reversed_operation"] == "commit"
    assert body["from"]["kind"] == "committed" and body["to"]["kind"] == "available" and body["amount"] == "600.00"
    assert (await _balances(f))[("central_special", 2017, "available", None)] == "1000.00"
    again = await f.post(f"/postings/{wrong}/reversal", JINGHE, document_no="精财冲〔2017〕2号", reason="再次")
    assert again.status_code == 422 and again.json()["code"] == "already_reversed", again.text
    # the original allocation into 博州 cannot be reversed: the money moved on to 精河县
    [allocation] = await f.db(f"SELECT p.id::text AS id FROM postings p JOIN accounts a ON a.id = p.to_account "
                              f"WHERE p.operation = 'allocate' AND a.division = '{BOZHOU}'")
    before = await f.db("SELECT count(*) AS n FROM events")
    moved = await f.post(f"/postings/{allocation['id']}/reversal", XINJIANG, document_no="新财冲〔2017〕1号", reason="错拨")
    assert moved.status_code == 422 and moved.headers["content-type"] == "application/problem+json", moved.text
    assert moved.json()["code"] == "insufficient_funds"
    assert await f.db("SELECT count(*) AS n FROM events") == before
    # only the division that made a posting reverses it; a reversal needs its 文号
    other = await f.post(f"/postings/{allocation['id']}/reversal", BOZHOU, document_no="博财冲〔2017〕1号", reason="错拨")
    assert other.status_code == 422 and other.json()["errors"][0]["field"] == "posting_id"
    missing = await f.post(f"/postings/{wrong}/reversal", JINGHE, reason="无文号")
    assert missing.status_code == 422 and "document_no" in missing.text
    await f.zero_sum_and_no_negative()


async def test_decommitment_back_to_the_pool(funds):
    f = funds
    await down_to_jinghe(f, "1000.00")
    await f.in_library("P-1")
    assert (await f.post("/integrations", JINGHE, amount="800.00", plan=PLAN, document_no="精政发〔2017〕3号")).status_code == 201
    await f.post("/commitments", JINGHE, amount="500.00", project_code="P-1", source="pool", plan=PLAN)
    await f.post("/disbursements", JINGHE, amount="200.00", project_code="P-1",
                 payee={"kind": "cooperative", "name": "精河县枸杞合作社"})
    too_much = await f.post("/decommitments", JINGHE, project_code="P-1", amount="300.01", reason="项目调减")
    assert too_much.status_code == 422 and too_much.json()["code"] == "insufficient_funds"
    back = await f.post("/decommitments", JINGHE, project_code="P-1", reason="项目完工结余")
    assert back.status_code == 201, back.text
    assert back.json()["event_type"] == "funds.decommitment.posted" and back.json()["amount"] == "300.00"
    assert back.json()["to"] == {"division": JINGHE, "role": "finance", "channel": "central_special",
                                 "fiscal_year": 2017, "kind": "pool", "reference": PLAN}
    balances = await _balances(f)
    assert balances[("central_special", 2017, "pool", PLAN)] == "600.00"
    assert balances[("central_special", 2017, "committed", "P-1")] == "0.00"
    project = (await f.client.get("/projects/P-1", headers=bearer(f.settings, "county_finance", JINGHE))).json()
    assert {k: project[k] for k in ("committed", "paid", "remaining", "stranded", "returned", "decommitted")} == {
        "committed": "200.00", "paid": "200.00", "remaining": "0.00", "stranded": "0.00", "returned": "0.00",
        "decommitted": "300.00"}
    nothing = await f.post("/decommitments", JINGHE, project_code="P-1", reason="再退")
    assert nothing.status_code == 422 and nothing.json()["errors"][0]["field"] == "project_code"
    await f.zero_sum_and_no_negative()


async def _ok(f, path, division, **body):
    response = await f.post(path, division, **body)
    assert response.status_code == 201, response.text
    return response.json()


async def _county_with_three_channels(f):
    """精河县 with central money (available and in the pool), its own county money and provincial money."""
    await down_to_jinghe(f, "1000.00")
    await _ok(f, "/integrations", JINGHE, amount="400.00", plan=PLAN, document_no="精政发〔2017〕3号")
    await _ok(f, "/appropriations", JINGHE, channel="county_special", amount="300.00", document_no="精财预〔2017〕1号")
    await _ok(f, "/appropriations", XINJIANG, channel="provincial_special", amount="200.00", document_no="新财预〔2017〕2号")
    await _ok(f, "/allocations", XINJIANG, channel="provincial_special", amount="200.00", to_division=BOZHOU,
              document_no="新财农〔2017〕30号", budget_approved_on="2017-02-01")
    await _ok(f, "/allocations", BOZHOU, channel="provincial_special", amount="150.00", to_division=JINGHE,
              document_no="博州财农〔2017〕9号", budget_approved_on="2017-02-01")


async def test_a_year_closed_and_carried_forward_zero_sum_every_channel_kept(funds):
    f = funds
    await _county_with_three_channels(f)
    before = await _balances(f)
    closed = await f.post("/year-closes", JINGHE, document_no="精财结〔2017〕1号", document_date="2017-12-31")
    assert closed.status_code == 201, closed.text
    body = closed.json()
    assert (body["fiscal_year"], body["into_year"], body["already_closed"]) == (2017, 2018, False)
    carried = {(c["channel"], c["kind"], c["reference"]): c["amount"] for c in body["carried"]}
    assert carried == {("central_special", "available", None): "600.00", ("central_special", "pool", PLAN): "400.00",
                       ("county_special", "available", None): "300.00", ("provincial_special", "available", None): "150.00"}
    assert body["total"] == "1450.00"
    after = await _balances(f)
    for (channel, kind, reference), amount in carried.items():  # out of 2017, into the same account of 2018
        assert before[(channel, 2017, kind, reference)] == amount
        assert after[(channel, 2017, kind, reference)] == "0.00"
        assert after[(channel, 2018, kind, reference)] == amount
    # zero sum: what left 2017 entered 2018, and the whole ledger still sums to zero
    [moved] = await f.db("SELECT sum(p.amount_fen) AS n, count(*) AS k FROM postings p WHERE p.operation = 'carry_forward'")
    assert moved["n"] == 145000 and moved["k"] == 4
    await f.zero_sum_and_no_negative()
    # idempotent per (division, year)
    again = await f.post("/year-closes", JINGHE, document_no="精财结〔2017〕1号", document_date="2017-12-31")
    assert again.status_code == 200 and again.json()["already_closed"] is True and again.json()["seq"] == body["seq"]
    assert (await f.db("SELECT count(*) AS n FROM postings WHERE operation = 'carry_forward'"))[0]["n"] == 4
    types = [r["type"] for r in await f.db("SELECT type FROM events ORDER BY seq DESC LIMIT 5")]
    assert types == ["funds.year.closed"] + ["funds.carry_forward.posted"] * 4
    # a carry-forward is never reversed
    pid = body["carried"][0]["posting_id"]
    refused = await f.post(f"/postings/{pid}/reversal", JINGHE, document_no="精财冲〔2018〕1号", reason="结转有误")
    assert refused.status_code == 422 and refused.json().get("code") == "reversal_not_allowed", refused.text
    # the spending report of 2018: last year's balances received as carried forward; 2017's carried out
    spending18 = (await f.client.get("/reports/spending", params={"fiscal_year": 2018},
                                     headers=bearer(f.settings, "county_finance", JINGHE))).json()
    assert spending18["received_by_source"]["carried_forward"] == "1450.00"
    spending17 = (await f.client.get("/reports/spending", params={"fiscal_year": 2017},
                                     headers=bearer(f.settings, "county_finance", JINGHE))).json()
    assert spending17["carried_out"] == "1450.00"
    await _audit_agrees(f)


async def test_spending_received_split_by_source_with_the_countys_own_money(funds):
    f = funds
    await _county_with_three_channels(f)
    report = (await f.client.get("/reports/spending", params={"fiscal_year": 2017},
                                 headers=bearer(f.settings, "county_finance", JINGHE))).json()
    assert report["received"] == "1450.00"
    assert report["received_by_source"] == {"allocated": "1150.00", "reallocated": "0.00",
                                            "own_appropriation": "300.00", "carried_forward": "0.00"}
    assert report["received_by_origin"] == {"central": "1000.00", "provincial": "150.00", "city": "0.00",
                                            "county": "300.00", "other": "0.00"}


async def test_balances_and_trace_as_of_an_instant_equal_the_events_replayed_up_to_it(funds):
    f = funds
    await down_to_jinghe(f, "1000.00")
    await f.in_library("P-1")
    marks = []
    for step in range(4):
        f.clock.advance(days=1)
        if step == 0:
            await _ok(f, "/commitments", JINGHE, amount="600.00", project_code="P-1", source="available")
        elif step == 1:
            await _ok(f, "/disbursements", JINGHE, amount="100.00", project_code="P-1",
                      payee={"kind": "cooperative", "name": "合作社"})
        elif step == 2:
            await _ok(f, "/decommitments", JINGHE, project_code="P-1", amount="200.00", reason="调减")
        else:
            [paid] = await f.db("SELECT id::text AS id FROM postings WHERE operation = 'disburse'")
            await _ok(f, f"/postings/{paid['id']}/reversal", JINGHE, document_no="精财冲〔2017〕3号", reason="收款人错误")
        marks.append(f.clock.now())
    f.clock.advance(days=1)
    log = await f.db("SELECT seq, id::text AS id, type, subject, time, data FROM events ORDER BY seq")
    for mark in marks:
        replay = FundsRebuild()
        for event in log:
            if event["time"] <= mark:
                replay.apply(_event(event))
        expected = {(k.division, k.channel, k.fiscal_year, k.kind, k.reference): v
                    for k, v in replay.result().balances.items() if k.division.startswith("652722")}
        response = await f.client.get("/balances", params={"division": JINGHE, "as_of": mark.isoformat()},
                                      headers=bearer(f.settings, "county_finance", JINGHE))
        assert response.status_code == 200, response.text
        got = {(b["division"], b["channel"], b["fiscal_year"], b["kind"], b["reference"]):
               int(b["balance"].replace(".", "")) for b in response.json()["items"]}
        assert {k: v for k, v in got.items() if v} == expected
    trace = await f.client.get("/trace", params={"project": "P-1", "as_of": marks[0].isoformat()},
                               headers=bearer(f.settings, "county_finance", JINGHE))
    assert [p["operation"] for p in trace.json()["postings"]] == ["appropriate", "allocate", "allocate", "allocate",
                                                                  "commit"]
    now = await f.client.get("/trace", params={"project": "P-1"}, headers=bearer(f.settings, "county_finance", JINGHE))
    assert "reverse" in [p["operation"] for p in now.json()["postings"]]
    bad = await f.client.get("/balances", params={"as_of": "2017-03-05T00:00:00"},  # no offset: refused
                             headers=bearer(f.settings, "county_finance", JINGHE))
    assert bad.status_code == 422 and "as_of" in bad.text
    await _audit_agrees(f)


def _event(row) -> dict:
    data = row["data"]
    return {**row, "time": row["time"].isoformat(), "data": json.loads(data) if isinstance(data, str) else data}


async def _audit_agrees(f):
    """The audit's rebuild (services/audit/rebuild) replays every event with the domain's ledger:
    nothing refused, and the balances it finds are the service's own."""
    replay = FundsRebuild()
    for event in await f.db("SELECT seq, id::text AS id, type, subject, time, data FROM events ORDER BY seq"):
        replay.apply(_event(event))
    rebuilt = replay.result()
    assert rebuilt.refused == [] and rebuilt.unreadable == []
    rows = await f.db("SELECT division, role, channel, fiscal_year, kind, reference, balance_fen FROM accounts "
                      "WHERE balance_fen <> 0")
    assert {(r["division"], r["channel"], r["fiscal_year"], r["kind"], r["reference"] or None): r["balance_fen"]
            for r in rows} == {(k.division, k.channel, k.fiscal_year, k.kind, k.reference): v
                               for k, v in rebuilt.balances.items()}
    # and the deadlines' states the events imply are the service's (withdrawn ones included)
    recorded = {r["id"]: r["state"] for r in await f.db("SELECT id::text AS id, state FROM deadlines")}
    assert {d.id: d.state for d in rebuilt.deadlines.values()} == recorded


async def test_audit_agrees_after_reversals_and_decommitments(funds):
    f = funds
    await down_to_jinghe(f, "1000.00")
    await f.in_library("P-1")
    committed = await _ok(f, "/commitments", JINGHE, amount="600.00", project_code="P-1", source="available")
    await _ok(f, "/decommitments", JINGHE, project_code="P-1", amount="100.00", reason="调减")
    await _ok(f, "/disbursements", JINGHE, amount="100.00", project_code="P-1", payee={"kind": "contractor", "name": "公司"})
    [paid] = await f.db("SELECT id::text AS id FROM postings WHERE operation = 'disburse'")
    await _ok(f, f"/postings/{paid['id']}/reversal", JINGHE, document_no="精财冲〔2017〕4号", reason="收款人错误")
    assert committed["amount"] == "600.00"
    await _audit_agrees(f)


# ------------------------------------------------------------------------------------------------
# rules read, not just stored: each firing cites its rule
# ------------------------------------------------------------------------------------------------

SHANXI, LVLIANG = "140000000000", "142300000000"


async def test_stranded_money_is_returned_in_full(funds):
    f = funds
    await down_to_jinghe(f, "1000.00")
    await f.in_library("P-1")
    await _ok(f, "/commitments", JINGHE, amount="600.00", project_code="P-1", source="available")
    await _ok(f, "/strandings", JINGHE, project_code="P-1", channel="central_special", fiscal_year=2017,
              reason="项目无法实施")
    before = await f.db("SELECT count(*) AS n FROM events")
    part = await f.post("/returns", JINGHE, project_code="P-1", amount="100.00", document_no="精财返〔2017〕1号")
    assert part.status_code == 422, part.text
    problem = part.json()
    assert problem["code"] == "return_not_in_full" and problem["rule"] == "funds.stranded.return"
    assert problem["citation"] == public_citation("DOMAIN.md §4") and problem["held"] == "600.00"
    assert await f.db("SELECT count(*) AS n FROM events") == before
    whole = await _ok(f, "/returns", JINGHE, project_code="P-1", amount="600.00", document_no="精财返〔2017〕1号")
    assert whole["in_full"] is True and whole["to"]["division"] == XINJIANG
    project = (await f.client.get("/projects/P-1", headers=bearer(f.settings, "county_finance", JINGHE))).json()
    assert (project["committed"], project["returned"], project["stranded"], project["remaining"]) == (
        "600.00", "600.00", "0.00", "0.00")


async def test_money_not_reaching_households_in_time_is_stranded_by_the_scheduler(funds):
    from services.funds.usecases.deadlines import DeadlineScheduler
    from shared.db import make_engine, make_sessionmaker
    from shared.policy import load_policy

    f = funds
    await down_to_jinghe(f, "1000.00")
    await f.in_library("P-1")
    await _ok(f, "/commitments", JINGHE, amount="600.00", project_code="P-1", source="available")
    await _ok(f, "/disbursements", JINGHE, amount="250.00", project_code="P-1", payee={"kind": "contractor", "name": "公司"})
    engine = make_engine(f.settings.sqlalchemy_url, pool_size=1)
    scheduler = DeadlineScheduler(make_sessionmaker(engine, "funds", f.clock), f.clock, 1, load_policy())
    try:
        f.clock.advance(days=364)
        assert await scheduler.strand_tick() == []  # 364 days: still in time
        f.clock.advance(days=1)
        [event] = await scheduler.strand_tick()
        assert await scheduler.strand_tick() == []  # once
    finally:
        await engine.dispose()
    data = event["data"]
    assert (event["type"], data["amount"], data["project_code"]) == ("funds.stranding.posted", "350.00", "P-1")
    assert data["rule_id"] == "funds.stranded.not_reaching_households"
    assert data["citation"] == public_citation("DOMAIN.md §4") and "DOMAIN" not in data["reason"]
    assert "365" in data["reason"] and event["actor"]["sub"] == "system"
    project = (await f.client.get("/projects/P-1", headers=bearer(f.settings, "county_finance", JINGHE))).json()
    assert (project["paid"], project["remaining"], project["stranded"]) == ("250.00", "0.00", "350.00")
    await f.zero_sum_and_no_negative()


async def test_a_deadline_read_right_after_a_clock_move_answers_as_of_that_clock(funds):
    f = funds
    await _ok(f, "/appropriations", "000000000000", amount="1000.00", document_no="财农〔2017〕8号")
    received = await _ok(f, "/allocations", "000000000000", amount="1000.00", to_division=XINJIANG,
                         document_no="财农〔2017〕10号")
    [onward] = [d for d in received["deadlines"] if d["kind"] == "onward_allocation"]
    assert (onward["due"], onward["state"]) == ("2017-03-31", "open")
    move = await f.client.post("/dev/clock", json={"set": "2017-04-02T02:00:00+00:00"},
                               headers={**bearer(f.settings, "admin"), "Idempotency-Key": "clock-1"})
    assert move.status_code == 200, move.text
    listed = (await f.client.get("/deadlines", params={"division": XINJIANG},
                                 headers=bearer(f.settings, "province_finance", XINJIANG))).json()
    [now] = [d for d in listed["items"] if d["id"] == onward["id"]]
    assert (listed["as_of"], now["state"], now["days_overdue"], now["days_remaining"]) == ("2017-04-02", "missed", 2, None)
    assert now["recorded_state"] == "open"  # what the scheduler has recorded so far (its events), shown beside it
    assert_documented((await f.client.get("/openapi.json")).json(), "/deadlines", listed, model="DeadlinesOut")
    missed = (await f.client.get("/deadlines", params={"division": XINJIANG, "state": "missed"},
                                 headers=bearer(f.settings, "province_finance", XINJIANG))).json()
    assert [d["id"] for d in missed["items"]] == [onward["id"]]


async def test_a_province_must_pass_on_its_own_funds(funds):
    f = funds
    own = await _ok(f, "/appropriations", XINJIANG, channel="provincial_special", amount="500.00",
                    document_no="新财预〔2017〕2号", budget_approved_on="2017-01-15")
    [deadline] = own["deadlines"]
    assert (deadline["kind"], deadline["receiver"], deadline["due"]) == ("onward_allocation", XINJIANG, "2017-03-16")
    assert deadline["rule_id"] == "funds.deadline.provincial_onward" and "预算法" in deadline["citation"]
    await _ok(f, "/allocations", XINJIANG, channel="provincial_special", amount="500.00", to_division=BOZHOU,
              document_no="新财农〔2017〕31号", budget_approved_on="2017-01-15")
    listed = (await f.client.get("/deadlines", params={"division": XINJIANG},
                                 headers=bearer(f.settings, "province_finance", XINJIANG))).json()
    [mine] = [d for d in listed["items"] if d["id"] == deadline["id"]]
    assert (mine["state"], mine["settled_on"]) == ("met", "2017-03-01")


async def test_usage_plan_deadline_on_a_county_receiving_provincial_allocation(funds):
    f = funds
    await _ok(f, "/appropriations", "000000000000", amount="1000.00", document_no="财农〔2017〕8号")
    await _ok(f, "/allocations", "000000000000", amount="1000.00", to_division=XINJIANG, document_no="财农〔2017〕10号")
    received = await _ok(f, "/allocations", XINJIANG, amount="1000.00", to_division=JINGHE,  # 切块到县
                         document_no="新财农〔2017〕21号")
    [plan] = [d for d in received["deadlines"] if d["kind"] == "usage_plan"]
    assert (plan["due"], plan["rule_id"]) == ("2017-03-29", "funds.deadline.usage_plan") and plan["citation"]


async def test_shanxi_2014_exempts_projects_needing_provincial_approval(funds):
    f = funds
    money = dict(fiscal_year=2014, document_date="2014-03-01")
    await _ok(f, "/appropriations", "000000000000", amount="1000.00", document_no="财农〔2014〕8号", **money)
    normal = await _ok(f, "/allocations", "000000000000", amount="600.00", to_division=SHANXI,
                       document_no="财农〔2014〕10号", **money)
    [due] = [d for d in normal["deadlines"] if d["kind"] == "onward_allocation"]
    shanxi_2014 = public_citation("seed 004 L27")
    assert "实施意见" in shanxi_2014
    assert (due["due"], due["citation"], due["exempt"]) == ("2014-05-01", shanxi_2014, None)
    exempt = await _ok(f, "/allocations", "000000000000", amount="400.00", to_division=SHANXI,
                       document_no="财农〔2014〕11号", provincial_approval=True, **money)
    [free] = [d for d in exempt["deadlines"] if d["kind"] == "onward_allocation"]
    assert (free["due"], free["exempt"], free["citation"], free["rule_id"]) == (
        None, "少量须省级审批的项目", shanxi_2014, "funds.deadline.central_onward")
    assert exempt["provincial_approval"] is True


async def test_postings_into_a_closed_year_are_refused_and_the_next_year_works(funds):
    f = funds
    await down_to_jinghe(f, "1000.00")
    await f.in_library("P-1")
    await _ok(f, "/commitments", JINGHE, amount="300.00", project_code="P-1", source="available", fiscal_year=2017)
    closed = await _ok(f, "/year-closes", JINGHE, document_no="精财结〔2017〕1号", document_date="2017-12-31")
    rows = await f.db("SELECT count(*) AS n FROM postings")
    events = await f.db("SELECT count(*) AS n FROM events")
    refused = [await f.post("/commitments", JINGHE, amount="100.00", project_code="P-1", source="available",
                            fiscal_year=2017),
               await f.post("/disbursements", JINGHE, amount="100.00", project_code="P-1", fiscal_year=2017,
                            payee={"kind": "cooperative", "name": "精河县枸杞合作社"})]
    for response in refused:
        assert response.status_code == 409, response.text
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert body["code"] == "year_closed" and body["fiscal_year"] == 2017 and body["division"] == JINGHE
        assert body["close"] == {"document_no": "精财结〔2017〕1号", "document_date": "2017-12-31", "seq": closed["seq"]}
        assert body["rule"] == "funds.year_close.books_closed" and "预算法" in body["citation"]
        assert "精财结〔2017〕1号" in body["detail"] and "2017" in body["detail"]
    assert await f.db("SELECT count(*) AS n FROM postings") == rows  # nothing written, no event
    assert await f.db("SELECT count(*) AS n FROM events") == events
    # the balances carried into 2018 are used there
    await _ok(f, "/commitments", JINGHE, amount="100.00", project_code="P-1", source="available", fiscal_year=2018)
    await _ok(f, "/disbursements", JINGHE, amount="100.00", project_code="P-1", fiscal_year=2018,
              payee={"kind": "cooperative", "name": "精河县枸杞合作社"})
    await f.zero_sum_and_no_negative()
    await _audit_agrees(f)


async def test_a_reversed_allocation_withdraws_the_deadlines_it_set(funds):
    from services.audit.diff import deadline_differences
    from services.funds.usecases.deadlines import DeadlineScheduler
    from shared.db import make_engine, make_sessionmaker

    f = funds
    await _ok(f, "/appropriations", "000000000000", amount="1000.00", document_no="财农〔2017〕8号")
    received = await _ok(f, "/allocations", "000000000000", amount="1000.00", to_division=XINJIANG,
                         document_no="财农〔2017〕10号")
    set_ids = sorted(d["id"] for d in received["deadlines"])
    [onward] = [d for d in received["deadlines"] if d["kind"] == "onward_allocation"]
    reversed_ = await _ok(f, f"/postings/{received['posting_id']}/reversal", "000000000000",
                          document_no="财农冲〔2017〕1号", reason="下达单位错误")
    assert sorted(reversed_["withdrawn_deadlines"]) == set_ids and onward["id"] in set_ids
    withdrawn = await f.db("SELECT subject, data, actor FROM events WHERE type = 'funds.deadline.withdrawn' ORDER BY seq")
    assert sorted(e["subject"] for e in withdrawn) == set_ids
    data = withdrawn[0]["data"] if isinstance(withdrawn[0]["data"], dict) else json.loads(withdrawn[0]["data"])
    assert (data["reversed_posting_id"], data["reversal_posting_id"], data["reversal_seq"], data["document_no"]) == (
        received["posting_id"], reversed_["posting_id"], reversed_["seq"], "财农冲〔2017〕1号")
    # past the due day the scheduler marks nothing: withdrawn stays withdrawn
    f.clock.advance(days=120)
    engine = make_engine(f.settings.sqlalchemy_url, pool_size=1)
    try:
        assert await DeadlineScheduler(make_sessionmaker(engine, "funds", f.clock), f.clock, 1).tick() == []
    finally:
        await engine.dispose()
    headers = bearer(f.settings, "province_finance", XINJIANG)
    listed = (await f.client.get("/deadlines", params={"division": XINJIANG}, headers=headers)).json()
    mine = {d["id"]: d for d in listed["items"] if d["id"] in set_ids}
    assert {d["state"] for d in mine.values()} == {"withdrawn"} and mine[onward["id"]]["days_overdue"] is None
    report = (await f.client.get("/reports/deadline-compliance", params={"division": XINJIANG}, headers=headers)).json()
    assert (report["total"], report["missed"], report["open_overdue"], report["withdrawn"]) == (0, 0, 0, len(set_ids))
    assert report["compliance_percent"] is None
    # the audit: the events imply the same states, the diff finds nothing and no missed deadline is found
    replay = FundsRebuild()
    for event in await f.db("SELECT seq, id::text AS id, type, subject, time, data FROM events ORDER BY seq"):
        replay.apply(_event(event))
    assert deadline_differences(replay.result(), listed["items"], XINJIANG) == []
    await _audit_agrees(f)


async def test_closes_racing_each_other_and_postings_neither_deadlock_nor_carry_a_stale_balance(funds):
    """Two closes of one year and postings on its accounts, all at once: each posting lands either
    before the close (and its money is carried) or after it (refused, year closed); one close wins,
    the other finds it; no request fails with a deadlock (the close locks rows before the log, as
    postings do)."""
    import asyncio

    f = funds
    await _county_with_three_channels(f)
    await f.in_library("P-9")
    answers = await asyncio.gather(
        f.post("/year-closes", JINGHE, document_no="精财结〔2017〕1号", document_date="2017-12-31"),
        *(f.post("/commitments", JINGHE, amount="10.00", project_code="P-9", source="available") for _ in range(4)),
        f.post("/year-closes", JINGHE, document_no="精财结〔2017〕1号", document_date="2017-12-31"),
        *(f.post("/integrations", JINGHE, amount="5.00", plan=PLAN, document_no="精政发〔2017〕9号") for _ in range(2)))
    closes, postings = [answers[0], answers[5]], answers[1:5] + answers[6:]
    assert sorted(c.status_code for c in closes) in ([200, 201], [201, 409]), [c.text for c in closes]
    for answer in postings:
        assert answer.status_code in (201, 409), answer.text
        if answer.status_code == 409:
            assert answer.json()["code"] == "year_closed", answer.text
    after = await _balances(f)
    # nothing was left behind in the closed year
    assert all(amount == "0.00" for (_, year, kind, _), amount in after.items()
               if year == 2017 and kind in ("available", "pool")), after
    await f.zero_sum_and_no_negative()
    await _audit_agrees(f)
