"""The county's announcement of its fund allocation and integration results (DOMAIN §6)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import Request
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from services.funds.api.schemas import ResultsNoticeOut
from services.funds.domain import CHANNEL_LABELS
from services.funds.models import accounts, postings, projects_view
from shared import announcements, divisions
from shared.auth import Role, Writer
from shared.errors import Unprocessable
from shared.money import format_fen
from shared.web import Session, router
from shared.fields import FiscalYear, Name

notices = router(tags=["announcements (公告公示)"])


class ResultsNoticeIn(BaseModel):
    fiscal_year: FiscalYear
    period_start: date
    period_end: date
    hotline_local: Name = Field(min_length=3, max_length=40)


SECTIONS = ["收到资金", "统筹整合", "安排项目"]
HEADINGS = {"appropriate": "收到资金", "allocate": "收到资金", "reallocate": "收到资金", "integrate": "统筹整合",
            "commit": "安排项目"}


COLUMNS = ["类别", "来源层级", "资金渠道", "方案/项目", "建设地点", "建设内容", "实施单位", "金额（元）"]


def _row(flow, projects: dict) -> list[str]:
    """One line of the table: where money came from (the level that sent it: 中央/省/市, or the
    county's own budget), what was integrated, and per project its name, place, content and
    responsible unit (DOMAIN §6, from version 2 of the projects' library event when known)."""
    operation, reference = flow["operation"], flow["reference"] or ""
    from_level = divisions.level(flow["from_division"]).label_zh if operation not in ("integrate", "commit") else ""
    project = projects.get(reference) if operation == "commit" else None
    name, place, content, unit = ((project["name"] or reference, project["division"], project["content"] or "",
                                   project["implementing_unit"] or "") if project else (reference, "", "", ""))
    return [HEADINGS[operation], from_level, CHANNEL_LABELS.get(flow["channel"], flow["channel"]), name, place, content,
            unit, format_fen(int(flow["amount"]))]


@notices.post("/results-notices", status_code=201, summary="Announce the county's fund allocation and integration results",
                 responses={201: {"model": ResultsNoticeOut}},
                 description="A county announcement (DOMAIN §6): funds received by source channel, integrated into the "
                 "pool, and the per-project table of commitments, with the supervision hotlines.")
async def results_notice(body: ResultsNoticeIn, request: Request,
                         principal: Writer(Role.county_finance, Role.county_office),
                         session: Session) -> dict[str, Any]:
    county = principal.division
    source, target = accounts.alias("source"), accounts.alias("target")
    flows = (await session.execute(
        select(postings.c.operation, source.c.division.label("from_division"), target.c.channel, target.c.reference,
               func.sum(postings.c.amount_fen).label("amount"))
        .join(source, source.c.id == postings.c.from_account).join(target, target.c.id == postings.c.to_account)
        .where(target.c.fiscal_year == body.fiscal_year, target.c.division == county,
               postings.c.operation.in_(["appropriate", "allocate", "reallocate", "integrate", "commit"]))
        .group_by(postings.c.operation, source.c.division, target.c.channel, target.c.reference)
        .order_by(postings.c.operation, source.c.division, target.c.channel, target.c.reference))).mappings().all()
    if not flows:
        raise Unprocessable(f"{body.fiscal_year}年度没有资金记录 (no funds recorded for {body.fiscal_year})",
                            errors=[{"field": "fiscal_year", "reason": "no funds"}])
    codes = [f["reference"] for f in flows if f["operation"] == "commit"]
    projects = {p["code"]: p for p in (await session.execute(
        select(projects_view).where(projects_view.c.code.in_(codes)))).mappings()}
    rows = sorted((_row(f, projects) for f in flows), key=lambda row: SECTIONS.index(row[0]))
    clock = request.app.state.clock
    draft = await announcements.announce(
        session, actor=principal.actor(), clock=clock, policy=request.app.state.policy, start=body.period_start,
        end=body.period_end, subject_type="funds_results", subject_id=f"{county}:{body.fiscal_year}",
        level="county", division=county, title=f"{body.fiscal_year}年度财政扶贫资金分配和涉农资金整合结果公告",
        content={"body": "现将本年度财政扶贫资金来源、统筹整合和项目安排情况公告如下，接受社会监督。",
                 "table": {"columns": COLUMNS, "rows": rows}},
        people=[], hotline_local=body.hotline_local)
    return {"announcement_id": str(draft.id), "rows": len(rows)}


