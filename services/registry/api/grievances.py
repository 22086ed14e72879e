"""Grievances (监督举报, 12317): HTTP → one use case of ``services.registry.usecases.grievances``."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, Literal

from fastapi import Path, Query, Request
from pydantic import BaseModel, Field

from services.registry.api import exports
from services.registry.api.schemas import GrievanceOut, GrievancesOut, GrievanceStatusOut, OverdueGrievancesOut
from services.registry.usecases import grievances
from services.registry.domain import grievance as procedure
from shared.auth import Reader, Role, Writer, query_scope
from shared.divisions import DivisionCode
from shared.web import Session, router
from shared.web.export import exportable

grievance_router = router(tags=["grievances (监督举报 12317)"])

OFFICES = (Role.village, Role.township, Role.county_office, Role.city_office, Role.province_office)


class Complainant(BaseModel):
    name: str | None = Field(None, max_length=50)
    phone: str | None = Field(None, pattern=r"^[0-9+\- ]{5,20}$")
    anonymous: bool = False


class Link(BaseModel):
    kind: Literal[procedure.LINK_KINDS]  # type: ignore[valid-type]
    ref: str = Field(min_length=1, max_length=80, description="household id or number, payment reference, project "
                     "code, or announcement id")


class GrievanceIn(BaseModel):
    channel: Literal[tuple(procedure.CHANNELS)] = Field(  # type: ignore[valid-type]
        description="; ".join(f"`{k}` {v}" for k, v in procedure.CHANNELS.items()))
    division: DivisionCode = Field(description="where the matter lies (village, township or county)")
    summary: str = Field(min_length=2, max_length=4000)
    complainant: Complainant | None = None
    links: list[Link] = Field(default_factory=list, max_length=20)
    received_on: date | None = Field(None, description="default: today")


class StepIn(BaseModel):
    on: date | None = None
    note: str = Field("", max_length=2000)
    category: Literal[tuple(procedure.CATEGORIES)] | None = Field(  # type: ignore[valid-type]
        None, description="classify: " + ", ".join(procedure.CATEGORIES))
    assigned_to: DivisionCode | None = Field(None, description="assign: the division whose office investigates")
    outcome: Literal[tuple(procedure.OUTCOMES)] | None = Field(  # type: ignore[valid-type]
        None, description="answer: " + ", ".join(procedure.OUTCOMES))
    answer: str | None = Field(None, min_length=2, max_length=4000, description="answer: the reply given")


@grievance_router.post(
    "/grievances", status_code=201, summary="Register a grievance (登记举报)",
    description="A grievance received by 12317, another phone, a letter, a visit, or an objection escalated from a "
    "notice board (`board_objection`, linking its announcement). Returns the public `receipt` number to give the "
    "complainant. Due dates follow the rule `grievance.handling` (《信访条例》: accept within 15 days, answer within "
    "60; provinces may override).", responses={201: {"model": GrievanceOut}})
async def receive(body: GrievanceIn, request: Request, principal: Writer(*OFFICES),
                  session: Session) -> dict[str, Any]:
    state = request.app.state
    row = await grievances.receive(
        session, principal, clock=state.clock, policy=state.policy, channel=body.channel, division=body.division,
        summary=body.summary, complainant=body.complainant.model_dump() if body.complainant else None,
        links=[link.model_dump() for link in body.links], received_on=body.received_on)
    return grievances.view(row, state.clock.today())


@grievance_router.post(
    "/grievances/{grievance_id}/steps/{action}", summary="Take a step of the grievance procedure",
    description="Steps: " + "; ".join(f"`{a}` {s.label} ({s.from_status} → {s.to_status}, "
                                     f"{'county office' if s.level == 'county' else 'the assigned office'})"
                                     for a, s in procedure.STEPS.items()), responses={200: {"model": GrievanceOut}})
async def step(body: StepIn, request: Request, grievance_id: uuid.UUID = Path(),
               action: Literal[tuple(procedure.STEPS)] = Path(),  # type: ignore[valid-type]
               *, principal: Writer(*OFFICES),
               session: Session) -> dict[str, Any]:
    clock = request.app.state.clock
    row = await grievances.take_step(session, principal, grievance_id, action, clock=clock,
                                     fields=body.model_dump(exclude_none=True))
    return grievances.view(row, clock.today())


@grievance_router.get("/grievances", summary="Grievances in your jurisdiction",
                      description="`overdue=true`: only those past their acceptance or answer date today.",
                      responses={200: {"model": GrievancesOut}})
@exportable(exports.GRIEVANCES)
async def search(request: Request, division: DivisionCode | None = None, status: str | None = None,
                 overdue: bool = False, limit: int = Query(200, ge=1, le=1000),
                 *, principal: Reader(*OFFICES), session: Session) -> dict[str, Any]:
    today = request.app.state.clock.today()
    rows = await grievances.search(session, query_scope(principal, division), status=status,
                                   overdue_on=today if overdue else None, limit=limit)
    return {"items": [grievances.view(row, today) for row in rows]}


@grievance_router.get("/reports/grievances/overdue", summary="Overdue grievances (逾期未受理、未答复)",
                      description="Grievances not accepted or not answered by their due date, by division, as of "
                      "today, with the rule each due date came from.",
                      responses={200: {"model": OverdueGrievancesOut}})
@exportable(exports.OVERDUE_GRIEVANCES)
async def overdue_report(request: Request, division: DivisionCode | None = None,
                         *, principal: Reader(*OFFICES),
                         session: Session) -> dict[str, Any]:
    today = request.app.state.clock.today()
    rows = await grievances.search(session, query_scope(principal, division), status=None, overdue_on=today,
                                   limit=100_000)
    items = [{"receipt": r.receipt, "division": r.division, "status": r.status, "assigned_to": r.assigned_to,
              "accept_by": r.accept_by.isoformat(), "answer_by": r.answer_by.isoformat(),
              "late": procedure.overdue(r.status, procedure.Due(r.accept_by, r.answer_by), today),
              "days_late": (today - (r.accept_by if r.status == "received" and today > r.accept_by
                                     else r.answer_by)).days, "citation": r.rule.get("citation")} for r in rows]
    return {"as_of": today.isoformat(), "count": len(items), "items": items}


@grievance_router.get("/grievances/{grievance_id}", summary="A grievance with its complainant and answer",
                      description="For officials of the grievance's division or of the office it was assigned to: "
                      "the complainant's contact, the text, the links, the answer, the rule of its due dates.",
                      responses={200: {"model": GrievanceOut}})
async def read(request: Request, grievance_id: uuid.UUID = Path(), *, principal: Reader(*OFFICES),
               session: Session) -> dict[str, Any]:
    return grievances.view(await grievances.load(session, principal, grievance_id), request.app.state.clock.today())


@grievance_router.get("/public/grievances/{receipt}", summary="Public status of a grievance by its receipt number",
                      description="Anyone holding the 10-character receipt number may see the status and the dates; "
                      "no names, text or links. Case, hyphens and O/I/L for 0/1 are forgiven; a mistyped "
                      "character is caught by the check character (422).",
                      responses={200: {"model": GrievanceStatusOut}})
async def public_status(request: Request, receipt: str = Path(max_length=20),
                        *, session: Session) -> dict[str, Any]:
    return grievances.public_view(await grievances.by_receipt(session, receipt), request.app.state.clock.today())
