"""Events of other services the registry consumes: what each household received (享受扶持情况).

The contract (version 1) the projects and funds services emit:

* ``projects.benefit.recorded`` — ``data``: ``household_id`` (the registry's id), ``project_code``,
  ``kind`` (wages | dividend | subsidy | in_kind), ``amount`` (yuan string), ``on`` (date).
* ``funds.disbursement.posted`` — recorded here when ``data.payee.kind == "household"``:
  ``payee.household_id``, ``amount`` (yuan string), ``on`` (date), ``reference`` (文号 or line
  reference); other payees (enterprises, cooperatives, contractors) are not households' benefits.
* ``funds.disbursement.batch_posted`` — a disbursement batch's lines, many postings per event; read
  through ``services.funds.contract.postings_of``, each posting as above with its line reference in
  ``line_ref``; each benefit's ``source_event`` is ``<event id>/<posting id>`` (one event, many
  benefits).

Each benefit is also recorded as the registry's own event ``registry.benefit.recorded`` (its
causation is the consumed event). A benefit for a household the registry does not know is ignored
(logged): the event is still in the inbox, so it is never applied twice.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import uuid6
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.contract import BATCH_EVENT_TYPES, postings_of
from services.registry.models import Benefit, Household
from shared.events import NewEvent, append
from shared.events.consumer import Handler
from shared.logging import get_logger
from shared.money import parse_yuan

log = get_logger("fupin.registry.handlers")


async def _record_benefit(session: AsyncSession, event: dict[str, Any], *, household_id: str, source: str,
                          reference: str, kind: str, amount: str, on: str, source_key: str | None = None) -> None:
    try:
        key = uuid.UUID(household_id)
    except ValueError:
        key = None
    known = key is not None and await session.scalar(select(Household.id).where(Household.id == key))
    if not known:
        log.warning("benefit for an unknown household ignored", source_event=event["id"], household_id=household_id)
        return
    benefit = Benefit(id=uuid6.uuid7(), household_id=key, source_event=source_key or event["id"], source=source,
                      reference=reference, kind=kind, amount_fen=parse_yuan(amount), on=date.fromisoformat(on))
    session.add(benefit)
    # the registry's own log records it too (caused by the consumed event), so a replay of the
    # registry alone rebuilds every household's benefits
    await append(session, [NewEvent("registry.benefit.recorded", str(key), {
        "benefit_id": str(benefit.id), "source": source, "reference": reference, "kind": kind, "amount": amount,
        "on": on, "source_event": event["id"]}, {"sub": f"service:{source}", "roles": ["service"], "division": "000000000000"})])


async def on_project_benefit(session: AsyncSession, event: dict[str, Any]) -> None:
    data = event["data"]
    await _record_benefit(session, event, household_id=data["household_id"], source="projects",
                          reference=data["project_code"], kind=data["kind"], amount=data["amount"], on=data["on"])


async def on_disbursement(session: AsyncSession, event: dict[str, Any]) -> None:
    many = event["type"] in BATCH_EVENT_TYPES  # several postings in one event: one benefit each
    for posting in postings_of(event):
        payee = posting.get("payee") or {}
        if payee.get("kind") == "household":
            await _record_benefit(session, event, household_id=payee["household_id"], source="funds",
                                  reference=posting.get("line_ref") or posting.get("reference") or "",
                                  kind="payment", amount=posting["amount"], on=posting["on"],
                                  source_key=f"{event['id']}/{posting['posting_id']}" if many else None)


CONSUMES: dict[str, dict[str, Handler]] = {
    "projects": {"projects.benefit.recorded": on_project_benefit},
    "funds": {"funds.disbursement.posted": on_disbursement, "funds.disbursement.batch_posted": on_disbursement},
}
