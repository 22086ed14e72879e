"""Posting to the ledger in the caller's transaction: the domain judges the posting, the two
accounts are locked (in id order, so opposite postings cannot deadlock), the event is appended
and the posting row inserted — the database trigger then moves the balances, and its CHECK is
the last line of defence against a negative balance."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from sqlalchemy import and_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.domain import AccountKey, Ledger, Posting, check_posting, check_sufficient
from services.funds.models import accounts, postings
from shared.errors import Conflict
from shared.events import NewEvent, append
from shared.money import format_fen

EVENT_TYPES = {
    "appropriate": "funds.appropriation.posted",
    "allocate": "funds.allocation.issued",
    "integrate": "funds.integration.posted",
    "commit": "funds.commitment.posted",
    "disburse": "funds.disbursement.posted",
    "strand": "funds.stranding.posted",
    "return": "funds.return.posted",
    "reallocate": "funds.reallocation.posted",
}


def _key_columns(key: AccountKey) -> dict[str, Any]:
    return {"division": key.division, "role": key.role, "channel": key.channel, "fiscal_year": key.fiscal_year,
            "kind": key.kind, "reference": key.reference or ""}


async def account_id(session: AsyncSession, key: AccountKey) -> int:
    """The account's id, opening it (balance 0) on first use."""
    columns = _key_columns(key)
    opened = await session.scalar(insert(accounts).values(**columns)
                                  .on_conflict_do_nothing(constraint="accounts_key").returning(accounts.c.id))
    if opened is not None:
        return opened
    return await session.scalar(select(accounts.c.id).where(and_(*(accounts.c[k] == v for k, v in columns.items()))))


async def post(session: AsyncSession, posting: Posting, *, actor: Mapping[str, Any], posted_at: datetime,
               extra: Mapping[str, Any] | None = None, line_ref: str | None = None) -> dict[str, Any]:
    """Record one posting and its event; returns the event. Raises the domain's errors (422)."""
    check_posting(posting)
    if line_ref is not None and await session.scalar(select(postings.c.id).where(postings.c.line_ref == line_ref)):
        raise Conflict(f"该笔支付已入账 (the line {line_ref!r} was already posted)", slug="duplicate-line", line_ref=line_ref)
    from_id, to_id = await account_id(session, posting.from_), await account_id(session, posting.to)
    balances = dict((await session.execute(
        select(accounts.c.id, accounts.c.balance_fen).where(accounts.c.id.in_([from_id, to_id]))
        .order_by(accounts.c.id).with_for_update())).all())
    check_sufficient(posting, balances[from_id])
    data = {**posting.as_dict(), "amount": format_fen(posting.amount_fen), "on": posting.document_date.isoformat(),
            **(extra or {})}
    [event] = await append(session, [NewEvent(EVENT_TYPES[posting.operation], str(posting.to), data, actor)])
    try:
        await session.execute(postings.insert().values(
            id=posting.posting_id, event_seq=event["seq"], operation=posting.operation, from_account=from_id,
            to_account=to_id, amount_fen=posting.amount_fen, document_no=posting.document_no,
            document_date=posting.document_date, purpose=posting.purpose, reference=posting.reference,
            line_ref=line_ref, actor=dict(actor), posted_at=posted_at))
    except IntegrityError:  # the same line posted concurrently
        raise Conflict(f"该笔支付已入账 (the line {line_ref!r} was already posted)", slug="duplicate-line") from None
    return event


async def load_ledger(session: AsyncSession) -> Ledger:
    """The whole ledger rebuilt from the posting rows, in order (for traces and checks)."""
    source, target = accounts.alias("source"), accounts.alias("target")
    rows = (await session.execute(
        select(postings, *(source.c[c].label(f"f_{c}") for c in ("division", "role", "channel", "fiscal_year", "kind", "reference")),
               *(target.c[c].label(f"t_{c}") for c in ("division", "role", "channel", "fiscal_year", "kind", "reference")))
        .join(source, source.c.id == postings.c.from_account).join(target, target.c.id == postings.c.to_account)
        .order_by(postings.c.event_seq))).mappings().all()

    def key(row, prefix: str) -> AccountKey:
        return AccountKey(division=row[f"{prefix}division"], role=row[f"{prefix}role"], channel=row[f"{prefix}channel"],
                          fiscal_year=row[f"{prefix}fiscal_year"], kind=row[f"{prefix}kind"],
                          reference=row[f"{prefix}reference"] or None)

    return Ledger.replay([Posting(
        posting_id=str(r["id"]), from_=key(r, "f_"), to=key(r, "t_"), amount_fen=r["amount_fen"],
        operation=r["operation"], document_no=r["document_no"] or "", document_date=r["document_date"],
        actor=r["actor"].get("sub", ""), purpose=r["purpose"], reference=r["reference"]) for r in rows])
