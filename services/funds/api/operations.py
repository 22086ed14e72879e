"""Ledger operations, each its own endpoint and event type: appropriate (central finance),
allocate (下达, down one or more levels), integrate (涉农资金整合 into a county pool), commit to a
project, disburse (拨付) to a payee, strand, return and re-allocate."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, Field, PlainValidator, WithJsonSchema

from services.funds.domain import (
    Posting,
    check_allocation_by_factors,
    finance_account,
    check_purpose,
    known_purpose,
    purpose_schema,
)
from services.funds.domain.code_lists import PAYEE_KIND
from services.funds.contract import payee_reference
from services.funds.usecases import commitments, disbursements
from services.funds.usecases.commitments import new_posting
from services.funds.usecases.ledger import Entry, Grouped, post
from services.funds.usecases.deadlines import set_for_receipt, view
from services.funds.usecases.stranded import return_stranded as _return_stranded
from shared import context
from shared.auth import Principal, Role, Writer, ensure_jurisdiction
from shared.divisions import DivisionCode
from shared.errors import Problem
from shared.money import Yuan, format_fen
from shared.web import Session, router
from shared.fields import FiscalYear, Name, Text
from shared.web.group_commit import GroupCommit

operations = router(tags=["ledger operations (资金下达 整合 拨付)"])


#: A purpose code of the closed list; anything else is a 422 naming ``purpose`` and every valid code.
PurposeCode = Annotated[str, AfterValidator(known_purpose), WithJsonSchema(purpose_schema())]


class Money(BaseModel):
    channel: str = Field(examples=["central_special"], description="资金渠道 code (see the channel list)")
    fiscal_year: FiscalYear
    amount: Yuan
    document_no: str = Field("", max_length=100, description="文号, e.g. 财农〔2017〕8号 (required where the operation "
                             "must cite its document: see the operation)")
    document_date: date
    purpose: PurposeCode | None = Field(None, description="资金用途 code (the closed list; see the enum)")


def _integer_or_decimal_string(value: Any) -> int | str:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError("须为整数或十进制数字字符串，不能是浮点数 (an integer or a decimal string, never a float)")
    return value


Number = Annotated[int | str, PlainValidator(_integer_or_decimal_string),
                   WithJsonSchema({"anyOf": [{"type": "integer"}, {"type": "string"}],
                                   "description": "an integer or a decimal string (never a float)"})]


class FactorSheet(BaseModel):
    """因素法分配表: the tranche split among the recipients by weighted factors (seed 004 L25)."""

    total: Yuan = Field(description="the whole amount split by the sheet, among all its recipients")
    weights: dict[str, Number] = Field(min_length=1, examples=[{"poor_population": 6, "farmer_income": 2, "performance": 2}])
    recipients: dict[DivisionCode, dict[str, Number]] = Field(
        min_length=1, description="division → {factor: value}; a factor favouring lower values is given inverted")


class Documented(Money):
    """An operation that must cite its document (rule funds.document_no: appropriations,
    allocations, integrations, returns, re-allocations): the 文号 is required, not optional."""

    document_no: str = Field(min_length=1, max_length=100, pattern=r"\S", examples=["财农〔2017〕8号"],
                             description="文号 (required): the document that ordered the operation")


class AppropriationIn(Documented):
    budget_approved_on: date | None = Field(
        None, description="本级人大批准预算的日期: a province's own funds must be passed on within 60 days of it "
        "(预算法 Art. 52); default the document date")


class AllocationIn(Documented):
    to_division: DivisionCode
    advance: bool = Field(False, description="提前下达")
    provincial_approval: bool = Field(
        False, description="for one of the \"少量须省级审批的项目\" (seed 004 L27): exempt from the onward deadline "
        "where the rule in force names that exemption")
    budget_approved_on: date | None = Field(
        None, description="the sender's budget approval date, where the receiver's onward deadline counts from it")
    factor_sheet: FactorSheet | None = Field(
        None, description="when allocated by factors: the sheet; the amount must be exactly the receiver's part")


class IntegrationIn(Documented):
    plan: Name = Field(min_length=2, max_length=100, description="the integration plan (整合方案)")


class CommitmentIn(Money):
    project_code: str = Field(min_length=2, max_length=60)
    source: Literal["pool", "available"] = "pool"
    plan: str | None = Field(None, description="the integration plan, when committing pool money")


PayeeKind = Literal[PAYEE_KIND.codes]  # type: ignore[valid-type]


class Payee(BaseModel):
    kind: PayeeKind
    name: Name = Field(max_length=200)
    household_id: str | None = Field(None, description="the registry's household id, for households")


class DisbursementIn(Money):
    project_code: str = Field(min_length=2, max_length=60)
    payee: Payee
    line_ref: str | None = Field(None, max_length=200, description="this payment's own idempotency reference")


async def _post(request: Request, session, principal: Principal, posting: Posting, **options) -> dict[str, Any]:
    event = await post(session, posting, actor=principal.actor(), posted_at=request.app.state.clock.now(), **options)
    return _answer(event)


def _answer(event: dict[str, Any]) -> dict[str, Any]:
    """A posting's response: its event's seq and type, and the event's data."""
    return {"seq": event["seq"], "event_type": event["type"], **event["data"]}


@operations.post("/appropriations", status_code=201, summary="Appropriate budget funds (预算拨款) at the caller's level",
                 description="Central finance books central channels (中央财政专项扶贫资金 and the integrable "
                 "agriculture-related channels); a province, city or county finance bureau books its own level's "
                 "special poverty funds. The channel's source level is checked (e.g. 省级 money only by a province).")
async def appropriate(body: AppropriationIn, request: Request,
                      principal: Writer(Role.central_finance, Role.province_finance, Role.city_finance, Role.county_finance),
                      session: Session) -> dict[str, Any]:
    own = principal.division
    event = await post(session, new_posting(
        principal, body, "appropriate", finance_account(own, body.channel, body.fiscal_year, "appropriation"),
        finance_account(own, body.channel, body.fiscal_year, "available")), actor=principal.actor(),
        posted_at=request.app.state.clock.now())
    # a province's own funds (省级财政专项扶贫资金) must be passed on too: funds.deadline.provincial_onward
    set_deadlines = await set_for_receipt(
        session, request.app.state.policy, event=event, sender=own, advance=False,
        budget_approved_on=body.budget_approved_on or body.document_date) if own[2:] == "0" * 10 and own != "0" * 12 \
        else []
    answer = _answer(event)
    if set_deadlines:
        answer["deadlines"] = [view(d, request.app.state.clock.today()) for d in set_deadlines]
    return answer


def _checked_sheet(principal: Principal, body: AllocationIn) -> dict[str, Any] | None:
    """The factor sheet as recorded in the event (with the computed parts), once it is shown that
    every recipient is in the caller's jurisdiction and the amount is the receiver's part."""
    sheet = body.factor_sheet
    if sheet is None:
        return None
    for code in sheet.recipients:
        ensure_jurisdiction(principal, code)
    parts = check_allocation_by_factors(sheet.total, sheet.recipients, sheet.weights, to_division=body.to_division,
                                        amount_fen=body.amount)
    return {"total": format_fen(sheet.total), "weights": sheet.weights, "recipients": sheet.recipients,
            "parts": {code: format_fen(fen) for code, fen in parts.items()}}


@operations.post("/allocations", status_code=201, summary="Allocate (下达) to a lower division, with 文号",
                 description="From the caller's own division to a lower division under it, same channel and year.")
async def allocate(body: AllocationIn, request: Request,
                   principal: Writer(Role.central_finance, Role.province_finance, Role.city_finance),
                   session: Session) -> dict[str, Any]:
    ensure_jurisdiction(principal, body.to_division)
    extra = {"advance": body.advance, "factor_sheet": _checked_sheet(principal, body),
             **({"provincial_approval": True} if body.provincial_approval else {})}
    event = await post(session, new_posting(
        principal, body, "allocate", finance_account(principal.division, body.channel, body.fiscal_year, "available"),
        finance_account(body.to_division, body.channel, body.fiscal_year, "available")), actor=principal.actor(),
        posted_at=request.app.state.clock.now(), extra=extra)
    set_deadlines = await set_for_receipt(session, request.app.state.policy, event=event, sender=principal.division,
                                          advance=body.advance, budget_approved_on=body.budget_approved_on,
                                          provincial_approval=body.provincial_approval)
    return {"seq": event["seq"], "event_type": event["type"], **event["data"],
            "deadlines": [view(d, request.app.state.clock.today()) for d in set_deadlines]}


@operations.post("/integrations", status_code=201, summary="Integrate a channel into the county pool (涉农资金整合)",
                 description="Every yuan in the pool keeps its source channel.")
async def integrate(body: IntegrationIn, request: Request,
                    principal: Writer(Role.county_finance),
                    session: Session) -> dict[str, Any]:
    county = principal.division
    return await _post(request, session, principal, new_posting(
        principal, body, "integrate", finance_account(county, body.channel, body.fiscal_year, "available"),
        finance_account(county, body.channel, body.fiscal_year, "pool", body.plan), reference=body.plan))


@operations.post("/commitments", status_code=201, summary="Commit pool or available money to a project")
async def commit(body: CommitmentIn, request: Request,
                 principal: Writer(Role.county_finance),
                 session: Session) -> dict[str, Any]:
    """Binds pool or available money to a project the projects service has put in the library with its publicity passed
    and not cancelled (the projects gate, as for disbursements and batch lines); the project-management fee is capped at
    1% of the county's funds for the year; negative-list purposes are refused with the citation."""
    return _answer(await commitments.commit(session, request.app.state.policy, principal, body,
                                            now=request.app.state.clock.now()))


@operations.post("/disbursements", status_code=201, summary="Disburse (拨付) from a project's commitment to a payee",
                 description="Refused, with nothing written, beyond what is committed, for a negative-list purpose, "
                 "or to a project the projects gate refuses (not in the county's library with its publicity passed, "
                 "or cancelled). "
                 "Concurrent disbursements are committed together (group commit: one transaction, each account "
                 "locked once, one append), each judged in arrival order and answered on its own: a refused one "
                 "refuses only itself. A retry sent while the first attempt commits waits and gets its response.",
                 openapi_extra={"x-group-commit": True})
async def disburse(body: DisbursementIn, request: Request,
                   principal: Writer(Role.county_finance)) -> Response:
    county = principal.division
    if body.purpose:
        check_purpose(request.app.state.policy, county, body.document_date, body.purpose)
    payee = payee_reference(body.payee.kind, body.payee.name, body.payee.household_id)
    entry = Entry(new_posting(
        principal, body, "disburse", finance_account(county, body.channel, body.fiscal_year, "committed",
                                                     body.project_code),
        finance_account(county, body.channel, body.fiscal_year, "disbursed", payee), reference=payee),
        {"payee": body.payee.model_dump(), "project_code": body.project_code, "reference": body.line_ref or payee},
        body.line_ref)
    grouped = Grouped(entry, principal.actor(), context.correlation_id.get())
    return await GroupCommit.of(request, "postings", _post_group).submit(request, grouped)


async def _post_group(session, items: list[Grouped]) -> list[Response | Problem]:
    return [JSONResponse(_answer(outcome), status_code=201) if isinstance(outcome, dict) else outcome
            for outcome in await disbursements.post_group(session, items)]


class StrandingIn(BaseModel):
    project_code: str = Field(min_length=2, max_length=60)
    channel: str
    fiscal_year: FiscalYear
    amount: Yuan | None = Field(None, description="default: everything still committed to the project")
    reason: Text = Field(min_length=2, max_length=500)
    document_date: date


@operations.post("/strandings", status_code=201, summary="Declare a project's undisbursed money stranded (滞留资金)",
                 description="For a project that can no longer be carried out; the money must then go back to the "
                 "province through its original channel by the end of the next fiscal year (seed 004 L27).")
async def strand(body: StrandingIn, request: Request,
                 principal: Writer(Role.county_finance),
                 session: Session) -> dict[str, Any]:
    return _answer(await commitments.strand(
        session, principal, principal.division, body.project_code, body.channel, body.fiscal_year, body.document_date,
        body.reason, body.amount, now=request.app.state.clock.now()))


class ReturnIn(Documented):
    project_code: str = Field(min_length=2, max_length=60, description="the project the stranded money came from")


@operations.post("/returns", status_code=201, summary="Return stranded money to the province (滞留资金收回)",
                 description="To the finance of the county's own province, through the original channel — in full "
                 "(全额, rule funds.stranded.return, seed 004 L27): an amount other than all the stranded account "
                 "holds is refused with the rule's citation (`return_not_in_full`).")
async def return_stranded(body: ReturnIn, request: Request,
                          principal: Writer(Role.county_finance),
                          session: Session) -> dict[str, Any]:
    county = principal.division
    province = county[:2] + "0" * 10
    return _answer(await _return_stranded(session, request.app.state.policy, new_posting(
        principal, body, "return", finance_account(county, body.channel, body.fiscal_year, "stranded", body.project_code),
        finance_account(province, body.channel, body.fiscal_year, "returned"), reference=body.project_code),
        actor=principal.actor(), posted_at=request.app.state.clock.now()))


@operations.post("/reallocations", status_code=201, summary="Re-allocate returned money through its original channel")
async def reallocate(body: AllocationIn, request: Request,
                     principal: Writer(Role.province_finance),
                     session: Session) -> dict[str, Any]:
    """A province re-allocates returned stranded money (滞留资金) to a lower division through its original channel and
    fiscal year; sets the receiver's deadlines like any allocation."""
    ensure_jurisdiction(principal, body.to_division)
    return await _post(request, session, principal, new_posting(
        principal, body, "reallocate", finance_account(principal.division, body.channel, body.fiscal_year, "returned"),
        finance_account(body.to_division, body.channel, body.fiscal_year, "available")))
