"""The event store: append to a service's log, read it back, verify it.

Two ways in, one path for the log. :func:`append` appends in the caller's transaction — every
write that changes business rows uses it, so its rows and its events commit together (rule 2).
:class:`shared.events.writer.EventWriter` appends *standalone* events (a transaction that would
hold nothing else) with group commit: the callers waiting at one moment share one transaction,
which calls :func:`append` once with all their events (its own guarantees are in that module).

Guarantees of :func:`append` (rules 2 and 3):

1. It runs inside the caller's transaction, so events commit or roll back together with the
   business rows they explain; nothing is visible before commit.
2. It takes a transaction-scoped advisory lock, so appends of concurrent transactions serialise:
   sequence numbers are gapless (a rolled-back transaction releases the lock without having
   consumed any number) and every event's ``prev_hash`` is its predecessor's ``hash``. The tail
   is read in a statement after the one that took the lock (a statement sees the snapshot of its
   own start, under READ COMMITTED).
3. One call appends a whole batch under one lock, in order, its seqs contiguous: from
   :data:`COPY_THRESHOLD` events on by COPY, whose rows are hashed while the first ones are
   already on their way (the notification is queued by the statement that read the tail); below
   it by one prepared statement (multi-row INSERT from column arrays that also queues the
   notification) — one round trip.
4. What does not depend on the chain — above all the canonical JSON of each event's data — can be
   computed before the lock, or while PostgreSQL works on the caller's other rows
   (:func:`prepare`); a caller that must know the seqs before appending takes the lock itself
   (:func:`lock_log`) and passes the tail to :func:`append`. The hash is the same either way.
   Seqs and hashes are made in one place only (:func:`_link`), whichever way in.
5. **The tail is read once per transaction.** Once a transaction holds the lock, the tail it read
   is kept in the session (:func:`held_tail`) and moved on by each append, so later appends and
   :func:`lock_log` calls of the same transaction — the members of a group commit, a posting after
   a posting — neither lock again nor read the tail again. It is forgotten whenever any
   transaction or savepoint of the session ends (commit, rollback, release): after a savepoint the
   next append reads the tail again, unless the code that ended it knows the tail still holds and
   says so (:func:`keep_tail` — the group commit does, around each member's savepoint). So a
   savepoint around an append must be the session's (``begin_nested``): one opened on the driver
   connection (``conn.transaction()``, ``SAVEPOINT``) is invisible to the session, and rolling it
   back would undo the events — and release the advisory lock — while the tail stayed held.
   A caller may take the lock in a statement of its own (:data:`LOCK_EXPRESSION`: the group
   commit's claim of its keys) and say so (:func:`took_lock`); the tail is then read by the next
   statement that needs it — :func:`lock_log` and :func:`append` read it without locking again,
   or the caller's own next statement reads it (:data:`TAIL`) and says so (:func:`tail_read`). Never
   the statement that took the lock (see 2). Either mark is forgotten as the tail is.
6. It ``pg_notify``s channel :data:`NOTIFY_CHANNEL`, which PostgreSQL delivers at commit, to wake
   the relay; the Merkle tree is grown after commit by the checkpointer (:mod:`shared.events.tree`),
   so nothing of it is on this path.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from hashlib import sha256
from typing import Any, AsyncIterator, Iterator, Mapping, NamedTuple, Sequence

import asyncpg
import orjson
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from shared import context
from shared.bulk import uuid7s
from shared.db import fetch, raw_connection
from shared.events.chain import GENESIS, ChainReport, ChainVerifier, canonical_json
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
_TYPES = ("bigint", "uuid", "text", "text", "text", "timestamptz", "json", "text", "text", "json", "text", "text")
#: Below ``COPY_THRESHOLD``: one statement (prepared once per connection by asyncpg's statement
#: cache) inserts every row from column arrays and queues the relay's notification.
_INSERT_NOTIFY = (
    f"WITH added AS (INSERT INTO events ({', '.join(COLUMNS)}) "
    f"SELECT * FROM unnest({', '.join(f'${i}::{t}[]' for i, t in enumerate(_TYPES, 1))})) "
    f"SELECT pg_notify(${len(_TYPES) + 1}, ${len(_TYPES) + 2})"
)
_NOTIFY = "SELECT pg_notify($1, $2)"
_TAIL = "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1"
#: The log's last event (no row: the log is empty), for a caller that reads it in a statement of its
#: own after the one that took the lock (see 5, :func:`tail_read`).
TAIL = _TAIL
_LOCK = "SELECT pg_advisory_xact_lock($1)"
#: The lock, for a caller that takes it in a statement of its own (see 5, :func:`took_lock`).
LOCK_EXPRESSION = f"pg_advisory_xact_lock({APPEND_LOCK_KEY})"
#: The tail and, in the same round trip, the notification a COPY of $2 events after it will need
#: (one row also for an empty log).
_TAIL_NOTIFY = (
    "SELECT t.seq, t.hash, pg_notify($1, (coalesce(t.seq, 0) + $2)::text) FROM (SELECT 1) AS one "
    "LEFT JOIN LATERAL (SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1) AS t ON true"
)
_N = len(_TYPES)
#: :data:`_INSERT_NOTIFY` only if the log still ends at the guessed tail (seq, hash); answers the
#: rows inserted (no row, and no notification, if none). Its snapshot is taken after the lock was
#: (a statement of its own), so it sees every committed append; the guess is the tail its caller
#: committed last. Both conditions are index look-ups whatever the plan (``seq > $n`` in a
#: generic plan of a prepared statement can become a scan of the whole log).
_INSERT_IF_TAIL = (
    f"WITH added AS (INSERT INTO events ({', '.join(COLUMNS)}) "
    f"SELECT * FROM unnest({', '.join(f'${i}::{t}[]' for i, t in enumerate(_TYPES, 1))}) "
    f"WHERE (SELECT coalesce(max(seq), 0) FROM events) = ${_N + 3} "
    f"AND (${_N + 3} = 0 OR EXISTS (SELECT 1 FROM events WHERE seq = ${_N + 3} AND hash = ${_N + 4})) RETURNING 1) "
    f"SELECT c.n FROM (SELECT count(*) AS n FROM added) AS c "
    f"CROSS JOIN LATERAL (SELECT pg_notify(${_N + 1}, ${_N + 2}) WHERE c.n > 0) AS notified"
)
#: Opens a transaction and takes the append lock in one round trip (a simple-query script).
BEGIN_LOCKED = f"BEGIN; SELECT pg_advisory_xact_lock({APPEND_LOCK_KEY})"
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
    actor: str, causation_id: str | None, correlation_id: str, data: str, id: str,
    prev_hash: str, seq: int, source: str, subject: str, time: str, type: str,
) -> bytes:
    """JCS (UTF-8) of the hashed fields, assembled from already-canonical ``actor`` and ``data``.

    Equal to ``canonical_body(event).encode()`` (a unit test holds them together, also over
    arbitrary strings); assembling it lets the same canonical texts go into the json columns
    without serialising twice. The keys are written in RFC 8785 order (they are ASCII); orjson
    escapes the strings as RFC 8785 does (:func:`shared.events.chain.canonical_json`).
    """
    return orjson.dumps({
        "actor": orjson.Fragment(actor), "causation_id": causation_id, "correlation_id": correlation_id,
        "data": orjson.Fragment(data), "id": id, "prev_hash": prev_hash, "seq": seq, "source": source,
        "subject": subject, "time": time, "type": type,
    })


class PreparedEvent(NamedTuple):
    """An event with everything of its envelope that does not depend on its place in the log: the
    canonical JSON of ``actor`` and ``data`` (the bulk of the work of an append), its time, its
    correlation and causation. :func:`prepare` makes them before the log is locked (or while
    PostgreSQL works on something else); :func:`append` then only numbers, links and hashes them.
    The hash is the same as if the :class:`NewEvent` itself were appended. The event's ``actor`` and
    ``data`` must not change in between: the stored texts are the prepared ones. (A named tuple:
    made for every event appended, it costs a fifth of a frozen dataclass.)"""

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
    return _now(session.info)


def _now(info: Mapping[str, Any]) -> datetime:
    return info["clock"].now() if "clock" in info else datetime.now(timezone.utc)


def prepare(session: AsyncSession, events: Sequence[NewEvent], *, at: datetime | None = None) -> list[PreparedEvent]:
    """What :func:`append` computes of ``events`` without the log (no I/O, no lock): call it in the
    same context (request or consumed event) as the append, for the default correlation and
    causation ids. ``at``: the recorded time of events without their own (default :func:`now`)."""
    return _prepare(events, now(session) if at is None else at)


def _prepare(events: Sequence[NewEvent | PreparedEvent], at: datetime) -> list[PreparedEvent]:
    """:func:`prepare`, leaving events prepared already as they are."""
    batch_time = format_time(at)
    batch_moment = parse_time(batch_time)  # microsecond-exact, as timestamptz stores it
    default_correlation = context.correlation_id.get()
    default_causation = context.causation_id.get()
    out = []
    actor_texts: dict[int, str] = {}  # a batch's events mostly share one actor object
    for new in events:
        if isinstance(new, PreparedEvent):
            out.append(new)
            continue
        time_text = format_time(new.time) if new.time else batch_time
        actor_text = actor_texts.get(id(new.actor))
        if actor_text is None:
            actor_text = actor_texts[id(new.actor)] = canonical_json(dict(new.actor))
        out.append(PreparedEvent(
            new, actor_text, canonical_json(dict(new.data)), time_text,
            batch_moment if time_text is batch_time else parse_time(time_text),
            new.correlation_id or default_correlation, new.causation_id or default_causation))
    return out


#: session.info key of the tail the session's transaction holds under the lock (see 5)
_HELD = "fupin_log_tail"
#: session.info key: the transaction took the lock in a statement of the caller's, tail not read (see 5)
_LOCKED = "fupin_log_locked"


async def lock_log(session: AsyncSession) -> LogTail:
    """Take the log's append lock (transaction-scoped) and read its last event — or, if this
    transaction holds the lock already, the tail it holds, or only the tail if it took the lock
    without reading it (see 5). Everything the transaction appends from then on (:func:`append`)
    follows this event."""
    # shared.db.fetch: on the driver connection (prepared once per connection) once the session's
    # transaction is open, else through SQLAlchemy, whose adapter opens it on its first statement.
    # Two statements, not one: under READ COMMITTED a statement reads the snapshot taken when it
    # started, so a tail read in the statement that waited for the lock could miss its events.
    held = held_tail(session)
    if held is None:
        held = session.info[_HELD] = await _lock_and_read_tail(session, notify_after=0)
    return held


def held_tail(session: AsyncSession) -> LogTail | None:
    """The tail this session's transaction holds under the append lock, if it took the lock and no
    transaction or savepoint of the session has ended since (see 5)."""
    return session.info.get(_HELD)


def log_locked(session: AsyncSession) -> bool:
    """Whether this session's transaction holds the append lock (and no transaction or savepoint
    of the session has ended since, see 5) — its tail read (:func:`held_tail`) or not yet."""
    return _HELD in session.info or _LOCKED in session.info


def took_lock(session: AsyncSession) -> None:
    """Say that the session's transaction has just taken the append lock in a statement of the
    caller's (:data:`LOCK_EXPRESSION`), outside any savepoint, and has not read the tail: the next
    :func:`lock_log` or :func:`append` reads it without locking again (see 5)."""
    if _HELD not in session.info:
        session.info[_LOCKED] = True


def tail_read(session: AsyncSession, seq: int | None, hash: str | None) -> LogTail:
    """Say that the caller read the tail (:data:`TAIL`; ``None, None``: no row, an empty log) in a
    statement of its own, after the one that took the lock (:func:`took_lock`): the tail held from
    now on (see 5)."""
    if _LOCKED not in session.info:
        raise RuntimeError("the log's tail was read without its lock, or the lock was forgotten since")
    del session.info[_LOCKED]
    tail = session.info[_HELD] = LogTail(seq, hash) if seq is not None and hash is not None else LogTail(0, GENESIS)
    return tail


def keep_tail(session: AsyncSession, tail: LogTail | None) -> None:
    """Say that ``tail`` is (still) the log's tail in this session's transaction, which holds the
    lock — for code that ended a savepoint and knows what it left: released, the tail as it was
    before the release; rolled back, the tail from before the savepoint began."""
    if tail is None:
        session.info.pop(_HELD, None)
    else:
        session.info[_HELD] = tail


async def _lock_and_read_tail(session: AsyncSession, *, notify_after: int) -> LogTail:
    """The lock (unless the transaction took it already, see 5) and then, in a statement of its
    own, the tail."""
    if session.info.pop(_LOCKED, None) is None:
        await fetch(session, _LOCK, APPEND_LOCK_KEY)
    async with raw_connection(session) as conn:
        return await _read_tail(conn, notify_after=notify_after)


async def _read_tail(conn: asyncpg.Connection, *, notify_after: int) -> LogTail:
    """The log's last event, read under the lock. ``notify_after`` > 0: the same round trip queues
    the relay's notification of the seq that many events on (what a COPY would send after it)."""
    if notify_after:
        last = await conn.fetchrow(_TAIL_NOTIFY, NOTIFY_CHANNEL, notify_after)
        return LogTail(last["seq"], last["hash"]) if last["seq"] is not None else LogTail(0, GENESIS)
    last = await conn.fetchrow(_TAIL)
    return LogTail(last["seq"], last["hash"]) if last else LogTail(0, GENESIS)


async def append(session: AsyncSession, events: Sequence[NewEvent | PreparedEvent], *,
                 tail: LogTail | None = None) -> list[dict[str, Any]]:
    """Append ``events`` to the log of the session's service, in the session's transaction;
    returns them as envelopes.

    ``events`` may be :class:`PreparedEvent` (see :func:`prepare`). ``tail``: the caller took the
    append lock already (:func:`lock_log`) and has appended nothing since; without it, the tail
    the transaction holds (see 5), else the lock is taken and the tail read."""
    if not events:
        return []
    prepared = _prepare(events, now(session))
    count = len(prepared)
    tail = tail or held_tail(session)
    notified = tail is None and count >= COPY_THRESHOLD
    if tail is None:
        tail = await _lock_and_read_tail(session, notify_after=count if notified else 0)
    envelopes: list[dict[str, Any]] = []
    records = _link(session.info["service"], prepared, tail, envelopes)
    async with raw_connection(session) as conn:
        await _write(conn, records, count, tail.seq + count, notified=notified)
    session.info[_HELD] = LogTail(tail.seq + count, envelopes[-1]["hash"])
    pending = session.info.setdefault("fupin_pending_events", [])
    pending.extend(p.event.type for p in prepared)
    return envelopes


def _link(source: str, prepared: Sequence[PreparedEvent], tail: LogTail,
          envelopes: list[dict[str, Any]]) -> Iterator[tuple]:
    """Number, link and hash ``prepared`` after ``tail``: yields each event's row, lazily (COPY
    sends the first rows while the later ones are hashed) and adds its envelope to ``envelopes``.
    The one place where seqs and hashes are made, for every append."""
    seq, prev = tail.seq, tail.hash
    for p, event_id in zip(prepared, uuid7s(len(prepared))):
        new = p.event
        seq += 1
        correlation = p.correlation_id or event_id
        causation = p.causation_id
        digest = sha256(prev.encode("ascii") + _canonical_envelope(  # positional: it runs per event
            p.actor_text, causation, correlation, p.data_text, event_id, prev, seq, source,
            new.subject, p.time_text, new.type)).hexdigest()
        envelopes.append({
            "seq": seq, "id": event_id, "source": source, "type": new.type,
            "subject": new.subject, "time": p.time_text, "actor": dict(new.actor),
            "correlation_id": correlation, "causation_id": causation,
            "data": dict(new.data), "prev_hash": prev, "hash": digest,
        })
        yield (seq, event_id, source, new.type, new.subject, p.moment,
               p.actor_text, correlation, causation, p.data_text, prev, digest)
        prev = digest


async def append_locked(conn: asyncpg.Connection, source: str, prepared: Sequence[PreparedEvent], *,
                        guess: LogTail | None = None) -> list[dict[str, Any]]:
    """Append ``prepared`` on a connection whose open transaction holds the append lock
    (:data:`BEGIN_LOCKED`); returns the envelopes. With ``guess`` — the tail this caller committed
    last — a batch below ``COPY_THRESHOLD`` is linked to it and inserted by one statement that
    writes only if the log still ends there (seq and hash); otherwise, or if not, the tail is read
    first. Either way the rows are those :func:`append` would write after the actual tail."""
    count = len(prepared)
    if guess is not None and count < COPY_THRESHOLD:
        envelopes: list[dict[str, Any]] = []
        columns = map(list, zip(*_link(source, prepared, guess, envelopes)))
        if await conn.fetchval(_INSERT_IF_TAIL, *columns, NOTIFY_CHANNEL, str(guess.seq + count),
                               guess.seq, guess.hash):
            return envelopes
    copy = count >= COPY_THRESHOLD
    tail = await _read_tail(conn, notify_after=count if copy else 0)
    envelopes = []
    await _write(conn, _link(source, prepared, tail, envelopes), count, tail.seq + count, notified=copy)
    return envelopes


async def _write(conn: asyncpg.Connection, records: Iterator[tuple], count: int, last: int, *,
                 notified: bool) -> None:
    """Insert the rows (COPY from ``COPY_THRESHOLD`` on, else one prepared multi-row INSERT that
    also notifies) and notify the relay of seq ``last`` unless the tail's read did (``notified``)."""
    if count >= COPY_THRESHOLD:
        await conn.copy_records_to_table("events", records=records, columns=COLUMNS)
        if not notified:
            await conn.execute(_NOTIFY, NOTIFY_CHANNEL, str(last))
    else:
        await conn.execute(_INSERT_NOTIFY, *map(list, zip(*records)), NOTIFY_CHANNEL, str(last))


@sa_event.listens_for(Session, "after_commit")
def _count_committed(sync_session: Session) -> None:
    types: list[str] | None = sync_session.info.pop("fupin_pending_events", None)
    if types:
        count_committed(sync_session.info.get("service", "?"), types)


def count_committed(service: str, types: Sequence[str]) -> None:
    """The appended-events counter, once per type: call after the commit."""
    for event_type, count in Counter(types).items():
        EVENTS_APPENDED.labels(service, event_type).inc(count)


@sa_event.listens_for(Session, "after_rollback")
def _forget_rolled_back(sync_session: Session) -> None:
    sync_session.info.pop("fupin_pending_events", None)


@sa_event.listens_for(Session, "after_transaction_end")
def _forget_tail(sync_session: Session, transaction: SessionTransaction) -> None:
    """A transaction or a savepoint ended: the held tail may be gone with it (see 5). Not the
    subtransactions a flush opens and closes within them (neither nested nor outermost)."""
    if transaction.nested or transaction.parent is None:
        sync_session.info.pop(_HELD, None)
        sync_session.info.pop(_LOCKED, None)


def _json(value: Any) -> Any:
    """json arrives as text from plain asyncpg, already decoded through SQLAlchemy's codec."""
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
