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

The announcement events of every service (the registry's own too) feed the public board's read model
(``services.registry.usecases.board``, shapes in ``shared.announcements.contract``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.contract import BATCH_EVENT_TYPES, postings_of
from services.registry.usecases import board
from services.registry.usecases import benefits
from shared.events.consumer import Handler, takes_many


@takes_many
async def on_project_benefits(session: AsyncSession, events: list[dict[str, Any]]) -> None:
    await benefits.record_benefits(session, "projects", [
        benefits.Received(event, e["household_id"], e["project_code"], e["kind"], e["amount"], e["on"], event["id"])
        for event in events for e in [event["data"]]])


@takes_many
async def on_disbursements(session: AsyncSession, events: list[dict[str, Any]]) -> None:
    """Every household posting of the run's disbursements (single or batch) as one benefit each."""
    received = []
    for event in events:
        many = event["type"] in BATCH_EVENT_TYPES  # several postings in one event: one benefit each
        for posting in postings_of(event):
            payee = posting.get("payee") or {}
            if payee.get("kind") == "household":
                received.append(benefits.Received(
                    event, payee["household_id"], posting.get("line_ref") or posting.get("reference") or "",
                    "payment", posting["amount"], posting["on"],
                    f"{event['id']}/{posting['posting_id']}" if many else event["id"]))
    await benefits.record_benefits(session, "funds", received)


CONSUMES: dict[str, dict[str, Handler]] = {
    "projects": {"projects.benefit.recorded": on_project_benefits, **board.CONSUMES["projects"]},
    "funds": {"funds.disbursement.posted": on_disbursements, "funds.disbursement.batch_posted": on_disbursements,
              **board.CONSUMES["funds"]},
    # the registry's own announcements reach its public board the way the others' do
    "registry": board.CONSUMES["registry"],
}
