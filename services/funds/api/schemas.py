"""The shapes of the funds service's main answers, for the OpenAPI document and generated clients:
balances, deadlines, postings (as a write answers them and as a trace lists them), the trace and a
disbursement batch's answer, with their code lists as enums and each code's label beside it.

Documentation of what the routers render (``usecases/accounts.account_view``,
``usecases/deadlines.view``, ``usecases/allocations.answer``, ``api/reports.trace``,
``usecases/batches.post_batch``); the server does not validate answers against it; further members
may follow (``extra`` allowed)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from services.funds.domain.code_lists import (
    ACCOUNT_KIND, CHANNEL, DEADLINE_KIND, DEADLINE_STATE, HOLDER_ROLE, OPERATION, PAYEE_KIND,
)
from shared.web.answers import YUAN, Answer


Channel = Literal[CHANNEL.codes]  # type: ignore[valid-type]


class BalanceOut(Answer):
    account_id: int
    division: str = Field(description="the holder's division code")
    role: Literal[HOLDER_ROLE.codes]  # type: ignore[valid-type]
    role_label: str
    channel: Channel
    channel_label: str = Field(description="资金渠道 in Chinese (GET /catalogue, list `channel`)")
    fiscal_year: int
    kind: Literal[ACCOUNT_KIND.codes]  # type: ignore[valid-type]
    kind_label: str
    reference: str | None = Field(description="the project, payee or pool the account is for")
    balance: str = Field(pattern=YUAN, description="yuan, two decimals")


class BalancesOut(Answer):
    division: str
    as_of: str | None = Field(None, description="the instant asked for, when `as_of` was given")
    items: list[BalanceOut]


class DeadlineOut(Answer):
    id: str
    receiver: str = Field(description="the division that received the money")
    channel: Channel
    channel_label: str
    fiscal_year: int
    kind: Literal[DEADLINE_KIND.codes]  # type: ignore[valid-type]
    kind_label: str
    due: str | None = Field(description="the last day (ISO date); null: promptly, no fixed day")
    state: Literal[DEADLINE_STATE.codes]  # type: ignore[valid-type]
    state_label: str
    settled_on: str | None
    days_remaining: int | None
    days_overdue: int | None
    amount_fen: int
    rule_id: str = Field(description="the policy rule (GET /catalogue, list `funds_rule`)")
    citation: str | None = Field(description="the document the rule comes from")
    title: str
    exempt: str | None = Field(None, description="the rule's exemption that applies (no due day), e.g. 少量须省级审批的项目")
    recorded_state: Literal[DEADLINE_STATE.codes] | None = Field(  # type: ignore[valid-type]
        None, description="present when the clock has moved past what the scheduler recorded: the state its events "
        "hold (`state` is the state as of the clock)")
    recorded_settled_on: str | None = Field(None, description="with `recorded_state`: the settled day its events hold")


class DeadlinesOut(Answer):
    division: str
    as_of: str
    items: list[DeadlineOut]


class AccountKeyOut(Answer):
    division: str
    role: Literal[HOLDER_ROLE.codes]  # type: ignore[valid-type]
    channel: Channel
    fiscal_year: int
    kind: Literal[ACCOUNT_KIND.codes]  # type: ignore[valid-type]
    reference: str | None


class PostingOut(Answer):
    posting_id: str
    from_: AccountKeyOut = Field(alias="from")
    to: AccountKeyOut
    amount_fen: int
    amount: str = Field(pattern=YUAN, description="the same amount in yuan")
    operation: Literal[OPERATION.codes]  # type: ignore[valid-type]
    document_no: str = Field(description="文号; empty when none was given")
    document_date: str
    actor: str
    purpose: str | None = Field(description="资金用途 code (GET /catalogue, list `purpose`)")
    reference: str | None = Field(description="the project, payee or plan the posting is for")


class PayeeOut(Answer):
    kind: Literal[PAYEE_KIND.codes]  # type: ignore[valid-type]
    name: str
    household_id: str | None


class FactorSheetOut(Answer):
    """因素法分配表 as recorded: the sheet given and each recipient's part."""

    total: str = Field(pattern=YUAN)
    weights: dict[str, float | int | str]
    recipients: dict[str, dict[str, float | int | str]]
    parts: dict[str, str] = Field(description="division → its part in yuan (largest remainder)")


class PostedOut(PostingOut):
    """A write's answer: the posting as its event records it (appropriation, allocation, integration,
    commitment, disbursement, stranding, return, re-allocation, reversal, de-commitment)."""

    seq: int = Field(description="the event's place in the service's log")
    event_type: str
    on: str = Field(description="the day the posting counts for (ISO date)")
    payee: PayeeOut | None = Field(None, description="a disbursement's payee")
    project_code: str | None = Field(None, description="the project a disbursement, stranding or de-commitment draws on")
    reason: str | None = Field(None, description="why: a stranding, a reversal, a de-commitment")
    deadlines: list[DeadlineOut] | None = Field(
        None, description="an allocation (or a province's own appropriation): the deadlines it set on the receiver")
    advance: bool | None = Field(None, description="an allocation: 提前下达")
    factor_sheet: FactorSheetOut | None = Field(None, description="an allocation by factors: its sheet")
    in_full: bool | None = Field(None, description="a return: all the stranded money went back")
    reverses: str | None = Field(None, description="a reversal: the posting it reverses")
    reversed_operation: Literal[OPERATION.codes] | None = Field(  # type: ignore[valid-type]
        None, description="a reversal: the operation of the posting it reverses")
    withdrawn_deadlines: list[str] | None = Field(
        None, description="a reversal of an allocation: the ids of the open deadlines it withdrew")


class CarriedOut(Answer):
    channel: Channel
    kind: Literal[ACCOUNT_KIND.codes]  # type: ignore[valid-type]
    reference: str | None = Field(description="the integration plan of a pool balance")
    amount_fen: int
    amount: str = Field(pattern=YUAN)
    posting_id: str = Field(description="the carry-forward posting")


class YearCloseOut(Answer):
    """结转结余: what the close carried into the next year (again: the first close, `already_closed`)."""

    division: str
    role: Literal[HOLDER_ROLE.codes]  # type: ignore[valid-type]
    fiscal_year: int
    into_year: int
    document_no: str
    document_date: str
    carried: list[CarriedOut]
    total_fen: int
    total: str = Field(pattern=YUAN)
    postings: int = Field(description="how many carry-forward postings")
    already_closed: bool
    seq: int = Field(description="the `funds.year.closed` event's place in the log")


class ResultsNoticeOut(Answer):
    announcement_id: str = Field(description="the announcement drafted (publish it with POST /announcements/{id}/publish)")
    rows: int = Field(description="rows of its table")


class TracedPostingOut(PostingOut):
    operation_label: str
    purpose_label: str | None


class TraceOut(Answer):
    payee: str | None = Field(None, description="the payee asked for, if any")
    project: str | None = Field(None, description="the project asked for, if any")
    account: int | None = Field(None, description="the account asked for, if any")
    as_of: str | None = Field(None, description="the instant asked for, when `as_of` was given")
    accounts: list[BalanceOut]
    postings: list[TracedPostingOut] = Field(description="from the appropriation down, in ledger order")


class RefusedLineOut(Answer):
    index: int = Field(description="the line's place in the batch, from 0")
    line_ref: str
    code: str
    reason: str


class BatchOut(Answer):
    batch_ref: str
    settled: bool = Field(description="every line posted or posted before")
    posted: int
    already_posted: list[int] = Field(description="lines skipped: their `line_ref` was posted before")
    refused: list[RefusedLineOut]
    posted_total: str = Field(pattern=YUAN)


class ReceivedBySourceOut(Answer):
    allocated: str = Field(pattern=YUAN, description="下达 from above")
    reallocated: str = Field(pattern=YUAN, description="returned money re-allocated from above")
    own_appropriation: str = Field(pattern=YUAN, description="the division's own level's budget money")
    carried_forward: str = Field(pattern=YUAN, description="last year's balances carried into this year")


class SpendingOut(Answer):
    """支出进度 of a division for a fiscal year, net of reversals."""

    division: str
    fiscal_year: int
    received: str = Field(pattern=YUAN, description="all the money that came to the division for the year")
    received_by_source: ReceivedBySourceOut
    received_by_origin: dict[str, str] = Field(description="by the level the money comes from (GET /catalogue, "
                                               "list `origin`): central, provincial, city, county, other")
    passed_on: str = Field(pattern=YUAN)
    committed: str = Field(pattern=YUAN)
    decommitted: str = Field(pattern=YUAN)
    disbursed: str = Field(pattern=YUAN)
    stranded: str = Field(pattern=YUAN)
    returned: str = Field(pattern=YUAN)
    carried_out: str = Field(pattern=YUAN, description="carried into the next year at the year-end close")
    disbursed_percent: str | None = Field(description="disbursed ÷ received, percent with two decimals")


class StrandedOut(BalanceOut):
    project_code: str | None
    stranded: str = Field(pattern=YUAN, description="stranded into the account")
    returned: str = Field(pattern=YUAN, description="returned out of it to the province")
    held: str = Field(pattern=YUAN, description="still held")
    due: str | None = Field(description="the day it must be back (ISO date)")
    rule_id: str | None
    citation: str | None
    days_remaining: int | None
    days_overdue: int | None


class StrandedReportOut(Answer):
    division: str
    fiscal_year: int | None
    as_of: str
    held: str = Field(pattern=YUAN)
    overdue: int = Field(description="accounts holding money past their return day")
    items: list[StrandedOut]


class DaysToSettleOut(Answer):
    min: int
    median: int
    max: int


class ComplianceCounts(Answer):
    total: int = Field(description="deadlines counted (withdrawn ones are not)")
    met: int
    missed: int
    open: int
    open_overdue: int = Field(description="open past the due day, not yet marked missed by the scheduler")
    settled_late: int
    withdrawn: int
    compliance_percent: str | None = Field(description="met ÷ (met + missed)")


class ComplianceGroupOut(ComplianceCounts):
    receiver: str
    kind: Literal[DEADLINE_KIND.codes]  # type: ignore[valid-type]
    days_to_settle: DaysToSettleOut | None


class DeadlineComplianceOut(ComplianceCounts):
    division: str
    fiscal_year: int | None
    as_of: str
    groups: list[ComplianceGroupOut]


class PayeeAccountOut(Answer):
    """A payee's bank account (收款账户) as answered: the number masked (``****1234``)."""

    account_id: str
    holder: str = Field(description="the payee: kind:household_id or kind:name")
    bank_code: str = Field(description="收款行行号 (CNAPS)")
    bank_name: str
    account_no: str = Field(pattern=r"^\*{4}[0-9]{4}$", description="masked: only the last four digits")
    account_name: str = Field(description="户名, as the bank holds it")
    registered_at: str = Field(description="ISO instant")
    superseded_by: str | None = Field(description="the account that replaced this one; null: the current one")
