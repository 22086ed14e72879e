"""Corrections through the funds API on real PostgreSQL (issue #15): reversal (冲正), de-commitment,
year-end close and carry-forward (结转结余, seed 004 L27), balances and trace as of an instant; the
audit's rebuild agrees with the ledger after all of them."""

from __future__ import annotations

from datetime import timedelta

from services.audit.rebuild.funds import FundsRebuild
from tests.conftest import bearer
from tests.service.funds_support import BOZHOU, JINGHE, XINJIANG, down_to_jinghe

PLAN = "精河县2017年整合方案"


async def _balances(f, division=JINGHE, **params):
    response = await f.client.get("/balances", params={"division": division, **params},
                                  headers=bearer(f.settings, "county_finance", JINGHE))
    assert response.status_code == 200, response.text
    return {(b["channel"], b["fiscal_year"], b["kind"], b["reference"]): b["balance"] for b in response.json()["items"]}


async def test_reversal_cites_the_original_once_and_never_after_the_money_moved(funds):
    f = funds
    await down_to_jinghe(f, "1000.00")
    await f.in_library("P-1")
    committed = await f.post("/commitments", JINGHE, amount="600.00", project_code="P-1", source="available")
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
