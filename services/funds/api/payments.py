"""Money that leaves the system (issue 15): payee bank accounts, the county's 专户, payment files
(ISO 20022 pain.001.001.03 or CSV), bank results (pain.002 / camt.054 / CSV), re-issues and
reconciliation (camt.053 / CSV). Each route translates HTTP into one use case of
:mod:`services.funds.usecases.payments`; account numbers are answered masked (``****1234``) —
only a payment file itself, for the bank, holds them in full."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, Literal

from fastapi import Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from services.funds.api import exports
from services.funds.api.operations import Payee
from services.funds.api.payment_schemas import (BankResultsOut, InstructionOut, PayeeHouseholdOut, PaymentFilesOut,
                                                ReconciliationListedOut, ReconciliationOut, RegisteredAccountOut, ReissueOut)
from services.funds.api.schemas import PayeeAccountOut
from services.funds.contract import payee_reference
from services.funds.domain.payments import (
    RESULT_CSV,
    RESULT_FORMATS,
    STATEMENT_CSV,
    STATEMENT_FORMATS,
    TRANSITIONS,
    BankAccount,
    render_csv,
    render_pain001,
)
from services.funds.usecases import payments as usecase
from shared.auth import Principal, Reader, Role, Writer
from shared.csvfile import csv_response
from shared.errors import Unprocessable
from shared.fields import Name
from shared.web import Session, router
from shared.web.export import exportable

payments = router(tags=["payments (支付指令 银行回单 对账)"])
PaymentReader = Reader(Role.county_finance, Role.auditor)
PaymentWriter = Writer(Role.county_finance)


class AccountIn(BaseModel):
    bank_code: str = Field(pattern=r"^[0-9]{12}$", description="收款行行号 (CNAPS, 12 digits)")
    bank_name: Name = Field(max_length=140)
    account_no: str = Field(pattern=r"^[0-9]{6,32}$", description="account number (digits); answered masked")
    account_name: Name = Field(max_length=140, description="户名, as the bank holds it")

    def bank(self) -> BankAccount:
        return BankAccount(self.bank_code, self.bank_name, self.account_no, self.account_name)


class PayeeAccountIn(AccountIn):
    payee: Payee


def _initiator(principal: Principal) -> str:
    return f"{principal.division}财政局"


@payments.post("/payee-accounts", status_code=201,
               summary="Register a payee's bank account (收款账户), superseding the current one",
               description="A household payee must be a registered (建档立卡) household of the county. The account "
               "number is stored in full, answered and published masked; the previous account is kept (history).",
               responses={201: {"model": RegisteredAccountOut}})
async def register_payee_account(body: PayeeAccountIn, request: Request, principal: PaymentWriter,
                                 session: Session) -> dict[str, Any]:
    await usecase.check_payees(session, principal.division, [body.payee.model_dump()])
    holder = payee_reference(body.payee.kind, body.payee.name, body.payee.household_id)
    return await usecase.register_account(session, county=principal.division, holder=holder, account=body.bank(),
                                          actor=principal.actor(), now=request.app.state.clock.now())


@payments.get("/payee-households/{household_id}", summary="Whether the county may pay a household (its registry status)",
              description="From this service's read model of the registry's events: a registered (建档立卡) "
              "household of the caller's county may be paid; otherwise the code and reason of the refusal.",
              responses={200: {"model": PayeeHouseholdOut}})
async def payee_household(household_id: str, principal: PaymentReader,
                          session: Session) -> dict[str, Any]:
    refused = (await usecase.unpayable_households(session, principal.division, [household_id])).get(household_id)
    return {"household_id": household_id, "payable": refused is None, "code": refused and refused[0],
            "reason": refused and refused[1]}


@payments.get("/payee-accounts", summary="A payee's bank accounts, current and superseded (masked)",
              description="Oldest first; a superseded account names the one that replaced it. Numbers are masked. "
              "As a spreadsheet (`?format=csv|xlsx`): one row per account, masked as in JSON.",
              responses={200: {"model": list[PayeeAccountOut]}})
@exportable(exports.PAYEE_ACCOUNTS)
async def payee_accounts(principal: PaymentReader, session: Session,
                         payee: str = Query(min_length=3, max_length=250,
                                            description="kind:household_id or kind:name")) -> list[dict[str, Any]]:
    return await usecase.account_history(session, principal.division, payee)


@payments.put("/special-account", summary="Register the county's 扶贫资金专户 (the account payment files debit)",
              description="A new 专户 account supersedes the current one (history kept); files already made keep theirs.",
              responses={200: {"model": RegisteredAccountOut}})
async def register_special_account(body: AccountIn, request: Request, principal: PaymentWriter,
                                   session: Session) -> dict[str, Any]:
    return await usecase.register_account(session, county=principal.division, holder=usecase.SPECIAL, account=body.bank(),
                                          actor=principal.actor(), now=request.app.state.clock.now())


class PaymentFilesIn(BaseModel):
    execution_date: date = Field(description="要求执行日期 (the bank's execution date)")


@payments.post("/payment-files", status_code=201,
               summary="Turn the settled disbursements into payment files (one per payee bank)",
               description="Every disbursement of the county not yet instructed becomes a payment instruction "
               f"(state `instructed`; then {', '.join(f'{a} → {b}' for a, b in TRANSITIONS if a)}), grouped in one "
               "file per payee bank for the execution date. Payees without a bank account wait and are listed.",
               responses={201: {"model": PaymentFilesOut}})
async def make_payment_files(body: PaymentFilesIn, request: Request, principal: PaymentWriter,
                             session: Session) -> dict[str, Any]:
    return await usecase.make_payment_files(session, county=principal.division, execution_date=body.execution_date,
                                            initiator=_initiator(principal), actor=principal.actor(),
                                            now=request.app.state.clock.now())


@payments.get("/payment-files/{file_id}/pain.001", summary="The payment file as ISO 20022 pain.001.001.03 (for the bank)",
              description="Validated against the official XSD before it is served; the only answer holding account "
              "numbers in full (it is the bank's document).",
              response_class=Response, responses={200: {"content": {"application/xml": {}}}})
async def payment_file_xml(file_id: str, principal: Reader(Role.county_finance),
                           session: Session) -> Response:
    f = await usecase.payment_file(session, principal.division, file_id, _initiator(principal))
    return Response(render_pain001(f), media_type="application/xml",
                    headers={"Content-Disposition": f'attachment; filename="{f.msg_id}.xml"'})


@payments.get("/payment-files/{file_id}/csv", summary="The payment file in the CSV layout (for banks taking spreadsheets)",
              description="UTF-8 with a BOM, Chinese headers; one row per instruction, as in the pain.001 file.",
              response_class=Response, responses={200: {"content": {"text/csv": {}}}})
async def payment_file_csv(file_id: str, principal: Reader(Role.county_finance),
                           session: Session) -> Response:
    f = await usecase.payment_file(session, principal.division, file_id, _initiator(principal))
    header, rows = render_csv(f)
    return csv_response(f"{f.msg_id}.csv", header, rows)


@payments.get("/payment-instructions", summary="Payment instructions with their states (accounts masked)",
              description="The county's instructions, optionally of one file or in one state, with the reason of a refusal. "
              "As a spreadsheet (`?format=csv|xlsx`): one row per instruction, accounts masked as in JSON.",
              responses={200: {"model": list[InstructionOut]}})
@exportable(exports.PAYMENT_INSTRUCTIONS)
async def list_instructions(principal: PaymentReader, session: Session, file_id: uuid.UUID | None = None,
                            state: Literal["instructed", "paid", "refused", "reissued"] | None = None) -> list[dict[str, Any]]:
    return await usecase.instructions(session, principal.division, str(file_id) if file_id else None, state)


_UPLOAD = {"requestBody": {"required": True, "content": {
    "application/xml": {"schema": {"type": "string"}}, "text/csv": {"schema": {"type": "string"}}}}}


async def _raw(request: Request) -> bytes:
    raw = await request.body()
    if not raw:
        raise Unprocessable("文件为空 (the body is empty)", errors=[{"field": "body", "reason": "send the bank's file"}])
    return raw


@payments.post("/bank-results", summary="Import a bank's result file (pain.002 / camt.054 / CSV)",
               description="Idempotent by the file's SHA-256: the same file again answers its first report. Lines "
               "naming an unknown instruction or one already settled are listed in `problems`; a refused line's money "
               "goes back to its project (a `payment_return` posting). CSV columns: " + ", ".join(RESULT_CSV) + ".",
               openapi_extra=_UPLOAD,
               responses={200: {"model": BankResultsOut}})
async def import_results(request: Request, principal: PaymentWriter, session: Session,
                         format: Literal[RESULT_FORMATS] = Query(description="the file's format"),  # type: ignore[valid-type]
                         ) -> dict[str, Any]:
    return await usecase.import_results(session, county=principal.division, raw=await _raw(request), fmt=format,
                                        actor=principal.actor(), now=request.app.state.clock.now())


@payments.post("/payment-instructions/{instruction_id}/reissue", status_code=201,
               summary="Re-issue a refused instruction to the payee's corrected account",
               description="Only a refused instruction, and only after a new account of the payee was registered: "
               "a new disbursement (instructed in the next payment file); the instruction becomes `reissued`.",
               responses={201: {"model": ReissueOut}})
async def reissue(instruction_id: str, request: Request, principal: PaymentWriter,
                  session: Session) -> dict[str, Any]:
    return await usecase.reissue(session, county=principal.division, instruction_id=instruction_id,
                                 actor=principal.actor(), now=request.app.state.clock.now())


@payments.post("/reconciliations", status_code=201, summary="Reconcile the 专户 with the bank's statement of a day",
               description="The ledger's expected debits per instruction (files executed that day) against the "
               "statement (camt.053.001.08 or CSV with columns " + ", ".join(STATEMENT_CSV) + "); every difference "
               "is listed and the reconciliation is recorded.", openapi_extra=_UPLOAD,
               responses={201: {"model": ReconciliationOut}})
async def reconcile(request: Request, principal: PaymentWriter, session: Session,
                    on: date = Query(description="the statement's booking date"),
                    format: Literal[STATEMENT_FORMATS] = Query(description="the statement's format"),  # type: ignore[valid-type]
                    ) -> dict[str, Any]:
    return await usecase.record_reconciliation(session, county=principal.division, on=on, raw=await _raw(request),
                                               fmt=format, actor=principal.actor(), now=request.app.state.clock.now())


@payments.get("/reconciliations", summary="The county's recorded reconciliations, with their differences",
              description="Newest first, optionally of one booking date; each with the ledger's and the bank's debits "
              "and every difference found (accounts masked). As a spreadsheet (`?format=csv|xlsx`): one row per "
              "reconciliation, its differences in one cell.",
              responses={200: {"model": list[ReconciliationListedOut]}})
@exportable(exports.RECONCILIATIONS)
async def list_reconciliations(principal: PaymentReader, session: Session,
                               on: date | None = Query(None, description="the statement's booking date")) -> list[dict[str, Any]]:
    return await usecase.reconciliations_of(session, principal.division, on)
