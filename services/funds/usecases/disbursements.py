"""Single disbursements (拨付) committed together (group commit, ``shared/web/group_commit.py``):
the use case behind ``POST /disbursements``.

1. Each request is checked on its own first, refusing only itself: the projects gate
   (:mod:`services.funds.usecases.gate`, one look-up for the group) and a household payee against
   the registry's read model.
2. The rest are judged in arrival order and posted in one transaction (``post_each``): each
   account locked once, one append; a refusal (over the commitment) refuses only its request.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.contract import payee_reference
from services.funds.domain import check_purpose, finance_account
from services.funds.usecases import gate
from services.funds.usecases.commitments import Money, new_posting
from services.funds.usecases.ledger import Entry, Grouped, post_each
from services.funds.usecases.payments import payee_problem, unpayable_households
from shared.auth import Principal
from shared.errors import Problem
from shared.policy import PolicyTable


class Payee(Protocol):
    kind: str
    name: str
    household_id: str | None

    def model_dump(self) -> dict: ...


class Disbursement(Money, Protocol):
    project_code: str
    payee: Payee
    line_ref: str | None


def entry(policy: PolicyTable, principal: Principal, body: Disbursement) -> Entry:
    """The ledger entry of one disbursement command: from the project's commitment to the payee,
    refused at once (422) for a negative-list purpose (财农〔2017〕8号)."""
    county = principal.division
    if body.purpose:
        check_purpose(policy, county, body.document_date, body.purpose)
    payee = payee_reference(body.payee.kind, body.payee.name, body.payee.household_id)
    posting = new_posting(
        principal, body, "disburse",
        finance_account(county, body.channel, body.fiscal_year, "committed", body.project_code),
        finance_account(county, body.channel, body.fiscal_year, "disbursed", payee), reference=payee)
    return Entry(posting, {"payee": body.payee.model_dump(), "project_code": body.project_code,
                           "reference": body.line_ref or payee}, body.line_ref)


async def post_group(session: AsyncSession, items: list[Grouped]) -> list[dict | Problem]:
    """Per item, in order: its posted event, or the problem that refused it. One look-up of the
    projects and one of the household payees per county, for the whole group."""
    refused: dict[int, Problem] = {}
    for county in {item.entry.posting.from_.division for item in items}:
        here = [(position, item) for position, item in enumerate(items) if item.entry.posting.from_.division == county]
        closed = await gate.unfundable(session, {_project(item) for _, item in here}, county)
        unpayable = await unpayable_households(session, county, [
            payee.get("household_id") for _, item in here if (payee := _payee(item)).get("kind") == "household"])
        for position, item in here:
            payee = _payee(item)
            if _project(item) in closed:
                refused[position] = gate.problem(_project(item), closed[_project(item)])
            elif payee.get("kind") == "household" and payee.get("household_id") in unpayable:
                refused[position] = payee_problem(*unpayable[payee.get("household_id")])
    outcomes = iter(await post_each(session, [item for p, item in enumerate(items) if p not in refused]))
    return [refused.get(position) or next(outcomes) for position in range(len(items))]


def _project(item: Grouped) -> str:
    return (item.entry.extra or {})["project_code"]


def _payee(item: Grouped) -> dict:
    return (item.entry.extra or {}).get("payee") or {}
