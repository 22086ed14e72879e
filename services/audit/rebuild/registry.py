"""The registry rebuilt from the registry's events alone: every household's state and history,
the rural population of the villages, the announcements and their outcomes — and from these the
registry's statistics, computed by the registry's own pure ``compute_statistics`` (rule 6).

:func:`statistics_facts` is the adapter between the two: it turns a rebuilt household into the
``HouseholdFacts`` the registry's ``load_facts`` builds from its rows, with the same meaning of
each field (persons = every member ever listed, as the registry's query counts them; a removal
counts from the year it happened).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Annotated, Any, NotRequired, TypedDict

import msgspec

from services.audit.rebuild.reading import Day, Division, DivisionOrEmpty, Text, checker, convert
from services.registry.contract import (
    CORRECTION_APPROVED,
    DECISIONS,
    DIVISIONS_LOADED,
    GRIEVANCE_PREFIX,
    GRIEVANCE_RECEIVED,
    HOUSEHOLDS_IMPORTED,
    ON_ROLL,
    GrievanceRecord,
    HouseholdFacts,
    Statistics,
    compute_statistics,
    grievances,
    households_of,
)


SERVICE = "registry"
WITHOUT_LABOUR = frozenset({"no_labour", "no_labour_ability"})
_CHINA = timedelta(hours=8)


def china_day(recorded: str) -> date:
    """The day (China time) of an event's recorded ``time`` (UTC, ``…Z``)."""
    return (datetime.fromisoformat(recorded.replace("Z", "+00:00")) + _CHINA).date()


@dataclass
class HouseholdState:
    id: str
    number: str
    division: str
    status: str
    main_cause: str
    imported: bool = False
    registered_year: int | None = None
    exit_year: int | None = None
    returned_year: int | None = None
    removed_year: int | None = None
    persons: int = 0
    without_labour: int = 0
    has_helper: bool = False
    measures: int = 0
    monitoring_category: str | None = None
    announcements: dict[str, str] = field(default_factory=dict)  # notice key → announcement id
    history: list[tuple[str, str, int]] = field(default_factory=list)  # (recorded, status, seq)
    last_seq: int = 0

    def add_members(self, members: Iterable[Mapping[str, Any]]) -> None:
        for member in members:
            self.persons += 1
            self.without_labour += member.get("labour_capacity") in WITHOUT_LABOUR

    def status_at(self, recorded: str) -> str | None:
        """The status the household had at a recorded time (None before it existed)."""
        current = None
        for when, status, _ in self.history:
            if when > recorded:
                break
            current = status
        return current


@dataclass(frozen=True)
class Step:
    """A decision that needed a notice to have passed first (workflow ``needs_passed``)."""

    seq: int
    household_id: str
    action: str
    notice: str
    announcement_id: str | None  # the household's notice of that key when the step was taken
    recorded: str


@dataclass
class RegistryRebuilt:
    households: dict[str, HouseholdState]
    population: dict[str, int]
    announcements: dict[str, dict[str, Any]]  # id → {subject_type, division, outcome, closed_seq}
    steps: list[Step]
    events: int = 0
    last_seq: int = 0
    grievances: dict[str, GrievanceRecord] = field(default_factory=dict)  # id → state (registry contract)
    #: (seq, why) of each event whose data could not be read (services.audit.run.unreadable)
    unreadable_events: list[tuple[int, str]] = field(default_factory=list)

    def statistics(self, division: str, year: int) -> Statistics:
        facts = statistics_facts(self.households.values(), year)
        return compute_statistics(facts, self.population, division=division, year=year)

    def refused_households(self) -> list[tuple[HouseholdState, str]]:
        """Households the statistics leave out because the registry's domain refuses their facts."""
        return [(h, why) for h in self.households.values() if isinstance(why := _facts(h, 0), str)]

    def on_roll(self, prefix: str = "") -> list[HouseholdState]:
        return [h for h in self.households.values() if h.status in ON_ROLL and h.division.startswith(prefix)]

    def summary(self) -> dict[str, Any]:
        statuses: dict[str, int] = {}
        for h in self.households.values():
            statuses[h.status] = statuses.get(h.status, 0) + 1
        return {"households": len(self.households), "persons": sum(h.persons for h in self.households.values()),
                "by_status": dict(sorted(statuses.items())), "villages_with_population": len(self.population),
                "announcements": len(self.announcements), "unreadable_events": len(self.unreadable_events)}


def statistics_facts(households: Iterable[HouseholdState], year: int) -> list[HouseholdFacts]:
    """The registry's ``load_facts`` for rebuilt households: registered ones only, removed by the
    end of ``year`` when the removal happened in or before it. A household whose facts the
    registry's domain refuses (a log that says what the registry never could, e.g. an exit before
    its registration) is left out: :meth:`RegistryRebuilt.refused_households` names it."""
    return [facts for h in households if isinstance(facts := _facts(h, year), HouseholdFacts)]


def _facts(h: HouseholdState, year: int) -> HouseholdFacts | str | None:
    """The household's facts, None when it is not counted, or why the registry's domain refuses them."""
    if h.registered_year is None or h.persons == 0:
        return None
    try:
        return HouseholdFacts(
            household_number=h.number, division=h.division, persons=h.persons, persons_without_labour=h.without_labour,
            registered_year=h.registered_year, exit_year=h.exit_year,
            removed=h.removed_year is not None and h.removed_year <= year, returned_year=h.returned_year,
            monitoring_category=h.monitoring_category, has_helper=h.has_helper, measures=h.measures,
            main_cause=h.main_cause, status=h.status)
    except ValueError as error:
        return str(error)


def _year(day: str | None) -> int | None:
    return int(day[:4]) if day else None


class _Member(TypedDict):
    labour_capacity: NotRequired[str | None]


class _Household(TypedDict):
    """A household as an import's row or a proposal gives it (what the rebuild keeps of it)."""

    number: Text
    division: Division
    main_cause: str
    members: list[_Member]


class _Imported(_Household):
    id: Text
    status: str
    registered_year: int | None
    exit_year: NotRequired[int | None]


class _Proposed(_Household):
    household_id: Text


class _Import(TypedDict):
    household_fields: list[str]
    member_fields: list[str]
    households: list[list[Any]]


class _Record(TypedDict):
    code: Division
    level: NotRequired[str | None]
    rural_population: NotRequired[Annotated[int, msgspec.Meta(ge=0)] | None]


class _Divisions(TypedDict):
    records: list[_Record]


class _Noticed(TypedDict):
    household_ids: list[str]
    key: str
    announcement_id: str
    to: str


class _Decision(TypedDict):
    action: NotRequired[str | None]
    to: NotRequired[str | None]
    decision: NotRequired[str | None]
    on: NotRequired[Day]


class _FieldChange(TypedDict):
    new: Any


class _Changes(TypedDict):
    fields: dict[str, _FieldChange]


class _Correction(TypedDict):
    household_id: str
    kind: str
    changes: _Changes


class _Monitored(TypedDict):
    category: NotRequired[str | None]


class _Drafted(TypedDict):
    subject_type: NotRequired[str | None]
    division: NotRequired[DivisionOrEmpty | None]


class _Closed(TypedDict):
    outcome: NotRequired[str | None]


class _GrievanceRule(TypedDict):
    id: str
    citation: str


class _GrievanceReceived(TypedDict):
    receipt: str
    division: Division
    status: str
    accept_by: Day
    answer_by: Day
    rule: _GrievanceRule
    received_on: Day


class _GrievanceStep(TypedDict):
    status: str
    on: NotRequired[Day]


class RegistryRebuild:
    service = SERVICE

    def __init__(self) -> None:
        self.households: dict[str, HouseholdState] = {}
        self.population: dict[str, int] = {}
        self.announcements: dict[str, dict[str, Any]] = {}
        self.steps: list[Step] = []
        self.grievance_events: list[Mapping[str, Any]] = []
        self.events = 0
        self.unreadable_events: list[tuple[int, str]] = []
        self.last_seq = 0

    def _move(self, household: HouseholdState, status: str, event: Mapping[str, Any]) -> None:
        household.status = status
        household.history.append((event["time"], status, event["seq"]))
        household.last_seq = event["seq"]

    def apply(self, event: Mapping[str, Any]) -> None:
        self.events += 1
        self.last_seq = event["seq"]
        _check(event)  # what the handlers keep, of the types the audit's checks read (rebuild.reading)
        kind, data = event["type"], event["data"]
        handler = _HANDLERS.get(kind)
        if handler is not None:
            handler(self, event, data)
        elif kind.startswith("registry.household.") and event["subject"] in self.households:
            self._decision(event, data)
        elif kind.startswith(GRIEVANCE_PREFIX):  # read at the end by the registry's grievances(): checked now
            step = convert(data, _GrievanceReceived if kind == GRIEVANCE_RECEIVED else _GrievanceStep)
            if step["status"] == "answered" and "on" not in step:
                raise KeyError("on")  # an answer is dated
            self.grievance_events.append(event)

    # -- handlers ---------------------------------------------------------------------------
    def _divisions(self, event, data) -> None:
        for record in data["records"]:
            if record.get("level") == "village" and record.get("rural_population") is not None:
                self.population[record["code"]] = record["rural_population"]
            else:
                self.population.pop(record["code"], None)

    def _imported(self, event, data) -> None:
        rows = households_of(data)
        for row in rows:  # every row first: an event is read whole or not at all
            convert(row, _Imported)
        for row in rows:
            h = HouseholdState(id=row["id"], number=row["number"], division=row["division"], status=row["status"],
                               main_cause=row["main_cause"], imported=True, registered_year=row["registered_year"],
                               exit_year=row.get("exit_year"))
            h.add_members(row["members"])
            h.history.append((event["time"], "registered", event["seq"]))
            if row["status"] != "registered":
                h.history.append((event["time"], row["status"], event["seq"]))
            h.last_seq = event["seq"]
            self.households[h.id] = h

    def _proposed(self, event, data) -> None:
        h = HouseholdState(id=data["household_id"], number=data["number"], division=data["division"],
                           status="proposed", main_cause=data["main_cause"], has_helper=data.get("helper") is not None)
        h.add_members(data["members"])
        self.households[h.id] = h
        self._move(h, "proposed", event)

    def _noticed(self, event, data) -> None:
        for household_id in data["household_ids"]:
            h = self.households.get(household_id)
            if h is not None:
                h.announcements[data["key"]] = data["announcement_id"]
                self._move(h, data["to"], event)

    def _decision(self, event, data) -> None:
        action, to = data.get("action"), data.get("to")
        if to is None:
            return  # (nearly every registry.household.* event: a helper, an income …)
        convert(data, _Decision)  # any registry.household.* type that moves a household: no schema by type
        h = self.households[event["subject"]]
        if data.get("decision") == "approve":
            if action in ("register", "exit-confirm"):
                _year(data["on"])  # raises before anything changes when a decision that needs a day has none
            decision = DECISIONS.get(action)
            if decision is not None and decision.needs_passed:
                self.steps.append(Step(event["seq"], h.id, action, decision.needs_passed,
                                       h.announcements.get(decision.needs_passed), event["time"]))
            if action == "register":
                h.registered_year = _year(data["on"])
            elif action == "exit-confirm":
                h.exit_year, h.returned_year = _year(data["on"]), None
        self._move(h, to, event)

    def _returned(self, event, data) -> None:
        h = self.households.get(event["subject"])
        if h is not None:
            h.returned_year = _year(data["on"])
            self._move(h, "registered", event)

    def _removed(self, event, data) -> None:
        h = self.households.get(event["subject"])
        if h is not None:
            h.removed_year = china_day(event["time"]).year  # the registry dates a removal by its clock's day
            self._move(h, "removed", event)

    def _touch(self, event) -> HouseholdState | None:
        h = self.households.get(event["subject"])
        if h is not None:
            h.last_seq = event["seq"]
        return h

    def _helper(self, event, data) -> None:
        if (h := self._touch(event)) is not None:
            h.has_helper = True

    def _measure(self, event, data) -> None:
        if (h := self._touch(event)) is not None:
            h.measures += 1

    def _member(self, event, data) -> None:
        if (h := self._touch(event)) is not None:
            h.add_members([data])

    def _corrected(self, event, data) -> None:
        """An approved household correction may change the main cause the statistics count by."""
        h = self.households.get(data["household_id"])
        if h is not None and data["kind"] == "household":
            cause = data["changes"]["fields"].get("main_cause")
            if cause is not None:
                if type(cause["new"]) is not str:
                    raise TypeError(f"the new main cause is {cause['new']!r}, not text")
                h.main_cause = cause["new"]
            h.last_seq = event["seq"]

    def _monitored(self, event, data) -> None:
        if (h := self._touch(event)) is not None:
            h.monitoring_category = data.get("category")

    def _announcement_drafted(self, event, data) -> None:
        self.announcements[event["subject"]] = {"subject_type": data.get("subject_type"),
                                                "division": data.get("division"), "outcome": None, "closed_seq": None}

    def _announcement_closed(self, event, data) -> None:
        record = self.announcements.setdefault(event["subject"], {"subject_type": None, "division": None})
        record.update(outcome=data.get("outcome"), closed_seq=event["seq"])

    def result(self) -> RegistryRebuilt:
        return RegistryRebuilt(self.households, self.population, self.announcements, self.steps, self.events,
                               self.last_seq, grievances(self.grievance_events), self.unreadable_events)


_HANDLERS = {
    DIVISIONS_LOADED: RegistryRebuild._divisions,
    HOUSEHOLDS_IMPORTED: RegistryRebuild._imported,
    "registry.household.proposed": RegistryRebuild._proposed,
    "registry.households.noticed": RegistryRebuild._noticed,
    "registry.household.returned": RegistryRebuild._returned,
    "registry.household.removed": RegistryRebuild._removed,
    "registry.household.helper_assigned": RegistryRebuild._helper,
    "registry.measure.recorded": RegistryRebuild._measure,
    "registry.member.added": RegistryRebuild._member,
    "registry.household.monitored": RegistryRebuild._monitored,
    "registry.announcement.drafted": RegistryRebuild._announcement_drafted,
    "registry.announcement.closed": RegistryRebuild._announcement_closed,
    CORRECTION_APPROVED: RegistryRebuild._corrected,
}


_check = checker({DIVISIONS_LOADED: _Divisions, HOUSEHOLDS_IMPORTED: _Import, "registry.household.proposed": _Proposed,
                  "registry.households.noticed": _Noticed, "registry.household.returned": _Decision,
                  "registry.member.added": _Member, "registry.household.monitored": _Monitored,
                  "registry.announcement.drafted": _Drafted, "registry.announcement.closed": _Closed,
                  CORRECTION_APPROVED: _Correction})
