"""The relay: publishes a service's log to ``fupin.<service>.events`` in seq order (rule 4).

Guarantees:

* **Order.** Events are sent in seq order with key = subject, so each aggregate's events stay in
  order on their partition (and the whole log is in order with one partition, the default).
* **At least once.** The watermark (last seq the broker acknowledged, ``acks=all``) is stored in
  the service's own database after the acknowledgement. A crash between the two re-sends a
  few events; consumers skip them by their inbox.
* **Broker loss costs nothing.** The relay counts what the topic holds (sum of partition end
  offsets, which only grow while a topic lives). If that is less than its watermark, the broker
  lost data — the embedded broker keeps nothing on disk — and the relay republishes the whole
  log from seq 1, so a replay from the topic is complete again.
* **Topics of the configured shape.** The relay creates its topic (``shared.events.topics``) and,
  when it republishes after a loss, replaces one that came back with another partition count.
* **One relay per log.** A session-level advisory lock makes extra instances (more uvicorn
  workers, a second replica) wait as hot standbys.

It wakes on LISTEN/NOTIFY (sent by ``append`` at commit) and polls as a fallback.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from shared.config import Settings, libpq_url
from shared.events import store
from shared.events.topics import ensure_topic
from shared.events.worker import Worker
from shared.logging import get_logger
from shared.metrics import RELAY_LAG, RELAY_PUBLISHED

log = get_logger("fupin.relay")

RELAY_LOCK_KEY = 0x66757069_6E_01
BATCH = 1000


def encode_message(event: dict[str, Any]) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """(key, value, headers) of an event on the wire: CloudEvents JSON, structured mode."""
    value = json.dumps({"specversion": "1.0", **event}, ensure_ascii=False, separators=(",", ":")).encode()
    headers = [("ce_type", event["type"].encode()), ("ce_id", event["id"].encode()), ("seq", str(event["seq"]).encode())]
    return event["subject"].encode(), value, headers


def decode_message(value: bytes) -> dict[str, Any]:
    event = json.loads(value)
    event.pop("specversion", None)
    return event


async def topic_message_count(probe: AIOKafkaConsumer, topic: str, timeout: float = 5.0) -> int:
    """Messages the topic holds: the sum of its partitions' high watermarks (0 if it is gone).

    The high watermark is read from a fetch of each partition's last record, not from
    ListOffsets alone: Tansu 0.6 answers ListOffsets(latest) with the base offset of the last
    record *batch* + 1, while its fetch responses carry the true high watermark. With Apache
    Kafka both agree and the fetch returns one record.
    """
    await probe._client.force_metadata_update()  # noqa: SLF001 — aiokafka has no public refresh
    partitions = [TopicPartition(topic, p) for p in probe.partitions_for_topic(topic) or ()]
    if not partitions:
        return 0
    ends = await probe.end_offsets(partitions)
    held = [tp for tp in partitions if ends[tp] > 0]
    if not held:
        return 0
    probe.assign(held)
    for tp in held:
        probe.seek(tp, ends[tp] - 1)
    deadline = asyncio.get_running_loop().time() + timeout
    while any(probe.highwater(tp) is None for tp in held) and asyncio.get_running_loop().time() < deadline:
        await probe.getmany(*held, timeout_ms=500)
    return sum(max(probe.highwater(tp) or 0, ends[tp]) for tp in held)


class Relay(Worker):
    def __init__(self, settings: Settings, *, check_every: float | None = None):
        super().__init__()
        self.name = f"relay-{settings.service}"
        self.settings = settings
        self.service = settings.service
        self.topic = settings.topic
        self.dsn = libpq_url(settings.database_server, settings.database_name)
        self.check_every = check_every or max(settings.relay_poll_seconds, 1.0)
        self.wake = asyncio.Event()
        self.watermark = 0

    async def stop(self) -> None:
        self.wake.set()
        await super().stop()

    # -- one connected session -----------------------------------------------------------------
    async def session(self) -> None:
        conn = await asyncpg.connect(self.dsn)
        producer = probe = None
        try:
            while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", RELAY_LOCK_KEY):
                await asyncio.sleep(self.settings.relay_poll_seconds)  # another relay is active
            await conn.add_listener(store.NOTIFY_CHANNEL, lambda *_: self.wake.set())
            bootstrap = self.settings.kafka_bootstrap
            await self._ensure_topic(replace=False)
            producer = AIOKafkaProducer(
                bootstrap_servers=bootstrap, acks="all", linger_ms=5,
                enable_idempotence=self.settings.kafka_idempotence, request_timeout_ms=15000,
            )
            probe = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
            await producer.start()
            await probe.start()
            self.watermark = await self._load_watermark(conn)
            await self._check_broker(conn, probe)
            log.info("relay started", service=self.service, topic=self.topic, watermark=self.watermark)
            loop = asyncio.get_running_loop()
            next_check = loop.time() + self.check_every
            while not self._stopping:
                published = await self._publish_batch(conn, producer)
                if loop.time() >= next_check:  # also under constant load
                    await self._check_broker(conn, probe)
                    next_check = loop.time() + self.check_every
                    continue
                if published:
                    continue
                newest = await store.last_seq(conn)
                RELAY_LAG.labels(self.service).set(max(newest - self.watermark, 0))
                self.wake.clear()
                try:
                    await asyncio.wait_for(self.wake.wait(), self.settings.relay_poll_seconds)
                except asyncio.TimeoutError:
                    pass
        finally:
            await stop_clients(producer, probe)
            await conn.close()  # also releases the advisory lock

    async def _publish_batch(self, conn: asyncpg.Connection, producer: AIOKafkaProducer) -> int:
        events = await store.read_after(conn, self.watermark, BATCH)
        if not events:
            return 0
        deliveries = []
        for event in events:
            key, value, headers = encode_message(event)
            deliveries.append(await producer.send(self.topic, value=value, key=key, headers=headers))
        await asyncio.gather(*deliveries)  # acknowledged by the broker (acks=all)
        self.watermark = events[-1]["seq"]
        await self._save_watermark(conn)
        RELAY_PUBLISHED.labels(self.service).inc(len(events))
        return len(events)

    async def _check_broker(self, conn: asyncpg.Connection, probe: AIOKafkaConsumer) -> None:
        held = await topic_message_count(probe, self.topic)
        if held < self.watermark:
            log.warning("broker lost events; republishing the log from seq 1",
                        service=self.service, topic=self.topic, broker_holds=held, watermark=self.watermark)
            await self._ensure_topic(replace=True)  # what it holds is republished: give it the configured shape
            self.watermark = 0
            await self._save_watermark(conn)

    async def _ensure_topic(self, *, replace: bool) -> None:
        s = self.settings
        await ensure_topic(s.broker, self.topic, s.topic_partitions, s.topic_retention_ms, replace=replace)

    async def _load_watermark(self, conn: asyncpg.Connection) -> int:
        return await load_watermark(conn, self.topic)

    async def _save_watermark(self, conn: asyncpg.Connection) -> None:
        await save_watermark(conn, self.topic, self.watermark)


async def load_watermark(conn: asyncpg.Connection, topic: str) -> int:
    """The last seq (or checkpoint size) confirmed published on ``topic``; 0 before any."""
    return await conn.fetchval("SELECT last_seq FROM relay_watermark WHERE topic = $1", topic) or 0


async def save_watermark(conn: asyncpg.Connection, topic: str, last_seq: int) -> None:
    await conn.execute(
        "INSERT INTO relay_watermark (topic, last_seq) VALUES ($1, $2) "
        "ON CONFLICT (topic) DO UPDATE SET last_seq = EXCLUDED.last_seq, updated_at = now()", topic, last_seq)


async def stop_clients(*clients: AIOKafkaProducer | AIOKafkaConsumer | None) -> None:
    """Stop each started Kafka client; one failing to stop does not keep the others running."""
    for client in clients:
        if client is not None:
            try:
                await client.stop()
            except Exception:  # noqa: BLE001 — a broker gone while stopping: nothing left to release
                pass
