"""Bulk import of 建档立卡 households and persons from ``.csv`` / ``.xlsx`` (issue 4, "Bulk import").

One row per person, with the household number (户编号) tying the rows of a household together —
the usual layout of the 建档立卡 spreadsheets. The import runs in three stages, the third
overlapping the first two (see "Speed"):

1. **Parse** the file (CSV in UTF-8 with or without BOM, GBK or GB18030, and ``.xls`` read by
   ``services.registry.files``; the first sheet of an ``.xlsx`` read with openpyxl in read-only
   mode). The header row is found among the first 20 rows (a title
   row above it is allowed); each header is matched to a column of :data:`LAYOUT` by its Chinese
   header, its English key or an alias (spaces, ``*`` and a unit in brackets such as ``（元）``
   are ignored). Unknown columns (序号, 联系电话 …) are ignored.
2. **Validate everything** before committing anything, against the file itself and the database
   (divisions, households and active persons). Every bad row is reported with its row number as
   in the file (the header is row 1 when it is the first row), the column's key and a bilingual
   reason. Household-level columns are validated on the household's first row; later rows of
   the household must agree with it (an "inconsistent" error names the first row). Messages
   never contain a full ID number (``shared.idcard.mask``); the number of the other household
   of a person who is already registered is given only in the error's ``household`` field, and
   only when the caller's jurisdiction covers that household. At most :data:`MAX_ERRORS` errors
   are returned, ``total_errors`` counts them all.
3. **Write** in the caller's single transaction (all or nothing; after any error the caller rolls
   back, and nothing of the file stays): households, persons,
   ``household_incomes`` and ``household_status_history`` with COPY on the session's asyncpg
   connection, and the events that explain them (rule 2), one ``registry.households.imported``
   event per chunk of at most :data:`CHUNK` households, subject = the import id, carrying the
   full rows (ID numbers included: the log is internal). The status history wants one event per
   status row of a household (its primary key is (household_id, seq)), so a chunk that contains
   households imported as already exited gets a second event,
   ``registry.households.exits_imported``, whose seq the ``exited`` rows carry.

Event data is compact: each household is an array of :data:`HOUSEHOLD_FIELDS` whose ``members``
are arrays of :data:`MEMBER_FIELDS` (the field lists travel in every event; :func:`households_of`
gives dicts back). Against objects with keys this halves the log's size and the cost of
canonicalising and hashing it.

Speed (``bench/registry_import.py``, 1M persons): writing overlaps parsing. The file is parsed in
a thread that builds the COPY rows of the households and persons it meets; every
:data:`CHECK_BATCH` persons the database is asked about the batch's ID and household numbers and,
if the file has had no error so far and no answer names an active person or a registered
household number, the batch is copied at once (``checks.Lookups``, ``writing.Loader``) while the
thread parses on. The first problem stops the writing (a conflict is thus reported on its row,
never met by a unique index); parsing and checking go on to list every error, and the caller
rolls back what was copied. The events are prepared (canonical JSON) in a thread while the last
batches are copied; only numbering, hashing and the status history wait for the log's lock.
``run_import(..., overlap=False)`` keeps the sequential order (nothing written before every check
has passed) for comparison. The row loop works on locals with caches (birth dates, divisions,
person-level code combinations) and computes the check digit in C (``int(first17, 13)``); cyclic
GC is paused during an import; event values are TOASTed with lz4 where the server supports it.
PostgreSQL's own work (indexes and foreign-key checks of the target tables) is most of what
remains.

Dates: a household is ``registered`` on 12-31 of its 识别年度 and, with a 脱贫年度, ``exited`` on
12-31 of that year. Sex and birth date come from the ID number (GB 11643). Persons of exited
households stay active (the household is still on record; only removal frees a person).

The code lists map a cell to its code, one dict per column, all derived from the vocabularies of
``services/registry/domain/codes.py``: each code, its Chinese label and the variants found in real
spreadsheets (之妻, 五保户, 小学三年级 …).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from sqlalchemy import text

from services.registry.contract import (
    HOUSEHOLD_FIELDS,
    HOUSEHOLDS_EXITS_IMPORTED,
    HOUSEHOLDS_IMPORTED,
    MEMBER_FIELDS,
    households_of,
)
from services.registry.usecases.imports.checks import Lookups, check_database
from services.registry.usecases.imports.layout import COLUMNS_BY_KEY, FIRST_YEAR, LAYOUT, Column, layout_markdown
from services.registry.usecases.imports.validation import (
    CHECK_BATCH,
    MAX_ERRORS,
    Parsed,
    Progress,
    parse_file,
    prefix_of,
)
from services.registry.usecases.imports.writing import CHUNK, EVENTS_PER_APPEND, Loader, append_events, prepare_events
from shared.bulk import gc_paused, uuid7s
from shared.db import raw_connection
from shared.errors import Unprocessable

__all__ = [
    "CHECK_BATCH",
    "CHUNK",
    "COLUMNS_BY_KEY",
    "EVENTS_PER_APPEND",
    "EVENT_EXITS_IMPORTED",
    "EVENT_IMPORTED",
    "FIRST_YEAR",
    "HOUSEHOLD_FIELDS",
    "LAYOUT",
    "MAX_ERRORS",
    "MEMBER_FIELDS",
    "Column",
    "ImportResult",
    "Parsed",
    "Progress",
    "households_of",
    "layout_markdown",
    "parse_file",
    "run_import",
]

EVENT_IMPORTED = HOUSEHOLDS_IMPORTED
EVENT_EXITS_IMPORTED = HOUSEHOLDS_EXITS_IMPORTED


@dataclass(frozen=True)
class ImportResult:
    import_id: str
    households: int
    persons: int
    events: int


# -- the import --------------------------------------------------------------------------------

async def run_import(session, source: bytes | Path, *, filename: str, actor: dict, jurisdiction: str,
                     clock, progress: Progress | None = None, overlap: bool = True) -> ImportResult:
    """Validate the whole file and write it in the session's transaction (the caller commits).

    ``jurisdiction`` is the caller's division code (or prefix); every household's village must
    lie under it. Raises :class:`shared.errors.Unprocessable` with ``errors`` [{row, field,
    reason[, household]}] (at most :data:`MAX_ERRORS`) and ``total_errors`` when anything is
    wrong; the caller must roll back then: rows of the file's clean beginning may already have
    been copied into the transaction (``overlap``). A person who became active in another
    household between the check and the write (a concurrent import) also ends in Unprocessable.

    ``overlap=False`` is the sequential path (nothing is written before the whole file and the
    database checks have passed), kept to measure the pipeline against (``bench/registry_import.py``).
    """
    with gc_paused():
        return await _run(session, source, filename=filename, actor=actor, jurisdiction=jurisdiction,
                          clock=clock, progress=progress, overlap=overlap)


async def _run(session, source: bytes | Path, *, filename: str, actor: dict, jurisdiction: str, clock,
               progress: Progress | None, overlap: bool) -> ImportResult:
    jurisdiction_prefix = prefix_of(jurisdiction)
    today, now = clock.today(), clock.now()
    actor = dict(actor)
    import_id = uuid7s(1)[0]
    # The first statement goes through SQLAlchemy so that the transaction is open (shared/db.py).
    await session.execute(text("SELECT 1"))
    async with raw_connection(session) as conn:
        loader = Loader(conn, overlap=overlap, progress=progress)
        lookups = Lookups(conn, load=loader, optimistic=overlap)
        events_job: asyncio.Future | None = None

        def start_events(parsed: Parsed) -> asyncio.Future:
            return asyncio.ensure_future(asyncio.to_thread(
                prepare_events, session, parsed, import_id=import_id, actor=actor, now=now))

        try:
            try:
                parsed = await asyncio.to_thread(
                    parse_file, source, filename=filename, jurisdiction=jurisdiction, today=today, progress=progress,
                    on_batch=lookups.submit_threadsafe(asyncio.get_running_loop()), now=now)
                if overlap and not len(parsed.errors):
                    events_job = start_events(parsed)  # while PostgreSQL copies the last batches
            finally:
                await lookups.finish()  # the answers to (and the loads of) the batches submitted so far
            if progress is not None:
                progress("check", 0, 1)
            await check_database(conn, parsed, lookups, jurisdiction_prefix)
            if progress is not None:
                progress("check", 1, 1)
            if len(parsed.errors):
                raise parsed.errors.problem()
            total = sum(len(h.members) for h in parsed.households.values())
            if progress is not None:
                progress("write", loader.persons, total)
            if not lookups.clean:  # a COPY met a row that a concurrent transaction has since taken back
                raise _collision("另一登记在核对期间有变 (a concurrent registration changed while the file was checked)")
            loader.total = total
            await loader.rest()
            # a clean file was written whole: every batch was clean, none was skipped
            assert (loader.households, loader.persons) == (len(parsed.households), total)
            events, slots = await (events_job or start_events(parsed))
            events_written = await append_events(session, conn, events, slots, total=total, progress=progress)
            if progress is not None:
                progress("write", total, total)
        except asyncpg.DeadlockDetectedError:
            raise _collision("与同时进行的另一导入互相等待 (a concurrent import was waiting for the same persons)") from None
        except asyncpg.UniqueViolationError as exc:
            raise _collision("此人已被同时进行的另一登记占用 (a person was registered in another household meanwhile)"
                             if "persons" in (exc.constraint_name or "") else
                             "户编号已被同时进行的另一登记占用 (a household number was registered meanwhile)") from None
        finally:
            if events_job is not None and not events_job.done():
                await asyncio.wait([events_job])  # let the preparing thread finish before unwinding
    return ImportResult(import_id=import_id, households=loader.households, persons=loader.persons,
                        events=events_written)


def _collision(what: str) -> Unprocessable:
    return Unprocessable(f"导入与另一登记冲突，未导入任何数据，请重试 (the import collided with a concurrent "
                         f"registration; nothing was imported, retry): {what}", errors=[], total_errors=0)
