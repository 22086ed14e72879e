"""The audit's findings answer is an instance of the model its OpenAPI document names (closed: no
undocumented field) (issue 14)."""

from __future__ import annotations

from datetime import timedelta

from tests.service import test_audit_limits
from tests.service.answer_models import assert_documented
from tests.service.funds_support import down_to_jinghe

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
