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

Households — subject: the household id unless said otherwise:

* ``registry.households.imported`` (:data:`HOUSEHOLDS_IMPORTED`; subject: the import id) — a chunk
  of a bulk import in compact form: ``data.households`` are arrays of ``data.household_fields``
  (:data:`HOUSEHOLD_FIELDS`), each one's ``members`` arrays of ``data.member_fields``
  (:data:`MEMBER_FIELDS`). Read it with :func:`households_of`. A chunk holding households imported
  as already exited is followed by ``registry.households.exits_imported``
  (:data:`HOUSEHOLDS_EXITS_IMPORTED`, ``data.households``: ``[{id, …}]``).
* ``registry.household.proposed`` (:data:`HOUSEHOLD_PROPOSED`), then one event per procedure
  decision, :func:`decision_event` of each action of :data:`DECISIONS` (``data.to``: the status
  after it), ``registry.households.noticed`` (:data:`HOUSEHOLDS_NOTICED`, ``data.household_ids``,
  ``data.to``), ``registry.household.removed`` / ``returned``, ``registry.member.added`` / ``left``.
  A status is one of :data:`STATUS_LABELS` (its Chinese label); :data:`ON_ROLL` are the statuses
  counted as on the roll of poor households.
* ``registry.divisions.loaded`` (:data:`DIVISIONS_LOADED`) — the reference list of divisions.

The statistics the registry publishes are computed by :func:`compute_statistics` over one
:class:`HouseholdFacts` per household; the audit rebuilds them with the same function (rule 6).

This module and what it imports are pure (no database, HTTP or Kafka): other services' domains
may import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Iterable, Mapping

from services.registry.domain.grievance import STEPS, Due, overdue
from services.registry.domain.statistics import (
    HouseholdFacts as HouseholdFacts,
    Statistics as Statistics,
    compute_statistics as compute_statistics,
)
from services.registry.domain.workflow import (
    DECISIONS as DECISIONS,
    ON_ROLL as ON_ROLL,
    STATUS_LABELS as STATUS_LABELS,
)
from services.registry.domain import codes as _codes  # noqa: E402

HOUSEHOLD_STATUS = _codes.STATUS  # the household statuses, for other services' catalogues

# the readers of the files counties have (CSV in UTF-8, GBK or GB18030; .xls; .xlsx): the console
# reads disbursement-batch spreadsheets with them
from services.registry.files import csv_rows as csv_rows, sheet_rows as sheet_rows  # noqa: E402

HOUSEHOLDS_IMPORTED = "registry.households.imported"
HOUSEHOLDS_EXITS_IMPORTED = "registry.households.exits_imported"
HOUSEHOLD_PROPOSED = "registry.household.proposed"
HOUSEHOLDS_NOTICED = "registry.households.noticed"
HOUSEHOLD_REMOVED = "registry.household.removed"
HOUSEHOLD_RETURNED = "registry.household.returned"
MEMBER_ADDED = "registry.member.added"
MEMBER_LEFT = "registry.member.left"
DIVISIONS_LOADED = "registry.divisions.loaded"

#: The compact form of ``registry.households.imported``: each household is an array of these
#: fields (in this order; ``net_per_capita_fen`` is the 人均纯收入 of ``registered_year`` or null),
#: ``members`` an array of arrays of :data:`MEMBER_FIELDS`. Arrays rather than objects halve the
#: size of the log and the cost of hashing it; :func:`households_of` turns them into dicts.
HOUSEHOLD_FIELDS = ["id", "number", "division", "status", "poverty_attribute", "main_cause", "registered_year",
                    "registered_on", "exit_year", "exited_on", "net_per_capita_fen", "members"]
MEMBER_FIELDS = ["id", "id_number", "name", "relation", "sex", "birth_date", "ethnicity", "education",
                 "school_stage", "health", "labour_capacity"]


def divisions_of(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The division records of a ``registry.divisions.loaded`` event's ``data``: each with ``code``,
    ``name``, ``level``, ``parent``, ``aliases`` (``[{name, from, to}]``: the name in force between the
    dates, ``shared.divisions.name_on``), ``flags``, ``valid_from``/``valid_to`` and ``change``."""
    return list(data["records"])


def households_of(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The households of a ``registry.households.imported`` event's data, as dicts with members."""
    h_fields, m_fields = data["household_fields"], data["member_fields"]
    out = []
    for values in data["households"]:
        household = dict(zip(h_fields, values))
        household["members"] = [dict(zip(m_fields, m)) for m in household["members"]]
        out.append(household)
    return out


def decision_event(action: str) -> str:
    """The event type of a procedure decision: ``exit-nominate`` → ``registry.household.exit_nominate``."""
    return f"registry.household.{action.replace('-', '_')}"


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
