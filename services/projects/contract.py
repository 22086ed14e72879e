"""The projects service's published event shapes that other services consume.

* ``projects.project.entered_library`` — ``data``: ``code``, ``division`` (the project's village or
  township code), ``publicity_passed`` (true: a project enters the library only once the publicity
  at each level has closed without an open or upheld objection, or through a passed annual
  adjustment). The funds service accepts commitments only for such projects.
* ``projects.project.cancelled`` — ``data``: ``code``, ``division``, ``reason``. Emitted by a
  cancellation at any step before acceptance, a withdrawal of a proposal, and a removal in the
  annual adjustment; the funds service then strands the project's undisbursed commitment.
* ``projects.benefit.recorded`` — ``data``: ``household_id`` (the registry's household UUID),
  ``project_code``, ``kind`` (wages | dividend | subsidy | in_kind), ``amount`` (yuan string,
  "123.45"), ``on`` (ISO date). One event per household and payment (asset dividends included);
  the registry records it on the household (享受扶持情况).

The subject of each is the project code (one project's events stay in order on the topic).
Every other ``projects.*`` event is this service's own record (see the lifecycle's steps).
"""

from __future__ import annotations

from datetime import date
from typing import Any

# published (rule 6): the auditor replays the lifecycle's steps and rebuilds funding with these
from services.projects.domain import lifecycle as lifecycle
from services.projects.domain.catalogue import TYPES
from services.projects.domain.funding import Funding as Funding, funding_of as funding_of, project_of as project_of
from shared.money import format_fen

ENTERED_LIBRARY = "projects.project.entered_library"
CANCELLED = "projects.project.cancelled"
BENEFIT_RECORDED = "projects.benefit.recorded"


def entered_library(project: Any) -> dict[str, Any]:
    """Version 2 of ``projects.project.entered_library`` for a ``models.Project``."""
    return {"v": 2, "code": project.code, "division": project.division, "publicity_passed": True, "name": project.name,
            "type": project.type, "type_label": TYPES[project.type].label, "content": "；".join(project.tasks),
            "implementing_unit": project.implementing_unit}


def cancelled(code: str, division: str, reason: str) -> dict[str, Any]:
    return {"code": code, "division": division, "reason": reason}


def benefit(household_id: str, project_code: str, kind: str, amount_fen: int, on: date) -> dict[str, Any]:
    return {"household_id": str(household_id), "project_code": project_code, "kind": kind,
            "amount": format_fen(amount_fen), "on": on.isoformat()}
