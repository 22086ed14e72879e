"""Registry revision 0009 (issue 13): the ``household_id`` of persons, incomes and status rows is
checked once per statement by a trigger instead of row by row by foreign keys — with the same
guarantees, on real PostgreSQL: a row naming no household is refused (SQLSTATE 23503, the old
constraint's name) whether INSERTed, COPied or UPDATEd, nothing of the statement stays, and
households are permanent (what the foreign keys' locks guaranteed: a referenced household never
disappears). The downgrade brings the foreign keys back."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timezone

import asyncpg
import pytest

from shared.config import libpq_url
from shared.db import make_engine, migrate
from tests.conftest import downgrade

NOW = datetime(2016, 3, 1, tzinfo=timezone.utc)
REFERRING = ("persons", "household_incomes", "household_status_history")


@pytest.fixture
async def registry_conn(databases):
    """A raw connection to a fresh registry database (schema tests go behind the service)."""
    settings = await databases.new("registry")
    connection = await asyncpg.connect(libpq_url(settings.database_url, settings.database_name))
    yield connection
    await connection.close()


async def household(conn, number: str) -> uuid.UUID:
    hid = uuid.uuid4()
    await conn.execute(
        "INSERT INTO households (id, number, division, status, poverty_attribute, main_cause, created_at, updated_at) "
        "VALUES ($1, $2, '652722101201', 'registered', 'general', 'illness', $3, $3)", hid, number, NOW)
    return hid


def row_of(table: str, hid: uuid.UUID, n: int) -> tuple[tuple[str, ...], tuple]:
    """A row of ``table`` for household ``hid`` (columns, values); ``n`` keeps rows distinct."""
    if table == "persons":
        return (("id", "household_id", "id_number", "name", "relation", "sex", "birth_date", "labour_capacity",
                 "active"),
                (uuid.uuid4(), hid, f"65272219700315{n:04d}", "张三", "head", "male", date(1970, 3, 15), "normal",
                 True))
    if table == "household_incomes":
        return ("household_id", "year", "net_per_capita_fen"), (hid, 2000 + n, 350_000)
    return ("household_id", "seq", "status", "effective_on"), (hid, n, "registered", date(2014, 12, 31))


async def insert(conn, table: str, rows: list[tuple[tuple[str, ...], tuple]]) -> None:
    """One INSERT statement of several rows."""
    columns = rows[0][0]
    marks = ", ".join(f"({', '.join(f'${i * len(columns) + k + 1}' for k in range(len(columns)))})"
                      for i in range(len(rows)))
    await conn.execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES {marks}",
                       *[v for _, values in rows for v in values])


async def count(conn, table: str) -> int:
    return await conn.fetchval(f"SELECT count(*) FROM {table}")


@pytest.mark.parametrize("table", REFERRING)
async def test_rows_naming_existing_households_are_written(registry_conn, table):
    a, b = await household(registry_conn, "A1"), await household(registry_conn, "B1")
    await insert(registry_conn, table, [row_of(table, a, 1), row_of(table, b, 2), row_of(table, a, 3)])
    columns, _ = row_of(table, a, 0)
    await registry_conn.copy_records_to_table(table, columns=columns,
                                              records=[row_of(table, b, n)[1] for n in range(4, 40)])
    assert await count(registry_conn, table) == 39


@pytest.mark.parametrize("table", REFERRING)
async def test_a_statement_naming_an_unknown_household_writes_nothing(registry_conn, table):
    a = await household(registry_conn, "A1")
    unknown = uuid.uuid4()
    with pytest.raises(asyncpg.ForeignKeyViolationError) as insert_error:
        await insert(registry_conn, table, [row_of(table, a, 1), row_of(table, unknown, 2)])
    assert insert_error.value.constraint_name == f"{table}_household_id_fkey"
    assert str(unknown) in insert_error.value.detail
    columns, _ = row_of(table, a, 0)
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await registry_conn.copy_records_to_table(
            table, columns=columns, records=[row_of(table, a, n)[1] for n in range(3, 50)] + [row_of(table, unknown, 50)[1]])
    assert await count(registry_conn, table) == 0


@pytest.mark.parametrize("table", REFERRING)
async def test_an_update_cannot_point_a_row_at_an_unknown_household(registry_conn, table):
    a = await household(registry_conn, "A1")
    await insert(registry_conn, table, [row_of(table, a, 1)])
    with pytest.raises(asyncpg.ForeignKeyViolationError, match=f"{table}_household_id_fkey"):
        await registry_conn.execute(f"UPDATE {table} SET household_id = $1", uuid.uuid4())
    assert await registry_conn.fetchval(f"SELECT household_id FROM {table}") == a


async def test_a_household_added_in_the_same_transaction_is_found(registry_conn):
    async with registry_conn.transaction():
        a = await household(registry_conn, "A1")
        await insert(registry_conn, "persons", [row_of("persons", a, 1)])
    assert await count(registry_conn, "persons") == 1


async def test_a_household_another_transaction_has_not_committed_is_not_found(databases):
    settings = await databases.new("registry")
    url = libpq_url(settings.database_url, settings.database_name)
    writer, other = await asyncpg.connect(url), await asyncpg.connect(url)
    try:
        async with writer.transaction():
            a = await household(writer, "A1")
            with pytest.raises(asyncpg.ForeignKeyViolationError):
                await insert(other, "persons", [row_of("persons", a, 1)])
        await insert(other, "persons", [row_of("persons", a, 1)])  # committed now
        assert await count(other, "persons") == 1
    finally:
        await writer.close()
        await other.close()


@pytest.mark.parametrize("statement", ["DELETE FROM households", "UPDATE households SET id = gen_random_uuid()",
                                       "TRUNCATE households CASCADE"])
async def test_households_are_permanent(registry_conn, statement):
    a = await household(registry_conn, "A1")
    await household(registry_conn, "B1")  # referenced by nothing: permanent all the same
    await insert(registry_conn, "persons", [row_of("persons", a, 1)])
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="households are permanent"):
        await registry_conn.execute(statement)
    assert (await count(registry_conn, "households"), await count(registry_conn, "persons")) == (2, 1)
    await registry_conn.execute("UPDATE households SET status = 'exited'")  # other columns change as before


async def test_revision_0009_downgrades_to_foreign_keys_and_back(databases):
    settings = await databases.new("registry")
    engine = make_engine(settings.sqlalchemy_url, pool_size=1)
    url = libpq_url(settings.database_url, settings.database_name)
    try:
        await downgrade(engine, "registry", "0006_persons_id_index")
        conn = await asyncpg.connect(url)
        try:
            assert {r["conname"] for r in await conn.fetch(
                "SELECT conname FROM pg_constraint WHERE confrelid = 'households'::regclass AND contype = 'f' "
                "AND conrelid = ANY($1::regclass[])", list(REFERRING))} == {f"{t}_household_id_fkey" for t in REFERRING}
            a = await household(conn, "A1")
            with pytest.raises(asyncpg.ForeignKeyViolationError):
                await insert(conn, "persons", [row_of("persons", uuid.uuid4(), 1)])
            await conn.execute("DELETE FROM households WHERE id = $1", a)  # not permanent before 0009
        finally:
            await conn.close()
        await migrate(engine, "registry")
        conn = await asyncpg.connect(url)
        try:
            assert await conn.fetchval(
                "SELECT count(*) FROM pg_constraint WHERE confrelid = 'households'::regclass AND contype = 'f' "
                "AND conrelid = ANY($1::regclass[])", list(REFERRING)) == 0
            with pytest.raises(asyncpg.ForeignKeyViolationError):
                await insert(conn, "persons", [row_of("persons", uuid.uuid4(), 1)])
            b = await household(conn, "B1")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute("DELETE FROM households WHERE id = $1", b)
        finally:
            await conn.close()
    finally:
        await engine.dispose()
