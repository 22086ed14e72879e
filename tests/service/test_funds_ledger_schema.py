"""The funds ledger's invariants are enforced by PostgreSQL itself."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from shared.config import libpq_url


@pytest.fixture
async def conn(databases):
    settings = await databases.new("funds")
    connection = await asyncpg.connect(libpq_url(settings.database_url, settings.database_name))
    yield connection
    await connection.close()


async def account(conn, division, kind, reference=""):
    return await conn.fetchval(
        "INSERT INTO accounts (division, role, channel, fiscal_year, kind, reference) "
        "VALUES ($1, 'finance', 'central_special', 2017, $2, $3) RETURNING id", division, kind, reference)


async def post(conn, source, target, amount, line_ref=None):
    await conn.execute(
        "INSERT INTO postings (id, event_seq, operation, from_account, to_account, amount_fen, line_ref, actor, posted_at) "
        "VALUES ($1, 1, 'test', $2, $3, $4, $5, '{}', now())", str(uuid.uuid4()), source, target, amount, line_ref)


async def test_postings_move_money_and_keep_the_sum_at_zero(conn):
    central = await account(conn, "000000000000", "appropriation")
    province = await account(conn, "650000000000", "available")
    payee = await account(conn, "652722000000", "disbursed", "某合作社")
    await post(conn, central, province, 100_000_00)
    await post(conn, province, payee, 30_000_00)
    balances = dict(await conn.fetch("SELECT id, balance_fen FROM accounts"))
    assert balances == {central: -100_000_00, province: 70_000_00, payee: 30_000_00}
    assert await conn.fetchval("SELECT sum(balance_fen) FROM accounts") == 0


async def test_a_non_external_account_never_goes_negative(conn):
    central = await account(conn, "000000000000", "appropriation")
    province = await account(conn, "650000000000", "available")
    county = await account(conn, "652722000000", "available")
    await post(conn, central, province, 500)
    with pytest.raises(asyncpg.CheckViolationError, match="accounts_not_negative"):
        await post(conn, province, county, 501)
    assert dict(await conn.fetch("SELECT id, balance_fen FROM accounts")) == {central: -500, province: 500, county: 0}


@pytest.mark.parametrize("statement", ["UPDATE postings SET amount_fen = 1", "DELETE FROM postings"])
async def test_postings_are_append_only(conn, statement):
    central = await account(conn, "000000000000", "appropriation")
    province = await account(conn, "650000000000", "available")
    await post(conn, central, province, 500)
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await conn.execute(statement)


async def test_amounts_are_positive_and_line_references_unique(conn):
    central = await account(conn, "000000000000", "appropriation")
    province = await account(conn, "650000000000", "available")
    with pytest.raises(asyncpg.CheckViolationError):
        await post(conn, central, province, 0)
    await post(conn, central, province, 1, line_ref="batch-1/line-1")
    with pytest.raises(asyncpg.UniqueViolationError):
        await post(conn, central, province, 1, line_ref="batch-1/line-1")
