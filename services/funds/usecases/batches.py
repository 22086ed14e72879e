"""Disbursement batches (拨付批次): the use case behind ``POST /disbursement-batches`` — an envelope
and its lines, each line with its own idempotency reference; all-or-nothing unless the caller asks
for partial acceptance.

The posted lines are recorded as ``funds.disbursement.batch_posted`` events of up to
``POSTINGS_PER_BATCH_EVENT`` postings each (shape in :mod:`services.funds.contract`), not one event
per line: the log's cost per event, not the ledger's, bounded batches before.

Steps (a batch may carry 100,000 lines; bench/ledger_post.py measures it):

1. **Envelope.** The count and total must match the lines exactly, else 422 and nothing is read.
2. **Screen.** Each distinct purpose is checked once, each distinct project through the projects
   gate once (:mod:`services.funds.usecases.gate`), each household payee against the registry's
   read model once; a line failing one is refused with its code and reason. Each distinct project
   account and payee-account template is validated once.
3. **Look up, meanwhile build.** The database look-ups that need only the lines (line references
   posted before, the accounts, the new payees' accounts opened) start first and run in PostgreSQL
   while the lines are turned into postings and checked by the domain (``check_posting``).
4. **Judge.** The balances are judged under row locks; with a refusal and ``partial`` false, 422
   and nothing of the batch is written (the transaction rolls back).
5. **Record.** Under the log's lock, the posting rows with COPY while the events are serialised,
   then the events, grouped by channel and fiscal year.

Steps 4 and 5 overlap for a batch of one money (one channel and fiscal year, the usual case) that
may write something (:func:`services.funds.usecases.ledger.post_overlapped`): the log is locked
before the lines are judged, :data:`CHUNK` lines at a time, and each chunk's rows are copied while
the next one is judged — PostgreSQL applies postings while Python judges. A batch of several moneys
(its rows' events are known only once every line is judged) takes the steps one after the other.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.contract import (
    DISBURSEMENT_BATCH_POSTED,
    POSTINGS_PER_BATCH_EVENT,
    batch_event_data,
    payee_reference,
)
from services.funds.domain import AccountKey, Posting, check_posting, check_purpose, finance_account, gate
from services.funds.domain.ledger import check_posting_like
from services.funds.usecases.gate import unfundable
from services.funds.usecases.ledger import (
    Entry,
    Judgement,
    account_ref,
    judge,
    new_posting_ids,
    post_overlapped,
    prefetch,
    public_refusal,
    record,
    refusal_problem,
)
from services.funds.usecases.payments import unpayable_households
from shared.auth import Principal
from shared.errors import Problem, Unprocessable
from shared.events import NewEvent
from shared.money import format_fen
from shared.policy import PolicyTable

#: Lines judged and copied at a time when a batch of one money (channel and fiscal year) is judged
#: and recorded overlapped (:func:`services.funds.usecases.ledger.post_overlapped`): each chunk's
#: rows are copied while the next is judged. ``None``: judge everything, then record (the path
#: batches of several moneys take).
CHUNK: int | None = 500

#: Lines turned into postings between two turns of the event loop, so that the look-ups started
#: before (:func:`prefetch`) go on in PostgreSQL meanwhile.
SLICE = 32


class Batch(Protocol):
    """The command: an envelope and its lines (lines as typed dicts, no model object per line)."""

    batch_ref: str
    schedule_date: date
    document_no: str
    count: int
    total: int
    partial: bool
    lines: Sequence[Any]


@dataclass
class Screened:
    """Step 2's outcome: per line its payee reference (None: refused already), the refusals, and
    the validated accounts each posting is built from."""

    references: list[str | None] = field(default_factory=list)
    refused: list[dict[str, Any]] = field(default_factory=list)
    sources: dict[tuple[str, int, str], AccountKey] = field(default_factory=dict)  # (channel, year, project)
    payees: dict[tuple[str, int], AccountKey] = field(default_factory=dict)  # payee account template per money
    payee_refs: dict[tuple[str, int], list[str]] = field(default_factory=dict)

    def refuse(self, index: int, line: Any, code: str, reason: str) -> None:
        self.refused.append({"index": index, "line_ref": line["line_ref"], "code": code, "reason": reason})
        self.references.append(None)

    def groups(self) -> dict[tuple, list[str]]:
        """The accounts the look-ups open or lock, by account group (:func:`prefetch`)."""
        out: dict[tuple, list[str]] = {}
        for (_channel, _year, project), key in self.sources.items():
            out.setdefault(account_ref(key)[:5], []).append(project)
        for money, key in self.payees.items():
            out[account_ref(key)[:5]] = self.payee_refs[money]
        return out


@dataclass
class Built:
    """Step 3's outcome: the entries, each one's event row and envelope position, and the
    domain's refusals by entry position."""

    entries: list[Entry] = field(default_factory=list)
    rows: list[tuple] = field(default_factory=list)  # services.funds.contract.BATCH_FIELDS
    positions: list[int] = field(default_factory=list)  # entry position → line index in the envelope
    screened: dict[int, Exception] = field(default_factory=dict)


def check_envelope(batch: Batch) -> None:
    """Step 1: the envelope's count and total are its lines' exactly, else 422 naming them."""
    lines, total = batch.lines, sum(line["amount"] for line in batch.lines)
    mismatch = []
    if len(lines) != batch.count:
        mismatch.append({"field": "count", "reason": f"envelope says {batch.count} lines, {len(lines)} received"})
    if total != batch.total:
        mismatch.append({"field": "total",
                         "reason": f"envelope says {format_fen(batch.total)}, lines sum to {format_fen(total)}"})
    if mismatch:
        raise Unprocessable("批次信封与明细不符，未入账 (the envelope does not match its lines; nothing was posted)",
                            errors=mismatch)


async def screen(session: AsyncSession, policy: PolicyTable, county: str, batch: Batch) -> Screened:
    """Step 2: each line's purpose, project and household payee, each distinct one checked once."""
    lines, on = batch.lines, batch.schedule_date
    refused_projects = await unfundable(session, {line["project_code"] for line in lines}, county)
    unpayable = await unpayable_households(session, county, {line["payee"].get("household_id") for line in lines
                                                             if line["payee"]["kind"] == "household"})
    purposes: dict[str, Problem | None] = {}
    out = Screened()
    for index, line in enumerate(lines):
        purpose, project, payee = line.get("purpose"), line["project_code"], line["payee"]
        if purpose is not None and purpose not in purposes:
            try:
                check_purpose(policy, county, on, purpose)
                purposes[purpose] = None
            except Problem as error:
                purposes[purpose] = error
        if purpose is not None and (error := purposes[purpose]) is not None:
            out.refuse(index, line, getattr(error, "code", "purpose"), str(error))
        elif project in refused_projects:
            out.refuse(index, line, refused_projects[project], gate.sentence(project, refused_projects[project]))
        elif payee["kind"] == "household" and payee.get("household_id") in unpayable:
            out.refuse(index, line, *unpayable[payee.get("household_id")])
        else:
            channel, year = line["channel"], line["fiscal_year"]
            if (channel, year, project) not in out.sources:
                out.sources[channel, year, project] = finance_account(county, channel, year, "committed", project)
            if (channel, year) not in out.payees:
                out.payees[channel, year] = finance_account(county, channel, year, "disbursed", "payee")
                out.payee_refs[channel, year] = []
            reference = payee_reference(payee["kind"], payee["name"], payee.get("household_id"))
            out.references.append(reference)
            out.payee_refs[channel, year].append(reference)
    return out


async def build(batch: Batch, screened: Screened, actor_sub: str) -> Built:
    """Step 3: the lines not refused as postings, checked by the domain, a slice at a time."""
    lines, references = batch.lines, screened.references
    posting_ids = new_posting_ids(len(lines))
    out = Built()
    models: dict[tuple[int, int], Posting] = {}  # a posting check_posting accepted, by (source, payee template)
    for start in range(0, len(lines), SLICE):
        await asyncio.sleep(0)  # the look-ups' turn
        for index in range(start, min(start + SLICE, len(lines))):
            reference = references[index]
            if reference is None:
                continue
            line = lines[index]
            channel, year, project, purpose = line["channel"], line["fiscal_year"], line["project_code"], line.get("purpose")
            payee, posting_id, amount, line_ref = line["payee"], posting_ids[index], line["amount"], line["line_ref"]
            source, template = screened.sources[channel, year, project], screened.payees[channel, year]
            posting = Posting(
                posting_id=posting_id, from_=source, to=template.replace(reference=reference), amount_fen=amount,
                operation="disburse", document_no=batch.document_no, document_date=batch.schedule_date,
                actor=actor_sub, purpose=purpose, reference=reference)
            model = models.get((id(source), id(template)))
            try:
                if model is None:
                    check_posting(posting)
                    models[id(source), id(template)] = posting
                else:
                    check_posting_like(posting, model)
            except Problem as error:
                out.screened[len(out.entries)] = error
            out.entries.append(Entry(posting, None, line_ref))
            out.rows.append((posting_id, line_ref, project, payee["kind"], payee["name"], payee.get("household_id"),
                             amount, purpose))
            out.positions.append(index)
    return out


def events(batch: Batch, principal: Principal, screened: Screened, built: Built,
           accepted: list[int]) -> list[tuple[NewEvent, list[int]]]:
    """Step 5's events: the accepted entries by channel and fiscal year, in parts of at most
    ``POSTINGS_PER_BATCH_EVENT``, each event with the entries it records."""
    by_money: dict[tuple[str, int], list[int]] = {}
    for i in accepted:
        line = batch.lines[built.positions[i]]
        by_money.setdefault((line["channel"], line["fiscal_year"]), []).append(i)
    parts = [(money, group[k:k + POSTINGS_PER_BATCH_EVENT]) for money, group in by_money.items()
             for k in range(0, len(group), POSTINGS_PER_BATCH_EVENT)]
    return [(NewEvent(DISBURSEMENT_BATCH_POSTED, batch.batch_ref, batch_event_data(
        batch_ref=batch.batch_ref, part=number, parts=len(parts), division=screened.payees[channel, year].division,
        role=screened.payees[channel, year].role, channel=channel, fiscal_year=year, document_no=batch.document_no,
        document_date=batch.schedule_date.isoformat(), actor=principal.sub, rows=[built.rows[i] for i in part]),
        principal.actor()), part)
        for number, ((channel, year), part) in enumerate(parts, start=1)]


def _refusals(screened: Screened, built: Built, judgement: Judgement) -> list[dict[str, Any]]:
    """The refused lines of the envelope, in order: the screen's and the judgement's."""
    refused = screened.refused + [{**public_refusal(r), "index": built.positions[r["index"]]} for r in judgement.refused]
    refused.sort(key=lambda r: r["index"])
    return refused


async def post_batch(session: AsyncSession, principal: Principal, batch: Batch, *, policy: PolicyTable,
                     now: datetime) -> dict[str, Any]:
    """Steps 1–5 in the request's unit of work; the answer lists what was posted and refused."""
    check_envelope(batch)
    screened = await screen(session, policy, principal.division, batch)
    line_refs = [line["line_ref"] for line, reference in zip(batch.lines, screened.references) if reference is not None]
    lookups = asyncio.ensure_future(prefetch(session, line_refs, screened.groups(), open_missing=True))
    try:
        built = await build(batch, screened, principal.sub)
    except BaseException:
        await asyncio.wait([lookups])  # never leave a statement running on the session
        raise
    if CHUNK is not None and len(screened.payees) == 1 and (batch.partial or not screened.refused):
        judgement, _ = await post_overlapped(
            session, built.entries, await lookups, screened=built.screened, actor=principal.actor(), posted_at=now,
            events=lambda accepted: events(batch, principal, screened, built, accepted),
            event_of=lambda rank: rank // POSTINGS_PER_BATCH_EVENT + 1, chunk=CHUNK, all_or_nothing=not batch.partial)
        refused = _refusals(screened, built, judgement)
        if refused and not batch.partial:  # the rows copied before the refusal roll back with the request
            raise refusal_problem(refused)
    else:
        judgement = await judge(session, built.entries, await lookups, screened=built.screened)
        refused = _refusals(screened, built, judgement)
        if refused and not batch.partial:  # judged, nothing written
            raise refusal_problem(refused)
        await record(session, built.entries, judgement, actor=principal.actor(), posted_at=now,
                     events=lambda accepted: events(batch, principal, screened, built, accepted))
    posted = judgement.accepted
    return {"batch_ref": batch.batch_ref, "settled": not refused, "posted": len(posted),
            "already_posted": [built.positions[i] for i in judgement.already_posted], "refused": refused,
            "posted_total": format_fen(sum(built.entries[i].posting.amount_fen for i in posted))}
