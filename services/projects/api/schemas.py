"""The shapes of the projects service's main answers, for the OpenAPI document and generated clients:
a page of the library and a project's full record, codes as enums (catalogue types, stages, channels)
with each code's Chinese label beside it.

Documentation of what ``api/views.py`` renders (``summary``, ``full_record``); the server does not
validate answers against it; further members may follow (``extra`` allowed)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from services.funds.contract import CHANNEL_VOCABULARY
from services.projects.domain.catalogue import TYPES
from services.projects.domain.funding import OPERATIONS
from services.projects.domain.lifecycle import STAGES
from services.projects.domain.pairing import ENTERPRISE_TYPES
from shared.web.answers import Answer, YuanOut

Day = Annotated[str, Field(description="ISO date")]
Stage = Literal[tuple(STAGES)]  # type: ignore[valid-type]
Channel = Literal[CHANNEL_VOCABULARY.codes]  # type: ignore[valid-type]


class FundingOut(Answer):
    committed: YuanOut
    paid: YuanOut = Field(description="disbursed less what payees returned")
    stranded: YuanOut
    remaining: YuanOut = Field(description="committed, neither paid nor stranded")


class PeopleOut(Answer):
    households: int
    persons: int


class ProjectSummaryOut(Answer):
    code: str = Field(description="<county>-<year>-<n>, e.g. 652722-2018-0001")
    name: str
    type: Literal[tuple(TYPES)]  # type: ignore[valid-type]
    type_label: str = Field(description="项目类型 in Chinese (GET /catalogue)")
    division: str
    year: int
    stage: Stage
    stage_label: str
    implementing_unit: str
    budget: YuanOut
    funding: FundingOut
    progress_percent: int
    beneficiaries: PeopleOut


class ProjectPage(Answer):
    items: list[ProjectSummaryOut]
    next_cursor: str | None


class SourceOut(Answer):
    channel: Channel
    channel_label: str
    amount: YuanOut


class StageChangeOut(Answer):
    stage: Stage
    stage_label: str
    on: Day | None
    seq: int


class FundingPostingOut(Answer):
    operation: Literal[OPERATIONS]  # type: ignore[valid-type]
    amount: YuanOut
    channel: Channel
    channel_label: str
    fiscal_year: int
    on: Day
    payee: dict[str, Any] | None


class FundingRecordOut(FundingOut):
    postings: list[FundingPostingOut] = Field(description="the funds service's postings for the project")


class BeneficiaryOut(Answer):
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


class BenefitOut(Answer):
    household_id: str
    kind: str
    kind_label: str
    amount: YuanOut
    on: Day


class BenefitsOut(Answer):
    total: YuanOut
    by_kind: dict[str, YuanOut]
    items: list[BenefitOut]


class ProjectAnnouncementOut(Answer):
    key: str
    id: str
    state: str | None
    title: str | None
    level: str | None
    period: dict[str, Any] | None


class ProgressOut(Answer):
    on: Day
    percent: int
    photos: list[str]
    note: str


class AcceptanceOut(Answer):
    on: Day
    team: list[dict[str, Any]]
    result: str
    issues: list[str]


class DistributionOut(Answer):
    id: str
    period: str
    on: Day
    amount: YuanOut
    announcement_id: str
    lines: list[dict[str, Any]] = Field(description="[{holder, shares, amount_fen, amount}]")


class AssetOut(Answer):
    id: str
    project: str
    division: str
    name: str
    kind: str
    kind_label: str
    owner: str
    operator: dict[str, Any]
    book_value: YuanOut
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


class AssetsOut(Answer):
    division: str = Field(description="the jurisdiction listed (its code)")
    items: list[AssetOut]


class EnterpriseOut(Answer):
    credit_code: str = Field(description="统一社会信用代码 (GB 32100-2015)")
    name: str
    type: Literal[tuple(ENTERPRISE_TYPES)]  # type: ignore[valid-type]
    type_label: str = Field(description="企业类型 in Chinese")
    division: str = Field(description="the registering office's division")


class EnterprisesOut(Answer):
    division: str
    items: list[EnterpriseOut]


class PairingCommitmentOut(Answer):
    """A year's quantified commitments (``pairing.COMMITMENTS``); the money keys keep their stored
    names (``*_fen``) and hold yuan strings."""

    villages: int = Field(description="带动贫困村")
    households: int = Field(description="带动贫困户")
    labourers: int = Field(description="吸纳贫困劳动力就业")
    income_fen: YuanOut = Field(description="带动贫困户增收, yuan")
    investment_fen: YuanOut = Field(description="投资, yuan")


class PairingLabourerOut(Answer):
    household_id: str
    name: str
    hired_on: Day


class PairingOut(Answer):
    """百企千村结对: the enterprise, the county's villages, the years and each year's commitments."""

    id: str
    credit_code: str
    division: str = Field(description="the county")
    villages: list[str]
    first_year: int
    last_year: int
    agreed_on: Day
    commitments: dict[str, PairingCommitmentOut] = Field(description="by year")
    enterprise: EnterpriseOut
    projects: list[str] = Field(description="codes of the county's library")
    labourers: list[PairingLabourerOut]


class PairingsOut(Answer):
    division: str
    items: list[PairingOut]
