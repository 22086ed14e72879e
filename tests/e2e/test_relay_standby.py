"""Several worker processes per service (``FUPIN_WORKERS``) start a relay each: the log's advisory
lock keeps one active and the others hot standbys — each event reaches the topic once, and a
standby takes over when the active relay stops."""

from __future__ import annotations

import asyncpg
from aiokafka import AIOKafkaConsumer

from shared.config import libpq_url
from shared.events.relay import Relay, decode_message
from tests.e2e.test_event_flow import flow  # noqa: F401 — the fixture
from tests.stack import wait_until


async def _on_topic(bootstrap: str, topic: str) -> list[int]:
    """The seq of every message on the topic, in the order read (a duplicate shows twice)."""
    reader = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                              enable_auto_commit=False, group_id=None)
    await reader.start()
    seqs: list[int] = []
    try:
        while batch := await reader.getmany(timeout_ms=2000):
            seqs.extend(decode_message(m.value)["seq"] for messages in batch.values() for m in messages)
    finally:
        await reader.stop()
    return seqs


async def test_two_relays_of_one_log_publish_each_event_once_and_the_standby_takes_over(flow, broker):  # noqa: F811
    first, second = Relay(flow.source), Relay(flow.source)
    first.start()
    second.start()
    relays = [first, second]
    try:
        await flow.append(10)
        await wait_until(lambda: _watermark_at(relays, 10))
        await wait_until(lambda: _stored_watermark(flow, 10))  # saved after the broker acknowledged
        active = next(r for r in relays if r.watermark == 10)
        standby = next(r for r in relays if r is not active)
        assert standby.watermark == 0  # it never got the lock: it loaded no watermark, sent nothing
        assert await _on_topic(broker.bootstrap, flow.source.topic) == list(range(1, 11))
        await active.stop()
        relays.remove(active)
        await flow.append(5)
        await wait_until(lambda: _watermark_at([standby], 15), timeout=60)
        assert await _on_topic(broker.bootstrap, flow.source.topic) == list(range(1, 16))  # each once, in order
    finally:
        for relay in relays:
            await relay.stop()


async def _watermark_at(relays: list[Relay], seq: int) -> bool:
    return any(r.watermark >= seq for r in relays)


async def _stored_watermark(flow, seq: int) -> bool:
    conn = await asyncpg.connect(libpq_url(flow.source.database_url, flow.source.database_name))
    try:
        stored = await conn.fetchval("SELECT last_seq FROM relay_watermark WHERE topic = $1", flow.source.topic)
    finally:
        await conn.close()
    return (stored or 0) >= seq
