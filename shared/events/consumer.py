"""The consumer: applies other services' events to this service's read models (rule 5).

Guarantees:

* **Effectively once.** The events of one source taken from one fetch (or one page of its feed)
  are applied in one DB transaction per handler call (a run of events for a :func:`takes_many`
  handler, or one event for a plain one; see :func:`one_handler_each`), together with one bulk ``inbox`` insert of their (source,
  event id) and the source's new position; an event already in the inbox, or at or below the
  source's position, is skipped — so a redelivered batch, or a batch that overlaps one already
  applied, applies each event exactly once. A crash (or a handler failing) mid-transaction rolls
  it back: nothing of it is applied, and the position stays where it was. Kafka offsets
  are committed only after those transactions commit, so a crash re-delivers.
* **Several consumers of one service cooperate.** Worker processes, or members of one consumer
  group that hold different partitions, apply a source's events under one transaction-scoped
  lock of that source in the service's database; each batch first reads the stored position
  and drops what another one applied meanwhile, so the position only moves forward and no
  event is handled twice.
* **In order, without gaps.** Each source's events are applied in seq order (a fetch is sorted by
  seq per source, so partitions that interleave cost no backfill). On a jump (the broker lost
  messages, or a partition is behind another) the missing range is fetched from the source's
  ``GET /events?after=`` feed and applied first. A gap at the *end* of the log shows no jump, so at
  start and whenever it has been idle for ``consumer_catchup_seconds`` the consumer also asks each
  source's feed for its last seq and backfills up to it.
* **Authentic.** Every event must link to the previous one of its source (``prev_hash``) and
  its hash must match its content. The broker is only transport: a message that does not
  verify is rejected (logged, counted) and the authentic event is fetched from the source's
  feed instead. An event from the feed itself that does not verify means the source's log is
  broken: the events before it are applied, then :class:`ChainBroken` halts the consumer (it
  retries every few seconds, logging each time) rather than apply unverifiable data. A message
  claiming a seq the source's log does not have is likewise rejected and skipped.

Handlers are ``async def handler(session, event)``, run with the consumed event as the causation
of anything they append; or, marked :func:`takes_many`, ``async def handler(session, events)``
taking each run of consecutive events of the batch that share the handler, in seq order, so that
a read model can apply them as one statement — such a handler names each consumed event as the
causation (and its correlation) of whatever it appends itself (:func:`caused_by`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from itertools import groupby
from typing import Any, Awaitable, Callable, Mapping, cast

import httpx
from aiokafka import AIOKafkaConsumer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared import context
from shared.auth import service_token
from shared.config import Settings, topic_of
from shared.db import raw_connection
from shared.events.chain import GENESIS, compute_hash
from shared.events.relay import decode_message
from shared.events.topics import ensure_topic
from shared.events.worker import Worker
from shared.logging import get_logger
from shared.metrics import CONSUMER_LAG, CONSUMER_PROCESSED

log = get_logger("fupin.consumer")

OneHandler = Callable[[AsyncSession, dict[str, Any]], Awaitable[None]]
ManyHandler = Callable[[AsyncSession, list[dict[str, Any]]], Awaitable[None]]  # marked with takes_many
Handler = OneHandler | ManyHandler
FEED_PAGE = 500
#: One statement records a batch's events in the inbox; only the new ones come back.
_INBOX = text(
    "INSERT INTO inbox (source, event_id, seq, type) "
    "SELECT :source, * FROM unnest(CAST(:ids AS uuid[]), CAST(:seqs AS bigint[]), CAST(:types AS text[])) "
    "ON CONFLICT DO NOTHING RETURNING event_id::text"
)
_APPLY_LOCK = text("SELECT pg_advisory_xact_lock(hashtext(:key))")
_READ_POSITION = text("SELECT last_seq, last_hash FROM consumer_positions WHERE source = :source")
_POSITION = (
    "INSERT INTO consumer_positions (source, last_seq, last_hash) VALUES ($1, $2, $3) "
    "ON CONFLICT (source) DO UPDATE SET last_seq = EXCLUDED.last_seq, "
    "last_hash = EXCLUDED.last_hash, updated_at = now()"
)


def takes_many(handler: ManyHandler) -> ManyHandler:
    """Mark ``handler`` as one that applies a run of consecutive events at once (see the module)."""
    handler.takes_many = True  # type: ignore[attr-defined]
    return handler


def caused_by(event: Mapping[str, Any]) -> dict[str, str]:
    """The causation and correlation of what a handler appends because of ``event``
    (``NewEvent(..., **caused_by(event))``)."""
    return {"causation_id": event["id"], "correlation_id": event["correlation_id"]}


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
            await ensure_topic(self.settings.broker, topic, self.settings.topic_partitions,
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
                if batches:
                    await self.apply_many([decode_message(m.value) for ms in batches.values() for m in ms])
                    await kafka.commit({partition: ms[-1].offset + 1 for partition, ms in batches.items()})
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
        """Apply one event from the broker (see :meth:`apply_many`)."""
        await self.apply_many([event])

    async def apply_many(self, events: list[dict[str, Any]]) -> None:
        """Apply events from the broker, of any sources in any order: per source in seq order,
        skipping what was applied, backfilling jumps, rejecting what does not verify; the verified
        events between two such interruptions go into one transaction."""
        by_source: dict[str, dict[int, dict[str, Any]]] = {}
        for event in events:
            by_source.setdefault(event["source"], {}).setdefault(event["seq"], event)
        for source, by_seq in by_source.items():
            await self._apply_source(source, [by_seq[seq] for seq in sorted(by_seq)])

    async def _apply_source(self, source: str, events: list[dict[str, Any]]) -> None:
        run: list[dict[str, Any]] = []
        for event in events:
            seq = event["seq"]
            tail = Position(run[-1]["seq"], run[-1]["hash"]) if run else self.positions.setdefault(source, Position())
            if seq <= tail.seq:
                CONSUMER_PROCESSED.labels(self.settings.service, source, "duplicate").inc()
                continue
            if seq == tail.seq + 1 and _continues(event, tail):
                run.append(event)
                continue
            await self._apply_batch(source, run, outcome="handled")
            run = []
            if seq > tail.seq + 1:
                await self.backfill(source, until=seq - 1)
            if _continues(event, self.positions[source]):
                run.append(event)
            elif seq > self.positions[source].seq:
                log.error("rejected a message that does not verify; the feed will supply the event",
                          service=self.settings.service, source=source, seq=seq, event_id=event.get("id"))
                CONSUMER_PROCESSED.labels(self.settings.service, source, "rejected").inc()
                await self.backfill(source, until=seq)
        await self._apply_batch(source, run, outcome="handled")

    async def backfill(self, source: str, until: int) -> None:
        """Fetch and apply the source's events after our position up to ``until`` from its feed,
        a page per transaction."""
        self.positions.setdefault(source, Position())
        log.info("backfilling from feed", service=self.settings.service, source=source,
                 after=self.positions[source].seq, until=until)
        while (after := self.positions[source].seq) < until:
            events = (await self._feed(source, after, min(FEED_PAGE, until - after)))["events"]
            if not events:  # the source's log ends before ``until``: a message claimed a seq it never wrote
                log.warning("the source's feed ends before the claimed seq", service=self.settings.service,
                            source=source, feed_ends_at=after, claimed=until)
                return
            page = [event for event in events if event["seq"] <= until]
            verified = _verified_prefix(page, self.positions[source])
            await self._apply_batch(source, verified, outcome="backfilled")
            if len(verified) < len(page):
                raise ChainBroken(f"{source} event seq {page[len(verified)]['seq']} does not continue the "
                                  f"verified chain at seq {self.positions[source].seq}")
            if len(page) < len(events):
                return

    async def _claim(self, session: AsyncSession, source: str, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Take the source's apply lock in this database and drop what another consumer of this
        service (another worker process, another partition's member of the group) applied since
        our position was read: the events of ``events`` still to apply."""
        await session.execute(_APPLY_LOCK, {"key": f"fupin.consumer.{source}"})
        row = (await session.execute(_READ_POSITION, {"source": source})).first()
        if row is not None and row.last_seq > self.positions[source].seq:
            self.positions[source] = Position(row.last_seq, row.last_hash)
            skipped = [e for e in events if e["seq"] <= row.last_seq]
            if skipped:
                CONSUMER_PROCESSED.labels(self.settings.service, source, "duplicate").inc(len(skipped))
            events = events[len(skipped):]
        return events

    async def _apply_batch(self, source: str, events: list[dict[str, Any]], *, outcome: str) -> None:
        """Apply ``events`` — verified, consecutive, continuing the source's position — a
        transaction per :func:`one_handler_each` part."""
        for part in one_handler_each(events, self.handlers.get(source, {})):
            await self._apply_part(source, part, outcome=outcome)

    async def _apply_part(self, source: str, events: list[dict[str, Any]], *, outcome: str) -> None:
        """One transaction: the inbox rows, the handler of the new events, the position once."""
        if not events:
            return
        async with self.sessionmaker() as session, session.begin():
            # through the session: its first statement opens the transaction (see raw_connection)
            events = await self._claim(session, source, events)
            if not events:
                return
            fresh = set((await session.execute(_INBOX, dict(
                source=source, ids=[e["id"] for e in events], seqs=[e["seq"] for e in events],
                types=[e["type"] for e in events]))).scalars())
            await run_handlers(session, self.handlers.get(source, {}), [e for e in events if e["id"] in fresh])
            async with raw_connection(session) as conn:
                await conn.execute(_POSITION, source, events[-1]["seq"], events[-1]["hash"])
        self.positions[source] = Position(events[-1]["seq"], events[-1]["hash"])
        counter = CONSUMER_PROCESSED.labels(self.settings.service, source, outcome)
        counter.inc(len(fresh))
        if len(fresh) < len(events):
            CONSUMER_PROCESSED.labels(self.settings.service, source, "duplicate").inc(len(events) - len(fresh))


def one_handler_each(events: list[dict[str, Any]], handlers: Mapping[str, Handler]) -> list[list[dict[str, Any]]]:
    """``events`` cut into parts, each with at most one handler call: one event of a plain
    handler, or a run of a :func:`takes_many` handler (events without a handler go along with
    any part). A handler locks rows and then the log (its append), as requests do; two handler
    calls in one transaction would lock rows after the log and could deadlock with a request."""
    parts: list[list[dict[str, Any]]] = [[]]
    current: Handler | None = None
    for event in events:
        handler = handlers.get(event["type"])
        if handler is not None:
            if current is not None and not (handler is current and getattr(handler, "takes_many", False)):
                parts.append([])
            current = handler
        parts[-1].append(event)
    return parts


async def run_handlers(session: AsyncSession, handlers: Mapping[str, Handler], events: list[dict[str, Any]]) -> None:
    """Run each event's handler (of ``handlers``: {event type: handler}) in order; a run of
    consecutive events sharing a :func:`takes_many` handler (events without a handler between
    them do not break it) goes to it in one call."""
    handled = [e for e in events if e["type"] in handlers]
    for handler, run in groupby(handled, key=lambda e: handlers[e["type"]]):
        if getattr(handler, "takes_many", False):
            await cast(ManyHandler, handler)(session, list(run))
            continue
        for event in run:
            cause = context.causation_id.set(event["id"])
            correlation = context.correlation_id.set(event["correlation_id"])
            try:
                await cast(OneHandler, handler)(session, event)
            finally:
                context.causation_id.reset(cause)
                context.correlation_id.reset(correlation)


def _continues(event: Mapping[str, Any], tail: Position) -> bool:
    return (event["seq"] == tail.seq + 1 and event["prev_hash"] == tail.hash
            and compute_hash(event) == event["hash"])


def _verified_prefix(events: list[dict[str, Any]], tail: Position) -> list[dict[str, Any]]:
    """The leading events that continue the chain from ``tail``, one after another."""
    out = []
    for event in events:
        if not _continues(event, tail):
            break
        out.append(event)
        tail = Position(event["seq"], event["hash"])
    return out
