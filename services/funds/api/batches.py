"""Disbursement batches (拨付批次) from county finance bureaus: an envelope and its lines, each line
with its own idempotency reference; all-or-nothing unless the caller asks for partial acceptance.

The posted lines are recorded as ``funds.disbursement.batch_posted`` events of up to
``POSTINGS_PER_BATCH_EVENT`` postings each (shape in :mod:`services.funds.contract`), not one event
per line: the log's cost per event, not the ledger's, bounded batches before.

Fast path (a batch may carry 100,000 lines; bench/ledger_post.py measures it): the body is
validated straight from its bytes, lines as typed dicts (no model object per line); each distinct
purpose is checked once, each distinct project account and payee-account template validated once.
The database look-ups that need only the lines (line references posted before, the accounts, the
new payees' accounts opened) start first and run in PostgreSQL while the lines are turned into
postings and checked by the domain; then the balances are judged under row locks, and only then is
anything of the batch's own written (under the log's lock, the posting rows with COPY while the
events are serialised, then the events). A batch refused as a whole rolls back.
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Annotated, Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError, WithJsonSchema
from sqlalchemy import select
from typing_extensions import NotRequired, TypedDict

from services.funds.api.operations import PayeeKind, _key
from services.funds.contract import (
    DISBURSEMENT_BATCH_POSTED,
    POSTINGS_PER_BATCH_EVENT,
    batch_event_data,
    payee_reference,
)
from services.funds.domain import AccountKey, check_posting, check_purpose, purpose_schema
from services.funds.usecases.ledger import (
    Entry,
    account_ref,
    judge,
    make_posting,
    new_posting_ids,
    prefetch,
    public_refusal,
    record,
    refusal_problem,
)
from services.funds.models import projects_view
from services.funds.usecases.payments import unpayable_households
from shared import divisions
from shared.auth import Principal, Role, Writer
from shared.bulk import gc_paused
from shared.errors import Problem, Unprocessable
from shared.events import NewEvent
from shared.money import Yuan, format_fen
from shared.web import Session, router
from shared.fields import Name

batches = router(tags=["ledger operations (资金下达 整合 拨付)"])


class BatchPayee(TypedDict):
    """The payee of a line (the same fields as a single disbursement's ``payee``)."""

    kind: PayeeKind
    name: Annotated[Name, Field(max_length=200)]
    household_id: NotRequired[Annotated[str | None, Field(description="the registry's household id, for households")]]


class BatchLine(TypedDict):
    line_ref: Annotated[str, Field(min_length=1, max_length=200, description="this line's own idempotency reference")]
    project_code: Annotated[str, Field(min_length=2, max_length=60)]
    channel: str
    fiscal_year: Annotated[int, Field(ge=2000, le=2100)]
    payee: BatchPayee
    amount: Yuan
    #: checked per line (unknown or negative-list purposes refuse the line, with the valid codes)
    purpose: NotRequired[Annotated[str | None, Field(max_length=100), WithJsonSchema(
        {"anyOf": [purpose_schema(), {"type": "null"}]})]]


class BatchIn(BaseModel):
    batch_ref: str = Field(min_length=1, max_length=200)
    schedule_date: date
    document_no: str = Field("", max_length=100)
    count: int = Field(ge=1, le=100_000, description="lines in the envelope")
    total: Yuan = Field(description="sum of the lines, exactly")
    partial: bool = Field(False, description="post the good lines even if others are refused")
    lines: list[BatchLine] = Field(min_length=1, max_length=100_000)


def _parse(raw: bytes) -> BatchIn:
    """The body validated from its bytes (pydantic parses the JSON itself); a failure is the same 422
    problem as for a declared body."""
    try:
        return BatchIn.model_validate_json(raw)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]) from None


@batches.post("/disbursement-batches", status_code=201, summary="Post a disbursement batch (拨付批次)",
              description="The envelope is settled only when its lines match its count and total exactly. A line "
              "over its commitment, to a project unknown to the county's library or cancelled, or with a negative-list "
              "purpose, is refused with the reason; then nothing is "
              "posted unless `partial` is true. A line whose `line_ref` was posted before is skipped (retries are safe). "
              f"The posted lines are recorded as `{DISBURSEMENT_BATCH_POSTED}` events of up to "
              f"{POSTINGS_PER_BATCH_EVENT} postings each.",
              openapi_extra={"requestBody": {"required": True, "content": {
                  "application/json": {"schema": BatchIn.model_json_schema()}}}})
async def post_batch(request: Request, principal: Writer(Role.county_finance),
                     session: Session) -> dict[str, Any]:
    with gc_paused():
        return await _post_batch(request, principal, session)


#: Lines turned into postings between two turns of the event loop, so that the look-ups started
#: before (:func:`prefetch`) go on in PostgreSQL meanwhile.
SLICE = 32


async def _unfundable(session, codes: set[str], county: str) -> dict[str, tuple[str, str]]:
    """The lines' projects that cannot be paid: unknown to this county's library (from the
    projects service's events) or cancelled — {code: (refusal code, reason)}."""
    rows = (await session.execute(select(projects_view.c.code, projects_view.c.division, projects_view.c.cancelled)
                                  .where(projects_view.c.code.in_(sorted(codes))))).all()
    known = {code: cancelled for code, division, cancelled in rows if divisions.within(division, county)}
    out = {code: ("unknown_project", f"项目{code}不在本县项目库中 (project {code} is not in this county's library)")
           for code in codes if code not in known}
    out.update({code: ("project_cancelled", f"项目{code}已取消，资金已转为滞留资金 (project {code} was cancelled)")
                for code, cancelled in known.items() if cancelled})
    return out


async def _post_batch(request: Request, principal: Principal, session) -> dict[str, Any]:
    body = _parse(await request.body())
    lines = body.lines
    total = sum(line["amount"] for line in lines)
    mismatch = []
    if len(lines) != body.count:
        mismatch.append({"field": "count", "reason": f"envelope says {body.count} lines, {len(lines)} received"})
    if total != body.total:
        mismatch.append({"field": "total", "reason": f"envelope says {format_fen(body.total)}, lines sum to {format_fen(total)}"})
    if mismatch:
        raise Unprocessable("批次信封与明细不符，未入账 (the envelope does not match its lines; nothing was posted)",
                            errors=mismatch)
    county, policy, sub = principal.division, request.app.state.policy, principal.sub
    on, document_no = body.schedule_date, body.document_no
    unfundable = await _unfundable(session, {line["project_code"] for line in lines}, county)
    unpayable = await unpayable_households(session, county, {line["payee"].get("household_id") for line in lines
                                                             if line["payee"]["kind"] == "household"})
    purposes: dict[str, Problem | None] = {}  # each distinct purpose checked once
    sources: dict[tuple[str, int, str], AccountKey] = {}  # each project's account validated once
    payees: dict[tuple[str, int], AccountKey] = {}  # a validated payee account per channel and year
    payee_refs: dict[tuple[str, int], list[str]] = {}
    references: list[str | None] = []  # each line's payee reference; None: refused already
    refused: list[dict[str, Any]] = []
    for index, line in enumerate(lines):  # what the look-ups need, and the refusals by purpose
        purpose = line.get("purpose")
        if purpose is not None:
            if purpose not in purposes:
                try:
                    check_purpose(policy, county, on, purpose)
                    purposes[purpose] = None
                except Problem as error:
                    purposes[purpose] = error
            error = purposes[purpose]
            if error is not None:
                refused.append({"index": index, "line_ref": line["line_ref"], "code": getattr(error, "code", "purpose"),
                                "reason": str(error)})
                references.append(None)
                continue
        channel, year, project = line["channel"], line["fiscal_year"], line["project_code"]
        if project in unfundable:
            code, reason = unfundable[project]
            refused.append({"index": index, "line_ref": line["line_ref"], "code": code, "reason": reason})
            references.append(None)
            continue
        payee = line["payee"]
        if payee["kind"] == "household" and payee.get("household_id") in unpayable:
            code, reason = unpayable[payee.get("household_id")]
            refused.append({"index": index, "line_ref": line["line_ref"], "code": code, "reason": reason})
            references.append(None)
            continue
        if (channel, year, project) not in sources:
            sources[channel, year, project] = _key(county, channel, year, "committed", project)
        if (channel, year) not in payees:
            payees[channel, year] = _key(county, channel, year, "disbursed", "payee")
            payee_refs[channel, year] = []
        reference = payee_reference(payee["kind"], payee["name"], payee.get("household_id"))
        references.append(reference)
        payee_refs[channel, year].append(reference)
    groups: dict[tuple, list[str]] = {}
    for (_channel, _year, project), key in sources.items():
        groups.setdefault(account_ref(key)[:5], []).append(project)
    for channel_year, key in payees.items():
        groups[account_ref(key)[:5]] = payee_refs[channel_year]
    line_refs = [line["line_ref"] for line, reference in zip(lines, references) if reference is not None]
    lookups = asyncio.ensure_future(prefetch(session, line_refs, groups, open_missing=True))

    posting_ids = new_posting_ids(len(lines))
    entries: list[Entry] = []
    rows: list[tuple] = []  # the event row of each entry (services.funds.contract.BATCH_FIELDS)
    positions: list[int] = []  # entry position → line index in the envelope
    screened: dict[int, Exception] = {}  # entry position → the domain's refusal (check_posting)
    try:
        for start in range(0, len(lines), SLICE):
            await asyncio.sleep(0)  # the look-ups' turn
            for index in range(start, min(start + SLICE, len(lines))):
                reference = references[index]
                if reference is None:
                    continue
                line = lines[index]
                channel, year, project, purpose = line["channel"], line["fiscal_year"], line["project_code"], line.get("purpose")
                payee = line["payee"]
                posting_id, amount, line_ref = posting_ids[index], line["amount"], line["line_ref"]
                posting = make_posting(
                    posting_id=posting_id, from_=sources[channel, year, project],
                    to=payees[channel, year].replace(reference=reference), amount_fen=amount, operation="disburse",
                    document_no=document_no, document_date=on, actor=sub, purpose=purpose, reference=reference)
                try:
                    check_posting(posting)
                except Problem as error:
                    screened[len(entries)] = error
                entries.append(Entry(posting, None, line_ref))
                rows.append((posting_id, line_ref, project, payee["kind"], payee["name"], payee.get("household_id"),
                             amount, purpose))
                positions.append(index)
    except BaseException:
        await asyncio.wait([lookups])  # never leave a statement running on the session
        raise
    prefetched = await lookups

    judgement = await judge(session, entries, prefetched, screened=screened)
    refused += [{**public_refusal(r), "index": positions[r["index"]]} for r in judgement.refused]
    refused.sort(key=lambda r: r["index"])
    if refused and not body.partial:  # judged, nothing written
        raise refusal_problem(refused)

    def events(accepted: list[int]) -> list[tuple[NewEvent, list[int]]]:
        by_money: dict[tuple[str, int], list[int]] = {}  # parts of one channel and fiscal year each
        for i in accepted:
            line = lines[positions[i]]
            by_money.setdefault((line["channel"], line["fiscal_year"]), []).append(i)
        parts = [(money, group[k:k + POSTINGS_PER_BATCH_EVENT]) for money, group in by_money.items()
                 for k in range(0, len(group), POSTINGS_PER_BATCH_EVENT)]
        return [(NewEvent(DISBURSEMENT_BATCH_POSTED, body.batch_ref, batch_event_data(
            batch_ref=body.batch_ref, part=number, parts=len(parts), division=payees[channel, year].division,
            role=payees[channel, year].role, channel=channel, fiscal_year=year, document_no=document_no,
            document_date=on.isoformat(), actor=sub, rows=[rows[i] for i in part]), principal.actor()), part)
            for number, ((channel, year), part) in enumerate(parts, start=1)]

    await record(session, entries, judgement, actor=principal.actor(), posted_at=request.app.state.clock.now(),
                 events=events)
    posted = judgement.accepted
    return {"batch_ref": body.batch_ref, "settled": not refused, "posted": len(posted),
            "already_posted": [positions[i] for i in judgement.already_posted], "refused": refused,
            "posted_total": format_fen(sum(entries[i].posting.amount_fen for i in posted))}
