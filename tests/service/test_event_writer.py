"""Group commit of standalone appends (shared/events/writer.py) on real PostgreSQL: one test per
guarantee of EventWriter — durable answers with each caller's own seqs, one chain shared with
in-transaction appends, all or nothing, call order = seq order, cancellation, the Merkle tree."""

from __future__ import annotations

import asyncio
import contextlib
import random

import asyncpg
import pytest
from shared import context
from shared.config import libpq_url
from shared.db import make_engine, make_sessionmaker
from shared.events import EventWriter, NewEvent, append, merkle, store
from shared.events.tree import TreeState

ACTOR = {"sub": "tester", "roles": ["county_finance"], "division": "652722000000"}


def event(tag: str, k: int = 0, **data) -> NewEvent:
    return NewEvent(type="test.thing.happened", subject=f"thing-{tag}", data={"tag": tag, "k": k, **data}, actor=ACTOR)


@pytest.fixture
async def funds(databases):
    settings = await databases.new("funds")
    engine = make_engine(settings.sqlalchemy_url, pool_size=6)
    sessions = make_sessionmaker(engine, "funds")
    conn = await connect(settings)
    yield sessions, conn, settings
    await conn.close()
    await engine.dispose()


async def connect(settings) -> asyncpg.Connection:
    return await asyncpg.connect(libpq_url(settings.database_url, settings.database_name))


async def stored(conn: asyncpg.Connection) -> list[dict]:
    return await store.read_after(conn, 0, 100_000)


async def test_concurrent_callers_get_their_own_gapless_seqs_in_call_order(funds):
    """16 tasks append 1–3 events per call, 25 calls each, while other transactions append with
    business rows the ordinary way: one gapless chain that verifies; each answer is exactly the
    caller's rows; within the writer, call order is seq order and a call's events are contiguous."""
    sessions, conn, _ = funds
    writer = EventWriter(sessions)
    calls: list[str] = []  # tags in call order (appended just before the call: no await between)
    answers: dict[str, list[dict]] = {}

    async def caller(w: int) -> None:
        rng = random.Random(w)
        for i in range(25):
            tag = f"{w}.{i}"
            context.correlation_id.set(f"request-{tag}")  # each task runs in its own context
            calls.append(tag)
            answers[tag] = await writer.append([event(tag, k) for k in range(rng.choice([1, 1, 2, 3]))])

    async def in_transaction(n: int) -> None:
        for i in range(n):
            async with sessions() as session, session.begin():
                await append(session, [event(f"tx.{i}", k) for k in range(4)])

    await asyncio.gather(*(caller(w) for w in range(16)), in_transaction(10))

    rows = await stored(conn)
    assert [r["seq"] for r in rows] == list(range(1, len(rows) + 1))
    report = await store.verify(conn)
    assert report.ok and report.checked == len(rows)
    by_seq = {r["seq"]: r for r in rows}
    for tag, envelopes in answers.items():
        assert envelopes == [by_seq[e["seq"]] for e in envelopes]  # durable, exactly as stored
        assert [e["data"]["tag"] for e in envelopes] == [tag] * len(envelopes)
        assert [e["data"]["k"] for e in envelopes] == list(range(len(envelopes)))
        seqs = [e["seq"] for e in envelopes]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # contiguous
        assert {e["correlation_id"] for e in envelopes} == {f"request-{tag}"}  # the caller's own context
    grouped_order = []
    for r in rows:
        tag = r["data"]["tag"]
        if not tag.startswith("tx.") and (not grouped_order or grouped_order[-1] != tag):
            grouped_order.append(tag)
    assert grouped_order == calls
    assert writer.events == sum(len(e) for e in answers.values())
    assert writer.groups < len(calls)  # the callers that waited together shared a transaction


@pytest.mark.parametrize("size", [1, 40], ids=["insert", "copy"])
async def test_a_failure_in_a_group_writes_nothing_of_it_and_every_member_gets_the_error(funds, size):
    """Five callers form one group (they all call before its task runs); the last one's last
    event is a row PostgreSQL refuses (a text column holds no NUL character). Nothing of the group is written,
    each caller raises, and the writer goes on with the next group, still gapless."""
    sessions, conn, _ = funds
    writer = EventWriter(sessions)
    await writer.append([event("before")])
    results = await asyncio.gather(
        *(writer.append([event(f"m{m}", k) for k in range(size)]) for m in range(4)),
        writer.append([event("bad", k) for k in range(size - 1)] + [event("bad\x00", size)]),
        return_exceptions=True)
    assert all(isinstance(r, asyncpg.PostgresError) for r in results), results
    assert len({type(r) for r in results}) == 1
    assert [r["data"]["tag"] for r in await stored(conn)] == ["before"]
    [after] = await writer.append([event("after")])
    assert after["seq"] == 2 and after["prev_hash"] == (await stored(conn))[0]["hash"]
    assert (await store.verify(conn)).ok


async def wait_for_lock_waiter(conn: asyncpg.Connection) -> int:
    """The pid of the session waiting for the log's append lock (held by the test)."""
    while True:
        pid = await conn.fetchval(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' "
            "AND query LIKE '%pg_advisory_xact_lock%'")
        if pid is not None:
            return pid
        await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def log_held(settings):
    """The log's append lock held by a transaction of the test's own until the block ends."""
    holder = await connect(settings)
    try:
        tx = holder.transaction()
        await tx.start()
        await holder.execute("SELECT pg_advisory_xact_lock($1)", store.APPEND_LOCK_KEY)
        try:
            yield
        finally:
            await tx.rollback()
    finally:
        await holder.close()


async def test_a_group_whose_connection_dies_writes_nothing_and_every_member_gets_the_error(funds):
    """The crash case: the group's backend is terminated while it waits for the log (the test
    holds the lock). Every member raises; nothing of the group is in the log; the next call works."""
    sessions, conn, settings = funds
    writer = EventWriter(sessions)
    async with log_held(settings):
        members = [asyncio.create_task(writer.append([event(f"m{m}")])) for m in range(3)]
        pid = await wait_for_lock_waiter(conn)
        await conn.execute("SELECT pg_terminate_backend($1)", pid)
        results = await asyncio.gather(*members, return_exceptions=True)
    assert all(isinstance(r, Exception) for r in results), results
    assert await stored(conn) == []
    [first] = await writer.append([event("after")])
    assert first["seq"] == 1


async def test_a_caller_cancelled_before_its_group_starts_writes_nothing(funds):
    sessions, conn, settings = funds
    writer = EventWriter(sessions)
    async with log_held(settings):
        first = asyncio.create_task(writer.append([event("first")]))
        await wait_for_lock_waiter(conn)  # the first group has started and waits for the log
        cancelled = asyncio.create_task(writer.append([event("cancelled")]))
        kept = asyncio.create_task(writer.append([event("kept")]))
        await asyncio.sleep(0)  # both have joined the queue
        cancelled.cancel()
    assert [e["data"]["tag"] for e in await first] == ["first"]
    assert [e["seq"] for e in await kept] == [2]
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert [r["data"]["tag"] for r in await stored(conn)] == ["first", "kept"]


async def test_a_writer_whose_last_tail_is_stale_links_to_the_actual_one(funds):
    """The writer inserts on the tail it committed last only if the log still ends there: after
    an append in another transaction (one event or a COPY-sized batch) it reads the tail."""
    sessions, conn, _ = funds
    writer = EventWriter(sessions)
    await writer.append([event("w1")])
    async with sessions() as session, session.begin():
        await append(session, [event("tx1")])
    [w2] = await writer.append([event("w2")])
    await writer.append([event("w3")])  # on its own tail again
    async with sessions() as session, session.begin():
        await append(session, [event("tx2", k) for k in range(40)])
    many = await writer.append([event("w4", k) for k in range(40)])  # COPY
    rows = await stored(conn)
    assert w2["seq"] == 3 and w2["prev_hash"] == rows[1]["hash"]
    assert [e["seq"] for e in many] == list(range(45, 85)) and many == rows[44:]
    report = await store.verify(conn)
    assert report.ok and report.checked == 84


async def test_max_events_bounds_a_group_and_never_splits_a_member(funds):
    sessions, conn, _ = funds
    writer = EventWriter(sessions, max_events=5)
    answers = await asyncio.gather(*(writer.append([event(f"m{m}", k) for k in range(3)]) for m in range(4)),
                                   writer.append([event("big", k) for k in range(7)]))
    assert writer.groups == 5 and writer.events == 19  # 3+3 > 5: one member per group; 7 alone
    for envelopes in answers:
        seqs = [e["seq"] for e in envelopes]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    assert (await store.verify(conn)).ok


async def test_the_merkle_tree_grown_after_grouped_appends_has_the_logs_root(funds):
    """The tree is grown after commit from the events (shared/events/tree.py): grouped appends,
    in-transaction appends and growth interleaved give the root of the log's leaves."""
    sessions, conn, _ = funds
    writer = EventWriter(sessions)
    tree = await TreeState.load(conn)
    for round_ in range(3):
        async with sessions() as session, session.begin():
            await append(session, [event(f"tx{round_}")])
        await asyncio.gather(*(writer.append([event(f"r{round_}.{m}", k) for k in range(m % 3 + 1)])
                               for m in range(9)))
        await tree.grow(conn)
        leaves = [merkle.event_leaf(r["hash"]) for r in await stored(conn)]
        assert tree.size == len(leaves) and tree.root == merkle.root(leaves)
    reloaded = await TreeState.load(conn)
    assert (reloaded.size, reloaded.root) == (tree.size, tree.root)


async def test_every_append_path_notifies_the_relay_at_commit_with_its_last_seq(funds):
    """The relay and the checkpointer wake on NOTIFY: a small append (the INSERT that notifies),
    a COPY-sized one (notified by the tail's read), the writer's guessed-tail insert and its COPY,
    and a lock taken first (lock_log, then append with the tail) — one notification each, at
    commit, naming the last seq; a rolled-back append sends none."""
    sessions, conn, settings = funds
    listener = await connect(settings)
    heard: asyncio.Queue[str] = asyncio.Queue()
    await listener.add_listener(store.NOTIFY_CHANNEL, lambda *args: heard.put_nowait(args[3]))
    writer = EventWriter(sessions)
    try:
        async def in_transaction(n: int, *, locked_first: bool = False, rollback: bool = False) -> None:
            async with sessions() as session:
                await session.begin()
                tail = await store.lock_log(session) if locked_first else None
                await append(session, [event("tx", k) for k in range(n)], tail=tail)
                await (session.rollback() if rollback else session.commit())

        await in_transaction(1)
        await in_transaction(40)
        await in_transaction(3, rollback=True)
        await in_transaction(40, locked_first=True)
        await writer.append([event("w")])  # tail unknown: read
        await writer.append([event("w")])  # on its own tail
        await writer.append([event("w", k) for k in range(40)])
        got = [await asyncio.wait_for(heard.get(), 30) for _ in range(6)]
        assert got == ["1", "41", "81", "82", "83", "123"]
        await in_transaction(1)
        assert await asyncio.wait_for(heard.get(), 30) == "124"  # nothing came from the rollback
        await writer.append([event("w")])  # its tail is stale: the guessed insert writes nothing
        await in_transaction(1)
        assert [await asyncio.wait_for(heard.get(), 30) for _ in range(2)] == ["125", "126"]
    finally:
        await listener.close()
