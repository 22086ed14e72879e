"""Households and persons: proposal, the identification and exit procedures, members, helper,
income and the queries — the use cases behind ``api/households.py`` (and the assistance use cases'
loading and status history).

Each step is taken by the office of its level whose jurisdiction covers the household's village;
each writes the household's new state, its status history and its event in the caller's session
(one unit of work). The rules are the domain's: the procedure is ``domain/workflow.py``, the exit
standard ``domain/exit.py``, what a department may read ``domain/departments.py``; the county's
quota (规模控制, seed 004 L15) is a policy rule.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, Literal

import uuid6
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from services.registry.contract import HOUSEHOLD_PROPOSED, HOUSEHOLDS_NOTICED, MEMBER_ADDED, MEMBER_LEFT, decision_event
from services.registry.domain import workflow
from services.registry.domain.codes import HEALTH, INCOME_COMPONENT, LEAVE_REASON, VOCABULARIES
from services.registry.domain.departments import household_for, person_for
from services.registry.domain.exit import check_exit, post_exit_policies_continue
from services.registry.models import Household, Income, Person, StatusChange
from services.registry.usecases import duplicates
from shared import announcements, divisions
from shared.auth import Principal, Role, ensure_jurisdiction, query_scope
from shared.divisions import DivisionCode
from shared.errors import Conflict, Forbidden, NotFound, Unprocessable
from shared.events import NewEvent, append
from shared.fields import Name, visible_length
from shared.idcard import IdNumber, mask, parse as parse_id
from shared.money import Yuan, format_fen
from shared.web import PageParams

LEVEL_ROLE = {"village": Role.village, "township": Role.township, "county": Role.county_office}
CAUSES = VOCABULARIES["cause"].codes


# -- commands (the routers take them as request bodies) ---------------------------------------------

class Member(BaseModel):
    id_number: IdNumber
    name: Name = Field(max_length=50)
    relation: Literal[VOCABULARIES["relation"].codes]  # type: ignore[valid-type]
    ethnicity: str | None = Field(None, max_length=20)
    education: str | None = Field(None, max_length=30)
    school_stage: str | None = Field(None, max_length=30)
    health: Literal[HEALTH.codes] | None = None  # type: ignore[valid-type]
    disability_grade: int | None = Field(None, ge=1, le=4)
    labour_capacity: Literal[VOCABULARIES["labour_capacity"].codes]  # type: ignore[valid-type]
    labour_skill: str | None = Field(None, max_length=50)
    details: dict[str, Any] = Field(default_factory=dict, description="employment, insurance, 低保/特困 …")


class IncomeIn(BaseModel):
    year: int = Field(ge=2010, le=2100)
    net_per_capita: Yuan = Field(description="人均纯收入, yuan")
    disposable_per_capita: Yuan | None = Field(None, description="人均可支配收入, yuan")
    components: dict[Literal[INCOME_COMPONENT.codes], Yuan] = Field(default_factory=dict)  # type: ignore[valid-type]


class Helper(BaseModel):
    name: Name = Field(max_length=50)
    unit: Name = Field(max_length=100)
    phone: str | None = Field(None, pattern=r"^[0-9+\- ]{5,20}$")


class ProposeIn(BaseModel):
    division: DivisionCode = Field(description="the village (12-digit code)")
    number: str | None = Field(None, pattern=r"^[0-9A-Za-z-]{4,40}$", description="户编号; generated when absent")
    poverty_attribute: Literal[VOCABULARIES["poverty_attribute"].codes]  # type: ignore[valid-type]
    main_cause: Literal[CAUSES]  # type: ignore[valid-type]
    secondary_cause: Literal[CAUSES] | None = None  # type: ignore[valid-type]
    members: list[Member] = Field(min_length=1, max_length=30)
    helper: Helper | None = None
    checks: dict[str, bool] = Field(default_factory=dict, description="两不愁三保障 (and 四具有) check codes")
    housing: dict[str, Any] = Field(default_factory=dict)
    relocation_status: str | None = None
    flags: list[str] = Field(default_factory=list)
    income: IncomeIn | None = None

    @model_validator(mode="after")
    def _one_head_and_distinct_members(self):
        heads = [m for m in self.members if m.relation == "head"]
        if len(heads) != 1:
            raise ValueError(f"每户须有且只有一名户主 (a household needs exactly one head; found {len(heads)})")
        numbers = [m.id_number for m in self.members]
        if len(set(numbers)) != len(numbers):
            raise ValueError("同一人不能在一户中出现两次 (the same person is listed twice)")
        return self


class DecisionIn(BaseModel):
    decision: Literal["approve", "reject"] = "approve"
    reason: str = Field("", max_length=1000)
    on: date | None = Field(None, description="the date of the decision (default: today)")
    income: IncomeIn | None = Field(None, description="exit-nominate: the survey's income figures")
    checks: dict[str, bool] | None = Field(None, description="exit-nominate: the survey's 两不愁三保障 results")

    @model_validator(mode="after")
    def _reason_for_refusal(self):
        if self.decision == "reject" and visible_length(self.reason) < 2:
            raise ValueError("否决须说明理由 (a refusal needs a reason)")
        return self


class NoticeIn(BaseModel):
    key: Literal[tuple(workflow.NOTICES)]  # type: ignore[valid-type]
    division: DivisionCode = Field(description="where it is posted: a village, township or county, per the notice")
    household_ids: list[uuid.UUID] = Field(min_length=1, max_length=5000)
    period_start: date
    period_end: date
    hotline_local: Name = Field(min_length=3, max_length=40)



class MemberLeaves(BaseModel):
    reason: Literal[LEAVE_REASON.codes]  # type: ignore[valid-type]
    on: date | None = None
    note: str = Field("", max_length=500)



# -- loading, views and status history (also used by the assistance use cases) ---------------------

def _require_level(principal: Principal, level: str, division: str) -> None:
    role = LEVEL_ROLE[level]
    if Role.admin not in principal.roles and role not in principal.roles:
        raise Forbidden(f"此步骤由{ {'village': '村', 'township': '乡镇', 'county': '县'}[level] }办理 "
                        f"(this step is taken by the {role.value} office)")
    ensure_jurisdiction(principal, division)


async def load(session, household_id: uuid.UUID | str, principal: Principal, *, lock: bool = False) -> Household:
    query = select(Household).where(Household.id == uuid.UUID(str(household_id)))
    row = (await session.execute(query.with_for_update() if lock else query)).scalar_one_or_none()
    if row is None:
        raise NotFound(f"户不存在 (no household {household_id})")
    ensure_jurisdiction(principal, row.division)
    return row


async def members_of(session, household_id: uuid.UUID) -> list[Person]:
    return list((await session.execute(
        select(Person).where(Person.household_id == household_id).order_by(Person.relation != "head", Person.name)
    )).scalars())


async def record_status(session, rows: list[Household], status: str, on: date, event: NewEvent, clock) -> dict:
    """Move households to ``status`` with the event that explains it and their status history."""
    [stored] = await append(session, [event])
    for row in rows:
        row.status, row.updated_at = status, clock.now()
        session.add(StatusChange(household_id=row.id, seq=stored["seq"], status=status, effective_on=on))
    return stored


def department_of(principal: Principal) -> str | None:
    """The department whose fields alone the caller reads; None for every other reader."""
    if Role.department in principal.roles and Role.admin not in principal.roles:
        return principal.dept
    return None


def household_view(row: Household, members: list[Person], incomes: list[Income] | None = None, *,
                   viewer: Principal) -> dict[str, Any]:
    """The household as ``viewer`` may read it: a department sees the basic person fields and its own
    department's only (domain/departments.py)."""
    return household_for(_full_view(row, members, incomes), department_of(viewer))


def _full_view(row: Household, members: list[Person], incomes: list[Income] | None) -> dict[str, Any]:
    return {
        "id": str(row.id), "number": row.number, "division": row.division, "status": row.status,
        "status_label": workflow.STATUS_LABELS.get(row.status, row.status),
        "poverty_attribute": row.poverty_attribute,
        "poverty_attribute_label": _label("poverty_attribute", row.poverty_attribute),
        "main_cause": row.main_cause, "main_cause_label": _label("cause", row.main_cause),
        "secondary_cause": row.secondary_cause, "secondary_cause_label": _label("cause", row.secondary_cause),
        "registered_year": row.registered_year,
        "registered_on": row.registered_on and row.registered_on.isoformat(),
        "exited_on": row.exited_on and row.exited_on.isoformat(), "helper": row.helper, "checks": row.checks,
        "housing": row.housing, "relocation_status": row.relocation_status, "flags": row.flags,
        "monitoring": row.monitoring, "announcements": row.announcements,
        "members": [{
            "id_number": p.id_number, "name": p.name, "relation": p.relation,
            "relation_label": _label("relation", p.relation), "sex": p.sex,
            "birth_date": p.birth_date.isoformat(), "ethnicity": p.ethnicity, "education": p.education,
            "school_stage": p.school_stage, "health": p.health, "disability_grade": p.disability_grade,
            "labour_capacity": p.labour_capacity, "labour_skill": p.labour_skill, "details": p.details,
            "active": p.active,
        } for p in members],
        "incomes": [{"year": i.year, "net_per_capita": format_fen(i.net_per_capita_fen),
                     "disposable_per_capita": None if i.disposable_per_capita_fen is None
                     else format_fen(i.disposable_per_capita_fen),
                     "components": {k: format_fen(v) for k, v in i.components.items()}} for i in incomes or []],
    }


def _label(vocabulary: str, code: str | None) -> str | None:
    """The Chinese label of a stored code beside it (GET /catalogue), None beside no code."""
    return None if code is None else VOCABULARIES[vocabulary].label(code)


def _income_row(household_id: uuid.UUID, income: IncomeIn) -> Income:
    return Income(household_id=household_id, year=income.year, net_per_capita_fen=income.net_per_capita,
                  disposable_per_capita_fen=income.disposable_per_capita, components=dict(income.components))


def _income_data(income: IncomeIn) -> dict[str, Any]:
    return {"year": income.year, "net_per_capita": format_fen(income.net_per_capita),
            "disposable_per_capita": None if income.disposable_per_capita is None
            else format_fen(income.disposable_per_capita),
            "components": {k: format_fen(v) for k, v in income.components.items()}}


async def _upsert_income(session, household_id: uuid.UUID, income: IncomeIn) -> None:
    existing = await session.get(Income, (household_id, income.year))
    if existing is not None:
        await session.delete(existing)
        await session.flush()
    session.add(_income_row(household_id, income))


async def _ensure_not_active_elsewhere(session, principal: Principal, id_numbers: list[str]) -> None:
    """One person, one active household nationwide. The other household's number is shown only
    to callers whose jurisdiction covers it."""
    rows = (await session.execute(
        select(Person.id_number, Household.number, Household.division)
        .join(Household, Household.id == Person.household_id)
        .where(Person.active, Person.id_number.in_(id_numbers)))).all()
    if rows:
        conflicts = [{"id_number": mask(r.id_number),
                      "household": r.number if principal.covers(r.division) else None} for r in rows]
        raise Conflict(
            f"{len(rows)}人已在其他户中建档 ({len(rows)} person(s) already belong to an active household: "
            + ", ".join(c["id_number"] + (f" in {c['household']}" if c["household"] else " (outside your jurisdiction)")
                        for c in conflicts) + ")",
            slug="duplicate-person", conflicts=conflicts,
        )


# -- proposal -------------------------------------------------------------------------------------

async def propose(session, principal: Principal, body: ProposeIn, *, clock) -> dict[str, Any]:
    """A village proposes a household with its members (申请/提名识别); each person in one active
    household nationwide; possible duplicates are flagged for review, never refused."""
    if divisions.level(body.division) != divisions.Level.VILLAGE:
        raise Unprocessable("户须属于村 (a household belongs to a village code)",
                            errors=[{"field": "division", "reason": "not a village code"}])
    ensure_jurisdiction(principal, body.division)
    await _ensure_not_active_elsewhere(session, principal, [m.id_number for m in body.members])
    household_id = uuid6.uuid7()
    number = body.number or await _next_number(session, body.division)
    row = Household(
        id=household_id, number=number, division=body.division, status="proposed",
        poverty_attribute=body.poverty_attribute, main_cause=body.main_cause, secondary_cause=body.secondary_cause,
        helper=body.helper.model_dump() if body.helper else None, checks=body.checks, housing=body.housing,
        relocation_status=body.relocation_status, flags=body.flags, announcements={},
        created_at=clock.now(), updated_at=clock.now(),
    )
    session.add(row)
    people = [_person(household_id, m) for m in body.members]
    session.add_all(people)
    try:
        await session.flush()  # the unique indexes guard against a concurrent duplicate person or number
    except IntegrityError as exc:
        constraint = getattr(getattr(exc.orig, "__cause__", None), "constraint_name", "") or str(exc.orig)
        if "persons_one_active_household" in constraint:
            raise Conflict("有成员刚被建档到另一户 (a member was just proposed in another household)",
                           slug="duplicate-person") from None
        raise Conflict(f"户编号{number}已存在 (household number {number} already exists)",
                       errors=[{"field": "number", "reason": "already exists"}]) from None
    if body.income:
        session.add(_income_row(household_id, body.income))
    data = body.model_dump(mode="json", exclude={"income"})
    data.update(number=number, household_id=str(household_id),
                income=_income_data(body.income) if body.income else None)
    await record_status(session, [row], "proposed", clock.today(), NewEvent(
        HOUSEHOLD_PROPOSED, str(household_id), data, principal.actor()), clock)
    flagged = await duplicates.flag_proposal(session, people, body.division, str(household_id),
                                             actor=principal.actor(), clock=clock)
    return {**household_view(row, people, viewer=principal), "duplicate_candidates": flagged}


def _person(household_id: uuid.UUID, m: Member) -> Person:
    card = parse_id(m.id_number)
    return Person(
        id=uuid6.uuid7(), household_id=household_id, id_number=m.id_number, name=m.name, relation=m.relation,
        sex=card.sex, birth_date=card.birth_date, ethnicity=m.ethnicity, education=m.education,
        school_stage=m.school_stage, health=m.health, disability_grade=m.disability_grade,
        labour_capacity=m.labour_capacity, labour_skill=m.labour_skill, details=m.details,
    )


async def _next_number(session, village: str) -> str:
    """The village's next 户编号, under a per-village lock so concurrent proposals do not collide."""
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('number:' || :village))"), {"village": village})
    last = await session.scalar(select(func.max(Household.number)).where(
        Household.division == village, Household.number.like(f"{village}____")))
    return f"{village}{(int(last[-4:]) if last else 0) + 1:04d}"


# -- decisions ------------------------------------------------------------------------------------

async def take_step(session, principal: Principal, household_id: uuid.UUID, action: str, body: DecisionIn, *,
                    clock, policy) -> dict[str, Any]:
    """One decision of the identification or exit procedure (``workflow.DECISIONS``) on one household."""
    row = await load(session, household_id, principal, lock=True)
    try:
        decision, new_status = workflow.decide(action, row.status, body.decision == "approve")
    except workflow.WorkflowError as exc:
        raise Conflict(str(exc), household={"id": str(row.id), "status": row.status}) from None
    _require_level(principal, decision.level, row.division)
    if decision.needs_passed and body.decision == "approve":  # a refusal may follow a failed notice
        await announcements.require_passed(session, row.announcements[decision.needs_passed],
                                           subject_type=workflow.NOTICES[decision.needs_passed].subject_type)
    on = await _decision_date(session, row, body.on, clock.today())
    data: dict[str, Any] = {"action": action, "decision": body.decision, "reason": body.reason,
                            "on": on.isoformat(), "from": row.status, "to": new_status}
    if body.decision == "approve":
        await _approve(session, policy, row, action, body, on, data)
    if new_status == "rejected":
        for person in await members_of(session, row.id):
            person.active = False
    await record_status(session, [row], new_status, on, NewEvent(
        decision_event(action), str(row.id), data, principal.actor()), clock)
    return household_view(row, await members_of(session, row.id), viewer=principal)


async def _approve(session, policy, row: Household, action: str, body: DecisionIn, on: date,
                   data: dict[str, Any]) -> None:
    """What an approval checks or sets besides the status: the quota, the exit standard, the dates."""
    if action == "county-approve":
        data["quota"] = await _check_quota(session, policy, row, on)
    elif action == "exit-nominate":
        data["assessment"] = await _check_exit(session, policy, row, body, on)
    elif action == "register":
        row.registered_year, row.registered_on = on.year, on
    elif action == "exit-confirm":
        # a household that returned to poverty exits again: its latest exit counts (the return
        # stays in the status history and the events)
        row.exited_on, row.returned_on, row.return_cause = on, None, None



async def _decision_date(session, row: Household, on: date | None, today: date) -> date:
    """A decision may be dated in the past, but not before the household's last step nor after today."""
    if on is None:
        return today
    last = await session.scalar(select(func.max(StatusChange.effective_on)).where(StatusChange.household_id == row.id))
    if on > today or (last is not None and on < last):
        raise Unprocessable(
            f"决定日期须在{last}与{today}之间 (the decision date must be between the last step, {last}, and today)",
            errors=[{"field": "on", "reason": f"between {last} and {today}"}])
    return on


async def _check_quota(session, policy, row: Household, on: date) -> dict[str, Any]:
    """规模控制 (seed 004 L15): the county's households approved or registered stay within its quota."""
    county = row.division[:6]
    rule = policy.lookup("household.identification.quota", row.division, on)
    max_households, max_persons = rule.value.get("max_households"), rule.value.get("max_persons")
    if max_households is None and max_persons is None:
        return {"rule": rule.id, "max_households": None, "max_persons": None, "citation": rule.citation}
    # one approval at a time per county, so two concurrent approvals cannot both take the last place
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('quota:' || :county))"), {"county": county})
    within = [Household.division.startswith(county),
              Household.status.in_(["county_approved", "county_notice", *workflow.ON_ROLL, "exited"])]
    households_counted = await session.scalar(select(func.count()).select_from(Household).where(*within))
    persons_counted = await session.scalar(select(func.count()).select_from(Person).join(
        Household, Household.id == Person.household_id).where(*within))
    adding = len(await members_of(session, row.id))
    over = []
    if max_households is not None and households_counted + 1 > max_households:
        over.append(f"{households_counted}户已达上限{max_households}户 ({households_counted} of {max_households} households)")
    if max_persons is not None and persons_counted + adding > max_persons:
        over.append(f"{persons_counted}人加{adding}人超过上限{max_persons}人 "
                    f"({persons_counted}+{adding} of {max_persons} persons)")
    if over:
        raise Unprocessable(
            f"超出县级规模控制：{'；'.join(over)} (county quota; {rule.citation})",
            errors=[{"field": "household_id", "reason": reason} for reason in over], rule=rule.id, citation=rule.citation,
        )
    return {"rule": rule.id, "max_households": max_households, "max_persons": max_persons,
            "households": households_counted + 1, "persons": persons_counted + adding, "citation": rule.citation}


async def _check_exit(session, policy, row: Household, body: DecisionIn, on: date) -> dict[str, Any]:
    """The exit standard for the year and jurisdiction (DOMAIN §3.4): refused with the unmet criteria."""
    if body.income:
        await _upsert_income(session, row.id, body.income)
    if body.checks is not None:
        row.checks = {**row.checks, **body.checks}
    await session.flush()
    year = body.income.year if body.income else on.year
    incomes = {}
    for income in (await session.execute(select(Income).where(Income.household_id == row.id))).scalars():
        try:  # compare the measure the year's standard is stated in: 纯收入 or 可支配收入
            measure = policy.lookup("household.exit.income_standard", row.division,
                                    date(income.year, 12, 31)).value.get("measure")
        except LookupError:
            measure = None
        value = income.disposable_per_capita_fen if measure == "可支配收入" else income.net_per_capita_fen
        if value is not None:
            incomes[income.year] = value
    assessment = check_exit(policy, division=row.division, year=year, incomes=incomes, checks=row.checks)
    if not assessment.eligible:
        unmet = [{"code": u.code, "label": u.label_zh, "detail": u.detail, "citation": u.citation}
                 for u in assessment.unmet]
        raise Unprocessable(
            "未达到退出标准：" + "；".join(u["label"] for u in unmet) + " (the exit standard is not met)",
            errors=[{"field": u["code"], "reason": u["detail"]} for u in unmet], unmet=unmet,
        )
    return {"income": _income_data(body.income) if body.income else None, "checks": body.checks,
            "assessment": assessment.as_dict()}


# -- notices --------------------------------------------------------------------------------------

async def post_notice(session, principal: Principal, body: NoticeIn, *, clock, policy) -> dict[str, Any]:
    """One announcement listing the households (names, masked ID numbers) at the notice's level;
    the households move on."""
    notice = workflow.NOTICES[body.key]
    if divisions.level(body.division).value != notice.level:
        raise Unprocessable(f"{notice.title}须在{notice.level}级发布 (this notice is posted at {notice.level} level)",
                            errors=[{"field": "division", "reason": f"needs a {notice.level} code"}])
    _require_level(principal, notice.level, body.division)
    rows = await _noticed_households(session, body)
    members = {r.id: await members_of(session, r.id) for r in rows}
    people = [{"name": p.name, "id_number": p.id_number, "note": f"{r.number} {'户主' if p.relation == 'head' else ''}".strip()}
              for r in rows for p in members[r.id]]
    table = {"columns": ["户编号", "户主", "人口", "致贫原因"], "rows": [
        [r.number, next(p.name for p in members[r.id] if p.relation == "head"), str(len(members[r.id])), r.main_cause]
        for r in rows]}
    draft = await announcements.announce(
        session, actor=principal.actor(), clock=clock, policy=policy, start=body.period_start, end=body.period_end,
        subject_type=notice.subject_type, subject_id=f"{body.key}:{body.division}:{clock.today().isoformat()}",
        level=notice.level, division=body.division, title=f"{notice.title}（{len(rows)}户）",
        content={"body": f"以下{len(rows)}户{notice.title}，公示期内如有异议，请向{notice.level}级反映。", "table": table},
        people=people, hotline_local=body.hotline_local,
    )
    for row in rows:
        row.announcements = {**row.announcements, body.key: str(draft.id)}
    await record_status(session, rows, notice.to_status, clock.today(), NewEvent(
        HOUSEHOLDS_NOTICED, str(draft.id),
        {"key": body.key, "announcement_id": str(draft.id), "division": body.division,
         "household_ids": [str(r.id) for r in rows], "to": notice.to_status}, principal.actor()), clock)
    return {"announcement_id": str(draft.id), "households": [str(r.id) for r in rows], "status": notice.to_status}


async def _noticed_households(session, body: NoticeIn) -> list[Household]:
    """The notice's households, locked: each exists, lies under the notice's division and is in the
    status the notice moves on from."""
    rows = list((await session.execute(select(Household).where(Household.id.in_(body.household_ids))
                                       .order_by(Household.number).with_for_update())).scalars())
    missing = set(body.household_ids) - {r.id for r in rows}
    if missing:
        raise NotFound(f"户不存在 (no household {sorted(map(str, missing))[0]})")
    for row in rows:
        if not divisions.within(row.division, body.division):
            raise Unprocessable(f"户{row.number}不在{body.division}辖区内 (household {row.number} is not under {body.division})",
                                errors=[{"field": "household_ids", "reason": f"{row.number} outside {body.division}"}])
        try:
            workflow.notice_transition(body.key, row.status)
        except workflow.WorkflowError as exc:
            raise Conflict(f"{row.number}: {exc}", household={"id": str(row.id), "status": row.status}) from None
    return rows


# -- members after the proposal (births, marriages, deaths, moves) ---------------------------------

async def add_member(session, principal: Principal, household_id: uuid.UUID, body: Member, *, clock) -> dict[str, Any]:
    """A new member (birth, marriage …), who may not be in another active household."""
    row = await load(session, household_id, principal, lock=True)
    if row.status in workflow.INACTIVE:
        raise Conflict(f"户已{workflow.STATUS_LABELS[row.status]} (household is {row.status})")
    if body.relation == "head":
        raise Unprocessable("一户只有一名户主 (a household has one head)",
                            errors=[{"field": "relation", "reason": "head exists"}])
    await _ensure_not_active_elsewhere(session, principal, [body.id_number])
    session.add(_person(row.id, body))
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict("此人刚被建档到另一户 (the person was just added to another household)", slug="duplicate-person") from None
    row.updated_at = clock.now()
    await append(session, [NewEvent(MEMBER_ADDED, str(row.id), body.model_dump(mode="json"), principal.actor())])
    return household_view(row, await members_of(session, row.id), viewer=principal)


async def member_leaves(session, principal: Principal, household_id: uuid.UUID, id_number: str, body: MemberLeaves, *,
                        clock) -> dict[str, Any]:
    """A member leaves (death, move …): the person stays in the record, inactive; a head cannot
    leave while others remain."""
    row = await load(session, household_id, principal, lock=True)
    members = await members_of(session, row.id)
    person = next((p for p in members if p.id_number == id_number.upper() and p.active), None)
    if person is None:
        raise NotFound(f"户内无此成员 (no active member {mask(id_number)} in this household)")
    if person.relation == "head" and any(p.active and p is not person for p in members):
        raise Conflict("户主变更前不能移出户主 (name a new head before the head leaves)")
    person.active = False
    on = body.on or clock.today()
    await append(session, [NewEvent(MEMBER_LEFT, str(row.id), {
        "person_id": str(person.id), "reason": body.reason, "on": on.isoformat(), "note": body.note}, principal.actor())])
    return household_view(row, await members_of(session, row.id), viewer=principal)


# -- helper and income ----------------------------------------------------------------------------

async def assign_helper(session, principal: Principal, household_id: uuid.UUID, body: Helper, *, clock) -> dict[str, Any]:
    """The household's 帮扶责任人 (name, unit, phone), replacing the previous one."""
    row = await load(session, household_id, principal, lock=True)
    row.helper, row.updated_at = body.model_dump(), clock.now()
    await append(session, [NewEvent("registry.household.helper_assigned", str(row.id), body.model_dump(), principal.actor())])
    return household_view(row, await members_of(session, row.id), viewer=principal)


async def record_income(session, principal: Principal, household_id: uuid.UUID, year: int, body: IncomeIn) -> dict[str, Any]:
    """A year's per-capita income (the exit standard is judged on it); the year of the path and of
    the body agree."""
    if body.year != year:
        raise Unprocessable("年度不一致 (the year in the path and body differ)",
                            errors=[{"field": "year", "reason": "differs from the path"}])
    row = await load(session, household_id, principal, lock=True)
    await _upsert_income(session, row.id, body)
    await append(session, [NewEvent("registry.household.income_recorded", str(row.id), _income_data(body), principal.actor())])
    await session.flush()
    return household_view(row, await members_of(session, row.id), await _incomes(session, row.id), viewer=principal)


async def _incomes(session, household_id: uuid.UUID) -> list[Income]:
    return list((await session.execute(select(Income).where(Income.household_id == household_id)
                                       .order_by(Income.year))).scalars())


# -- queries --------------------------------------------------------------------------------------

async def search(session, principal: Principal, params: PageParams, *, division: str | None, status: str | None,
                 cause: str | None, year: int | None, number: str | None, name: str | None,
                 id_number: str | None) -> dict[str, Any]:
    """Households in the caller's jurisdiction by division, status, main cause, registration year,
    number, or a member's name or ID number; cursor-paginated by household number."""
    scope = query_scope(principal, division)
    query = select(Household).where(Household.division.startswith(divisions.prefix(scope)))
    if status:
        query = query.where(Household.status == status)
    if cause:
        query = query.where(Household.main_cause == cause)
    if year:
        query = query.where(Household.registered_year == year)
    if number:
        query = query.where(Household.number == number)
    if name or id_number:
        members = select(Person.household_id)
        members = members.where(Person.name == name) if name else members
        members = members.where(Person.id_number == id_number.upper()) if id_number else members
        query = query.where(Household.id.in_(members))
    if params.cursor:
        query = query.where(Household.number > params.after(str))
    rows = list((await session.execute(query.order_by(Household.number).limit(params.limit + 1))).scalars())
    page = params.page(rows, key_of=lambda r: [r.number])
    return {"items": [household_view(r, await members_of(session, r.id), viewer=principal) for r in page.items],
            "next_cursor": page.next_cursor}


async def read(session, principal: Principal, household_id: uuid.UUID, *, as_of: date | None, clock,
               policy) -> dict[str, Any]:
    """A household now or, with ``as_of``, also its status at the end of that day; an exited one
    with whether its assistance policies still continue (攻坚期/缓冲期, seed 003 L481)."""
    row = await load(session, household_id, principal)
    view = household_view(row, await members_of(session, row.id), await _incomes(session, row.id), viewer=principal)
    if row.exited_on is not None:
        continues, citation = post_exit_policies_continue(policy, row.division, row.exited_on, clock.today())
        view["post_exit"] = {"policies_continue": continues, "citation": citation}
    if as_of is not None:
        change = (await session.execute(
            select(StatusChange).where(StatusChange.household_id == row.id, StatusChange.effective_on <= as_of)
            .order_by(StatusChange.effective_on.desc(), StatusChange.seq.desc()).limit(1))).scalar_one_or_none()
        view["as_of"] = as_of.isoformat()
        view["status_as_of"] = change.status if change else None
    return view


async def person(session, principal: Principal, id_number: str) -> dict[str, Any]:
    """The person's household (the active one first) by ID number, within the caller's jurisdiction."""
    rows = (await session.execute(
        select(Person, Household).join(Household, Household.id == Person.household_id)
        .where(Person.id_number == id_number.upper()).order_by(Person.active.desc()))).all()
    visible = [(p, h) for p, h in rows if principal.covers(h.division)]
    if not visible:
        raise NotFound(f"未找到此人 (no person {mask(id_number)} in your jurisdiction)")
    person_row, household = visible[0]
    found = person_for({"id_number": person_row.id_number, "name": person_row.name, "relation": person_row.relation,
                        "relation_label": _label("relation", person_row.relation),
                        "sex": person_row.sex, "birth_date": person_row.birth_date.isoformat(),
                        "active": person_row.active}, department_of(principal))
    return {**found, "household": {"id": str(household.id), "number": household.number,
                                   "division": household.division, "status": household.status,
                                   "status_label": workflow.STATUS_LABELS.get(household.status, household.status)}}
