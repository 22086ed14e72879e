"""The library: proposals, the lifecycle's decisions, queries and figures.

Each decision is taken by the office its step names (``services.projects.domain.lifecycle``)
whose jurisdiction covers the project, and writes the project's new stage with its event in one
transaction; a refusal names every missing precondition and writes nothing.
"""

from __future__ import annotations

from typing import Any

from fastapi import Path, Query, Request
from sqlalchemy import func, select, text

from services.funds.contract import CHANNELS
from services.projects import contract
from services.projects.api import exports
from services.projects.usecases import projects
from services.projects.api.models import ProposeIn, StepIn, TargetsIn
from services.projects.api.results_schemas import FiguresOut
from services.projects.api.schemas import ProjectOut, ProjectPage
from services.projects.api.views import beneficiary_totals, full_record, fundings, summary
from services.projects.domain import lifecycle, proposal
from services.projects.domain.catalogue import TYPES
from services.projects.handlers import mark_funded
from services.projects.models import Beneficiary, FundingPosting, Project, StageChange
from shared import divisions
from shared.auth import Reader, Role, Writer, query_scope
from shared.divisions import DivisionCode
from shared.errors import Unprocessable
from shared.events import NewEvent
from shared.money import format_fen
from shared.web import Paging, Session, router
from shared.web.export import exportable
from shared.fields import Year, visible_length

library = router(tags=["project library (扶贫项目库)"])

READERS = (Role.village, Role.township, Role.county_office, Role.city_office, Role.province_office,
           Role.county_finance, Role.city_finance, Role.province_finance)


def plan_problems(body, budget_fen: int) -> list[dict[str, str]]:
    return proposal.problems(budget_fen=budget_fen,
                             sources=[{"channel": s.channel, "amount_fen": s.amount} for s in body.sources],
                             start=body.schedule.start, end=body.schedule.end, channels=frozenset(CHANNELS))


@library.post("/projects", status_code=201, summary="Propose a project (村申报)",
              description="A village proposes a project for its village (a township for a township-wide one), after "
              "the villagers' discussion: type from the catalogue, implementing unit, schedule, tasks, budget with its "
              "planned sources by channel (they must add up to the budget), benefit-linking mechanisms, public "
              "participation and performance targets (绩效目标, required before approval). The code is generated.",
              responses={201: {"model": ProjectOut}})
async def propose(body: ProposeIn, request: Request, principal: Writer(Role.village, Role.township),
                  session: Session) -> dict[str, Any]:
    clock = request.app.state.clock
    level = divisions.level(body.division).value
    if level not in ("village", "township"):
        raise Unprocessable("项目须位于村或乡镇 (a project is located in a village or a township)",
                            errors=[{"field": "division", "reason": f"{body.division} is a {level} code"}])
    projects.require_office(principal, (level,), body.division)
    problems = plan_problems(body, body.budget)
    if body.participation.discussed_on > clock.today():
        problems.append({"field": "participation.discussed_on", "reason": "在未来 (in the future)"})
    if problems:
        raise Unprocessable("项目申报信息不一致：" + "；".join(p["reason"] for p in problems), errors=problems)
    code = await _next_code(session, body.division[:6], body.year)
    now = clock.now()
    project = Project(
        code=code, name=body.name, type=body.type, division=body.division, year=body.year, stage="proposed",
        implementing_unit=body.implementing_unit, schedule=body.schedule.model_dump(mode="json"), tasks=body.tasks,
        budget_fen=body.budget, sources=[{"channel": s.channel, "amount_fen": s.amount} for s in body.sources],
        mechanisms=list(body.mechanisms), mechanism_note=body.mechanism_note,
        participation=body.participation.model_dump(mode="json"),
        targets=[t.model_dump() for t in body.targets], planned_households=body.planned_households,
        planned_persons=body.planned_persons, announcements={}, created_at=now, updated_at=now)
    session.add(project)
    await session.flush()
    stored = await projects.record(session, project, "proposed", clock.today(), NewEvent(
        "projects.project.proposed", code, {"code": code, **body.model_dump(mode="json")}, principal.actor()), now)
    # the first stage's history row (record() writes one on a change of stage)
    session.add(StageChange(code=code, seq=stored["seq"], stage="proposed", effective_on=clock.today()))
    await session.flush()
    return await full_record(session, project)


async def _next_code(session, county: str, year: int) -> str:
    """The county's next project code of the year (652722-2018-0001), under a per-county lock."""
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('project-code:' || :county))"), {"county": county})
    last = await session.scalar(select(func.max(Project.code)).where(Project.code.like(f"{county}-{year}-____")))
    return f"{county}-{year}-{(int(last[-4:]) if last else 0) + 1:04d}"


@library.put("/projects/{code}/targets", summary="Set the performance targets (绩效目标)",
             description="Replaces the project's performance targets; allowed until it is approved. The site's "
             "office or the county office.",
             responses={200: {"model": ProjectOut}})
async def set_targets(body: TargetsIn, request: Request,
                      principal: Writer(Role.village, Role.township, Role.county_office), session: Session,
                      code: str = Path()) -> dict[str, Any]:
    project = await projects.load(session, code, principal, lock=True)
    projects.require_office(principal, (projects.project_level(project), "county"), project.division)
    projects.require_stage(project, ("proposed", "township_reviewed", "appraised"))
    project.targets = [t.model_dump() for t in body.targets]
    await projects.record(session, project, project.stage, request.app.state.clock.today(), NewEvent(
        "projects.project.targets_set", code, {"code": code, "targets": project.targets}, principal.actor()),
        request.app.state.clock.now())
    return await full_record(session, project)


@library.post("/projects/{code}/steps/{action}", summary="Take a step of the lifecycle",
              description="Actions: " + ", ".join(
                  f"`{a}` ({lifecycle.STEPS[a].label}; {'/'.join(lifecycle.STEPS[a].levels)})" for a in lifecycle.SIMPLE_STEPS)
              + ". `decision: reject` (with a reason) refuses a review, appraisal or approval; `cancel` (county, any "
              "stage before acceptance) and `withdraw` (the proposing office, before appraisal) need a reason and emit "
              "`projects.project.cancelled`, upon which the funds service strands the undisbursed commitment. "
              "`plan` takes `year`. A refusal (409) lists every missing precondition under `missing`.",
              responses={200: {"model": ProjectOut}})
async def take_step(body: StepIn, request: Request, principal: Writer(Role.village, Role.township, Role.county_office),
                    session: Session, code: str = Path(),
                    action: str = Path(description="one of the actions listed above")) -> dict[str, Any]:
    clock, policy = request.app.state.clock, request.app.state.policy
    if action not in lifecycle.SIMPLE_STEPS:
        raise Unprocessable(f"未知操作 (unknown action {action!r}; one of {', '.join(lifecycle.SIMPLE_STEPS)})",
                            errors=[{"field": "action", "reason": "unknown"}])
    project = await projects.load(session, code, principal, lock=True)
    found = lifecycle.STEPS[action]
    projects.require_office(principal, lifecycle.offices(found, projects.project_level(project)), project.division)
    approve = body.decision == "approve"
    ending = action in ("cancel", "withdraw") or not approve
    if ending and visible_length(body.reason) < 2:
        raise Unprocessable("须说明理由 (a refusal or cancellation needs a reason)",
                            errors=[{"field": "reason", "reason": "required"}])
    await projects.check_step(session, project, action, policy, clock.today(), approve=approve)
    on = projects.check_date(body.on, clock.today(), after=await projects.last_dated(session, code))
    to = lifecycle.next_stage(found, approve)
    if found.event == contract.CANCELLED:
        event_type, data = found.event, contract.cancelled(code, project.division, body.reason)
        project.cancel_reason = body.reason
    elif found.event == contract.ENTERED_LIBRARY:
        event_type, data = found.event, contract.entered_library(project)
    else:
        event_type = found.event if approve else "projects.project.rejected"
        data = {"code": code, "division": project.division, "action": action, "decision": body.decision,
                "reason": body.reason, "on": on.isoformat(), "from": project.stage, "to": to}
        if action == "plan":
            project.year = data["year"] = body.year or project.year
        if action == "complete":
            project.completed_on = on
    await projects.record(session, project, to, on, NewEvent(event_type, code, data, principal.actor()), clock.now())
    if action == "plan":
        await session.flush()
        await mark_funded(session, project, on, clock.now())  # money may have been committed while in the library
    await session.flush()
    return await full_record(session, project)


@library.get("/projects", summary="The library by division, type, stage and year", responses={200: {"model": ProjectPage}},
             description="Projects under your jurisdiction (or under `division`), cursor-paginated by code, each with "
             "its funding (committed, paid, stranded, remaining) and beneficiaries driven.")
@exportable(exports.PROJECTS)
async def search(principal: Reader(*READERS), params: Paging, session: Session, division: DivisionCode | None = None,
                 type: str | None = Query(None, description="catalogue code"), stage: str | None = None,
                 year: Year | None = None) -> dict[str, Any]:
    scope = query_scope(principal, division)
    query = select(Project).where(Project.division.startswith(divisions.prefix(scope)))
    for column, value in ((Project.type, type), (Project.stage, stage), (Project.year, year)):
        if value is not None:
            query = query.where(column == value)
    if params.cursor:
        query = query.where(Project.code > params.after(str))
    rows = list((await session.execute(query.order_by(Project.code).limit(params.limit + 1))).scalars())
    page = params.page(rows, key_of=lambda r: [r.code])
    codes = [p.code for p in page.items]
    money, people = await fundings(session, codes), await beneficiary_totals(session, codes)
    return {"items": [summary(p, money[p.code], *people.get(p.code, (0, 0))) for p in page.items],
            "next_cursor": page.next_cursor}


@library.get("/projects/{code}", summary="A project's full record", responses={200: {"model": ProjectOut}},
             description="Plan, stage history, funding progress with the postings, beneficiaries and what they "
             "received, announcements, progress reports, acceptance, assets and their income distributions.")
async def read(principal: Reader(*READERS), session: Session, code: str = Path()) -> dict[str, Any]:
    return await full_record(session, await projects.load(session, code, principal))


@library.get("/figures", summary="Figures by type and stage (项目统计)",
             description="For a division (default: yours) and optionally a year: projects, budget, poor households "
             "and persons driven, committed and paid, by type and by stage. As a spreadsheet (`?format=csv|xlsx`): "
             "one row per type, per stage, and the total.",
             responses={200: {"model": FiguresOut}})
@exportable(exports.FIGURES)
async def figures(principal: Reader(*READERS), session: Session, division: DivisionCode | None = None,
                  year: Year | None = None) -> dict[str, Any]:
    scope = query_scope(principal, division)
    where = [Project.division.startswith(divisions.prefix(scope))]
    if year is not None:
        where.append(Project.year == year)
    people = (select(Beneficiary.code, func.count().label("households"), func.sum(Beneficiary.persons).label("persons"))
              .group_by(Beneficiary.code).subquery())
    money = (select(FundingPosting.code,
                    func.sum(FundingPosting.amount_fen).filter(FundingPosting.operation == "commit").label("committed"),
                    func.sum(FundingPosting.amount_fen).filter(FundingPosting.operation == "disburse").label("paid"),
                    func.sum(FundingPosting.amount_fen).filter(FundingPosting.operation == "strand").label("stranded"))
             .group_by(FundingPosting.code).subquery())
    rows = (await session.execute(
        select(Project.type, Project.stage, func.count(), func.sum(Project.budget_fen),
               func.coalesce(func.sum(people.c.households), 0), func.coalesce(func.sum(people.c.persons), 0),
               func.coalesce(func.sum(money.c.committed), 0), func.coalesce(func.sum(money.c.paid), 0),
               func.coalesce(func.sum(money.c.stranded), 0))
        .join(people, people.c.code == Project.code, isouter=True).join(money, money.c.code == Project.code, isouter=True)
        .where(*where).group_by(Project.type, Project.stage))).all()

    measures = ("projects", "budget", "households", "persons", "committed", "paid", "stranded")

    def add(bucket: dict, row) -> None:
        for key, value in zip(measures, row[2:]):
            bucket[key] = bucket.get(key, 0) + int(value or 0)

    by_type: dict[str, dict] = {}
    by_stage: dict[str, dict] = {}
    total: dict[str, int] = dict.fromkeys(measures, 0)  # zeros, not an empty total, when there is no project
    for row in rows:
        add(by_type.setdefault(row[0], {}), row)
        add(by_stage.setdefault(row[1], {}), row)
        add(total, row)

    def shown(bucket: dict) -> dict:
        return {k: format_fen(v) if k in ("budget", "committed", "paid", "stranded") else v for k, v in bucket.items()}

    return {"division": scope, "year": year, "total": shown(total),
            "by_type": {t: {"label": TYPES[t].label, **shown(b)} for t, b in sorted(by_type.items())},
            "by_stage": {s: {"label": lifecycle.STAGES[s], **shown(b)} for s, b in by_stage.items()}}
