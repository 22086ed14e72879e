"""The funds service's posting answers (commitment, disbursement, stranding), the trace, a
disbursement batch's answer and the payments' answers are instances of the models its OpenAPI
document names (closed: no undocumented field) (issue 14)."""

from __future__ import annotations

from lxml import etree

from services.funds.domain.payments import PAIN001
from tests.bank_files import camt053, pain002
from tests.conftest import bearer
from tests.service.answer_models import EveryAnswer, assert_documented
from tests.service.funds_support import JINGHE, committed_project, down_to_jinghe
from tests.service.test_funds_operations import batch, line
from tests.service.test_funds_payments import (ACCOUNTS, CORRECTED, HOUSEHOLDS, ON, SPECIAL, _account, _paid_batch,
                                               _send)
from tests.service.test_receipts import sign_checkpoint


async def test_postings_the_trace_and_a_batch_answer_their_models(funds):
    f = funds
    spec = (await f.client.get("/openapi.json")).json()
    await down_to_jinghe(f, "1000.00")
    await f.in_library("P-1")

    async def posted(path, **body):
        response = await f.post(path, JINGHE, **body)
        assert response.status_code == 201, response.text
        assert_documented(spec, path, response.json(), method="post", status="201", model="PostedOut")
        return response.json()

    await posted("/commitments", amount="600.00", project_code="P-1", source="available")
    paid = await posted("/disbursements", amount="10.00", project_code="P-1", purpose="industry_development",
                        payee={"kind": "enterprise", "name": "某公司"})
    assert paid["payee"]["name"] == "某公司" and paid["project_code"] == "P-1"

    batched = await f.client.post("/disbursement-batches", headers=f.headers(JINGHE), json=batch(
        [line("a", "1.00"), line("b", "1.00", project="P-NOWHERE")], partial=True))
    assert batched.status_code == 201, batched.text
    assert_documented(spec, "/disbursement-batches", batched.json(), method="post", status="201", model="BatchOut")
    assert batched.json()["refused"][0]["code"] == "unknown_project"

    reader = {k: v for k, v in f.headers(JINGHE).items() if k != "Idempotency-Key"}
    for query in ({"project": "P-1"}, {"payee": "enterprise:某公司"}, {"project": "P-1", "as_of": "2030-01-01T00:00:00Z"}):
        traced = await f.client.get("/trace", params=query, headers=reader)
        assert traced.status_code == 200, traced.text
        assert_documented(spec, "/trace", traced.json(), model="TraceOut")
        assert traced.json()["postings"][0]["operation_label"] == "预算拨款"
    account = traced.json()["accounts"][0]["account_id"]
    by_account = (await f.client.get("/trace", params={"account": account}, headers=reader)).json()
    assert_documented(spec, "/trace", by_account, model="TraceOut")

    await posted("/strandings", project_code="P-1", reason="水源地调整，无法实施")


async def test_payments_accounts_purposes_and_the_project_gate_answer_their_models(funds):
    """Every answer of a paid batch's round — the 专户 and payee accounts, payment files, a bank's
    result file (a refusal, an unknown line), the instructions, a re-issue, a reconciliation with a
    difference — and of the purpose list, a payee household and a project as the funds service sees
    it, checked against its documented model (closed)."""
    f = funds
    answers = EveryAnswer((await f.client.get("/openapi.json")).json()).on(f.client)
    finance = bearer(f.settings, "county_finance", JINGHE)
    made = await _paid_batch(f)  # 专户, four payee accounts, a batch of four, one payment file
    xml = await f.client.get(f"/payment-files/{made['file_id']}/pain.001", headers=finance)
    refs = [e.text for e in etree.fromstring(xml.content).iterfind(".//{%s}EndToEndId" % PAIN001)]
    report = await _send(f, "/bank-results", pain002(made["msg_id"], [
        (refs[0], "ACSC", None), (refs[1], "RJCT", "AC04"), ("f" * 32, "ACSC", None)]), "application/xml",
        format="pain.002")
    assert report.status_code == 200 and report.json()["refused"][0]["returned_to"] == "P-1", report.text
    assert [p["code"] for p in report.json()["problems"]] == ["unknown"]
    listed = (await f.client.get("/payment-instructions", headers=finance)).json()
    refused = next(i for i in listed if i["ref"] == refs[1])
    assert (refused["state"], refused["reason_code"], refused["account"]["account_no"]) == (
        "refused", "AC04", "****" + ACCOUNTS[1][-4:])
    assert (await _account(f, HOUSEHOLDS[1], CORRECTED[0], "农户2")).json()["supersedes"]  # the refused account
    reissued = await f.client.post(f"/payment-instructions/{refused['instruction_id']}/reissue", headers=f.headers(JINGHE))
    assert reissued.status_code == 201 and reissued.json()["account_no"] == "****" + CORRECTED[0][-4:], reissued.text
    statement = camt053(SPECIAL, [(refs[0], 10000, "DBIT"), (refs[1], 20000, "DBIT"), (refs[1], 20000, "CRDT")], ON)
    reconciled = await _send(f, "/reconciliations", statement, "application/xml", format="camt.053", on=ON.isoformat())
    assert reconciled.status_code == 201 and not reconciled.json()["balanced"], reconciled.text
    assert {d["kind"] for d in reconciled.json()["differences"]} == {"missing_in_statement"}  # refs[2], refs[3]
    assert len((await f.client.get("/reconciliations", headers=finance)).json()) == 1

    payable = await f.client.get(f"/payee-households/{HOUSEHOLDS[0]}", headers=finance)
    unknown = await f.client.get("/payee-households/0192f0a4-0000-7000-8000-0000000000ff", headers=finance)
    assert payable.json()["payable"] is True and unknown.json()["payable"] is False and unknown.json()["code"]
    purposes = await f.client.get("/purposes", params={"on": "2017-06-01"}, headers=finance)
    assert any(item["forbidden"] for item in purposes.json()["items"])
    gate = await f.client.get("/projects/P-1", headers=finance)
    assert gate.json()["fundable"] is True and gate.json()["committed"] == "10000.00", gate.text
    assert answers.checked >= {
        ("PUT", "/special-account"), ("POST", "/payee-accounts"), ("POST", "/payment-files"), ("POST", "/bank-results"),
        ("GET", "/payment-instructions"), ("POST", "/payment-instructions/{instruction_id}/reissue"),
        ("POST", "/reconciliations"), ("GET", "/reconciliations"), ("GET", "/payee-households/{household_id}"),
        ("GET", "/purposes"), ("GET", "/projects/{code}")}



async def test_a_posting_receipt_answers_its_model(funds):
    f = funds
    spec = (await f.client.get("/openapi.json")).json()
    await committed_project(f, "100.00")
    paid = await f.post("/disbursements", JINGHE, amount="10.00", project_code="P-1", purpose="industry_development",
                        payee={"kind": "enterprise", "name": "某公司"})
    await sign_checkpoint(f.settings)
    receipt = await f.client.get(f"/postings/{paid.json()['posting_id']}/receipt",
                                 headers=bearer(f.settings, "county_finance", JINGHE))
    assert receipt.status_code == 200, receipt.text
    assert_documented(spec, "/postings/{posting_id}/receipt", receipt.json(), model="ReceiptOut")
    assert receipt.json()["public"]["type"] == receipt.json()["event"]["type"] and receipt.json()["proof"]["hashes"]
