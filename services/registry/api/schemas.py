"""The shapes of the registry's main answers, for the OpenAPI document and generated clients: a
household with its members, a page of households, a person found by ID number — codes as enums from
``domain/codes.py`` with each code's Chinese label beside it.

Documentation of what ``usecases/households.py`` renders (``_full_view``, ``person``); the server
does not validate answers against it. Fields a department may not read (``domain/departments.py``)
are left out of its answers, so they are not required; further members may follow (``extra``
allowed)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from services.registry.domain import office_codes as office
from services.registry.domain.codes import VOCABULARIES
from shared.announcements.api import HotlinesOut, PeriodOut
from shared.announcements.domain import LEVELS
from shared.web.answers import YUAN, Answer


Status = Literal[VOCABULARIES["status"].codes]  # type: ignore[valid-type]
Cause = Literal[VOCABULARIES["cause"].codes]  # type: ignore[valid-type]
Relation = Literal[VOCABULARIES["relation"].codes]  # type: ignore[valid-type]
Division = Annotated[str, Field(pattern=r"^[0-9]{12}$", description="12-digit division code")]


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
    poverty_attribute: Literal[VOCABULARIES["poverty_attribute"].codes]  # type: ignore[valid-type]
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


# -- lists and reports that also export as spreadsheets (api/exports.py) ---------------------------

class BenefitOut(Answer):
    id: str
    source: Literal[office.BENEFIT_SOURCE.codes] = Field(description="the service whose event recorded it")  # type: ignore[valid-type]
    reference: str = Field(description="the project code or the payment reference")
    kind: Literal[office.BENEFIT_KIND.codes] = Field(description="GET /catalogue, list `benefit_kind`")  # type: ignore[valid-type]
    amount: str = Field(pattern=YUAN, description="yuan, two decimals")
    on: str = Field(description="ISO date")
    event: str = Field(description="the id of the event it was recorded from")


class BenefitsOut(Answer):
    household: str = Field(description="户编号")
    total: str = Field(pattern=YUAN)
    by_kind: dict[str, str] = Field(description="kind → yuan")
    items: list[BenefitOut]


class MissingAssistanceOut(Answer):
    division: Division
    without_helper: list[str] = Field(description="户编号 of households on the roll without a 帮扶责任人")
    without_measure: list[str] = Field(description="户编号 of households on the roll without a measure")


Late = Literal[office.GRIEVANCE_LATE.codes]  # type: ignore[valid-type]
GrievanceStatus = Literal[office.GRIEVANCE_STATUS.codes]  # type: ignore[valid-type]


class GrievanceLinkOut(Answer):
    kind: Literal[office.GRIEVANCE_LINK.codes]  # type: ignore[valid-type]
    ref: str = Field(description="household id or number, payment reference, project code, or announcement id")


class GrievanceOut(Answer):
    """A grievance as its officials read it (``usecases/grievances.view``)."""

    id: str
    receipt: str = Field(description="10 characters, the complainant's receipt number")
    channel: Literal[office.GRIEVANCE_CHANNEL.codes]  # type: ignore[valid-type]
    channel_label: str
    division: Division
    summary: str
    complainant: dict[str, Any] | None = Field(description="{name, phone, anonymous}")
    links: list[GrievanceLinkOut]
    category: Literal[office.GRIEVANCE_CATEGORY.codes] | None  # type: ignore[valid-type]
    status: GrievanceStatus
    status_label: str
    assigned_to: str | None
    received_on: str
    accept_by: str
    answer_by: str
    answered_on: str | None
    closed_on: str | None
    outcome: Literal[office.GRIEVANCE_OUTCOME.codes] | None  # type: ignore[valid-type]
    outcome_label: str | None
    answer: str | None
    overdue: list[Late] = Field(description="what is late today: accept, answer")
    rule: dict[str, Any] = Field(description="the policy rule of the due dates: {id, citation}")
    citation: str | None


class GrievancesOut(Answer):
    items: list[GrievanceOut]


class OverdueGrievanceOut(Answer):
    receipt: str
    division: Division
    status: GrievanceStatus
    assigned_to: str | None
    accept_by: str
    answer_by: str
    late: list[Late]
    days_late: int
    citation: str | None


class OverdueGrievancesOut(Answer):
    as_of: str
    count: int
    items: list[OverdueGrievanceOut]


class ChangeRequestOut(Answer):
    """A correction (``usecases/corrections.view``): ID numbers masked in the old and new values."""

    id: str
    kind: Literal[office.CHANGE_KIND.codes]  # type: ignore[valid-type]
    household_id: str
    division: Division
    dept: str | None
    changes: dict[str, dict[str, Any]] = Field(description="field → {old, new}")
    reason: str
    document: str | None
    level: Literal[office.OFFICE_LEVEL.codes] = Field(description="who must approve")  # type: ignore[valid-type]
    status: Literal[office.CHANGE_STATUS.codes]  # type: ignore[valid-type]
    proposed_by: str
    decided_by: str | None
    decision_reason: str | None
    created_at: str
    decided_at: str | None


class ChangeRequestsOut(Answer):
    items: list[ChangeRequestOut]


class DuplicatePersonOut(Answer):
    id: str
    id_number: str = Field(description="masked")
    name: str
    household: str = Field(description="户编号")
    division: Division


class DuplicateOut(Answer):
    id: str
    score: int = Field(ge=0, le=100)
    reasons: list[Literal[office.DUPLICATE_REASON.codes]]  # type: ignore[valid-type]
    found_by: str = Field(description="proposal, or import:<import id>")
    person: DuplicatePersonOut = Field(description="the newly proposed or imported person")
    other: DuplicatePersonOut = Field(description="the person already registered")


class DuplicatesOut(Answer):
    count: int
    items: list[DuplicateOut]


class ImportRecordOut(Answer):
    import_id: str
    kind: str = Field(description="roll, or department:<dept>")
    division: Division
    filename: str
    sha256: str
    encoding: str | None
    status: Literal["imported", "refused"]
    result: dict[str, Any] = Field(description="imported: the counts; refused: detail, total_errors and the first "
                                   "errors")
    by: str | None
    at: str


class ImportsOut(Answer):
    items: list[ImportRecordOut]


class BoardNoticeOut(Answer):
    """An announcement of any service on a division's board (``usecases/board.public_view``): masked."""

    id: str
    service: Literal[office.ANNOUNCING_SERVICE.codes]  # type: ignore[valid-type]
    service_label: str
    subject_type: str
    level: Literal[LEVELS]  # type: ignore[valid-type]
    level_label: str
    division: Division
    title: str
    content: dict[str, Any]
    people: list[dict[str, Any]] = Field(description="masked")
    rendered_text: str
    hotlines: HotlinesOut
    period: PeriodOut | None
    status: Literal["published", "closed", "withdrawn"]
    outcome: Literal["passed", "failed"] | None
    withdrawn_reason: str | None
    published_at: str | None
    closed_at: str | None
    objections: dict[str, int] = Field(description="how many objections are open, upheld, dismissed")


class ArchiveOut(Answer):
    division: Division
    total: int
    page: int
    pages: int
    items: list[BoardNoticeOut]
