"""The registry's procedures on real PostgreSQL: identification (两公示一公告) and exit, each step
allowed and refused (wrong role, wrong division, wrong state, notice not passed), duplicates,
the exit standard, the quota, as-of-date answers."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from pathlib import Path

import asyncpg
import pytest

from services.registry.app import create_app
from shared.clock import SettableClock
from shared.config import libpq_url
from shared.policy.citations import SEED_TITLES
from tests.conftest import serving
from tests.service.registry_support import (
    COUNTY, ELSEWHERE, OTHER_TOWNSHIP, OTHER_VILLAGE, TOWNSHIP, VILLAGE, Registry, exit_household, family, identify,
)

async def test_identification_runs_through_two_notices_and_an_announcement(registry):
    hid = await identify(registry, family(1))
    household = await registry.get(hid)
    assert household["registered_year"] == 2016 and len(household["announcements"]) == 3
    assert [m["relation"] for m in household["members"]][0] == "head"


async def test_each_step_is_refused_out_of_turn(registry):
    r = registry
    hid = (await r.propose(family(2))).json()["id"]
    # wrong state: township review before the village appraisal and notice
    early = await r.step(hid, "township-review", "township", TOWNSHIP)
    assert early.status_code == 409 and early.json()["household"]["status"] == "proposed"
    # wrong role and wrong division
    assert (await r.step(hid, "appraise", "township", TOWNSHIP)).status_code == 403
    assert (await r.step(hid, "appraise", "village", OTHER_VILLAGE)).status_code == 403
    assert (await r.step(hid, "appraise", "auditor", "000000000000")).status_code == 403
    await r.step(hid, "appraise", "village", VILLAGE)
    notice = await r.notice("identification.village", VILLAGE, [hid], "village")
    # the notice has not passed yet
    refused = await r.step(hid, "township-review", "township", TOWNSHIP)
    assert refused.status_code == 409
    assert refused.json()["announcement"]["id"] == notice.json()["announcement_id"]
    assert refused.json()["announcement"]["status"] == "published"
    assert (await r.step(hid, "township-review", "township", OTHER_TOWNSHIP)).status_code == 403
    await r.pass_period()
    assert (await r.step(hid, "township-review", "township", OTHER_TOWNSHIP)).status_code == 403
    assert (await r.step(hid, "township-review", "township", TOWNSHIP)).status_code == 200
    # a notice of the wrong level, and of households in the wrong state
    assert (await r.notice("identification.township", VILLAGE, [hid], "village")).status_code == 422
    assert (await r.notice("identification.village", VILLAGE, [hid], "village")).status_code == 409


async def test_an_objection_upheld_stops_identification(registry):
    r = registry
    hid = (await r.propose(family(3))).json()["id"]
    await r.step(hid, "appraise", "village", VILLAGE)
    announcement_id = (await r.notice("identification.village", VILLAGE, [hid], "village")).json()["announcement_id"]
    objection = await r.client.post(f"/public/announcements/{announcement_id}/objections",
                                    json={"text": "该户家中有经营性货车，收入较高。"})
    await r.client.post(f"/announcements/{announcement_id}/objections/{objection.json()['id']}/resolve",
                        json={"decision": "upheld", "reason": "核实属实"}, headers=r.headers("village", VILLAGE))
    await r.pass_period()
    refused = await r.step(hid, "township-review", "township", TOWNSHIP)
    assert refused.status_code == 409 and refused.json()["announcement"]["outcome"] == "failed"
    rejected = await r.step(hid, "appraise", "village", VILLAGE)
    assert rejected.status_code == 409  # the household cannot go back; it can be refused by the township
    final = await r.step(hid, "township-review", "township", TOWNSHIP, decision="reject", reason="公示有异议且属实")
    assert final.status_code == 200 and final.json()["status"] == "rejected"  # a failed notice ends in refusal


async def test_a_person_is_in_one_active_household_nationwide(registry):
    r = registry
    members = family(4)
    assert (await r.propose(members)).status_code == 201
    # another county's village proposes the same person: refused without revealing the household
    elsewhere = await r.propose([{**members[0], "relation": "head"}], division=ELSEWHERE)
    assert elsewhere.status_code == 409
    assert elsewhere.json()["conflicts"][0]["household"] is None
    assert members[0]["id_number"] not in elsewhere.text  # masked
    # a national admin sees which household it is
    admin = await r.propose([{**members[0], "relation": "head"}], division=ELSEWHERE, role="admin",
                            token_division="000000000000")
    assert admin.status_code == 409 and admin.json()["conflicts"][0]["household"].startswith(VILLAGE)


async def test_a_rejected_household_frees_its_members(registry):
    r = registry
    members = family(5)
    hid = (await r.propose(members)).json()["id"]
    rejected = await r.step(hid, "appraise", "village", VILLAGE, decision="reject", reason="评议未通过")
    assert rejected.json()["status"] == "rejected"
    assert (await r.propose(members)).status_code == 201


async def test_proposals_are_validated(registry):
    r = registry
    two_heads = [{**m, "relation": "head"} for m in family(6, 2)]
    bad = await r.propose(two_heads)
    assert bad.status_code == 422 and "户主" in bad.text
    bad_id = [{**family(7, 1)[0], "id_number": family(7, 1)[0]["id_number"][:-1] + "0"}]
    if bad_id[0]["id_number"] != family(7, 1)[0]["id_number"]:
        response = await r.propose(bad_id)
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == "members.0.id_number"
    township = await r.propose(family(8), division=TOWNSHIP, role="admin", token_division="000000000000")
    assert township.status_code == 422


async def test_exit_is_refused_with_the_unmet_criteria_then_completes(registry):
    r = registry
    hid = await identify(r, family(9))
    r.clock.set(datetime(2017, 12, 1, 2, tzinfo=timezone.utc))
    all_checks = {c: True for c in ("food", "clothing", "compulsory_education", "basic_medical_care",
                                     "housing_safety", "skills", "employment", "sustained_income", "cultural_life")}
    low = await r.step(hid, "exit-nominate", "village", VILLAGE,
                       income={"year": 2017, "net_per_capita": "3000.00"}, checks=all_checks)
    assert low.status_code == 422
    codes = {u["code"] for u in low.json()["unmet"]}
    assert any("income" in c for c in codes)
    # 2017 above Jinghe's 3,335 yuan but 2016 unknown: Jinghe requires two consecutive years (seed 003 L497)
    one_year = await r.step(hid, "exit-nominate", "village", VILLAGE,
                            income={"year": 2017, "net_per_capita": "4000.00"}, checks=all_checks)
    assert one_year.status_code == 422 and "2016" in one_year.text
    await r.client.put(f"/households/{hid}/incomes/2016", json={"year": 2016, "net_per_capita": "3500.00"},
                       headers=r.headers("village", VILLAGE))
    failed_check = await r.step(hid, "exit-nominate", "village", VILLAGE,
                                income={"year": 2017,
                                        "net_per_capita": "4000.00"}, checks={**all_checks, "housing_safety": False})
    assert failed_check.status_code == 422 and {u["code"] for u in failed_check.json()["unmet"]} == {"housing_safety"}
    ok = await r.step(hid, "exit-nominate", "village", VILLAGE,
                      income={"year": 2017, "net_per_capita": "4000.00"}, checks=all_checks)
    assert ok.status_code == 200 and ok.json()["status"] == "exit_nominated"

    await r.step(hid, "exit-appraise", "village", VILLAGE)
    await r.notice("exit.village", VILLAGE, [hid], "village")
    await r.pass_period()
    await r.step(hid, "exit-township-verify", "township", TOWNSHIP)
    await r.notice("exit.township", TOWNSHIP, [hid], "township")
    early = await r.step(hid, "exit-county-review", "county_office", COUNTY)
    assert early.status_code == 409  # the township notice has not passed
    await r.pass_period()
    await r.step(hid, "exit-county-review", "county_office", COUNTY)
    await r.step(hid, "exit-county-approve", "county_office", COUNTY)
    await r.notice("exit.announcement", VILLAGE, [hid], "village")
    await r.pass_period()
    exit_day = r.clock.today()
    confirmed = await r.step(hid, "exit-confirm", "county_office", COUNTY)
    assert confirmed.json()["status"] == "exited" and confirmed.json()["exited_on"] == exit_day.isoformat()

    before = await r.get(hid, as_of=(exit_day - timedelta(days=1)).isoformat())
    after = await r.get(hid, as_of=exit_day.isoformat())
    assert before["status_as_of"] == "exit_announced" and after["status_as_of"] == "exited"
    back_then = await r.get(hid, as_of="2016-06-30")
    assert back_then["status_as_of"] == "registered"
    assert after["post_exit"]["policies_continue"] is True  # cited by the plan's title (seed 003 L481)
    assert SEED_TITLES["003"] in after["post_exit"]["citation"] and "seed" not in after["post_exit"]["citation"]


async def _to_township_notice(r: Registry, count: int, seed: int) -> list[str]:
    ids = [(await r.propose(family(seed + k))).json()["id"] for k in range(count)]
    for hid in ids:
        await r.step(hid, "appraise", "village", VILLAGE)
    await r.notice("identification.village", VILLAGE, ids, "village")
    await r.pass_period()
    for hid in ids:
        await r.step(hid, "township-review", "township", TOWNSHIP)
    await r.notice("identification.township", TOWNSHIP, ids, "township")
    await r.pass_period()
    return ids


@pytest.fixture
async def quota_of_one(databases, tmp_path: Path):
    quota = tmp_path / "quota.yaml"
    quota.write_text('- id: household.identification.quota\n  jurisdiction: "652722"\n  effective_from: 2014-01-01\n'
                     '  effective_to: null\n  value: {max_households: 1, max_persons: null}\n'
                     '  citation: "test quota"\n  title: 规模控制\n', encoding="utf-8")
    settings = await databases.new("registry", policy_files=[str(quota)])
    clock = SettableClock(datetime(2016, 3, 1, 2, tzinfo=timezone.utc))
    async with serving(create_app(settings, clock=clock, run_background=False)) as client:
        yield Registry(settings, client, clock)


async def test_the_county_quota_refuses_registrations_over_it(quota_of_one):
    r = quota_of_one
    first, second = await _to_township_notice(r, 2, seed=50)
    assert (await r.step(first, "county-approve", "county_office", COUNTY)).status_code == 200
    refused = await r.step(second, "county-approve", "county_office", COUNTY)
    assert refused.status_code == 422 and refused.json()["citation"] == "test quota"
    assert "1" in refused.json()["errors"][0]["reason"]
    assert (await r.get(second))["status"] == "township_notice"


async def test_concurrent_approvals_cannot_both_take_the_last_place(quota_of_one):
    r = quota_of_one
    ids = await _to_township_notice(r, 2, seed=60)
    results = await asyncio.gather(*(r.step(hid, "county-approve", "county_office", COUNTY) for hid in ids))
    assert sorted(x.status_code for x in results) == [200, 422]


async def test_the_shipped_demo_quota_counts_persons_too(registry):
    """精河县's shipped (demo) quota is 1,767 households / 4,340 persons: a county with more persons
    than that is refused even with households to spare."""
    from shared.policy import load_policy

    rule = load_policy().lookup("household.identification.quota", VILLAGE, datetime(2016, 1, 1).date())
    assert (rule.value["max_households"], rule.value["max_persons"]) == (1767, 4340)


async def test_search_and_person_lookup_respect_jurisdiction(registry):
    r = registry
    members = family(11)
    hid = (await r.propose(members)).json()["id"]
    county = r.token("county_office", COUNTY)
    found = (await r.client.get("/households", params={"id_number": members[1]["id_number"]}, headers=county)).json()
    assert [h["id"] for h in found["items"]] == [hid]
    by_name = (await r.client.get("/households", params={"name": members[0]["name"]}, headers=county)).json()
    assert [h["id"] for h in by_name["items"]] == [hid]
    person = await r.client.get(f"/persons/{members[2]['id_number']}", headers=county)
    assert person.status_code == 200 and person.json()["household"]["id"] == hid
    other_county = r.token("county_office", "652701000000")
    assert (await r.client.get(f"/persons/{members[2]['id_number']}", headers=other_county)).status_code == 404
    assert (await r.client.get(f"/households/{hid}", headers=other_county)).status_code == 403


LEVEL_TOKENS = {"village": ("village", VILLAGE), "township": ("township", TOWNSHIP), "county": ("county_office", COUNTY)}
OTHER_LEVEL = {"village": ("township", TOWNSHIP), "township": ("county_office", COUNTY), "county": ("village", VILLAGE)}
OTHER_DIVISION = {"village": ("village", OTHER_VILLAGE), "township": ("township", OTHER_TOWNSHIP),
                  "county": ("county_office", "652701000000")}


@pytest.mark.parametrize("action", list(__import__("services.registry.domain.workflow", fromlist=["DECISIONS"]).DECISIONS))
async def test_every_decision_is_refused_to_the_wrong_role_and_division(registry, action):
    from services.registry.domain.workflow import DECISIONS

    r = registry
    decision = DECISIONS[action]
    hid = (await r.propose(family(70))).json()["id"]
    conn = await asyncpg.connect(libpq_url(r.settings.database_url, r.settings.database_name))
    try:  # put the household in the step's starting state directly: this test is about who may act
        await conn.execute("UPDATE households SET status = $1 WHERE id = $2", decision.from_status, __import__("uuid").UUID(hid))
    finally:
        await conn.close()
    wrong_role = await r.step(hid, action, *OTHER_LEVEL[decision.level])
    wrong_division = await r.step(hid, action, *OTHER_DIVISION[decision.level])
    auditor = await r.step(hid, action, "auditor", "000000000000")
    assert (wrong_role.status_code, wrong_division.status_code, auditor.status_code) == (403, 403, 403)
    assert (await r.get(hid))["status"] == decision.from_status


async def test_notices_are_refused_to_the_wrong_office(registry):
    r = registry
    hid = (await r.propose(family(71))).json()["id"]
    await r.step(hid, "appraise", "village", VILLAGE)
    assert (await r.notice("identification.village", VILLAGE, [hid], "township", token_division=TOWNSHIP)).status_code == 403
    # another village's office, posting in its own village, cannot list this village's household
    assert (await r.notice("identification.village", OTHER_VILLAGE, [hid], "village")).status_code == 422
    assert (await r.notice("identification.village", VILLAGE, [hid], "village", token_division=OTHER_VILLAGE)).status_code == 403
    assert (await r.get(hid))["status"] == "appraised"


async def test_the_same_person_proposed_twice_at_once_is_one_201_and_one_409(registry):
    r = registry
    members = family(72)
    results = await asyncio.gather(r.propose(members), r.propose(members))
    assert sorted(x.status_code for x in results) == [201, 409]


async def test_decisions_cannot_be_back_dated_before_the_last_step(registry):
    r = registry
    hid = (await r.propose(family(73))).json()["id"]
    early = await r.step(hid, "appraise", "village", VILLAGE, on="2001-01-01")
    future = await r.step(hid, "appraise", "village", VILLAGE, on="2030-01-01")
    assert early.status_code == future.status_code == 422


async def test_return_and_a_second_exit_keep_the_statistics_answering(registry):
    r = registry
    hid = await identify(r, family(74))
    await exit_household(r, hid)
    returned = await r.client.post(f"/households/{hid}/return", json={"cause": "illness"},
                                   headers=r.headers("county_office", COUNTY))
    assert returned.status_code == 200
    await exit_household(r, hid)
    stats = await r.client.get("/statistics", params={"division": "652722", "year": 2017},
                               headers=r.token("county_office", COUNTY))
    assert stats.status_code == 200 and stats.json()["remaining"]["households"] == 0


async def test_members_join_and_leave_with_events(registry):
    from datetime import date as day

    from shared.idcard import make_id

    r = registry
    members = family(80)
    hid = (await r.propose(members)).json()["id"]
    baby = {"id_number": make_id("652722", day(2016, 2, 1), 5), "name": "新生儿", "relation": "child",
            "labour_capacity": "no_labour"}
    added = await r.client.post(f"/households/{hid}/members", json=baby, headers=r.headers("village", VILLAGE))
    assert added.status_code == 201 and len(added.json()["members"]) == 4
    again = await r.client.post(f"/households/{hid}/members", json=baby, headers=r.headers("village", VILLAGE))
    assert again.status_code == 409  # already active (in this household)
    head_leaves = await r.client.post(f"/households/{hid}/members/{members[0]['id_number']}/leave",
                                      json={"reason": "deceased"}, headers=r.headers("village", VILLAGE))
    assert head_leaves.status_code == 409
    left = await r.client.post(f"/households/{hid}/members/{members[1]['id_number']}/leave",
                               json={"reason": "married_out"}, headers=r.headers("village", VILLAGE))
    assert left.status_code == 200
    assert [m["active"] for m in left.json()["members"] if m["id_number"] == members[1]["id_number"]] == [False]
    # the person who left may now be proposed elsewhere
    assert (await r.propose([{**members[1], "relation": "head"}], division=OTHER_VILLAGE)).status_code == 201
