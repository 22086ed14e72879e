"""The next group overlaps the commit of the one before (shared/web/group_commit.py, guarantee 8),
on real PostgreSQL: it claims its keys while the group before is committing, is judged only after
that commit, on the state it left, and its events follow; a group before that fails at its commit
writes nothing and the next one still commits its own; a member to be judged again after the
committer ended is still answered. The commit of the first group is held until the second group
has claimed and waits for the log's lock (``held_commit``; its claim's statement takes the lock, so
it is seen waiting in ``pg_locks``): with groups one after the other it would wait in vain (``HANG``)."""

from __future__ import annotations

import asyncio

import asyncpg
import asyncpg.exceptions
import pytest
from fastapi import Response

from shared.db import make_engine, make_sessionmaker
from shared.events import NewEvent, append
from shared.config import libpq_url
from shared.events import store
from shared.web import group_commit
from shared.web.group_commit import GroupCommit, Member
from tests.conftest import fetch

HANG = 10  # seconds: far beyond any answer here; only a group waiting for a group that never starts reaches it


def member(n: int) -> Member:
    return Member(n, "scope", f"key-{n}", "POST", "/x", f"digest-{n}")


def logging_apply(seen: dict[int, int]):
    """Each work appends one event; ``seen[work]``: the events in the log when it was judged."""

    async def apply(session, works):
        outcomes = []
        for work in works:
            seen[work] = (await session.execute(group_commit.text("SELECT count(*) FROM events"))).scalar()
            await append(session, [NewEvent("registry.test.done", str(work), {"n": work}, {"sub": "test"})])
            outcomes.append(Response(str(work), status_code=201))
        return outcomes
    return apply


def held_commit(sessionmaker, committing: asyncio.Event, may_commit: asyncio.Event, *, fail: bool = False):
    """Sessions whose first transaction, once its work is done, says so (``committing``) and waits
    for ``may_commit`` before its COMMIT — or, with ``fail``, then rolls back and raises instead."""
    held = []

    def make():
        session = sessionmaker()
        begin = session.begin

        class Held:
            async def __aenter__(self):
                self.inner = begin()
                return await self.inner.__aenter__()

            async def __aexit__(self, *exc):
                if exc[0] is None and not held:
                    held.append(session)
                    committing.set()
                    await asyncio.wait_for(may_commit.wait(), HANG)
                    if fail:
                        error = RuntimeError("the commit failed")
                        await self.inner.__aexit__(RuntimeError, error, None)
                        raise error
                return await self.inner.__aexit__(*exc)

        session.begin = Held
        return session
    return make


@pytest.fixture
async def registry_engine(databases):
    settings = await databases.new("registry")
    engine = make_engine(settings.sqlalchemy_url, pool_size=3)
    try:
        yield settings, engine
    finally:
        await engine.dispose()


def claiming(monkeypatch, settings, work: int, claimed: asyncio.Event) -> None:
    """Sets ``claimed`` once the group of ``work`` has claimed its keys and waits for the log's lock:
    the claim's statement takes the lock too, so it is seen waiting for an advisory lock."""
    real = group_commit._claim

    async def _claim(session, group, owner):
        watching = None
        if any(m.work == work for m in group):
            watching = asyncio.create_task(waiting_for_the_log(settings, claimed))
        try:
            return await real(session, group, owner)
        finally:
            if watching is not None:
                watching.cancel()
    monkeypatch.setattr(group_commit, "_claim", _claim)


async def waiting_for_the_log(settings, seen: asyncio.Event) -> None:
    conn = await asyncpg.connect(libpq_url(settings.database_url, settings.database_name))
    try:
        while not await conn.fetchval(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"):
            await asyncio.sleep(0.01)
        seen.set()
    finally:
        await conn.close()


async def test_the_next_group_claims_while_the_one_before_commits_and_is_judged_after_it(registry_engine, monkeypatch):
    settings, engine = registry_engine
    committing, second_claimed, seen = asyncio.Event(), asyncio.Event(), {}
    claiming(monkeypatch, settings, 2, second_claimed)
    group = GroupCommit(held_commit(make_sessionmaker(engine, "registry"), committing, second_claimed),
                        logging_apply(seen), service="registry", name="overlap")
    first = asyncio.create_task(group.join(member(1)))
    await asyncio.wait_for(committing.wait(), HANG)  # the first group has only its COMMIT left
    second = asyncio.create_task(group.join(member(2)))
    answers = await asyncio.wait_for(asyncio.gather(first, second), HANG)
    assert [a.status_code for a in answers] == [201, 201] and group.groups == 2
    assert seen[2] == seen[1] + 1  # judged after the first group's commit, on the log it left
    log = await fetch(settings, "SELECT * FROM events ORDER BY seq")
    assert [e["subject"] for e in log] == ["1", "2"]
    conn = await asyncpg.connect(libpq_url(settings.database_url, settings.database_name))
    try:
        assert (await store.verify(conn)).ok
    finally:
        await conn.close()
    keys = await fetch(settings, "SELECT key, state FROM idempotency_keys ORDER BY key")
    assert [(k["key"], k["state"]) for k in keys] == [("key-1", "completed"), ("key-2", "completed")]


async def test_a_group_that_fails_at_its_commit_writes_nothing_and_the_next_one_commits_its_own(registry_engine,
                                                                                                  monkeypatch):
    settings, engine = registry_engine
    committing, second_claimed, seen = asyncio.Event(), asyncio.Event(), {}
    claiming(monkeypatch, settings, 2, second_claimed)
    group = GroupCommit(held_commit(make_sessionmaker(engine, "registry"), committing, second_claimed, fail=True),
                        logging_apply(seen), service="registry", name="overlap")
    first = asyncio.create_task(group.join(member(1)))
    await asyncio.wait_for(committing.wait(), HANG)
    second = asyncio.create_task(group.join(member(2)))
    answers = await asyncio.wait_for(asyncio.gather(first, second, return_exceptions=True), HANG)
    assert isinstance(answers[0], RuntimeError) and answers[1].status_code == 201
    assert seen[1] == seen[2] == 0  # the second was judged on a log without the first's event
    log = await fetch(settings, "SELECT * FROM events ORDER BY seq")
    assert [(e["seq"], e["subject"]) for e in log] == [(1, "2")]
    assert [k["key"] for k in await fetch(settings, "SELECT key FROM idempotency_keys")] == ["key-2"]  # key-1 is free


async def test_a_member_judged_again_after_its_group_committed_is_answered_though_none_else_waits(registry_engine):
    settings, engine = registry_engine
    calls: list[list[int]] = []

    async def apply(session, works):  # the first time, member 1 lost a deadlock; member 2 is kept
        calls.append(list(works))
        await append(session, [NewEvent("registry.test.done", str(w), {"n": w}, {"sub": "test"}) for w in works
                               if len(calls) > 1 or w != 1])
        return [asyncpg.exceptions.DeadlockDetectedError("deadlock detected") if len(calls) == 1 and w == 1
                else Response(str(w), status_code=201) for w in works]

    group = GroupCommit(make_sessionmaker(engine, "registry"), apply, service="registry", name="overlap")
    answers = await asyncio.wait_for(asyncio.gather(group.join(member(1)), group.join(member(2))), HANG)
    assert [a.status_code for a in answers] == [201, 201] and calls == [[1, 2], [1]]
    assert [e["subject"] for e in await fetch(settings, "SELECT subject FROM events ORDER BY seq")] == ["2", "1"]
