"""The project library rebuilt from the projects service's events, with the projects domain's own
lifecycle and funding rules (rule 6):

* each project's stage, moved by its events as ``services.projects.domain.lifecycle`` names them
  (``STEPS``: the event each step is recorded as and the stage it leads to; a step's own
  ``data.to`` where it carries one — a refusal, a failed acceptance that stays completed);
* entry into the library and cancellation (the version-1 contract the funds service consumes:
  ``projects.project.entered_library`` / ``projects.project.cancelled``), with their times, for
  the check that money went only to library projects;
* every household a project names (``projects.beneficiaries.added``, ``projects.benefit.recorded``)
  for the check that beneficiaries are registered;
* each project's funding — committed, paid, stranded — from the *funds* service's postings,
  attributed and added up by ``services.projects.domain.funding`` (:func:`funding_by_project`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, TypedDict

from services.audit.rebuild.reading import DivisionOrEmpty, checker
from services.projects.contract import CANCELLED, ENTERED_LIBRARY, Funding, funding_of, lifecycle, project_of

SERVICE = "projects"
PROPOSED = "projects.project.proposed"
PUBLICITY_POSTED = "projects.publicity.posted"
ACCEPTANCE = lifecycle.STEPS["accept"].event
#: the stage each lifecycle event leads to (a step may name another in its ``data.to``)
STAGE_AFTER = {step.event: step.to_stage for step in lifecycle.STEPS.values()}


class _ProjectData(TypedDict, total=False):
    """What the rebuild reads of any projects event's data (each member where present)."""

    code: str
    codes: list[str]
    to: str
    division: DivisionOrEmpty | None
    result: str | None
    household_ids: list[str] | None
    household_id: str | None
    project_code: str | None


_check = checker({}, default=_ProjectData)  # the type and subject text, the data as above


@dataclass
class ProjectState:
    code: str
    division: str
    stage: str | None = None
    entered_library: str | None = None  # recorded time of the entry into the library
    entered_seq: int | None = None
    publicity_passed: bool = False
    cancelled: str | None = None  # recorded time of the cancellation
    cancelled_seq: int | None = None
    beneficiaries: set[str] = field(default_factory=set)
    last_seq: int = 0

    def fundable_at(self, recorded: str) -> bool:
        """In the library with its publicity passed, and not cancelled, at that recorded time."""
        return (self.entered_library is not None and self.publicity_passed and self.entered_library <= recorded
                and (self.cancelled is None or self.cancelled > recorded))


@dataclass(frozen=True)
class Beneficiary:
    seq: int
    household_id: str
    project_code: str | None
    division: str | None
    recorded: str
    type: str


@dataclass
class ProjectsRebuilt:
    projects: dict[str, ProjectState]
    beneficiaries: list[Beneficiary] = field(default_factory=list)
    events: int = 0
    last_seq: int = 0
    #: (seq, why) of each event whose data could not be read (services.audit.run.unreadable)
    unreadable_events: list[tuple[int, str]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        stages: dict[str, int] = {}
        for project in self.projects.values():
            stages[project.stage or "?"] = stages.get(project.stage or "?", 0) + 1
        return {"projects": len(self.projects), "by_stage": dict(sorted(stages.items())),
                "in_library": sum(p.entered_library is not None for p in self.projects.values()),
                "cancelled": sum(p.cancelled is not None for p in self.projects.values()),
                "beneficiary_events": len(self.beneficiaries),
                "unreadable_events": len(self.unreadable_events)}


class ProjectsRebuild:
    service = SERVICE

    def __init__(self) -> None:
        self.projects: dict[str, ProjectState] = {}
        self.beneficiaries: list[Beneficiary] = []
        self.events = 0
        self.unreadable_events: list[tuple[int, str]] = []
        self.last_seq = 0

    def _project(self, code: str, data: Mapping[str, Any], event: Mapping[str, Any]) -> ProjectState:
        project = self.projects.get(code)
        if project is None:
            project = self.projects[code] = ProjectState(code, data.get("division") or "")
        if data.get("division") and not project.division:
            project.division = data["division"]
        project.last_seq = event["seq"]
        return project

    def apply(self, event: Mapping[str, Any]) -> None:
        self.events += 1
        self.last_seq = event["seq"]
        _check(event)  # what the rebuild keeps, of the types the audit's checks read (rebuild.reading)
        kind, data = event["type"], event["data"]
        if kind == PUBLICITY_POSTED:
            for code in data.get("codes", []):
                self._project(code, {}, event).stage = data.get("to", "in_publicity")
        elif kind.startswith("projects.") and (kind == PROPOSED or kind in STAGE_AFTER or "to" in data) \
                and isinstance(data.get("code"), str):
            project = self._project(data["code"], data, event)
            if kind == PROPOSED:
                project.stage = "proposed"
            elif "to" in data:
                project.stage = data["to"]
            elif kind != ACCEPTANCE or data.get("result") == "passed":  # a failed acceptance stays completed
                project.stage = STAGE_AFTER[kind]
            if kind == ENTERED_LIBRARY:
                project.entered_library, project.entered_seq = event["time"], event["seq"]
                project.publicity_passed = bool(data.get("publicity_passed"))
            elif kind == CANCELLED:
                project.cancelled, project.cancelled_seq = event["time"], event["seq"]
        ids = data.get("household_ids") or ([data["household_id"]] if data.get("household_id") else [])
        code = data.get("project_code") or data.get("code")
        for household_id in ids:
            self.beneficiaries.append(Beneficiary(event["seq"], str(household_id), code, data.get("division"),
                                                  event["time"], kind))
            if kind == "projects.beneficiaries.added" and code in self.projects:
                self.projects[code].beneficiaries.add(str(household_id))

    def result(self) -> ProjectsRebuilt:
        return ProjectsRebuilt(self.projects, self.beneficiaries, self.events, self.last_seq, self.unreadable_events)


def funding_by_project(projects: ProjectsRebuilt, funds) -> dict[str, Funding]:
    """Each known project's funding from the funds postings, attributed by the projects domain's
    ``project_of`` (a posting for a project the log does not have counts nowhere, as in the service)."""
    postings: dict[str, list[dict[str, Any]]] = {code: [] for code in projects.projects}
    refused = {id(r) for r, _, _ in funds.refused} if funds is not None else set()
    for record in funds.postings if funds is not None else ():
        if id(record) in refused:
            continue
        p = record.posting
        code = project_of({"operation": p.operation, "to": {"kind": p.to.kind}, "reference": p.reference,
                           "project_code": record.project_code})
        if code in postings:
            postings[code].append({"operation": p.operation, "amount_fen": p.amount_fen})
    return {code: funding_of(items) for code, items in postings.items()}
