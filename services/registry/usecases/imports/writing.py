"""Writing a checked import in the caller's transaction: households, persons, incomes and the status
history with COPY on the session's asyncpg connection, and the ``registry.households.imported``
(and ``exits_imported``) events that explain them (rule 2), in the compact form of
``services.registry.contract``. A pipeline: a thread prepares the next batch of rows while
PostgreSQL ingests the current one."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date
from typing import Any, Iterator

import asyncpg

from services.registry.contract import HOUSEHOLD_FIELDS, HOUSEHOLDS_EXITS_IMPORTED, HOUSEHOLDS_IMPORTED, MEMBER_FIELDS
from services.registry.usecases.imports.validation import Parsed, Progress
from shared.bulk import uuid7s
from shared.events import NewEvent, append

#: Households per ``registry.households.imported`` event.
CHUNK = 200
#: Chunk events appended per ``append`` call (≥ 32 goes through COPY).
EVENTS_PER_APPEND = 50



_HOUSEHOLD_COLUMNS = ("id", "number", "division", "status", "poverty_attribute", "main_cause",
                      "registered_year", "registered_on", "exited_on", "created_at", "updated_at")
_PERSON_COLUMNS = ("id", "household_id", "id_number", "name", "relation", "sex", "birth_date", "ethnicity",
                   "education", "school_stage", "health", "labour_capacity", "active")
_INCOME_COLUMNS = ("household_id", "year", "net_per_capita_fen")
_STATUS_COLUMNS = ("household_id", "seq", "status", "effective_on")


@dataclass
class _Batch:
    """The rows of a run of whole chunks, and the chunks' event payloads."""

    households: list[tuple]
    persons: list[tuple]
    incomes: list[tuple]
    chunks: list[tuple[list[list[Any]], list[dict[str, Any]], list[tuple]]]  # (imported, exits, status stubs)


#: Chunks per batch of the write pipeline (the next batch is prepared while this one is copied).
BATCH_CHUNKS = 50


def _batches(parsed: Parsed, now) -> Iterator[_Batch]:
    """COPY rows and event payloads, :data:`BATCH_CHUNKS` chunks at a time (CPU-bound: each
    ``next()`` runs in a thread while the previous batch is being copied)."""
    households = list(parsed.households.values())
    dec31: dict[int, tuple[date, str]] = {}
    per_batch = CHUNK * BATCH_CHUNKS
    for first in range(0, len(households), per_batch):
        part = households[first:first + per_batch]
        household_ids = uuid7s(len(part))
        next_person_id = iter(uuid7s(sum(len(h.members) for h in part))).__next__
        h_rows, p_rows, i_rows = [], [], []
        h_append, p_append, i_append = h_rows.append, p_rows.append, i_rows.append
        chunks = []
        current: list[list[Any]] = []
        exits: list[dict[str, Any]] = []
        stubs: list[tuple] = []  # (household_id, registered_on, exited_on or None)
        for household, hid in zip(part, household_ids):
            year = household.registered_year
            reg = dec31.get(year) or dec31.setdefault(year, (date(year, 12, 31), f"{year}-12-31"))
            exit_year = household.exit_year
            exit_ = None
            if exit_year is not None:
                exit_ = dec31.get(exit_year) or dec31.setdefault(
                    exit_year, (date(exit_year, 12, 31), f"{exit_year}-12-31"))
            status = "registered" if exit_ is None else "exited"
            exit_on = exit_ and exit_[0]
            h_append((hid, household.number, household.division, status, household.poverty_attribute,
                      household.main_cause, year, reg[0], exit_on, now, now))
            members = []
            m_append = members.append
            for number, name, relation, sex, birth, birth_iso, ethnicity, education, school, health, labour in household.members:
                pid = next_person_id()
                p_append((pid, hid, number, name, relation, sex, birth, ethnicity, education, school, health, labour,
                          True))
                m_append([pid, number, name, relation, sex, birth_iso, ethnicity, education, school, health, labour])
            if household.net_fen is not None:
                i_append((hid, year, household.net_fen))
            current.append([hid, household.number, household.division, status, household.poverty_attribute,
                            household.main_cause, year, reg[1], exit_year, exit_ and exit_[1], household.net_fen,
                            members])
            stubs.append((hid, reg[0], exit_on))
            if exit_ is not None:
                exits.append({"id": hid, "number": household.number, "exit_year": exit_year, "exited_on": exit_[1]})
            if len(current) == CHUNK:
                chunks.append((current, exits, stubs))
                current, exits, stubs = [], [], []
        if current:
            chunks.append((current, exits, stubs))
        yield _Batch(h_rows, p_rows, i_rows, chunks)


async def write(session, conn: asyncpg.Connection, parsed: Parsed, *, import_id: str, now, actor: dict,
                progress: Progress | None) -> tuple[int, int, int]:
    """COPY the rows, append the chunk events, COPY the status history. Returns (households,
    persons, events)."""
    total = sum(len(h.members) for h in parsed.households.values())
    if progress is not None:
        progress("write", 0, total)
    households, persons, chunks = await _copy_rows(conn, parsed, now=now, total=total, progress=progress)
    events_written, status_rows = await _append_events(session, conn, chunks, import_id=import_id,
                                                       digest=parsed.file_sha256, actor=actor, total=total,
                                                       progress=progress)
    await conn.copy_records_to_table("household_status_history", records=status_rows, columns=_STATUS_COLUMNS)
    if progress is not None:
        progress("write", total, total)
    return households, persons, events_written


async def _copy_rows(conn: asyncpg.Connection, parsed: Parsed, *, now, total: int,
                     progress: Progress | None) -> tuple[int, int, list[tuple]]:
    """COPY households, persons and incomes batch by batch: while PostgreSQL ingests one batch (its
    CPU, not ours, is the bottleneck there), a thread prepares the next one. Returns (households,
    persons, the chunks whose events are still to be appended)."""
    households = persons = 0
    chunks: list[tuple] = []
    batches = _batches(parsed, now)
    pending = asyncio.ensure_future(asyncio.to_thread(next, batches, None))
    try:
        while (batch := await pending) is not None:
            pending = asyncio.ensure_future(asyncio.to_thread(next, batches, None))
            await conn.copy_records_to_table("households", records=batch.households, columns=_HOUSEHOLD_COLUMNS)
            await conn.copy_records_to_table("persons", records=batch.persons, columns=_PERSON_COLUMNS)
            if batch.incomes:
                await conn.copy_records_to_table("household_incomes", records=batch.incomes, columns=_INCOME_COLUMNS)
            households += len(batch.households)
            persons += len(batch.persons)
            chunks.extend(batch.chunks)
            if progress is not None:
                progress("write", int(persons * 0.8), total)
    finally:
        if not pending.done():  # a COPY failed: let the preparing thread finish before unwinding
            await asyncio.wait([pending])
    return households, persons, chunks


async def _append_events(session, conn: asyncpg.Connection, chunks: list[tuple], *, import_id: str, digest: str,
                         actor: dict, total: int, progress: Progress | None) -> tuple[int, list[tuple]]:
    """One ``registry.households.imported`` event per chunk (and an ``exits_imported`` one after a
    chunk with exited households), :data:`EVENTS_PER_APPEND` per append. Returns (events written,
    the status history rows, which carry the events' seq)."""
    # The events go last: append serialises on the log's advisory lock, held from then to commit.
    # Their large jsonb values are compressed with lz4 where the server has it (pglz costs ~3x the
    # CPU); SET LOCAL ends with the transaction.
    if await conn.fetchval("SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"):
        await conn.execute("SET LOCAL default_toast_compression = 'lz4'")
    count = len(chunks)
    events_written = 0
    status_rows: list[tuple] = []
    for first in range(0, count, EVENTS_PER_APPEND):
        batch_chunks = chunks[first:first + EVENTS_PER_APPEND]
        events, slots = [], []
        for n, (imported, exits, _) in enumerate(batch_chunks, start=first + 1):
            events.append(NewEvent(HOUSEHOLDS_IMPORTED, import_id, {
                "import_id": import_id, "file_sha256": digest, "chunk": n, "chunks": count,
                "household_fields": HOUSEHOLD_FIELDS, "member_fields": MEMBER_FIELDS,
                "households": imported}, actor))
            slots.append((len(events) - 1, None))
            if exits:
                events.append(NewEvent(HOUSEHOLDS_EXITS_IMPORTED, import_id, {
                    "import_id": import_id, "file_sha256": digest, "chunk": n, "chunks": count,
                    "households": exits}, actor))
                slots[-1] = (slots[-1][0], len(events) - 1)
        stored = await append(session, events)
        events_written += len(stored)
        for (imported_at, exits_at), (_, _, stubs) in zip(slots, batch_chunks):
            seq = stored[imported_at]["seq"]
            exit_seq = stored[exits_at]["seq"] if exits_at is not None else None
            for hid, reg_on, exit_on in stubs:
                status_rows.append((hid, seq, "registered", reg_on))
                if exit_on is not None:
                    status_rows.append((hid, exit_seq, "exited", exit_on))
        if progress is not None:
            progress("write", int(total * (0.8 + 0.15 * min(first + EVENTS_PER_APPEND, count) / count)), total)
    return events_written, status_rows
