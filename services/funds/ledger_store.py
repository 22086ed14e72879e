"""Posting to the ledger in the caller's transaction: the domain judges the posting, the two
accounts are locked (in id order, so opposite postings cannot deadlock), the event is appended
and the posting row inserted — the database trigger then moves the balances, and its CHECK is
the last line of defence against a negative balance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Mapping

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.contract import EVENT_TYPES
from services.funds.domain import AccountKey, Ledger, Posting, check_posting, check_sufficient
from services.funds.models import accounts, postings
from shared.errors import Conflict, Problem, Unprocessable
from shared.events import NewEvent, append
from shared.money import format_fen



def _key_columns(key: AccountKey) -> dict[str, Any]:
    return {"division": key.division, "role": key.role, "channel": key.channel, "fiscal_year": key.fiscal_year,
            "kind": key.kind, "reference": key.reference or ""}


_KEYS = "unnest(CAST(:d AS text[]), CAST(:r AS text[]), CAST(:c AS text[]), CAST(:y AS int[]), " \
        "CAST(:k AS text[]), CAST(:f AS text[])) AS key(division, role, channel, fiscal_year, kind, reference)"


async def account_ids(session: AsyncSession, keys: Iterable[AccountKey]) -> dict[AccountKey, int]:
    """The ids of the accounts, opening those used for the first time (balance 0) — two statements
    for any number of accounts, so a batch paying thousands of payees costs no more round trips."""
    keys = list(dict.fromkeys(keys))
    if not keys:
        return {}
    columns = [_key_columns(k) for k in keys]
    params = {"d": [c["division"] for c in columns], "r": [c["role"] for c in columns],
              "c": [c["channel"] for c in columns], "y": [c["fiscal_year"] for c in columns],
              "k": [c["kind"] for c in columns], "f": [c["reference"] for c in columns]}
    await session.execute(text(
        f"INSERT INTO accounts (division, role, channel, fiscal_year, kind, reference) SELECT * FROM {_KEYS} "
        "ON CONFLICT ON CONSTRAINT accounts_key DO NOTHING"), params)
    rows = await session.execute(text(
        f"SELECT a.id, a.division, a.role, a.channel, a.fiscal_year, a.kind, a.reference FROM accounts a JOIN {_KEYS} "
        "USING (division, role, channel, fiscal_year, kind, reference)"), params)
    by_columns = {(r.division, r.role, r.channel, r.fiscal_year, r.kind, r.reference): r.id for r in rows}
    return {key: by_columns[tuple(col.values())] for key, col in zip(keys, columns)}


async def account_id(session: AsyncSession, key: AccountKey) -> int:
    """The account's id, opening it (balance 0) on first use."""
    return (await account_ids(session, [key]))[key]


@dataclass(frozen=True)
class Entry:
    """A posting to make, with what its event carries besides the posting and its line reference."""

    posting: Posting
    extra: Mapping[str, Any] | None = None
    line_ref: str | None = None


@dataclass
class Outcome:
    events: list[dict[str, Any]]
    refused: list[dict[str, Any]]  # {index, line_ref, code, reason, error}
    already_posted: list[int]  # indexes whose line reference was posted before (idempotent retry)


async def post_many(session: AsyncSession, entries: list[Entry], *, actor: Mapping[str, Any], posted_at: datetime,
                    partial: bool = False) -> Outcome:
    """Post a batch in the caller's transaction: every entry is judged first (domain rules, then
    balances in order, against the accounts locked once in id order); refused entries are named with
    their reasons and, unless ``partial``, nothing is posted. An entry whose line reference was
    posted before is skipped as already done. One event per posting, appended in one call."""
    refused: list[dict[str, Any]] = []

    def refuse(index: int, entry: Entry, error: Exception) -> None:
        refused.append({"index": index, "line_ref": entry.line_ref, "code": getattr(error, "code", "refused"),
                        "reason": str(error), "error": error})

    refs = [e.line_ref for e in entries if e.line_ref is not None]
    if len(set(refs)) != len(refs):
        raise Conflict("同一批次中支付行引用重复 (a line reference appears twice in the batch)", slug="duplicate-line")
    done = set((await session.execute(select(postings.c.line_ref).where(postings.c.line_ref.in_(refs)))).scalars()) if refs else set()
    already = [i for i, e in enumerate(entries) if e.line_ref in done]
    candidates = []
    for index, entry in enumerate(entries):
        if entry.line_ref in done:
            continue
        try:
            check_posting(entry.posting)
        except Problem as error:
            refuse(index, entry, error)
            continue
        candidates.append((index, entry))
    ids = await account_ids(session, (key for _, entry in candidates for key in (entry.posting.from_, entry.posting.to)))
    balances = dict((await session.execute(
        select(accounts.c.id, accounts.c.balance_fen).where(accounts.c.id.in_(sorted(set(ids.values()))))
        .order_by(accounts.c.id).with_for_update())).all()) if ids else {}
    accepted = []
    for index, entry in candidates:
        p = entry.posting
        try:
            check_sufficient(p, balances[ids[p.from_]])
        except Problem as error:
            refuse(index, entry, error)
            continue
        balances[ids[p.from_]] -= p.amount_fen
        balances[ids[p.to]] += p.amount_fen
        accepted.append(entry)
    if refused and not partial:
        raise Unprocessable(f"{len(refused)}笔被拒绝，全部未入账 ({len(refused)} line(s) refused; nothing was posted)",
                            errors=[{"field": f"lines.{r['index']}", "reason": r["reason"]} for r in refused],
                            refused=[public_refusal(r) for r in refused])
    events = await append(session, [NewEvent(
        EVENT_TYPES[e.posting.operation], str(e.posting.to),
        {**e.posting.as_dict(), "amount": format_fen(e.posting.amount_fen), "on": e.posting.document_date.isoformat(),
         **(e.extra or {})}, actor) for e in accepted])
    if accepted:
        try:
            await session.execute(postings.insert(), [{
                "id": e.posting.posting_id, "event_seq": event["seq"], "operation": e.posting.operation,
                "from_account": ids[e.posting.from_], "to_account": ids[e.posting.to], "amount_fen": e.posting.amount_fen,
                "document_no": e.posting.document_no, "document_date": e.posting.document_date,
                "purpose": e.posting.purpose, "reference": e.posting.reference, "line_ref": e.line_ref,
                "actor": dict(actor), "posted_at": posted_at} for e, event in zip(accepted, events)])
        except IntegrityError:  # the same line posted by a concurrent request
            raise Conflict("支付行已被并发入账 (a line was posted concurrently)", slug="duplicate-line") from None
    return Outcome(events=events, refused=refused, already_posted=already)


async def post(session: AsyncSession, posting: Posting, *, actor: Mapping[str, Any], posted_at: datetime,
               extra: Mapping[str, Any] | None = None, line_ref: str | None = None) -> dict[str, Any]:
    """Record one posting and its event; returns the event. Raises the domain's errors (422)."""
    outcome = await post_many(session, [Entry(posting, extra, line_ref)], actor=actor, posted_at=posted_at, partial=True)
    if outcome.already_posted:
        raise Conflict(f"该笔支付已入账 (the line {line_ref!r} was already posted)", slug="duplicate-line", line_ref=line_ref)
    if outcome.refused:
        raise outcome.refused[0]["error"]  # the domain's own error: its code, citation and status
    return outcome.events[0]


def public_refusal(refusal: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in refusal.items() if k != "error"}


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
