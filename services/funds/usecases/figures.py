"""Read models of the funds service that say what they mean (issue #14): a project's money as
separate figures, spending with ``received`` split by source, and balances as of an instant —
each computed from the posting rows, a reversal (冲正) counted as its original taken back.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Mapping

from sqlalchemy import Text, and_, cast, func, or_, select, union_all

from services.funds.domain import CHANNELS, ORIGINS
from services.funds.models import accounts, postings
from services.funds.usecases.accounts import account_view
from shared import divisions
from shared.events.schema import events
from shared.money import format_fen

_SIDE = ("division", "kind", "reference", "channel", "fiscal_year")


async def _flows(session, where: Callable[[Any, Any], Any]) -> list[dict[str, Any]]:
    """Posting sums grouped by operation and both accounts' division, kind, reference, channel and
    year, of the postings ``where(source, target)`` selects (a condition on both accounts); a reversal
    becomes its original operation with the sides swapped and the amount negative."""
    source, target, original = accounts.alias("source"), accounts.alias("target"), postings.alias("original")
    columns = [*(source.c[c].label(f"from_{c}") for c in _SIDE), *(target.c[c].label(f"to_{c}") for c in _SIDE)]
    rows = (await session.execute(
        select(postings.c.operation, original.c.operation.label("reversed"), *columns,
               func.sum(postings.c.amount_fen).label("amount"))
        .join(source, source.c.id == postings.c.from_account).join(target, target.c.id == postings.c.to_account)
        .outerjoin(original, and_(postings.c.operation == "reverse", cast(original.c.id, Text) == postings.c.reference))
        .where(where(source, target))
        .group_by(postings.c.operation, original.c.operation, *columns))).mappings().all()
    out = []
    for row in rows:
        flow = {"operation": row["operation"], "amount": int(row["amount"]),
                **{f"from_{c}": row[f"from_{c}"] for c in _SIDE}, **{f"to_{c}": row[f"to_{c}"] for c in _SIDE}}
        if row["operation"] == "reverse" and row["reversed"]:
            flow = {"operation": row["reversed"], "amount": -flow["amount"],
                    **{f"from_{c}": flow[f"to_{c}"] for c in _SIDE}, **{f"to_{c}": flow[f"from_{c}"] for c in _SIDE}}
        out.append(flow)
    return out


PROJECT_KINDS = ("committed", "stranded")


async def project_figures(session, code: str) -> dict[str, str]:
    """A project's money, each figure on its own (yuan strings):

    * ``committed`` — bound to the project, net of de-commitments: paid + remaining + stranded + returned;
    * ``paid`` — disbursed (拨付) to payees;
    * ``remaining`` — committed and not yet paid (the balance of its committed accounts);
    * ``stranded`` — declared stranded (滞留资金) and still held by the county;
    * ``returned`` — stranded or committed money returned to the province (收回);
    * ``decommitted`` — given back to the pool or available money (项目结余资金退回).
    """
    flows = await _flows(session, lambda source, target: or_(
        and_(source.c.reference == code, source.c.kind.in_(PROJECT_KINDS)),
        and_(target.c.reference == code, target.c.kind.in_(PROJECT_KINDS))))
    figures = dict.fromkeys(("paid", "returned", "decommitted"), 0)
    for flow in flows:
        name = {"disburse": "paid", "return": "returned", "decommit": "decommitted"}.get(flow["operation"])
        if name is not None and flow["from_reference"] == code:
            figures[name] += flow["amount"]
        elif flow["operation"] == "payment_return" and flow["to_reference"] == code:  # refused by the bank: back
            figures["paid"] -= flow["amount"]
    held = dict((await session.execute(
        select(accounts.c.kind, func.sum(accounts.c.balance_fen)).where(
            accounts.c.reference == code, accounts.c.kind.in_(PROJECT_KINDS)).group_by(accounts.c.kind))).all())
    remaining, stranded = int(held.get("committed", 0)), int(held.get("stranded", 0))
    committed = figures["paid"] + remaining + stranded + figures["returned"]
    return {"committed": format_fen(committed), "paid": format_fen(figures["paid"]), "remaining": format_fen(remaining),
            "stranded": format_fen(stranded), "returned": format_fen(figures["returned"]),
            "decommitted": format_fen(figures["decommitted"])}


RECEIPTS = {"allocate": "allocated", "reallocate": "reallocated", "appropriate": "own_appropriation",
            "carry_forward": "carried_forward"}


async def spending_figures(session, scope: str, fiscal_year: int) -> dict[str, Any]:
    """Spending progress (支出进度) of ``scope`` for ``fiscal_year``, net of reversals. ``received``
    is all the money that came to the division for the year — allocated and re-allocated from above,
    its own level's budget (``own_appropriation``: a county's own 县级财政专项扶贫资金) and last
    year's balances carried forward — split by source (``received_by_source``) and by the level the
    money comes from (``received_by_origin``: central, provincial, city, county, other)."""
    flows = await _flows(session, lambda source, target: or_(source.c.fiscal_year == fiscal_year,
                                                             target.c.fiscal_year == fiscal_year))
    by_source = dict.fromkeys(RECEIPTS.values(), 0)
    by_origin = dict.fromkeys(ORIGINS, 0)
    figures = dict.fromkeys(("passed_on", "committed", "decommitted", "disbursed", "stranded", "returned",
                             "carried_out"), 0)
    for flow in flows:
        op, amount = flow["operation"], flow["amount"]
        into_year = flow["to_fiscal_year"] == fiscal_year
        from_here, from_year = flow["from_division"] == scope, flow["from_fiscal_year"] == fiscal_year
        if op in RECEIPTS and flow["to_division"] == scope and into_year and flow["to_kind"] == "available" \
                or op == "carry_forward" and flow["to_division"] == scope and into_year:
            by_source[RECEIPTS[op]] += amount
            by_origin[CHANNELS[flow["to_channel"]].origin] += amount
        if op == "carry_forward" and from_here and from_year:
            figures["carried_out"] += amount
        if not (from_here and into_year and from_year):
            continue
        if op in ("allocate", "reallocate"):
            figures["passed_on"] += amount
        if op == "payment_return":  # money the bank refused, back in the commitment: not disbursed after all
            figures["disbursed"] -= amount
        name = {"commit": "committed", "decommit": "decommitted", "disburse": "disbursed", "strand": "stranded",
                "return": "returned"}.get(op)
        if name:
            figures[name] += amount
    received = sum(by_source.values())
    return {"division": scope, "fiscal_year": fiscal_year, "received": format_fen(received),
            "received_by_source": {k: format_fen(v) for k, v in by_source.items()},
            "received_by_origin": {k: format_fen(v) for k, v in by_origin.items()},
            **{k: format_fen(v) for k, v in figures.items()},
            "disbursed_percent": _percent(figures["disbursed"], received)}


def _percent(part: int, whole: int) -> str | None:
    from services.funds.domain.reporting import percent

    return percent(part, whole) if whole else None


async def balances_as_of(session, scope: str, as_of: datetime,
                         filters: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every account under ``scope`` that any posting recorded up to ``as_of`` touched, with its
    balance then: the sum of the postings whose events' recorded time is at or before ``as_of``."""
    moves = union_all(
        select(postings.c.to_account.label("account"), postings.c.amount_fen.label("delta"), postings.c.event_seq),
        select(postings.c.from_account.label("account"), (-postings.c.amount_fen).label("delta"), postings.c.event_seq),
    ).subquery()
    query = (select(accounts.c.id, accounts.c.division, accounts.c.role, accounts.c.channel, accounts.c.fiscal_year,
                    accounts.c.kind, accounts.c.reference, func.sum(moves.c.delta).label("balance_fen"))
             .join(moves, moves.c.account == accounts.c.id).join(events, events.c.seq == moves.c.event_seq)
             .where(events.c.time <= as_of, accounts.c.division.startswith(divisions.prefix(scope))))
    for column, value in filters.items():
        if value is not None:
            query = query.where(accounts.c[column] == value)
    rows = (await session.execute(query.group_by(accounts.c.id).order_by(
        accounts.c.division, accounts.c.channel, accounts.c.kind, accounts.c.id))).mappings().all()
    return [account_view({**row, "balance_fen": int(row["balance_fen"])}) for row in rows]
