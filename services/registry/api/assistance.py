"""Assistance (帮扶), monitoring (防止返贫动态监测), return to poverty (返贫), the annual review
(动态管理) and the other departments' updates — HTTP → one use case of
``services.registry.usecases.assistance`` → JSON."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from fastapi import Path, Request
from fastapi.responses import Response

from services.registry.api import exports
from services.registry.api.households import OFFICES
from services.registry.api.schemas import (
    BenefitsOut, MissingAssistanceOut,
    BenefitNoticeOut, DepartmentDataOut, HouseholdOut, MeasureOut, MonitoringOut, PathwayProposalOut, ReviewAppliedOut,
    ReviewOut,
)
from services.registry.usecases import assistance as usecase
from services.registry.usecases.assistance import (
    DEPARTMENT_FIELDS,
    BenefitNoticeIn,
    HousingIn,
    MeasureIn,
    MonitoringIn,
    Removal,
    ReturnIn,
    ReviewIn,
)
from shared.auth import Reader, Role, Writer
from shared.divisions import DivisionCode
from shared.web import Session, router
from shared.web.export import exportable
from shared.web.problems import json_body, validate_body
from shared.witness import receipts

__all__ = ["DEPARTMENT_FIELDS", "MeasureIn", "MonitoringIn", "Removal", "ReturnIn", "assistance"]

assistance = router(tags=["assistance, monitoring, review (帮扶 监测 动态管理)"])
LOCAL = (Role.village, Role.township, Role.county_office)


@assistance.post("/households/{household_id}/measures", status_code=201, summary="Record an assistance measure (措施到户)",
                 responses={201: {"model": MeasureOut}})
async def add_measure(body: MeasureIn, request: Request, household_id: uuid.UUID = Path(),
                      *, principal: Writer(*LOCAL),
                      session: Session) -> dict[str, Any]:
    """A measure (措施到户) on one of the pathways; micro-credit (finance) measures are checked against the loan limits of
    the policy table."""
    return await usecase.add_measure(session, principal, household_id, body, clock=request.app.state.clock,
                                     policy=request.app.state.policy)


@assistance.get("/households/{household_id}/routing", summary="Pathways the routing rules propose (五个一批 …)",
                description="Derived from the members (labour, illness, school age) and the conditions given here.",
                responses={200: {"model": list[PathwayProposalOut]}})
async def routing(request: Request, household_id: uuid.UUID = Path(),
                  has_land: bool = False, local_resources: bool = False, harsh_area: bool = False,
                  fragile_ecology: bool = False, movable: bool = False, consents_to_tekun_care: bool = False,
                  *, principal: Reader(*OFFICES), session: Session) -> list[dict]:
    return await usecase.routing(session, principal, household_id, clock=request.app.state.clock, has_land=has_land,
                                 local_resources=local_resources, harsh_area=harsh_area,
                                 fragile_ecology=fragile_ecology, movable=movable,
                                 consents_to_tekun_care=consents_to_tekun_care)


@assistance.get("/reports/missing-assistance", summary="Households on the roll without a 帮扶责任人 or a measure",
                description="Both lists must be empty (DOMAIN §8; seed 003 L487). As a spreadsheet: one row per "
                "household, saying what it lacks.", responses={200: {"model": MissingAssistanceOut}})
@exportable(exports.MISSING_ASSISTANCE)
async def missing_assistance(division: DivisionCode | None = None,
                             *, principal: Reader(*OFFICES),
                             session: Session) -> dict[str, Any]:
    return await usecase.missing_assistance(session, principal, division)


@assistance.post("/households/{household_id}/monitoring", summary="Assess a household for monitoring (防止返贫动态监测)",
                 description="Classifies against the province's monitoring line for the year: 脱贫不稳定户, "
                 "边缘易致贫户 or 突发严重困难户; found by self-declaration, cadre visits or other departments' data.",
                 responses={200: {"model": MonitoringOut}})
async def monitor(body: MonitoringIn, request: Request, household_id: uuid.UUID = Path(),
                  *, principal: Writer(*LOCAL, Role.department),
                  session: Session) -> dict[str, Any]:
    return await usecase.monitor(session, principal, household_id, body, clock=request.app.state.clock,
                                 policy=request.app.state.policy)


@assistance.post("/households/{household_id}/return", summary="Record a return to poverty (返贫)",
                 description="An exited household is back on the roll, with its cause (seed 002 L569).",
                 responses={200: {"model": HouseholdOut}})
async def return_to_poverty(body: ReturnIn, request: Request, household_id: uuid.UUID = Path(),
                            *, principal: Writer(Role.county_office),
                            session: Session) -> dict[str, Any]:
    return await usecase.return_to_poverty(session, principal, household_id, body, clock=request.app.state.clock)


# -- other departments ------------------------------------------------------------------------------


@assistance.put("/persons/{id_number}/departments/{dept}",
                summary="Another department records what it knows of a person",
                description="civil_affairs (低保/特困), education (school stage, dropout), health (major illness, "
                "insurance), human_resources (employment), disabled_persons (grade). Only that department's token "
                "(role department with the matching dept claim) within its jurisdiction.",
                responses={200: {"model": DepartmentDataOut}})
async def department_update(request: Request, id_number: str = Path(min_length=18, max_length=18),
                            dept: Literal[tuple(DEPARTMENT_FIELDS)] = Path(),  # type: ignore[valid-type]
                            *, principal: Writer(Role.department),
                            session: Session) -> dict[str, Any]:
    body = validate_body(DEPARTMENT_FIELDS[dept], await json_body(request))
    return await usecase.department_update(session, principal, id_number, dept, body.model_dump())


@assistance.put("/households/{household_id}/housing", summary="Housing department: dangerous-house grade (危房)",
                responses={200: {"model": HouseholdOut}})
async def housing(body: HousingIn, request: Request, household_id: uuid.UUID = Path(),
                  *, principal: Writer(Role.department),
                  session: Session) -> dict[str, Any]:
    """The housing department records the house's safety grade (危房 A–D) and renovation; the household's 住房安全 check
    follows it."""
    return await usecase.housing(session, principal, household_id, body)


# -- benefits received (享受扶持情况) ---------------------------------------------------------------------


@assistance.get("/households/{household_id}/benefits", summary="What a household received from projects and payments",
                description="Recorded from the projects and funds services' events (享受扶持情况).",
                responses={200: {"model": BenefitsOut}})
@exportable(exports.BENEFITS)
async def benefits(household_id: uuid.UUID = Path(), *, principal: Reader(*OFFICES),
                   session: Session) -> dict[str, Any]:
    return await usecase.benefits(session, principal, household_id)


@assistance.get("/households/{household_id}/benefits/{benefit_id}/receipt",
                summary="A receipt of one benefit: the event, its inclusion proof, the signed checkpoint",
                description="One JSON file for the household (it holds the event exactly as hashed): verify it offline "
                "with `fupin verify-receipt FILE --key …` (README, \"Receipts\"). 503 while the event is not yet in a "
                "signed checkpoint.", response_class=Response, responses=receipts.ANSWERS)
async def benefit_receipt(request: Request, household_id: uuid.UUID = Path(), benefit_id: uuid.UUID = Path(),
                          *, principal: Reader(*OFFICES), session: Session) -> Response:
    return await receipts.issue(request, session, await usecase.benefit_event_seq(session, principal, household_id,
                                                                                  benefit_id))


@assistance.post("/benefit-notices", status_code=201, summary="Announce what the village's households received",
                 description="A village notice (DOMAIN §6) listing, per household, the benefits of the year by kind.",
                 responses={201: {"model": BenefitNoticeOut}})
async def benefit_notice(body: BenefitNoticeIn, request: Request,
                         principal: Writer(Role.village),
                         session: Session) -> dict[str, Any]:
    return await usecase.benefit_notice(session, principal, body, clock=request.app.state.clock,
                                        policy=request.app.state.policy)


# -- the annual review (动态管理) -----------------------------------------------------------------------


@assistance.post("/reviews", status_code=201, summary="Announce the annual review: additions and removals as one list",
                 description="一年一调整 (seed 002 L788): the year's new registrations and the proposed removals "
                 "(清退, with reason codes) in one county announcement; apply it once it has passed.",
                 responses={201: {"model": ReviewOut}})
async def announce_review(body: ReviewIn, request: Request,
                          principal: Writer(Role.county_office),
                          session: Session) -> dict[str, Any]:
    return await usecase.announce_review(session, principal, body, clock=request.app.state.clock,
                                         policy=request.app.state.policy)


@assistance.post("/reviews/{announcement_id}/apply", summary="Apply a passed annual review: remove the listed households",
                 responses={200: {"model": ReviewAppliedOut}})
async def apply_review(request: Request, announcement_id: uuid.UUID = Path(),
                       *, principal: Writer(Role.county_office),
                       session: Session) -> dict[str, Any]:
    """Once the annual review's announcement has passed, removes the listed households (each removal an event); refused
    while the period is open or after an upheld objection."""
    return await usecase.apply_review(session, principal, announcement_id, clock=request.app.state.clock)
