"""The answers of statistics and the evaluations (``domain/statistics.py``, ``usecases/statistics``,
``usecases/evaluations``): head counts, 贫困发生率, the village/county exit evaluation and the
error rates against the assessment's 2%."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from services.registry.api.schemas.common import Division
from services.registry.api.schemas.grievances import RuleRefOut
from services.registry.domain.codes import VOCABULARIES
from shared.web.answers import Answer

Percent = Annotated[str, Field(pattern=r"^[0-9]+\.[0-9]{2}$", description="percent, two decimals")]


class HeadCountOut(Answer):
    households: int
    persons: int


class StatisticsOut(Answer):
    """Registry figures of a division (and of each township under it) at the end of a year."""

    division: str = Field(description="the division's code prefix (652722: 精河县)")
    year: int
    registered: HeadCountOut
    without_labour: HeadCountOut
    with_labour: HeadCountOut
    exits: dict[str, HeadCountOut] = Field(description="year → households and persons exited that year")
    remaining: HeadCountOut
    returned: HeadCountOut
    rural_population: int | None
    poverty_rate: str | None = Field(description="贫困发生率 as a fraction, e.g. 1/50")
    poverty_rate_percent: Percent | None
    monitored: dict[Literal[VOCABULARIES["monitoring_category"].codes], int] = Field(  # type: ignore[valid-type]
        description="monitored households by category (GET /catalogue, list `monitoring_category`)")
    lacking_helper: list[str] = Field(description="户编号 of households on the roll without a 帮扶责任人")
    lacking_measure: list[str] = Field(description="户编号 of households on the roll without a measure")
    by_township: dict[str, StatisticsOut] = Field(description="township code → its figures")


class EvaluationOut(Answer):
    """A village's 出列 or a county's 摘帽 evaluation against the 贫困发生率 threshold."""

    division: Division
    level: Literal["village", "county"]
    year: int
    eligible: bool
    poverty_rate_percent: Percent | None
    threshold_percent: Percent
    remaining: HeadCountOut
    rural_population: int | None
    citation: str | None


class RateOut(Answer):
    count: int
    base: int
    percent: Percent
    max_percent: int
    within: bool = Field(description="below the maximum")


class TitledRuleOut(RuleRefOut):
    title: str


class ReviewScheduleOut(Answer):
    last_review_year: int | None
    interval_years: int
    next_review_year: int | None
    overdue: bool
    rule: RuleRefOut


class ErrorRatesOut(Answer):
    """错退率 and 漏评率 of a division and year, and the annual review's schedule."""

    division: Division
    year: int
    wrongful_exit_rate: RateOut = Field(description="错退率")
    missed_identification_rate: RateOut = Field(description="漏评率")
    rule: TitledRuleOut
    review: ReviewScheduleOut
