"""Benefits households received (享受扶持情况) from the projects and funds services' events — the use
case ``handlers.py`` calls for each consumed batch. Each benefit is a ``benefits`` row and the
registry's own ``registry.benefit.recorded`` event (caused by the consumed one), written in the
consumer's transaction together with its inbox entry (rule 5)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.bulk import uuid7s
from shared.db import raw_connection
from shared.events import NewEvent, append
from shared.events.consumer import caused_by
from shared.logging import get_logger
from shared.money import parse_yuan

log = get_logger("fupin.registry.benefits")


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


async def record_benefits(session: AsyncSession, source: str, received: list[Received]) -> None:
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
