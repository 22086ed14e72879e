"""Grievances (监督举报, 12317) on real PostgreSQL: from receipt to closure with the public status,
each step refused out of turn or by the wrong office, deadlines from the policy table and the
overdue report, every step an event."""

from __future__ import annotations

from datetime import timedelta

from services.registry.domain.grievance import new_receipt, normalise_receipt
from tests.conftest import fetch
from tests.service.registry_support import COUNTY, OTHER_TOWNSHIP, TOWNSHIP, VILLAGE, family


async def receive(r, **extra):
    body = {"channel": "12317", "division": VILLAGE, "summary": "反映某户帮扶措施未落实",
            "complainant": {"name": "李四", "phone": "13812345678"}, **extra}
    return await r.client.post("/grievances", json=body, headers=r.headers("county_office", COUNTY))


async def step(r, gid, action, role="county_office", division=COUNTY, **body):
    return await r.client.post(f"/grievances/{gid}/steps/{action}", json=body, headers=r.headers(role, division))


async def test_a_grievance_from_receipt_to_closure_with_its_public_status(registry):
    r = registry
    household = (await r.propose(family(41))).json()
    received = await receive(r, links=[{"kind": "household", "ref": household["number"]}])
    assert received.status_code == 201, received.text
    g = received.json()
    assert g["status"] == "received" and normalise_receipt(g["receipt"]) == g["receipt"]
    # 《信访条例》: accepted within 15 days, answered within 60 (calendar), from the policy table
    assert g["accept_by"] == "2016-03-15" and g["answer_by"] == "2016-04-29"
    assert "信访条例" in g["citation"]

    public = await r.client.get(f"/public/grievances/{g['receipt'].lower()}")
    assert public.status_code == 200 and public.json()["status"] == "received"
    assert "李四" not in public.text and "138" not in public.text and "帮扶" not in public.text

    assert (await step(r, g["id"], "classify", category="assistance")).json()["status"] == "classified"
    assert (await step(r, g["id"], "assign", assigned_to=TOWNSHIP)).json()["assigned_to"] == TOWNSHIP
    assert (await step(r, g["id"], "investigate", "township", TOWNSHIP)).json()["status"] == "investigating"
    answered = await step(r, g["id"], "answer", "township", TOWNSHIP, outcome="substantiated",
                          answer="已督促落实产业帮扶措施")
    assert answered.json()["status"] == "answered" and answered.json()["answered_on"] == "2016-03-01"
    closed = await step(r, g["id"], "close")
    assert closed.json()["status"] == "closed"

    public = (await r.client.get(f"/public/grievances/{g['receipt']}")).json()
    assert public["status"] == "closed" and public["outcome_label"] == "属实" and public["overdue"] == []
    kinds = [row["type"] for row in await fetch(r.settings, "SELECT type FROM events WHERE subject = $1 ORDER BY seq",
                                                  g["id"])]
    assert kinds == ["registry.grievance.received", "registry.grievance.classify", "registry.grievance.assign",
                     "registry.grievance.investigate", "registry.grievance.answer", "registry.grievance.close"]
    data = [row["data"] for row in await fetch(r.settings, "SELECT data::text FROM events WHERE subject = $1", g["id"])]
    assert not any("李四" in d or "13812345678" in d or "产业帮扶措施" in d for d in data)


async def test_steps_out_of_turn_or_by_the_wrong_office_are_refused(registry):
    r = registry
    g = (await receive(r)).json()
    early = await step(r, g["id"], "answer", outcome="answered", answer="已答复")
    assert early.status_code == 409 and early.json()["grievance"]["status"] == "received"
    assert (await step(r, g["id"], "classify", "village", VILLAGE, category="funds")).status_code == 403
    missing = await step(r, g["id"], "classify")
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "category"
    await step(r, g["id"], "classify", category="funds")
    await step(r, g["id"], "assign", assigned_to=TOWNSHIP)
    # another township cannot investigate what was assigned to this one
    assert (await step(r, g["id"], "investigate", "township", OTHER_TOWNSHIP)).status_code in (403, 404)
    outside = await step(r, g["id"], "assign", assigned_to=TOWNSHIP)
    assert outside.status_code == 409
    # nothing written by the refusals
    assert len(await fetch(r.settings, "SELECT 1 FROM events WHERE subject = $1", g["id"])) == 3


async def test_bad_links_and_an_escalated_objection_without_its_announcement_are_refused(registry):
    r = registry
    unknown = await receive(r, links=[{"kind": "household", "ref": "652722102201999"}])
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "links[0].ref"
    escalated = await receive(r, channel="board_objection")
    assert escalated.status_code == 422 and escalated.json()["errors"][0]["field"] == "links"
    assert (await fetch(r.settings, "SELECT count(*) AS n FROM grievances"))[0]["n"] == 0


async def test_overdue_grievances_are_reported(registry):
    r = registry
    late_accept = (await receive(r)).json()
    unanswered = (await receive(r)).json()
    await step(r, unanswered["id"], "classify", category="project")
    r.clock.advance(timedelta(days=20))
    report = (await r.client.get("/reports/grievances/overdue", headers=r.token("county_office", COUNTY))).json()
    assert [(i["receipt"], i["late"]) for i in report["items"]] == [(late_accept["receipt"], ["accept"])]
    r.clock.advance(timedelta(days=45))
    report = (await r.client.get("/reports/grievances/overdue", headers=r.token("county_office", COUNTY))).json()
    late = {i["receipt"]: i["late"] for i in report["items"]}
    assert late == {late_accept["receipt"]: ["accept", "answer"], unanswered["receipt"]: ["answer"]}
    public = (await r.client.get(f"/public/grievances/{unanswered['receipt']}")).json()
    assert public["overdue"] == ["answer"]


async def test_receipt_numbers_catch_a_mistyped_or_swapped_character(registry):
    receipt = new_receipt()
    assert len(receipt) == 10 and normalise_receipt(receipt) == receipt
    assert normalise_receipt(f"{receipt[:5]}-{receipt[5:]}".lower()) == receipt
    swapped = receipt[:3] + receipt[4] + receipt[3] + receipt[5:]
    if swapped != receipt:
        assert normalise_receipt(swapped) is None
    mistyped = receipt[:2] + ("1" if receipt[2] != "1" else "2") + receipt[3:]
    assert normalise_receipt(mistyped) is None
    answer = await registry.client.get(f"/public/grievances/{mistyped}")
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "receipt"
    assert (await registry.client.get(f"/public/grievances/{new_receipt()}")).status_code == 404
