"""The shapes of the audit service's report answers (issue 14): the full audit report, the log
verification, the performance scores (绩效考评) and the factor sheet generated from them — services,
channels and account kinds typed by the audit catalogue's code lists.

Documentation of what ``run.AuditResult.as_dict`` (through ``report.masked``), ``api/audits.audit_verify``
and ``scores.score_report`` / ``scores.generate_sheet`` render; the server does not validate answers
against it; further members may follow (``extra`` allowed)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from services.audit.api.schemas import DiscrepancyOut, FindingOut
from services.audit.domain.code_lists import CHAIN_PROBLEM_KIND, SCORE_COMPONENT, SOURCE
from services.funds.contract import ACCOUNT_KIND_VOCABULARY, CHANNEL_VOCABULARY, OPERATION_VOCABULARY
from shared.web.answers import Answer, YuanOut

Service = Literal[SOURCE.codes]  # type: ignore[valid-type]


class ChainProblemOut(Answer):
    service: Service | None = Field(description="the log concerned; null: a checkpoint that opens for no "
                                    "audited log (its signature does not verify, or its origin is unknown)")
    seq: int | None = Field(description="the event concerned; null: the log as a whole")
    kind: Literal[CHAIN_PROBLEM_KIND.codes] = Field(  # type: ignore[valid-type]
        description="gap, order, hash, link, manifest, causation, or a checkpoint's: checkpoint, fork, rewritten, "
        "truncated; GET /catalogue, list `chain_problem_kind`")
    detail: str


class ChainOut(Answer):
    """One service's log as verified: gapless from seq 1, every hash matching its content."""

    service: Service
    ok: bool
    checked: int = Field(description="events checked")
    first_seq: int | None
    last_seq: int | None
    last_hash: str | None
    problem_count: int = Field(description="all problems; at most 1000 are listed")
    problems: list[ChainProblemOut]


class VerifyOut(Answer):
    verified: bool = Field(description="every chain, reference and checkpoint verified")
    chains: list[ChainOut]
    reference_problems: list[ChainProblemOut] = Field(description="a causation_id naming no existing event")
    checkpoint_problems: list[ChainProblemOut] = Field(description="a log no longer matching a checkpoint the audit "
                                                       "co-signed, a fork, a checkpoint that does not verify")


class ReportSummaryOut(Answer):
    verified: bool
    events: int
    chain_problems: int
    compared_with_live: bool
    discrepancies: int
    findings: int
    findings_by_rule: dict[str, int]


_UNREADABLE_EVENTS = ("events whose data the rebuild could not read (each an `unreadable_event` discrepancy); "
                      "0 for a log the service wrote itself")


class FundsRebuiltOut(Answer):
    postings: int
    refused: int
    unreadable: int
    unreadable_events: int = Field(description=_UNREADABLE_EVENTS)
    accounts: int
    deadlines: int
    total_fen: int = Field(description="the sum of every balance: 0 when the ledger balances")


class RegistryRebuiltOut(Answer):
    households: int
    persons: int
    by_status: dict[str, int]
    villages_with_population: int
    announcements: int
    unreadable_events: int = Field(description=_UNREADABLE_EVENTS)


class ProjectsRebuiltOut(Answer):
    projects: int
    by_stage: dict[str, int]
    in_library: int
    cancelled: int
    beneficiary_events: int
    unreadable_events: int = Field(description=_UNREADABLE_EVENTS)


class RebuiltOut(Answer):
    """What the replay rebuilt from each service's events (a service not read is absent)."""

    funds: FundsRebuiltOut | None = None
    registry: RegistryRebuiltOut | None = None
    projects: ProjectsRebuiltOut | None = None


class MoneyFlowOut(Answer):
    operation: Literal[OPERATION_VOCABULARY.codes] = Field(  # type: ignore[valid-type]
        description="the posting operation (e.g. appropriate, allocate, disburse; GET /catalogue, list `operation`)")
    label: str = Field(description="the operation in Chinese")
    channel: Literal[CHANNEL_VOCABULARY.codes]  # type: ignore[valid-type]
    channel_label: str
    postings: int
    amount_fen: int
    amount: YuanOut


class BalanceByKindOut(Answer):
    kind: Literal[ACCOUNT_KIND_VOCABULARY.codes]  # type: ignore[valid-type]
    label: str
    amount_fen: int
    amount: YuanOut


class PeopleOut(Answer):
    households: int
    persons: int


class RegistryFiguresOut(Answer):
    year: int
    registered: PeopleOut
    remaining: PeopleOut
    exits_total: PeopleOut
    exits: dict[str, PeopleOut] = Field(description="year → the exits of that year")
    poverty_rate_percent: str | None
    lacking_helper: int = Field(description="households without a helper (帮扶责任人)")
    lacking_measure: int = Field(description="households without a measure")


class ReportFiguresOut(Answer):
    """The figures beside the findings, as of the date (DOMAIN §8)."""

    money_flows: list[MoneyFlowOut] | None = None
    balances_by_kind: list[BalanceByKindOut] | None = None
    registry: RegistryFiguresOut | None = None
    projects: ProjectsRebuiltOut | None = None


class AuditReportOut(Answer):
    """审计报告: the logs verified, the rebuild compared with the live services, the compliance findings."""

    as_of: str
    division: str = Field(description="the division audited (its prefix); empty: everywhere")
    source: str = Field(description="where the events were read from")
    generated_at: str
    summary: ReportSummaryOut
    chains: list[ChainOut]
    reference_problems: list[ChainProblemOut]
    checkpoint_problems: list[ChainProblemOut]
    discrepancies: list[DiscrepancyOut]
    findings: list[FindingOut]
    rebuilt: RebuiltOut
    figures: ReportFiguresOut
    notes: list[str]


class RuleOut(Answer):
    id: str = Field(description="the policy rule (GET /catalogue, list `rule`)")
    citation: str
    title: str


class ScoreComponentOut(Answer):
    component: Literal[SCORE_COMPONENT.codes] = Field(  # type: ignore[valid-type]
        description="GET /catalogue, list `score_component`")
    label: str = Field(description="the component in Chinese")
    weight: int
    ratio_percent: str
    points: str
    basis: str = Field(description="the figures the ratio rests on, in words")


class ScoreInputsOut(Answer):
    deadlines_met: int
    deadlines_missed: int
    received_fen: int
    disbursed_fen: int
    stranded_fen: int
    poor_at_start: int
    exited: int
    objections_upheld: int
    findings: int


class DivisionScoreOut(Answer):
    division: str
    year: int
    score: str = Field(description="0–100, two decimals")
    components: list[ScoreComponentOut]
    inputs: ScoreInputsOut


class ScoresOut(Answer):
    """绩效考评 of divisions for a year, by the rule `division.performance.score`."""

    year: int
    rule: RuleOut
    items: list[DivisionScoreOut]


class GeneratedSheetOut(Answer):
    """因素法分配表 as POST /allocations of the funds service accepts it."""

    total: YuanOut
    weights: dict[str, int | float | str]
    recipients: dict[str, dict[str, int | float | str]] = Field(description="division → its factors")


class FactorSheetsOut(Answer):
    year: int = Field(description="the year the sheet allocates for")
    score_year: int = Field(description="the year whose records gave the scores")
    factor_sheet: GeneratedSheetOut
    parts: dict[str, YuanOut] = Field(description="division → its part (largest remainder, exact to the fen)")
    weights_rule: RuleOut
    scores: ScoresOut
