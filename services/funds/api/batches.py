"""Disbursement batches (拨付批次) from county finance bureaus: an envelope and its lines, each line
with its own idempotency reference; all-or-nothing unless the caller asks for partial acceptance."""

from __future__ import annotations

from datetime import date
from typing import Any

import uuid6
from fastapi import Depends, Request
from pydantic import BaseModel, Field

from services.funds.api.operations import Payee, _key
from services.funds.domain import Posting, check_purpose
from services.funds.ledger_store import Entry, post_many, public_refusal
from shared.auth import Principal, Role, require
from shared.errors import Problem, Unprocessable
from shared.money import Yuan, format_fen
from shared.web import db_session, router

batches = router(tags=["ledger operations (资金下达 整合 拨付)"])


class BatchLine(BaseModel):
    line_ref: str = Field(min_length=1, max_length=200, description="this line's own idempotency reference")
    project_code: str = Field(min_length=2, max_length=60)
    channel: str
    fiscal_year: int = Field(ge=2000, le=2100)
    payee: Payee
    amount: Yuan
    purpose: str | None = Field(None, max_length=100)


class BatchIn(BaseModel):
    batch_ref: str = Field(min_length=1, max_length=200)
    schedule_date: date
    document_no: str = Field("", max_length=100)
    count: int = Field(ge=1, le=100_000, description="lines in the envelope")
    total: Yuan = Field(description="sum of the lines, exactly")
    partial: bool = Field(False, description="post the good lines even if others are refused")
    lines: list[BatchLine] = Field(min_length=1, max_length=100_000)


@batches.post("/disbursement-batches", status_code=201, summary="Post a disbursement batch (拨付批次)",
                 description="The envelope is settled only when its lines match its count and total exactly. A line "
                 "over its commitment, or with a negative-list purpose, is refused with the reason; then nothing is "
                 "posted unless `partial` is true. A line whose `line_ref` was posted before is skipped (retries are safe).")
async def post_batch(body: BatchIn, request: Request, principal: Principal = Depends(require(Role.county_finance, write=True)),
                     session=Depends(db_session)) -> dict[str, Any]:
    total = sum(line.amount for line in body.lines)
    mismatch = []
    if len(body.lines) != body.count:
        mismatch.append({"field": "count", "reason": f"envelope says {body.count} lines, {len(body.lines)} received"})
    if total != body.total:
        mismatch.append({"field": "total", "reason": f"envelope says {format_fen(body.total)}, lines sum to {format_fen(total)}"})
    if mismatch:
        raise Unprocessable("批次信封与明细不符，未入账 (the envelope does not match its lines; nothing was posted)",
                            errors=mismatch)
    county, policy = principal.division, request.app.state.policy
    entries, refused = [], []
    for index, line in enumerate(body.lines):
        try:
            if line.purpose:
                check_purpose(policy, county, body.schedule_date, line.purpose)
        except Problem as error:
            refused.append({"index": index, "line_ref": line.line_ref, "code": getattr(error, "code", "purpose"),
                            "reason": str(error)})
            continue
        payee = f"{line.payee.kind}:{line.payee.household_id or line.payee.name}"
        entries.append((index, Entry(Posting(
            posting_id=str(uuid6.uuid7()), from_=_key(county, line.channel, line.fiscal_year, "committed", line.project_code),
            to=_key(county, line.channel, line.fiscal_year, "disbursed", payee), amount_fen=line.amount,
            operation="disburse", document_no=body.document_no, document_date=body.schedule_date, actor=principal.sub,
            purpose=line.purpose, reference=payee),
            extra={"payee": line.payee.model_dump(), "project_code": line.project_code, "reference": line.line_ref,
                   "batch_ref": body.batch_ref}, line_ref=line.line_ref)))
    outcome = await post_many(session, [entry for _, entry in entries], actor=principal.actor(),
                              posted_at=request.app.state.clock.now(), partial=True)
    positions = [index for index, _ in entries]  # entry position → line index in the envelope
    refused += [{**public_refusal(r), "index": positions[r["index"]]} for r in outcome.refused]
    refused.sort(key=lambda r: r["index"])
    if refused and not body.partial:  # the route rolls the whole batch back
        raise Unprocessable(f"{len(refused)}笔被拒绝，全部未入账 ({len(refused)} line(s) refused; nothing was posted)",
                            errors=[{"field": f"lines.{r['index']}", "reason": r["reason"]} for r in refused],
                            refused=refused)
    return {"batch_ref": body.batch_ref, "settled": not refused, "posted": len(outcome.events),
            "already_posted": [positions[i] for i in outcome.already_posted], "refused": refused,
            "posted_total": format_fen(sum(e["data"]["amount_fen"] for e in outcome.events))}


