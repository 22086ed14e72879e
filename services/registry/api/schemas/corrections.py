"""The answer of a change request (信息更正, ``usecases/corrections.view``): the old and new values
(ID numbers masked), who proposed and who decided."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from services.registry.api.schemas.common import Division
from services.registry.domain import corrections as rules
from services.registry.domain.departments import DEPARTMENT
from shared.web.answers import Answer


class ChangeOut(Answer):
    old: Any = Field(description="the value before (ID numbers masked)")
    new: Any = Field(description="the value asked for (ID numbers masked)")


class ChangeRequestOut(Answer):
    id: str
    kind: Literal[rules.KIND.codes] = Field(  # type: ignore[valid-type]
        description="identity: a person's name or ID number, which the county approves")
    household_id: str
    division: Division
    dept: Literal[DEPARTMENT.codes] | None = Field(description="a department correction: whose data")  # type: ignore[valid-type]
    changes: dict[str, ChangeOut] = Field(description="field → its old and new value")
    reason: str
    document: str | None
    level: Literal[rules.LEVELS] = Field(description=f"the level that approves it ({rules.RULE})")  # type: ignore[valid-type]
    status: Literal[rules.STATUS.codes]  # type: ignore[valid-type]
    proposed_by: str
    decided_by: str | None
    decision_reason: str | None
    created_at: str
    decided_at: str | None


class ChangeRequestsOut(Answer):
    items: list[ChangeRequestOut]
