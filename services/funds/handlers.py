"""Events of other services the funds service consumes: the projects it may fund, and the
registry's households it may pay (read through ``services.registry.contract``: imports, proposals,
each procedure decision's ``data.to``, notices, exits imported, removals and returns).

The contract (version 1) the projects service emits:

* ``projects.project.entered_library`` — ``data``: ``code``, ``division``, ``publicity_passed``
  (true once the publicity at each level has closed without an open or upheld objection);
  version 2 (``v: 2``) adds ``name``, ``type_label``, ``content``, ``implementing_unit`` for the
  county's results announcement. Both versions are accepted.
* ``projects.project.cancelled`` — ``data``: ``code``, ``division``, ``reason``.

A commitment is accepted only for a project in this read model that is in the library with its
publicity passed and not cancelled; a cancellation turns the project's undisbursed commitments
into stranded funds (滞留资金) at once, in the same transaction as the inbox row.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import uuid6
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.domain import AccountKey, Posting
from services.funds.usecases.ledger import Entry, post_many
from services.funds.models import accounts, projects_view
from services.funds.usecases.payments import save_households, set_household_statuses
from services.registry import contract as registry
from shared.announcements import places
from shared.events.consumer import Handler


PROJECT_DETAILS = ("name", "type_label", "content", "implementing_unit")  # version 2


async def on_entered_library(session: AsyncSession, event: dict[str, Any]) -> None:
    data = event["data"]
    values = {"division": data["division"], "in_library": True, "publicity_passed": bool(data.get("publicity_passed")),
              "last_event": event["id"], **{k: data.get(k) for k in PROJECT_DETAILS}}
    await session.execute(insert(projects_view).values(code=data["code"], **values)
                          .on_conflict_do_update(index_elements=["code"], set_=values))


async def on_cancelled(session: AsyncSession, event: dict[str, Any]) -> None:
    data = event["data"]
    values = {"division": data["division"], "cancelled": True, "last_event": event["id"]}
    await session.execute(insert(projects_view).values(code=data["code"], **values)
                          .on_conflict_do_update(index_elements=["code"], set_=values))
    committed = (await session.execute(select(accounts).where(
        accounts.c.kind == "committed", accounts.c.reference == data["code"], accounts.c.balance_fen > 0))).mappings().all()
    on = date.fromisoformat(event["time"][:10])
    entries = []
    for account in committed:
        source = AccountKey(division=account["division"], role=account["role"], channel=account["channel"],
                            fiscal_year=account["fiscal_year"], kind="committed", reference=data["code"])
        entries.append(Entry(Posting(
            posting_id=str(uuid6.uuid7()), from_=source, to=source.replace(kind="stranded"),
            amount_fen=account["balance_fen"], operation="strand", document_no="", document_date=on,
            actor="service:projects", reference=data["code"]),
            extra={"reason": data.get("reason", ""), "project_code": data["code"], "cancelled_by": event["id"]}))
    if entries:
        await post_many(session, entries, actor={"sub": "service:projects", "roles": ["service"], "division": "000000000000"},
                        posted_at=datetime.fromisoformat(event["time"].replace("Z", "+00:00")))


async def on_households_imported(session: AsyncSession, event: dict[str, Any]) -> None:
    await save_households(session, [(h["id"], h["division"], h["status"]) for h in registry.households_of(event["data"])])


async def on_household_proposed(session: AsyncSession, event: dict[str, Any]) -> None:
    data = event["data"]
    await save_households(session, [(data["household_id"], data["division"], "proposed")])


#: The statuses an event of the registry sets: [(household id, status)].
STATUS_CHANGES = {
    registry.HOUSEHOLDS_EXITS_IMPORTED: lambda e: [(h["id"], "exited") for h in e["data"]["households"]],
    **{registry.decision_event(action): lambda e: [(e["subject"], e["data"]["to"])] for action in registry.DECISIONS},
    registry.HOUSEHOLDS_NOTICED: lambda e: [(h, e["data"]["to"]) for h in e["data"]["household_ids"]],
    registry.HOUSEHOLD_REMOVED: lambda e: [(e["subject"], "removed")],
    registry.HOUSEHOLD_RETURNED: lambda e: [(e["subject"], "registered")],
}


async def on_household_status(session: AsyncSession, event: dict[str, Any]) -> None:
    await set_household_statuses(session, STATUS_CHANGES[event["type"]](event))


async def on_divisions_loaded(session: AsyncSession, event: dict[str, Any]) -> None:
    """The names of divisions for the public pages (精河县, not 652722000000)."""
    await places.save(session, registry.divisions_of(event["data"]))


CONSUMES: dict[str, dict[str, Handler]] = {
    "projects": {"projects.project.entered_library": on_entered_library, "projects.project.cancelled": on_cancelled},
    "registry": {registry.HOUSEHOLDS_IMPORTED: on_households_imported, registry.HOUSEHOLD_PROPOSED: on_household_proposed,
                 **dict.fromkeys(STATUS_CHANGES, on_household_status), registry.DIVISIONS_LOADED: on_divisions_loaded},
}
