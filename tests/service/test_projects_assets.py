"""Assets at handover (资产移交) and their income, and the fourth-quarter library adjustment, on
real PostgreSQL; plus the projects schema: the frozen migration matches the models."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from services.projects.models import TABLES
from services.projects.results_models import TABLES as RESULTS_TABLES
from shared.announcements import places
from shared.announcements.models import TABLES as ANNOUNCEMENT_TABLES
from shared.db import make_engine
from shared.events.schema import metadata as foundation
from shared.events.tree import TABLES as MERKLE_TABLES
from shared.witness.schema import TABLES as WITNESS_TABLES
from tests.service import test_projects
from tests.service.test_projects import COUNTY, OTHER_VILLAGE, TOWNSHIP, VILLAGE

projects = test_projects.projects  # the fixture: the projects service on a fresh database


async def accepted(p, households):
    """A solar project of the village with ``households`` as beneficiaries, built and accepted."""
    code = (await p.propose(type="industry.solar", name="光伏电站")).json()["code"]
    await p.post(f"/projects/{code}/beneficiaries", VILLAGE, mechanism="asset_income", household_ids=households)
    await p.into_library(code)
    await p.step(code, "plan")
    await p.posting("commit", code, 10_000_000)
    await p.post(f"/projects/{code}/progress", VILLAGE, percent=100)
    await p.step(code, "complete")
    await p.post(f"/projects/{code}/acceptance", COUNTY, team=[{"name": "验收组", "unit": "县扶贫办"}], result="passed")
    return code


async def handed_over_ready(p, households):
    """:func:`accepted`, with its results announced and passed."""
    code = await accepted(p, households)
    await p.post(f"/projects/{code}/results-announcement", VILLAGE, **p.period())
    await p.pass_period()
    return code


def asset(**overrides):
    body = {"name": "光伏电站", "kind": "productive", "owner": "households", "book_value": "100000.00",
            "operator": {"name": "村股份经济合作社", "kind": "village_collective"}, "shares": []}
    body.update(overrides)
    return body


async def test_asset_ownership_is_checked_and_income_split_to_the_fen(projects):
    p = projects
    households = [await p.household() for _ in range(3)]
    stranger = await p.household()
    code = await handed_over_ready(p, households)
    before = await p.event_count()

    async def refused(field, **overrides):
        response = await p.post(f"/projects/{code}/handover", COUNTY, assets=[asset(**overrides)])
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == field, response.text

    await refused("assets.0.owner", kind="public_good", owner="households", shares=[{"holder": households[0], "shares": 1}])
    await refused("assets.0.shares", shares=[{"holder": stranger, "shares": 1}])  # not a beneficiary
    await refused("assets.0.shares", shares=[{"holder": "collective", "shares": 1}])  # no household share
    await refused("assets.0.shares", owner="village_collective", shares=[{"holder": households[0], "shares": 1}])
    await refused("assets.0.division", division=OTHER_VILLAGE, shares=[{"holder": households[0], "shares": 1}])
    assert await p.event_count() == before
    handed = await p.post(f"/projects/{code}/handover", COUNTY, assets=[
        asset(shares=[{"holder": h, "shares": 1} for h in households]),
        asset(name="村道路灯", kind="public_good", owner="village_collective", book_value="20000.00",
              operator={"name": "示范村村委会", "kind": "village_collective"})])
    assert handed.status_code == 201, handed.text
    solar, lamps = handed.json()["assets"]
    assert [s["ratio_percent"] for s in solar["shares"]] == ["33.33", "33.33", "33.33"]
    assert lamps["shares"] == [{"holder": "collective", "shares": 1, "ratio_percent": "100.00"}]
    paid = await p.post(f"/assets/{solar['id']}/distributions", VILLAGE, period="2018", amount="100.00", **p.period())
    assert paid.status_code == 201, paid.text
    assert [line["amount"] for line in paid.json()["distributions"][0]["lines"]] == ["33.34", "33.33", "33.33"]
    twice = await p.post(f"/assets/{solar['id']}/distributions", VILLAGE, period="2018", amount="1.00", **p.period())
    assert twice.status_code == 409
    assert (await p.post(f"/assets/{solar['id']}/distributions", OTHER_VILLAGE, period="2019", amount="1.00",
                         **p.period())).status_code == 403
    rent = await p.post(f"/assets/{lamps['id']}/distributions", VILLAGE, period="2018", amount="500.00", **p.period())
    assert rent.status_code == 201  # all to the collective: no household benefit
    dividends = [json.loads(r["data"]) for r in await p.db(
        "SELECT data FROM events WHERE type = 'projects.benefit.recorded' ORDER BY seq")]
    assert [(d["household_id"], d["amount"], d["kind"]) for d in dividends] == [
        (households[0], "33.34", "dividend"), (households[1], "33.33", "dividend"), (households[2], "33.33", "dividend")]
    notice = (await p.client.get(f"/public/announcements/{paid.json()['distributions'][0]['announcement_id']}")).json()
    assert notice["level"] == "village" and notice["division"] == VILLAGE
    assert notice["content"]["table"]["rows"][0][4] == "33.34"
    listed = (await p.get("/assets", COUNTY, project=code)).json()["items"]
    assert [a["id"] for a in listed] == [f"{code}-A1", f"{code}-A2"] and len(listed[0]["distributions"]) == 1


async def test_the_library_is_adjusted_in_the_fourth_quarter_in_one_announcement(projects):
    p = projects
    waiting = (await p.propose(name="待入库项目")).json()["code"]
    for action, office in (("township-review", TOWNSHIP), ("appraise", COUNTY), ("approve", COUNTY)):
        await p.step(waiting, action, office)
    for level in (VILLAGE, TOWNSHIP):
        await p.publicize(level, [waiting])
        await p.pass_period()
    dropped, changed = (await p.propose(name="拟出库项目")).json()["code"], (await p.propose(name="拟调整项目")).json()["code"]
    await p.into_library(dropped)
    await p.into_library(changed)
    await p.step(dropped, "plan")
    await p.posting("commit", dropped, 200_000)
    items = [{"action": "add", "code": waiting}, {"action": "remove", "code": dropped, "reason": "土地流转未落实"},
             {"action": "change", "code": changed, "changes": {
                 "budget": "1300000.00", "sources": [{"channel": "central_special", "amount": "1300000.00"}]}}]
    body = {"county": COUNTY, "year": 2018, "items": items, **p.period()}
    early = await p.post("/adjustments", COUNTY, **body)
    assert early.status_code == 409 and early.json()["missing"][0]["precondition"] == "adjustment_window"
    assert early.json()["rule"] == "project.library.adjustment"
    p.clock.set(datetime(2018, 10, 8, 2, tzinfo=timezone.utc))
    body.update(p.period())
    inconsistent = await p.post("/adjustments", COUNTY, **{**body, "items": [
        {"action": "change", "code": changed, "changes": {"budget": "1.00"}}]})
    assert inconsistent.status_code == 422 and inconsistent.json()["errors"][0]["field"] == "items.0.changes.sources"
    wrong_stage = await p.post("/adjustments", COUNTY, **{**body, "items": [{"action": "add", "code": changed}]})
    assert wrong_stage.status_code == 409
    announced = await p.post("/adjustments", COUNTY, **body)
    assert announced.status_code == 201, announced.text
    notice = announced.json()["announcement_id"]
    too_soon = await p.client.post(f"/adjustments/{notice}/apply", headers=p.headers(COUNTY))
    assert too_soon.status_code == 409
    await p.pass_period()
    applied = await p.client.post(f"/adjustments/{notice}/apply", headers=p.headers(COUNTY))
    assert applied.status_code == 200, applied.text
    assert applied.json()["stages"] == {waiting: "in_library", dropped: "cancelled", changed: "in_library"}
    assert (await p.record(changed))["budget"] == "1300000.00"
    assert (await p.client.post(f"/adjustments/{notice}/apply", headers=p.headers(COUNTY))).status_code == 409
    types = [r["type"] for r in await p.db("SELECT type FROM events WHERE seq > (SELECT max(seq) FROM events WHERE "
                                           "type = 'projects.adjustment.announced') AND type LIKE 'projects.%' ORDER BY seq")]
    assert [t for t in types if not t.startswith("projects.announcement.")] == [
        "projects.project.entered_library", "projects.project.cancelled", "projects.project.changed",
        "projects.adjustment.applied"]


async def test_the_migrated_projects_schema_matches_the_models(databases):
    """What tests/service/test_migrations.py checks for the other services, for the projects tables."""
    settings = await databases.new("projects")
    expected = sa.MetaData()
    for table in (*foundation.sorted_tables, *ANNOUNCEMENT_TABLES, *MERKLE_TABLES, *WITNESS_TABLES, *TABLES,
                  *RESULTS_TABLES, places.division_names):
        table.to_metadata(expected)
    engine = make_engine(settings.sqlalchemy_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(lambda sync: compare_metadata(
                MigrationContext.configure(sync, opts={"compare_type": True}), expected))
    finally:
        await engine.dispose()
    assert [d for d in diff if not (isinstance(d, tuple) and d[0] == "remove_table" and d[1].name == "alembic_version")] == []


async def test_a_results_notice_that_failed_is_announced_again_before_the_handover(projects):
    p = projects
    code = await accepted(p, [await p.household()])
    first = await p.post(f"/projects/{code}/results-announcement", VILLAGE, **p.period())
    assert first.status_code == 201, first.text
    running = await p.post(f"/projects/{code}/results-announcement", VILLAGE, **p.period())
    assert running.status_code == 409 and running.json()["missing"][0]["precondition"] == "results_announcement_not_open"
    notice = next(a["id"] for a in first.json()["announcements"] if a["key"] == "results")
    objection = await p.client.post(f"/public/announcements/{notice}/objections", json={"text": "路灯实际只装了一半。"})
    resolved = await p.client.post(f"/announcements/{notice}/objections/{objection.json()['id']}/resolve",
                                   json={"decision": "upheld", "reason": "核实属实，已责成补装"}, headers=p.headers(VILLAGE))
    assert resolved.status_code == 200, resolved.text
    await p.pass_period()
    stuck = await p.post(f"/projects/{code}/handover", COUNTY, assets=[])
    assert stuck.status_code == 409 and stuck.json()["missing"][0]["precondition"] == "results_announcement_passed"
    again = await p.post(f"/projects/{code}/results-announcement", VILLAGE, **p.period())  # after the rectification
    assert again.status_code == 201 and again.json()["stage"] == "results_announced", again.text
    await p.pass_period()
    handed = await p.post(f"/projects/{code}/handover", COUNTY, assets=[])
    assert handed.status_code == 201 and handed.json()["stage"] == "handed_over", handed.text


async def test_handover_and_income_are_not_dated_before_what_they_follow(projects):
    p = projects
    [hid] = [await p.household()]
    code = await handed_over_ready(p, [hid])  # results announced ten days ago
    announced_on = (await p.record(code))["history"][-1]["on"]
    before = (date.fromisoformat(announced_on) - timedelta(days=1)).isoformat()
    early = await p.post(f"/projects/{code}/handover", COUNTY, on=before, assets=[])
    assert early.status_code == 422 and early.json()["errors"][0]["field"] == "on", early.text
    bad_holder = await p.post(f"/projects/{code}/handover", COUNTY, assets=[asset(
        shares=[{"holder": hid, "shares": 1}, {"holder": "张三", "shares": 1}])])
    assert bad_holder.status_code == 422 and bad_holder.json()["errors"][0]["field"] == "assets.0.shares.1.holder"
    handed = await p.post(f"/projects/{code}/handover", COUNTY, assets=[asset(shares=[{"holder": hid, "shares": 1}])])
    assert handed.status_code == 201, handed.text
    asset_id = handed.json()["assets"][0]["id"]
    p.clock.advance(timedelta(days=5))
    before = await p.event_count()
    income = await p.post(f"/assets/{asset_id}/distributions", VILLAGE, period="2018", amount="10.00",
                          on=(p.clock.today() - timedelta(days=6)).isoformat(), **p.period())
    assert income.status_code == 422 and income.json()["errors"][0]["field"] == "on", income.text
    no_month = await p.post(f"/assets/{asset_id}/distributions", VILLAGE, period="2018-13", amount="10.00", **p.period())
    assert no_month.status_code == 422 and no_month.json()["errors"][0]["field"] == "period", no_month.text
    assert await p.event_count() == before


async def test_an_adjustment_cannot_strip_a_library_project_of_its_performance_targets(projects):
    p = projects
    code = (await p.propose()).json()["code"]
    await p.into_library(code)
    p.clock.set(datetime(2018, 10, 8, 2, tzinfo=timezone.utc))
    stripped = await p.post("/adjustments", COUNTY, county=COUNTY, year=2018, **p.period(),
                            items=[{"action": "change", "code": code, "changes": {"targets": []}}])
    assert stripped.status_code == 422, stripped.text
    assert stripped.json()["errors"] == [{"field": "items.0.changes.targets", "reason": stripped.json()["errors"][0]["reason"]}]
    assert "绩效目标" in stripped.json()["errors"][0]["reason"]
    other = [{"kind": "satisfaction", "indicator": "群众满意度", "target": "90", "unit": "%"}]
    changed = await p.post("/adjustments", COUNTY, county=COUNTY, year=2018, **p.period(),
                           items=[{"action": "change", "code": code, "changes": {"targets": other}}])
    assert changed.status_code == 201, changed.text
