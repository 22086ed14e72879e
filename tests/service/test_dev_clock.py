"""The development clock endpoint: demos move time through it; production and the real clock refuse."""

from datetime import UTC, datetime

from services.funds.app import create_app
from shared.clock import SettableClock, SystemClock
from tests.conftest import bearer, serving


async def test_a_settable_clock_is_read_set_and_advanced_by_an_admin_only(databases):
    settings = await databases.new("funds")
    app = create_app(settings, clock=SettableClock(datetime(2017, 3, 1, 1, tzinfo=UTC)), run_background=False)
    async with serving(app) as client:
        assert (await client.get("/dev/clock")).json() == {
            "now": "2017-03-01T01:00:00+00:00", "today": "2017-03-01", "settable": True}
        moved = await client.post("/dev/clock", json={"advance_days": 10.5}, headers=bearer(settings, "admin"))
        assert moved.json()["now"] == "2017-03-11T13:00:00+00:00" and moved.json()["today"] == "2017-03-11"
        jumped = await client.post("/dev/clock", json={"set": "2018-01-02T09:00:00+08:00"}, headers=bearer(settings, "admin"))
        assert jumped.json()["today"] == "2018-01-02"
        refused = await client.post("/dev/clock", json={"advance_days": 1},
                                    headers=bearer(settings, "county_finance", "652722000000"))
        assert refused.status_code == 403
        for bad in ({}, {"set": "2018-01-02T09:00:00", }, {"set": "2018-01-02T09:00:00+08:00", "advance_days": 1},
                    {"advance_days": -1}):
            response = await client.post("/dev/clock", json=bad, headers=bearer(settings, "admin"))
            assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"
        assert (await client.get("/dev/clock")).json()["today"] == "2018-01-02"


async def test_the_real_clock_cannot_be_moved(databases):
    settings = await databases.new("funds")
    app = create_app(settings, clock=SystemClock(), run_background=False)
    async with serving(app) as client:
        response = await client.post("/dev/clock", json={"advance_days": 1}, headers=bearer(settings, "admin"))
        assert response.status_code == 409 and response.json()["type"].endswith("clock-not-settable")
        assert (await client.get("/dev/clock")).json()["settable"] is False
