"""A reviewer's cases for the generic group commit (shared/web/group_commit.py), on real PostgreSQL.

A group takes its log's append lock before its members run, and holds it to its commit, so a route
that writes nothing — a bulk read, or a computation over the peers' feeds fetched over HTTP — must
not be a member: it would make every write of its service (in every worker) wait for it, and would
itself wait for any writer of the log. Here another connection holds the log's append lock, as a
group of another worker or a consumer's append would; the read-only routes answer regardless (the
``wait_for`` only turns a hang into a failure). And within one group the idempotency contract is
that of an ungrouped claim: one key with another request is a 422, the same request a 409."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from datetime import date, datetime, timezone

import asyncpg
import pytest

from shared.clock import SettableClock
from shared.config import libpq_url
from shared.events.store import APPEND_LOCK_KEY
from shared.idcard import make_id
from tests.conftest import bearer, serving
from tests.service.registry_support import COUNTY, VILLAGE
from tests.service.test_group_commit_routes import committed_groups

HANG = 30  # seconds: far beyond any answer here; only a request waiting for the lock reaches it


@asynccontextmanager
async def log_locked(settings):
    """The service's log append lock held by another transaction until the block ends."""
    conn = await asyncpg.connect(libpq_url(settings.database_url, settings.database_name))
    try:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", APPEND_LOCK_KEY)
            yield
    finally:
        await conn.close()


async def test_a_bulk_lookup_neither_waits_for_the_log_nor_holds_it(registry):
    r = registry
    office = bearer(r.settings, "county_office", COUNTY)
    body = {"id_numbers": [make_id("652722", date(1970, 1, 1), 1)]}
    async with log_locked(r.settings):
        keyless = await asyncio.wait_for(r.client.post("/persons/lookup", json=body, headers=office), HANG)
        keyed = await asyncio.wait_for(r.client.post("/persons/lookup", json=body,
                                                     headers={**office, "Idempotency-Key": "look-1"}), HANG)
    assert keyless.status_code == keyed.status_code == 200, (keyless.text, keyed.text)
    assert keyed.json() == keyless.json() == {"count": 1, "found": 0, "items": [
        {"id_number": body["id_numbers"][0], "found": False}]}


async def test_a_factor_sheet_is_computed_outside_the_audit_logs_group(databases):
    from services.audit.app import create_app

    settings = await databases.new("audit")
    app = create_app(settings, clock=SettableClock(datetime(2018, 3, 1, 2, tzinfo=timezone.utc)), run_background=False)
    body = {"year": 2017, "total": "100.00",
            "recipients": {"652722000000": {"farmer_income": "0", "fiscal_capacity": "3000.00"}}}
    async with serving(app) as client, log_locked(settings):
        refused = await asyncio.wait_for(client.post(
            "/audit/factor-sheets", json=body,
            headers={**bearer(settings, "city_finance", "652700000000"), "Idempotency-Key": "sheet-1"}), HANG)
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "recipients.652722000000.farmer_income"


@pytest.fixture
async def grouped_registry(databases):
    from services.registry.app import create_app
    from tests.service.registry_support import Registry

    settings = await databases.new("registry", group_commit_window_seconds=0.3)
    clock = SettableClock(datetime(2016, 3, 1, 2, tzinfo=timezone.utc))
    async with serving(create_app(settings, clock=clock, run_background=False)) as client:
        yield Registry(settings, client, clock)


def household(n: int) -> dict:
    return {"division": VILLAGE, "poverty_attribute": "general", "main_cause": "illness", "members": [
        {"id_number": make_id("652722", date(1970, 1, 1 + n), n), "name": f"户主{n}", "relation": "head",
         "labour_capacity": "normal_labour"}]}


async def test_one_key_in_one_group_is_a_422_for_another_request_and_a_409_for_the_same(grouped_registry):
    r = grouped_registry
    headers = {**bearer(r.settings, "village", VILLAGE), "Idempotency-Key": "twice"}
    before = committed_groups("registry")
    answers = await asyncio.gather(*(r.client.post("/households", json=household(n), headers=headers)
                                     for n in (1, 2)))
    assert committed_groups("registry") == before + 1  # both in one group
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201, 422], [a.text for a in answers]
    reused = next(a for a in answers if a.status_code == 422)
    assert reused.json()["errors"][0]["field"] == "Idempotency-Key"
    # the same request twice in one group: the later is in flight (409), the earlier's answer replays after
    headers = {**bearer(r.settings, "village", VILLAGE), "Idempotency-Key": "same"}
    answers = await asyncio.gather(*(r.client.post("/households", json=household(3), headers=headers)
                                     for _ in range(2)))
    assert sorted(a.status_code for a in answers) == [201, 409]
    in_flight = next(a for a in answers if a.status_code == 409)
    assert int(in_flight.headers["Retry-After"]) >= 1  # as the README says of every 409 in flight
    retry = await r.client.post("/households", json=household(3), headers=headers)
    assert retry.status_code == 201 and retry.headers["Idempotent-Replayed"] == "true"


async def test_a_cancelled_committer_answers_every_member_503_and_claims_no_key(databases):
    from shared.db import make_engine, make_sessionmaker
    from shared.errors import ServiceUnavailable
    from shared.web.group_commit import GroupCommit, Member
    from tests.conftest import fetch

    settings = await databases.new("registry")
    engine = make_engine(settings.sqlalchemy_url, pool_size=2)
    started = asyncio.Event()

    async def apply(session, works):  # the first group's work never ends: the server stops meanwhile
        started.set()
        await asyncio.Event().wait()

    try:
        group = GroupCommit(make_sessionmaker(engine, "registry"), apply, service="registry", name="review",
                            max_members=1)
        joins = [asyncio.create_task(group.join(Member(n, "scope", f"stop-{n}", "POST", "/x", "digest")))
                 for n in range(3)]
        await asyncio.wait_for(started.wait(), HANG)
        assert group.committer is not None
        group.committer.cancel()  # as the event loop does to a task left at shutdown
        answers = await asyncio.wait_for(asyncio.gather(*joins, return_exceptions=True), HANG)
    finally:
        await engine.dispose()
    assert [type(a) for a in answers] == [ServiceUnavailable] * 3  # the group's member and the two waiting
    assert all(a.headers["Retry-After"] for a in answers)
    assert await fetch(settings, "SELECT key FROM idempotency_keys") == []


async def test_a_member_still_deadlocked_after_its_last_attempt_is_a_503_to_retry_not_a_500(databases):
    import asyncpg.exceptions

    from shared.db import make_engine, make_sessionmaker
    from shared.errors import ServiceUnavailable
    from shared.web import group_commit
    from shared.web.group_commit import GroupCommit, Member

    settings = await databases.new("registry")
    engine = make_engine(settings.sqlalchemy_url, pool_size=2)
    tried: list[int] = []

    async def apply(session, works):  # every attempt the victim of a deadlock with another writer
        tried.extend(works)
        return [asyncpg.exceptions.DeadlockDetectedError("deadlock detected") for _ in works]

    try:
        group = GroupCommit(make_sessionmaker(engine, "registry"), apply, service="registry", name="review")
        with pytest.raises(ServiceUnavailable) as refused:
            await asyncio.wait_for(group.join(Member(7, None, None, "POST", "/x", None)), HANG)
    finally:
        await engine.dispose()
    assert tried == [7] * group_commit.ATTEMPTS  # judged again, then answered
    assert refused.value.headers["Retry-After"] == "1"
