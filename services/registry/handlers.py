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
(``services.registry.board``, shapes in ``shared.announcements.contract``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.contract import BATCH_EVENT_TYPES, postings_of
from services.registry import board
from shared.bulk import uuid7s
from shared.db import raw_connection
from shared.events import NewEvent, append
from shared.events.consumer import Handler, caused_by, takes_many
from shared.logging import get_logger
from shared.money import parse_yuan

log = get_logger("fupin.registry.handlers")


@dataclass(frozen=True)
class Received:
    """One benefit a consumed event reports: for which household, what, and under which key."""

    event: dict[str, Any]
    household_id: str
    reference: str
    kind: str
    amount: str
    on: str
    source_key: str  # the benefit's ``source_event``: the event id, or ``<event id>/<posting id>``


_KNOWN = text("SELECT id FROM households WHERE id = ANY(CAST(:ids AS uuid[]))")
_BENEFIT_COLUMNS = ("id", "household_id", "source_event", "source", "reference", "kind", "amount_fen", "on")


def _household_key(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


async def _record_benefits(session: AsyncSession, source: str, received: list[Received]) -> None:
    """Record the benefits of households the registry knows — one look-up, one insert and one
    append for all of them — and log the others."""
    keys = {r.household_id: _household_key(r.household_id) for r in received}
    wanted = [k for k in keys.values() if k is not None]
    known = set((await session.scalars(_KNOWN, {"ids": wanted}))) if wanted else set()
    for r in received:
        if keys[r.household_id] not in known:
            log.warning("benefit for an unknown household ignored", source_event=r.event["id"], household_id=r.household_id)
    accepted = [r for r in received if keys[r.household_id] in known]
    if not accepted:
        return
    ids, actor = uuid7s(len(accepted)), _service_actor(source)
    rows = [(benefit_id, keys[r.household_id], r.source_key, source, r.reference, r.kind, parse_yuan(r.amount),
             date.fromisoformat(r.on)) for benefit_id, r in zip(ids, accepted)]
    # the registry's own log records each too (caused by the consumed event), so a replay of the
    # registry alone rebuilds every household's benefits
    events = [NewEvent("registry.benefit.recorded", str(keys[r.household_id]), {
        "benefit_id": benefit_id, "source": source, "reference": r.reference, "kind": r.kind, "amount": r.amount,
        "on": r.on, "source_event": r.event["id"]}, actor, **caused_by(r.event)) for benefit_id, r in zip(ids, accepted)]
    async with raw_connection(session) as conn:  # the look-up above opened the transaction; COPY joins it
        await conn.copy_records_to_table("benefits", records=rows, columns=_BENEFIT_COLUMNS)
    await append(session, events)


def _service_actor(source: str) -> dict[str, Any]:
    return {"sub": f"service:{source}", "roles": ["service"], "division": "000000000000"}


@takes_many
async def on_project_benefits(session: AsyncSession, events: list[dict[str, Any]]) -> None:
    await _record_benefits(session, "projects", [
        Received(event, e["household_id"], e["project_code"], e["kind"], e["amount"], e["on"], event["id"])
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
                received.append(Received(
                    event, payee["household_id"], posting.get("line_ref") or posting.get("reference") or "",
                    "payment", posting["amount"], posting["on"],
                    f"{event['id']}/{posting['posting_id']}" if many else event["id"]))
    await _record_benefits(session, "funds", received)


CONSUMES: dict[str, dict[str, Handler]] = {
    "projects": {"projects.benefit.recorded": on_project_benefits, **board.CONSUMES["projects"]},
    "funds": {"funds.disbursement.posted": on_disbursements, "funds.disbursement.batch_posted": on_disbursements,
              **board.CONSUMES["funds"]},
    # the registry's own announcements reach its public board the way the others' do
    "registry": board.CONSUMES["registry"],
}
