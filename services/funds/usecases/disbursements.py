"""Single disbursements (拨付) committed together (group commit, ``shared/web/group_commit.py``):
the use case behind ``POST /disbursements``.

1. One look-up for the whole group, one statement (``ledger.look_up``): the projects, the
   household payees, the lines posted before, the accounts (the bounded ones locked in id order,
   with their balances), the year-end closes and the log's tail (the group holds the log's lock).
2. Each request is checked on its own first, refusing only itself: the projects gate
   (:mod:`services.funds.usecases.gate`) and a household payee against the registry's read model.
3. The rest are judged in arrival order, against the balances locked, and posted in one
   transaction (``post_each``): one append; a refusal (over the commitment) refuses only its request.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.contract import payee_reference
from services.funds.domain import check_purpose, finance_account
from services.funds.usecases import gate
from services.funds.usecases.commitments import Money, new_posting
from services.funds.usecases.ledger import Entry, Grouped, columns_of, look_up, look_up_part, post_each
from services.funds.usecases.payments import household_ids_to_look_up, payee_problem, unpayable_of
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


#: The look-up's parts of the gate and the payees (:func:`ledger.look_up`): ``p`` a project's row
#: (code, division, in_library, publicity_passed, cancelled), ``h`` a household's (id, division, status).
_PROJECTS_AND_PAYEES = (
    " UNION ALL " + look_up_part("p", "FROM projects_view WHERE code = ANY($7::text[])", a="code", b="division",
                                 f1="in_library", f2="publicity_passed", f3="cancelled")
    + " UNION ALL " + look_up_part("h", "FROM registry_households WHERE id = ANY($8::text[]::uuid[])", a="id::text",
                                   b="division", c="status"))


async def post_group(session: AsyncSession, items: list[Grouped]) -> list[dict | Problem]:
    """Per item, in order: its posted event, or the problem that refused it. One look-up of
    everything the group reads (see the module), for the whole group."""
    households = household_ids_to_look_up(
        payee.get("household_id") for item in items if (payee := _payee(item)).get("kind") == "household")
    looked_up = await look_up(session, [item.entry for item in items], also=_PROJECTS_AND_PAYEES,
                              also_args=(sorted({_project(item) for item in items}), households))
    projects = [columns_of(row, "a", "b", "f1", "f2", "f3") for row in looked_up.others if row[0] == "p"]
    known = [columns_of(row, "a", "b", "c") for row in looked_up.others if row[0] == "h"]
    refused: dict[int, Problem] = {}
    for county in {item.entry.posting.from_.division for item in items}:
        here = [(position, item) for position, item in enumerate(items) if item.entry.posting.from_.division == county]
        closed = gate.unfundable_of(projects, {_project(item) for _, item in here}, county)
        unpayable = unpayable_of(known, county, [
            payee.get("household_id") for _, item in here if (payee := _payee(item)).get("kind") == "household"])
        for position, item in here:
            payee = _payee(item)
            if _project(item) in closed:
                refused[position] = gate.problem(_project(item), closed[_project(item)])
            elif payee.get("kind") == "household" and payee.get("household_id") in unpayable:
                refused[position] = payee_problem(*unpayable[payee.get("household_id")])
    outcomes = iter(await post_each(session, [item for p, item in enumerate(items) if p not in refused], looked_up))
    return [refused.get(position) or next(outcomes) for position in range(len(items))]


def _project(item: Grouped) -> str:
    return (item.entry.extra or {})["project_code"]


def _payee(item: Grouped) -> dict:
    return (item.entry.extra or {}).get("payee") or {}
