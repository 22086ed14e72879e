"""The answers of assistance, monitoring, the other departments' updates, the benefit notice and the
annual review (``usecases/assistance.py``): a measure as recorded, the pathways routing proposes, a
monitoring assessment, a department's data on a person, the announcements posted and what a passed
review removed."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, create_model

from services.registry.api.schemas.common import AnnouncedOut, Division, Pathway
from services.registry.domain import office_codes as office
from services.registry.domain.codes import VOCABULARIES
from services.registry.usecases.assistance import DEPARTMENT_FIELDS
from shared.web.answers import Answer, YuanOut


class LoanOut(Answer):
    amount: YuanOut
    term_months: int
    collateral: bool


class MeasureOut(Answer):
    """A measure (措施到户) as recorded."""

    measure_id: str
    pathway: Pathway = Field(description="帮扶路径 (GET /catalogue, list `pathway`)")
    description: str
    year: int
    amount: YuanOut | None
    loan: LoanOut | None = Field(None, description="扶贫小额信贷: a finance measure's loan")


class PathwayProposalOut(Answer):
    pathway: Pathway
    label: str = Field(description="the pathway in Chinese (GET /catalogue, list `pathway`)")
    reason: str = Field(description="why the rule proposes it, in Chinese")
    citation: str
    sub_measures: list[str] = Field(description="the concrete form where the rule names one: dibao, tekun_care, "
                                    "ranger_post, ecological_compensation")


class MonitoringOut(Answer):
    """A monitoring assessment (防止返贫动态监测) as recorded."""

    route: Literal[VOCABULARIES["discovery_route"].codes]  # type: ignore[valid-type]
    year: int
    per_capita_income: YuanOut
    line: YuanOut = Field(description="the province's monitoring line of the year")
    category: Literal[VOCABULARIES["monitoring_category"].codes] | None = Field(  # type: ignore[valid-type]
        description="null: above the line, not monitored")
    note: str


def _department_fields() -> dict[str, Any]:
    """Every department's own fields (``DEPARTMENT_FIELDS``), each optional: an answer carries one
    department's."""
    return {name: (field.annotation | None, Field(None, description=f"{dept}: {field.description or name}"))
            for dept, model in DEPARTMENT_FIELDS.items() for name, field in model.model_fields.items()}


DepartmentDataOut = create_model(
    "DepartmentDataOut", __base__=Answer, __doc__="A department's data on a person as recorded.",
    person_id=(str, ...), household=(str, Field(description="户编号")),
    dept=(Literal[tuple(DEPARTMENT_FIELDS)], ...),  # type: ignore[valid-type]
    **_department_fields(),
)


class BenefitNoticeOut(AnnouncedOut):
    rows: int = Field(description="households listed")


class RemovalOut(Answer):
    household_id: str
    reason: Literal[VOCABULARIES["removal_reason"].codes]  # type: ignore[valid-type]
    note: str


class ReviewOut(AnnouncedOut):
    """The annual review (一年一调整) as announced."""

    year: int
    additions: list[str] = Field(description="ids of the households newly registered in the year")
    removals: list[RemovalOut]


class ReviewAppliedOut(AnnouncedOut):
    removed: list[str] = Field(description="户编号 of the households removed")


class BenefitOut(Answer):
    id: str
    source: Literal[office.BENEFIT_SOURCE.codes] = Field(description="the service whose event recorded it")  # type: ignore[valid-type]
    reference: str = Field(description="the project code or the payment reference")
    kind: Literal[office.BENEFIT_KIND.codes] = Field(description="GET /catalogue, list `benefit_kind`")  # type: ignore[valid-type]
    amount: YuanOut
    on: str = Field(description="ISO date")
    event: str = Field(description="the id of the event it was recorded from")


class BenefitsOut(Answer):
    """What a household received (享受扶持情况), by kind and item."""

    household: str = Field(description="户编号")
    total: YuanOut
    by_kind: dict[str, str] = Field(description="kind → yuan")
    items: list[BenefitOut]


class MissingAssistanceOut(Answer):
    division: Division
    without_helper: list[str] = Field(description="户编号 of households on the roll without a 帮扶责任人")
    without_measure: list[str] = Field(description="户编号 of households on the roll without a measure")
