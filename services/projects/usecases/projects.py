"""Loading and recording projects: the I/O around the pure lifecycle, shared by the API and the
event handlers. Each stage change is written with the event that explains it and a row of the
stage history, in the caller's transaction (rule 2)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select

from services.projects.domain import lifecycle
from services.projects.domain.funding import Funding, funding_of
from services.projects.models import FundingPosting, Progress, Project, StageChange
from shared import divisions
from shared.announcements.models import Announcement
from shared.auth import Principal, Role, ensure_jurisdiction
from shared.errors import Conflict, Forbidden, NotFound, Unprocessable
from shared.events import NewEvent, append
from shared.policy import NoRuleError, PolicyTable

#: The office (role) of each level.
LEVEL_ROLE = {"village": Role.village, "township": Role.township, "county": Role.county_office}


def rule(policy: PolicyTable, rule_id: str, division: str, on: date):
    """A policy rule in force, or a 422 naming the missing rule (e.g. a date before it took effect)."""
    try:
        return policy.lookup(rule_id, division, on)
    except NoRuleError as exc:
        raise Unprocessable(f"没有适用的政策规则{rule_id} (no rule {rule_id} applies: {exc})",
                            errors=[{"field": "on", "reason": f"no rule {rule_id} in force"}], rule=rule_id) from None


async def load(session, code: str, principal: Principal | None = None, *, lock: bool = False) -> Project:
    query = select(Project).where(Project.code == code)
    row = (await session.execute(query.with_for_update() if lock else query)).scalar_one_or_none()
    if row is None:
        raise NotFound(f"项目不存在 (no project {code})")
    if principal is not None:
        ensure_jurisdiction(principal, row.division)
    return row


def project_level(project: Project) -> str:
    return divisions.level(project.division).value


def require_office(principal: Principal, levels: tuple[str, ...], division: str) -> None:
    """The caller is the office of one of ``levels`` (an admin passes) and covers ``division``."""
    roles = {LEVEL_ROLE[level].value for level in levels if level in LEVEL_ROLE}
    if Role.admin not in principal.roles and not principal.has_any(roles):
        labels = "、".join(lifecycle.LEVEL_LABELS.get(level, level) for level in levels)
        raise Forbidden(f"此步骤由{labels}级办理 (this step is taken by the {' or '.join(sorted(roles))} office)")
    ensure_jurisdiction(principal, division)


def refused(exc: lifecycle.Refused, project: Project) -> Conflict:
    """The problem (409) for a refused step: every missing precondition, named."""
    return Conflict(str(exc), slug="precondition-missing",
                    missing=[m.as_dict() for m in exc.missing],
                    project={"code": project.code, "stage": project.stage,
                             "stage_label": lifecycle.STAGES.get(project.stage, project.stage)})


def require_stage(project: Project, allowed: tuple[str, ...]) -> None:
    """A 409 naming the stages ``allowed`` unless the project is in one of them."""
    if (missing := lifecycle.stage_missing(allowed, project.stage)) is not None:
        raise refused(lifecycle.Refused(None, [missing]), project)


async def check_step(session, project: Project, action: str, policy: PolicyTable, today: date, *,
                     approve: bool = True) -> lifecycle.Step:
    """The lifecycle step ``action`` if this project's facts allow it now, else the 409 naming
    every missing precondition."""
    try:
        return lifecycle.check(action, await facts(session, project, policy, today), approve=approve)
    except lifecycle.Refused as exc:
        raise refused(exc, project) from None


async def last_dated(session, code: str) -> date | None:
    """The latest business date on a project's record (a stage change or a progress report): a
    later step may not be dated before it."""
    stages = select(func.max(StageChange.effective_on)).where(StageChange.code == code).scalar_subquery()
    reports = select(func.max(Progress.on)).where(Progress.code == code).scalar_subquery()
    return await session.scalar(select(func.greatest(stages, reports)))


def check_date(on: date | None, today: date, *, after: date | None = None, field: str = "on") -> date:
    """A business date: not in the future, not before ``after``; default today."""
    if on is None:
        return today
    if on > today or (after is not None and on < after):
        raise Unprocessable(
            f"日期须在{after or '…'}与{today}之间 (the date must be between {after or 'the start'} and today)",
            errors=[{"field": field, "reason": f"between {after or '-'} and {today}"}])
    return on


async def record(session, project: Project, stage: str, on: date, event: NewEvent, now: datetime) -> dict[str, Any]:
    """Append ``event`` and move the project to ``stage`` (history row keyed by the event's seq)."""
    return await record_many(session, [project], stage, on, event, now)


async def record_many(session, projects: list[Project], stage: str, on: date, event: NewEvent,
                      now: datetime) -> dict[str, Any]:
    """One event for a batch (a notice listing several projects): each project not yet at
    ``stage`` moves there, with a history row keyed by the event's seq."""
    [stored] = await append(session, [event])
    for project in projects:
        if stage != project.stage:
            project.stage = stage
            session.add(StageChange(code=project.code, seq=stored["seq"], stage=stage, effective_on=on))
        project.updated_at = now
    return stored


async def funding(session, code: str) -> Funding:
    rows = (await session.execute(select(FundingPosting.operation, FundingPosting.amount_fen)
                                  .where(FundingPosting.code == code))).mappings().all()
    return funding_of(rows)


async def announcement_states(session, ids: dict[str, str]) -> dict[str, str]:
    """key → passed | failed | published | withdrawn | draft for the announcements a project names."""
    if not ids:
        return {}
    rows = (await session.execute(select(Announcement.id, Announcement.status, Announcement.outcome)
                                  .where(Announcement.id.in_([uuid.UUID(v) for v in ids.values()])))).all()
    state = {str(r.id): (r.outcome if r.status == "closed" else r.status) for r in rows}
    return {key: state.get(value, "draft") for key, value in ids.items()}


def required_levels(policy: PolicyTable, project: Project, on: date) -> tuple[str, ...]:
    configured = rule(policy, "project.publicity.levels", project.division, on).value["levels"]
    return lifecycle.publicity_levels(project_level(project), configured)


async def facts(session, project: Project, policy: PolicyTable, today: date) -> lifecycle.Facts:
    """What the lifecycle's preconditions look at, for this project now."""
    states = await announcement_states(session, project.announcements)
    money = await funding(session, project.code)
    min_targets = rule(policy, "project.approval.performance_targets", project.division, today).value["min_targets"]
    return lifecycle.Facts(
        stage=project.stage, targets=len(project.targets), min_targets=int(min_targets),
        required_levels=required_levels(policy, project, today),
        publicity={level: states[level] for level in lifecycle.LEVELS if level in states},
        committed_fen=money.active_fen, progress_percent=project.progress_percent,
        results_notice=states.get("results"))
