"""Money passed down the levels and back: the use cases behind ``POST /appropriations``,
``/allocations`` (下达), ``/integrations`` (涉农资金整合), ``/returns`` and ``/reallocations``.

Each one builds the posting of its command, posts it with its event in the request's unit of work
(``usecases.ledger.post``: refused with nothing written when a balance would go negative), and
records the deadlines the money sets on its receiver (``usecases.deadlines.set_for_receipt``) in the
same transaction. The router only parses the command and renders the answer.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.domain import check_allocation_by_factors, finance_account
from services.funds.usecases.commitments import Money, new_posting
from services.funds.usecases.deadlines import set_for_receipt, view
from services.funds.usecases.ledger import post
from services.funds.usecases.stranded import return_stranded
from shared.auth import Principal, ensure_jurisdiction
from shared.money import format_fen
from shared.policy import PolicyTable


class Appropriation(Money, Protocol):
    budget_approved_on: date | None


class FactorSheet(Protocol):
    total: int
    weights: dict[str, Any]
    recipients: dict[str, dict[str, Any]]


class Allocation(Money, Protocol):
    to_division: str
    advance: bool
    provincial_approval: bool
    budget_approved_on: date | None
    factor_sheet: FactorSheet | None


class Integration(Money, Protocol):
    plan: str


class Return(Money, Protocol):
    project_code: str


def answer(event: dict[str, Any]) -> dict[str, Any]:
    """A posting's response: its event's seq and type, and the event's data."""
    return {"seq": event["seq"], "event_type": event["type"], **event["data"]}


def _is_province(division: str) -> bool:
    return division[2:] == "0" * 10 and division != "0" * 12


async def appropriate(session: AsyncSession, policy: PolicyTable, principal: Principal, body: Appropriation, *,
                      now: datetime, today: date) -> dict[str, Any]:
    """Budget money booked at the caller's level; a province's own funds (省级财政专项扶贫资金) must be
    passed on too, so they set the province's onward deadline (funds.deadline.provincial_onward)."""
    own = principal.division
    event = await post(session, new_posting(
        principal, body, "appropriate", finance_account(own, body.channel, body.fiscal_year, "appropriation"),
        finance_account(own, body.channel, body.fiscal_year, "available")), actor=principal.actor(), posted_at=now)
    result = answer(event)
    if _is_province(own):
        deadlines = await set_for_receipt(session, policy, event=event, sender=own, advance=False,
                                          budget_approved_on=body.budget_approved_on or body.document_date)
        if deadlines:
            result["deadlines"] = [view(d, today) for d in deadlines]
    return result


def checked_sheet(principal: Principal, body: Allocation) -> dict[str, Any] | None:
    """The factor sheet as recorded in the event (with the computed parts), once it is shown that
    every recipient is in the caller's jurisdiction and the amount is the receiver's part."""
    sheet = body.factor_sheet
    if sheet is None:
        return None
    for code in sheet.recipients:
        ensure_jurisdiction(principal, code)
    parts = check_allocation_by_factors(sheet.total, sheet.recipients, sheet.weights, to_division=body.to_division,
                                        amount_fen=body.amount)
    return {"total": format_fen(sheet.total), "weights": sheet.weights, "recipients": sheet.recipients,
            "parts": {code: format_fen(fen) for code, fen in parts.items()}}


async def allocate(session: AsyncSession, policy: PolicyTable, principal: Principal, body: Allocation, *,
                   now: datetime, today: date) -> dict[str, Any]:
    """下达 from the caller's division to a lower one under it, with the deadlines it sets on the receiver."""
    ensure_jurisdiction(principal, body.to_division)
    extra = {"advance": body.advance, "factor_sheet": checked_sheet(principal, body),
             **({"provincial_approval": True} if body.provincial_approval else {})}
    event = await post(session, new_posting(
        principal, body, "allocate", finance_account(principal.division, body.channel, body.fiscal_year, "available"),
        finance_account(body.to_division, body.channel, body.fiscal_year, "available")), actor=principal.actor(),
        posted_at=now, extra=extra)
    deadlines = await set_for_receipt(session, policy, event=event, sender=principal.division, advance=body.advance,
                                      budget_approved_on=body.budget_approved_on,
                                      provincial_approval=body.provincial_approval)
    return {**answer(event), "deadlines": [view(d, today) for d in deadlines]}


async def integrate(session: AsyncSession, principal: Principal, body: Integration, *, now: datetime) -> dict[str, Any]:
    """A county's channel money into its integration pool; every yuan keeps its source channel."""
    county = principal.division
    return answer(await post(session, new_posting(
        principal, body, "integrate", finance_account(county, body.channel, body.fiscal_year, "available"),
        finance_account(county, body.channel, body.fiscal_year, "pool", body.plan), reference=body.plan),
        actor=principal.actor(), posted_at=now))


async def return_to_province(session: AsyncSession, policy: PolicyTable, principal: Principal, body: Return, *,
                             now: datetime) -> dict[str, Any]:
    """Stranded money back to the county's own province through its original channel, in full."""
    county = principal.division
    province = county[:2] + "0" * 10
    return answer(await return_stranded(session, policy, new_posting(
        principal, body, "return", finance_account(county, body.channel, body.fiscal_year, "stranded", body.project_code),
        finance_account(province, body.channel, body.fiscal_year, "returned"), reference=body.project_code),
        actor=principal.actor(), posted_at=now))


async def reallocate(session: AsyncSession, principal: Principal, body: Allocation, *, now: datetime) -> dict[str, Any]:
    """A province re-allocates returned stranded money to a lower division through its original channel."""
    ensure_jurisdiction(principal, body.to_division)
    return answer(await post(session, new_posting(
        principal, body, "reallocate", finance_account(principal.division, body.channel, body.fiscal_year, "returned"),
        finance_account(body.to_division, body.channel, body.fiscal_year, "available")),
        actor=principal.actor(), posted_at=now))
