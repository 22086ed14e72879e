"""The shapes of the funds service's payment answers (issue 15's money that leaves the system, issue 14):
registered bank accounts, whether a household may be paid, payment files and instructions, bank
results, re-issues and reconciliations — account numbers masked (``****1234``), instruction states
and reconciliation differences typed by their code lists (GET /catalogue); and the purpose list and
a project as the funds service sees it.

Documentation of what ``usecases/payments.py``, ``api/purposes.py`` and ``api/projects.py`` render;
the server does not validate answers against it; further members may follow (``extra`` allowed)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from services.funds.api.schemas import PayeeAccountOut
from services.funds.domain.code_lists import (BANK_RESULT_FORMAT, BANK_RESULT_PROBLEM, PAYMENT_STATE,
                                              RECONCILIATION_DIFFERENCE)
from shared.web.answers import Answer, YuanOut

MASKED = r"^\*{4}[0-9]{4}$"
PaymentState = Literal[PAYMENT_STATE.codes]  # type: ignore[valid-type]


class RegisteredAccountOut(PayeeAccountOut):
    """A payee's account or the county's 专户 as registered: the current one it supersedes."""

    supersedes: str | None = Field(description="the account it replaced; null: the payee's first")
    seq: int = Field(description="the registration event's place in the service's log")


class PayeeHouseholdOut(Answer):
    household_id: str
    payable: bool = Field(description="a registered (建档立卡) household of the caller's county")
    code: str | None = Field(description="why not: the refusal's code (e.g. removed, unknown); null when payable")
    reason: str | None = Field(description="why not, in words; null when payable")


class PaymentFileOut(Answer):
    file_id: str = Field(description="fetch it as GET /payment-files/{file_id}/pain.001 or …/csv")
    msg_id: str = Field(description="the file's message id (MsgId)")
    bank_code: str = Field(description="the payees' bank (CNAPS)")
    bank_name: str
    execution_date: str = Field(description="要求执行日期 (ISO date)")
    count: int = Field(description="instructions in the file")
    total: YuanOut


class WaitingOut(Answer):
    """A disbursement not instructed: its payee has no bank account on file."""

    posting_id: str
    payee: str = Field(description="kind:household_id or kind:name")
    amount: YuanOut
    reason: str


class PaymentFilesOut(Answer):
    files: list[PaymentFileOut] = Field(description="one per payee bank")
    waiting: list[WaitingOut]
    initiator: str = Field(description="the paying office (发起方), e.g. 652722000000财政局")


class MaskedAccountOut(Answer):
    bank_name: str
    account_no: str = Field(pattern=MASKED, description="masked: only the last four digits")
    account_name: str


class InstructionOut(Answer):
    instruction_id: str
    ref: str = Field(description="the end-to-end reference the bank echoes (EndToEndId)")
    posting_id: str = Field(description="the disbursement it pays")
    payee: str = Field(description="kind:household_id or kind:name")
    project_code: str | None
    amount: YuanOut
    state: PaymentState = Field(description="支付指令状态 (GET /catalogue, list `payment_state`)")
    reason_code: str | None = Field(description="the bank's reason code of a refusal (e.g. AC04)")
    reason: str | None = Field(description="the refusal's reason in words")
    file_id: str
    returned_posting: str | None = Field(description="a refusal: the posting that took the money back to the project")
    reissued_posting: str | None = Field(description="a re-issue: the new disbursement")
    account: MaskedAccountOut | None = Field(None, description="the account the instruction pays")


class ReissueOut(Answer):
    instruction_id: str
    state: PaymentState
    reissued_posting: str = Field(description="the new disbursement, instructed in the next payment file")
    disbursement_seq: int = Field(description="its event's place in the service's log")
    account_no: str = Field(pattern=MASKED, description="the payee's corrected account, masked")


class RefusedPaymentOut(Answer):
    ref: str
    instruction_id: str
    amount: YuanOut
    returned_to: str | None = Field(description="the project the money went back to")


class ResultProblemOut(Answer):
    line: int = Field(description="the line's place in the file")
    ref: str | None
    code: Literal[BANK_RESULT_PROBLEM.codes] = Field(  # type: ignore[valid-type]
        description="unknown (no such instruction of the county) or duplicate; GET /catalogue, list `bank_result_problem`")
    reason: str


class BankResultsOut(Answer):
    """What a bank's result file did; the same file again answers its first report (`already_imported`)."""

    digest: str = Field(description="the file's SHA-256, hex")
    format: Literal[BANK_RESULT_FORMAT.codes] = Field(  # type: ignore[valid-type]
        description="pain.002, camt.054 or csv; GET /catalogue, list `bank_result_format`")
    lines: int
    paid: int = Field(description="instructions the file settled as paid")
    refused: list[RefusedPaymentOut]
    pending: list[str] = Field(description="refs of lines still pending at the bank")
    problems: list[ResultProblemOut]
    already_imported: bool


class DifferenceOut(Answer):
    kind: Literal[RECONCILIATION_DIFFERENCE.codes]  # type: ignore[valid-type]
    ref: str | None = Field(description="the instruction ref; null: a statement entry without one")
    ledger: YuanOut = Field(description="the ledger's expected debit")
    bank: YuanOut = Field(description="the statement's debit")
    reason: str


class ReconciliationListedOut(Answer):
    reconciliation_id: str
    on: str = Field(description="the statement's booking date (ISO date)")
    seq: int
    ledger_debit: YuanOut
    bank_debit: YuanOut
    balanced: bool = Field(description="no difference")
    differences: list[DifferenceOut]


class ReconciliationOut(ReconciliationListedOut):
    account_no: str = Field(pattern=MASKED, description="the 专户 of the statement, masked")


class PurposeOut(Answer):
    code: str = Field(description="资金用途 code (GET /catalogue, list `purpose`)")
    label_zh: str
    forbidden: bool = Field(description="on the negative list in force for the caller's division")


class PurposesOut(Answer):
    on: str = Field(description="the date the negative list is read for (ISO date)")
    negative_list_rule: str = Field(description="the policy rule of the negative list (GET /catalogue)")
    items: list[PurposeOut]


class FundsProjectOut(Answer):
    """A project as the funds service sees it: whether money may be committed, and its money."""

    code: str
    division: str
    in_library: bool
    publicity_passed: bool
    cancelled: bool
    fundable: bool = Field(description="money may be committed to it now")
    committed: YuanOut = Field(description="bound to it, net of de-commitments: paid + remaining + stranded + returned")
    paid: YuanOut
    remaining: YuanOut = Field(description="committed, unpaid")
    stranded: YuanOut = Field(description="滞留, still held")
    returned: YuanOut = Field(description="returned to the province")
    decommitted: YuanOut = Field(description="given back to the pool")
