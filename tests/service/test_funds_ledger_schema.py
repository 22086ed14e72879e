"""The funds ledger's invariants are enforced by PostgreSQL itself."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from tests.service.funds_support import account


async def post(funds_conn, source, target, amount, line_ref=None):
    await funds_conn.execute(
        "INSERT INTO postings (id, event_seq, operation, from_account, to_account, amount_fen, line_ref, actor, posted_at) "
        "VALUES ($1, 1, 'test', $2, $3, $4, $5, '{}', now())", str(uuid.uuid4()), source, target, amount, line_ref)


async def test_postings_move_money_and_keep_the_sum_at_zero(funds_conn):
    central = await account(funds_conn, "000000000000", "appropriation")
    province = await account(funds_conn, "650000000000", "available")
    payee = await account(funds_conn, "652722000000", "disbursed", "某合作社")
    await post(funds_conn, central, province, 100_000_00)
    await post(funds_conn, province, payee, 30_000_00)
    balances = dict(await funds_conn.fetch("SELECT id, balance_fen FROM accounts"))
    assert balances == {central: -100_000_00, province: 70_000_00, payee: 30_000_00}
    assert await funds_conn.fetchval("SELECT sum(balance_fen) FROM accounts") == 0


async def test_a_non_external_account_never_goes_negative(funds_conn):
    central = await account(funds_conn, "000000000000", "appropriation")
    province = await account(funds_conn, "650000000000", "available")
    county = await account(funds_conn, "652722000000", "available")
    await post(funds_conn, central, province, 500)
    with pytest.raises(asyncpg.CheckViolationError, match="accounts_not_negative"):
        await post(funds_conn, province, county, 501)
    assert dict(await funds_conn.fetch("SELECT id, balance_fen FROM accounts")) == {central: -500, province: 500, county: 0}


@pytest.mark.parametrize("statement", ["UPDATE postings SET amount_fen = 1", "DELETE FROM postings"])
async def test_postings_are_append_only(funds_conn, statement):
    central = await account(funds_conn, "000000000000", "appropriation")
    province = await account(funds_conn, "650000000000", "available")
    await post(funds_conn, central, province, 500)
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await funds_conn.execute(statement)


async def test_amounts_are_positive_and_line_references_unique(funds_conn):
    central = await account(funds_conn, "000000000000", "appropriation")
    province = await account(funds_conn, "650000000000", "available")
    with pytest.raises(asyncpg.CheckViolationError):
        await post(funds_conn, central, province, 0)
    await post(funds_conn, central, province, 1, line_ref="batch-1/line-1")
    with pytest.raises(asyncpg.UniqueViolationError):
        await post(funds_conn, central, province, 1, line_ref="batch-1/line-1")
