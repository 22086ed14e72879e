"""The shapes of the registry's main answers, for the OpenAPI document and generated clients: a
household with its members, a page of households, a person found by ID number — codes as enums from
``domain/codes.py`` with each code's Chinese label beside it.

Documentation of what ``usecases/households.py`` renders (``_full_view``, ``person``); the server
does not validate answers against it. Fields a department may not read (``domain/departments.py``)
are left out of its answers, so they are not required; further members may follow (``extra``
allowed)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from services.registry.api.schemas.common import AnnouncedOut, Cause, Division, PovertyAttribute, Relation, Status
from services.registry.domain.codes import VOCABULARIES
from shared.web.answers import YUAN, Answer


class MemberOut(Answer):
    id_number: str = Field(description="公民身份号码, 18 characters")
    name: str
    relation: Relation
    relation_label: str = Field(description="与户主关系 in Chinese (GET /catalogue, list `relation`)")
    sex: str
    birth_date: str = Field(description="ISO date")
    ethnicity: str | None = None
    education: str | None = None
    school_stage: str | None = Field(None, description="education department's field")
    health: str | None = Field(None, description="health department's field")
    disability_grade: int | None = Field(None, description="disabled persons' federation's field")
    labour_capacity: Literal[VOCABULARIES["labour_capacity"].codes]  # type: ignore[valid-type]
    labour_skill: str | None = None
    details: dict[str, Any] = Field(description="each department's own records of the person, by department")
    active: bool


class IncomeOut(Answer):
    year: int
    net_per_capita: str = Field(pattern=YUAN, description="纯收入 per person, yuan")
    disposable_per_capita: str | None = Field(pattern=YUAN, description="可支配收入 per person, yuan")
    components: dict[str, str] = Field(description="收入构成 by code (GET /catalogue, list `income_component`), yuan")


class PostExitOut(Answer):
    policies_continue: bool
    citation: str | None


class HouseholdOut(Answer):
    id: str
    number: str = Field(description="户编号")
    division: Division
    status: Status
    status_label: str
    poverty_attribute: PovertyAttribute
    poverty_attribute_label: str
    main_cause: Cause
    main_cause_label: str = Field(description="主要致贫原因 in Chinese (GET /catalogue, list `cause`)")
    secondary_cause: Cause | None
    secondary_cause_label: str | None
    registered_year: int | None
    registered_on: str | None
    exited_on: str | None
    helper: dict[str, Any] | None = Field(description="帮扶责任人 {name, unit, phone}")
    checks: dict[str, bool] = Field(description="两不愁三保障 / 四具有 checks")
    housing: dict[str, Any] | None = Field(None, description="housing department's field")
    relocation_status: str | None
    flags: list[str]
    monitoring: dict[str, Any] | None
    announcements: dict[str, str] = Field(description="step → announcement id")
    members: list[MemberOut]
    incomes: list[IncomeOut] = Field(description="on a single household's read; empty in a search page")
    post_exit: PostExitOut | None = Field(None, description="an exited household: whether its policies continue")
    as_of: str | None = Field(None, description="the day asked for, when `as_of` was given")
    status_as_of: Status | None = Field(None, description="the status at the end of `as_of`")


class ProposedOut(HouseholdOut):
    duplicate_candidates: int = Field(description="members flagged as possibly already registered (GET /reports/duplicates)")


class HouseholdPage(Answer):
    items: list[HouseholdOut]
    next_cursor: str | None


class PersonHouseholdOut(Answer):
    id: str
    number: str
    division: Division
    status: Status
    status_label: str


class PersonOut(Answer):
    id_number: str
    name: str
    relation: Relation
    relation_label: str
    sex: str
    birth_date: str
    active: bool
    household: PersonHouseholdOut


class NoticePostedOut(AnnouncedOut):
    """A notice posted (公示/公告): its announcement and the households it moved on."""

    households: list[str] = Field(description="the households' ids")
    status: Status = Field(description="the status the households moved to")
