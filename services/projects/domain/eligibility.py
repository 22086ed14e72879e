"""Who may be a project's beneficiary (DOMAIN.md §5; ARCHITECTURE "cross-service reactions"):
a 建档立卡 household the registry has registered and not removed, located inside the project's
division. What the projects service knows of households is its read model of the registry's
events; this module judges one household against one project. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from services.registry.contract import ON_ROLL, STATUS_LABELS
from shared import divisions

#: Registered households: on the roll, or exited (脱贫不脱政策: exited households keep their
#: policies during the 攻坚期, seed 003 L481) — never proposed-only, rejected or removed ones.
ELIGIBLE_STATUSES = frozenset(ON_ROLL | {"exited"})


@dataclass(frozen=True)
class Household:
    id: str
    division: str
    status: str


@dataclass(frozen=True)
class Ineligible:
    household_id: str
    code: str  # unknown | not_registered | removed | outside_division
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"field": "household_ids", "household_id": self.household_id, "code": self.code, "reason": self.reason}


def judge(household_id: str, household: Household | None, project_division: str) -> Ineligible | None:
    """None when the household may benefit from a project located in ``project_division``."""
    if household is None:
        return Ineligible(household_id, "unknown", "建档立卡名单中无此户 (the registry has no such household)")
    if household.status in ("removed", "rejected"):
        return Ineligible(household_id, "removed",
                          f"该户{STATUS_LABELS.get(household.status, household.status)} (the household is {household.status})")
    if household.status not in ELIGIBLE_STATUSES:
        return Ineligible(household_id, "not_registered",
                          f"该户尚未建档立卡，当前为“{STATUS_LABELS.get(household.status, household.status)}” "
                          f"(not registered: {household.status})")
    if not divisions.within(household.division, project_division):
        return Ineligible(household_id, "outside_division",
                          f"该户({household.division})不在项目所在区划{project_division}内 "
                          f"(the household is outside the project's division)")
    return None
