"""The four services together (tests/stack.py): a projects event reaches the funds read model
through the real broker, and a clock move reaches every service."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import text

from shared.clock import SettableClock
from shared.db import make_engine, make_sessionmaker
from shared.events import NewEvent, append
from tests.conftest import fetch
from tests.stack import ServiceStack


async def test_events_flow_between_the_services_of_a_stack(databases, broker):
    clock = SettableClock(datetime(2018, 3, 1, 1, tzinfo=timezone.utc))
    async with ServiceStack.start(databases, broker, clock) as stack:
        engine = make_engine(stack.settings["projects"].sqlalchemy_url)
        try:
            async with make_sessionmaker(engine, "projects", clock)() as session, session.begin():
                await session.execute(text("SELECT 1"))
                await append(session, [NewEvent("projects.project.entered_library", "P-1",
                                                {"code": "P-1", "division": "652722102201", "publicity_passed": True},
                                                {"sub": "test", "roles": ["county_office"], "division": "652722000000"})])
        finally:
            await engine.dispose()
        await stack.caught_up("funds", "projects")
        [row] = await fetch(stack.settings["funds"], "SELECT in_library, publicity_passed FROM projects_view WHERE code = 'P-1'")
        assert tuple(row) == (True, True)
        admin = stack.headers("admin")
        moved = await stack.clients["registry"].post("/dev/clock", json={"advance_days": 3}, headers=admin)
        assert moved.status_code == 200
        for client in stack.clients.values():
            assert (await client.get("/dev/clock")).json()["today"] == "2018-03-04"
