"""Registry test support: a client wrapper that takes each step as a given office, households of
synthetic families, and the whole identification and exit procedures."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from shared.announcements import close_due
from shared.db import make_engine, make_sessionmaker
from shared.idcard import make_id
from tests.conftest import bearer

VILLAGE, OTHER_VILLAGE = "652722102201", "652722101201"
TOWNSHIP, OTHER_TOWNSHIP = "652722102000", "652722101000"
COUNTY = "652722000000"
ELSEWHERE = "652701101201"  # a village of another county (博乐市)


class Registry:
    def __init__(self, settings, client, clock):
        self.settings, self.client, self.clock = settings, client, clock
        self.n = 0

    def token(self, role, division):
        return bearer(self.settings, role, division)

    def headers(self, role, division):
        self.n += 1
        return {**self.token(role, division), "Idempotency-Key": f"k-{self.n}"}

    async def propose(self, members, division=VILLAGE, role="village", token_division=None, **extra):
        body = {"division": division, "poverty_attribute": "general", "main_cause": "illness",
                "members": members, **extra}
        return await self.client.post("/households", json=body,
                                      headers=self.headers(role, token_division or division))

    async def step(self, household_id, action, role, division, **body):
        return await self.client.post(f"/households/{household_id}/steps/{action}", json=body,
                                      headers=self.headers(role, division))

    async def notice(self, key, division, ids, role, token_division=None):
        start = self.clock.today()
        return await self.client.post("/notices", headers=self.headers(role, token_division or division), json={
            "key": key, "division": division, "household_ids": ids, "hotline_local": "0909-5322222",
            "period_start": start.isoformat(), "period_end": (start + timedelta(days=9)).isoformat()})

    async def pass_period(self):
        self.clock.advance(timedelta(days=10))
        engine = make_engine(self.settings.sqlalchemy_url, pool_size=1)
        try:
            async with make_sessionmaker(engine, "registry", self.clock)() as session, session.begin():
                await close_due(session, clock=self.clock)
        finally:
            await engine.dispose()

    async def get(self, household_id, **params):
        return (await self.client.get(f"/households/{household_id}", params=params,
                                      headers=self.token("county_office", COUNTY))).json()


def family(seed: int, size: int = 3):
    relations = ["head", "spouse", "child", "child", "parent"]
    return [{"id_number": make_id("652722", date(1960 + k * 10, 1 + seed % 12, 1 + k), seed * 10 + k),
             "name": f"成员{seed}-{k}", "relation": relations[k],
             "labour_capacity": "normal_labour" if k < 2 else "no_labour"} for k in range(size)]


async def identify(r: Registry, members) -> str:
    """Run a household through the whole identification procedure; returns its id."""
    proposed = await r.propose(members)
    assert proposed.status_code == 201, proposed.text
    hid = proposed.json()["id"]
    assert (await r.step(hid, "appraise", "village", VILLAGE)).json()["status"] == "appraised"
    assert (await r.notice("identification.village", VILLAGE, [hid], "village")).status_code == 201
    await r.pass_period()
    assert (await r.step(hid, "township-review", "township", TOWNSHIP)).json()["status"] == "township_reviewed"
    assert (await r.notice("identification.township", TOWNSHIP, [hid], "township")).status_code == 201
    await r.pass_period()
    assert (await r.step(hid, "county-approve", "county_office", COUNTY)).json()["status"] == "county_approved"
    assert (await r.notice("identification.county", COUNTY, [hid], "county_office")).status_code == 201
    await r.pass_period()
    registered = await r.step(hid, "register", "county_office", COUNTY)
    assert registered.json()["status"] == "registered", registered.text
    return hid


ALL_CHECKS = {c: True for c in ("food", "clothing", "compulsory_education", "basic_medical_care",
                                 "housing_safety", "skills", "employment", "sustained_income", "cultural_life")}


async def exit_household(r: Registry, hid: str) -> None:
    """Run a registered household through the exit procedure (incomes above Jinghe's standards)."""
    r.clock.set(datetime(2017, 12, 1, 2, tzinfo=timezone.utc))
    await r.client.put(f"/households/{hid}/incomes/2016", json={"year": 2016, "net_per_capita": "3500.00"},
                       headers=r.headers("village", VILLAGE))
    nominated = await r.step(hid, "exit-nominate", "village", VILLAGE,
                             income={"year": 2017, "net_per_capita": "4000.00"}, checks=ALL_CHECKS)
    assert nominated.status_code == 200, nominated.text
    async def ok(response):
        assert response.status_code in (200, 201), response.text

    await ok(await r.step(hid, "exit-appraise", "village", VILLAGE))
    await ok(await r.notice("exit.village", VILLAGE, [hid], "village"))
    await r.pass_period()
    await ok(await r.step(hid, "exit-township-verify", "township", TOWNSHIP))
    await ok(await r.notice("exit.township", TOWNSHIP, [hid], "township"))
    await r.pass_period()
    await ok(await r.step(hid, "exit-county-review", "county_office", COUNTY))
    await ok(await r.step(hid, "exit-county-approve", "county_office", COUNTY))
    await ok(await r.notice("exit.announcement", VILLAGE, [hid], "village"))
    await r.pass_period()
    assert (await r.step(hid, "exit-confirm", "county_office", COUNTY)).json()["status"] == "exited"
