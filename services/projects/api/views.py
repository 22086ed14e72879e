"""How projects, assets and distributions are shown (money as yuan strings; no ID numbers —
households are named by their registry id, number and head's name)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select

from services.projects.domain import lifecycle
from services.funds.contract import CHANNEL_LABELS
from services.projects.domain.catalogue import ASSET_KINDS, BENEFIT_KINDS, MECHANISMS, TYPES
from services.projects.domain.funding import Funding, funding_of
from services.projects.models import (
    Acceptance, Asset, BenefitRecord, Beneficiary, Distribution, FundingPosting, Progress, Project, RegistryHousehold,
    StageChange,
)
from services.projects.usecases.projects import announcement_states
from shared.announcements.models import Announcement
from shared.money import format_fen


def _day(value) -> str | None:
    return value.isoformat() if value else None


def summary(project: Project, money: Funding, households: int = 0, persons: int = 0) -> dict[str, Any]:
    return {
        "code": project.code, "name": project.name, "type": project.type, "type_label": TYPES[project.type].label,
        "division": project.division, "year": project.year, "stage": project.stage,
        "stage_label": lifecycle.STAGES[project.stage], "implementing_unit": project.implementing_unit,
        "budget": format_fen(project.budget_fen), "funding": money.as_dict(), "progress_percent": project.progress_percent,
        "beneficiaries": {"households": households, "persons": persons},
    }


def plan_view(project: Project) -> dict[str, Any]:
    return {
        "schedule": project.schedule, "tasks": project.tasks,
        "sources": [{"channel": s["channel"], "channel_label": CHANNEL_LABELS.get(s["channel"], s["channel"]),
                     "amount": format_fen(s["amount_fen"])} for s in project.sources],
        "mechanisms": project.mechanisms, "mechanism_note": project.mechanism_note,
        "participation": project.participation, "targets": project.targets,
        "planned": {"households": project.planned_households, "persons": project.planned_persons},
        "completed_on": _day(project.completed_on), "cancel_reason": project.cancel_reason,
    }


async def beneficiary_totals(session, codes: list[str]) -> dict[str, tuple[int, int]]:
    rows = await session.execute(select(Beneficiary.code, func.count(), func.coalesce(func.sum(Beneficiary.persons), 0))
                                 .where(Beneficiary.code.in_(codes)).group_by(Beneficiary.code))
    return {code: (n, int(persons)) for code, n, persons in rows}


async def fundings(session, codes: list[str]) -> dict[str, Funding]:
    rows = (await session.execute(select(FundingPosting.code, FundingPosting.operation, FundingPosting.amount_fen)
                                  .where(FundingPosting.code.in_(codes)))).mappings().all()
    return {code: funding_of(r for r in rows if r["code"] == code) for code in codes}


def asset_view(asset: Asset, distributions: list[Distribution]) -> dict[str, Any]:
    return {
        "id": asset.id, "project": asset.code, "division": asset.division, "name": asset.name, "kind": asset.kind,
        "kind_label": ASSET_KINDS.get(asset.kind, asset.kind),
        "owner": asset.owner, "operator": asset.operator, "book_value": format_fen(asset.book_value_fen),
        "handed_over_on": _day(asset.handed_over_on), "shares": asset.shares,
        "distributions": [{"id": str(d.id), "period": d.period, "on": _day(d.on), "amount": format_fen(d.amount_fen),
                           "announcement_id": d.announcement_id,
                           "lines": [{**line, "amount": format_fen(line["amount_fen"])} for line in d.lines]}
                          for d in distributions],
    }


async def assets_of(session, codes: list[str] | None = None, ids: list[str] | None = None) -> list[dict[str, Any]]:
    query = select(Asset).order_by(Asset.id)
    query = query.where(Asset.code.in_(codes)) if codes is not None else query.where(Asset.id.in_(ids or []))
    assets = list((await session.execute(query)).scalars())
    distributions = list((await session.execute(select(Distribution).where(
        Distribution.asset_id.in_([a.id for a in assets])).order_by(Distribution.on, Distribution.period))).scalars())
    return [asset_view(a, [d for d in distributions if d.asset_id == a.id]) for a in assets]


async def full_record(session, project: Project) -> dict[str, Any]:
    """A project's full record: plan, stage history, funding, beneficiaries, benefits,
    announcements, progress, acceptance and assets."""
    code = project.code
    postings = list((await session.execute(select(FundingPosting).where(FundingPosting.code == code)
                                           .order_by(FundingPosting.on, FundingPosting.posting_id))).scalars())
    money = funding_of({"operation": p.operation, "amount_fen": p.amount_fen} for p in postings)
    people = (await session.execute(
        select(Beneficiary, RegistryHousehold).join(RegistryHousehold, RegistryHousehold.id == Beneficiary.household_id,
                                                    isouter=True)
        .where(Beneficiary.code == code).order_by(RegistryHousehold.number))).all()
    benefits = list((await session.execute(select(BenefitRecord).where(BenefitRecord.code == code)
                                           .order_by(BenefitRecord.on, BenefitRecord.id))).scalars())
    by_kind: dict[str, int] = {}
    for b in benefits:
        by_kind[b.kind] = by_kind.get(b.kind, 0) + b.amount_fen
    history = (await session.execute(select(StageChange).where(StageChange.code == code).order_by(StageChange.seq))).scalars()
    progress = (await session.execute(select(Progress).where(Progress.code == code)
                                      .order_by(Progress.on, Progress.percent))).scalars()
    acceptances = (await session.execute(select(Acceptance).where(Acceptance.code == code).order_by(Acceptance.on))).scalars()
    states = await announcement_states(session, project.announcements)
    ids = [uuid.UUID(v) for v in project.announcements.values()]
    notices = {str(a.id): a for a in (await session.execute(select(Announcement).where(Announcement.id.in_(ids)))).scalars()}
    return {
        **summary(project, money, len(people), sum(b.persons for b, _ in people)),
        **plan_view(project),
        "history": [{"stage": h.stage, "stage_label": lifecycle.STAGES[h.stage], "on": _day(h.effective_on), "seq": h.seq}
                    for h in history],
        "funding": {**money.as_dict(), "postings": [
            {"operation": p.operation, "amount": format_fen(p.amount_fen), "channel": p.channel,
             "channel_label": CHANNEL_LABELS.get(p.channel, p.channel),
             "fiscal_year": p.fiscal_year, "on": _day(p.on), "payee": p.payee} for p in postings]},
        "beneficiaries": {"households": len(people), "persons": sum(b.persons for b, _ in people), "items": [
            {"household_id": str(b.household_id), "number": h.number if h else None, "head": h.head_name if h else None,
             "status": h.status if h else None, "mechanism": b.mechanism,
             "mechanism_label": MECHANISMS.get(b.mechanism, b.mechanism), "persons": b.persons, "added_on": _day(b.added_on)}
            for b, h in people]},
        "benefits": {"total": format_fen(sum(by_kind.values())),
                     "by_kind": {k: format_fen(v) for k, v in sorted(by_kind.items())},
                     "items": [{"household_id": str(b.household_id), "kind": b.kind,
                                "kind_label": BENEFIT_KINDS.get(b.kind, b.kind), "amount": format_fen(b.amount_fen),
                                "on": _day(b.on)} for b in benefits]},
        "announcements": [{"key": key, "id": value, "state": states.get(key),
                           "title": notices[value].title if value in notices else None,
                           "level": notices[value].level if value in notices else None,
                           "period": notices[value].period if value in notices else None}
                          for key, value in project.announcements.items()],
        "progress": [{"on": _day(p.on), "percent": p.percent, "photos": p.photos, "note": p.note} for p in progress],
        "acceptances": [{"on": _day(a.on), "team": a.team, "result": a.result, "issues": a.issues} for a in acceptances],
        "assets": await assets_of(session, codes=[code]),
    }

