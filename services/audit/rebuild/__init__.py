"""Rebuilding each service's figures from its events alone, with the services' own pure domains.

One rebuilder per service (``apply(event)`` in seq order, then ``result()``): funds → the ledger,
registry → households, statistics inputs and announcements, projects → the project library
(contract v1 until the projects domain exists). A service without a rebuilder (the audit's own
log) is only verified.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from services.audit.rebuild.funds import FundsRebuild, FundsRebuilt
from services.audit.rebuild.projects import ProjectsRebuild, ProjectsRebuilt
from services.audit.rebuild.registry import RegistryRebuild, RegistryRebuilt

REBUILDERS = {"funds": FundsRebuild, "registry": RegistryRebuild, "projects": ProjectsRebuild}


class CountOnly:
    """The rebuilder of a log the audit only verifies."""

    members: tuple[str, ...] = ()  # of each event, what apply reads (a rebuilder without it: every member)

    def __init__(self) -> None:
        self.events = 0

    def apply(self, event: Mapping[str, Any]) -> None:
        self.events += 1

    def result(self) -> int:
        return self.events


def rebuilder_for(service: str):
    return REBUILDERS.get(service, CountOnly)()


@dataclass
class Rebuilt:
    """What the events of every audited service rebuild to (None: that log was not audited)."""

    funds: FundsRebuilt | None = None
    registry: RegistryRebuilt | None = None
    projects: ProjectsRebuilt | None = None

    def summary(self) -> dict[str, Any]:
        return {name: part.summary() for name in ("funds", "registry", "projects")
                if (part := getattr(self, name)) is not None}


__all__ = ["REBUILDERS", "FundsRebuilt", "ProjectsRebuilt", "Rebuilt", "RegistryRebuilt", "rebuilder_for"]
