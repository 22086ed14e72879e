"""The shapes of the projects service's main answers, for the OpenAPI document and generated clients:
a page of the library and a project's full record, codes as enums (catalogue types, stages, channels)
with each code's Chinese label beside it.

Documentation of what ``api/views.py`` renders (``summary``, ``full_record``); the server does not
validate answers against it; further members may follow (``extra`` allowed)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from services.funds.contract import CHANNEL_VOCABULARY
from services.projects.domain.adjustment import ACTIONS
from services.projects.domain.catalogue import ASSET_KINDS, ASSET_OWNERS, BENEFIT_KINDS, MECHANISMS, OPERATOR_KINDS, TYPES
from services.projects.domain.funding import OPERATIONS
from services.projects.domain.lifecycle import LEVELS, STAGES
from services.registry.contract import HOUSEHOLD_STATUS
from shared.announcements.domain import LEVELS as ANNOUNCEMENT_LEVELS
from shared.web.answers import Answer, YuanOut

Day = Annotated[str, Field(description="ISO date")]
Stage = Literal[tuple(STAGES)]  # type: ignore[valid-type]
Channel = Literal[CHANNEL_VOCABULARY.codes]  # type: ignore[valid-type]
Mechanism = Literal[tuple(MECHANISMS)]  # type: ignore[valid-type]


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
    status: Literal[HOUSEHOLD_STATUS.codes] | None = Field(  # type: ignore[valid-type]
        description="the registry status, once the registry's household is known here (GET /catalogue, list `household_status`)")
    mechanism: Mechanism
    mechanism_label: str = Field(description="带贫益贫机制 in Chinese")
    persons: int
    added_on: Day


class BeneficiariesOut(PeopleOut):
    items: list[BeneficiaryOut]


class BenefitOut(Answer):
    household_id: str
    kind: Literal[tuple(BENEFIT_KINDS)]  # type: ignore[valid-type]
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
    level: Literal[ANNOUNCEMENT_LEVELS] | None = Field(  # type: ignore[valid-type]
        description="the notice's level (GET /catalogue, list `announcement_level`)")
    period: dict[str, Any] | None


class ProgressOut(Answer):
    on: Day
    percent: int
    photos: list[str]
    note: str


class MemberOut(Answer):
    name: str
    unit: str
    role: str


class AcceptanceOut(Answer):
    on: Day
    team: list[MemberOut] = Field(description="验收组")
    result: Literal["passed", "failed"]
    issues: list[str]


class ShareOut(Answer):
    holder: str = Field(description="'collective' (the village collective) or a registry household id")
    shares: int
    ratio_percent: str = Field(description="the holder's part of all shares, percent with two decimals")


class DistributionLineOut(ShareOut):
    amount_fen: int
    amount: YuanOut


class DistributionOut(Answer):
    id: str
    period: str = Field(description="a year, half (H1, H2), quarter (Q1–Q4) or month (01–12), e.g. 2018-H2")
    on: Day
    amount: YuanOut
    announcement_id: str = Field(description="the announcement of the distribution (收益分配公示)")
    lines: list[DistributionLineOut] = Field(description="each holder's part (largest remainder)")


class OperatorOut(Answer):
    kind: Literal[tuple(OPERATOR_KINDS)]  # type: ignore[valid-type]
    name: str
    responsibility: str = Field(description="e.g. 保值增值")


class AssetOut(Answer):
    id: str = Field(description="<project code>-A<n>")
    project: str
    division: str = Field(description="the village the asset is in")
    name: str
    kind: Literal[tuple(ASSET_KINDS)]  # type: ignore[valid-type]
    kind_label: str = Field(description="资产类别 in Chinese")
    owner: Literal[tuple(ASSET_OWNERS)]  # type: ignore[valid-type]
    operator: OperatorOut
    book_value: YuanOut
    handed_over_on: Day
    shares: list[ShareOut]
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


class BeneficiariesAddedOut(ProjectOut):
    """The full record after households were added, and those that were beneficiaries already."""

    already_beneficiaries: list[str] = Field(description="household ids given that were beneficiaries before")


class RegistryHouseholdOut(Answer):
    id: str
    number: str = Field(description="户编号")
    division: str = Field(description="the household's village")
    status: Literal[HOUSEHOLD_STATUS.codes] = Field(  # type: ignore[valid-type]
        description="the registry status (registered, exited, removed …; GET /catalogue, list `household_status`)")
    head: str | None = Field(description="the head's name")
    persons: int


class RegistryHouseholdPage(Answer):
    items: list[RegistryHouseholdOut]
    next_cursor: str | None


class PublicityOut(Answer):
    announcement_id: str = Field(description="the publicity notice (公示) drafted for the level")
    level: Literal[tuple(LEVELS)]  # type: ignore[valid-type]
    codes: list[str] = Field(description="the projects it lists")
    stage: Stage = Field(description="the stage the projects are in now (in_publicity)")


class AdjustmentItemOut(Answer):
    action: Literal[tuple(ACTIONS)] = Field(description="add (新增入库), remove (出库) or change (调整); GET /catalogue, "
                                            "list `adjustment_action`")  # type: ignore[valid-type]
    code: str
    reason: str = Field(description="a removal's reason; may be empty otherwise")
    changes: dict[str, Any] | None = Field(description="a change: the fields it sets")


class AdjustmentOut(Answer):
    announcement_id: str = Field(description="the county's adjustment announcement; apply it once it has passed")
    items: list[AdjustmentItemOut]


class AdjustmentAppliedOut(Answer):
    announcement_id: str
    applied_on: Day
    stages: dict[str, Stage] = Field(description="project code → its stage after the adjustment")


class AssetsOut(Answer):
    division: str = Field(description="the jurisdiction listed (its code)")
    items: list[AssetOut]
