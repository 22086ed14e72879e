"""Publicity through the Announcements module: the notices at each level before a project enters
the library (逐级公示, one notice may list several projects), and the announcement of a project's
results at its site after acceptance (DOMAIN.md §5, §6; seed 004 L33)."""

from __future__ import annotations

from typing import Any

from fastapi import Path, Request
from sqlalchemy import select

from services.projects.usecases import evaluations, projects
from services.projects.api.models import NoticeIn, PublicityIn
from services.projects.api.schemas import ProjectOut, PublicityOut
from services.projects.api.views import beneficiary_totals, full_record
from services.projects.domain import lifecycle
from services.projects.domain.catalogue import TYPES
from services.projects.models import Acceptance, Project
from shared import announcements, divisions
from shared.auth import Role, Writer
from shared.errors import Conflict, NotFound, Unprocessable
from shared.events import NewEvent
from shared.money import format_fen
from shared.web import Session, router

publicity = router(tags=["publicity (项目公示公告)"])

PUBLICITY_SUBJECT = "project_library"
RESULTS_SUBJECT = "project_results"


@publicity.post("/publicity", status_code=201, summary="Post a level's publicity notice of approved projects (逐级公示)",
                description="The village, township or county office posts one notice listing approved projects under "
                "its division (name, place, content, amount, responsible unit — DOMAIN §6). Each level needs the levels "
                "below it passed first; the levels a project needs come from the rule `project.publicity.levels`. "
                "When every level's notice has closed without objection, the county enters the project in the library.",
                responses={201: {"model": PublicityOut}})
async def post_publicity(body: PublicityIn, request: Request,
                         principal: Writer(Role.village, Role.township, Role.county_office),
                         session: Session) -> dict[str, Any]:
    clock, policy = request.app.state.clock, request.app.state.policy
    level = divisions.level(body.division).value
    if level not in lifecycle.LEVELS:
        raise Unprocessable("公示在村、乡镇或县级发布 (a notice is posted by a village, township or county)",
                            errors=[{"field": "division", "reason": f"{body.division} is a {level} code"}])
    projects.require_office(principal, (level,), body.division)
    codes = list(dict.fromkeys(body.codes))
    rows = list((await session.execute(select(Project).where(Project.code.in_(codes)).order_by(Project.code)
                                       .with_for_update())).scalars())
    if missing := set(codes) - {r.code for r in rows}:
        raise NotFound(f"项目不存在 (no project {sorted(missing)[0]})")
    for row in rows:
        if not divisions.within(row.division, body.division):
            raise Unprocessable(f"项目{row.code}不在{body.division}辖区内 (project {row.code} is not under {body.division})",
                                errors=[{"field": "codes", "reason": f"{row.code} outside {body.division}"}])
        try:
            lifecycle.check_publicity(level, await projects.facts(session, row, policy, clock.today()))
        except lifecycle.Refused as exc:
            raise projects.refused(exc, row) from None
    label = lifecycle.LEVEL_LABELS[level]
    table = {"columns": ["项目编号", "项目名称", "项目类型", "地点", "建设内容", "资金规模（元）", "实施单位", "计划带动贫困户"],
             "rows": [[r.code, r.name, TYPES[r.type].label, r.division, "；".join(r.tasks), format_fen(r.budget_fen),
                       r.implementing_unit, str(r.planned_households)] for r in rows]}
    notice = await announcements.announce(
        session, actor=principal.actor(), clock=clock, policy=policy, start=body.period_start, end=body.period_end,
        subject_type=PUBLICITY_SUBJECT, subject_id=f"publicity:{level}:{body.division}:{clock.today().isoformat()}",
        level=level, division=body.division, title=f"扶贫项目库拟入库项目{label}级公示（{len(rows)}个）",
        content={"body": f"以下{len(rows)}个扶贫项目经审定拟纳入项目库，现予{label}级公示，公示期内如有异议，请向{label}级反映。",
                 "table": table},
        people=[], hotline_local=body.hotline_local)
    for row in rows:
        row.announcements = {**row.announcements, level: str(notice.id)}
    await projects.record_many(session, rows, "in_publicity", clock.today(), NewEvent(
        "projects.publicity.posted", str(notice.id),
        {"level": level, "division": body.division, "announcement_id": str(notice.id), "codes": [r.code for r in rows],
         "to": "in_publicity"}, principal.actor()), clock.now())
    return {"announcement_id": str(notice.id), "level": level, "codes": [r.code for r in rows], "stage": "in_publicity"}


@publicity.post("/projects/{code}/results-announcement", status_code=201,
                summary="Announce an accepted project's results at its site (验收结果公告)",
                description="The office of the project's own village (or township) publishes what was built, spent and "
                "achieved; the assets are handed over once this announcement has closed without objection.",
                responses={201: {"model": ProjectOut}})
async def announce_results(body: NoticeIn, request: Request, principal: Writer(Role.village, Role.township),
                           session: Session, code: str = Path()) -> dict[str, Any]:
    clock, policy = request.app.state.clock, request.app.state.policy
    project = await projects.load(session, code, principal, lock=True)
    found = lifecycle.STEPS["announce-results"]
    level = projects.project_level(project)
    projects.require_office(principal, lifecycle.offices(found, level), project.division)
    await projects.check_step(session, project, found.action, policy, clock.today())
    money = await projects.funding(session, code)
    households, persons = (await beneficiary_totals(session, [code])).get(code, (0, 0))
    accepted = (await session.execute(select(Acceptance).where(Acceptance.code == code, Acceptance.result == "passed")
                                      .order_by(Acceptance.on.desc()).limit(1))).scalar_one_or_none()
    if accepted is None:  # the stage says accepted; the row must be there
        raise Conflict("没有通过的验收记录 (no passed acceptance on record)")
    table = {"columns": ["项目名称", "建设内容", "总投资（元）", "已拨付（元）", "带动贫困户", "验收日期", "验收结果",
                         "实施单位"],
             "rows": [[project.name, "；".join(project.tasks), format_fen(project.budget_fen), format_fen(money.paid_fen),
                       f"{households}户{persons}人", accepted.on.isoformat(), "合格", project.implementing_unit]]}
    sentence, evaluation = await evaluations.announced_part(session, code)
    notice = await announcements.announce(
        session, actor=principal.actor(), clock=clock, policy=policy, start=body.period_start, end=body.period_end,
        subject_type=RESULTS_SUBJECT, subject_id=f"results:{code}", level=level, division=project.division,
        title=f"{project.name}项目验收结果公告",
        content={"body": f"{project.name}已竣工验收，现将项目实施结果公告如下。{sentence}",
                 "table": table, "project": code,
                 **({"evaluation": evaluation} if evaluation else {})},
        people=[], hotline_local=body.hotline_local)
    project.announcements = {**project.announcements, "results": str(notice.id)}
    await projects.record(session, project, found.to_stage, clock.today(), NewEvent(found.event, code, {
        "code": code, "division": project.division, "announcement_id": str(notice.id), "on": clock.today().isoformat(),
        **money.as_dict()}, principal.actor()), clock.now())
    await session.flush()
    return await full_record(session, project)
