"""The projects service on real PostgreSQL: the library lifecycle from proposal to asset handover,
every step refused when its precondition is missing (and then writing nothing), beneficiaries from
the registry's events, funding from the funds service's events, cancellation, queries.

Registry and funds events are fed to the service's own handlers (``Projects.registry_event`` /
``Projects.posting``), in a transaction of the projects database, as its consumer would."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
import uuid6

from services.projects.app import create_app
from services.projects.handlers import CONSUMES
from shared.announcements import close_due
from shared.clock import SettableClock
from shared.db import make_engine, make_sessionmaker
from shared.events.consumer import run_handlers
from tests.conftest import bearer, fetch, serving

VILLAGE, OTHER_VILLAGE = "652722102201", "652722102202"
TOWNSHIP, OTHER_TOWNSHIP = "652722102000", "652722101000"
COUNTY = "652722000000"
ELSEWHERE = "652701101201"  # a village of 博乐市, another county
OFFICE = {VILLAGE: "village", OTHER_VILLAGE: "village", TOWNSHIP: "township", OTHER_TOWNSHIP: "township",
          COUNTY: "county_office", ELSEWHERE: "village"}


def proposal(**overrides):
    body = {
        "name": "托里镇示范村枸杞种植基地", "type": "industry.planting", "division": VILLAGE, "year": 2018,
        "implementing_unit": "托里镇人民政府", "schedule": {"start": "2018-04-01", "end": "2018-10-31"},
        "tasks": ["新建枸杞种植基地500亩", "配套滴灌设施"], "budget": "1200000.00",
        "sources": [{"channel": "central_special", "amount": "1000000.00"},
                    {"channel": "county_special", "amount": "200000.00"}],
        "mechanisms": ["employment", "equity_dividend"],
        "participation": {"discussed_on": "2018-02-20", "participants": 45, "note": "村民代表大会一致同意"},
        "targets": [{"kind": "output", "indicator": "新建枸杞种植面积", "target": "500", "unit": "亩"},
                    {"kind": "benefit", "indicator": "带动贫困户户均增收", "target": "2000", "unit": "元"}],
        "planned_households": 30, "planned_persons": 90,
    }
    body.update(overrides)
    return body


class Projects:
    def __init__(self, settings, client, clock):
        self.settings, self.client, self.clock, self.n = settings, client, clock, 0
        self.engine = make_engine(settings.sqlalchemy_url, pool_size=2)
        self.sessions = make_sessionmaker(self.engine, "projects", clock)

    def headers(self, division, role=None):
        self.n += 1
        return {**bearer(self.settings, role or OFFICE[division], division), "Idempotency-Key": f"p-{self.n}"}

    async def post(self, path, office, role=None, **body):
        """POST as the office of ``office`` (a division code; ``role`` overrides its usual role)."""
        return await self.client.post(path, json=body, headers=self.headers(office, role))

    async def get(self, path, office=COUNTY, role=None, **params):
        return await self.client.get(path, params=params, headers=bearer(self.settings, role or OFFICE[office], office))

    async def propose(self, division=VILLAGE, role=None, **overrides):
        return await self.post("/projects", division if role != "admin" else "000000000000", role,
                               **proposal(division=division, **overrides))

    async def step(self, code, action, division=COUNTY, role=None, **body):
        return await self.post(f"/projects/{code}/steps/{action}", division, role, **body)

    async def publicize(self, division, codes, role=None):
        start = self.clock.today()
        return await self.post("/publicity", division, role, division=division, codes=codes, hotline_local="0909-5322222",
                               period_start=start.isoformat(), period_end=(start + timedelta(days=9)).isoformat())

    def period(self):
        start = self.clock.today()
        return {"hotline_local": "0909-5322222", "period_start": start.isoformat(),
                "period_end": (start + timedelta(days=9)).isoformat()}

    async def pass_period(self):
        self.clock.advance(timedelta(days=10))
        async with self.sessions() as session, session.begin():
            await close_due(session, clock=self.clock)

    async def record(self, code):
        response = await self.get(f"/projects/{code}")
        assert response.status_code == 200, response.text
        return response.json()

    async def db(self, sql):
        return await fetch(self.settings, sql)

    async def event_count(self):
        return (await self.db("SELECT count(*) AS n FROM events"))[0]["n"]

    async def deliver(self, source, event_type, subject, data):
        """An event of another service applied by this service's handler, as its consumer would."""
        event_id = str(uuid6.uuid7())
        event = {"id": event_id, "correlation_id": event_id, "source": source, "type": event_type, "subject": subject,
                 "time": self.clock.now().astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "data": data}
        async with self.sessions() as session, session.begin():
            await run_handlers(session, CONSUMES[source], [event])
        return event

    async def household(self, division=VILLAGE, status="registered", persons=3) -> str:
        """A household the registry imported (``registry.households.imported``), its id."""
        hid = str(uuid6.uuid7())
        members = [[str(uuid6.uuid7()), f"65272219700101{k:03d}X", f"成员{k}", "head" if k == 0 else "child", "1",
                    "1970-01-01", None, None, None, None, "normal_labour"] for k in range(persons)]
        from services.registry.usecases.imports import HOUSEHOLD_FIELDS, MEMBER_FIELDS

        await self.deliver("registry", "registry.households.imported", "import-1", {
            "import_id": "import-1", "household_fields": HOUSEHOLD_FIELDS, "member_fields": MEMBER_FIELDS,
            "households": [[hid, f"{division}{uuid.uuid4().int % 10000:04d}", division, status, "general", "illness",
                            2014, "2014-12-31", None, None, None, members]]})
        return hid

    async def posting(self, operation, code, amount_fen, **extra):
        """A funds posting (funds contract v1) for a project."""
        key = {"division": COUNTY, "role": "finance", "channel": "central_special", "fiscal_year": 2018}
        kinds = {"commit": ("pool", "committed"), "disburse": ("committed", "disbursed"), "strand": ("committed", "stranded")}
        source, target = kinds[operation]
        data = {"posting_id": str(uuid6.uuid7()), "from": {**key, "kind": source, "reference": None},
                "to": {**key, "kind": target, "reference": code}, "amount_fen": amount_fen, "operation": operation,
                "document_no": "", "document_date": self.clock.today().isoformat(), "actor": "test", "purpose": None,
                "reference": code, "on": self.clock.today().isoformat(), **extra}
        if operation != "commit":
            data["project_code"] = code
        types = {"commit": "funds.commitment.posted", "disburse": "funds.disbursement.posted", "strand": "funds.stranding.posted"}
        return await self.deliver("funds", types[operation], data["posting_id"], data)

    async def into_library(self, code, division=VILLAGE, township=TOWNSHIP):
        """Review, appraise, approve, publicise at each level and enter the library."""
        for action, office in (("township-review", township), ("appraise", COUNTY), ("approve", COUNTY)):
            response = await self.step(code, action, office)
            assert response.status_code == 200, response.text
        for level in (division, township, COUNTY):
            response = await self.publicize(level, [code])
            assert response.status_code == 201, response.text
            await self.pass_period()
        entered = await self.step(code, "enter-library")
        assert entered.status_code == 200 and entered.json()["stage"] == "in_library", entered.text

    async def close(self):
        await self.engine.dispose()


@pytest.fixture
async def projects(databases):
    settings = await databases.new("projects")
    clock = SettableClock(datetime(2018, 3, 1, 2, tzinfo=timezone.utc))
    async with serving(create_app(settings, clock=clock, run_background=False)) as client:
        p = Projects(settings, client, clock)
        try:
            yield p
        finally:
            await p.close()


async def test_a_project_from_proposal_to_asset_handover(projects):
    p = projects
    households = [await p.household() for _ in range(3)]
    proposed = await p.propose(type="industry.solar", name="示范村村级光伏电站", tasks=["建设300千瓦村级光伏电站"])
    assert proposed.status_code == 201, proposed.text
    code = proposed.json()["code"]
    assert code == "652722-2018-0001" and proposed.json()["stage"] == "proposed"
    added = await p.post(f"/projects/{code}/beneficiaries", VILLAGE, household_ids=households, mechanism="asset_income")
    assert added.status_code == 201, added.text
    assert added.json()["beneficiaries"]["households"] == 3 and added.json()["beneficiaries"]["persons"] == 9
    await p.into_library(code)
    assert (await p.step(code, "plan", year=2018)).json()["stage"] == "planned"
    await p.posting("commit", code, 100_000_000)  # 1,000,000.00 yuan committed …
    record = await p.record(code)
    assert record["stage"] == "funded" and record["funding"]["committed"] == "1000000.00"
    await p.posting("disburse", code, 60_000_000, payee={"kind": "enterprise", "name": "光伏公司"})
    for percent in (40, 100):
        p.clock.advance(timedelta(days=30))
        reported = await p.post(f"/projects/{code}/progress", VILLAGE, percent=percent, photos=[f"files/{code}/{percent}.jpg"])
        assert reported.status_code == 201, reported.text
    assert (await p.step(code, "complete")).json()["stage"] == "completed"
    accepted = await p.post(f"/projects/{code}/acceptance", COUNTY, team=[{"name": "李工", "unit": "县扶贫办"}],
                            result="passed", issues=["围栏需加固"])
    assert accepted.status_code == 201 and accepted.json()["stage"] == "accepted", accepted.text
    announced = await p.post(f"/projects/{code}/results-announcement", VILLAGE, **p.period())
    assert announced.status_code == 201 and announced.json()["stage"] == "results_announced", announced.text
    await p.pass_period()
    shares = [{"holder": "collective", "shares": 4}] + [{"holder": h, "shares": 2} for h in households]
    handed = await p.post(f"/projects/{code}/handover", COUNTY, assets=[{
        "name": "示范村300千瓦光伏电站", "kind": "productive", "owner": "households", "book_value": "980000.00",
        "operator": {"name": "示范村股份经济合作社", "kind": "village_collective"}, "shares": shares}])
    assert handed.status_code == 201 and handed.json()["stage"] == "handed_over", handed.text
    [asset] = handed.json()["assets"]
    assert [s["ratio_percent"] for s in asset["shares"]] == ["40.00", "20.00", "20.00", "20.00"]
    distributed = await p.post(f"/assets/{asset['id']}/distributions", VILLAGE, period="2018", amount="1000.01", **p.period())
    assert distributed.status_code == 201, distributed.text
    lines = distributed.json()["distributions"][0]["lines"]
    assert [line["amount_fen"] for line in lines] == [40001, 20000, 20000, 20000]  # largest remainder: the collective's
    record = await p.record(code)
    assert record["funding"] == {**record["funding"], "committed": "1000000.00", "paid": "600000.00",
                                 "stranded": "0.00", "remaining": "400000.00"}
    assert [a["state"] for a in record["announcements"]] == ["passed", "passed", "passed", "passed"]
    assert record["acceptances"][0]["issues"] == ["围栏需加固"] and record["progress"][-1]["percent"] == 100
    assert [h["stage"] for h in record["history"]] == [
        "proposed", "township_reviewed", "appraised", "approved", "in_publicity", "in_library", "planned", "funded",
        "in_progress", "completed", "accepted", "results_announced", "handed_over"]
    assert record["benefits"]["by_kind"] == {"dividend": "600.00"}
    types = [r["type"] for r in await p.db("SELECT type FROM events WHERE type LIKE 'projects.%' ORDER BY seq")
             if not r["type"].startswith("projects.announcement.")]
    assert types == [
        "projects.project.proposed", "projects.beneficiaries.added", "projects.project.township_reviewed",
        "projects.project.appraised", "projects.project.approved", "projects.publicity.posted",
        "projects.publicity.posted", "projects.publicity.posted", "projects.project.entered_library",
        "projects.project.planned", "projects.project.funded", "projects.progress.reported",
        "projects.progress.reported", "projects.project.completed", "projects.acceptance.recorded",
        "projects.results.announced", "projects.assets.handed_over", "projects.asset.income_distributed",
        "projects.benefit.recorded", "projects.benefit.recorded", "projects.benefit.recorded"]
    [library] = await p.db("SELECT data FROM events WHERE type = 'projects.project.entered_library'")
    import json
    assert json.loads(library["data"]) == {  # version 2 of the contract (services/projects/contract.py)
        "v": 2, "code": code, "division": VILLAGE, "publicity_passed": True, "name": "示范村村级光伏电站",
        "type": "industry.solar", "type_label": "光伏扶贫", "content": "建设300千瓦村级光伏电站",
        "implementing_unit": "托里镇人民政府"}
    benefit = json.loads((await p.db("SELECT data FROM events WHERE type = 'projects.benefit.recorded' ORDER BY seq"))[0]["data"])
    assert benefit == {"household_id": households[0], "project_code": code, "kind": "dividend", "amount": "200.00",
                       "on": p.clock.today().isoformat()}


async def test_every_step_is_refused_when_its_precondition_is_missing(projects):
    p = projects
    code = (await p.propose(targets=[])).json()["code"]

    async def refused(response, precondition, status=409):
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
        if precondition:
            assert precondition in [m["precondition"] for m in response.json()["missing"]], response.text

    # out of turn, wrong office, wrong jurisdiction
    await refused(await p.step(code, "appraise"), "stage")
    await refused(await p.step(code, "township-review", VILLAGE), None, 403)
    await refused(await p.step(code, "township-review", OTHER_TOWNSHIP), None, 403)
    await refused(await p.step(code, "township-review", COUNTY, role="auditor"), None, 403)
    assert (await p.step(code, "township-review", TOWNSHIP)).status_code == 200
    assert (await p.step(code, "appraise")).status_code == 200
    # no performance targets: approval refused, nothing written
    before = await p.event_count()
    no_targets = await p.step(code, "approve")
    await refused(no_targets, "performance_targets")
    assert "绩效目标" in no_targets.json()["detail"] and await p.event_count() == before
    targets = await p.client.put(f"/projects/{code}/targets", json={"targets": proposal()["targets"]},
                                 headers=p.headers(COUNTY))
    assert targets.status_code == 200, targets.text
    assert (await p.step(code, "approve")).status_code == 200
    # publicity: the township before the village, the library before any passed
    await refused(await p.publicize(TOWNSHIP, [code]), "publicity_passed:village")
    assert (await p.publicize(VILLAGE, [code])).status_code == 201
    await refused(await p.publicize(VILLAGE, [code]), "publicity_open:village")
    not_passed = await p.step(code, "enter-library")
    await refused(not_passed, "publicity_passed")
    assert "村级公示未结束" in not_passed.json()["detail"]
    await p.pass_period()
    await refused(await p.step(code, "enter-library"), "publicity_passed")  # the township and county still to come
    for level in (TOWNSHIP, COUNTY):
        await p.publicize(level, [code])
        await p.pass_period()
    assert (await p.step(code, "enter-library")).status_code == 200
    # implementation before money, acceptance before completion, completion before 100%
    await refused(await p.post(f"/projects/{code}/progress", VILLAGE, percent=10), "stage")
    await p.step(code, "plan")
    await refused(await p.post(f"/projects/{code}/progress", VILLAGE, percent=10), "stage")  # planned, not funded
    await p.posting("commit", code, 50_000)
    assert (await p.post(f"/projects/{code}/progress", VILLAGE, percent=60)).status_code == 201
    await refused(await p.post(f"/projects/{code}/acceptance", COUNTY, team=[{"name": "王工", "unit": "县水利局"}],
                               result="passed"), "stage")
    await refused(await p.step(code, "complete"), "progress_complete")
    back = await p.post(f"/projects/{code}/progress", VILLAGE, percent=50)
    assert back.status_code == 422 and back.json()["errors"][0]["field"] == "percent"
    await p.post(f"/projects/{code}/progress", VILLAGE, percent=100)
    await p.step(code, "complete")
    failed = await p.post(f"/projects/{code}/acceptance", COUNTY, team=[{"name": "王工", "unit": "县水利局"}],
                          result="failed", issues=["滴灌管网未通水"])
    assert failed.status_code == 201 and failed.json()["stage"] == "completed"  # recorded; not accepted
    await refused(await p.post(f"/projects/{code}/results-announcement", VILLAGE, **p.period()), "stage")
    await p.post(f"/projects/{code}/acceptance", COUNTY, team=[{"name": "王工", "unit": "县水利局"}], result="passed")
    await p.post(f"/projects/{code}/results-announcement", VILLAGE, **p.period())
    # handover before the results announcement has passed
    early = await p.post(f"/projects/{code}/handover", COUNTY, assets=[])
    await refused(early, "results_announcement_passed")
    # after acceptance a project can no longer be cancelled
    await refused(await p.step(code, "cancel", reason="不再实施"), "stage")


async def test_an_objection_upheld_stops_the_project_from_entering_the_library(projects):
    p = projects
    code = (await p.propose()).json()["code"]
    for action, office in (("township-review", TOWNSHIP), ("appraise", COUNTY), ("approve", COUNTY)):
        await p.step(code, action, office)
    notice = (await p.publicize(VILLAGE, [code])).json()["announcement_id"]
    objection = await p.client.post(f"/public/announcements/{notice}/objections", json={"text": "项目选址占用基本农田。"})
    assert objection.status_code == 201, objection.text
    resolved = await p.client.post(f"/announcements/{notice}/objections/{objection.json()['id']}/resolve",
                                   json={"decision": "upheld", "reason": "核实属实"}, headers=p.headers(VILLAGE))
    assert resolved.status_code == 200 and resolved.json()["objections"][0]["status"] == "upheld", resolved.text
    await p.pass_period()
    refused = await p.publicize(TOWNSHIP, [code])
    assert refused.status_code == 409 and "未通过(有异议)" in refused.text
    again = await p.publicize(VILLAGE, [code])  # the village may publicise again after re-siting
    assert again.status_code == 201


async def test_beneficiaries_must_be_registered_and_inside_the_division(projects):
    p = projects
    code = (await p.propose()).json()["code"]
    good = await p.household(persons=4)
    proposed_only = await p.household(status="county_notice")
    removed = await p.household()
    await p.deliver("registry", "registry.household.removed", removed, {"reason": "wrongly_included"})
    elsewhere = await p.household(division=ELSEWHERE)
    other_village = await p.household(division=OTHER_VILLAGE)
    unknown = str(uuid6.uuid7())
    before = await p.event_count()
    response = await p.post(f"/projects/{code}/beneficiaries", VILLAGE, mechanism="employment",
                            household_ids=[good, proposed_only, removed, elsewhere, other_village, unknown])
    assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"
    reasons = {e["household_id"]: e["code"] for e in response.json()["errors"]}
    assert reasons == {proposed_only: "not_registered", removed: "removed", elsewhere: "outside_division",
                       other_village: "outside_division", unknown: "unknown"}
    assert await p.event_count() == before
    assert (await p.db("SELECT count(*) AS n FROM project_beneficiaries"))[0]["n"] == 0
    # the registry moves a household on (register, then a member is born): the read model follows
    await p.deliver("registry", "registry.household.register", proposed_only,
                    {"action": "register", "decision": "approve", "from": "county_notice", "to": "registered"})
    await p.deliver("registry", "registry.member.added", good, {"name": "新生儿", "relation": "child"})
    added = await p.post(f"/projects/{code}/beneficiaries", VILLAGE, mechanism="employment", household_ids=[good, proposed_only])
    assert added.status_code == 201, added.text
    assert added.json()["beneficiaries"] == {**added.json()["beneficiaries"], "households": 2, "persons": 8}
    again = await p.post(f"/projects/{code}/beneficiaries", VILLAGE, mechanism="employment", household_ids=[good])
    assert again.json()["already_beneficiaries"] == [good] and again.json()["beneficiaries"]["households"] == 2
    # a township project may take households of every village of its township
    township_project = (await p.propose(division=TOWNSHIP, name="托里镇技能培训", type="employment.training")).json()["code"]
    assert (await p.post(f"/projects/{township_project}/beneficiaries", TOWNSHIP, mechanism="employment",
                         household_ids=[good, other_village])).status_code == 201


async def test_benefits_are_recorded_for_beneficiaries_only(projects):
    p = projects
    hid, stranger = await p.household(), await p.household()
    code = (await p.propose()).json()["code"]
    await p.post(f"/projects/{code}/beneficiaries", VILLAGE, mechanism="employment", household_ids=[hid])
    early = await p.post(f"/projects/{code}/benefits", VILLAGE, items=[{"household_id": hid, "kind": "wages", "amount": "1.00"}])
    assert early.status_code == 409  # before money is committed
    await p.into_library(code)
    await p.step(code, "plan")
    await p.posting("commit", code, 1_000_000)
    refused = await p.post(f"/projects/{code}/benefits", VILLAGE, items=[
        {"household_id": hid, "kind": "wages",
         "amount": "1800.00"}, {"household_id": stranger, "kind": "wages", "amount": "1.00"}])
    assert refused.status_code == 422 and refused.json()["errors"] == [
        {"field": "items.1.household_id", "reason": "不是本项目的受益户 (not a beneficiary of this project)"}]
    bad_money = await p.post(f"/projects/{code}/benefits", VILLAGE,
                             items=[{"household_id": hid, "kind": "wages", "amount": 1800}])
    assert bad_money.status_code == 422
    paid = await p.post(f"/projects/{code}/benefits", VILLAGE, items=[
        {"household_id": hid, "kind": "wages",
         "amount": "1800.00"}, {"household_id": hid, "kind": "in_kind", "amount": "300.50"}])
    assert paid.status_code == 201 and paid.json()["benefits"]["total"] == "2100.50"


async def test_cancellation_emits_the_contract_and_needs_a_reason(projects):
    p = projects
    code = (await p.propose()).json()["code"]
    no_reason = await p.step(code, "cancel")
    assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["field"] == "reason"
    assert (await p.step(code, "cancel", VILLAGE, reason="不做了")).status_code == 403  # the village withdraws instead
    other = (await p.propose()).json()["code"]
    withdrawn = await p.step(other, "withdraw", VILLAGE, reason="村民代表大会重新决议")
    assert withdrawn.status_code == 200 and withdrawn.json()["stage"] == "cancelled"
    await p.into_library(code)
    await p.step(code, "plan")
    await p.posting("commit", code, 500_000)
    cancelled = await p.step(code, "cancel", reason="水源地调整，项目无法实施")
    assert cancelled.status_code == 200 and cancelled.json()["cancel_reason"] == "水源地调整，项目无法实施"
    import json
    rows = await p.db("SELECT subject, data FROM events WHERE type = 'projects.project.cancelled' ORDER BY seq")
    assert [json.loads(r["data"]) for r in rows] == [
        {"code": other, "division": VILLAGE, "reason": "村民代表大会重新决议"},
        {"code": code, "division": VILLAGE, "reason": "水源地调整，项目无法实施"}]
    assert (await p.step(code, "cancel", reason="再次取消")).status_code == 409
    # the funds service strands the commitment: its posting shows here as stranded, nothing remaining
    await p.posting("strand", code, 500_000)
    assert (await p.record(code))["funding"] == {**(await p.record(code))["funding"], "stranded": "5000.00", "remaining": "0.00"}


async def test_funding_comes_from_the_funds_postings(projects):
    p = projects
    code = (await p.propose()).json()["code"]
    await p.into_library(code)
    commit = await p.posting("commit", code, 300_000)  # committed while in the library, before the plan
    assert (await p.record(code))["stage"] == "in_library"
    await p.deliver("funds", "funds.commitment.posted", commit["subject"], commit["data"])  # a duplicate delivery
    planned = await p.step(code, "plan", year=2018)
    assert planned.json()["stage"] == "funded"  # the money was already there
    await p.posting("disburse", code, 120_000, payee={"kind": "contractor", "name": "某公司"})
    await p.posting("commit", "652722-2018-9999", 1)  # a project this service does not have: ignored
    funding = (await p.record(code))["funding"]
    assert (funding["committed"], funding["paid"], funding["remaining"]) == ("3000.00", "1200.00", "1800.00")
    assert [x["operation"] for x in funding["postings"]] == ["commit", "disburse"]


async def test_queries_by_division_type_stage_year_and_figures(projects):
    p = projects
    hid = await p.household(persons=5)
    goji = (await p.propose()).json()["code"]
    water = (await p.propose(type="infrastructure.drinking_water", name="安全饮水工程", budget="300000.00",
                             sources=[{"channel": "agri_integrated_drinking_water", "amount": "300000.00"}])).json()["code"]
    later = (await p.propose(year=2019, division=OTHER_VILLAGE)).json()["code"]
    await p.post(f"/projects/{goji}/beneficiaries", VILLAGE, mechanism="employment", household_ids=[hid])
    await p.step(water, "township-review", TOWNSHIP)

    async def codes(division=COUNTY, **params):
        response = await p.get("/projects", division, division=division, **params)
        assert response.status_code == 200, response.text
        return [item["code"] for item in response.json()["items"]]

    assert await codes() == [goji, water, later]
    assert await codes(type="infrastructure.drinking_water") == [water]
    assert await codes(stage="township_reviewed") == [water]
    assert await codes(year=2019) == [later]
    assert await codes(OTHER_VILLAGE) == [later]
    assert (await p.get("/projects", OTHER_TOWNSHIP, division=TOWNSHIP)).status_code == 403
    assert (await p.get(f"/projects/{goji}", OTHER_TOWNSHIP)).status_code == 403
    page = (await p.get("/projects", COUNTY, limit=2)).json()
    assert len(page["items"]) == 2 and (await p.get("/projects", COUNTY,
                                                    cursor=page["next_cursor"])).json()["items"][0]["code"] == later
    figures = (await p.get("/figures", COUNTY, year=2018)).json()
    assert figures["total"]["projects"] == 2 and figures["total"]["budget"] == "1500000.00"
    assert figures["by_type"]["industry.planting"] == {"label": "种植业", "projects": 1, "budget": "1200000.00",
                                                       "households": 1, "persons": 5, "committed": "0.00", "paid": "0.00",
                                                       "stranded": "0.00"}
    assert {s: f["projects"] for s, f in figures["by_stage"].items()} == {"proposed": 1, "township_reviewed": 1}
    catalogue = {c["name"]: c for c in (await p.client.get("/catalogue")).json()["lists"]}  # public
    assert {"code": "industry.solar", "zh": "光伏扶贫", "en": "solar power for poverty alleviation",
            "category": "industry", "forms_assets": True} in catalogue["project_type"]["codes"]
    assert {"code": "industry", "zh": "产业发展", "en": "industry development"} in catalogue["project_category"]["codes"]


async def test_proposals_are_validated_and_idempotent(projects):
    p = projects
    bad = await p.propose(budget="1000.00")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "sources"
    assert (await p.propose(type="industry.unknown")).status_code == 422
    wrong_channel = await p.propose(sources=[{"channel": "lottery", "amount": "1200000.00"}])
    assert wrong_channel.json()["errors"][0]["field"] == "sources.0.channel"
    backwards = await p.propose(schedule={"start": "2018-10-01", "end": "2018-04-01"})
    assert backwards.json()["errors"][0]["field"] == "schedule.end"
    assert (await p.propose(division=COUNTY, role="admin")).status_code == 422  # not a village or township
    assert (await p.propose(division=ELSEWHERE, role="village")).status_code == 201  # its own village …
    outside = await p.post("/projects", VILLAGE, None, **proposal(division=OTHER_VILLAGE))
    assert outside.status_code == 403  # … not another's
    headers = p.headers(VILLAGE)
    first = await p.client.post("/projects", json=proposal(), headers=headers)
    replay = await p.client.post("/projects", json=proposal(), headers=headers)
    assert first.status_code == 201 and replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.json()["code"] == first.json()["code"]
    assert (await p.db("SELECT count(*) AS n FROM projects WHERE division = '652722102201'"))[0]["n"] == 1


async def test_the_read_model_follows_registry_steps_and_notices(projects):
    p = projects
    hid = str(uuid6.uuid7())
    await p.deliver("registry", "registry.household.proposed", hid, {
        "household_id": hid, "number": f"{VILLAGE}0001", "division": VILLAGE,
        "members": [{"name": "王某", "relation": "head"}, {"name": "王某某", "relation": "child"}]})
    await p.deliver("registry", "registry.household.appraise", hid, {"action": "appraise", "to": "appraised"})
    await p.deliver("registry", "registry.households.noticed", "n-1", {"household_ids": [hid], "to": "village_notice"})
    await p.deliver("registry", "registry.household.exit_confirm", str(uuid6.uuid7()), {"to": "exited"})  # unknown: ignored
    [row] = await p.db("SELECT status, head_name, persons FROM registry_households")
    assert tuple(row) == ("village_notice", "王某", 2)
    listed = (await p.get("/registry-households", VILLAGE, eligible="true")).json()["items"]
    assert listed == []
    await p.deliver("registry", "registry.households.noticed", "n-2", {"household_ids": [hid], "to": "registered"})
    assert [h["id"] for h in (await p.get("/registry-households", VILLAGE, eligible="true")).json()["items"]] == [hid]


async def test_progress_photos_are_named_and_completion_is_not_dated_before_the_last_report(projects):
    p = projects
    code = (await p.propose()).json()["code"]
    await p.into_library(code)
    await p.step(code, "plan")
    await p.posting("commit", code, 50_000)
    bad_photo = await p.post(f"/projects/{code}/progress", VILLAGE, percent=10, photos=["files/a.jpg", "my photo.jpg"])
    assert bad_photo.status_code == 422 and bad_photo.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in bad_photo.json()["errors"]] == ["photos.1"], bad_photo.text
    assert (await p.post(f"/projects/{code}/progress", VILLAGE, percent=10)).status_code == 201
    p.clock.advance(timedelta(days=20))
    assert (await p.post(f"/projects/{code}/progress", VILLAGE, percent=100)).status_code == 201
    before = await p.event_count()
    early = await p.step(code, "complete", on=(p.clock.today() - timedelta(days=10)).isoformat())
    assert early.status_code == 422 and early.json()["errors"][0]["field"] == "on", early.text
    assert await p.event_count() == before and (await p.record(code))["stage"] == "in_progress"
    done = await p.step(code, "complete", on=p.clock.today().isoformat())
    assert done.status_code == 200 and done.json()["completed_on"] == p.clock.today().isoformat()
