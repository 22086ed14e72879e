"""Events from one service's log to another service's database through the real broker (aiokafka
against the embedded Tansu): order, a broker that dies and comes back empty, duplicates, gaps."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from services.registry.app import create_app as registry_app
from shared.config import libpq_url
from shared.db import make_engine, make_sessionmaker
from shared.events import NewEvent, append, store
from shared.events.consumer import ChainBroken, Consumer
from shared.events.relay import Relay, decode_message, encode_message
from tests.conftest import serving
from tests.stack import wait_until

ACTOR = {"sub": "村委会", "roles": ["village"], "division": "652722102201"}


class Flow:
    """A source service (registry) with its log, and a consumer service (audit) with a table of
    what it received. Topics and consumer group are private to the test."""

    def __init__(self, source_settings, sink_settings):
        self.source, self.sink = source_settings, sink_settings
        self.source_engine = make_engine(source_settings.sqlalchemy_url)
        self.sink_engine = make_engine(sink_settings.sqlalchemy_url)
        self.source_sessions = make_sessionmaker(self.source_engine, "registry")
        self.sink_sessions = make_sessionmaker(self.sink_engine, "audit")
        self.written = 0

    async def append(self, count: int) -> None:
        async with self.source_sessions() as session, session.begin():
            await append(session, [
                NewEvent(type="registry.household.proposed", subject=f"hh-{(self.written + i) % 17}",
                         data={"n": self.written + i}, actor=ACTOR)
                for i in range(1, count + 1)
            ])
        self.written += count

    async def source_events(self) -> list[dict]:
        async with self.source_sessions() as session:
            from shared.db import raw_connection
            async with raw_connection(session) as conn:
                return await store.read_after(conn, 0, 100000)

    async def sink_query(self, sql: str, *args):
        conn = await asyncpg.connect(libpq_url(self.sink.database_url, self.sink.database_name))
        try:
            return await conn.fetch(sql, *args)
        finally:
            await conn.close()

    async def received(self) -> list[int]:
        return [r["seq"] for r in await self.sink_query("SELECT seq FROM received ORDER BY seq")]

    async def position(self) -> int:
        rows = await self.sink_query("SELECT last_seq FROM consumer_positions WHERE source = 'registry'")
        return rows[0]["last_seq"] if rows else 0

    async def close(self) -> None:
        await self.source_engine.dispose()
        await self.sink_engine.dispose()


async def record(session, event) -> None:
    """The consumer's handler: one row per applied event (no unique key, so a double apply shows)."""
    from sqlalchemy import text

    await session.execute(text("INSERT INTO received (event_id, seq, n) VALUES (:id, :seq, :n)"),
                          {"id": event["id"], "seq": event["seq"], "n": event["data"]["n"]})


async def new_flow(databases, broker, partitions: int = 1) -> Flow:
    prefix = f"t{uuid.uuid4().hex[:10]}"
    common = dict(kafka_bootstrap=broker.bootstrap, topic_prefix=prefix, relay_poll_seconds=0.2,
                  consumer_catchup_seconds=1.0, topic_partitions=partitions)
    source = await databases.new("registry", **common)
    sink = await databases.new("audit", **common)
    f = Flow(source, sink)
    # ``applied``: the order in which the handler ran
    await f.sink_query("CREATE TABLE received (event_id uuid NOT NULL, seq bigint NOT NULL, n bigint NOT NULL, "
                       "applied bigserial)")
    return f


@pytest.fixture
async def flow(databases, broker):
    f = await new_flow(databases, broker)
    yield f
    await f.close()


async def start_consumer(flow: Flow, source_app) -> Consumer:
    """A consumer whose backfill reaches the source's real feed (in-process HTTP)."""
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=source_app), base_url="http://registry")
    consumer = Consumer(flow.sink, flow.sink_sessions, {"registry": {"registry.household.proposed": record}}, http=http)
    consumer.start()
    return consumer


async def publish(bootstrap: str, topic: str, events: list[dict]) -> None:
    """Put events on the topic by hand, as a misbehaving broker or relay might."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for event in events:
            key, value, headers = encode_message(event)
            await producer.send_and_wait(topic, value=value, key=key, headers=headers)
    finally:
        await producer.stop()


async def topic_seqs(bootstrap: str, topic: str, expected: int, timeout: float = 30) -> list[int]:
    reader = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False)
    await reader.start()
    seqs: list[int] = []
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(seqs) < expected and asyncio.get_running_loop().time() < deadline:
            for messages in (await reader.getmany(timeout_ms=500)).values():
                seqs += [decode_message(m.value)["seq"] for m in messages]
    finally:
        await reader.stop()
    return seqs


async def test_relay_publishes_the_log_in_seq_order_with_subject_keys(flow, broker):
    for size in (1, 50, 7, 200, 1):
        await flow.append(size)
    relay = Relay(flow.source)
    relay.start()
    try:
        await flow.append(41)
        await wait_until(lambda: _published(relay, 300))
        seqs = await topic_seqs(broker.bootstrap, flow.source.topic, 300)
    finally:
        await relay.stop()
    assert seqs == list(range(1, 301))
    reader = AIOKafkaConsumer(flow.source.topic, bootstrap_servers=broker.bootstrap, auto_offset_reset="earliest")
    await reader.start()
    try:
        first = (await reader.getone())
    finally:
        await reader.stop()
    event = decode_message(first.value)
    assert first.key == event["subject"].encode() and dict(first.headers)["ce_type"] == b"registry.household.proposed"
    assert (await flow.sink_query("SELECT 1")) is not None
    watermark = await asyncpg.connect(libpq_url(flow.source.database_url, flow.source.database_name))
    try:
        assert await watermark.fetchval("SELECT last_seq FROM relay_watermark") == 300
    finally:
        await watermark.close()


async def test_broker_restarted_empty_mid_stream_loses_nothing(flow, broker):
    source_app = registry_app(flow.source, run_background=False)
    async with serving(source_app):
        relay = Relay(flow.source)
        relay.start()
        consumer = await start_consumer(flow, source_app)
        try:
            for _ in range(20):
                await flow.append(10)
            await wait_until(lambda: _at_least(flow, 100))
            broker.restart(kill=True)  # memory-only: comes back with no topics, no offsets
            for _ in range(20):
                await flow.append(10)
                await asyncio.sleep(0.02)
            await wait_until(lambda: _at_least(flow, 400), timeout=90)
        finally:
            await consumer.stop()
            await relay.stop()
    assert await flow.received() == list(range(1, 401))  # every event exactly once, in order
    # the relay noticed the empty broker and republished: a replay from the topic is complete
    assert sorted(set(await topic_seqs(broker.bootstrap, flow.source.topic, 400))) == list(range(1, 401))


async def _published(relay: Relay, n: int) -> bool:
    return relay.watermark >= n


async def _at_least(flow: Flow, n: int) -> bool:
    return await flow.position() >= n


async def test_a_duplicated_delivery_is_skipped(flow, broker):
    source_app = registry_app(flow.source, run_background=False)
    await flow.append(5)
    async with serving(source_app):
        relay = Relay(flow.source)
        relay.start()
        consumer = await start_consumer(flow, source_app)
        try:
            await wait_until(lambda: _at_least(flow, 5))
            events = await flow.source_events()
            # the broker delivers events 2 and 5 a second time
            await publish(broker.bootstrap, flow.source.topic, [events[1], events[4]])
            await flow.append(1)  # a marker behind the duplicates
            await wait_until(lambda: _at_least(flow, 6))
        finally:
            await consumer.stop()
            await relay.stop()
    assert await flow.received() == [1, 2, 3, 4, 5, 6]
    inbox = await flow.sink_query("SELECT count(*) AS n FROM inbox WHERE source = 'registry'")
    assert inbox[0]["n"] == 6


async def test_a_consumer_that_missed_events_backfills_them_from_the_feed(flow, broker):
    await flow.append(9)
    events = await flow.source_events()
    source_app = registry_app(flow.source, run_background=False)
    async with serving(source_app):
        consumer = await start_consumer(flow, source_app)
        try:  # no relay: the topic only ever sees events 1, 2 and 9
            await publish(broker.bootstrap, flow.source.topic, [events[0], events[1], events[8]])
            await wait_until(lambda: _at_least(flow, 9))
        finally:
            await consumer.stop()
    assert await flow.received() == list(range(1, 10))
    rows = await flow.sink_query("SELECT last_hash FROM consumer_positions WHERE source = 'registry'")
    assert rows[0]["last_hash"] == events[8]["hash"]


async def test_a_forged_message_is_rejected_and_the_authentic_event_applied(flow, broker):
    from prometheus_client import REGISTRY

    def rejected() -> float:
        return REGISTRY.get_sample_value("fupin_consumer_events_total",
                                         {"service": "audit", "source": "registry", "outcome": "rejected"}) or 0.0

    await flow.append(3)
    events = await flow.source_events()
    before = rejected()
    source_app = registry_app(flow.source, run_background=False)
    async with serving(source_app):
        consumer = await start_consumer(flow, source_app)
        try:
            forged = {**events[0], "data": {"n": 999}}  # content changed, hash kept
            await publish(broker.bootstrap, flow.source.topic, [forged, events[1]])
            await wait_until(lambda: _at_least(flow, 3), timeout=30)
        finally:
            await consumer.stop()
    rows = await flow.sink_query("SELECT seq, n FROM received ORDER BY seq")
    assert [(r["seq"], r["n"]) for r in rows] == [(1, 1), (2, 2), (3, 3)]  # never 999
    assert rejected() == before + 1


async def test_a_source_feed_that_does_not_verify_stops_the_consumer(flow):
    """If the source's own log is broken, nothing unverifiable is applied."""
    await flow.append(3)
    conn = await asyncpg.connect(libpq_url(flow.source.database_url, flow.source.database_name))
    try:
        async with conn.transaction():
            await conn.execute("SET LOCAL session_replication_role = replica")
            await conn.execute("UPDATE events SET data = '{\"n\": 999}' WHERE seq = 2")
    finally:
        await conn.close()
    source_app = registry_app(flow.source, run_background=False)
    async with serving(source_app):
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=source_app), base_url="http://registry")
        consumer = Consumer(flow.sink, flow.sink_sessions, {"registry": {"registry.household.proposed": record}}, http=http)
        with pytest.raises(ChainBroken, match="seq 2"):
            await consumer.backfill("registry", until=3)
        await http.aclose()
    assert await flow.received() == [1]


async def test_a_missing_tail_is_caught_up_from_the_feed(flow, broker):
    """The broker never delivers the last events: no later event reveals the gap, the idle
    consumer's catch-up does."""
    await flow.append(4)
    events = await flow.source_events()
    source_app = registry_app(flow.source, run_background=False)
    async with serving(source_app):
        consumer = await start_consumer(flow, source_app)
        try:
            await publish(broker.bootstrap, flow.source.topic, [events[0]])
            await wait_until(lambda: _at_least(flow, 4), timeout=30)
        finally:
            await consumer.stop()
    assert await flow.received() == [1, 2, 3, 4]


async def test_a_message_claiming_a_seq_the_source_never_wrote_is_skipped(flow, broker):
    await flow.append(2)
    events = await flow.source_events()
    source_app = registry_app(flow.source, run_background=False)
    async with serving(source_app):
        consumer = await start_consumer(flow, source_app)
        try:
            bogus = {**events[0], "seq": 1000}  # a poison message far beyond the log
            await publish(broker.bootstrap, flow.source.topic, [bogus])
            await wait_until(lambda: _at_least(flow, 2), timeout=30)  # caught up from the feed
            await flow.append(1)
            await publish(broker.bootstrap, flow.source.topic, [(await flow.source_events())[2]])
            await wait_until(lambda: _at_least(flow, 3), timeout=30)  # and it keeps going
        finally:
            await consumer.stop()
    assert await flow.received() == [1, 2, 3]


async def test_the_inbox_skips_an_event_applied_before_a_lost_position(flow, broker):
    """Even if the consumer's position were behind (e.g. restored from an older backup), the inbox
    row written with each application keeps an event from being applied twice."""
    await flow.append(4)
    events = await flow.source_events()
    source_app = registry_app(flow.source, run_background=False)
    async with serving(source_app):
        consumer = await start_consumer(flow, source_app)
        try:
            await publish(broker.bootstrap, flow.source.topic, events)
            await wait_until(lambda: _at_least(flow, 4), timeout=30)
        finally:
            await consumer.stop()
        await flow.sink_query("UPDATE consumer_positions SET last_seq = 1, last_hash = $1", events[0]["hash"])
        again = Consumer(flow.sink, flow.sink_sessions, {"registry": {"registry.household.proposed": record}})
        await again.load_positions()
        for event in events[1:]:  # delivered once more
            await again.apply(event)
        await again.http.aclose()
    assert await flow.received() == [1, 2, 3, 4]  # the handler did not run again
    assert await flow.position() == 4


async def test_three_partitions_and_two_consumers_in_a_group_apply_every_event_once_in_order(databases, broker):
    """FUPIN_TOPIC_PARTITIONS=3: the relay spreads the aggregates over the partitions (each one's
    events in one partition, in order); two consumers of one service share the partitions and
    apply every event exactly once, in seq order, backfilling what the other's partitions hold."""
    flow = await new_flow(databases, broker, partitions=3)
    source_app = registry_app(flow.source, run_background=False)
    try:
        async with serving(source_app):
            relay = Relay(flow.source)
            relay.start()
            consumers = [await start_consumer(flow, source_app) for _ in range(2)]
            try:
                for _ in range(20):
                    await flow.append(10)
                    await asyncio.sleep(0.02)
                await wait_until(lambda: _at_least(flow, 200), timeout=90)
            finally:
                for consumer in consumers:
                    await consumer.stop()
                await relay.stop()
        applied = [r["seq"] for r in await flow.sink_query("SELECT seq FROM received ORDER BY applied")]
        assert applied == list(range(1, 201))  # once each, in the source's order
        by_partition = await partition_contents(broker.bootstrap, flow.source.topic, 200)
    finally:
        await flow.close()
    assert len(by_partition) == 3
    partitions_of: dict[str, set[int]] = {}
    for partition, events in by_partition.items():
        seqs = [e["seq"] for e in events]
        assert seqs == sorted(seqs)
        for event in events:
            partitions_of.setdefault(event["subject"], set()).add(partition)
    assert all(len(p) == 1 for p in partitions_of.values())  # an aggregate stays in one partition
    assert sorted(e["seq"] for events in by_partition.values() for e in events) == list(range(1, 201))


async def partition_contents(bootstrap: str, topic: str, expected: int, timeout: float = 30) -> dict[int, list[dict]]:
    reader = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False)
    await reader.start()
    out: dict[int, list[dict]] = {}
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while sum(map(len, out.values())) < expected and asyncio.get_running_loop().time() < deadline:
            for tp, messages in (await reader.getmany(timeout_ms=500)).items():
                out.setdefault(tp.partition, []).extend(decode_message(m.value) for m in messages)
        for partition in reader.partitions_for_topic(topic) or ():
            out.setdefault(partition, [])
    finally:
        await reader.stop()
    return out
