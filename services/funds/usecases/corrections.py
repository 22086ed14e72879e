"""Corrections of the ledger (issue #15): reversal (冲正) of a posting, de-commitment of a project's
unspent commitment, and the year-end close with its carry-forward (结转结余, seed 004 L27
"盘活用好结余结转资金"). Each loads what the domain needs, lets the domain judge it
(``check_reversal``, ``check_posting``, ``check_sufficient`` against locked balances) and writes
postings and events in the caller's transaction. Nothing is ever edited: a correction is a new
posting that cites the one it corrects.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from typing import Any, Mapping

import uuid6
from sqlalchemy import select

from services.funds.contract import YEAR_CLOSED
from services.funds.domain import AccountKey, Posting, check_posting
from services.funds.domain.ledger import check_reversal, reversal_of
from services.funds.models import accounts, postings, year_closes
from services.funds.usecases.accounts import account_key
from services.funds.usecases.deadlines import withdraw_set_by
from services.funds.usecases.ledger import Entry, post, post_many
from shared.errors import Conflict, NotFound, Unprocessable
from shared.events import NewEvent, append
from shared.events.store import lock_log
from shared.money import format_fen

_KEY_COLUMNS = ("division", "role", "channel", "fiscal_year", "kind", "reference")


async def load_posting(session, posting_id: str) -> Posting | None:
    """One posting row as the domain's Posting (None when there is no such posting)."""
    try:  # an id that is no UUID names no posting (PostgreSQL would refuse the comparison)
        uuid.UUID(posting_id)
    except ValueError:
        return None
    source, target = accounts.alias("source"), accounts.alias("target")
    row = (await session.execute(
        select(postings, *(source.c[c].label(f"f_{c}") for c in _KEY_COLUMNS),
               *(target.c[c].label(f"t_{c}") for c in _KEY_COLUMNS))
        .join(source, source.c.id == postings.c.from_account).join(target, target.c.id == postings.c.to_account)
        .where(postings.c.id == posting_id))).mappings().first()
    if row is None:
        return None
    return Posting(posting_id=str(row["id"]), from_=account_key(row, "f_"), to=account_key(row, "t_"),
                   amount_fen=row["amount_fen"], operation=row["operation"], document_no=row["document_no"] or "",
                   document_date=row["document_date"], actor=row["actor"].get("sub", ""), purpose=row["purpose"],
                   reference=row["reference"])


async def reverse(session, *, posting_id: str, holder: str, document_no: str, document_date: date, reason: str,
                  actor: Mapping[str, Any], posted_at: datetime) -> dict[str, Any]:
    """冲正: the posting ``posting_id`` mirrored (same amount, other direction), citing it. Refused
    (422, nothing written) when the posting was reversed before, is a reversal or a carry-forward,
    or when the money has moved on (the balance it would come from is short). ``holder``: the
    caller's division, which must be the one that made the posting (its from-account's)."""
    original = await load_posting(session, posting_id)
    if original is None:
        raise NotFound(f"没有该分录 (no posting {posting_id})")
    if original.from_.division != holder and original.to.division != holder:
        raise NotFound(f"没有该分录 (no posting {posting_id} of division {holder})")
    if original.from_.division != holder:
        raise Unprocessable(
            f"冲正由作出原分录的单位办理 (a posting is reversed by the division that made it, {original.from_.division})",
            errors=[{"field": "posting_id", "reason": "made by another division"}], code="reversal_by_other_division")
    reversal = reversal_of(original, posting_id=str(uuid6.uuid7()), document_no=document_no,
                           document_date=document_date, actor=actor.get("sub", ""))
    check_posting(reversal)
    earlier = await session.scalar(select(postings.c.id).where(postings.c.operation == "reverse",
                                                                postings.c.reference == posting_id))
    check_reversal(reversal, original, str(earlier) if earlier else None)
    try:
        event = await post(session, reversal, actor=actor, posted_at=posted_at, extra={
            "reason": reason, "reverses": posting_id, "reversed_operation": original.operation})
    except Conflict:  # the unique index: reversed concurrently
        raise Conflict(f"该分录已被冲正 (posting {posting_id} was already reversed)", slug="already-reversed") from None
    # the deadlines the receipt set on its receiver (下达 → 时限) go with it
    basis_seq = await session.scalar(select(postings.c.event_seq).where(postings.c.id == posting_id))
    withdrawn = await withdraw_set_by(session, basis_seq=basis_seq, receiver=original.to.division,
                                      channel=original.to.channel, fiscal_year=original.to.fiscal_year,
                                      reversal=event, reason=reason, actor=actor)
    return {**event, "withdrawn_deadlines": withdrawn}


async def decommit(session, *, county: str, project_code: str, channel: str, fiscal_year: int, amount_fen: int | None,
                   target: str | None, plan: str | None, document_no: str, document_date: date, reason: str,
                   actor: Mapping[str, Any], posted_at: datetime) -> dict[str, Any]:
    """A project's unspent commitment (all of it unless ``amount_fen``) back where it came from: the
    pool (with its plan) or the available money it was committed from — given by ``target`` and
    ``plan``, or found from the project's commitments when they all came from one account."""
    committed = AccountKey(county, "finance", channel, fiscal_year, "committed", project_code)
    row = (await session.execute(select(accounts).where(*(accounts.c[c] == v for c, v in (
        ("division", committed.division), ("role", "finance"), ("channel", channel), ("fiscal_year", fiscal_year),
        ("kind", "committed"), ("reference", project_code)))))).mappings().first()
    if row is None or row["balance_fen"] == 0:
        raise Unprocessable(f"项目{project_code}在该渠道和年度没有未拨付的安排资金 (nothing committed and unpaid)",
                            errors=[{"field": "project_code", "reason": "no unspent commitment"}], code="nothing_committed")
    if target is None:
        sources = (await session.execute(
            select(accounts).distinct().join(postings, postings.c.from_account == accounts.c.id)
            .where(postings.c.to_account == row["id"], postings.c.operation == "commit"))).mappings().all()
        if len(sources) != 1:
            raise Unprocessable("项目资金来自多个账户，须指明退回资金池或可用资金 (committed from several accounts: give `to` "
                                "and, for the pool, `plan`)", errors=[{"field": "to", "reason": "required"}])
        destination = account_key(sources[0])
    else:
        destination = AccountKey(county, "finance", channel, fiscal_year, target, plan if target == "pool" else None)
    amount = row["balance_fen"] if amount_fen is None else amount_fen
    posting = Posting(posting_id=str(uuid6.uuid7()), from_=committed, to=destination, amount_fen=amount,
                      operation="decommit", document_no=document_no, document_date=document_date,
                      actor=actor.get("sub", ""), reference=project_code)
    return await post(session, posting, actor=actor, posted_at=posted_at,
                      extra={"reason": reason, "project_code": project_code})


CLOSED_KINDS = ("available", "pool")


async def close_year(session, *, division: str, fiscal_year: int, document_no: str, document_date: date,
                     actor: Mapping[str, Any], posted_at: datetime) -> dict[str, Any]:
    """Year-end close (结转结余): every available and pool balance of ``division``'s finance for
    ``fiscal_year`` carried forward into ``fiscal_year + 1``, each account into the same account of
    the next year (channel, origin and integration plan kept) — zero-sum by construction. Once per
    (division, year): a second close answers the first one's record (``already_closed``)."""
    done = (await session.execute(select(year_closes).where(
        year_closes.c.division == division, year_closes.c.role == "finance",
        year_closes.c.fiscal_year == fiscal_year))).mappings().first()
    if done is not None:
        return {**done["summary"], "already_closed": True, "seq": done["event_seq"]}
    # Lock order as every posting takes it (account rows in id order, then the log inside
    # ``post_many``/``append``), so a close and a concurrent posting queue instead of deadlocking;
    # the balances carried are the ones read under the row locks.
    rows = (await session.execute(select(accounts).where(
        accounts.c.division == division, accounts.c.role == "finance", accounts.c.fiscal_year == fiscal_year,
        accounts.c.kind.in_(CLOSED_KINDS), accounts.c.balance_fen > 0)
        .order_by(accounts.c.id).with_for_update())).mappings().all()
    rows = sorted(rows, key=lambda row: (row["channel"], row["kind"], row["reference"]))
    if not rows:
        await lock_log(session)  # nothing to lock: the log serialises two closes that carry nothing
    # A second close of the same year waited on the first's locks: it finds its record, refused.
    if await session.scalar(select(year_closes.c.event_seq).where(
            year_closes.c.division == division, year_closes.c.role == "finance",
            year_closes.c.fiscal_year == fiscal_year)) is not None:
        raise Conflict(f"{fiscal_year}年度已结转 (the year {fiscal_year} was closed concurrently)", slug="year-closed")
    entries = []
    for row in rows:
        source = account_key(row)
        entries.append(Entry(Posting(
            posting_id=str(uuid6.uuid7()), from_=source, to=source.replace(fiscal_year=fiscal_year + 1),
            amount_fen=row["balance_fen"], operation="carry_forward", document_no=document_no,
            document_date=document_date, actor=actor.get("sub", ""), reference=source.reference),
            {"closes": f"{division}:finance:{fiscal_year}"}))
    if entries:
        await post_many(session, entries, actor=actor, posted_at=posted_at)
    carried = [{"channel": e.posting.from_.channel, "kind": e.posting.from_.kind, "reference": e.posting.from_.reference,
                "amount_fen": e.posting.amount_fen, "amount": format_fen(e.posting.amount_fen),
                "posting_id": e.posting.posting_id} for e in entries]
    total = sum(e.posting.amount_fen for e in entries)
    summary = {"division": division, "role": "finance", "fiscal_year": fiscal_year, "into_year": fiscal_year + 1,
               "document_no": document_no, "document_date": document_date.isoformat(), "carried": carried,
               "total_fen": total, "total": format_fen(total), "postings": len(entries)}
    [event] = await append(session, [NewEvent(YEAR_CLOSED, f"{division}:finance:{fiscal_year}", summary, actor)])
    await session.execute(year_closes.insert().values(
        division=division, role="finance", fiscal_year=fiscal_year, event_seq=event["seq"], document_no=document_no,
        document_date=document_date, summary=json.loads(json.dumps(summary)), closed_at=posted_at))
    return {**summary, "already_closed": False, "seq": event["seq"]}
