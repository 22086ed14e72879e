"""Money bound to a project and, when the project cannot go on, stranded: the use cases behind
``POST /commitments`` and ``POST /strandings``.

A commitment is refused (422, nothing written) when the projects gate refuses the project
(:mod:`services.funds.usecases.gate`), for a negative-list purpose (财农〔2017〕8号), or when a
project-management fee would pass its cap (``funds.use.project_management_fee_cap``: 1% of the
county's poverty funds for the year); otherwise it is posted with its event in the request's unit
of work (``usecases.ledger.post``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal, Protocol

import uuid6
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.domain import AccountKey, Posting, check_purpose, finance_account, management_fee_ok
from services.funds.models import accounts, postings
from services.funds.usecases.gate import require_fundable
from services.funds.usecases.ledger import account_id, post
from shared.auth import Principal
from shared.errors import Unprocessable
from shared.money import format_fen
from shared.policy import PolicyTable

MANAGEMENT_FEE = "project_management_fee"


class Money(Protocol):
    """What every money command carries (the API's ``Money`` body)."""

    channel: str
    fiscal_year: int
    amount: int
    document_no: str
    document_date: date
    purpose: str | None


class Commitment(Money, Protocol):
    project_code: str
    source: Literal["pool", "available"]
    plan: str | None


def new_posting(principal: Principal, body: Money, operation: str, source: AccountKey, target: AccountKey,
                reference: str | None = None) -> Posting:
    """The posting of a money command by ``principal`` (a new posting id)."""
    return Posting(posting_id=str(uuid6.uuid7()), from_=source, to=target, amount_fen=body.amount, operation=operation,
                   document_no=body.document_no, document_date=body.document_date, actor=principal.sub,
                   purpose=body.purpose, reference=reference)


async def check_management_fee(session: AsyncSession, policy: PolicyTable, county: str, body: Money) -> None:
    """项目管理费 ≤ 1% of the county's poverty funds for the year (funds.use.project_management_fee_cap)."""
    received = await session.scalar(
        select(func.coalesce(func.sum(postings.c.amount_fen), 0))
        .select_from(postings.join(accounts, accounts.c.id == postings.c.to_account))
        .where(accounts.c.division == county, accounts.c.fiscal_year == body.fiscal_year, accounts.c.kind == "available",
               postings.c.operation.in_(["appropriate", "allocate", "reallocate"])))  # its own budget money too
    fees = await session.scalar(
        select(func.coalesce(func.sum(postings.c.amount_fen), 0))
        .select_from(postings.join(accounts, accounts.c.id == postings.c.from_account))
        .where(accounts.c.division == county, accounts.c.fiscal_year == body.fiscal_year,
               postings.c.operation == "commit", postings.c.purpose == MANAGEMENT_FEE))
    received, fees = int(received), int(fees)  # sum(bigint) is numeric in PostgreSQL
    ok, cap, citation = management_fee_ok(policy, county, body.document_date, received, fees, body.amount)
    if not ok:
        raise Unprocessable(
            f"项目管理费超过上限：本年度上限{format_fen(cap)}元，已安排{format_fen(fees)}元 "
            f"(the management fee cap of {format_fen(cap)} yuan for the year would be exceeded; {citation})",
            errors=[{"field": "amount", "reason": f"cap {format_fen(cap)}, already {format_fen(fees)}"}], citation=citation)


async def commit(session: AsyncSession, policy: PolicyTable, principal: Principal, body: Commitment, *,
                 now: datetime) -> dict[str, Any]:
    """Pool or available money of the caller's county bound to a project: the gate, the purpose and
    the fee cap checked, then posted; the posted event."""
    county = principal.division
    await require_fundable(session, body.project_code, county)
    if body.purpose:
        check_purpose(policy, county, body.document_date, body.purpose)
    if body.purpose == MANAGEMENT_FEE:
        await check_management_fee(session, policy, county, body)
    source = finance_account(county, body.channel, body.fiscal_year, body.source,
                             body.plan if body.source == "pool" else None)
    target = finance_account(county, body.channel, body.fiscal_year, "committed", body.project_code)
    return await post(session, new_posting(principal, body, "commit", source, target, reference=body.project_code),
                      actor=principal.actor(), posted_at=now)


async def strand(session: AsyncSession, principal: Principal, county: str, project_code: str, channel: str,
                 fiscal_year: int, on: date, reason: str, amount: int | None = None, *, now: datetime) -> dict[str, Any]:
    """(Part of) a project's undisbursed commitment turned into stranded funds (滞留资金), by default
    all of it; the posted event."""
    committed = finance_account(county, channel, fiscal_year, "committed", project_code)
    if amount is None:
        amount = await session.scalar(select(accounts.c.balance_fen).where(
            accounts.c.id == await account_id(session, committed)))
    posting = Posting(posting_id=str(uuid6.uuid7()), from_=committed,
                      to=finance_account(county, channel, fiscal_year, "stranded", project_code), amount_fen=amount,
                      operation="strand", document_no="", document_date=on, actor=principal.sub,
                      purpose=None, reference=project_code)
    return await post(session, posting, actor=principal.actor(), posted_at=now,
                      extra={"reason": reason, "project_code": project_code})
