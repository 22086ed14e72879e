"""Chain-valid event logs built in memory, for the audit's pure tests: each service's events as
the service would have appended them (envelope, seq, prev_hash, hash), without a database."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone
from typing import Any

from services.audit.sources import Loaded
from services.funds.contract import EVENT_TYPES
from services.funds.domain import AccountKey, Posting
from services.registry.usecases.imports import HOUSEHOLD_FIELDS, MEMBER_FIELDS
from shared.events.chain import GENESIS, compute_hash
from shared.events.store import format_time
from shared.money import format_fen

ACTOR = {"sub": "test", "roles": ["county_finance"], "division": "652722000000"}
JINGHE, XINJIANG, CENTRAL = "652722000000", "650000000000", "000000000000"
VILLAGE = "652722102201"


class Clock:
    """One clock for the logs of a world, a minute per event (as one settable service clock)."""

    def __init__(self, start: datetime = datetime(2017, 3, 1, 2, tzinfo=timezone.utc)):
        self.now = start

    def tick(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


class Log:
    def __init__(self, service: str, clock: Clock | None = None):
        self.service, self.events, self.clock = service, [], clock or Clock()

    def add(self, type: str, subject: str, data: dict[str, Any], *, causation_id: str | None = None) -> dict[str, Any]:
        event = {"seq": len(self.events) + 1, "id": str(uuid.uuid4()), "source": self.service, "type": type,
                 "subject": subject, "time": format_time(self.clock.tick()), "actor": ACTOR, "correlation_id": "c",
                 "causation_id": causation_id, "data": data,
                 "prev_hash": self.events[-1]["hash"] if self.events else GENESIS}
        event["hash"] = compute_hash(event)
        self.events.append(event)
        return event


def key(division: str, kind: str, reference: str | None = None, channel: str = "central_special", year: int = 2017):
    return AccountKey(division=division, role="finance", channel=channel, fiscal_year=year, kind=kind, reference=reference)


class World:
    """Three services' logs and the helpers that write their typical events."""

    def __init__(self):
        self.clock = Clock()
        self.funds, self.registry, self.projects = (Log(s, self.clock) for s in ("funds", "registry", "projects"))

    def loaded(self) -> Loaded:
        return Loaded("test", {"registry": self.registry.events, "funds": self.funds.events,
                               "projects": self.projects.events})

    def post(self, operation: str, source: AccountKey, target: AccountKey, amount_fen: int, *,
             on: str = "2017-03-01", purpose: str | None = None, reference: str | None = None, **extra):
        posting = Posting(posting_id=str(uuid.uuid4()), from_=source, to=target, amount_fen=amount_fen,
                          operation=operation, document_no="文号〔2017〕1号", document_date=date.fromisoformat(on),
                          actor="test", purpose=purpose, reference=reference)
        data = {**posting.as_dict(), "amount": format_fen(amount_fen), "on": on, **extra}
        return self.funds.add(EVENT_TYPES[operation], str(target), data)

    def money_to_jinghe(self, amount_fen: int = 1_000_000) -> None:
        self.post("appropriate", key(CENTRAL, "appropriation"), key(CENTRAL, "available"), amount_fen)
        self.post("allocate", key(CENTRAL, "available"), key(XINJIANG, "available"), amount_fen)
        self.post("allocate", key(XINJIANG, "available"), key(JINGHE, "available"), amount_fen)

    def library(self, code: str, *, publicity_passed: bool = True) -> None:
        self.projects.add("projects.project.entered_library", code,
                          {"code": code, "division": JINGHE, "publicity_passed": publicity_passed})

    def commit(self, code: str, amount_fen: int, **options):
        return self.post("commit", key(JINGHE, "available"), key(JINGHE, "committed", code), amount_fen,
                         reference=code, **options)

    def disburse(self, code: str, amount_fen: int, payee: dict, **options):
        name = f"{payee['kind']}:{payee.get('household_id') or payee['name']}"
        return self.post("disburse", key(JINGHE, "committed", code), key(JINGHE, "disbursed", name), amount_fen,
                         reference=name, payee=payee, project_code=code, **options)

    def household(self, number: str, *, status: str = "registered", helper: bool = True, measures: int = 1,
                  registered_year: int = 2016) -> str:
        """A household imported as registered, then given its helper and measures."""
        household_id = str(uuid.uuid4())
        members = [[str(uuid.uuid4()), "652722198001010000", "户主", "head", "male", "1980-01-01", None, None, None,
                    None, "normal_labour"]]
        row = [household_id, number, VILLAGE, status, "general", "illness", registered_year,
               f"{registered_year}-12-31", None, None, None, members]
        self.registry.add("registry.households.imported", "import-1", {
            "import_id": "import-1", "chunk": 1, "chunks": 1, "household_fields": HOUSEHOLD_FIELDS,
            "member_fields": MEMBER_FIELDS, "households": [row]})
        if helper:
            self.registry.add("registry.household.helper_assigned", household_id, {"name": "帮扶人", "unit": "县财政局"})
        for _ in range(measures):
            self.registry.add("registry.measure.recorded", household_id, {"pathway": "industry"})
        return household_id
