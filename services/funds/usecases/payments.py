"""Money that leaves the system (issue 15), each use case in the caller's transaction (rows and
events together, rule 2): payees checked against the registry's households, bank accounts with
history, payment files of the settled disbursements, bank results, re-issues, reconciliation.

1. **Payees.** A household payee must be a 建档立卡 household of the paying county in this
   service's read model of the registry's events (:func:`unpayable_households`; the judgement
   is :func:`services.funds.domain.payments.payee_refusal`).
2. **Accounts.** A new account supersedes the holder's current one (never an edit); the number
   is kept in full in ``bank_accounts`` only: events and answers carry it masked.
3. **Instructions.** Every ``disburse`` posting of the county without an instruction becomes
   one, in a payment file per payee bank and execution date (:func:`make_payment_files`);
   a payee with no account on file waits, named in the answer.
4. **Results.** A file is imported once (by digest): a second import answers the first report.
   Unknown and duplicate lines are named; a refused line's money goes back to its project by a
   ``payment_return`` posting; a refused instruction is re-issued (a new disbursement) only
   after the payee's account was replaced.
5. **Reconciliation.** Per 专户 and date, recorded as rows and one event, every difference listed.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

import uuid6
from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.contract import BANK_ACCOUNT_REGISTERED, PAYMENT_FILE_MADE, RECONCILIATION_RECORDED
from services.funds.domain import AccountKey, Posting
from services.funds.domain.payments import (
    BankAccount,
    BankFileError,
    Difference,
    Instruction,
    PaymentFile,
    digest,
    expected_debit,
    instruction_ref,
    judge_results,
    mask_account,
    parse_results,
    parse_statement,
    payee_refusal,
    reconcile,
    transition,
)
from services.funds.models import (
    bank_accounts,
    bank_files,
    payment_files,
    payment_instructions,
    reconciliation_differences,
    reconciliations,
)
from services.funds.usecases.ledger import Entry, post_many
from shared.db import fetch
from shared.errors import NotFound, Unprocessable
from shared.events import NewEvent, append
from shared.money import format_fen

SPECIAL = "special"  # the holder of a county's 专户 account


# -- payees (guarantee 1) ------------------------------------------------------------------------

async def save_households(session: AsyncSession, rows: Iterable[tuple[str, str, str]]) -> None:
    """(id, division, status) of households into the read model; of several rows for one, the last."""
    latest = {str(h): (d, s) for h, d, s in rows}
    if latest:
        await session.execute(text(
            "INSERT INTO registry_households (id, division, status) SELECT * FROM unnest("
            "CAST(:ids AS uuid[]), CAST(:divisions AS text[]), CAST(:statuses AS text[])) "
            "ON CONFLICT (id) DO UPDATE SET division = EXCLUDED.division, status = EXCLUDED.status"),
            {"ids": list(latest), "divisions": [d for d, _ in latest.values()], "statuses": [s for _, s in latest.values()]})


async def set_household_statuses(session: AsyncSession, changes: Iterable[tuple[str, str]]) -> None:
    """New statuses of households the read model knows (others are not the funds service's concern yet)."""
    latest = {}
    for household, status in changes:
        try:
            latest[str(uuid.UUID(str(household)))] = status
        except ValueError:
            continue
    if latest:
        await session.execute(text(
            "UPDATE registry_households SET status = v.status FROM unnest(CAST(:ids AS uuid[]), "
            "CAST(:statuses AS text[])) AS v(id, status) WHERE registry_households.id = v.id"),
            {"ids": list(latest), "statuses": list(latest.values())})


#: a UUID in canonical form: exactly the strings ``s`` with ``str(uuid.UUID(s)) == s`` (a batch checks
#: 100,000 payees: the pattern is ~5x cheaper than parsing each; tests/unit/funds/test_payee_ids.py)
_CANONICAL_UUID = re.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_HOUSEHOLDS = "SELECT id::text, division, status FROM registry_households WHERE id = ANY($1::text[]::uuid[])"


async def unpayable_households(session: AsyncSession, county: str,
                               household_ids: Iterable[str | None]) -> dict[str | None, tuple[str, str]]:
    """{household id: (code, reason)} of the household payees that may not be paid by ``county``.
    An id is looked up as written when that is a UUID's canonical form (lower case, hyphens);
    anything else is refused as unknown. One statement, whatever the number of payees."""
    household_ids = list(household_ids)
    ids = household_ids_to_look_up(household_ids)
    return unpayable_of(await fetch(session, _HOUSEHOLDS, ids) if ids else [], county, household_ids)


def household_ids_to_look_up(household_ids: Iterable[str | None]) -> list[str]:
    """The ids among ``household_ids`` that are looked up (a UUID's canonical form): the rest are
    refused as unknown without a look-up."""
    return sorted({value for value in household_ids if type(value) is str and _CANONICAL_UUID.fullmatch(value)})


def unpayable_of(found: Iterable[Sequence[Any]], county: str,
                 household_ids: Iterable[str | None]) -> dict[str | None, tuple[str, str]]:
    """:func:`unpayable_households`, given the rows (id as text, division, status) of the read model
    found for :func:`household_ids_to_look_up` (looked up by the caller, with other things)."""
    wanted = set(household_ids)
    ids = set(household_ids_to_look_up(wanted))
    known = {household: (division, status) for household, division, status in found}
    out = {}
    verdicts: dict[tuple[str, str], tuple[str, str] | None] = {}  # a known household's depends on its row only
    for value in wanted:
        key = str(value) if value is not None and str(value) in ids else None
        household = known.get(key) if key else None
        if household is None:
            refusal = payee_refusal(value, None, county)
        elif household in verdicts:
            refusal = verdicts[household]
        else:
            refusal = verdicts[household] = payee_refusal(value, household, county)
        if refusal is not None:
            out[value] = refusal
    return out


async def check_payees(session: AsyncSession, county: str, payees: Iterable[Mapping[str, Any]]) -> None:
    """Raise a 422 naming ``payee.household_id`` if a household payee may not be paid."""
    refused = await unpayable_households(session, county, [p.get("household_id") for p in payees
                                                           if p.get("kind") == "household"])
    if refused:
        raise payee_problem(*next(iter(refused.values())))


def payee_problem(code: str, reason: str) -> Unprocessable:
    """The 422 of a household payee that may not be paid (:func:`unpayable_households`' verdict)."""
    return Unprocessable(f"收款户不能支付：{reason}", errors=[{"field": "payee.household_id", "reason": reason}],
                         slug="payee-not-registered", code=code)


# -- accounts (guarantee 2) ------------------------------------------------------------------------

def account_view(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"account_id": str(row["id"]), "holder": row["holder"], "bank_code": row["bank_code"],
            "bank_name": row["bank_name"], "account_no": mask_account(row["account_no"]),
            "account_name": row["account_name"], "registered_at": row["registered_at"].isoformat(),
            "superseded_by": str(row["superseded_by"]) if row["superseded_by"] else None}


async def register_account(session: AsyncSession, *, county: str, holder: str, account: BankAccount,
                           actor: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """A holder's new account, superseding the current one (the old row keeps its number and gets
    ``superseded_by``); one event, the number masked."""
    current = (await session.execute(select(bank_accounts).where(
        bank_accounts.c.division == county, bank_accounts.c.holder == holder,
        bank_accounts.c.superseded_by.is_(None)).with_for_update())).mappings().first()
    new_id = str(uuid6.uuid7())
    [event] = await append(session, [NewEvent(BANK_ACCOUNT_REGISTERED, holder, {
        "id": new_id, "division": county, "holder": holder, "bank_code": account.bank_code,
        "bank_name": account.bank_name, "account_no": mask_account(account.account_no),
        "account_name": account.account_name, "supersedes": str(current["id"]) if current else None}, actor)])
    if current is not None:
        await session.execute(update(bank_accounts).where(bank_accounts.c.id == current["id"]).values(superseded_by=new_id))
    row = {"id": new_id, "division": county, "holder": holder, "bank_code": account.bank_code,
           "bank_name": account.bank_name, "account_no": account.account_no, "account_name": account.account_name,
           "registered_at": now, "superseded_by": None, "event_seq": event["seq"]}
    await session.execute(insert(bank_accounts).values(**row))
    return {**account_view(row), "supersedes": str(current["id"]) if current else None, "seq": event["seq"]}


async def account_history(session: AsyncSession, county: str, holder: str) -> list[dict[str, Any]]:
    rows = (await session.execute(select(bank_accounts).where(
        bank_accounts.c.division == county, bank_accounts.c.holder == holder)
        .order_by(bank_accounts.c.registered_at, bank_accounts.c.id))).mappings().all()
    return [account_view(r) for r in rows]


def _bank(row: Mapping[str, Any]) -> BankAccount:
    return BankAccount(row["bank_code"], row["bank_name"], row["account_no"], row["account_name"])


async def _current(session: AsyncSession, county: str, holders: list[str]) -> dict[str, Mapping[str, Any]]:
    rows = (await session.execute(select(bank_accounts).where(
        bank_accounts.c.division == county, bank_accounts.c.holder.in_(holders),
        bank_accounts.c.superseded_by.is_(None)))).mappings().all()
    return {r["holder"]: r for r in rows}


# -- payment files (guarantee 3) ---------------------------------------------------------------------

_UNINSTRUCTED = text(
    "SELECT p.id, p.amount_fen, p.line_ref, f.reference AS project_code, t.reference AS payee, t.channel, "
    "t.fiscal_year FROM postings p JOIN accounts t ON t.id = p.to_account JOIN accounts f ON f.id = p.from_account "
    "WHERE p.operation = 'disburse' AND t.division = :county AND NOT EXISTS "
    "(SELECT 1 FROM payment_instructions i WHERE i.posting_id = p.id) ORDER BY p.event_seq, p.id")


def instruction_view(row: Mapping[str, Any], account: Mapping[str, Any] | None = None) -> dict[str, Any]:
    out = {"instruction_id": str(row["id"]), "ref": row["ref"], "posting_id": str(row["posting_id"]),
           "payee": row["payee"], "project_code": row["project_code"], "amount": format_fen(row["amount_fen"]),
           "state": row["state"], "reason_code": row["reason_code"], "reason": row["reason"],
           "file_id": str(row["file_id"]), "returned_posting": row["returned_posting"] and str(row["returned_posting"]),
           "reissued_posting": row["reissued_posting"] and str(row["reissued_posting"])}
    if account is not None:
        out["account"] = {"bank_name": account["bank_name"], "account_no": mask_account(account["account_no"]),
                          "account_name": account["account_name"]}
    return out


async def make_payment_files(session: AsyncSession, *, county: str, execution_date: date, initiator: str,
                             actor: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """Payment files of the county's disbursements not yet instructed: one per payee bank."""
    special = (await _current(session, county, [SPECIAL])).get(SPECIAL)
    if special is None:
        raise Unprocessable("本县尚未登记扶贫资金专户 (no 专户 account is registered for this county)",
                            errors=[{"field": "special_account", "reason": "register it with PUT /special-account"}],
                            slug="no-special-account")
    lines = (await session.execute(_UNINSTRUCTED, {"county": county})).mappings().all()
    accounts = await _current(session, county, sorted({line["payee"] for line in lines}))
    waiting = [{"posting_id": str(line["id"]), "payee": line["payee"], "amount": format_fen(line["amount_fen"]),
                "reason": "收款人未登记银行账户 (the payee has no bank account on file)"}
               for line in lines if line["payee"] not in accounts]
    by_bank: dict[str, list[Mapping[str, Any]]] = {}
    for line in lines:
        if line["payee"] in accounts:
            by_bank.setdefault(accounts[line["payee"]]["bank_code"], []).append(line)
    made = []
    for bank_code, group in sorted(by_bank.items()):
        file_id = str(uuid6.uuid7())
        msg_id = f"FP{execution_date:%Y%m%d}{file_id.replace('-', '')[-12:]}"
        rows = []
        for line in group:
            instruction_id = str(uuid6.uuid7())
            rows.append({"id": instruction_id, "ref": instruction_ref(instruction_id), "division": county,
                         "file_id": file_id, "posting_id": str(line["id"]), "payee": line["payee"],
                         "project_code": line["project_code"], "channel": line["channel"],
                         "fiscal_year": line["fiscal_year"], "amount_fen": line["amount_fen"],
                         "account": str(accounts[line["payee"]]["id"]), "state": "instructed", "updated_at": now})
        total = sum(r["amount_fen"] for r in rows)
        event_type = transition(None, "instructed")
        made_event = NewEvent(PAYMENT_FILE_MADE, file_id, {
            "id": file_id, "msg_id": msg_id, "division": county, "bank_code": bank_code,
            "execution_date": execution_date.isoformat(), "count": len(rows), "total": format_fen(total),
            "special_account": str(special["id"])}, actor)
        await append(session, [made_event] + [NewEvent(event_type, r["id"], {
            **{k: r[k] for k in ("id", "ref", "division", "file_id", "posting_id", "payee", "project_code", "amount_fen")},
            "account_id": r["account"], "account_no": mask_account(accounts[r["payee"]]["account_no"]),
            "state": "instructed"}, actor) for r in rows])
        await session.execute(insert(payment_files).values(
            id=file_id, division=county, msg_id=msg_id, bank_code=bank_code, execution_date=execution_date,
            special_account=str(special["id"]), count=len(rows), total_fen=total, created_at=now))
        await session.execute(insert(payment_instructions), rows)
        made.append({"file_id": file_id, "msg_id": msg_id, "bank_code": bank_code,
                     "bank_name": accounts[group[0]["payee"]]["bank_name"], "execution_date": execution_date.isoformat(),
                     "count": len(rows), "total": format_fen(total)})
    return {"files": made, "waiting": waiting, "initiator": initiator}


async def payment_file(session: AsyncSession, county: str, file_id: str, initiator: str) -> PaymentFile:
    """A payment file as it was made, ready to render (the accounts its instructions were made with)."""
    try:
        uuid.UUID(file_id)
    except ValueError:
        raise NotFound("无此支付文件 (no such payment file)") from None
    row = (await session.execute(select(payment_files).where(
        payment_files.c.id == file_id, payment_files.c.division == county))).mappings().first()
    if row is None:
        raise NotFound("无此支付文件 (no such payment file)")
    special = (await session.execute(select(bank_accounts).where(bank_accounts.c.id == row["special_account"]))).mappings().one()
    rows = (await session.execute(
        select(payment_instructions, bank_accounts.c.bank_code, bank_accounts.c.bank_name, bank_accounts.c.account_no,
               bank_accounts.c.account_name)
        .join(bank_accounts, bank_accounts.c.id == payment_instructions.c.account)
        .where(payment_instructions.c.file_id == file_id).order_by(payment_instructions.c.id))).mappings().all()
    return PaymentFile(row["msg_id"], row["created_at"], row["execution_date"], initiator, _bank(special),
                       [Instruction(r["ref"], r["amount_fen"], _bank(r), f"{r['project_code']} {r['payee']}"[:140])
                        for r in rows])


async def instructions(session: AsyncSession, county: str, file_id: str | None = None,
                       state: str | None = None) -> list[dict[str, Any]]:
    query = (select(payment_instructions, *(bank_accounts.c[c].label(f"a_{c}") for c in
                                            ("bank_name", "account_no", "account_name")))
             .join(bank_accounts, bank_accounts.c.id == payment_instructions.c.account)
             .where(payment_instructions.c.division == county).order_by(payment_instructions.c.id))
    if file_id is not None:
        query = query.where(payment_instructions.c.file_id == file_id)
    if state is not None:
        query = query.where(payment_instructions.c.state == state)
    rows = (await session.execute(query)).mappings().all()
    return [instruction_view(r, {k[2:]: r[k] for k in ("a_bank_name", "a_account_no", "a_account_name")}) for r in rows]


# -- bank results (guarantee 4) ----------------------------------------------------------------------

def _key(county: str, channel: str, year: int, kind: str, reference: str) -> AccountKey:
    return AccountKey(division=county, role="finance", channel=channel, fiscal_year=year, kind=kind, reference=reference)


async def import_results(session: AsyncSession, *, county: str, raw: bytes, fmt: str, actor: Mapping[str, Any],
                         now: datetime) -> dict[str, Any]:
    """Apply a bank's result file once (guarantee 4)."""
    file_digest = digest(raw)
    lines = parse_results(raw, fmt)  # a bad file is refused before anything is written
    claimed = (await session.execute(insert(bank_files).values(
        digest=file_digest, division=county, format=fmt, received_at=now, report={})
        .on_conflict_do_nothing(index_elements=["digest"]).returning(bank_files.c.digest))).scalar()
    if claimed is None:  # imported before (a concurrent import of the same file waited for it to commit)
        earlier = (await session.execute(select(bank_files.c.report).where(bank_files.c.digest == file_digest))).scalar()
        return {**(earlier or {}), "already_imported": True}
    refs = sorted({line.ref for line in lines})
    rows = {r["ref"]: r for r in (await session.execute(select(payment_instructions).where(
        payment_instructions.c.division == county, payment_instructions.c.ref.in_(refs))
        .order_by(payment_instructions.c.id).with_for_update())).mappings().all()}
    outcome = judge_results(lines, {ref: row["state"] for ref, row in rows.items()})
    events, entries, refused_rows = [], [], []
    for line, state in outcome.apply:
        row = rows[line.ref]
        event_type = transition(row["state"], state)
        values: dict[str, Any] = {"state": state, "updated_at": now}
        if state == "refused":
            posting_id = str(uuid6.uuid7())
            values.update(reason_code=line.reason_code, reason=line.reason, returned_posting=posting_id)
            entries.append(Entry(Posting(
                posting_id=posting_id, from_=_key(county, row["channel"], row["fiscal_year"], "disbursed", row["payee"]),
                to=_key(county, row["channel"], row["fiscal_year"], "committed", row["project_code"]),
                amount_fen=row["amount_fen"], operation="payment_return", document_no="", document_date=now.date(),
                actor=actor["sub"], purpose=None, reference=str(row["posting_id"])),
                {"instruction_id": str(row["id"]), "project_code": row["project_code"], "payee": row["payee"],
                 "reason_code": line.reason_code}))
            refused_rows.append(row)
        await session.execute(update(payment_instructions).where(payment_instructions.c.id == row["id"]).values(**values))
        events.append(NewEvent(event_type, str(row["id"]), {
            "id": str(row["id"]), "ref": row["ref"], "state": state, "reason_code": line.reason_code,
            "reason": line.reason, "returned_posting": values.get("returned_posting"), "file_digest": file_digest}, actor))
    if events:
        await append(session, events)
    if entries:
        await post_many(session, entries, actor=actor, posted_at=now)
    report = {"digest": file_digest, "format": fmt, "lines": len(lines), "paid": sum(s == "paid" for _, s in outcome.apply),
              "refused": [{"ref": row["ref"], "instruction_id": str(row["id"]), "amount": format_fen(row["amount_fen"]),
                           "returned_to": row["project_code"]} for row in refused_rows],
              "pending": [line.ref for line in outcome.pending], "problems": outcome.problems}
    await session.execute(update(bank_files).where(bank_files.c.digest == file_digest).values(report=report))
    return {**report, "already_imported": False}


async def reissue(session: AsyncSession, *, county: str, instruction_id: str, actor: Mapping[str, Any],
                  now: datetime) -> dict[str, Any]:
    """A refused instruction paid again: a new disbursement from the project to the payee (to be
    instructed in the next payment file), once the payee's account was replaced."""
    try:
        uuid.UUID(instruction_id)
    except ValueError:
        raise NotFound("无此支付指令 (no such payment instruction)") from None
    row = (await session.execute(select(payment_instructions).where(
        payment_instructions.c.id == instruction_id, payment_instructions.c.division == county)
        .with_for_update())).mappings().first()
    if row is None:
        raise NotFound("无此支付指令 (no such payment instruction)")
    event_type = transition(row["state"], "reissued")
    current = (await _current(session, county, [row["payee"]])).get(row["payee"])
    kind, _, who = row["payee"].partition(":")
    if kind == "household":  # removed from the roll since the first payment: not paid again
        await check_payees(session, county, [{"kind": kind, "household_id": who}])
    if current is None or str(current["id"]) == str(row["account"]):
        raise Unprocessable("收款账户尚未更正，不能重新支付 (the payee's account has not been corrected since the refusal)",
                            errors=[{"field": "account", "reason": "register the payee's corrected account first"}],
                            slug="account-not-corrected")
    posting_id = str(uuid6.uuid7())
    payee = {"kind": kind, "name": current["account_name"], "household_id": who if kind == "household" else None}
    [event] = (await post_many(session, [Entry(Posting(
        posting_id=posting_id, from_=_key(county, row["channel"], row["fiscal_year"], "committed", row["project_code"]),
        to=_key(county, row["channel"], row["fiscal_year"], "disbursed", row["payee"]), amount_fen=row["amount_fen"],
        operation="disburse", document_no="", document_date=now.date(), actor=actor["sub"], purpose=None,
        reference=row["payee"]), {"payee": payee, "project_code": row["project_code"], "reference": f"reissue:{row['ref']}",
                                  "reissue_of": instruction_id}, f"reissue:{row['ref']}")],
        actor=actor, posted_at=now)).events
    await session.execute(update(payment_instructions).where(payment_instructions.c.id == instruction_id)
                          .values(state="reissued", reissued_posting=posting_id, updated_at=now))
    await append(session, [NewEvent(event_type, instruction_id, {
        "id": instruction_id, "ref": row["ref"], "state": "reissued", "reissued_posting": posting_id,
        "account_id": str(current["id"]), "account_no": mask_account(current["account_no"])}, actor)])
    return {"instruction_id": instruction_id, "state": "reissued", "reissued_posting": posting_id,
            "disbursement_seq": event["seq"], "account_no": mask_account(current["account_no"])}


# -- reconciliation (guarantee 5) ----------------------------------------------------------------------

async def record_reconciliation(session: AsyncSession, *, county: str, on: date, raw: bytes, fmt: str,
                                actor: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    statement = parse_statement(raw, fmt)
    specials = (await session.execute(select(bank_accounts.c.id).where(
        bank_accounts.c.division == county, bank_accounts.c.holder == SPECIAL,
        bank_accounts.c.account_no == statement.account_no))).scalars().all()
    if not specials:
        raise BankFileError("对账单账号不是本县登记的专户 (the statement's account is not a 专户 of this county)",
                            errors=[{"field": "account", "reason": "not a registered 专户 of this county"}])
    rows = (await session.execute(
        select(payment_instructions.c.ref, payment_instructions.c.state, payment_instructions.c.amount_fen)
        .join(payment_files, payment_files.c.id == payment_instructions.c.file_id)
        .where(payment_files.c.division == county, payment_files.c.execution_date == on,
               payment_files.c.special_account.in_([str(s) for s in specials])))).all()
    expected = {ref: expected_debit(state, amount) for ref, state, amount in rows}
    entries = [e for e in statement.entries if e.booked_on in (None, on)]
    differences = reconcile(expected, entries)
    reconciliation_id = str(uuid6.uuid7())
    ledger_debit, bank_debit = sum(expected.values()), sum(e.debit_fen for e in entries)
    shown = [d.as_dict() for d in differences]
    [event] = await append(session, [NewEvent(RECONCILIATION_RECORDED, reconciliation_id, {
        "id": reconciliation_id, "division": county, "on": on.isoformat(), "account_no": mask_account(statement.account_no),
        "statement_digest": digest(raw), "format": fmt, "ledger_debit": format_fen(ledger_debit),
        "bank_debit": format_fen(bank_debit), "differences": shown}, actor)])
    await session.execute(insert(reconciliations).values(
        id=reconciliation_id, division=county, special_account=str(specials[-1]), on=on, statement_digest=digest(raw),
        ledger_debit_fen=ledger_debit, bank_debit_fen=bank_debit, differences=len(differences), event_seq=event["seq"],
        recorded_at=now))
    if differences:
        await session.execute(insert(reconciliation_differences), [
            {"reconciliation_id": reconciliation_id, "position": n, "kind": d.kind, "ref": d.ref,
             "ledger_fen": d.ledger_fen, "bank_fen": d.bank_fen, "reason": d.reason}
            for n, d in enumerate(differences, start=1)])
    return {"reconciliation_id": reconciliation_id, "on": on.isoformat(), "account_no": mask_account(statement.account_no),
            "ledger_debit": format_fen(ledger_debit), "bank_debit": format_fen(bank_debit),
            "balanced": not differences, "differences": shown, "seq": event["seq"]}


async def reconciliations_of(session: AsyncSession, county: str, on: date | None = None) -> list[dict[str, Any]]:
    """The county's reconciliations as recorded (newest first), each with its difference rows."""
    query = select(reconciliations).where(reconciliations.c.division == county)
    if on is not None:
        query = query.where(reconciliations.c.on == on)
    rows = (await session.execute(query.order_by(reconciliations.c.recorded_at.desc(),
                                                 reconciliations.c.id.desc()))).mappings().all()
    ids = [str(r["id"]) for r in rows]
    found: dict[str, list[dict[str, Any]]] = {}
    if ids:
        for d in (await session.execute(select(reconciliation_differences).where(
                reconciliation_differences.c.reconciliation_id.in_(ids)).order_by(
                reconciliation_differences.c.reconciliation_id, reconciliation_differences.c.position))).mappings():
            found.setdefault(str(d["reconciliation_id"]), []).append(Difference(
                d["kind"], d["ref"], d["ledger_fen"], d["bank_fen"], d["reason"]).as_dict())
    return [{"reconciliation_id": str(r["id"]), "on": r["on"].isoformat(), "seq": r["event_seq"],
             "ledger_debit": format_fen(r["ledger_debit_fen"]), "bank_debit": format_fen(r["bank_debit_fen"]),
             "balanced": r["differences"] == 0, "differences": found.get(str(r["id"]), [])} for r in rows]
