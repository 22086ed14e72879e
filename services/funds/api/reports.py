"""Reports: deadlines, spending progress (支出进度), balances, stranded funds, deadline compliance,
and the trace of any yuan (资金流向全程追溯)."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from fastapi import Path, Query, Request
from fastapi.responses import Response
from sqlalchemy import func, select

from services.funds.api import exports
from services.funds.usecases.deadlines import as_of as deadlines_as_of, view
from services.funds.usecases.accounts import account_key, account_view
from services.funds.api.schemas import (
    BalancesOut, DeadlineComplianceOut, DeadlinesOut, SpendingOut, StrandedReportOut, TraceOut,
)
from services.funds.domain.code_lists import label
from services.funds.domain.reporting import deadline_compliance, percent, stranded_due
from services.funds.usecases.figures import balances_as_of, spending_figures
from services.funds.usecases.ledger import load_ledger
from services.funds.models import accounts, deadlines, postings
from shared import divisions
from shared.auth import Reader, Role, ensure_jurisdiction, query_scope
from shared.divisions import DivisionCode
from shared.errors import NotFound, Unprocessable
from shared.money import format_fen
from shared.web import Session, router
from shared.web.export import exportable
from shared.fields import BigId, FiscalYear, Instant
from shared.witness import receipts
from shared.policy.citations import public_citation

reports = router(tags=["reports"])
#: who reads the funds reports (auditors pass every read; see shared.auth.require)
Readers = Reader(Role.central_finance, Role.province_finance, Role.city_finance, Role.county_finance,
                 Role.province_office, Role.city_office, Role.county_office)


@reports.get("/deadlines", summary="Deadlines with days remaining or overdue", responses={200: {"model": DeadlinesOut}},
                description="Set when money is received (预算法 Art. 52 and provincial rules from the policy table), "
                "met when the money has gone on, missed once the due day has passed — as of the service's clock at "
                "the moment of the read (right after `POST /dev/clock` too); the scheduler records the same "
                "transitions as events.")
@exportable(exports.DEADLINES)
async def list_deadlines(request: Request, principal: Readers, session: Session, division: DivisionCode | None = None,
                         state: Literal["open", "met", "missed", "withdrawn"] | None = None) -> dict[str, Any]:
    scope = query_scope(principal, division)
    query = select(deadlines).where(deadlines.c.receiver.startswith(divisions.prefix(scope)))
    rows = (await session.execute(query.order_by(deadlines.c.due.nulls_last(), deadlines.c.basis_seq))).mappings().all()
    today = request.app.state.clock.today()
    current = await deadlines_as_of(session, rows, today)
    return {"division": scope, "as_of": today.isoformat(),
            "items": [view(r, today) for r in current if state is None or r["state"] == state]}


@reports.get("/reports/spending", summary="Spending progress (支出进度) by division and year",
             responses={200: {"model": SpendingOut}},
                description="Net of reversals (冲正). `received`: all the money that came to the division for the year, "
                "split by source (`received_by_source`: allocated and re-allocated from above, its own level's budget "
                "`own_appropriation` — a county's own funds —, balances `carried_forward` from last year) and by the "
                "level it comes from (`received_by_origin`); then passed on, committed, de-committed, disbursed, "
                "stranded, returned and carried out at the year-end close, with the share disbursed of received.")
@exportable(exports.SPENDING)
async def spending(request: Request, fiscal_year: FiscalYear, principal: Readers, session: Session,
                   division: DivisionCode | None = None) -> dict[str, Any]:
    return await spending_figures(session, query_scope(principal, division), fiscal_year)


@reports.get("/balances", summary="Balances by division, channel, year and kind (now, or as of an instant)",
             responses={200: {"model": BalancesOut}})
@exportable(exports.BALANCES)
async def balances(principal: Readers, session: Session, division: DivisionCode | None = None,
                   channel: str | None = None, fiscal_year: FiscalYear | None = None, kind: str | None = None,
                   as_of: Instant | None = Query(None, description="an instant (ISO 8601 with offset): the balances "
                                                       "then, from the postings recorded up to it")) -> dict[str, Any]:
    """Every account under the division with its balance in yuan (account id, holder division and role, channel, fiscal
    year, kind, reference); filter by channel, year and kind. With `as_of`: every account a posting recorded up to that
    instant touched, with its balance then (summed from those postings)."""
    scope = query_scope(principal, division)
    if as_of is not None:
        items = await balances_as_of(session, scope, as_of, {"channel": channel, "fiscal_year": fiscal_year, "kind": kind})
        return {"division": scope, "as_of": as_of.isoformat(), "items": items}
    query = select(accounts).where(accounts.c.division.startswith(divisions.prefix(scope)))
    for column, value in (("channel", channel), ("fiscal_year", fiscal_year), ("kind", kind)):
        if value is not None:
            query = query.where(accounts.c[column] == value)
    rows = (await session.execute(query.order_by(accounts.c.division, accounts.c.channel, accounts.c.kind))).mappings()
    return {"division": scope, "items": [account_view(r) for r in rows]}


TRACE_KINDS = {"payee": ("disbursed",), "project": ("committed", "stranded")}


@reports.get("/reports/deadline-compliance", summary="Deadline compliance by receiving division and kind",
             responses={200: {"model": DeadlineComplianceOut}},
             description="Met on time, missed (incl. settled late), open and open-but-overdue deadlines, the compliance "
             "rate over settled ones and days from receipt to settlement (DOMAIN §8). Deadlines withdrawn because their "
             "allocation was reversed (冲正) are shown as `withdrawn` and not counted in `total` or the rate.")
@exportable(exports.DEADLINE_COMPLIANCE)
async def deadline_compliance_report(request: Request, principal: Readers, session: Session,
                                     division: DivisionCode | None = None,
                                     fiscal_year: FiscalYear | None = None) -> dict[str, Any]:
    scope = query_scope(principal, division)
    query = select(deadlines).where(deadlines.c.receiver.startswith(divisions.prefix(scope)))
    if fiscal_year is not None:
        query = query.where(deadlines.c.fiscal_year == fiscal_year)
    rows = (await session.execute(query)).mappings().all()
    rows = await deadlines_as_of(session, rows, request.app.state.clock.today())
    groups = deadline_compliance(rows, request.app.state.clock.today())
    totals = {k: sum(g[k] for g in groups) for k in ("total", "met", "missed", "open", "open_overdue", "settled_late",
                                                       "withdrawn")}
    settled = totals["met"] + totals["missed"]
    return {"division": scope, "fiscal_year": fiscal_year, "as_of": request.app.state.clock.today().isoformat(),
            **totals, "compliance_percent": percent(totals["met"], settled) if settled else None, "groups": groups}


@reports.get("/reports/stranded", summary="Stranded funds (滞留资金): still held, returned, and the return deadline",
             responses={200: {"model": StrandedReportOut}},
             description="Per account of stranded money: the project, how much was stranded and returned, what is still "
             "held, and the day it must be back at the provincial treasury (end of the next fiscal year, "
             "rule funds.stranded.return) with days remaining or overdue.")
@exportable(exports.STRANDED)
async def stranded_report(request: Request, principal: Readers, session: Session, division: DivisionCode | None = None,
                          fiscal_year: FiscalYear | None = None) -> dict[str, Any]:
    scope = query_scope(principal, division)
    today, policy = request.app.state.clock.today(), request.app.state.policy
    query = select(accounts).where(accounts.c.kind == "stranded", accounts.c.division.startswith(divisions.prefix(scope)))
    if fiscal_year is not None:
        query = query.where(accounts.c.fiscal_year == fiscal_year)
    rows = (await session.execute(
        query.order_by(accounts.c.division, accounts.c.fiscal_year, accounts.c.reference))).mappings().all()
    ids = [row["id"] for row in rows]
    flows = {}  # (account id, operation) → amount: money stranded into these accounts, returned out of them
    for column, operation in ((postings.c.to_account, "strand"), (postings.c.from_account, "return")):
        for account_id, amount in await session.execute(
                select(column, func.sum(postings.c.amount_fen))
                .where(postings.c.operation == operation, column.in_(ids)).group_by(column)):
            flows[(account_id, operation)] = int(amount)
    items, held_total = [], 0
    for row in rows:
        held = row["balance_fen"]
        held_total += held
        due = stranded_due(policy, row["division"], row["fiscal_year"], today)
        item = {**account_view(row), "project_code": row["reference"] or None,
                "stranded": format_fen(flows.get((row["id"], "strand"), 0)),
                "returned": format_fen(flows.get((row["id"], "return"), 0)), "held": format_fen(held),
                "due": None, "rule_id": None, "citation": None, "days_remaining": None, "days_overdue": None}
        if due is not None:
            item.update(due=due[0].isoformat(), rule_id=due[1], citation=public_citation(due[2]))
            if held > 0:
                item["days_remaining" if today <= due[0] else "days_overdue"] = abs((due[0] - today).days)
        items.append(item)
    return {"division": scope, "fiscal_year": fiscal_year, "as_of": today.isoformat(), "held": format_fen(held_total),
            "overdue": sum(1 for i in items if i["days_overdue"]), "items": items}


@reports.get("/trace", summary="Trace money back to its appropriation (资金流向全程追溯)",
             description="Exactly one of `payee` (kind:name or kind:household id, as in the balances), `project` "
             "(project code: its committed and stranded accounts) or `account` (an account id from the balances). "
             "Lists every posting the money came through, from the appropriation down, in ledger order.",
             responses={200: {"model": TraceOut}, 404: {"description": "no such payee, project or account"}})
@exportable(exports.TRACE)
async def trace(principal: Readers, session: Session, payee: str | None = Query(None, min_length=2),
                project: str | None = Query(None, min_length=2), account: BigId | None = None,
                as_of: Instant | None = Query(None, description="an instant: the trace from the postings recorded "
                                                    "up to it")) -> dict[str, Any]:
    given = {name: value for name, value in (("payee", payee), ("project", project), ("account", account)) if value is not None}
    if len(given) != 1:
        raise Unprocessable("给出 payee、project、account 之一 (give exactly one of payee, project, account)",
                            errors=[{"field": "query", "reason": "exactly one of payee, project, account"}])
    [(what, value)] = given.items()
    query = select(accounts)
    if what == "account":
        query = query.where(accounts.c.id == value)
    else:
        query = query.where(accounts.c.reference == value, accounts.c.kind.in_(TRACE_KINDS[what]))
    rows = (await session.execute(query)).mappings().all()
    if not rows:
        raise NotFound(f"没有该{ {'payee': '收款人', 'project': '项目', 'account': '账户'}[what] }的资金记录 "
                       f"(no {what} {value!r} in the ledger)")
    for row in rows:
        ensure_jurisdiction(principal, row["division"])
    targets = frozenset(account_key(row) for row in rows)
    steps = (await load_ledger(session, as_of)).trace(targets)
    return {what: value, **({"as_of": as_of.isoformat()} if as_of else {}), "accounts": [account_view(row) for row in rows],
            "postings": [{**p.as_dict(), "amount": format_fen(p.amount_fen),
                          "operation_label": label("operation", p.operation),
                          "purpose_label": p.purpose and label("purpose", p.purpose)} for p in steps]}


@reports.get("/postings/{posting_id}/receipt", response_class=Response,
             summary="A receipt of one posting (a payment line): the event, its inclusion proof, the signed checkpoint",
             description="One JSON file for the payee, readable by whoever may read the posting's accounts: the event "
             "that records the posting exactly as hashed (a batch's event holds the batch's other lines too), its "
             "inclusion proof and a signed, co-signed checkpoint. Verify offline with `fupin verify-receipt`.",
             responses={**receipts.ANSWERS, 404: {"description": "no such posting"},
                        503: {"description": "not yet in a signed checkpoint; retry after Retry-After"}})
async def posting_receipt(request: Request, principal: Readers, session: Session,
                          posting_id: str = Path(min_length=1, max_length=64)) -> Response:
    row = (await session.execute(
        select(postings.c.event_seq, accounts.c.division).select_from(postings.join(
            accounts, accounts.c.id == postings.c.to_account)).where(postings.c.id == posting_id))).first() \
        if _is_uuid(posting_id) else None
    if row is None:
        raise NotFound(f"没有该拨付记录 (no posting {posting_id})")
    ensure_jurisdiction(principal, row.division)
    return await receipts.issue(request, session, row.event_seq)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
