"""Stranded funds (滞留资金, seed 004 L27): returned to the province in full, and money committed to
a project that does not reach villages and households in time declared stranded by the scheduler —
each firing citing its rule (``funds.stranded.return``, ``funds.stranded.not_reaching_households``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Mapping

import uuid6
from sqlalchemy import func, select

from services.funds.domain import AccountKey, Posting, check_full_return, not_reaching_households
from services.funds.models import accounts, postings
from services.funds.usecases.accounts import account_key
from services.funds.usecases.ledger import post
from shared.auth import SYSTEM
from shared.logging import get_logger
from shared.policy.citations import public_citation

log = get_logger("fupin.funds.stranded")


async def _balance(session, key: AccountKey) -> int:
    found = await session.scalar(select(accounts.c.balance_fen).where(*(accounts.c[c] == v for c, v in (
        ("division", key.division), ("role", key.role), ("channel", key.channel), ("fiscal_year", key.fiscal_year),
        ("kind", key.kind), ("reference", key.reference or "")))))
    return int(found or 0)


async def return_stranded(session, policy, posting: Posting, *, actor: Mapping[str, Any],
                          posted_at: datetime) -> dict[str, Any]:
    """Post the return of stranded money, refused (422 with the rule and its citation) when the rule
    in force wants it in full and the amount is not everything the stranded account holds."""
    held = await _balance(session, posting.from_)
    check_full_return(policy, posting.from_.division, posting.document_date, held, posting.amount_fen)
    return await post(session, posting, actor=actor, posted_at=posted_at,
                      extra={"in_full": posting.amount_fen == held})


async def strand_not_reaching(session, policy, today: date, posted_at: datetime) -> list[dict[str, Any]]:
    """Every project commitment whose money has not reached payees within the rule's age
    (``funds.stranded.not_reaching_households``) has that part declared stranded — a ``strand``
    posting by the system, with the rule and its citation in the event."""
    rows = (await session.execute(select(accounts).where(accounts.c.kind == "committed", accounts.c.balance_fen > 0)
                                  .order_by(accounts.c.id))).mappings().all()
    out = []
    for row in rows:
        inflows = (await session.execute(select(postings.c.document_date, postings.c.amount_fen)
                                          .where(postings.c.to_account == row["id"]))).all()
        outflow = int(await session.scalar(select(func.coalesce(func.sum(postings.c.amount_fen), 0))
                                           .where(postings.c.from_account == row["id"])))
        found = not_reaching_households(policy, row["division"], today, inflows, outflow, row["balance_fen"])
        if found is None:
            continue
        amount, rule = found
        committed = account_key(row)
        posting = Posting(posting_id=str(uuid6.uuid7()), from_=committed, to=committed.replace(kind="stranded"),
                          amount_fen=amount, operation="strand", document_no="", document_date=today,
                          actor=SYSTEM.sub, reference=committed.reference)
        days, citation = rule.value["committed_unpaid_days"], public_citation(rule.citation)
        event = await post(session, posting, actor=SYSTEM.actor(), posted_at=posted_at, extra={
            "project_code": committed.reference, "rule_id": rule.id, "citation": citation,
            "reason": f"安排满{days}天仍未拨付到村到户 (committed {days} days ago and not paid; {citation})"})
        log.info("commitment stranded", project=committed.reference, amount=amount, rule=rule.id)
        out.append(event)
    return out
