"""The funds service's posting answers (commitment, disbursement, stranding), the trace and a
disbursement batch's answer are instances of the models its OpenAPI document names (closed: no
undocumented field) (issue 14)."""

from __future__ import annotations

from tests.service.answer_models import assert_documented
from tests.service.funds_support import JINGHE, down_to_jinghe
from tests.service.test_funds_operations import batch, line


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
