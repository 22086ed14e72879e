"""The shapes of the projects service's main answers, for the OpenAPI document and generated clients:
a page of the library and a project's full record, codes as enums (catalogue types, stages, channels)
with each code's Chinese label beside it.

Documentation of what ``api/views.py`` renders (``summary``, ``full_record``); the server does not
validate answers against it; further members may follow (``extra`` allowed)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.funds.contract import CHANNEL_VOCABULARY
from services.projects.domain.catalogue import TYPES
from services.projects.domain.funding import OPERATIONS
from services.projects.domain.lifecycle import STAGES

Yuan = Annotated[str, Field(pattern=r"^-?(0|[1-9][0-9]*)\.[0-9]{2}$", description="yuan, two decimals")]
Day = Annotated[str, Field(description="ISO date")]
Stage = Literal[tuple(STAGES)]  # type: ignore[valid-type]
Channel = Literal[CHANNEL_VOCABULARY.codes]  # type: ignore[valid-type]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class FundingOut(_Open):
    committed: Yuan
    paid: Yuan = Field(description="disbursed less what payees returned")
    stranded: Yuan
    remaining: Yuan = Field(description="committed, neither paid nor stranded")


class PeopleOut(_Open):
    households: int
    persons: int


class ProjectSummaryOut(_Open):
    code: str = Field(description="<county>-<year>-<n>, e.g. 652722-2018-0001")
    name: str
    type: Literal[tuple(TYPES)]  # type: ignore[valid-type]
    type_label: str = Field(description="项目类型 in Chinese (GET /catalogue)")
    division: str
    year: int
    stage: Stage
    stage_label: str
    implementing_unit: str
    budget: Yuan
    funding: FundingOut
    progress_percent: int
    beneficiaries: PeopleOut


class ProjectPage(_Open):
    items: list[ProjectSummaryOut]
    next_cursor: str | None


class SourceOut(_Open):
    channel: Channel
    channel_label: str
    amount: Yuan


class StageChangeOut(_Open):
    stage: Stage
    stage_label: str
    on: Day | None
    seq: int


class FundingPostingOut(_Open):
    operation: Literal[OPERATIONS]  # type: ignore[valid-type]
    amount: Yuan
    channel: Channel
    channel_label: str
    fiscal_year: int
    on: Day
    payee: dict[str, Any] | None


class FundingRecordOut(FundingOut):
    postings: list[FundingPostingOut] = Field(description="the funds service's postings for the project")


class BeneficiaryOut(_Open):
    household_id: str
    number: str | None = Field(description="户编号, once the registry's household is known here")
    head: str | None
    status: str | None
    mechanism: str
    mechanism_label: str = Field(description="带贫益贫机制 in Chinese")
    persons: int
    added_on: Day


class BeneficiariesOut(PeopleOut):
    items: list[BeneficiaryOut]


class BenefitOut(_Open):
    household_id: str
    kind: str
    kind_label: str
    amount: Yuan
    on: Day


class BenefitsOut(_Open):
    total: Yuan
    by_kind: dict[str, Yuan]
    items: list[BenefitOut]


class ProjectAnnouncementOut(_Open):
    key: str
    id: str
    state: str | None
    title: str | None
    level: str | None
    period: dict[str, Any] | None


class ProgressOut(_Open):
    on: Day
    percent: int
    photos: list[str]
    note: str


class AcceptanceOut(_Open):
    on: Day
    team: list[dict[str, Any]]
    result: str
    issues: list[str]


class DistributionOut(_Open):
    id: str
    period: str
    on: Day
    amount: Yuan
    announcement_id: str
    lines: list[dict[str, Any]] = Field(description="[{holder, shares, amount_fen, amount}]")


class AssetOut(_Open):
    id: str
    project: str
    division: str
    name: str
    kind: str
    kind_label: str
    owner: str
    operator: dict[str, Any]
    book_value: Yuan
    handed_over_on: Day
    shares: list[dict[str, Any]]
    distributions: list[DistributionOut]


class ProjectOut(ProjectSummaryOut):
    schedule: dict[str, Any]
    tasks: list[str]
    sources: list[SourceOut]
    mechanisms: list[str]
    mechanism_note: str
    participation: dict[str, Any]
    targets: list[dict[str, Any]]
    planned: PeopleOut
    completed_on: Day | None
    cancel_reason: str | None
    history: list[StageChangeOut]
    funding: FundingRecordOut  # type: ignore[assignment]
    beneficiaries: BeneficiariesOut  # type: ignore[assignment]
    benefits: BenefitsOut
    announcements: list[ProjectAnnouncementOut]
    progress: list[ProgressOut]
    acceptances: list[AcceptanceOut]
    assets: list[AssetOut]
