"""Request bodies of the projects API (validation answers 422 problem+json naming the field)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, model_validator

from services.projects.domain.adjustment import ACTIONS
from services.projects.domain.catalogue import BENEFIT_KINDS, MECHANISMS, OPERATOR_KINDS, TARGET_KINDS, TYPES
from shared.divisions import DivisionCode
from shared.money import Yuan
from shared.fields import Name, visible_length


class Target(BaseModel):
    """A performance target (绩效目标): indicator, target value, unit."""

    kind: Literal[tuple(TARGET_KINDS)] = "output"  # type: ignore[valid-type]
    indicator: Name = Field(min_length=2, max_length=200, examples=["新建枸杞种植基地面积"])
    target: Name = Field(max_length=50, examples=["500"], description="target value")
    unit: str = Field("", max_length=20, examples=["亩"])


class Source(BaseModel):
    channel: str = Field(examples=["central_special"], description="fund channel code of the funds service")
    amount: Yuan


class Schedule(BaseModel):
    start: date
    end: date


class Participation(BaseModel):
    """Public participation (群众参与): the villagers' discussion the proposal comes from."""

    discussed_on: date = Field(description="date of the villagers' (representatives') meeting")
    meeting: Name = Field("村民代表大会", min_length=2, max_length=50)
    participants: int = Field(ge=1, le=100000)
    note: str = Field("", max_length=1000)


class Plan(BaseModel):
    """The fields a proposal sets and a library adjustment may change."""

    name: Name = Field(min_length=2, max_length=200)
    implementing_unit: Name = Field(min_length=2, max_length=200, description="实施单位")
    schedule: Schedule
    tasks: list[str] = Field(min_length=1, max_length=50, description="建设任务 / 建设内容")
    budget: Yuan
    sources: list[Source] = Field(min_length=1, max_length=20, description="planned fund sources by channel")
    targets: list[Target] = Field(default_factory=list, max_length=50,
                                  description="绩效目标; required before approval")
    year: int = Field(ge=2014, le=2100, description="the year it is to be carried out (年度)")


class ProposeIn(Plan):
    type: Literal[tuple(TYPES)]  # type: ignore[valid-type]
    division: DivisionCode = Field(description="where it is: a village (or a township for a township-wide project)")
    mechanisms: list[Literal[tuple(MECHANISMS)]] = Field(min_length=1, max_length=7,  # type: ignore[valid-type]
                                                          description="带贫益贫机制")
    mechanism_note: str = Field("", max_length=2000)
    participation: Participation
    planned_households: int = Field(0, ge=0, le=1000000, description="poor households it is to drive")
    planned_persons: int = Field(0, ge=0, le=10000000)


class TargetsIn(BaseModel):
    targets: list[Target] = Field(min_length=1, max_length=50)


class StepIn(BaseModel):
    decision: Literal["approve", "reject"] = "approve"
    reason: str = Field("", max_length=1000, description="required to refuse or cancel")
    on: date | None = Field(None, description="the date of the decision (default: today)")
    year: int | None = Field(None, ge=2014, le=2100, description="plan: the annual implementation plan's year")


class NoticeIn(BaseModel):
    period_start: date
    period_end: date
    hotline_local: Name = Field(min_length=3, max_length=40)


class PublicityIn(NoticeIn):
    division: DivisionCode = Field(description="where the notice is posted: a village, township or county")
    codes: list[str] = Field(min_length=1, max_length=500)


class BeneficiariesIn(BaseModel):
    household_ids: list[uuid.UUID] = Field(min_length=1, max_length=5000, description="the registry's household ids")
    mechanism: Literal[tuple(MECHANISMS)]  # type: ignore[valid-type]


def _file_reference(photo: str) -> str:
    if not 1 <= len(photo) <= 500 or any(c.isspace() for c in photo):
        raise ValueError("照片须为文件引用 (each photo is a file reference without spaces, ≤ 500 characters)")
    return photo


#: A photo as a file reference; a bad one is named by its place (``photos.2``).
FileReference = Annotated[str, AfterValidator(_file_reference)]


class ProgressIn(BaseModel):
    percent: int = Field(ge=0, le=100)
    on: date | None = None
    photos: list[FileReference] = Field(default_factory=list, max_length=50, description="file references of the photos")
    note: str = Field("", max_length=2000)


class Member(BaseModel):
    name: Name = Field(max_length=50)
    unit: Name = Field(min_length=2, max_length=200)
    role: str = Field("", max_length=50)


class AcceptanceIn(BaseModel):
    on: date | None = None
    team: list[Member] = Field(min_length=1, max_length=50, description="验收组")
    result: Literal["passed", "failed"]
    issues: list[str] = Field(default_factory=list, max_length=100, description="problems found")


class BenefitIn(BaseModel):
    household_id: uuid.UUID
    kind: Literal[tuple(BENEFIT_KINDS)]  # type: ignore[valid-type]
    amount: Yuan
    on: date | None = None


class BenefitsIn(BaseModel):
    items: list[BenefitIn] = Field(min_length=1, max_length=5000)


class Operator(BaseModel):
    name: Name = Field(min_length=2, max_length=200)
    kind: Literal[tuple(OPERATOR_KINDS)]  # type: ignore[valid-type]
    responsibility: str = Field("保值增值", max_length=500, description="responsible for keeping the asset's value")


class ShareIn(BaseModel):
    holder: str = Field(description="'collective' or a registry household id")
    shares: int = Field(ge=1, le=10**9)


class AssetIn(BaseModel):
    name: Name = Field(min_length=2, max_length=200)
    kind: Literal["public_good", "productive"]
    owner: Literal["village_collective", "households"]
    division: DivisionCode | None = Field(None, description="the village it is in (default: the project's village)")
    operator: Operator
    book_value: Yuan
    shares: list[ShareIn] = Field(default_factory=list, max_length=5000)


class HandoverIn(BaseModel):
    on: date | None = None
    assets: list[AssetIn] = Field(default_factory=list, max_length=100)


class DistributionIn(NoticeIn):
    period: str = Field(pattern=r"^[0-9]{4}(-(Q[1-4]|H[12]|0[1-9]|1[0-2]))?$", examples=["2018", "2018-H2"],
                        description="a year, half (H1, H2), quarter (Q1–Q4) or month (01–12)")
    amount: Yuan
    on: date | None = None


class AdjustmentItem(BaseModel):
    action: Literal[tuple(ACTIONS)]  # type: ignore[valid-type]
    code: str
    reason: str = Field("", max_length=1000)
    changes: dict | None = Field(None, description="change: the fields to set (name, implementing_unit, schedule, "
                                 "tasks, budget, sources, targets, year)")

    @model_validator(mode="after")
    def _what_each_needs(self):
        if self.action == "remove" and visible_length(self.reason) < 2:
            raise ValueError("出库须说明理由 (a removal needs a reason)")
        if self.action == "change" and not self.changes:
            raise ValueError("变更须列出变更内容 (a change needs changes)")
        return self


class AdjustmentIn(NoticeIn):
    county: DivisionCode
    year: int = Field(ge=2014, le=2100)
    items: list[AdjustmentItem] = Field(min_length=1, max_length=1000)
