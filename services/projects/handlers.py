"""Events of other services that the projects service consumes: {source: {event type: handler}}.

**Registry → the beneficiaries read model** (``registry_households``): which households exist,
where, in which status, how many persons — from ``registry.households.imported`` (bulk, decoded
with ``services.registry.contract.households_of``), ``registry.household.proposed``, each
procedure step ``registry.household.<action>`` (its ``data.to``), ``registry.households.noticed``,
``registry.households.exits_imported``, ``registry.household.removed | returned`` and
``registry.member.added | left``. A step for a household this model does not know is ignored.

**Funds → each project's funding** (``project_postings``): commitments, disbursements and
strandings, read only through ``services.funds.contract.postings_of`` (the project of a posting:
``services.projects.domain.funding.project_of``). The first commitment to a project in the annual
plan moves it to ``funded`` with its own event ``projects.project.funded`` (caused by the funds
event). A posting for a project this service does not have is ignored (logged).
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, Callable

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.contract import DISBURSEMENT_BATCH_POSTED, EVENT_TYPES, postings_of
from services.projects.domain import lifecycle
from services.projects.domain.funding import project_of
from services.projects.models import FundingPosting, Project, RegistryHousehold
from services.projects.usecases.projects import funding, record
from services.registry.contract import DIVISIONS_LOADED, DECISIONS, decision_event, divisions_of, households_of
from shared.announcements import places
from shared.auth import SYSTEM
from shared.events import NewEvent
from shared.events.consumer import Handler, takes_many
from shared.events.store import parse_time
from shared.logging import get_logger

log = get_logger("fupin.projects.handlers")
HOUSEHOLDS = RegistryHousehold.__table__


def _head(members: list[dict[str, Any]]) -> str | None:
    return next((m.get("name") for m in members if m.get("relation") == "head"), None)


#: Households in, one statement whatever their number (arrays, not one parameter per value).
_UPSERT = text(
    "INSERT INTO registry_households (id, number, division, status, head_name, persons) "
    "SELECT * FROM unnest(CAST(:id AS uuid[]), CAST(:number AS text[]), CAST(:division AS text[]), "
    "CAST(:status AS text[]), CAST(:head_name AS text[]), CAST(:persons AS int[])) "
    "ON CONFLICT (id) DO UPDATE SET number = EXCLUDED.number, division = EXCLUDED.division, "
    "status = EXCLUDED.status, head_name = EXCLUDED.head_name, persons = EXCLUDED.persons"
)
_UPSERT_COLUMNS = ("id", "number", "division", "status", "head_name", "persons")


async def _upsert(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert or update households; of several rows for one household the last one counts."""
    latest = {row["id"]: row for row in rows}
    if latest:
        await session.execute(_UPSERT, {c: [row[c] for row in latest.values()] for c in _UPSERT_COLUMNS})


def _ids(values: list[str]) -> list[uuid.UUID]:
    """The registry's household ids; anything else cannot be one of its households (skipped, logged)."""
    ids = []
    for value in values:
        try:
            ids.append(uuid.UUID(str(value)))
        except ValueError:
            log.warning("not a household id; ignored", value=str(value)[:64])
    return ids


# -- registry ------------------------------------------------------------------------------------

@takes_many
async def on_imported(session: AsyncSession, events: list[dict[str, Any]]) -> None:
    """Imports (each of many households): every household of the run in one statement."""
    await _upsert(session, [{"id": uuid.UUID(h["id"]), "number": h["number"], "division": h["division"],
                             "status": h["status"], "head_name": _head(h["members"]), "persons": len(h["members"])}
                            for event in events for h in households_of(event["data"])])


async def on_proposed(session: AsyncSession, event: dict[str, Any]) -> None:
    data = event["data"]
    await _upsert(session, [{"id": uuid.UUID(data["household_id"]), "number": data["number"],
                             "division": data["division"], "status": "proposed",
                             "head_name": _head(data["members"]), "persons": len(data["members"])}])


#: The statuses an event of the registry sets: [(household id, status)].
STATUS_CHANGES: dict[str, Callable[[dict[str, Any]], list[tuple[str, str]]]] = {
    "registry.households.exits_imported": lambda e: [(h["id"], "exited") for h in e["data"]["households"]],
    **{decision_event(action): lambda e: [(e["subject"], e["data"]["to"])]
       for action in DECISIONS},
    "registry.households.noticed": lambda e: [(h, e["data"]["to"]) for h in e["data"]["household_ids"]],
    "registry.household.removed": lambda e: [(e["subject"], "removed")],
    "registry.household.returned": lambda e: [(e["subject"], "registered")],
}

_SET_STATUS = text(
    "UPDATE registry_households SET status = v.status "
    "FROM unnest(CAST(:ids AS uuid[]), CAST(:statuses AS text[])) AS v(id, status) "
    "WHERE registry_households.id = v.id"
)


@takes_many
async def on_status_changes(session: AsyncSession, events: list[dict[str, Any]]) -> None:
    """Steps, notices, exits, removals and returns of a run: each household's last status, one
    statement. (A household this model does not know is not updated.)"""
    latest: dict[uuid.UUID, str] = {}
    for event in events:
        for household, status in STATUS_CHANGES[event["type"]](event):
            for key in _ids([household]):
                latest[key] = status
    if latest:
        await session.execute(_SET_STATUS, {"ids": list(latest), "statuses": list(latest.values())})


def _persons_change(delta: int) -> Handler:
    async def handler(session: AsyncSession, event: dict[str, Any]) -> None:
        await session.execute(update(HOUSEHOLDS).where(HOUSEHOLDS.c.id.in_(_ids([event["subject"]])))
                              .values(persons=HOUSEHOLDS.c.persons + delta))
    return handler


# -- funds ---------------------------------------------------------------------------------------

async def on_posting(session: AsyncSession, event: dict[str, Any]) -> None:
    for posting in postings_of(event):
        code = project_of(posting)
        if code is None:
            continue
        project = (await session.execute(select(Project).where(Project.code == code).with_for_update())).scalar_one_or_none()
        if project is None:
            log.warning("funds posting for an unknown project ignored", source_event=event["id"], project=code)
            continue
        account = posting["from"] if posting["operation"] != "commit" else posting["to"]
        on = date.fromisoformat(posting.get("on") or posting["document_date"])
        await session.execute(insert(FundingPosting.__table__).values(
            posting_id=posting["posting_id"], code=code, operation=posting["operation"], channel=account["channel"],
            fiscal_year=account["fiscal_year"], amount_fen=posting["amount_fen"], on=on, payee=posting.get("payee"),
            source_event=event["id"]).on_conflict_do_nothing(index_elements=["posting_id"]))
        if posting["operation"] == "commit":
            await session.flush()
            await mark_funded(session, project, on, parse_time(event["time"]))


async def mark_funded(session: AsyncSession, project: Project, on: date, now) -> None:
    """A project in the annual plan with money committed is funded (资金到位): its own event."""
    money = await funding(session, project.code)
    if project.stage != "planned" or money.active_fen <= 0:
        return
    step = lifecycle.STEPS["fund"]
    await record(session, project, step.to_stage, on, NewEvent(step.event, project.code, {
        "code": project.code, "division": project.division, "from": "planned", "to": step.to_stage,
        "on": on.isoformat(), **money.as_dict()}, SYSTEM.actor()), now)


async def on_divisions_loaded(session: AsyncSession, event: dict[str, Any]) -> None:
    """The names of divisions for the public pages (精河县, not 652722000000)."""
    await places.save(session, divisions_of(event["data"]))


CONSUMES: dict[str, dict[str, Handler]] = {
    "registry": {
        "registry.households.imported": on_imported,
        "registry.household.proposed": on_proposed,
        **dict.fromkeys(STATUS_CHANGES, on_status_changes),
        "registry.member.added": _persons_change(+1),
        "registry.member.left": _persons_change(-1),
        DIVISIONS_LOADED: on_divisions_loaded,
    },
    "funds": {**{EVENT_TYPES[operation]: on_posting for operation in ("commit", "disburse", "strand", "payment_return")},
              DISBURSEMENT_BATCH_POSTED: on_posting},
}
