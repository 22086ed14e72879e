"""Results: 百企千村 enterprises and pairings with their report, and the performance evaluation
(绩效评价) of accepted projects with the county's report. Routers only translate HTTP into one
use-case call (``services/projects/usecases/pairings.py``, ``services/projects/usecases/evaluations.py``)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, Literal

from fastapi import Path, Query, Request
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import select

from services.projects.api import exports
from services.projects.usecases import evaluations, pairings, projects
from services.projects.api.projects import READERS
from services.projects.api.results_schemas import (EnterpriseOut, EnterprisesOut, EvaluationOut, EvaluationReportOut, PairingOut,
                                                    PairingReportOut, PairingsOut)
from services.projects.domain.pairing import ENTERPRISE_TYPES
from services.projects.results_models import Enterprise, Pairing
from shared import divisions
from shared.auth import Reader, Role, Writer, query_scope
from shared.csvfile import csv_response
from shared.divisions import DivisionCode
from shared.money import Yuan
from shared.web import Session, router
from shared.web.export import FORMAT_DESCRIPTION, exportable, negotiate

results = router(tags=["results (百企千村结对、绩效评价)"])

OFFICES = (Role.county_office, Role.city_office, Role.province_office)
Format = Literal["json", "csv", "xlsx"]


class EnterpriseIn(BaseModel):
    credit_code: str = Field(min_length=18, max_length=18, examples=["91652722MA77XXXXXX"],
                             description="统一社会信用代码 (GB 32100-2015), its 18th character checked")
    name: str = Field(min_length=2, max_length=200, examples=["精河县枸杞产业有限公司"])
    type: Literal[tuple(ENTERPRISE_TYPES)]  # type: ignore[valid-type]


class CommitmentIn(BaseModel):
    year: int = Field(ge=2014, le=2100)
    villages: int = Field(ge=0, le=10_000, description="poor villages to drive (带动贫困村)")
    households: int = Field(ge=0, le=1_000_000, description="poor households to drive (带动贫困户)")
    labourers: int = Field(ge=0, le=1_000_000, description="registered poor labourers to hire (吸纳贫困劳动力)")
    income: Yuan = Field(description="income of the driven households (带动增收), yuan")
    investment: Yuan = Field(description="investment into the pairing's projects, yuan")


class PairingIn(BaseModel):
    credit_code: str = Field(min_length=18, max_length=18)
    division: DivisionCode = Field(description="the county")
    villages: list[DivisionCode] = Field(min_length=1, max_length=500)
    first_year: int = Field(ge=2014, le=2100)
    last_year: int = Field(ge=2014, le=2100)
    commitments: list[CommitmentIn] = Field(min_length=1, max_length=20, description="one per year of the pairing")
    projects: list[str] = Field(default_factory=list, max_length=500, description="project codes of the county's library")
    on: date | None = Field(None, description="date of the agreement (default today)")

    @model_validator(mode="after")
    def _years(self):
        if self.last_year < self.first_year:
            raise ValueError("last_year must not be before first_year")
        if len({c.year for c in self.commitments}) != len(self.commitments):
            raise ValueError("commitments: one per year")
        return self


class CodesIn(BaseModel):
    codes: list[str] = Field(min_length=1, max_length=500)


class LabourerIn(BaseModel):
    household_id: uuid.UUID
    name: str = Field(min_length=1, max_length=50, description="the household member hired")
    hired_on: date


class LabourersIn(BaseModel):
    items: list[LabourerIn] = Field(min_length=1, max_length=5000)


class ActualIn(BaseModel):
    indicator: str = Field(min_length=2, max_length=200)
    actual: str = Field(min_length=1, max_length=50, examples=["480"], description="a number, in the target's unit")


class EvaluationIn(BaseModel):
    actuals: list[ActualIn] = Field(min_length=1, max_length=50)
    on: date | None = None


# -- enterprises and pairings ------------------------------------------------------------------------

@results.post("/enterprises", status_code=201, summary="Register a 百企千村 enterprise",
              description="Name, 统一社会信用代码 (its GB 32100 check character validated: a wrong one is a 422 giving "
              "the right one), type. Registered under the caller's division; a code registered twice is a 409.",
              responses={201: {"model": EnterpriseOut}})
async def register_enterprise(body: EnterpriseIn, request: Request,
                              principal: Writer(*OFFICES),
                              session: Session) -> dict[str, Any]:
    return await pairings.register_enterprise(session, principal, credit_code=body.credit_code, name=body.name,
                                              type=body.type, now=request.app.state.clock.now())


@results.get("/enterprises", summary="Enterprises registered in your jurisdiction",
             description="Name, 统一社会信用代码, type and the registering office's division, by name; also as a "
             "spreadsheet (`?format=csv|xlsx`).", responses={200: {"model": EnterprisesOut}})
@exportable(exports.ENTERPRISES)
async def list_enterprises(principal: Reader(*READERS), session: Session, division: DivisionCode | None = None) -> dict[str, Any]:
    scope = query_scope(principal, division)
    rows = (await session.execute(select(Enterprise).where(Enterprise.division.startswith(divisions.prefix(scope)))
                                  .order_by(Enterprise.name))).scalars()
    return {"division": scope, "items": [pairings.enterprise_view(r) for r in rows]}


@results.post("/pairings", status_code=201, summary="Agree a pairing of an enterprise with villages (百企千村结对)",
              description="The county office records the enterprise, the county's villages, the years and, for each "
              "year, the quantified commitments: villages and households to drive, registered poor labourers to hire, "
              "income of the driven households, investment; and the pairing's projects (codes of the county's library).",
              responses={201: {"model": PairingOut}})
async def agree_pairing(body: PairingIn, request: Request, principal: Writer(Role.county_office),
                        session: Session) -> dict[str, Any]:
    today = request.app.state.clock.today()
    commitments = {c.year: {"villages": c.villages, "households": c.households, "labourers": c.labourers,
                            "income_fen": c.income, "investment_fen": c.investment} for c in body.commitments}
    return await pairings.agree_pairing(session, principal, credit_code=body.credit_code, county=body.division,
                                        villages=body.villages, first_year=body.first_year, last_year=body.last_year,
                                        commitments=commitments, projects=body.projects,
                                        on=projects.check_date(body.on, today))


@results.get("/pairings", summary="Pairings in your jurisdiction",
             description="Each with its enterprise, villages, years, commitments per year, projects and labourer roster. "
             "As a spreadsheet (`?format=csv|xlsx`): one row per pairing and year of its commitments.",
             responses={200: {"model": PairingsOut}})
@exportable(exports.PAIRINGS)
async def list_pairings(principal: Reader(*READERS), session: Session, division: DivisionCode | None = None) -> dict[str, Any]:
    scope = query_scope(principal, division)
    rows = (await session.execute(select(Pairing).where(Pairing.division.startswith(divisions.prefix(scope)))
                                  .order_by(Pairing.id))).scalars()
    return {"division": scope, "items": [await pairings.pairing_view(session, r) for r in rows]}


@results.get("/pairings/{pairing_id}", summary="One pairing: enterprise, villages, commitments, projects, labourers",
             description="Within your jurisdiction; money in yuan strings.",
             responses={200: {"model": PairingOut}})
async def read_pairing(principal: Reader(*READERS), session: Session, pairing_id: uuid.UUID = Path()) -> dict[str, Any]:
    return await pairings.pairing_view(session, await pairings.load_pairing(session, pairing_id, principal))


@results.post("/pairings/{pairing_id}/projects", status_code=201, summary="Link projects to a pairing",
              description="Projects of the county's library whose beneficiaries, benefits and disbursements become the "
              "pairing's actuals; an unknown project or one outside the county refuses the request, each named.",
              responses={201: {"model": PairingOut}})
async def link_projects(body: CodesIn, principal: Writer(Role.county_office), session: Session,
                        pairing_id: uuid.UUID = Path()) -> dict[str, Any]:
    row = await pairings.load_pairing(session, pairing_id, principal, lock=True)
    return await pairings.link_projects(session, principal, row, body.codes)


@results.post("/pairings/{pairing_id}/labourers", status_code=201, summary="Report the registered poor labourers hired",
              description="The enterprise's roster: household (a registered or exited household of a paired village, "
              "from the registry's events) and the member's name, hiring date. A labourer counts in the report only "
              "when the household received wages from the pairing's projects in the year.",
              responses={201: {"model": PairingOut}})
async def report_labourers(body: LabourersIn, principal: Writer(Role.county_office, Role.township), session: Session,
                           pairing_id: uuid.UUID = Path()) -> dict[str, Any]:
    row = await pairings.load_pairing(session, pairing_id, principal, lock=True)
    return await pairings.report_labourers(session, principal, row, [i.model_dump() for i in body.items])


@results.get("/pairings/{pairing_id}/report", summary="A pairing's commitments against what happened, for a year",
             description="For each commitment: target, actual from the records (beneficiary households of the "
             "pairing's projects and their villages; labourers on the roster whose household received wages from those "
             "projects; benefits recorded to the households; disbursements to the projects), gap, and the households or "
             "persons behind the number (and the labourers not counted, with why). `format=csv`: UTF-8 with BOM; `format=xlsx`.",
             responses={200: {"model": PairingReportOut}})
async def pairing_report(request: Request, principal: Reader(*READERS), session: Session, pairing_id: uuid.UUID = Path(),
                         year: int = Query(ge=2014, le=2100),
                         format: Format | None = Query(None, description=FORMAT_DESCRIPTION)) -> Any:
    format = negotiate(request, format)
    body = await pairings.report(session, await pairings.load_pairing(session, pairing_id, principal), year)
    if format != "json":
        return csv_response(f"百企千村结对报告-{body['enterprise']['name']}-{year}.csv", pairings.REPORT_HEADER,
                            pairings.report_rows(body), format)
    return body


# -- performance evaluation ------------------------------------------------------------------------------

@results.post("/projects/{code}/evaluation", status_code=201, summary="Evaluate an accepted project (绩效评价)",
              description="The county office gives the actual of every performance target; each is compared with its "
              "target (≥ more is better, ≤ less is better), scored and the project rated by the rule "
              "`project.performance.rating` (财农〔2017〕115号: 优 ≥ 90, 良 ≥ 80, 中 ≥ 60, 差). After acceptance; the "
              "results announcement carries the evaluation. The system's own figures are returned beside it.",
              responses={201: {"model": EvaluationOut}})
async def evaluate(body: EvaluationIn, request: Request, principal: Writer(Role.county_office), session: Session,
                   code: str = Path()) -> dict[str, Any]:
    clock = request.app.state.clock
    project = await projects.load(session, code, principal, lock=True)
    on = projects.check_date(body.on, clock.today(), after=project.completed_on)
    return await evaluations.record(session, project, {a.indicator: a.actual for a in body.actuals},
                                    request.app.state.policy, on, principal.actor())


@results.get("/projects/{code}/evaluation", summary="A project's performance evaluation",
             description="Indicators with target, actual, completion and points; score, rating and the rule's citation; "
             "the system's own figures (beneficiaries, money paid, benefits) beside them. 404 before evaluation.",
             responses={200: {"model": EvaluationOut}})
async def read_evaluation(principal: Reader(*READERS), session: Session, code: str = Path()) -> dict[str, Any]:
    project = await projects.load(session, code, principal)
    return await evaluations.read(session, project)


@results.get("/evaluations", summary="The county's project evaluation report (项目绩效评价报告)",
             description="Every accepted project of the year under the division — evaluated (indicators, score, rating) "
             "or not yet — with the count by rating. `format=csv` or `xlsx`: one row per indicator (CSV: UTF-8 with BOM).",
             responses={200: {"model": EvaluationReportOut}})
async def evaluation_report(request: Request, principal: Reader(*READERS), session: Session,
                            year: int = Query(ge=2014, le=2100), division: DivisionCode | None = None,
                            format: Format | None = Query(None, description=FORMAT_DESCRIPTION)) -> Any:
    format = negotiate(request, format)
    body = await evaluations.county_report(session, query_scope(principal, division), year)
    if format != "json":
        return csv_response(f"项目绩效评价报告-{body['division']}-{year}.csv", evaluations.REPORT_HEADER,
                            evaluations.report_rows(body), format)
    return body
