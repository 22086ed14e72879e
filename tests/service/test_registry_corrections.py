"""Change requests (信息更正) on real PostgreSQL: an ID-number correction approved by a second
official of the required level, refused when self-approved, refused at too low a level, refused
when the new number belongs to another active person; old values kept; department data the same
way."""

from __future__ import annotations

import uuid
from datetime import date

from shared.idcard import make_id, mask
from tests.conftest import bearer, fetch
from tests.service.registry_support import COUNTY, TOWNSHIP, VILLAGE, family


def official(r, role, division, sub):
    r.n += 1
    return {**bearer(r.settings, role, division, sub=sub), "Idempotency-Key": f"cr-{r.n}"}


async def propose(r, body, role="village", division=VILLAGE, sub="village-clerk"):
    return await r.client.post("/change-requests", json=body, headers=official(r, role, division, sub))


async def decide(r, request_id, decision="approve", role="county_office", division=COUNTY, sub="county-reviewer"):
    return await r.client.post(f"/change-requests/{request_id}/decision", json={"decision": decision, "reason": "核实"},
                               headers=official(r, role, division, sub))


async def test_an_id_correction_needs_a_second_official_of_the_county(registry):
    r = registry
    members = family(51)
    await r.propose(members)
    old_id = members[1]["id_number"]
    new_id = make_id("652722", date(1972, 5, 9), 777)
    proposed = await propose(r, {"target": "person", "id_number": old_id, "reason": "户口簿核对身份证号录入错误",
                                 "changes": {"id_number": new_id, "name": "更正名"}, "document": "户口簿"})
    assert proposed.status_code == 201, proposed.text
    cr = proposed.json()
    assert cr["kind"] == "identity" and cr["level"] == "county" and cr["status"] == "proposed"
    assert cr["changes"]["id_number"] == {"old": mask(old_id), "new": mask(new_id)}
    # not applied yet
    assert (await r.client.get(f"/persons/{old_id}", headers=r.token("county_office", COUNTY))).status_code == 200

    self_approved = await decide(r, cr["id"], role="county_office", sub="village-clerk")
    assert self_approved.status_code == 403 and "proposer" in self_approved.json()["detail"]
    too_low = await decide(r, cr["id"], role="township", division=TOWNSHIP, sub="township-reviewer")
    assert too_low.status_code == 403 and "county" in too_low.json()["detail"]

    approved = await decide(r, cr["id"])
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved" and approved.json()["decided_by"] == "county-reviewer"
    person = (await r.client.get(f"/persons/{new_id}", headers=r.token("county_office", COUNTY))).json()
    assert person["name"] == "更正名" and person["birth_date"] == "1972-05-09" and person["sex"] == "male"  # serial 777: odd
    assert (await r.client.get(f"/persons/{old_id}", headers=r.token("county_office", COUNTY))).status_code == 404
    events = await fetch(r.settings, "SELECT type, data FROM events WHERE type LIKE 'registry.change_request.%' "
                                     "ORDER BY seq")
    assert [e["type"] for e in events] == ["registry.change_request.proposed", "registry.change_request.approved"]
    assert old_id in events[1]["data"] and new_id in events[1]["data"]  # the old value kept in history
    assert (await decide(r, cr["id"])).status_code == 409  # decided once


async def test_a_new_id_of_another_active_person_is_refused(registry):
    r = registry
    ours, theirs = family(52), family(53)
    await r.propose(ours)
    await r.propose(theirs)
    body = {"target": "person", "id_number": ours[2]["id_number"], "reason": "录入错误",
            "changes": {"id_number": theirs[2]["id_number"]}}
    refused = await propose(r, body)
    assert refused.status_code == 409 and refused.json()["errors"][0]["field"] == "changes.id_number"
    assert theirs[2]["id_number"] not in refused.text

    # free when proposed, taken by the time of the approval: refused then, nothing applied
    free = make_id("652722", date(1990, 1, 1), 555)
    cr = (await propose(r, {**body, "changes": {"id_number": free}})).json()
    await r.client.post("/households/" + (await r.client.get(
        f"/persons/{theirs[0]['id_number']}", headers=r.token("county_office", COUNTY))).json()["household"]["id"]
        + "/members", headers=r.headers("village", VILLAGE), json={
            "id_number": free, "name": "新成员", "relation": "child", "labour_capacity": "no_labour"})
    taken = await decide(r, cr["id"])
    assert taken.status_code == 409
    assert (await r.client.get(f"/persons/{ours[2]['id_number']}", headers=r.token("county_office", COUNTY))).json()[
        "active"] is True
    rows = await fetch(r.settings, "SELECT status FROM change_requests WHERE id = $1", uuid.UUID(cr["id"]))
    assert rows[0]["status"] == "proposed"


async def test_bad_values_are_named(registry):
    r = registry
    members = family(54)
    await r.propose(members)
    bad = await propose(r, {"target": "person", "id_number": members[0]["id_number"], "reason": "更正",
                            "changes": {"labour_capacity": "strong"}})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "changes.labour_capacity"
    unknown = await propose(r, {"target": "person", "id_number": members[0]["id_number"], "reason": "更正",
                                "changes": {"status": "registered"}})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "changes.status"
    assert (await fetch(r.settings, "SELECT count(*) AS n FROM change_requests"))[0]["n"] == 0


async def test_household_and_department_corrections_the_same_way(registry):
    r = registry
    members = family(55)
    household = (await r.propose(members)).json()
    cr = (await propose(r, {"target": "household", "household_id": household["id"], "reason": "致贫原因录入错误",
                            "changes": {"main_cause": "disability"}})).json()
    assert cr["level"] == "township"
    assert (await decide(r, cr["id"], role="township", division=TOWNSHIP, sub="township-reviewer")).status_code == 200
    assert (await r.get(household["id"]))["main_cause"] == "disability"

    person = members[0]["id_number"]
    def dept(sub, name="civil_affairs"):
        r.n += 1
        return {**bearer(r.settings, "department", COUNTY, dept=name, sub=sub), "Idempotency-Key": f"d-{r.n}"}

    put = await r.client.put(f"/persons/{person}/departments/civil_affairs", json={"dibao": False, "tekun": False},
                             headers=dept("mz-1"))
    assert put.status_code == 200, put.text

    cr = await r.client.post("/change-requests", headers=dept("mz-1"), json={
        "target": "department", "dept": "civil_affairs", "id_number": person, "reason": "低保认定录入错误",
        "changes": {"dibao": True}})
    assert cr.status_code == 201, cr.text
    cr = cr.json()
    other_dept = await r.client.post(f"/change-requests/{cr['id']}/decision", headers=dept("jy-1", "education"),
                                     json={"decision": "approve"})
    assert other_dept.status_code == 403
    approved = await r.client.post(f"/change-requests/{cr['id']}/decision", headers=dept("mz-2"),
                                   json={"decision": "approve"})
    assert approved.status_code == 200, approved.text
    rows = await fetch(r.settings, "SELECT details->'civil_affairs' AS ca FROM persons WHERE id_number = $1", person)
    assert '"dibao": true' in rows[0]["ca"]
