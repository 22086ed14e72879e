"""The shapes of the audit service's main answers, for the OpenAPI document and generated clients:
compliance findings, each with its rule and the document the rule comes from.

Documentation of what ``api/audits.audit_findings`` renders (``compliance.Finding.as_dict``); the
server does not validate answers against it; further members may follow (``extra`` allowed)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from services.audit.domain.code_lists import DISCREPANCY_KIND, SOURCE
from shared.web.answers import YUAN, Answer



class FindingOut(Answer):
    rule_id: str = Field(description="the policy rule broken (GET /catalogue)")
    citation: str = Field(description="the document the rule comes from, by title and number")
    title: str = Field(description="the rule in words")
    division: str = Field(description="the division the finding is about")
    subject: str = Field(description="what the finding is about: a deadline, project, payee, household …")
    as_of: str = Field(description="the day the audit was run as of (ISO date)")
    detail: str
    source: Literal["registry", "funds", "projects"] = Field(description="the service whose event it rests on")
    seq: int | None = Field(description="that event's place in the service's log")
    amount: str | None = Field(pattern=YUAN, description="the money concerned, yuan")


class FindingsOut(Answer):
    as_of: str
    division: str | None = Field(description="the division audited (its prefix); null: the caller's jurisdiction")
    findings: list[FindingOut]
    by_rule: dict[str, int] = Field(description="how many findings under each rule")


class DiscrepancyOut(Answer):
    service: Literal[SOURCE.codes] = Field(description="the service whose figure differs")  # type: ignore[valid-type]
    kind: Literal[DISCREPANCY_KIND.codes] = Field(description="GET /catalogue, list `discrepancy_kind`")  # type: ignore[valid-type]
    subject: str = Field(description="the account, deadline, statistic, project or household compared")
    expected: Any = Field(description="what the events imply (the rebuild)")
    actual: Any = Field(description="what the service reports through its API")
    seq: int | None = Field(description="the event that explains the expected value")
    detail: str


class DiscrepanciesOut(Answer):
    division: str | None = Field(description="the division compared (its prefix); null: the caller's jurisdiction")
    verified: bool = Field(description="every chain verified")
    discrepancies: list[DiscrepancyOut]
