"""百企千村 enterprises and pairings: the use cases (load, check with the pure domain, write rows
and events in the caller's transaction) and the pairing report.

Why here, in the projects service: a pairing's actuals are the projects' own records —
beneficiary households and the benefits recorded to them (this service's tables), the
disbursements to the projects (its read model of the funds service's events) and the registry
households behind them (its read model of the registry's events). A service of its own would
have to keep copies of all three; here the pairing is a bounded area of new tables and modules
that reads the project tables and writes only its own (seed 004 L75).

Guarantees (besides those of ``domain/pairing.py``):

1. Every change — an enterprise registered, a pairing agreed, projects linked, labourers
   reported — is written with its event (``projects.enterprise.registered``,
   ``projects.pairing.agreed``, ``projects.pairing.projects_linked``,
   ``projects.pairing.labourers_reported``) in one transaction; a refused request writes nothing.
2. A pairing's villages are villages of its county; its projects are projects of this library in
   that county; its labourers are households of the registry's roll (registered or exited) in its
   villages — every refused item named with its reason.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import uuid6
from sqlalchemy import extract, select

from services.projects.domain import eligibility
from services.projects.domain import pairing as rules
from services.projects.models import BenefitRecord, Beneficiary, FundingPosting, Project, RegistryHousehold
from services.projects.results_models import Enterprise, Pairing, PairingLabourer, PairingProject
from shared import divisions
from shared.auth import Principal, ensure_jurisdiction
from shared.errors import Conflict, NotFound, Unprocessable
from shared.events import NewEvent, append
from shared.money import format_fen


def _refuse(exc: rules.PairingError) -> Unprocessable:
    return Unprocessable(exc.reason, errors=[{"field": exc.field, "reason": exc.reason}])


def enterprise_view(row: Enterprise) -> dict[str, Any]:
    return {"credit_code": row.credit_code, "name": row.name, "type": row.type,
            "type_label": rules.ENTERPRISE_TYPES[row.type], "division": row.division}


async def register_enterprise(session, principal: Principal, *, credit_code: str, name: str, type: str,
                              now) -> dict[str, Any]:
    try:
        code = rules.credit_code(credit_code)
    except rules.PairingError as exc:
        raise _refuse(exc) from None
    if await session.get(Enterprise, code) is not None:
        raise Conflict(f"企业已登记 (enterprise {code} is already registered)", credit_code=code)
    row = Enterprise(credit_code=code, name=name, type=type, division=principal.division, registered_at=now)
    session.add(row)
    await append(session, [NewEvent("projects.enterprise.registered", code, enterprise_view(row), principal.actor())])
    return enterprise_view(row)


async def load_pairing(session, pairing_id: uuid.UUID, principal: Principal, *, lock: bool = False) -> Pairing:
    query = select(Pairing).where(Pairing.id == pairing_id)
    row = (await session.execute(query.with_for_update() if lock else query)).scalar_one_or_none()
    if row is None:
        raise NotFound(f"结对不存在 (no pairing {pairing_id})")
    ensure_jurisdiction(principal, row.division)
    return row


async def _check_projects(session, county: str, codes: list[str]) -> list[str]:
    found = {p.code: p for p in (await session.execute(select(Project).where(Project.code.in_(codes)))).scalars()}
    errors = [{"field": f"projects.{i}", "reason": f"{c}: 项目不存在 (no such project)"} if c not in found else
              {"field": f"projects.{i}", "reason": f"{c}: 不在{county}辖区 (outside the county)"}
              for i, c in enumerate(codes) if c not in found or not divisions.within(found[c].division, county)]
    if errors:
        raise Unprocessable("结对项目须为本县项目库中的项目 (a pairing's projects are projects of the county's library)",
                            errors=errors)
    return codes


async def agree_pairing(session, principal: Principal, *, credit_code: str, county: str, villages: list[str],
                        first_year: int, last_year: int, commitments: dict[int, dict[str, int]], projects: list[str],
                        on: date) -> dict[str, Any]:
    ensure_jurisdiction(principal, county)
    try:
        enterprise = await session.get(Enterprise, rules.credit_code(credit_code))
    except rules.PairingError as exc:
        raise _refuse(exc) from None
    if enterprise is None:
        raise Unprocessable("企业未登记 (the enterprise is not registered)",
                            errors=[{"field": "credit_code", "reason": "not registered: POST /enterprises first"}])
    if divisions.level(county) != divisions.Level.COUNTY:
        raise Unprocessable("结对在县级登记 (a pairing is registered by a county)",
                            errors=[{"field": "division", "reason": f"{county} is not a county code"}])
    bad = [{"field": f"villages.{i}", "reason": f"{v} 不是{county}的村 (not a village of the county)"}
           for i, v in enumerate(villages) if divisions.level(v) != divisions.Level.VILLAGE or not divisions.within(v, county)]
    if bad:
        raise Unprocessable("结对村须为本县的村 (paired villages are villages of the county)", errors=bad)
    years = range(first_year, last_year + 1)
    try:
        rules.check_commitments(years, commitments)
    except rules.PairingError as exc:
        raise _refuse(exc) from None
    codes = await _check_projects(session, county, list(dict.fromkeys(projects)))
    row = Pairing(id=uuid6.uuid7(), credit_code=enterprise.credit_code, division=county, villages=sorted(set(villages)),
                  first_year=first_year, last_year=last_year,
                  commitments={str(y): commitments[y] for y in years}, agreed_on=on)
    session.add(row)
    await session.flush()
    session.add_all(PairingProject(pairing_id=row.id, code=c) for c in codes)
    await append(session, [NewEvent("projects.pairing.agreed", str(row.id), {
        **_data(row), "enterprise": enterprise.name, "projects": codes}, principal.actor())])
    return await pairing_view(session, row)


def _data(row: Pairing) -> dict[str, Any]:
    return {"id": str(row.id), "credit_code": row.credit_code, "division": row.division, "villages": row.villages,
            "first_year": row.first_year, "last_year": row.last_year, "agreed_on": row.agreed_on.isoformat(),
            "commitments": {y: {k: (format_fen(v) if k.endswith("_fen") else v) for k, v in c.items()}
                            for y, c in row.commitments.items()}}


async def link_projects(session, principal: Principal, row: Pairing, codes: list[str]) -> dict[str, Any]:
    codes = await _check_projects(session, row.division, list(dict.fromkeys(codes)))
    have = set((await session.execute(select(PairingProject.code).where(PairingProject.pairing_id == row.id))).scalars())
    new = [c for c in codes if c not in have]
    session.add_all(PairingProject(pairing_id=row.id, code=c) for c in new)
    await append(session, [NewEvent("projects.pairing.projects_linked", str(row.id),
                                    {"id": str(row.id), "projects": new}, principal.actor())])
    await session.flush()
    return await pairing_view(session, row)


async def report_labourers(session, principal: Principal, row: Pairing, items: list[dict[str, Any]]) -> dict[str, Any]:
    ids = [i["household_id"] for i in items]
    known = {h.id: h for h in (await session.execute(select(RegistryHousehold).where(RegistryHousehold.id.in_(ids)))).scalars()}
    errors = []
    for i, item in enumerate(items):
        h = known.get(item["household_id"])
        if h is None or h.status not in eligibility.ELIGIBLE_STATUSES:
            errors.append({"field": f"items.{i}.household_id", "reason": "不是建档立卡户 (not a registered poor household)"})
        elif h.division not in row.villages:
            errors.append({"field": f"items.{i}.household_id", "reason": f"不在结对村 (the household is in {h.division}, "
                                                                          "not a paired village)"})
    if errors:
        raise Unprocessable("只能报告结对村建档立卡户的劳动力 (labourers are registered poor persons of the paired "
                            "villages)", errors=errors)
    have = set(tuple(r) for r in (await session.execute(select(PairingLabourer.household_id, PairingLabourer.name)
                                      .where(PairingLabourer.pairing_id == row.id))).all())
    new = [i for i in items if (i["household_id"], i["name"]) not in have]
    session.add_all(PairingLabourer(pairing_id=row.id, **i) for i in new)
    await append(session, [NewEvent("projects.pairing.labourers_reported", str(row.id), {"id": str(row.id), "labourers": [
        {"household_id": str(i["household_id"]), "name": i["name"], "hired_on": i["hired_on"].isoformat()} for i in new]},
        principal.actor())])
    await session.flush()
    return await pairing_view(session, row)


async def _codes(session, pairing_id: uuid.UUID) -> list[str]:
    return sorted((await session.execute(select(PairingProject.code).where(PairingProject.pairing_id == pairing_id))).scalars())


async def pairing_view(session, row: Pairing) -> dict[str, Any]:
    enterprise = await session.get(Enterprise, row.credit_code)
    labourers = (await session.execute(select(PairingLabourer).where(PairingLabourer.pairing_id == row.id)
                                       .order_by(PairingLabourer.hired_on, PairingLabourer.name))).scalars()
    return {**_data(row), "enterprise": enterprise_view(enterprise), "projects": await _codes(session, row.id),
            "labourers": [{"household_id": str(one.household_id), "name": one.name, "hired_on": one.hired_on.isoformat()}
                          for one in labourers]}


async def facts(session, row: Pairing, year: int) -> rules.Facts:
    """What the records show for the pairing's projects in ``year`` (guarantee 3 of the domain)."""
    codes = await _codes(session, row.id)
    projects = [p for p in (await session.execute(select(Project.code).where(Project.code.in_(codes),
                                                                             Project.year == year))).scalars()]
    households = {str(h.id): {"number": h.number, "head": h.head_name, "village": h.division}
                  for h in (await session.execute(
                      select(RegistryHousehold).join(Beneficiary, Beneficiary.household_id == RegistryHousehold.id)
                      .where(Beneficiary.code.in_(projects)).distinct())).scalars()}
    benefits = [(str(b.household_id), b.kind, b.amount_fen) for b in (await session.execute(
        select(BenefitRecord).where(BenefitRecord.code.in_(codes), extract("year", BenefitRecord.on) == year))).scalars()]
    paid = list((await session.execute(select(FundingPosting).where(
        FundingPosting.code.in_(codes), FundingPosting.operation == "disburse",
        extract("year", FundingPosting.on) == year).order_by(FundingPosting.on))).scalars())
    numbers = {h.id: h.number for h in (await session.execute(select(RegistryHousehold).where(RegistryHousehold.id.in_(
        (await session.execute(select(PairingLabourer.household_id).where(PairingLabourer.pairing_id == row.id))).scalars()
    )))).scalars()}
    roster = [{"household_id": str(one.household_id), "household_number": numbers.get(one.household_id), "name": one.name,
               "hired_on": one.hired_on.isoformat()} for one in (await session.execute(
                   select(PairingLabourer).where(PairingLabourer.pairing_id == row.id,
                                                 PairingLabourer.hired_on <= date(year, 12, 31))
                   .order_by(PairingLabourer.hired_on, PairingLabourer.name))).scalars()]
    return rules.Facts(households=households, benefits=benefits, roster=roster,
                       disbursed_fen=sum(p.amount_fen for p in paid),
                       disbursements=[{"project": p.code, "on": p.on.isoformat(), "amount_fen": p.amount_fen,
                                       "payee": (p.payee or {}).get("name")} for p in paid])


async def report(session, row: Pairing, year: int) -> dict[str, Any]:
    if not row.first_year <= year <= row.last_year:
        raise Unprocessable(f"结对年度为{row.first_year}–{row.last_year} (the pairing runs {row.first_year}–{row.last_year})",
                            errors=[{"field": "year", "reason": f"outside {row.first_year}–{row.last_year}"}])
    lines = rules.actuals(row.commitments[str(year)], await facts(session, row, year))
    enterprise = await session.get(Enterprise, row.credit_code)
    return {"pairing": str(row.id), "year": year, "enterprise": enterprise_view(enterprise), "division": row.division,
            "villages": row.villages, "projects": await _codes(session, row.id),
            "lines": [line.as_dict(format_fen) for line in lines]}


REPORT_HEADER = ("企业名称", "统一社会信用代码", "年度", "量化任务", "单位", "目标", "实际", "差距", "是否完成", "计入明细",
                 "未计入明细")


def report_rows(body: dict[str, Any]) -> list[list[Any]]:
    """The report as CSV rows: one per commitment; the persons/households behind it in one cell."""
    def names(items):
        return "；".join(str(i.get("name") or i.get("number") or i.get("village") or i.get("project") or i.get("household_id"))
                        + (f"（{i['household_number']}）" if i.get("household_number") else "") for i in items)
    e = body["enterprise"]
    return [[e["name"], e["credit_code"], body["year"], line["label"], line["unit"], line["target"], line["actual"],
             line["gap"], "是" if line["met"] else "否", names(line["behind"]), names(line["not_counted"])]
            for line in body["lines"]]
