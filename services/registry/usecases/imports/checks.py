"""Checking a validated import against the database, on the import's own connection and
transaction: the divisions exist, the household numbers are new, and no person is already active
in another household (asked batch by batch while the file is still being parsed, each clean batch
then written)."""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable

import asyncpg

from services.registry.usecases.imports.rows import Batch
from services.registry.usecases.imports.validation import Parsed
from shared import idcard


class Lookups:
    """The database's answers about the file's ID numbers and household numbers, asked batch by
    batch while the file is still being parsed (same connection, same transaction), and the
    batches' rows handed to ``load`` once the database has found nothing against them.

    A batch is loaded only while the whole import is still clean: the parse had found no error up
    to the batch's end (it sends rows only then) and no earlier or current answer names an active
    person or an existing household number — so the COPY never meets the unique indexes of active
    ID numbers or household numbers, and every such conflict is reported per row instead of
    aborting the transaction. Once anything is wrong no batch is loaded any more; the caller
    raises the errors and rolls back what was loaded.
    """

    def __init__(self, conn: asyncpg.Connection, load: Callable[[Batch], Awaitable[None]] | None = None) -> None:
        self.conn = conn
        self.load = load
        self.queue: asyncio.Queue[tuple[list[str], list[str], Batch | None] | None] = asyncio.Queue()
        self.active: list[asyncpg.Record] = []  # (id_number, number, division) of active persons
        self.existing: set[str] = set()  # household numbers already registered
        self.clean = True  # every batch so far had rows and met no conflict
        self.task = asyncio.ensure_future(self._run())

    def submit_threadsafe(self, loop: asyncio.AbstractEventLoop) -> Callable[[list[str], list[str], Batch | None], None]:
        return lambda ids, numbers, rows: loop.call_soon_threadsafe(self.queue.put_nowait, (ids, numbers, rows))

    async def _run(self) -> None:
        while (batch := await self.queue.get()) is not None:
            ids, numbers, rows = batch
            if ids:
                self.active.extend(await self.conn.fetch(
                    "SELECT p.id_number, h.number, h.division FROM persons p "
                    "JOIN unnest($1::bpchar[]) AS u(id_number) ON p.id_number = u.id_number "
                    "JOIN households h ON h.id = p.household_id WHERE p.active", ids))
            if numbers:
                self.existing.update(r["number"] for r in await self.conn.fetch(
                    "SELECT number FROM households WHERE number = ANY($1::text[])", numbers))
            self.clean = self.clean and rows is not None and not self.active and not self.existing
            if self.clean and self.load is not None and rows is not None:
                await self.load(rows)

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
