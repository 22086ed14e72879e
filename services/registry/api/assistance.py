"""Assistance (帮扶), monitoring (防止返贫动态监测), return to poverty (返贫), the annual review
(动态管理) and the other departments' updates."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, Literal

import uuid6
from fastapi import Depends, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import exists, select

from services.registry.api.households import OFFICES
from services.registry.usecases.households import household_view, load as _load, members_of as _members, record_status as _record
from services.registry.domain import workflow
from services.registry.domain.codes import VOCABULARIES, DiscoveryRoute, Pathway
from services.registry.domain.microcredit import check_microcredit
from services.registry.domain.monitoring import classify, monitoring_line
from services.registry.domain.routing import Situation, propose_pathways
from services.registry.models import Benefit, Household, Measure, Person
from shared import announcements, divisions
from shared.auth import Principal, Role, ensure_jurisdiction, query_scope, require
from shared.divisions import DivisionCode
from shared.errors import Conflict, Forbidden, NotFound, Unprocessable
from shared.events import NewEvent, append
from shared.money import Yuan, format_fen
from shared.web import db_session, router
from shared.web.problems import json_body, validate_body
from shared.fields import Name, Text
from shared.witness import receipts

assistance = router(tags=["assistance, monitoring, review (帮扶 监测 动态管理)"])
LOCAL = (Role.village, Role.township, Role.county_office)


class Loan(BaseModel):
    amount: Yuan
    term_months: int = Field(ge=0, le=600)
    collateral: bool = False


class MeasureIn(BaseModel):
    pathway: Literal[VOCABULARIES["pathway"].codes]  # type: ignore[valid-type]
    description: Text = Field(min_length=2, max_length=500)
    year: int = Field(ge=2010, le=2100)
    amount: Yuan | None = None
    loan: Loan | None = Field(None, description="扶贫小额信贷 (pathway finance): ≤ 50,000 yuan, ≤ 3 years, no collateral")


@assistance.post("/households/{household_id}/measures", status_code=201, summary="Record an assistance measure (措施到户)")
async def add_measure(body: MeasureIn, request: Request, household_id: uuid.UUID = Path(),
                      principal: Principal = Depends(require(*LOCAL, write=True)),
                      session=Depends(db_session)) -> dict[str, Any]:
    """A measure (措施到户) on one of the pathways; micro-credit (finance) measures are checked against the loan limits of
    the policy table."""
    row = await _load(session, household_id, principal, lock=True)
    details: dict[str, Any] = {}
    if body.pathway == Pathway.FINANCE:
        if body.loan is None:
            raise Unprocessable("金融扶贫措施须填写贷款 (a finance measure needs its loan)",
                                errors=[{"field": "loan", "reason": "required for pathway finance"}])
        violations = check_microcredit(request.app.state.policy, row.division, request.app.state.clock.today(),
                                       body.loan.amount, body.loan.term_months, body.loan.collateral)
        if violations:
            raise Unprocessable("扶贫小额信贷不符合政策 (the micro-credit loan breaks its limits)",
                                errors=[{"field": "loan", "reason": v} for v in violations])
        details["loan"] = {"amount": format_fen(body.loan.amount), "term_months": body.loan.term_months,
                           "collateral": body.loan.collateral}
    measure = Measure(id=uuid6.uuid7(), household_id=row.id, pathway=body.pathway, description=body.description,
                      year=body.year, amount_fen=body.amount, details=details)
    session.add(measure)
    data = {"measure_id": str(measure.id), "pathway": body.pathway, "description": body.description,
            "year": body.year, "amount": None if body.amount is None else format_fen(body.amount), **details}
    await append(session, [NewEvent("registry.measure.recorded", str(row.id), data, principal.actor())])
    return data


@assistance.get("/households/{household_id}/routing", summary="Pathways the routing rules propose (五个一批 …)",
                description="Derived from the members (labour, illness, school age) and the conditions given here.")
async def routing(request: Request, household_id: uuid.UUID = Path(),
                  has_land: bool = False, local_resources: bool = False, harsh_area: bool = False,
                  fragile_ecology: bool = False, movable: bool = False, consents_to_tekun_care: bool = False,
                  principal: Principal = Depends(require(*OFFICES)), session=Depends(db_session)) -> list[dict]:
    row = await _load(session, household_id, principal)
    members = await _members(session, row.id)
    labour = [m for m in members if m.labour_capacity in ("normal_labour", "skilled_labour", "weak_labour")]
    today = request.app.state.clock.today()
    school_age = any(6 <= (today.year - m.birth_date.year) <= 15 for m in members)
    situation = Situation(
        has_labour=bool(labour), has_land=has_land, local_resources=local_resources, harsh_area=harsh_area,
        fragile_ecology=fragile_ecology, movable=movable, lost_labour_capacity=not labour,
        consents_to_tekun_care=consents_to_tekun_care, main_cause=row.main_cause,
        has_school_age_children=school_age, has_major_illness=any(m.health == "major_illness" for m in members))
    return [{"pathway": p.pathway.value, "label": p.pathway.label, "reason": p.reason_zh, "citation": p.citation,
             "sub_measures": list(p.sub_measures)} for p in propose_pathways(situation)]


@assistance.get("/reports/missing-assistance", summary="Households on the roll without a 帮扶责任人 or a measure",
                description="Both lists must be empty (DOMAIN §8; seed 003 L487).")
async def missing_assistance(division: DivisionCode | None = None,
                             principal: Principal = Depends(require(*OFFICES)),
                             session=Depends(db_session)) -> dict[str, Any]:
    scope = query_scope(principal, division)
    on_roll = select(Household).where(Household.division.startswith(divisions.prefix(scope)),
                                      Household.status.in_(workflow.ON_ROLL))
    no_helper = (await session.execute(on_roll.where(Household.helper.is_(None)).order_by(Household.number))).scalars()
    no_measure = (await session.execute(on_roll.where(~exists().where(Measure.household_id == Household.id))
                                        .order_by(Household.number))).scalars()
    return {"division": scope, "without_helper": [h.number for h in no_helper],
            "without_measure": [h.number for h in no_measure]}


class MonitoringIn(BaseModel):
    route: Literal[VOCABULARIES["discovery_route"].codes]  # type: ignore[valid-type]
    year: int = Field(ge=2010, le=2100)
    per_capita_income: Yuan
    sudden_hardship: bool = False
    note: str = Field("", max_length=1000)


@assistance.post("/households/{household_id}/monitoring", summary="Assess a household for monitoring (防止返贫动态监测)",
                 description="Classifies against the province's monitoring line for the year: 脱贫不稳定户, "
                 "边缘易致贫户 or 突发严重困难户; found by self-declaration, cadre visits or other departments' data.")
async def monitor(body: MonitoringIn, request: Request, household_id: uuid.UUID = Path(),
                  principal: Principal = Depends(require(*LOCAL, Role.department, write=True)),
                  session=Depends(db_session)) -> dict[str, Any]:
    if Role.department in principal.roles and body.route != DiscoveryRoute.DEPARTMENT_DATA:
        raise Forbidden("部门只能通过部门数据预警 (departments report through route department_data)")
    row = await _load(session, household_id, principal, lock=True)
    line = monitoring_line(request.app.state.policy, row.division, body.year)
    category = classify(exited=row.status == "exited", per_capita_income_fen=body.per_capita_income, line_fen=line,
                        sudden_hardship=body.sudden_hardship, registered_poor=row.status in workflow.ON_ROLL)
    on = request.app.state.clock.today()
    row.monitoring = None if category is None else {"category": category.value, "route": body.route,
                                                    "since": on.isoformat(), "line": format_fen(line)}
    data = {"route": body.route, "year": body.year, "per_capita_income": format_fen(body.per_capita_income),
            "line": format_fen(line), "category": None if category is None else category.value, "note": body.note}
    await append(session, [NewEvent("registry.household.monitored", str(row.id), data, principal.actor())])
    return data


class ReturnIn(BaseModel):
    cause: Literal[VOCABULARIES["cause"].codes]  # type: ignore[valid-type]
    on: date | None = None
    note: str = Field("", max_length=1000)


@assistance.post("/households/{household_id}/return", summary="Record a return to poverty (返贫)",
                 description="An exited household is back on the roll, with its cause (seed 002 L569).")
async def return_to_poverty(body: ReturnIn, request: Request, household_id: uuid.UUID = Path(),
                            principal: Principal = Depends(require(Role.county_office, write=True)),
                            session=Depends(db_session)) -> dict[str, Any]:
    clock = request.app.state.clock
    row = await _load(session, household_id, principal, lock=True)
    if row.status != "exited":
        raise Conflict(f"只有已脱贫户可以返贫 (only an exited household can return; it is {row.status})",
                       household={"id": str(row.id), "status": row.status})
    on = body.on or clock.today()
    row.returned_on, row.return_cause = on, body.cause
    await _record(session, [row], "registered", on, NewEvent(
        "registry.household.returned", str(row.id), {"cause": body.cause, "on": on.isoformat(), "note": body.note},
        principal.actor()), clock)
    return household_view(row, await _members(session, row.id), viewer=principal)


# -- other departments ---------------------------------------------------------------------------

DEPARTMENT_FIELDS: dict[str, type[BaseModel]] = {}


def _department(name: str):
    def register(model: type[BaseModel]) -> type[BaseModel]:
        DEPARTMENT_FIELDS[name] = model
        return model
    return register


@_department("civil_affairs")
class CivilAffairs(BaseModel):
    dibao: bool = Field(description="低保")
    tekun: bool = Field(description="特困供养")


@_department("education")
class Education(BaseModel):
    school_stage: Literal["preschool", "primary", "junior", "senior", "vocational", "college", "graduate", "none"]
    dropout: bool = False


@_department("health")
class Health(BaseModel):
    major_illness: bool
    illness: str | None = Field(None, max_length=100)
    insurance: dict[Literal["basic_medical", "critical_illness", "pension"], bool] = Field(default_factory=dict)


@_department("human_resources")
class Employment(BaseModel):
    employed: bool
    place: str | None = Field(None, max_length=100)
    months: int | None = Field(None, ge=0, le=12)
    public_welfare_post: bool = False


@_department("disabled_persons")
class Disability(BaseModel):
    disability_grade: int | None = Field(None, ge=1, le=4)


def apply_department_data(person: Person, dept: str, values: dict[str, Any]) -> None:
    """A department's validated data on a person: kept in ``details[dept]``; disability grade and
    major illness also set the person's own fields. (Single updates and list uploads alike.)"""
    person.details = {**person.details, dept: values}
    if dept == "disabled_persons":
        person.disability_grade = values["disability_grade"]
    if dept == "health" and values["major_illness"]:
        person.health = "major_illness"


@assistance.put("/persons/{id_number}/departments/{dept}",
                summary="Another department records what it knows of a person",
                description="civil_affairs (低保/特困), education (school stage, dropout), health (major illness, "
                "insurance), human_resources (employment), disabled_persons (grade). Only that department's token "
                "(role department with the matching dept claim) within its jurisdiction.")
async def department_update(request: Request, id_number: str = Path(min_length=18, max_length=18),
                            dept: Literal[tuple(DEPARTMENT_FIELDS)] = Path(),  # type: ignore[valid-type]
                            principal: Principal = Depends(require(Role.department, write=True)),
                            session=Depends(db_session)) -> dict[str, Any]:
    if Role.admin not in principal.roles and principal.dept != dept:
        raise Forbidden(f"只能更新本部门数据 (a {principal.dept} token may not write {dept} data)")
    body = validate_body(DEPARTMENT_FIELDS[dept], await json_body(request))
    found = (await session.execute(select(Person, Household).join(Household, Household.id == Person.household_id)
                                   .where(Person.id_number == id_number.upper(), Person.active)
                                   .with_for_update(of=Person))).first()
    if found is None or not principal.covers(found[1].division):
        raise NotFound("未找到此人 (no active person with this ID number in your jurisdiction)")
    person, household = found
    values = body.model_dump()
    apply_department_data(person, dept, values)
    await append(session, [NewEvent(f"registry.person.{dept}_updated", str(household.id),
                                    {"person_id": str(person.id), "dept": dept, **values}, principal.actor())])
    return {"person_id": str(person.id), "household": household.number, "dept": dept, **values}


class HousingIn(BaseModel):
    dangerous_grade: Literal["C", "D"] | None = Field(description="危房等级 C/D, null when safe")
    renovated_year: int | None = Field(None, ge=2000, le=2100)


@assistance.put("/households/{household_id}/housing", summary="Housing department: dangerous-house grade (危房)")
async def housing(body: HousingIn, request: Request, household_id: uuid.UUID = Path(),
                  principal: Principal = Depends(require(Role.department, write=True)),
                  session=Depends(db_session)) -> dict[str, Any]:
    """The housing department records the house's safety grade (危房 A–D) and renovation; the household's 住房安全 check
    follows it."""
    if Role.admin not in principal.roles and principal.dept != "housing":
        raise Forbidden("只有住建部门可以更新住房等级 (only the housing department)")
    row = await _load(session, household_id, principal, lock=True)
    row.housing = {**row.housing, **body.model_dump()}
    row.checks = {**row.checks, "housing_safety": body.dangerous_grade is None}
    await append(session, [NewEvent("registry.household.housing_updated", str(row.id), body.model_dump(), principal.actor())])
    return household_view(row, await _members(session, row.id), viewer=principal)


# -- benefits received (享受扶持情况) ---------------------------------------------------------------

@assistance.get("/households/{household_id}/benefits", summary="What a household received from projects and payments",
                description="Recorded from the projects and funds services' events (享受扶持情况).")
async def benefits(household_id: uuid.UUID = Path(), principal: Principal = Depends(require(*OFFICES)),
                   session=Depends(db_session)) -> dict[str, Any]:
    row = await _load(session, household_id, principal)
    items = list((await session.execute(select(Benefit).where(Benefit.household_id == row.id)
                                        .order_by(Benefit.on, Benefit.id))).scalars())
    totals: dict[str, int] = {}
    for b in items:
        totals[b.kind] = totals.get(b.kind, 0) + b.amount_fen
    return {"household": row.number, "total": format_fen(sum(totals.values())),
            "by_kind": {k: format_fen(v) for k, v in sorted(totals.items())},
            "items": [{"id": str(b.id), "source": b.source, "reference": b.reference, "kind": b.kind,
                       "amount": format_fen(b.amount_fen),
                       "on": b.on.isoformat(), "event": b.source_event} for b in items]}


@assistance.get("/households/{household_id}/benefits/{benefit_id}/receipt",
                summary="A receipt of one benefit: the event, its inclusion proof, the signed checkpoint",
                description="One JSON file for the household (it holds the event exactly as hashed): verify it offline "
                "with `fupin verify-receipt FILE --key …` (README, \"Receipts\"). 503 while the event is not yet in a "
                "signed checkpoint.", response_class=Response,
                responses={200: {"content": {"application/json": {}}}, 503: {"description": "retry after Retry-After"}})
async def benefit_receipt(request: Request, household_id: uuid.UUID = Path(), benefit_id: uuid.UUID = Path(),
                          principal: Principal = Depends(require(*OFFICES)), session=Depends(db_session)) -> Response:
    row = await _load(session, household_id, principal)
    seq = await receipts.event_seq(session, subject=str(row.id), type="registry.benefit.recorded",
                                   benefit_id=str(benefit_id))
    return await receipts.issue(request, session, seq)


class BenefitNoticeIn(BaseModel):
    village: DivisionCode
    year: int = Field(ge=2014, le=2100)
    period_start: date
    period_end: date
    hotline_local: Name = Field(min_length=3, max_length=40)


@assistance.post("/benefit-notices", status_code=201, summary="Announce what the village's households received",
                 description="A village notice (DOMAIN §6) listing, per household, the benefits of the year by kind.")
async def benefit_notice(body: BenefitNoticeIn, request: Request,
                         principal: Principal = Depends(require(Role.village, write=True)),
                         session=Depends(db_session)) -> dict[str, Any]:
    if divisions.level(body.village) != divisions.Level.VILLAGE:
        raise Unprocessable("享受扶持情况在村内公示 (posted in a village)",
                            errors=[{"field": "village", "reason": "not a village code"}])
    ensure_jurisdiction(principal, body.village)
    rows = (await session.execute(
        select(Household.number, Benefit.kind, Benefit.reference, Benefit.amount_fen)
        .join(Benefit, Benefit.household_id == Household.id)
        .where(Household.division == body.village, Benefit.on >= date(body.year, 1, 1), Benefit.on <= date(body.year, 12, 31))
        .order_by(Household.number, Benefit.on))).all()
    if not rows:
        raise Unprocessable(f"{body.year}年本村没有享受扶持记录 (no benefits recorded in {body.year})",
                            errors=[{"field": "year", "reason": "no benefits"}])
    clock = request.app.state.clock
    draft = await announcements.announce(
        session, actor=principal.actor(), clock=clock, policy=request.app.state.policy, start=body.period_start,
        end=body.period_end, subject_type="household_benefits", subject_id=f"{body.village}:{body.year}",
        level="village", division=body.village, title=f"{body.year}年贫困户享受扶持情况公示",
        content={"body": f"现将本村贫困户{body.year}年享受扶持情况公示如下。",
                 "table": {"columns": ["户编号", "类别", "项目/来源", "金额（元）"],
                           "rows": [[n, k, ref, format_fen(a)] for n, k, ref, a in rows]}},
        people=[], hotline_local=body.hotline_local)
    return {"announcement_id": str(draft.id), "rows": len(rows)}


# -- the annual review (动态管理) -------------------------------------------------------------------

class Removal(BaseModel):
    household_id: uuid.UUID
    reason: Literal[VOCABULARIES["removal_reason"].codes]  # type: ignore[valid-type]
    note: str = Field("", max_length=500)


class ReviewIn(BaseModel):
    county: DivisionCode
    year: int = Field(ge=2014, le=2100)
    removals: list[Removal] = Field(default_factory=list, max_length=5000)
    period_start: date
    period_end: date
    hotline_local: Name = Field(min_length=3, max_length=40)


@assistance.post("/reviews", status_code=201, summary="Announce the annual review: additions and removals as one list",
                 description="一年一调整 (seed 002 L788): the year's new registrations and the proposed removals "
                 "(清退, with reason codes) in one county announcement; apply it once it has passed.")
async def announce_review(body: ReviewIn, request: Request,
                          principal: Principal = Depends(require(Role.county_office, write=True)),
                          session=Depends(db_session)) -> dict[str, Any]:
    if divisions.level(body.county) != divisions.Level.COUNTY:
        raise Unprocessable("年度调整按县公告 (the review is announced by a county)",
                            errors=[{"field": "county", "reason": "not a county code"}])
    ensure_jurisdiction(principal, body.county)
    clock = request.app.state.clock
    under = Household.division.startswith(divisions.prefix(body.county))
    additions = list((await session.execute(select(Household).where(
        under, Household.registered_year == body.year, Household.status.in_(workflow.ON_ROLL)
    ).order_by(Household.number))).scalars())
    removal_rows = []
    for removal in body.removals:
        row = await _load(session, removal.household_id, principal)
        if not divisions.within(row.division, body.county) or row.status not in workflow.ON_ROLL | {"exited"}:
            raise Unprocessable(f"户{row.number}不能清退 (household {row.number} is not on this county's roll)",
                                errors=[{"field": "removals", "reason": f"{row.number}: {row.status}"}])
        removal_rows.append((row, removal))
    table = {"columns": ["类别", "户编号", "理由"], "rows": [["新识别", h.number, ""] for h in additions]
             + [["清退", row.number, VOCABULARIES["removal_reason"].label(rem.reason)] for row, rem in removal_rows]}
    review = {"year": body.year, "additions": [str(h.id) for h in additions],
              "removals": [{"household_id": str(row.id), "reason": rem.reason, "note": rem.note}
                           for row, rem in removal_rows]}
    draft = await announcements.announce(
        session, actor=principal.actor(), clock=clock, policy=request.app.state.policy, start=body.period_start,
        end=body.period_end, subject_type="annual_review", subject_id=f"{body.county}:{body.year}", level="county",
        division=body.county,
        title=f"{body.year}年度贫困人口动态调整公告（新识别{len(additions)}户，清退{len(removal_rows)}户）",
        content={"body": "根据一年一调整的要求，现将本年度新识别和清退名单公告如下。", "table": table, "review": review},
        people=[], hotline_local=body.hotline_local)
    await append(session, [NewEvent("registry.review.announced", str(draft.id),
                                    {"county": body.county, "announcement_id": str(draft.id), **review}, principal.actor())])
    return {"announcement_id": str(draft.id), **review}


@assistance.post("/reviews/{announcement_id}/apply", summary="Apply a passed annual review: remove the listed households")
async def apply_review(request: Request, announcement_id: uuid.UUID = Path(),
                       principal: Principal = Depends(require(Role.county_office, write=True)),
                       session=Depends(db_session)) -> dict[str, Any]:
    """Once the annual review's announcement has passed, removes the listed households (each removal an event); refused
    while the period is open or after an upheld objection."""
    notice = await announcements.require_passed(session, str(announcement_id), subject_type="annual_review")
    ensure_jurisdiction(principal, notice.division)
    clock = request.app.state.clock
    review = notice.content["review"]
    removed = []
    for removal in review["removals"]:
        row = await _load(session, removal["household_id"], principal, lock=True)
        if row.status == "removed":
            continue
        row.removed_on, row.removal_reason = clock.today(), removal["reason"]
        for person in await _members(session, row.id):
            person.active = False
        await _record(session, [row], "removed", clock.today(), NewEvent(
            "registry.household.removed", str(row.id),
            {"reason": removal["reason"], "note": removal["note"], "announcement_id": str(announcement_id)},
            principal.actor()), clock)
        removed.append(row.number)
    return {"announcement_id": str(announcement_id), "removed": removed}

