"""Reports: deadlines, spending progress (支出进度), balances, stranded funds, deadline compliance,
and the trace of any yuan (资金流向全程追溯)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import Depends, Query, Request
from sqlalchemy import func, select

from services.funds.deadlines_store import view
from services.funds.ledger_store import load_ledger
from services.funds.models import accounts, deadlines, postings
from shared import divisions
from shared.auth import Principal, Role, ensure_jurisdiction, require
from shared.divisions import DivisionCode
from shared.money import format_fen
from shared.web import db_session, router

reports = router(tags=["reports"])


@reports.get("/deadlines", summary="Deadlines with days remaining or overdue",
                description="Set when money is received (预算法 Art. 52 and provincial rules from the policy table), "
                "marked met or missed by a scheduler on the service's clock.")
async def list_deadlines(request: Request, division: DivisionCode | None = None,
                         state: Literal["open", "met", "missed"] | None = None,
                         principal: Principal = Depends(require(Role.central_finance, Role.province_finance, Role.city_finance,
                                                                Role.county_finance, Role.province_office, Role.county_office)),
                         session=Depends(db_session)) -> dict[str, Any]:
    scope = division or principal.division
    ensure_jurisdiction(principal, scope)
    query = select(deadlines).where(deadlines.c.receiver.startswith(divisions.prefix(scope)))
    if state:
        query = query.where(deadlines.c.state == state)
    rows = (await session.execute(query.order_by(deadlines.c.due.nulls_last(), deadlines.c.basis_seq))).mappings()
    today = request.app.state.clock.today()
    return {"division": scope, "items": [view(r, today) for r in rows]}


@reports.get("/reports/spending", summary="Spending progress (支出进度) by division and year",
                description="Received (allocations in), passed on, committed and disbursed, with the share disbursed.")
async def spending(request: Request, fiscal_year: int = Query(ge=2000, le=2100), division: DivisionCode | None = None,
                   principal: Principal = Depends(require(Role.central_finance, Role.province_finance, Role.city_finance,
                                                          Role.county_finance, Role.province_office, Role.county_office)),
                   session=Depends(db_session)) -> dict[str, Any]:
    scope = division or principal.division
    ensure_jurisdiction(principal, scope)
    source, target = accounts.alias("source"), accounts.alias("target")
    rows = (await session.execute(
        select(postings.c.operation, source.c.division.label("from_division"), target.c.division.label("to_division"),
               func.sum(postings.c.amount_fen).label("amount"))
        .join(source, source.c.id == postings.c.from_account).join(target, target.c.id == postings.c.to_account)
        .where(target.c.fiscal_year == fiscal_year)
        .group_by(postings.c.operation, source.c.division, target.c.division))).mappings().all()
    figures = {"received": 0, "passed_on": 0, "committed": 0, "disbursed": 0, "stranded": 0, "returned": 0}
    for row in rows:
        op, inside_from, amount = row["operation"], row["from_division"] == scope, int(row["amount"])
        if op in ("allocate", "reallocate") and row["to_division"] == scope:
            figures["received"] += amount
        if op in ("allocate", "reallocate") and inside_from:
            figures["passed_on"] += amount
        for operation, name in (("commit", "committed"), ("disburse", "disbursed"), ("strand", "stranded"),
                                ("return", "returned")):
            if op == operation and inside_from:
                figures[name] += amount
    progress = None
    if figures["received"]:
        hundredths = (figures["disbursed"] * 10000 * 2 + figures["received"]) // (2 * figures["received"])
        progress = f"{hundredths // 100}.{hundredths % 100:02d}"
    return {"division": scope, "fiscal_year": fiscal_year, **{k: format_fen(v) for k, v in figures.items()},
            "disbursed_percent": progress}


@reports.get("/balances", summary="Balances by division, channel, year and kind")
async def balances(division: DivisionCode | None = None, channel: str | None = None, fiscal_year: int | None = None,
                   kind: str | None = None,
                   principal: Principal = Depends(require(Role.central_finance, Role.province_finance, Role.city_finance,
                                                          Role.county_finance, Role.province_office, Role.county_office)),
                   session=Depends(db_session)) -> dict[str, Any]:
    scope = division or principal.division
    ensure_jurisdiction(principal, scope)
    query = select(accounts).where(accounts.c.division.startswith(divisions.prefix(scope)))
    for column, value in (("channel", channel), ("fiscal_year", fiscal_year), ("kind", kind)):
        if value is not None:
            query = query.where(accounts.c[column] == value)
    rows = (await session.execute(query.order_by(accounts.c.division, accounts.c.channel, accounts.c.kind))).mappings()
    items = [{"division": r["division"], "role": r["role"], "channel": r["channel"], "fiscal_year": r["fiscal_year"],
              "kind": r["kind"], "reference": r["reference"] or None, "balance": format_fen(r["balance_fen"])} for r in rows]
    return {"division": scope, "items": items}


@reports.get("/trace", summary="Trace money back to its appropriation (资金流向全程追溯)",
                description="Give a project code, a payee (kind:name) or any account reference.")
async def trace(reference: str = Query(min_length=2), principal: Principal = Depends(require(
                    Role.central_finance, Role.province_finance, Role.city_finance, Role.county_finance)),
                session=Depends(db_session)) -> dict[str, Any]:
    ledger = await load_ledger(session)
    steps = ledger.trace(reference)
    return {"reference": reference, "postings": [{**p.as_dict(), "amount": format_fen(p.amount_fen)} for p in steps]}
