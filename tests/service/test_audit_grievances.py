"""The audit reports grievances not accepted or not answered in time, from the registry's events
read through the registry contract, with the rule each grievance was received under."""

from __future__ import annotations

from datetime import date

from services.audit.diff import Live
from services.audit.rebuild.registry import RegistryRebuild
from services.audit.sources import FeedSource
from tests.conftest import bearer
from tests.service.registry_support import COUNTY, TOWNSHIP, VILLAGE, family, identify
from tests.service.test_audit_compliance import audit, by_rule, log_of


async def test_overdue_and_unanswered_grievances_are_findings(registry):
    r = registry

    async def receive():
        answer = await r.client.post("/grievances", headers=r.headers("county_office", COUNTY), json={
            "channel": "letter", "division": VILLAGE, "summary": "反映项目资金使用问题"})
        return answer.json()

    async def step(gid, action, role="county_office", division=COUNTY, **body):
        answer = await r.client.post(f"/grievances/{gid}/steps/{action}", json=body, headers=r.headers(role, division))
        assert answer.status_code == 200, answer.text

    never_accepted, answered_late, answered = await receive(), await receive(), await receive()
    for g in (answered_late, answered):
        await step(g["id"], "classify", category="funds")
        await step(g["id"], "assign", assigned_to=TOWNSHIP)
        await step(g["id"], "investigate", "township", TOWNSHIP)
    await step(answered["id"], "answer", "township", TOWNSHIP, outcome="unsubstantiated", answer="经核查不属实")
    auditor = bearer(r.settings, "auditor")["Authorization"][7:]
    source = FeedSource({"registry": r.client}, auditor)

    in_time = await audit(await source.load(), date(2016, 3, 10))
    assert "grievance.handling" not in by_rule(in_time)

    found = by_rule(await audit(await source.load(), date(2016, 5, 1)))["grievance.handling"]
    assert {f.subject: f.detail.split(" by ")[0] for f in found} == {
        f"grievance {never_accepted['receipt']}": "not accepted and not answered",
        f"grievance {answered_late['receipt']}": "not answered"}
    assert all("信访条例" in f.citation and f.source == "registry" and f.seq for f in found)


async def test_an_approved_correction_of_the_main_cause_is_rebuilt_by_the_audit(registry):
    r = registry
    hid = await identify(r, family(61))
    proposed = await r.client.post("/change-requests", headers={**bearer(r.settings, "village", VILLAGE, sub="clerk"),
                                                                "Idempotency-Key": "cr-1"},
                                   json={"target": "household", "household_id": hid, "reason": "致贫原因录入错误",
                                         "changes": {"main_cause": "lack_funds"}})
    assert proposed.status_code == 201, proposed.text
    decided = await r.client.post(f"/change-requests/{proposed.json()['id']}/decision",
                                  headers={**bearer(r.settings, "township", TOWNSHIP, sub="reviewer"),
                                           "Idempotency-Key": "cr-2"}, json={"decision": "approve"})
    assert decided.status_code == 200, decided.text
    auditor = bearer(r.settings, "auditor")["Authorization"][7:]
    result = await audit(await FeedSource({"registry": r.client}, auditor).load(), date.today(),
                         Live({"registry": r.client}, auditor))
    assert result.verified and result.discrepancies == []
    rebuild = RegistryRebuild()
    for event in await log_of(r.settings):
        rebuild.apply(event)
    assert rebuild.result().households[hid].main_cause == "lack_funds"
