"""Carrying a project out: its beneficiaries (registered households of the registry), progress
reports, acceptance (验收), what households received, and the handover of its assets (资产移交)."""

from __future__ import annotations

import uuid
from typing import Any

import uuid6
from fastapi import Path, Request
from sqlalchemy import select

from services.projects import contract
from services.projects.usecases import projects
from services.projects.api.models import AcceptanceIn, BeneficiariesIn, BenefitsIn, HandoverIn, ProgressIn
from services.projects.api.schemas import BeneficiariesAddedOut, ProjectOut, RegistryHouseholdPage
from services.projects.api.views import full_record
from services.projects.domain import assets as asset_rules
from services.projects.domain import eligibility, lifecycle
from services.projects.models import Acceptance, Asset, BenefitRecord, Beneficiary, Progress, Project, RegistryHousehold
from shared import divisions
from shared.auth import Principal, Reader, Role, Writer, query_scope
from shared.divisions import DivisionCode
from shared.errors import Unprocessable
from shared.events import NewEvent, append
from shared.money import format_fen
from shared.web import Paging, Session, router

implementation = router(tags=["implementation (实施、验收、资产移交)"])

OFFICES = (Role.village, Role.township, Role.county_office)
#: Stages in which households receive benefits from a project.
BENEFIT_STAGES = ("funded", "in_progress", "completed", "accepted", "results_announced", "handed_over")


async def _check_step(session, request: Request, project: Project, action: str) -> lifecycle.Step:
    return await projects.check_step(session, project, action, request.app.state.policy, request.app.state.clock.today())


async def _local_offices(principal: Principal, project: Project, action: str | None = None) -> None:
    levels = (lifecycle.offices(lifecycle.STEPS[action], projects.project_level(project)) if action
              else (projects.project_level(project), "township", "county"))
    projects.require_office(principal, levels, project.division)


# -- beneficiaries ---------------------------------------------------------------------------------

@implementation.post("/projects/{code}/beneficiaries", status_code=201, summary="Add beneficiary households (带贫对象)",
                     description="Registered (建档立卡), not removed households of the registry inside the project's "
                     "division, with the benefit-linking mechanism. Any other household refuses the whole request (422), "
                     "each named with its reason: unknown, not_registered, removed, outside_division. Until acceptance.",
                     responses={201: {"model": BeneficiariesAddedOut}})
async def add_beneficiaries(body: BeneficiariesIn, request: Request, principal: Writer(*OFFICES), session: Session,
                            code: str = Path()) -> dict[str, Any]:
    project = await projects.load(session, code, principal, lock=True)
    await _local_offices(principal, project)
    projects.require_stage(project, lifecycle.BEFORE_ACCEPTANCE)
    ids = list(dict.fromkeys(body.household_ids))
    known = {r.id: r for r in (await session.execute(select(RegistryHousehold).where(RegistryHousehold.id.in_(ids)))).scalars()}
    problems = [p for p in (eligibility.judge(str(i), known.get(i) and eligibility.Household(
        str(i), known[i].division, known[i].status), project.division) for i in ids) if p]
    if problems:
        raise Unprocessable(f"{len(problems)}户不能作为本项目受益户 ({len(problems)} household(s) cannot benefit): "
                            + "；".join(f"{p.household_id}: {p.reason}" for p in problems),
                            errors=[p.as_dict() for p in problems], slug="beneficiary-not-eligible")
    already = set((await session.execute(select(Beneficiary.household_id).where(
        Beneficiary.code == code, Beneficiary.household_id.in_(ids)))).scalars())
    today = request.app.state.clock.today()
    added = [Beneficiary(code=code, household_id=i, mechanism=body.mechanism, persons=known[i].persons, added_on=today)
             for i in ids if i not in already]
    session.add_all(added)
    await projects.record(session, project, project.stage, today, NewEvent("projects.beneficiaries.added", code, {
        "code": code, "mechanism": body.mechanism, "household_ids": [str(b.household_id) for b in added],
        "households": len(added), "persons": sum(b.persons for b in added)}, principal.actor()),
        request.app.state.clock.now())
    await session.flush()
    return {**await full_record(session, project), "already_beneficiaries": sorted(map(str, already))}


@implementation.get("/registry-households", summary="Households the projects service knows from the registry",
                    description="The read model of the registry's events: id, number, village, status, head's name and "
                    "persons; `eligible=true` keeps those that may be beneficiaries (registered, not removed).",
                    responses={200: {"model": RegistryHouseholdPage}})
async def registry_households(principal: Reader(*OFFICES), params: Paging, session: Session,
                              division: DivisionCode | None = None, eligible: bool = False) -> dict[str, Any]:
    scope = query_scope(principal, division)
    query = select(RegistryHousehold).where(RegistryHousehold.division.startswith(divisions.prefix(scope)))
    if eligible:
        query = query.where(RegistryHousehold.status.in_(eligibility.ELIGIBLE_STATUSES))
    if params.cursor:
        query = query.where(RegistryHousehold.number > params.after(str))
    rows = list((await session.execute(query.order_by(RegistryHousehold.number).limit(params.limit + 1))).scalars())
    page = params.page(rows, key_of=lambda r: [r.number])
    return {"items": [{"id": str(r.id), "number": r.number, "division": r.division, "status": r.status,
                       "head": r.head_name, "persons": r.persons} for r in page.items], "next_cursor": page.next_cursor}


# -- progress, acceptance --------------------------------------------------------------------------

@implementation.post("/projects/{code}/progress", status_code=201, summary="Report progress (实施进度)",
                     description="Percentage (never lower than the last report), photos as file references, date. "
                     "Needs money committed to the project (the funds service's commitment).",
                     responses={201: {"model": ProjectOut}})
async def report_progress(body: ProgressIn, request: Request, principal: Writer(*OFFICES), session: Session,
                          code: str = Path()) -> dict[str, Any]:
    clock = request.app.state.clock
    project = await projects.load(session, code, principal, lock=True)
    await _local_offices(principal, project, "report-progress")
    found = await _check_step(session, request, project, "report-progress")
    last = (await session.execute(select(Progress).where(Progress.code == code)
                                  .order_by(Progress.on.desc(), Progress.percent.desc()).limit(1))).scalar_one_or_none()
    on = projects.check_date(body.on, clock.today(), after=last.on if last else None)
    if body.percent < project.progress_percent:
        raise Unprocessable(f"进度不能低于上次报告的{project.progress_percent}% (progress cannot go back)",
                            errors=[{"field": "percent", "reason": f"below the last report's {project.progress_percent}%"}])
    session.add(Progress(id=uuid6.uuid7(), code=code, on=on, percent=body.percent, photos=body.photos, note=body.note))
    project.progress_percent = body.percent
    await projects.record(session, project, found.to_stage, on, NewEvent(found.event, code, {
        "code": code, "percent": body.percent, "on": on.isoformat(), "photos": body.photos, "note": body.note},
        principal.actor()), clock.now())
    await session.flush()
    return await full_record(session, project)


@implementation.post("/projects/{code}/acceptance", status_code=201, summary="Record the acceptance inspection (验收)",
                     description="Date, acceptance team, result and issues found, by the county office, after completion. "
                     "A failed acceptance is recorded and the project stays completed until one passes.",
                     responses={201: {"model": ProjectOut}})
async def record_acceptance(body: AcceptanceIn, request: Request, principal: Writer(Role.county_office),
                            session: Session, code: str = Path()) -> dict[str, Any]:
    clock = request.app.state.clock
    project = await projects.load(session, code, principal, lock=True)
    await _local_offices(principal, project, "accept")
    found = await _check_step(session, request, project, "accept")
    on = projects.check_date(body.on, clock.today(), after=project.completed_on)
    team = [m.model_dump() for m in body.team]
    session.add(Acceptance(id=uuid6.uuid7(), code=code, on=on, team=team, result=body.result, issues=body.issues))
    to = found.to_stage if body.result == "passed" else project.stage
    await projects.record(session, project, to, on, NewEvent(found.event, code, {
        "code": code, "on": on.isoformat(), "team": team, "result": body.result, "issues": body.issues},
        principal.actor()), clock.now())
    await session.flush()
    return await full_record(session, project)


# -- benefits --------------------------------------------------------------------------------------

@implementation.post("/projects/{code}/benefits", status_code=201, summary="Record what beneficiary households received",
                     description="Per household: wages, dividend, subsidy or in kind, amount, date; each is published as "
                     "`projects.benefit.recorded` so the registry shows it on the household (享受扶持情况). Only the "
                     "project's beneficiaries; from the time money is committed.",
                     responses={201: {"model": ProjectOut}})
async def record_benefits(body: BenefitsIn, request: Request, principal: Writer(*OFFICES), session: Session,
                          code: str = Path()) -> dict[str, Any]:
    clock = request.app.state.clock
    project = await projects.load(session, code, principal, lock=True)
    await _local_offices(principal, project)
    projects.require_stage(project, BENEFIT_STAGES)
    beneficiaries = set((await session.execute(select(Beneficiary.household_id).where(Beneficiary.code == code))).scalars())
    problems = [{"field": f"items.{i}.household_id", "reason": "不是本项目的受益户 (not a beneficiary of this project)"}
                for i, item in enumerate(body.items) if item.household_id not in beneficiaries]
    if problems:
        raise Unprocessable("只能为本项目受益户记录收益 (benefits are recorded for the project's beneficiaries)", errors=problems)
    events = []
    for i, item in enumerate(body.items):
        on = projects.check_date(item.on, clock.today(), field=f"items.{i}.on")
        session.add(BenefitRecord(id=uuid6.uuid7(), code=code, household_id=item.household_id, kind=item.kind,
                                  amount_fen=item.amount, on=on))
        events.append(benefit_event(code, item.household_id, item.kind, item.amount, on, principal.actor()))
    await append(session, events)
    await session.flush()
    return await full_record(session, project)


def benefit_event(code: str, household_id: uuid.UUID, kind: str, amount_fen: int, on, actor) -> NewEvent:
    """``projects.benefit.recorded``, version 1 — the contract the registry consumes."""
    return NewEvent(contract.BENEFIT_RECORDED, code, contract.benefit(household_id, code, kind, amount_fen, on), actor)


# -- handover --------------------------------------------------------------------------------------

@implementation.post("/projects/{code}/handover", status_code=201, summary="Hand the project's assets over (资产移交)",
                     description="After the results announcement has closed without objection, the county office records "
                     "each asset: kind (public_good | productive), owner (the village collective, or shares quantified "
                     "to the project's beneficiary households, rule `project.assets.ownership`), the operator responsible "
                     "for keeping its value, book value. A project that forms no asset (training) hands over none.",
                     responses={201: {"model": ProjectOut}})
async def hand_over(body: HandoverIn, request: Request, principal: Writer(Role.county_office), session: Session,
                    code: str = Path()) -> dict[str, Any]:
    clock, policy = request.app.state.clock, request.app.state.policy
    project = await projects.load(session, code, principal, lock=True)
    await _local_offices(principal, project, "hand-over")
    found = await _check_step(session, request, project, "hand-over")
    on = projects.check_date(body.on, clock.today(), after=await projects.last_dated(session, code))
    allowed = projects.rule(policy, "project.assets.ownership", project.division, on).value
    beneficiaries = {str(h) for h in (await session.execute(
        select(Beneficiary.household_id).where(Beneficiary.code == code))).scalars()}
    rows = []
    for i, item in enumerate(body.assets):
        village = item.division or project.division
        if divisions.level(village) != divisions.Level.VILLAGE or not divisions.within(village, project.division):
            raise Unprocessable("资产须落在项目范围内的村 (an asset is in a village within the project's division)",
                                errors=[{"field": f"assets.{i}.division",
                                         "reason": f"{village} is not a village under {project.division}"}])
        try:
            shares = asset_rules.check_ownership(item.kind, item.owner, [
                asset_rules.Share(_holder(s.holder, f"assets.{i}.shares.{j}.holder"), s.shares)
                for j, s in enumerate(item.shares)], beneficiaries, allowed)
        except asset_rules.AssetError as exc:
            raise Unprocessable(exc.reason, errors=[{"field": f"assets.{i}.{exc.field}", "reason": exc.reason}]) from None
        rows.append(Asset(id=f"{code}-A{i + 1}", code=code, division=village, name=item.name, kind=item.kind,
                          owner=item.owner, operator=item.operator.model_dump(), book_value_fen=item.book_value,
                          handed_over_on=on, shares=[{"holder": s.holder, "shares": s.shares,
                                                      "ratio_percent": asset_rules.ratio_percent(s, shares)} for s in shares]))
    session.add_all(rows)
    await projects.record(session, project, found.to_stage, on, NewEvent(found.event, code, {
        "code": code, "division": project.division, "on": on.isoformat(), "assets": [
            {"id": a.id, "division": a.division, "name": a.name, "kind": a.kind, "owner": a.owner, "operator": a.operator,
             "book_value": format_fen(a.book_value_fen), "shares": a.shares} for a in rows]}, principal.actor()),
        clock.now())
    await session.flush()
    return await full_record(session, project)


def _holder(value: str, field: str) -> str:
    if value == asset_rules.COLLECTIVE:
        return value
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise Unprocessable("股东须为 collective 或户ID (a shareholder is 'collective' or a household id)",
                            errors=[{"field": field, "reason": f"{value!r} is neither"}]) from None
