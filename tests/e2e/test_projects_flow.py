"""The projects service with the other three (tests/stack.py: real broker, one clock): a project from
proposal to asset handover with money committed and paid through the funds API reaching it over the
broker; a cancellation after commitment makes the funds service strand the money; the registry
shows what a household received from the project."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta, timezone

from deploy.demo.registry import HEADER
from services.registry.usecases.reference import JINGHE_CSV
from shared.clock import SettableClock
from shared.idcard import make_id
from tests.stack import ServiceStack

VILLAGE, TOWNSHIP, COUNTY = "652722102201", "652722102000", "652722000000"
CENTRAL, XINJIANG, BOZHOU = "000000000000", "650000000000", "652700000000"


def households_csv(count: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for n in range(1, count + 1):
        for k, relation in enumerate(("户主", "配偶")):
            writer.writerow([f"{VILLAGE}{n:04d}", VILLAGE, f"测试{n}-{k}", make_id("652722", date(1970 + k, n, 1), n * 10 + k),
                             relation, "普通劳动力", "一般贫困户", "因病", 2014, ""])
    return out.getvalue().encode()


def proposal(name, type_, budget, tasks):
    return {"name": name, "type": type_, "division": VILLAGE, "year": 2018, "implementing_unit": "托里镇人民政府",
            "schedule": {"start": "2018-04-01", "end": "2018-10-31"}, "tasks": tasks, "budget": budget,
            "sources": [{"channel": "central_special", "amount": budget}], "mechanisms": ["asset_income"],
            "participation": {"discussed_on": "2018-02-20", "participants": 40},
            "targets": [{"kind": "output", "indicator": "建设规模", "target": "1", "unit": "处"}],
            "planned_households": 3, "planned_persons": 6}


async def test_a_project_from_proposal_to_handover_with_money_through_the_broker(databases, broker):
    clock = SettableClock(datetime(2018, 3, 1, 2, tzinfo=timezone.utc))
    async with ServiceStack.start(databases, broker, clock) as stack:
        registry, funds, projects = (stack.clients[s] for s in ("registry", "funds", "projects"))

        async def ok(response, status=(200, 201)):
            assert response.status_code in status, f"{response.request.url}: {response.text}"
            return response.json()

        def as_(role, division=COUNTY):
            return stack.headers(role, division)

        # the registry: divisions and three registered households of 永集湖村
        await ok(await registry.put("/divisions", content=JINGHE_CSV.read_bytes(),
                                    headers={**as_("admin", CENTRAL), "content-type": "text/csv"}))
        await ok(await registry.post("/imports", files={"file": ("h.csv", households_csv(3), "text/csv")},
                                     headers=as_("county_office")))
        households = [h["id"] for h in (await ok(await registry.get(
            "/households", params={"division": VILLAGE}, headers=as_("county_office"))))["items"]]
        assert len(households) == 3

        async def known():  # the projects service learns of them from the registry's events
            items = (await projects.get("/registry-households", params={"division": VILLAGE, "eligible": "true"},
                                        headers=as_("county_office"))).json()["items"]
            return len(items) == 3 and all(h["head"] and h["persons"] == 2 for h in items)
        await stack.wait_until(known)

        # two projects through the library together: a solar plant and a road (cancelled later)
        solar = (await ok(await projects.post("/projects", json=proposal(
            "永集湖村光伏电站", "industry.solar", "500000.00", ["建设100千瓦村级光伏电站"]),
            headers=as_("village", VILLAGE))))["code"]
        road = (await ok(await projects.post("/projects", json=proposal(
            "永集湖村道路硬化", "infrastructure.road", "200000.00", ["硬化村道2公里"]), headers=as_("village", VILLAGE))))["code"]
        await ok(await projects.post(f"/projects/{solar}/beneficiaries", json={
            "household_ids": households, "mechanism": "asset_income"}, headers=as_("village", VILLAGE)))
        for code in (solar, road):
            for action, office, division in (("township-review", "township", TOWNSHIP), ("appraise", "county_office", COUNTY),
                                              ("approve", "county_office", COUNTY)):
                await ok(await projects.post(f"/projects/{code}/steps/{action}", json={}, headers=as_(office, division)))

        def period():
            return {"period_start": clock.today().isoformat(), "period_end": (clock.today() + timedelta(days=9)).isoformat(),
                    "hotline_local": "0909-5322222"}

        async def passed(code, key):
            async def closed():
                record = (await projects.get(f"/projects/{code}", headers=as_("county_office"))).json()
                return any(a["key"] == key and a["state"] == "passed" for a in record["announcements"])
            clock.advance(timedelta(days=10))
            await stack.wait_until(closed)

        for level, office, division in (("village", "village", VILLAGE), ("township", "township", TOWNSHIP),
                                        ("county", "county_office", COUNTY)):
            await ok(await projects.post("/publicity", json={"division": division, "codes": [solar, road], **period()},
                                         headers=as_(office, division)))
            await passed(solar, level)
        for code in (solar, road):
            await ok(await projects.post(f"/projects/{code}/steps/enter-library", json={}, headers=as_("county_office")))
            await ok(await projects.post(f"/projects/{code}/steps/plan", json={"year": 2018}, headers=as_("county_office")))

        # the funds service: money down to 精河县, committed to both projects, paid out (the broker carries
        # entered_library to funds, and the postings back to projects)
        await stack.caught_up("funds", "projects")
        today = clock.today().isoformat()

        async def money(path, division, role, **body):
            return await ok(await funds.post(path, json={"channel": "central_special", "fiscal_year": 2018,
                                                         "document_date": today, **body}, headers=as_(role, division)))

        await money("/appropriations", CENTRAL, "central_finance", amount="700000.00", document_no="财农〔2018〕1号")
        for source, target, role in ((CENTRAL, XINJIANG, "central_finance"), (XINJIANG, BOZHOU, "province_finance"),
                                     (BOZHOU, COUNTY, "city_finance")):
            await money("/allocations", source, role, amount="700000.00", to_division=target, document_no="下达")
        await money("/commitments", COUNTY, "county_finance", amount="500000.00", project_code=solar, source="available")
        await money("/commitments", COUNTY, "county_finance", amount="200000.00", project_code=road, source="available")
        await money("/disbursements", COUNTY, "county_finance", amount="300000.00", project_code=solar,
                    payee={"kind": "enterprise", "name": "光伏设备公司"})
        await money("/disbursements", COUNTY, "county_finance", amount="50000.00", project_code=road,
                    payee={"kind": "contractor", "name": "道路公司"})
        await stack.caught_up("projects", "funds")
        record = (await projects.get(f"/projects/{solar}", headers=as_("county_office"))).json()
        assert record["stage"] == "funded"
        assert {k: record["funding"][k] for k in ("committed", "paid", "remaining")} == {
            "committed": "500000.00", "paid": "300000.00", "remaining": "200000.00"}

        # the road is cancelled after commitment: the funds service strands what was not paid
        await ok(await projects.post(f"/projects/{road}/steps/cancel", json={"reason": "线路与规划冲突，无法实施"},
                                     headers=as_("county_office")))

        async def stranded():
            balances = (await funds.get("/balances", params={"division": COUNTY, "kind": "stranded"},
                                        headers=as_("county_finance"))).json()["items"]
            return [b["balance"] for b in balances if b["reference"] == road] == ["150000.00"]
        await stack.wait_until(stranded)
        await stack.caught_up("projects", "funds")
        road_funding = (await projects.get(f"/projects/{road}", headers=as_("county_office"))).json()["funding"]
        assert (road_funding["stranded"], road_funding["remaining"]) == ("150000.00", "0.00")

        # the solar plant is built, accepted, announced and handed over; its income reaches the households
        await ok(await projects.post(f"/projects/{solar}/progress", json={"percent": 100, "photos": ["files/solar/1.jpg"]},
                                     headers=as_("village", VILLAGE)))
        await ok(await projects.post(f"/projects/{solar}/steps/complete", json={}, headers=as_("county_office")))
        await ok(await projects.post(f"/projects/{solar}/acceptance", json={
            "team": [{"name": "验收组", "unit": "精河县扶贫办"}], "result": "passed"}, headers=as_("county_office")))
        await ok(await projects.post(f"/projects/{solar}/results-announcement", json=period(), headers=as_("village", VILLAGE)))
        await passed(solar, "results")
        handed = await ok(await projects.post(f"/projects/{solar}/handover", json={"assets": [{
            "name": "永集湖村光伏电站", "kind": "productive", "owner": "households", "book_value": "480000.00",
            "operator": {"name": "永集湖村股份经济合作社", "kind": "village_collective"},
            "shares": [{"holder": h, "shares": 1} for h in households]}]}, headers=as_("county_office")))
        assert handed["stage"] == "handed_over"
        await ok(await projects.post(f"/assets/{handed['assets'][0]['id']}/distributions", json={
            "period": "2018", "amount": "3000.00", **period()}, headers=as_("village", VILLAGE)))
        await ok(await projects.post(f"/projects/{solar}/benefits", json={"items": [
            {"household_id": households[0], "kind": "wages", "amount": "1500.00"}]}, headers=as_("village", VILLAGE)))

        async def registry_shows():
            benefits = (await registry.get(f"/households/{households[0]}/benefits", headers=as_("county_office"))).json()
            return benefits if benefits.get("total") == "2500.00" else None
        benefits = await stack.wait_until(registry_shows)
        assert benefits["by_kind"] == {"dividend": "1000.00", "wages": "1500.00"}
        assert {b["reference"] for b in benefits["items"]} == {solar}
