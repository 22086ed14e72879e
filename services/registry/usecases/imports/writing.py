"""Writing an import in the caller's transaction: households, persons, incomes and the status history
with COPY on the session's asyncpg connection, and the ``registry.households.imported`` (and
``exits_imported``) events that explain them (rule 2), in the compact form of
``services.registry.contract``.

A pipeline: the parse thread builds the COPY rows batch by batch (``rows.py``); each batch the
database checks find clean is copied (:class:`Loader`) while the thread parses the next one. The
events — canonical JSON of their data, the bulk of their cost — are prepared in a thread while
PostgreSQL ingests the last batches; then the log is locked, the events are numbered, hashed and
copied, and the status history (which carries their seqs) goes last."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from services.registry.contract import HOUSEHOLD_FIELDS, HOUSEHOLDS_EXITS_IMPORTED, HOUSEHOLDS_IMPORTED, MEMBER_FIELDS
from services.registry.usecases.imports.rows import (
    HOUSEHOLD_COLUMNS,
    INCOME_COLUMNS,
    PERSON_COLUMNS,
    STATUS_COLUMNS,
    Batch,
    Dec31,
)
from services.registry.usecases.imports.validation import Parsed, Progress
from shared.events import NewEvent, append
from shared.events.store import PreparedEvent, prepare

#: Households per ``registry.households.imported`` event.
CHUNK = 200
#: Chunk events appended per ``append`` call (≥ 32 goes through COPY).
EVENTS_PER_APPEND = 50


class Loader:
    """Copies each clean batch of rows (``Lookups(load=…)``): at once while the file is still being
    parsed (``overlap``), or — the sequential path, kept for comparison — held until the whole
    file and the database checks have passed (:meth:`rest`)."""

    def __init__(self, conn: asyncpg.Connection, *, overlap: bool, total: int | None = None,
                 progress: Progress | None = None) -> None:
        self.conn = conn
        self.overlap = overlap
        self.held: list[Batch] = []
        self.households = self.persons = 0
        self.progress = progress
        self.total = total

    async def __call__(self, batch: Batch) -> None:
        if self.overlap:
            await self._copy(batch)
        else:
            self.held.append(batch)

    async def rest(self) -> None:
        """Copy the batches held back (none with ``overlap``)."""
        while self.held:
            await self._copy(self.held.pop(0))

    async def _copy(self, batch: Batch) -> None:
        conn = self.conn
        await conn.copy_records_to_table("households", records=batch.households, columns=HOUSEHOLD_COLUMNS)
        await conn.copy_records_to_table("persons", records=batch.persons, columns=PERSON_COLUMNS)
        if batch.incomes:
            await conn.copy_records_to_table("household_incomes", records=batch.incomes, columns=INCOME_COLUMNS)
        self.households += len(batch.households)
        self.persons += len(batch.persons)
        if self.progress is not None and not self.overlap:
            self.progress("write", self.persons, self.total)


Chunk = tuple[list[list[Any]], list[dict[str, Any]], list[tuple]]  # (imported, exits, status stubs)


def chunks_of(parsed: Parsed) -> list[Chunk]:
    """The event payloads of the households, :data:`CHUNK` at a time, in the order of the file, and
    the stubs of their status rows: (household id, registered_on, exited_on or None)."""
    dec31 = Dec31()
    chunks: list[Chunk] = []
    current: list[list[Any]] = []
    exits: list[dict[str, Any]] = []
    stubs: list[tuple] = []
    for household in parsed.households.values():
        year = household.registered_year
        assert year is not None  # a checked import
        reg = dec31(year)
        exit_year = household.exit_year
        exit_ = None if exit_year is None else dec31(exit_year)
        current.append([household.id, household.number, household.division,
                        "registered" if exit_ is None else "exited", household.poverty_attribute,
                        household.main_cause, year, reg[1], exit_year, exit_ and exit_[1], household.net_fen,
                        household.members])
        stubs.append((household.id, reg[0], exit_ and exit_[0]))
        if exit_ is not None:
            exits.append({"id": household.id, "number": household.number, "exit_year": exit_year,
                          "exited_on": exit_[1]})
        if len(current) == CHUNK:
            chunks.append((current, exits, stubs))
            current, exits, stubs = [], [], []
    if current:
        chunks.append((current, exits, stubs))
    return chunks


def prepare_events(session, parsed: Parsed, *, import_id: str, actor: dict, now: datetime
                   ) -> tuple[list[PreparedEvent], list[tuple[int, int | None, list[tuple]]]]:
    """The import's events, prepared for the log (canonical JSON, no lock, no I/O: run it in a
    thread while PostgreSQL copies rows), and per chunk (its imported event's index, its
    exits_imported event's index or None, its status stubs)."""
    chunks = chunks_of(parsed)
    count = len(chunks)
    digest = parsed.file_sha256
    events: list[NewEvent] = []
    slots: list[tuple[int, int | None, list[tuple]]] = []
    for n, (imported, exits, stubs) in enumerate(chunks, start=1):
        events.append(NewEvent(HOUSEHOLDS_IMPORTED, import_id, {
            "import_id": import_id, "file_sha256": digest, "chunk": n, "chunks": count,
            "household_fields": HOUSEHOLD_FIELDS, "member_fields": MEMBER_FIELDS,
            "households": imported}, actor))
        exits_at = None
        if exits:
            events.append(NewEvent(HOUSEHOLDS_EXITS_IMPORTED, import_id, {
                "import_id": import_id, "file_sha256": digest, "chunk": n, "chunks": count,
                "households": exits}, actor))
            exits_at = len(events) - 1
        slots.append((len(events) - 1 if exits_at is None else len(events) - 2, exits_at, stubs))
    return prepare(session, events, at=now), slots


async def append_events(session, conn: asyncpg.Connection, events: list[PreparedEvent],
                        slots: list[tuple[int, int | None, list[tuple]]], *, total: int,
                        progress: Progress | None) -> int:
    """Append the prepared events, :data:`EVENTS_PER_APPEND` per append, then COPY the status
    history, whose rows carry the events' seqs. Returns the events written."""
    # The events go last: append serialises on the log's advisory lock, held from then to commit.
    # Their large jsonb values are compressed with lz4 where the server has it (pglz costs ~3x the
    # CPU); SET LOCAL ends with the transaction.
    if await conn.fetchval("SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"):
        await conn.execute("SET LOCAL default_toast_compression = 'lz4'")
    seqs: list[int] = []
    for first in range(0, len(events), EVENTS_PER_APPEND):
        stored = await append(session, events[first:first + EVENTS_PER_APPEND])
        seqs.extend(e["seq"] for e in stored)
        if progress is not None:
            progress("write", int(total * (0.8 + 0.15 * min(first + EVENTS_PER_APPEND, len(events)) / len(events))),
                     total)
    status_rows: list[tuple] = []
    add = status_rows.append
    for imported_at, exits_at, stubs in slots:
        seq = seqs[imported_at]
        exit_seq = seqs[exits_at] if exits_at is not None else None
        for hid, reg_on, exit_on in stubs:
            add((hid, seq, "registered", reg_on))
            if exit_on is not None:
                add((hid, exit_seq, "exited", exit_on))
    await conn.copy_records_to_table("household_status_history", records=status_rows, columns=STATUS_COLUMNS)
    return len(seqs)
