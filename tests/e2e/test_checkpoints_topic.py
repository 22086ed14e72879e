"""Checkpoints leave the database: published on ``<prefix>.<service>.checkpoints`` through the real
broker, and a cut tail is named against the relay's watermark and the events topic too."""

from __future__ import annotations

import uuid

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer

from shared.config import libpq_url
from shared.db import make_engine, make_sessionmaker
from shared.events import NewEvent, append
from shared.events.note import Verifier, open_checkpoint
from tests.conftest import fetch as sql
from tests.conftest import serving
from tests.service import webapp
from tests.stack import wait_until

ACTOR = {"sub": "tester", "roles": ["county_finance"], "division": "652722000000"}


@pytest.fixture
async def settings(databases, broker, tmp_path):
    return await databases.new("funds", kafka_bootstrap=broker.bootstrap, topic_prefix=f"t{uuid.uuid4().hex[:10]}",
                               checkpoint_every_events=5, checkpoint_every_seconds=3600, tail_check_seconds=0.3,
                               data_dir=str(tmp_path))


async def write(settings, count: int) -> None:
    engine = make_engine(settings.sqlalchemy_url, pool_size=1)
    try:
        async with make_sessionmaker(engine, "funds")() as session, session.begin():
            await append(session, [NewEvent(type="t.x", subject="s", data={"i": i}, actor=ACTOR) for i in range(count)])
    finally:
        await engine.dispose()


async def published_checkpoints(bootstrap: str, topic: str, expected: int, sizes: set[int] = frozenset()) -> list:
    """Records of the checkpoint topic, read from the start until ``expected`` of them and all of
    ``sizes`` arrived."""
    reader = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False)
    await reader.start()
    records: list = []
    try:
        async def enough():
            for batch in (await reader.getmany(timeout_ms=500)).values():
                records.extend(batch)
            return len(records) >= expected and sizes <= {int(dict(r.headers)["size"]) for r in records}
        await wait_until(enough, timeout=60)
    finally:
        await reader.stop()
    return records


async def test_checkpoints_go_to_their_topic_and_a_cut_tail_is_named_against_relay_and_topic(settings, broker):
    await write(settings, 10)
    app = webapp.build(settings)
    async with serving(app) as client:
        records = await published_checkpoints(broker.bootstrap, settings.checkpoint_topic, 1)
        verifier = Verifier.from_key_string((await client.get("/.well-known/fupin-keys")).json()["log"][0])
        first = open_checkpoint(records[0].value.decode(), [verifier])
        assert records[0].key == b"fupin.example/dev/funds" and dict(records[0].headers)["size"] == str(first.size).encode()
        assert first.size == 10  # the follower grew the tree by the whole backlog, then signed once
        await write(settings, 5)
        records = await published_checkpoints(broker.bootstrap, settings.checkpoint_topic, 2)
        assert [open_checkpoint(r.value.decode(), [verifier]).size for r in records] == [10, 15]

        async def relayed_and_seen():  # the relay's watermark and the topic both reached seq 15
            guard = app.state.log_guard
            rows = await sql(settings, f"SELECT last_seq FROM relay_watermark WHERE topic = '{settings.topic}'")
            return guard.topic_last_seq == 15 and rows and rows[0]["last_seq"] == 15
        await wait_until(relayed_and_seen, timeout=60)

        conn = await asyncpg.connect(libpq_url(settings.database_url, settings.database_name))
        try:
            async with conn.transaction():
                await conn.execute("SET LOCAL session_replication_role = replica")
                await conn.execute("DELETE FROM events WHERE seq > 12")
        finally:
            await conn.close()

        async def named():
            r = await client.get("/readyz")
            return r.status_code == 503 and r.json()["checks"].get("log") == "log truncated: seqs 13..15 missing"
        await wait_until(named, timeout=60)
        truncation = app.state.log_guard.truncation
        assert truncation.evidence == {"checkpoint": 15, "tree": 15, "relay": 15, "topic": 15}



async def test_checkpoints_lost_by_the_broker_are_published_again(settings, broker):
    await write(settings, 5)
    async with serving(webapp.build(settings)):
        await published_checkpoints(broker.bootstrap, settings.checkpoint_topic, 1)
        broker.restart(kill=True)  # memory-only: comes back with no topics
        await write(settings, 5)
        records = await published_checkpoints(broker.bootstrap, settings.checkpoint_topic, 2, {5, 10})
    assert {int(dict(r.headers)["size"]) for r in records} == {5, 10}
