"""The shapes of the projects service's results answers (issue 14): 百企千村 enterprises, pairings and
a pairing's report, performance evaluations (one project's and the county's report) and the
library's figures, codes as enums with each code's Chinese label beside it.

Documentation of what ``usecases/pairings.py``, ``usecases/evaluations.py`` and ``api/projects.figures``
render; the server does not validate answers against it; further members may follow (``extra`` allowed)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from services.projects.api.schemas import Day, Stage
from services.projects.domain.catalogue import TARGET_KINDS
from services.projects.domain.pairing import COMMITMENTS, ENTERPRISE_TYPES
from shared.web.answers import Answer, YuanOut

TargetKind = Literal[tuple(TARGET_KINDS)]  # type: ignore[valid-type]


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


class BehindOut(Answer):
    """One household, village, person or disbursement behind a commitment's actual; the members
    present depend on the commitment."""

    village: str | None = Field(None, description="villages: the village")
    households: int | None = Field(None, description="villages: its beneficiary households")
    household_id: str | None = None
    number: str | None = Field(None, description="户编号")
    head: str | None = None
    name: str | None = Field(None, description="labourers: the person hired")
    household_number: str | None = None
    hired_on: Day | None = None
    wages_fen: int | None = Field(None, description="labourers: wages received from the pairing's projects")
    amount_fen: int | None = Field(None, description="income: benefits received; investment: a disbursement")
    project: str | None = Field(None, description="investment: the project paid")
    on: Day | None = None
    payee: str | None = None


class NotCountedOut(Answer):
    name: str
    household_id: str
    household_number: str | None
    hired_on: Day
    reason: str


class ReportLineOut(Answer):
    commitment: Literal[tuple(key.removesuffix("_fen") for key in COMMITMENTS)]  # type: ignore[misc]
    label: str = Field(description="the commitment in Chinese, e.g. 带动贫困村")
    unit: str = Field(description="个, 户, 人 or 元")
    target: int | YuanOut = Field(description="a count, or yuan for income and investment")
    actual: int | YuanOut
    gap: int | YuanOut = Field(description="what is still missing (0 when met)")
    met: bool
    behind: list[BehindOut] = Field(description="who or what is behind the actual")
    not_counted: list[NotCountedOut] = Field(description="labourers reported but not counted, with why")


class PairingReportOut(Answer):
    pairing: str
    year: int
    enterprise: EnterpriseOut
    division: str
    villages: list[str]
    projects: list[str]
    lines: list[ReportLineOut]


class IndicatorOut(Answer):
    kind: TargetKind
    indicator: str
    unit: str
    target: str
    actual: str
    direction: Literal["at_least", "at_most"] = Field(description="more is better (≥) or less is better (≤)")
    completion_percent: str
    points: str
    met: bool


class SystemFiguresOut(Answer):
    beneficiary_households: int
    beneficiary_persons: int
    paid: YuanOut
    benefits: YuanOut = Field(description="benefits recorded to the beneficiary households")


class EvaluationOut(Answer):
    """绩效评价 of a project, with the system's own figures beside it."""

    code: str
    on: Day
    indicators: list[IndicatorOut]
    score: str = Field(description="0–100, two decimals")
    rating: str = Field(description="the band of the rule `project.performance.rating` (excellent, good …)")
    rating_label: str = Field(description="优, 良, 中 or 差")
    citation: str = Field(description="the document the rating rule comes from")
    system_figures: SystemFiguresOut


class TargetOut(Answer):
    kind: TargetKind
    indicator: str
    target: str
    unit: str


class EvaluatedProjectOut(Answer):
    code: str
    name: str
    division: str
    stage: Stage
    evaluated: bool
    score: str | None
    rating: str | None
    rating_label: str | None
    on: Day | None
    indicators: list[IndicatorOut]
    targets: list[TargetOut]


class EvaluationReportOut(Answer):
    """项目绩效评价报告: every accepted project of the year under the division."""

    division: str
    year: int
    accepted: int
    evaluated: int
    by_rating: dict[str, int] = Field(description="rating label → how many projects")
    items: list[EvaluatedProjectOut]


class FigureOut(Answer):
    projects: int
    budget: YuanOut
    households: int = Field(description="poor households driven (beneficiaries)")
    persons: int
    committed: YuanOut
    paid: YuanOut
    stranded: YuanOut


class LabelledFigureOut(FigureOut):
    label: str = Field(description="the type's or stage's Chinese label")


class FiguresOut(Answer):
    """项目统计 of a division (and year)."""

    division: str
    year: int | None
    total: FigureOut
    by_type: dict[str, LabelledFigureOut] = Field(description="project type → its figures")
    by_stage: dict[str, LabelledFigureOut] = Field(description="stage → its figures")
