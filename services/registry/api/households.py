"""Households and persons: proposal, the identification and exit procedures, queries — HTTP →
one use case of ``services.registry.usecases.households`` → JSON.

Each step is taken by the office of its level whose jurisdiction covers the household's village;
each writes the household's new state and its event in one transaction (the use case's).
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import Path, Query, Request

from services.registry.api import exports
from services.registry.api.schemas import HouseholdOut, HouseholdPage, NoticePostedOut, PersonOut, ProposedOut
from services.registry.domain import workflow
from services.registry.usecases import households as usecase
from services.registry.usecases.households import (
    CAUSES,
    LEVEL_ROLE,
    DecisionIn,
    Helper,
    IncomeIn,
    Member,
    MemberLeaves,
    NoticeIn,
    ProposeIn,
    household_view,
)
from shared.auth import Reader, Role, Writer
from shared.divisions import DivisionCode
from shared.fields import Year
from shared.web import Paging, Session, router
from shared.web.export import exportable

__all__ = ["CAUSES", "OFFICES", "DecisionIn", "Helper", "IncomeIn", "Member", "MemberLeaves", "NoticeIn", "ProposeIn",
           "household_view", "households"]

households = router(tags=["households (建档立卡)"])

OFFICES = (Role.village, Role.township, Role.county_office, Role.city_office, Role.province_office)
LevelWriter = Writer(*LEVEL_ROLE.values())  # any level's office may write; the step checks which


# -- proposal -------------------------------------------------------------------------------------

@households.post("/households", status_code=201, summary="Propose a household (申请/提名识别)",
                 description="A village proposes a household with its members. Each person may be in only one "
                 "active household nationwide: a duplicate is refused (409), naming the other household only to "
                 "callers whose jurisdiction covers it. Members who may be persons already registered under a mistyped ID "
                 "number or another spelling of their name are flagged for review (`duplicate_candidates`: how many; "
                 "see `GET /reports/duplicates`), never refused or merged.", responses={201: {"model": ProposedOut}})
async def propose(body: ProposeIn, request: Request,
                  principal: Writer(Role.village),
                  session: Session) -> dict[str, Any]:
    return await usecase.propose(session, principal, body, clock=request.app.state.clock)


# -- decisions ------------------------------------------------------------------------------------

@households.post("/households/{household_id}/steps/{action}",
                 summary="Take a step of the identification or exit procedure",
                 description="Actions: " + ", ".join(f"`{a}` ({d.label}, {d.level})" for a, d in workflow.DECISIONS.items())
                 + ". A step after a notice needs that notice to have passed (no objection open or upheld).",
                 responses={200: {"model": HouseholdOut}})
async def step(body: DecisionIn, request: Request, household_id: uuid.UUID = Path(),
               action: str = Path(description="one of the actions listed above"),
               *, principal: LevelWriter,
               session: Session) -> dict[str, Any]:
    return await usecase.take_step(session, principal, household_id, action, body, clock=request.app.state.clock,
                                   policy=request.app.state.policy)


# -- notices --------------------------------------------------------------------------------------

@households.post("/notices", status_code=201, summary="Post a notice of a batch of households (公示/公告)",
                 description="Publishes one announcement listing the households (names and masked ID numbers) "
                 "at the notice's level and moves them on. Notices: " + ", ".join(
                     f"`{k}` ({n.title}, {n.level})" for k, n in workflow.NOTICES.items()),
                 responses={201: {"model": NoticePostedOut}})
async def post_notice(body: NoticeIn, request: Request,
                      principal: LevelWriter,
                      session: Session) -> dict[str, Any]:
    return await usecase.post_notice(session, principal, body, clock=request.app.state.clock,
                                     policy=request.app.state.policy)


# -- members after the proposal (births, marriages, deaths, moves) --------------------------------

@households.post("/households/{household_id}/members", status_code=201, summary="Add a member (birth, marriage …)",
                 description="The person may not be in another active household.", responses={201: {"model": HouseholdOut}})
async def add_member(body: Member, request: Request, household_id: uuid.UUID = Path(),
                     *, principal: Writer(Role.village),
                     session: Session) -> dict[str, Any]:
    return await usecase.add_member(session, principal, household_id, body, clock=request.app.state.clock)


@households.post("/households/{household_id}/members/{id_number}/leave", summary="A member leaves (death, move …)",
                 description="The person stays in the record, inactive; a head cannot leave while others remain.",
                 responses={200: {"model": HouseholdOut}})
async def member_leaves(body: MemberLeaves, request: Request, household_id: uuid.UUID = Path(),
                        id_number: str = Path(min_length=18, max_length=18),
                        *, principal: Writer(Role.village),
                        session: Session) -> dict[str, Any]:
    return await usecase.member_leaves(session, principal, household_id, id_number, body,
                                       clock=request.app.state.clock)


# -- helper and income ----------------------------------------------------------------------------

@households.put("/households/{household_id}/helper", summary="Assign the 帮扶责任人 (one per household)",
                responses={200: {"model": HouseholdOut}})
async def assign_helper(body: Helper, request: Request, household_id: uuid.UUID = Path(),
                        *, principal: Writer(Role.village, Role.township, Role.county_office),
                        session: Session) -> dict[str, Any]:
    """Sets the household's 帮扶责任人 (name, unit, phone), replacing the previous one; an event records the change."""
    return await usecase.assign_helper(session, principal, household_id, body, clock=request.app.state.clock)


@households.put("/households/{household_id}/incomes/{year}", summary="Record a year's per-capita income",
                responses={200: {"model": HouseholdOut}})
async def record_income(body: IncomeIn, request: Request, household_id: Annotated[uuid.UUID, Path()],
                        year: Annotated[Year, Path()],
                        principal: Writer(Role.village, Role.township, Role.county_office),
                        session: Session) -> dict[str, Any]:
    """Per-capita net income for a year (the exit standard is judged on it); the year in the path and the body must
    agree."""
    return await usecase.record_income(session, principal, household_id, year, body)


# -- queries --------------------------------------------------------------------------------------

@households.get("/households", summary="Search households in your jurisdiction", responses={200: {"model": HouseholdPage}},
                description="By division, status, main cause, registration year, household number, or a member's "
                "name or ID number; cursor-paginated.")
@exportable(exports.HOUSEHOLDS)
async def search(
    division: DivisionCode | None = None, status: str | None = None, cause: str | None = None,
    year: Annotated[Year | None, Query(description="registration year")] = None, number: str | None = None,
    name: str | None = None, id_number: str | None = None,
    *, principal: Reader(*OFFICES, Role.county_finance, Role.department),
    params: Paging, session: Session,
) -> dict[str, Any]:
    return await usecase.search(session, principal, params, division=division, status=status, cause=cause, year=year,
                                number=number, name=name, id_number=id_number)


@households.get("/households/{household_id}", summary="A household, now or as of a date",
                responses={200: {"model": HouseholdOut}},
                description="With `as_of`, `status_as_of` is the status the household had at the end of that day. "
                "An exited household shows whether its assistance policies still continue (攻坚期/缓冲期, seed 003 L481).")
async def read(request: Request, household_id: uuid.UUID = Path(), as_of: date | None = Query(None),
               *, principal: Reader(*OFFICES, Role.county_finance, Role.department),
               session: Session) -> dict[str, Any]:
    return await usecase.read(session, principal, household_id, as_of=as_of, clock=request.app.state.clock,
                              policy=request.app.state.policy)


@households.get("/persons/{id_number}", summary="Look a person up by ID number (active household first)",
                responses={200: {"model": PersonOut}})
async def person(id_number: str = Path(min_length=18, max_length=18),
                 *, principal: Reader(*OFFICES, Role.county_finance, Role.department),
                 session: Session) -> dict[str, Any]:
    """The person's household (the active one first) by ID number, within the caller's jurisdiction."""
    return await usecase.person(session, principal, id_number)
