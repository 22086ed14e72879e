"""Assistance (帮扶), monitoring (防止返贫动态监测), return to poverty (返贫), the annual review
(动态管理), other departments' data and the benefits households received (享受扶持情况) — the use
cases behind ``api/assistance.py``. Each loads the household, applies the domain's rules
(``domain/microcredit.py``, ``monitoring.py``, ``routing.py``) and writes the rows and the event in
the caller's session (one unit of work)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, Literal

import uuid6
from pydantic import BaseModel, Field
from sqlalchemy import exists, select

from services.registry.contract import HOUSEHOLD_REMOVED, HOUSEHOLD_RETURNED
from services.registry.domain import workflow
from services.registry.domain.codes import VOCABULARIES, DiscoveryRoute, Pathway
from services.registry.domain.departments import DEPARTMENT_SCHOOL_STAGE
from services.registry.domain.microcredit import check_microcredit
from services.registry.domain.monitoring import classify, monitoring_line
from services.registry.domain.routing import Situation, propose_pathways
from services.registry.models import Benefit, Household, Measure, Person
from services.registry.usecases.households import household_view, load, members_of, record_status
from shared import announcements, divisions
from shared.auth import Principal, Role, ensure_jurisdiction, query_scope
from shared.divisions import DivisionCode
from shared.errors import Conflict, Forbidden, NotFound, Unprocessable
from shared.events import NewEvent, append
from shared.fields import Name, Text
from shared.money import Yuan, format_fen
from shared.witness import receipts


# -- commands (the routers take them as request bodies) ---------------------------------------------

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


class MonitoringIn(BaseModel):
    route: Literal[VOCABULARIES["discovery_route"].codes]  # type: ignore[valid-type]
    year: int = Field(ge=2010, le=2100)
    per_capita_income: Yuan
    sudden_hardship: bool = False
    note: str = Field("", max_length=1000)


class ReturnIn(BaseModel):
    cause: Literal[VOCABULARIES["cause"].codes]  # type: ignore[valid-type]
    on: date | None = None
    note: str = Field("", max_length=1000)


# -- other departments' data ---------------------------------------------------------------------

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
    school_stage: Literal[DEPARTMENT_SCHOOL_STAGE.codes]  # type: ignore[valid-type]
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


class HousingIn(BaseModel):
    dangerous_grade: Literal["C", "D"] | None = Field(description="危房等级 C/D, null when safe")
    renovated_year: int | None = Field(None, ge=2000, le=2100)


class BenefitNoticeIn(BaseModel):
    village: DivisionCode
    year: int = Field(ge=2014, le=2100)
    period_start: date
    period_end: date
    hotline_local: Name = Field(min_length=3, max_length=40)


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


# -- assistance and monitoring ----------------------------------------------------------------------

async def add_measure(session, principal: Principal, household_id: uuid.UUID, body: MeasureIn, *, clock,
                      policy) -> dict[str, Any]:
    """A measure (措施到户) on one of the pathways; a micro-credit (finance) one within the loan
    limits of the policy table."""
    row = await load(session, household_id, principal, lock=True)
    details: dict[str, Any] = {}
    if body.pathway == Pathway.FINANCE:
        if body.loan is None:
            raise Unprocessable("金融扶贫措施须填写贷款 (a finance measure needs its loan)",
                                errors=[{"field": "loan", "reason": "required for pathway finance"}])
        violations = check_microcredit(policy, row.division, clock.today(),
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


async def routing(session, principal: Principal, household_id: uuid.UUID, *, clock, has_land: bool,
                  local_resources: bool, harsh_area: bool, fragile_ecology: bool, movable: bool,
                  consents_to_tekun_care: bool) -> list[dict]:
    """The pathways the routing rules propose (五个一批 …) from the members (labour, illness, school
    age) and the conditions given."""
    row = await load(session, household_id, principal)
    members = await members_of(session, row.id)
    labour = [m for m in members if m.labour_capacity in ("normal_labour", "skilled_labour", "weak_labour")]
    today = clock.today()
    school_age = any(6 <= (today.year - m.birth_date.year) <= 15 for m in members)
    situation = Situation(
        has_labour=bool(labour), has_land=has_land, local_resources=local_resources, harsh_area=harsh_area,
        fragile_ecology=fragile_ecology, movable=movable, lost_labour_capacity=not labour,
        consents_to_tekun_care=consents_to_tekun_care, main_cause=row.main_cause,
        has_school_age_children=school_age, has_major_illness=any(m.health == "major_illness" for m in members))
    return [{"pathway": p.pathway.value, "label": p.pathway.label, "reason": p.reason_zh, "citation": p.citation,
             "sub_measures": list(p.sub_measures)} for p in propose_pathways(situation)]


async def missing_assistance(session, principal: Principal, division: str | None) -> dict[str, Any]:
    """Households on the roll without a 帮扶责任人 or without a measure (both lists must be empty:
    DOMAIN §8; seed 003 L487)."""
    scope = query_scope(principal, division)
    on_roll = select(Household).where(Household.division.startswith(divisions.prefix(scope)),
                                      Household.status.in_(workflow.ON_ROLL))
    no_helper = (await session.execute(on_roll.where(Household.helper.is_(None)).order_by(Household.number))).scalars()
    no_measure = (await session.execute(on_roll.where(~exists().where(Measure.household_id == Household.id))
                                        .order_by(Household.number))).scalars()
    return {"division": scope, "without_helper": [h.number for h in no_helper],
            "without_measure": [h.number for h in no_measure]}


async def monitor(session, principal: Principal, household_id: uuid.UUID, body: MonitoringIn, *, clock,
                  policy) -> dict[str, Any]:
    """Classify a household against the province's monitoring line of the year (防止返贫动态监测)."""
    if Role.department in principal.roles and body.route != DiscoveryRoute.DEPARTMENT_DATA:
        raise Forbidden("部门只能通过部门数据预警 (departments report through route department_data)")
    row = await load(session, household_id, principal, lock=True)
    line = monitoring_line(policy, row.division, body.year)
    category = classify(exited=row.status == "exited", per_capita_income_fen=body.per_capita_income, line_fen=line,
                        sudden_hardship=body.sudden_hardship, registered_poor=row.status in workflow.ON_ROLL)
    on = clock.today()
    row.monitoring = None if category is None else {"category": category.value, "route": body.route,
                                                    "since": on.isoformat(), "line": format_fen(line)}
    data = {"route": body.route, "year": body.year, "per_capita_income": format_fen(body.per_capita_income),
            "line": format_fen(line), "category": None if category is None else category.value, "note": body.note}
    await append(session, [NewEvent("registry.household.monitored", str(row.id), data, principal.actor())])
    return data


async def return_to_poverty(session, principal: Principal, household_id: uuid.UUID, body: ReturnIn, *,
                            clock) -> dict[str, Any]:
    """An exited household is back on the roll, with its cause (返贫, seed 002 L569)."""
    row = await load(session, household_id, principal, lock=True)
    if row.status != "exited":
        raise Conflict(f"只有已脱贫户可以返贫 (only an exited household can return; it is {row.status})",
                       household={"id": str(row.id), "status": row.status})
    on = body.on or clock.today()
    row.returned_on, row.return_cause = on, body.cause
    await record_status(session, [row], "registered", on, NewEvent(
        HOUSEHOLD_RETURNED, str(row.id), {"cause": body.cause, "on": on.isoformat(), "note": body.note},
        principal.actor()), clock)
    return household_view(row, await members_of(session, row.id), viewer=principal)


# -- other departments ------------------------------------------------------------------------------

async def department_update(session, principal: Principal, id_number: str, dept: str,
                            values: dict[str, Any]) -> dict[str, Any]:
    """A department records what it knows of a person (``values``: validated by its model in
    :data:`DEPARTMENT_FIELDS`); only that department's token, within its jurisdiction."""
    if Role.admin not in principal.roles and principal.dept != dept:
        raise Forbidden(f"只能更新本部门数据 (a {principal.dept} token may not write {dept} data)")
    found = (await session.execute(select(Person, Household).join(Household, Household.id == Person.household_id)
                                   .where(Person.id_number == id_number.upper(), Person.active)
                                   .with_for_update(of=Person))).first()
    if found is None or not principal.covers(found[1].division):
        raise NotFound("未找到此人 (no active person with this ID number in your jurisdiction)")
    person, household = found
    apply_department_data(person, dept, values)
    await append(session, [NewEvent(f"registry.person.{dept}_updated", str(household.id),
                                    {"person_id": str(person.id), "dept": dept, **values}, principal.actor())])
    return {"person_id": str(person.id), "household": household.number, "dept": dept, **values}


async def housing(session, principal: Principal, household_id: uuid.UUID, body: HousingIn) -> dict[str, Any]:
    """The housing department's safety grade (危房) and renovation; the 住房安全 check follows it."""
    if Role.admin not in principal.roles and principal.dept != "housing":
        raise Forbidden("只有住建部门可以更新住房等级 (only the housing department)")
    row = await load(session, household_id, principal, lock=True)
    row.housing = {**row.housing, **body.model_dump()}
    row.checks = {**row.checks, "housing_safety": body.dangerous_grade is None}
    await append(session, [NewEvent("registry.household.housing_updated", str(row.id), body.model_dump(), principal.actor())])
    return household_view(row, await members_of(session, row.id), viewer=principal)


# -- benefits received (享受扶持情况) ---------------------------------------------------------------------

async def benefits(session, principal: Principal, household_id: uuid.UUID) -> dict[str, Any]:
    """What the household received from projects and payments (享受扶持情况), by kind and item."""
    row = await load(session, household_id, principal)
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


async def benefit_event_seq(session, principal: Principal, household_id: uuid.UUID, benefit_id: uuid.UUID) -> int:
    """The seq of the ``registry.benefit.recorded`` event of one of the household's benefits (for its receipt)."""
    row = await load(session, household_id, principal)
    return await receipts.event_seq(session, subject=str(row.id), type="registry.benefit.recorded",
                                    benefit_id=str(benefit_id))


async def benefit_notice(session, principal: Principal, body: BenefitNoticeIn, *, clock, policy) -> dict[str, Any]:
    """A village notice (DOMAIN §6) listing, per household, the benefits of the year by kind."""
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
    draft = await announcements.announce(
        session, actor=principal.actor(), clock=clock, policy=policy, start=body.period_start,
        end=body.period_end, subject_type="household_benefits", subject_id=f"{body.village}:{body.year}",
        level="village", division=body.village, title=f"{body.year}年贫困户享受扶持情况公示",
        content={"body": f"现将本村贫困户{body.year}年享受扶持情况公示如下。",
                 "table": {"columns": ["户编号", "类别", "项目/来源", "金额（元）"],
                           "rows": [[n, k, ref, format_fen(a)] for n, k, ref, a in rows]}},
        people=[], hotline_local=body.hotline_local)
    return {"announcement_id": str(draft.id), "rows": len(rows)}


# -- the annual review (动态管理) -----------------------------------------------------------------------

async def announce_review(session, principal: Principal, body: ReviewIn, *, clock, policy) -> dict[str, Any]:
    """一年一调整 (seed 002 L788): the year's new registrations and the proposed removals in one
    county announcement."""
    if divisions.level(body.county) != divisions.Level.COUNTY:
        raise Unprocessable("年度调整按县公告 (the review is announced by a county)",
                            errors=[{"field": "county", "reason": "not a county code"}])
    ensure_jurisdiction(principal, body.county)
    under = Household.division.startswith(divisions.prefix(body.county))
    additions = list((await session.execute(select(Household).where(
        under, Household.registered_year == body.year, Household.status.in_(workflow.ON_ROLL)
    ).order_by(Household.number))).scalars())
    removal_rows = []
    for removal in body.removals:
        row = await load(session, removal.household_id, principal)
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
        session, actor=principal.actor(), clock=clock, policy=policy, start=body.period_start,
        end=body.period_end, subject_type="annual_review", subject_id=f"{body.county}:{body.year}", level="county",
        division=body.county,
        title=f"{body.year}年度贫困人口动态调整公告（新识别{len(additions)}户，清退{len(removal_rows)}户）",
        content={"body": "根据一年一调整的要求，现将本年度新识别和清退名单公告如下。", "table": table, "review": review},
        people=[], hotline_local=body.hotline_local)
    await append(session, [NewEvent("registry.review.announced", str(draft.id),
                                    {"county": body.county, "announcement_id": str(draft.id), **review}, principal.actor())])
    return {"announcement_id": str(draft.id), **review}


async def apply_review(session, principal: Principal, announcement_id: uuid.UUID, *, clock) -> dict[str, Any]:
    """Remove the households a passed annual review lists (each removal an event); refused while the
    period is open or after an upheld objection."""
    notice = await announcements.require_passed(session, str(announcement_id), subject_type="annual_review")
    ensure_jurisdiction(principal, notice.division)
    review = notice.content["review"]
    removed = []
    for removal in review["removals"]:
        row = await load(session, removal["household_id"], principal, lock=True)
        if row.status == "removed":
            continue
        row.removed_on, row.removal_reason = clock.today(), removal["reason"]
        for person in await members_of(session, row.id):
            person.active = False
        await record_status(session, [row], "removed", clock.today(), NewEvent(
            HOUSEHOLD_REMOVED, str(row.id),
            {"reason": removal["reason"], "note": removal["note"], "announcement_id": str(announcement_id)},
            principal.actor()), clock)
        removed.append(row.number)
    return {"announcement_id": str(announcement_id), "removed": removed}
