"""Assets handed over by projects (资产移交) and the distribution of their income to the
shareholders, per period, announced at the village (seed 002 L289: 确保资产收益及时回馈持股贫困户)."""

from __future__ import annotations

from typing import Any

import uuid6
from fastapi import Path, Request
from sqlalchemy import select

from services.projects.api import exports
from services.projects.api.schemas import AssetsOut
from services.projects.usecases import projects
from services.projects.api.implementation import benefit_event
from services.projects.api.models import DistributionIn
from services.projects.api.projects import READERS
from services.projects.api.schemas import AssetOut
from services.projects.api.views import assets_of
from services.projects.domain import assets as asset_rules
from services.projects.models import Asset, BenefitRecord, Distribution, RegistryHousehold
from shared import announcements, divisions
from shared.auth import Principal, Reader, Role, Writer, ensure_jurisdiction, query_scope
from shared.divisions import DivisionCode
from shared.errors import Conflict, NotFound
from shared.events import NewEvent, append
from shared.money import format_fen
from shared.web import Session, router
from shared.web.export import exportable

assets = router(tags=["assets (扶贫资产)"])

INCOME_SUBJECT = "asset_income"


@assets.get("/assets", summary="Assets in your jurisdiction, with their income distributions",
            description="By division (default: yours) and optionally project. As a spreadsheet "
            "(`?format=csv|xlsx`): one row per asset, its income distributions summed.",
            responses={200: {"model": AssetsOut}})
@exportable(exports.ASSETS)
async def list_assets(principal: Reader(*READERS), session: Session, division: DivisionCode | None = None,
                      project: str | None = None) -> dict[str, Any]:
    scope = query_scope(principal, division)
    query = select(Asset.id).where(Asset.division.startswith(divisions.prefix(scope)))
    if project:
        query = query.where(Asset.code == project)
    ids = list((await session.execute(query.order_by(Asset.id))).scalars())
    return {"division": scope, "items": await assets_of(session, ids=ids)}


async def _asset(session, asset_id: str, principal: Principal, *, lock: bool = False) -> Asset:
    query = select(Asset).where(Asset.id == asset_id)
    row = (await session.execute(query.with_for_update() if lock else query)).scalar_one_or_none()
    if row is None:
        raise NotFound(f"资产不存在 (no asset {asset_id})")
    ensure_jurisdiction(principal, row.division)
    return row


@assets.get("/assets/{asset_id}", summary="One asset with its shares and income distributions",
            description="Kind, owner, operator, book value, the shares with their ratios and each period's income "
            "distribution with its village announcement; within your jurisdiction.",
            responses={200: {"model": AssetOut}})
async def read_asset(principal: Reader(*READERS), session: Session, asset_id: str = Path()) -> dict[str, Any]:
    row = await _asset(session, asset_id, principal)
    return (await assets_of(session, ids=[row.id]))[0]


@assets.post("/assets/{asset_id}/distributions", status_code=201,
             summary="Distribute an asset's income for a period to its shareholders (收益分配)",
             description="Splits the amount by share units with exact fen (largest remainder; the parts add up to the "
             "amount), records each household's dividend (published as `projects.benefit.recorded`, so the registry "
             "shows it) and announces the distribution at the asset's village. Once per asset and period.",
             responses={201: {"model": AssetOut}})
async def distribute(body: DistributionIn, request: Request, principal: Writer(Role.village, Role.county_office),
                     session: Session, asset_id: str = Path()) -> dict[str, Any]:
    clock, policy = request.app.state.clock, request.app.state.policy
    asset = await _asset(session, asset_id, principal, lock=True)
    projects.require_office(principal, ("village", "county"), asset.division)
    done = await session.scalar(select(Distribution.id).where(Distribution.asset_id == asset.id,
                                                              Distribution.period == body.period))
    if done is not None:
        raise Conflict(f"{asset.name}{body.period}期收益已分配 (the income of period {body.period} was already distributed)",
                       distribution=str(done))
    on = projects.check_date(body.on, clock.today(), after=asset.handed_over_on)
    shares = [asset_rules.Share(s["holder"], s["shares"]) for s in asset.shares]
    parts = asset_rules.split(body.amount, shares)
    households = {str(h.id): h for h in (await session.execute(select(RegistryHousehold).where(RegistryHousehold.id.in_(
        [s.holder for s in shares if s.holder != asset_rules.COLLECTIVE])))).scalars()}
    lines = [{"holder": holder, "shares": share.shares, "ratio_percent": asset_rules.ratio_percent(share, shares),
              "amount_fen": amount} for (holder, amount), share in zip(parts, shares)]

    def who(holder: str) -> list[str]:
        if holder == asset_rules.COLLECTIVE:
            return ["村集体", ""]
        household = households.get(holder)
        return [household.head_name or "", household.number] if household else ["", holder]

    table = {"columns": ["股东", "户编号", "股数", "占比（%）", "分配金额（元）"],
             "rows": [[*who(line["holder"]), str(line["shares"]), line["ratio_percent"], format_fen(line["amount_fen"])]
                      for line in lines]}
    notice = await announcements.announce(
        session, actor=principal.actor(), clock=clock, policy=policy, start=body.period_start, end=body.period_end,
        subject_type=INCOME_SUBJECT, subject_id=f"{asset.id}:{body.period}", level="village", division=asset.division,
        title=f"{asset.name}{body.period}收益分配公示",
        content={"body": f"{asset.name}（经营主体：{asset.operator['name']}）{body.period}收益{format_fen(body.amount)}元，"
                         f"按股分配如下。", "table": table},
        people=[], hotline_local=body.hotline_local)
    distribution = Distribution(id=uuid6.uuid7(), asset_id=asset.id, period=body.period, on=on, amount_fen=body.amount,
                                lines=lines, announcement_id=str(notice.id))
    session.add(distribution)
    events = [NewEvent("projects.asset.income_distributed", asset.code, {
        "asset_id": asset.id, "code": asset.code, "division": asset.division, "period": body.period,
        "on": on.isoformat(), "amount": format_fen(body.amount), "announcement_id": str(notice.id),
        "lines": [{**line, "amount": format_fen(line["amount_fen"])} for line in lines]}, principal.actor())]
    for line in lines:
        if line["holder"] != asset_rules.COLLECTIVE and line["amount_fen"] > 0:
            session.add(BenefitRecord(id=uuid6.uuid7(), code=asset.code, household_id=line["holder"], kind="dividend",
                                      amount_fen=line["amount_fen"], on=on, distribution_id=distribution.id))
            events.append(benefit_event(asset.code, line["holder"], "dividend", line["amount_fen"], on, principal.actor()))
    await session.flush()
    await append(session, events)
    return (await assets_of(session, ids=[asset.id]))[0]
