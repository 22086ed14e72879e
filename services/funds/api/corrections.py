"""Corrections (issue #15): reversal (冲正) of a posting, de-commitment of a project's unspent
commitment back to the pool, and the year-end close and carry-forward (结转结余, seed 004 L27).
Each is a new posting citing what it corrects — the ledger is never edited."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from services.funds.api.schemas import PostedOut, YearCloseOut
from services.funds.usecases import corrections
from shared.auth import Role, Writer
from shared.fields import FiscalYear, Name, Text
from shared.money import Yuan
from shared.web import Session, router

corrections_router = router(tags=["corrections (冲正 结余退回 结转结余)"])

FINANCE = (Role.central_finance, Role.province_finance, Role.city_finance, Role.county_finance)


class ReversalIn(BaseModel):
    document_no: Name = Field(min_length=2, max_length=100, description="the correction's 文号 (required)")
    document_date: date
    reason: Text = Field(min_length=2, max_length=500, description="why the posting was wrong")


def _answer(event: dict[str, Any]) -> dict[str, Any]:
    return {"seq": event["seq"], "event_type": event["type"], **event["data"]}


@corrections_router.post(
    "/postings/{posting_id}/reversal", status_code=201, summary="Reverse a posting (冲正)",
    description="A new posting of the same amount in the other direction, citing the original (`reverses`), with "
    "the reason and a 文号 — never an edit. By the division that made the posting. Refused (422, nothing written) "
    "when the posting was reversed before (`already_reversed`), is itself a reversal or a carry-forward "
    "(`reversal_not_allowed`), or when the money has moved on: the account it would come back from no longer holds "
    "it (`insufficient_funds`; balances never go negative). Reversing an allocation (下达) withdraws the deadlines "
    "it set on the receiver that are still open (`withdrawn_deadlines`, each a `funds.deadline.withdrawn` event "
    "citing the reversal): never marked missed, not counted in the compliance report.",
    responses={201: {"model": PostedOut}, 404: {"description": "no such posting of the caller's division"}})
async def reverse(body: ReversalIn, request: Request, principal: Writer(*FINANCE), session: Session,
                  posting_id: str = Path(min_length=1, max_length=64)) -> dict[str, Any]:
    event = await corrections.reverse(
        session, posting_id=posting_id, holder=principal.division, document_no=body.document_no,
        document_date=body.document_date, reason=body.reason, actor=principal.actor(),
        posted_at=request.app.state.clock.now())
    return {**_answer(event), "withdrawn_deadlines": event["withdrawn_deadlines"]}


class DecommitmentIn(BaseModel):
    project_code: str = Field(min_length=2, max_length=60)
    channel: str
    fiscal_year: FiscalYear
    amount: Yuan | None = Field(None, description="default: everything still committed and unpaid")
    to: Literal["pool", "available"] | None = Field(
        None, description="where the money goes back; default: the account the project's commitments came from")
    plan: str | None = Field(None, max_length=100, description="the integration plan, when going back to the pool")
    document_no: str = Field("", max_length=100)
    document_date: date
    reason: Text = Field(min_length=2, max_length=500)


@corrections_router.post(
    "/decommitments", status_code=201, summary="De-commit a project's unspent commitment back to the pool",
    description="Money committed to a project and not paid goes back to the county's integration pool (or the "
    "available money) it was committed from, keeping its channel and year. Refused beyond what remains committed.",
    responses={201: {"model": PostedOut}})
async def decommit(body: DecommitmentIn, request: Request,
                   principal: Writer(Role.county_finance), session: Session) -> dict[str, Any]:
    event = await corrections.decommit(
        session, county=principal.division, project_code=body.project_code, channel=body.channel,
        fiscal_year=body.fiscal_year, amount_fen=body.amount, target=body.to, plan=body.plan,
        document_no=body.document_no, document_date=body.document_date, reason=body.reason,
        actor=principal.actor(), posted_at=request.app.state.clock.now())
    return _answer(event)


class YearCloseIn(BaseModel):
    fiscal_year: FiscalYear
    document_no: Name = Field(min_length=2, max_length=100, description="the close's 文号")
    document_date: date


@corrections_router.post(
    "/year-closes", status_code=201, summary="Close a fiscal year: carry balances forward (结转结余)",
    description="Every available and pool balance of the caller's finance bureau for the year moves into the same "
    "account of the next year — channel (and so origin) and integration plan kept; the carried total leaves the "
    "year and enters the next (zero-sum). Once per division and year: closing again answers 200 with the first "
    "close (`already_closed: true`). Commitments stay with their projects; stranded money keeps its return "
    "deadline (seed 004 L27).",
    responses={201: {"model": YearCloseOut},
               200: {"model": YearCloseOut, "description": "the year was closed before: that close"}})
async def close_year(body: YearCloseIn, request: Request,
                     principal: Writer(*FINANCE), session: Session) -> Any:
    result = await corrections.close_year(
        session, division=principal.division, fiscal_year=body.fiscal_year, document_no=body.document_no,
        document_date=body.document_date, actor=principal.actor(), posted_at=request.app.state.clock.now())
    return JSONResponse(result, status_code=200 if result["already_closed"] else 201)
