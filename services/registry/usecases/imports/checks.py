"""Checking a validated import against the database, on the import's own connection and
transaction: the divisions exist, the household numbers are new, and no person is already active
in another household (asked batch by batch while the file is still being parsed — or, in the
pipeline, asked by the unique indexes while each batch is copied, and by a query once a batch
fails)."""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable

import asyncpg

from services.registry.usecases.imports.rows import Batch
from services.registry.usecases.imports.validation import Parsed
from shared import idcard


class Lookups:
    """The database's answers about the file's ID numbers and household numbers (is the person
    active in a household? is the number registered?), on the import's connection and
    transaction, batch by batch while the file is still being parsed; and the batches' rows handed
    to ``load`` while the import is clean.

    Two ways to get there:

    * **Ask first** (the sequential path): each batch is asked about, and loaded only if the file
      has had no error so far (the parse sends rows only then) and no answer so far names an active
      person or a registered household number.
    * **Optimistic** (``optimistic=True``, the pipeline): while clean, a batch is loaded without
      asking — the unique indexes of active ID numbers and of household numbers ask the same
      question during the COPY, so a clean file pays for it once. Everything is copied after one
      savepoint. When the import stops being clean — a parse error, or the COPY meets another
      household's active person or number (``UniqueViolationError``, also after waiting for a
      concurrent transaction that then committed; or a deadlock with one) — the copied rows are rolled
      back to the savepoint (else they would answer the questions themselves), every batch so
      far is asked about, and from then on each batch is asked about and nothing is loaded. Either
      way every conflict is reported on its row.

    Once not clean, nothing is loaded any more; the caller raises the errors and rolls back.
    """

    def __init__(self, conn: asyncpg.Connection, load: Callable[[Batch], Awaitable[None]] | None = None, *,
                 optimistic: bool = False) -> None:
        self.conn = conn
        self.load = load
        self.optimistic = optimistic and load is not None
        self.queue: asyncio.Queue[tuple[list[str], list[str], Batch | None] | None] = asyncio.Queue()
        self.active: list[asyncpg.Record] = []  # (id_number, number, division) of active persons
        self.existing: set[str] = set()  # household numbers already registered
        self.clean = True  # every batch so far had rows and met no conflict
        self.unasked: list[tuple[list[str], list[str]]] = []  # copied optimistically, not asked about
        self.task = asyncio.ensure_future(self._run())

    def submit_threadsafe(self, loop: asyncio.AbstractEventLoop) -> Callable[[list[str], list[str], Batch | None], None]:
        def submit(ids: list[str], numbers: list[str], rows: Batch | None) -> None:
            loop.call_soon_threadsafe(self.queue.put_nowait, (ids, numbers, rows))
        return submit

    async def _run(self) -> None:
        if self.optimistic:
            await self.conn.execute("SAVEPOINT import_rows")
        while (batch := await self.queue.get()) is not None:
            ids, numbers, rows = batch
            if self.optimistic and self.clean:
                if rows is not None and await self._copied(rows):
                    self.unasked.append((ids, numbers))
                    continue
                self.clean = False  # undo what was copied, then ask about it
                await self.conn.execute("ROLLBACK TO SAVEPOINT import_rows")
                for asked in self.unasked:
                    await self._ask(*asked)
                self.unasked.clear()
            await self._ask(ids, numbers)
            if not self.optimistic:
                self.clean = self.clean and rows is not None and not self.active and not self.existing
                if self.clean and self.load is not None and rows is not None:
                    await self.load(rows)
        if self.optimistic and self.clean:
            await self.conn.execute("RELEASE SAVEPOINT import_rows")

    async def _copied(self, rows: Batch) -> bool:
        assert self.load is not None
        try:
            await self.load(rows)
        except asyncpg.UniqueViolationError:  # another household's active person or household number
            return False
        except asyncpg.DeadlockDetectedError:  # a concurrent import copying some of the same persons
            return False
        return True

    async def _ask(self, ids: list[str], numbers: list[str]) -> None:
        if ids:
            self.active.extend(await self.conn.fetch(
                "SELECT p.id_number, h.number, h.division FROM persons p "
                "JOIN unnest($1::bpchar[]) AS u(id_number) ON p.id_number = u.id_number "
                "JOIN households h ON h.id = p.household_id WHERE p.active", ids))
        if numbers:
            self.existing.update(r["number"] for r in await self.conn.fetch(
                "SELECT number FROM households WHERE number = ANY($1::text[])", numbers))

    async def finish(self) -> None:
        """Wait for the answers (and loads) of every batch submitted; raises what a load raised."""
        self.queue.put_nowait(None)
        await self.task


async def check_database(conn: asyncpg.Connection, parsed: Parsed, lookups: Lookups,
                          jurisdiction_prefix: str) -> None:
    errors = parsed.errors
    households = parsed.households
    codes = sorted({h.division for h in households.values() if h.ok})
    known = {r["code"] for r in await conn.fetch(
        "SELECT code FROM divisions WHERE code = ANY($1::bpchar[])", codes)} if codes else set()
    existing = lookups.existing
    for household in households.values():
        if household.ok and household.division not in known:
            errors.add(household.first_row, "division",
                       f"未知的行政区划代码{household.division} (unknown division {household.division}: "
                       f"not in the divisions table)")
            household.ok = False
        if household.number in existing:
            errors.add(household.first_row, "household_number",
                       "户编号已存在于登记系统中 (this household number is already registered)")
            household.ok = False
    for r in lookups.active:
        visible = str(r["division"]).startswith(jurisdiction_prefix)
        errors.add(parsed.first_row_of_id[r["id_number"]], "id_number",
                   f"{idcard.mask(r['id_number'])}: 此人已在另一有效贫困户中"
                   f"{'' if visible else '（该户不在您的管辖范围内）'} "
                   f"(this person already belongs to an active household"
                   f"{'' if visible else ' outside your jurisdiction'})",
                   household=r["number"] if visible else None)
