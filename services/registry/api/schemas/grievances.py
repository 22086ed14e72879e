"""The answers of grievances (监督举报, ``usecases/grievances.py``): the public status anyone holding
the receipt number may see, and the grievance as its officials see it — codes as enums of the
procedure's tables (``domain/grievance.py``) with their labels beside them."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from services.registry.api.schemas.common import Division
from services.registry.domain import grievance as procedure
from shared.web.answers import Answer


class RuleRefOut(Answer):
    """The policy rule a figure comes from (GET /catalogue)."""

    id: str
    citation: str | None


class GrievanceStatusOut(Answer):
    """What anyone holding the receipt number may see: no names, no text, no links."""

    receipt: str = Field(description="10 characters, Crockford base32 with a check character")
    status: Literal[procedure.STATUS.codes]  # type: ignore[valid-type]
    status_label: str
    channel_label: str = Field(description="how it was received, in Chinese")
    received_on: str = Field(description="ISO date")
    accept_by: str = Field(description="the day it must be accepted by (ISO date)")
    answer_by: str = Field(description="the day it must be answered by (ISO date)")
    answered_on: str | None
    closed_on: str | None
    outcome_label: str | None
    overdue: list[Literal[procedure.LATE.codes]] = Field(description="what is late today")  # type: ignore[valid-type]
    citation: str | None = Field(description="the document the due dates come from")


class ComplainantOut(Answer):
    name: str | None
    phone: str | None
    anonymous: bool


class LinkOut(Answer):
    kind: Literal[procedure.LINK_KIND.codes]  # type: ignore[valid-type]
    ref: str


class GrievanceOut(GrievanceStatusOut):
    """A grievance as its officials see it: the complainant's contact, the text, the links, the answer."""

    id: str
    channel: Literal[procedure.CHANNEL.codes]  # type: ignore[valid-type]
    division: Division
    summary: str
    complainant: ComplainantOut | None
    links: list[LinkOut]
    category: Literal[procedure.CATEGORY.codes] | None  # type: ignore[valid-type]
    assigned_to: Division | None
    outcome: Literal[procedure.OUTCOME.codes] | None  # type: ignore[valid-type]
    answer: str | None
    rule: RuleRefOut = Field(description="the rule of the due dates (grievance.handling)")


class GrievancesOut(Answer):
    items: list[GrievanceOut]


class OverdueGrievanceOut(Answer):
    receipt: str
    division: Division
    status: Literal[procedure.STATUS.codes]  # type: ignore[valid-type]
    assigned_to: Division | None
    accept_by: str = Field(description="ISO date")
    answer_by: str = Field(description="ISO date")
    late: list[Literal[procedure.LATE.codes]] = Field(description="what is late today")  # type: ignore[valid-type]
    days_late: int
    citation: str | None


class OverdueGrievancesOut(Answer):
    as_of: str = Field(description="today (ISO date)")
    count: int
    items: list[OverdueGrievanceOut]
