"""The generic group commit (shared/web/group_commit.py) on a route of every service, on real
PostgreSQL: concurrent writes form one group (counted by ``fupin_group_commits_total``, not by
timing), each member judged in arrival order on the rows its predecessors left, a refused member
writes nothing and refuses only itself, the events follow the order of judgement, a failed group
writes nothing and leaves every key free, and keys keep the idempotency contract."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timezone

import pytest
from prometheus_client import REGISTRY

from shared.clock import SettableClock
from shared.web import group_commit
from tests.conftest import bearer, fetch, serving

WINDOW = 0.3  # long enough that the requests sent together below form one group


class Judged:
    """Records the order in which the generic group judges its members (their correlation ids)."""

    def __init__(self, monkeypatch):
        self.order: list[str] = []
        real = group_commit._run

        async def recording(session, call):
            self.order.append(call.request.headers.get("x-correlation-id", ""))
            return await real(session, call)

        monkeypatch.setattr(group_commit, "_run", recording)


def committed_groups(service: str) -> float:
    return REGISTRY.get_sample_value("fupin_group_commits_total",
                                     {"service": service, "group": "writes", "outcome": "committed"}) or 0.0


async def together(client, path: str, requests: list[tuple[str, dict, dict]]):
    """POST each (correlation id, body, headers) at once; the answers by correlation id."""
    answers = await asyncio.gather(*(client.post(path, json=body, headers={**headers, "X-Correlation-ID": cid})
                                     for cid, body, headers in requests))
    return {cid: answer for (cid, _, _), answer in zip(requests, answers)}


async def events_by_correlation(settings, event_type: str) -> list[str]:
    rows = await fetch(settings, "SELECT correlation_id FROM events WHERE type = $1 ORDER BY seq", event_type)
    return [r["correlation_id"] for r in rows]


# -- funds: one hot account ------------------------------------------------------------------------

@pytest.fixture
async def funds(databases):
    from services.funds.app import create_app
    from tests.service.funds_support import Funds, down_to_jinghe

    settings = await databases.new("funds", group_commit_window_seconds=WINDOW)
    clock = SettableClock(datetime(2017, 3, 1, 2, tzinfo=timezone.utc))
    async with serving(create_app(settings, clock=clock, run_background=False)) as client:
        f = Funds(settings, client, databases, clock)
        await down_to_jinghe(f, "1000.00")
        await f.in_library("P-1")
        yield f


async def test_commitments_from_one_hot_account_refuse_exactly_those_judged_beyond_its_balance(funds, monkeypatch):
    from tests.service.funds_support import JINGHE

    f = funds
    judged = Judged(monkeypatch)
    before = committed_groups("funds")
    body = {"channel": "central_special", "fiscal_year": 2017, "document_date": "2017-03-01", "amount": "150.00",
            "project_code": "P-1", "source": "available"}
    answers = await together(f.client, "/commitments", [(f"c-{n}", body, f.headers(JINGHE)) for n in range(10)])
    assert committed_groups("funds") == before + 1  # all ten in one transaction
    # 6 × 150.00 ≤ 1,000.00 < 7 × 150.00: the first six judged are committed, the last four refused
    order = judged.order
    assert [answers[c].status_code for c in order] == [201] * 6 + [422] * 4
    assert all(answers[c].json()["code"] == "insufficient_funds" for c in order[6:])
    assert await events_by_correlation(f.settings, "funds.commitment.posted") == order[:6]
    [row] = await f.db("SELECT balance_fen FROM accounts WHERE kind = 'committed' AND reference = 'P-1'")
    assert row["balance_fen"] == 90_000
    assert len(await f.db("SELECT 1 FROM idempotency_keys WHERE key LIKE 'f-%' AND path = '/commitments'")) == 6
    await f.zero_sum_and_no_negative()


# -- registry: read, then write --------------------------------------------------------------------

@pytest.fixture
async def registry(databases):
    from services.registry.app import create_app
    from tests.service.registry_support import Registry

    settings = await databases.new("registry", group_commit_window_seconds=WINDOW)
    clock = SettableClock(datetime(2016, 3, 1, 2, tzinfo=timezone.utc))
    async with serving(create_app(settings, clock=clock, run_background=False)) as client:
        yield Registry(settings, client, clock)


def proposal(members):
    from tests.service.registry_support import VILLAGE

    return {"division": VILLAGE, "poverty_attribute": "general", "main_cause": "illness", "members": members}


async def test_a_member_sees_the_rows_of_those_judged_before_it_and_a_refused_one_writes_nothing(registry, monkeypatch):
    from tests.service.registry_support import VILLAGE, family

    r = registry
    judged = Judged(monkeypatch)
    before = committed_groups("registry")
    a, b, c = family(71), family(72), family(73)
    twin_of_a = family(74)[:1] + a[1:2]  # a person of household a in another household
    requests = [(cid, proposal(m), r.headers("village", VILLAGE))
                for cid, m in (("h-a", a), ("h-b", b), ("h-twin", twin_of_a), ("h-c", c))]
    answers = await together(r.client, "/households", requests)
    assert committed_groups("registry") == before + 1
    order = judged.order
    # whichever of a and its twin is judged first is registered; the other sees its uncommitted rows
    first, second = sorted(("h-a", "h-twin"), key=order.index)
    assert answers[first].status_code == 201 and answers[second].status_code == 409
    assert answers["h-b"].status_code == answers["h-c"].status_code == 201
    accepted = [cid for cid in order if cid != second]
    assert await events_by_correlation(r.settings, "registry.household.proposed") == accepted
    rows = await fetch(r.settings, "SELECT count(*) AS n FROM households")
    assert rows[0]["n"] == 3
    # the refused one's key is free: the same key with a corrected request is judged afresh
    refused_key = requests[[cid for cid, _, _ in requests].index(second)][2]
    again = await r.client.post("/households", json=proposal(family(75)), headers=refused_key)
    assert again.status_code == 201


async def test_a_group_reads_the_log_tail_once_and_its_members_events_chain_gaplessly(registry, monkeypatch):
    """The group takes the append lock and reads the tail once; each member appends after it, a
    refused member's savepoint gives its place back (store guarantee 5) — counted, not timed."""
    import asyncpg

    from shared.config import libpq_url
    from shared.events import store
    from tests.service.registry_support import VILLAGE, family

    r = registry
    Judged(monkeypatch)
    reads = []
    real = store._lock_and_read_tail

    async def counted(session, **kwargs):
        reads.append(kwargs)
        return await real(session, **kwargs)
    monkeypatch.setattr(store, "_lock_and_read_tail", counted)
    before = committed_groups("registry")
    a = family(91)
    twin_of_a = family(94)[:1] + a[1:2]  # refused whichever of the two is judged later
    requests = [(cid, proposal(m), r.headers("village", VILLAGE))
                for cid, m in (("g-a", a), ("g-b", family(92)), ("g-twin", twin_of_a), ("g-c", family(93)))]
    answers = await together(r.client, "/households", requests)
    assert committed_groups("registry") == before + 1
    assert sorted(answer.status_code for answer in answers.values()) == [201, 201, 201, 409]
    assert len(reads) == 1  # one lock and one tail read for the four members
    rows = await fetch(r.settings, "SELECT seq FROM events ORDER BY seq")
    assert [row["seq"] for row in rows] == list(range(1, len(rows) + 1))
    conn = await asyncpg.connect(libpq_url(r.settings.database_url, r.settings.database_name))
    try:
        assert (await store.verify(conn)).ok
    finally:
        await conn.close()


async def test_a_key_twice_in_one_group_is_in_flight_and_its_retry_replays(registry, monkeypatch):
    from tests.service.registry_support import VILLAGE, family

    r = registry
    Judged(monkeypatch)
    headers = r.headers("village", VILLAGE)
    body = proposal(family(81))
    answers = await together(r.client, "/households", [("t-1", body, headers), ("t-2", body, headers)])
    assert sorted(a.status_code for a in answers.values()) == [201, 409]
    [created] = [a for a in answers.values() if a.status_code == 201]
    retry = await r.client.post("/households", json=body, headers=headers)
    assert retry.status_code == 201 and retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json() == created.json()
    other = await r.client.post("/households", json=proposal(family(82)), headers=headers)
    assert other.status_code == 422 and other.json()["errors"][0]["field"] == "Idempotency-Key"
    assert len(await fetch(r.settings, "SELECT 1 FROM households")) == 1


async def test_a_group_that_fails_at_its_commit_writes_nothing_and_leaves_every_key_free(registry, monkeypatch):
    from tests.service.registry_support import VILLAGE, family

    r = registry
    real = group_commit._complete

    async def crashing(session, done, owner):
        await real(session, done, owner)  # every member's rows, events and key written, then it fails
        raise RuntimeError("crash mid-group")

    monkeypatch.setattr(group_commit, "_complete", crashing)
    requests = [(f"x-{n}", proposal(family(90 + n)), r.headers("village", VILLAGE)) for n in range(3)]
    answers = await asyncio.gather(*(r.client.post("/households", json=body, headers=headers)
                                     for _, body, headers in requests), return_exceptions=True)
    assert all(isinstance(a, RuntimeError) for a in answers)
    assert await fetch(r.settings, "SELECT 1 FROM events") == []
    assert await fetch(r.settings, "SELECT 1 FROM households") == []
    assert await fetch(r.settings, "SELECT 1 FROM idempotency_keys") == []

    monkeypatch.setattr(group_commit, "_complete", real)
    again = await asyncio.gather(*(r.client.post("/households", json=body, headers=headers)
                                   for _, body, headers in requests))  # the same keys
    assert [a.status_code for a in again] == [201] * 3
    assert len(await fetch(r.settings, "SELECT 1 FROM events")) == 3


# -- projects: generated codes ---------------------------------------------------------------------

async def test_codes_follow_the_order_of_judgement_and_a_refused_proposal_takes_none(databases, monkeypatch):
    from services.projects.app import create_app
    from tests.service.test_projects import VILLAGE, Projects, proposal as project

    settings = await databases.new("projects", group_commit_window_seconds=WINDOW)
    clock = SettableClock(datetime(2018, 3, 1, 2, tzinfo=timezone.utc))
    async with serving(create_app(settings, clock=clock, run_background=False)) as client:
        p = Projects(settings, client, clock)
        try:
            judged = Judged(monkeypatch)
            before = committed_groups("projects")
            future = {"discussed_on": "2018-12-01", "participants": 45, "note": "尚未召开"}
            bodies = {"p-1": project(), "p-2": project(), "p-bad": project(participation=future), "p-3": project()}
            answers = await together(client, "/projects", [(cid, body, p.headers(VILLAGE))
                                                           for cid, body in bodies.items()])
            assert committed_groups("projects") == before + 1
            assert answers["p-bad"].status_code == 422
            accepted = [cid for cid in judged.order if cid != "p-bad"]
            codes = [answers[cid].json()["code"] for cid in accepted]
            assert codes == sorted(codes) and len(set(codes)) == 3  # consecutive, in the order judged
            assert [int(code[-3:]) for code in codes] == [1, 2, 3]
            assert await events_by_correlation(settings, "projects.project.proposed") == accepted
        finally:
            await p.close()


# -- announcements: the objection rate limit -------------------------------------------------------

async def test_objections_beyond_the_limit_of_one_address_are_refused_in_the_order_judged(databases, monkeypatch):
    from tests.service.test_announcements import build, clock_at, published

    settings = await databases.new("registry", group_commit_window_seconds=WINDOW, objection_rate_limit=3)
    async with serving(build(settings, clock_at(date(2017, 3, 1)))) as client:
        announcement = await published(client, settings)
        judged = Judged(monkeypatch)
        before = committed_groups("registry")
        requests = [(f"o-{n}", {"text": f"第{n}条异议：该户收入较高。"}, {"Idempotency-Key": f"o-{n}"}) for n in range(5)]
        answers = await together(client, f"/public/announcements/{announcement}/objections", requests)
        assert committed_groups("registry") == before + 1
        order = judged.order
        assert [answers[c].status_code for c in order] == [201] * 3 + [429] * 2
        assert await events_by_correlation(settings, "registry.objection.filed") == order[:3]
        assert len(await fetch(settings, "SELECT 1 FROM objections")) == 3


async def test_a_lone_write_is_a_group_of_one(databases):
    """No window, no company: a write is its own group (no savepoint) and still counted."""
    from tests.service import webapp

    settings = await databases.new("registry")
    async with serving(webapp.build(settings)) as client:
        before = committed_groups("registry")
        headers = {**bearer(settings, "county_finance", "652722000000"), "Idempotency-Key": "lone"}
        answer = await client.post("/things", json={"name": "枸杞", "amount": "1.00", "division": "652722000000"},
                                   headers=headers)
        assert answer.status_code == 201
        assert committed_groups("registry") == before + 1


async def test_a_member_that_lost_a_deadlock_is_judged_again_in_the_next_group(databases, monkeypatch):
    """Guarantee 9: PostgreSQL aborted the member's statement to break a deadlock with a writer
    outside the group; the member is rolled back and runs again in the next group, answered once."""
    from tests.service import webapp

    class DeadlockDetected(Exception):
        sqlstate = "40P01"

    real, runs = group_commit._run, []

    async def losing_once(session, call):
        runs.append(call)
        outcome = await real(session, call)
        return DeadlockDetected("deadlock detected") if len(runs) == 1 else outcome

    monkeypatch.setattr(group_commit, "_run", losing_once)
    settings = await databases.new("registry")
    async with serving(webapp.build(settings)) as client:
        headers = {**bearer(settings, "county_finance", "652722000000"), "Idempotency-Key": "deadlocked"}
        answer = await client.post("/things", json={"name": "枸杞", "amount": "1.00", "division": "652722000000"},
                                   headers=headers)
        assert answer.status_code == 201 and len(runs) == 2
        assert [r["seq"] for r in await fetch(settings, "SELECT seq FROM events")] == [1]  # the first run left nothing
        assert answer.json()["seq"] == 1
