"""The fourth-quarter adjustment of the library (项目库年度调整, DOMAIN.md §5): a batch of
additions, removals and changes announced once by the county, applied once that announcement has
passed. A removal is a cancellation (``projects.project.cancelled``): money committed to it
becomes stranded funds in the funds service."""

from __future__ import annotations

from typing import Any

from fastapi import Path, Request
from pydantic import ValidationError
from sqlalchemy import select

from services.projects import contract
from services.projects.usecases import projects
from services.projects.api.models import AdjustmentIn, Plan
from services.projects.api.projects import plan_problems
from services.projects.api.schemas import AdjustmentAppliedOut, AdjustmentOut
from services.projects.domain import adjustment, lifecycle
from services.projects.models import Adjustment, Project
from shared import announcements, divisions
from shared.auth import Role, Writer
from shared.errors import Conflict, NotFound, Unprocessable
from shared.events import NewEvent, append
from shared.money import format_fen
from shared.web import Session, router

adjustments = router(tags=["annual adjustment (项目库年度调整)"])

SUBJECT = "project_library_adjustment"


def _plan_of(project: Project) -> dict[str, Any]:
    return {"name": project.name, "implementing_unit": project.implementing_unit, "schedule": project.schedule,
            "tasks": project.tasks, "budget": format_fen(project.budget_fen), "year": project.year,
            "sources": [{"channel": s["channel"], "amount": format_fen(s["amount_fen"])} for s in project.sources],
            "targets": project.targets}


def _changed_plan(project: Project, changes: dict[str, Any], index: int, min_targets: int) -> Plan:
    """The project's plan with the changes applied, validated like a proposal (field-level 422);
    the project is in the library, so it keeps its performance targets (绩效目标)."""
    unknown = sorted(set(changes) - set(adjustment.CHANGEABLE))
    if unknown:
        raise Unprocessable(f"不能变更字段{unknown} (these fields cannot be changed)",
                            errors=[{"field": f"items.{index}.changes.{k}", "reason": "not changeable"} for k in unknown])
    try:
        plan = Plan.model_validate({**_plan_of(project), **changes})
    except ValidationError as exc:
        raise Unprocessable("变更内容无效 (invalid changes)", errors=[
            {"field": f"items.{index}.changes." + ".".join(map(str, e["loc"])),
             "reason": e["msg"]} for e in exc.errors()]) from None
    problems = plan_problems(plan, plan.budget)
    if len(plan.targets) < min_targets:
        problems.append({"field": "targets",
                         "reason": f"入库项目须有绩效目标，至少{min_targets}项 "
                                   f"(a project in the library keeps at least {min_targets} performance targets)"})
    if problems:
        raise Unprocessable("变更后的计划不一致 (the changed plan is inconsistent)",
                            errors=[{**p, "field": f"items.{index}.changes.{p['field']}"} for p in problems])
    return plan


def _lower_levels_passed(facts: lifecycle.Facts) -> bool:
    return all(facts.publicity.get(level) == "passed" for level in facts.required_levels if level != "county")


async def _checked(session, request: Request, items: list[dict[str, Any]],
                   county: str) -> list[tuple[Project, Plan | None]]:
    """The items' projects, locked, each within the county and in a stage its item allows (409
    otherwise), with the validated plan of each change."""
    today, policy = request.app.state.clock.today(), request.app.state.policy
    codes = [item["code"] for item in items]
    rows = {r.code: r for r in (await session.execute(select(Project).where(Project.code.in_(codes))
                                                      .order_by(Project.code).with_for_update())).scalars()}
    found = []
    for index, item in enumerate(items):
        project = rows.get(item["code"])
        if project is None:
            raise NotFound(f"项目不存在 (no project {item['code']})")
        if not divisions.within(project.division, county):
            raise Unprocessable(f"项目{project.code}不在{county}辖区内", errors=[
                {"field": f"items.{index}.code", "reason": f"{project.code} is outside {county}"}])
        facts = await projects.facts(session, project, policy, today)
        if (missing := adjustment.check_item(item["action"], project.stage, _lower_levels_passed(facts))) is not None:
            raise projects.refused(lifecycle.Refused(None, [missing]), project)
        plan = _changed_plan(project, item["changes"], index, facts.min_targets) if item["action"] == "change" else None
        found.append((project, plan))
    return found


@adjustments.post("/adjustments", status_code=201, summary="Announce the annual adjustment of the library (第四季度调整)",
                  description="The county office lists additions (approved projects whose lower-level publicity passed; "
                  "this announcement is their county one), removals (出库, with a reason) and changes, in one county "
                  "announcement, in the quarter the rule `project.library.adjustment` names (the fourth). Apply it once "
                  "it has passed.",
                  responses={201: {"model": AdjustmentOut}})
async def announce_adjustment(body: AdjustmentIn, request: Request,
                              principal: Writer(Role.county_office),
                              session: Session) -> dict[str, Any]:
    clock, policy = request.app.state.clock, request.app.state.policy
    if divisions.level(body.county) != divisions.Level.COUNTY:
        raise Unprocessable("项目库调整由县公告 (the adjustment is announced by a county)",
                            errors=[{"field": "county", "reason": "not a county code"}])
    projects.require_office(principal, ("county",), body.county)
    window = projects.rule(policy, "project.library.adjustment", body.county, clock.today())
    if (missing := adjustment.check_window(clock.today(), window.value, window.citation)) is not None:
        raise Conflict(f"{missing.label}：{missing.detail}", slug="precondition-missing", missing=[missing.as_dict()],
                       rule=window.id, citation=window.citation)
    if len({item.code for item in body.items}) != len(body.items):
        raise Unprocessable("同一项目只能列一次 (a project is listed once)",
                            errors=[{"field": "items", "reason": "duplicate code"}])
    items = [item.model_dump(mode="json") for item in body.items]
    listed = [project for project, _ in await _checked(session, request, items, body.county)]
    table = {"columns": ["类别", "项目编号", "项目名称", "资金规模（元）", "说明"],
             "rows": [[adjustment.ACTIONS[item["action"]], p.code, p.name, format_fen(p.budget_fen),
                       item["reason"] or ("、".join(item["changes"]) if item["changes"] else "")]
                      for item, p in zip(items, listed)]}
    notice = await announcements.announce(
        session, actor=principal.actor(), clock=clock, policy=policy, start=body.period_start, end=body.period_end,
        subject_type=SUBJECT, subject_id=f"{body.county}:{body.year}", level="county", division=body.county,
        title=f"{body.year}年度扶贫项目库调整公告（新增{sum(i['action'] == 'add' for i in items)}个，"
              f"出库{sum(i['action'] == 'remove' for i in items)}个，调整{sum(i['action'] == 'change' for i in items)}个）",
        content={"body": "根据项目库每年第四季度调整的要求，现将本年度项目库调整情况公告如下。", "table": table},
        people=[], hotline_local=body.hotline_local)
    session.add(Adjustment(announcement_id=notice.id, county=body.county, year=body.year, items=items))
    await append(session, [NewEvent("projects.adjustment.announced", str(notice.id), {
        "county": body.county, "year": body.year, "announcement_id": str(notice.id), "items": items}, principal.actor())])
    return {"announcement_id": str(notice.id), "items": items}


@adjustments.post("/adjustments/{announcement_id}/apply", summary="Apply a passed library adjustment",
                  description="Additions enter the library (`projects.project.entered_library`), removals are cancelled "
                  "(`projects.project.cancelled`), changes are written (`projects.project.changed`). Once.",
                  responses={200: {"model": AdjustmentAppliedOut}})
async def apply_adjustment(request: Request, principal: Writer(Role.county_office), session: Session,
                           announcement_id: str = Path()) -> dict[str, Any]:
    clock = request.app.state.clock
    notice = await announcements.require_passed(session, announcement_id, subject_type=SUBJECT)
    row = (await session.execute(select(Adjustment).where(Adjustment.announcement_id == notice.id)
                                 .with_for_update())).scalar_one_or_none()
    if row is None:
        raise NotFound(f"调整不存在 (no adjustment {announcement_id})")
    projects.require_office(principal, ("county",), row.county)
    if row.applied_on is not None:
        raise Conflict(f"调整已于{row.applied_on}执行 (the adjustment was applied on {row.applied_on})")
    checked = await _checked(session, request, row.items, row.county)
    listed = [project for project, _ in checked]
    today, now, actor = clock.today(), clock.now(), principal.actor()
    for item, (project, plan) in zip(row.items, checked):
        code = project.code
        if item["action"] == "add":
            project.announcements = {**project.announcements, "county": announcement_id}
            await projects.record(session, project, "in_library", today, NewEvent(
                contract.ENTERED_LIBRARY, code, contract.entered_library(project), actor), now)
        elif item["action"] == "remove":
            project.cancel_reason = item["reason"]
            await projects.record(session, project, "cancelled", today, NewEvent(
                contract.CANCELLED, code, contract.cancelled(code, project.division, item["reason"]), actor), now)
        else:
            project.name, project.implementing_unit, project.year = plan.name, plan.implementing_unit, plan.year
            project.schedule, project.tasks = plan.schedule.model_dump(mode="json"), plan.tasks
            project.budget_fen = plan.budget
            project.sources = [{"channel": s.channel, "amount_fen": s.amount} for s in plan.sources]
            project.targets = [t.model_dump() for t in plan.targets]
            await projects.record(session, project, project.stage, today, NewEvent(
                "projects.project.changed", code, {"code": code, "changes": item["changes"],
                                                   "adjustment": announcement_id}, actor), now)
    row.applied_on = today
    await append(session, [NewEvent("projects.adjustment.applied", announcement_id, {
        "county": row.county, "year": row.year, "announcement_id": announcement_id,
        "codes": [p.code for p in listed]}, actor)])
    return {"announcement_id": announcement_id, "applied_on": today.isoformat(),
            "stages": {p.code: p.stage for p in listed}}
