"""The projects service's answers are instances of the models its OpenAPI document names (closed: no
undocumented field), with labels beside the codes (issue 14): the library page and a project's full
record, every lifecycle write, assets, the annual adjustment, 百企千村 enterprises and pairings, the
performance evaluation and the county's figures. Every answer a flow receives is checked
(:class:`EveryAnswer`); each test then names the operations it must have covered."""

from __future__ import annotations

from datetime import datetime, timezone

from tests.service import test_projects
from tests.service.answer_models import EveryAnswer, assert_documented
from tests.service.test_projects import COUNTY, TOWNSHIP, VILLAGE, proposal
from tests.service.test_projects_assets import asset, handed_over_ready
from tests.service.test_projects_results import CREDIT_CODE, ENTERPRISE, accepted_project, funded_project

projects = test_projects.projects  # the fixture: the projects service on a fresh database


async def checked(p) -> EveryAnswer:
    return EveryAnswer((await p.client.get("/openapi.json")).json()).on(p.client)


async def test_the_library_page_and_a_full_record_match_their_models(projects):
    p = projects
    answers = await checked(p)
    spec = answers.spec
    households = [await p.household() for _ in range(2)]
    code = await handed_over_ready(p, households)  # beneficiaries, library, plan, commitment, progress, acceptance
    await p.posting("disburse", code, 6_000_000, payee={"kind": "enterprise", "name": "光伏公司"})
    handed = await p.post(f"/projects/{code}/handover", COUNTY,
                          assets=[asset(shares=[{"holder": h, "shares": 1} for h in households])])
    assert handed.status_code == 201, handed.text
    asset_id = handed.json()["assets"][0]["id"]
    paid = await p.post(f"/assets/{asset_id}/distributions", VILLAGE, period="2018", amount="100.00", **p.period())
    assert paid.status_code == 201, paid.text
    assert paid.json()["distributions"][0]["lines"][0]["amount"] == "50.00"
    assert (await p.get(f"/assets/{asset_id}")).json()["operator"]["kind"] == "village_collective"

    record = await p.get(f"/projects/{code}")
    assert record.status_code == 200, record.text
    body = record.json()
    assert_documented(spec, "/projects/{code}", body, model="ProjectOut")
    assert body["funding"]["postings"] and body["benefits"]["items"] and body["assets"][0]["distributions"]
    assert body["sources"][0]["channel_label"] == "中央财政专项扶贫资金"
    assert body["funding"]["postings"][0]["channel_label"] == "中央财政专项扶贫资金"
    assert body["beneficiaries"]["items"][0]["mechanism_label"] == "资产收益"
    assert body["benefits"]["items"][0]["kind_label"] == "分红" and body["assets"][0]["kind_label"] == "经营性资产"

    page = await p.get("/projects", COUNTY)
    assert page.status_code == 200 and [item["code"] for item in page.json()["items"]] == [code]
    assert_documented(spec, "/projects", page.json(), model="ProjectPage")
    assert page.json()["items"][0]["stage_label"] == "资产已移交"
    assert answers.checked >= {
        ("POST", "/projects"), ("POST", "/projects/{code}/beneficiaries"), ("POST", "/projects/{code}/steps/{action}"),
        ("POST", "/publicity"), ("POST", "/projects/{code}/progress"), ("POST", "/projects/{code}/acceptance"),
        ("POST", "/projects/{code}/results-announcement"), ("POST", "/projects/{code}/handover"),
        ("POST", "/assets/{asset_id}/distributions"), ("GET", "/assets/{asset_id}")}


async def test_targets_benefits_figures_and_the_registry_households_match_their_models(projects):
    p = projects
    answers = await checked(p)
    empty = await p.get("/figures", COUNTY)  # no project yet: the total is zeros, not an empty object
    assert empty.json()["total"] == {"projects": 0, "budget": "0.00", "households": 0, "persons": 0,
                                     "committed": "0.00", "paid": "0.00", "stranded": "0.00"}
    households = [await p.household() for _ in range(2)]
    code = await funded_project(p, households)
    other = (await p.propose(targets=[])).json()["code"]
    targets = await p.client.put(f"/projects/{other}/targets", json={"targets": proposal()["targets"]},
                                 headers=p.headers(COUNTY))
    assert targets.status_code == 200 and targets.json()["targets"], targets.text
    again = await p.post(f"/projects/{code}/beneficiaries", VILLAGE, household_ids=households[:1], mechanism="employment")
    assert again.json()["already_beneficiaries"] == households[:1]
    benefits = await p.post(f"/projects/{code}/benefits", VILLAGE,
                            items=[{"household_id": households[0], "kind": "wages", "amount": "15.00"}])
    assert benefits.status_code == 201 and benefits.json()["benefits"]["total"] == "15.00", benefits.text
    figures = await p.get("/figures", COUNTY)
    assert figures.json()["by_type"]["industry.planting"]["label"] == "种植业"
    listed = await p.get("/registry-households", VILLAGE, eligible=True)
    assert {h["id"] for h in listed.json()["items"]} == set(households)
    assert answers.checked >= {("PUT", "/projects/{code}/targets"), ("POST", "/projects/{code}/benefits"),
                               ("GET", "/figures"), ("GET", "/registry-households")}


async def test_pairings_and_evaluations_match_their_models(projects):
    p = projects
    answers = await checked(p)
    households = [await p.household() for _ in range(2)]
    code = await accepted_project(p, households)
    linked_later = await funded_project(p, households[:1])
    assert (await p.post("/enterprises", COUNTY, **ENTERPRISE)).json()["type_label"] == "民营企业"
    paired = await p.post("/pairings", COUNTY, credit_code=CREDIT_CODE, division=COUNTY, villages=[VILLAGE],
                          first_year=2018, last_year=2018, projects=[code], commitments=[{
                              "year": 2018, "villages": 1, "households": 5, "labourers": 1, "income": "10.00",
                              "investment": "10.00"}])
    assert paired.status_code == 201, paired.text
    pairing = paired.json()["id"]
    linked = await p.post(f"/pairings/{pairing}/projects", COUNTY, codes=[linked_later])
    assert linked.status_code == 201 and linked.json()["projects"] == sorted([code, linked_later]), linked.text
    hired = await p.post(f"/pairings/{pairing}/labourers", COUNTY,
                         items=[{"household_id": households[0], "name": "成员0", "hired_on": "2018-03-01"}])
    assert hired.status_code == 201, hired.text
    assert (await p.get(f"/pairings/{pairing}")).json()["labourers"][0]["name"] == "成员0"
    report = await p.get(f"/pairings/{pairing}/report", year=2018)
    assert [line["commitment"] for line in report.json()["lines"]] == [
        "villages", "households", "labourers", "income", "investment"]

    rated = await p.post(f"/projects/{code}/evaluation", COUNTY, actuals=[
        {"indicator": "新建枸杞种植面积", "actual": "450"}, {"indicator": "带动贫困户户均增收", "actual": "1800"}])
    assert rated.status_code == 201 and rated.json()["rating_label"] == "优", rated.text
    assert (await p.get(f"/projects/{code}/evaluation")).json()["score"] == "90.00"
    county = await p.get("/evaluations", COUNTY, year=2018)
    assert county.json()["by_rating"] == {"优": 1}
    assert answers.checked >= {
        ("POST", "/enterprises"), ("POST", "/pairings"), ("POST", "/pairings/{pairing_id}/projects"),
        ("POST", "/pairings/{pairing_id}/labourers"), ("GET", "/pairings/{pairing_id}"),
        ("GET", "/pairings/{pairing_id}/report"), ("POST", "/projects/{code}/evaluation"),
        ("GET", "/projects/{code}/evaluation"), ("GET", "/evaluations")}


async def test_the_annual_adjustment_matches_its_models(projects):
    p = projects
    answers = await checked(p)
    waiting = (await p.propose(name="待入库项目")).json()["code"]
    for action, office in (("township-review", TOWNSHIP), ("appraise", COUNTY), ("approve", COUNTY)):
        await p.step(waiting, action, office)
    for level in (VILLAGE, TOWNSHIP):
        await p.publicize(level, [waiting])
        await p.pass_period()
    changed = (await p.propose(name="拟调整项目")).json()["code"]
    await p.into_library(changed)
    p.clock.set(datetime(2018, 10, 8, 2, tzinfo=timezone.utc))
    announced = await p.post("/adjustments", COUNTY, county=COUNTY, year=2018, **p.period(), items=[
        {"action": "add", "code": waiting}, {"action": "change", "code": changed, "changes": {"name": "已调整项目"}}])
    assert announced.status_code == 201, announced.text
    assert announced.json()["items"][1]["changes"] == {"name": "已调整项目"}
    await p.pass_period()
    applied = await p.client.post(f"/adjustments/{announced.json()['announcement_id']}/apply", headers=p.headers(COUNTY))
    assert applied.json()["stages"] == {waiting: "in_library", changed: "in_library"}, applied.text
    assert answers.checked >= {("POST", "/adjustments"), ("POST", "/adjustments/{announcement_id}/apply")}
