"""The audit's answers — findings, the full report, the log verification, the performance scores and
the factor sheet — are instances of the models its OpenAPI document names (closed: no undocumented
field) (issue 14)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from tests.conftest import bearer
from tests.service import test_audit_limits
from tests.service.answer_models import EveryAnswer, assert_documented
from tests.service.funds_support import BOZHOU, JINGHE, down_to_jinghe
from tests.service.test_audit_scores import BOLE, audit_service, scenario

audited = test_audit_limits.audited  # the fixture: the audit with the three services it reads


async def test_findings_answer_their_model(audited):
    client, _, funds, auditor = audited
    spec = (await client.get("/openapi.json")).json()
    await down_to_jinghe(funds)
    funds.clock.advance(timedelta(days=200))  # deadlines passed: findings
    for params in ({}, {"division": "650000000000"}):
        answer = await client.get("/audit/findings", params=params, headers=auditor)
        assert answer.status_code == 200, answer.text
        assert_documented(spec, "/audit/findings", answer.json(), model="FindingsOut")
        assert answer.json()["findings"], (params, answer.json())
        assert sum(answer.json()["by_rule"].values()) == len(answer.json()["findings"])


async def test_the_report_and_the_verification_answer_their_models(audited):
    """The full report (its chains, findings, rebuilt state and figures) and the log verification,
    each checked against its documented model (closed)."""
    client, _, funds, auditor = audited
    answers = EveryAnswer((await client.get("/openapi.json")).json()).on(client)
    await down_to_jinghe(funds)
    funds.clock.advance(timedelta(days=200))  # deadlines passed: findings
    report = await client.get("/audit/report", headers=auditor)
    assert report.status_code == 200, report.text
    body = report.json()
    assert body["findings"] and body["figures"]["money_flows"] and body["rebuilt"]["funds"]["postings"]
    assert body["figures"]["money_flows"][0]["channel_label"] == "中央财政专项扶贫资金"
    verified = await client.get("/audit/verify", headers=auditor)
    assert verified.json()["verified"] is True and {c["service"] for c in verified.json()["chains"]} >= {
        "registry", "funds", "projects"}
    assert answers.checked >= {("GET", "/audit/report"), ("GET", "/audit/verify")}


async def test_the_scores_and_the_factor_sheet_answer_their_models(databases, registry, funds):
    await scenario(registry, funds)
    async with audit_service(databases, registry, funds) as (settings, client, _):
        answers = EveryAnswer((await client.get("/openapi.json")).json()).on(client)
        scores = await client.get("/audit/scores", params={"year": 2017, "division": JINGHE},
                                  headers=bearer(settings, "auditor"))
        assert scores.status_code == 200 and scores.json()["items"][0]["score"] == "77.00", scores.text
        generated = await client.post("/audit/factor-sheets", headers={
            **bearer(settings, "city_finance", BOZHOU), "Idempotency-Key": "s-1"}, json={
            "year": 2017, "total": "123457.89", "recipients": {
                JINGHE: {"farmer_income": "9500.00", "fiscal_capacity": "3000.00"},
                BOLE: {"farmer_income": "14200.00", "fiscal_capacity": "5200.00"}}})
        assert generated.status_code == 201 and sum(map(Decimal, generated.json()["parts"].values())) == Decimal("123457.89")
        assert answers.checked >= {("GET", "/audit/scores"), ("POST", "/audit/factor-sheets")}
