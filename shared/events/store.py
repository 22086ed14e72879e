"""The event store: append to a service's log, read it back, verify it.

Guarantees of :func:`append` (rules 2 and 3):

* It runs inside the caller's transaction, so events commit or roll back together with the
  business rows they explain; nothing is visible before commit.
* It takes a transaction-scoped advisory lock, so appends of concurrent transactions serialise:
  sequence numbers are gapless (a rolled-back transaction releases the lock without having
  consumed any number) and every event's ``prev_hash`` is its predecessor's ``hash``.
* One call appends a whole batch under one lock and one round trip (COPY for large batches).
* What does not depend on the chain — above all the canonical JSON of each event's data — can be
  computed before the lock, or while PostgreSQL works on the caller's other rows
  (:func:`prepare`); a caller that must know the seqs before appending takes the lock itself
  (:func:`lock_log`) and passes the tail to :func:`append`. The hash is the same either way.
* It ``pg_notify``s channel :data:`NOTIFY_CHANNEL`, which PostgreSQL delivers at commit, to wake
  the relay.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, AsyncIterator, Mapping, Sequence

import asyncpg
from sqlalchemy import event as sa_event
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from shared import context
from shared.bulk import uuid7s
from shared.db import raw_connection
from shared.events.chain import GENESIS, ChainReport, ChainVerifier, canonical_json, hash_event
from shared.metrics import EVENTS_APPENDED

NOTIFY_CHANNEL = "fupin_events"
#: Advisory lock key of the append path ('fupin' in ASCII); one log per database.
APPEND_LOCK_KEY = 0x667570696E
#: From this many events on, a batch is written with COPY instead of a multi-row INSERT.
COPY_THRESHOLD = 32

COLUMNS = (
    "seq", "id", "source", "type", "subject", "time", "actor",
    "correlation_id", "causation_id", "data", "prev_hash", "hash",
)
_INSERT = (
    f"INSERT INTO events ({', '.join(COLUMNS)}) "
    f"VALUES ({', '.join(f'${i}' for i in range(1, len(COLUMNS) + 1))})"
)
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM events"


@dataclass(frozen=True)
class NewEvent:
    """An event to append. ``actor`` is who did it: {sub, roles, division[, dept]}.

    ``correlation_id`` and ``causation_id`` default to the current request's or consumed
    event's (see :mod:`shared.context`).
    """

    type: str
    subject: str
    data: Mapping[str, Any]
    actor: Mapping[str, Any]
    causation_id: str | None = None
    correlation_id: str | None = None
    time: datetime | None = field(default=None, compare=False)


def format_time(moment: datetime) -> str:
    """The envelope's ``time``: UTC, microseconds, 'Z' — round-trips through timestamptz exactly."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


def _canonical_envelope(
    *, actor: str, causation_id: str | None, correlation_id: str, data: str, id: str,
    prev_hash: str, seq: int, source: str, subject: str, time: str, type: str,
) -> str:
    """JCS of the hashed fields, assembled from already-canonical ``actor`` and ``data`` texts.

    Equal to ``canonical_body(event)`` (a unit test holds them together); assembling it lets the
    same canonical texts go into the jsonb columns without serialising twice.
    """
    return (
        f'{{"actor":{actor},"causation_id":{canonical_json(causation_id)},'
        f'"correlation_id":{canonical_json(correlation_id)},"data":{data},'
        f'"id":{canonical_json(id)},"prev_hash":"{prev_hash}","seq":{seq},'
        f'"source":{canonical_json(source)},"subject":{canonical_json(subject)},'
        f'"time":"{time}","type":{canonical_json(type)}}}'
    )


@dataclass(frozen=True)
class PreparedEvent:
    """An event with everything of its envelope that does not depend on its place in the log: the
    canonical JSON of ``actor`` and ``data`` (the bulk of the work of an append), its time, its
    correlation and causation. :func:`prepare` makes them before the log is locked (or while
    PostgreSQL works on something else); :func:`append` then only numbers, links and hashes them.
    The hash is the same as if the :class:`NewEvent` itself were appended. The event's ``actor`` and
    ``data`` must not change in between: the stored texts are the prepared ones."""

    event: NewEvent
    actor_text: str
    data_text: str
    time_text: str
    moment: datetime
    correlation_id: str | None  # None: the event's own id (assigned in the log)
    causation_id: str | None


@dataclass(frozen=True)
class LogTail:
    """The last event of the log, read under the append lock (:func:`lock_log`)."""

    seq: int
    hash: str


def now(session: AsyncSession) -> datetime:
    """The recorded time of events appended now: the session's clock, else the wall clock."""
    return session.info["clock"].now() if "clock" in session.info else datetime.now(timezone.utc)


def prepare(session: AsyncSession, events: Sequence[NewEvent], *, at: datetime | None = None) -> list[PreparedEvent]:
    """What :func:`append` computes of ``events`` without the log (no I/O, no lock): call it in the
    same context (request or consumed event) as the append, for the default correlation and
    causation ids. ``at``: the recorded time of events without their own (default :func:`now`)."""
    at = now(session) if at is None else at
    batch_time = format_time(at)
    batch_moment = parse_time(batch_time)  # microsecond-exact, as timestamptz stores it
    default_correlation = context.correlation_id.get()
    default_causation = context.causation_id.get()
    out = []
    actor_texts: dict[int, str] = {}  # a batch's events mostly share one actor object
    for new in events:
        time_text = format_time(new.time) if new.time else batch_time
        actor_text = actor_texts.get(id(new.actor))
        if actor_text is None:
            actor_text = actor_texts[id(new.actor)] = canonical_json(dict(new.actor))
        out.append(PreparedEvent(
            new, actor_text, canonical_json(dict(new.data)), time_text,
            batch_moment if time_text is batch_time else parse_time(time_text),
            new.correlation_id or default_correlation, new.causation_id or default_causation))
    return out


async def lock_log(session: AsyncSession) -> LogTail:
    """Take the log's append lock (transaction-scoped) and read its last event. Everything the
    transaction appends from then on (:func:`append` with ``tail``) follows this event."""
    # Through SQLAlchemy, not the raw connection: its asyncpg adapter opens the transaction
    # lazily, on its first statement, and everything below must run inside it.
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": APPEND_LOCK_KEY})
    async with raw_connection(session) as conn:
        last = await conn.fetchrow("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1")
    return LogTail(last["seq"], last["hash"]) if last else LogTail(0, GENESIS)


async def append(session: AsyncSession, events: Sequence[NewEvent | PreparedEvent], *,
                 tail: LogTail | None = None) -> list[dict[str, Any]]:
    """Append ``events`` to the log of the session's service; returns them as envelopes.

    ``events`` may be :class:`PreparedEvent` (see :func:`prepare`). ``tail``: the caller took the
    append lock already (:func:`lock_log`) and has appended nothing since."""
    if not events:
        return []
    source = session.info["service"]
    new_ones = [(i, e) for i, e in enumerate(events) if not isinstance(e, PreparedEvent)]
    prepared: list[PreparedEvent] = list(events)  # type: ignore[arg-type]
    if new_ones:
        for (i, _), p in zip(new_ones, prepare(session, [e for _, e in new_ones])):
            prepared[i] = p
    if tail is None:
        tail = await lock_log(session)
    seq, prev = tail.seq, tail.hash
    records, envelopes = [], []
    for p, event_id in zip(prepared, uuid7s(len(prepared))):
        new = p.event
        seq += 1
        correlation = p.correlation_id or event_id
        causation = p.causation_id
        digest = hash_event(prev, _canonical_envelope(
            actor=p.actor_text, causation_id=causation, correlation_id=correlation,
            data=p.data_text, id=event_id, prev_hash=prev, seq=seq, source=source,
            subject=new.subject, time=p.time_text, type=new.type,
        ))
        records.append((seq, event_id, source, new.type, new.subject, p.moment,
                        p.actor_text, correlation, causation, p.data_text, prev, digest))
        envelopes.append({
            "seq": seq, "id": event_id, "source": source, "type": new.type,
            "subject": new.subject, "time": p.time_text, "actor": dict(new.actor),
            "correlation_id": correlation, "causation_id": causation,
            "data": dict(new.data), "prev_hash": prev, "hash": digest,
        })
        prev = digest
    async with raw_connection(session) as conn:
        if len(records) >= COPY_THRESHOLD:
            await conn.copy_records_to_table("events", records=records, columns=COLUMNS)
        else:
            await conn.executemany(_INSERT, records)
        await conn.execute("SELECT pg_notify($1, $2)", NOTIFY_CHANNEL, str(seq))
    pending = session.info.setdefault("fupin_pending_events", [])
    pending.extend(p.event.type for p in prepared)
    return envelopes


@sa_event.listens_for(Session, "after_commit")
def _count_committed(sync_session: Session) -> None:
    types: list[str] | None = sync_session.info.pop("fupin_pending_events", None)
    if types:
        service = sync_session.info.get("service", "?")
        for event_type, count in Counter(types).items():
            EVENTS_APPENDED.labels(service, event_type).inc(count)


@sa_event.listens_for(Session, "after_rollback")
def _forget_rolled_back(sync_session: Session) -> None:
    sync_session.info.pop("fupin_pending_events", None)


def _json(value: Any) -> Any:
    """jsonb arrives as text from plain asyncpg, already decoded through SQLAlchemy's codec."""
    return json.loads(value) if isinstance(value, (str, bytes)) else value


def record_to_event(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row of ``events`` (asyncpg Record) as the envelope dict that is hashed and published."""
    return {
        "seq": row["seq"],
        "id": str(row["id"]),
        "source": row["source"],
        "type": row["type"],
        "subject": row["subject"],
        "time": format_time(row["time"]),
        "actor": _json(row["actor"]),
        "correlation_id": row["correlation_id"],
        "causation_id": row["causation_id"],
        "data": _json(row["data"]),
        "prev_hash": row["prev_hash"],
        "hash": row["hash"],
    }


async def read_after(conn: asyncpg.Connection, after: int, limit: int) -> list[dict[str, Any]]:
    rows = await conn.fetch(f"{_SELECT} WHERE seq > $1 ORDER BY seq LIMIT $2", after, limit)
    return [record_to_event(row) for row in rows]


async def iter_events(
    conn: asyncpg.Connection, after: int = 0, until: int | None = None, page: int = 5000
) -> AsyncIterator[dict[str, Any]]:
    """Every event with ``after < seq <= until`` in order, read in pages."""
    while True:
        batch = await read_after(conn, after, page)
        for event in batch:
            if until is not None and event["seq"] > until:
                return
            yield event
        if len(batch) < page:
            return
        after = batch[-1]["seq"]


async def last_seq(conn: asyncpg.Connection) -> int:
    return await conn.fetchval("SELECT coalesce(max(seq), 0) FROM events")


async def verify(conn: asyncpg.Connection, from_seq: int = 1, to_seq: int | None = None) -> ChainReport:
    """Re-compute the chain over ``from_seq..to_seq`` (default: to the end) from the rows alone.

    The range is anchored on the stored hash of event ``from_seq - 1`` (GENESIS for 1); a
    missing seq, a broken link or a hash that no longer matches its row is reported as the
    first bad seq.
    """
    from_seq = max(from_seq, 1)
    end = to_seq if to_seq is not None else await last_seq(conn)
    anchor = GENESIS
    if from_seq > 1:
        anchor = await conn.fetchval("SELECT hash FROM events WHERE seq = $1", from_seq - 1)
        if anchor is None:
            return ChainReport(False, 0, None, None, None, from_seq - 1,
                               f"anchor event {from_seq - 1} is missing")
    verifier = ChainVerifier(from_seq, anchor)
    async for event in iter_events(conn, from_seq - 1, end):
        if not verifier.feed(event):
            break
    return verifier.report(expected_last_seq=end)
