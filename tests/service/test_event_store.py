"""The event log on real PostgreSQL: gapless concurrent appends, the chain, the append-only trigger,
verification over HTTP and from the CLI."""

from __future__ import annotations

import asyncio
import random

import asyncpg
import pytest
from services.funds.app import create_app
from shared.config import libpq_url
from shared.db import make_engine, make_sessionmaker, migrate, raw_connection
from shared.events import NewEvent, append, store
from shared.events.chain import GENESIS, canonical_json, compute_hash
from tests.conftest import bearer, downgrade, run_cli, serving

ACTOR = {"sub": "tester", "roles": ["county_finance"], "division": "652722000000"}


def event(i: int, **data) -> NewEvent:
    return NewEvent(type="test.thing.happened", subject=f"thing-{i % 13}", data={"i": i, **data}, actor=ACTOR)


@pytest.fixture
async def funds(databases):
    settings = await databases.new("funds")
    engine = make_engine(settings.sqlalchemy_url, pool_size=25)
    yield settings, make_sessionmaker(engine, "funds")
    await engine.dispose()


def db_env(settings) -> dict[str, str]:
    return {"FUPIN_DATABASE_URL": settings.database_url, "FUPIN_FUNDS_DATABASE": settings.database_name}


async def connect(settings) -> asyncpg.Connection:
    return await asyncpg.connect(libpq_url(settings.database_url, settings.database_name))


async def test_20_concurrent_writers_append_2000_gapless_events(funds):
    settings, sessions = funds

    async def writer(w: int) -> None:
        rng = random.Random(w)
        written = 0
        while written < 100:
            size = min(rng.choice([1, 1, 3, 10, 40]), 100 - written)
            async with sessions() as session, session.begin():
                await append(session, [event(w * 1000 + written + k, writer=w) for k in range(size)])
            written += size
            if rng.random() < 0.2:  # an aborted transaction must not burn sequence numbers
                async with sessions() as session:
                    await session.begin()
                    await append(session, [event(-1)])
                    await session.rollback()

    await asyncio.gather(*(writer(w) for w in range(20)))
    conn = await connect(settings)
    try:
        seqs = [r["seq"] for r in await conn.fetch("SELECT seq FROM events ORDER BY seq")]
        assert seqs == list(range(1, 2001))
        per_writer = await conn.fetch("SELECT data->>'writer' AS w, count(*) FROM events GROUP BY 1")
        assert {r["w"]: r["count"] for r in per_writer} == {str(w): 100 for w in range(20)}
        report = await store.verify(conn)
        assert report.ok and report.checked == 2000 and report.last_seq == 2000
    finally:
        await conn.close()


async def test_append_returns_envelopes_that_match_the_stored_rows(funds):
    settings, sessions = funds
    async with sessions() as session, session.begin():
        small = await append(session, [event(1, amount="12.30", doc_no="财农〔2017〕8号")])
        big = await append(session, [event(i) for i in range(2, 50)])  # the COPY path
    conn = await connect(settings)
    try:
        stored = await store.read_after(conn, 0, 100)
    finally:
        await conn.close()
    assert stored == small + big
    assert stored[0]["prev_hash"] == GENESIS
    for before, after in zip(stored, stored[1:]):
        assert after["prev_hash"] == before["hash"]
    assert all(compute_hash(e) == e["hash"] for e in stored)


async def test_the_stored_actor_and_data_are_the_canonical_texts_that_were_hashed(funds):
    """json columns keep the text as written: the bytes an auditor reads are the bytes hashed."""
    settings, sessions = funds
    async with sessions() as session, session.begin():
        envelopes = await append(session, [event(1, 名称="精河县", z=None, a=[3, 1])])
        envelopes += await append(session, [event(i, b={"y": 1, "x": "二"}) for i in range(2, 40)])  # COPY
    conn = await connect(settings)
    try:
        rows = await conn.fetch("SELECT actor::text AS actor, data::text AS data FROM events ORDER BY seq")
    finally:
        await conn.close()
    assert [(r["actor"], r["data"]) for r in rows] == [
        (canonical_json(e["actor"]), canonical_json(e["data"])) for e in envelopes]


@pytest.mark.parametrize("bad_hash, error", [
    ("A" * 64, asyncpg.CheckViolationError),  # capitals
    ("a" * 62, asyncpg.CheckViolationError),  # 31 bytes
    ("g" * 64, asyncpg.InvalidParameterValueError),  # not hex
    ("a" * 63, asyncpg.InvalidParameterValueError),  # an odd number of digits
], ids=["capitals", "short", "not-hex", "odd"])
async def test_a_row_whose_hash_is_not_64_lowercase_hex_digits_is_refused(funds, bad_hash, error):
    settings, sessions = funds
    async with sessions() as session, session.begin():
        await append(session, [event(1)])
    conn = await connect(settings)
    try:
        row = dict(await conn.fetchrow("SELECT * FROM events WHERE seq = 1"))
        row.update(seq=2, id="018f0000-0000-7000-8000-000000000002", prev_hash=row["hash"], hash=bad_hash)
        with pytest.raises(error):
            await conn.execute(f"INSERT INTO events ({', '.join(row)}) VALUES "
                               f"({', '.join(f'${i}' for i in range(1, len(row) + 1))})", *row.values())
        assert await conn.fetchval("SELECT count(*) FROM events") == 1
    finally:
        await conn.close()


async def test_append_rolls_back_with_the_business_transaction(funds):
    settings, sessions = funds
    async with sessions() as session:
        await session.begin()
        await append(session, [event(1)])
        await session.rollback()
    async with sessions() as session, session.begin():
        [first] = await append(session, [event(2)])
    assert first["seq"] == 1 and first["prev_hash"] == GENESIS


@pytest.mark.parametrize("statement", [
    "UPDATE events SET data = '{\"i\": 999}' WHERE seq = 1",
    "DELETE FROM events WHERE seq = 1",
    "TRUNCATE events",
])
async def test_the_app_connection_cannot_change_or_delete_events(funds, statement):
    settings, sessions = funds
    async with sessions() as session, session.begin():
        await append(session, [event(1)])
    async with sessions() as session:
        async with raw_connection(session) as conn:
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
                await conn.execute(statement)


async def tamper(settings, sql: str) -> None:
    """Change a row behind the trigger's back, as a superuser can."""
    conn = await connect(settings)
    try:
        async with conn.transaction():
            await conn.execute("SET LOCAL session_replication_role = replica")
            await conn.execute(sql)
    finally:
        await conn.close()


async def test_a_row_altered_behind_the_trigger_is_reported_with_its_seq(funds):
    settings, sessions = funds
    async with sessions() as session, session.begin():
        await append(session, [event(i) for i in range(1, 11)])
    await tamper(settings, "UPDATE events SET data = jsonb_set(data::jsonb, '{i}', '7000') WHERE seq = 7")

    async with serving(create_app(settings)) as client:
        response = await client.get("/events/verify", headers=bearer(settings, "auditor"))
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is False and body["first_bad_seq"] == 7 and body["service"] == "funds"
    assert "hash does not match" in body["reason"]

    code, output = await run_cli("events", "verify", "--service", "funds", env=db_env(settings))
    assert code == 1
    assert "chain broken at seq 7" in output
    assert '"first_bad_seq": 7' in output


async def test_a_deleted_row_is_reported_as_a_gap(funds):
    settings, sessions = funds
    async with sessions() as session, session.begin():
        await append(session, [event(i) for i in range(1, 6)])
    await tamper(settings, "DELETE FROM events WHERE seq = 3")
    conn = await connect(settings)
    try:
        report = await store.verify(conn)
        assert not report.ok and report.first_bad_seq == 3 and "gap" in report.reason
        tail = await store.verify(conn, from_seq=4)
        assert not tail.ok and tail.first_bad_seq == 3  # the anchor of the range is gone
        head = await store.verify(conn, 1, 2)
        assert head.ok and head.checked == 2
    finally:
        await conn.close()


async def test_a_removed_last_event_is_missing_when_a_range_is_asked_for(funds):
    settings, sessions = funds
    async with sessions() as session, session.begin():
        await append(session, [event(i) for i in range(1, 6)])
    await tamper(settings, "DELETE FROM events WHERE seq = 5")
    conn = await connect(settings)
    try:
        report = await store.verify(conn, 1, 5)
    finally:
        await conn.close()
    assert not report.ok and report.first_bad_seq == 5 and "missing" in report.reason


async def test_cli_verifies_a_sound_chain(funds):
    settings, sessions = funds
    async with sessions() as session, session.begin():
        await append(session, [event(i) for i in range(1, 4)])
    code, output = await run_cli("events", "verify", "--service", "funds", env=db_env(settings))
    assert code == 0, output
    assert "3 events verified" in output


async def test_feed_pages_through_the_log_for_national_readers_only(funds):
    settings, sessions = funds
    async with sessions() as session, session.begin():
        await append(session, [event(i) for i in range(1, 8)])
    async with serving(create_app(settings)) as client:
        service = bearer(settings, "service")
        first = (await client.get("/events", params={"after": 0, "limit": 5}, headers=service)).json()
        assert [e["seq"] for e in first["events"]] == [1, 2, 3, 4, 5]
        assert first["next_after"] == 5 and first["last_seq"] == 7
        rest = (await client.get("/events", params={"after": 5}, headers=service)).json()
        assert [e["seq"] for e in rest["events"]] == [6, 7] and rest["next_after"] is None
        assert rest["events"][0]["actor"] == ACTOR

        national_auditor = await client.get("/events", headers=bearer(settings, "auditor"))
        assert national_auditor.status_code == 200
        county_auditor = await client.get("/events", headers=bearer(settings, "auditor", "652722"))
        assert county_auditor.status_code == 403
        assert county_auditor.headers["content-type"] == "application/problem+json"
        county_office = await client.get("/events", headers=bearer(settings, "county_office", "652722"))
        assert county_office.status_code == 403
        assert (await client.get("/events")).status_code == 401
        # the verification itself reveals no content: any auditor may run it
        verify = await client.get("/events/verify", headers=bearer(settings, "auditor", "652722"))
        assert verify.status_code == 200 and verify.json()["ok"] is True


async def test_a_log_written_before_the_events_append_revision_keeps_its_chain_through_it_and_back(databases):
    """Revision ``*_events_append`` (json columns, the cheaper hash check, no type index) on a log
    written as jsonb: every event reads the same and verifies after the upgrade, new ones link on,
    and the downgrade restores the old table with the log still sound."""
    settings = await databases.new("registry")
    engine = make_engine(settings.sqlalchemy_url, pool_size=2)
    sessions = make_sessionmaker(engine, "registry")

    async def column_types(conn) -> set[str]:
        return {r["data_type"] for r in await conn.fetch(
            "SELECT data_type FROM information_schema.columns WHERE table_name = 'events' AND column_name IN ('actor', 'data')")}

    try:
        await downgrade(engine, "registry", "0009_household_refs")
        async with sessions() as session, session.begin():
            before = await append(session, [event(i, 名称="精河县", nested={"b": [1, None], "a": "x"}) for i in range(1, 40)])
        await migrate(engine, "registry")
        async with sessions() as session, session.begin():
            after = await append(session, [event(40, more=True)])
        conn = await connect(settings)
        try:
            assert await column_types(conn) == {"json"}
            assert await store.read_after(conn, 0, 100) == before + after
            assert after[0]["prev_hash"] == before[-1]["hash"]
            assert (await store.verify(conn)).ok
        finally:
            await conn.close()
        await downgrade(engine, "registry", "0009_household_refs")
        conn = await connect(settings)
        try:
            assert await column_types(conn) == {"jsonb"}
            assert await conn.fetchval("SELECT count(*) FROM pg_indexes WHERE indexname = 'events_type_idx'") == 1
            assert await store.read_after(conn, 0, 100) == before + after
            assert (await store.verify(conn)).ok
        finally:
            await conn.close()
    finally:
        await engine.dispose()
