"""The consumer: applies other services' events to this service's read models (rule 5).

Guarantees:

* **Effectively once.** Each event is applied in one DB transaction together with an ``inbox``
  row (source, event id) and the new position of its source; an event already in the inbox, or
  at or below the source's position, is skipped. Kafka offsets are committed only after that
  transaction commits, so a crash re-delivers and the re-delivery is skipped.
* **In order, without gaps.** Each source's events are applied in seq order. On a jump (the
  broker lost messages, or partitions interleave) the missing range is fetched from the
  source's ``GET /events?after=`` feed and applied first. A gap at the *end* of the log shows
  no jump, so at start and whenever it has been idle for ``consumer_catchup_seconds`` the
  consumer also asks each source's feed for its last seq and backfills up to it.
* **Authentic.** Every event must link to the previous one of its source (``prev_hash``) and
  its hash must match its content. The broker is only transport: a message that does not
  verify is rejected (logged, counted) and the authentic event is fetched from the source's
  feed instead. An event from the feed itself that does not verify means the source's log is
  broken: :class:`ChainBroken` halts the consumer (it retries every few seconds, logging each
  time) rather than apply unverifiable data. A message claiming a seq the source's log does not
  have is likewise rejected and skipped.

Handlers are ``async def handler(session, event)``; they run with the consumed event as the
causation of anything they append.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Mapping

import httpx
from aiokafka import AIOKafkaConsumer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared import context
from shared.auth import service_token
from shared.config import Settings, topic_of
from shared.events.chain import GENESIS, compute_hash
from shared.events.relay import decode_message
from shared.events.topics import ensure_topic
from shared.events.worker import Worker
from shared.logging import get_logger
from shared.metrics import CONSUMER_LAG, CONSUMER_PROCESSED

log = get_logger("fupin.consumer")

Handler = Callable[[AsyncSession, dict[str, Any]], Awaitable[None]]
FEED_PAGE = 500


class ChainBroken(RuntimeError):
    """An incoming event does not continue its source's verified chain."""


@dataclass
class Position:
    seq: int = 0
    hash: str = GENESIS


class Consumer(Worker):
    def __init__(
        self,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        handlers: Mapping[str, Mapping[str, Handler]],
        *,
        http: httpx.AsyncClient | None = None,
    ):
        """``handlers``: {source service: {event type: handler}}; every event of a listed source
        is recorded (inbox, position) whether or not a handler is registered for its type."""
        super().__init__()
        self.name = f"consumer-{settings.service}"
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.handlers = handlers
        self.http = http or httpx.AsyncClient(timeout=30)
        self.positions: dict[str, Position] = {}
        self.topics = {topic_of(source, settings.topic_prefix): source for source in handlers}

    async def stop(self) -> None:
        await super().stop()
        await self.http.aclose()

    async def session(self) -> None:
        await self.load_positions()
        # Create the source topics if missing, so that a broker which auto-creates topics on
        # metadata requests (Tansu does) does not create them with its own partition count.
        for topic in self.topics:
            await ensure_topic(self.settings.kafka_bootstrap, topic, self.settings.topic_partitions,
                               self.settings.topic_retention_ms)
        kafka = AIOKafkaConsumer(
            *self.topics,
            bootstrap_servers=self.settings.kafka_bootstrap,
            group_id=self.settings.consumer_group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            metadata_max_age_ms=5000,  # notice a re-created topic quickly
        )
        await kafka.start()
        loop = asyncio.get_running_loop()
        next_catch_up = loop.time()
        try:
            while not self._stopping:
                batches = await kafka.getmany(timeout_ms=1000, max_records=FEED_PAGE)
                for partition, messages in batches.items():
                    for message in messages:
                        await self.apply(decode_message(message.value))
                    await kafka.commit({partition: messages[-1].offset + 1})
                await self._report_lag(kafka)
                if batches:
                    next_catch_up = loop.time() + self.settings.consumer_catchup_seconds
                elif loop.time() >= next_catch_up:
                    await self.catch_up()
                    next_catch_up = loop.time() + self.settings.consumer_catchup_seconds
        finally:
            await kafka.stop()

    async def catch_up(self) -> None:
        """Backfill every source up to the last seq its feed reports (a missing tail shows no jump)."""
        for source in self.handlers:
            after = self.positions.setdefault(source, Position()).seq
            try:
                page = await self._feed(source, after, 1)
            except httpx.HTTPError as exc:
                log.warning("source feed unreachable", service=self.settings.service, source=source, error=repr(exc))
                continue
            if page["last_seq"] > after:
                await self.backfill(source, until=page["last_seq"])

    async def _feed(self, source: str, after: int, limit: int) -> dict[str, Any]:
        response = await self.http.get(
            self.settings.peer_url(source).rstrip("/") + "/events",
            params={"after": after, "limit": limit},
            headers={"Authorization": f"Bearer {service_token(self.settings)}"},
        )
        response.raise_for_status()
        return response.json()

    async def _report_lag(self, kafka: AIOKafkaConsumer) -> None:
        """Messages on each source topic past our position (from the last fetch's high watermark)."""
        lag = dict.fromkeys(self.handlers, 0)
        for partition in kafka.assignment():
            high = kafka.highwater(partition)
            if high is not None:
                source = self.topics[partition.topic]
                lag[source] += max(high - await kafka.position(partition), 0)
        for source, behind in lag.items():
            CONSUMER_LAG.labels(self.settings.service, source).set(behind)

    # -- applying events -----------------------------------------------------------------------
    async def load_positions(self) -> None:
        async with self.sessionmaker() as session:
            rows = (await session.execute(text("SELECT source, last_seq, last_hash FROM consumer_positions"))).all()
        self.positions = {row.source: Position(row.last_seq, row.last_hash) for row in rows}

    async def apply(self, event: dict[str, Any]) -> None:
        """Apply one event from the broker: skip it, or backfill up to it, then apply it."""
        source, seq = event["source"], event["seq"]
        position = self.positions.setdefault(source, Position())
        if seq <= position.seq:
            CONSUMER_PROCESSED.labels(self.settings.service, source, "duplicate").inc()
            return
        if seq > position.seq + 1:
            await self.backfill(source, until=seq - 1)
        if not self._continues_chain(event):
            log.error("rejected a message that does not verify; the feed will supply the event",
                      service=self.settings.service, source=source, seq=seq, event_id=event.get("id"))
            CONSUMER_PROCESSED.labels(self.settings.service, source, "rejected").inc()
            await self.backfill(source, until=seq)
            return
        await self._apply_one(event, outcome="handled")

    async def backfill(self, source: str, until: int) -> None:
        """Fetch and apply the source's events after our position up to ``until`` from its feed."""
        self.positions.setdefault(source, Position())
        log.info("backfilling from feed", service=self.settings.service, source=source,
                 after=self.positions[source].seq, until=until)
        while (after := self.positions[source].seq) < until:
            events = (await self._feed(source, after, min(FEED_PAGE, until - after)))["events"]
            if not events:  # the source's log ends before ``until``: a message claimed a seq it never wrote
                log.warning("the source's feed ends before the claimed seq", service=self.settings.service,
                            source=source, feed_ends_at=after, claimed=until)
                return
            for event in events:
                if event["seq"] > until:
                    return
                await self._apply_one(event, outcome="backfilled")

    def _continues_chain(self, event: dict[str, Any]) -> bool:
        position = self.positions.setdefault(event["source"], Position())
        return (event["seq"] == position.seq + 1 and event["prev_hash"] == position.hash
                and compute_hash(event) == event["hash"])

    async def _apply_one(self, event: dict[str, Any], *, outcome: str) -> None:
        source, seq = event["source"], event["seq"]
        if not self._continues_chain(event):
            raise ChainBroken(f"{source} event seq {seq} does not continue the verified chain "
                              f"at seq {self.positions[source].seq}")
        handler = self.handlers.get(source, {}).get(event["type"])
        cause = context.causation_id.set(event["id"])
        correlation = context.correlation_id.set(event["correlation_id"])
        try:
            async with self.sessionmaker() as session, session.begin():
                fresh = await session.scalar(text(
                    "INSERT INTO inbox (source, event_id, seq, type) VALUES (:source, :id, :seq, :type) "
                    "ON CONFLICT DO NOTHING RETURNING 1"
                ), dict(source=source, id=event["id"], seq=seq, type=event["type"]))
                if fresh and handler is not None:
                    await handler(session, event)
                await session.execute(text(
                    "INSERT INTO consumer_positions (source, last_seq, last_hash) VALUES (:source, :seq, :hash) "
                    "ON CONFLICT (source) DO UPDATE SET last_seq = EXCLUDED.last_seq, "
                    "last_hash = EXCLUDED.last_hash, updated_at = now()"
                ), dict(source=source, seq=seq, hash=event["hash"]))
        finally:
            context.causation_id.reset(cause)
            context.correlation_id.reset(correlation)
        self.positions[source] = Position(seq, event["hash"])
        CONSUMER_PROCESSED.labels(self.settings.service, source, outcome if fresh else "duplicate").inc()
