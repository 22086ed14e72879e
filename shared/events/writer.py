"""Group commit of standalone appends: concurrent callers share one transaction of the log.

:func:`shared.events.store.append` appends in the caller's transaction — the form every write
with business rows uses (rule 2). A caller whose transaction would hold nothing but its events
pays a whole transaction for them: the append lock, a round trip for the tail, the insert, and
its own WAL flush at commit, one caller after the other behind the lock. An :class:`EventWriter`
(one per process and log) makes one writer do the work of every caller waiting at that moment
(seed: issue #13; PostgreSQL's own WAL group commit; ``eventsourcing``'s persistence guarantees
written as statements first).

Who it is for: a producer whose events *are* the record, with no rows of its own to change in
the same transaction — an adapter feeding another system's facts into a log, a tool that records
what it observed. No service code path uses it today, on purpose: every event a service appends
explains rows it writes in the same transaction (rule 2), so it appends with
:func:`~shared.events.store.append` in that transaction, and concurrent HTTP writes get the same
batching from :mod:`shared.web.group_commit` (one transaction, one lock and one tail read for a
whole group). ``bench/events_append.py`` measures it against the ``eventsourcing`` library.

Guarantees of :meth:`EventWriter.append` (each with a test in
``tests/service/test_event_writer.py``):

1. **Durable when answered.** The call returns the caller's envelopes (seq, hash, …) only after
   the transaction holding them has committed; it raises if that transaction did not commit.
2. **One path.** A group is one transaction that appends every member's events, in order, with
   one call of the store's own path (:func:`shared.events.store.append_locked`: the lock, the
   numbering and hashing, the insert of :func:`shared.events.store.append`), so the chain rules
   of :mod:`shared.events.store` hold unchanged (gapless seqs, every ``prev_hash`` its
   predecessor's ``hash``) and appends in other transactions of any process interleave whole
   groups, never split one. When this writer appended last, a group takes three round trips:
   BEGIN with the lock; the rows, inserted only if the log still ends at the tail this writer
   committed (else the tail is read and the rows linked to it), with the notification; COMMIT.
3. **All or nothing.** A failure anywhere in a group (a row PostgreSQL refuses, a lost
   connection, a crash before commit) writes nothing of the group, and every member's call raises
   that error. Members of one group share their fate: a caller whose events must not wait on
   others' appends them in its own transaction instead. (A connection lost while COMMIT itself is
   under way leaves the outcome unknown, as for any transaction.)
4. **Order.** Members join in call order and the group appends them in that order: within one
   writer, call order is seq order, and one caller's events are contiguous in the log.
5. **Each caller's own context.** Everything of an event that does not depend on its place in
   the log — its canonical JSON, its recorded time (the writer's clock at the call), its
   correlation and causation (the caller's request or consumed event, :mod:`shared.context`) — is
   made in the caller's own call (:func:`shared.events.store.prepare`), before it waits; the
   group's task only numbers, links, hashes and writes.
6. **Bounded groups, no added wait.** A group takes every waiting member up to ``max_events``
   events (a member is never split; one larger than that forms a group alone). Nothing waits for
   company: the members that arrive while a group commits form the next, so a lone caller pays
   one transaction, as with :func:`~shared.events.store.append`.
7. **Cancellation.** A caller cancelled before its group starts is left out (nothing of it is
   written); one cancelled after does not learn the outcome — its events are committed with the
   group or not at all, like a request whose connection dropped. Appends are not idempotent: a
   caller that retries after an unknown outcome may append twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from dataclasses import dataclass
from typing import Any, Sequence

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import raw_connection
from shared.events.store import (
    BEGIN_LOCKED, LogTail, NewEvent, PreparedEvent, _now, _prepare, append_locked, count_committed,
)

__all__ = ["EventWriter"]


@dataclass(frozen=True)
class _Member:
    events: list[PreparedEvent]
    answer: asyncio.Future[list[dict[str, Any]]]


class EventWriter:
    """Appends standalone events with group commit (guarantees above). One per process and log,
    on the service's sessions (:func:`shared.db.make_sessionmaker`: service name and clock)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, max_events: int = 1000):
        if max_events < 1:
            raise ValueError("max_events must be at least 1")
        self.sessions = sessions
        self.max_events = max_events
        self._info: dict[str, Any] = sessions.kw.get("info") or {}
        self.service: str = self._info["service"]
        self._tail: LogTail | None = None  # the log's end after this writer's last commit
        self._waiting: list[_Member] = []
        self._task: asyncio.Task[None] | None = None
        #: Groups committed and events in them, for tests and benchmarks (group size = events / groups).
        self.groups = self.events = 0

    async def append(self, events: Sequence[NewEvent | PreparedEvent]) -> list[dict[str, Any]]:
        """Append ``events`` in a group's transaction; returns them as envelopes once committed."""
        if not events:
            return []
        prepared = _prepare(events, _now(self._info))  # guarantee 5: in the caller's context
        member = _Member(prepared, asyncio.get_running_loop().create_future())
        self._waiting.append(member)
        if self._task is None:
            # its own empty context: the group's work belongs to no one caller's request
            self._task = asyncio.create_task(self._commit_groups(), name="fupin-event-writer",
                                             context=contextvars.Context())
        return await member.answer

    async def drain(self) -> None:
        """Wait until every member that joined so far has its answer."""
        while self._task is not None:
            await asyncio.shield(self._task)

    async def _commit_groups(self) -> None:
        try:
            while group := self._next_group():
                await self._commit(group)
        except BaseException:  # cancelled (the loop shuts down): nothing more will be committed
            for member in self._waiting:
                member.answer.cancel()
            self._waiting.clear()
            raise
        finally:
            self._task = None

    def _next_group(self) -> list[_Member]:
        """The waiting members, in call order, up to ``max_events`` events (at least one member);
        cancelled ones are dropped (guarantee 7)."""
        group: list[_Member] = []
        size = 0
        while self._waiting:
            member = self._waiting[0]
            if member.answer.done():
                self._waiting.pop(0)
                continue
            if group and size + len(member.events) > self.max_events:
                break
            group.append(self._waiting.pop(0))
            size += len(member.events)
        return group

    async def _commit(self, group: list[_Member]) -> None:
        prepared = [p for member in group for p in member.events]
        try:
            async with self.sessions() as session, raw_connection(session) as conn:
                envelopes = await self._append(conn, prepared)
        except Exception as exc:  # guarantee 3: every member gets the group's error
            for member in group:
                if not member.answer.done():
                    member.answer.set_exception(exc)
            return
        except BaseException:  # the writer's task itself is cancelled: nobody learns the outcome
            for member in group:
                if not member.answer.done():
                    member.answer.cancel()
            raise
        self.groups += 1
        self.events += len(envelopes)
        count_committed(self.service, [e["type"] for e in envelopes])
        start = 0
        for member in group:
            end = start + len(member.events)
            if not member.answer.done():
                member.answer.set_result(envelopes[start:end])
            start = end

    async def _append(self, conn: asyncpg.Connection, prepared: list[PreparedEvent]) -> list[dict[str, Any]]:
        """One transaction on the session's driver connection, three round trips when this writer
        appended last: BEGIN and the lock; the rows if the log still ends at this writer's last
        tail, and the notification; COMMIT (guarantee 2: :func:`~shared.events.store.append_locked`)."""
        try:
            await conn.execute(BEGIN_LOCKED)
            envelopes = await append_locked(conn, self.service, prepared, guess=self._tail)
            await conn.execute("COMMIT")
        except BaseException:
            self._tail = None
            if not conn.is_closed() and conn.is_in_transaction():
                with contextlib.suppress(Exception):
                    await conn.execute("ROLLBACK")
            raise
        self._tail = LogTail(envelopes[-1]["seq"], envelopes[-1]["hash"])
        return envelopes
