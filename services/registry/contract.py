"""The registry's published event shapes that other services (and the audit) read.

Grievances (监督举报, issue 16) — subject: the grievance id; ``data`` of each carries ``receipt``,
``division`` and ``status`` (the status after the step):

* ``registry.grievance.received`` — also ``channel``, ``received_on``, ``accept_by``, ``answer_by``
  (ISO dates, from the policy rule named in ``rule``: ``{id, citation}``) and ``links``. The
  complainant's name and contact are in the registry's own record only, never in the event.
* ``registry.grievance.<action>`` for each step of ``domain.grievance.STEPS`` (``classify``,
  ``assign``, ``investigate``, ``answer``, ``close``) — with ``on`` (ISO date) and the step's own
  fields (``category``, ``assigned_to``, ``outcome``).

:func:`grievances` folds these events (in seq order) into one :class:`GrievanceRecord` each, so
the audit can check deadlines with the registry's own ``domain.grievance.overdue``.

Corrections — ``registry.change_request.approved`` (subject: the household id): ``data`` carries
``kind`` (identity | person | household | department), ``household_id``, ``person_id`` and
``changes``: ``{"fields": {field: {"old", "new"}}}`` (plus ``dept`` for department data) — the
values as they were and as they are after the approval.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Iterable, Mapping

from services.registry.domain.grievance import STEPS, Due, overdue

CORRECTION_APPROVED = "registry.change_request.approved"
GRIEVANCE_PREFIX = "registry.grievance."
GRIEVANCE_RECEIVED = GRIEVANCE_PREFIX + "received"
#: event type of each step: registry.grievance.classify, … registry.grievance.close
GRIEVANCE_STEP_EVENTS = {action: GRIEVANCE_PREFIX + action for action in STEPS}


@dataclass
class GrievanceRecord:
    id: str
    receipt: str
    division: str
    status: str
    due: Due
    rule_id: str
    citation: str
    received_on: date
    last_seq: int
    answered_on: date | None = None

    def late(self, today: date) -> list[str]:
        return overdue(self.status, self.due, today)


def grievances(events: Iterable[Mapping[str, Any]]) -> dict[str, GrievanceRecord]:
    """Every grievance's state from the registry's events (other events are skipped)."""
    found: dict[str, GrievanceRecord] = {}
    for event in events:
        kind, data = event["type"], event["data"]
        if not kind.startswith(GRIEVANCE_PREFIX):
            continue
        if kind == GRIEVANCE_RECEIVED:
            found[event["subject"]] = GrievanceRecord(
                id=event["subject"], receipt=data["receipt"], division=data["division"], status=data["status"],
                due=Due(date.fromisoformat(data["accept_by"]), date.fromisoformat(data["answer_by"])),
                rule_id=data["rule"]["id"], citation=data["rule"]["citation"],
                received_on=date.fromisoformat(data["received_on"]), last_seq=event["seq"])
        elif (record := found.get(event["subject"])) is not None:
            record.status, record.last_seq = data["status"], event["seq"]
            if data["status"] == "answered":
                record.answered_on = date.fromisoformat(data["on"])
    return found
