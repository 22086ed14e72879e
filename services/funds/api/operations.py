"""Ledger operations, each its own endpoint and event type: appropriate (central finance),
allocate (下达, down one or more levels), integrate (涉农资金整合 into a county pool), commit to a
project, disburse (拨付) to a payee, strand, return and re-allocate."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, Field, PlainValidator, WithJsonSchema

from services.funds.domain import known_purpose, purpose_schema
from services.funds.domain.code_lists import PAYEE_KIND
from services.funds.usecases import allocations, commitments, disbursements
from services.funds.api.schemas import PostedOut
from services.funds.usecases.allocations import answer
from services.funds.usecases.ledger import Grouped
from shared import context
from shared.auth import Role, Writer
from shared.divisions import DivisionCode
from shared.errors import Problem
from shared.money import Yuan
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


@operations.post("/appropriations", status_code=201, responses={201: {"model": PostedOut}},
                 summary="Appropriate budget funds (预算拨款) at the caller's level",
                 description="Central finance books central channels (中央财政专项扶贫资金 and the integrable "
                 "agriculture-related channels); a province, city or county finance bureau books its own level's "
                 "special poverty funds. The channel's source level is checked (e.g. 省级 money only by a province).")
async def appropriate(body: AppropriationIn, request: Request,
                      principal: Writer(Role.central_finance, Role.province_finance, Role.city_finance, Role.county_finance),
                      session: Session) -> dict[str, Any]:
    return await allocations.appropriate(session, request.app.state.policy, principal, body,
                                         now=request.app.state.clock.now(), today=request.app.state.clock.today())


@operations.post("/allocations", status_code=201, responses={201: {"model": PostedOut}},
                 summary="Allocate (下达) to a lower division, with 文号",
                 description="From the caller's own division to a lower division under it, same channel and year.")
async def allocate(body: AllocationIn, request: Request,
                   principal: Writer(Role.central_finance, Role.province_finance, Role.city_finance),
                   session: Session) -> dict[str, Any]:
    return await allocations.allocate(session, request.app.state.policy, principal, body,
                                      now=request.app.state.clock.now(), today=request.app.state.clock.today())


@operations.post("/integrations", status_code=201, responses={201: {"model": PostedOut}},
                 summary="Integrate a channel into the county pool (涉农资金整合)",
                 description="Every yuan in the pool keeps its source channel.")
async def integrate(body: IntegrationIn, request: Request,
                    principal: Writer(Role.county_finance),
                    session: Session) -> dict[str, Any]:
    return await allocations.integrate(session, principal, body, now=request.app.state.clock.now())


@operations.post("/commitments", status_code=201, summary="Commit pool or available money to a project",
                 responses={201: {"model": PostedOut}})
async def commit(body: CommitmentIn, request: Request,
                 principal: Writer(Role.county_finance),
                 session: Session) -> dict[str, Any]:
    """Binds pool or available money to a project the projects service has put in the library with its publicity passed
    and not cancelled (the projects gate, as for disbursements and batch lines); the project-management fee is capped at
    1% of the county's funds for the year; negative-list purposes are refused with the citation."""
    return answer(await commitments.commit(session, request.app.state.policy, principal, body,
                                            now=request.app.state.clock.now()))


@operations.post("/disbursements", status_code=201, summary="Disburse (拨付) from a project's commitment to a payee",
                 description="Refused, with nothing written, beyond what is committed, for a negative-list purpose, "
                 "or to a project the projects gate refuses (not in the county's library with its publicity passed, "
                 "or cancelled). "
                 "Concurrent disbursements are committed together (group commit: one transaction, each account "
                 "locked once, one append), each judged in arrival order and answered on its own: a refused one "
                 "refuses only itself. A retry sent while the first attempt commits waits and gets its response.",
                 openapi_extra={"x-group-commit": True}, responses={201: {"model": PostedOut}})
async def disburse(body: DisbursementIn, request: Request,
                   principal: Writer(Role.county_finance)) -> Response:
    entry = disbursements.entry(request.app.state.policy, principal, body)
    grouped = Grouped(entry, principal.actor(), context.correlation_id.get())
    return await GroupCommit.of(request, "postings", _post_group).submit(request, grouped)


async def _post_group(session, items: list[Grouped]) -> list[Response | Problem]:
    return [JSONResponse(answer(outcome), status_code=201) if isinstance(outcome, dict) else outcome
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
                 "province through its original channel by the end of the next fiscal year (seed 004 L27).",
                 responses={201: {"model": PostedOut}})
async def strand(body: StrandingIn, request: Request,
                 principal: Writer(Role.county_finance),
                 session: Session) -> dict[str, Any]:
    return answer(await commitments.strand(
        session, principal, principal.division, body.project_code, body.channel, body.fiscal_year, body.document_date,
        body.reason, body.amount, now=request.app.state.clock.now()))


class ReturnIn(Documented):
    project_code: str = Field(min_length=2, max_length=60, description="the project the stranded money came from")


@operations.post("/returns", status_code=201, responses={201: {"model": PostedOut}},
                 summary="Return stranded money to the province (滞留资金收回)",
                 description="To the finance of the county's own province, through the original channel — in full "
                 "(全额, rule funds.stranded.return, seed 004 L27): an amount other than all the stranded account "
                 "holds is refused with the rule's citation (`return_not_in_full`).")
async def return_stranded(body: ReturnIn, request: Request,
                          principal: Writer(Role.county_finance),
                          session: Session) -> dict[str, Any]:
    return await allocations.return_to_province(session, request.app.state.policy, principal, body,
                                                now=request.app.state.clock.now())


@operations.post("/reallocations", status_code=201, summary="Re-allocate returned money through its original channel",
                 responses={201: {"model": PostedOut}})
async def reallocate(body: AllocationIn, request: Request,
                     principal: Writer(Role.province_finance),
                     session: Session) -> dict[str, Any]:
    """A province re-allocates returned stranded money (滞留资金) to a lower division through its original channel and
    fiscal year."""
    return await allocations.reallocate(session, principal, body, now=request.app.state.clock.now())
